//! Scheduled work. Every server process runs [`tick`]; each item is claimed
//! through a conditional update or a unique key in the database, so several
//! processes on one PostgreSQL database do each item exactly once. A server
//! that was down catches up on what came due, once. The jobs find what is
//! due; the writes are the services' (`services::cases::escalation`,
//! `services::cases::expiry`, `services::digest`, `services::outbox`).

mod deadlines;
mod publications;

use serde::Serialize;

use crate::mailer::Mailer;
use crate::services::outbox::delivery;
use crate::services::{deliveries, digest};
use crate::state::AppState;

/// Rows a job reads at a time.
const BATCH: u64 = 500;

#[derive(Debug, Default, Serialize, Clone, PartialEq)]
pub struct TickReport {
    pub warned: u32,
    pub overdue: u32,
    pub supplements_expired: u32,
    pub publications_ended: u32,
    pub repair_notices: u32,
    pub digests: u32,
    pub provisional_alerts: u32,
    pub delivered: u32,
    pub delivery_failures: u32,
    /// Sync messages handed over to their subscribers' deliveries.
    pub sync_fanned_out: u32,
    pub sync_delivered: u32,
    pub sync_failures: u32,
}

/// One scheduler tick: every job, in order.
pub async fn tick(state: &AppState, mailer: &Mailer, worker: &str) -> anyhow::Result<TickReport> {
    let start = std::time::Instant::now();
    let result = tick_jobs(state, mailer, worker).await;
    let items = match &result {
        Ok(r) => vec![
            ("warned", r.warned as u64),
            ("overdue", r.overdue as u64),
            ("supplements_expired", r.supplements_expired as u64),
            ("publications_ended", r.publications_ended as u64),
            ("repair_notices", r.repair_notices as u64),
            ("digests", r.digests as u64),
            ("delivered", r.delivered as u64),
            ("sync_delivered", r.sync_delivered as u64),
        ],
        Err(_) => Vec::new(),
    };
    if let Ok(r) = &result {
        crate::metrics::METRICS.delivery_failures.inc_by((r.delivery_failures + r.sync_failures) as u64);
    }
    crate::metrics::tick(start.elapsed().as_secs_f64(), result.is_ok(), &items);
    result
}

async fn tick_jobs(state: &AppState, mailer: &Mailer, worker: &str) -> anyhow::Result<TickReport> {
    let mut r = TickReport::default();
    refresh_calendar(state).await?;
    (r.warned, r.overdue, r.supplements_expired) = deadline_work(state).await?;
    r.publications_ended = publications::expire_publications(state).await?;
    r.repair_notices = publications::repair_notices(state).await?;
    r.digests = digest::daily_digest(state, worker).await?;
    r.provisional_alerts = digest::provisional_alert(state, worker).await?;
    let (ok, failed) = delivery::deliver(state, mailer).await?;
    r.delivered = ok;
    r.delivery_failures = failed;
    r.sync_fanned_out = deliveries::fan_out(&state.db, state.clock.now()).await?;
    let (ok, failed) = deliveries::deliver_due(state).await?;
    r.sync_delivered = ok;
    r.sync_failures = failed;
    Ok(r)
}

/// The tick's deadline jobs (warnings, overdue marks with escalation,
/// unanswered supplement requests): how many of each were done.
pub async fn deadline_work(state: &AppState) -> anyhow::Result<(u32, u32, u32)> {
    Ok((
        deadlines::warn_due(state).await?,
        deadlines::mark_overdue(state).await?,
        deadlines::expire_supplements(state).await?,
    ))
}

/// Another server process may have loaded a calendar year: take it over.
async fn refresh_calendar(state: &AppState) -> anyhow::Result<()> {
    let cal = crate::services::calendar::load(&state.db).await?;
    if let Ok(mut c) = state.calendar.write() {
        *c = cal;
    }
    Ok(())
}

pub use crate::services::claims::claim;
