//! What every response gets, whoever answered (the JSON API, a page, a static
//! asset, Swagger UI, an extractor's error, the 404 fallback): the security
//! headers, the request's id, and for a 500 the generic body in place of
//! whatever was written, so that no internal detail reaches the client (the
//! detail is in the log, under the same request id).

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{Error, HttpMessage};
use tracing_actix_web::RequestId;

use crate::error::ApiError;
use crate::web::render::{self, PageError};

/// The policy of every response: nothing loaded from anywhere but this
/// server, no inline script or style, no plugins, never framed.
pub const CSP: &str = "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; \
                       object-src 'none'; frame-ancestors 'none'; base-uri 'self'; form-action 'self'";

/// Swagger UI under `/api/docs/` (vendored, served by the binary) sets style
/// attributes from its script, so it may use inline styles; scripts stay
/// this server's files only.
pub const DOCS_CSP: &str = "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; \
                            script-src 'self'; object-src 'none'; frame-ancestors 'none'; base-uri 'self'; \
                            form-action 'self'";

/// The response header carrying the request's id (the log's `request_id`).
pub const REQUEST_ID: &str = "x-request-id";

tokio::task_local! {
    /// The id of the request being answered, for error bodies built without
    /// the request at hand (`ApiError::error_response`).
    pub static CURRENT_REQUEST_ID: String;
}

/// The id of the request being answered, if any.
pub fn current_request_id() -> Option<String> {
    CURRENT_REQUEST_ID.try_with(Clone::clone).ok()
}

/// The middleware (`actix_web::middleware::from_fn(harden)`), inside
/// `TracingLogger` so that the request id exists.
pub async fn harden(req: ServiceRequest, next: Next<impl MessageBody + 'static>) -> Result<ServiceResponse, Error> {
    let request_id = req.extensions().get::<RequestId>().map(|id| id.to_string());
    let path = req.path().to_string();
    // Handlers, extractors and the 404 fallback all answer with a response;
    // an `Err` would only come from a middleware inside this one (there is none).
    let call = next.call(req);
    let res = match request_id.clone() {
        Some(id) => CURRENT_REQUEST_ID.scope(id, call).await,
        None => call.await,
    };
    let mut res = res?.map_into_boxed_body();
    if res.status() == StatusCode::INTERNAL_SERVER_ERROR {
        res = generic_500(res, &path, request_id.clone()).await;
    }
    let csp = if path.starts_with("/api/docs") { DOCS_CSP } else { CSP };
    let h = res.headers_mut();
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    if !h.contains_key(header::REFERRER_POLICY) {
        h.insert(header::REFERRER_POLICY, HeaderValue::from_static("same-origin"));
    }
    if !h.contains_key(header::CONTENT_SECURITY_POLICY) {
        h.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(csp));
    }
    if let Some(value) = request_id.and_then(|id| HeaderValue::from_str(&id).ok()) {
        h.insert(HeaderName::from_static(REQUEST_ID), value);
    }
    Ok(res)
}

/// A 500 answered with the generic body: a page for page paths, the
/// problem+json body for the API. Our own errors logged their detail
/// already; anything else's (an error, or failing that the body it wrote) is
/// logged here.
async fn generic_500(res: ServiceResponse, path: &str, request_id: Option<String>) -> ServiceResponse {
    let ours = res
        .response()
        .error()
        .is_some_and(|e| e.as_error::<ApiError>().is_some() || e.as_error::<PageError>().is_some());
    let (req, response) = res.into_parts();
    if !ours {
        match response.error() {
            Some(e) => tracing::error!(error = ?e, "internal error"),
            None => {
                let body = actix_web::body::to_bytes_limited(response.into_body(), 4096).await;
                let text = match body {
                    Ok(Ok(b)) => String::from_utf8_lossy(&b).into_owned(),
                    _ => "(body unreadable or longer than 4 KiB)".into(),
                };
                tracing::error!(body = %text, "internal error");
            }
        }
    }
    let body = if path.starts_with("/api") {
        ApiError::internal_response(request_id)
    } else {
        render::internal_page(request_id)
    };
    ServiceResponse::new(req, body)
}
