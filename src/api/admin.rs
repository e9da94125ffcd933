//! Administrator endpoints: users, departments, subjects, records, measures.

use actix_web::{HttpResponse, delete, get, patch, post, web};

use crate::api::guard::{AdminOnly, Guarded};
use crate::error::{ApiResult, ErrorBody};
use crate::services::admin::{self as svc, *};
use crate::services::records::RecordView;
use crate::state::AppState;

pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(list_users)
        .service(create_user)
        .service(update_user)
        .service(list_departments)
        .service(create_department)
        .service(update_department)
        .service(list_subjects)
        .service(create_subject)
        .service(update_subject)
        .service(create_record)
        .service(update_record)
        .service(add_sanction)
        .service(add_list_entry)
        .service(list_measures)
        .service(create_measure)
        .service(update_measure)
        .service(delete_measure);
}

type J<T> = ApiResult<web::Json<T>>;

/// Lists users with role, department and subject.
#[utoipa::path(tag = "admin", responses((status = 200, body = Vec<UserView>), (status = 403, body = ErrorBody)), security(("bearer" = [])))]
#[get("/api/v1/admin/users")]
async fn list_users(state: web::Data<AppState>, _a: Guarded<AdminOnly>) -> J<Vec<UserView>> {
    Ok(web::Json(svc::users::list_users(&state.db, state.clock.now()).await?))
}

/// Creates a user (password policy applies).
#[utoipa::path(tag = "admin", request_body = UserInput, responses((status = 201, body = UserView), (status = 422, body = ErrorBody), (status = 409, body = ErrorBody)), security(("bearer" = [])))]
#[post("/api/v1/admin/users")]
async fn create_user(
    state: web::Data<AppState>,
    _a: Guarded<AdminOnly>,
    body: web::Json<UserInput>,
) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Created().json(svc::users::create_user(&state, body.into_inner()).await?))
}

/// Updates a user: role, bindings, e-mail, active flag, or a new password.
#[utoipa::path(tag = "admin", request_body = UserInput, responses((status = 200, body = UserView), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)), security(("bearer" = [])))]
#[patch("/api/v1/admin/users/{id}")]
async fn update_user(
    state: web::Data<AppState>,
    _a: Guarded<AdminOnly>,
    id: web::Path<i64>,
    body: web::Json<UserInput>,
) -> J<UserView> {
    Ok(web::Json(svc::users::update_user(&state, id.into_inner(), body.into_inner()).await?))
}

/// Lists departments.
#[utoipa::path(tag = "admin", responses((status = 200, body = Vec<DepartmentView>)), security(("bearer" = [])))]
#[get("/api/v1/admin/departments")]
async fn list_departments(state: web::Data<AppState>, _a: Guarded<AdminOnly>) -> J<Vec<DepartmentView>> {
    Ok(web::Json(svc::departments::list_departments(&state.db).await?))
}

/// Creates a department.
#[utoipa::path(tag = "admin", request_body = DepartmentInput, responses((status = 201, body = DepartmentView), (status = 422, body = ErrorBody)), security(("bearer" = [])))]
#[post("/api/v1/admin/departments")]
async fn create_department(
    state: web::Data<AppState>,
    _a: Guarded<AdminOnly>,
    body: web::Json<DepartmentInput>,
) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Created().json(svc::departments::create_department(&state, body.into_inner()).await?))
}

/// Updates a department.
#[utoipa::path(tag = "admin", request_body = DepartmentInput, responses((status = 200, body = DepartmentView), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
#[patch("/api/v1/admin/departments/{id}")]
async fn update_department(
    state: web::Data<AppState>,
    _a: Guarded<AdminOnly>,
    id: web::Path<i64>,
    body: web::Json<DepartmentInput>,
) -> J<DepartmentView> {
    Ok(web::Json(svc::departments::update_department(&state, id.into_inner(), body.into_inner()).await?))
}

/// Lists credit subjects.
#[utoipa::path(tag = "admin", responses((status = 200, body = Vec<SubjectView>)), security(("bearer" = [])))]
#[get("/api/v1/admin/subjects")]
async fn list_subjects(state: web::Data<AppState>, _a: Guarded<AdminOnly>) -> J<Vec<SubjectView>> {
    Ok(web::Json(svc::subjects::list_subjects(&state.db).await?))
}

/// Registers a subject. The code is checked against GB 32100; a failed check
/// character is refused unless `override_check` is set.
#[utoipa::path(tag = "admin", request_body = SubjectInput, responses((status = 201, body = SubjectView), (status = 422, body = ErrorBody), (status = 409, body = ErrorBody)), security(("bearer" = [])))]
#[post("/api/v1/admin/subjects")]
async fn create_subject(
    state: web::Data<AppState>,
    _a: Guarded<AdminOnly>,
    body: web::Json<SubjectInput>,
) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Created().json(svc::subjects::create_subject(&state, body.into_inner()).await?))
}

/// Renames a subject.
#[utoipa::path(tag = "admin", request_body = SubjectInput, responses((status = 200, body = SubjectView), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
#[patch("/api/v1/admin/subjects/{id}")]
async fn update_subject(
    state: web::Data<AppState>,
    _a: Guarded<AdminOnly>,
    id: web::Path<i64>,
    body: web::Json<SubjectInput>,
) -> J<SubjectView> {
    Ok(web::Json(svc::subjects::update_subject(&state, id.into_inner(), body.into_inner()).await?))
}

/// Creates a record; repair-from, publication end and display category are derived.
#[utoipa::path(tag = "admin", request_body = RecordInput, responses((status = 201, body = RecordView), (status = 422, body = ErrorBody)), security(("bearer" = [])))]
#[post("/api/v1/admin/records")]
async fn create_record(
    state: web::Data<AppState>,
    a: Guarded<AdminOnly>,
    body: web::Json<RecordInput>,
) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Created().json(svc::records::create_record(&state, a.0.id, body.into_inner()).await?))
}

/// Updates a record's descriptive fields, with the version it is based on.
#[utoipa::path(tag = "admin", request_body = RecordInput, responses((status = 200, body = RecordView), (status = 409, body = ErrorBody), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
#[patch("/api/v1/admin/records/{id}")]
async fn update_record(
    state: web::Data<AppState>,
    a: Guarded<AdminOnly>,
    id: web::Path<i64>,
    body: web::Json<RecordInput>,
) -> J<RecordView> {
    Ok(web::Json(svc::records::update_record(&state, a.0.id, id.into_inner(), body.into_inner()).await?))
}

/// Links an active sanction measure to a record.
#[utoipa::path(tag = "admin", request_body = SanctionInput, responses((status = 201, body = RecordView), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
#[post("/api/v1/admin/records/{id}/sanctions")]
async fn add_sanction(
    state: web::Data<AppState>,
    a: Guarded<AdminOnly>,
    id: web::Path<i64>,
    body: web::Json<SanctionInput>,
) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Created()
        .json(svc::records::add_sanction(&state, a.0.id, id.into_inner(), body.into_inner()).await?))
}

/// Adds the record's subject to a list (e.g. 严重失信主体名单).
#[utoipa::path(tag = "admin", request_body = ListEntryInput, responses((status = 201, body = RecordView), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
#[post("/api/v1/admin/records/{id}/lists")]
async fn add_list_entry(
    state: web::Data<AppState>,
    a: Guarded<AdminOnly>,
    id: web::Path<i64>,
    body: web::Json<ListEntryInput>,
) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Created()
        .json(svc::records::add_list_entry(&state, a.0.id, id.into_inner(), body.into_inner()).await?))
}

/// The sanction measure catalogue.
#[utoipa::path(tag = "admin", responses((status = 200, body = Vec<MeasureView>)), security(("bearer" = [])))]
#[get("/api/v1/admin/measures")]
async fn list_measures(state: web::Data<AppState>, _a: Guarded<AdminOnly>) -> J<Vec<MeasureView>> {
    Ok(web::Json(svc::measures::list_measures(&state.db).await?))
}

/// Adds a measure to the catalogue.
#[utoipa::path(tag = "admin", request_body = MeasureInput, responses((status = 201, body = MeasureView), (status = 422, body = ErrorBody)), security(("bearer" = [])))]
#[post("/api/v1/admin/measures")]
async fn create_measure(
    state: web::Data<AppState>,
    _a: Guarded<AdminOnly>,
    body: web::Json<MeasureInput>,
) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Created().json(svc::measures::create_measure(&state, body.into_inner()).await?))
}

/// Updates a measure.
#[utoipa::path(tag = "admin", request_body = MeasureInput, responses((status = 200, body = MeasureView), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
#[patch("/api/v1/admin/measures/{id}")]
async fn update_measure(
    state: web::Data<AppState>,
    _a: Guarded<AdminOnly>,
    id: web::Path<i64>,
    body: web::Json<MeasureInput>,
) -> J<MeasureView> {
    Ok(web::Json(svc::measures::update_measure(&state, id.into_inner(), body.into_inner()).await?))
}

/// Deletes a measure that no sanction uses (409 otherwise).
#[utoipa::path(tag = "admin", responses((status = 204), (status = 409, body = ErrorBody)), security(("bearer" = [])))]
#[delete("/api/v1/admin/measures/{id}")]
async fn delete_measure(
    state: web::Data<AppState>,
    _a: Guarded<AdminOnly>,
    id: web::Path<i64>,
) -> ApiResult<HttpResponse> {
    svc::measures::delete_measure(&state, id.into_inner()).await?;
    Ok(HttpResponse::NoContent().finish())
}
