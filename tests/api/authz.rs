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
    let table: Vec<(String, [u16; 7])> = vec![
        //                                                anon ent_a ent_b sthj yjgl office admin
        (format!("/api/v1/cases/{}", r.id), [401, 200, 404, 200, 404, 200, 200]),
        (format!("/api/v1/cases/{}/attachments/{attachment}", r.id), [401, 200, 404, 200, 404, 200, 200]),
        (format!("/api/v1/cases/{}/deadlines", r.id), [401, 200, 404, 200, 404, 200, 200]),
        (format!("/api/v1/cases/{o}"), [401, 200, 404, 404, 404, 200, 200]),
        (format!("/api/v1/cases/{o}/documents"), [401, 200, 404, 404, 404, 200, 200]),
        (format!("/api/v1/cases/{o}/documents/{document}"), [401, 200, 404, 404, 404, 200, 200]),
        (format!("/api/v1/records/{record}"), [401, 200, 404, 200, 404, 200, 200]),
        (format!("/api/v1/records/{record}/history"), [401, 200, 404, 200, 404, 200, 200]),
        ("/api/v1/reports/overview".into(), [401, 403, 403, 403, 403, 200, 200]),
        ("/api/v1/reports/statistics?format=csv".into(), [401, 403, 403, 403, 403, 200, 200]),
        ("/api/v1/admin/users".into(), [401, 403, 403, 403, 403, 403, 200]),
        ("/api/v1/admin/calendar/events".into(), [401, 403, 403, 403, 403, 403, 200]),
        ("/api/v1/me/messages".into(), [401, 200, 200, 200, 200, 200, 200]),
        ("/api/v1/cases/export?format=csv".into(), [401, 200, 200, 200, 200, 200, 200]),
    ];
    let mut wrong = Vec::new();
    for (path, expected) in &table {
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
