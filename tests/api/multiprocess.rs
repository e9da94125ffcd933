//! Two real server processes (the built binary, `serve`) on one database,
//! ticking every second: every due item is processed exactly once.

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use chrono::Utc;
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, sea_query::Expr};
use serde_json::json;

use crate::helpers::*;

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start_server(app: &TestApp, dir: &std::path::Path) -> Server {
    let child = Command::new(env!("CARGO_BIN_EXE_credit-repair"))
        .arg("serve")
        .env("DATABASE_URL", app.state.settings.effective_database_url())
        .env("DATA_DIR", dir)
        .env("PORT", "0")
        .env("TICK_SECONDS", "1")
        .env("JWT_SECRET", "multi-process-test-secret-multi-process")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start server process");
    Server(child)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_processes_process_each_due_item_once() {
    use entity::{case_event, deadline, outbox};
    let app = spawn().await;
    let office = app.login("office").await;
    // Three objections, accepted: each waits with its department.
    let mut ids = Vec::new();
    for (user, doc) in [("ent_a", demo::REPAIRABLE), ("ent_a", demo::TOO_EARLY), ("ent_c", demo::LIST_ENTRY)] {
        let token = app.login(user).await;
        let id = id_of(&app.file(&token, "objection", app.record_id(doc).await).await);
        app.act(&office, id, "accept", json!({})).await.ok();
        ids.push(id);
    }
    // Their department deadlines ran out an hour ago (the processes use the real clock).
    deadline::Entity::update_many()
        .col_expr(deadline::Column::DueAt, Expr::value(Utc::now() - chrono::Duration::hours(1)))
        .filter(deadline::Column::CaseId.is_in(ids.clone()))
        .filter(deadline::Column::Kind.eq("step"))
        .filter(deadline::Column::Status.eq("running"))
        .exec(&app.state.db)
        .await
        .unwrap();

    let shared = app.data_dir.join("processes");
    std::fs::create_dir_all(&shared).unwrap();
    let a = start_server(&app, &shared);
    let b = start_server(&app, &shared);
    // Wait until both processes have ticked a few times and the overdue mails went out.
    let mut done = false;
    for _ in 0..60 {
        tokio::time::sleep(Duration::from_millis(500)).await;
        let pending =
            outbox::Entity::find().filter(outbox::Column::Status.ne("sent")).count(&app.state.db).await.unwrap();
        let overdue = case_event::Entity::find()
            .filter(case_event::Column::Action.eq("deadline_overdue"))
            .count(&app.state.db)
            .await
            .unwrap();
        if overdue >= ids.len() as u64 && pending == 0 {
            done = true;
            break;
        }
    }
    // Let both tick a few more times: nothing must be processed again.
    tokio::time::sleep(Duration::from_secs(3)).await;
    drop(a);
    drop(b);
    assert!(done, "the processes did not process the due items");

    for id in &ids {
        let events = case_event::Entity::find()
            .filter(case_event::Column::CaseId.eq(*id))
            .filter(case_event::Column::Action.eq("deadline_overdue"))
            .count(&app.state.db)
            .await
            .unwrap();
        assert_eq!(events, 1, "case {id}: overdue events");
        let mails = outbox::Entity::find()
            .filter(outbox::Column::CaseId.eq(*id))
            .filter(outbox::Column::Template.eq("deadline_overdue"))
            .all(&app.state.db)
            .await
            .unwrap();
        assert_eq!(mails.len(), 1, "case {id}: overdue mails");
        assert_eq!(mails[0].status, "sent");
        assert_eq!(mails[0].attempts, 1, "delivered once");
        let view = app.get(&format!("/api/v1/cases/{id}"), &office).await.ok();
        assert_eq!(view["overdue"], true);
    }
    // Every queued mail was delivered exactly once, as one file each.
    let sent = outbox::Entity::find().filter(outbox::Column::Kind.eq("mail")).all(&app.state.db).await.unwrap();
    assert!(sent.iter().all(|m| m.status == "sent" && m.attempts == 1), "{sent:?}");
    let files = std::fs::read_dir(shared.join("mail")).unwrap().count();
    assert_eq!(files, sent.len());
}
