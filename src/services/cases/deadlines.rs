//! Deadline rows. Entering a state with a deadline starts a `step` row; the
//! whole case runs on a `total` row that pauses while the applicant supplements
//! materials. Due = end (24:00 Asia/Shanghai) of the Nth working day after the
//! start day, which is not counted.

use chrono::{DateTime, NaiveDate, Utc};
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, Set};
use serde_json::{Value, json};

use crate::clock::end_of_local_day;
use crate::domain::calendar::Calendar;
use crate::error::{ApiError, ApiResult};
use entity::deadline;

fn cal_err(e: crate::domain::calendar::CalendarError) -> ApiError {
    ApiError::unprocessable(e.code(), e.to_string())
}

fn push_history(history: &str, entry: Value) -> String {
    let mut v: Vec<Value> = serde_json::from_str(history).unwrap_or_default();
    v.push(entry);
    Value::Array(v).to_string()
}

/// Starts a deadline of `days` working days counted after `start`.
#[allow(clippy::too_many_arguments)]
pub async fn start<C: ConnectionTrait>(
    db: &C,
    cal: &Calendar,
    case_id: i64,
    kind: &str,
    state: &str,
    days: u32,
    start: NaiveDate,
    now: DateTime<Utc>,
) -> ApiResult<deadline::Model> {
    let due = cal.add_working_days(start, days).map_err(cal_err)?;
    let history = json!([{
        "at": now, "event": "started", "start": start, "working_days": days,
        "due": due.due, "counted": due.counted, "provisional": due.provisional,
    }]);
    Ok(deadline::ActiveModel {
        case_id: Set(case_id),
        kind: Set(kind.into()),
        state: Set(state.into()),
        budget_days: Set(days as i32),
        extended_days: Set(0),
        started_on: Set(start),
        due_on: Set(due.due),
        due_at: Set(end_of_local_day(due.due)),
        provisional: Set(due.provisional),
        status: Set("running".into()),
        paused_on: Set(None),
        used_days_at_pause: Set(None),
        history: Set(history.to_string()),
        warned_at: Set(None),
        overdue_at: Set(None),
        created_at: Set(now),
        ..Default::default()
    }
    .insert(db)
    .await?)
}

async fn current<C: ConnectionTrait>(db: &C, case_id: i64, kind: &str) -> ApiResult<Option<deadline::Model>> {
    Ok(deadline::Entity::find()
        .filter(deadline::Column::CaseId.eq(case_id))
        .filter(deadline::Column::Kind.eq(kind))
        .filter(deadline::Column::Status.is_in(["running", "paused"]))
        .order_by_desc(deadline::Column::Id)
        .one(db)
        .await?)
}

/// Ends the open deadlines of the given kinds (state left, or case closed).
async fn close<C: ConnectionTrait>(
    db: &C,
    case_id: i64,
    kinds: &[&str],
    today: NaiveDate,
    now: DateTime<Utc>,
) -> ApiResult<()> {
    for kind in kinds {
        if let Some(d) = current(db, case_id, kind).await? {
            let history = push_history(&d.history, json!({"at": now, "event": "closed", "on": today}));
            let mut am: deadline::ActiveModel = d.into();
            am.status = Set("met".into());
            am.history = Set(history);
            am.update(db).await?;
        }
    }
    Ok(())
}

/// Ends the running step deadline (the state was left).
pub async fn close_step<C: ConnectionTrait>(
    db: &C,
    case_id: i64,
    today: NaiveDate,
    now: DateTime<Utc>,
) -> ApiResult<()> {
    close(db, case_id, &["step"], today, now).await
}

/// Ends every open deadline of a closed case.
pub async fn close_all<C: ConnectionTrait>(
    db: &C,
    case_id: i64,
    today: NaiveDate,
    now: DateTime<Utc>,
) -> ApiResult<()> {
    close(db, case_id, &["step", "total"], today, now).await
}

/// Stops the total clock: the working days used so far are kept.
pub async fn pause_total<C: ConnectionTrait>(
    db: &C,
    cal: &Calendar,
    case_id: i64,
    today: NaiveDate,
    now: DateTime<Utc>,
) -> ApiResult<()> {
    let Some(d) = current(db, case_id, "total").await? else { return Ok(()) };
    if d.status != "running" {
        return Ok(());
    }
    let (used_now, _) = cal.working_days_between(d.started_on, today.min(d.due_on)).map_err(cal_err)?;
    let used = d.used_days_at_pause.unwrap_or(0) + used_now as i32;
    let history =
        push_history(&d.history, json!({"at": now, "event": "paused", "on": today, "used_working_days": used}));
    let mut am: deadline::ActiveModel = d.into();
    am.status = Set("paused".into());
    am.paused_on = Set(Some(today));
    am.used_days_at_pause = Set(Some(used));
    am.history = Set(history);
    am.update(db).await?;
    Ok(())
}

/// Restarts the total clock with the remaining budget, counted after today.
pub async fn resume_total<C: ConnectionTrait>(
    db: &C,
    cal: &Calendar,
    case_id: i64,
    today: NaiveDate,
    now: DateTime<Utc>,
) -> ApiResult<()> {
    let Some(d) = current(db, case_id, "total").await? else { return Ok(()) };
    if d.status != "paused" {
        return Ok(());
    }
    let used = d.used_days_at_pause.unwrap_or(0);
    let remaining = (d.budget_days + d.extended_days - used).max(0) as u32;
    let due = cal.add_working_days(today, remaining).map_err(cal_err)?;
    let history = push_history(
        &d.history,
        json!({"at": now, "event": "resumed", "on": today, "remaining_working_days": remaining,
               "due": due.due, "counted": due.counted, "provisional": due.provisional}),
    );
    let mut am: deadline::ActiveModel = d.into();
    am.status = Set("running".into());
    am.started_on = Set(today);
    am.paused_on = Set(None);
    am.due_on = Set(due.due);
    am.due_at = Set(end_of_local_day(due.due));
    am.provisional = Set(due.provisional);
    am.warned_at = Set(None);
    am.history = Set(history);
    am.update(db).await?;
    Ok(())
}

/// Adds `days` working days to the running step deadline (and to the total).
pub async fn extend<C: ConnectionTrait>(
    db: &C,
    cal: &Calendar,
    case_id: i64,
    days: u32,
    reason: &str,
    approver: Option<i64>,
    now: DateTime<Utc>,
) -> ApiResult<Option<NaiveDate>> {
    let mut new_step_due = None;
    for kind in ["step", "total"] {
        let Some(d) = current(db, case_id, kind).await? else { continue };
        let due = cal.add_working_days(d.due_on, days).map_err(cal_err)?;
        let history = push_history(
            &d.history,
            json!({"at": now, "event": "extended", "working_days": days, "reason": reason,
                   "approved_by": approver, "previous_due": d.due_on, "due": due.due,
                   "counted": due.counted, "provisional": due.provisional}),
        );
        let running = d.status == "running";
        let mut am: deadline::ActiveModel = d.clone().into();
        am.extended_days = Set(d.extended_days + days as i32);
        if running {
            am.due_on = Set(due.due);
            am.due_at = Set(end_of_local_day(due.due));
            am.provisional = Set(due.provisional || d.provisional);
            am.warned_at = Set(None);
            am.overdue_at = Set(None);
        }
        am.history = Set(history);
        am.update(db).await?;
        if kind == "step" {
            new_step_due = Some(due.due);
        }
    }
    Ok(new_step_due)
}

/// The case's deadline columns, from its open deadline rows:
/// (step due_at, total due_at, any provisional).
pub async fn summary<C: ConnectionTrait>(
    db: &C,
    case_id: i64,
) -> ApiResult<(Option<DateTime<Utc>>, Option<DateTime<Utc>>, bool)> {
    let step = current(db, case_id, "step").await?;
    let total = current(db, case_id, "total").await?;
    let provisional = step.as_ref().is_some_and(|d| d.provisional) || total.as_ref().is_some_and(|d| d.provisional);
    Ok((
        step.filter(|d| d.status == "running").map(|d| d.due_at),
        total.filter(|d| d.status == "running").map(|d| d.due_at),
        provisional,
    ))
}

/// Copies the open deadline rows' due times onto the case row.
pub async fn refresh_case<C: ConnectionTrait>(db: &C, case_id: i64) -> ApiResult<()> {
    use entity::case;
    use sea_orm::sea_query::Expr;
    let (due_at, total_due_at, provisional) = summary(db, case_id).await?;
    case::Entity::update_many()
        .col_expr(case::Column::DueAt, Expr::value(due_at))
        .col_expr(case::Column::TotalDueAt, Expr::value(total_due_at))
        .col_expr(case::Column::ProvisionalDeadline, Expr::value(provisional))
        .filter(case::Column::Id.eq(case_id))
        .exec(db)
        .await?;
    Ok(())
}
