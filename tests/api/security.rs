//! Hardening over HTTP: the sign-in throttle (a stranger cannot lock the
//! owner out), the headers every response carries, server errors without
//! internal detail, body limits on every kind of body, and logs without
//! secrets (a real server process, its log captured).
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

// ---------- headers, errors, limits ----------

#[track_caller]
fn assert_hardened(what: &str, a: &Answer) {
    assert_eq!(a.header("x-content-type-options"), Some("nosniff"), "{what}: {:?}", a.headers);
    assert_eq!(a.header("x-frame-options"), Some("DENY"), "{what}: {:?}", a.headers);
    assert_eq!(a.header("referrer-policy"), Some("same-origin"), "{what}: {:?}", a.headers);
    let csp = a.header("content-security-policy").unwrap_or_else(|| panic!("{what}: no CSP {:?}", a.headers));
    for directive in ["default-src 'self'", "frame-ancestors 'none'", "script-src 'self'", "object-src 'none'"] {
        assert!(csp.contains(directive), "{what}: {csp}");
    }
    assert!(!csp.contains("unsafe-eval"), "{what}: {csp}");
    assert!(a.header("x-request-id").is_some_and(|id| id.len() >= 32), "{what}: {:?}", a.headers);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_kind_of_response_carries_the_security_headers() {
    let app = spawn().await;
    let office = app.login("office").await;
    let c = client_from("127.0.0.1");
    let get = |path: &str, token: Option<&str>| {
        let mut req = c.get(app.url(path));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        req.send()
    };
    let page_csp = {
        let a = Answer::of(get("/", None).await.unwrap()).await;
        a.header("content-security-policy").unwrap().to_string()
    };
    for (what, path, token, status) in [
        ("health", "/healthz", None, 200),
        ("API JSON", "/api/v1/records", Some(office.as_str()), 200),
        ("API 401", "/api/v1/me", None, 401),
        ("API 404", "/api/v1/no-such-thing", None, 404),
        ("API 404 of a resource", "/api/v1/records/999999", Some(office.as_str()), 404),
        ("API 400 query", "/api/v1/records?page=abc", Some(office.as_str()), 400),
        ("page", "/guide", None, 200),
        ("page redirect to login", "/my/records", None, 303),
        ("page 404", "/no-such-page", None, 404),
        ("static asset", "/static/app.css", None, 200),
        ("static script", "/static/htmx.min.js", None, 200),
        ("OpenAPI document", "/api/openapi.json", None, 200),
        ("Swagger UI", "/api/docs/", None, 200),
    ] {
        let a = Answer::of(get(path, token).await.unwrap()).await;
        assert_eq!(a.status.as_u16(), status, "{what} {path}: {}", &a.text[..a.text.len().min(300)]);
        assert_hardened(&format!("{what} {path}"), &a);
        if !path.starts_with("/api/docs") {
            assert_eq!(a.header("content-security-policy"), Some(page_csp.as_str()), "{what}: one policy");
        }
    }
    // A refused method, a wrong content type and a refused login too.
    let a = Answer::of(c.delete(app.url("/api/v1/auth/login")).send().await.unwrap()).await;
    assert_hardened("DELETE login", &a);
    let a = Answer::of(c.post(app.url("/api/v1/auth/login")).body("x").send().await.unwrap()).await;
    a.expect(415, "unsupported_media_type");
    assert_hardened("415", &a);
    let a = attempt(&app, &c, "office", WRONG).await;
    assert_hardened("401 login", &a);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn swagger_ui_is_served_with_its_scripts_under_a_policy_that_lets_it_run() {
    let app = spawn().await;
    let c = client_from("127.0.0.1");
    let index = Answer::of(c.get(app.url("/api/docs/")).send().await.unwrap()).await;
    let csp = index.header("content-security-policy").unwrap().to_string();
    assert!(csp.contains("script-src 'self'") && !csp.contains("script-src 'self' 'unsafe"), "{csp}");
    assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
    let doc = Html::parse_document(&index.text);
    // No inline script (the policy would block it): every script is a file of this server.
    let scripts: Vec<String> = doc
        .select(&Selector::parse("script").unwrap())
        .map(|s| {
            assert!(s.inner_html().trim().is_empty(), "inline script on the docs page: {}", s.inner_html());
            s.value().attr("src").expect("script with a src").to_string()
        })
        .collect();
    let styles: Vec<String> = doc
        .select(&Selector::parse("link[rel=stylesheet]").unwrap())
        .map(|l| l.value().attr("href").unwrap().to_string())
        .collect();
    assert!(scripts.len() >= 2 && !styles.is_empty(), "{scripts:?} {styles:?}");
    // Each is served from here with a type a browser accepts under nosniff.
    let mut initializer = String::new();
    for (file, kinds) in
        scripts.iter().map(|s| (s, &["javascript"][..])).chain(styles.iter().map(|s| (s, &["text/css"][..])))
    {
        assert!(!file.contains("//"), "loaded from elsewhere: {file}");
        let url = app.url(&format!("/api/docs/{}", file.trim_start_matches("./")));
        let a = Answer::of(c.get(&url).send().await.unwrap()).await;
        assert_eq!(a.status.as_u16(), 200, "{url}");
        let ctype = a.header("content-type").unwrap_or("");
        assert!(kinds.iter().any(|k| ctype.contains(k)), "{url}: {ctype}");
        assert_hardened(&url, &a);
        if file.contains("initializer") {
            initializer = a.text;
        }
    }
    // The initializer loads this server's document.
    assert!(initializer.contains("/api/openapi.json"), "{initializer}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_error_shows_no_internal_detail() {
    use sea_orm::ConnectionTrait;
    let app = spawn().await;
    let office = app.login("office").await;
    let record = app.record_id(demo::REPAIRABLE).await;
    // Break this test's own database under the running server.
    app.state.db.execute_unprepared("DROP TABLE record_events").await.unwrap();

    let api = Answer::of(
        client_from("127.0.0.1")
            .get(app.url(&format!("/api/v1/records/{record}/history")))
            .bearer_auth(&office)
            .send()
            .await
            .unwrap(),
    )
    .await;
    api.expect(500, "internal_error");
    assert_eq!(api.body["message"], "服务器内部错误，请稍后再试");
    assert_eq!(api.header("content-type"), Some("application/problem+json"));
    let id = api.header("x-request-id").expect("request id").to_string();
    assert_eq!(api.body["request_id"], id.as_str(), "{}", api.text);
    assert_hardened("API 500", &api);

    let browser = client_from("127.0.0.1");
    assert_eq!(page_attempt(&app, &browser, "office", PASSWORD).await.status.as_u16(), 303);
    let page = Answer::of(browser.get(app.url(&format!("/records/{record}"))).send().await.unwrap()).await;
    assert_eq!(page.status.as_u16(), 500);
    assert!(page.text.contains("服务器内部错误") && page.text.contains("data-error-code=\"internal_error\""));
    let id = page.header("x-request-id").expect("request id").to_string();
    assert!(page.text.contains(&id), "the page quotes its request id");
    assert_hardened("page 500", &page);

    for body in [&api.text, &page.text] {
        let lower = body.to_lowercase();
        for leak in [
            "record_events",
            "select",
            "sqlx",
            "sea_orm",
            "sqlite",
            "postgres",
            "relation",
            "no such table",
            "query error",
            "dberr",
        ] {
            assert!(!lower.contains(leak), "a 500 body shows {leak:?}: {body}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bodies_over_the_configured_limits_are_413_on_every_route_kind() {
    // Small limits, so that the sizes below are clearly over or under them.
    let app = spawn_with(Options {
        tweak: Some(Box::new(|s| {
            s.max_body_bytes = 4 * 1024;
            s.max_attachment_bytes = 32 * 1024;
        })),
        ..Default::default()
    })
    .await;
    let c = client_from("127.0.0.1");
    let pad = |n: usize| "x".repeat(n);

    // JSON: the limit is the setting's, not a built-in one.
    attempt(&app, &c, "office", &pad(3 * 1024)).await.expect(401, "invalid_credentials");
    attempt(&app, &c, "office", &pad(5 * 1024)).await.expect(413, "payload_too_large");

    // A URL-encoded form (the login page).
    let big = pad(5 * 1024);
    let a = Answer::of(
        c.post(app.url("/login"))
            .form(&[("username", "office"), ("password", big.as_str()), ("csrf", "x")])
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(a.status.as_u16(), 413, "{}", a.text);
    assert!(a.text.contains("data-error-code=\"payload_too_large\"") && a.text.contains("请求内容过大"), "{}", a.text);

    // Raw form bodies read whole (a case action and a signed-in form).
    assert_eq!(page_attempt(&app, &c, "office", PASSWORD).await.status.as_u16(), 303);
    for path in ["/cases/1/actions/accept", "/logout"] {
        let a = Answer::of(
            c.post(app.url(path))
                .header("content-type", "application/x-www-form-urlencoded")
                .body(format!("csrf=x&comment={}", pad(5 * 1024)))
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(a.status.as_u16(), 413, "{path}: {}", a.text);
        assert!(a.text.contains("data-error-code=\"payload_too_large\""), "{path}: {}", a.text);
    }

    // Multipart: a file within the limit is taken, one over it is not, and
    // text fields beyond `max_body_bytes` together are refused too.
    let applicant = app.login("ent_a").await;
    let case = id_of(&app.file(&applicant, "repair", app.record_id(demo::REPAIRABLE).await).await);
    let upload = |file: Vec<u8>, extra: usize| {
        let mut form = reqwest::multipart::Form::new().text("kind", "fulfilment_proof");
        for i in 0..extra {
            form = form.text(format!("note{i}"), pad(1024));
        }
        let part = reqwest::multipart::Part::bytes(file).file_name("proof.pdf").mime_str("application/pdf").unwrap();
        c.post(app.url(&format!("/api/v1/cases/{case}/attachments")))
            .bearer_auth(&applicant)
            .multipart(form.part("file", part))
            .send()
    };
    assert_eq!(upload(pdf(30 * 1024), 2).await.unwrap().status().as_u16(), 201);
    Answer::of(upload(pdf(33 * 1024), 0).await.unwrap()).await.expect(413, "payload_too_large");
    Answer::of(upload(pdf(1024), 5).await.unwrap()).await.expect(413, "payload_too_large");
    // The same on the page's upload form.
    let page_client = client_from("127.0.0.1");
    assert_eq!(page_attempt(&app, &page_client, "ent_a", PASSWORD).await.status.as_u16(), 303);
    let mut form = reqwest::multipart::Form::new().text("csrf", "x").text("kind", "other");
    for i in 0..5 {
        form = form.text(format!("note{i}"), pad(1024));
    }
    let a = Answer::of(
        page_client.post(app.url(&format!("/cases/{case}/attachments"))).multipart(form).send().await.unwrap(),
    )
    .await;
    assert_eq!(a.status.as_u16(), 413, "{}", a.text);
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_secret_token_or_password_appears_in_the_log_of_a_walk() {
    let secret = format!("jwt-{}", uuid::Uuid::new_v4().simple());
    let password = format!("Demo#{}", &uuid::Uuid::new_v4().simple().to_string()[..12]);
    let wrong = format!("Wrong#{}", &uuid::Uuid::new_v4().simple().to_string()[..12]);
    let server = LoggedServer::start(&secret, &password).await;
    let c = client_from("127.0.0.1");
    let mut secrets: Vec<String> = vec![secret.clone(), password.clone(), wrong.clone()];
    let login = async |user: &str, pw: &str| {
        call(&c, &server, "POST", "/api/v1/auth/login", None, Some(json!({"username": user, "password": pw}))).await
    };

    // Right and wrong passwords, a refresh.
    assert_eq!(login("ent_a", &wrong).await.status.as_u16(), 401);
    let pair = login("ent_a", &password).await;
    assert_eq!(pair.status.as_u16(), 200, "{}", pair.text);
    let refreshed = call(
        &c,
        &server,
        "POST",
        "/api/v1/auth/refresh",
        None,
        Some(json!({"refresh_token": pair.body["refresh_token"]})),
    )
    .await;
    assert_eq!(refreshed.status.as_u16(), 200, "{}", refreshed.text);
    let applicant = refreshed.body["access_token"].as_str().unwrap().to_string();
    let office_pair = login("office", &password).await;
    let officer_pair = login("sthj", &password).await;
    for p in [&pair, &refreshed, &office_pair, &officer_pair] {
        secrets.push(p.body["access_token"].as_str().unwrap().to_string());
        secrets.push(p.body["refresh_token"].as_str().unwrap().to_string());
    }
    let office = office_pair.body["access_token"].as_str().unwrap();
    let officer = officer_pair.body["access_token"].as_str().unwrap();

    // A repair filed, its materials uploaded, accepted and approved.
    let records = call(&c, &server, "GET", "/api/v1/records?per_page=100", Some(office), None).await;
    let record =
        records.body["items"].as_array().unwrap().iter().find(|r| r["document_no"] == demo::REPAIRABLE).unwrap()["id"]
            .clone();
    let case = call(
        &c,
        &server,
        "POST",
        "/api/v1/cases",
        Some(&applicant),
        Some(json!({"kind": "repair", "record_id": record, "reason": "罚款已缴纳，整改已完成"})),
    )
    .await;
    assert_eq!(case.status.as_u16(), 201, "{}", case.text);
    let case = id_of(&case.body);
    for kind in ["fulfilment_proof", "commitment_letter"] {
        let part = reqwest::multipart::Part::bytes(pdf(2048)).file_name("m.pdf").mime_str("application/pdf").unwrap();
        let form = reqwest::multipart::Form::new().text("kind", kind).part("file", part);
        let res = c
            .post(server.url(&format!("/api/v1/cases/{case}/attachments")))
            .bearer_auth(&applicant)
            .multipart(form)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status().as_u16(), 201);
    }
    let res =
        call(&c, &server, "POST", &format!("/api/v1/cases/{case}/actions/accept"), Some(office), Some(json!({}))).await;
    assert_eq!(res.status.as_u16(), 200, "{}", res.text);
    let res = call(
        &c,
        &server,
        "POST",
        &format!("/api/v1/cases/{case}/actions/approve"),
        Some(officer),
        Some(json!({"comment": "经核实，准予信用修复"})),
    )
    .await;
    assert_eq!(res.status.as_u16(), 200, "{}", res.text);

    // The pages: a wrong and a right password on the login form, a page, signing out.
    let browser = client_from("127.0.0.1");
    let page_login = async |pw: &str| {
        let form = browser.get(server.url("/login")).send().await.unwrap().text().await.unwrap();
        let token = Html::parse_document(&form)
            .select(&Selector::parse("input[name=csrf]").unwrap())
            .next()
            .and_then(|e| e.value().attr("value").map(str::to_string))
            .unwrap();
        let res = browser
            .post(server.url("/login"))
            .form(&[("username", "sthj"), ("password", pw), ("csrf", &token)])
            .send()
            .await
            .unwrap();
        (res.status().as_u16(), res.cookies().find(|c| c.name() == "cr_session").map(|c| c.value().to_string()))
    };
    assert_eq!(page_login(&wrong).await.0, 401);
    let (status, session) = page_login(&password).await;
    assert_eq!(status, 303);
    secrets.push(session.expect("session cookie"));
    let todo = browser.get(server.url("/cases?view=todo")).send().await.unwrap();
    assert_eq!(todo.status().as_u16(), 200);
    // An address locking itself out, and logging out everywhere.
    let attacker = client_from("127.0.0.2");
    for _ in 0..5 {
        call(
            &attacker,
            &server,
            "POST",
            "/api/v1/auth/login",
            None,
            Some(json!({"username": "office", "password": wrong})),
        )
        .await;
    }
    let res = call(&c, &server, "POST", "/api/v1/auth/logout", Some(&applicant), Some(json!({"all": true}))).await;
    assert_eq!(res.status.as_u16(), 204, "{}", res.text);
    // Let the scheduler deliver the notifications (mail written to files).
    tokio::time::sleep(std::time::Duration::from_millis(2500)).await;
    let log = server.stop();

    // The log is the walk's: it has the wrong passwords, the case, the page session and the lockout in it.
    for line in [
        "invalid_credentials",
        "/actions/approve",
        "page session started",
        "sign-in locked for this account from this address",
    ] {
        assert!(log.contains(line), "{line:?} not in the log:\n{log}");
    }
    for s in &secrets {
        assert!(
            !log.contains(s.as_str()),
            "the log holds a secret ({}…): {}",
            &s[..8.min(s.len())],
            line_with(&log, s)
        );
    }
}

/// The first log line containing `needle`.
fn line_with<'a>(log: &'a str, needle: &str) -> &'a str {
    log.lines().find(|l| l.contains(needle)).unwrap_or("")
}

/// Every API error body names the request (as its `X-Request-Id` header
/// does), whoever refused it: the guard, an extractor or a handler.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_error_body_carries_the_request_id() {
    let app = spawn().await;
    let office = app.login("office").await;
    let client = client_from("127.0.0.1");
    let cases = [
        (client.get(app.url("/api/v1/cases/999999")).bearer_auth(&office), 404),
        (client.get(app.url("/api/v1/cases")), 401),
        (client.post(app.url("/api/v1/auth/login")).header("content-type", "application/json").body("{not json"), 400),
        (client.get(app.url("/api/v1/no-such-route")), 404),
    ];
    for (req, status) in cases {
        let a = Answer::of(req.send().await.unwrap()).await;
        assert_eq!(a.status.as_u16(), status, "{}", a.text);
        let id = a.header("x-request-id").expect("request id").to_string();
        assert_eq!(a.body["request_id"], id.as_str(), "{}", a.text);
    }
}
