use actix_web::{get, web};
use chrono::NaiveDate;
use serde::Deserialize;
use utoipa::IntoParams;

use crate::api::guard::{Guarded, Staff};
use crate::error::{ApiResult, ErrorBody};
use crate::services::reports::{self, Dashboard, Overview};
use crate::state::AppState;

pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(overview).service(dashboard).service(statistics);
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct PeriodQuery {
    /// First day of the period (default: 365 days ago).
    pub from: Option<NaiveDate>,
    /// Last day of the period (default: today).
    pub to: Option<NaiveDate>,
}

/// Monitoring overview for the credit office: open and overdue cases by
/// department, and how many cases closed within their deadline.
#[utoipa::path(tag = "reports", params(PeriodQuery), responses((status = 200, body = Overview), (status = 403, body = ErrorBody)),
    security(("bearer" = [])))]
#[get("/api/v1/reports/overview")]
async fn overview(
    state: web::Data<AppState>,
    _staff: Guarded<Staff>,
    q: web::Query<PeriodQuery>,
) -> ApiResult<web::Json<Overview>> {
    let (_, _, start, end) = reports::period(state.clock.today(), q.from, q.to)?;
    Ok(web::Json(reports::overview(&state, start, end).await?))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct StatisticsQuery {
    /// `xlsx` or `csv`
    pub format: String,
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
}

/// The statistics workbook for a period: by department and kind, open and
/// overdue cases, cases decided and within the legal deadline, average and
/// longest handling time in working days.
#[utoipa::path(tag = "reports", params(StatisticsQuery), responses(
    (status = 200, description = "The workbook", content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
    (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)), security(("bearer" = [])))]
#[get("/api/v1/reports/statistics")]
async fn statistics(
    state: web::Data<AppState>,
    _staff: Guarded<Staff>,
    q: web::Query<StatisticsQuery>,
) -> ApiResult<actix_web::HttpResponse> {
    let format = crate::services::exports::ExportFormat::parse(&q.format)?;
    let (_, _, start, end) = reports::period(state.clock.today(), q.from, q.to)?;
    let e = crate::services::exports::statistics(&state, start, end, format).await?;
    Ok(crate::api::export_response(e))
}

/// The monitoring dashboard (the credit office's home page as data): open,
/// due within one working day and overdue cases by department and kind, the
/// ten longest-overdue cases, timeliness for the period and filings and
/// closures in each of the last eight weeks.
#[utoipa::path(tag = "reports", params(PeriodQuery), responses((status = 200, body = Dashboard), (status = 403, body = ErrorBody)),
    security(("bearer" = [])))]
#[get("/api/v1/reports/dashboard")]
async fn dashboard(
    state: web::Data<AppState>,
    _staff: Guarded<Staff>,
    q: web::Query<PeriodQuery>,
) -> ApiResult<web::Json<Dashboard>> {
    Ok(web::Json(reports::dashboard(&state, q.from, q.to).await?))
}
