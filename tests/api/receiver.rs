//! A small HTTP receiver on loopback for the delivery tests: it keeps every
//! request (headers and body) and answers with the next status of its
//! script (the last one repeats); a 0 in the script answers 200 only after
//! 3 seconds (a receiver too slow for the sender's timeout).

use std::sync::{Arc, Mutex};

use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use hmac::{Hmac, Mac};
use sha2::Sha256;

#[derive(Debug, Clone)]
pub struct Got {
    pub timestamp: String,
    pub signature: String,
    pub message_id: i64,
    pub body: Vec<u8>,
}

impl Got {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).expect("JSON body")
    }

    /// Whether the signature verifies with `secret` (computed here, apart
    /// from the server's code).
    pub fn signed_with(&self, secret: &str) -> bool {
        let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
        mac.update(self.timestamp.as_bytes());
        mac.update(b".");
        mac.update(&self.body);
        let want = format!("sha256={}", hex::encode(mac.finalize().into_bytes()));
        want == self.signature
    }
}

#[derive(Default)]
struct Inner {
    got: Vec<Got>,
    script: Vec<u16>,
}

#[derive(Clone)]
pub struct Receiver {
    pub url: String,
    inner: Arc<Mutex<Inner>>,
}

async fn receive(req: HttpRequest, body: web::Bytes, inner: web::Data<Arc<Mutex<Inner>>>) -> HttpResponse {
    let h = |n: &str| req.headers().get(n).and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
    let status = {
        let mut i = inner.lock().unwrap();
        i.got.push(Got {
            timestamp: h("x-credit-timestamp"),
            signature: h("x-credit-signature"),
            message_id: h("x-credit-message-id").parse().unwrap_or(-1),
            body: body.to_vec(),
        });
        let n = i.got.len();
        let s = &i.script;
        *s.get(n - 1).or(s.last()).unwrap_or(&200)
    };
    if status == 0 {
        tokio::time::sleep(std::time::Duration::from_secs(3)).await;
        return HttpResponse::Ok().body("late");
    }
    HttpResponse::build(actix_web::http::StatusCode::from_u16(status).unwrap()).body("ok")
}

impl Receiver {
    /// Starts a receiver answering with `script` in turn (the last repeats).
    pub fn start(script: &[u16]) -> Receiver {
        let inner = Arc::new(Mutex::new(Inner { got: Vec::new(), script: script.to_vec() }));
        let data = web::Data::new(inner.clone());
        let server = HttpServer::new(move || App::new().app_data(data.clone()).default_service(web::to(receive)))
            .workers(1)
            .bind(("127.0.0.1", 0))
            .expect("bind receiver");
        let port = server.addrs()[0].port();
        tokio::spawn(server.run());
        Receiver { url: format!("http://127.0.0.1:{port}/hook"), inner }
    }

    pub fn got(&self) -> Vec<Got> {
        self.inner.lock().unwrap().got.clone()
    }

    /// From now on, answer `status` to every request.
    pub fn answer(&self, status: u16) {
        let mut i = self.inner.lock().unwrap();
        let n = i.got.len();
        i.script.truncate(n);
        i.script.push(status);
    }
}
