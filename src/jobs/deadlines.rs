//! Deadline jobs: warnings before a step falls due, overdue marks with
//! escalation, and unanswered supplement requests.

use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, QuerySelect};

use super::BATCH;
use crate::services::cases::{act, escalation, now_micros};
use crate::state::AppState;
use entity::deadline;
use entity::types::{DeadlineKind, DeadlineStatus};

/// Running deadlines of the given kinds matching `cond`, a batch at a time in id order.
async fn running(
    db: &DatabaseConnection,
    kinds: &[DeadlineKind],
    cond: sea_orm::Condition,
    after: i64,
) -> anyhow::Result<Vec<deadline::Model>> {
    Ok(deadline::Entity::find()
        .filter(deadline::Column::Kind.is_in(kinds.to_vec()))
        .filter(deadline::Column::Status.eq(DeadlineStatus::Running))
        .filter(deadline::Column::Id.gt(after))
        .filter(cond)
        .order_by_asc(deadline::Column::Id)
        .limit(BATCH)
        .all(db)
        .await?)
}

/// Step deadlines (in states owned by the credit office or a department)
/// whose warning day (`domain::deadline::warning_day`: the last working day)
/// has come and that are not yet warned.
pub(super) async fn warn_due(state: &AppState) -> anyhow::Result<u32> {
    let now = now_micros(state);
    let today = state.clock.today();
    let mut n = 0;
    // warning_day(due_on) == due_on, so "warning day <= today" is "due_on <= today";
    // due_at is the end of due_on (`clock::end_of_local_day`), so the same bound
    // on due_at lets the (status, due_at) index read only today's deadlines
    // instead of every future one.
    let due = sea_orm::Condition::all()
        .add(deadline::Column::WarnedAt.is_null())
        .add(deadline::Column::DueOn.lte(today))
        .add(deadline::Column::DueAt.lte(crate::clock::end_of_local_day(today)));
    // Already past due before their warning went out (the server was down):
    // nobody is warned, the overdue job reports them. They are only marked,
    // in one statement, without a transaction per deadline.
    deadline::Entity::update_many()
        .col_expr(deadline::Column::WarnedAt, sea_orm::sea_query::Expr::value(now))
        .filter(deadline::Column::Kind.eq(DeadlineKind::Step))
        .filter(deadline::Column::Status.eq(DeadlineStatus::Running))
        .filter(due.clone())
        .filter(deadline::Column::DueAt.lte(now))
        .exec(&state.db)
        .await?;
    let due = due.add(deadline::Column::DueAt.gt(now));
    let mut after = 0;
    loop {
        let rows = running(&state.db, &[DeadlineKind::Step], due.clone(), after).await?;
        let Some(last) = rows.last() else { break };
        after = last.id;
        let full = rows.len() as u64 == BATCH;
        for d in rows {
            if escalation::warn(state, &d, now, today).await? {
                n += 1;
            }
        }
        if !full {
            break;
        }
    }
    Ok(n)
}

/// Step and whole-case deadlines past due in states the credit office or a
/// department owns: the case becomes overdue and escalates to the credit office.
pub(super) async fn mark_overdue(state: &AppState) -> anyhow::Result<u32> {
    let now = now_micros(state);
    let mut n = 0;
    let due =
        sea_orm::Condition::all().add(deadline::Column::OverdueAt.is_null()).add(deadline::Column::DueAt.lte(now));
    let mut after = 0;
    loop {
        let rows = running(&state.db, &[DeadlineKind::Step, DeadlineKind::Total], due.clone(), after).await?;
        let Some(last) = rows.last() else { break };
        after = last.id;
        let full = rows.len() as u64 == BATCH;
        n += escalation::mark_overdue(state, &rows, now).await?;
        if !full {
            break;
        }
    }
    Ok(n)
}

/// Supplement requests unanswered by their deadline: the case is closed as
/// withdrawn (system action `expire_supplement`).
pub(super) async fn expire_supplements(state: &AppState) -> anyhow::Result<u32> {
    let now = state.clock.now();
    let mut n = 0;
    let rows = deadline::Entity::find()
        .filter(deadline::Column::Kind.eq(DeadlineKind::Step))
        .filter(deadline::Column::Status.eq(DeadlineStatus::Running))
        .filter(deadline::Column::DueAt.lte(now))
        .filter(deadline::Column::State.eq("supplement_requested"))
        .limit(BATCH)
        .all(&state.db)
        .await?;
    for d in rows {
        match act::system_action(state, d.case_id, "expire_supplement", "逾期未补正，视为撤回申请").await {
            Ok(true) => n += 1,
            Ok(false) => {}
            Err(e) => tracing::warn!(case = d.case_id, error = %e, "could not close an unanswered supplement request"),
        }
    }
    Ok(n)
}
