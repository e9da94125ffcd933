//! Case robustness: idempotency, concurrency, rollback, attachments, audit, definitions.

use std::path::{Path, PathBuf};
use std::process::Output;

use reqwest::Method;
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, Set};
use serde_json::{Value, json};

use crate::helpers::*;
use entity::{
    case, case_event, deadline, list_membership, outbox, record, record_event, sanction, workflow_definition,
};

// ------------------------------------------------------------- helpers ----

const CASES: &str = "/api/v1/cases";

#[track_caller]
fn status_is(resp: Resp, status: u16) -> Value {
    assert_eq!(resp.status.as_u16(), status, "body: {}", resp.body);
    resp.body
}

/// POST /api/v1/cases with an optional Idempotency-Key.
async fn file_case(app: &TestApp, token: &str, body: Value, key: Option<&str>) -> Resp {
    let mut req = app.client.post(app.url(CASES)).bearer_auth(token).json(&body);
    if let Some(k) = key {
        req = req.header("Idempotency-Key", k);
    }
    send(req).await
}

/// A raw body sent as JSON to the case endpoint.
async fn post_raw(app: &TestApp, token: &str, body: &'static str) -> Resp {
    send(app.client.post(app.url(CASES)).bearer_auth(token).header("content-type", "application/json").body(body)).await
}

/// Files a repair for `doc` as `applicant` and uploads both required materials.
async fn repair_submitted(app: &TestApp, applicant: &str, doc: &str) -> i64 {
    let token = app.login(applicant).await;
    let record_id = app.record_id(doc).await;
    let body = json!({"kind": "repair", "record_id": record_id, "reason": "已全部履行行政处罚决定，申请信用修复"});
    let case = status_is(file_case(app, &token, body, None).await, 201);
    let id = case["id"].as_i64().expect("case id");
    for kind in ["fulfilment_proof", "commitment_letter"] {
        let name = format!("{kind}.pdf");
        status_is(app.upload(&token, id, Some(kind), Some((&name, "application/pdf", pdf(600)))).await, 201);
    }
    id
}

async fn case_count(app: &TestApp) -> u64 {
    case::Entity::find().count(&app.state.db).await.unwrap()
}

async fn sync_rows(app: &TestApp, case_id: i64) -> u64 {
    outbox::Entity::find()
        .filter(outbox::Column::Kind.eq("sync"))
        .filter(outbox::Column::CaseId.eq(case_id))
        .count(&app.state.db)
        .await
        .unwrap()
}

async fn sanctions_of(app: &TestApp, record_id: i64) -> Vec<sanction::Model> {
    sanction::Entity::find()
        .filter(sanction::Column::RecordId.eq(record_id))
        .order_by_asc(sanction::Column::Id)
        .all(&app.state.db)
        .await
        .unwrap()
}

async fn lists_of(app: &TestApp, record_id: i64) -> Vec<list_membership::Model> {
    list_membership::Entity::find()
        .filter(list_membership::Column::RecordId.eq(record_id))
        .order_by_asc(list_membership::Column::Id)
        .all(&app.state.db)
        .await
        .unwrap()
}

fn history_actions(case: &Value) -> Vec<String> {
    case["history"]
        .as_array()
        .unwrap_or_else(|| panic!("history missing: {case}"))
        .iter()
        .map(|e| e["action"].as_str().unwrap().to_string())
        .collect()
}

/// Runs the server binary with `args` and `env`, in `cwd`, without any config file.
async fn run_binary(args: Vec<String>, env: Vec<(&'static str, String)>, cwd: PathBuf) -> Output {
    tokio::task::spawn_blocking(move || {
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_credit-repair"));
        cmd.args(&args).current_dir(&cwd).env_remove("CONFIG_FILE").env_remove("WORKFLOWS_DIR");
        for (k, v) in env {
            cmd.env(k, v);
        }
        cmd.output().expect("run credit-repair")
    })
    .await
    .unwrap()
}

/// A scratch directory removed on drop.
fn scratch_dir() -> TempDir {
    let dir = std::env::temp_dir().join(format!("credit-repair-robust-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    TempDir(dir)
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for e in entries {
        let p = e.unwrap().path();
        out.push(p.clone());
        if p.is_dir() {
            walk(&p, out);
        }
    }
}

// ------------------------------------------------------- 1. idempotency ----

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idempotent_retry_replays_the_same_case() {
    let app = spawn().await;
    let token = app.login("ent_a").await;
    let record_id = app.record_id(demo::REPAIRABLE).await;
    let body = json!({"kind": "repair", "record_id": record_id, "reason": "已履行全部义务"});
    let before = case_count(&app).await;

    let first = status_is(file_case(&app, &token, body.clone(), Some("retry-key-0001")).await, 201);
    let second = status_is(file_case(&app, &token, body.clone(), Some("retry-key-0001")).await, 200);
    assert!(first["id"].as_i64().is_some(), "{first}");
    assert_eq!(first["id"], second["id"]);
    assert_eq!(first["case_no"], second["case_no"]);
    assert_eq!(case_count(&app).await, before + 1, "a replay must not create a second case");

    // Same key, different content.
    let other = json!({"kind": "repair", "record_id": record_id, "reason": "另一份不同的申请理由"});
    file_case(&app, &token, other, Some("retry-key-0001")).await.expect(422, "idempotency_key_reused");
    assert_eq!(case_count(&app).await, before + 1);

    // A third identical retry still replays.
    let third = status_is(file_case(&app, &token, body, Some("retry-key-0001")).await, 200);
    assert_eq!(third["id"], first["id"]);
    assert_eq!(case_count(&app).await, before + 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_posts_with_one_key_create_one_case() {
    let app = spawn().await;
    let token = app.login("ent_a").await;
    let rounds =
        [("repair", demo::REPAIRABLE, "race-key-repair"), ("objection", demo::TOO_EARLY, "race-key-objection")];
    for (n, (kind, doc, key)) in rounds.into_iter().enumerate() {
        let record_id = app.record_id(doc).await;
        let mut body = json!({"kind": kind, "record_id": record_id, "reason": "并发重试测试"});
        if kind == "objection" {
            body["grounds"] = json!("wrong_identity");
        }
        let (a, b) =
            tokio::join!(file_case(&app, &token, body.clone(), Some(key)), file_case(&app, &token, body, Some(key)));
        let (sa, sb) = (a.status.as_u16(), b.status.as_u16());
        let mut statuses = [sa, sb];
        statuses.sort();
        assert_eq!(statuses, [200, 201], "{kind}: {sa} {} / {sb} {}", a.body, b.body);
        assert!(a.body["id"].as_i64().is_some(), "{}", a.body);
        assert_eq!(a.body["id"], b.body["id"], "{kind}");
        let rows = case::Entity::find().filter(case::Column::RecordId.eq(record_id)).all(&app.state.db).await.unwrap();
        assert_eq!(rows.len(), 1, "{kind}: exactly one case row for the record");
        assert_eq!(case_count(&app).await, n as u64 + 1);
    }
}

// ------------------------------------------------------- 2. concurrency ----

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_approvals_apply_once() {
    let app = spawn().await;
    let id = app.accepted_repair("ent_a", demo::REPAIRABLE).await.id;
    let record_id = app.record_id(demo::REPAIRABLE).await;
    assert_eq!(sanctions_of(&app, record_id).await.len(), 2, "demo record has two sanctions");
    let sthj = app.login("sthj").await;

    let (a, b) = tokio::join!(
        app.act(&sthj, id, "approve", json!({"comment": "同意修复"})),
        app.act(&sthj, id, "approve", json!({"comment": "同意修复"})),
    );
    let mut statuses = [a.status.as_u16(), b.status.as_u16()];
    statuses.sort();
    assert_eq!(statuses, [200, 409], "{} / {}", a.body, b.body);
    let (ok, conflict) = if a.status.as_u16() == 200 { (a, b) } else { (b, a) };
    assert_eq!(ok.body["state"], "completed", "{}", ok.body);
    assert!(!conflict.code().is_empty() && conflict.body["message"].as_str().is_some(), "{}", conflict.body);

    let case = app.get(&format!("{CASES}/{id}"), &sthj).await.ok();
    assert_eq!(case["state"], "completed");
    let approvals = history_actions(&case).iter().filter(|a| *a == "approve").count();
    assert_eq!(approvals, 1, "history: {}", case["history"]);

    let sanctions = sanctions_of(&app, record_id).await;
    assert_eq!(sanctions.len(), 2);
    let first_end = sanctions[0].ended_at.expect("sanction ended");
    for s in &sanctions {
        assert_eq!(s.status, "ended", "{s:?}");
        assert_eq!(s.ended_at, Some(first_end), "each sanction ended exactly once: {s:?}");
        assert_eq!(s.ended_case_id, Some(id), "{s:?}");
    }
    assert_eq!(sync_rows(&app, id).await, 1, "exactly one sync row");
    let rec = record::Entity::find_by_id(record_id).one(&app.state.db).await.unwrap().unwrap();
    assert_eq!(rec.publication_status, "ended");
}

// ---------------------------------------------------------- 3. rollback ----

/// Everything the approval of a repair touches.
#[derive(Debug, PartialEq)]
struct Snapshot {
    case: case::Model,
    history_len: usize,
    record: record::Model,
    sanctions: Vec<sanction::Model>,
    lists: Vec<list_membership::Model>,
    deadlines: Vec<deadline::Model>,
    outbox_rows: u64,
    case_events: u64,
    record_events: u64,
}

async fn snapshot(app: &TestApp, token: &str, case_id: i64) -> Snapshot {
    let db = &app.state.db;
    let c = case::Entity::find_by_id(case_id).one(db).await.unwrap().unwrap();
    let view = app.get(&format!("{CASES}/{case_id}"), token).await.ok();
    Snapshot {
        history_len: view["history"].as_array().unwrap().len(),
        record: record::Entity::find_by_id(c.record_id).one(db).await.unwrap().unwrap(),
        sanctions: sanctions_of(app, c.record_id).await,
        lists: lists_of(app, c.record_id).await,
        deadlines: deadline::Entity::find()
            .filter(deadline::Column::CaseId.eq(case_id))
            .order_by_asc(deadline::Column::Id)
            .all(db)
            .await
            .unwrap(),
        outbox_rows: outbox::Entity::find().count(db).await.unwrap(),
        case_events: case_event::Entity::find().count(db).await.unwrap(),
        record_events: record_event::Entity::find().count(db).await.unwrap(),
        case: c,
    }
}

/// Makes the database refuse to end any sanction (a real failure inside the
/// transition's transaction, after the case moved and publication ended).
async fn refuse_ending_sanctions(app: &TestApp) {
    use sea_orm::ConnectionTrait;
    let db = &app.state.db;
    let sql: &[&str] = match db.get_database_backend() {
        sea_orm::DatabaseBackend::Postgres => &[
            "CREATE FUNCTION refuse_sanction_end() RETURNS trigger LANGUAGE plpgsql AS $$ \
             BEGIN RAISE EXCEPTION 'sanctions cannot end (test)'; END $$",
            "CREATE TRIGGER refuse_sanction_end BEFORE UPDATE ON sanctions FOR EACH ROW \
             WHEN (NEW.status = 'ended') EXECUTE FUNCTION refuse_sanction_end()",
        ],
        _ => &["CREATE TRIGGER refuse_sanction_end BEFORE UPDATE OF status ON sanctions \
                WHEN NEW.status = 'ended' BEGIN SELECT RAISE(ABORT, 'sanctions cannot end (test)'); END"],
    };
    for s in sql {
        db.execute_unprepared(s).await.expect("install failing trigger");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failing_effect_rolls_back_everything() {
    let app = spawn().await;
    refuse_ending_sanctions(&app).await;
    // Both demo repairs: one with sanctions only, one also on a list.
    for (applicant, doc) in [("ent_a", demo::REPAIRABLE), ("ent_c", demo::LIST_ENTRY)] {
        let id = app.accepted_repair(applicant, doc).await.id;
        let sthj = app.login("sthj").await;
        let before = snapshot(&app, &sthj, id).await;
        assert_eq!(before.case.state, "with_department");
        assert_eq!(before.record.publication_status, "published");
        assert!(!before.sanctions.is_empty() && before.sanctions.iter().all(|s| s.status == "active"), "{doc}");
        assert!(before.lists.iter().all(|l| l.status == "active"), "{doc}");
        if doc == demo::LIST_ENTRY {
            assert_eq!(before.lists.len(), 1, "the list entry is on one list");
        }

        app.act(&sthj, id, "approve", json!({"comment": "同意修复"})).await.expect(500, "internal_error");

        let after = snapshot(&app, &sthj, id).await;
        assert_eq!(after.case.state, "with_department", "{doc}");
        assert_eq!(after.case.version, before.case.version, "{doc}");
        assert_eq!(after.history_len, before.history_len, "{doc}");
        assert_eq!(after.record.publication_status, "published", "{doc}");
        assert_eq!(after.record.version, before.record.version, "{doc}");
        assert!(after.sanctions.iter().all(|s| s.status == "active" && s.ended_at.is_none()), "{doc}");
        assert!(after.lists.iter().all(|l| l.status == "active" && l.ended_at.is_none()), "{doc}");
        assert_eq!(after.outbox_rows, before.outbox_rows, "{doc}");
        assert_eq!(after.case_events, before.case_events, "{doc}");
        assert_eq!(after, before, "{doc}: nothing may change");

        // The case can still be acted on (the failure left no lock or half state).
        let view = app.get(&format!("{CASES}/{id}"), &sthj).await.ok();
        assert!(view["actions"].as_array().unwrap().iter().any(|a| a["name"] == "approve"), "{view}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn approval_without_failure_completes() {
    let app = spawn().await;
    for (applicant, doc) in [("ent_a", demo::REPAIRABLE), ("ent_c", demo::LIST_ENTRY)] {
        let id = app.accepted_repair(applicant, doc).await.id;
        let sthj = app.login("sthj").await;
        let before = snapshot(&app, &sthj, id).await;
        let case = app.act(&sthj, id, "approve", json!({"comment": "同意修复"})).await.ok();
        assert_eq!(case["state"], "completed", "{case}");
        assert_eq!(case["version"], before.case.version + 1);
        let after = snapshot(&app, &sthj, id).await;
        assert_eq!(after.case.state, "completed");
        assert!(after.case.closed_at.is_some());
        assert_eq!(after.history_len, before.history_len + 1);
        assert_eq!(after.record.publication_status, "ended", "{doc}");
        assert!(after.sanctions.iter().all(|s| s.status == "ended" && s.ended_case_id == Some(id)), "{doc}");
        assert!(after.lists.iter().all(|l| l.status == "ended"), "{doc}");
        assert_eq!(after.lists.len(), before.lists.len());
        assert!(after.outbox_rows > before.outbox_rows);
        assert_eq!(after.case_events, before.case_events + 1);
        assert_eq!(sync_rows(&app, id).await, 1);
    }
}

// ------------------------------------------------------- 4. attachments ----

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn attachments_are_checked_by_content() {
    let app = spawn().await;
    let token = app.login("ent_a").await;
    let record_id = app.record_id(demo::REPAIRABLE).await;
    let case = status_is(
        file_case(&app, &token, json!({"kind": "repair", "record_id": record_id, "reason": "已履行"}), None).await,
        201,
    );
    let id = case["id"].as_i64().unwrap();

    // A text file, even named and declared as a PDF.
    let text = b"just some plain text, not a pdf".to_vec();
    app.upload(&token, id, Some("fulfilment_proof"), Some(("proof.pdf", "application/pdf", text)))
        .await
        .expect(415, "unsupported_media_type");
    app.upload(&token, id, Some("fulfilment_proof"), Some(("notes.txt", "text/plain", b"hello".to_vec())))
        .await
        .expect(415, "unsupported_media_type");

    // Unknown kind, missing file, missing kind.
    let body = app
        .upload(&token, id, Some("selfie"), Some(("a.pdf", "application/pdf", pdf(100))))
        .await
        .expect(422, "validation_failed");
    assert_eq!(body["fields"][0]["field"], "kind", "{body}");
    let body = app.upload(&token, id, Some("fulfilment_proof"), None).await.expect(422, "validation_failed");
    assert_eq!(body["fields"][0]["field"], "file", "{body}");
    let body = app
        .upload(&token, id, None, Some(("a.pdf", "application/pdf", pdf(100))))
        .await
        .expect(422, "validation_failed");
    assert_eq!(body["fields"][0]["field"], "kind", "{body}");

    // A valid PDF with a distinctive client file name.
    let bytes = pdf(3000);
    let client_name = "客户文件-ZZTOPSECRETNAME.pdf";
    let created = status_is(
        app.upload(
            &token,
            id,
            Some("fulfilment_proof"),
            Some((client_name, "application/octet-stream", bytes.clone())),
        )
        .await,
        201,
    );
    let aid = created["id"].as_i64().expect("attachment id");
    assert_eq!(created["content_type"], "application/pdf");
    assert_eq!(created["size"], bytes.len() as i64);
    let sha = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(&bytes));
    assert_eq!(created["sha256"], sha);
    assert_eq!(created["download_url"], format!("{CASES}/{id}/attachments/{aid}"));

    // Listed on the case.
    let view = app.get(&format!("{CASES}/{id}"), &token).await.ok();
    let listed = view["attachments"].as_array().unwrap();
    let entry = listed.iter().find(|a| a["id"] == aid).unwrap_or_else(|| panic!("not listed: {view}"));
    assert_eq!(entry["sha256"], sha);
    assert_eq!(entry["kind"], "fulfilment_proof");
    assert_eq!(listed.len(), 1, "rejected uploads must not be listed: {view}");

    // Download: same bytes, typed by content.
    let res =
        app.client.get(app.url(&format!("{CASES}/{id}/attachments/{aid}"))).bearer_auth(&token).send().await.unwrap();
    assert_eq!(res.status().as_u16(), 200);
    let ct = res.headers().get("content-type").unwrap().to_str().unwrap().to_string();
    assert!(ct.starts_with("application/pdf"), "{ct}");
    let cd = res.headers().get("content-disposition").map(|v| v.to_str().unwrap_or("").to_string());
    assert!(!cd.unwrap_or_default().contains("ZZTOPSECRETNAME"), "client name must not be echoed as a file name");
    assert_eq!(res.bytes().await.unwrap().to_vec(), bytes);

    // The office may download too; the producing department only once the
    // case is routed to it.
    let download = |who: &'static str| {
        let app = &app;
        async move {
            let t = app.login(who).await;
            let res = app.client.get(app.url(&format!("{CASES}/{id}/attachments/{aid}"))).bearer_auth(&t).send().await;
            res.unwrap().status().as_u16()
        }
    };
    assert_eq!(download("office").await, 200);
    assert_eq!(download("sthj").await, 404, "not routed yet");

    // Stored under its hash, never under the client's name.
    let root = app.data_dir.join("attachments");
    let blob = root.join(&sha[..2]).join(&sha);
    assert_eq!(std::fs::read(&blob).expect("blob stored by hash"), bytes);
    let mut all = Vec::new();
    walk(&root, &mut all);
    assert!(!all.is_empty());
    for p in &all {
        let s = p.to_string_lossy();
        assert!(!s.contains("ZZTOPSECRETNAME") && !s.contains("客户文件"), "client name on disk: {s}");
        assert!(!s.ends_with(".tmp"), "temporary file left behind: {s}");
    }

    // Other applicants and other departments see nothing.
    for who in ["ent_b", "ent_c", "scjg"] {
        let t = app.login(who).await;
        app.get(&format!("{CASES}/{id}/attachments/{aid}"), &t).await.expect(404, "not_found");
        let r = app.upload(&t, id, Some("evidence"), Some(("x.pdf", "application/pdf", pdf(100)))).await;
        assert!(r.status.as_u16() == 404 || r.status.as_u16() == 403, "{who}: {} {}", r.status, r.body);
    }
    // An attachment id of another case is not reachable through this case.
    app.get(&format!("{CASES}/{id}/attachments/{}", aid + 1000), &token).await.expect(404, "not_found");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_attachment_is_rejected() {
    let app = spawn_with(Options {
        tweak: Some(Box::new(|s: &mut credit_repair::config::Settings| s.max_attachment_bytes = 1024)),
        ..Default::default()
    })
    .await;
    let token = app.login("ent_a").await;
    let record_id = app.record_id(demo::REPAIRABLE).await;
    let case = status_is(
        file_case(&app, &token, json!({"kind": "repair", "record_id": record_id, "reason": "已履行"}), None).await,
        201,
    );
    let id = case["id"].as_i64().unwrap();
    app.upload(&token, id, Some("fulfilment_proof"), Some(("big.pdf", "application/pdf", pdf(2048))))
        .await
        .expect(413, "payload_too_large");
    let view = app.get(&format!("{CASES}/{id}"), &token).await.ok();
    assert!(view["attachments"].as_array().unwrap().is_empty(), "{view}");
    let mut stored = Vec::new();
    walk(&app.data_dir.join("attachments"), &mut stored);
    assert!(stored.iter().all(|p| p.is_dir()), "nothing stored: {stored:?}");
    // At the limit it is accepted.
    status_is(
        app.upload(&token, id, Some("fulfilment_proof"), Some(("ok.pdf", "application/pdf", pdf(1024)))).await,
        201,
    );
}

// -------------------------------------------------------- 5. audit chain ----

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verify_audit_detects_tampering() {
    let app = spawn().await;
    // #1 submit, #2 and #3 attach, #4 accept (with a comment), #5 approve.
    let id = app.accepted_repair("ent_a", demo::REPAIRABLE).await.id;
    let sthj = app.login("sthj").await;
    app.act(&sthj, id, "approve", json!({"comment": "同意修复"})).await.ok();
    // A second case, so the check spans several chains.
    let other = repair_submitted(&app, "ent_c", demo::LIST_ENTRY).await;
    assert_ne!(other, id);

    let env = || {
        vec![
            ("DATABASE_URL", app.state.settings.effective_database_url()),
            ("DATA_DIR", app.data_dir.display().to_string()),
        ]
    };
    let out = run_binary(vec!["verify-audit".into()], env(), app.data_dir.clone()).await;
    let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert_eq!(out.status.code(), Some(0), "stdout: {stdout}\nstderr: {stderr}");

    let db = &app.state.db;
    let c = case::Entity::find_by_id(id).one(db).await.unwrap().unwrap();
    let ev = case_event::Entity::find()
        .filter(case_event::Column::CaseId.eq(id))
        .filter(case_event::Column::Seq.eq(4))
        .one(db)
        .await
        .unwrap()
        .expect("event #4");
    assert_eq!(ev.action, "accept");
    assert!(ev.comment.is_some());
    let mut am: case_event::ActiveModel = ev.into();
    am.comment = Set(Some("材料不齐，但仍予以受理".into()));
    am.update(db).await.unwrap();

    let out = run_binary(vec!["verify-audit".into()], env(), app.data_dir.clone()).await;
    let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert_eq!(out.status.code(), Some(3), "stdout: {stdout}\nstderr: {stderr}");
    assert!(stderr.contains(&c.case_no), "case_no {} missing: {stderr}", c.case_no);
    assert!(stderr.contains("#4"), "event number missing: {stderr}");
    assert!(!stderr.contains("#5") && !stderr.contains("#1 ") && !stderr.contains("#1:"), "{stderr}");
}

/// `credit-repair check-records` over a database after a walk through both
/// kinds of case finds nothing; a record broken behind the server's back is
/// named with what is wrong.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_records_finds_nothing_after_a_walk_and_names_a_broken_record() {
    let app = spawn().await;
    let repair = app.accepted_repair("ent_a", demo::REPAIRABLE).await;
    app.act(&repair.officer, repair.id, "approve", json!({"comment": "同意修复"})).await.ok();
    let ent_c = app.login("ent_c").await;
    let list_entry = app.record_id(demo::LIST_ENTRY).await;
    let objection = id_of(&app.file(&ent_c, "objection", list_entry).await);
    app.act(&repair.office, objection, "accept", json!({})).await.ok();

    let env = || {
        vec![
            ("DATABASE_URL", app.state.settings.effective_database_url()),
            ("DATA_DIR", app.data_dir.display().to_string()),
        ]
    };
    let out = run_binary(vec!["check-records".into()], env(), app.data_dir.clone()).await;
    let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert_eq!(out.status.code(), Some(0), "stdout: {stdout}\nstderr: {stderr}");
    assert!(stdout.contains("7 records checked"), "{stdout}");

    // From here on the database is changed behind the server's back (no more requests).
    // The repaired record marked deleted yet published again.
    let db = &app.state.db;
    let rec = entity::record::Entity::find_by_id(repair.record_id).one(db).await.unwrap().unwrap();
    let mut am: entity::record::ActiveModel = rec.into();
    am.deleted = Set(true);
    am.publication_status = Set(entity::types::PublicationStatus::Published);
    am.update(db).await.unwrap();
    let out = run_binary(vec!["check-records".into()], env(), app.data_dir.clone()).await;
    let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert_eq!(out.status.code(), Some(4), "stdout: {stdout}\nstderr: {stderr}");
    assert!(stderr.contains(demo::REPAIRABLE) && stderr.contains("deleted_but_published"), "{stderr}");
    // The objection on the list entry is marked; take the mark away.
    let listed = entity::record::Entity::find_by_id(list_entry).one(db).await.unwrap().unwrap();
    assert!(listed.objection_open);
    let mut am: entity::record::ActiveModel = listed.into();
    am.objection_open = Set(false);
    am.objection_case_id = Set(None);
    am.update(db).await.unwrap();
    let out = run_binary(vec!["check-records".into()], env(), app.data_dir.clone()).await;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(4), "{stderr}");
    assert!(stderr.contains("missing_mark") && stderr.contains(demo::LIST_ENTRY), "{stderr}");
    assert!(stderr.contains("2 of 7 records inconsistent"), "{stderr}");
}

// ---------------------------------------------------- 6. check-workflows ----

async fn check_workflows(dir: &Path) -> (Option<i32>, String, String) {
    let out =
        run_binary(vec!["check-workflows".into(), dir.display().to_string()], Vec::new(), dir.to_path_buf()).await;
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_workflows_reports_file_and_state() {
    let originals = Path::new(env!("CARGO_MANIFEST_DIR")).join("workflows");
    let (code, stdout, stderr) = check_workflows(&originals).await;
    assert_eq!(code, Some(0), "stdout: {stdout}\nstderr: {stderr}");
    assert!(stdout.contains("objection.toml") && stdout.contains("repair.toml"), "{stdout}");

    let source = std::fs::read_to_string(originals.join("objection.toml")).unwrap();

    // `withdrawn` turned into an open state with no way out.
    let terminal = "[states.withdrawn]\ntitle = \"已撤回\"\nterminal = true\nresult = \"已撤回\"\n";
    let open = "[states.withdrawn]\ntitle = \"已撤回\"\nowner = \"applicant\"\ndeadline = { working_days = 2 }\n";
    assert!(source.contains(terminal), "objection.toml layout changed");
    let stuck = source.replace(terminal, open);
    let dir = scratch_dir();
    std::fs::write(dir.0.join("objection.toml"), stuck).unwrap();
    let (code, stdout, stderr) = check_workflows(&dir.0).await;
    assert_eq!(code, Some(2), "stdout: {stdout}\nstderr: {stderr}");
    assert!(stderr.contains("objection.toml"), "{stderr}");
    assert!(stderr.contains("withdrawn"), "{stderr}");
    assert!(stderr.contains("no way out"), "{stderr}");
    assert!(!stderr.contains("repair.toml"), "repair.toml is fine: {stderr}");

    // An unknown effect kind in `accept` (from `submitted`).
    let effect = "{ kind = \"route_to_department\" }";
    assert!(source.contains(effect));
    let unknown = source.replacen(effect, "{ kind = \"teleport_case\" }", 1);
    let dir = scratch_dir();
    std::fs::write(dir.0.join("objection.toml"), unknown).unwrap();
    let (code, stdout, stderr) = check_workflows(&dir.0).await;
    assert_eq!(code, Some(2), "stdout: {stdout}\nstderr: {stderr}");
    assert!(stderr.contains("objection.toml"), "{stderr}");
    assert!(stderr.contains("submitted"), "{stderr}");
    assert!(stderr.contains("teleport_case"), "{stderr}");

    // An unchanged copy passes.
    let dir = scratch_dir();
    std::fs::write(dir.0.join("objection.toml"), &source).unwrap();
    let (code, stdout, stderr) = check_workflows(&dir.0).await;
    assert_eq!(code, Some(0), "stdout: {stdout}\nstderr: {stderr}");
}

// ------------------------------------------------- 7. pinned definitions ----

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cases_are_pinned_to_their_definition() {
    let app = spawn().await;
    let token = app.login("ent_a").await;
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    let filings = [("repair", demo::REPAIRABLE), ("objection", demo::TOO_EARLY)];
    for (kind, doc) in filings {
        let record_id = app.record_id(doc).await;
        let mut body = json!({"kind": kind, "record_id": record_id, "reason": "理由"});
        if kind == "objection" {
            body["grounds"] = json!("other");
        }
        let created = status_is(file_case(&app, &token, body, None).await, 201);
        let id = created["id"].as_i64().unwrap();
        let view = app.get(&format!("{CASES}/{id}"), &token).await.ok();
        assert_eq!(view["workflow_id"], kind, "{view}");
        let version = app.state.workflows.current(kind).unwrap().version;
        assert_eq!(view["workflow_version"], version, "{view}");
        let hash = view["workflow_hash"].as_str().unwrap_or_else(|| panic!("hash missing: {view}"));
        assert_eq!(hash.len(), 64, "{hash}");
        assert!(hash.chars().all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase()), "{hash}");

        let stored = workflow_definition::Entity::find()
            .filter(workflow_definition::Column::WorkflowId.eq(kind))
            .all(&app.state.db)
            .await
            .unwrap();
        assert_eq!(stored.len(), 1, "{kind}");
        assert_eq!(stored[0].hash, hash);
        assert_eq!(stored[0].version as u32, version);
        let file = std::fs::read_to_string(manifest.join("workflows").join(format!("{kind}.toml"))).unwrap();
        assert_eq!(stored[0].source, file);
        assert_eq!(hex::encode(<sha2::Sha256 as sha2::Digest>::digest(file.as_bytes())), hash);

        let row = case::Entity::find_by_id(id).one(&app.state.db).await.unwrap().unwrap();
        assert_eq!(row.workflow_hash, hash);
        assert_eq!(row.workflow_version as u32, version);
        // The submit event records the definition too.
        assert_eq!(view["history"][0]["inputs"]["workflow"]["hash"], hash, "{view}");
    }
}

// ------------------------------------------------------- 8. bad input ----

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_on_case_endpoints() {
    let app = spawn().await;
    let token = app.login("ent_a").await;
    let record_id = app.record_id(demo::REPAIRABLE).await;
    let before = case_count(&app).await;

    post_raw(&app, &token, "{\"kind\": \"repair\", ").await.expect(400, "invalid_json");
    post_raw(&app, &token, "not json at all").await.expect(400, "invalid_json");
    let body = json!({"kind": "repair", "record_id": record_id, "reason": "理由", "priority": "high"});
    let r = file_case(&app, &token, body, None).await;
    assert_eq!(r.status.as_u16(), 400, "unknown field: {}", r.body);
    assert!(!r.code().is_empty());
    let body = json!({"kind": "repair", "record_id": record_id.to_string(), "reason": "理由"});
    let r = file_case(&app, &token, body, None).await;
    assert_eq!(r.status.as_u16(), 400, "record_id as string: {}", r.body);
    assert!(!r.code().is_empty());
    let r = file_case(&app, &token, json!({"kind": "repair", "reason": "理由"}), None).await;
    assert_eq!(r.status.as_u16(), 400, "record_id missing: {}", r.body);

    for reason in [String::new(), "   \n\t ".to_string(), "字".repeat(2001), "a".repeat(2001)] {
        let body = json!({"kind": "repair", "record_id": record_id, "reason": reason});
        let err = file_case(&app, &token, body, None).await.expect(422, "validation_failed");
        assert_eq!(err["fields"][0]["field"], "reason", "{err}");
    }
    let body = json!({"kind": "complaint", "record_id": record_id, "reason": "理由"});
    let err = file_case(&app, &token, body, None).await.expect(422, "validation_failed");
    assert_eq!(err["fields"][0]["field"], "kind", "{err}");
    let body = json!({"kind": "repair", "record_id": 99_999_999, "reason": "理由"});
    file_case(&app, &token, body, None).await.expect(404, "not_found");
    assert_eq!(case_count(&app).await, before, "no case from bad input");

    // Exactly 2000 characters is fine.
    let body = json!({"kind": "repair", "record_id": record_id, "reason": "字".repeat(2000)});
    let case = status_is(file_case(&app, &token, body, None).await, 201);
    let id = case["id"].as_i64().unwrap();

    app.get(&format!("{CASES}/99999999"), &token).await.expect(404, "not_found");
    app.get(&format!("{CASES}/abc"), &token).await.expect(404, "not_found");
    app.act(&token, 99_999_999, "withdraw", json!({})).await.expect(404, "not_found");
    let office = app.login("office").await;
    app.act(&office, id, "frobnicate", json!({})).await.expect(404, "not_found");
    app.act(&token, id, "frobnicate", json!({})).await.expect(404, "not_found");
    // Another applicant cannot see the case.
    let other = app.login("ent_b").await;
    app.get(&format!("{CASES}/{id}"), &other).await.expect(404, "not_found");
    // Bad action bodies.
    let r = app
        .request(Method::POST, &format!("{CASES}/{id}/actions/accept"), Some(&office), Some(json!({"bogus": 1})))
        .await;
    assert_eq!(r.status.as_u16(), 400, "{}", r.body);
    let r = send(
        app.client
            .post(app.url(&format!("{CASES}/{id}/actions/accept")))
            .bearer_auth(&office)
            .header("content-type", "application/json")
            .body("{broken"),
    )
    .await;
    r.expect(400, "invalid_json");
    // No body at all is fine: the action is judged on its merits.
    let r = send(app.client.post(app.url(&format!("{CASES}/{id}/actions/accept"))).bearer_auth(&office)).await;
    r.expect(409, "materials_missing");
    // The case is untouched.
    let view = app.get(&format!("{CASES}/{id}"), &token).await.ok();
    assert_eq!(view["state"], "submitted");
    assert_eq!(view["version"], 1);
}
