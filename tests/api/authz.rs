//! Who may read what: every role against own and foreign resources, the
//! expected answer written once in a table. 404 for what exists but is out
//! of scope (existence does not leak); 403 for a role that may never call it.

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::*;

const ROLES: [&str; 7] = ["anon", "ent_a", "ent_b", "sthj", "yjgl", "office", "admin"];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_authorization_matrix_holds() {
    let app = spawn().await;
    // A repair of ent_a routed to 区生态环境分局 (sthj), with its materials.
    let r = app.accepted_repair("ent_a", demo::REPAIRABLE).await;
    let repair = app.case(&r.applicant, r.id).await;
    let attachment = repair["attachments"][0]["id"].as_i64().unwrap();
    // An objection of ent_a on 区应急管理局's record, not routed yet, with its 补正通知书.
    let o = id_of(&app.file(&r.applicant, "objection", app.record_id(demo::TOO_EARLY).await).await);
    let body = json!({"comment": "请补充", "missing_items": ["授权委托书"]});
    let asked = app.act(&r.office, o, "request_supplement", body).await.ok();
    let document = asked["documents"][0]["id"].as_i64().unwrap();
    let record = r.record_id;

    let mut tokens = std::collections::HashMap::new();
    for role in ROLES.iter().skip(1) {
        tokens.insert(*role, app.login(role).await);
    }
    // A checked import of 区生态环境分局 (sthj).
    let csv = "决定书文号,惩戒措施\n济环罚〔2026〕1号,限制参加评优评先\n";
    let part = reqwest::multipart::Part::bytes(csv.as_bytes().to_vec()).file_name("s.csv");
    let form = reqwest::multipart::Form::new().text("mode", "check").part("file", part);
    let import = id_of(
        &send(app.client.post(app.url("/api/v1/imports")).bearer_auth(&tokens["sthj"]).multipart(form)).await.ok(),
    );
    let verify_code = asked["documents"][0]["verify_code"].as_str().unwrap().to_string();
    let verify_number = asked["documents"][0]["number"].as_str().unwrap().to_string();
    let verify_q: String = verify_number.bytes().map(|b| format!("%{b:02X}")).collect();
    // One row per GET route of the API (the route template, then the request): a
    // route the document lists without a row here fails the test.
    let table: Vec<(&str, String, [u16; 7])> = vec![
        //                                                                  anon ent_a ent_b sthj yjgl office admin
        ("/api/v1/cases/{id}", format!("/api/v1/cases/{}", r.id), [401, 200, 404, 200, 404, 200, 200]),
        (
            "/api/v1/cases/{id}/attachments/{attachment_id}",
            format!("/api/v1/cases/{}/attachments/{attachment}", r.id),
            [401, 200, 404, 200, 404, 200, 200],
        ),
        (
            "/api/v1/cases/{id}/deadlines",
            format!("/api/v1/cases/{}/deadlines", r.id),
            [401, 200, 404, 200, 404, 200, 200],
        ),
        ("", format!("/api/v1/cases/{o}"), [401, 200, 404, 404, 404, 200, 200]),
        ("/api/v1/cases/{id}/documents", format!("/api/v1/cases/{o}/documents"), [401, 200, 404, 404, 404, 200, 200]),
        (
            "/api/v1/cases/{id}/documents/{document_id}",
            format!("/api/v1/cases/{o}/documents/{document}"),
            [401, 200, 404, 404, 404, 200, 200],
        ),
        ("/api/v1/records/{id}", format!("/api/v1/records/{record}"), [401, 200, 404, 200, 404, 200, 200]),
        (
            "/api/v1/records/{id}/history",
            format!("/api/v1/records/{record}/history"),
            [401, 200, 404, 200, 404, 200, 200],
        ),
        ("/api/v1/reports/overview", "/api/v1/reports/overview".into(), [401, 403, 403, 403, 403, 200, 200]),
        ("/api/v1/reports/dashboard", "/api/v1/reports/dashboard".into(), [401, 403, 403, 403, 403, 200, 200]),
        (
            "/api/v1/reports/statistics",
            "/api/v1/reports/statistics?format=csv".into(),
            [401, 403, 403, 403, 403, 200, 200],
        ),
        ("/api/v1/admin/users", "/api/v1/admin/users".into(), [401, 403, 403, 403, 403, 403, 200]),
        ("/api/v1/admin/departments", "/api/v1/admin/departments".into(), [401, 403, 403, 403, 403, 403, 200]),
        ("/api/v1/admin/subjects", "/api/v1/admin/subjects".into(), [401, 403, 403, 403, 403, 403, 200]),
        ("/api/v1/admin/measures", "/api/v1/admin/measures".into(), [401, 403, 403, 403, 403, 403, 200]),
        ("/api/v1/admin/calendar/events", "/api/v1/admin/calendar/events".into(), [401, 403, 403, 403, 403, 403, 200]),
        ("/api/v1/me", "/api/v1/me".into(), [401, 200, 200, 200, 200, 200, 200]),
        ("/api/v1/me/messages", "/api/v1/me/messages".into(), [401, 200, 200, 200, 200, 200, 200]),
        ("/api/v1/me/messages/unread", "/api/v1/me/messages/unread".into(), [401, 200, 200, 200, 200, 200, 200]),
        ("/api/v1/me/preferences", "/api/v1/me/preferences".into(), [401, 200, 200, 200, 200, 200, 200]),
        ("/api/v1/cases", "/api/v1/cases".into(), [401, 200, 200, 200, 200, 200, 200]),
        ("/api/v1/cases/export", "/api/v1/cases/export?format=csv".into(), [401, 200, 200, 200, 200, 200, 200]),
        ("/api/v1/records", "/api/v1/records".into(), [401, 200, 200, 200, 200, 200, 200]),
        ("/api/v1/records/export", "/api/v1/records/export?format=csv".into(), [401, 200, 200, 200, 200, 200, 200]),
        (
            "/api/v1/calendar/due",
            "/api/v1/calendar/due?from=2026-12-01&working_days=3".into(),
            [401, 200, 200, 200, 200, 200, 200],
        ),
        ("/api/v1/calendar/years", "/api/v1/calendar/years".into(), [401, 200, 200, 200, 200, 200, 200]),
        ("/healthz", "/healthz".into(), [200, 200, 200, 200, 200, 200, 200]),
        ("/readyz", "/readyz".into(), [200, 200, 200, 200, 200, 200, 200]),
        ("/api/v1/admin/subscribers", "/api/v1/admin/subscribers".into(), [401, 403, 403, 403, 403, 403, 200]),
        // Imports: department officers (their own department's) and administrators.
        ("/api/v1/imports", "/api/v1/imports".into(), [401, 403, 403, 200, 200, 403, 200]),
        ("/api/v1/imports/template", "/api/v1/imports/template".into(), [401, 403, 403, 200, 200, 403, 200]),
        ("/api/v1/imports/{id}", format!("/api/v1/imports/{import}"), [401, 403, 403, 200, 404, 403, 200]),
        (
            "/api/v1/imports/{id}/annotated",
            format!("/api/v1/imports/{import}/annotated"),
            [401, 403, 403, 200, 404, 403, 200],
        ),
        ("/api/v1/deliveries", "/api/v1/deliveries".into(), [401, 403, 403, 403, 403, 200, 200]),
        (
            "/api/v1/records/{id}/deliveries",
            format!("/api/v1/records/{record}/deliveries"),
            // Those who handle records (RecordKeeper); the administrator sees the failed list instead.
            [401, 403, 403, 200, 404, 200, 403],
        ),
        (
            "/api/v1/cases/{id}/deliveries",
            format!("/api/v1/cases/{}/deliveries", r.id),
            [401, 403, 403, 200, 404, 200, 403],
        ),
        (
            "/api/v1/public/records",
            format!("/api/v1/public/records?subject={}", demo::ENT_A),
            [200, 200, 200, 200, 200, 200, 200],
        ),
        (
            "/api/v1/public/documents/verify",
            format!("/api/v1/public/documents/verify?number={verify_q}&code={verify_code}"),
            [200, 200, 200, 200, 200, 200, 200],
        ),
    ];
    let doc = app.request(Method::GET, "/api/openapi.json", None, None).await.ok();
    for (path, item) in doc["paths"].as_object().unwrap() {
        if item.get("get").is_some() {
            assert!(table.iter().any(|(t, _, _)| t == path), "GET {path} has no row in the matrix");
        }
    }
    let mut wrong = Vec::new();
    for (_, path, expected) in &table {
        for (i, role) in ROLES.iter().enumerate() {
            let mut req = app.client.get(app.url(path));
            if let Some(t) = tokens.get(role) {
                req = req.bearer_auth(t);
            }
            let got = req.send().await.unwrap().status().as_u16();
            if got != expected[i] {
                wrong.push(format!("{role} GET {path}: expected {}, got {got}", expected[i]));
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));

    // Exports hold only what the list shows: the other department sees no row of these cases.
    let yjgl_rows = app.client.get(app.url("/api/v1/cases/export?format=csv")).bearer_auth(&tokens["yjgl"]).send();
    let text = yjgl_rows.await.unwrap().text().await.unwrap();
    assert!(!text.contains(repair["case_no"].as_str().unwrap()), "{text}");

    // Nobody but an administrator changes a role or a department, their own included.
    for role in ["ent_a", "sthj", "office"] {
        let me: Value = app.get("/api/v1/me", &tokens[role]).await.ok();
        let path = format!("/api/v1/admin/users/{}", me["id"]);
        let res = app.request(Method::PATCH, &path, Some(&tokens[role]), Some(json!({"role": "admin"}))).await;
        assert_eq!(res.status.as_u16(), 403, "{role}: {}", res.body);
        let again: Value = app.get("/api/v1/me", &tokens[role]).await.ok();
        assert_eq!(again["role"], me["role"], "{role}");
        assert_eq!(again["department_id"], me["department_id"], "{role}");
    }
}

/// Every write route of the API, with who may call it at all (the route's
/// guard): any other caller is refused before the body is read, so a bare
/// `{}` shows it — 401 without a token, 403 with the wrong role. A write
/// route the document lists without a row here fails the test.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn write_routes_refuse_every_role_their_guard_does_not_admit() {
    const ADMIN: &[&str] = &["admin"];
    const APPLICANT: &[&str] = &["ent_a", "ent_b"];
    const CASE_PARTY: &[&str] = &["ent_a", "ent_b", "sthj", "yjgl", "office"];
    const RECORD_KEEPER: &[&str] = &["sthj", "yjgl", "office"];
    const ANY_USER: &[&str] = &["ent_a", "ent_b", "sthj", "yjgl", "office", "admin"];
    const PUBLIC: &[&str] = &["anon", "ent_a", "ent_b", "sthj", "yjgl", "office", "admin"];
    const STAFF: &[&str] = &["office", "admin"];
    const IMPORTER: &[&str] = &["sthj", "yjgl", "admin"];
    let table: &[(&str, &str, &[&str])] = &[
        ("post", "/api/v1/admin/users", ADMIN),
        ("patch", "/api/v1/admin/users/{id}", ADMIN),
        ("post", "/api/v1/admin/departments", ADMIN),
        ("patch", "/api/v1/admin/departments/{id}", ADMIN),
        ("post", "/api/v1/admin/subjects", ADMIN),
        ("patch", "/api/v1/admin/subjects/{id}", ADMIN),
        ("post", "/api/v1/admin/records", ADMIN),
        ("patch", "/api/v1/admin/records/{id}", ADMIN),
        ("post", "/api/v1/admin/records/{id}/sanctions", ADMIN),
        ("post", "/api/v1/admin/records/{id}/lists", ADMIN),
        ("post", "/api/v1/admin/measures", ADMIN),
        ("patch", "/api/v1/admin/measures/{id}", ADMIN),
        ("delete", "/api/v1/admin/measures/{id}", ADMIN),
        ("post", "/api/v1/admin/calendar/{year}/revert", ADMIN),
        ("put", "/api/v1/admin/calendar/{year}", ADMIN),
        ("post", "/api/v1/admin/subscribers", ADMIN),
        ("patch", "/api/v1/admin/subscribers/{id}", ADMIN),
        ("post", "/api/v1/deliveries/{id}/resend", STAFF),
        ("post", "/api/v1/deliveries/resend", STAFF),
        ("post", "/api/v1/cases", APPLICANT),
        ("post", "/api/v1/imports", IMPORTER),
        ("post", "/api/v1/cases/{id}/attachments", CASE_PARTY),
        ("post", "/api/v1/records/{id}/withdraw", RECORD_KEEPER),
        ("post", "/api/v1/cases/{id}/actions/{name}", ANY_USER),
        ("post", "/api/v1/auth/logout", ANY_USER),
        ("post", "/api/v1/me/messages/read", ANY_USER),
        ("post", "/api/v1/me/messages/{id}/read", ANY_USER),
        ("patch", "/api/v1/me/preferences", ANY_USER),
        ("post", "/api/v1/auth/login", PUBLIC),
        ("post", "/api/v1/auth/refresh", PUBLIC),
        ("post", "/api/v1/public/documents/verify", PUBLIC),
    ];
    let app = spawn().await;
    let doc = app.request(Method::GET, "/api/openapi.json", None, None).await.ok();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in ["post", "put", "patch", "delete"] {
            if item.get(method).is_some() {
                assert!(
                    table.iter().any(|(m, p, _)| *m == method && p == path),
                    "{method} {path} has no row in the matrix"
                );
            }
        }
    }
    let mut tokens = std::collections::HashMap::new();
    for role in ROLES.iter().skip(1) {
        tokens.insert(*role, app.login(role).await);
    }
    let mut wrong = Vec::new();
    for (method, template, allowed) in table {
        let path = template.replace("{id}", "1").replace("{name}", "accept").replace("{year}", "2031");
        for role in ROLES {
            if allowed.contains(&role) {
                continue;
            }
            let m = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
            let res = app.request(m, &path, tokens.get(role).map(String::as_str), Some(json!({}))).await;
            let expected = if role == "anon" { 401 } else { 403 };
            if res.status.as_u16() != expected {
                wrong.push(format!("{role} {method} {path}: expected {expected}, got {} {}", res.status, res.body));
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}
