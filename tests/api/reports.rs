//! The credit office's monitoring overview.

use serde_json::json;

use crate::helpers::*;

async fn file_objection(app: &TestApp, user: &str, doc: &str) -> i64 {
    let token = app.login(user).await;
    id_of(&app.file(&token, "objection", app.record_id(doc).await).await)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn overview_counts_open_overdue_and_timely_cases() {
    let app = spawn().await;
    let office = app.login("office").await;
    let empty = app.get("/api/v1/reports/overview", &office).await.ok();
    assert_eq!(empty["departments"], json!([]), "{empty}");
    assert_eq!(empty["objections"]["closed"], 0);
    assert!(empty["objections"]["share_within_deadline"].is_null());

    // Filed on Thu 2026-09-24 (total deadline 7 WD: 2026-10-12).
    app.clock.set_local(d("2026-09-24"), 10, 0);
    let a = file_objection(&app, "ent_c", demo::LIST_ENTRY).await;
    let b = file_objection(&app, "ent_a", demo::TOO_EARLY).await;
    let c = file_objection(&app, "ent_b", demo::NOT_PUBLISHED).await;
    let sthj = app.login("sthj").await;
    app.act(&office, a, "accept", json!({})).await.ok();
    app.act(&sthj, a, "verify", json!({"outcome": "maintained", "comment": "信息无误"})).await.ok();
    app.act(&office, b, "accept", json!({})).await.ok();

    // B's department deadline (4 WD after 09-24: 2026-10-08) runs out.
    app.clock.set_local(d("2026-10-09"), 10, 0);
    let mailer = credit_repair::mailer::Mailer::from_settings(&app.state.settings).unwrap();
    let report = credit_repair::jobs::tick(&app.state, &mailer, "test").await.unwrap();
    assert!(report.overdue >= 1, "{report:?}");
    // C is refused after its total deadline.
    app.clock.set_local(d("2026-10-20"), 10, 0);
    let office = app.login("office").await;
    let sthj = app.login("sthj").await;
    app.act(&office, c, "reject", json!({"comment": "不属于本人信息"})).await.ok();

    // D is filed and waits for the formal check: the credit office holds it, not the producing department.
    file_objection(&app, "ent_b", demo::NOT_PUBLISHED).await;
    let office = app.login("office").await;

    let o = app.get("/api/v1/reports/overview?from=2026-09-01&to=2026-12-31", &office).await.ok();
    // Decided cases only: A, within its deadline. C (not accepted) is reported apart.
    assert_eq!(o["objections"]["closed"], 1, "{o}");
    assert_eq!(o["objections"]["within_deadline"], 1, "{o}");
    assert_eq!(o["objections"]["share_within_deadline"], 1.0, "{o}");
    assert_eq!(o["objections"]["not_accepted"], 1, "{o}");
    assert_eq!(o["objections"]["withdrawn"], 0, "{o}");
    assert_eq!(o["repairs"]["closed"], 0, "{o}");
    let depts = o["departments"].as_array().unwrap();
    assert_eq!(depts.len(), 2, "B with its department, D with the credit office: {o}");
    let row = |name: &str| depts.iter().find(|x| x["department_name"] == name).unwrap_or_else(|| panic!("{name}: {o}"));
    let yjgl = row("区应急管理局");
    assert_eq!(yjgl["open_objections"], 1);
    assert_eq!(yjgl["overdue"], 1);
    let b_view = app.get(&format!("/api/v1/cases/{b}"), &office).await.ok();
    assert_eq!(yjgl["oldest_overdue_due_at"], b_view["due_at"], "{o}");
    let xyb = row("区社会信用体系建设办公室（区信用办）");
    assert_eq!((xyb["open_objections"].as_u64(), xyb["overdue"].as_u64()), (Some(1), Some(0)), "{o}");
    assert!(depts.iter().all(|x| x["department_name"] != "区市场监督管理局"), "D is not routed yet: {o}");
    // The dashboard counts the same way, in one pass.
    let dash = app.get("/api/v1/reports/dashboard?from=2026-09-01&to=2026-12-31", &office).await.ok();
    assert_eq!((dash["open"].as_u64(), dash["overdue"].as_u64()), (Some(2), Some(1)), "{dash}");
    let rows = dash["rows"].as_array().unwrap();
    let by =
        |name: &str| rows.iter().find(|x| x["department_name"] == name).unwrap_or_else(|| panic!("{name}: {dash}"));
    assert_eq!(
        (by("区应急管理局")["open_objections"].as_u64(), by("区应急管理局")["overdue"].as_u64()),
        (Some(1), Some(1))
    );
    assert_eq!(by("区社会信用体系建设办公室（区信用办）")["open_objections"], 1, "{dash}");
    assert_eq!(dash["objections"]["not_accepted"], 1, "{dash}");

    // A period without closings; a reversed period; who may ask.
    let none = app.get("/api/v1/reports/overview?from=2025-01-01&to=2025-12-31", &office).await.ok();
    assert_eq!(none["objections"]["closed"], 0, "{none}");
    app.get("/api/v1/reports/overview?from=2026-12-31&to=2026-01-01", &office).await.expect(422, "validation_failed");
    app.get("/api/v1/reports/overview", &sthj).await.expect(403, "forbidden");
    let ent = app.login("ent_a").await;
    app.get("/api/v1/reports/overview", &ent).await.expect(403, "forbidden");
    let admin = app.login("admin").await;
    app.get("/api/v1/reports/overview", &admin).await.ok();
}

/// The dashboard's weekly series: a case counts in the week (Monday to
/// Sunday, local time) it was filed, and again in the week it closed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dashboard_counts_filings_and_closures_by_week() {
    let app = spawn().await;
    // Sunday 2026-10-04 23:30 local is the last moment of a week.
    app.clock.set_local(d("2026-10-04"), 23, 30);
    let a = file_objection(&app, "ent_c", demo::LIST_ENTRY).await;
    // Monday 2026-10-05 00:10 starts the next one.
    app.clock.set_local(d("2026-10-05"), 0, 10);
    let b = file_objection(&app, "ent_a", demo::TOO_EARLY).await;
    app.clock.set_local(d("2026-10-13"), 9, 0);
    let office = app.login("office").await;
    app.act(&office, a, "accept", json!({})).await.ok();
    app.act(&app.login("sthj").await, a, "verify", json!({"outcome": "maintained", "comment": "信息无误"})).await.ok();
    app.act(&office, b, "reject", json!({"comment": "不属于本人信息"})).await.ok();
    app.clock.set_local(d("2026-10-14"), 9, 0);
    let dash = app.get("/api/v1/reports/dashboard", &app.login("office").await).await.ok();
    let weeks = dash["weeks"].as_array().unwrap();
    assert_eq!(weeks.len(), 8);
    let by_start: Vec<(String, u64, u64)> = weeks
        .iter()
        .map(|w| {
            (w["start"].as_str().unwrap().to_string(), w["filed"].as_u64().unwrap(), w["closed"].as_u64().unwrap())
        })
        .collect();
    // This week starts Monday 2026-10-12.
    assert_eq!(by_start[7], ("2026-10-12".to_string(), 0, 2), "{by_start:?}");
    assert_eq!(by_start[6], ("2026-10-05".to_string(), 1, 0), "{by_start:?}");
    assert_eq!(by_start[5], ("2026-09-28".to_string(), 1, 0), "{by_start:?}");
    assert!(by_start[..5].iter().all(|w| w.1 == 0 && w.2 == 0), "{by_start:?}");
    assert_eq!(dash["open"], 0, "{dash}");
    // Not for applicants.
    app.get("/api/v1/reports/dashboard", &app.login("ent_a").await).await.expect(403, "forbidden");
}

/// Timeliness is judged against the legal total (10 working days for a
/// repair), not the total an approved extension moved.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_extended_repair_closed_after_its_legal_total_is_late() {
    let app = spawn().await;
    // Mon 2026-11-02: 10 working days end Mon 11-16; the extension moves it to Thu 11-19.
    app.clock.set_local(d("2026-11-02"), 10, 0);
    let r = app.accepted_repair("ent_a", demo::REPAIRABLE).await;
    app.act(&r.officer, r.id, "request_extension", json!({"comment": "需向税务部门核实缴款"})).await.ok();
    let case = app.act(&r.office, r.id, "approve_extension", json!({})).await.ok();
    assert_eq!(case["total_due_at"], "2026-11-19T16:00:00Z", "{case}");
    app.clock.set_local(d("2026-11-18"), 10, 0);
    let sthj = app.login("sthj").await;
    app.act(&sthj, r.id, "approve", json!({"comment": "同意修复"})).await.ok();
    let office = app.login("office").await;
    let o = app.get("/api/v1/reports/overview?from=2026-11-01&to=2026-11-30", &office).await.ok();
    assert_eq!(o["repairs"]["closed"], 1, "{o}");
    assert_eq!(o["repairs"]["within_deadline"], 0, "late against the legal 10 working days: {o}");
    assert_eq!(o["repairs"]["closed_by_department"], 1, "{o}");
    assert_eq!(o["repairs"]["closed_by_credit_office"], 0, "{o}");
}

/// A closing is judged once, when it happens, and counted for its day: a
/// revoked repair (it closes a second time) moves out of its approval day's
/// count into the revocation's, judged again; cases closed before closings
/// were judged are judged when the server starts, once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revoked_repair_moves_its_count_and_older_closings_are_judged_at_start() {
    use sea_orm::ConnectionTrait;
    let app = spawn().await;
    // Mon 2026-11-02: approved the same day, within the legal 10 working days.
    app.clock.set_local(d("2026-11-02"), 10, 0);
    let r = app.accepted_repair("ent_a", demo::REPAIRABLE).await;
    app.act(&r.officer, r.id, "approve", json!({})).await.ok();
    let office = app.login("office").await;
    let nov = "/api/v1/reports/overview?from=2026-11-01&to=2026-11-30";
    let o = app.get(nov, &office).await.ok();
    assert_eq!((o["repairs"]["closed"].as_u64(), o["repairs"]["within_deadline"].as_u64()), (Some(1), Some(1)), "{o}");

    // Revoked on Fri 11-20, past the legal total (11-16): one decided case,
    // now late, counted on the revocation's day only.
    app.clock.set_local(d("2026-11-20"), 10, 0);
    let office = app.login("office").await;
    app.act(&office, r.id, "revoke", json!({"comment": "履约证明系伪造"})).await.ok();
    let after = app.get(nov, &office).await.ok();
    assert_eq!(after["repairs"]["closed"], 1, "{after}");
    assert_eq!(after["repairs"]["within_deadline"], 0, "{after}");
    let early = app.get("/api/v1/reports/overview?from=2026-11-01&to=2026-11-10", &office).await.ok();
    assert_eq!(early["repairs"]["closed"], 0, "moved out of the approval day: {early}");
    // The statistics: decided 1, late, 14 working days from 11-02 to 11-20.
    let stats = "/api/v1/reports/statistics?format=xlsx&from=2026-11-01&to=2026-11-30";
    let rows = crate::exports::sheet(crate::exports::fetch(&app, &office, stats).await.2);
    let row = rows.iter().find(|r| r[0] == "区生态环境分局" && r[1] == "信用修复申请").expect("the department's row");
    assert_eq!((row[4].as_str(), row[5].as_str(), row[7].as_str(), row[8].as_str()), ("1", "0", "14", "14"), "{row:?}");

    // As if closed before closings were judged: nothing counted, until judged.
    for sql in [
        "UPDATE cases SET closure_class = NULL, closed_on = NULL, closed_within_legal = NULL, \
         closed_within_own_scope = NULL, handling_working_days = NULL",
        "DELETE FROM closure_counts",
    ] {
        app.state.db.execute_unprepared(sql).await.unwrap();
    }
    assert_eq!(app.get(nov, &office).await.ok()["repairs"]["closed"], 0);
    assert_eq!(credit_repair::services::reports::judge_unjudged(&app.state).await.unwrap(), 1);
    assert_eq!(credit_repair::services::reports::judge_unjudged(&app.state).await.unwrap(), 0);
    let judged = app.get(nov, &office).await.ok();
    assert_eq!(judged["repairs"], after["repairs"], "{judged}");
    let rows = crate::exports::sheet(crate::exports::fetch(&app, &office, stats).await.2);
    let again = rows.iter().find(|r| r[0] == "区生态环境分局" && r[1] == "信用修复申请").expect("the department's row");
    assert_eq!(again, row);
}
