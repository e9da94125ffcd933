//! Deadline escalation: the warning before a step falls due (one deadline
//! row at a time, each in its own transaction), and the overdue mark with its
//! escalation to the credit office (a page of rows in one transaction). The scheduler claims the rows
//! (`jobs::deadlines`); a second replica's claim finds them taken.

use chrono::{DateTime, NaiveDate, Utc};
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, TransactionTrait, sea_query::Expr,
};
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

/// Marks the cases of past-due deadlines overdue and escalates them to the
/// credit office (and tells the department that holds each), a page of
/// deadlines in one transaction: the cases are locked in id order (the
/// order every writer takes: case, then its deadlines), the deadlines
/// claimed in one statement, then everything the escalations need is read
/// and written a statement per kind of row, not per case. Returns how many
/// deadlines this call claimed (another process's claim finds them taken).
pub async fn mark_overdue(state: &AppState, rows: &[deadline::Model], now: DateTime<Utc>) -> anyhow::Result<u32> {
    use std::collections::{BTreeSet, HashMap};
    // Read before the transaction, which starts by writing: on SQLite a
    // transaction that reads and then writes fails at once ("database is
    // locked") when another process wrote in between. A case that moves on
    // meanwhile ends its step deadline (or pauses its total), so the claim
    // then misses it.
    let ids: BTreeSet<i64> = rows.iter().map(|d| d.case_id).collect();
    let before: HashMap<i64, case::Model> = case::Entity::find()
        .filter(case::Column::Id.is_in(ids.iter().copied()))
        .all(&state.db)
        .await?
        .into_iter()
        .map(|c| (c.id, c))
        .collect();
    let mut eligible = Vec::new();
    for d in rows {
        let Some(c) = before.get(&d.case_id) else { continue };
        let def = state.workflows.pinned(&state.db, &c.workflow_hash).await?;
        // An unanswered supplement request is handled by its own expiry.
        if def.state(&c.state).and_then(|s| s.owner) != Some(Role::Applicant) {
            eligible.push(d.id);
        }
    }
    if eligible.is_empty() {
        return Ok(0);
    }
    let case_ids: Vec<i64> = rows.iter().filter(|d| eligible.contains(&d.id)).map(|d| d.case_id).collect();
    let txn = state.db.begin().await?;
    if txn.get_database_backend() == sea_orm::DatabaseBackend::Postgres {
        // Case first, then its deadline, in id order across the page.
        case::Entity::find()
            .select_only()
            .column(case::Column::Id)
            .filter(case::Column::Id.is_in(case_ids.clone()))
            .order_by_asc(case::Column::Id)
            .lock_exclusive()
            .into_tuple::<i64>()
            .all(&txn)
            .await?;
    }
    let claimed = deadline::Entity::update_many()
        .col_expr(deadline::Column::OverdueAt, Expr::value(now))
        .filter(deadline::Column::Id.is_in(eligible))
        .filter(deadline::Column::OverdueAt.is_null())
        .filter(deadline::Column::Status.eq(DeadlineStatus::Running))
        .filter(deadline::Column::DueAt.lte(now))
        .exec_with_returning(&txn)
        .await?;
    if claimed.is_empty() {
        txn.commit().await?;
        return Ok(0);
    }
    let claimed_cases: BTreeSet<i64> = claimed.iter().map(|d| d.case_id).collect();
    case::Entity::update_many()
        .col_expr(case::Column::Overdue, Expr::value(true))
        .filter(case::Column::Id.is_in(claimed_cases.iter().copied()))
        .exec(&txn)
        .await?;
    // What the notices and events are made of, for the whole page.
    let cases: HashMap<i64, case::Model> = case::Entity::find()
        .filter(case::Column::Id.is_in(claimed_cases.iter().copied()))
        .all(&txn)
        .await?
        .into_iter()
        .map(|c| (c.id, c))
        .collect();
    let subjects: HashMap<i64, entity::subject::Model> = entity::subject::Entity::find()
        .filter(entity::subject::Column::Id.is_in(cases.values().map(|c| c.subject_id)))
        .all(&txn)
        .await?
        .into_iter()
        .map(|s| (s.id, s))
        .collect();
    let departments: HashMap<i64, entity::department::Model> = entity::department::Entity::find()
        .filter(entity::department::Column::Id.is_in(cases.values().map(|c| c.department_id)))
        .all(&txn)
        .await?
        .into_iter()
        .map(|d| (d.id, d))
        .collect();
    let officers = entity::user::Entity::find()
        .filter(entity::user::Column::Role.eq(Role::DepartmentOfficer.as_str()))
        .filter(entity::user::Column::Active.eq(true))
        .filter(entity::user::Column::DepartmentId.is_in(departments.keys().copied()))
        .order_by_asc(entity::user::Column::Id)
        .all(&txn)
        .await?;
    let mut last = audit::last_events(&txn, claimed_cases.iter().copied()).await?;
    let mut queued = crate::services::outbox::Queued::default();
    let mut events = Vec::with_capacity(claimed.len());
    let mut claimed = claimed;
    claimed.sort_by_key(|d| d.id);
    for d in &claimed {
        let Some(c) = cases.get(&d.case_id) else { continue };
        let def = state.workflows.pinned(&txn, &c.workflow_hash).await?;
        let dept = departments.get(&c.department_id);
        let subject = subjects.get(&c.subject_id);
        // The department that holds the case is told at once; the credit office
        // sees every overdue case in its daily digest (one mail, not one per case).
        if def.state(&c.state).and_then(|s| s.owner) == Some(Role::DepartmentOfficer) {
            let parties = Parties {
                subject_name: subject.map(|s| s.name.clone()).unwrap_or_default(),
                subject_code: subject.map(|s| s.code.clone()).unwrap_or_default(),
                department_name: dept.map(|d| d.name.clone()),
                department_email: dept.and_then(|d| d.email.clone()),
                ..Parties::default()
            };
            let ctx = notice::context(state, c, &def, None, &parties, Some(d.due_on));
            let to = crate::services::outbox::Addressees::department(
                c.department_id,
                parties.department_email.clone(),
                &officers,
            );
            let ctx = serde_json::Value::Object(ctx);
            queued.mail(&state.templates, "deadline_overdue", &ctx, &to, Some(c.id), None, &[], now)?;
        }
        let inputs =
            json!({"deadline_id": d.id, "deadline": d.kind, "due_on": d.due_on, "escalated_to": "credit_office"});
        let ev = audit::next_event(last.get(&c.id), audit::system(c, "deadline_overdue", inputs, now));
        last.insert(c.id, ev.clone());
        events.push(audit::insertable(ev));
    }
    entity::case_event::Entity::insert_many(events).exec_without_returning(&txn).await?;
    queued.flush(&txn).await?;
    txn.commit().await?;
    Ok(claimed.len() as u32)
}
