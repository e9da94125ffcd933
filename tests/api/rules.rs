//! Rules from the rules review (withdrawal of records whose decision was
//! revoked, and the like), over HTTP. The record invariant is checked by the
//! helpers after every request that changes something.

use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
use serde_json::{Value, json};

use crate::helpers::*;

async fn outbox(app: &TestApp, kind: &str, template: &str) -> Vec<entity::outbox::Model> {
    entity::outbox::Entity::find()
        .filter(entity::outbox::Column::Kind.eq(kind))
        .filter(entity::outbox::Column::Template.eq(template))
        .order_by_asc(entity::outbox::Column::Id)
        .all(&app.state.db)
        .await
        .unwrap()
}

fn statuses(v: &Value) -> Vec<&str> {
    v.as_array().unwrap().iter().map(|x| x["status"].as_str().unwrap()).collect()
}

/// Shandong Art. 40: the producing department withdraws a record whose
/// decision was revoked; everything the record caused ends at once, the open
/// application on it closes, the subject is told, and downstream is synced.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_department_withdraws_a_record_whose_decision_was_revoked() {
    let app = spawn().await;
    let repair = app.accepted_repair("ent_c", demo::LIST_ENTRY).await;
    let path = format!("/api/v1/records/{}/withdraw", repair.record_id);
    let body = json!({"reason": "行政复议决定撤销原处罚决定", "revoking_document_no": "济高复决〔2026〕9号"});

    // Who may: the producing department and the credit office; others are refused or do not see it.
    app.post(&path, &app.login("ent_c").await, body.clone()).await.expect(403, "forbidden");
    app.post(&path, &app.login("admin").await, body.clone()).await.expect(403, "forbidden");
    app.post(&path, &app.login("scjg").await, body.clone()).await.expect(404, "not_found");
    // Both fields are required, and nothing is written on a refusal.
    let res = app.post(&path, &repair.officer, json!({"reason": " "})).await;
    let err = res.expect(422, "validation_failed");
    let fields: Vec<&str> = err["fields"].as_array().unwrap().iter().map(|f| f["field"].as_str().unwrap()).collect();
    assert_eq!(fields, ["reason", "revoking_document_no"], "{err}");
    assert_eq!(app.record(&repair.office, repair.record_id).await["publication_status"], "published");

    let rec = app.post(&path, &repair.officer, body.clone()).await.ok();
    assert_eq!(rec["deleted"], true, "{rec}");
    assert_eq!(rec["publication_status"], "ended", "{rec}");
    assert!(rec["publication_end_reason"].as_str().unwrap().contains("济高复决〔2026〕9号"), "{rec}");
    assert_eq!(statuses(&rec["lists"]), ["ended"], "{rec}");
    assert_eq!(statuses(&rec["sanctions"]), ["ended", "ended"], "{rec}");
    assert!(find_by_id(&app.public_items(demo::ENT_C).await, repair.record_id).is_none());

    // The open repair closed with the reason, by the system.
    let case = app.case(&repair.office, repair.id).await;
    assert_eq!(case["state"], "record_withdrawn", "{case}");
    assert_eq!(case["terminal"], true, "{case}");
    let last = case["history"].as_array().unwrap().last().unwrap().clone();
    assert_eq!((last["action"].as_str(), last["actor_role"].as_str()), (Some("record_withdrawn"), Some("system")));
    assert!(last["comment"].as_str().unwrap().contains("行政复议决定撤销原处罚决定"), "{last}");

    // The record's history, the subject's mail and the sync message.
    let history = app.get(&format!("/api/v1/records/{}/history", repair.record_id), &repair.office).await.ok();
    let ev = history["events"].as_array().unwrap().iter().find(|e| e["action"] == "record_withdrawn").cloned();
    let ev = ev.unwrap_or_else(|| panic!("{history}"));
    assert_eq!(ev["actor_role"], "department_officer", "{ev}");
    let mails = outbox(&app, "mail", "record_withdrawn").await;
    assert_eq!(mails.len(), 1, "{mails:?}");
    assert!(mails[0].recipients.contains("ent_c@demo.local"), "{:?}", mails[0]);
    assert!(mails[0].body_text.contains("济高复决〔2026〕9号") && !mails[0].body_text.contains("{{"));
    let syncs = outbox(&app, "sync", "sync").await;
    assert!(syncs.iter().any(|s| s.body_text.contains("record:withdrawn")), "{syncs:?}");

    // Once is enough.
    app.post(&path, &repair.office, body).await.expect(409, "record_already_withdrawn");
}

/// An open objection on a withdrawn record closes and its mark comes off.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn withdrawing_a_record_closes_its_open_objection_and_takes_the_mark_off() {
    let app = spawn().await;
    let ent_a = app.login("ent_a").await;
    let office = app.login("office").await;
    let record = app.record_id(demo::TOO_EARLY).await;
    let id = id_of(&app.file(&ent_a, "objection", record).await);
    app.act(&office, id, "accept", json!({})).await.ok();
    assert_eq!(app.record(&office, record).await["objection_open"], true);
    let version = app.record(&office, record).await["version"].as_i64().unwrap();
    let path = format!("/api/v1/records/{record}/withdraw");
    let body = |v: i64| json!({"reason": "原处罚决定被法院判决撤销", "revoking_document_no": "(2026)鲁0191行初12号", "version": v});
    // The credit office may withdraw too; a stale version is refused.
    app.post(&path, &office, body(version - 1)).await.expect(409, "stale_version");
    let rec = app.post(&path, &office, body(version)).await.ok();
    assert_eq!(rec["objection_open"], false, "{rec}");
    assert_eq!(rec["deleted"], true, "{rec}");
    let case = app.case(&office, id).await;
    assert_eq!(case["state"], "record_withdrawn", "{case}");
    assert!(case["closed_at"].is_string(), "{case}");
}

/// Files an objection on `doc` as `applicant` and has the office accept it;
/// returns (case id, record id).
async fn accepted_objection(app: &TestApp, applicant: &str, doc: &str) -> (i64, i64) {
    let token = app.login(applicant).await;
    let record = app.record_id(doc).await;
    let id = id_of(&app.file(&token, "objection", record).await);
    app.act(&app.login("office").await, id, "accept", json!({})).await.ok();
    (id, record)
}

/// A correction may change what the windows are about; each value is checked
/// as on creation and the windows are re-derived from it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_correction_of_severity_rederives_the_windows() {
    let app = spawn().await;
    let (id, record) = accepted_objection(&app, "ent_a", demo::TOO_EARLY).await;
    let yjgl = app.login("yjgl").await;
    let office = app.login("office").await;
    let before = app.record(&office, record).await;
    assert_eq!(before["severity"], "serious");

    // A decision date in the future is refused, and nothing changes.
    let future = (credit_repair::clock::Clock::today(&*app.clock) + chrono::Duration::days(3)).to_string();
    let bad = json!({"outcome": "corrected", "comment": "更正", "correction": {"decision_date": future}});
    let err = app.act(&yjgl, id, "verify", bad).await.expect(422, "validation_failed");
    assert_eq!(err["fields"][0]["field"], "correction.decision_date", "{err}");
    assert_eq!(err["fields"][0]["code"], "in_future", "{err}");
    let bad = json!({"outcome": "corrected", "comment": "更正", "correction": {"severity": "legacy_general"}});
    let err = app.act(&yjgl, id, "verify", bad).await.expect(422, "validation_failed");
    assert!(err["fields"][0]["field"].as_str().unwrap().starts_with("correction."), "{err}");
    assert_eq!(app.case(&office, id).await["state"], "with_department");
    assert_eq!(app.record(&office, record).await["version"], before["version"]);

    // 严重 → 一般: a one-year window from the same decision, repairable after three months.
    let ok = json!({"outcome": "corrected", "comment": "违法情节认定有误，更正为一般失信", "correction": {"severity": "general"}});
    app.act(&yjgl, id, "verify", ok).await.ok();
    let after = app.record(&office, record).await;
    assert_eq!(after["severity"], "general", "{after}");
    assert_eq!(after["display_category"], "公示满3个月可修复", "{after}");
    let decided: chrono::NaiveDate = after["decision_date"].as_str().unwrap().parse().unwrap();
    assert_eq!(after["publication_ends"], decided.checked_add_months(chrono::Months::new(12)).unwrap().to_string());
    assert_eq!(after["publication_status"], "published", "{after}");
}

/// A correction can never leave a record public past its legal maximum: a
/// list entry corrected to 一般 with its true decision date (2023-06-01, so
/// Order 58's three years) is past its new window, so it comes down with its
/// list and sanctions; the regime follows the corrected date.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_correction_that_shortens_the_window_past_today_ends_publication() {
    let app = spawn().await;
    let (id, record) = accepted_objection(&app, "ent_c", demo::LIST_ENTRY).await;
    let sthj = app.login("sthj").await;
    let correction = json!({"severity": "general", "decision_date": "2023-06-01"});
    let body = json!({"outcome": "corrected", "comment": "更正为一般失信及原决定日期", "correction": correction});
    let case = app.act(&sthj, id, "verify", body).await.ok();
    let verify = case["history"].as_array().unwrap().iter().find(|e| e["action"] == "verify").unwrap().clone();
    assert!(verify["inputs"]["publication_ended"].as_str().unwrap().contains("届满"), "{verify}");
    let office = app.login("office").await;
    let rec = app.record(&office, record).await;
    assert_eq!(rec["publication_status"], "ended", "{rec}");
    assert_eq!(rec["regime"], "order58", "{rec}");
    assert_eq!(rec["publication_ends"], "2026-06-01", "{rec}");
    assert_eq!(statuses(&rec["lists"]), ["ended"], "{rec}");
    assert_eq!(statuses(&rec["sanctions"]), ["ended", "ended"], "{rec}");
    assert_eq!(rec["objection_open"], false, "{rec}");
    assert!(find_by_id(&app.public_items(demo::ENT_C).await, record).is_none());
}

/// The same holds for an administrator's edit.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_administrators_edit_that_ends_the_window_ends_publication() {
    let app = spawn().await;
    let admin = app.login("admin").await;
    let record = app.record_id(demo::REPAIRABLE).await;
    let office = app.login("office").await;
    let version = app.record(&office, record).await["version"].as_i64().unwrap();
    let res = app
        .patch(
            &format!("/api/v1/admin/records/{record}"),
            &admin,
            json!({"version": version, "decision_date": "2023-06-15"}),
        )
        .await
        .ok();
    // The regime follows the new date (Order 58: three years for 一般).
    assert_eq!(res["regime"], "order58", "{res}");
    assert_eq!(res["publication_status"], "ended", "{res}");
    assert_eq!(statuses(&res["sanctions"]), ["ended", "ended"], "{res}");
    assert!(res["publication_end_reason"].as_str().unwrap().contains("2026-06-15"), "{res}");
    // A regime given with the date is checked against it.
    let version = res["version"].as_i64().unwrap();
    let e = app
        .patch(
            &format!("/api/v1/admin/records/{record}"),
            &admin,
            json!({"version": version, "decision_date": "2024-01-15", "regime": "current"}),
        )
        .await
        .expect(422, "validation_failed");
    assert_eq!(e["fields"][0]["code"], "regime_mismatch", "{e}");
}

/// Display categories take the Shandong cap into account: a window the cap
/// ends before repair opens shows 公示期满前不可修复, and intake refuses it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_window_capped_before_repair_opens_shows_no_repair_before_the_end() {
    let app = spawn().await;
    app.clock.set_local(d("2026-12-02"), 10, 0);
    let admin = app.login("admin").await;
    let subject = app.subject_id(&admin, demo::ENT_A).await;
    let dept = app.department_id(&admin, "区生态环境分局").await;
    // 严重 decided 2026-05-06: repair from 2027-05-07, but the conduct ended
    // 2021-12-20, so the five-year cap ends it on 2026-12-20.
    let body = json!({
        "subject_id": subject, "department_id": dept, "record_type": "administrative_penalty",
        "title": "长期超标排放", "document_no": "济高环罚〔2026〕66号", "severity": "serious",
        "decision_date": "2026-05-06", "conduct_end_date": "2021-12-20",
    });
    let r = app.post("/api/v1/admin/records", &admin, body).await.ok();
    assert_eq!(r["publication_ends"], "2026-12-20", "{r}");
    assert_eq!(r["repairable_from"], "2027-05-07", "{r}");
    assert_eq!(r["display_category"], "公示期满前不可修复", "{r}");
    let shown = app.public_items(demo::ENT_A).await;
    assert_eq!(find_by_id(&shown, id_of(&r)).unwrap()["display_category"], "公示期满前不可修复");
    let ent_a = app.login("ent_a").await;
    let e = app.try_file(&ent_a, "repair", id_of(&r)).await.expect(422, "record_not_repairable");
    assert_eq!(e["details"]["publication_ends"], "2026-12-20", "{e}");
}

/// A second repairable record of ent_a (current 一般, decided 2026-05-01), made by the administrator.
async fn second_record_of_ent_a(app: &TestApp) -> i64 {
    let admin = app.login("admin").await;
    let subject = app.subject_id(&admin, demo::ENT_A).await;
    let dept = app.department_id(&admin, "区生态环境分局").await;
    let body = json!({
        "subject_id": subject, "department_id": dept, "record_type": "administrative_penalty",
        "title": "未按规定申报排污", "content": "内容", "document_no": "济高环罚〔2026〕30号",
        "regime": "current", "severity": "general", "decision_date": "2026-05-01",
    });
    id_of(&app.post("/api/v1/admin/records", &admin, body).await.ok())
}

/// Repeat-application limits, when configured: a year between repairs, and
/// a revocation that bars the whole subject.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn configured_repeat_limits_refuse_a_second_repair() {
    let app = spawn_with(Options {
        tweak: Some(Box::new(|s| {
            s.repair_policy.min_months_between_repairs = Some(12);
        })),
        ..Default::default()
    })
    .await;
    let second = second_record_of_ent_a(&app).await;
    let r = app.accepted_repair("ent_a", demo::REPAIRABLE).await;
    app.act(&r.officer, r.id, "approve", json!({"comment": "准予"})).await.ok();
    let err = app.try_file(&r.applicant, "repair", second).await.expect(422, "repair_too_soon");
    let next_year =
        credit_repair::clock::Clock::today(&*app.clock).checked_add_months(chrono::Months::new(12)).unwrap();
    assert!(err["message"].as_str().unwrap().contains(&next_year.to_string()), "{err}");
    // An objection is not limited.
    app.file(&r.applicant, "objection", second).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_subject_wide_bar_refuses_repair_of_another_record() {
    let app = spawn_with(Options {
        tweak: Some(Box::new(|s| {
            s.repair_policy.bar_scope = credit_repair::domain::repair_policy::BarScope::Subject;
        })),
        ..Default::default()
    })
    .await;
    let second = second_record_of_ent_a(&app).await;
    let r = app.accepted_repair("ent_a", demo::REPAIRABLE).await;
    app.act(&r.officer, r.id, "approve", json!({})).await.ok();
    app.act(&r.office, r.id, "revoke", json!({"comment": "履约证明系伪造"})).await.ok();
    let err = app.try_file(&r.applicant, "repair", second).await.expect(422, "repair_barred");
    assert!(err["message"].as_str().unwrap().contains("该主体"), "{err}");
}

fn payload(row: &entity::outbox::Model) -> Value {
    serde_json::from_str(&row.body_text).unwrap_or_else(|e| panic!("sync body {}: {e}", row.body_text))
}

/// Every change to what is published or shared is synced with what a
/// downstream platform needs: the subject's code, the record, its state and
/// what the step changed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_messages_carry_the_subject_the_record_and_the_change() {
    let app = spawn().await;
    // The objection mark going on and off.
    let (id, record) = accepted_objection(&app, "ent_a", demo::TOO_EARLY).await;
    let syncs = outbox(&app, "sync", "sync").await;
    let on = syncs.iter().map(payload).find(|p| p["action"] == "objection:with_department").expect("mark on synced");
    assert_eq!(on["subject_code"], demo::ENT_A, "{on}");
    assert_eq!((on["record_id"].as_i64(), on["objection_open"].as_bool()), (Some(record), Some(true)), "{on}");
    let yjgl = app.login("yjgl").await;
    app.act(&yjgl, id, "verify", json!({"outcome": "maintained", "comment": "信息无误"})).await.ok();
    let syncs = outbox(&app, "sync", "sync").await;
    let off = syncs.iter().map(payload).find(|p| p["action"] == "objection:closed_resolved").expect("mark off synced");
    assert_eq!(off["objection_open"], false, "{off}");

    // A repair: publication, lists and sanctions ended, with their ids.
    let r = app.accepted_repair("ent_c", demo::LIST_ENTRY).await;
    app.act(&r.officer, r.id, "approve", json!({})).await.ok();
    let syncs = outbox(&app, "sync", "sync").await;
    let done = syncs.iter().map(payload).find(|p| p["action"] == "repair:completed").expect("repair synced");
    assert_eq!(done["subject_code"], demo::ENT_C, "{done}");
    assert_eq!(done["publication_status"], "ended", "{done}");
    assert_eq!(done["changes"]["ended_sanctions"].as_array().map(Vec::len), Some(2), "{done}");
    assert_eq!(done["changes"]["ended_list_memberships"].as_array().map(Vec::len), Some(1), "{done}");
    assert!(done["at"].is_string() && done["case_no"].is_string(), "{done}");
}
