//! A real server process killed with SIGKILL in the middle of 500 concurrent
//! filings and a batch of approvals, then started again: every filing that
//! was answered exists exactly once and its retry returns it; no record's
//! publication ended without its repair completed, or the reverse; the audit
//! chain verifies; no outbox message was lost or doubled.

use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use serde_json::{Value, json};

use crate::helpers::*;
use entity::types::{CaseKind, PublicationStatus};
use entity::{case, outbox, record};

const FILINGS: usize = 500;
const APPROVALS: usize = 30;

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

pub struct Process {
    pub child: Child,
    pub base: String,
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn start(app: &TestApp, dir: &std::path::Path) -> Process {
    start_with(app, dir, &[]).await
}

/// The server binary on the test's database, with more environment (e.g. a
/// short `TICK_SECONDS` or a `CONFIG_FILE`); answered once `/healthz` is up.
pub async fn start_with(app: &TestApp, dir: &std::path::Path, env: &[(&str, String)]) -> Process {
    let port = free_port();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_credit-repair"));
    cmd.arg("serve")
        .env("DATABASE_URL", app.state.settings.effective_database_url())
        .env("DATA_DIR", dir)
        .env("HOST", "127.0.0.1")
        .env("PORT", port.to_string())
        .env("TICK_SECONDS", "3600")
        .env("JWT_SECRET", "crash-test-secret-crash-test-secret-crash")
        .env("RUST_LOG", "error");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.stdout(Stdio::null()).stderr(Stdio::null()).spawn().expect("start the server binary");
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::new();
    for _ in 0..200 {
        if client.get(format!("{base}/healthz")).send().await.is_ok_and(|r| r.status().is_success()) {
            return Process { child, base };
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let _ = child.kill();
    let _ = child.wait();
    panic!("the server process did not come up");
}

async fn login(base: &str, user: &str) -> String {
    let res: Value = reqwest::Client::new()
        .post(format!("{base}/api/v1/auth/login"))
        .json(&json!({"username": user, "password": PASSWORD}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    res["access_token"].as_str().unwrap_or_else(|| panic!("login {user}: {res}")).to_string()
}

async fn file(base: &str, token: &str, record_id: i64, key: &str) -> Option<(u16, Value)> {
    let res = reqwest::Client::new()
        .post(format!("{base}/api/v1/cases"))
        .bearer_auth(token)
        .header("Idempotency-Key", key)
        .json(&json!({"kind": "repair", "record_id": record_id, "reason": "已履行全部义务"}))
        .timeout(Duration::from_secs(30))
        .send()
        .await
        .ok()?;
    let status = res.status().as_u16();
    Some((status, res.json().await.ok()?))
}

/// A case's queued sync messages and decision mails.
async fn queued(app: &TestApp, id: i64) -> (u64, u64) {
    let count = |kind: Option<&'static str>, template: Option<&'static str>| {
        let mut q = outbox::Entity::find().filter(outbox::Column::CaseId.eq(id));
        if let Some(k) = kind {
            q = q.filter(outbox::Column::Kind.eq(k));
        }
        if let Some(t) = template {
            q = q.filter(outbox::Column::Template.eq(t));
        }
        q.count(&app.state.db)
    };
    (count(Some("sync"), None).await.unwrap(), count(None, Some("case_decided")).await.unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_killed_server_loses_and_doubles_nothing() {
    let app = spawn().await;
    let admin = app.login("admin").await;
    let subject = app.subject_id(&admin, demo::ENT_A).await;
    let dept = app.department_id(&admin, "区生态环境分局").await;
    // Records to file on (one open case per record), and accepted repairs to approve.
    let mut records = Vec::new();
    for i in 0..FILINGS + APPROVALS {
        let body = json!({
            "subject_id": subject, "department_id": dept, "record_type": "administrative_penalty",
            "title": format!("崩溃测试{i}"), "document_no": format!("崩溃〔2026〕{i}号"), "severity": "general",
            "decision_date": "2026-05-06",
        });
        records.push(id_of(&app.post("/api/v1/admin/records", &admin, body).await.ok()));
    }
    let ent_a = app.login("ent_a").await;
    let office = app.login("office").await;
    let mut accepted = Vec::new();
    for rec in &records[FILINGS..] {
        let id = id_of(&app.file(&ent_a, "repair", *rec).await);
        for kind in ["fulfilment_proof", "commitment_letter"] {
            app.upload_pdf(&ent_a, id, kind).await;
        }
        app.act(&office, id, "accept", json!({})).await.ok();
        accepted.push(id);
    }

    let dir = app.data_dir.join("crash");
    std::fs::create_dir_all(&dir).unwrap();
    let mut server = start(&app, &dir).await;
    let applicant = login(&server.base, "ent_a").await;
    let officer = login(&server.base, "sthj").await;

    // 500 filings (32 at a time) and the approvals, all in flight; SIGKILL when 150 filings were answered.
    let answered = Arc::new(std::sync::Mutex::new(Vec::<(usize, i64)>::new()));
    let gate = Arc::new(tokio::sync::Semaphore::new(32));
    let mut tasks = Vec::new();
    for (i, rec) in records[..FILINGS].iter().copied().enumerate() {
        let (base, token, answered, gate) = (server.base.clone(), applicant.clone(), answered.clone(), gate.clone());
        tasks.push(tokio::spawn(async move {
            let _permit = gate.acquire().await.unwrap();
            if let Some((status, body)) = file(&base, &token, rec, &format!("crash-{i}")).await
                && (200..300).contains(&status)
            {
                answered.lock().unwrap().push((i, body["id"].as_i64().unwrap()));
            }
        }));
    }
    // The approvals go out once filings are under way; the kill comes while they are in flight.
    for _ in 0..600 {
        if answered.lock().unwrap().len() >= 140 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    for &id in &accepted {
        let (base, token) = (server.base.clone(), officer.clone());
        tasks.push(tokio::spawn(async move {
            let _ = reqwest::Client::new()
                .post(format!("{base}/api/v1/cases/{id}/actions/approve"))
                .bearer_auth(&token)
                .json(&json!({"comment": "同意"}))
                .send()
                .await;
        }));
    }
    tokio::time::sleep(Duration::from_millis(150)).await;
    server.child.kill().expect("SIGKILL");
    let _ = server.child.wait();
    for t in tasks {
        let _ = t.await;
    }
    let answered = answered.lock().unwrap().clone();
    assert!(answered.len() >= 140 && answered.len() < FILINGS, "killed mid-way after {} answers", answered.len());
    let before = case::Entity::find().count(&app.state.db).await.unwrap();
    eprintln!("killed with {} of {FILINGS} filings answered ({before} cases in the database)", answered.len());

    // Started again: every answered filing is there once and its retry returns it.
    let server = start(&app, &dir).await;
    let applicant = login(&server.base, "ent_a").await;
    for (i, id) in &answered {
        let (status, body) = file(&server.base, &applicant, records[*i], &format!("crash-{i}")).await.unwrap();
        assert_eq!(status, 200, "retry of filing {i}: {body}");
        assert_eq!(body["id"].as_i64(), Some(*id), "filing {i}");
    }
    // The unanswered ones may be retried too: at most one case per record, ever.
    for (i, rec) in records[..FILINGS].iter().enumerate() {
        if answered.iter().any(|(j, _)| *j == i) {
            continue;
        }
        let (status, _) = file(&server.base, &applicant, *rec, &format!("crash-{i}")).await.unwrap();
        assert!(status == 200 || status == 201, "filing {i} retried: {status}");
    }
    for rec in &records {
        let n = case::Entity::find().filter(case::Column::RecordId.eq(*rec)).count(&app.state.db).await.unwrap();
        assert_eq!(n, 1, "record {rec} has {n} cases");
    }

    // Approvals: a completed repair ended its record's publication, and only a completed one did.
    for id in &accepted {
        let c = case::Entity::find_by_id(*id).one(&app.state.db).await.unwrap().unwrap();
        let r = record::Entity::find_by_id(c.record_id).one(&app.state.db).await.unwrap().unwrap();
        assert_eq!(c.kind, CaseKind::Repair);
        let completed = c.state == "completed";
        assert_eq!(
            completed,
            r.publication_status == PublicationStatus::Ended,
            "case {id} in {} / record {:?}",
            c.state,
            r.publication_status
        );
        // Nothing lost or doubled: one sync message and one decision mail per recipient group for a completed one.
        let (sync, decided) = queued(&app, *id).await;
        if completed {
            assert_eq!((sync, decided), (1, 2), "case {id}: sync and decision mails");
        } else {
            assert_eq!((sync, decided), (0, 0), "case {id}: nothing queued for an undecided case");
        }
    }
    let done = accepted.len() - {
        let mut open = 0;
        for id in &accepted {
            if case::Entity::find_by_id(*id).one(&app.state.db).await.unwrap().unwrap().state != "completed" {
                open += 1;
            }
        }
        open
    };
    eprintln!("{done} of {APPROVALS} approvals completed before the kill");
    app.assert_records_consistent("after the crash").await;

    // The department approves again what did not go through: each completes once, nothing is queued twice.
    let officer = login(&server.base, "sthj").await;
    for id in &accepted {
        let res = reqwest::Client::new()
            .post(format!("{}/api/v1/cases/{id}/actions/approve", server.base))
            .bearer_auth(&officer)
            .json(&json!({"comment": "同意"}))
            .send()
            .await
            .unwrap();
        let status = res.status().as_u16();
        assert!(status == 200 || status == 409, "approve {id} again: {status} {}", res.text().await.unwrap());
        let c = case::Entity::find_by_id(*id).one(&app.state.db).await.unwrap().unwrap();
        assert_eq!(c.state, "completed");
        let r = record::Entity::find_by_id(c.record_id).one(&app.state.db).await.unwrap().unwrap();
        assert_eq!(r.publication_status, PublicationStatus::Ended);
        let (sync, decided) = queued(&app, *id).await;
        assert_eq!((sync, decided), (1, 2), "case {id}: one sync, one decision mail per group");
    }
    app.assert_records_consistent("after the approvals were retried").await;
    drop(server);

    // The audit chain verifies (the binary's own check).
    let out = Command::new(env!("CARGO_BIN_EXE_credit-repair"))
        .arg("verify-audit")
        .env("DATABASE_URL", app.state.settings.effective_database_url())
        .env("DATA_DIR", &dir)
        .env("JWT_SECRET", "crash-test-secret-crash-test-secret-crash")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "verify-audit: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
