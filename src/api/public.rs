use actix_web::{get, post, web};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::error::{ApiResult, ErrorBody};
use crate::services::records::{self, PublicRecordView};
use crate::state::AppState;

pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(public_records).service(verify_document).service(verify_document_file);
}

/// Is this file the document the office issued? (no login): the PDF as the
/// request body; any change to it fails (404).
#[utoipa::path(tag = "public", request_body(content = Vec<u8>, content_type = "application/octet-stream"),
    responses((status = 200, body = crate::services::documents::Verification), (status = 404, body = ErrorBody),
    (status = 413, body = ErrorBody), (status = 422, body = ErrorBody)))]
#[post("/api/v1/public/documents/verify")]
async fn verify_document_file(
    state: web::Data<AppState>,
    body: web::Bytes,
) -> ApiResult<web::Json<crate::services::documents::Verification>> {
    Ok(web::Json(crate::services::documents::verify_file(&state, &body).await?))
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct VerifyQuery {
    /// The document's number (文号), e.g. 济高信修〔2026〕第0001号.
    pub number: String,
    /// The verification code printed on it.
    pub code: String,
}

/// Is this document genuine? (no login): the number and code printed on a
/// document give what the office issued under that number.
#[utoipa::path(tag = "public", params(VerifyQuery), responses((status = 200, body = crate::services::documents::Verification),
    (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
#[get("/api/v1/public/documents/verify")]
async fn verify_document(
    state: web::Data<AppState>,
    q: web::Query<VerifyQuery>,
) -> ApiResult<web::Json<crate::services::documents::Verification>> {
    Ok(web::Json(crate::services::documents::verify(&state, &q.number, &q.code).await?))
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct PublicQuery {
    /// Unified social credit code (18 characters).
    pub subject: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PublicResult {
    pub subject: String,
    pub items: Vec<PublicRecordView>,
}

/// Public query (no login): what is published about a subject now, with the
/// “异议处理中” mark. Natural persons' records are never shown.
#[utoipa::path(tag = "public", params(PublicQuery), responses((status = 200, body = PublicResult), (status = 422, body = ErrorBody)))]
#[get("/api/v1/public/records")]
async fn public_records(state: web::Data<AppState>, q: web::Query<PublicQuery>) -> ApiResult<web::Json<PublicResult>> {
    let items = records::public_query(&state.read, &q.subject).await?;
    Ok(web::Json(PublicResult { subject: q.subject.trim().to_uppercase(), items }))
}
