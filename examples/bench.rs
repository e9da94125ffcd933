//! Benchmarks that print their figures (not timed tests).
//!
//!   cargo run --release --example bench -- transitions [--db URL] [--cases N] [--concurrency C]
//!   cargo run --release --example bench -- tick [--db URL] [--records N] [--open-cases N] [--due N]
//!   cargo run --release --example bench -- pages [--db URL] [--open-cases N] [--requests N]
//!   cargo run --release --example bench -- export [--db URL] [--cases N]
//!   cargo run --release --example bench -- import [--db URL] [--rows N]
//!
//! Without --db a fresh SQLite file in a temporary directory is used. A
//! PostgreSQL URL must name an empty database (e.g. create one with
//! `createdb -h 127.0.0.1 -U postgres bench`).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use chrono::{Duration, Utc};
use credit_repair::clock::{Clock, SystemClock};
use credit_repair::config::{Secret, Settings};
use credit_repair::startup::{Application, build_state};
use sea_orm::{ConnectionTrait, DatabaseBackend, EntityTrait, Statement};
use serde_json::{Value, json};

const PASSWORD: &str = "Bench#Passw0rd";

/// Statements the server sent to the database (sea-orm's metric callback:
/// every query and execute, in or out of a transaction; BEGIN/COMMIT and the
/// pool's connection checks are not counted).
static STATEMENTS: AtomicU64 = AtomicU64::new(0);

fn arg(args: &[String], name: &str) -> Option<String> {
    args.iter().position(|a| a == name).and_then(|i| args.get(i + 1).cloned())
}

fn num(args: &[String], name: &str, default: u64) -> u64 {
    arg(args, name).and_then(|v| v.parse().ok()).unwrap_or(default)
}

async fn state_for(args: &[String]) -> anyhow::Result<(credit_repair::state::AppState, std::path::PathBuf)> {
    let dir = std::env::temp_dir().join(format!("credit-repair-bench-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir)?;
    let url = arg(args, "--db").unwrap_or_else(|| format!("sqlite://{}?mode=rwc", dir.join("bench.db").display()));
    let settings = Settings {
        database_url: url,
        data_dir: dir.clone(),
        jwt_secret: Secret::new("bench-secret-bench-secret-bench-secret"),
        demo_password: Secret::new(PASSWORD),
        demo: true,
        scheduler: false,
        ..Settings::default()
    };
    Ok((build_state(settings, Arc::new(SystemClock)).await?, dir))
}

fn backend_name(db: &sea_orm::DatabaseConnection) -> &'static str {
    match db.get_database_backend() {
        DatabaseBackend::Postgres => "PostgreSQL",
        DatabaseBackend::Sqlite => "SQLite",
        _ => "other",
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("transitions") => transitions(&args).await,
        Some("tick") => tick(&args).await,
        Some("pages") => pages(&args).await,
        Some("export") => export(&args).await,
        Some("import") => import(&args).await,
        _ => {
            eprintln!("usage: bench transitions|tick|pages|export|import [options]  (see the file header)");
            std::process::exit(2);
        }
    }
}

/// Inserts `n` published records (bulk SQL) for subject/department, returning their ids.
async fn bulk_records(db: &sea_orm::DatabaseConnection, n: u64, subject_id: i64, dept_id: i64) -> anyhow::Result<()> {
    let today = Utc::now().date_naive();
    let decision = today - Duration::days(200);
    let ends = today + Duration::days(500);
    let repair_from = today - Duration::days(100);
    let now = Utc::now().to_rfc3339();
    let pg = db.get_database_backend() == DatabaseBackend::Postgres;
    let ts = |s: &str| if pg { format!("'{s}'::timestamptz") } else { format!("'{s}'") };
    let date = |d: chrono::NaiveDate| if pg { format!("'{d}'::date") } else { format!("'{d}'") };
    let txn = sea_orm::TransactionTrait::begin(db).await?;
    let mut done = 0;
    while done < n {
        let batch = (n - done).min(500);
        let mut sql = String::from(
            "INSERT INTO records (subject_id, record_type, title, content, severity, regime, department_id, document_no, \
             decision_date, conduct_end_date, publication_status, publication_ended_at, publication_end_reason, repairable, \
             repair_from, publication_ends, display_category, objection_open, objection_case_id, repair_barred_until, deleted, \
             version, created_at, updated_at) VALUES ",
        );
        for i in 0..batch {
            if i > 0 {
                sql.push(',');
            }
            sql.push_str(&format!(
                "({subject_id}, 'administrative_penalty', '基准测试信息', '基准测试', 'general', 'current', {dept_id}, 'BENCH-{}', {}, NULL, 'published', NULL, NULL, {}, {}, {}, '公示满3个月可修复', {}, NULL, NULL, {}, 1, {}, {})",
                done + i,
                date(decision),
                if pg { "true" } else { "1" },
                date(repair_from),
                date(ends),
                if pg { "false" } else { "0" },
                if pg { "false" } else { "0" },
                ts(&now),
                ts(&now)
            ));
        }
        txn.execute_unprepared(&sql).await?;
        done += batch;
    }
    txn.commit().await?;
    Ok(())
}

async fn ids(db: &sea_orm::DatabaseConnection, sql: &str) -> anyhow::Result<Vec<i64>> {
    let rows = db.query_all_raw(Statement::from_string(db.get_database_backend(), sql.to_string())).await?;
    rows.iter().map(|r| r.try_get_by_index::<i64>(0).map_err(Into::into)).collect()
}

async fn transitions(args: &[String]) -> anyhow::Result<()> {
    let n = num(args, "--cases", 300);
    let conc = num(args, "--concurrency", 8) as usize;
    let (mut state, dir) = state_for(args).await?;
    state.db.set_metric_callback(|_| {
        STATEMENTS.fetch_add(1, Ordering::Relaxed);
    });
    let db = state.db.clone();
    let subject = ids(&db, "SELECT id FROM subjects WHERE code = '91350100M000100Y43'").await?[0];
    let dept = ids(&db, "SELECT id FROM departments WHERE code = 'STHJ'").await?[0];
    let before = ids(&db, "SELECT COALESCE(MAX(id), 0) FROM records").await?[0];
    bulk_records(&db, n, subject, dept).await?;
    let record_ids = ids(&db, &format!("SELECT id FROM records WHERE id > {before} ORDER BY id")).await?;
    let app = Application::build(state.clone(), "127.0.0.1", 0)?;
    let base = format!("http://127.0.0.1:{}", app.port);
    tokio::spawn(app.server);
    credit_repair::install_tls_provider();
    let client = reqwest::Client::new();
    let login = |u: &'static str| {
        let client = client.clone();
        let base = base.clone();
        async move {
            let v: Value = client
                .post(format!("{base}/api/v1/auth/login"))
                .json(&json!({"username": u, "password": PASSWORD}))
                .send()
                .await?
                .json()
                .await?;
            anyhow::Ok(v["access_token"].as_str().unwrap_or_default().to_string())
        }
    };
    let (applicant, office, officer) = (login("ent_a").await?, login("office").await?, login("sthj").await?);

    // Runs `f` over items with `conc` requests in flight; returns (ok, seconds).
    async fn run<F, Fut>(items: Vec<i64>, conc: usize, f: F) -> (Vec<i64>, f64)
    where
        F: Fn(i64) -> Fut + Clone + Send + 'static,
        Fut: std::future::Future<Output = Option<i64>> + Send,
    {
        let start = Instant::now();
        let queue = Arc::new(tokio::sync::Mutex::new(items));
        let mut tasks = Vec::new();
        for _ in 0..conc {
            let queue = queue.clone();
            let f = f.clone();
            tasks.push(tokio::spawn(async move {
                let mut out = Vec::new();
                loop {
                    let next = queue.lock().await.pop();
                    let Some(item) = next else { break };
                    if let Some(v) = f(item).await {
                        out.push(v);
                    }
                }
                out
            }));
        }
        let mut all = Vec::new();
        for t in tasks {
            all.extend(t.await.unwrap_or_default());
        }
        (all, start.elapsed().as_secs_f64())
    }

    let post = {
        let client = client.clone();
        let base = base.clone();
        move |token: String, path: String, body: Value| {
            let client = client.clone();
            let base = base.clone();
            async move {
                let res = client.post(format!("{base}{path}")).bearer_auth(token).json(&body).send().await.ok()?;
                if !res.status().is_success() {
                    eprintln!("{path}: {}", res.status());
                    return None;
                }
                let v: Value = res.json().await.ok()?;
                v["id"].as_i64()
            }
        }
    };
    let p = post.clone();
    let (cases, t_create) = run(record_ids, conc, move |rid| {
        p(
            applicant.clone(),
            "/api/v1/cases".into(),
            json!({"kind": "objection", "record_id": rid, "reason": "基准测试异议"}),
        )
    })
    .await;
    let p = post.clone();
    let s0 = STATEMENTS.load(Ordering::Relaxed);
    let (accepted, t_accept) =
        run(cases.clone(), conc, move |id| p(office.clone(), format!("/api/v1/cases/{id}/actions/accept"), json!({})))
            .await;
    let s1 = STATEMENTS.load(Ordering::Relaxed);
    let p = post.clone();
    let (verified, t_verify) = run(accepted.clone(), conc, move |id| {
        p(
            officer.clone(),
            format!("/api/v1/cases/{id}/actions/verify"),
            json!({"outcome": "maintained", "comment": "信息无误，予以维持"}),
        )
    })
    .await;
    let s2 = STATEMENTS.load(Ordering::Relaxed);
    let transitions = accepted.len() + verified.len();
    println!("backend:              {}", backend_name(&db));
    println!("concurrency:          {conc}");
    println!(
        "cases filed:          {} in {:.2} s = {:.1} cases/s",
        cases.len(),
        t_create,
        cases.len() as f64 / t_create
    );
    println!(
        "accept transitions:   {} in {:.2} s = {:.1} /s",
        accepted.len(),
        t_accept,
        accepted.len() as f64 / t_accept
    );
    println!(
        "verify transitions:   {} in {:.2} s = {:.1} /s",
        verified.len(),
        t_verify,
        verified.len() as f64 / t_verify
    );
    println!(
        "case transitions/s:   {:.1}  ({} transitions in {:.2} s; each one transaction with effects, event and notifications)",
        transitions as f64 / (t_accept + t_verify),
        transitions,
        t_accept + t_verify
    );
    let per = |n: u64, k: usize| n as f64 / k.max(1) as f64;
    println!(
        "statements/request:   accept {:.1}, verify {:.1}  (whole HTTP request: caller lookup, transition, response view)",
        per(s1 - s0, accepted.len()),
        per(s2 - s1, verified.len())
    );
    let _ = std::fs::remove_dir_all(dir);
    Ok(())
}

/// One open case for [`bulk_open_cases`].
struct OpenCase {
    state: &'static str,
    department_id: i64,
    due: chrono::DateTime<Utc>,
    overdue: bool,
}

/// Inserts `n` open objection cases (bulk SQL), the k-th on record
/// `first_record + k`, each with its running step deadline.
async fn bulk_open_cases(
    db: &sea_orm::DatabaseConnection,
    n: u64,
    first_record: i64,
    subject: i64,
    user: i64,
    spec: impl Fn(u64) -> OpenCase,
) -> anyhow::Result<()> {
    let pg = db.get_database_backend() == DatabaseBackend::Postgres;
    let hash: String = entity::workflow_definition::Entity::find()
        .all(db)
        .await?
        .into_iter()
        .find(|w| w.workflow_id == "objection")
        .map(|w| w.hash)
        .unwrap_or_default();
    let now = SystemClock.now();
    let ts = |t: chrono::DateTime<Utc>| {
        if pg { format!("'{}'::timestamptz", t.to_rfc3339()) } else { format!("'{}'", t.to_rfc3339()) }
    };
    let date = |d: chrono::NaiveDate| if pg { format!("'{d}'::date") } else { format!("'{d}'") };
    let (f, t) = if pg { ("false", "true") } else { ("0", "1") };
    let txn = sea_orm::TransactionTrait::begin(db).await?;
    let mut done = 0;
    while done < n {
        let batch = (n - done).min(500);
        let mut cases = String::from(
            "INSERT INTO cases (case_no, kind, state, version, record_id, subject_id, department_id, applicant_user_id, reason, \
             outcome, workflow_id, workflow_version, workflow_hash, extension_used, due_at, total_due_at, overdue, \
             provisional_deadline, last_urged_on, open_record_key, result, received_at, routed_at, closed_at, created_at, updated_at) VALUES ",
        );
        let mut deadlines = String::from(
            "INSERT INTO deadlines (case_id, kind, state, budget_days, extended_days, started_on, due_on, due_at, provisional, \
             status, paused_on, used_days_at_pause, history, warned_at, overdue_at, created_at) VALUES ",
        );
        for i in 0..batch {
            let k = done + i;
            let c = spec(k);
            let rid = first_record + k as i64;
            if i > 0 {
                cases.push(',');
                deadlines.push(',');
            }
            let received = now - Duration::days((k % 40) as i64);
            cases.push_str(&format!(
                "('BENCH{k:08}', 'objection', '{}', 2, {rid}, {subject}, {}, {user}, '基准', NULL, 'objection', 1, '{hash}', {f}, {}, NULL, {}, {f}, NULL, {rid}, NULL, {}, {}, NULL, {}, {})",
                c.state,
                c.department_id,
                ts(c.due),
                if c.overdue { t } else { f },
                ts(received),
                ts(received),
                ts(received),
                ts(now)
            ));
            deadlines.push_str(&format!(
                "((SELECT id FROM cases WHERE case_no = 'BENCH{k:08}'), 'step', '{}', 4, 0, {}, {}, {}, {f}, 'running', NULL, NULL, '[]', NULL, NULL, {})",
                c.state,
                date(received.date_naive()),
                date(c.due.date_naive()),
                ts(c.due),
                ts(now)
            ));
        }
        txn.execute_unprepared(&cases).await?;
        txn.execute_unprepared(&deadlines).await?;
        done += batch;
    }
    txn.commit().await?;
    Ok(())
}

async fn tick(args: &[String]) -> anyhow::Result<()> {
    let n_records = num(args, "--records", 1_000_000);
    let n_cases = num(args, "--open-cases", 100_000).min(n_records);
    let n_due = num(args, "--due", 1_000).min(n_cases);
    let (state, dir) = state_for(args).await?;
    let db = state.db.clone();
    let pg = db.get_database_backend() == DatabaseBackend::Postgres;
    let subject = ids(&db, "SELECT id FROM subjects WHERE code = '91350100M000100Y43'").await?[0];
    let dept = ids(&db, "SELECT id FROM departments WHERE code = 'STHJ'").await?[0];
    let user = ids(&db, "SELECT id FROM users WHERE username = 'ent_a'").await?[0];
    let t0 = Instant::now();
    bulk_records(&db, n_records, subject, dept).await?;
    println!("setup: {n_records} records in {:.1} s", t0.elapsed().as_secs_f64());
    let t0 = Instant::now();
    let now = SystemClock.now();
    let first_record = ids(&db, "SELECT MIN(id) FROM records WHERE document_no LIKE 'BENCH-%'").await?[0];
    bulk_open_cases(&db, n_cases, first_record, subject, user, |k| OpenCase {
        state: "with_department",
        department_id: dept,
        due: if k < n_due { now - Duration::hours(1) } else { now + Duration::days(30) },
        overdue: false,
    })
    .await?;
    if pg {
        db.execute_unprepared("ANALYZE").await?;
    }
    println!("setup: {n_cases} open cases with deadlines ({n_due} due) in {:.1} s", t0.elapsed().as_secs_f64());
    let mailer = credit_repair::mailer::Mailer::from_settings(&state.settings)?;
    // The daily digest and calendar alert run once a day; measure the tick's steady work.
    credit_repair::jobs::claim(&db, &format!("digest:{}", state.clock.today()), "bench", now).await?;
    let t1 = Instant::now();
    let r1 = credit_repair::jobs::tick(&state, &mailer, "bench").await?;
    let d1 = t1.elapsed();
    let t2 = Instant::now();
    let r2 = credit_repair::jobs::tick(&state, &mailer, "bench").await?;
    let d2 = t2.elapsed();
    // Drain the outbox the first tick filled, then measure an idle tick.
    while credit_repair::services::outbox::delivery::deliver(&state, &mailer).await?.0 > 0 {}
    let t3 = Instant::now();
    let r3 = credit_repair::jobs::tick(&state, &mailer, "bench").await?;
    let d3 = t3.elapsed();
    println!("backend:                 {}", backend_name(&db));
    println!("data:                    {n_records} records, {n_cases} open cases, {n_due} due");
    println!("tick with {n_due} due:      {:>8.1} ms  {:?}", d1.as_secs_f64() * 1000.0, r1);
    println!("next tick:               {:>8.1} ms  {:?}", d2.as_secs_f64() * 1000.0, r2);
    println!("tick with none due:      {:>8.1} ms  {:?}", d3.as_secs_f64() * 1000.0, r3);
    let _ = std::fs::remove_dir_all(dir);
    Ok(())
}

/// Signs in through the login form; the returned client carries the session cookie.
async fn page_session(base: &str, user: &str) -> anyhow::Result<reqwest::Client> {
    credit_repair::install_tls_provider();
    let client = reqwest::Client::builder().cookie_store(true).build()?;
    let form = client.get(format!("{base}/login")).send().await?.text().await?;
    let csrf = form
        .split("name=\"csrf\" value=\"")
        .nth(1)
        .and_then(|r| r.split('"').next())
        .ok_or_else(|| anyhow::anyhow!("no csrf on the login page"))?
        .to_string();
    let res = client
        .post(format!("{base}/login"))
        .form(&[("username", user), ("password", PASSWORD), ("csrf", csrf.as_str())])
        .send()
        .await?;
    anyhow::ensure!(!res.url().path().starts_with("/login"), "login as {user} failed");
    Ok(client)
}

/// Times the monitoring dashboard and the to-do lists over many open cases:
/// each page is requested `--requests` times one after another (after a
/// warm-up) and the time from request to the last byte of HTML is taken at
/// the client on loopback, so it bounds the server's render time from above.
/// Seeds `n` open cases (bulk SQL) spread over three departments.
async fn seed_open(state: &credit_repair::state::AppState, n: u64) -> anyhow::Result<()> {
    let db = state.db.clone();
    let subject = ids(&db, "SELECT id FROM subjects WHERE code = '91350100M000100Y43'").await?[0];
    let user = ids(&db, "SELECT id FROM users WHERE username = 'ent_a'").await?[0];
    let depts = ids(&db, "SELECT id FROM departments WHERE code IN ('SCJG', 'STHJ', 'YJGL') ORDER BY code").await?;
    let t0 = Instant::now();
    bulk_records(&db, n, subject, depts[1]).await?;
    let first_record = ids(&db, "SELECT MIN(id) FROM records WHERE document_no LIKE 'BENCH-%'").await?[0];
    let now = SystemClock.now();
    // A tenth waits for the formal check; the rest are with one of three
    // departments, due from five days ago to a fortnight ahead; one in seven is overdue.
    bulk_open_cases(&db, n, first_record, subject, user, |k| {
        let due = now + Duration::days((k % 20) as i64 - 5);
        OpenCase {
            state: if k % 10 == 0 { "submitted" } else { "with_department" },
            department_id: depts[(k % 3) as usize],
            due,
            overdue: k % 7 == 0,
        }
    })
    .await?;
    if db.get_database_backend() == DatabaseBackend::Postgres {
        db.execute_unprepared("ANALYZE").await?;
    }
    println!("setup: {n} open cases in {:.1} s", t0.elapsed().as_secs_f64());
    Ok(())
}

/// The process's resident set (VmRSS) in MiB.
fn rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines().find(|l| l.starts_with("VmRSS:")).and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
        })
        .map_or(0.0, |kib| kib / 1024.0)
}

/// Exports every case as xlsx and as CSV (the credit office's scope): time,
/// size, and the server process's peak resident memory while exporting
/// (sampled every 5 ms; the server runs in this process).
async fn export(args: &[String]) -> anyhow::Result<()> {
    let n = num(args, "--cases", 100_000);
    let (state, dir) = state_for(args).await?;
    seed_open(&state, n).await?;
    let app = Application::build(state.clone(), "127.0.0.1", 0)?;
    let base = format!("http://127.0.0.1:{}", app.port);
    tokio::spawn(app.server);
    credit_repair::install_tls_provider();
    let client = reqwest::Client::new();
    let login: Value = client
        .post(format!("{base}/api/v1/auth/login"))
        .json(&json!({"username": "office", "password": PASSWORD}))
        .send()
        .await?
        .json()
        .await?;
    let token = login["access_token"].as_str().ok_or_else(|| anyhow::anyhow!("login: {login}"))?.to_string();
    println!("backend:                 {}", backend_name(&state.db));
    println!("cases:                   {n}");
    for format in ["xlsx", "csv"] {
        let before = rss_mib();
        let peak = Arc::new(std::sync::Mutex::new(before));
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let sampler = {
            let (peak, stop) = (peak.clone(), stop.clone());
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    let r = rss_mib();
                    if let Ok(mut p) = peak.lock() {
                        *p = p.max(r);
                    }
                    std::thread::sleep(std::time::Duration::from_millis(5));
                }
            })
        };
        let t = Instant::now();
        let res = client.get(format!("{base}/api/v1/cases/export?format={format}")).bearer_auth(&token).send().await?;
        anyhow::ensure!(res.status() == 200, "export {format}: {}", res.status());
        let bytes = res.bytes().await?;
        let secs = t.elapsed().as_secs_f64();
        stop.store(true, Ordering::Relaxed);
        let _ = sampler.join();
        let peak = *peak.lock().map_err(|_| anyhow::anyhow!("sampler"))?;
        println!(
            "export {format:<4}              {secs:>6.2} s  {:>7.1} MiB file  RSS before {before:>6.1} MiB, peak {peak:>6.1} MiB (+{:.1})",
            bytes.len() as f64 / 1024.0 / 1024.0,
            peak - before
        );
    }
    let _ = std::fs::remove_dir_all(dir);
    Ok(())
}

async fn pages(args: &[String]) -> anyhow::Result<()> {
    let n = num(args, "--open-cases", 10_000);
    let reps = num(args, "--requests", 21).max(1) as usize;
    let (state, dir) = state_for(args).await?;
    let db = state.db.clone();
    seed_open(&state, n).await?;
    let app = Application::build(state.clone(), "127.0.0.1", 0)?;
    let base = format!("http://127.0.0.1:{}", app.port);
    tokio::spawn(app.server);
    let office = page_session(&base, "office").await?;
    let officer = page_session(&base, "sthj").await?;
    println!("backend:                 {}", backend_name(&db));
    println!("open cases:              {n}");
    for (who, client, path) in [
        ("office", &office, "/office/dashboard"),
        ("sthj", &officer, "/cases?view=todo"),
        ("office", &office, "/cases?view=intake"),
        ("office", &office, "/cases?view=all&overdue=1"),
    ] {
        let url = format!("{base}{path}");
        let mut bytes = 0;
        for _ in 0..3 {
            let res = client.get(&url).send().await?;
            anyhow::ensure!(res.status() == 200, "{path}: {}", res.status());
            bytes = res.text().await?.len();
        }
        let mut ms = Vec::with_capacity(reps);
        for _ in 0..reps {
            let t = Instant::now();
            let body = client.get(&url).send().await?.text().await?;
            ms.push(t.elapsed().as_secs_f64() * 1000.0);
            bytes = body.len();
        }
        ms.sort_by(f64::total_cmp);
        let pct = |p: f64| ms[((ms.len() - 1) as f64 * p).round() as usize];
        println!(
            "{path:<28} ({who:<6}) median {:>6.1} ms  p90 {:>6.1} ms  max {:>6.1} ms  ({} requests, {} KiB of HTML)",
            pct(0.5),
            pct(0.9),
            ms[ms.len() - 1],
            reps,
            bytes / 1024
        );
    }
    let _ = std::fs::remove_dir_all(dir);
    Ok(())
}

/// A department's workbook of `--rows` records (one subject per 10 rows, a
/// tenth of the subjects already registered) imported over HTTP: checked,
/// applied, applied again (nothing changes), and the same rows as CSV
/// checked. Time and this process's peak resident memory (the server runs
/// in it; the client's copy of the file is part of the figure).
async fn import(args: &[String]) -> anyhow::Result<()> {
    use rust_xlsxwriter::Workbook;
    let n = num(args, "--rows", 100_000) as u32;
    let (state, dir) = state_for(args).await?;
    let app = Application::build(state.clone(), "127.0.0.1", 0)?;
    let base = format!("http://127.0.0.1:{}", app.port);
    tokio::spawn(app.server);
    credit_repair::install_tls_provider();
    let uscc = |i: u32| {
        let first = format!("91370100MB{i:07}");
        let check = credit_repair::domain::uscc::Uscc::expected_check_char(&first).unwrap_or('0');
        format!("{first}{check}")
    };
    // A tenth of the subjects are registered already.
    let now = Utc::now();
    let subjects = (n / 10).max(1);
    let existing: Vec<entity::subject::ActiveModel> = (0..subjects / 10)
        .map(|i| entity::subject::ActiveModel {
            code: sea_orm::Set(uscc(i)),
            name: sea_orm::Set(format!("基准测试企业{i}")),
            kind: sea_orm::Set(entity::types::SubjectKind::LegalPerson),
            check_overridden: sea_orm::Set(false),
            created_at: sea_orm::Set(now),
            ..Default::default()
        })
        .collect();
    for chunk in existing.chunks(1000) {
        entity::subject::Entity::insert_many(chunk.to_vec()).exec(&state.db).await?;
    }
    let headers =
        ["统一社会信用代码", "主体名称", "信息类型", "信息名称", "处罚内容", "失信程度", "决定书文号", "决定日期"];
    let today = now.date_naive();
    let row = |i: u32| -> Vec<String> {
        let s = i % subjects;
        let decision = today - Duration::days(30 + (i % 300) as i64);
        vec![
            uscc(s),
            format!("基准测试企业{s}"),
            "行政处罚".into(),
            format!("基准测试处罚{i}"),
            "罚款".into(),
            if i.is_multiple_of(3) { "严重" } else { "一般" }.into(),
            format!("基准罚〔2026〕{i}号"),
            decision.to_string(),
        ]
    };
    let t = Instant::now();
    let mut book = Workbook::new();
    let ws = book.add_worksheet_with_constant_memory()?;
    ws.set_name("信用信息")?;
    for (c, h) in headers.iter().enumerate() {
        ws.write_string(0, c as u16, *h)?;
    }
    let mut csv = csv::Writer::from_writer(Vec::new());
    csv.write_record(headers)?;
    for i in 0..n {
        let cells = row(i);
        for (c, v) in cells.iter().enumerate() {
            ws.write_string(i + 1, c as u16, v)?;
        }
        csv.write_record(&cells)?;
    }
    let xlsx = book.save_to_buffer()?;
    let csv = csv.into_inner().map_err(|e| anyhow::anyhow!("csv: {e}"))?;
    let made = t.elapsed().as_secs_f64();
    let client = reqwest::Client::new();
    let login: Value = client
        .post(format!("{base}/api/v1/auth/login"))
        .json(&json!({"username": "sthj", "password": PASSWORD}))
        .send()
        .await?
        .json()
        .await?;
    let token = login["access_token"].as_str().ok_or_else(|| anyhow::anyhow!("login: {login}"))?.to_string();
    println!("backend:                 {}", backend_name(&state.db));
    println!(
        "rows:                    {n} ({subjects} subjects, {} registered before); xlsx {:.1} MiB, CSV {:.1} MiB, made in {made:.1} s",
        subjects / 10,
        xlsx.len() as f64 / 1048576.0,
        csv.len() as f64 / 1048576.0
    );
    let steps: [(&str, &str, &Vec<u8>, &str); 4] = [
        ("check xlsx", "check", &xlsx, "records.xlsx"),
        ("apply xlsx", "apply", &xlsx, "records.xlsx"),
        ("apply again", "apply", &xlsx, "records.xlsx"),
        ("check CSV", "check", &csv, "records.csv"),
    ];
    for (label, mode, bytes, name) in steps {
        let before = rss_mib();
        let peak = Arc::new(std::sync::Mutex::new(before));
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let sampler = {
            let (peak, stop) = (peak.clone(), stop.clone());
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    let r = rss_mib();
                    if let Ok(mut p) = peak.lock() {
                        *p = p.max(r);
                    }
                    std::thread::sleep(std::time::Duration::from_millis(5));
                }
            })
        };
        let part = reqwest::multipart::Part::bytes(bytes.clone()).file_name(name.to_string());
        let form = reqwest::multipart::Form::new().text("mode", mode).part("file", part);
        let t = Instant::now();
        let res = client.post(format!("{base}/api/v1/imports")).bearer_auth(&token).multipart(form).send().await?;
        let status = res.status();
        let body: Value = res.json().await?;
        let secs = t.elapsed().as_secs_f64();
        stop.store(true, Ordering::Relaxed);
        let _ = sampler.join();
        let peak = *peak.lock().map_err(|_| anyhow::anyhow!("sampler"))?;
        anyhow::ensure!(status.is_success(), "{label}: {status} {}", body["message"]);
        println!(
            "{label:<12} {secs:>7.2} s  created {:>6} unchanged {:>6} subjects {:>6} errors {:>3}  RSS before {before:>6.1} MiB, peak {peak:>6.1} MiB (+{:.1})",
            body["records_created"],
            body["records_unchanged"],
            body["subjects_created"],
            body["error_count"],
            peak - before
        );
    }
    let _ = std::fs::remove_dir_all(dir);
    Ok(())
}
