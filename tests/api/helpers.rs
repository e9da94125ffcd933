#![allow(dead_code)]

use std::path::PathBuf;
use std::sync::Arc;

use credit_repair::clock::ShiftedClock;
use credit_repair::config::{Secret, Settings};
use credit_repair::startup::{Application, build_state};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

pub const PASSWORD: &str = "Test#Passw0rd";

pub struct TestApp {
    pub base: String,
    pub client: reqwest::Client,
    pub clock: Arc<ShiftedClock>,
    pub state: credit_repair::state::AppState,
    pub data_dir: PathBuf,
    _tmp: TempDir,
}

/// A temporary directory removed on drop.
pub struct TempDir(pub PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn temp_dir() -> TempDir {
    let dir = std::env::temp_dir().join(format!("credit-repair-test-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    TempDir(dir)
}

/// A fresh database URL: a new PostgreSQL database when TEST_DATABASE_URL
/// is set, otherwise a SQLite file in `dir`.
pub async fn fresh_database_url(dir: &std::path::Path) -> String {
    match std::env::var("TEST_DATABASE_URL") {
        Ok(base) if !base.is_empty() => {
            use sea_orm::{ConnectionTrait, Database};
            let name = format!("crtest_{}", uuid::Uuid::new_v4().simple());
            let admin = Database::connect(&base).await.expect("connect to TEST_DATABASE_URL");
            admin.execute_unprepared(&format!("CREATE DATABASE {name}")).await.expect("create test database");
            admin.close().await.ok();
            let (prefix, _) = base.rsplit_once('/').expect("database URL with a database name");
            format!("{prefix}/{name}")
        }
        _ => format!("sqlite://{}?mode=rwc", dir.join("test.db").display()),
    }
}

/// A change to the settings before the server starts.
pub type Tweak = Box<dyn FnOnce(&mut Settings)>;

pub struct Options {
    pub demo: bool,
    pub tweak: Option<Tweak>,
}

impl Default for Options {
    fn default() -> Self {
        Options { demo: true, tweak: None }
    }
}

pub async fn spawn() -> TestApp {
    spawn_with(Options::default()).await
}

pub async fn spawn_with(opts: Options) -> TestApp {
    credit_repair::install_tls_provider();
    if std::env::var("TEST_LOG").is_ok() {
        let _ = tracing_subscriber::fmt().with_env_filter("info").try_init();
    }
    let tmp = temp_dir();
    let mut settings = Settings {
        database_url: fresh_database_url(&tmp.0).await,
        data_dir: tmp.0.clone(),
        jwt_secret: Secret::new("test-secret-test-secret-test-secret"),
        demo_password: Secret::new(PASSWORD),
        demo: opts.demo,
        scheduler: false,
        ..Settings::default()
    };
    if let Some(t) = opts.tweak {
        t(&mut settings);
    }
    let clock = Arc::new(ShiftedClock::default());
    let state = build_state(settings, clock.clone()).await.expect("build state");
    let app = Application::build(state.clone(), "127.0.0.1", 0).expect("bind");
    let port = app.port;
    tokio::spawn(app.server);
    TestApp {
        base: format!("http://127.0.0.1:{port}"),
        client: reqwest::Client::new(),
        clock,
        state,
        data_dir: tmp.0.clone(),
        _tmp: tmp,
    }
}

/// A response's status and JSON body (Null when the body is not JSON).
pub struct Resp {
    pub status: StatusCode,
    pub body: Value,
}

impl Resp {
    pub fn code(&self) -> &str {
        self.body["code"].as_str().unwrap_or("")
    }
    #[track_caller]
    pub fn ok(self) -> Value {
        assert!(self.status.is_success(), "expected success, got {} {}", self.status, self.body);
        self.body
    }
    #[track_caller]
    pub fn expect(self, status: u16, code: &str) -> Value {
        assert_eq!(self.status.as_u16(), status, "body: {}", self.body);
        assert_eq!(self.code(), code, "body: {}", self.body);
        assert!(self.body["message"].as_str().is_some_and(|m| !m.is_empty()), "message missing: {}", self.body);
        self.body
    }
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    pub async fn request(&self, method: Method, path: &str, token: Option<&str>, body: Option<Value>) -> Resp {
        let mut req = self.client.request(method.clone(), self.url(path));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let changes = method != Method::GET;
        let res = req.send().await.expect("request");
        let status = res.status();
        let text = res.text().await.unwrap_or_default();
        if changes {
            self.assert_records_consistent_but_lag(&format!("after {method} {path} ({status})")).await;
        }
        Resp { status, body: serde_json::from_str(&text).unwrap_or(Value::Null) }
    }

    /// The record invariant holds for every record in the database.
    pub async fn assert_records_consistent(&self, when: &str) {
        self.check_records(when, false).await
    }

    /// The same, called after every request that may change something: a
    /// test that moves the clock past a window's end without running the
    /// scheduler leaves that record published until the next tick, so
    /// `published_past_end` is the scheduler tests' to check.
    pub async fn assert_records_consistent_but_lag(&self, when: &str) {
        self.check_records(when, true).await
    }

    async fn check_records(&self, when: &str, allow_lag: bool) {
        let today = credit_repair::clock::Clock::today(&*self.clock);
        let (_, mut bad) = credit_repair::services::consistency::check_records(
            &self.state.db,
            today,
            self.state.settings.publication.publication_end,
            None,
        )
        .await
        .expect("check records");
        if allow_lag {
            for r in &mut bad {
                r.violations.retain(|v| v.code != "published_past_end");
            }
            bad.retain(|r| !r.violations.is_empty());
        }
        assert!(bad.is_empty(), "record invariant broken {when}: {bad:#?}");
    }

    pub async fn get(&self, path: &str, token: &str) -> Resp {
        self.request(Method::GET, path, Some(token), None).await
    }
    pub async fn post(&self, path: &str, token: &str, body: Value) -> Resp {
        self.request(Method::POST, path, Some(token), Some(body)).await
    }
    pub async fn patch(&self, path: &str, token: &str, body: Value) -> Resp {
        self.request(Method::PATCH, path, Some(token), Some(body)).await
    }

    pub async fn login_raw(&self, username: &str, password: &str) -> Resp {
        self.request(
            Method::POST,
            "/api/v1/auth/login",
            None,
            Some(json!({"username": username, "password": password})),
        )
        .await
    }

    /// Logs in a demo user and returns its access token.
    pub async fn login(&self, username: &str) -> String {
        let body = self.login_raw(username, PASSWORD).await.ok();
        body["access_token"].as_str().expect("access token").to_string()
    }

    pub async fn delete(&self, path: &str, token: &str) -> Resp {
        self.request(Method::DELETE, path, Some(token), None).await
    }

    /// The id of a department by name (administrator's view).
    pub async fn department_id(&self, admin: &str, name: &str) -> i64 {
        let list = self.get("/api/v1/admin/departments", admin).await.ok();
        let found = list.as_array().unwrap().iter().find(|d| d["name"] == name).cloned();
        id_of(&found.unwrap_or_else(|| panic!("department {name} not found in {list}")))
    }

    /// The id of a subject by code (administrator's view).
    pub async fn subject_id(&self, admin: &str, code: &str) -> i64 {
        let list = self.get("/api/v1/admin/subjects", admin).await.ok();
        let found = list.as_array().unwrap().iter().find(|s| s["code"] == code).cloned();
        id_of(&found.unwrap_or_else(|| panic!("subject {code} not found in {list}")))
    }

    /// The id of the demo record with the given document number.
    pub async fn record_id(&self, document_no: &str) -> i64 {
        let office = self.login("office").await;
        let list = self.get("/api/v1/records?per_page=100", &office).await.ok();
        list["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["document_no"] == document_no)
            .unwrap_or_else(|| panic!("record {document_no} not found"))["id"]
            .as_i64()
            .unwrap()
    }
}

/// Sends a request and wraps the answer.
pub async fn send(req: reqwest::RequestBuilder) -> Resp {
    let res = req.send().await.expect("request");
    let status = res.status();
    let text = res.text().await.unwrap_or_default();
    Resp { status, body: serde_json::from_str(&text).unwrap_or(Value::Null) }
}

/// The `id` of a JSON object.
#[track_caller]
pub fn id_of(v: &Value) -> i64 {
    v["id"].as_i64().unwrap_or_else(|| panic!("id missing: {v}"))
}

/// A date from `YYYY-MM-DD`.
#[track_caller]
pub fn d(s: &str) -> chrono::NaiveDate {
    chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap_or_else(|e| panic!("date {s}: {e}"))
}

/// A minimal PDF of exactly `len` bytes (at least the header).
pub fn pdf(len: usize) -> Vec<u8> {
    let mut b = b"%PDF-1.4\n%test material\n".to_vec();
    while b.len() < len {
        b.push(b'0' + (b.len() % 10) as u8);
    }
    b.truncate(len.max(8));
    b
}

/// An accepted repair: both materials on file, waiting at the department.
pub struct Repair {
    pub id: i64,
    pub record_id: i64,
    pub office: String,
    pub officer: String,
    pub applicant: String,
}

/// Cases and records over HTTP, as the test files use them.
impl TestApp {
    /// Files a case and returns the raw response (an objection says its
    /// content is wrong).
    pub async fn try_file(&self, token: &str, kind: &str, record_id: i64) -> Resp {
        let mut body = json!({"kind": kind, "record_id": record_id, "reason": "申请理由：信息有误或已履行义务"});
        if kind == "objection" {
            body["grounds"] = json!("wrong_content");
        }
        self.post("/api/v1/cases", token, body).await
    }

    /// Files a case that intake must accept (201); returns the case. An
    /// objection comes with its evidence, which acceptance needs.
    pub async fn file(&self, token: &str, kind: &str, record_id: i64) -> Value {
        let res = self.try_file(token, kind, record_id).await;
        assert_eq!(res.status.as_u16(), 201, "filing {kind} on {record_id}: {}", res.body);
        assert_eq!(res.body["state"], "submitted", "{}", res.body);
        if kind == "objection" {
            let up = self.upload_pdf(token, id_of(&res.body), "evidence").await;
            assert_eq!(up.status.as_u16(), 201, "{}", up.body);
        }
        res.body
    }

    /// Takes an action on a case.
    pub async fn act(&self, token: &str, id: i64, action: &str, body: Value) -> Resp {
        self.post(&format!("/api/v1/cases/{id}/actions/{action}"), token, body).await
    }

    /// Multipart upload: `kind` (if given) and `file` (if given, with a name and a declared type).
    pub async fn upload(&self, token: &str, id: i64, kind: Option<&str>, file: Option<(&str, &str, Vec<u8>)>) -> Resp {
        let mut form = reqwest::multipart::Form::new();
        if let Some(k) = kind {
            form = form.text("kind", k.to_string());
        }
        if let Some((name, mime, bytes)) = file {
            let part = reqwest::multipart::Part::bytes(bytes).file_name(name.to_string()).mime_str(mime).unwrap();
            form = form.part("file", part);
        }
        send(self.client.post(self.url(&format!("/api/v1/cases/{id}/attachments"))).bearer_auth(token).multipart(form))
            .await
    }

    /// Uploads a small PDF as material of `kind`.
    pub async fn upload_pdf(&self, token: &str, id: i64, kind: &str) -> Resp {
        let bytes = format!("%PDF-1.4\n% {kind} for case {id}\n%%EOF\n").into_bytes();
        self.upload(token, id, Some(kind), Some((&format!("{kind}.pdf"), "application/pdf", bytes))).await
    }

    /// A case the caller may see.
    pub async fn case(&self, token: &str, id: i64) -> Value {
        self.get(&format!("/api/v1/cases/{id}"), token).await.ok()
    }

    /// A record the caller may see.
    pub async fn record(&self, token: &str, id: i64) -> Value {
        self.get(&format!("/api/v1/records/{id}"), token).await.ok()
    }

    /// The public query's items for a subject code (no login).
    pub async fn public_items(&self, code: &str) -> Vec<Value> {
        let body = self.request(Method::GET, &format!("/api/v1/public/records?subject={code}"), None, None).await.ok();
        body["items"].as_array().unwrap_or_else(|| panic!("items missing: {body}")).clone()
    }

    /// `applicant` files a repair on `doc`, uploads both materials, and the
    /// credit office accepts it: the case waits at the department (sthj).
    pub async fn accepted_repair(&self, applicant: &str, doc: &str) -> Repair {
        let record_id = self.record_id(doc).await;
        let applicant = self.login(applicant).await;
        let office = self.login("office").await;
        let officer = self.login("sthj").await;
        let id = id_of(&self.file(&applicant, "repair", record_id).await);
        for kind in ["fulfilment_proof", "commitment_letter"] {
            let res = self.upload_pdf(&applicant, id, kind).await;
            assert_eq!(res.status.as_u16(), 201, "{}", res.body);
        }
        let case = self.act(&office, id, "accept", json!({"comment": "材料齐全，予以受理"})).await.ok();
        assert_eq!(case["state"], "with_department", "{case}");
        Repair { id, record_id, office, officer, applicant }
    }
}

/// The names of the actions a case view offers, sorted.
pub fn action_names(case: &Value) -> Vec<String> {
    let mut names: Vec<String> = case["actions"]
        .as_array()
        .unwrap_or_else(|| panic!("actions missing: {case}"))
        .iter()
        .map(|a| a["name"].as_str().unwrap().to_string())
        .collect();
    names.sort();
    names
}

/// Owned and sorted, to compare with `action_names` and the like.
pub fn sorted(v: &[&str]) -> Vec<String> {
    let mut v: Vec<String> = v.iter().map(|s| s.to_string()).collect();
    v.sort();
    v
}

/// The item with this id in a list of JSON objects.
pub fn find_by_id(items: &[Value], id: i64) -> Option<&Value> {
    items.iter().find(|r| r["id"].as_i64() == Some(id))
}

/// Demo document numbers (see src/seed.rs).
pub mod demo {
    /// ent_a, 区生态环境分局, current 一般, repairable now, two sanctions.
    pub const REPAIRABLE: &str = "济高环罚〔2026〕12号";
    /// ent_a, 区应急管理局, current 严重, decided 2 months ago: too early.
    pub const TOO_EARLY: &str = "济高应急罚〔2026〕31号";
    /// ent_b, 区市场监管局, a market-regulation (SAMR) list entry: repaired on SAMR's system.
    pub const SAMR_LISTED: &str = "济高市监罚〔2025〕8号";
    /// ent_b, current 轻微: not published.
    pub const NOT_PUBLISHED: &str = "济高市监简罚〔2026〕102号";
    /// ent_c, Order 58 一般 decided 40 months ago: entered past its end, so ended.
    pub const EXPIRED: &str = "济高应急罚〔2025〕77号";
    /// ent_c, 区生态环境分局, Order 58 严重 list entry, repairable now, two sanctions.
    pub const LIST_ENTRY: &str = "济高环罚〔2025〕40号";
    /// A natural person's record.
    pub const NATURAL_PERSON: &str = "济高市监罚〔2026〕55号";

    pub const ENT_A: &str = "91350100M000100Y43";
    pub const ENT_B: &str = "91330100799655058B";
    pub const ENT_C: &str = "9144030071526726XG";
    pub const PERSON: &str = "37010219850315123X";
}
