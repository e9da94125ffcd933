//! A small W3C WebDriver client over reqwest: the dozen commands the browser
//! suite needs (navigate, find, click, type, read, screenshot). Written here
//! rather than pulling a WebDriver crate so the suite adds no dependency
//! tree to CI's build; the protocol is plain JSON over HTTP.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine;
use serde_json::{Value, json};

/// The W3C key under which an element reference travels.
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

/// How long a wait polls before it fails the test.
pub const WAIT: Duration = Duration::from_secs(15);

/// A chromedriver process on a free loopback port, killed on drop.
pub struct Driver {
    child: Child,
    pub base: String,
}

impl Driver {
    pub async fn start() -> Driver {
        let bin = std::env::var("CHROMEDRIVER").unwrap_or_else(|_| "/usr/bin/chromedriver".into());
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let child = Command::new(&bin)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {bin} ({e}); install Debian's chromium and chromium-driver"));
        let base = format!("http://127.0.0.1:{port}");
        credit_repair::install_tls_provider();
        let client = reqwest::Client::new();
        let started = Instant::now();
        loop {
            if let Ok(res) = client.get(format!("{base}/status")).send().await
                && let Ok(v) = res.json::<Value>().await
                && v["value"]["ready"] == true
            {
                break;
            }
            assert!(started.elapsed() < WAIT, "chromedriver did not become ready");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Driver { child, base }
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One browser (a WebDriver session) with its own profile directory.
pub struct Browser {
    http: reqwest::Client,
    url: String,
    profile: PathBuf,
}

/// An element found on the current page.
#[derive(Clone)]
pub struct Element(String);

impl Browser {
    /// Opens headless Chromium at 1366×768 (the size the pages are made for).
    pub async fn open(driver: &Driver) -> Browser {
        let chrome = std::env::var("CHROME").unwrap_or_else(|_| "/usr/bin/chromium".into());
        let profile = std::env::temp_dir().join(format!("credit-repair-chrome-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&profile).unwrap();
        let args = [
            "--headless".to_string(),
            "--no-sandbox".into(),
            "--disable-gpu".into(),
            "--disable-dev-shm-usage".into(),
            "--disable-quic".into(),
            "--no-first-run".into(),
            "--disable-background-networking".into(),
            "--disable-component-update".into(),
            "--disable-sync".into(),
            "--lang=zh-CN".into(),
            "--window-size=1366,768".into(),
            format!("--user-data-dir={}", profile.display()),
        ];
        let caps = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {"binary": chrome, "args": args},
        }}});
        credit_repair::install_tls_provider();
        let http = reqwest::Client::new();
        let res: Value =
            http.post(format!("{}/session", driver.base)).json(&caps).send().await.unwrap().json().await.unwrap();
        let id = res["value"]["sessionId"].as_str().unwrap_or_else(|| panic!("no WebDriver session: {res}"));
        Browser { url: format!("{}/session/{id}", driver.base), http, profile }
    }

    async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let mut req = self.http.request(method.clone(), format!("{}{path}", self.url));
        if let Some(b) = body {
            req = req.json(&b);
        }
        let res = req.send().await.unwrap_or_else(|e| panic!("{method} {path}: {e}"));
        let ok = res.status().is_success();
        let v: Value = res.json().await.unwrap_or(Value::Null);
        assert!(ok, "WebDriver {method} {path}: {v}");
        v["value"].clone()
    }

    async fn try_call(&self, path: &str, body: Value) -> Option<Value> {
        let res = self.http.post(format!("{}{path}", self.url)).json(&body).send().await.ok()?;
        if !res.status().is_success() {
            return None;
        }
        res.json::<Value>().await.ok().map(|v| v["value"].clone())
    }

    pub async fn goto(&self, url: &str) {
        self.call(reqwest::Method::POST, "/url", Some(json!({"url": url}))).await;
    }

    /// The current address (path and query).
    pub async fn path(&self) -> String {
        let url = self.call(reqwest::Method::GET, "/url", None).await;
        let url = url.as_str().unwrap_or_default();
        let rest = url.split_once("://").map(|(_, r)| r).unwrap_or(url);
        rest.find('/').map(|i| rest[i..].to_string()).unwrap_or_else(|| "/".into())
    }

    /// The visible text of the page body.
    pub async fn body_text(&self) -> String {
        match self.find_now("body").await {
            Some(b) => self.text(&b).await,
            None => String::new(),
        }
    }

    async fn find_now(&self, css: &str) -> Option<Element> {
        let v = self.try_call("/element", json!({"using": "css selector", "value": css})).await?;
        v[ELEMENT].as_str().map(|s| Element(s.to_string()))
    }

    /// Waits until an element matching `css` is on the page.
    pub async fn find(&self, css: &str) -> Element {
        let started = Instant::now();
        loop {
            if let Some(e) = self.find_now(css).await {
                return e;
            }
            if started.elapsed() > WAIT {
                panic!("no element {css} on {}: {}", self.path().await, self.body_text().await);
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Waits until an element `css` whose text contains `text` is on the page.
    pub async fn find_with_text(&self, css: &str, text: &str) -> Element {
        let started = Instant::now();
        loop {
            let found = self.try_call("/elements", json!({"using": "css selector", "value": css})).await;
            for v in found.as_ref().and_then(Value::as_array).into_iter().flatten() {
                if let Some(id) = v[ELEMENT].as_str() {
                    let e = Element(id.to_string());
                    if self.text(&e).await.contains(text) {
                        return e;
                    }
                }
            }
            if started.elapsed() > WAIT {
                panic!("no {css} with text {text:?} on {}: {}", self.path().await, self.body_text().await);
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// The texts of every element matching `css` now.
    pub async fn texts(&self, css: &str) -> Vec<String> {
        let found = self.try_call("/elements", json!({"using": "css selector", "value": css})).await;
        let mut out = Vec::new();
        for v in found.as_ref().and_then(Value::as_array).into_iter().flatten() {
            if let Some(id) = v[ELEMENT].as_str() {
                out.push(self.text(&Element(id.to_string())).await);
            }
        }
        out
    }

    /// Waits until the page's text contains `text`.
    pub async fn wait_text(&self, text: &str) {
        let started = Instant::now();
        while !self.body_text().await.contains(text) {
            if started.elapsed() > WAIT {
                panic!("{text:?} never appeared on {}: {}", self.path().await, self.body_text().await);
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Waits until the address starts with `prefix`.
    pub async fn wait_path(&self, prefix: &str) -> String {
        let started = Instant::now();
        loop {
            let path = self.path().await;
            if path.starts_with(prefix) {
                return path;
            }
            if started.elapsed() > WAIT {
                panic!("address stayed {path}, expected {prefix}…: {}", self.body_text().await);
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    pub async fn click(&self, e: &Element) {
        self.call(reqwest::Method::POST, &format!("/element/{}/click", e.0), Some(json!({}))).await;
    }

    /// Types into a field, as keys (a file input takes the file's path).
    pub async fn type_into(&self, e: &Element, text: &str) {
        self.call(reqwest::Method::POST, &format!("/element/{}/value", e.0), Some(json!({"text": text}))).await;
    }

    pub async fn text(&self, e: &Element) -> String {
        let path = format!("{}/element/{}/text", self.url, e.0);
        match self.http.get(path).send().await {
            Ok(res) => res.json::<Value>().await.ok().and_then(|v| v["value"].as_str().map(str::to_string)),
            Err(_) => None,
        }
        .unwrap_or_default()
    }

    pub async fn is_displayed(&self, e: &Element) -> bool {
        self.call(reqwest::Method::GET, &format!("/element/{}/displayed", e.0), None).await == true
    }

    /// A Chrome DevTools command through chromedriver.
    async fn cdp(&self, cmd: &str, params: Value) -> Value {
        self.call(reqwest::Method::POST, "/goog/cdp/execute", Some(json!({"cmd": cmd, "params": params}))).await
    }

    /// Saves the whole page (not only the window) as a PNG.
    pub async fn screenshot(&self, file: &Path) {
        let metrics = self.cdp("Page.getLayoutMetrics", json!({})).await;
        let size = &metrics["cssContentSize"];
        let (w, h) = (size["width"].as_f64().unwrap_or(1366.0), size["height"].as_f64().unwrap_or(768.0));
        let clip = json!({"x": 0, "y": 0, "width": w, "height": h.min(4000.0), "scale": 1});
        let shot = self
            .cdp("Page.captureScreenshot", json!({"format": "png", "captureBeyondViewport": true, "clip": clip}))
            .await;
        let png = base64::engine::general_purpose::STANDARD.decode(shot["data"].as_str().unwrap()).unwrap();
        std::fs::create_dir_all(file.parent().unwrap()).unwrap();
        std::fs::write(file, png).unwrap();
    }

    pub async fn close(self) {
        let _ = self.http.delete(&self.url).send().await;
        let _ = std::fs::remove_dir_all(&self.profile);
    }
}
