//! Scheduled work. Every server process runs `tick`; each item is claimed
//! through a conditional update or a unique key in the database, so several
//! processes on one PostgreSQL database do each item exactly once. A server
//! that was down catches up on what came due, once.

use chrono::{DateTime, Duration, NaiveDate, Timelike, Utc};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set,
    TransactionTrait, TryInsertResult, sea_query::Expr,
};
use serde::Serialize;
use serde_json::json;

use crate::mailer::Mailer;
use crate::services::cases::{audit, kind_label};
use crate::services::outbox;
use crate::state::AppState;
use crate::workflow::Role;
use entity::{case, deadline, department, job_claim, record, user};

const BATCH: u64 = 500;

#[derive(Debug, Default, Serialize, Clone, PartialEq)]
pub struct TickReport {
    pub warned: u32,
    pub overdue: u32,
    pub supplements_expired: u32,
    pub publications_ended: u32,
    pub digests: u32,
    pub provisional_alerts: u32,
    pub delivered: u32,
    pub delivery_failures: u32,
}

/// One scheduler tick: every job, in order.
pub async fn tick(state: &AppState, mailer: &Mailer, worker: &str) -> anyhow::Result<TickReport> {
    let mut r = TickReport::default();
    refresh_calendar(state).await?;
    r.warned = warn_due(state).await?;
    r.overdue = mark_overdue(state).await?;
    r.supplements_expired = expire_supplements(state).await?;
    r.publications_ended = expire_publications(state).await?;
    r.digests = daily_digest(state, worker).await?;
    r.provisional_alerts = provisional_alert(state, worker).await?;
    let (ok, failed) = deliver_outbox(state, mailer).await?;
    r.delivered = ok;
    r.delivery_failures = failed;
    Ok(r)
}

/// Another server process may have loaded a calendar year: take it over.
async fn refresh_calendar(state: &AppState) -> anyhow::Result<()> {
    let cal = crate::services::calendar::load(&state.db).await?;
    if let Ok(mut c) = state.calendar.write() {
        *c = cal;
    }
    Ok(())
}

/// Inserts a unique claim key; true when this call inserted it.
pub async fn claim<C: ConnectionTrait>(db: &C, key: &str, worker: &str, now: DateTime<Utc>) -> anyhow::Result<bool> {
    let row = job_claim::ActiveModel {
        key: Set(key.into()),
        claimed_by: Set(worker.into()),
        claimed_at: Set(now),
        ..Default::default()
    };
    let res = job_claim::Entity::insert(row).on_conflict_do_nothing_on([job_claim::Column::Key]).exec(db).await?;
    Ok(matches!(res, TryInsertResult::Inserted(_)))
}

fn local_date(t: DateTime<Utc>) -> NaiveDate {
    t.with_timezone(&crate::clock::shanghai()).date_naive()
}

/// Running deadlines of the given kinds matching `cond`, a batch at a time in id order.
async fn running(
    db: &DatabaseConnection,
    kinds: &[&str],
    cond: sea_orm::Condition,
    after: i64,
) -> anyhow::Result<Vec<deadline::Model>> {
    Ok(deadline::Entity::find()
        .filter(deadline::Column::Kind.is_in(kinds.to_vec()))
        .filter(deadline::Column::Status.eq("running"))
        .filter(deadline::Column::Id.gt(after))
        .filter(cond)
        .order_by_asc(deadline::Column::Id)
        .limit(BATCH)
        .all(db)
        .await?)
}

/// Step deadlines (in states owned by the credit office or a department)
/// that are due within a day and not yet warned.
async fn warn_due(state: &AppState) -> anyhow::Result<u32> {
    let now = crate::services::cases::now_micros(state);
    let horizon = now + Duration::hours(24);
    let mut n = 0;
    let due =
        sea_orm::Condition::all().add(deadline::Column::WarnedAt.is_null()).add(deadline::Column::DueAt.lte(horizon));
    let mut after = 0;
    loop {
        let rows = running(&state.db, &["step"], due.clone(), after).await?;
        let Some(last) = rows.last() else { break };
        after = last.id;
        let full = rows.len() as u64 == BATCH;
        for d in rows {
            let txn = state.db.begin().await?;
            // Case first, then its deadline: the order transitions use too.
            audit::lock_case(&txn, d.case_id).await?;
            let claimed = deadline::Entity::update_many()
                .col_expr(deadline::Column::WarnedAt, Expr::value(now))
                .filter(deadline::Column::Id.eq(d.id))
                .filter(deadline::Column::WarnedAt.is_null())
                .filter(deadline::Column::Status.eq("running"))
                .filter(deadline::Column::DueAt.lte(horizon))
                .exec(&txn)
                .await?;
            if claimed.rows_affected != 1 {
                continue;
            }
            // Already past due (the server was down): the overdue job reports it.
            if now < d.due_at
                && let Some(c) = case::Entity::find_by_id(d.case_id).one(&txn).await?
            {
                let def = state.workflows.pinned(&txn, &c.workflow_hash).await?;
                // States the applicant owns (a supplement request) are not warned.
                let recipient = match def.state(&c.state).and_then(|s| s.owner) {
                    Some(Role::DepartmentOfficer) => Some(crate::workflow::Recipient::Department),
                    Some(Role::CreditOffice) => Some(crate::workflow::Recipient::CreditOffice),
                    _ => None,
                };
                if let Some(who) = recipient {
                    let ctx = case_context(state, &txn, &c, &def, d.due_on).await?;
                    let to = outbox::recipients(&txn, who, c.applicant_user_id, c.department_id).await?;
                    outbox::queue_mail(&txn, &state.templates, "deadline_warning", &ctx, &to, Some(c.id), None, now)
                        .await?;
                    system_event(&txn, &c, "deadline_warning", json!({"deadline_id": d.id, "due_on": d.due_on}), now)
                        .await?;
                    n += 1;
                }
            }
            txn.commit().await?;
        }
        if !full {
            break;
        }
    }
    Ok(n)
}

/// Step and whole-case deadlines past due in states the credit office or a
/// department owns:
/// the case becomes overdue and escalates to the credit office.
async fn mark_overdue(state: &AppState) -> anyhow::Result<u32> {
    let now = crate::services::cases::now_micros(state);
    let mut n = 0;
    let due =
        sea_orm::Condition::all().add(deadline::Column::OverdueAt.is_null()).add(deadline::Column::DueAt.lte(now));
    let mut after = 0;
    loop {
        let rows = running(&state.db, &["step", "total"], due.clone(), after).await?;
        let Some(last) = rows.last() else { break };
        after = last.id;
        let full = rows.len() as u64 == BATCH;
        for d in rows {
            // Read before the transaction, which starts by writing: on SQLite a
            // transaction that reads and then writes fails at once ("database
            // is locked") when another process wrote in between. A case that
            // moves on meanwhile ends this deadline, so the claim then misses.
            let Some(c) = case::Entity::find_by_id(d.case_id).one(&state.db).await? else { continue };
            let def = state.workflows.pinned(&state.db, &c.workflow_hash).await?;
            let owner = def.state(&c.state).and_then(|s| s.owner);
            if owner == Some(Role::Applicant) {
                // An unanswered supplement request is handled by expire_supplements.
                continue;
            }
            let txn = state.db.begin().await?;
            // Case first, then its deadline: the order transitions use too.
            audit::lock_case(&txn, d.case_id).await?;
            let claimed = deadline::Entity::update_many()
                .col_expr(deadline::Column::OverdueAt, Expr::value(now))
                .filter(deadline::Column::Id.eq(d.id))
                .filter(deadline::Column::OverdueAt.is_null())
                .filter(deadline::Column::Status.eq("running"))
                .filter(deadline::Column::DueAt.lte(now))
                .exec(&txn)
                .await?;
            if claimed.rows_affected != 1 {
                continue;
            }
            case::Entity::update_many()
                .col_expr(case::Column::Overdue, Expr::value(true))
                .filter(case::Column::Id.eq(c.id))
                .exec(&txn)
                .await?;
            let ctx = case_context(state, &txn, &c, &def, d.due_on).await?;
            let mut to = outbox::recipients(
                &txn,
                crate::workflow::Recipient::CreditOffice,
                c.applicant_user_id,
                c.department_id,
            )
            .await?;
            if owner == Some(Role::DepartmentOfficer) {
                to.extend(
                    outbox::recipients(
                        &txn,
                        crate::workflow::Recipient::Department,
                        c.applicant_user_id,
                        c.department_id,
                    )
                    .await?,
                );
            }
            to.sort();
            to.dedup();
            outbox::queue_mail(&txn, &state.templates, "deadline_overdue", &ctx, &to, Some(c.id), None, now).await?;
            system_event(
                &txn,
                &c,
                "deadline_overdue",
                json!({"deadline_id": d.id, "deadline": d.kind, "due_on": d.due_on, "escalated_to": "credit_office"}),
                now,
            )
            .await?;
            txn.commit().await?;
            n += 1;
        }
        if !full {
            break;
        }
    }
    Ok(n)
}

/// Supplement requests unanswered by their deadline: the case is closed as
/// withdrawn (system action `expire_supplement`).
async fn expire_supplements(state: &AppState) -> anyhow::Result<u32> {
    let now = state.clock.now();
    let mut n = 0;
    let rows = deadline::Entity::find()
        .filter(deadline::Column::Kind.eq("step"))
        .filter(deadline::Column::Status.eq("running"))
        .filter(deadline::Column::DueAt.lte(now))
        .filter(deadline::Column::State.eq("supplement_requested"))
        .limit(BATCH)
        .all(&state.db)
        .await?;
    for d in rows {
        match crate::services::cases::act::system_action(
            state,
            d.case_id,
            "expire_supplement",
            "逾期未补正，视为撤回申请",
        )
        .await
        {
            Ok(true) => n += 1,
            Ok(false) => {}
            Err(e) => tracing::warn!(case = d.case_id, error = %e, "could not close an unanswered supplement request"),
        }
    }
    Ok(n)
}

/// Records whose maximum publication period has run out: publication, list
/// membership and sanctions end; open repair cases on them close as expired.
async fn expire_publications(state: &AppState) -> anyhow::Result<u32> {
    let today = state.clock.today();
    let now = crate::services::cases::now_micros(state);
    let mut n = 0;
    loop {
        let rows = record::Entity::find()
            .filter(record::Column::PublicationStatus.eq("published"))
            .filter(record::Column::PublicationEnds.lte(today))
            .order_by_asc(record::Column::Id)
            .limit(BATCH)
            .all(&state.db)
            .await?;
        if rows.is_empty() {
            break;
        }
        let mut progressed = false;
        for rec in rows {
            // Ending the publication and closing an open repair case on the
            // record happen together, or not at all (retried next tick).
            let txn = state.db.begin().await?;
            let id = rec.id;
            match crate::services::cases::expiry::expire_record(state, &txn, rec, today, now).await {
                Ok(Some(_)) => {}
                Ok(None) => continue,
                Err(e) => {
                    // Rolled back: the record stays published and is retried next tick.
                    tracing::warn!(record = id, error = %e, code = e.code(), "publication end postponed");
                    continue;
                }
            }
            txn.commit().await?;
            n += 1;
            progressed = true;
        }
        if !progressed {
            break;
        }
    }
    Ok(n)
}

/// Working days: once per day after the digest hour, one mail to the credit
/// office listing overdue and due-soon open cases by department.
async fn daily_digest(state: &AppState, worker: &str) -> anyhow::Result<u32> {
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
                "kind_label": kind_label(&c.kind),
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
    let to = outbox::credit_office_emails(&txn).await?;
    outbox::queue_mail(&txn, &state.templates, "daily_digest", &ctx, &to, None, Some(format!("digest:{today}")), now)
        .await?;
    txn.commit().await?;
    Ok(1)
}

/// While any running deadline is provisional (its year's arrangement is not
/// loaded), alert the administrators once a day.
async fn provisional_alert(state: &AppState, worker: &str) -> anyhow::Result<u32> {
    let now = state.clock.now();
    let today = local_date(now);
    let provisional = deadline::Entity::find()
        .filter(deadline::Column::Status.is_in(["running", "paused"]))
        .filter(deadline::Column::Provisional.eq(true))
        .all(&state.db)
        .await?;
    if provisional.is_empty() {
        return Ok(0);
    }
    let cal = state.calendar();
    let mut years: Vec<i32> = provisional
        .iter()
        .flat_map(|d| [chrono::Datelike::year(&d.started_on), chrono::Datelike::year(&d.due_on)])
        .filter(|y| !cal.is_loaded(*y))
        .collect();
    years.sort();
    years.dedup();
    let txn = state.db.begin().await?;
    if !claim(&txn, &format!("provisional-alert:{today}"), worker, now).await? {
        return Ok(0);
    }
    let to: Vec<String> = user::Entity::find()
        .filter(user::Column::Role.eq("admin"))
        .filter(user::Column::Active.eq(true))
        .all(&txn)
        .await?
        .into_iter()
        .filter_map(|u| u.email)
        .collect();
    let ctx = json!({"years": years, "count": provisional.len()});
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

/// Sends pending outbox rows. Each row is claimed with a lease, delivered,
/// then marked sent, or rescheduled with exponential backoff, or dead after
/// the configured number of attempts.
pub async fn deliver_outbox(state: &AppState, mailer: &Mailer) -> anyhow::Result<(u32, u32)> {
    use entity::outbox as ob;
    let db: &DatabaseConnection = &state.db;
    let now = state.clock.now();
    // Rows whose sender died mid-delivery go back to the queue when the lease runs out.
    ob::Entity::update_many()
        .col_expr(ob::Column::Status, Expr::value("pending"))
        .filter(ob::Column::Status.eq("sending"))
        .filter(ob::Column::NextAttemptAt.lte(now))
        .exec(db)
        .await?;
    let ids: Vec<i64> = ob::Entity::find()
        .select_only()
        .column(ob::Column::Id)
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

async fn case_context<C: ConnectionTrait>(
    state: &AppState,
    db: &C,
    c: &case::Model,
    def: &crate::workflow::Definition,
    due_on: NaiveDate,
) -> anyhow::Result<serde_json::Value> {
    let dept = department::Entity::find_by_id(c.department_id).one(db).await?;
    Ok(json!({
        "case_no": c.case_no,
        "kind_label": kind_label(&c.kind),
        "state_title": def.state(&c.state).map(|s| s.title.clone()),
        "department_name": dept.map(|d| d.name),
        "due_date": due_on.to_string(),
        "link": format!("{}/api/v1/cases/{}", state.settings.public_url, c.id),
    }))
}

async fn system_event<C: ConnectionTrait>(
    db: &C,
    c: &case::Model,
    action: &str,
    inputs: serde_json::Value,
    now: DateTime<Utc>,
) -> anyhow::Result<()> {
    audit::append(
        db,
        audit::NewEvent {
            case_id: c.id,
            actor_user_id: None,
            actor_role: "system",
            action,
            from_state: Some(&c.state),
            to_state: &c.state,
            comment: None,
            inputs,
            at: now,
        },
    )
    .await?;
    Ok(())
}
