//! Case endpoints: filing, listing, reading, actions, attachments, deadlines.

use actix_multipart::Multipart;
use actix_web::{HttpRequest, HttpResponse, get, post, web};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::api::guard::{ApplicantOnly, Caller, CaseParty, Guarded};
use crate::api::{Page, PageQuery};
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::services::cases::view::{CaseSummary, CaseView, DeadlineView};
use crate::services::cases::{self, create::CreateCase, input::ActionRequest};
use crate::state::AppState;
use entity::types::{AttachmentKind, CaseKind};

pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(create_case)
        .service(list_cases)
        .service(export_cases)
        .service(get_case)
        .service(take_action)
        .service(upload_attachment)
        .service(download_attachment)
        .service(list_documents)
        .service(download_document)
        .service(case_deadlines);
}

/// Files an objection or a repair application. An `Idempotency-Key` header
/// makes retries safe: the same key returns the same case (200).
#[utoipa::path(tag = "cases", request_body = CreateCase,
    params(("Idempotency-Key" = Option<String>, Header, description = "Retry key")),
    responses((status = 201, body = CaseView), (status = 200, description = "Idempotent replay", body = CaseView),
        (status = 422, description = "Not eligible (stable code)", body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
#[post("/api/v1/cases")]
async fn create_case(
    state: web::Data<AppState>,
    user: Guarded<ApplicantOnly>,
    req: HttpRequest,
    body: web::Json<CreateCase>,
) -> ApiResult<HttpResponse> {
    let key = match req.headers().get("Idempotency-Key") {
        Some(v) => Some(
            v.to_str()
                .map_err(|_| ApiError::bad_request("invalid_idempotency_key", "Idempotency-Key 须为可见 ASCII 字符"))?
                .to_string(),
        ),
        None => None,
    };
    let (view, created) = cases::create::create(&state, &user, body.into_inner(), key).await?;
    Ok(if created { HttpResponse::Created().json(view) } else { HttpResponse::Ok().json(view) })
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct CaseQuery {
    /// `objection` or `repair`
    pub kind: Option<String>,
    pub state: Option<String>,
    pub department_id: Option<i64>,
    pub overdue: Option<bool>,
    /// true: open cases only; false: closed only.
    pub open: Option<bool>,
    /// Searches the case number and the reason.
    pub text: Option<String>,
    pub page: Option<u64>,
    pub per_page: Option<u64>,
}

/// Cases the caller may see, newest first.
#[utoipa::path(tag = "cases", params(CaseQuery), responses((status = 200, body = Page<CaseSummary>)), security(("bearer" = [])))]
#[get("/api/v1/cases")]
async fn list_cases(
    state: web::Data<AppState>,
    user: Caller,
    q: web::Query<CaseQuery>,
) -> ApiResult<web::Json<Page<CaseSummary>>> {
    let q = q.into_inner();
    let (page, per_page) = PageQuery::resolve(q.page, q.per_page)?;
    let f = case_filter(q.kind.as_deref(), q.state, q.department_id, q.overdue, q.open, q.text)?;
    let (items, total) = cases::view::list(&state, &user, f, page, per_page).await?;
    Ok(web::Json(Page { items, total, page, per_page }))
}

/// The list's filter from its query parameters (the list and its export).
fn case_filter(
    kind: Option<&str>,
    state: Option<String>,
    department_id: Option<i64>,
    overdue: Option<bool>,
    open: Option<bool>,
    text: Option<String>,
) -> ApiResult<cases::view::CaseFilter> {
    let kind = match kind.map(str::parse::<CaseKind>) {
        None => None,
        Some(Ok(k)) => Some(k),
        Some(Err(_)) => return Err(ApiError::field("kind", "invalid_value", "申请类型须为 objection 或 repair")),
    };
    Ok(cases::view::CaseFilter { kind, state, department_id, overdue, open, text, ..Default::default() })
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct CaseExportQuery {
    /// `xlsx` or `csv`
    pub format: String,
    /// The list's filters: `objection` or `repair`
    pub kind: Option<String>,
    pub state: Option<String>,
    pub department_id: Option<i64>,
    pub overdue: Option<bool>,
    pub open: Option<bool>,
    pub text: Option<String>,
}

/// The case list as a spreadsheet (same filters and scope as the list).
#[utoipa::path(tag = "cases", params(CaseExportQuery), responses(
    (status = 200, description = "The spreadsheet", content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
    (status = 401, body = ErrorBody), (status = 422, body = ErrorBody)), security(("bearer" = [])))]
#[get("/api/v1/cases/export")]
async fn export_cases(
    state: web::Data<AppState>,
    user: Caller,
    q: web::Query<CaseExportQuery>,
) -> ApiResult<HttpResponse> {
    let q = q.into_inner();
    let format = crate::services::exports::ExportFormat::parse(&q.format)?;
    let mut described = Vec::new();
    if let Some(k) = &q.kind {
        described.push(format!("类型={k}"));
    }
    if let Some(s) = &q.state {
        described.push(format!("状态={s}"));
    }
    if let Some(d) = q.department_id {
        described.push(format!("部门={d}"));
    }
    if let Some(o) = q.overdue {
        described.push(format!("超期={}", if o { "是" } else { "否" }));
    }
    if let Some(o) = q.open {
        described.push(if o { "在办".into() } else { "已办结".into() });
    }
    if let Some(t) = &q.text {
        described.push(format!("关键词={t}"));
    }
    let text = if described.is_empty() { "全部（本人可见范围）".to_string() } else { described.join("；") };
    let f = case_filter(q.kind.as_deref(), q.state, q.department_id, q.overdue, q.open, q.text)?;
    let e = crate::services::exports::cases(&state, &user, f, &text, format).await?;
    Ok(crate::api::export_response(e))
}

/// One case with its history, attachments and the actions the caller may take now.
#[utoipa::path(tag = "cases", responses((status = 200, body = CaseView), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
#[get("/api/v1/cases/{id}")]
async fn get_case(state: web::Data<AppState>, user: Caller, id: web::Path<i64>) -> ApiResult<web::Json<CaseView>> {
    Ok(web::Json(cases::view::get(&state, &user, id.into_inner()).await?))
}

/// Takes an action (accept, reject, request_supplement, supplement, withdraw,
/// verify, approve, deny, extend, urge, revoke). 409 when not allowed now or
/// when `version` is stale.
#[utoipa::path(tag = "cases", request_body = ActionRequest,
    responses((status = 200, body = CaseView), (status = 409, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
#[post("/api/v1/cases/{id}/actions/{name}")]
async fn take_action(
    state: web::Data<AppState>,
    user: Caller,
    path: web::Path<(i64, String)>,
    http: HttpRequest,
    body: Result<web::Json<ActionRequest>, actix_web::Error>,
) -> Result<web::Json<CaseView>, actix_web::Error> {
    let (id, name) = path.into_inner();
    // The body is optional, but one that is sent must be valid.
    let req = match body {
        Ok(b) => b.into_inner(),
        Err(_) if !has_body(&http) => ActionRequest::default(),
        Err(e) => return Err(e),
    };
    Ok(web::Json(cases::act::act(&state, &user, id, &name, req).await?))
}

/// True when the request announces a body (a non-zero length or chunked).
fn has_body(req: &HttpRequest) -> bool {
    use actix_web::http::header::{CONTENT_LENGTH, TRANSFER_ENCODING};
    let h = req.headers();
    match h.get(CONTENT_LENGTH) {
        Some(v) => v.to_str().ok().and_then(|s| s.trim().parse::<u64>().ok()) != Some(0),
        None => h.contains_key(TRANSFER_ENCODING),
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AttachmentCreated {
    pub id: i64,
    pub kind: AttachmentKind,
    pub content_type: String,
    pub size: i64,
    pub sha256: String,
    pub download_url: String,
}

/// Uploads a material (multipart: `kind` and `file`). PDF, PNG or JPEG,
/// judged by content; at most the configured size.
#[utoipa::path(tag = "cases", request_body(content_type = "multipart/form-data", content = Object, description = "fields: kind (fulfilment_proof | commitment_letter | evidence | other), file"),
    responses((status = 201, body = AttachmentCreated), (status = 413, body = ErrorBody), (status = 415, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
#[post("/api/v1/cases/{id}/attachments")]
async fn upload_attachment(
    state: web::Data<AppState>,
    user: Guarded<CaseParty>,
    id: web::Path<i64>,
    form: Multipart,
) -> ApiResult<HttpResponse> {
    // Limits: the file at most `max_attachment_bytes`, one file, the other
    // fields together at most `max_body_bytes`.
    let mut form =
        crate::api::read_form(form, state.settings.max_attachment_bytes, state.settings.max_body_bytes, 1).await?;
    let kind = Some(form.field("kind").to_string()).filter(|k| !k.is_empty());
    let kind = kind.ok_or_else(|| ApiError::field("kind", "required", "请指定材料类型（kind）"))?;
    let (filename, bytes) =
        form.take_file("file").ok_or_else(|| ApiError::field("file", "required", "请选择要上传的文件（file）"))?;
    let a = cases::attachments::upload(&state, &user, id.into_inner(), &kind, filename.as_deref(), bytes).await?;
    Ok(HttpResponse::Created().json(AttachmentCreated {
        download_url: format!("/api/v1/cases/{}/attachments/{}", a.case_id, a.id),
        id: a.id,
        kind: a.kind,
        content_type: a.content_type,
        size: a.size,
        sha256: a.sha256,
    }))
}

/// Downloads an attachment of a case the caller may see.
#[utoipa::path(tag = "cases", responses((status = 200, description = "The file", content_type = "application/octet-stream"), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
#[get("/api/v1/cases/{id}/attachments/{attachment_id}")]
async fn download_attachment(
    state: web::Data<AppState>,
    user: Caller,
    path: web::Path<(i64, i64)>,
) -> ApiResult<HttpResponse> {
    let (case_id, aid) = path.into_inner();
    let (a, bytes) = cases::attachments::download(&state, &user, case_id, aid).await?;
    let ext = cases::attachments::sniff(&bytes).map(|(_, e)| e).unwrap_or("bin");
    Ok(HttpResponse::Ok()
        .content_type(a.content_type.as_str())
        .insert_header(("Content-Disposition", format!("attachment; filename=\"{}-{}.{ext}\"", a.kind, a.id)))
        .insert_header(("X-Content-Type-Options", "nosniff"))
        .body(bytes))
}

/// The formal documents (文书) issued on a case the caller may see.
#[utoipa::path(tag = "cases", responses((status = 200, body = Vec<crate::services::documents::DocumentView>), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
#[get("/api/v1/cases/{id}/documents")]
async fn list_documents(
    state: web::Data<AppState>,
    user: Caller,
    id: web::Path<i64>,
) -> ApiResult<web::Json<Vec<crate::services::documents::DocumentView>>> {
    Ok(web::Json(crate::services::documents::list(&state, &user, id.into_inner()).await?))
}

/// Downloads a formal document (PDF) of a case the caller may see.
#[utoipa::path(tag = "cases", responses((status = 200, description = "The PDF", content_type = "application/pdf"), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
#[get("/api/v1/cases/{id}/documents/{document_id}")]
async fn download_document(
    state: web::Data<AppState>,
    user: Caller,
    path: web::Path<(i64, i64)>,
) -> ApiResult<HttpResponse> {
    let (case_id, doc_id) = path.into_inner();
    let (name, bytes) = crate::services::documents::download(&state, &user, case_id, doc_id).await?;
    Ok(HttpResponse::Ok()
        .content_type("application/pdf")
        .insert_header(("Content-Disposition", crate::api::content_disposition(&name, doc_id, false)))
        .insert_header(("X-Content-Type-Options", "nosniff"))
        .body(bytes))
}

/// Explains every deadline of the case: budget, days counted, pauses, extensions.
#[utoipa::path(tag = "cases", responses((status = 200, body = Vec<DeadlineView>), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
#[get("/api/v1/cases/{id}/deadlines")]
async fn case_deadlines(
    state: web::Data<AppState>,
    user: Caller,
    id: web::Path<i64>,
) -> ApiResult<web::Json<Vec<DeadlineView>>> {
    Ok(web::Json(cases::view::deadlines(&state.read, &user, id.into_inner()).await?))
}
