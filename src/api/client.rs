//! The caller's address as the sign-in throttle counts it.

use std::future::{Ready, ready};

use actix_web::{FromRequest, HttpRequest, dev::Payload, web};

use crate::domain::login_throttle::client_key;
use crate::state::AppState;

/// The client's address: the peer's, or what a trusted proxy forwarded in
/// `X-Forwarded-For` (only when the peer is listed in `trusted_proxies`;
/// none are by default, so the header is ignored).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientAddr(pub String);

impl FromRequest for ClientAddr {
    type Error = actix_web::Error;
    type Future = Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let trusted = req.app_data::<web::Data<AppState>>().map(|s| s.settings.trusted_proxies.clone());
        let trusted = trusted.unwrap_or_default();
        let forwarded: Vec<&str> = req.headers().get_all("x-forwarded-for").filter_map(|v| v.to_str().ok()).collect();
        let forwarded = (!forwarded.is_empty()).then(|| forwarded.join(","));
        ready(Ok(ClientAddr(client_key(req.peer_addr().map(|a| a.ip()), forwarded.as_deref(), &trusted))))
    }
}
