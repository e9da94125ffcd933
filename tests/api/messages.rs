//! The message centre (站内消息): every notification is also a message for
//! each recipient user, with or without an e-mail address, mail on or off.

use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, Set};
use serde_json::json;

use crate::helpers::*;
use entity::{outbox, user};

async fn mail_recipients(app: &TestApp, case_id: i64, template: &str) -> Vec<String> {
    outbox::Entity::find()
        .filter(outbox::Column::CaseId.eq(case_id))
        .filter(outbox::Column::Template.eq(template))
        .all(&app.state.db)
        .await
        .unwrap()
        .iter()
        .flat_map(|r| serde_json::from_str::<Vec<String>>(&r.recipients).unwrap())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_notification_is_a_message_with_an_unread_count() {
    let app = spawn().await;
    let r = app.accepted_repair("ent_a", demo::REPAIRABLE).await;
    // Received and accepted: two messages for the applicant, both unread.
    let list = app.get("/api/v1/me/messages", &r.applicant).await.ok();
    assert_eq!(list["unread"], 2, "{list}");
    let subjects: Vec<&str> =
        list["items"].as_array().unwrap().iter().map(|m| m["subject"].as_str().unwrap()).collect();
    assert!(subjects.iter().any(|s| s.contains("已受理")), "{subjects:?}");
    let first = &list["items"][0];
    assert_eq!(first["case_id"], r.id);
    assert!(first["link"].as_str().unwrap().ends_with(&format!("/cases/{}", r.id)), "{first}");
    // The department officer got the routed case's message; the credit office the receipt.
    assert!(app.get("/api/v1/me/messages/unread", &r.officer).await.ok()["unread"].as_u64().unwrap() >= 1);
    assert!(app.get("/api/v1/me/messages/unread", &r.office).await.ok()["unread"].as_u64().unwrap() >= 1);

    // Read one: the count drops; nobody else can read it, nor sees it.
    let id = first["id"].as_i64().unwrap();
    let ent_b = app.login("ent_b").await;
    let theirs = app.get("/api/v1/me/messages", &ent_b).await.ok();
    assert!(theirs["items"].as_array().unwrap().iter().all(|m| m["case_id"] != r.id), "{theirs}");
    let officer_list = app.get("/api/v1/me/messages", &app.login("yjgl").await).await.ok();
    assert!(
        officer_list["items"].as_array().unwrap().iter().all(|m| m["case_id"] != r.id),
        "another department: {officer_list}"
    );
    app.post(&format!("/api/v1/me/messages/{id}/read"), &ent_b, json!({})).await.expect(404, "not_found");
    let m = app.post(&format!("/api/v1/me/messages/{id}/read"), &r.applicant, json!({})).await.ok();
    assert!(m["read_at"].is_string(), "{m}");
    assert_eq!(app.get("/api/v1/me/messages/unread", &r.applicant).await.ok()["unread"], 1);
    let unread = app.get("/api/v1/me/messages?unread=true", &r.applicant).await.ok();
    assert_eq!(unread["items"].as_array().unwrap().len(), 1, "{unread}");
    let all = app.post("/api/v1/me/messages/read", &r.applicant, json!({})).await.ok();
    assert_eq!(all["marked"], 1);
    assert_eq!(app.get("/api/v1/me/messages/unread", &r.applicant).await.ok()["unread"], 0);
    // Unauthenticated: refused.
    let res = app.request(reqwest::Method::GET, "/api/v1/me/messages", None, None).await;
    assert_eq!(res.status.as_u16(), 401);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn users_without_mail_or_with_mail_off_still_get_messages() {
    let app = spawn().await;
    // ent_a turns mail off; ent_c has no e-mail address at all.
    let ent_a = app.login("ent_a").await;
    let prefs = app.get("/api/v1/me/preferences", &ent_a).await.ok();
    assert_eq!(prefs["mail_enabled"], true);
    let res = app
        .request(reqwest::Method::PATCH, "/api/v1/me/preferences", Some(&ent_a), Some(json!({"mail_enabled": false})))
        .await;
    assert_eq!(res.ok()["mail_enabled"], false);
    let c = user::Entity::find().filter(user::Column::Username.eq("ent_c")).one(&app.state.db).await.unwrap().unwrap();
    let mut am: user::ActiveModel = c.into();
    am.email = Set(None);
    am.update(&app.state.db).await.unwrap();

    let a_case = id_of(&app.file(&ent_a, "repair", app.record_id(demo::REPAIRABLE).await).await);
    let ent_c = app.login("ent_c").await;
    let c_case = id_of(&app.file(&ent_c, "objection", app.record_id(demo::LIST_ENTRY).await).await);

    // No mail to either applicant; the credit office is still mailed.
    let a_to = mail_recipients(&app, a_case, "case_received").await;
    assert!(!a_to.iter().any(|x| x.starts_with("ent_a")), "{a_to:?}");
    assert!(a_to.iter().any(|x| x.starts_with("office")), "{a_to:?}");
    let c_to = mail_recipients(&app, c_case, "case_received").await;
    assert!(!c_to.iter().any(|x| x.starts_with("ent_c")), "{c_to:?}");
    // Both have the message in their list.
    for (token, case) in [(&ent_a, a_case), (&ent_c, c_case)] {
        let list = app.get("/api/v1/me/messages", token).await.ok();
        let items = list["items"].as_array().unwrap();
        assert!(items.iter().any(|m| m["case_id"] == case && m["template"] == "case_received"), "{list}");
    }
    // Mail back on: the next notification is mailed again.
    app.request(reqwest::Method::PATCH, "/api/v1/me/preferences", Some(&ent_a), Some(json!({"mail_enabled": true})))
        .await
        .ok();
    app.act(&ent_a, a_case, "withdraw", json!({})).await.ok();
    let to = mail_recipients(&app, a_case, "case_withdrawn").await;
    assert!(to.iter().any(|x| x.starts_with("ent_a")), "{to:?}");
}
