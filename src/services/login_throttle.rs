//! The sign-in throttle's counters in `login_throttles`: one row per account
//! and client address, one per account (`client` = `*`). The rule is
//! `domain::login_throttle`; here it is only loaded and stored. Every write is
//! conditional on the row's version, so concurrent attempts on one account
//! cannot overwrite each other's counts: a write that lost re-reads the row
//! and decides again.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, Set};

use crate::domain::login_throttle::{AccountStep, Counter, Gate, Rule, account_failed, address_failed, gate};
use entity::login_throttle::{self as lt, ACCOUNT};

/// Conditional writes before giving up under contention.
const TRIES: usize = 50;

/// What becomes of an attempt before its password is checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admission {
    Open,
    /// The address is locked for the account until then.
    Locked(DateTime<Utc>),
    /// The account makes the address wait until then.
    Throttled(DateTime<Utc>),
}

fn counter(m: Option<&lt::Model>) -> Counter {
    m.map(|m| Counter {
        failures: m.failures.max(0) as u32,
        last_failure_at: m.last_failure_at,
        blocked_until: m.blocked_until,
    })
    .unwrap_or_default()
}

async fn row<C: ConnectionTrait>(db: &C, user_id: i64, client: &str) -> Result<Option<lt::Model>, DbErr> {
    lt::Entity::find().filter(lt::Column::UserId.eq(user_id)).filter(lt::Column::Client.eq(client)).one(db).await
}

/// Stores `c` as the counter of (`user_id`, `client`) if its row is still
/// `old`; false when another write came first.
async fn write<C: ConnectionTrait>(
    db: &C,
    user_id: i64,
    client: &str,
    old: Option<&lt::Model>,
    c: Counter,
    now: DateTime<Utc>,
) -> Result<bool, DbErr> {
    match old {
        Some(m) => {
            let res = lt::Entity::update_many()
                .col_expr(lt::Column::Failures, Expr::value(c.failures as i32))
                .col_expr(lt::Column::LastFailureAt, Expr::value(c.last_failure_at))
                .col_expr(lt::Column::BlockedUntil, Expr::value(c.blocked_until))
                .col_expr(lt::Column::Version, Expr::value(m.version + 1))
                .col_expr(lt::Column::UpdatedAt, Expr::value(now))
                .filter(lt::Column::Id.eq(m.id))
                .filter(lt::Column::Version.eq(m.version))
                .exec(db)
                .await?;
            Ok(res.rows_affected == 1)
        }
        None => {
            let row = lt::ActiveModel {
                user_id: Set(user_id),
                client: Set(client.to_string()),
                failures: Set(c.failures as i32),
                last_failure_at: Set(c.last_failure_at),
                blocked_until: Set(c.blocked_until),
                version: Set(1),
                updated_at: Set(now),
                ..Default::default()
            };
            match lt::Entity::insert(row).exec(db).await {
                Ok(_) => Ok(true),
                Err(e) if crate::error::is_unique_violation(&e) => Ok(false),
                Err(e) => Err(e),
            }
        }
    }
}

/// Decides an attempt on `user_id` from `client` before its password is
/// checked. A delayed attempt that may go ahead first claims the account's
/// next slot, so that concurrent delayed attempts wait for it.
pub async fn admit<C: ConnectionTrait>(
    db: &C,
    rule: &Rule,
    user_id: i64,
    client: &str,
    now: DateTime<Utc>,
) -> Result<Admission, DbErr> {
    for _ in 0..TRIES {
        let address = row(db, user_id, client).await?;
        let account = row(db, user_id, ACCOUNT).await?;
        match gate(rule, &counter(address.as_ref()), &counter(account.as_ref()), now) {
            Gate::Open { claim: None } => return Ok(Admission::Open),
            Gate::Open { claim: Some(c) } => {
                if write(db, user_id, ACCOUNT, account.as_ref(), c, now).await? {
                    return Ok(Admission::Open);
                }
            }
            Gate::Locked { until } => {
                tracing::info!(user_id, client, "sign-in refused: locked for this account from this address");
                return Ok(Admission::Locked(until));
            }
            Gate::Throttled { until } => {
                tracing::info!(user_id, client, "sign-in refused: the account makes this address wait");
                return Ok(Admission::Throttled(until));
            }
        }
    }
    // Contention this heavy is itself a reason to wait.
    Ok(Admission::Throttled(now + chrono::Duration::seconds(1)))
}

/// Counts a wrong password for `user_id` from `client`, for the address and
/// for the account, logs every lock and delay it starts, and forgets spent
/// counters of the account. Returns the address's lock when it is locked now.
pub async fn failed<C: ConnectionTrait>(
    db: &C,
    rule: &Rule,
    user_id: i64,
    client: &str,
    now: DateTime<Utc>,
) -> Result<Option<DateTime<Utc>>, DbErr> {
    let mut locked = None;
    for _ in 0..TRIES {
        let old = row(db, user_id, client).await?;
        let before = counter(old.as_ref());
        let (after, lock) = address_failed(rule, &before, now);
        if after == before || write(db, user_id, client, old.as_ref(), after, now).await? {
            if let Some(until) = lock {
                tracing::warn!(
                    user_id,
                    client,
                    failures = rule.max_failures,
                    until = %until.to_rfc3339(),
                    "sign-in locked for this account from this address"
                );
            }
            locked = after.blocked_until.filter(|t| *t > now);
            break;
        }
    }
    for _ in 0..TRIES {
        let old = row(db, user_id, ACCOUNT).await?;
        let (after, step) = account_failed(rule, &counter(old.as_ref()), now);
        if write(db, user_id, ACCOUNT, old.as_ref(), after, now).await? {
            match step {
                AccountStep::Counted => {}
                AccountStep::DelayStarted => tracing::warn!(
                    user_id,
                    client,
                    failures = after.failures,
                    "sign-in delayed for this account: addresses that failed must wait between attempts"
                ),
                AccountStep::DelayForAll => tracing::warn!(
                    user_id,
                    client,
                    failures = after.failures,
                    "sign-in delayed for this account from every address"
                ),
            }
            break;
        }
    }
    forget_spent(db, rule, user_id, now).await?;
    Ok(locked)
}

/// Removes the account's counters the rule no longer counts, so that rows
/// do not pile up for addresses that failed once long ago.
async fn forget_spent<C: ConnectionTrait>(db: &C, rule: &Rule, user_id: i64, now: DateTime<Utc>) -> Result<(), DbErr> {
    let rows = lt::Entity::find().filter(lt::Column::UserId.eq(user_id)).all(db).await?;
    for m in rows.iter().filter(|m| counter(Some(m)).is_spent(rule, now)) {
        // Conditional: a row written meanwhile counts again and stays.
        lt::Entity::delete_many()
            .filter(lt::Column::Id.eq(m.id))
            .filter(lt::Column::Version.eq(m.version))
            .exec(db)
            .await?;
    }
    Ok(())
}

/// A correct password from `client`: the address is forgotten (it proved
/// itself). Returns the lock a concurrent failure set meanwhile, if any.
pub async fn succeeded<C: ConnectionTrait>(
    db: &C,
    user_id: i64,
    client: &str,
    now: DateTime<Utc>,
) -> Result<Option<DateTime<Utc>>, DbErr> {
    for _ in 0..TRIES {
        let Some(old) = row(db, user_id, client).await? else { return Ok(None) };
        if let Some(until) = old.blocked_until.filter(|t| *t > now) {
            return Ok(Some(until));
        }
        let res = lt::Entity::delete_many()
            .filter(lt::Column::Id.eq(old.id))
            .filter(lt::Column::Version.eq(old.version))
            .exec(db)
            .await?;
        if res.rows_affected == 1 {
            return Ok(None);
        }
    }
    Ok(None)
}

/// Forgets every counter of an account: an administrator's unlock.
pub async fn clear<C: ConnectionTrait>(db: &C, user_id: i64) -> Result<(), DbErr> {
    lt::Entity::delete_many().filter(lt::Column::UserId.eq(user_id)).exec(db).await?;
    Ok(())
}

/// For each account locked from some address or delayed now, the latest
/// instant that lasts (for administrators: who is locked, until when).
pub async fn blocked_accounts<C: ConnectionTrait>(
    db: &C,
    user_id: Option<i64>,
    now: DateTime<Utc>,
) -> Result<HashMap<i64, DateTime<Utc>>, DbErr> {
    let mut q = lt::Entity::find().filter(lt::Column::BlockedUntil.gt(now));
    if let Some(id) = user_id {
        q = q.filter(lt::Column::UserId.eq(id));
    }
    let mut out: HashMap<i64, DateTime<Utc>> = HashMap::new();
    for m in q.all(db).await? {
        if let Some(until) = m.blocked_until {
            let e = out.entry(m.user_id).or_insert(until);
            *e = (*e).max(until);
        }
    }
    Ok(out)
}
