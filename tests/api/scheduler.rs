//! The scheduler over a fixed calendar: deadline warnings, overdue
//! escalation, the daily digest, supplement expiry, extensions, publication
//! windows ending by themselves, repair windows opening, several server
//! processes on one database, mail delivery over SMTP and its retries, the
//! provisional calendar, and urging.

use chrono::{Duration, NaiveDate};
use credit_repair::clock::Clock;
use credit_repair::config::{SmtpSettings, SmtpTls};
use credit_repair::jobs::{self, TickReport};
use credit_repair::mailer::Mailer;
use credit_repair::state::AppState;
use reqwest::Method;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
use serde_json::{Value, json};

use crate::helpers::*;
use crate::smtp_sink::SmtpSink;
use entity::{case_event, deadline, job_claim, outbox, record_event};

// ------------------------------------------------------------- helpers ----

fn date_of(v: &Value) -> NaiveDate {
    d(v.as_str().unwrap_or_else(|| panic!("not a date: {v}")))
}

fn mailer(state: &AppState) -> Mailer {
    Mailer::from_settings(&state.settings).expect("mailer")
}

/// One scheduler tick as worker-1; it must succeed.
/// Runs one scheduler tick; after it, every record is consistent, with no
/// window left open past its end.
async fn tick(app: &TestApp, mailer: &Mailer) -> TickReport {
    let report = jobs::tick(&app.state, mailer, "worker-1").await.unwrap_or_else(|e| panic!("tick failed: {e:#}"));
    app.assert_records_consistent("after a tick").await;
    report
}

/// Moves the clock to a local (Asia/Shanghai) time.
fn at(app: &TestApp, date: &str, hour: u32, minute: u32) {
    app.clock.set_local(d(date), hour, minute);
}

async fn deadlines(app: &TestApp, token: &str, id: i64) -> Vec<Value> {
    let body = app.get(&format!("/api/v1/cases/{id}/deadlines"), token).await.ok();
    body.as_array().unwrap_or_else(|| panic!("deadlines not a list: {body}")).clone()
}

/// The newest deadline row of a kind (and, for steps, of a state).
async fn deadline_row(app: &TestApp, token: &str, id: i64, kind: &str, state: Option<&str>) -> Value {
    let rows = deadlines(app, token, id).await;
    rows.iter()
        .rev()
        .find(|r| r["kind"] == kind && state.is_none_or(|s| r["state"] == s))
        .unwrap_or_else(|| panic!("no {kind} deadline ({state:?}) in {rows:?}"))
        .clone()
}

/// GET /api/v1/calendar/due.
async fn due(app: &TestApp, token: &str, from: NaiveDate, working_days: u32) -> Value {
    app.get(&format!("/api/v1/calendar/due?from={from}&working_days={working_days}"), token).await.ok()
}

async fn due_on(app: &TestApp, token: &str, from: NaiveDate, working_days: u32) -> NaiveDate {
    date_of(&due(app, token, from, working_days).await["due"])
}

/// History events of a case for `action`.
fn events<'a>(case: &'a Value, action: &str) -> Vec<&'a Value> {
    case["history"]
        .as_array()
        .unwrap_or_else(|| panic!("history missing: {case}"))
        .iter()
        .filter(|e| e["action"] == action)
        .collect()
}

/// Events straight from the database (for cases no HTTP caller is scoped to).
async fn db_events(state: &AppState, case_id: i64, action: &str) -> Vec<case_event::Model> {
    case_event::Entity::find()
        .filter(case_event::Column::CaseId.eq(case_id))
        .filter(case_event::Column::Action.eq(action))
        .order_by_asc(case_event::Column::Seq)
        .all(&state.db)
        .await
        .expect("events")
}

/// Mail outbox rows of a template, for one case or for none (digests, alerts).
async fn mails(state: &AppState, case_id: Option<i64>, template: &str) -> Vec<outbox::Model> {
    let mut q =
        outbox::Entity::find().filter(outbox::Column::Kind.eq("mail")).filter(outbox::Column::Template.eq(template));
    q = match case_id {
        Some(id) => q.filter(outbox::Column::CaseId.eq(id)),
        None => q,
    };
    q.order_by_asc(outbox::Column::Id).all(&state.db).await.expect("outbox rows")
}

fn recipients(row: &outbox::Model) -> Vec<String> {
    serde_json::from_str(&row.recipients).unwrap_or_else(|e| panic!("recipients of row {}: {e}", row.id))
}

async fn case_ids_listed(app: &TestApp, token: &str, query: &str) -> Vec<i64> {
    let body = app.get(&format!("/api/v1/cases?{query}&per_page=100"), token).await.ok();
    body["items"].as_array().unwrap_or_else(|| panic!("items missing: {body}")).iter().map(id_of).collect()
}

async fn public_ids(app: &TestApp, code: &str) -> Vec<i64> {
    let body = app.request(Method::GET, &format!("/api/v1/public/records?subject={code}"), None, None).await.ok();
    body["items"].as_array().unwrap_or_else(|| panic!("items missing: {body}")).iter().map(id_of).collect()
}

/// ent_c objects to LIST_ENTRY (department 区生态环境分局) on `date` 10:00 and
/// the credit office accepts at once: the case waits at the department.
async fn accepted_objection(app: &TestApp, date: &str) -> (i64, String) {
    at(app, date, 10, 0);
    let ent_c = app.login("ent_c").await;
    let office = app.login("office").await;
    let record_id = app.record_id(demo::LIST_ENTRY).await;
    let case = app.file(&ent_c, "objection", record_id).await;
    let id = id_of(&case);
    let case = app.act(&office, id, "accept", json!({})).await.ok();
    assert_eq!(case["state"], "with_department", "{case}");
    (id, case["case_no"].as_str().unwrap().to_string())
}

// --------------------------------------------- 1. warning → overdue → digest

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unattended_case_is_warned_then_overdue_then_in_the_daily_digest() {
    let app = spawn().await;
    let mailer = mailer(&app.state);
    let (id, case_no) = accepted_objection(&app, "2026-09-24").await;
    let office = app.login("office").await;
    let due = due_on(&app, &office, d("2026-09-24"), 4).await;
    let step = deadline_row(&app, &office, id, "step", Some("with_department")).await;
    assert_eq!(date_of(&step["due_on"]), due, "{step}");
    assert_eq!(step["status"], "running", "{step}");
    assert_eq!(step["budget_working_days"], 4, "{step}");
    // 24:00 Asia/Shanghai of the due day.
    assert_eq!(step["due_at"], format!("{}T16:00:00Z", due), "{step}");
    let case = app.case(&office, id).await;
    assert_eq!(case["due_at"], step["due_at"], "{case}");

    // The day before the due day (a National Day holiday), in office hours:
    // more than 24 h ahead, and no digest on a day off.
    let holiday = due - Duration::days(1);
    assert_eq!(due_on(&app, &office, holiday - Duration::days(1), 1).await, due, "{holiday} is a day off");
    at(&app, &holiday.to_string(), 9, 0);
    let r = tick(&app, &mailer).await;
    assert_eq!((r.warned, r.digests), (0, 0), "{r:?}");
    assert!(mails(&app.state, Some(id), "deadline_warning").await.is_empty());
    assert!(mails(&app.state, None, "daily_digest").await.is_empty());

    // The morning of the due day (before the digest hour): one warning.
    at(&app, &due.to_string(), 7, 0);
    let r = tick(&app, &mailer).await;
    assert_eq!(r.warned, 1, "{r:?}");
    assert_eq!(r.overdue, 0, "{r:?}");
    assert_eq!(r.digests, 0, "no digest before 08:00: {r:?}");
    let warnings = mails(&app.state, Some(id), "deadline_warning").await;
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(recipients(&warnings[0]).contains(&"sthj@credit.local".to_string()), "{warnings:?}");
    assert!(warnings[0].subject.contains(&case_no), "{}", warnings[0].subject);
    assert!(warnings[0].body_text.contains(&due.to_string()), "{}", warnings[0].body_text);
    let office = app.login("office").await;
    let case = app.case(&office, id).await;
    let ev = events(&case, "deadline_warning");
    assert_eq!(ev.len(), 1, "{case}");
    assert_eq!(ev[0]["actor_role"], "system", "{case}");
    assert_eq!(case["overdue"], false, "{case}");
    assert!(mails(&app.state, None, "daily_digest").await.is_empty());

    // Later that day, still before 24:00: not overdue, no second warning;
    // that day's digest (after 08:00) lists the case as due soon.
    at(&app, &due.to_string(), 23, 50);
    let r = tick(&app, &mailer).await;
    assert_eq!((r.warned, r.overdue, r.digests), (0, 0, 1), "{r:?}");
    let digests = mails(&app.state, None, "daily_digest").await;
    assert_eq!(digests.len(), 1, "{digests:?}");
    assert_eq!(digests[0].dedupe_key.as_deref(), Some(format!("digest:{due}").as_str()));
    assert!(digests[0].body_text.contains(&format!("临期：{case_no}")), "{}", digests[0].body_text);

    // Just after the due time: overdue, escalated to the credit office.
    let next = due + Duration::days(1);
    at(&app, &next.to_string(), 0, 30);
    let r = tick(&app, &mailer).await;
    assert_eq!(r.overdue, 1, "{r:?}");
    assert_eq!(r.digests, 0, "{r:?}");
    let office = app.login("office").await;
    let case = app.case(&office, id).await;
    assert_eq!(case["overdue"], true, "{case}");
    let ev = events(&case, "deadline_overdue");
    assert_eq!(ev.len(), 1, "{case}");
    assert_eq!(ev[0]["actor_role"], "system", "{case}");
    assert_eq!(ev[0]["inputs"]["escalated_to"], "credit_office", "{case}");
    assert!(case_ids_listed(&app, &office, "overdue=true").await.contains(&id));
    assert!(!case_ids_listed(&app, &office, "overdue=false").await.contains(&id));
    let overdue = mails(&app.state, Some(id), "deadline_overdue").await;
    assert_eq!(overdue.len(), 1, "{overdue:?}");
    // To the department that holds it; the credit office gets it in its daily digest only.
    let to = recipients(&overdue[0]);
    assert!(to.contains(&"sthj@credit.local".to_string()), "{to:?}");
    for addr in ["office@demo.local", "xyb@credit.local"] {
        assert!(!to.contains(&addr.to_string()), "{addr} in {to:?}");
    }
    let step = deadline_row(&app, &office, id, "step", Some("with_department")).await;
    assert!(step["overdue_at"].is_string(), "{step}");

    // 09:00 the next working day: one digest listing the case.
    let wd = due_on(&app, &office, due, 1).await;
    assert_eq!(wd, next, "the day after this due day is a working day");
    at(&app, &wd.to_string(), 9, 0);
    let r = tick(&app, &mailer).await;
    assert_eq!(r.digests, 1, "{r:?}");
    let digests: Vec<_> = mails(&app.state, None, "daily_digest")
        .await
        .into_iter()
        .filter(|m| m.dedupe_key.as_deref() == Some(format!("digest:{wd}").as_str()))
        .collect();
    assert_eq!(digests.len(), 1, "{digests:?}");
    let digest = &digests[0];
    assert!(digest.body_text.contains(&case_no), "{}", digest.body_text);
    assert!(digest.body_text.contains(&format!("逾期：{case_no}")), "{}", digest.body_text);
    assert!(digest.body_text.contains("区生态环境分局"), "{}", digest.body_text);
    assert!(digest.subject.contains("逾期 1 件"), "{}", digest.subject);
    let to = recipients(digest);
    assert!(to.contains(&"office@demo.local".to_string()) && to.contains(&"xyb@credit.local".to_string()), "{to:?}");

    // Another tick the same day: nothing new.
    at(&app, &wd.to_string(), 15, 0);
    let r = tick(&app, &mailer).await;
    assert_eq!((r.warned, r.overdue, r.digests), (0, 0, 0), "{r:?}");
    assert_eq!(mails(&app.state, None, "daily_digest").await.len(), 2, "one per working day");
    assert_eq!(mails(&app.state, Some(id), "deadline_warning").await.len(), 1);
    assert_eq!(mails(&app.state, Some(id), "deadline_overdue").await.len(), 1);
    let office = app.login("office").await;
    let case = app.case(&office, id).await;
    assert_eq!(events(&case, "deadline_warning").len(), 1, "{case}");
    assert_eq!(events(&case, "deadline_overdue").len(), 1, "{case}");
    // Every queued mail went out (as files, no SMTP configured).
    let pending: Vec<_> = outbox::Entity::find()
        .filter(outbox::Column::Status.ne("sent"))
        .filter(outbox::Column::Kind.eq("mail"))
        .all(&app.state.db)
        .await
        .unwrap();
    assert!(pending.is_empty(), "{pending:?}");
}

// ------------------------------------------------- 2. paused case expires

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn paused_case_is_never_overdue_and_is_withdrawn_when_unanswered() {
    let app = spawn().await;
    let mailer = mailer(&app.state);
    at(&app, "2026-09-24", 10, 0);
    let ent_c = app.login("ent_c").await;
    let office = app.login("office").await;
    let record_id = app.record_id(demo::LIST_ENTRY).await;
    let id = id_of(&app.file(&ent_c, "objection", record_id).await);
    let body = json!({"comment": "请补充异议依据", "missing_items": ["异议依据的书面说明"]});
    let case = app.act(&office, id, "request_supplement", body).await.ok();
    assert_eq!(case["state"], "supplement_requested", "{case}");
    let supplement_due = due_on(&app, &office, d("2026-09-24"), 10).await;
    let step = deadline_row(&app, &office, id, "step", Some("supplement_requested")).await;
    assert_eq!(date_of(&step["due_on"]), supplement_due, "{step}");
    let total = deadline_row(&app, &office, id, "total", None).await;
    assert_eq!(total["status"], "paused", "{total}");
    assert!(case["total_due_at"].is_null(), "{case}");

    // The next five working days, morning and late evening.
    let days = due(&app, &office, d("2026-09-24"), 5).await;
    for day in days["counted"].as_array().unwrap() {
        for (h, m) in [(9, 0), (23, 55)] {
            at(&app, day.as_str().unwrap(), h, m);
            let r = tick(&app, &mailer).await;
            assert_eq!((r.overdue, r.supplements_expired), (0, 0), "{day} {h}:{m} {r:?}");
        }
        let office = app.login("office").await;
        let case = app.case(&office, id).await;
        assert_eq!(case["overdue"], false, "{day}: {case}");
        assert_eq!(case["state"], "supplement_requested", "{day}: {case}");
        assert!(events(&case, "deadline_overdue").is_empty(), "{day}: {case}");
        let total = deadline_row(&app, &office, id, "total", None).await;
        assert_eq!(total["status"], "paused", "{total}");
        assert!(total["overdue_at"].is_null(), "{total}");
    }

    // The last day of the supplement period: still open, still not overdue,
    // and no deadline warning (the applicant owns this state).
    at(&app, &supplement_due.to_string(), 16, 0);
    let r = tick(&app, &mailer).await;
    assert_eq!((r.overdue, r.supplements_expired), (0, 0), "{r:?}");
    let office = app.login("office").await;
    let case = app.case(&office, id).await;
    assert_eq!(case["state"], "supplement_requested", "{case}");
    assert!(events(&case, "deadline_warning").is_empty(), "{case}");
    assert!(mails(&app.state, Some(id), "deadline_warning").await.is_empty());

    // Its ten working days are over, unanswered: withdrawn by the system.
    at(&app, &(supplement_due + Duration::days(1)).to_string(), 0, 30);
    let r = tick(&app, &mailer).await;
    assert_eq!(r.supplements_expired, 1, "{r:?}");
    assert_eq!(r.overdue, 0, "{r:?}");
    let office = app.login("office").await;
    let case = app.case(&office, id).await;
    assert_eq!(case["state"], "withdrawn", "{case}");
    assert_eq!(case["terminal"], true, "{case}");
    assert!(case["closed_at"].is_string(), "{case}");
    assert_eq!(case["overdue"], false, "{case}");
    let ev = events(&case, "expire_supplement");
    assert_eq!(ev.len(), 1, "{case}");
    assert_eq!(ev[0]["actor_role"], "system", "{case}");
    assert!(ev[0]["actor_name"].is_null(), "{case}");
    assert_eq!(ev[0]["from_state"], "supplement_requested", "{case}");
    assert!(events(&case, "deadline_overdue").is_empty(), "{case}");
    for row in deadlines(&app, &office, id).await {
        assert_eq!(row["status"], "met", "{row}");
        assert!(row["overdue_at"].is_null(), "{row}");
    }
    let withdrawn = mails(&app.state, Some(id), "case_withdrawn").await;
    assert!(withdrawn.iter().any(|m| recipients(m).contains(&"ent_c@demo.local".to_string())), "{withdrawn:?}");
    assert!(mails(&app.state, Some(id), "deadline_overdue").await.is_empty());

    // Nothing more happens to a closed case.
    at(&app, &(supplement_due + Duration::days(3)).to_string(), 10, 0);
    let r = tick(&app, &mailer).await;
    assert_eq!((r.overdue, r.supplements_expired, r.warned), (0, 0, 0), "{r:?}");
    assert_eq!(db_events(&app.state, id, "expire_supplement").await.len(), 1);
}

// ------------------------------------------------------ 3. extension

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn extended_case_is_due_three_working_days_later() {
    let app = spawn().await;
    let mailer = mailer(&app.state);
    let (id, _) = accepted_objection(&app, "2026-09-24").await;
    let office = app.login("office").await;
    let old_due = due_on(&app, &office, d("2026-09-24"), 4).await;
    let total_before = deadline_row(&app, &office, id, "total", None).await;

    at(&app, "2026-09-30", 10, 0);
    let sthj = app.login("sthj").await;
    let res = app.act(&sthj, id, "request_extension", json!({})).await;
    assert_eq!(res.status.as_u16(), 422, "an extension needs a reason: {}", res.body);
    app.act(&sthj, id, "request_extension", json!({"comment": "需调取现场监测数据，申请延期"})).await.ok();
    // The credit office approves it (Art. 39: an approver other than the requester).
    let office = app.login("office").await;
    let case = app.act(&office, id, "approve_extension", json!({"comment": "同意延期"})).await.ok();
    assert_eq!(case["state"], "with_department", "{case}");
    assert_eq!(case["extension_used"], true, "{case}");
    // Once per case.
    app.act(&sthj, id, "request_extension", json!({"comment": "再次延期"})).await.expect(409, "extension_used");

    let new_due = due_on(&app, &sthj, old_due, 3).await;
    assert!(new_due > old_due);
    let step = deadline_row(&app, &sthj, id, "step", Some("with_department")).await;
    assert_eq!(date_of(&step["due_on"]), new_due, "{step}");
    assert_eq!(step["extended_working_days"], 3, "{step}");
    assert_eq!(step["status"], "running", "{step}");
    let entries = step["explanation"].as_array().unwrap();
    let ext = entries.iter().find(|e| e["event"] == "extended").unwrap_or_else(|| panic!("no extended entry: {step}"));
    assert_eq!(date_of(&ext["previous_due"]), old_due, "{ext}");
    assert_eq!(date_of(&ext["due"]), new_due, "{ext}");
    assert_eq!(ext["working_days"], 3, "{ext}");
    assert_eq!(ext["reason"], "需调取现场监测数据，申请延期", "{ext}");
    assert_eq!(ext["counted"].as_array().map(Vec::len), Some(3), "{ext}");
    let case = app.case(&sthj, id).await;
    assert_eq!(case["due_at"], step["due_at"], "{case}");
    // Shandong Art. 39: the objection's 7 working days do not move; here the
    // extended step ends exactly on the total's last day.
    let total = deadline_row(&app, &sthj, id, "total", None).await;
    assert_eq!(total["due_on"], total_before["due_on"], "{total}");
    assert_eq!(date_of(&total["due_on"]), new_due, "{total}");

    // After the old due date: not overdue.
    at(&app, &(old_due + Duration::days(1)).to_string(), 0, 30);
    let r = tick(&app, &mailer).await;
    assert_eq!(r.overdue, 0, "{r:?}");
    let office = app.login("office").await;
    let case = app.case(&office, id).await;
    assert_eq!(case["overdue"], false, "{case}");
    assert!(events(&case, "deadline_overdue").is_empty(), "{case}");
    assert!(!case_ids_listed(&app, &office, "overdue=true").await.contains(&id));

    // The last day of the extension: still in time.
    at(&app, &new_due.to_string(), 23, 50);
    let r = tick(&app, &mailer).await;
    assert_eq!(r.overdue, 0, "{r:?}");

    // After the new one: overdue, the step and the whole case at once (they end on the same day).
    at(&app, &(new_due + Duration::days(1)).to_string(), 0, 30);
    let r = tick(&app, &mailer).await;
    assert_eq!(r.overdue, 2, "{r:?}");
    let office = app.login("office").await;
    let case = app.case(&office, id).await;
    assert_eq!(case["overdue"], true, "{case}");
    let ev = events(&case, "deadline_overdue");
    assert_eq!(ev.len(), 2, "{case}");
    assert!(ev.iter().all(|e| date_of(&e["inputs"]["due_on"]) == new_due), "{case}");
    assert_eq!(
        mails(&app.state, Some(id), "deadline_overdue").await.len(),
        2,
        "the step and the whole case, to the department"
    );
}

// --------------------------------------- 4. publication ends by itself

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn publication_ends_after_its_end_date_with_its_sanctions_and_open_repair() {
    let app = spawn().await;
    let mailer = mailer(&app.state);
    // Demo dates are relative to the real today: file the repair now.
    let ent_a = app.login("ent_a").await;
    let office = app.login("office").await;
    let record_id = app.record_id(demo::REPAIRABLE).await;
    let rec = app.get(&format!("/api/v1/records/{record_id}"), &office).await.ok();
    assert_eq!(rec["publication_status"], "published", "{rec}");
    let ends = date_of(&rec["publication_ends"]);
    let sanctions = rec["sanctions"].as_array().unwrap();
    assert_eq!(sanctions.len(), 2, "{rec}");
    assert!(sanctions.iter().all(|s| s["status"] == "active"), "{rec}");
    assert!(public_ids(&app, demo::ENT_A).await.contains(&record_id));
    let id = id_of(&app.file(&ent_a, "repair", record_id).await);

    // The evening of the end date: still published (民法典 Art. 201–203: the end date is inside the period).
    at(&app, &ends.to_string(), 23, 30);
    tick(&app, &mailer).await;
    let office = app.login("office").await;
    let rec = app.get(&format!("/api/v1/records/{record_id}"), &office).await.ok();
    assert_eq!(rec["publication_status"], "published", "{rec}");
    assert_eq!(app.case(&office, id).await["state"], "submitted");

    // 00:30 the next day: ended by the scheduler.
    at(&app, &(ends + Duration::days(1)).to_string(), 0, 30);
    let r = tick(&app, &mailer).await;
    assert!(r.publications_ended >= 1, "{r:?}");
    let office = app.login("office").await;
    let rec = app.get(&format!("/api/v1/records/{record_id}"), &office).await.ok();
    assert_eq!(rec["publication_status"], "ended", "{rec}");
    assert!(rec["publication_end_reason"].as_str().is_some_and(|s| !s.is_empty()), "{rec}");
    let sanctions = rec["sanctions"].as_array().unwrap();
    assert_eq!(sanctions.len(), 2, "{rec}");
    assert!(sanctions.iter().all(|s| s["status"] == "ended" && s["ended_at"].is_string()), "{rec}");
    assert!(rec["lists"].as_array().unwrap().iter().all(|l| l["status"] == "ended"), "{rec}");
    assert!(!public_ids(&app, demo::ENT_A).await.contains(&record_id));

    let case = app.case(&office, id).await;
    assert_eq!(case["state"], "expired", "{case}");
    assert_eq!(case["terminal"], true, "{case}");
    assert!(case["closed_at"].is_string(), "{case}");
    let ev = events(&case, "expire");
    assert_eq!(ev.len(), 1, "{case}");
    assert_eq!(ev[0]["actor_role"], "system", "{case}");
    assert!(case_ids_listed(&app, &office, "open=false").await.contains(&id));

    let rec_events = record_event::Entity::find()
        .filter(record_event::Column::RecordId.eq(record_id))
        .filter(record_event::Column::Action.eq("publication_expired"))
        .all(&app.state.db)
        .await
        .unwrap();
    assert_eq!(rec_events.len(), 1, "{rec_events:?}");
    assert_eq!(rec_events[0].actor_role, "system");
    // The same, through the API: the record's history, scoped like the record.
    let history = app.get(&format!("/api/v1/records/{record_id}/history"), &office).await.ok();
    let hist_events = history["events"].as_array().unwrap();
    assert!(
        hist_events.iter().any(|e| e["action"] == "publication_expired" && e["actor_role"] == "system"),
        "{history}"
    );
    assert!(history["cases"].as_array().unwrap().iter().any(|c| c["id"] == id && c["state"] == "expired"), "{history}");
    let other = app.login("ent_b").await;
    app.get(&format!("/api/v1/records/{record_id}/history"), &other).await.expect(404, "not_found");

    let ended: Vec<_> = mails(&app.state, None, "publication_ended")
        .await
        .into_iter()
        .filter(|m| m.body_text.contains(demo::REPAIRABLE))
        .collect();
    assert_eq!(ended.len(), 1, "{ended:?}");
    assert!(recipients(&ended[0]).contains(&"ent_a@demo.local".to_string()), "{ended:?}");
    let body = &ended[0].body_text;
    assert!(body.contains(&format!("已于 {} 终止公示", ends + Duration::days(1))), "{body}");
    // Downstream platforms are told too.
    let synced = outbox::Entity::find()
        .filter(outbox::Column::Kind.eq("sync"))
        .all(&app.state.db)
        .await
        .unwrap()
        .into_iter()
        .map(|r| serde_json::from_str::<Value>(&r.body_text).unwrap())
        .find(|p| p["action"] == "record:publication_expired" && p["record_id"] == record_id)
        .expect("the automatic end is synced");
    assert_eq!(synced["subject_code"], demo::ENT_A, "{synced}");
    assert!(body.contains(&format!("公示期至 {ends}")), "{body}");

    // A later tick changes nothing.
    at(&app, &(ends + Duration::days(1)).to_string(), 10, 0);
    tick(&app, &mailer).await;
    let rec_events = record_event::Entity::find()
        .filter(record_event::Column::RecordId.eq(record_id))
        .filter(record_event::Column::Action.eq("publication_expired"))
        .all(&app.state.db)
        .await
        .unwrap();
    assert_eq!(rec_events.len(), 1);
    let ended = mails(&app.state, None, "publication_ended").await;
    assert_eq!(ended.iter().filter(|m| m.body_text.contains(demo::REPAIRABLE)).count(), 1);
}

// ---------------------------------------------- 5. repair window opens

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn repair_becomes_possible_on_its_repairable_from_date() {
    let app = spawn().await;
    let ent_a = app.login("ent_a").await;
    let record_id = app.record_id(demo::TOO_EARLY).await;
    let body = app.try_file(&ent_a, "repair", record_id).await.expect(422, "repair_too_early");
    let from = date_of(&body["details"]["repairable_from"]);
    let office = app.login("office").await;
    let rec = app.get(&format!("/api/v1/records/{record_id}"), &office).await.ok();
    assert_eq!(date_of(&rec["repairable_from"]), from, "{rec}");

    at(&app, &(from - Duration::days(1)).to_string(), 23, 50);
    let ent_a = app.login("ent_a").await;
    app.try_file(&ent_a, "repair", record_id).await.expect(422, "repair_too_early");

    at(&app, &from.to_string(), 9, 0);
    let ent_a = app.login("ent_a").await;
    let case = app.file(&ent_a, "repair", record_id).await;
    assert_eq!(case["record_id"], record_id, "{case}");
}

// ----------------------------------------- 6. two processes, one database

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_server_processes_process_each_due_item_once() {
    let app = spawn().await;
    at(&app, "2026-09-24", 10, 0);
    let office = app.login("office").await;
    let mut accepted = Vec::new();
    for (user, doc) in [("ent_a", demo::REPAIRABLE), ("ent_b", demo::SAMR_LISTED), ("ent_c", demo::LIST_ENTRY)] {
        let token = app.login(user).await;
        let id = id_of(&app.file(&token, "objection", app.record_id(doc).await).await);
        let case = app.act(&office, id, "accept", json!({})).await.ok();
        assert_eq!(case["state"], "with_department", "{case}");
        accepted.push(id);
    }
    let ent_a = app.login("ent_a").await;
    let paused = id_of(&app.file(&ent_a, "objection", app.record_id(demo::TOO_EARLY).await).await);
    let body = json!({"comment": "请补充材料", "missing_items": ["授权委托书"]});
    app.act(&office, paused, "request_supplement", body).await.ok();
    let due = due_on(&app, &office, d("2026-09-24"), 4).await;
    let supplement_due = due_on(&app, &office, d("2026-09-24"), 10).await;
    let digest_day = due_on(&app, &office, due, 1).await;

    // A second process on the same database.
    let state2 = credit_repair::startup::build_state((*app.state.settings).clone(), app.clock.clone())
        .await
        .expect("second state");
    let (m1, m2) = (mailer(&app.state), mailer(&state2));
    let mut total = TickReport::default();
    let moments = [
        (due, 7, 0),
        (due, 7, 1),
        (due + Duration::days(1), 0, 30),
        (digest_day, 9, 0),
        (digest_day, 9, 1),
        (supplement_due + Duration::days(1), 0, 30),
        (supplement_due + Duration::days(1), 0, 31),
    ];
    for (date, h, m) in moments {
        app.clock.set_local(date, h, m);
        for _ in 0..3 {
            let (a, b) = tokio::join!(jobs::tick(&app.state, &m1, "worker-1"), jobs::tick(&state2, &m2, "worker-2"));
            for r in [a.unwrap_or_else(|e| panic!("worker-1: {e:#}")), b.unwrap_or_else(|e| panic!("worker-2: {e:#}"))]
            {
                total.warned += r.warned;
                total.overdue += r.overdue;
                total.supplements_expired += r.supplements_expired;
                total.digests += r.digests;
            }
        }
    }
    assert_eq!(total.warned, 3, "{total:?}");
    // Each accepted case ran past its department deadline, and by the last
    // moment past its 7-working-day total too: two escalations per case.
    assert_eq!(total.overdue, 6, "{total:?}");
    assert_eq!(total.supplements_expired, 1, "{total:?}");
    assert_eq!(total.digests, 1, "{total:?}");

    for &id in &accepted {
        assert_eq!(mails(&app.state, Some(id), "deadline_warning").await.len(), 1, "case {id}");
        assert_eq!(mails(&app.state, Some(id), "deadline_overdue").await.len(), 2, "case {id}");
        assert_eq!(db_events(&app.state, id, "deadline_warning").await.len(), 1, "case {id}");
        let overdue = db_events(&app.state, id, "deadline_overdue").await;
        assert_eq!(overdue.len(), 2, "case {id}");
        let kinds: Vec<String> = overdue
            .iter()
            .map(|e| serde_json::from_str::<Value>(&e.inputs).unwrap()["deadline"].as_str().unwrap_or("").to_string())
            .collect();
        assert_eq!(kinds, ["step", "total"], "case {id}");
        let rows = deadline::Entity::find()
            .filter(deadline::Column::CaseId.eq(id))
            .filter(deadline::Column::Kind.eq("step"))
            .filter(deadline::Column::State.eq("with_department"))
            .all(&app.state.db)
            .await
            .unwrap();
        assert_eq!(rows.len(), 1, "{rows:?}");
        assert!(rows[0].warned_at.is_some() && rows[0].overdue_at.is_some(), "{rows:?}");
    }
    assert_eq!(db_events(&app.state, paused, "expire_supplement").await.len(), 1);
    assert_eq!(mails(&app.state, Some(paused), "case_withdrawn").await.len(), 2, "applicant and credit office");
    let office = app.login("office").await;
    assert_eq!(app.case(&office, paused).await["state"], "withdrawn");
    let digests = mails(&app.state, None, "daily_digest").await;
    assert_eq!(digests.len(), 1, "{digests:?}");
    assert_eq!(digests[0].dedupe_key.as_deref(), Some(format!("digest:{digest_day}").as_str()));
    let claims = job_claim::Entity::find()
        .filter(job_claim::Column::Key.eq(format!("digest:{digest_day}")))
        .all(&app.state.db)
        .await
        .unwrap();
    assert_eq!(claims.len(), 1, "{claims:?}");
    // Records whose publication ended meanwhile ended once each.
    let expired = record_event::Entity::find()
        .filter(record_event::Column::Action.eq("publication_expired"))
        .all(&app.state.db)
        .await
        .unwrap();
    let mut ids: Vec<i64> = expired.iter().map(|e| e.record_id).collect();
    let n = ids.len();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), n, "{expired:?}");
    // Every mail was delivered by exactly one of them.
    let rows = outbox::Entity::find().filter(outbox::Column::Kind.eq("mail")).all(&app.state.db).await.unwrap();
    assert!(rows.iter().all(|r| r.status == "sent" && r.attempts == 1), "{rows:?}");
}

// ------------------------------------------------ 7. SMTP on loopback

fn smtp_settings(port: u16) -> SmtpSettings {
    SmtpSettings {
        host: "127.0.0.1".into(),
        port,
        tls: SmtpTls::None,
        username: None,
        password: None,
        from: "区信用办 <noreply@credit.local>".into(),
    }
}

/// A server whose mail goes to a test SMTP listener, on 2026-09-24 10:00.
async fn with_smtp_sink() -> (SmtpSink, TestApp, Mailer) {
    let sink = SmtpSink::start().await;
    let port = sink.port;
    let app = spawn_with(Options {
        tweak: Some(Box::new(move |s| s.smtp = Some(smtp_settings(port)))),
        ..Default::default()
    })
    .await;
    let mailer = mailer(&app.state);
    at(&app, "2026-09-24", 10, 0);
    (sink, app, mailer)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mail_goes_out_over_smtp() {
    let (sink, app, mailer) = with_smtp_sink().await;
    let ent_a = app.login("ent_a").await;
    let case = app.file(&ent_a, "objection", app.record_id(demo::REPAIRABLE).await).await;
    let id = id_of(&case);
    let case_no = case["case_no"].as_str().unwrap().to_string();

    let r = tick(&app, &mailer).await;
    assert!(r.delivered >= 2, "{r:?}");
    assert_eq!(r.delivery_failures, 0, "{r:?}");
    let got = sink.received();
    // The receipt of the filing (ent_a is also told that its penalty can be repaired).
    let to_applicant: Vec<_> = got
        .iter()
        .filter(|m| m.rcpt.contains(&"ent_a@demo.local".to_string()) && m.subject().contains(&case_no))
        .collect();
    assert_eq!(to_applicant.len(), 1, "{got:?}");
    let m = to_applicant[0];
    assert_eq!(m.rcpt, vec!["ent_a@demo.local".to_string()], "{m:?}");
    let subject = m.subject();
    assert!(subject.contains(&case_no) && subject.contains("已收到"), "{subject}");
    let text = m.text();
    assert!(text.contains(&format!("案件编号 {case_no}")), "{text}");
    assert!(text.contains("形式审查"), "{text}");
    assert!(m.data.contains("noreply@credit.local"), "{}", m.data);

    // The credit office's copy, addressed to it (it may also get the daily digest).
    let to_office: Vec<_> = got
        .iter()
        .filter(|m| m.rcpt.contains(&"office@demo.local".to_string()) && m.subject().contains("新收到"))
        .collect();
    assert_eq!(to_office.len(), 1, "{got:?}");
    let m = to_office[0];
    let text = m.text();
    assert!(text.starts_with("区信用办：") && text.contains("泉城示例建材有限公司 提交的"), "{text}");
    assert!(text.contains("请于") && !text.contains("请留意后续通知"), "{text}");
    assert!(m.rcpt.contains(&"xyb@credit.local".to_string()), "{m:?}");
    assert!(!m.rcpt.contains(&"ent_a@demo.local".to_string()), "{m:?}");
    assert!(m.subject().contains(&case_no), "{}", m.subject());

    let rows = mails(&app.state, Some(id), "case_received").await;
    assert_eq!(rows.len(), 2, "{rows:?}");
    for row in &rows {
        assert_eq!(row.status, "sent", "{row:?}");
        assert_eq!(row.attempts, 1, "{row:?}");
        assert!(row.sent_at.is_some() && row.last_error.is_none(), "{row:?}");
    }
    // Nothing is sent twice.
    let before = sink.received().len();
    tick(&app, &mailer).await;
    assert_eq!(sink.received().len(), before);
}

// --------------------------------------------- 8. delivery failure

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_delivery_is_retried_with_backoff_then_dead() {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        l.local_addr().unwrap().port()
    };
    let app = spawn_with(Options {
        tweak: Some(Box::new(move |s| {
            s.smtp = Some(smtp_settings(port));
            s.outbox_max_attempts = 2;
        })),
        ..Default::default()
    })
    .await;
    let mailer = mailer(&app.state);
    at(&app, "2026-09-24", 10, 0);
    let ent_a = app.login("ent_a").await;
    let id = id_of(&app.file(&ent_a, "objection", app.record_id(demo::REPAIRABLE).await).await);

    let r = tick(&app, &mailer).await;
    assert_eq!(r.delivered, 0, "{r:?}");
    assert!(r.delivery_failures >= 2, "{r:?}");
    let rows = mails(&app.state, Some(id), "case_received").await;
    assert_eq!(rows.len(), 2);
    let now = app.clock.now();
    for row in &rows {
        assert_eq!(row.status, "pending", "{row:?}");
        assert_eq!(row.attempts, 1, "{row:?}");
        assert!(row.last_error.as_deref().is_some_and(|e| !e.is_empty()), "{row:?}");
        assert!(row.next_attempt_at > now, "backoff: {row:?}");
        assert!(row.sent_at.is_none(), "{row:?}");
    }

    // Within the backoff: not retried.
    let r = tick(&app, &mailer).await;
    assert_eq!(r.delivery_failures, 0, "{r:?}");
    assert!(mails(&app.state, Some(id), "case_received").await.iter().all(|r| r.attempts == 1));

    // Past it: the second attempt fails and is the last.
    app.clock.set(app.clock.now() + Duration::minutes(10));
    let r = tick(&app, &mailer).await;
    assert!(r.delivery_failures >= 2, "{r:?}");
    for row in mails(&app.state, Some(id), "case_received").await {
        assert_eq!(row.status, "dead", "{row:?}");
        assert_eq!(row.attempts, 2, "{row:?}");
        assert!(row.last_error.is_some(), "{row:?}");
    }

    // Dead rows stay dead.
    app.clock.set(app.clock.now() + Duration::days(1));
    tick(&app, &mailer).await;
    for row in mails(&app.state, Some(id), "case_received").await {
        assert_eq!((row.status.as_str(), row.attempts), ("dead", 2), "{row:?}");
    }
}

// ----------------------------------------------------- 9. calendar

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn calendar_vectors_provisional_years_and_recomputation() {
    let app = spawn().await;
    let mailer = mailer(&app.state);
    at(&app, "2026-12-24", 10, 0);
    let office = app.login("office").await;
    for (from, n, expected) in [
        ("2026-09-24", 3, "2026-09-30"),
        ("2026-09-24", 7, "2026-10-12"),
        ("2026-02-13", 10, "2026-03-05"),
        ("2026-04-30", 3, "2026-05-08"),
        ("2025-12-31", 7, "2026-01-12"),
    ] {
        let body = due(&app, &office, d(from), n).await;
        assert_eq!(body["due"], expected, "{from}+{n}: {body}");
        assert_eq!(body["provisional"], false, "{from}+{n}: {body}");
        assert_eq!(body["counted"].as_array().map(Vec::len), Some(n as usize), "{body}");
        assert_eq!(body["counted"].as_array().unwrap().last().unwrap(), expected, "{body}");
    }
    let body = due(&app, &office, d("2026-09-24"), 7).await;
    let counted: Vec<&str> = body["counted"].as_array().unwrap().iter().map(|v| v.as_str().unwrap()).collect();
    assert_eq!(
        counted,
        ["2026-09-28", "2026-09-29", "2026-09-30", "2026-10-08", "2026-10-09", "2026-10-10", "2026-10-12"]
    );
    let body = due(&app, &office, d("2026-12-28"), 5).await;
    assert_eq!(body["provisional"], true, "{body}");
    assert_eq!(body["provisional_years"], json!([2027]), "{body}");

    // A case filed on 2026-12-24: its total deadline reaches into 2027.
    let ent_c = app.login("ent_c").await;
    let id = id_of(&app.file(&ent_c, "objection", app.record_id(demo::LIST_ENTRY).await).await);
    let case = app.case(&office, id).await;
    assert_eq!(case["provisional_deadline"], true, "{case}");
    let total = deadline_row(&app, &office, id, "total", None).await;
    assert_eq!(total["provisional"], true, "{total}");
    assert!(date_of(&total["due_on"]) > d("2026-12-31"), "{total}");
    let listed = app.get("/api/v1/cases?per_page=100", &office).await.ok();
    let row = listed["items"].as_array().unwrap().iter().find(|c| id_of(c) == id).unwrap().clone();
    assert_eq!(row["provisional_deadline"], true, "{row}");

    // The scheduler alerts the administrators, once a day.
    let r = tick(&app, &mailer).await;
    assert_eq!(r.provisional_alerts, 1, "{r:?}");
    let r = tick(&app, &mailer).await;
    assert_eq!(r.provisional_alerts, 0, "{r:?}");
    let alerts = mails(&app.state, None, "calendar_provisional").await;
    assert_eq!(alerts.len(), 1, "{alerts:?}");
    assert_eq!(recipients(&alerts[0]), vec!["admin@demo.local".to_string()], "{alerts:?}");
    assert!(alerts[0].subject.contains("2027"), "{}", alerts[0].subject);

    // Loading 2027: only administrators, only valid and complete arrangements.
    let lunar = app.state.calendar().lunar_table().years[&2027];
    let arrangement = |makeup: &str| {
        let mut days = vec![json!({"date": "2027-01-01", "name": "元旦", "off": true})];
        for day in 5..=11 {
            days.push(json!({"date": format!("2027-02-{day:02}"), "name": "春节", "off": true}));
        }
        days.push(json!({"date": makeup, "name": "春节", "off": false}));
        for (name, date) in [("清明节", lunar.qingming), ("端午节", lunar.duanwu), ("中秋节", lunar.zhongqiu)]
        {
            days.push(json!({"date": date, "name": name, "off": true}));
        }
        for date in ["2027-05-01", "2027-05-02", "2027-10-01", "2027-10-02", "2027-10-03"] {
            days.push(json!({"date": date, "name": "法定节假日", "off": true}));
        }
        json!({"year": 2027, "source": "国务院办公厅关于2027年部分节假日安排的通知（测试）", "days": days})
    };
    let put = |token: String, body: Value| {
        let app = &app;
        async move { app.request(Method::PUT, "/api/v1/admin/calendar/2027", Some(&token), Some(body)).await }
    };
    let res = put(office.clone(), arrangement("2027-02-13")).await;
    assert_eq!(res.status.as_u16(), 403, "{}", res.body);
    let admin = app.login("admin").await;
    put(admin.clone(), arrangement("2027-02-12")).await.expect(422, "calendar_make_up_not_weekend");
    // Without 中秋 it is refused, naming what is missing.
    let mut partial = arrangement("2027-02-13");
    let zhongqiu = json!(lunar.zhongqiu);
    partial["days"].as_array_mut().unwrap().retain(|d| d["date"] != zhongqiu);
    let err = put(admin.clone(), partial).await.expect(422, "calendar_incomplete");
    assert!(err["message"].as_str().unwrap().contains(&format!("中秋节（{}）", lunar.zhongqiu)), "{err}");
    assert_eq!(app.case(&office, id).await["provisional_deadline"], true);
    let years = app.get("/api/v1/calendar/years", &admin).await.ok();
    assert!(years["provisional_deadlines"].as_u64().is_some_and(|n| n >= 1), "{years}");
    assert!(!years["loaded"].as_array().unwrap().contains(&json!(2027)), "{years}");

    let body = put(admin.clone(), arrangement("2027-02-13")).await.ok();
    assert!(body["recomputed_deadlines"].as_u64().is_some_and(|n| n >= 1), "{body}");
    assert!(body["loaded"].as_array().unwrap().contains(&json!(2027)), "{body}");
    assert_eq!(body["provisional_deadlines"], 0, "{body}");
    let case = app.case(&office, id).await;
    assert_eq!(case["provisional_deadline"], false, "{case}");
    let rows = deadlines(&app, &office, id).await;
    assert!(rows.iter().all(|r| r["provisional"] == false), "{rows:?}");
    let total = deadline_row(&app, &office, id, "total", None).await;
    let entries = total["explanation"].as_array().unwrap();
    let rec =
        entries.iter().find(|e| e["event"] == "recomputed").unwrap_or_else(|| panic!("no recomputed entry: {total}"));
    assert_eq!(rec["provisional"], false, "{rec}");
    assert_eq!(rec["due"], total["due_on"], "{rec}");
    let body = due(&app, &office, d("2026-12-28"), 5).await;
    assert_eq!(body["provisional"], false, "{body}");
    assert_eq!(body["due"], "2027-01-05", "{body}");
    let body = due(&app, &office, d("2027-02-04"), 2).await;
    assert_eq!(body["due"], "2027-02-13", "the make-up day counts: {body}");

    // No more alerts.
    at(&app, "2026-12-25", 9, 0);
    let r = tick(&app, &mailer).await;
    assert_eq!(r.provisional_alerts, 0, "{r:?}");
    assert_eq!(mails(&app.state, None, "calendar_provisional").await.len(), 1);
}

// ----------------------------------------------------------- 10. urge

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn urging_is_limited_to_once_per_working_day() {
    let app = spawn().await;
    let (id, case_no) = accepted_objection(&app, "2026-09-24").await;
    at(&app, "2026-09-24", 11, 0);
    let office = app.login("office").await;
    let dept_urges = |rows: Vec<outbox::Model>| {
        rows.into_iter().filter(|r| recipients(r).contains(&"sthj@credit.local".to_string())).collect::<Vec<_>>()
    };

    let case = app.act(&office, id, "urge", json!({"comment": "请尽快核查"})).await.ok();
    assert_eq!(case["state"], "with_department", "{case}");
    assert_eq!(case["last_urged_on"], "2026-09-24", "{case}");
    assert_eq!(events(&case, "urge").len(), 1, "{case}");
    let urged = dept_urges(mails(&app.state, Some(id), "case_urged").await);
    assert_eq!(urged.len(), 1, "{urged:?}");
    assert!(urged[0].subject.contains(&case_no), "{}", urged[0].subject);
    assert!(recipients(&urged[0]).contains(&"sthj@demo.local".to_string()), "{urged:?}");

    at(&app, "2026-09-24", 16, 0);
    let office = app.login("office").await;
    app.act(&office, id, "urge", json!({})).await.expect(409, "already_urged_today");
    assert_eq!(dept_urges(mails(&app.state, Some(id), "case_urged").await).len(), 1);

    at(&app, "2026-09-28", 9, 0);
    let office = app.login("office").await;
    let case = app.act(&office, id, "urge", json!({})).await.ok();
    assert_eq!(case["last_urged_on"], "2026-09-28", "{case}");
    assert_eq!(events(&case, "urge").len(), 2, "{case}");
    assert_eq!(dept_urges(mails(&app.state, Some(id), "case_urged").await).len(), 2);
    app.act(&office, id, "urge", json!({})).await.expect(409, "already_urged_today");
}

// ------------------------------------- 11. correcting a loaded year

/// A loaded year can be reverted to provisional (with a reason, audited):
/// its running deadlines are counted from the estimate again and say so;
/// loading it again makes them official.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_loaded_year_can_be_reverted_to_provisional_and_loaded_again() {
    let app = spawn().await;
    at(&app, "2026-09-24", 10, 0);
    let ent_c = app.login("ent_c").await;
    let office = app.login("office").await;
    let admin = app.login("admin").await;
    let id = id_of(&app.file(&ent_c, "objection", app.record_id(demo::LIST_ENTRY).await).await);
    assert_eq!(app.case(&office, id).await["provisional_deadline"], false);

    let revert = async |year: i32, body: Value| {
        app.request(Method::POST, &format!("/api/v1/admin/calendar/{year}/revert"), Some(&admin), Some(body)).await
    };
    // Only administrators; a reason is required; only a loaded year.
    let res =
        app.request(Method::POST, "/api/v1/admin/calendar/2026/revert", Some(&office), Some(json!({"reason": "x"})));
    assert!(res.await.status.is_client_error());
    revert(2026, json!({"reason": "  "})).await.expect(422, "validation_failed");
    revert(2031, json!({"reason": "误加载"})).await.expect(409, "calendar_not_loaded");

    let body = revert(2026, json!({"reason": "国务院办公厅通知尚未正式发布，先按推定安排计算"})).await.ok();
    assert!(!body["loaded"].as_array().unwrap().contains(&json!(2026)), "{body}");
    assert!(body["recomputed_deadlines"].as_u64().is_some_and(|n| n >= 2), "step and total: {body}");
    let case = app.case(&office, id).await;
    assert_eq!(case["provisional_deadline"], true, "{case}");
    let step = deadline_row(&app, &office, id, "step", None).await;
    assert_eq!(step["provisional"], true, "{step}");
    let rec = step["explanation"].as_array().unwrap().iter().find(|e| e["event"] == "recomputed").cloned();
    assert_eq!(rec.unwrap_or_else(|| panic!("{step}"))["reason"], "节假日安排已恢复为推定");
    // The calendar API says the same.
    let years = app.get("/api/v1/calendar/years", &office).await.ok();
    assert!(!years["loaded"].as_array().unwrap().contains(&json!(2026)), "{years}");

    // Loaded again: official once more.
    let year: Value =
        serde_json::from_str(include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/calendar/2026.json"))).unwrap();
    app.request(Method::PUT, "/api/v1/admin/calendar/2026", Some(&admin), Some(year)).await.ok();
    assert_eq!(app.case(&office, id).await["provisional_deadline"], false);
    let step = deadline_row(&app, &office, id, "step", None).await;
    assert_eq!(step["due_on"], "2026-09-28", "{step}");

    // Both changes are in the audit trail, newest first, with who and why.
    let events = app.get("/api/v1/admin/calendar/events", &admin).await.ok();
    let list = events.as_array().unwrap();
    let actions: Vec<&str> = list.iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert_eq!(actions, ["calendar_loaded", "calendar_reverted"], "{events}");
    assert_eq!(list[1]["year"], 2026);
    assert_eq!(list[1]["detail"]["reason"], "国务院办公厅通知尚未正式发布，先按推定安排计算");
    let me = app.get("/api/v1/me", &admin).await.ok();
    assert_eq!(list[1]["actor_user_id"], me["id"], "{events}");
    // A restart reads the reverted state back (a second replica sees it too).
    let cal = credit_repair::services::calendar::load(&app.state.db).await.unwrap();
    assert!(cal.is_loaded(2026));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn correcting_a_loaded_year_recomputes_running_deadlines() {
    let app = spawn().await;
    at(&app, "2026-09-24", 10, 0);
    let ent_c = app.login("ent_c").await;
    let office = app.login("office").await;
    let id = id_of(&app.file(&ent_c, "objection", app.record_id(demo::LIST_ENTRY).await).await);
    // Formal check: 1 working day after Thu 09-24 (09-25..27 are 中秋) = Mon 09-28.
    let step = deadline_row(&app, &office, id, "step", None).await;
    assert_eq!(step["due_on"], "2026-09-28", "{step}");

    // The administrator corrects 2026: 09-28 becomes a day off.
    let mut year: Value =
        serde_json::from_str(include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/calendar/2026.json")))
            .expect("shipped 2026 file");
    year["days"].as_array_mut().unwrap().push(json!({"date": "2026-09-28", "name": "更正", "off": true}));
    let admin = app.login("admin").await;
    let body = app.request(Method::PUT, "/api/v1/admin/calendar/2026", Some(&admin), Some(year)).await.ok();
    assert!(body["recomputed_deadlines"].as_u64().is_some_and(|n| n >= 1), "{body}");

    let step = deadline_row(&app, &office, id, "step", None).await;
    assert_eq!(step["due_on"], "2026-09-29", "{step}");
    let entries = step["explanation"].as_array().unwrap();
    let rec = entries.iter().find(|e| e["event"] == "recomputed").unwrap_or_else(|| panic!("{step}"));
    assert_eq!(rec["previous_due"], "2026-09-28", "{rec}");
    let case = app.case(&office, id).await;
    assert_eq!(case["due_at"], step["due_at"], "{case}");
    // The calendar API counts with the correction too.
    let body = due(&app, &office, d("2026-09-24"), 1).await;
    assert_eq!(body["due"], "2026-09-29", "{body}");
}

// --------------------------------------- 5. repair becomes possible ----

/// On a record's repair-from date its subject is told once; records already
/// repairable are told on the first tick, and never twice.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_subject_is_told_once_when_repair_becomes_possible() {
    let app = spawn().await;
    let mailer = mailer(&app.state);
    let office = app.login("office").await;
    let too_early = app.record_id(demo::TOO_EARLY).await;
    let from = date_of(&app.record(&office, too_early).await["repairable_from"]);

    // Today: the two demo records already repairable (ent_a's penalty, ent_c's list entry).
    let r = tick(&app, &mailer).await;
    assert_eq!(r.repair_notices, 2, "{r:?}");
    let told = mails(&app.state, None, "repair_open").await;
    assert_eq!(told.len(), 2, "{told:?}");
    let to_a = told.iter().find(|m| m.body_text.contains(demo::REPAIRABLE)).expect("ent_a told");
    assert_eq!(recipients(to_a), ["ent_a@demo.local"], "{to_a:?}");
    assert!(to_a.body_text.contains("履行完毕证明") && to_a.body_text.contains("/my/records"), "{}", to_a.body_text);
    assert!(!to_a.body_text.contains("{{") && !to_a.body_text.contains("None"), "{}", to_a.body_text);
    assert_eq!(tick(&app, &mailer).await.repair_notices, 0, "never twice");

    // The day before the too-early record's date: nothing; on the date: told.
    at(&app, &(from - Duration::days(1)).to_string(), 9, 0);
    assert_eq!(tick(&app, &mailer).await.repair_notices, 0);
    at(&app, &from.to_string(), 0, 30);
    assert_eq!(tick(&app, &mailer).await.repair_notices, 1);
    let told = mails(&app.state, None, "repair_open").await;
    let last = told.iter().find(|m| m.body_text.contains(demo::TOO_EARLY)).expect("told on its date");
    assert!(last.body_text.contains(&from.to_string()), "{}", last.body_text);
    assert_eq!(tick(&app, &mailer).await.repair_notices, 0);
}

/// An extension moves the step only up to the objection's total: asked late,
/// it gets only the working days left before the 7-working-day limit.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_objection_extension_never_passes_the_total() {
    let app = spawn().await;
    // Filed Thu 09-24 (total: 7 working days, due 10-12), accepted Mon 09-28
    // (the department's 4 working days: due 10-09).
    at(&app, "2026-09-24", 10, 0);
    let ent_c = app.login("ent_c").await;
    let id = id_of(&app.file(&ent_c, "objection", app.record_id(demo::LIST_ENTRY).await).await);
    at(&app, "2026-09-28", 10, 0);
    let office = app.login("office").await;
    app.act(&office, id, "accept", json!({})).await.ok();
    let step = deadline_row(&app, &office, id, "step", Some("with_department")).await;
    assert_eq!(step["due_on"], "2026-10-09", "{step}");
    // Three days asked; only two are left before the total (Sat 10-10 is a make-up day, then 10-12).
    at(&app, "2026-10-09", 9, 0);
    let sthj = app.login("sthj").await;
    app.act(&sthj, id, "request_extension", json!({"comment": "需补充核查"})).await.ok();
    let office = app.login("office").await;
    app.act(&office, id, "approve_extension", json!({})).await.ok();
    let step = deadline_row(&app, &sthj, id, "step", Some("with_department")).await;
    assert_eq!(step["due_on"], "2026-10-12", "{step}");
    assert_eq!(step["extended_working_days"], 2, "{step}");
    let total = deadline_row(&app, &sthj, id, "total", None).await;
    assert_eq!(total["due_on"], "2026-10-12", "the total never moves: {total}");
}

/// Mail is sent as fast as the mail server takes it: a tick sends every due
/// message (here 300 more than one filing's), not a fixed batch.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tick_sends_all_due_mail_not_a_fixed_batch() {
    use sea_orm::{ActiveValue::NotSet, EntityTrait, IntoActiveModel, Set};
    let (sink, app, mailer) = with_smtp_sink().await;
    let ent_a = app.login("ent_a").await;
    let id = id_of(&app.file(&ent_a, "objection", app.record_id(demo::REPAIRABLE).await).await);
    let template = mails(&app.state, Some(id), "case_received").await.remove(0);
    let copies: Vec<outbox::ActiveModel> = (0..300)
        .map(|i| {
            let mut am = template.clone().into_active_model();
            am.id = NotSet;
            am.dedupe_key = Set(Some(format!("bulk-{i}")));
            am
        })
        .collect();
    outbox::Entity::insert_many(copies).exec(&app.state.db).await.unwrap();
    let due = outbox::Entity::find()
        .filter(outbox::Column::Kind.eq("mail"))
        .filter(outbox::Column::Status.eq("pending"))
        .all(&app.state.db)
        .await
        .unwrap()
        .len();
    assert!(due > 300, "{due}");
    let r = tick(&app, &mailer).await;
    // The tick also queues the day's digest before it sends.
    let queued = due + r.digests as usize;
    assert_eq!(r.delivered as usize, queued, "{r:?}");
    assert_eq!(sink.received().len(), queued);
    let left = outbox::Entity::find()
        .filter(outbox::Column::Kind.eq("mail"))
        .filter(outbox::Column::Status.ne("sent"))
        .all(&app.state.db)
        .await
        .unwrap();
    assert!(left.is_empty(), "{left:?}");
}

/// Overdue marks go a page at a time: cases of several departments, each
/// with its step and its whole-case deadline past due, are marked in one
/// tick, each deadline with its own event (chained after the case's last)
/// and its own mail to the department that holds the case; a second tick
/// finds nothing left.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn overdue_cases_of_several_departments_are_escalated_together_with_intact_chains() {
    let app = spawn().await;
    let mailer = mailer(&app.state);
    // Thu 2026-09-24: the department's step is due 10-08 (4 working days), the total 10-12 (7).
    at(&app, "2026-09-24", 10, 0);
    let office = app.login("office").await;
    let mut ids = Vec::new();
    for (user, doc) in [("ent_c", demo::LIST_ENTRY), ("ent_a", demo::TOO_EARLY), ("ent_b", demo::NOT_PUBLISHED)] {
        let token = app.login(user).await;
        let id = id_of(&app.file(&token, "objection", app.record_id(doc).await).await);
        app.act(&office, id, "accept", json!({})).await.ok();
        ids.push(id);
    }
    at(&app, "2026-10-20", 10, 0);
    let r = tick(&app, &mailer).await;
    assert_eq!(r.overdue, 6, "a step and a total for each of three cases: {r:?}");
    let office = app.login("office").await;
    let mut departments = std::collections::BTreeSet::new();
    for &id in &ids {
        let case = app.case(&office, id).await;
        assert_eq!(case["overdue"], true, "{case}");
        let ev = events(&case, "deadline_overdue");
        let mut kinds: Vec<&str> = ev.iter().map(|e| e["inputs"]["deadline"].as_str().unwrap()).collect();
        kinds.sort();
        assert_eq!(kinds, ["step", "total"], "{case}");
        departments.insert(case["department_id"].as_i64().unwrap());
        let sent = mails(&app.state, Some(id), "deadline_overdue").await;
        assert_eq!(sent.len(), 2, "{sent:?}");
        assert!(sent.iter().all(|m| !recipients(m).is_empty()), "{sent:?}");
    }
    assert!(departments.len() >= 2, "{departments:?}");
    let (checked, broken) = credit_repair::services::cases::audit::verify_all(&app.state.db).await.unwrap();
    assert!(checked > 0);
    assert_eq!(broken, None);
    let r = tick(&app, &mailer).await;
    assert_eq!(r.overdue, 0, "{r:?}");
}
