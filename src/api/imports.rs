//! Bulk import of records, sanction measures and list entries: the template,
//! the upload (check or apply), the imports made and their annotated files.

use actix_multipart::Multipart;
use actix_web::{HttpResponse, get, post, web};

use crate::api::guard::{Guarded, Importer};
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::services::exports::Export;
use crate::services::imports::{self, ImportReport, Mode, Upload};
use crate::state::AppState;

pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(template).service(upload).service(list).service(get_one).service(annotated);
}

const XLSX: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

/// The import template: a workbook with the sheets 信用信息, 惩戒措施 and 名单
/// (their headers) and 填写说明 (every column, and the measures registered).
#[utoipa::path(tag = "imports", responses((status = 200, description = "xlsx workbook", content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")), security(("bearer" = [])))]
#[get("/api/v1/imports/template")]
async fn template(state: web::Data<AppState>, _u: Guarded<Importer>) -> ApiResult<HttpResponse> {
    let bytes = imports::template(&state).await?;
    Ok(crate::api::export_response(Export { file_name: "import-template.xlsx".into(), content_type: XLSX, bytes }))
}

/// Uploads a file to check or import (multipart: `file`, `mode` = `check`
/// (default) or `apply`, `partial` = `true` to write the good rows of a file
/// with bad ones, `department_id` for an administrator). A checked file
/// answers 200 with what would happen and every bad row; an applied one 201;
/// an apply refused for bad rows writes nothing and answers 422
/// `import_rejected` with the same report in `details`.
#[utoipa::path(tag = "imports",
    request_body(content_type = "multipart/form-data", content = Object, description = "fields: file (xlsx or CSV), mode (check | apply), partial (true | false), department_id (administrators)"),
    responses((status = 200, body = ImportReport), (status = 201, body = ImportReport), (status = 413, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
#[post("/api/v1/imports")]
async fn upload(state: web::Data<AppState>, user: Guarded<Importer>, form: Multipart) -> ApiResult<HttpResponse> {
    let mut form =
        crate::api::read_form(form, state.settings.max_import_bytes, state.settings.max_body_bytes, 1).await?;
    let upload = upload_of(&mut form)?;
    let mode = upload.mode;
    let report = imports::run(&state, &user, upload).await?;
    Ok(match mode {
        Mode::Check => HttpResponse::Ok().json(report),
        Mode::Apply => HttpResponse::Created().json(report),
    })
}

/// The fields of an import form (the API's and the page's).
pub fn upload_of(form: &mut crate::api::Form) -> ApiResult<Upload> {
    let mode = Mode::parse(form.field("mode"))
        .ok_or_else(|| ApiError::field("mode", "invalid_value", "mode 须为 check（仅校验）或 apply（导入）"))?;
    let partial = match form.field("partial") {
        "" | "false" | "0" | "off" => false,
        "true" | "1" | "on" => true,
        _ => return Err(ApiError::field("partial", "invalid_value", "partial 须为 true 或 false")),
    };
    let department_id = match form.field("department_id") {
        "" => None,
        d => Some(d.parse::<i64>().map_err(|_| ApiError::field("department_id", "invalid_value", "认定单位无效"))?),
    };
    let (file_name, bytes) =
        form.take_file("file").ok_or_else(|| ApiError::field("file", "required", "请选择要导入的文件（file）"))?;
    Ok(Upload { file_name: file_name.unwrap_or_default(), bytes, mode, partial, department_id })
}

/// The latest imports the caller may see (a department officer: its own
/// department's), newest first, without their error lists.
#[utoipa::path(tag = "imports", responses((status = 200, body = Vec<ImportReport>)), security(("bearer" = [])))]
#[get("/api/v1/imports")]
async fn list(state: web::Data<AppState>, user: Guarded<Importer>) -> ApiResult<web::Json<Vec<ImportReport>>> {
    Ok(web::Json(imports::list(&state, &user).await?))
}

/// One import with every refused row.
#[utoipa::path(tag = "imports", responses((status = 200, body = ImportReport), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
#[get("/api/v1/imports/{id}")]
async fn get_one(
    state: web::Data<AppState>,
    user: Guarded<Importer>,
    id: web::Path<i64>,
) -> ApiResult<web::Json<ImportReport>> {
    Ok(web::Json(imports::get(&state, &user, id.into_inner()).await?))
}

/// The uploaded file as a workbook with a 校验结果 column on every sheet.
#[utoipa::path(tag = "imports", responses((status = 200, description = "xlsx workbook", content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
#[get("/api/v1/imports/{id}/annotated")]
async fn annotated(state: web::Data<AppState>, user: Guarded<Importer>, id: web::Path<i64>) -> ApiResult<HttpResponse> {
    let id = id.into_inner();
    let bytes = imports::annotated(&state, &user, id).await?;
    Ok(crate::api::export_response(Export {
        file_name: format!("import-{id}-annotated.xlsx"),
        content_type: XLSX,
        bytes,
    }))
}
