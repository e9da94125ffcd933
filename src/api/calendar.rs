use actix_web::{get, post, put, web};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::api::guard::{AdminOnly, Caller, Guarded};
use crate::domain::calendar::YearFile;
use crate::error::{ApiResult, ErrorBody};
use crate::state::AppState;

pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(due).service(years).service(calendar_events).service(put_year).service(revert_year);
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct DueQuery {
    /// Receipt date (not counted).
    pub from: NaiveDate,
    pub working_days: u32,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DueResponse {
    pub due: NaiveDate,
    pub counted: Vec<NaiveDate>,
    /// True when a counted day lies in a year whose arrangement is not loaded.
    pub provisional: bool,
    pub provisional_years: Vec<i32>,
}

/// The Nth working day after `from` (the receipt day is not counted).
#[utoipa::path(tag = "calendar", params(DueQuery), responses((status = 200, body = DueResponse), (status = 422, body = ErrorBody)), security(("bearer" = [])))]
#[get("/api/v1/calendar/due")]
async fn due(state: web::Data<AppState>, _u: Caller, q: web::Query<DueQuery>) -> ApiResult<web::Json<DueResponse>> {
    let d = crate::services::calendar::due(&state, q.from, q.working_days)?;
    Ok(web::Json(DueResponse {
        due: d.due,
        counted: d.counted,
        provisional: d.provisional,
        provisional_years: d.provisional_years,
    }))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct YearsResponse {
    /// Years whose official arrangement is loaded.
    pub loaded: Vec<i32>,
    /// Provisional deadlines recomputed with the new arrangement (after a PUT).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub recomputed_deadlines: Option<u64>,
    /// Open deadlines still counted provisionally (their year is not loaded).
    pub provisional_deadlines: u64,
}

/// Years whose official holiday arrangement is loaded, and how many open
/// deadlines are still provisional.
#[utoipa::path(tag = "calendar", responses((status = 200, body = YearsResponse)), security(("bearer" = [])))]
#[get("/api/v1/calendar/years")]
async fn years(state: web::Data<AppState>, _u: Caller) -> ApiResult<web::Json<YearsResponse>> {
    let provisional_deadlines = crate::services::calendar::provisional_count(&state.db).await?;
    Ok(web::Json(YearsResponse {
        loaded: state.calendar().loaded_years(),
        recomputed_deadlines: None,
        provisional_deadlines,
    }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RevertRequest {
    /// Why the loaded arrangement is withdrawn (kept in the audit trail).
    pub reason: String,
}

/// Reverts a loaded year to provisional (administrators): its deadlines are
/// counted from the lunar-table estimate again and marked provisional.
#[utoipa::path(tag = "calendar", request_body = RevertRequest,
    responses((status = 200, body = YearsResponse), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
#[post("/api/v1/admin/calendar/{year}/revert")]
async fn revert_year(
    state: web::Data<AppState>,
    admin: Guarded<AdminOnly>,
    year: web::Path<i32>,
    body: web::Json<RevertRequest>,
) -> ApiResult<web::Json<YearsResponse>> {
    let (loaded, n, provisional_deadlines) =
        crate::services::calendar::revert_year(&state, admin.0.id, year.into_inner(), &body.reason).await?;
    Ok(web::Json(YearsResponse { loaded, recomputed_deadlines: Some(n), provisional_deadlines }))
}

/// Every calendar change (loaded, corrected, reverted), newest first.
#[utoipa::path(tag = "calendar", responses((status = 200, body = Vec<crate::services::calendar::CalendarEvent>)),
    security(("bearer" = [])))]
#[get("/api/v1/admin/calendar/events")]
async fn calendar_events(
    state: web::Data<AppState>,
    _admin: Guarded<AdminOnly>,
) -> ApiResult<web::Json<Vec<crate::services::calendar::CalendarEvent>>> {
    Ok(web::Json(crate::services::calendar::events(&state.db).await?))
}

/// Loads or corrects a year's arrangement (administrators); running
/// provisional deadlines are recomputed with it at once.
#[utoipa::path(tag = "calendar", request_body(content = Object, description = "{year, source, days:[{date, name, off}]}"),
    responses((status = 200, body = YearsResponse), (status = 422, body = ErrorBody)), security(("bearer" = [])))]
#[put("/api/v1/admin/calendar/{year}")]
async fn put_year(
    state: web::Data<AppState>,
    admin: Guarded<AdminOnly>,
    year: web::Path<i32>,
    body: web::Json<YearFile>,
) -> ApiResult<web::Json<YearsResponse>> {
    let (loaded, n, provisional_deadlines) =
        crate::services::calendar::put_year(&state, admin.0.id, year.into_inner(), body.into_inner()).await?;
    Ok(web::Json(YearsResponse { loaded, recomputed_deadlines: Some(n), provisional_deadlines }))
}
