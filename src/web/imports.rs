//! Bulk import pages: a department officer (its own department) or an
//! administrator (a producing department chosen) downloads the template,
//! uploads a file to check or import, reads the result row by row and
//! downloads the annotated workbook. The same service as the JSON API.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use serde_json::{Value, json};

use super::render::{self, PageError};
use super::session::{Multipart, Signed, check_csrf};
use crate::auth::policy::Importer;
use crate::error::ApiError;
use crate::services::admin::departments;
use crate::services::exports::Export;
use crate::services::imports::{self, ImportReport};
use crate::services::sessions::Session;
use crate::state::AppState;
use crate::workflow::Role;
use entity::types::DepartmentKind;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/imports", web::get().to(imports_page))
        .route("/imports", web::post().to(upload))
        .route("/imports/template", web::get().to(template))
        .route("/imports/{id}", web::get().to(import_page))
        .route("/imports/{id}/annotated", web::get().to(annotated));
}

const XLSX: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

/// The page: the upload form, the report of `report` when there is one, and
/// the latest imports.
async fn show(
    state: &AppState,
    session: &Session,
    status: StatusCode,
    report: Option<ImportReport>,
    error: Option<String>,
) -> Result<HttpResponse, PageError> {
    let all = departments::list_departments(&state.db).await?;
    let producing: Vec<Value> = if session.user.role == Role::Admin {
        all.iter()
            .filter(|d| d.kind == DepartmentKind::Producing)
            .map(|d| json!({"id": d.id, "name": d.name}))
            .collect()
    } else {
        Vec::new()
    };
    let names: std::collections::HashMap<i64, String> = all.into_iter().map(|d| (d.id, d.name)).collect();
    let list: Vec<Value> = imports::list(state, &session.user)
        .await?
        .into_iter()
        .map(|i| json!({"i": i, "department": names.get(&i.department_id)}))
        .collect();
    let notice = report.as_ref().map(|r| match r.outcome.as_str() {
        "checked" if r.error_count == 0 => "校验通过：文件中的数据均可导入。".to_string(),
        "applied" if r.error_count == 0 => "导入完成。".to_string(),
        "applied" => format!("已导入无误的行；{} 处错误的行未导入。", r.error_count),
        _ => String::new(),
    });
    // A check that found problems is a warning, not a success.
    let error = error.or_else(|| {
        report
            .as_ref()
            .filter(|r| r.outcome == "checked" && r.error_count > 0)
            .map(|r| format!("校验完成：{} 处错误，请修改后再导入。", r.error_count))
    });
    let ctx = json!({
        "report": report, "imports": list, "departments": producing,
        "is_admin": session.user.role == Role::Admin,
        "notice": notice.filter(|n| !n.is_empty()), "error": error,
    });
    render::with_status(status, "imports.html", Some(session), "批量导入", ctx)
}

async fn imports_page(state: web::Data<AppState>, who: Signed<Importer>) -> Result<HttpResponse, PageError> {
    show(&state, &who.session, StatusCode::OK, None, None).await
}

async fn import_page(
    state: web::Data<AppState>,
    who: Signed<Importer>,
    id: web::Path<i64>,
) -> Result<HttpResponse, PageError> {
    let report = imports::get(&state, &who, id.into_inner()).await?;
    show(&state, &who.session, StatusCode::OK, Some(report), None).await
}

/// Checks or imports the uploaded file (multipart: csrf, mode, partial,
/// department_id for an administrator, file) and shows the result.
async fn upload(
    state: web::Data<AppState>,
    who: Signed<Importer>,
    body: actix_multipart::Multipart,
) -> Result<HttpResponse, PageError> {
    let form = match Multipart::read_with(body, &state.settings, state.settings.max_import_bytes, 1).await {
        Ok(f) => f,
        Err(PageError::Refused(e)) => {
            return show(&state, &who.session, render::status_of(&e), None, Some(render::describe(&e))).await;
        }
        Err(e) => return Err(e),
    };
    check_csrf(&who.session, form.field("csrf"))?;
    let mut form = crate::api::Form { fields: form.fields, files: form.files };
    let result = match crate::api::imports::upload_of(&mut form) {
        Ok(u) => imports::run(&state, &who, u).await,
        Err(e) => Err(e),
    };
    match result {
        Ok(report) => show(&state, &who.session, StatusCode::OK, Some(report), None).await,
        // Refused for bad rows: nothing was written; the report says where.
        Err(ApiError::Unprocessable { code: "import_rejected", message, details: Some(d) }) => {
            let report = imports::get(&state, &who, d["id"].as_i64().unwrap_or_default()).await?;
            show(&state, &who.session, StatusCode::UNPROCESSABLE_ENTITY, Some(report), Some(message)).await
        }
        Err(ApiError::Internal(e)) => Err(PageError::Internal(e)),
        Err(e) => show(&state, &who.session, render::status_of(&e), None, Some(render::describe(&e))).await,
    }
}

async fn template(state: web::Data<AppState>, _who: Signed<Importer>) -> Result<HttpResponse, PageError> {
    let bytes = imports::template(&state).await?;
    Ok(crate::api::export_response(Export { file_name: "import-template.xlsx".into(), content_type: XLSX, bytes }))
}

async fn annotated(
    state: web::Data<AppState>,
    who: Signed<Importer>,
    id: web::Path<i64>,
) -> Result<HttpResponse, PageError> {
    let id = id.into_inner();
    let bytes = imports::annotated(&state, &who, id).await?;
    Ok(crate::api::export_response(Export {
        file_name: format!("import-{id}-annotated.xlsx"),
        content_type: XLSX,
        bytes,
    }))
}
