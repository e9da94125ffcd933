//! HTTP routes. One `configure` per module, reused by `startup` and tests.

pub mod admin;
pub mod auth;
pub mod calendar;
pub mod cases;
pub mod client;
pub mod deliveries;
pub mod guard;

pub mod health;
pub mod messages;
pub mod openapi;
pub mod public;
pub mod records;
pub mod reports;

use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

/// Page parameters shared by list endpoints.
#[derive(Debug, Deserialize, IntoParams)]
pub struct PageQuery {
    /// 1-based page number (default 1).
    pub page: Option<u64>,
    /// Items per page (default 20, at most 100).
    pub per_page: Option<u64>,
}

impl PageQuery {
    /// Page number and size; a page beyond 1,000,000 is refused (422).
    pub fn resolve(page: Option<u64>, per_page: Option<u64>) -> Result<(u64, u64), crate::error::ApiError> {
        let page = page.unwrap_or(1).max(1);
        if page > 1_000_000 {
            return Err(crate::error::ApiError::field("page", "out_of_range", "页码不能超过 1000000"));
        }
        Ok((page, per_page.unwrap_or(20).clamp(1, 100)))
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Page<T: ToSchema> {
    pub items: Vec<T>,
    pub total: u64,
    pub page: u64,
    pub per_page: u64,
}

/// `Content-Disposition` for a file handed out (attachment, or shown inline):
/// an ASCII fallback name and the real one (RFC 6266 / 5987).
pub fn content_disposition(name: &str, id: i64, inline: bool) -> String {
    let encoded: String = name
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'.' | b'-' | b'_' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect();
    let kind = if inline { "inline" } else { "attachment" };
    format!("{kind}; filename=\"document-{id}.pdf\"; filename*=UTF-8''{encoded}")
}

/// A finished export as a download (the API's and the pages' alike).
pub fn export_response(e: crate::services::exports::Export) -> actix_web::HttpResponse {
    actix_web::HttpResponse::Ok()
        .content_type(e.content_type)
        .insert_header(("Content-Disposition", format!("attachment; filename=\"{}\"", e.file_name)))
        .insert_header(("X-Content-Type-Options", "nosniff"))
        .insert_header(("Cache-Control", "private, no-store"))
        .body(e.bytes)
}

pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    health::configure(cfg);
    auth::configure(cfg);
    records::configure(cfg);
    public::configure(cfg);
    admin::configure(cfg);

    calendar::configure(cfg);
    cases::configure(cfg);
    reports::configure(cfg);
    messages::configure(cfg);
    deliveries::configure(cfg);
}
