//! Deadline escalation, one deadline row at a time, each in its own
//! transaction: the warning before a step falls due, and the overdue mark
//! with its escalation to the credit office. The scheduler claims the rows
//! (`jobs::deadlines`); a second replica's claim finds them taken.

use chrono::{DateTime, NaiveDate, Utc};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, TransactionTrait, sea_query::Expr};
use serde_json::json;

use super::audit;
use super::notice::{self, Parties};
use crate::state::AppState;
use crate::workflow::{Recipient, Role};
use entity::types::DeadlineStatus;
use entity::{case, deadline};

/// Warns the owner of a step whose warning day has come. Returns true
/// when a warning was queued (false: claimed elsewhere, already past due, or
/// a state the applicant owns).
pub async fn warn(state: &AppState, d: &deadline::Model, now: DateTime<Utc>, today: NaiveDate) -> anyhow::Result<bool> {
    if crate::domain::deadline::warning_day(d.due_on) > today {
        return Ok(false);
    }
    let txn = state.db.begin().await?;
    // Case first, then its deadline: the order transitions use too.
    audit::lock_case(&txn, d.case_id).await?;
    let claimed = deadline::Entity::update_many()
        .col_expr(deadline::Column::WarnedAt, Expr::value(now))
        .filter(deadline::Column::Id.eq(d.id))
        .filter(deadline::Column::WarnedAt.is_null())
        .filter(deadline::Column::Status.eq(DeadlineStatus::Running))
        .filter(deadline::Column::DueOn.eq(d.due_on))
        .exec(&txn)
        .await?;
    if claimed.rows_affected != 1 {
        return Ok(false);
    }
    let mut warned = false;
    // Already past due (the server was down): the overdue job reports it.
    if now < d.due_at
        && let Some(c) = case::Entity::find_by_id(d.case_id).one(&txn).await?
    {
        let def = state.workflows.pinned(&txn, &c.workflow_hash).await?;
        // States the applicant owns (a supplement request) are not warned.
        let recipient = match def.state(&c.state).and_then(|s| s.owner) {
            Some(Role::DepartmentOfficer) => Some(Recipient::Department),
            Some(Role::CreditOffice) => Some(Recipient::CreditOffice),
            _ => None,
        };
        if let Some(who) = recipient {
            let parties = Parties::load(&txn, &c).await?;
            let ctx = notice::context(state, &c, &def, None, &parties, Some(d.due_on));
            notice::queue(&txn, state, &c, "deadline_warning", &ctx, &[who], now).await?;
            audit::system_event(&txn, &c, "deadline_warning", json!({"deadline_id": d.id, "due_on": d.due_on}), now)
                .await?;
            warned = true;
        }
    }
    txn.commit().await?;
    Ok(warned)
}

/// Marks the case of a past-due deadline overdue and escalates it to the
/// credit office (and the department that holds it). Returns true when this
/// call did it.
pub async fn mark_overdue(state: &AppState, d: &deadline::Model, now: DateTime<Utc>) -> anyhow::Result<bool> {
    // Read before the transaction, which starts by writing: on SQLite a
    // transaction that reads and then writes fails at once ("database is
    // locked") when another process wrote in between. A case that moves on
    // meanwhile ends this deadline, so the claim then misses.
    let Some(c) = case::Entity::find_by_id(d.case_id).one(&state.db).await? else { return Ok(false) };
    let def = state.workflows.pinned(&state.db, &c.workflow_hash).await?;
    let owner = def.state(&c.state).and_then(|s| s.owner);
    if owner == Some(Role::Applicant) {
        // An unanswered supplement request is handled by its own expiry.
        return Ok(false);
    }
    let txn = state.db.begin().await?;
    // Case first, then its deadline: the overdue mark is the case's lock (a
    // missed claim below rolls it back).
    case::Entity::update_many()
        .col_expr(case::Column::Overdue, Expr::value(true))
        .filter(case::Column::Id.eq(c.id))
        .exec(&txn)
        .await?;
    let claimed = deadline::Entity::update_many()
        .col_expr(deadline::Column::OverdueAt, Expr::value(now))
        .filter(deadline::Column::Id.eq(d.id))
        .filter(deadline::Column::OverdueAt.is_null())
        .filter(deadline::Column::Status.eq(DeadlineStatus::Running))
        .filter(deadline::Column::DueAt.lte(now))
        .exec(&txn)
        .await?;
    if claimed.rows_affected != 1 {
        return Ok(false);
    }
    let parties = Parties::load(&txn, &c).await?;
    let ctx = notice::context(state, &c, &def, None, &parties, Some(d.due_on));
    // The department that holds the case is told at once; the credit office
    // sees every overdue case in its daily digest (one mail, not one per case).
    if owner == Some(Role::DepartmentOfficer) {
        notice::queue_once(&txn, state, &c, "deadline_overdue", &ctx, &[Recipient::Department], now).await?;
    }
    audit::system_event(
        &txn,
        &c,
        "deadline_overdue",
        json!({"deadline_id": d.id, "deadline": d.kind, "due_on": d.due_on, "escalated_to": "credit_office"}),
        now,
    )
    .await?;
    txn.commit().await?;
    Ok(true)
}
