//! HTTP routes. One `configure` per module, reused by `startup` and tests.

pub mod admin;
pub mod auth;
pub mod calendar;
pub mod cases;
pub mod client;
pub mod deliveries;
pub mod guard;

pub mod health;
pub mod imports;
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

/// A multipart form read whole: its text fields and its files (field name,
/// the client's file name, bytes; empty files are dropped).
pub struct Form {
    pub fields: std::collections::HashMap<String, String>,
    pub files: Vec<(String, Option<String>, Vec<u8>)>,
}

impl Form {
    pub fn field(&self, name: &str) -> &str {
        self.fields.get(name).map(|s| s.trim()).unwrap_or("")
    }

    /// The one file sent as `name`, if any.
    pub fn take_file(&mut self, name: &str) -> Option<(Option<String>, Vec<u8>)> {
        let i = self.files.iter().position(|(n, _, _)| n == name)?;
        let (_, file_name, bytes) = self.files.swap_remove(i);
        Some((file_name, bytes))
    }
}

/// Reads a multipart body within limits: each file at most `max_file`
/// bytes, at most `max_files` files, the text fields together at most
/// `max_text` bytes (413 beyond the sizes, 400 for a malformed body or too
/// many files). Used by the API and the pages alike.
pub async fn read_form(
    mut mp: actix_multipart::Multipart,
    max_file: usize,
    max_text: usize,
    max_files: usize,
) -> Result<Form, crate::error::ApiError> {
    use crate::error::ApiError;
    use futures_util::StreamExt;
    let malformed =
        |e: actix_multipart::MultipartError| ApiError::bad_request("invalid_multipart", format!("表单格式不正确：{e}"));
    let mut text_left = max_text;
    let mut form = Form { fields: Default::default(), files: Vec::new() };
    while let Some(item) = mp.next().await {
        let mut field = item.map_err(malformed)?;
        let name = field.name().unwrap_or_default().to_string();
        let file_name = field.content_disposition().and_then(|d| d.get_filename()).map(str::to_string);
        let mut buf = Vec::new();
        while let Some(chunk) = field.next().await {
            let chunk = chunk.map_err(malformed)?;
            if file_name.is_some() {
                if buf.len() + chunk.len() > max_file {
                    return Err(ApiError::PayloadTooLarge);
                }
            } else {
                text_left = text_left.checked_sub(chunk.len()).ok_or(ApiError::PayloadTooLarge)?;
            }
            buf.extend_from_slice(&chunk);
        }
        match file_name {
            Some(f) => {
                if buf.is_empty() {
                    continue;
                }
                if form.files.len() >= max_files {
                    return Err(ApiError::bad_request("too_many_files", format!("一次最多上传 {max_files} 个文件")));
                }
                form.files.push((name, Some(f), buf));
            }
            None => {
                form.fields.insert(name, String::from_utf8_lossy(&buf).into_owned());
            }
        }
    }
    Ok(form)
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
    imports::configure(cfg);
}
