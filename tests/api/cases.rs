//! Objection and repair workflows end to end over HTTP.

use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::{Value, json};

use crate::helpers::*;

// ------------------------------------------------------------- helpers ----

fn statuses(list: &Value) -> Vec<String> {
    list.as_array()
        .unwrap_or_else(|| panic!("not a list: {list}"))
        .iter()
        .map(|s| s["status"].as_str().unwrap().to_string())
        .collect()
}

/// Asserts a 422 validation error naming `field` with `code`.
#[track_caller]
fn expect_field(res: Resp, field: &str, code: &str) -> Value {
    let body = res.expect(422, "validation_failed");
    let fields = body["fields"].as_array().unwrap_or_else(|| panic!("fields missing: {body}"));
    assert!(fields.iter().any(|f| f["field"] == field && f["code"] == code), "expected {field}/{code}: {body}");
    body
}

/// The last history event for `action`.
fn last_event<'a>(case: &'a Value, action: &str) -> &'a Value {
    case["history"]
        .as_array()
        .unwrap()
        .iter()
        .rev()
        .find(|e| e["action"] == action)
        .unwrap_or_else(|| panic!("no {action} event in {case}"))
}

struct Objection {
    id: i64,
    record_id: i64,
    before: Value,
    office: String,
    sthj: String,
    ent_c: String,
}

/// ent_c objects to LIST_ENTRY and the credit office accepts: the record is
/// marked, publicly too, and the case waits at the producing department.
async fn accepted_objection(app: &TestApp) -> Objection {
    let record_id = app.record_id(demo::LIST_ENTRY).await;
    let ent_c = app.login("ent_c").await;
    let office = app.login("office").await;
    let sthj = app.login("sthj").await;
    let before = app.record(&office, record_id).await;
    assert_eq!(before["objection_open"], false, "{before}");
    assert_eq!(before["publication_status"], "published", "{before}");
    let case = app.file(&ent_c, "objection", record_id).await;
    let id = id_of(&case);
    assert_eq!(app.record(&office, record_id).await["objection_open"], false, "not marked before acceptance");

    let case = app.act(&office, id, "accept", json!({})).await.ok();
    assert_eq!(case["state"], "with_department", "{case}");
    let rec = app.record(&office, record_id).await;
    assert_eq!(rec["objection_open"], true, "{rec}");
    let public = app.public_items(demo::ENT_C).await;
    let item = find_by_id(&public, record_id).unwrap_or_else(|| panic!("record not public: {public:?}"));
    assert_eq!(item["objection_open"], true, "{item}");
    assert_eq!(item["objection_label"], "异议处理中", "{item}");
    Objection { id, record_id, before, office, sthj, ent_c }
}

/// After a verification: the mark is gone, privately and publicly.
async fn assert_unmarked(app: &TestApp, o: &Objection) -> Value {
    let rec = app.record(&o.office, o.record_id).await;
    assert_eq!(rec["objection_open"], false, "{rec}");
    if let Some(item) = find_by_id(&app.public_items(demo::ENT_C).await, o.record_id) {
        assert_eq!(item["objection_open"], false, "{item}");
        assert!(item["objection_label"].is_null(), "{item}");
    }
    rec
}

async fn outbox_rows(app: &TestApp, case: i64) -> Vec<entity::outbox::Model> {
    entity::outbox::Entity::find()
        .filter(entity::outbox::Column::CaseId.eq(case))
        .all(&app.state.db)
        .await
        .expect("outbox rows")
}

// -------------------------------------------------- objection outcomes ----

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn objection_corrected_changes_content_and_ends_named_sanction() {
    let app = spawn().await;
    let o = accepted_objection(&app).await;
    let sanctions = o.before["sanctions"].as_array().unwrap().clone();
    assert_eq!(sanctions.len(), 2, "{}", o.before);
    let wrong = sanctions[0]["id"].as_i64().unwrap();
    let kept = sanctions[1]["id"].as_i64().unwrap();

    // The corrected content is required.
    let res = app.act(&o.sthj, o.id, "verify", json!({"outcome": "corrected", "comment": "核查属实"})).await;
    expect_field(res, "correction", "correction_required");
    assert_eq!(app.case(&o.office, o.id).await["state"], "with_department");

    let new_content = "经核查，排污数据篡改情节认定有误，更正为未按规定运行自动监测设备。";
    // A sanction of another record: refused, and nothing of the verification sticks.
    let other = app.record(&o.office, app.record_id(demo::REPAIRABLE).await).await;
    let foreign = other["sanctions"][0]["id"].as_i64().unwrap();
    let res = app.act(&o.sthj,
        o.id,
        "verify",
        json!({"outcome": "corrected", "comment": "更正", "correction": {"content": new_content}, "sanction_ids": [foreign]}),
    )
    .await;
    expect_field(res, "sanction_ids", "not_found");
    let unchanged = app.record(&o.office, o.record_id).await;
    assert_eq!(unchanged["content"], o.before["content"], "rolled back: {unchanged}");
    assert_eq!(unchanged["objection_open"], true, "{unchanged}");
    let still = app.case(&o.office, o.id).await;
    assert_eq!(still["state"], "with_department", "{still}");
    assert!(still["history"].as_array().unwrap().iter().all(|e| e["action"] != "verify"), "{still}");

    let case = app.act(&o.sthj,
        o.id,
        "verify",
        json!({"outcome": "corrected", "comment": "核查属实，予以更正", "correction": {"content": new_content}, "sanction_ids": [wrong]}),
    )
    .await
    .ok();
    assert_eq!(case["state"], "closed_resolved", "{case}");
    assert_eq!(case["outcome"], "corrected", "{case}");
    assert_eq!(case["terminal"], true, "{case}");

    let rec = assert_unmarked(&app, &o).await;
    assert_eq!(rec["content"], new_content, "{rec}");
    assert_ne!(rec["content"], o.before["content"]);
    assert_eq!(rec["title"], o.before["title"], "title not corrected: unchanged");
    assert_eq!(rec["publication_status"], "published", "{rec}");
    let by_id = |id: i64| rec["sanctions"].as_array().unwrap().iter().find(|s| s["id"] == id).unwrap().clone();
    assert_eq!(by_id(wrong)["status"], "ended", "{rec}");
    assert!(by_id(wrong)["ended_at"].is_string(), "{rec}");
    assert_eq!(by_id(kept)["status"], "active", "{rec}");

    let verify = last_event(&case, "verify");
    assert_eq!(verify["to_state"], "closed_resolved");
    assert_eq!(verify["inputs"]["record_before"]["content"], o.before["content"], "{verify}");
    assert_eq!(verify["inputs"]["record_after"]["content"], new_content, "{verify}");

    let public = app.public_items(demo::ENT_C).await;
    assert_eq!(find_by_id(&public, o.record_id).expect("still public")["content"], new_content);
    let rows = outbox_rows(&app, o.id).await;
    // Synced twice: the mark on acceptance, the correction (with the mark off) on the decision.
    assert_eq!(rows.iter().filter(|r| r.kind == "sync").count(), 2, "{rows:?}");
    assert!(rows.iter().any(|r| r.kind == "mail" && r.template == "case_decided"), "{rows:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn objection_supplemented_appends_to_content() {
    let app = spawn().await;
    let o = accepted_objection(&app).await;
    let res = app.act(&o.sthj, o.id, "verify", json!({"outcome": "supplemented", "comment": "补充说明"})).await;
    expect_field(res, "correction", "correction_required");

    let extra = "当事人已于次月完成整改并通过验收。";
    let case = app
        .act(
            &o.sthj,
            o.id,
            "verify",
            json!({"outcome": "supplemented", "comment": "补充说明", "correction": {"content": extra}}),
        )
        .await
        .ok();
    assert_eq!(case["state"], "closed_resolved", "{case}");
    let rec = assert_unmarked(&app, &o).await;
    let content = rec["content"].as_str().unwrap();
    assert!(content.contains(extra), "{content}");
    assert!(content.starts_with(o.before["content"].as_str().unwrap()), "original content kept: {content}");
    assert_eq!(statuses(&rec["sanctions"]), ["active", "active"], "{rec}");
    assert_eq!(rec["publication_status"], "published");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn objection_deleted_ends_publication_lists_and_sanctions() {
    let app = spawn().await;
    let o = accepted_objection(&app).await;
    let case =
        app.act(&o.sthj, o.id, "verify", json!({"outcome": "deleted", "comment": "信息错误，予以删除"})).await.ok();
    assert_eq!(case["state"], "closed_resolved", "{case}");
    assert_eq!(case["outcome"], "deleted");
    let rec = assert_unmarked(&app, &o).await;
    assert_eq!(rec["deleted"], true, "{rec}");
    assert_eq!(rec["publication_status"], "ended", "{rec}");
    assert_eq!(statuses(&rec["sanctions"]), ["ended", "ended"], "{rec}");
    // The subject leaves every list the deleted record put it on.
    assert_eq!(statuses(&rec["lists"]), ["ended"], "{rec}");
    assert!(find_by_id(&app.public_items(demo::ENT_C).await, o.record_id).is_none(), "deleted record still public");
    let sync = outbox_rows(&app, o.id).await;
    assert!(sync.iter().any(|r| r.kind == "sync"), "sync queued");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn objection_removed_from_list_ends_membership_and_sanctions() {
    let app = spawn().await;
    let o = accepted_objection(&app).await;
    assert_eq!(statuses(&o.before["lists"]), ["active"], "{}", o.before);
    let case = app
        .act(&o.sthj, o.id, "verify", json!({"outcome": "removed_from_list", "comment": "不符合列入条件"}))
        .await
        .ok();
    assert_eq!(case["state"], "closed_resolved", "{case}");
    let rec = assert_unmarked(&app, &o).await;
    assert_eq!(statuses(&rec["lists"]), ["ended"], "{rec}");
    assert_eq!(statuses(&rec["sanctions"]), ["ended", "ended"], "{rec}");
    // The record is the list entry: off the list, the public no longer sees it.
    assert_eq!(rec["publication_status"], "ended", "{rec}");
    assert_eq!(rec["deleted"], false, "{rec}");
    assert!(find_by_id(&app.public_items(demo::ENT_C).await, o.record_id).is_none(), "still public");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn objection_maintained_leaves_record_and_removes_mark() {
    let app = spawn().await;
    let o = accepted_objection(&app).await;
    // A correction does not belong to a maintained outcome.
    let res = app
        .act(
            &o.sthj,
            o.id,
            "verify",
            json!({"outcome": "maintained", "comment": "维持", "correction": {"content": "x"}}),
        )
        .await;
    expect_field(res, "correction", "not_applicable");

    let case = app
        .act(&o.sthj, o.id, "verify", json!({"outcome": "maintained", "comment": "经核查信息无误，予以维持"}))
        .await
        .ok();
    assert_eq!(case["state"], "closed_resolved", "{case}");
    assert_eq!(case["outcome"], "maintained");
    let rec = assert_unmarked(&app, &o).await;
    for k in ["title", "content", "document_no", "decision_date", "publication_status", "deleted", "sanctions", "lists"]
    {
        assert_eq!(rec[k], o.before[k], "{k} changed: {rec}");
    }
    let public = app.public_items(demo::ENT_C).await;
    assert!(find_by_id(&public, o.record_id).is_some());
    let _ = o.ent_c;
}

// ------------------------------------------ objection: other endings ----

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn objection_reject_needs_comment_and_never_marks() {
    let app = spawn().await;
    let record_id = app.record_id(demo::LIST_ENTRY).await;
    let ent_c = app.login("ent_c").await;
    let office = app.login("office").await;
    let id = id_of(&app.file(&ent_c, "objection", record_id).await);

    expect_field(app.act(&office, id, "reject", json!({})).await, "comment", "comment_required");
    expect_field(app.act(&office, id, "reject", json!({"comment": "   "})).await, "comment", "comment_required");
    assert_eq!(app.case(&office, id).await["state"], "submitted");

    let case = app.act(&office, id, "reject", json!({"comment": "申请事项不属于异议受理范围"})).await.ok();
    assert_eq!(case["state"], "closed_not_accepted", "{case}");
    assert_eq!(case["result"], "不予受理", "{case}");
    assert!(case["closed_at"].is_string(), "{case}");
    assert_eq!(last_event(&case, "reject")["comment"], "申请事项不属于异议受理范围");
    let rec = app.record(&office, record_id).await;
    assert_eq!(rec["objection_open"], false, "{rec}");
    let public = app.public_items(demo::ENT_C).await;
    let item = find_by_id(&public, record_id).expect("still public");
    assert_eq!(item["objection_open"], false);
    assert!(item["objection_label"].is_null(), "{item}");
    // Nothing can follow a closed case.
    app.act(&office, id, "accept", json!({})).await.expect(409, "action_not_allowed");
    // A new objection may be filed once the first is closed.
    app.file(&ent_c, "objection", record_id).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn objection_supplement_loop_pauses_and_resumes_total_deadline() {
    let app = spawn().await;
    let record_id = app.record_id(demo::LIST_ENTRY).await;
    let ent_c = app.login("ent_c").await;
    let office = app.login("office").await;
    let id = id_of(&app.file(&ent_c, "objection", record_id).await);

    expect_field(app.act(&office, id, "request_supplement", json!({})).await, "comment", "comment_required");
    // 一次性告知: every missing item, as a list.
    expect_field(
        app.act(&office, id, "request_supplement", json!({"comment": "请补充"})).await,
        "missing_items",
        "required",
    );
    expect_field(
        app.act(&office, id, "request_supplement", json!({"comment": "请补充", "missing_items": ["  "]})).await,
        "missing_items",
        "required",
    );
    let items = json!(["营业执照复印件", "处罚决定书送达回证", "营业执照复印件"]);
    let body = json!({"comment": "请补充相关证明材料", "missing_items": items});
    let case = app.act(&office, id, "request_supplement", body).await.ok();
    assert_eq!(case["state"], "supplement_requested", "{case}");
    assert_eq!(case["supplement_items"], json!(["营业执照复印件", "处罚决定书送达回证"]), "{case}");
    let seen = app.case(&ent_c, id).await;
    assert_eq!(seen["supplement_items"], case["supplement_items"]);
    let event = seen["history"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(event["inputs"]["missing_items"], case["supplement_items"], "{event}");
    assert!(case["total_due_at"].is_null(), "total clock paused: {case}");
    let seen = app.case(&ent_c, id).await;
    assert!(action_names(&seen).contains(&"supplement".to_string()), "{seen}");
    assert!(action_names(&app.case(&office, id).await).is_empty(), "office waits for the applicant");
    // The office cannot accept while waiting for the supplement.
    app.act(&office, id, "accept", json!({})).await.expect(409, "action_not_allowed");

    let res = app.upload_pdf(&ent_c, id, "evidence").await;
    assert_eq!(res.status.as_u16(), 201, "{}", res.body);
    let case = app.act(&ent_c, id, "supplement", json!({"comment": "已补充"})).await.ok();
    assert_eq!(case["state"], "submitted", "{case}");
    assert_eq!(case["supplement_items"], json!([]), "the list is answered: {case}");
    assert!(case["total_due_at"].is_string(), "total clock running again: {case}");
    let case = app.act(&office, id, "accept", json!({})).await.ok();
    assert_eq!(case["state"], "with_department", "{case}");
    assert_eq!(app.record(&office, record_id).await["objection_open"], true);

    let deadlines = app.get(&format!("/api/v1/cases/{id}/deadlines"), &ent_c).await.ok();
    let total: Vec<&Value> = deadlines.as_array().unwrap().iter().filter(|d| d["kind"] == "total").collect();
    assert_eq!(total.len(), 1, "{deadlines}");
    let total = total[0];
    assert_eq!(total["status"], "running", "{total}");
    let events: Vec<&str> =
        total["explanation"].as_array().unwrap().iter().map(|e| e["event"].as_str().unwrap_or("")).collect();
    let paused = events.iter().position(|e| *e == "paused").unwrap_or_else(|| panic!("no pause: {total}"));
    let resumed = events.iter().position(|e| *e == "resumed").unwrap_or_else(|| panic!("no resumption: {total}"));
    assert!(paused < resumed, "{events:?}");
    // Steps: submitted, supplement_requested, submitted, with_department.
    let steps: Vec<&str> = deadlines
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["kind"] == "step")
        .map(|d| d["state"].as_str().unwrap())
        .collect();
    assert_eq!(steps, ["submitted", "supplement_requested", "submitted", "with_department"], "{deadlines}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn objection_withdrawn_after_acceptance_removes_mark() {
    let app = spawn().await;
    let o = accepted_objection(&app).await;
    let case = app.act(&o.ent_c, o.id, "withdraw", json!({"comment": "不再坚持异议"})).await.ok();
    assert_eq!(case["state"], "withdrawn", "{case}");
    assert_eq!(case["result"], "已撤回", "{case}");
    let rec = assert_unmarked(&app, &o).await;
    assert_eq!(rec["content"], o.before["content"]);
    assert_eq!(statuses(&rec["sanctions"]), ["active", "active"]);
    // The department can no longer verify.
    app.act(&o.sthj, o.id, "verify", json!({"outcome": "maintained", "comment": "x"}))
        .await
        .expect(409, "action_not_allowed");
}

// ---------------------------------------------------------- repairs ----

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn repair_approved_ends_publication_sanctions_and_queues_notices() {
    let app = spawn().await;
    let record_id = app.record_id(demo::REPAIRABLE).await;
    let ent_a = app.login("ent_a").await;
    let office = app.login("office").await;
    let sthj = app.login("sthj").await;
    assert!(find_by_id(&app.public_items(demo::ENT_A).await, record_id).is_some(), "published before");
    let case = app.file(&ent_a, "repair", record_id).await;
    let id = id_of(&case);
    assert_eq!(sorted(&["fulfilment_proof", "commitment_letter"]), {
        let mut m: Vec<String> =
            case["missing_materials"].as_array().unwrap().iter().map(|v| v.as_str().unwrap().to_string()).collect();
        m.sort();
        m
    });

    // Accept waits for both materials.
    let body = app.act(&office, id, "accept", json!({})).await.expect(409, "materials_missing");
    let missing = body["details"]["missing_materials"].as_array().unwrap();
    assert_eq!(missing.len(), 2, "{body}");
    assert_eq!(app.upload_pdf(&ent_a, id, "fulfilment_proof").await.status.as_u16(), 201);
    let body = app.act(&office, id, "accept", json!({})).await.expect(409, "materials_missing");
    assert_eq!(body["details"]["missing_materials"], json!(["commitment_letter"]), "{body}");
    assert_eq!(app.upload_pdf(&ent_a, id, "commitment_letter").await.status.as_u16(), 201);
    let case = app.act(&office, id, "accept", json!({})).await.ok();
    assert_eq!(case["state"], "with_department", "{case}");
    assert_eq!(case["attachments"].as_array().unwrap().len(), 2, "{case}");
    assert!(case["missing_materials"].as_array().unwrap().is_empty(), "{case}");

    let case = app.act(&sthj, id, "approve", json!({"comment": "已履行法定义务，同意修复"})).await.ok();
    assert_eq!(case["state"], "completed", "{case}");
    assert_eq!(case["result"], "修复完成", "{case}");

    let rec = app.record(&office, record_id).await;
    assert_eq!(rec["publication_status"], "ended", "{rec}");
    assert!(rec["publication_end_reason"].is_string(), "{rec}");
    let sanctions = rec["sanctions"].as_array().unwrap();
    assert_eq!(sanctions.len(), 2, "{rec}");
    for s in sanctions {
        assert_eq!(s["status"], "ended", "{s}");
        assert!(s["ended_at"].is_string(), "{s}");
        assert!(s["ended_reason"].as_str().is_some_and(|r| !r.is_empty()), "{s}");
    }
    let public = app.public_items(demo::ENT_A).await;
    assert!(find_by_id(&public, record_id).is_none(), "repaired record still public: {public:?}");
    assert!(public.iter().any(|r| r["document_no"] == demo::TOO_EARLY), "other records stay: {public:?}");

    let rows = outbox_rows(&app, id).await;
    let decided: Vec<_> = rows.iter().filter(|r| r.kind == "mail" && r.template == "case_decided").collect();
    assert!(!decided.is_empty(), "no case_decided mail: {rows:?}");
    assert!(decided.iter().any(|r| r.recipients.contains("ent_a@demo.local")), "applicant notified: {decided:?}");
    assert!(decided.iter().any(|r| r.recipients.contains("office@demo.local")), "office notified: {decided:?}");
    let sync: Vec<_> = rows.iter().filter(|r| r.kind == "sync").collect();
    assert_eq!(sync.len(), 1, "{rows:?}");
    assert!(sync[0].body_text.contains("\"ended\""), "{:?}", sync[0]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn repair_approved_on_list_entry_ends_list_membership() {
    let app = spawn().await;
    let r = app.accepted_repair("ent_c", demo::LIST_ENTRY).await;
    let before = app.record(&r.office, r.record_id).await;
    assert_eq!(statuses(&before["lists"]), ["active"], "{before}");
    let case = app.act(&r.officer, r.id, "approve", json!({})).await.ok();
    assert_eq!(case["state"], "completed", "{case}");
    let rec = app.record(&r.office, r.record_id).await;
    assert_eq!(statuses(&rec["lists"]), ["ended"], "{rec}");
    assert!(rec["lists"][0]["ended_at"].is_string(), "{rec}");
    assert_eq!(statuses(&rec["sanctions"]), ["ended", "ended"], "{rec}");
    assert_eq!(rec["publication_status"], "ended", "{rec}");
    assert!(find_by_id(&app.public_items(demo::ENT_C).await, r.record_id).is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn repair_denied_needs_comment_and_keeps_record() {
    let app = spawn().await;
    let r = app.accepted_repair("ent_a", demo::REPAIRABLE).await;
    expect_field(app.act(&r.officer, r.id, "deny", json!({})).await, "comment", "comment_required");
    assert_eq!(app.case(&r.office, r.id).await["state"], "with_department");

    let case = app.act(&r.officer, r.id, "deny", json!({"comment": "罚款尚未缴清"})).await.ok();
    assert_eq!(case["state"], "denied", "{case}");
    assert_eq!(case["result"], "不予修复", "{case}");
    let rec = app.record(&r.office, r.record_id).await;
    assert_eq!(rec["publication_status"], "published", "{rec}");
    assert_eq!(statuses(&rec["sanctions"]), ["active", "active"], "{rec}");
    assert!(find_by_id(&app.public_items(demo::ENT_A).await, r.record_id).is_some());
    let rows = outbox_rows(&app, r.id).await;
    assert!(!rows.iter().any(|x| x.kind == "sync"), "nothing to sync on denial: {rows:?}");
    // The decision mail tells the applicant the way forward, and links to the case page.
    let mail = rows
        .iter()
        .find(|x| x.template == "case_decided" && x.recipients.contains("ent_a@demo.local"))
        .expect("the applicant's decision mail");
    assert!(mail.body_text.contains("重新申请信用修复") && mail.body_text.contains("提出异议"), "{}", mail.body_text);
    assert!(
        mail.body_text.contains(&format!("/cases/{}", r.id)) && !mail.body_text.contains("/api/"),
        "{}",
        mail.body_text
    );
    // Each group's copy is addressed to it: the credit office's is not written to the enterprise.
    let copies: Vec<_> = rows.iter().filter(|x| x.template == "case_decided").collect();
    let office_copy = copies.iter().find(|x| x.recipients.contains("office@demo.local")).expect("the office's copy");
    assert!(office_copy.body_text.trim_start().starts_with("区信用办："), "{}", office_copy.body_text);
    assert!(office_copy.body_text.contains("泉城示例建材有限公司 的信用修复申请"), "{}", office_copy.body_text);
    assert!(!office_copy.body_text.contains("重新申请"), "{}", office_copy.body_text);
    assert!(
        mail.recipients.contains("ent_a@demo.local") && mail.body_text.contains("您的信用修复申请"),
        "{}",
        mail.body_text
    );
    // The acceptance mail gave the whole case's legal deadline.
    let accepted = rows.iter().find(|x| x.template == "case_accepted").expect("an acceptance mail");
    let deadlines = app.get(&format!("/api/v1/cases/{}/deadlines", r.id), &r.office).await.ok();
    let rows_of = deadlines["items"].as_array().or(deadlines.as_array()).unwrap_or_else(|| panic!("{deadlines}"));
    let total = rows_of.iter().find(|x| x["kind"] == "total").unwrap_or_else(|| panic!("{deadlines}"));
    let total = total["due_on"].as_str().unwrap();
    assert!(accepted.body_text.contains(&format!("全案法定办结期限：{total}")), "{}", accepted.body_text);
    // A new application is possible once the denied one is closed.
    app.file(&r.applicant, "repair", r.record_id).await;
}

// ------------------------------------------------------------ intake ----

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn intake_refuses_ineligible_records() {
    let app = spawn().await;
    let ent_a = app.login("ent_a").await;
    let ent_b = app.login("ent_b").await;

    // A market-regulation record: repaired on SAMR's own system (rulebook A.2).
    let samr = app.record_id(demo::SAMR_LISTED).await;
    let body = app.try_file(&ent_b, "repair", samr).await.expect(422, "samr_record");
    assert_eq!(body["details"]["system_url"], "https://www.gsxt.gov.cn", "{body}");
    assert!(body["message"].as_str().unwrap().contains("国家企业信用信息公示系统"), "{body}");
    // An objection to it is still this office's.
    let office = app.login("office").await;
    assert_eq!(app.record(&office, samr).await["source"], "samr");

    let too_early = app.record_id(demo::TOO_EARLY).await;
    let body = app.try_file(&ent_a, "repair", too_early).await.expect(422, "repair_too_early");
    let from = body["details"]["repairable_from"].as_str().unwrap_or_else(|| panic!("{body}"));
    let from = chrono::NaiveDate::parse_from_str(from, "%Y-%m-%d").expect("a date");
    assert!(from > app.state.clock.today(), "{from}");

    let not_published = app.record_id(demo::NOT_PUBLISHED).await;
    app.try_file(&ent_b, "repair", not_published).await.expect(422, "record_not_published");

    // No case was created by any refusal.
    let list = app.get("/api/v1/cases", &office).await.ok();
    assert_eq!(list["total"], 0, "{list}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_legacy_specific_serious_record_is_not_repairable_while_published() {
    let app = spawn().await;
    // 2023: 527号 still governed records decided before May.
    app.clock.set_local(d("2023-06-01"), 9, 0);
    let admin = app.login("admin").await;
    let subject = app.subject_id(&admin, demo::ENT_B).await;
    let dept = app.department_id(&admin, "区市场监督管理局").await;
    let body = json!({
        "subject_id": subject, "department_id": dept, "record_type": "administrative_penalty",
        "title": "吊销食品经营许可证", "document_no": "济高市监罚〔2023〕3号",
        "severity": "legacy_specific_serious", "decision_date": "2023-03-01",
    });
    let r = app.post("/api/v1/admin/records", &admin, body).await.ok();
    assert_eq!(r["regime"], "legacy527", "{r}");
    assert_eq!(r["display_category"], "公示期满前不可修复", "{r}");
    let ent_b = app.login("ent_b").await;
    let body = app.try_file(&ent_b, "repair", id_of(&r)).await.expect(422, "record_not_repairable");
    assert_eq!(body["details"]["publication_ends"], "2026-03-01", "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn samr_registration_mode_takes_samrs_decision() {
    let register: Tweak = Box::new(|s| s.samr.repair = credit_repair::domain::samr::SamrRepair::Register);
    let app = spawn_with(Options { tweak: Some(register), ..Options::default() }).await;
    let ent_b = app.login("ent_b").await;
    let samr = app.record_id(demo::SAMR_LISTED).await;
    let body = json!({"kind": "repair", "record_id": samr, "reason": "已在市场监管部门完成信用修复"});
    let e = app.post("/api/v1/cases", &ent_b, body.clone()).await.expect(422, "validation_failed");
    assert_eq!(e["fields"][0]["code"], "samr_decision_required", "{e}");
    // A local record takes no SAMR decision.
    let local = app.record_id(demo::REPAIRABLE).await;
    let ent_a = app.login("ent_a").await;
    let mut wrong = json!({"kind": "repair", "record_id": local, "reason": "已履行"});
    wrong["samr_decision_no"] = json!("济市监信修〔2026〕8号");
    let e = app.post("/api/v1/cases", &ent_a, wrong).await.expect(422, "validation_failed");
    assert_eq!(e["fields"][0]["code"], "not_samr_record", "{e}");
    // Registered with SAMR's decision: the market-regulation department approves it here.
    let mut body = body;
    body["samr_decision_no"] = json!("济市监信修〔2026〕8号");
    let case = app.post("/api/v1/cases", &ent_b, body).await;
    assert_eq!(case.status.as_u16(), 201, "{}", case.body);
    let id = id_of(&case.body);
    assert_eq!(case.body["external_decision_no"], "济市监信修〔2026〕8号");
    assert_eq!(case.body["record_source"], "samr");
    for kind in ["fulfilment_proof", "commitment_letter"] {
        assert_eq!(app.upload_pdf(&ent_b, id, kind).await.status.as_u16(), 201);
    }
    let office = app.login("office").await;
    app.act(&office, id, "accept", json!({})).await.ok();
    let scjg = app.login("scjg").await;
    let done = app.act(&scjg, id, "approve", json!({"comment": "依市场监管部门决定登记修复"})).await.ok();
    assert_eq!(done["state"], "completed", "{done}");
    let rec = app.record(&office, samr).await;
    assert_eq!(rec["publication_status"], "ended", "{rec}");
    app.assert_records_consistent("after a registered SAMR repair").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn intake_ends_publication_past_its_period() {
    let app = spawn().await;
    let office = app.login("office").await;
    // A record entered past its end started ended: nothing to repair.
    let entered_ended = app.record_id(demo::EXPIRED).await;
    assert_eq!(app.record(&office, entered_ended).await["publication_status"], "ended");
    let ent_c = app.login("ent_c").await;
    app.try_file(&ent_c, "repair", entered_ended).await.expect(422, "publication_already_ended");
    // A window that ran out before the scheduler came round is ended at intake.
    let repairable = app.record_id(demo::REPAIRABLE).await;
    let ends: chrono::NaiveDate =
        app.record(&office, repairable).await["publication_ends"].as_str().unwrap().parse().unwrap();
    app.clock.set_local(ends.succ_opt().unwrap(), 9, 0);
    let ent_a = app.login("ent_a").await;
    let office = app.login("office").await;
    assert_eq!(app.record(&office, repairable).await["publication_status"], "published");
    let body = app.try_file(&ent_a, "repair", repairable).await.expect(422, "publication_period_over");
    assert_eq!(body["details"]["publication_status"], "ended", "{body}");
    let rec = app.record(&office, repairable).await;
    assert_eq!(rec["publication_status"], "ended", "{rec}");
    assert!(find_by_id(&app.public_items(demo::ENT_A).await, repairable).is_none());
    app.assert_records_consistent("after intake ended the window").await;
    // Asking again answers that publication already ended.
    app.try_file(&ent_a, "repair", repairable).await.expect(422, "publication_already_ended");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn intake_past_the_end_closes_the_open_repair_on_the_record() {
    let app = spawn().await;
    let ent_a = app.login("ent_a").await;
    let office = app.login("office").await;
    let repairable = app.record_id(demo::REPAIRABLE).await;
    let open = id_of(&app.file(&ent_a, "repair", repairable).await);
    // The window ends while the application is still open; nothing ran since.
    let ends: chrono::NaiveDate =
        app.record(&office, repairable).await["publication_ends"].as_str().unwrap().parse().unwrap();
    app.clock.set_local(ends.succ_opt().unwrap(), 9, 0);
    let ent_a = app.login("ent_a").await;
    let office = app.login("office").await;
    // A second application is refused, and the window's end is applied at once:
    // publication ends and the open application closes as expired.
    let body = app.try_file(&ent_a, "repair", repairable).await.expect(422, "publication_period_over");
    assert_eq!(body["details"]["publication_status"], "ended", "{body}");
    let case = app.case(&office, open).await;
    assert_eq!(case["state"], "expired", "{case}");
    assert!(case["history"].as_array().unwrap().iter().any(|e| e["action"] == "expire" && e["actor_role"] == "system"));
    let rec = app.record(&office, repairable).await;
    assert_eq!(rec["publication_status"], "ended", "{rec}");
    assert!(rec["sanctions"].as_array().unwrap().iter().all(|s| s["status"] == "ended"), "{rec}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn intake_refuses_duplicates_foreign_records_and_non_applicants() {
    let app = spawn().await;
    let ent_a = app.login("ent_a").await;
    let office = app.login("office").await;
    let repairable = app.record_id(demo::REPAIRABLE).await;

    let first = app.file(&ent_a, "repair", repairable).await;
    assert!(first["case_no"].as_str().is_some_and(|n| n.starts_with("XF")), "{first}");
    app.try_file(&ent_a, "repair", repairable).await.expect(422, "case_already_open");
    // An objection on the same record is refused too while the repair is open.
    app.try_file(&ent_a, "objection", repairable).await.expect(422, "case_already_open");

    let foreign = app.record_id(demo::NOT_PUBLISHED).await;
    app.try_file(&ent_a, "objection", foreign).await.expect(404, "not_found");
    app.try_file(&ent_a, "repair", foreign).await.expect(404, "not_found");

    app.try_file(&office, "repair", repairable).await.expect(403, "forbidden");
    let sthj = app.login("sthj").await;
    app.try_file(&sthj, "objection", repairable).await.expect(403, "forbidden");

    let too_early = app.record_id(demo::TOO_EARLY).await;
    expect_field(app.try_file(&ent_a, "complaint", too_early).await, "kind", "invalid_value");

    let list = app.get("/api/v1/cases", &office).await.ok();
    assert_eq!(list["total"], 1, "{list}");
}

// -------------------------------------------------------- revocation ----

/// A repair revoked after the record's window ran out does not publish it
/// again, nor bring back its list or sanctions; the event says why.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn revocation_past_the_window_restores_nothing_and_says_why() {
    let app = spawn().await;
    let r = app.accepted_repair("ent_c", demo::LIST_ENTRY).await;
    app.act(&r.officer, r.id, "approve", json!({})).await.ok();
    let ends: chrono::NaiveDate =
        app.record(&r.office, r.record_id).await["publication_ends"].as_str().unwrap().parse().unwrap();
    app.clock.set_local(ends.succ_opt().unwrap(), 10, 0);
    let office = app.login("office").await;
    let case = app.act(&office, r.id, "revoke", json!({"comment": "履约证明系伪造"})).await.ok();
    assert_eq!(case["state"], "revoked", "{case}");
    let rec = app.record(&office, r.record_id).await;
    assert_eq!(rec["publication_status"], "ended", "{rec}");
    assert_eq!(statuses(&rec["sanctions"]), ["ended", "ended"], "{rec}");
    assert_eq!(statuses(&rec["lists"]), ["ended"], "{rec}");
    assert!(rec["repair_barred_until"].is_string(), "the bar still applies: {rec}");
    assert!(find_by_id(&app.public_items(demo::ENT_C).await, r.record_id).is_none());
    let revoke = case["history"].as_array().unwrap().iter().find(|e| e["action"] == "revoke").unwrap().clone();
    let skipped = revoke["inputs"]["not_restored"].as_array().unwrap_or_else(|| panic!("{revoke}"));
    let what: Vec<&str> = skipped.iter().map(|x| x["what"].as_str().unwrap()).collect();
    assert_eq!(what, ["publication", "list_memberships", "sanctions"], "{revoke}");
    assert!(skipped[0]["reason"].as_str().unwrap().contains(&ends.to_string()), "{revoke}");
    app.assert_records_consistent_but_lag("after a late revocation").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn revocation_restores_everything_and_bars_new_repair() {
    let app = spawn().await;
    let r = app.accepted_repair("ent_c", demo::LIST_ENTRY).await;
    app.act(&r.officer, r.id, "approve", json!({})).await.ok();
    let ended = app.record(&r.office, r.record_id).await;
    assert_eq!(ended["publication_status"], "ended");

    expect_field(app.act(&r.office, r.id, "revoke", json!({})).await, "comment", "comment_required");
    app.act(&r.officer, r.id, "revoke", json!({"comment": "x"})).await.expect(403, "forbidden");
    let case = app.act(&r.office, r.id, "revoke", json!({"comment": "履约证明系伪造"})).await.ok();
    assert_eq!(case["state"], "revoked", "{case}");
    assert_eq!(case["result"], "撤销修复", "{case}");

    let rec = app.record(&r.office, r.record_id).await;
    assert_eq!(rec["publication_status"], "published", "{rec}");
    assert!(rec["publication_end_reason"].is_null(), "{rec}");
    assert_eq!(statuses(&rec["sanctions"]), ["active", "active"], "{rec}");
    for s in rec["sanctions"].as_array().unwrap() {
        assert!(s["ended_at"].is_null() && s["ended_reason"].is_null(), "{s}");
    }
    assert_eq!(statuses(&rec["lists"]), ["active"], "{rec}");
    assert!(rec["repair_barred_until"].is_string(), "{rec}");
    // Barred for 3 years, longer than the window left: no repair before the end, and the category says so.
    assert_eq!(rec["display_category"], "公示期满前不可修复", "{rec}");
    let public = app.public_items(demo::ENT_C).await;
    let shown = find_by_id(&public, r.record_id).expect("published again");
    assert_eq!(shown["display_category"], "公示期满前不可修复", "{shown}");

    let body = app.try_file(&r.applicant, "repair", r.record_id).await.expect(422, "repair_barred");
    assert_eq!(body["details"]["barred_until"], rec["repair_barred_until"], "{body}");
    let rows = outbox_rows(&app, r.id).await;
    assert_eq!(rows.iter().filter(|x| x.kind == "sync").count(), 2, "approval and revocation synced: {rows:?}");
    assert!(rows.iter().any(|x| x.template == "case_revoked"), "{rows:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn revocation_restores_only_what_the_repair_ended() {
    let app = spawn().await;
    let o = accepted_objection(&app).await;
    let wrong = o.before["sanctions"][0]["id"].as_i64().unwrap();
    app.act(&o.sthj,
        o.id,
        "verify",
        json!({"outcome": "corrected", "comment": "惩戒依据有误", "correction": {"content": "更正后的内容"}, "sanction_ids": [wrong]}),
    )
    .await
    .ok();
    let r = app.accepted_repair("ent_c", demo::LIST_ENTRY).await;
    app.act(&r.officer, r.id, "approve", json!({})).await.ok();
    assert_eq!(statuses(&app.record(&r.office, r.record_id).await["sanctions"]), ["ended", "ended"]);
    app.act(&r.office, r.id, "revoke", json!({"comment": "材料造假"})).await.ok();
    let rec = app.record(&r.office, r.record_id).await;
    let wrong_now = rec["sanctions"].as_array().unwrap().iter().find(|s| s["id"] == wrong).unwrap();
    assert_eq!(wrong_now["status"], "ended", "ended by the objection, not restored: {rec}");
    assert_eq!(statuses(&rec["sanctions"]).iter().filter(|s| *s == "active").count(), 1, "{rec}");
    assert_eq!(rec["content"], "更正后的内容", "{rec}");
    assert_eq!(rec["publication_status"], "published", "{rec}");
    assert_eq!(statuses(&rec["lists"]), ["active"], "{rec}");
}

// -------------------------------------------------------------- scope ----

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cases_are_scoped_to_applicant_and_department() {
    let app = spawn().await;
    let ent_a = app.login("ent_a").await;
    let ent_b = app.login("ent_b").await;
    let ent_c = app.login("ent_c").await;
    let office = app.login("office").await;
    let sthj = app.login("sthj").await;
    let yjgl = app.login("yjgl").await;
    let scjg = app.login("scjg").await;

    let repair = id_of(&app.file(&ent_a, "repair", app.record_id(demo::REPAIRABLE).await).await);
    let obj_c = id_of(&app.file(&ent_c, "objection", app.record_id(demo::LIST_ENTRY).await).await);
    let obj_b = id_of(&app.file(&ent_b, "objection", app.record_id(demo::SAMR_LISTED).await).await);
    let obj_a = id_of(&app.file(&ent_a, "objection", app.record_id(demo::TOO_EARLY).await).await);

    // Another department and another applicant see nothing of the case.
    app.get(&format!("/api/v1/cases/{repair}"), &yjgl).await.expect(404, "not_found");
    app.act(&yjgl, repair, "approve", json!({})).await.expect(404, "not_found");
    app.get(&format!("/api/v1/cases/{repair}/deadlines"), &yjgl).await.expect(404, "not_found");
    app.get(&format!("/api/v1/cases/{repair}"), &ent_b).await.expect(404, "not_found");
    app.act(&ent_b, repair, "withdraw", json!({})).await.expect(404, "not_found");
    assert_eq!(app.upload_pdf(&ent_b, repair, "evidence").await.status.as_u16(), 404);
    assert_eq!(app.case(&ent_a, repair).await["id"], repair);

    let ids = |body: Value| -> Vec<i64> {
        let mut v: Vec<i64> = body["items"].as_array().unwrap().iter().map(|c| c["id"].as_i64().unwrap()).collect();
        v.sort();
        v
    };
    // The producing department sees a case only once it is routed (on acceptance).
    app.get(&format!("/api/v1/cases/{repair}"), &sthj).await.expect(404, "not_found");
    assert!(ids(app.get("/api/v1/cases", &sthj).await.ok()).is_empty());
    for kind in ["fulfilment_proof", "commitment_letter"] {
        assert_eq!(app.upload_pdf(&ent_a, repair, kind).await.status.as_u16(), 201);
    }
    for id in [repair, obj_c, obj_b, obj_a] {
        app.act(&office, id, "accept", json!({})).await.ok();
    }
    assert_eq!(app.case(&sthj, repair).await["id"], repair);
    // Officers add evidence; the applicant's own materials only come from the applicant.
    let res = app.upload_pdf(&sthj, repair, "fulfilment_proof").await;
    assert_eq!(res.status.as_u16(), 422, "{}", res.body);
    assert_eq!(res.body["fields"][0]["code"], "applicant_material", "{}", res.body);
    assert_eq!(app.upload_pdf(&sthj, repair, "evidence").await.status.as_u16(), 201);
    let mut all = vec![repair, obj_c, obj_b, obj_a];
    all.sort();
    assert_eq!(ids(app.get("/api/v1/cases", &office).await.ok()), all);
    let mut sthj_cases = vec![repair, obj_c];
    sthj_cases.sort();
    assert_eq!(ids(app.get("/api/v1/cases", &sthj).await.ok()), sthj_cases);
    assert_eq!(ids(app.get("/api/v1/cases", &yjgl).await.ok()), vec![obj_a]);
    assert_eq!(ids(app.get("/api/v1/cases", &scjg).await.ok()), vec![obj_b]);
    let mut a_cases = vec![repair, obj_a];
    a_cases.sort();
    assert_eq!(ids(app.get("/api/v1/cases", &ent_a).await.ok()), a_cases);
    assert_eq!(ids(app.get("/api/v1/cases", &ent_b).await.ok()), vec![obj_b]);

    // Filters.
    assert!(ids(app.get("/api/v1/cases?kind=repair&state=completed", &office).await.ok()).is_empty());
    app.act(&sthj, repair, "approve", json!({})).await.ok();
    assert_eq!(ids(app.get("/api/v1/cases?kind=repair&state=completed", &office).await.ok()), vec![repair]);
    assert_eq!(ids(app.get("/api/v1/cases?kind=repair&state=completed", &sthj).await.ok()), vec![repair]);
    assert!(ids(app.get("/api/v1/cases?kind=repair&state=completed", &yjgl).await.ok()).is_empty());
    let mut objections = vec![obj_c, obj_b, obj_a];
    objections.sort();
    assert_eq!(ids(app.get("/api/v1/cases?kind=objection", &office).await.ok()), objections);
    assert!(ids(app.get("/api/v1/cases?kind=objection&state=completed", &office).await.ok()).is_empty());
    let listed = app.get("/api/v1/cases?kind=repair", &office).await.ok();
    assert_eq!(listed["total"], 1, "{listed}");
    assert_eq!(listed["items"][0]["state"], "completed", "{listed}");
    expect_field(app.get("/api/v1/cases?kind=complaint", &office).await, "kind", "invalid_value");
}

// ------------------------------------------------------------ actions ----

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn available_actions_follow_role_and_state_and_extension_is_once() {
    let app = spawn().await;
    let record_id = app.record_id(demo::LIST_ENTRY).await;
    let ent_c = app.login("ent_c").await;
    let office = app.login("office").await;
    let sthj = app.login("sthj").await;
    let id = id_of(&app.file(&ent_c, "objection", record_id).await);

    assert_eq!(action_names(&app.case(&ent_c, id).await), ["withdraw"]);
    assert_eq!(
        action_names(&app.case(&office, id).await),
        sorted(&["accept", "accept_for_check", "reject", "request_supplement"])
    );
    // Not routed yet: the department does not see the case at all.
    app.get(&format!("/api/v1/cases/{id}"), &sthj).await.expect(404, "not_found");

    app.act(&office, id, "accept", json!({})).await.ok();
    let seen = app.case(&sthj, id).await;
    assert_eq!(action_names(&seen), sorted(&["verify", "hand_back", "request_extension"]), "{seen}");
    let verify = seen["actions"].as_array().unwrap().iter().find(|a| a["name"] == "verify").unwrap();
    assert_eq!(verify["requires_outcome"], true);
    let mut outcomes: Vec<&str> = verify["outcomes"].as_array().unwrap().iter().map(|o| o.as_str().unwrap()).collect();
    outcomes.sort();
    assert_eq!(outcomes, ["corrected", "deleted", "maintained", "removed_from_list", "supplemented"]);
    assert_eq!(action_names(&app.case(&ent_c, id).await), ["withdraw"]);
    assert_eq!(action_names(&app.case(&office, id).await), sorted(&["reroute", "urge"]));
    assert_eq!(seen["extension_used"], false);

    // Art. 39: the department asks with a reason; the credit office approves.
    expect_field(app.act(&sthj, id, "request_extension", json!({})).await, "comment", "comment_required");
    let before_due = seen["due_at"].as_str().unwrap().to_string();
    let case = app.act(&sthj, id, "request_extension", json!({"comment": "需现场核查，申请延期"})).await.ok();
    assert_eq!(case["extension_pending"], true, "{case}");
    assert_eq!(case["extension_used"], false, "{case}");
    assert_eq!(case["due_at"].as_str(), Some(before_due.as_str()), "nothing moves before approval: {case}");
    assert_eq!(action_names(&case), sorted(&["verify", "hand_back"]), "no second request while one is pending");
    app.act(&sthj, id, "request_extension", json!({"comment": "再次申请"}))
        .await
        .expect(409, "extension_request_pending");
    // The department cannot approve its own request.
    app.act(&sthj, id, "approve_extension", json!({})).await.expect(403, "forbidden");
    let office_view = app.case(&office, id).await;
    assert_eq!(action_names(&office_view), sorted(&["approve_extension", "refuse_extension", "reroute", "urge"]));
    let case = app.act(&office, id, "approve_extension", json!({})).await.ok();
    assert_eq!(case["state"], "with_department", "{case}");
    assert_eq!(case["extension_used"], true, "{case}");
    assert_eq!(case["extension_pending"], false, "{case}");
    assert_eq!(case["extension_reason"], "需现场核查，申请延期", "{case}");
    assert!(case["due_at"].as_str().unwrap() > before_due.as_str(), "due moved later: {before_due} -> {case}");
    let case = app.case(&sthj, id).await;
    assert_eq!(action_names(&case), sorted(&["verify", "hand_back"]), "extension offered no more: {case}");
    app.act(&sthj, id, "request_extension", json!({"comment": "再次延期"})).await.expect(409, "extension_used");
    let step = app.get(&format!("/api/v1/cases/{id}/deadlines"), &sthj).await.ok();
    let step = step.as_array().unwrap().iter().rev().find(|d| d["kind"] == "step").unwrap().clone();
    assert_eq!(step["extended_working_days"], 3, "{step}");
    // The extension records the department's reason and the credit office's approver.
    let ext = step["explanation"].as_array().unwrap().iter().find(|h| h["event"] == "extended").cloned();
    let ext = ext.unwrap_or_else(|| panic!("{step}"));
    assert_eq!(ext["reason"], "需现场核查，申请延期", "{ext}");
    let office_user = app.get("/api/v1/me", &office).await.ok();
    assert_eq!(ext["approved_by"], office_user["id"], "{ext}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_extension_moves_nothing_and_may_be_asked_again() {
    let app = spawn().await;
    let r = app.accepted_repair("ent_a", demo::REPAIRABLE).await;
    let before = app.case(&r.officer, r.id).await;
    app.act(&r.officer, r.id, "request_extension", json!({"comment": "需调取缴款凭证"})).await.ok();
    expect_field(app.act(&r.office, r.id, "refuse_extension", json!({})).await, "comment", "comment_required");
    let case = app.act(&r.office, r.id, "refuse_extension", json!({"comment": "材料已齐全，请按期办结"})).await.ok();
    assert_eq!(case["extension_pending"], false, "{case}");
    assert_eq!(case["extension_used"], false, "{case}");
    assert_eq!(case["due_at"], before["due_at"], "{case}");
    assert_eq!(case["total_due_at"], before["total_due_at"], "{case}");
    // Nothing to approve now.
    app.act(&r.office, r.id, "approve_extension", json!({})).await.expect(409, "no_extension_request");
    // The department was told (its own mail), and may ask again.
    let case = app.act(&r.officer, r.id, "request_extension", json!({"comment": "确需现场核实"})).await.ok();
    assert_eq!(case["extension_pending"], true, "{case}");
    app.assert_records_consistent("after a refused extension").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_actions_answer_stable_codes() {
    let app = spawn().await;
    let r = app.accepted_repair("ent_a", demo::REPAIRABLE).await;

    // Wrong role for an action available in the state.
    app.act(&r.applicant, r.id, "approve", json!({})).await.expect(403, "forbidden");
    app.act(&r.office, r.id, "approve", json!({})).await.expect(403, "forbidden");
    // Not available in the state.
    app.act(&r.office, r.id, "accept", json!({})).await.expect(409, "action_not_allowed");
    // Not an action of this workflow at all.
    app.act(&r.office, r.id, "teleport", json!({})).await.expect(404, "not_found");
    // An outcome the action does not take.
    expect_field(
        app.act(&r.officer, r.id, "approve", json!({"outcome": "deleted"})).await,
        "outcome",
        "invalid_outcome",
    );

    let record_c = app.record_id(demo::LIST_ENTRY).await;
    let ent_c = app.login("ent_c").await;
    let obj = id_of(&app.file(&ent_c, "objection", record_c).await);
    app.act(&r.office, obj, "accept", json!({})).await.ok();
    app.act(&r.officer, obj, "approve", json!({})).await.expect(404, "not_found");
    expect_field(app.act(&r.officer, obj, "verify", json!({"comment": "x"})).await, "outcome", "outcome_required");
    expect_field(
        app.act(&r.officer, obj, "verify", json!({"comment": "x", "outcome": "approved"})).await,
        "outcome",
        "invalid_outcome",
    );

    // Optimistic concurrency: a stale version changes nothing.
    let current = app.case(&r.officer, r.id).await;
    let version = current["version"].as_i64().unwrap();
    app.act(&r.officer, r.id, "deny", json!({"comment": "不符合条件", "version": version - 1}))
        .await
        .expect(409, "stale_version");
    let unchanged = app.case(&r.officer, r.id).await;
    assert_eq!(unchanged["state"], "with_department");
    assert_eq!(unchanged["version"], version);
    let case = app.act(&r.officer, r.id, "approve", json!({"version": version})).await.ok();
    assert_eq!(case["state"], "completed", "{case}");
    assert_eq!(case["version"], version + 1, "{case}");
    app.act(&r.officer, r.id, "approve", json!({"version": version})).await.expect(409, "stale_version");
}
