//! Delivering the outbox: each pending row is claimed with a lease,
//! delivered, then marked sent, or rescheduled with exponential backoff, or
//! dead after the configured number of attempts. A sender that dies
//! mid-delivery leaves its rows to the next one when the lease runs out.
//! Mail only: sync messages go to subscribers (`services::deliveries`).

use chrono::Duration;
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, QuerySelect, sea_query::Expr};

use crate::mailer::Mailer;
use crate::state::AppState;

/// Sends the pending mail rows that are due (a batch). Returns (sent, failed).
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
    let ids: Vec<i64> = ob::Entity::find()
        .select_only()
        .column(ob::Column::Id)
        .filter(ob::Column::Kind.eq("mail"))
        .filter(ob::Column::Status.eq("pending"))
        .filter(ob::Column::NextAttemptAt.lte(now))
        .order_by_asc(ob::Column::Id)
        .limit(100)
        .into_tuple()
        .all(db)
        .await?;
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
