//! Delivery of sync messages to subscribers: signed HTTP POSTs to a receiver
//! on loopback, retries with backoff, dead after the configured tries and
//! re-sent by the credit office, order per record, event filters, folder
//! hand-over, two server processes, and who may manage subscribers.

use chrono::Duration;
use credit_repair::jobs::{self, TickReport};
use credit_repair::mailer::Mailer;
use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::*;
use crate::receiver::Receiver;

const SECRET: &str = "s3cret-key-for-the-platform";

async fn tick(app: &TestApp) -> TickReport {
    let mailer = Mailer::from_settings(&app.state.settings).expect("mailer");
    let r = jobs::tick(&app.state, &mailer, "worker-1").await.unwrap_or_else(|e| panic!("tick failed: {e:#}"));
    app.assert_records_consistent("after a tick").await;
    r
}

async fn subscribe(app: &TestApp, admin: &str, name: &str, url: &str, events: Value) -> Value {
    let body = json!({"name": name, "kind": "http", "target": url, "secret": SECRET, "events": events});
    let res = app.request(Method::POST, "/api/v1/admin/subscribers", Some(admin), Some(body)).await;
    assert_eq!(res.status.as_u16(), 201, "{}", res.body);
    res.body
}

async fn record_deliveries(app: &TestApp, token: &str, record_id: i64) -> Vec<Value> {
    app.get(&format!("/api/v1/records/{record_id}/deliveries"), token).await.ok().as_array().unwrap().clone()
}

/// The credit office approves ent_a's repair; returns (record id, case id, office token).
async fn approved_repair(app: &TestApp) -> (i64, i64, String) {
    let r = app.accepted_repair("ent_a", demo::REPAIRABLE).await;
    let case = app.act(&r.officer, r.id, "approve", json!({"comment": "已履行法定义务，同意修复"})).await.ok();
    assert_eq!(case["state"], "completed", "{case}");
    (r.record_id, r.id, r.office)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_repair_approval_is_delivered_once_signed_with_its_receipt() {
    let app = spawn().await;
    let admin = app.login("admin").await;
    let platform = Receiver::start(&[200]);
    let other = Receiver::start(&[200]);
    let sub = subscribe(&app, &admin, "信用中国（测试）", &platform.url, json!(["repair:completed"])).await;
    subscribe(&app, &admin, "只要异议", &other.url, json!(["objection:closed_resolved"])).await;
    let (record_id, case_id, office) = approved_repair(&app).await;

    let r = tick(&app).await;
    assert_eq!(r.sync_delivered, 1, "{r:?}");
    let got = platform.got();
    assert_eq!(got.len(), 1, "{got:?}");
    assert!(got[0].signed_with(SECRET), "signature does not verify: {:?}", got[0]);
    assert!(!got[0].signed_with("another-secret-of-16"), "a wrong key must not verify");
    let ts: i64 = got[0].timestamp.parse().unwrap();
    assert!((ts - credit_repair::clock::Clock::now(&*app.clock).timestamp()).abs() < 60, "{ts}");
    let body = got[0].json();
    assert_eq!(body["action"], "repair:completed", "{body}");
    assert_eq!(body["record_id"], record_id, "{body}");
    assert_eq!(body["subject_code"], demo::ENT_A, "{body}");
    // The subscriber filtered to other events gets nothing.
    assert!(other.got().is_empty(), "{:?}", other.got());

    // The receipt, per record and per case, and nothing sent twice.
    let list = record_deliveries(&app, &office, record_id).await;
    assert_eq!(list.len(), 1, "{list:?}");
    assert_eq!(list[0]["status"], "delivered", "{list:?}");
    assert_eq!(list[0]["http_status"], 200);
    assert_eq!(list[0]["subscriber_id"], sub["id"]);
    assert_eq!(list[0]["subscriber_name"], "信用中国（测试）");
    assert_eq!(list[0]["message_id"], got[0].message_id);
    assert!(list[0]["delivered_at"].is_string(), "{list:?}");
    let by_case = app.get(&format!("/api/v1/cases/{case_id}/deliveries"), &office).await.ok();
    assert_eq!(by_case.as_array().unwrap().len(), 1, "{by_case}");
    // The producing department sees its record's deliveries too; the applicant may not.
    let sthj = app.login("sthj").await;
    assert_eq!(record_deliveries(&app, &sthj, record_id).await.len(), 1);
    let ent_a = app.login("ent_a").await;
    let res = app.get(&format!("/api/v1/records/{record_id}/deliveries"), &ent_a).await;
    assert_eq!(res.status.as_u16(), 403, "{}", res.body);
    // The metrics count deliveries by status.
    let metrics = app.client.get(app.url("/metrics")).send().await.unwrap().text().await.unwrap();
    assert!(metrics.lines().any(|l| l == "credit_sync_deliveries{status=\"delivered\"} 1"), "{metrics}");
    tick(&app).await;
    app.clock.set(credit_repair::clock::Clock::now(&*app.clock) + Duration::days(1));
    tick(&app).await;
    assert_eq!(platform.got().len(), 1, "delivered once");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_delivery_is_retried_after_backoff_and_then_receipted() {
    let app = spawn().await;
    let admin = app.login("admin").await;
    let platform = Receiver::start(&[500, 200]);
    subscribe(&app, &admin, "省平台", &platform.url, json!(["*"])).await;
    let (record_id, _, office) = approved_repair(&app).await;

    let r = tick(&app).await;
    assert_eq!((r.sync_delivered, r.sync_failures), (0, 1), "{r:?}");
    let d = &record_deliveries(&app, &office, record_id).await[0];
    assert_eq!(d["status"], "failed", "{d}");
    assert_eq!(d["http_status"], 500, "{d}");
    assert_eq!(d["attempts"], 1, "{d}");
    assert!(d["last_error"].as_str().is_some_and(|e| e.contains("500")), "{d}");
    // Listed for the credit office among the failed ones.
    let failed = app.get("/api/v1/deliveries", &office).await.ok();
    assert!(failed.as_array().unwrap().iter().any(|x| x["id"] == d["id"]), "{failed}");

    // Not before the backoff (30 s, up to a quarter more).
    let now = credit_repair::clock::Clock::now(&*app.clock);
    app.clock.set(now + Duration::seconds(20));
    tick(&app).await;
    assert_eq!(platform.got().len(), 1);
    app.clock.set(now + Duration::seconds(40));
    let r = tick(&app).await;
    assert_eq!(r.sync_delivered, 1, "{r:?}");
    let got = platform.got();
    assert_eq!(got.len(), 2);
    assert_eq!(got[0].message_id, got[1].message_id, "the same message again");
    assert!(got[1].signed_with(SECRET));
    let d = &record_deliveries(&app, &office, record_id).await[0];
    assert_eq!(d["status"], "delivered", "{d}");
    assert_eq!(d["http_status"], 200, "{d}");
    assert_eq!(d["attempts"], 2, "{d}");
    assert!(d["last_error"].is_null(), "{d}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_receiver_that_never_accepts_ends_dead_and_the_credit_office_resends() {
    let app = spawn_with(Options {
        tweak: Some(Box::new(|s| {
            s.delivery.max_attempts = 3;
        })),
        ..Options::default()
    })
    .await;
    let admin = app.login("admin").await;
    let platform = Receiver::start(&[503]);
    subscribe(&app, &admin, "市平台", &platform.url, json!(["*"])).await;
    let (record_id, _, _) = approved_repair(&app).await;
    for _ in 0..5 {
        tick(&app).await;
        let now = credit_repair::clock::Clock::now(&*app.clock);
        app.clock.set(now + Duration::hours(2));
    }
    assert_eq!(platform.got().len(), 3, "three tries, then no more");
    let office = app.login("office").await;
    let d = record_deliveries(&app, &office, record_id).await.remove(0);
    assert_eq!(d["status"], "dead", "{d}");
    assert_eq!(d["attempts"], 3, "{d}");
    let dead = app.get("/api/v1/deliveries?status=dead", &office).await.ok();
    assert_eq!(dead.as_array().unwrap().len(), 1, "{dead}");
    app.get("/api/v1/deliveries?status=lost", &office).await.expect(422, "validation_failed");

    // The receiver is fixed; the credit office sends it again.
    platform.answer(200);
    let id = d["id"].as_i64().unwrap();
    let again = app.request(Method::POST, &format!("/api/v1/deliveries/{id}/resend"), Some(&office), None).await.ok();
    assert_eq!(again["status"], "pending", "{again}");
    assert_eq!(again["attempts"], 0, "{again}");
    let r = tick(&app).await;
    assert_eq!(r.sync_delivered, 1, "{r:?}");
    assert_eq!(platform.got().len(), 4);
    let d = record_deliveries(&app, &office, record_id).await.remove(0);
    assert_eq!(d["status"], "delivered", "{d}");
    // A delivered one is not re-sent; nothing else is failed.
    app.request(Method::POST, &format!("/api/v1/deliveries/{id}/resend"), Some(&office), None)
        .await
        .expect(409, "delivery_not_failed");
    app.request(Method::POST, "/api/v1/deliveries/999999/resend", Some(&office), None).await.expect(404, "not_found");
    let all = app.request(Method::POST, "/api/v1/deliveries/resend", Some(&office), None).await.ok();
    assert_eq!(all["resent"], 0, "{all}");
    // The re-send is in the audit trail with who did it.
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
    let events = entity::admin_event::Entity::find()
        .filter(entity::admin_event::Column::Action.eq("delivery_resent"))
        .all(&app.state.db)
        .await
        .unwrap();
    assert_eq!(events.len(), 1, "{events:?}");
    let me = app.get("/api/v1/me", &office).await.ok();
    assert_eq!(events[0].actor_user_id, me["id"].as_i64(), "{events:?}");
    assert!(events[0].detail.contains("\"dead\""), "{events:?}");
    // Departments and applicants do not manage deliveries.
    let sthj = app.login("sthj").await;
    let res = app.request(Method::POST, "/api/v1/deliveries/resend", Some(&sthj), None).await;
    assert_eq!(res.status.as_u16(), 403, "{}", res.body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_messages_for_one_record_arrive_in_order() {
    let app = spawn().await;
    let admin = app.login("admin").await;
    // The first message fails once: the second must wait behind it.
    let platform = Receiver::start(&[500, 200]);
    subscribe(&app, &admin, "省平台", &platform.url, json!(["*"])).await;
    let record_id = app.record_id(demo::LIST_ENTRY).await;
    let ent_c = app.login("ent_c").await;
    let office = app.login("office").await;
    let sthj = app.login("sthj").await;
    let id = id_of(&app.file(&ent_c, "objection", record_id).await);
    app.act(&office, id, "accept", json!({})).await.ok();
    let body = json!({"outcome": "maintained", "comment": "经核查信息无误，予以维持"});
    assert_eq!(app.act(&sthj, id, "verify", body).await.ok()["state"], "closed_resolved");

    tick(&app).await;
    let got = platform.got();
    assert_eq!(got.len(), 1, "the later message waits: {got:?}");
    let list = record_deliveries(&app, &office, record_id).await;
    assert_eq!(list.len(), 2, "{list:?}");
    assert_eq!(list[0]["status"], "failed", "{list:?}");
    assert_eq!(list[1]["status"], "pending", "{list:?}");

    app.clock.set(credit_repair::clock::Clock::now(&*app.clock) + Duration::minutes(5));
    let r = tick(&app).await;
    assert_eq!(r.sync_delivered, 2, "{r:?}");
    let got = platform.got();
    let actions: Vec<String> = got.iter().map(|g| g.json()["action"].as_str().unwrap().to_string()).collect();
    assert_eq!(actions, ["objection:with_department", "objection:with_department", "objection:closed_resolved"]);
    assert!(got[1].message_id < got[2].message_id, "{got:?}");
    assert!(got.iter().all(|g| g.signed_with(SECRET)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_server_processes_deliver_each_message_once() {
    let app = spawn().await;
    let admin = app.login("admin").await;
    let platform = Receiver::start(&[200]);
    subscribe(&app, &admin, "省平台", &platform.url, json!(["*"])).await;
    approved_repair(&app).await;
    let state2 = credit_repair::startup::build_state((*app.state.settings).clone(), app.clock.clone())
        .await
        .expect("second state");
    let (m1, m2) =
        (Mailer::from_settings(&app.state.settings).unwrap(), Mailer::from_settings(&state2.settings).unwrap());
    for _ in 0..3 {
        let (a, b) = tokio::join!(jobs::tick(&app.state, &m1, "worker-1"), jobs::tick(&state2, &m2, "worker-2"));
        a.unwrap_or_else(|e| panic!("worker-1: {e:#}"));
        b.unwrap_or_else(|e| panic!("worker-2: {e:#}"));
    }
    assert_eq!(platform.got().len(), 1, "{:?}", platform.got());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_folder_subscriber_gets_each_message_as_a_file() {
    let app = spawn().await;
    let admin = app.login("admin").await;
    let dir = app.data_dir.join("handover");
    let body = json!({"name": "离线交换", "kind": "folder", "target": dir.display().to_string()});
    let sub = app.request(Method::POST, "/api/v1/admin/subscribers", Some(&admin), Some(body)).await.ok();
    assert_eq!(sub["events"], json!(["*"]), "all events by default: {sub}");
    assert_eq!(sub["secret_set"], false, "{sub}");
    approved_repair(&app).await;
    tick(&app).await;
    let files: Vec<_> = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().path()).collect();
    assert_eq!(files.len(), 1, "{files:?}");
    let v: Value = serde_json::from_slice(&std::fs::read(&files[0]).unwrap()).unwrap();
    assert_eq!(v["action"], "repair:completed", "{v}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_administrators_manage_subscribers_and_the_secret_is_never_returned() {
    let app = spawn().await;
    let admin = app.login("admin").await;
    let ok = json!({"name": "信用中国", "kind": "http", "target": "https://platform.example/hook", "secret": SECRET});
    for user in ["office", "sthj", "ent_a"] {
        let token = app.login(user).await;
        let res = app.request(Method::POST, "/api/v1/admin/subscribers", Some(&token), Some(ok.clone())).await;
        assert_eq!(res.status.as_u16(), 403, "{user}: {}", res.body);
        let res = app.get("/api/v1/admin/subscribers", &token).await;
        assert_eq!(res.status.as_u16(), 403, "{user}: {}", res.body);
    }

    // Bad input: every problem at once, with stable codes and Chinese messages.
    let bad = json!({"name": " ", "kind": "http", "target": "ftp://x", "secret": "short", "events": ["Repair"]});
    let body = app.request(Method::POST, "/api/v1/admin/subscribers", Some(&admin), Some(bad)).await;
    let body = body.expect(422, "validation_failed");
    let codes: Vec<(String, String)> = body["fields"]
        .as_array()
        .unwrap_or_else(|| panic!("{body}"))
        .iter()
        .map(|e| (e["field"].as_str().unwrap().to_string(), e["code"].as_str().unwrap().to_string()))
        .collect();
    for want in
        [("name", "required"), ("target", "invalid_url"), ("secret", "secret_too_short"), ("events", "invalid_event")]
    {
        assert!(codes.contains(&(want.0.to_string(), want.1.to_string())), "{want:?} missing: {body}");
    }
    let bad = json!({"name": "x", "kind": "ftp", "target": "/tmp"});
    app.request(Method::POST, "/api/v1/admin/subscribers", Some(&admin), Some(bad))
        .await
        .expect(422, "validation_failed");
    let bad = json!({"name": "x", "kind": "folder", "target": "relative/dir"});
    app.request(Method::POST, "/api/v1/admin/subscribers", Some(&admin), Some(bad))
        .await
        .expect(422, "validation_failed");
    let bad = json!({"name": "x", "kind": "http", "target": "https://a.example", "secret": SECRET, "events": []});
    app.request(Method::POST, "/api/v1/admin/subscribers", Some(&admin), Some(bad))
        .await
        .expect(422, "validation_failed");

    let created = app.request(Method::POST, "/api/v1/admin/subscribers", Some(&admin), Some(ok.clone())).await;
    assert_eq!(created.status.as_u16(), 201, "{}", created.body);
    let sub = created.body;
    assert!(sub.get("secret").is_none() && !sub.to_string().contains(SECRET), "{sub}");
    assert_eq!(sub["secret_set"], true, "{sub}");
    assert_eq!(sub["active"], true, "{sub}");
    app.request(Method::POST, "/api/v1/admin/subscribers", Some(&admin), Some(ok))
        .await
        .expect(409, "subscriber_name_taken");
    let list = app.get("/api/v1/admin/subscribers", &admin).await.ok();
    assert!(!list.to_string().contains(SECRET), "{list}");

    // Disabled, with its events narrowed; the secret stays (not given).
    let id = sub["id"].as_i64().unwrap();
    let path = format!("/api/v1/admin/subscribers/{id}");
    let upd = json!({"active": false, "events": ["repair:completed", "repair:revoked"]});
    let sub = app.request(Method::PATCH, &path, Some(&admin), Some(upd)).await.ok();
    assert_eq!(sub["active"], false, "{sub}");
    assert_eq!(sub["secret_set"], true, "{sub}");
    assert_eq!(sub["events"], json!(["repair:completed", "repair:revoked"]), "{sub}");
    app.request(Method::PATCH, &path, Some(&admin), Some(json!({"secret": "x"})))
        .await
        .expect(422, "validation_failed");
    app.request(Method::PATCH, "/api/v1/admin/subscribers/99999", Some(&admin), Some(json!({"active": true})))
        .await
        .expect(404, "not_found");
    let office = app.login("office").await;
    let res = app.request(Method::PATCH, &path, Some(&office), Some(json!({"active": true}))).await;
    assert_eq!(res.status.as_u16(), 403, "{}", res.body);

    // Changes are audited, never with the secret.
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
    let events = entity::admin_event::Entity::find()
        .filter(entity::admin_event::Column::Target.eq(format!("subscriber:{id}")))
        .all(&app.state.db)
        .await
        .unwrap();
    let actions: Vec<&str> = events.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(actions, ["subscriber_created", "subscriber_updated"], "{events:?}");
    assert!(events.iter().all(|e| !e.detail.contains(SECRET)), "{events:?}");

    // A disabled subscriber gets nothing.
    approved_repair(&app).await;
    let r = tick(&app).await;
    assert_eq!((r.sync_delivered, r.sync_failures), (0, 0), "{r:?}");
}

/// A sender killed mid-send (its claim left behind) and a receiver that is
/// down across a restart: nothing is lost, the message arrives once the
/// receiver is back, and a claimed delivery is not sent by another sender
/// before its lease runs out.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nothing_is_lost_when_the_receiver_is_down_and_the_server_restarts() {
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, sea_query::Expr};
    let app = spawn().await;
    let admin = app.login("admin").await;
    // A port nobody listens on: the receiver is down.
    let down = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let down_url = format!("http://127.0.0.1:{}/hook", down.local_addr().unwrap().port());
    drop(down);
    let sub = subscribe(&app, &admin, "省平台", &down_url, json!(["*"])).await;
    let (record_id, _, _) = approved_repair(&app).await;
    let r = tick(&app).await;
    assert_eq!(r.sync_failures, 1, "{r:?}");

    // "Restart": a new server state on the same database; the receiver comes
    // back on another address, which the administrator enters.
    let platform = Receiver::start(&[200]);
    let state2 = credit_repair::startup::build_state((*app.state.settings).clone(), app.clock.clone())
        .await
        .expect("restarted state");
    let admin = app.login("admin").await;
    let path = format!("/api/v1/admin/subscribers/{}", sub["id"]);
    app.request(Method::PATCH, &path, Some(&admin), Some(json!({"target": platform.url}))).await.ok();

    // A sender claimed the delivery and died before it could send.
    let now = credit_repair::clock::Clock::now(&*app.clock) + Duration::minutes(5);
    app.clock.set(now);
    entity::delivery::Entity::update_many()
        .col_expr(entity::delivery::Column::Status, Expr::value("sending"))
        .col_expr(entity::delivery::Column::NextAttemptAt, Expr::value(now + Duration::seconds(70)))
        .filter(entity::delivery::Column::RecordId.eq(record_id))
        .exec(&state2.db)
        .await
        .unwrap();
    let m2 = Mailer::from_settings(&state2.settings).unwrap();
    let r = jobs::tick(&state2, &m2, "worker-2").await.unwrap();
    assert_eq!(r.sync_delivered, 0, "held by the lease: {r:?}");
    assert!(platform.got().is_empty());
    // The lease runs out: the restarted server sends it.
    app.clock.set(now + Duration::seconds(71));
    let r = jobs::tick(&state2, &m2, "worker-2").await.unwrap();
    assert_eq!(r.sync_delivered, 1, "{r:?}");
    let got = platform.got();
    assert_eq!(got.len(), 1, "{got:?}");
    assert!(got[0].signed_with(SECRET));
    let office = app.login("office").await;
    let d = record_deliveries(&app, &office, record_id).await.remove(0);
    assert_eq!(d["status"], "delivered", "{d}");
    assert_eq!(d["attempts"], 2, "one failed try and the delivery: {d}");
}

/// A receiver that does not answer within the timeout: a failure, retried.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_receiver_too_slow_for_the_timeout_is_retried() {
    let app = spawn_with(Options {
        tweak: Some(Box::new(|s| {
            s.delivery.timeout_seconds = 1;
        })),
        ..Options::default()
    })
    .await;
    let admin = app.login("admin").await;
    let platform = Receiver::start(&[0, 200]);
    subscribe(&app, &admin, "慢的平台", &platform.url, json!(["*"])).await;
    let (record_id, _, office) = approved_repair(&app).await;
    let r = tick(&app).await;
    assert_eq!(r.sync_failures, 1, "{r:?}");
    let d = record_deliveries(&app, &office, record_id).await.remove(0);
    assert_eq!(d["status"], "failed", "{d}");
    assert_eq!(d["last_error"], "接收方应答超时", "{d}");
    assert!(d["http_status"].is_null(), "{d}");
    app.clock.set(credit_repair::clock::Clock::now(&*app.clock) + Duration::minutes(1));
    let r = tick(&app).await;
    assert_eq!(r.sync_delivered, 1, "{r:?}");
    assert_eq!(platform.got().len(), 2);
}

/// A real server process sends to a platform that is down, is killed with
/// SIGKILL, and another process starts while the platform comes back: the
/// message is delivered once, with its receipt, nothing lost.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_server_process_loses_nothing_while_the_receiver_is_down() {
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
    let app = spawn().await;
    let admin = app.login("admin").await;
    let down = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let down_url = format!("http://127.0.0.1:{}/hook", down.local_addr().unwrap().port());
    drop(down);
    let sub = subscribe(&app, &admin, "信用中国", &down_url, json!(["*"])).await;
    let (record_id, _, _) = approved_repair(&app).await;
    // Short waits between tries, and a tick every second.
    let dir = TempDir(std::env::temp_dir().join(format!("credit-repair-kill-{}", uuid::Uuid::new_v4().simple())));
    std::fs::create_dir_all(&dir.0).unwrap();
    let config = dir.0.join("config.toml");
    std::fs::write(&config, "[delivery]\nbackoff_base_seconds = 1\nbackoff_max_seconds = 2\ntimeout_seconds = 2\n")
        .unwrap();
    let env = [("TICK_SECONDS", "1".to_string()), ("CONFIG_FILE", config.display().to_string())];
    let rows = || async {
        entity::delivery::Entity::find()
            .filter(entity::delivery::Column::RecordId.eq(record_id))
            .all(&app.state.db)
            .await
            .unwrap()
    };

    let mut first = crate::crash::start_with(&app, &dir.0, &env).await;
    let mut tried = false;
    for _ in 0..100 {
        if rows().await.iter().any(|d| d.attempts >= 2) {
            tried = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(tried, "the first process tried the platform: {:?}", rows().await);
    first.child.kill().expect("SIGKILL");
    first.child.wait().unwrap();
    let left = rows().await;
    assert_eq!(left.len(), 1, "{left:?}");
    assert_ne!(left[0].status, "delivered");

    // The platform is back (on a new address); a new process takes over.
    let platform = Receiver::start(&[200]);
    let path = format!("/api/v1/admin/subscribers/{}", sub["id"]);
    app.request(Method::PATCH, &path, Some(&admin), Some(json!({"target": platform.url}))).await.ok();
    let _second = crate::crash::start_with(&app, &dir.0, &env).await;
    for _ in 0..150 {
        if rows().await.iter().all(|d| d.status == "delivered") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let done = rows().await;
    assert_eq!(done[0].status, "delivered", "{done:?}");
    assert!(done[0].delivered_at.is_some());
    let got = platform.got();
    assert_eq!(got.len(), 1, "delivered once: {got:?}");
    assert!(got[0].signed_with(SECRET));
}

/// A tick delivers every due sync message, in rounds, not a fixed batch:
/// the subscriber sets the pace.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tick_delivers_every_due_sync_message_not_a_fixed_batch() {
    use entity::outbox;
    use sea_orm::{ActiveValue::NotSet, ColumnTrait, EntityTrait, IntoActiveModel, QueryFilter, Set};
    let app = spawn().await;
    let admin = app.login("admin").await;
    let platform = Receiver::start(&[200]);
    subscribe(&app, &admin, "省平台", &platform.url, json!(["*"])).await;
    approved_repair(&app).await;
    let template = outbox::Entity::find()
        .filter(outbox::Column::Kind.eq("sync"))
        .one(&app.state.db)
        .await
        .unwrap()
        .expect("the approval's sync message");
    let copies: Vec<outbox::ActiveModel> = (0..250)
        .map(|i| {
            let mut am = template.clone().into_active_model();
            am.id = NotSet;
            am.dedupe_key = Set(Some(format!("bulk-sync-{i}")));
            am
        })
        .collect();
    outbox::Entity::insert_many(copies).exec(&app.state.db).await.unwrap();
    let due = outbox::Entity::find().filter(outbox::Column::Kind.eq("sync")).all(&app.state.db).await.unwrap().len();
    assert!(due > 250, "{due}");
    let r = tick(&app).await;
    assert_eq!(r.sync_delivered as usize, due, "{r:?}");
    assert_eq!(platform.got().len(), due);
    // In message order.
    let ids: Vec<i64> = platform.got().iter().map(|g| g.message_id).collect();
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "{ids:?}");
}
