//! Benchmarks that print their figures (not timed tests).
//!
//!   cargo run --release --example bench -- transitions [--db URL] [--cases N] [--concurrency C]
//!       [--replay]   accept and verify against a bare replay of their statements (ratio, see `replay`)
//!       [--rate R]   verify at a steady R per second: latency percentiles
//!   cargo run --release --example bench -- tick [--db URL] [--records N] [--open-cases N] [--due N] [--provisional]
//!   cargo run --release --example bench -- reads [--db URL] [--open-cases N] [--requests N] [--concurrency C]
//!   cargo run --example bench -- memory   (runs the built server binary: `cargo build` first)
//!   cargo run --release --example bench -- pages [--db URL] [--open-cases N] [--requests N]
//!   cargo run --release --example bench -- export [--db URL] [--cases N]
//!   cargo run --release --example bench -- import [--db URL] [--rows N]
//!   cargo run --release --example bench -- reports [--db URL] [--open-cases N] [--closed-cases N] [--years Y]
//!
//! Without --db a fresh SQLite file in a temporary directory is used. A
//! PostgreSQL URL must name an empty database (e.g. create one with
//! `createdb -h 127.0.0.1 -U postgres bench`). A loopback PostgreSQL URL
//! without `sslmode` gets `sslmode=disable` (TLS to the same host costs a
//! quarter to two fifths of the throughput); `--sslmode prefer` measures
//! the client default. The mode used is printed.

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

/// While set, every statement the server sends is kept here (`--replay`).
static CAPTURE: std::sync::Mutex<Option<Vec<Statement>>> = std::sync::Mutex::new(None);

fn arg(args: &[String], name: &str) -> Option<String> {
    args.iter().position(|a| a == name).and_then(|i| args.get(i + 1).cloned())
}

fn num(args: &[String], name: &str, default: u64) -> u64 {
    arg(args, name).and_then(|v| v.parse().ok()).unwrap_or(default)
}

async fn state_for(args: &[String]) -> anyhow::Result<(credit_repair::state::AppState, std::path::PathBuf)> {
    let dir = std::env::temp_dir().join(format!("credit-repair-bench-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir)?;
    let url = match arg(args, "--db") {
        Some(url) => postgres_url(&url, arg(args, "--sslmode").as_deref()),
        None => format!("sqlite://{}?mode=rwc", dir.join("bench.db").display()),
    };
    Ok((build_state(settings_at(&url, &dir), Arc::new(SystemClock)).await?, dir))
}

/// The bench server's settings on `url`, files under `dir`.
fn settings_at(url: &str, dir: &std::path::Path) -> Settings {
    Settings {
        database_url: url.to_string(),
        data_dir: dir.to_path_buf(),
        jwt_secret: Secret::new("bench-secret-bench-secret-bench-secret"),
        demo_password: Secret::new(PASSWORD),
        demo: true,
        scheduler: false,
        ..Settings::default()
    }
}

/// A loopback PostgreSQL URL without an `sslmode` gets `mode` (default
/// `disable`): the server and the database share the host, TLS only costs.
fn postgres_url(url: &str, mode: Option<&str>) -> String {
    if !url.starts_with("postgres") {
        return url.to_string();
    }
    let host = url.split('@').nth(1).unwrap_or("").split(['/', ':', '?']).next().unwrap_or("");
    let loopback = matches!(host, "127.0.0.1" | "localhost" | "[::1]" | "");
    let out = if url.contains("sslmode=") || (!loopback && mode.is_none()) {
        url.to_string()
    } else {
        let sep = if url.contains('?') { '&' } else { '?' };
        format!("{url}{sep}sslmode={}", mode.unwrap_or("disable"))
    };
    let shown = out.split("sslmode=").nth(1).map(|m| m.split('&').next().unwrap_or(m)).unwrap_or("prefer (default)");
    println!("postgres TLS:         sslmode={shown}");
    out
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
        Some("reads") => reads(&args).await,
        Some("memory") => memory(&args).await,
        Some("import") => import(&args).await,
        Some("reports") => reports(&args).await,
        _ => {
            eprintln!(
                "usage: bench transitions|tick|reads|memory|pages|export|import|reports [options]  (see the file header)"
            );
            std::process::exit(2);
        }
    }
}

/// SQL literals for the bulk inserts, as the backend writes them.
#[derive(Clone, Copy)]
struct Lit {
    pg: bool,
}

impl Lit {
    fn of(db: &sea_orm::DatabaseConnection) -> Lit {
        Lit { pg: db.get_database_backend() == DatabaseBackend::Postgres }
    }

    fn ts(self, t: chrono::DateTime<Utc>) -> String {
        if self.pg { format!("'{}'::timestamptz", t.to_rfc3339()) } else { format!("'{}'", t.to_rfc3339()) }
    }

    fn date(self, d: chrono::NaiveDate) -> String {
        if self.pg { format!("'{d}'::date") } else { format!("'{d}'") }
    }

    fn bool(self, b: bool) -> &'static str {
        match (self.pg, b) {
            (true, true) => "true",
            (true, false) => "false",
            (false, true) => "1",
            (false, false) => "0",
        }
    }
}

/// Inserts `n` published records (bulk SQL) for subject/department, returning their ids.
async fn bulk_records(db: &sea_orm::DatabaseConnection, n: u64, subject_id: i64, dept_id: i64) -> anyhow::Result<()> {
    let today = Utc::now().date_naive();
    let decision = today - Duration::days(200);
    let ends = today + Duration::days(500);
    let repair_from = today - Duration::days(100);
    let now = Utc::now();
    let lit = Lit::of(db);
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
                lit.date(decision),
                lit.bool(true),
                lit.date(repair_from),
                lit.date(ends),
                lit.bool(false),
                lit.bool(false),
                lit.ts(now),
                lit.ts(now)
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
    // `--trace` prints every statement (use with a few cases).
    let trace = args.iter().any(|a| a == "--trace");
    let count = move |pool: &'static str| {
        move |info: &sea_orm::metric::Info<'_>| {
            STATEMENTS.fetch_add(1, Ordering::Relaxed);
            if let Ok(mut c) = CAPTURE.lock()
                && let Some(list) = c.as_mut()
            {
                list.push(info.statement.clone());
            }
            if trace {
                let sql: String = info.statement.sql.chars().take(150).collect();
                println!("  [{pool}] {sql}");
            }
        }
    };
    state.db.set_metric_callback(count("db"));
    // Reads on their own pool (SQLite) count too; on PostgreSQL `read` is a
    // second handle on the same pool, each statement runs through one of them.
    state.read.set_metric_callback(count("read"));
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
    let (applicant, office, officer) = (
        api_login(&client, &base, "ent_a").await?,
        api_login(&client, &base, "office").await?,
        api_login(&client, &base, "sthj").await?,
    );

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
    let filer = applicant.clone();
    let (cases, t_create) = run(record_ids, conc, move |rid| {
        p(
            filer.clone(),
            "/api/v1/cases".into(),
            json!({"kind": "objection", "record_id": rid, "grounds": "wrong_content", "reason": "基准测试异议"}),
        )
    })
    .await;
    // An objection needs its evidence before the credit office may accept it.
    let (with_evidence, t_upload) = {
        let (client, base, token) = (client.clone(), base.clone(), applicant.clone());
        run(cases.clone(), conc, move |id| {
            let (client, base, token) = (client.clone(), base.clone(), token.clone());
            async move {
                let pdf = format!("%PDF-1.4\n% evidence for case {id}\n%%EOF\n").into_bytes();
                let part =
                    reqwest::multipart::Part::bytes(pdf).file_name("evidence.pdf").mime_str("application/pdf").ok()?;
                let form = reqwest::multipart::Form::new().text("kind", "evidence").part("file", part);
                let res = client
                    .post(format!("{base}/api/v1/cases/{id}/attachments"))
                    .bearer_auth(token)
                    .multipart(form)
                    .send()
                    .await
                    .ok()?;
                if !res.status().is_success() {
                    eprintln!("/api/v1/cases/{id}/attachments: {}", res.status());
                    return None;
                }
                Some(id)
            }
        })
        .await
    };
    if args.iter().any(|a| a == "--replay") {
        println!("backend:              {}", backend_name(&db));
        let accept =
            Actor { client: client.clone(), base: base.clone(), token: office, action: "accept", body: json!({}) };
        let accepted = replay(&state, &dir, with_evidence, conc, &accept, "office").await?;
        replay(&state, &dir, accepted, conc, &Actor::verify(&client, &base, &officer), "sthj").await?;
        let _ = std::fs::remove_dir_all(dir);
        return Ok(());
    }
    let p = post.clone();
    if trace {
        println!("-- accept, then verify:");
    }
    let rss_before = rss_mib();
    let sampler = PeakRss::start();
    let s0 = STATEMENTS.load(Ordering::Relaxed);
    let (accepted, t_accept) = run(with_evidence.clone(), conc, move |id| {
        p(office.clone(), format!("/api/v1/cases/{id}/actions/accept"), json!({}))
    })
    .await;
    let s1 = STATEMENTS.load(Ordering::Relaxed);
    if let Some(rate) = arg(args, "--rate").and_then(|r| r.parse::<f64>().ok()) {
        let officer = Actor::verify(&client, &base, &officer);
        paced(accepted, rate, &officer).await?;
        let _ = std::fs::remove_dir_all(dir);
        return Ok(());
    }
    if trace {
        println!("-- verify:");
    }
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
    let rss_peak = sampler.stop();
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
        "evidence uploaded:    {} in {:.2} s = {:.1} /s",
        with_evidence.len(),
        t_upload,
        with_evidence.len() as f64 / t_upload
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
    println!(
        "memory (this process):  RSS {rss_before:.1} MiB before the transitions, peak {rss_peak:.1} MiB during them"
    );
    let _ = std::fs::remove_dir_all(dir);
    Ok(())
}

/// The columns every bulk-inserted case row gives.
const CASE_COLUMNS: &str = "case_no, kind, state, version, record_id, subject_id, department_id, applicant_user_id, \
     reason, outcome, workflow_id, workflow_version, workflow_hash, extension_used, due_at, total_due_at, overdue, \
     provisional_deadline, last_urged_on, open_record_key, result, received_at, routed_at, closed_at, created_at, \
     updated_at";

/// One open case for [`bulk_open_cases`].
struct OpenCase {
    state: &'static str,
    department_id: i64,
    due: chrono::DateTime<Utc>,
    overdue: bool,
    provisional: bool,
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
    let lit = Lit::of(db);
    let hash: String = entity::workflow_definition::Entity::find()
        .all(db)
        .await?
        .into_iter()
        .find(|w| w.workflow_id == "objection")
        .map(|w| w.hash)
        .unwrap_or_default();
    let now = SystemClock.now();
    let (ts, date, b) = (|t| lit.ts(t), |d| lit.date(d), |v| lit.bool(v));
    let f = lit.bool(false);
    let txn = sea_orm::TransactionTrait::begin(db).await?;
    let mut done = 0;
    while done < n {
        let batch = (n - done).min(500);
        let mut cases = format!("INSERT INTO cases ({CASE_COLUMNS}) VALUES ");
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
                "('BENCH{k:08}', 'objection', '{}', 2, {rid}, {subject}, {}, {user}, '基准', NULL, 'objection', 1, '{hash}', {f}, {}, NULL, {}, {}, NULL, {rid}, NULL, {}, {}, NULL, {}, {})",
                c.state,
                c.department_id,
                ts(c.due),
                b(c.overdue),
                b(c.provisional),
                ts(received),
                ts(received),
                ts(received),
                ts(now)
            ));
            deadlines.push_str(&format!(
                "((SELECT id FROM cases WHERE case_no = 'BENCH{k:08}'), 'step', '{}', 4, 0, {}, {}, {}, {}, 'running', NULL, NULL, '[]', NULL, NULL, {})",
                c.state,
                date(received.date_naive()),
                date(c.due.date_naive()),
                ts(c.due),
                b(c.provisional),
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
    // Deadlines counted on a year whose arrangement is not loaded (the
    // calendar alert's input): every deadline not due is provisional.
    let provisional = args.iter().any(|a| a == "--provisional");
    let (state, dir) = state_for(args).await?;
    let db = state.db.clone();
    let pg = db.get_database_backend() == DatabaseBackend::Postgres;
    let subject = ids(&db, "SELECT id FROM subjects WHERE code = '91350100M000100Y43'").await?[0];
    let dept = ids(&db, "SELECT id FROM departments WHERE code = 'STHJ'").await?[0];
    let user = ids(&db, "SELECT id FROM users WHERE username = 'ent_a'").await?[0];
    let t0 = Instant::now();
    bulk_records(&db, n_records, subject, dept).await?;
    // Their subject was told they may be repaired (else the first tick would
    // send that notice for every record, which is not deadline work).
    db.execute_unprepared("UPDATE records SET repair_notified_for = repair_from WHERE document_no LIKE 'BENCH-%'")
        .await?;
    println!("setup: {n_records} records in {:.1} s", t0.elapsed().as_secs_f64());
    let t0 = Instant::now();
    let now = SystemClock.now();
    let first_record = ids(&db, "SELECT MIN(id) FROM records WHERE document_no LIKE 'BENCH-%'").await?[0];
    bulk_open_cases(&db, n_cases, first_record, subject, user, |k| OpenCase {
        state: "with_department",
        department_id: dept,
        due: if k < n_due { now - Duration::hours(1) } else { now + Duration::days(30) },
        overdue: false,
        provisional: provisional && k >= n_due,
    })
    .await?;
    if pg {
        db.execute_unprepared("ANALYZE").await?;
    }
    println!("setup: {n_cases} open cases with deadlines ({n_due} due) in {:.1} s", t0.elapsed().as_secs_f64());
    let mailer = credit_repair::mailer::Mailer::from_settings(&state.settings)?;
    // The daily digest and calendar alert run once a day; measure the tick's steady work.
    credit_repair::jobs::claim(&db, &format!("digest:{}", state.clock.today()), "bench", now).await?;
    // The deadline jobs alone (what came due), then the whole tick, which
    // also sends the notices they queued.
    let t0 = Instant::now();
    let due_work = credit_repair::jobs::deadline_work(&state).await?;
    let d0 = t0.elapsed();
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
    println!(
        "data:                    {n_records} records, {n_cases} open cases, {n_due} due{}",
        if provisional { format!(", {} provisional deadlines", n_cases - n_due) } else { String::new() }
    );
    println!(
        "deadline jobs, {n_due} due: {:>8.1} ms  (warned, overdue, supplements expired) = {due_work:?}",
        d0.as_secs_f64() * 1000.0
    );
    println!("then the tick:           {:>8.1} ms  {:?}", d1.as_secs_f64() * 1000.0, r1);
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
            provisional: false,
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
    let token = api_login(&client, &base, "office").await?;
    println!("backend:                 {}", backend_name(&state.db));
    println!("cases:                   {n}");
    for format in ["xlsx", "csv"] {
        let before = rss_mib();
        let sampler = PeakRss::start();
        let t = Instant::now();
        let res = client.get(format!("{base}/api/v1/cases/export?format={format}")).bearer_auth(&token).send().await?;
        anyhow::ensure!(res.status() == 200, "export {format}: {}", res.status());
        let bytes = res.bytes().await?;
        let secs = t.elapsed().as_secs_f64();
        let peak = sampler.stop();
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

/// Samples this process's resident set every 5 ms until stopped; the server
/// runs in this process, so this bounds the server's peak from above.
struct PeakRss {
    peak: Arc<std::sync::Mutex<f64>>,
    stop: Arc<std::sync::atomic::AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl PeakRss {
    fn start() -> PeakRss {
        let peak = Arc::new(std::sync::Mutex::new(rss_mib()));
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let thread = {
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
        PeakRss { peak, stop, thread: Some(thread) }
    }

    fn stop(mut self) -> f64 {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        self.peak.lock().map(|p| *p).unwrap_or(0.0)
    }
}

async fn api_login(client: &reqwest::Client, base: &str, user: &str) -> anyhow::Result<String> {
    let v: Value = client
        .post(format!("{base}/api/v1/auth/login"))
        .json(&json!({"username": user, "password": PASSWORD}))
        .send()
        .await?
        .json()
        .await?;
    Ok(v["access_token"].as_str().ok_or_else(|| anyhow::anyhow!("login {user}: {v}"))?.to_string())
}

/// `total` GETs with `conc` in flight; `path(i)` names the i-th. Returns
/// (requests per second, median ms, p99 ms).
async fn get_rate(
    client: &reqwest::Client,
    base: &str,
    token: Option<&str>,
    conc: usize,
    total: usize,
    path: Arc<dyn Fn(usize) -> String + Send + Sync>,
) -> anyhow::Result<(f64, f64, f64)> {
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let start = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..conc {
        let (client, base, token, path, next) =
            (client.clone(), base.to_string(), token.map(str::to_string), path.clone(), next.clone());
        tasks.push(tokio::spawn(async move {
            let mut ms = Vec::new();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= total {
                    break;
                }
                let t = Instant::now();
                let mut req = client.get(format!("{base}{}", path(i)));
                if let Some(tok) = &token {
                    req = req.bearer_auth(tok);
                }
                let res = req.send().await?;
                anyhow::ensure!(res.status() == 200, "{}: {}", path(i), res.status());
                res.bytes().await?;
                ms.push(t.elapsed().as_secs_f64() * 1000.0);
            }
            anyhow::Ok(ms)
        }));
    }
    let mut ms = Vec::with_capacity(total);
    for t in tasks {
        ms.extend(t.await??);
    }
    let secs = start.elapsed().as_secs_f64();
    ms.sort_by(f64::total_cmp);
    let pct = |p: f64| ms[((ms.len() - 1) as f64 * p).round() as usize];
    Ok((total as f64 / secs, pct(0.5), pct(0.99)))
}

/// Read throughput at `--concurrency` connections: GET /healthz, GET
/// /api/v1/cases/{id}, and GET case again while another task keeps
/// committing short write transactions (20 ms each) on the server's writer
/// connection: does a read wait for an unrelated write?
async fn reads(args: &[String]) -> anyhow::Result<()> {
    let n = num(args, "--open-cases", 1_000);
    let total = num(args, "--requests", 4_000) as usize;
    let conc = num(args, "--concurrency", 8) as usize;
    let (state, dir) = state_for(args).await?;
    seed_open(&state, n).await?;
    let case_ids = Arc::new(ids(&state.db, "SELECT id FROM cases ORDER BY id").await?);
    let app = Application::build(state.clone(), "127.0.0.1", 0)?;
    let base = format!("http://127.0.0.1:{}", app.port);
    tokio::spawn(app.server);
    credit_repair::install_tls_provider();
    let client = reqwest::Client::new();
    let token = api_login(&client, &base, "office").await?;
    let case_path: Arc<dyn Fn(usize) -> String + Send + Sync> = {
        let case_ids = case_ids.clone();
        Arc::new(move |i| format!("/api/v1/cases/{}", case_ids[(i * 7919) % case_ids.len()]))
    };
    // Warm-up.
    get_rate(&client, &base, Some(&token), conc, 200, case_path.clone()).await?;
    let health = get_rate(&client, &base, None, conc, total, Arc::new(|_| "/healthz".to_string())).await?;
    let case = get_rate(&client, &base, Some(&token), conc, total, case_path.clone()).await?;
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let writer = {
        let (db, stop) = (state.db.clone(), stop.clone());
        tokio::spawn(async move {
            let mut n = 0u64;
            while !stop.load(Ordering::Relaxed) {
                let txn = sea_orm::TransactionTrait::begin(&db).await?;
                txn.execute_unprepared("UPDATE records SET version = version WHERE id = (SELECT MIN(id) FROM records)")
                    .await?;
                tokio::time::sleep(std::time::Duration::from_millis(20)).await;
                txn.commit().await?;
                n += 1;
            }
            anyhow::Ok(n)
        })
    };
    let busy = get_rate(&client, &base, Some(&token), conc, total, case_path).await?;
    stop.store(true, Ordering::Relaxed);
    let writes = writer.await??;
    println!("backend:                 {}", backend_name(&state.db));
    println!("open cases:              {n}; {total} requests per figure, {conc} connections");
    let show = |label: &str, (rate, p50, p99): (f64, f64, f64)| {
        println!("{label:<44} {rate:>8.0} req/s  median {p50:>6.2} ms  p99 {p99:>7.2} ms")
    };
    show("GET /healthz", health);
    show("GET /api/v1/cases/{id}", case);
    show("GET /api/v1/cases/{id}, writer busy (20 ms txns)", busy);
    println!("GET case / healthz:      {:.2}", case.0 / health.0);
    println!("writer transactions:     {writes} during the busy run");
    let _ = std::fs::remove_dir_all(dir);
    Ok(())
}

/// The resident set (VmRSS) and its peak (VmHWM) of process `pid`, in MiB.
fn rss_of(pid: u32) -> (f64, f64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
            .map_or(0.0, |kib| kib / 1024.0)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

/// Memory of the real server binary (next to this example: `cargo build`
/// first, or `--bin PATH`): started twice on one SQLite data directory (the
/// first start seeds the demo data), idle, then after 8 concurrent logins.
async fn memory(args: &[String]) -> anyhow::Result<()> {
    let bin = match arg(args, "--bin") {
        Some(b) => std::path::PathBuf::from(b),
        None => std::env::current_exe()?
            .parent()
            .and_then(|p| p.parent())
            .map(|p| p.join("credit-repair"))
            .ok_or_else(|| anyhow::anyhow!("no server binary"))?,
    };
    anyhow::ensure!(bin.exists(), "{} not found: cargo build first, or --bin PATH", bin.display());
    let dir = std::env::temp_dir().join(format!("credit-repair-bench-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir)?;
    credit_repair::install_tls_provider();
    let client = reqwest::Client::new();
    println!("server:                  {}", bin.display());
    for label in ["first start (seeds demo)", "second start"] {
        let port = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
        let mut child = std::process::Command::new(&bin)
            .env_remove("DATABASE_URL")
            .env("DATA_DIR", &dir)
            .env("HOST", "127.0.0.1")
            .env("PORT", port.to_string())
            .env("JWT_SECRET", "bench-secret-bench-secret-bench-secret")
            .env("DEMO_PASSWORD", PASSWORD)
            .env("RUST_LOG", "warn")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()?;
        let base = format!("http://127.0.0.1:{port}");
        let t0 = Instant::now();
        while client.get(format!("{base}/healthz")).send().await.map(|r| r.status() != 200).unwrap_or(true) {
            anyhow::ensure!(t0.elapsed().as_secs() < 300, "server did not start");
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        tokio::time::sleep(std::time::Duration::from_secs(2)).await;
        let (idle, _) = rss_of(child.id());
        let users = ["ent_a", "ent_b", "ent_c", "office", "sthj", "yjgl", "scjg", "admin"];
        let t = Instant::now();
        let logins: Vec<_> = users
            .iter()
            .map(|u| {
                let (client, base, u) = (client.clone(), base.clone(), u.to_string());
                tokio::spawn(async move { api_login(&client, &base, &u).await })
            })
            .collect();
        for l in logins {
            l.await??;
        }
        let t_login = t.elapsed().as_secs_f64();
        tokio::time::sleep(std::time::Duration::from_secs(2)).await;
        let (after, peak) = rss_of(child.id());
        println!(
            "{label:<25} idle {idle:>6.1} MiB; 8 concurrent logins in {t_login:.2} s; then idle {after:>6.1} MiB (peak {peak:.1} MiB)"
        );
        let _ = child.kill();
        let _ = child.wait();
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
    let token = api_login(&client, &base, "sthj").await?;
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
        let sampler = PeakRss::start();
        let part = reqwest::multipart::Part::bytes(bytes.clone()).file_name(name.to_string());
        let form = reqwest::multipart::Form::new().text("mode", mode).part("file", part);
        let t = Instant::now();
        let res = client.post(format!("{base}/api/v1/imports")).bearer_auth(&token).multipart(form).send().await?;
        let status = res.status();
        let body: Value = res.json().await?;
        let secs = t.elapsed().as_secs_f64();
        let peak = sampler.stop();
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

/// The monitoring reports over many cases: `--open-cases` open (default
/// 100,000) and `--closed-cases` closed (default 1,000,000, spread evenly
/// over the last `--years` years, default 1, so the default reporting period
/// of 365 days holds them all). Closed cases are inserted judged, with their
/// `closure_counts` rows summed from them, as closing transitions leave them.
/// Prints the median and worst of 9 requests of each report.
async fn reports(args: &[String]) -> anyhow::Result<()> {
    let n_open = num(args, "--open-cases", 100_000);
    let n_closed = num(args, "--closed-cases", 1_000_000);
    let years = num(args, "--years", 1).max(1);
    let (state, dir) = state_for(args).await?;
    let db = state.db.clone();
    let pg = db.get_database_backend() == DatabaseBackend::Postgres;
    let subject = ids(&db, "SELECT id FROM subjects WHERE code = '91350100M000100Y43'").await?[0];
    let user = ids(&db, "SELECT id FROM users WHERE username = 'ent_a'").await?[0];
    let depts = ids(&db, "SELECT id FROM departments ORDER BY id").await?;
    let t0 = Instant::now();
    bulk_records(&db, n_open.max(1), subject, depts[0]).await?;
    let first_record = ids(&db, "SELECT MIN(id) FROM records WHERE document_no LIKE 'BENCH-%'").await?[0];
    let now = SystemClock.now();
    bulk_open_cases(&db, n_open, first_record, subject, user, |k| OpenCase {
        state: "with_department",
        department_id: depts[(k as usize) % depts.len()],
        due: now + Duration::days((k % 20) as i64 - 5),
        overdue: k % 20 < 5,
        provisional: false,
    })
    .await?;
    println!("setup: {n_open} open cases in {:.1} s", t0.elapsed().as_secs_f64());

    // Closed cases, judged; their counts summed as the closings would have.
    let t0 = Instant::now();
    let today = now.date_naive();
    let span = 365 * years;
    let lit = Lit::of(&db);
    let (ts, date, b) = (|t| lit.ts(t), |d| lit.date(d), |v| lit.bool(v));
    let f = lit.bool(false);
    type Key = (chrono::NaiveDate, i64, &'static str, &'static str, bool, bool, bool);
    let mut counts: std::collections::BTreeMap<Key, (i64, i64, i64, i64)> = Default::default();
    let mut seed: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut rnd = move |m: u64| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed % m
    };
    let txn = sea_orm::TransactionTrait::begin(&db).await?;
    let mut done = 0;
    while done < n_closed {
        let batch = (n_closed - done).min(500);
        let mut sql = format!(
            "INSERT INTO cases ({CASE_COLUMNS}, closure_class, closed_on, closed_within_legal, \
             closed_within_own_scope, handling_working_days) VALUES "
        );
        for i in 0..batch {
            let k = done + i;
            let closed_on = today - Duration::days((k % span) as i64);
            let closed_at = credit_repair::clock::end_of_local_day(closed_on) - Duration::hours(8);
            let kind = if rnd(3) == 0 { "repair" } else { "objection" };
            let class =
                ["decided", "decided", "decided", "decided", "decided", "decided", "withdrawn", "not_accepted", "moot"]
                    [rnd(9) as usize];
            let routed = rnd(10) != 0;
            let decided = class == "decided";
            let within_legal = rnd(5) != 0;
            let own = kind == "objection" && !routed && rnd(2) == 0;
            let days = rnd(15) as i64;
            let dept = depts[rnd(depts.len() as u64) as usize];
            let received = closed_at - Duration::days(days + days / 5);
            if i > 0 {
                sql.push(',');
            }
            sql.push_str(&format!(
                "('BC{k:09}', '{kind}', 'closed', 3, {}, {subject}, {dept}, {user}, '基准', NULL, '{kind}', 1, 'bench', {f}, NULL, NULL, {f}, {f}, NULL, NULL, NULL, {}, {}, {}, {}, {}, '{class}', {}, {}, {}, {days})",
                first_record + (k % n_open.max(1)) as i64,
                ts(received),
                if routed { ts(received) } else { "NULL".into() },
                ts(closed_at),
                ts(received),
                ts(closed_at),
                date(closed_on),
                b(within_legal),
                b(own),
            ));
            let key = (closed_on, dept, kind, class, routed, decided && within_legal, decided && own);
            let e = counts.entry(key).or_default();
            e.0 += 1;
            if decided {
                e.1 += 1;
                e.2 += days;
                e.3 = e.3.max(days);
            }
        }
        txn.execute_unprepared(&sql).await?;
        done += batch;
    }
    let rows: Vec<_> = counts.into_iter().collect();
    for chunk in rows.chunks(500) {
        let mut sql = String::from(
            "INSERT INTO closure_counts (closed_on, department_id, kind, closure_class, routed, within_legal, \
             within_own_scope, n, timed, days_sum, days_max) VALUES ",
        );
        for (i, ((day, dept, kind, class, routed, legal, own), (n, timed, sum, max))) in chunk.iter().enumerate() {
            if i > 0 {
                sql.push(',');
            }
            sql.push_str(&format!(
                "({}, {dept}, '{kind}', '{class}', {}, {}, {}, {n}, {timed}, {sum}, {max})",
                date(*day),
                b(*routed),
                b(*legal),
                b(*own)
            ));
        }
        txn.execute_unprepared(&sql).await?;
    }
    txn.commit().await?;
    if pg {
        db.execute_unprepared("ANALYZE").await?;
    }
    println!(
        "setup: {n_closed} closed cases over {years} year(s), {} closure_counts rows, in {:.1} s",
        rows.len(),
        t0.elapsed().as_secs_f64()
    );

    let app = Application::build(state.clone(), "127.0.0.1", 0)?;
    let base = format!("http://127.0.0.1:{}", app.port);
    tokio::spawn(app.server);
    credit_repair::install_tls_provider();
    let client = reqwest::Client::new();
    let office = api_login(&client, &base, "office").await?;
    println!("backend:                 {}", backend_name(&db));
    println!("data:                    {n_open} open cases, {n_closed} closed");
    for path in [
        "/api/v1/reports/overview".to_string(),
        "/api/v1/reports/dashboard".to_string(),
        "/api/v1/reports/statistics?format=csv".to_string(),
        format!("/api/v1/reports/overview?from={}&to={today}", today - Duration::days(30)),
    ] {
        let mut ms = Vec::new();
        for _ in 0..9 {
            let t = Instant::now();
            let res = client.get(format!("{base}{path}")).bearer_auth(&office).send().await?;
            anyhow::ensure!(res.status() == 200, "{path}: {}", res.status());
            res.bytes().await?;
            ms.push(t.elapsed().as_secs_f64() * 1000.0);
        }
        ms.sort_by(f64::total_cmp);
        println!("GET {path:<48} median {:>7.1} ms  worst {:>7.1} ms", ms[4], ms[8]);
    }
    let _ = std::fs::remove_dir_all(dir);
    Ok(())
}

/// A staff session on a running bench server and the action it takes.
#[derive(Clone)]
struct Actor {
    client: reqwest::Client,
    base: String,
    token: String,
    action: &'static str,
    body: Value,
}

impl Actor {
    /// The department officer's verify ("maintained"), which issues a letter.
    fn verify(client: &reqwest::Client, base: &str, token: &str) -> Actor {
        Actor {
            client: client.clone(),
            base: base.to_string(),
            token: token.to_string(),
            action: "verify",
            body: json!({"outcome": "maintained", "comment": "信息无误，予以维持"}),
        }
    }

    /// Takes the action on case `id`; true on success.
    async fn act(&self, id: i64) -> bool {
        let res = self
            .client
            .post(format!("{}/api/v1/cases/{id}/actions/{}", self.base, self.action))
            .bearer_auth(&self.token)
            .json(&self.body)
            .send()
            .await;
        match res {
            Ok(r) if r.status().is_success() => r.bytes().await.is_ok(),
            Ok(r) => {
                eprintln!("{} {id}: {}", self.action, r.status());
                false
            }
            Err(e) => {
                eprintln!("{} {id}: {e}", self.action);
                false
            }
        }
    }
}

/// Transitions at a steady `rate` per second (each request sent on its
/// schedule, whatever the others do): latency percentiles.
async fn paced(cases: Vec<i64>, rate: f64, actor: &Actor) -> anyhow::Result<()> {
    let start = tokio::time::Instant::now();
    let mut tasks = Vec::with_capacity(cases.len());
    for (i, id) in cases.into_iter().enumerate() {
        tokio::time::sleep_until(start + std::time::Duration::from_secs_f64(i as f64 / rate)).await;
        let o = actor.clone();
        tasks.push(tokio::spawn(async move {
            let t = Instant::now();
            let ok = o.act(id).await;
            (ok, t.elapsed().as_secs_f64() * 1000.0)
        }));
    }
    let mut ms = Vec::new();
    let mut failed = 0;
    for t in tasks {
        let (ok, m) = t.await?;
        if ok {
            ms.push(m);
        } else {
            failed += 1;
        }
    }
    anyhow::ensure!(!ms.is_empty(), "no {} succeeded", actor.action);
    let secs = start.elapsed().as_secs_f64();
    ms.sort_by(f64::total_cmp);
    let pct = |p: f64| ms[((ms.len() - 1) as f64 * p).round() as usize];
    println!(
        "verify at a steady rate: {rate:.0}/s asked, {:.1}/s done, {} ok, {failed} failed",
        ms.len() as f64 / secs,
        ms.len()
    );
    println!(
        "latency of one transition: median {:.1} ms, p90 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        pct(0.5),
        pct(0.9),
        pct(0.99),
        pct(1.0)
    );
    Ok(())
}

/// A copy of the bench database as it now stands, under a new name: SQLite
/// `VACUUM INTO` a file beside it, PostgreSQL `pg_dump | psql` into a new
/// database. Returns the copy's URL.
async fn snapshot(state: &credit_repair::state::AppState, dir: &std::path::Path, name: &str) -> anyhow::Result<String> {
    let url = state.settings.effective_database_url();
    if state.db.get_database_backend() != DatabaseBackend::Postgres {
        let path = dir.join(format!("{name}.db"));
        state.db.execute_unprepared(&format!("VACUUM INTO '{}'", path.display())).await?;
        return Ok(format!("sqlite://{}?mode=rwc", path.display()));
    }
    let (head, query) = url.split_once('?').map(|(h, q)| (h, format!("?{q}"))).unwrap_or((url.as_str(), String::new()));
    let (server, db) = head.rsplit_once('/').ok_or_else(|| anyhow::anyhow!("no database in {url}"))?;
    let copy = format!("{db}_{name}");
    let admin = sea_orm::Database::connect(format!("{server}/postgres{query}")).await?;
    admin.execute_unprepared(&format!("DROP DATABASE IF EXISTS \"{copy}\"")).await?;
    admin.execute_unprepared(&format!("CREATE DATABASE \"{copy}\"")).await?;
    let copy_url = format!("{server}/{copy}{query}");
    let status = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!("pg_dump --no-owner '{url}' | psql -q -o /dev/null '{copy_url}'"))
        .status()?;
    anyhow::ensure!(status.success(), "pg_dump | psql failed");
    Ok(copy_url)
}

/// How close the server comes to the database doing the same work alone.
/// Two copies of the database are made as it stands. The server takes
/// `actor`'s action on every case once, one at a time, on the original, and
/// the statements each request sent are kept. Then, in the same run, a
/// second server takes the action on them all with `conc` requests in
/// flight on one copy (signed in as `user`), and `conc` bare clients replay
/// the kept statements, each request's as one transaction, on the other
/// (through the server's own connection pool: on SQLite its one writer).
/// Prints both rates and their ratio; returns the cases the action succeeded on.
async fn replay(
    state: &credit_repair::state::AppState,
    dir: &std::path::Path,
    cases: Vec<i64>,
    conc: usize,
    actor: &Actor,
    user: &str,
) -> anyhow::Result<Vec<i64>> {
    let server_copy = snapshot(state, dir, &format!("{}_server", actor.action)).await?;
    let replay_copy = snapshot(state, dir, &format!("{}_replay", actor.action)).await?;
    // The statements of each request, one request at a time.
    let mut kept: Vec<Vec<Statement>> = Vec::with_capacity(cases.len());
    let mut done = Vec::with_capacity(cases.len());
    for &id in &cases {
        *CAPTURE.lock().map_err(|_| anyhow::anyhow!("capture lock"))? = Some(Vec::new());
        let ok = actor.act(id).await;
        let list = CAPTURE.lock().map_err(|_| anyhow::anyhow!("capture lock"))?.take().unwrap_or_default();
        if ok {
            kept.push(list);
            done.push(id);
        }
    }
    let per = kept.iter().map(Vec::len).sum::<usize>() as f64 / kept.len().max(1) as f64;

    // The server on its copy.
    let server_state = build_state(settings_at(&server_copy, dir), Arc::new(SystemClock)).await?;
    let app = Application::build(server_state.clone(), "127.0.0.1", 0)?;
    let base = format!("http://127.0.0.1:{}", app.port);
    tokio::spawn(app.server);
    let client = reqwest::Client::new();
    let token = api_login(&client, &base, user).await?;
    let second = Arc::new(Actor { client, base, token, ..actor.clone() });
    let queue = Arc::new(std::sync::Mutex::new(cases.clone()));
    let start = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..conc {
        let (queue, o) = (queue.clone(), second.clone());
        tasks.push(tokio::spawn(async move {
            let mut ok = 0u64;
            loop {
                let next = queue.lock().ok().and_then(|mut q| q.pop());
                let Some(id) = next else { break };
                ok += u64::from(o.act(id).await);
            }
            ok
        }));
    }
    let mut served = 0;
    for t in tasks {
        served += t.await?;
    }
    let server_secs = start.elapsed().as_secs_f64();

    // The kept statements, bare, on the other copy.
    let (writer, _) = credit_repair::db::connect_pools(&settings_at(&replay_copy, dir)).await?;
    let queue = Arc::new(std::sync::Mutex::new(kept));
    let start = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..conc {
        let (queue, db) = (queue.clone(), writer.clone());
        tasks.push(tokio::spawn(async move {
            let (mut ok, mut failed) = (0u64, 0u64);
            loop {
                let next = queue.lock().ok().and_then(|mut q| q.pop());
                let Some(list) = next else { break };
                let run = async {
                    let txn = sea_orm::TransactionTrait::begin(&db).await?;
                    for st in list {
                        txn.query_all_raw(st).await?;
                    }
                    txn.commit().await?;
                    anyhow::Ok(())
                };
                match run.await {
                    Ok(()) => ok += 1,
                    Err(e) => {
                        if failed == 0 {
                            eprintln!("replay: {e}");
                        }
                        failed += 1;
                    }
                }
            }
            (ok, failed)
        }));
    }
    let (mut replayed, mut failed) = (0, 0);
    for t in tasks {
        let (o, f) = t.await?;
        replayed += o;
        failed += f;
    }
    let replay_secs = start.elapsed().as_secs_f64();
    let (server_rate, replay_rate) = (served as f64 / server_secs, replayed as f64 / replay_secs);
    let a = actor.action;
    println!("{a}: statements/request {per:.1} (kept from one request at a time)");
    println!("{a}: server, {conc} in flight: {served} in {server_secs:.2} s = {server_rate:.1} /s");
    println!(
        "{a}: bare replay, {conc} clients: {replayed} in {replay_secs:.2} s = {replay_rate:.1} /s ({failed} failed)"
    );
    println!("{a}: ratio server / replay: {:.2}", server_rate / replay_rate);
    Ok(done)
}
