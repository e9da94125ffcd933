//! Delivering the outbox: each pending row is claimed with a lease,
//! delivered, then marked sent, or rescheduled with exponential backoff, or
//! dead after the configured number of attempts. A sender that dies
//! mid-delivery leaves its rows to the next one when the lease runs out.
//! Mail only: sync messages go to subscribers (`services::deliveries`).

use chrono::Duration;
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, QuerySelect, sea_query::Expr};

use crate::mailer::Mailer;
use crate::state::AppState;

/// Mail rows read per round.
const BATCH: u64 = 100;

/// How long one tick may spend sending mail: half the tick interval, at
/// least five seconds. Within it rounds of `BATCH` continue while mail is
/// due, so the mail server sets the pace, not a fixed number per tick.
pub(crate) fn budget(tick_seconds: u64) -> std::time::Duration {
    std::time::Duration::from_secs((tick_seconds / 2).max(5))
}

/// Sends the pending mail rows that are due, in rounds until none is left
/// or the tick's budget is spent. Returns (sent, failed).
pub async fn deliver(state: &AppState, mailer: &Mailer) -> anyhow::Result<(u32, u32)> {
    use entity::outbox as ob;
    let db: &DatabaseConnection = &state.db;
    let now = state.clock.now();
    // Rows whose sender died mid-delivery go back to the queue when the lease runs out.
    ob::Entity::update_many()
        .col_expr(ob::Column::Status, Expr::value("pending"))
        .filter(ob::Column::Kind.eq("mail"))
        .filter(ob::Column::Status.eq("sending"))
        .filter(ob::Column::NextAttemptAt.lte(now))
        .exec(db)
        .await?;
    let (mut ok, mut failed) = (0, 0);
    let started = std::time::Instant::now();
    // Rows after the last one tried: a failed row waits for its backoff.
    let mut after = 0i64;
    loop {
        let ids: Vec<i64> = ob::Entity::find()
            .select_only()
            .column(ob::Column::Id)
            .filter(ob::Column::Kind.eq("mail"))
            .filter(ob::Column::Status.eq("pending"))
            .filter(ob::Column::NextAttemptAt.lte(now))
            .filter(ob::Column::Id.gt(after))
            .order_by_asc(ob::Column::Id)
            .limit(BATCH)
            .into_tuple()
            .all(db)
            .await?;
        let Some(last) = ids.last().copied() else { break };
        after = last;
        let (o, f) = send_each(state, mailer, ids).await?;
        ok += o;
        failed += f;
        if started.elapsed() >= budget(state.settings.tick_seconds) {
            break;
        }
    }
    Ok((ok, failed))
}

/// Claims, sends and settles each row: sent, or rescheduled with backoff,
/// or dead. Returns (sent, failed).
async fn send_each(state: &AppState, mailer: &Mailer, ids: Vec<i64>) -> anyhow::Result<(u32, u32)> {
    use entity::outbox as ob;
    let db: &DatabaseConnection = &state.db;
    let now = state.clock.now();
    let (mut ok, mut failed) = (0, 0);
    for id in ids {
        let claimed = ob::Entity::update_many()
            .col_expr(ob::Column::Status, Expr::value("sending"))
            .col_expr(ob::Column::NextAttemptAt, Expr::value(now + Duration::minutes(5)))
            .filter(ob::Column::Id.eq(id))
            .filter(ob::Column::Status.eq("pending"))
            .exec(db)
            .await?;
        if claimed.rows_affected != 1 {
            continue;
        }
        let Some(row) = ob::Entity::find_by_id(id).one(db).await? else { continue };
        let attempts = row.attempts + 1;
        match mailer.deliver(&row).await {
            Ok(()) => {
                ob::Entity::update_many()
                    .col_expr(ob::Column::Status, Expr::value("sent"))
                    .col_expr(ob::Column::Attempts, Expr::value(attempts))
                    .col_expr(ob::Column::SentAt, Expr::value(state.clock.now()))
                    .col_expr(ob::Column::LastError, Expr::value(Option::<String>::None))
                    .filter(ob::Column::Id.eq(id))
                    .exec(db)
                    .await?;
                ok += 1;
            }
            Err(e) => {
                let dead = attempts >= state.settings.outbox_max_attempts;
                let backoff = Duration::seconds((30i64 << attempts.min(7)).min(3600));
                tracing::warn!(outbox = id, attempts, dead, error = %e, "delivery failed");
                ob::Entity::update_many()
                    .col_expr(ob::Column::Status, Expr::value(if dead { "dead" } else { "pending" }))
                    .col_expr(ob::Column::Attempts, Expr::value(attempts))
                    .col_expr(ob::Column::NextAttemptAt, Expr::value(now + backoff))
                    .col_expr(ob::Column::LastError, Expr::value(Some(format!("{e:#}"))))
                    .filter(ob::Column::Id.eq(id))
                    .exec(db)
                    .await?;
                failed += 1;
            }
        }
    }
    Ok((ok, failed))
}
