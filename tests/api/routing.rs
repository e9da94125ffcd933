//! Who holds a case: the credit office's own branch (Shandong Art. 39's
//! 3 working days), forwarding, a department handing a case back, the credit
//! office re-routing it; and what an objection must say (grounds, evidence,
//! the repair decision it contests).

use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
use serde_json::{Value, json};

use crate::helpers::*;
use entity::{deadline, outbox};

async fn mails_to(app: &TestApp, case_id: i64, template: &str) -> Vec<String> {
    let rows = outbox::Entity::find()
        .filter(outbox::Column::CaseId.eq(case_id))
        .filter(outbox::Column::Template.eq(template))
        .order_by_asc(outbox::Column::Id)
        .all(&app.state.db)
        .await
        .unwrap();
    rows.iter().flat_map(|r| serde_json::from_str::<Vec<String>>(&r.recipients).unwrap_or_default()).collect()
}

fn event<'a>(case: &'a Value, action: &str) -> &'a Value {
    case["history"]
        .as_array()
        .unwrap()
        .iter()
        .rev()
        .find(|e| e["action"] == action)
        .unwrap_or_else(|| panic!("no {action} event: {case}"))
}

/// Step deadline rows of a case, oldest first: (state, started_on, status).
async fn steps(app: &TestApp, case_id: i64) -> Vec<(String, String, String)> {
    deadline::Entity::find()
        .filter(deadline::Column::CaseId.eq(case_id))
        .filter(deadline::Column::Kind.eq(entity::types::DeadlineKind::Step))
        .order_by_asc(deadline::Column::Id)
        .all(&app.state.db)
        .await
        .unwrap()
        .into_iter()
        .map(|d| (d.state, d.started_on.to_string(), d.status.to_string()))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_credit_office_corrects_the_platforms_copy_itself_within_three_working_days() {
    let app = spawn().await;
    // Thu 2026-09-24: 09-25..27 are 中秋, so 3 working days end on Wed 09-30.
    app.clock.set_local(d("2026-09-24"), 10, 0);
    let ent_c = app.login("ent_c").await;
    let office = app.login("office").await;
    let sthj = app.login("sthj").await;
    let record = app.record_id(demo::LIST_ENTRY).await;
    let id = id_of(&app.file(&ent_c, "objection", record).await);

    let case = app.act(&office, id, "accept_for_check", json!({"comment": "核对平台数据"})).await.ok();
    assert_eq!(case["state"], "platform_check", "{case}");
    assert_eq!(case["routed"], false, "{case}");
    assert_eq!(app.record(&office, record).await["objection_open"], true, "marked at once");
    // The department has not been involved.
    app.get(&format!("/api/v1/cases/{id}"), &sthj).await.expect(404, "not_found");
    let step = deadline_step(&app, &office, id).await;
    assert_eq!(step["state"], "platform_check");
    // Accepted on the day of receipt: its 2 working days end before the
    // own-scope limit (3 working days after receipt: 09-30).
    assert_eq!(step["due_on"], "2026-09-29", "{step}");
    // The acceptance mail says the credit office is checking, not that it was forwarded.
    let accepted = outbox::Entity::find()
        .filter(outbox::Column::CaseId.eq(id))
        .filter(outbox::Column::Template.eq("case_accepted"))
        .one(&app.state.db)
        .await
        .unwrap()
        .unwrap();
    assert!(accepted.body_text.contains("区信用办正在核查平台数据"), "{}", accepted.body_text);
    assert!(!accepted.body_text.contains("并已转"), "{}", accepted.body_text);

    // The platform's copy had the wrong document number: corrected here and closed.
    app.clock.set_local(d("2026-09-29"), 15, 0);
    let office = app.login("office").await;
    let body = json!({"outcome": "corrected", "comment": "平台归集时文号录入错误，已按来源数据更正",
                      "correction": {"document_no": "济高环罚〔2025〕41号"}});
    let e = app.act(&office, id, "correct_platform", json!({"outcome": "deleted", "comment": "删"})).await;
    let e = e.expect(422, "validation_failed");
    assert_eq!(e["fields"][0]["code"], "invalid_outcome", "{e}");
    let case = app.act(&office, id, "correct_platform", body).await.ok();
    assert_eq!(case["state"], "closed_resolved", "{case}");
    assert_eq!(case["outcome"], "corrected", "{case}");
    assert_eq!(case["routed"], false, "never routed: {case}");
    let rec = app.record(&office, record).await;
    assert_eq!(rec["document_no"], "济高环罚〔2025〕41号", "{rec}");
    assert_eq!(rec["objection_open"], false, "{rec}");
    assert_eq!(rec["publication_status"], "published", "a corrected copy stays published: {rec}");
    let ev = event(&case, "correct_platform");
    assert_eq!(ev["inputs"]["record_before"]["document_no"], demo::LIST_ENTRY, "{ev}");
    // The department never saw it; the applicant was told.
    let sthj = app.login("sthj").await;
    app.get(&format!("/api/v1/cases/{id}"), &sthj).await.expect(404, "not_found");
    assert_eq!(mails_to(&app, id, "case_decided").await, ["ent_c@demo.local"], "only the applicant");
    app.assert_records_consistent("after the credit office's own correction").await;

    // Reported as the credit office's own closure within 3 working days.
    let o = app.get("/api/v1/reports/overview?from=2026-09-01&to=2026-12-31", &office).await.ok();
    let t = &o["objections"];
    assert_eq!(t["closed"], 1, "{o}");
    assert_eq!(t["closed_by_credit_office"], 1, "{o}");
    assert_eq!(t["closed_by_credit_office_within_3_days"], 1, "{o}");
    assert_eq!(t["closed_by_department"], 0, "{o}");
}

/// The current step deadline row of a case.
async fn deadline_step(app: &TestApp, token: &str, id: i64) -> Value {
    let rows = app.get(&format!("/api/v1/cases/{id}/deadlines"), token).await.ok();
    rows.as_array().unwrap().iter().rev().find(|r| r["kind"] == "step").cloned().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_late_own_correction_counts_as_late_and_a_forwarded_case_reaches_the_department() {
    let app = spawn().await;
    app.clock.set_local(d("2026-09-24"), 10, 0);
    let ent_c = app.login("ent_c").await;
    let ent_a = app.login("ent_a").await;
    let office = app.login("office").await;
    let late = id_of(&app.file(&ent_c, "objection", app.record_id(demo::LIST_ENTRY).await).await);
    let forwarded = id_of(&app.file(&ent_a, "objection", app.record_id(demo::TOO_EARLY).await).await);
    app.act(&office, late, "accept_for_check", json!({})).await.ok();
    app.act(&office, forwarded, "accept_for_check", json!({})).await.ok();

    // The copy matches the source: forwarded to the producing department.
    let case = app.act(&office, forwarded, "forward", json!({"comment": "平台数据与来源一致"})).await.ok();
    assert_eq!(case["state"], "with_department", "{case}");
    assert_eq!(case["routed"], true, "{case}");
    let yjgl = app.login("yjgl").await;
    assert_eq!(app.case(&yjgl, forwarded).await["department_name"], "区应急管理局");
    let to = mails_to(&app, forwarded, "case_routed").await;
    assert!(to.contains(&"yjgl@demo.local".to_string()) && !to.iter().any(|a| a.starts_with("office")), "{to:?}");
    app.act(&yjgl, forwarded, "verify", json!({"outcome": "maintained", "comment": "信息无误"})).await.ok();

    // Thu 10-01 is past 09-30: corrected by the credit office, but late.
    app.clock.set_local(d("2026-10-09"), 10, 0);
    let office = app.login("office").await;
    let body = json!({"outcome": "corrected", "comment": "更正", "correction": {"title": "更正后的名称"}});
    app.act(&office, late, "correct_platform", body).await.ok();
    let o = app.get("/api/v1/reports/overview?from=2026-09-01&to=2026-12-31", &office).await.ok();
    let t = &o["objections"];
    assert_eq!(t["closed"], 2, "{o}");
    assert_eq!(t["closed_by_credit_office"], 1, "{o}");
    assert_eq!(t["closed_by_credit_office_within_3_days"], 0, "{o}");
    assert_eq!(t["closed_by_department"], 1, "{o}");
    assert_eq!(t["closed_by_department_within_deadline"], 1, "{o}");
    // Both within the 7-working-day total (10-12).
    assert_eq!(t["within_deadline"], 2, "{o}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_department_hands_a_case_back_and_the_credit_office_reroutes_it() {
    let app = spawn().await;
    let r = app.accepted_repair("ent_a", demo::REPAIRABLE).await;
    let admin = app.login("admin").await;
    let yjgl_dept = app.department_id(&admin, "区应急管理局").await;
    let office_dept = app.department_id(&admin, "区社会信用体系建设办公室（区信用办）").await;
    let sthj_dept = app.department_id(&admin, "区生态环境分局").await;

    // Handing back needs a reason; the department may not re-route.
    app.act(&r.officer, r.id, "hand_back", json!({})).await.expect(422, "validation_failed");
    app.act(&r.officer, r.id, "reroute", json!({"comment": "x", "department_id": yjgl_dept}))
        .await
        .expect(403, "forbidden");
    let case =
        app.act(&r.officer, r.id, "hand_back", json!({"comment": "该处罚系应急管理局作出，非本单位信息"})).await.ok();
    assert_eq!(case["state"], "handed_back", "{case}");
    assert_eq!(case["routed"], false, "{case}");
    // Out of the department's scope at once.
    app.get(&format!("/api/v1/cases/{}", r.id), &r.officer).await.expect(404, "not_found");
    let to = mails_to(&app, r.id, "case_handed_back").await;
    assert!(to.contains(&"office@demo.local".to_string()) && !to.iter().any(|a| a.starts_with("sthj")), "{to:?}");
    let seen = app.case(&r.office, r.id).await;
    assert_eq!(action_names(&seen), ["reroute"], "{seen}");
    let reroute = seen["actions"].as_array().unwrap().iter().find(|a| a["name"] == "reroute").unwrap().clone();
    assert_eq!(reroute["requires_department"], true, "{reroute}");

    // Re-routing names a producing department.
    let e = app.act(&r.office, r.id, "reroute", json!({"comment": "改派"})).await.expect(422, "validation_failed");
    assert_eq!(e["fields"][0]["field"], "department_id", "{e}");
    let e = app
        .act(&r.office, r.id, "reroute", json!({"comment": "改派", "department_id": office_dept}))
        .await
        .expect(422, "validation_failed");
    assert_eq!(e["fields"][0]["code"], "unknown_department", "{e}");
    app.act(&r.office, r.id, "reroute", json!({"comment": "改派", "department_id": 999_999}))
        .await
        .expect(422, "validation_failed");
    // Other actions do not take a department.
    let e = app.act(&r.office, r.id, "urge", json!({"department_id": yjgl_dept})).await;
    assert!(e.status.is_client_error(), "{}", e.body);

    let case = app
        .act(&r.office, r.id, "reroute", json!({"comment": "经核实系应急管理局信息，改派", "department_id": yjgl_dept}))
        .await
        .ok();
    assert_eq!(case["state"], "with_department", "{case}");
    assert_eq!(case["department_id"], yjgl_dept, "{case}");
    let ev = event(&case, "reroute");
    assert_eq!(ev["inputs"]["department_id"], yjgl_dept, "{ev}");
    assert_eq!(ev["inputs"]["previous_department_id"], sthj_dept, "{ev}");
    let yjgl = app.login("yjgl").await;
    assert_eq!(app.case(&yjgl, r.id).await["state"], "with_department");
    let to = mails_to(&app, r.id, "case_routed").await;
    assert!(to.contains(&"yjgl@demo.local".to_string()) && !to.iter().any(|a| a.starts_with("sthj")), "{to:?}");
    app.get(&format!("/api/v1/cases/{}", r.id), &r.officer).await.expect(404, "not_found");
    // Every hand-over started a step of its own.
    let rows = steps(&app, r.id).await;
    let states: Vec<&str> = rows.iter().map(|s| s.0.as_str()).collect();
    assert_eq!(states, ["submitted", "with_department", "handed_back", "with_department"], "{rows:?}");
    assert!(rows[..3].iter().all(|s| s.2 == "met"), "{rows:?}");
    assert_eq!(rows[3].2, "running", "{rows:?}");

    // The credit office may re-route straight from a department too, restarting the step.
    app.clock.advance_days(1);
    let office = app.login("office").await;
    let before = app.case(&office, r.id).await["due_at"].clone();
    let e = app
        .act(&office, r.id, "reroute", json!({"comment": "同一部门", "department_id": yjgl_dept}))
        .await
        .expect(422, "validation_failed");
    assert_eq!(e["fields"][0]["code"], "same_department", "{e}");
    let case = app
        .act(&office, r.id, "reroute", json!({"comment": "改回生态环境分局", "department_id": sthj_dept}))
        .await
        .ok();
    assert_eq!(case["department_id"], sthj_dept, "{case}");
    assert_ne!(case["due_at"], before, "a fresh step deadline: {case}");
    assert_eq!(steps(&app, r.id).await.len(), 5);
    let sthj = app.login("sthj").await;
    let done = app.act(&sthj, r.id, "approve", json!({"comment": "同意修复"})).await.ok();
    assert_eq!(done["state"], "completed", "{done}");
    app.assert_records_consistent("after hand-back and re-routing").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_objection_needs_grounds_and_evidence() {
    let app = spawn().await;
    let ent_c = app.login("ent_c").await;
    let office = app.login("office").await;
    let record = app.record_id(demo::LIST_ENTRY).await;
    let base = json!({"kind": "objection", "record_id": record, "reason": "信息有误"});
    let e = app.post("/api/v1/cases", &ent_c, base.clone()).await.expect(422, "validation_failed");
    assert_eq!(
        (e["fields"][0]["field"].as_str(), e["fields"][0]["code"].as_str()),
        (Some("grounds"), Some("required"))
    );
    let mut bad = base.clone();
    bad["grounds"] = json!("dislike");
    let e = app.post("/api/v1/cases", &ent_c, bad).await.expect(422, "validation_failed");
    assert_eq!(e["fields"][0]["code"], "invalid_value", "{e}");
    // A repair takes no grounds.
    let mut repair = json!({"kind": "repair", "record_id": record, "reason": "已履行", "grounds": "other"});
    app.post("/api/v1/cases", &ent_c, repair.clone()).await.expect(422, "validation_failed");
    repair.as_object_mut().unwrap().remove("grounds");
    // Nothing was filed by the refusals.
    assert_eq!(app.get("/api/v1/cases", &office).await.ok()["total"], 0);

    let mut good = base;
    good["grounds"] = json!("wrong_identity");
    let res = app.post("/api/v1/cases", &ent_c, good).await;
    assert_eq!(res.status.as_u16(), 201, "{}", res.body);
    let id = id_of(&res.body);
    assert_eq!(res.body["grounds"], "wrong_identity");
    assert_eq!(res.body["grounds_title"], "主体身份信息有误");
    assert_eq!(res.body["missing_materials"], json!(["evidence"]), "{}", res.body);
    // No evidence, no acceptance (nor the credit office's own check).
    let e = app.act(&office, id, "accept", json!({})).await.expect(409, "materials_missing");
    assert!(e["message"].as_str().unwrap().contains("证明材料"), "{e}");
    app.act(&office, id, "accept_for_check", json!({})).await.expect(409, "materials_missing");
    assert_eq!(app.upload_pdf(&ent_c, id, "evidence").await.status.as_u16(), 201);
    let case = app.act(&office, id, "accept", json!({})).await.ok();
    assert_eq!(case["state"], "with_department", "{case}");
    let submit = event(&case, "submit");
    assert_eq!(submit["inputs"]["grounds"], "wrong_identity", "{submit}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_objection_may_contest_a_denied_repair() {
    let app = spawn().await;
    let r = app.accepted_repair("ent_a", demo::REPAIRABLE).await;
    let denied = app.act(&r.officer, r.id, "deny", json!({"comment": "罚款尚未缴清"})).await.ok();
    assert_eq!(denied["state"], "denied", "{denied}");
    // The decision mail tells the applicant the remedies.
    let text = outbox::Entity::find()
        .filter(outbox::Column::CaseId.eq(r.id))
        .filter(outbox::Column::Template.eq("case_decided"))
        .one(&app.state.db)
        .await
        .unwrap()
        .unwrap()
        .body_text;
    assert!(text.contains("异议"), "{text}");

    let body = |grounds: &str, against: Option<i64>| {
        let mut b = json!({"kind": "objection", "record_id": r.record_id, "reason": "罚款已于决定前缴清，附缴款凭证", "grounds": grounds});
        if let Some(id) = against {
            b["objects_to_case_id"] = json!(id);
        }
        b
    };
    // The grounds and the case go together.
    let e =
        app.post("/api/v1/cases", &r.applicant, body("repair_decision", None)).await.expect(422, "validation_failed");
    assert_eq!(e["fields"][0]["field"], "objects_to_case_id", "{e}");
    let e = app
        .post("/api/v1/cases", &r.applicant, body("wrong_content", Some(r.id)))
        .await
        .expect(422, "validation_failed");
    assert_eq!(e["fields"][0]["code"], "not_applicable", "{e}");
    // Another subject cannot name it (it does not exist for them).
    let ent_b = app.login("ent_b").await;
    let other = app.record_id(demo::SAMR_LISTED).await;
    let mut foreign = body("repair_decision", Some(r.id));
    foreign["record_id"] = json!(other);
    let e = app.post("/api/v1/cases", &ent_b, foreign).await.expect(422, "validation_failed");
    assert_eq!(e["fields"][0]["code"], "not_found", "{e}");

    let res = app.post("/api/v1/cases", &r.applicant, body("repair_decision", Some(r.id))).await;
    assert_eq!(res.status.as_u16(), 201, "{}", res.body);
    assert_eq!(res.body["objects_to_case_id"], r.id);
    assert_eq!(res.body["objects_to_case_no"], denied["case_no"]);
    assert_eq!(res.body["grounds_title"], "对信用修复决定有异议");
    // The office sees what is contested.
    let seen = app.case(&r.office, id_of(&res.body)).await;
    assert_eq!(seen["objects_to_case_no"], denied["case_no"], "{seen}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_completed_repair_is_not_contested_by_objection() {
    let app = spawn().await;
    let r = app.accepted_repair("ent_a", demo::REPAIRABLE).await;
    app.act(&r.officer, r.id, "approve", json!({"comment": "同意"})).await.ok();
    let body = json!({"kind": "objection", "record_id": r.record_id, "reason": "对修复决定有异议",
                      "grounds": "repair_decision", "objects_to_case_id": r.id});
    let e = app.post("/api/v1/cases", &r.applicant, body).await.expect(422, "validation_failed");
    assert_eq!(e["fields"][0]["code"], "not_contestable", "{e}");
}
