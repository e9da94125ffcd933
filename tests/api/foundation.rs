//! Foundation behaviour over HTTP: login and lockout, token rotation, scoping,
//! the public query, code validation, date arithmetic, bad input, admin
//! accounts and the documentation endpoints.

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::*;

/// The items of a list response.
fn items(body: &Value) -> &Vec<Value> {
    body["items"].as_array().unwrap_or_else(|| panic!("items missing: {body}"))
}

/// The document numbers of a list of records.
fn doc_nos(body: &Value) -> Vec<String> {
    let mut docs: Vec<String> = items(body).iter().map(|r| r["document_no"].as_str().unwrap().to_string()).collect();
    docs.sort();
    docs
}

/// Sends a raw body with a JSON content type.
async fn post_raw(app: &TestApp, path: &str, token: Option<&str>, body: impl Into<reqwest::Body>) -> Resp {
    let mut req = app.client.post(app.url(path)).header("content-type", "application/json").body(body);
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let res = req.send().await.expect("request");
    let status = res.status();
    let text = res.text().await.unwrap_or_default();
    Resp { status, body: serde_json::from_str(&text).unwrap_or(Value::Null) }
}

// ---------- 1. login ----------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_returns_token_pair() {
    let app = spawn().await;
    let body = app.login_raw("office", PASSWORD).await.ok();
    assert!(body["access_token"].as_str().is_some_and(|t| t.len() > 20), "{body}");
    assert!(body["refresh_token"].as_str().is_some_and(|t| t.len() >= 32), "{body}");
    assert_ne!(body["access_token"], body["refresh_token"]);
    let expires_in = body["expires_in"].as_i64().expect("expires_in");
    assert!(expires_in > 0 && expires_in <= 24 * 3600, "{body}");
    // The access token works.
    let me = app.get("/api/v1/me", body["access_token"].as_str().unwrap()).await.ok();
    assert_eq!(me["username"], "office");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_rejects_wrong_password_and_unknown_user_alike() {
    let app = spawn().await;
    let wrong = app.login_raw("office", "Wrong#Passw0rd").await.expect(401, "invalid_credentials");
    let unknown = app.login_raw("nobody", PASSWORD).await.expect(401, "invalid_credentials");
    assert!(wrong.get("access_token").is_none());
    // The same message: no user enumeration.
    assert_eq!(wrong["message"], unknown["message"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn five_failed_logins_lock_the_account_until_the_lock_expires() {
    let app = spawn().await;
    for _ in 0..4 {
        app.login_raw("scjg", "Wrong#Passw0rd").await.expect(401, "invalid_credentials");
    }
    app.login_raw("scjg", "Wrong#Passw0rd").await.expect(423, "account_locked");
    // Even the right password is refused while locked.
    app.login_raw("scjg", PASSWORD).await.expect(423, "account_locked");
    // Other accounts are unaffected.
    app.login_raw("sthj", PASSWORD).await.ok();

    // 16 minutes later the lock (15 minutes) has expired.
    app.clock.set(chrono::Utc::now() + chrono::Duration::minutes(16));
    let body = app.login_raw("scjg", PASSWORD).await.ok();
    assert!(body["access_token"].as_str().is_some());

    // The failure count was reset: four more failures do not lock again.
    for _ in 0..4 {
        app.login_raw("scjg", "Wrong#Passw0rd").await.expect(401, "invalid_credentials");
    }
    app.login_raw("scjg", PASSWORD).await.ok();
}

// ---------- 2. refresh, logout, token errors ----------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refresh_rotates_and_detects_reuse() {
    let app = spawn().await;
    let first = app.login_raw("ent_a", PASSWORD).await.ok();
    let old = first["refresh_token"].as_str().unwrap().to_string();

    let second =
        app.request(Method::POST, "/api/v1/auth/refresh", None, Some(json!({"refresh_token": old}))).await.ok();
    let new_refresh = second["refresh_token"].as_str().expect("new refresh token").to_string();
    let new_access = second["access_token"].as_str().expect("new access token").to_string();
    assert_ne!(new_refresh, old);
    assert!(second["expires_in"].as_i64().unwrap() > 0);
    assert_eq!(app.get("/api/v1/me", &new_access).await.ok()["username"], "ent_a");

    // The old refresh token is revoked.
    app.request(Method::POST, "/api/v1/auth/refresh", None, Some(json!({"refresh_token": old})))
        .await
        .expect(401, "refresh_token_invalid");
    // Presenting the revoked one revoked the whole family: the new one is dead too.
    app.request(Method::POST, "/api/v1/auth/refresh", None, Some(json!({"refresh_token": new_refresh})))
        .await
        .expect(401, "refresh_token_invalid");
    // Unknown refresh tokens are refused as well.
    app.request(Method::POST, "/api/v1/auth/refresh", None, Some(json!({"refresh_token": "deadbeef"})))
        .await
        .expect(401, "refresh_token_invalid");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refresh_without_reuse_keeps_working() {
    let app = spawn().await;
    let mut refresh = app.login_raw("ent_b", PASSWORD).await.ok()["refresh_token"].as_str().unwrap().to_string();
    for _ in 0..3 {
        let pair =
            app.request(Method::POST, "/api/v1/auth/refresh", None, Some(json!({"refresh_token": refresh}))).await.ok();
        refresh = pair["refresh_token"].as_str().unwrap().to_string();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logout_revokes_the_refresh_token() {
    let app = spawn().await;
    let pair = app.login_raw("office", PASSWORD).await.ok();
    let access = pair["access_token"].as_str().unwrap();
    let refresh = pair["refresh_token"].as_str().unwrap();
    let res = app.post("/api/v1/auth/logout", access, json!({"refresh_token": refresh})).await;
    assert_eq!(res.status.as_u16(), 204, "{}", res.body);
    app.request(Method::POST, "/api/v1/auth/refresh", None, Some(json!({"refresh_token": refresh})))
        .await
        .expect(401, "refresh_token_invalid");
    // Logout needs a login.
    app.request(Method::POST, "/api/v1/auth/logout", None, Some(json!({"refresh_token": refresh})))
        .await
        .expect(401, "unauthenticated");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn access_token_errors() {
    let app = spawn().await;
    let token = app.login("office").await;
    app.get("/api/v1/me", &token).await.ok();

    app.request(Method::GET, "/api/v1/me", None, None).await.expect(401, "unauthenticated");
    app.get("/api/v1/me", "not-a-jwt").await.expect(401, "token_invalid");
    // A well-formed token signed with another key.
    let mut parts: Vec<&str> = token.split('.').collect();
    parts[2] = "c2lnbmF0dXJl";
    app.get("/api/v1/me", &parts.join(".")).await.expect(401, "token_invalid");

    app.clock.advance_days(1);
    app.get("/api/v1/me", &token).await.expect(401, "token_expired");
    app.get("/api/v1/records", &token).await.expect(401, "token_expired");
}

// ---------- 3. me ----------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn me_describes_the_caller() {
    let app = spawn().await;
    let me = app.get("/api/v1/me", &app.login("sthj").await).await.ok();
    assert_eq!(me["username"], "sthj");
    assert_eq!(me["role"], "department_officer");
    assert_eq!(me["department_name"], "区生态环境分局");
    assert!(me["department_id"].as_i64().is_some());
    assert!(me["subject_id"].is_null());
    assert!(me.get("password_hash").is_none(), "{me}");

    let me = app.get("/api/v1/me", &app.login("ent_a").await).await.ok();
    assert_eq!(me["username"], "ent_a");
    assert_eq!(me["role"], "applicant");
    assert_eq!(me["subject_code"], demo::ENT_A);
    assert_eq!(me["subject_name"], "泉城示例建材有限公司");
    assert!(me["subject_id"].as_i64().is_some());
    assert!(me["department_id"].is_null());

    let me = app.get("/api/v1/me", &app.login("office").await).await.ok();
    assert_eq!(me["role"], "credit_office");
}

// ---------- 4. scope ----------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn applicant_sees_only_its_subject() {
    let app = spawn().await;
    let ent_a = app.login("ent_a").await;
    let list = app.get("/api/v1/records?per_page=100", &ent_a).await.ok();
    assert_eq!(list["total"], 2, "{list}");
    assert!(items(&list).iter().all(|r| r["subject_code"] == demo::ENT_A), "{list}");
    assert_eq!(doc_nos(&list), sorted(&[demo::REPAIRABLE, demo::TOO_EARLY]));

    // Own record: visible.
    let own = app.record_id(demo::REPAIRABLE).await;
    let r = app.get(&format!("/api/v1/records/{own}"), &ent_a).await.ok();
    assert_eq!(r["document_no"], demo::REPAIRABLE);
    assert_eq!(r["sanctions"].as_array().unwrap().len(), 2);

    // Another subject's record: 404, not 403.
    let other = app.record_id(demo::SAMR_LISTED).await;
    app.get(&format!("/api/v1/records/{other}"), &ent_a).await.expect(404, "not_found");
    // Filtering for another subject does not widen the scope.
    let list = app.get(&format!("/api/v1/records?subject={}", demo::ENT_B), &ent_a).await.ok();
    assert_eq!(list["total"], 0, "{list}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn officer_sees_only_its_department() {
    let app = spawn().await;
    let sthj = app.login("sthj").await;
    let list = app.get("/api/v1/records?per_page=100", &sthj).await.ok();
    assert_eq!(list["total"], 2, "{list}");
    let dept = items(&list)[0]["department_id"].clone();
    assert!(items(&list).iter().all(|r| r["department_id"] == dept && r["department_name"] == "区生态环境分局"));
    assert_eq!(doc_nos(&list), sorted(&[demo::REPAIRABLE, demo::LIST_ENTRY]));

    let yjgl_record = app.record_id(demo::TOO_EARLY).await;
    app.get(&format!("/api/v1/records/{yjgl_record}"), &sthj).await.expect(404, "not_found");
    let own = app.record_id(demo::LIST_ENTRY).await;
    assert_eq!(app.get(&format!("/api/v1/records/{own}"), &sthj).await.ok()["department_id"], dept);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn credit_office_sees_everything_and_can_filter() {
    let app = spawn().await;
    let office = app.login("office").await;
    let list = app.get("/api/v1/records?per_page=100", &office).await.ok();
    assert_eq!(list["total"], 7, "{list}");
    assert_eq!(items(&list).len(), 7);
    assert_eq!(
        doc_nos(&list),
        sorted(&[
            demo::REPAIRABLE,
            demo::TOO_EARLY,
            demo::SAMR_LISTED,
            demo::NOT_PUBLISHED,
            demo::EXPIRED,
            demo::LIST_ENTRY,
            demo::NATURAL_PERSON,
        ])
    );

    let list = app.get(&format!("/api/v1/records?subject={}", demo::ENT_B), &office).await.ok();
    assert_eq!(list["total"], 2, "{list}");
    assert!(items(&list).iter().all(|r| r["subject_code"] == demo::ENT_B));
    assert_eq!(doc_nos(&list), sorted(&[demo::SAMR_LISTED, demo::NOT_PUBLISHED]));

    // Lower case is normalised.
    let list = app.get(&format!("/api/v1/records?subject={}", demo::ENT_C.to_lowercase()), &office).await.ok();
    assert_eq!(doc_nos(&list), sorted(&[demo::EXPIRED, demo::LIST_ENTRY]));

    // Pagination.
    let page = app.get("/api/v1/records?per_page=3&page=3", &office).await.ok();
    assert_eq!(page["total"], 7);
    assert_eq!(items(&page).len(), 1);
}

// ---------- 5. public query ----------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn public_query_shows_published_records_only() {
    let app = spawn().await;
    let res = app.request(Method::GET, &format!("/api/v1/public/records?subject={}", demo::ENT_B), None, None).await;
    let body = res.ok();
    assert_eq!(body["subject"], demo::ENT_B);
    let docs = doc_nos(&body);
    assert_eq!(docs, vec![demo::SAMR_LISTED.to_string()], "{body}");
    let rec = &items(&body)[0];
    assert_eq!(rec["objection_open"], false);
    assert!(rec["objection_label"].is_null(), "{rec}");
    assert_eq!(rec["display_category"], "公示满1年可修复");
    assert_eq!(rec["department_name"], "区市场监督管理局");
    // A market-regulation record says so: its repair is SAMR's.
    assert_eq!(rec["source"], "samr");

    // Lower-case input finds the same subject.
    let lower = app
        .request(Method::GET, &format!("/api/v1/public/records?subject={}", demo::ENT_B.to_lowercase()), None, None)
        .await
        .ok();
    assert_eq!(lower["subject"], demo::ENT_B);
    assert_eq!(items(&lower).len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn public_query_never_shows_natural_persons() {
    let app = spawn().await;
    // The person does have a record, which is not published in any view (Shandong Art. 20).
    let office = app.login("office").await;
    let list = app.get(&format!("/api/v1/records?subject={}", demo::PERSON), &office).await.ok();
    assert_eq!(items(&list).len(), 1);
    assert_eq!(items(&list)[0]["publication_status"], "not_published");
    assert_eq!(items(&list)[0]["display_category"], "不予公示");

    let body =
        app.request(Method::GET, &format!("/api/v1/public/records?subject={}", demo::PERSON), None, None).await.ok();
    assert_eq!(items(&body).len(), 0, "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn public_query_validates_the_code() {
    let app = spawn().await;
    for (code, expected) in [("ABC", "uscc_length"), ("91350100MI00100Y43", "uscc_character")] {
        let body = app
            .request(Method::GET, &format!("/api/v1/public/records?subject={code}"), None, None)
            .await
            .expect(422, "validation_failed");
        assert_eq!(body["fields"][0]["field"], "subject", "{body}");
        assert_eq!(body["fields"][0]["code"], expected, "{body}");
    }
    // A well-formed but unknown code: empty, not an error.
    let body = app.request(Method::GET, "/api/v1/public/records?subject=91310110666007217T", None, None).await.ok();
    assert_eq!(items(&body).len(), 0);
}

// ---------- 6. USCC validation ----------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn subject_codes_are_validated() {
    let app = spawn().await;
    let admin = app.login("admin").await;

    let res = app
        .post("/api/v1/admin/subjects", &admin, json!({"code": "91310110666007217T", "name": "上海示例有限公司"}))
        .await;
    assert_eq!(res.status.as_u16(), 201, "{}", res.body);
    assert_eq!(res.body["code"], "91310110666007217T");
    assert_eq!(res.body["check_overridden"], false);
    assert_eq!(res.body["kind"], "legal_person");

    // Duplicate code, also when entered in lower case.
    app.post("/api/v1/admin/subjects", &admin, json!({"code": "91310110666007217t", "name": "重复"}))
        .await
        .expect(409, "subject_code_taken");

    // Fujian pilot code: fails the check character.
    let body = app
        .post("/api/v1/admin/subjects", &admin, json!({"code": "91350100M0001TGQXM", "name": "福建示例"}))
        .await
        .expect(422, "validation_failed");
    assert_eq!(body["fields"][0]["field"], "code", "{body}");
    assert_eq!(body["fields"][0]["code"], "uscc_check_digit", "{body}");

    // Overridden: accepted and marked; input normalised to upper case.
    let res = app
        .post(
            "/api/v1/admin/subjects",
            &admin,
            json!({"code": "91350100m0001tgqxm", "name": "福建示例", "override_check": true}),
        )
        .await;
    assert_eq!(res.status.as_u16(), 201, "{}", res.body);
    assert_eq!(res.body["code"], "91350100M0001TGQXM");
    assert_eq!(res.body["check_overridden"], true);

    // Shape errors cannot be overridden.
    let body = app
        .post(
            "/api/v1/admin/subjects",
            &admin,
            json!({"code": "91350100MI00100Y43", "name": "坏代码", "override_check": true}),
        )
        .await
        .expect(422, "validation_failed");
    assert_eq!(body["fields"][0]["code"], "uscc_character");

    // Only administrators.
    let office = app.login("office").await;
    app.post("/api/v1/admin/subjects", &office, json!({"code": "91330100799655058B", "name": "x"}))
        .await
        .expect(403, "forbidden");
    let ent_a = app.login("ent_a").await;
    app.get("/api/v1/admin/subjects", &ent_a).await.expect(403, "forbidden");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lower_case_subject_code_is_normalised() {
    let app = spawn().await;
    let admin = app.login("admin").await;
    let res = app.post("/api/v1/admin/subjects", &admin, json!({"code": "91310110666007217t", "name": "小写"})).await;
    assert_eq!(res.status.as_u16(), 201, "{}", res.body);
    assert_eq!(res.body["code"], "91310110666007217T");
    assert_eq!(res.body["check_overridden"], false);
    // Demo code, entered in lower case, is a duplicate.
    app.post("/api/v1/admin/subjects", &admin, json!({"code": demo::ENT_A.to_lowercase(), "name": "x"}))
        .await
        .expect(409, "subject_code_taken");
}

// ---------- 7. date arithmetic ----------

struct RecordCase {
    regime: &'static str,
    severity: &'static str,
    decision: &'static str,
    conduct_end: Option<&'static str>,
}

async fn create_record(app: &TestApp, admin: &str, subject: i64, dept: i64, doc: &str, case: RecordCase) -> Resp {
    let mut body = json!({
        "subject_id": subject,
        "department_id": dept,
        "record_type": "administrative_penalty",
        "title": "测试处罚",
        "content": "测试内容",
        "document_no": doc,
        "regime": case.regime,
        "severity": case.severity,
        "decision_date": case.decision,
    });
    if let Some(c) = case.conduct_end {
        body["conduct_end_date"] = json!(c);
    }
    app.post("/api/v1/admin/records", admin, body).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn record_dates_are_derived() {
    let app = spawn().await;
    let admin = app.login("admin").await;
    let subj = app
        .post("/api/v1/admin/subjects", &admin, json!({"code": "91310110666007217T", "name": "日期测试有限公司"}))
        .await;
    assert_eq!(subj.status.as_u16(), 201, "{}", subj.body);
    let subject = subj.body["id"].as_i64().unwrap();
    let dept = app.department_id(&admin, "区市场监督管理局").await;

    // Current 一般: 3 months ends on 2026-02-28, repair from the day after.
    let res = create_record(
        &app,
        &admin,
        subject,
        dept,
        "测试〔2025〕1号",
        RecordCase { regime: "order58", severity: "general", decision: "2025-11-30", conduct_end: None },
    )
    .await;
    assert_eq!(res.status.as_u16(), 201, "{}", res.body);
    let r = &res.body;
    assert_eq!(r["repairable"], true);
    // 民法典 Art. 202: no 2026-02-30, so the 3 months end on 02-28; repair from the day after.
    assert_eq!(r["repairable_from"], "2026-03-01");
    assert_eq!(r["publication_ends"], "2028-11-30");
    assert_eq!(r["display_category"], "公示满3个月可修复");
    assert_eq!(r["publication_status"], "published");
    assert_eq!(r["subject_code"], "91310110666007217T");
    assert_eq!(r["department_id"], dept);
    assert_eq!(r["version"], 1);

    // Legacy 严重失信 from a leap day (527号 was in force then); its three
    // years are over, so it is entered as ended.
    let res = create_record(
        &app,
        &admin,
        subject,
        dept,
        "测试〔2020〕2号",
        RecordCase { regime: "legacy527", severity: "legacy_serious", decision: "2020-02-29", conduct_end: None },
    )
    .await;
    assert_eq!(res.status.as_u16(), 201, "{}", res.body);
    assert_eq!(res.body["repairable_from"], "2020-08-30");
    assert_eq!(res.body["publication_ends"], "2023-02-28");
    assert_eq!(res.body["display_category"], "公示满6个月可修复");
    assert_eq!(res.body["publication_status"], "ended");

    // Legacy 特定严重失信: not repairable.
    let res = create_record(
        &app,
        &admin,
        subject,
        dept,
        "测试〔2022〕3号",
        RecordCase {
            regime: "legacy527",
            severity: "legacy_specific_serious",
            decision: "2022-03-15",
            conduct_end: None,
        },
    )
    .await;
    assert_eq!(res.status.as_u16(), 201, "{}", res.body);
    assert_eq!(res.body["repairable"], false);
    assert!(res.body["repairable_from"].is_null(), "{}", res.body);
    assert_eq!(res.body["publication_ends"], "2025-03-15");
    assert_eq!(res.body["display_category"], "公示期满前不可修复");

    // Current 轻微: not published.
    let res = create_record(
        &app,
        &admin,
        subject,
        dept,
        "测试〔2026〕4号",
        RecordCase { regime: "current", severity: "minor", decision: "2026-10-01", conduct_end: None },
    )
    .await;
    assert_eq!(res.status.as_u16(), 201, "{}", res.body);
    assert_eq!(res.body["publication_status"], "not_published");
    assert_eq!(res.body["display_category"], "不予公示");

    // Shandong: publication ends at most five years after the conduct ended.
    let res = create_record(
        &app,
        &admin,
        subject,
        dept,
        "测试〔2025〕5号",
        RecordCase { regime: "order58", severity: "serious", decision: "2025-01-10", conduct_end: Some("2021-06-15") },
    )
    .await;
    assert_eq!(res.status.as_u16(), 201, "{}", res.body);
    assert_eq!(res.body["publication_ends"], "2026-06-15");
    assert_eq!(res.body["repairable_from"], "2026-01-11");
    assert_eq!(res.body["conduct_end_date"], "2021-06-15");
    // Entered after that day: it starts ended, never shown.
    assert_eq!(res.body["publication_status"], "ended", "{}", res.body);

    // The created records are readable and the not-published one is absent from the public query.
    let office = app.login("office").await;
    let list = app.get("/api/v1/records?subject=91310110666007217T", &office).await.ok();
    assert_eq!(list["total"], 5, "{list}");
    let public = app.request(Method::GET, "/api/v1/public/records?subject=91310110666007217T", None, None).await.ok();
    let docs = doc_nos(&public);
    assert_eq!(docs, ["测试〔2025〕1号"], "{public}");
    assert!(!docs.contains(&"测试〔2026〕4号".to_string()));
    assert!(!docs.contains(&"测试〔2025〕5号".to_string()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_regime_is_the_one_in_force_on_the_decision_date() {
    let app = spawn().await;
    let admin = app.login("admin").await;
    let subject = app.subject_id(&admin, demo::ENT_A).await;
    let dept = app.department_id(&admin, "区市场监督管理局").await;
    let body = |doc: &str, regime: Option<&str>, severity: &str, date: &str| {
        let mut b = json!({
            "subject_id": subject, "department_id": dept, "record_type": "administrative_penalty",
            "title": "适用规则测试", "document_no": doc, "severity": severity, "decision_date": date,
        });
        if let Some(r) = regime {
            b["regime"] = json!(r);
        }
        b
    };
    // Not given: derived (Order 36 from 2026-04-01, Order 58 from 2023-05-01, 527号 before).
    for (doc, date, severity, regime) in [
        ("规则〔2026〕1号", "2026-04-01", "general", "current"),
        ("规则〔2026〕2号", "2026-03-31", "general", "order58"),
        ("规则〔2023〕3号", "2023-05-01", "serious", "order58"),
        ("规则〔2023〕4号", "2023-04-30", "legacy_general", "legacy527"),
    ] {
        let r = app.post("/api/v1/admin/records", &admin, body(doc, None, severity, date)).await.ok();
        assert_eq!(r["regime"], regime, "{date}: {r}");
    }
    // Given: it must be the one in force, else refused naming the right one; nothing is written.
    let res = app
        .post("/api/v1/admin/records", &admin, body("规则〔2025〕5号", Some("current"), "general", "2025-11-30"))
        .await;
    let e = res.expect(422, "validation_failed");
    let f = &e["fields"][0];
    assert_eq!((f["field"].as_str(), f["code"].as_str()), (Some("regime"), Some("regime_mismatch")), "{e}");
    assert!(f["message"].as_str().unwrap().contains("order58"), "{e}");
    let res = app
        .post(
            "/api/v1/admin/records",
            &admin,
            body("规则〔2026〕6号", Some("legacy527"), "legacy_general", "2026-05-06"),
        )
        .await;
    res.expect(422, "validation_failed");
    let office = app.login("office").await;
    let list = app.get(&format!("/api/v1/records?subject={}", demo::ENT_A), &office).await.ok();
    let docs = doc_nos(&list);
    assert!(!docs.iter().any(|d| d == "规则〔2025〕5号" || d == "规则〔2026〕6号"), "{list}");
    // A severity the derived regime does not define is refused too.
    let res =
        app.post("/api/v1/admin/records", &admin, body("规则〔2026〕7号", None, "legacy_serious", "2026-05-06")).await;
    res.expect(422, "validation_failed");
    app.assert_records_consistent("after the regime checks").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn record_creation_needs_a_producing_department() {
    let app = spawn().await;
    let admin = app.login("admin").await;
    let subject = app.subject_id(&admin, demo::ENT_A).await;
    let office_dept = app.department_id(&admin, "区社会信用体系建设办公室（区信用办）").await;
    let body = create_record(
        &app,
        &admin,
        subject,
        office_dept,
        "测试〔2025〕9号",
        RecordCase { regime: "order58", severity: "general", decision: "2025-06-01", conduct_end: None },
    )
    .await
    .expect(422, "validation_failed");
    assert!(body["fields"].as_array().unwrap().iter().any(|f| f["field"] == "department_id"), "{body}");
}

// ---------- 8. bad input ----------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_and_mistyped_bodies_are_400() {
    let app = spawn().await;
    post_raw(&app, "/api/v1/auth/login", None, "{\"username\": \"office\", ").await.expect(400, "invalid_json");
    app.request(Method::POST, "/api/v1/auth/login", None, Some(json!({"username": 123, "password": PASSWORD})))
        .await
        .expect(400, "invalid_field");
    let res = app
        .request(
            Method::POST,
            "/api/v1/auth/login",
            None,
            Some(json!({"username": "office", "password": PASSWORD, "remember": true})),
        )
        .await;
    assert_eq!(res.status.as_u16(), 400, "{}", res.body);
    assert!(res.code().starts_with("invalid_"), "{}", res.body);
    assert!(res.body["message"].as_str().is_some_and(|m| !m.is_empty()));
    // Missing fields.
    let res = app.request(Method::POST, "/api/v1/auth/login", None, Some(json!({"username": "office"}))).await;
    assert_eq!(res.status.as_u16(), 400, "{}", res.body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_body_is_413() {
    let app = spawn().await;
    let big = format!("{{\"username\": \"office\", \"password\": \"{}\"}}", "x".repeat(300 * 1024));
    post_raw(&app, "/api/v1/auth/login", None, big).await.expect(413, "payload_too_large");
    // The server still answers afterwards.
    app.login_raw("office", PASSWORD).await.ok();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_record_input_is_422() {
    let app = spawn().await;
    let admin = app.login("admin").await;
    let subject = app.subject_id(&admin, demo::ENT_A).await;
    let dept = app.department_id(&admin, "区生态环境分局").await;

    let body = create_record(
        &app,
        &admin,
        subject,
        dept,
        "测试〔2025〕10号",
        RecordCase { regime: "current", severity: "catastrophic", decision: "2025-06-01", conduct_end: None },
    )
    .await
    .expect(422, "validation_failed");
    assert!(body["fields"].as_array().unwrap().iter().any(|f| f["field"] == "severity"), "{body}");

    let tomorrow = (chrono::Utc::now() + chrono::Duration::days(2)).date_naive().to_string();
    let mut req = json!({
        "subject_id": subject, "department_id": dept, "record_type": "administrative_penalty",
        "title": "未来", "document_no": "测试〔2099〕1号", "regime": "current", "severity": "general",
        "decision_date": tomorrow,
    });
    let body = app.post("/api/v1/admin/records", &admin, req.clone()).await.expect(422, "validation_failed");
    assert!(body["fields"].as_array().unwrap().iter().any(|f| f["field"] == "decision_date"), "{body}");

    // The conduct cannot end in the future (nor before 1990), on creation or on update.
    req["decision_date"] = json!("2025-06-01");
    req["conduct_end_date"] = json!(tomorrow);
    let body = app.post("/api/v1/admin/records", &admin, req.clone()).await.expect(422, "validation_failed");
    assert!(body["fields"].as_array().unwrap().iter().any(|f| f["field"] == "conduct_end_date"), "{body}");
    let patch = json!({"version": 1, "conduct_end_date": "1000-01-01"});
    let body = app.patch("/api/v1/admin/records/1", &admin, patch).await;
    let body = body.expect(422, "validation_failed");
    assert!(body["fields"].as_array().unwrap().iter().any(|f| f["field"] == "conduct_end_date"), "{body}");
    req["conduct_end_date"] = serde_json::Value::Null;

    // A date that is not a date is a type error.
    req["decision_date"] = json!("2025-02-30");
    app.post("/api/v1/admin/records", &admin, req).await.expect(400, "invalid_field");

    // Calendar years outside 2000-2100 are refused.
    let res = app
        .request(
            reqwest::Method::PUT,
            "/api/v1/admin/calendar/3000",
            Some(&admin),
            Some(json!({"year": 3000, "days": []})),
        )
        .await;
    res.expect(422, "validation_failed");

    // Nothing was created.
    let office = app.login("office").await;
    assert_eq!(app.get("/api/v1/records", &office).await.ok()["total"], 7);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_resources_and_routes_are_404_json() {
    let app = spawn().await;
    let office = app.login("office").await;
    app.get("/api/v1/records/999999", &office).await.expect(404, "not_found");
    app.get("/api/v1/records/abc", &office).await.expect(404, "not_found");
    app.get("/api/v1/no-such-route", &office).await.expect(404, "not_found");
    // Outside /api the answer is the 404 page, not JSON.
    let page = app.client.get(app.url("/nothing/here")).send().await.unwrap();
    assert_eq!(page.status(), 404);
    assert!(page.headers()["content-type"].to_str().unwrap().starts_with("text/html"));
    assert!(page.text().await.unwrap().contains("页面不存在"));
    // Bad query parameters.
    app.get("/api/v1/records?page=abc", &office).await.expect(400, "invalid_query");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn non_admins_are_forbidden_from_admin_endpoints() {
    let app = spawn().await;
    for user in ["sthj", "office", "ent_a"] {
        let token = app.login(user).await;
        app.get("/api/v1/admin/users", &token).await.expect(403, "forbidden");
    }
    app.request(Method::GET, "/api/v1/admin/users", None, None).await.expect(401, "unauthenticated");
}

// ---------- 9. admin ----------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_lists_demo_users() {
    let app = spawn().await;
    let admin = app.login("admin").await;
    let users = app.get("/api/v1/admin/users", &admin).await.ok();
    let users = users.as_array().unwrap();
    assert_eq!(users.len(), 8);
    let by_name = |n: &str| users.iter().find(|u| u["username"] == n).unwrap_or_else(|| panic!("user {n} missing"));
    let mut names: Vec<&str> = users.iter().map(|u| u["username"].as_str().unwrap()).collect();
    names.sort();
    assert_eq!(names, ["admin", "ent_a", "ent_b", "ent_c", "office", "scjg", "sthj", "yjgl"]);

    assert_eq!(by_name("admin")["role"], "admin");
    assert_eq!(by_name("office")["role"], "credit_office");
    assert_eq!(by_name("yjgl")["role"], "department_officer");
    assert_eq!(by_name("yjgl")["department_name"], "区应急管理局");
    assert_eq!(by_name("scjg")["department_name"], "区市场监督管理局");
    assert_eq!(by_name("ent_b")["role"], "applicant");
    assert_eq!(by_name("ent_b")["subject_code"], demo::ENT_B);
    assert_eq!(by_name("ent_c")["subject_code"], demo::ENT_C);
    assert!(by_name("ent_c")["department_name"].is_null());
    assert!(users.iter().all(|u| u["active"] == true && u.get("password_hash").is_none()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn user_creation_is_validated() {
    let app = spawn().await;
    let admin = app.login("admin").await;
    let subject = app.subject_id(&admin, demo::ENT_C).await;

    for weak in ["alllowercaseletters", "Short1!"] {
        let body = app
            .post(
                "/api/v1/admin/users",
                &admin,
                json!({"username": "weak", "role": "applicant", "subject_id": subject, "password": weak}),
            )
            .await
            .expect(422, "validation_failed");
        let fields = body["fields"].as_array().unwrap();
        assert!(
            fields
                .iter()
                .any(|f| f["field"] == "password"
                    && (f["code"] == "password_too_simple" || f["code"] == "password_length")),
            "{body}"
        );
    }

    let body = app
        .post(
            "/api/v1/admin/users",
            &admin,
            json!({"username": "officer2", "role": "department_officer", "password": "Strong#Pass123"}),
        )
        .await
        .expect(422, "validation_failed");
    assert!(body["fields"].as_array().unwrap().iter().any(|f| f["field"] == "department_id"), "{body}");

    // Duplicate username.
    app.post(
        "/api/v1/admin/users",
        &admin,
        json!({"username": "ent_a", "role": "applicant", "subject_id": subject, "password": "Strong#Pass123"}),
    )
    .await
    .expect(409, "username_taken");

    // None of the refused users exist.
    let users = app.get("/api/v1/admin/users", &admin).await.ok();
    assert_eq!(users.as_array().unwrap().len(), 8);
    app.login_raw("officer2", "Strong#Pass123").await.expect(401, "invalid_credentials");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn new_applicant_sees_its_subject_and_deactivation_revokes_access() {
    let app = spawn().await;
    let admin = app.login("admin").await;
    let subject = app.subject_id(&admin, demo::ENT_C).await;
    let password = "Strong#Pass123";
    let res = app
        .post(
            "/api/v1/admin/users",
            &admin,
            json!({"username": "ent_c2", "display_name": "物流公司 经办", "role": "applicant",
                   "subject_id": subject, "password": password, "email": "c2@example.com"}),
        )
        .await;
    assert_eq!(res.status.as_u16(), 201, "{}", res.body);
    let id = res.body["id"].as_i64().unwrap();
    assert_eq!(res.body["role"], "applicant");
    assert_eq!(res.body["subject_code"], demo::ENT_C);
    assert_eq!(res.body["active"], true);

    let token = app.login_raw("ent_c2", password).await.ok()["access_token"].as_str().unwrap().to_string();
    let list = app.get("/api/v1/records?per_page=100", &token).await.ok();
    assert_eq!(doc_nos(&list), sorted(&[demo::EXPIRED, demo::LIST_ENTRY]));
    assert!(items(&list).iter().all(|r| r["subject_code"] == demo::ENT_C));
    let other = app.record_id(demo::REPAIRABLE).await;
    app.get(&format!("/api/v1/records/{other}"), &token).await.expect(404, "not_found");

    // Deactivation takes effect on the existing token at once.
    let res = app.patch(&format!("/api/v1/admin/users/{id}"), &admin, json!({"active": false})).await.ok();
    assert_eq!(res["active"], false);
    let res = app.get("/api/v1/me", &token).await;
    assert_eq!(res.status.as_u16(), 401, "{}", res.body);
    assert!(!res.code().is_empty(), "{}", res.body);
    app.get("/api/v1/records", &token).await.expect(401, res.code());
    // And a deactivated user cannot log in again.
    let res = app.login_raw("ent_c2", password).await;
    assert_eq!(res.status.as_u16(), 401, "{}", res.body);
    assert!(res.body.get("access_token").is_none());

    // Reactivated: works again.
    app.patch(&format!("/api/v1/admin/users/{id}"), &admin, json!({"active": true})).await.ok();
    app.login_raw("ent_c2", password).await.ok();
}

// ---------- 10. health and documentation ----------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_check_answers_ok() {
    let app = spawn().await;
    let res = app.request(Method::GET, "/healthz", None, None).await;
    assert_eq!(res.status.as_u16(), 200);
    assert_eq!(res.body["status"], "ok");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readiness_needs_a_current_schema() {
    use sea_orm::ConnectionTrait;
    let app = spawn().await;
    let res = app.request(Method::GET, "/readyz", None, None).await;
    assert_eq!(res.status.as_u16(), 200, "{}", res.body);
    assert_eq!(res.body["migrations"], "current");
    // As if this build were newer than the schema: its last migration is not applied.
    let last = "m20261202_000006_imports";
    app.state.db.execute_unprepared(&format!("DELETE FROM seaql_migrations WHERE version = '{last}'")).await.unwrap();
    let res = app.request(Method::GET, "/readyz", None, None).await;
    assert_eq!(res.status.as_u16(), 503, "{}", res.body);
    assert_eq!(res.body["code"], "migrations_pending");
    assert_eq!(res.body["pending"], json!([last]));
    // Liveness does not depend on it.
    assert_eq!(app.request(Method::GET, "/healthz", None, None).await.status.as_u16(), 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openapi_document_and_docs_page() {
    let app = spawn().await;
    let res = app.request(Method::GET, "/api/openapi.json", None, None).await;
    assert_eq!(res.status.as_u16(), 200);
    let spec = res.body;
    assert!(spec["openapi"].as_str().is_some_and(|v| v.starts_with('3')), "{}", spec["openapi"]);
    for path in ["/api/v1/auth/login", "/api/v1/records", "/api/v1/public/records", "/api/v1/admin/users"] {
        assert!(spec["paths"].get(path).is_some(), "path {path} missing from the OpenAPI document");
    }
    assert!(spec["paths"]["/api/v1/auth/login"].get("post").is_some());

    let res = app.client.get(app.url("/api/docs/")).send().await.expect("request");
    assert_eq!(res.status().as_u16(), 200);
    let ctype = res.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
    let text = res.text().await.unwrap();
    assert!(ctype.starts_with("text/html"), "content type {ctype}");
    assert!(text.to_lowercase().contains("<html"), "not HTML: {}", &text[..text.len().min(200)]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_failed_logins_still_lock_the_account() {
    let app = spawn().await;
    let attempts = (0..10).map(|_| app.login_raw("yjgl", "Wrong#Passw0rd"));
    let results = futures_util::future::join_all(attempts).await;
    let locked = results.iter().filter(|r| r.status.as_u16() == 423).count();
    assert!(
        locked >= 1,
        "ten concurrent failures did not lock: {:?}",
        results.iter().map(|r| r.status).collect::<Vec<_>>()
    );
    app.login_raw("yjgl", PASSWORD).await.expect(423, "account_locked");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_refreshes_with_one_token_yield_one_pair() {
    let app = spawn().await;
    let refresh = app.login_raw("ent_a", PASSWORD).await.ok()["refresh_token"].as_str().unwrap().to_string();
    let attempts = (0..6).map(|_| {
        app.request(Method::POST, "/api/v1/auth/refresh", None, Some(json!({"refresh_token": refresh.clone()})))
    });
    let results = futures_util::future::join_all(attempts).await;
    let statuses: Vec<u16> = results.iter().map(|r| r.status.as_u16()).collect();
    assert_eq!(statuses.iter().filter(|s| **s == 200).count(), 1, "{statuses:?}");
    assert!(statuses.iter().all(|s| *s == 200 || *s == 401), "{statuses:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refresh_tokens_expire_and_logout_all_revokes_every_token() {
    let app = spawn().await;
    let a = app.login_raw("office", PASSWORD).await.ok();
    let b = app.login_raw("office", PASSWORD).await.ok();
    let access = a["access_token"].as_str().unwrap();
    let res = app.post("/api/v1/auth/logout", access, json!({"all": true})).await;
    assert_eq!(res.status.as_u16(), 204, "{}", res.body);
    for pair in [&a, &b] {
        app.request(Method::POST, "/api/v1/auth/refresh", None, Some(json!({"refresh_token": pair["refresh_token"]})))
            .await
            .expect(401, "refresh_token_invalid");
    }

    let c = app.login_raw("office", PASSWORD).await.ok();
    app.clock.advance_days(15);
    app.request(Method::POST, "/api/v1/auth/refresh", None, Some(json!({"refresh_token": c["refresh_token"]})))
        .await
        .expect(401, "refresh_token_invalid");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deactivated_user_cannot_refresh() {
    let app = spawn().await;
    let admin = app.login("admin").await;
    let pair = app.login_raw("ent_b", PASSWORD).await.ok();
    let users = app.get("/api/v1/admin/users", &admin).await.ok();
    let id = users.as_array().unwrap().iter().find(|u| u["username"] == "ent_b").unwrap()["id"].as_i64().unwrap();
    app.patch(&format!("/api/v1/admin/users/{id}"), &admin, json!({"active": false})).await.ok();
    app.request(Method::POST, "/api/v1/auth/refresh", None, Some(json!({"refresh_token": pair["refresh_token"]})))
        .await
        .expect(401, "refresh_token_invalid");
    app.login_raw("ent_b", PASSWORD).await.expect(401, "account_disabled");
}
