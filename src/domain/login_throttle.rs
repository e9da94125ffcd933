//! The sign-in throttle: 等保's lockout, keyed so that a stranger who knows a
//! username cannot lock its owner out.
//!
//! Two counters of the same shape are kept for an account: one per client
//! address it was tried from, and one for the account as a whole. A failure
//! counts toward a counter while it follows that counter's previous failure
//! within `window`; after a longer quiet spell the count starts again.
//!
//! - **Address lock.** `max_failures` wrong passwords for one account from one
//!   address lock that pair for `lock` (423). The count restarts after the
//!   lock, and a correct password from that address forgets the address.
//!   Other addresses are not affected.
//! - **Account delay.** Once the account as a whole has `delay_after`
//!   failures, an attempt from an address that itself failed for this account
//!   within `window` must come at least `delay(n)` = 2^(n − delay_after)
//!   seconds (at most `max_delay`) after the account's previous failure or
//!   admitted delayed attempt, where n is the account's failure count. Sooner,
//!   it is refused (429, `Retry-After`) without the password being looked at.
//!   An address that has not failed is not delayed, so the owner still signs
//!   in, until the account has `block_after` failures (far more than an owner
//!   mistypes): then every address waits.
//!
//! [`gate`] decides before the password is checked, [`address_failed`] and
//! [`account_failed`] after a wrong one; [`client_key`] says which address a
//! request counts under. No database, clock or network in here.

use std::net::IpAddr;

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

/// `[login_throttle]` in the configuration file: the account-wide part of
/// the rule and the counting window (the address lock is
/// `login_max_failures` / `login_lock_minutes`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ThrottleSettings {
    /// A failure more than this long after the previous one starts a counter afresh.
    pub window_minutes: i64,
    /// Account failures after which addresses that failed must wait.
    pub account_delay_after: u32,
    /// Account failures after which every address must wait.
    pub account_block_after: u32,
    /// The longest wait between two delayed attempts.
    pub account_max_delay_seconds: i64,
}

impl Default for ThrottleSettings {
    fn default() -> Self {
        ThrottleSettings {
            window_minutes: 60,
            account_delay_after: 10,
            account_block_after: 50,
            account_max_delay_seconds: 60,
        }
    }
}

/// The whole rule, as the service applies it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    pub max_failures: u32,
    pub lock: Duration,
    pub window: Duration,
    pub delay_after: u32,
    pub block_after: u32,
    pub max_delay: Duration,
}

impl Rule {
    /// From the settings; a rule that cannot work is refused with the reason.
    pub fn new(max_failures: i32, lock_minutes: i64, s: &ThrottleSettings) -> Result<Rule, String> {
        if max_failures < 1 {
            return Err("login_max_failures must be at least 1".into());
        }
        if !(1..=24 * 60).contains(&lock_minutes) {
            return Err("login_lock_minutes must be between 1 and 1440".into());
        }
        if !(1..=7 * 24 * 60).contains(&s.window_minutes) {
            return Err("login_throttle.window_minutes must be between 1 and 10080".into());
        }
        if s.account_delay_after < 1 {
            return Err("login_throttle.account_delay_after must be at least 1".into());
        }
        if s.account_block_after <= s.account_delay_after {
            return Err("login_throttle.account_block_after must be greater than account_delay_after".into());
        }
        if !(1..=3600).contains(&s.account_max_delay_seconds) {
            return Err("login_throttle.account_max_delay_seconds must be between 1 and 3600".into());
        }
        Ok(Rule {
            max_failures: max_failures as u32,
            lock: Duration::minutes(lock_minutes),
            window: Duration::minutes(s.window_minutes),
            delay_after: s.account_delay_after,
            block_after: s.account_block_after,
            max_delay: Duration::seconds(s.account_max_delay_seconds),
        })
    }

    /// How long an account with `failures` failures makes a delayed attempt
    /// wait: 1 s at `delay_after`, doubling with each further failure, at most
    /// `max_delay`; nothing below `delay_after`.
    pub fn delay(&self, failures: u32) -> Duration {
        if failures < self.delay_after {
            return Duration::zero();
        }
        let doublings = (failures - self.delay_after).min(30);
        Duration::seconds(1i64 << doublings).min(self.max_delay)
    }
}

/// One counter: of an address for an account, or of the account as a whole.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counter {
    pub failures: u32,
    pub last_failure_at: Option<DateTime<Utc>>,
    /// An address: the end of its lock. The account: no delayed attempt before this instant.
    pub blocked_until: Option<DateTime<Utc>>,
}

impl Counter {
    /// True when the last failure is within the window.
    fn recent(&self, rule: &Rule, now: DateTime<Utc>) -> bool {
        self.last_failure_at.is_some_and(|t| now - t < rule.window)
    }

    /// The failures that still count now.
    pub fn failures_now(&self, rule: &Rule, now: DateTime<Utc>) -> u32 {
        if self.recent(rule, now) { self.failures } else { 0 }
    }

    /// True when the counter counts nothing any more: no failure within the
    /// window and no lock or delay in force (its row can go).
    pub fn is_spent(&self, rule: &Rule, now: DateTime<Utc>) -> bool {
        !self.recent(rule, now) && self.blocked_at(now).is_none()
    }

    fn blocked_at(&self, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        self.blocked_until.filter(|t| *t > now)
    }
}

/// What to do with an attempt before its password is checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Gate {
    /// Check the password. With `claim`, the attempt is a delayed one: the
    /// account counter must first be stored as given (a conditional write, so
    /// that of concurrent delayed attempts one goes ahead and the others wait).
    Open { claim: Option<Counter> },
    /// The address is locked for this account (423) until then.
    Locked { until: DateTime<Utc> },
    /// The account makes this address wait (429) until then.
    Throttled { until: DateTime<Utc> },
}

/// Decides an attempt from an address (`address`) on an account (`account`).
pub fn gate(rule: &Rule, address: &Counter, account: &Counter, now: DateTime<Utc>) -> Gate {
    if let Some(until) = address.blocked_at(now) {
        return Gate::Locked { until };
    }
    let n = account.failures_now(rule, now);
    let delayed = n >= rule.delay_after && (address.recent(rule, now) || n >= rule.block_after);
    if !delayed {
        return Gate::Open { claim: None };
    }
    if let Some(until) = account.blocked_at(now) {
        return Gate::Throttled { until };
    }
    Gate::Open { claim: Some(Counter { blocked_until: Some(now + rule.delay(n)), ..*account }) }
}

/// An address's counter after a wrong password from it, and the lock this
/// failure set (None when it set none: below the limit, or the address was
/// already locked by a concurrent attempt, which the failure does not extend).
pub fn address_failed(rule: &Rule, c: &Counter, now: DateTime<Utc>) -> (Counter, Option<DateTime<Utc>>) {
    if c.blocked_at(now).is_some() {
        return (*c, None);
    }
    let n = c.failures_now(rule, now) + 1;
    if n >= rule.max_failures {
        let until = now + rule.lock;
        return (Counter { failures: 0, last_failure_at: Some(now), blocked_until: Some(until) }, Some(until));
    }
    (Counter { failures: n, last_failure_at: Some(now), blocked_until: None }, None)
}

/// What an account's failure changed, to be logged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccountStep {
    /// Below the delay, or further along it.
    Counted,
    /// This failure started the delay for addresses that failed.
    DelayStarted,
    /// This failure extended the delay to every address.
    DelayForAll,
}

/// The account's counter after a wrong password from any address.
pub fn account_failed(rule: &Rule, c: &Counter, now: DateTime<Utc>) -> (Counter, AccountStep) {
    let n = c.failures_now(rule, now) + 1;
    let blocked_until = (n >= rule.delay_after).then(|| now + rule.delay(n));
    let step = if n == rule.delay_after {
        AccountStep::DelayStarted
    } else if n == rule.block_after {
        AccountStep::DelayForAll
    } else {
        AccountStep::Counted
    };
    (Counter { failures: n, last_failure_at: Some(now), blocked_until }, step)
}

/// The key an address counts under: the peer's address, or, when the peer
/// is one of `trusted` proxies, the nearest address in `X-Forwarded-For` (read
/// from the right) that is not a trusted proxy. IPv4-mapped IPv6 addresses
/// count as IPv4; other IPv6 addresses count by their /64 network, which one
/// subscriber usually holds whole. "unknown" when there is no peer address.
pub fn client_key(peer: Option<IpAddr>, forwarded_for: Option<&str>, trusted: &[IpAddr]) -> String {
    let Some(mut client) = peer.map(canonical) else { return "unknown".into() };
    if trusted.contains(&client)
        && let Some(list) = forwarded_for
    {
        for hop in list.rsplit(',') {
            let Some(ip) = parse_hop(hop) else { break };
            client = ip;
            if !trusted.contains(&ip) {
                break;
            }
        }
    }
    match client {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => {
            let s = v6.segments();
            let net = std::net::Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0);
            format!("{net}/64")
        }
    }
}

fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(IpAddr::V6(v6)),
        v4 => v4,
    }
}

/// One `X-Forwarded-For` entry: an address, optionally with a port.
fn parse_hop(hop: &str) -> Option<IpAddr> {
    let hop = hop.trim();
    hop.parse::<IpAddr>().ok().or_else(|| hop.parse::<std::net::SocketAddr>().ok().map(|s| s.ip())).map(canonical)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule() -> Rule {
        Rule::new(5, 15, &ThrottleSettings::default()).unwrap()
    }

    fn t0() -> DateTime<Utc> {
        "2026-12-02T02:00:00Z".parse().unwrap()
    }

    fn secs(s: i64) -> Duration {
        Duration::seconds(s)
    }

    /// `n` failures of the account, the last at `at`, with the delay it set.
    fn account_with(n: u32, at: DateTime<Utc>) -> Counter {
        let r = rule();
        let mut c = Counter::default();
        for _ in 0..n {
            c = account_failed(&r, &c, at).0;
        }
        c
    }

    #[test]
    fn the_defaults_make_a_valid_rule_and_nonsense_is_refused() {
        let r = rule();
        assert_eq!((r.max_failures, r.lock, r.window), (5, Duration::minutes(15), Duration::minutes(60)));
        assert!(Rule::new(0, 15, &ThrottleSettings::default()).is_err());
        assert!(Rule::new(5, 0, &ThrottleSettings::default()).is_err());
        let s = ThrottleSettings { account_block_after: 10, ..Default::default() };
        assert!(Rule::new(5, 15, &s).unwrap_err().contains("account_block_after"));
        let s = ThrottleSettings { account_max_delay_seconds: 0, ..Default::default() };
        assert!(Rule::new(5, 15, &s).is_err());
    }

    #[test]
    fn the_delay_doubles_from_one_second_and_is_capped() {
        let r = rule();
        assert_eq!(r.delay(9), Duration::zero());
        assert_eq!(r.delay(10), secs(1));
        assert_eq!(r.delay(11), secs(2));
        assert_eq!(r.delay(14), secs(16));
        assert_eq!(r.delay(15), secs(32));
        assert_eq!(r.delay(16), secs(60));
        assert_eq!(r.delay(u32::MAX), secs(60));
    }

    #[test]
    fn five_failures_from_one_address_lock_that_address_for_fifteen_minutes() {
        let r = rule();
        let mut c = Counter::default();
        for i in 1..5 {
            let (next, lock) = address_failed(&r, &c, t0() + secs(i));
            assert_eq!((next.failures, lock), (i as u32, None));
            c = next;
        }
        let (locked, lock) = address_failed(&r, &c, t0() + secs(5));
        let until = t0() + secs(5) + Duration::minutes(15);
        assert_eq!(lock, Some(until));
        assert_eq!(locked.failures, 0, "the count restarts after the lock");
        let fresh = Counter::default();
        assert_eq!(gate(&r, &locked, &fresh, t0() + secs(6)), Gate::Locked { until });
        assert_eq!(gate(&r, &locked, &fresh, until), Gate::Open { claim: None });
        // A concurrent failure during the lock neither counts nor extends it.
        assert_eq!(address_failed(&r, &locked, t0() + secs(7)), (locked, None));
        // After the lock one failure is one failure.
        assert_eq!(address_failed(&r, &locked, until).0.failures, 1);
    }

    #[test]
    fn failures_further_apart_than_the_window_start_afresh() {
        let r = rule();
        let mut c = Counter::default();
        for i in 0..4 {
            c = address_failed(&r, &c, t0() + Duration::minutes(59 * i)).0;
        }
        assert_eq!(c.failures, 4, "each within an hour of the previous");
        let (c, lock) = address_failed(&r, &c, t0() + Duration::minutes(59 * 3 + 60));
        assert_eq!((c.failures, lock), (1, None));
        let a = account_with(12, t0());
        assert_eq!(a.failures_now(&r, t0() + Duration::minutes(59)), 12);
        assert_eq!(a.failures_now(&r, t0() + Duration::minutes(60)), 0);
        assert_eq!(account_failed(&r, &a, t0() + Duration::minutes(60)).0.failures, 1);
        assert!(!a.is_spent(&r, t0() + Duration::minutes(59)));
        assert!(a.is_spent(&r, t0() + Duration::minutes(60)));
        assert!(Counter::default().is_spent(&r, t0()));
        // A lock outlasting the window keeps its row.
        let long = Rule::new(5, 90, &ThrottleSettings::default()).unwrap();
        let mut c = Counter::default();
        for _ in 0..5 {
            c = address_failed(&long, &c, t0()).0;
        }
        assert!(!c.is_spent(&long, t0() + Duration::minutes(75)));
        assert!(c.is_spent(&long, t0() + Duration::minutes(90)));
    }

    #[test]
    fn the_account_delay_holds_back_addresses_that_failed_but_not_the_owner() {
        let r = rule();
        let at = t0();
        let account = account_with(10, at);
        assert_eq!(account.blocked_until, Some(at + secs(1)));
        let attacker = address_failed(&r, &Counter::default(), at).0;
        let owner = Counter::default();
        assert_eq!(gate(&r, &attacker, &account, at), Gate::Throttled { until: at + secs(1) });
        assert_eq!(gate(&r, &owner, &account, at), Gate::Open { claim: None });
        // Once the delay has passed the attacker's attempt goes ahead, claiming the next slot.
        let later = at + secs(1);
        let Gate::Open { claim: Some(claimed) } = gate(&r, &attacker, &account, later) else { panic!("not claimed") };
        assert_eq!(claimed.blocked_until, Some(later + secs(1)));
        assert_eq!(claimed.failures, 10);
        assert_eq!(gate(&r, &attacker, &claimed, later), Gate::Throttled { until: later + secs(1) });
        // Its failure makes the next wait twice as long.
        let (after, step) = account_failed(&r, &claimed, later);
        assert_eq!((after.failures, after.blocked_until, step), (11, Some(later + secs(2)), AccountStep::Counted));
        // An address whose last failure is older than the window counts as clean.
        let old = address_failed(&r, &Counter::default(), at - Duration::minutes(61)).0;
        assert_eq!(gate(&r, &old, &account, at), Gate::Open { claim: None });
    }

    #[test]
    fn far_past_the_limit_every_address_waits() {
        let r = rule();
        let mut account = Counter::default();
        let mut steps = Vec::new();
        for i in 0..50 {
            let (next, step) = account_failed(&r, &account, t0() + secs(i));
            steps.push(step);
            account = next;
        }
        assert_eq!(steps[9], AccountStep::DelayStarted);
        assert_eq!(steps[49], AccountStep::DelayForAll);
        assert_eq!(steps.iter().filter(|s| **s != AccountStep::Counted).count(), 2);
        let now = t0() + secs(49);
        let owner = Counter::default();
        assert_eq!(gate(&r, &owner, &account, now), Gate::Throttled { until: now + secs(60) });
        assert!(matches!(gate(&r, &owner, &account, now + secs(60)), Gate::Open { claim: Some(_) }));
        // Below the delay nobody waits, whatever the address did.
        let account = account_with(9, t0());
        let attacker = address_failed(&r, &Counter::default(), t0()).0;
        assert_eq!(account.blocked_until, None);
        assert_eq!(gate(&r, &attacker, &account, t0()), Gate::Open { claim: None });
    }

    #[test]
    fn the_client_is_the_peer_unless_the_peer_is_a_trusted_proxy() {
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        let proxy = [ip("10.0.0.1"), ip("10.0.0.2")];
        assert_eq!(client_key(Some(ip("203.0.113.7")), Some("198.51.100.1"), &[]), "203.0.113.7");
        assert_eq!(client_key(Some(ip("203.0.113.7")), Some("198.51.100.1"), &proxy), "203.0.113.7");
        assert_eq!(client_key(Some(ip("10.0.0.1")), None, &proxy), "10.0.0.1");
        // A client-supplied entry on the left is not believed; the proxies' entries on the right are.
        assert_eq!(client_key(Some(ip("10.0.0.1")), Some("1.2.3.4, 198.51.100.1, 10.0.0.2"), &proxy), "198.51.100.1");
        assert_eq!(client_key(Some(ip("10.0.0.1")), Some("198.51.100.1:5123"), &proxy), "198.51.100.1");
        assert_eq!(client_key(Some(ip("10.0.0.1")), Some("garbage, 10.0.0.2"), &proxy), "10.0.0.2");
        assert_eq!(client_key(Some(ip("::ffff:192.0.2.9")), None, &[]), "192.0.2.9");
        assert_eq!(client_key(Some(ip("2001:db8:1:2:3:4:5:6")), None, &[]), "2001:db8:1:2::/64");
        assert_eq!(client_key(None, Some("198.51.100.1"), &proxy), "unknown");
    }
}
