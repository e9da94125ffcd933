//! Who is on a page: the session cookie (HttpOnly, SameSite=Strict, Secure
//! behind HTTPS), the policy a page names for its caller (the same policies
//! as the JSON API), and the CSRF token every state-changing form carries.

use std::future::Future;
use std::marker::PhantomData;
use std::ops::Deref;
use std::pin::Pin;

use actix_web::cookie::{Cookie, SameSite, time::Duration as CookieDuration};
use actix_web::{FromRequest, HttpRequest, dev::Payload, web};
use serde::de::DeserializeOwned;

use super::render::PageError;
use crate::auth::AuthUser;
use crate::auth::policy::Policy;
use crate::config::Settings;
use crate::services::sessions::{self, Session};
use crate::state::AppState;

/// The session cookie.
pub const COOKIE: &str = "cr_session";
/// The login form's double-submit token (there is no session yet).
pub const LOGIN_COOKIE: &str = "cr_login";

fn state_of(req: &HttpRequest) -> Result<web::Data<AppState>, PageError> {
    req.app_data::<web::Data<AppState>>().cloned().ok_or_else(|| PageError::Internal(anyhow::anyhow!("state missing")))
}

/// A cookie as the server sets it.
pub fn cookie(state: &AppState, name: &'static str, value: String) -> Cookie<'static> {
    Cookie::build(name, value)
        .path("/")
        .http_only(true)
        .same_site(SameSite::Strict)
        .secure(state.settings.public_url.starts_with("https://"))
        .finish()
}

/// A cookie that removes itself.
pub fn removal(state: &AppState, name: &'static str) -> Cookie<'static> {
    let mut c = cookie(state, name, String::new());
    c.set_max_age(CookieDuration::ZERO);
    c
}

/// The live session of a request, if any.
async fn current(req: &HttpRequest) -> Result<Option<Session>, PageError> {
    let Some(token) = req.cookie(COOKIE).map(|c| c.value().to_string()) else { return Ok(None) };
    let state = state_of(req)?;
    Ok(sessions::resume(&state, &token).await?)
}

/// A signed-in caller admitted by policy `P`; anyone else is sent to the
/// login page (and back afterwards), or answered 403 when signed in with
/// another role.
pub struct Signed<P: Policy> {
    pub session: Session,
    _policy: PhantomData<P>,
}

impl<P: Policy> Deref for Signed<P> {
    type Target = AuthUser;
    fn deref(&self) -> &AuthUser {
        &self.session.user
    }
}

impl<P: Policy + 'static> FromRequest for Signed<P> {
    type Error = PageError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, PageError>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            match current(&req).await? {
                Some(s) if P::allows(s.user.role) => Ok(Signed { session: s, _policy: PhantomData }),
                Some(_) => Err(PageError::Forbidden),
                None => {
                    let next = req.uri().path_and_query().map(|p| p.as_str().to_string()).unwrap_or("/".into());
                    Err(PageError::Login {
                        next: if req.method() == actix_web::http::Method::GET { next } else { "/".into() },
                    })
                }
            }
        })
    }
}

/// The session of a page anyone may see (the public pages show the
/// signed-in user's navigation when there is one).
pub struct Visitor(pub Option<Session>);

impl FromRequest for Visitor {
    type Error = PageError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, PageError>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move { Ok(Visitor(current(&req).await?)) })
    }
}

/// A form that carries the CSRF token of its session.
pub trait CsrfForm {
    fn csrf(&self) -> &str;
}

/// Compares in time independent of where the strings differ.
pub fn same_token(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Refuses a post whose token is not its session's.
pub fn check_csrf(session: &Session, token: &str) -> Result<(), PageError> {
    if token.is_empty() || !same_token(&session.csrf_token, token) {
        tracing::warn!(user = session.user.id, "form without a valid CSRF token refused");
        return Err(PageError::Csrf);
    }
    Ok(())
}

/// A URL-encoded form posted by a signed-in caller admitted by `P`, with a
/// valid CSRF token (checked before the handler runs).
pub struct Posted<P: Policy, T> {
    pub who: Signed<P>,
    pub form: T,
}

impl<P: Policy + 'static, T: DeserializeOwned + CsrfForm + 'static> FromRequest for Posted<P, T> {
    type Error = PageError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, PageError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let body = RawForm::from_request(req, payload);
        let req = req.clone();
        Box::pin(async move {
            let who = Signed::<P>::extract(&req).await?;
            let RawForm(body) = body.await?;
            // The token first: a forged post is refused before its content is looked at.
            let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(&body).unwrap_or_default();
            let token = pairs.iter().find(|(k, _)| k == "csrf").map(|(_, v)| v.as_str()).unwrap_or("");
            check_csrf(&who.session, token)?;
            let form: T =
                serde_urlencoded::from_bytes(&body).map_err(|e| PageError::BadRequest(format!("表单内容无效：{e}")))?;
            debug_assert_eq!(form.csrf(), token);
            Ok(Posted { who, form })
        })
    }
}

/// Implements [`CsrfForm`] for form structs with a `csrf` field.
#[macro_export]
macro_rules! csrf_form {
    ($($t:ty),+ $(,)?) => {
        $(impl $crate::web::session::CsrfForm for $t {
            fn csrf(&self) -> &str {
                &self.csrf
            }
        })+
    };
}

/// A form's raw body, for forms whose fields repeat: at most
/// `max_body_bytes` (`PayloadConfig`), refused with 413 beyond.
pub struct RawForm(pub web::Bytes);

impl FromRequest for RawForm {
    type Error = PageError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, PageError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let body = web::Bytes::from_request(req, payload);
        Box::pin(async move {
            body.await.map(RawForm).map_err(|e| {
                if e.as_response_error().status_code() == actix_web::http::StatusCode::PAYLOAD_TOO_LARGE {
                    PageError::Refused(crate::error::ApiError::PayloadTooLarge)
                } else {
                    PageError::BadRequest(format!("表单内容无效：{e}"))
                }
            })
        })
    }
}

/// A multipart form (text fields and files), read whole within limits.
pub struct Multipart {
    pub fields: std::collections::HashMap<String, String>,
    /// (field name, client file name, bytes)
    pub files: Vec<(String, Option<String>, Vec<u8>)>,
}

impl Multipart {
    /// Reads a multipart body: at most `max_attachment_bytes` a file, 8
    /// files, and `max_body_bytes` for the text fields together.
    pub async fn read(mp: actix_multipart::Multipart, settings: &Settings) -> Result<Multipart, PageError> {
        Self::read_with(mp, settings, settings.max_attachment_bytes, 8).await
    }

    /// Like [`Multipart::read`] with another limit per file and count.
    pub async fn read_with(
        mp: actix_multipart::Multipart,
        settings: &Settings,
        max_file: usize,
        max_files: usize,
    ) -> Result<Multipart, PageError> {
        let form =
            crate::api::read_form(mp, max_file, settings.max_body_bytes, max_files).await.map_err(|e| match e {
                crate::error::ApiError::BadRequest { message, .. } => PageError::BadRequest(message),
                other => PageError::Refused(other),
            })?;
        Ok(Multipart { fields: form.fields, files: form.files })
    }

    pub fn field(&self, name: &str) -> &str {
        self.fields.get(name).map(String::as_str).unwrap_or("")
    }
}
