use actix_web::{get, post, web};
use serde::Deserialize;
use utoipa::IntoParams;

use crate::api::guard::{Caller, Guarded, RecordKeeper};
use crate::api::{Page, PageQuery};
use crate::error::{ApiResult, ErrorBody};
use crate::services::records::{self, RecordFilter, RecordHistory, RecordView};
use crate::state::AppState;
use entity::types::PublicationStatus;

pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(list_records)
        .service(export_records)
        .service(get_record)
        .service(record_history)
        .service(withdraw_record);
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct RecordQuery {
    /// Unified social credit code of the subject.
    pub subject: Option<String>,
    pub department_id: Option<i64>,
    /// `published`, `not_published` or `ended`
    pub publication_status: Option<String>,
    pub page: Option<u64>,
    pub per_page: Option<u64>,
}

/// Records the caller may see: an applicant its own subject's, a department
/// officer its department's, the credit office everything.
#[utoipa::path(tag = "records", params(RecordQuery), responses((status = 200, body = Page<RecordView>), (status = 401, body = ErrorBody)),
    security(("bearer" = [])))]
#[get("/api/v1/records")]
async fn list_records(
    state: web::Data<AppState>,
    user: Caller,
    q: web::Query<RecordQuery>,
) -> ApiResult<web::Json<Page<RecordView>>> {
    let q = q.into_inner();
    let (page, per_page) = PageQuery::resolve(q.page, q.per_page)?;
    let subject_id = match &q.subject {
        Some(code) => match records::find_subject(&state.read, code, false).await? {
            Some(s) => Some(s.id),
            None => {
                return Ok(web::Json(Page { items: vec![], total: 0, page, per_page }));
            }
        },
        None => None,
    };
    let publication_status = publication_status(q.publication_status.as_deref())?;
    let filter = RecordFilter { subject_id, department_id: q.department_id, publication_status };
    let (items, total) = records::list(&state.read, &user, filter, page, per_page).await?;
    Ok(web::Json(Page { items, total, page, per_page }))
}

/// The list's `publication_status` parameter.
fn publication_status(s: Option<&str>) -> ApiResult<Option<PublicationStatus>> {
    s.map(|s| {
        s.parse::<PublicationStatus>()
            .map_err(|_| crate::error::ApiError::field("publication_status", "invalid_value", "公示状态取值无效"))
    })
    .transpose()
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct RecordExportQuery {
    /// `xlsx` or `csv`
    pub format: String,
    /// The list's filters.
    pub subject: Option<String>,
    pub department_id: Option<i64>,
    pub publication_status: Option<String>,
}

/// The record list as a spreadsheet (same filters and scope as the list).
#[utoipa::path(tag = "records", params(RecordExportQuery), responses(
    (status = 200, description = "The spreadsheet", content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
    (status = 401, body = ErrorBody), (status = 422, body = ErrorBody)), security(("bearer" = [])))]
#[get("/api/v1/records/export")]
async fn export_records(
    state: web::Data<AppState>,
    user: Caller,
    q: web::Query<RecordExportQuery>,
) -> ApiResult<actix_web::HttpResponse> {
    let q = q.into_inner();
    let format = crate::services::exports::ExportFormat::parse(&q.format)?;
    let subject_id = match &q.subject {
        Some(code) => Some(records::find_subject(&state.read, code, false).await?.map(|s| s.id).unwrap_or(-1)),
        None => None,
    };
    let publication_status = publication_status(q.publication_status.as_deref())?;
    let mut described = Vec::new();
    if let Some(s) = &q.subject {
        described.push(format!("主体={s}"));
    }
    if let Some(d) = q.department_id {
        described.push(format!("部门={d}"));
    }
    if let Some(p) = &q.publication_status {
        described.push(format!("公示状态={p}"));
    }
    let text = if described.is_empty() { "全部（本人可见范围）".to_string() } else { described.join("；") };
    let filter = RecordFilter { subject_id, department_id: q.department_id, publication_status };
    let e = crate::services::exports::records(&state, &user, filter, &text, format).await?;
    Ok(crate::api::export_response(e))
}

/// One record, if the caller may see it (404 otherwise).
#[utoipa::path(tag = "records", responses((status = 200, body = RecordView), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
#[get("/api/v1/records/{id}")]
async fn get_record(state: web::Data<AppState>, user: Caller, id: web::Path<i64>) -> ApiResult<web::Json<RecordView>> {
    Ok(web::Json(records::get(&state.read, &user, id.into_inner()).await?))
}

/// What happened to a record: system changes (such as the automatic end of
/// publication) and the cases filed on it.
#[utoipa::path(tag = "records", responses((status = 200, body = RecordHistory), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
#[get("/api/v1/records/{id}/history")]
async fn record_history(
    state: web::Data<AppState>,
    user: Caller,
    id: web::Path<i64>,
) -> ApiResult<web::Json<RecordHistory>> {
    Ok(web::Json(records::history(&state.read, &user, id.into_inner()).await?))
}

/// Withdraws a record whose decision was revoked or changed (Shandong Art. 40):
/// publication, list memberships and sanctions end, open cases on it close,
/// the subject is told and the change is synced, in one transaction. For the
/// producing department (its own records) and the credit office.
#[utoipa::path(tag = "records", request_body = crate::services::withdrawal::WithdrawInput,
    responses((status = 200, body = RecordView), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
              (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
#[post("/api/v1/records/{id}/withdraw")]
async fn withdraw_record(
    state: web::Data<AppState>,
    who: Guarded<RecordKeeper>,
    id: web::Path<i64>,
    body: web::Json<crate::services::withdrawal::WithdrawInput>,
) -> ApiResult<web::Json<RecordView>> {
    Ok(web::Json(crate::services::withdrawal::withdraw(&state, &who, id.into_inner(), body.into_inner()).await?))
}
