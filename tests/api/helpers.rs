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
        let mut req = self.client.request(method, self.url(path));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let res = req.send().await.expect("request");
        let status = res.status();
        let text = res.text().await.unwrap_or_default();
        Resp { status, body: serde_json::from_str(&text).unwrap_or(Value::Null) }
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

/// Demo document numbers (see src/seed.rs).
pub mod demo {
    /// ent_a, 区生态环境分局, current 一般, repairable now, two sanctions.
    pub const REPAIRABLE: &str = "济高环罚〔2026〕12号";
    /// ent_a, 区应急管理局, current 严重, decided 2 months ago: too early.
    pub const TOO_EARLY: &str = "济高应急罚〔2026〕31号";
    /// ent_b, 区市场监管局, legacy 特定严重失信, on the list: not repairable.
    pub const NOT_REPAIRABLE: &str = "济高市监罚〔2025〕8号";
    /// ent_b, current 轻微: not published.
    pub const NOT_PUBLISHED: &str = "济高市监简罚〔2026〕102号";
    /// ent_c, legacy 一般失信, past its publication end yet still published.
    pub const EXPIRED: &str = "济高应急罚〔2025〕77号";
    /// ent_c, 区生态环境分局, current 严重 list entry, repairable now, two sanctions.
    pub const LIST_ENTRY: &str = "济高环罚〔2025〕40号";
    /// A natural person's record.
    pub const NATURAL_PERSON: &str = "济高市监罚〔2026〕55号";

    pub const ENT_A: &str = "91350100M000100Y43";
    pub const ENT_B: &str = "91330100799655058B";
    pub const ENT_C: &str = "9144030071526726XG";
    pub const PERSON: &str = "37010219850315123X";
}
