//! The credit office's daily digest and the administrators' alert about
//! provisional calendar years: once a day each, claimed by a unique key so
//! one replica sends it.

use chrono::{Duration, Timelike};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, TransactionTrait};
use serde_json::json;

use super::claims::{claim, claimed};
use crate::clock::local_date;
use crate::services::outbox;
use crate::state::AppState;
use entity::types::DeadlineStatus;
use entity::{case, deadline, department};

/// Working days: once per day after the digest hour, one mail to the credit
/// office listing overdue and due-soon open cases by department.
pub async fn daily_digest(state: &AppState, worker: &str) -> anyhow::Result<u32> {
    let now = state.clock.now();
    let local = now.with_timezone(&crate::clock::shanghai());
    let today = local.date_naive();
    if local.hour() < state.settings.digest_hour {
        return Ok(0);
    }
    let cal = state.calendar();
    if !cal.day(today).map(|d| d.working).unwrap_or(true) {
        return Ok(0);
    }
    let soon = cal.next_working_day(today).map(crate::clock::end_of_local_day).unwrap_or(now + Duration::days(1));
    let txn = state.db.begin().await?;
    if !claim(&txn, &format!("digest:{today}"), worker, now).await? {
        return Ok(0);
    }
    let open = case::Entity::find()
        .filter(case::Column::ClosedAt.is_null())
        .filter(sea_orm::Condition::any().add(case::Column::Overdue.eq(true)).add(case::Column::DueAt.lte(soon)))
        .order_by_asc(case::Column::DepartmentId)
        .order_by_asc(case::Column::DueAt)
        .all(&txn)
        .await?;
    let depts: std::collections::HashMap<i64, String> =
        department::Entity::find().all(&txn).await?.into_iter().map(|d| (d.id, d.name)).collect();
    let mut groups: Vec<serde_json::Value> = Vec::new();
    let (mut overdue_count, mut soon_count) = (0, 0);
    for chunk in open.chunk_by(|a, b| a.department_id == b.department_id) {
        let mut overdue = Vec::new();
        let mut due_soon = Vec::new();
        for c in chunk {
            let def = state.workflows.pinned(&txn, &c.workflow_hash).await?;
            let item = json!({
                "case_no": c.case_no,
                "kind_label": c.kind.label_zh(),
                "state_title": def.state(&c.state).map(|s| s.title.clone()),
                "due_date": c.due_at.map(|d| (local_date(d) - Duration::days(1)).to_string()),
            });
            if c.overdue {
                overdue.push(item);
            } else {
                due_soon.push(item);
            }
        }
        overdue_count += overdue.len();
        soon_count += due_soon.len();
        groups.push(json!({
            "name": depts.get(&chunk[0].department_id).cloned().unwrap_or_default(),
            "overdue": overdue,
            "due_soon": due_soon,
        }));
    }
    let ctx = json!({"date": today.to_string(), "departments": groups, "overdue_count": overdue_count, "due_soon_count": soon_count});
    let to = outbox::credit_office(&txn).await?;
    outbox::queue_mail(&txn, &state.templates, "daily_digest", &ctx, &to, None, Some(format!("digest:{today}")), now)
        .await?;
    txn.commit().await?;
    Ok(1)
}

/// While any running deadline is provisional (its year's arrangement is not
/// loaded), alert the administrators once a day.
pub async fn provisional_alert(state: &AppState, worker: &str) -> anyhow::Result<u32> {
    let now = state.clock.now();
    let today = local_date(now);
    let key = format!("provisional-alert:{today}");
    // Once a day: after the day's alert (from any replica) a tick reads one row.
    if claimed(&state.db, &key).await? {
        return Ok(0);
    }
    let (count, years) = provisional_years(&state.db).await?;
    if count == 0 {
        return Ok(0);
    }
    let cal = state.calendar();
    let mut years: Vec<i32> = years.into_iter().filter(|y| !cal.is_loaded(*y)).collect();
    years.sort();
    years.dedup();
    let txn = state.db.begin().await?;
    if !claim(&txn, &key, worker, now).await? {
        return Ok(0);
    }
    let to = outbox::administrators(&txn).await?;
    let ctx = json!({"years": years, "count": count});
    outbox::queue_mail(
        &txn,
        &state.templates,
        "calendar_provisional",
        &ctx,
        &to,
        None,
        Some(format!("provisional-alert:{today}")),
        now,
    )
    .await?;
    txn.commit().await?;
    Ok(1)
}

/// The open provisional deadlines: how many, and the years they start or
/// fall due in (aggregate queries; the rows are not loaded).
async fn provisional_years<C: sea_orm::ConnectionTrait>(db: &C) -> anyhow::Result<(u64, Vec<i32>)> {
    use sea_orm::{DatabaseBackend, PaginatorTrait, Statement};
    let count = deadline::Entity::find()
        .filter(deadline::Column::Status.is_in(DeadlineStatus::OPEN))
        .filter(deadline::Column::Provisional.eq(true))
        .count(db)
        .await?;
    if count == 0 {
        return Ok((0, Vec::new()));
    }
    let backend = db.get_database_backend();
    let sql = match backend {
        DatabaseBackend::Postgres => {
            "SELECT CAST(EXTRACT(YEAR FROM started_on) AS INTEGER) FROM deadlines \
             WHERE provisional = $1 AND status IN ($2, $3) \
             UNION SELECT CAST(EXTRACT(YEAR FROM due_on) AS INTEGER) FROM deadlines \
             WHERE provisional = $1 AND status IN ($2, $3)"
        }
        _ => {
            "SELECT CAST(substr(started_on, 1, 4) AS INTEGER) FROM deadlines \
             WHERE provisional = ?1 AND status IN (?2, ?3) \
             UNION SELECT CAST(substr(due_on, 1, 4) AS INTEGER) FROM deadlines \
             WHERE provisional = ?1 AND status IN (?2, ?3)"
        }
    };
    let [running, paused] = DeadlineStatus::OPEN.map(|s| s.as_str().to_string());
    let rows = db
        .query_all_raw(Statement::from_sql_and_values(backend, sql, [true.into(), running.into(), paused.into()]))
        .await?;
    let years = rows.iter().map(|r| r.try_get_by_index::<i32>(0)).collect::<Result<Vec<_>, _>>()?;
    Ok((count, years))
}
