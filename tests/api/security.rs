//! Hardening over HTTP: the sign-in throttle (a stranger cannot lock the
//! owner out), and every lockout in the log (a real server process, its log
//! captured).
//!
//! Several client addresses: the test server listens on 127.0.0.1, and a
//! client bound to another 127.0.0.0/8 address reaches it over loopback.

use std::net::IpAddr;
use std::sync::{Arc, Mutex};

use reqwest::StatusCode;
use reqwest::header::HeaderMap;
use scraper::{Html, Selector};
use serde_json::{Value, json};

use crate::helpers::*;

const WRONG: &str = "Wrong#Passw0rd";

/// A client whose requests come from `ip`, keeping cookies, not following redirects.
fn client_from(ip: &str) -> reqwest::Client {
    reqwest::Client::builder()
        .local_address(ip.parse::<IpAddr>().unwrap())
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// A response: status, headers, JSON body (Null when not JSON) and text.
struct Answer {
    status: StatusCode,
    headers: HeaderMap,
    body: Value,
    text: String,
}

impl Answer {
    async fn of(res: reqwest::Response) -> Answer {
        let status = res.status();
        let headers = res.headers().clone();
        let text = res.text().await.unwrap_or_default();
        Answer { status, headers, body: serde_json::from_str(&text).unwrap_or(Value::Null), text }
    }
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
    fn retry_after(&self) -> u64 {
        self.header("retry-after")
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("no Retry-After: {}", self.text))
    }
    #[track_caller]
    fn expect(&self, status: u16, code: &str) -> &Self {
        assert_eq!(self.status.as_u16(), status, "{}", self.text);
        assert_eq!(self.body["code"], code, "{}", self.text);
        assert!(self.body["message"].as_str().is_some_and(|m| !m.is_empty()), "{}", self.text);
        self
    }
}

/// An API sign-in attempt from `client`.
async fn attempt(app: &TestApp, client: &reqwest::Client, user: &str, password: &str) -> Answer {
    let res = client
        .post(app.url("/api/v1/auth/login"))
        .json(&json!({"username": user, "password": password}))
        .send()
        .await
        .expect("login request");
    Answer::of(res).await
}

/// A sign-in through the login page from `client`: 303 on success.
async fn page_attempt(app: &TestApp, client: &reqwest::Client, user: &str, password: &str) -> Answer {
    let form = client.get(app.url("/login")).send().await.unwrap().text().await.unwrap();
    let token = Html::parse_document(&form)
        .select(&Selector::parse("input[name=csrf]").unwrap())
        .next()
        .and_then(|e| e.value().attr("value").map(str::to_string))
        .expect("login csrf");
    let res = client
        .post(app.url("/login"))
        .form(&[("username", user), ("password", password), ("csrf", &token)])
        .send()
        .await
        .unwrap();
    Answer::of(res).await
}

/// Moves the test clock by exactly `secs` seconds.
fn advance(app: &TestApp, secs: i64) {
    app.clock.advance_seconds(secs);
}

/// The administrator's view of a user.
async fn admin_view(app: &TestApp, admin: &str, username: &str) -> Value {
    let users = app.get("/api/v1/admin/users", admin).await.ok();
    users.as_array().unwrap().iter().find(|u| u["username"] == username).cloned().expect("user listed")
}

async fn unlock(app: &TestApp, admin: &str, username: &str) {
    let id = id_of(&admin_view(app, admin, username).await);
    let view = app.patch(&format!("/api/v1/admin/users/{id}"), admin, json!({"unlock": true})).await.ok();
    assert!(view["locked_until"].is_null(), "{view}");
}

// ---------- the sign-in throttle ----------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_attacker_address_locks_itself_but_not_the_owner() {
    let app = spawn().await;
    let attacker = client_from("127.0.0.2");
    for _ in 0..4 {
        attempt(&app, &attacker, "sthj", WRONG).await.expect(401, "invalid_credentials");
    }
    let locked = attempt(&app, &attacker, "sthj", WRONG).await;
    locked.expect(423, "account_locked");
    assert!((890..=900).contains(&locked.retry_after()), "{:?}", locked.headers);
    let message = locked.body["message"].as_str().unwrap();
    assert!(message.contains("锁定至") && message.contains("请届时再试"), "{message}");
    // The attacker's address stays locked even with the right password, on the page too.
    attempt(&app, &attacker, "sthj", PASSWORD).await.expect(423, "account_locked");
    let page = page_attempt(&app, &attacker, "sthj", PASSWORD).await;
    assert_eq!(page.status.as_u16(), 423, "{}", page.text);
    assert!(page.text.contains("锁定至") && page.header("retry-after").is_some(), "{}", page.text);

    // The owner, from another address, signs in through the API and the page.
    let owner = client_from("127.0.0.1");
    assert!(attempt(&app, &owner, "sthj", PASSWORD).await.body["access_token"].is_string());
    assert_eq!(page_attempt(&app, &owner, "sthj", PASSWORD).await.status.as_u16(), 303);
    // The administrator sees the lock.
    let admin = app.login("admin").await;
    assert!(admin_view(&app, &admin, "sthj").await["locked_until"].is_string());

    // After the 15 minutes the attacker's address may try again.
    advance(&app, 16 * 60);
    let admin = app.login("admin").await;
    assert!(admin_view(&app, &admin, "sthj").await["locked_until"].is_null());
    assert!(attempt(&app, &attacker, "sthj", PASSWORD).await.body["access_token"].is_string());
}

/// The account-wide counter of `username`: its failures and the wait its last failure set.
async fn account_counter(app: &TestApp, username: &str) -> (i32, i64) {
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
    let u = entity::user::Entity::find()
        .filter(entity::user::Column::Username.eq(username))
        .one(&app.state.db)
        .await
        .unwrap()
        .unwrap();
    let row = entity::login_throttle::Entity::find()
        .filter(entity::login_throttle::Column::UserId.eq(u.id))
        .filter(entity::login_throttle::Column::Client.eq(entity::login_throttle::ACCOUNT))
        .one(&app.state.db)
        .await
        .unwrap()
        .expect("account counter");
    let wait = match (row.blocked_until, row.last_failure_at) {
        (Some(until), Some(last)) => (until - last).num_seconds(),
        _ => 0,
    };
    (row.failures, wait)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_account_as_a_whole_slows_down_and_at_last_holds_back_every_address() {
    // A delay from 10 failures (the default), for every address from 14.
    let app = spawn_with(Options {
        tweak: Some(Box::new(|s| s.login_throttle.account_block_after = 14)),
        ..Default::default()
    })
    .await;
    let [a, b, c, clean, owner] = ["127.0.0.2", "127.0.0.3", "127.0.0.4", "127.0.0.5", "127.0.0.1"].map(client_from);
    // Ten failures from three addresses, none of them locked: the delay starts at one second.
    for (client, n) in [(&a, 4), (&b, 4), (&c, 2)] {
        for _ in 0..n {
            attempt(&app, client, "yjgl", WRONG).await.expect(401, "invalid_credentials");
        }
    }
    assert_eq!(account_counter(&app, "yjgl").await, (10, 1));
    // (The clock goes back so that the next attempts fall inside the wait, however slow this machine is.)
    advance(&app, -30);
    // An address that failed must wait, and its password is not even tried.
    let wait = attempt(&app, &c, "yjgl", PASSWORD).await;
    wait.expect(429, "login_throttled");
    assert!((30..=31).contains(&wait.retry_after()), "{}", wait.retry_after());
    assert!(wait.body["message"].as_str().unwrap().contains("秒后再试"), "{}", wait.text);
    assert_eq!(page_attempt(&app, &c, "yjgl", PASSWORD).await.status.as_u16(), 429);
    // An address that has not failed is not held back: the owner signs in.
    assert!(attempt(&app, &owner, "yjgl", PASSWORD).await.body["access_token"].is_string());
    assert_eq!(page_attempt(&app, &client_from("127.0.0.1"), "yjgl", PASSWORD).await.status.as_u16(), 303);

    // Once the wait is over a failed address may try again; each failure doubles the wait.
    advance(&app, 40);
    attempt(&app, &c, "yjgl", WRONG).await.expect(401, "invalid_credentials");
    assert_eq!(account_counter(&app, "yjgl").await, (11, 2));
    attempt(&app, &clean, "yjgl", WRONG).await.expect(401, "invalid_credentials");
    assert_eq!(account_counter(&app, "yjgl").await, (12, 4));
    advance(&app, 10);
    attempt(&app, &clean, "yjgl", WRONG).await.expect(401, "invalid_credentials");
    assert_eq!(account_counter(&app, "yjgl").await, (13, 8));

    // The 14th failure holds back every address, the owner's too.
    advance(&app, 10);
    attempt(&app, &c, "yjgl", WRONG).await.expect(401, "invalid_credentials");
    assert_eq!(account_counter(&app, "yjgl").await, (14, 16));
    advance(&app, -30);
    let wait = attempt(&app, &owner, "yjgl", PASSWORD).await;
    wait.expect(429, "login_throttled");
    assert!((46..=47).contains(&wait.retry_after()), "{}", wait.retry_after());
    let page = page_attempt(&app, &client_from("127.0.0.1"), "yjgl", PASSWORD).await;
    assert_eq!(page.status.as_u16(), 429, "{}", page.text);
    assert!(page.header("retry-after").is_some() && page.text.contains("秒后再试"), "{}", page.text);
    // Once the wait is over the owner's correct password is accepted.
    advance(&app, 60);
    assert!(attempt(&app, &owner, "yjgl", PASSWORD).await.body["access_token"].is_string());
    // The longest wait is a minute.
    for ip in ["127.0.0.6", "127.0.0.7", "127.0.0.8"] {
        advance(&app, 61);
        attempt(&app, &client_from(ip), "yjgl", WRONG).await.expect(401, "invalid_credentials");
    }
    assert_eq!(account_counter(&app, "yjgl").await, (17, 60));

    // An hour without failures and the account counts afresh.
    advance(&app, 3600);
    attempt(&app, &a, "yjgl", WRONG).await.expect(401, "invalid_credentials");
    attempt(&app, &a, "yjgl", WRONG).await.expect(401, "invalid_credentials");
    assert_eq!(account_counter(&app, "yjgl").await, (2, 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_administrators_unlock_clears_every_address_and_the_account_delay() {
    let app = spawn().await;
    let admin = app.login("admin").await;
    let [a, b] = ["127.0.0.2", "127.0.0.3"].map(client_from);
    for client in [&a, &b] {
        for _ in 0..4 {
            attempt(&app, client, "scjg", WRONG).await.expect(401, "invalid_credentials");
        }
        attempt(&app, client, "scjg", WRONG).await.expect(423, "account_locked");
    }
    attempt(&app, &a, "scjg", PASSWORD).await.expect(423, "account_locked");
    assert!(admin_view(&app, &admin, "scjg").await["locked_until"].is_string());
    let user_id = id_of(&admin_view(&app, &admin, "scjg").await);
    let rows = || async {
        use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
        entity::login_throttle::Entity::find()
            .filter(entity::login_throttle::Column::UserId.eq(user_id))
            .all(&app.state.db)
            .await
            .unwrap()
    };
    assert_eq!(rows().await.len(), 3, "two addresses and the account");

    unlock(&app, &admin, "scjg").await;
    assert!(rows().await.is_empty());
    // Both addresses may sign in, and a failure counts from zero again.
    assert!(attempt(&app, &a, "scjg", PASSWORD).await.body["access_token"].is_string());
    attempt(&app, &b, "scjg", WRONG).await.expect(401, "invalid_credentials");
    assert!(attempt(&app, &b, "scjg", PASSWORD).await.body["access_token"].is_string());
    assert!(admin_view(&app, &admin, "scjg").await["locked_until"].is_null());

    // A new password set by the administrator clears the counters too.
    for _ in 0..5 {
        attempt(&app, &a, "scjg", WRONG).await;
    }
    attempt(&app, &a, "scjg", PASSWORD).await.expect(423, "account_locked");
    let id = id_of(&admin_view(&app, &admin, "scjg").await);
    app.patch(&format!("/api/v1/admin/users/{id}"), &admin, json!({"password": "Neues#Passw0rt"})).await.ok();
    assert!(attempt(&app, &a, "scjg", "Neues#Passw0rt").await.body["access_token"].is_string());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forwarded_for_counts_only_behind_a_trusted_proxy() {
    // By default the header is ignored: varying it does not dodge the lock.
    let app = spawn().await;
    let direct = client_from("127.0.0.1");
    for i in 0..5 {
        let res = direct
            .post(app.url("/api/v1/auth/login"))
            .header("x-forwarded-for", format!("198.51.100.{i}"))
            .json(&json!({"username": "office", "password": WRONG}))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status().as_u16(), if i < 4 { 401 } else { 423 });
    }

    // Behind a trusted proxy (127.0.0.1 here), the forwarded address counts.
    let app = spawn_with(Options {
        tweak: Some(Box::new(|s| s.trusted_proxies = vec!["127.0.0.1".parse().unwrap()])),
        ..Default::default()
    })
    .await;
    let via = |client: &reqwest::Client, forwarded: &str, password: &str| {
        client
            .post(app.url("/api/v1/auth/login"))
            .header("x-forwarded-for", forwarded.to_string())
            .json(&json!({"username": "office", "password": password}))
            .send()
    };
    for i in 0..5 {
        let res = via(&direct, "203.0.113.9, 198.51.100.7", WRONG).await.unwrap();
        assert_eq!(res.status().as_u16(), if i < 4 { 401 } else { 423 });
    }
    assert_eq!(via(&direct, "198.51.100.7", PASSWORD).await.unwrap().status().as_u16(), 423);
    assert_eq!(via(&direct, "198.51.100.8", PASSWORD).await.unwrap().status().as_u16(), 200);
    // A peer that is not a trusted proxy cannot claim the locked address or another.
    let other = client_from("127.0.0.2");
    assert_eq!(via(&other, "198.51.100.7", PASSWORD).await.unwrap().status().as_u16(), 200);
}

// ---------- logs: a real server process ----------

/// The built server, serving demo data on its own database, its output
/// (JSON logs at debug level) collected line by line.
struct LoggedServer {
    child: std::process::Child,
    base: String,
    log: Arc<Mutex<String>>,
    readers: Vec<std::thread::JoinHandle<()>>,
    _dir: TempDir,
}

impl LoggedServer {
    async fn start(jwt_secret: &str, demo_password: &str) -> LoggedServer {
        use std::io::BufRead;
        use std::process::{Command, Stdio};
        let dir = TempDir(std::env::temp_dir().join(format!("credit-repair-log-{}", uuid::Uuid::new_v4().simple())));
        std::fs::create_dir_all(&dir.0).unwrap();
        let mut child = Command::new(env!("CARGO_BIN_EXE_credit-repair"))
            .args(["serve", "--demo"])
            .env("DATABASE_URL", fresh_database_url(&dir.0).await)
            .env("DATA_DIR", &dir.0)
            .env("PORT", "0")
            .env("TICK_SECONDS", "1")
            .env("JWT_SECRET", jwt_secret)
            .env("DEMO_PASSWORD", demo_password)
            .env("LOG_FORMAT", "json")
            .env("RUST_LOG", "debug")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start the server");
        let log = Arc::new(Mutex::new(String::new()));
        let mut readers = Vec::new();
        let out: Box<dyn std::io::Read + Send> = Box::new(child.stdout.take().unwrap());
        let err: Box<dyn std::io::Read + Send> = Box::new(child.stderr.take().unwrap());
        for stream in [out, err] {
            let log = log.clone();
            readers.push(std::thread::spawn(move || {
                for line in std::io::BufReader::new(stream).lines().map_while(Result::ok) {
                    let mut l = log.lock().unwrap();
                    l.push_str(&line);
                    l.push('\n');
                }
            }));
        }
        let mut port = None;
        for _ in 0..600 {
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            let text = log.lock().unwrap().clone();
            if let Some(at) = text.find("listening on http://127.0.0.1:") {
                let digits: String = text[at + "listening on http://127.0.0.1:".len()..]
                    .chars()
                    .take_while(char::is_ascii_digit)
                    .collect();
                port = digits.parse::<u16>().ok();
                break;
            }
            assert!(child.try_wait().unwrap().is_none(), "the server exited:\n{text}");
        }
        let port = port.unwrap_or_else(|| panic!("the server did not start:\n{}", log.lock().unwrap()));
        LoggedServer { child, base: format!("http://127.0.0.1:{port}"), log, readers, _dir: dir }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// Stops the server and returns everything it wrote.
    fn stop(mut self) -> String {
        let _ = self.child.kill();
        let _ = self.child.wait();
        for r in self.readers.drain(..) {
            let _ = r.join();
        }
        self.log.lock().unwrap().clone()
    }
}

impl Drop for LoggedServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn call(
    c: &reqwest::Client,
    s: &LoggedServer,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> Answer {
    let mut req = c.request(method.parse().unwrap(), s.url(path));
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    if let Some(b) = body {
        req = req.json(&b);
    }
    Answer::of(req.send().await.unwrap()).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_lockout_is_logged_with_the_account_and_the_address() {
    let password = format!("Demo#{}", &uuid::Uuid::new_v4().simple().to_string()[..12]);
    let server = LoggedServer::start("log-test-secret-log-test-secret-log-test", &password).await;
    let [a, b, owner] = ["127.0.0.2", "127.0.0.3", "127.0.0.1"].map(client_from);
    let login = async |c: &reqwest::Client, pw: &str| {
        call(c, &server, "POST", "/api/v1/auth/login", None, Some(json!({"username": "sthj", "password": pw}))).await
    };
    // Two addresses lock themselves; their ten failures start the account's delay.
    for c in [&a, &b] {
        for i in 0..5 {
            let res = login(c, WRONG).await;
            assert_eq!(res.status.as_u16(), if i < 4 { 401 } else { 423 }, "{}", res.text);
        }
    }
    let me = login(&owner, &password).await;
    assert_eq!(me.status.as_u16(), 200, "{}", me.text);
    let user_id = call(&owner, &server, "GET", "/api/v1/me", me.body["access_token"].as_str(), None).await.body["id"]
        .as_i64()
        .unwrap();
    let log = server.stop();

    let warnings: Vec<Value> = log
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|v| v["level"] == "WARN" && v["fields"]["message"].as_str().is_some_and(|m| m.starts_with("sign-in")))
        .collect();
    for ip in ["127.0.0.2", "127.0.0.3"] {
        let lock = warnings.iter().find(|w| {
            w["fields"]["message"] == "sign-in locked for this account from this address" && w["fields"]["client"] == ip
        });
        let lock = lock.unwrap_or_else(|| panic!("no lockout logged for {ip}: {warnings:#?}"));
        assert_eq!(lock["fields"]["user_id"], user_id, "{lock}");
        assert!(lock["fields"]["until"].is_string(), "{lock}");
    }
    let delay = warnings.iter().find(|w| w["fields"]["message"].as_str().unwrap().starts_with("sign-in delayed"));
    let delay = delay.unwrap_or_else(|| panic!("the account's delay is not logged: {warnings:#?}"));
    assert_eq!((delay["fields"]["user_id"].clone(), delay["fields"]["failures"].clone()), (json!(user_id), json!(10)));
    assert_eq!(warnings.len(), 3, "one line per lockout: {warnings:#?}");
    assert!(!log.contains(WRONG) && !log.contains(&password), "a password is in the log");
}
