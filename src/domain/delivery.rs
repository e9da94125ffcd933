//! The rules of delivery to downstream platforms: which subscriber wants a
//! sync message, how a message is signed, how long to wait before the next
//! try, and what a subscriber's settings may be. Pure: no database, clock or
//! network.

use chrono::Duration;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

/// `[delivery]` in the configuration file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DeliverySettings {
    /// Tries before a delivery is dead.
    pub max_attempts: i32,
    /// Seconds a receiver has to answer.
    pub timeout_seconds: u64,
    /// The wait after the first failure; it doubles with each further one.
    pub backoff_base_seconds: i64,
    /// The longest wait between two tries.
    pub backoff_max_seconds: i64,
}

impl Default for DeliverySettings {
    fn default() -> Self {
        DeliverySettings { max_attempts: 8, timeout_seconds: 10, backoff_base_seconds: 30, backoff_max_seconds: 3600 }
    }
}

/// The kinds of subscriber.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SubscriberKind {
    /// POSTed as signed JSON to a URL.
    Http,
    /// Written as a JSON file into a folder (offline hand-over).
    Folder,
}

impl SubscriberKind {
    pub fn parse(s: &str) -> Option<SubscriberKind> {
        match s {
            "http" => Some(SubscriberKind::Http),
            "folder" => Some(SubscriberKind::Folder),
            _ => None,
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            SubscriberKind::Http => "http",
            SubscriberKind::Folder => "folder",
        }
    }
}

/// Every event.
pub const ALL_EVENTS: &str = "*";

/// Whether a subscriber with these event filters wants a message with `action`.
pub fn wants(events: &[String], action: &str) -> bool {
    events.iter().any(|e| e == ALL_EVENTS || e == action)
}

/// An event filter: `*`, or a sync action `kind:state` in lower-case letters
/// and underscores (`repair:completed`, `record:publication_expired`).
pub fn valid_event(e: &str) -> bool {
    if e == ALL_EVENTS {
        return true;
    }
    let ok = |p: &str| !p.is_empty() && p.bytes().all(|b| b.is_ascii_lowercase() || b == b'_');
    matches!(e.split_once(':'), Some((a, b)) if ok(a) && ok(b))
}

/// The shortest secret accepted for an `http` subscriber.
pub const MIN_SECRET_LEN: usize = 16;

/// The signature header's value: `sha256=` and the hex HMAC-SHA256 keyed with
/// the subscriber's secret over `timestamp`, a dot and the body.
pub fn signature(secret: &str, timestamp: i64, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes a key of any length");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// The wait after the `attempts`-th failed try: the base doubled per further
/// failure, capped, then stretched by `jitter` (0.0..1.0) up to a quarter
/// more, so that receivers coming back are not hit by every sender at once.
pub fn backoff(settings: &DeliverySettings, attempts: i32, jitter: f64) -> Duration {
    let base = settings.backoff_base_seconds.max(1);
    let exp = (attempts.max(1) - 1).min(20) as u32;
    let secs = base.saturating_mul(1i64 << exp).min(settings.backoff_max_seconds.max(base));
    let extra = (secs as f64 * 0.25 * jitter.clamp(0.0, 1.0)) as i64;
    Duration::seconds(secs + extra)
}

/// Whether a failed try with `attempts` tries made is the last one.
pub fn is_dead(settings: &DeliverySettings, attempts: i32) -> bool {
    attempts >= settings.max_attempts.max(1)
}

/// A URL an `http` subscriber may have: `http://` or `https://` with a host.
pub fn valid_url(url: &str) -> bool {
    let rest = url.strip_prefix("https://").or_else(|| url.strip_prefix("http://"));
    match rest {
        Some(r) => {
            let host = r.split(['/', '?', '#']).next().unwrap_or("");
            !host.is_empty() && !r.chars().any(char::is_whitespace)
        }
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wants_all_or_the_named_action() {
        let all = vec!["*".to_string()];
        let some = vec!["repair:completed".to_string(), "objection:closed".to_string()];
        assert!(wants(&all, "repair:completed"));
        assert!(wants(&some, "repair:completed"));
        assert!(!wants(&some, "repair:revoked"));
        assert!(!wants(&[], "repair:completed"));
    }

    #[test]
    fn event_filters() {
        assert!(valid_event("*"));
        assert!(valid_event("repair:completed"));
        assert!(valid_event("record:publication_expired"));
        for bad in ["", "repair", "repair:", ":x", "Repair:completed", "repair:completed:x", "a b:c", "**"] {
            assert!(!valid_event(bad), "{bad}");
        }
    }

    #[test]
    fn signature_is_hmac_sha256_over_timestamp_dot_body() {
        // RFC 4231 test case 2: key "Jefe", data "what do ya want for nothing?".
        // Here the data is "<timestamp>.<body>", so split it accordingly.
        let sig = signature("Jefe", 0, b"what do ya want for nothing?");
        // HMAC-SHA256("Jefe", "0.what do ya want for nothing?")
        assert!(sig.starts_with("sha256=") && sig.len() == 7 + 64, "{sig}");
        assert_ne!(sig, signature("Jefe", 1, b"what do ya want for nothing?"), "the timestamp is signed");
        assert_ne!(sig, signature("Jefx", 0, b"what do ya want for nothing?"), "the key matters");
        // The plain RFC vector, through the same MAC.
        let mut mac = Hmac::<Sha256>::new_from_slice(b"Jefe").unwrap();
        mac.update(b"what do ya want for nothing?");
        assert_eq!(
            hex::encode(mac.finalize().into_bytes()),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        assert_eq!(signature("k", 1700000000, b"{}"), {
            let mut m = Hmac::<Sha256>::new_from_slice(b"k").unwrap();
            m.update(b"1700000000.{}");
            format!("sha256={}", hex::encode(m.finalize().into_bytes()))
        });
    }

    #[test]
    fn backoff_doubles_is_capped_and_jittered() {
        let s = DeliverySettings { backoff_base_seconds: 30, backoff_max_seconds: 3600, ..Default::default() };
        assert_eq!(backoff(&s, 1, 0.0), Duration::seconds(30));
        assert_eq!(backoff(&s, 2, 0.0), Duration::seconds(60));
        assert_eq!(backoff(&s, 3, 0.0), Duration::seconds(120));
        assert_eq!(backoff(&s, 8, 0.0), Duration::seconds(3600));
        assert_eq!(backoff(&s, 1000, 0.0), Duration::seconds(3600));
        assert_eq!(backoff(&s, 1, 1.0), Duration::seconds(37));
        assert_eq!(backoff(&s, 8, 1.0), Duration::seconds(4500));
        assert_eq!(backoff(&s, 0, 0.0), Duration::seconds(30));
    }

    #[test]
    fn dead_after_the_configured_tries() {
        let s = DeliverySettings { max_attempts: 3, ..Default::default() };
        assert!(!is_dead(&s, 2));
        assert!(is_dead(&s, 3));
    }

    #[test]
    fn urls() {
        assert!(valid_url("https://platform.example/credit/sync"));
        assert!(valid_url("http://127.0.0.1:9000/hook"));
        for bad in ["", "ftp://x", "https://", "http:///x", "https://a b", "platform.example"] {
            assert!(!valid_url(bad), "{bad}");
        }
    }
}
