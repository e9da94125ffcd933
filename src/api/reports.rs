use actix_web::{get, web};
use chrono::{Duration, NaiveDate};
use serde::Deserialize;
use utoipa::IntoParams;

use crate::api::guard::{Guarded, Staff};
use crate::clock::end_of_local_day;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::services::reports::{self, Overview};
use crate::state::AppState;

pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(overview);
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
    let today = state.clock.today();
    let in_range = |d: NaiveDate| (2000..=2100).contains(&chrono::Datelike::year(&d));
    if q.from.is_some_and(|d| !in_range(d)) || q.to.is_some_and(|d| !in_range(d)) {
        return Err(ApiError::field("from", "out_of_range", "统计日期须在 2000 年至 2100 年之间"));
    }
    let to = q.to.unwrap_or(today);
    let from = q.from.unwrap_or(to - Duration::days(365));
    if from > to {
        return Err(ApiError::field("from", "invalid_period", "统计起始日期不能晚于截止日期"));
    }
    let start = end_of_local_day(from - Duration::days(1));
    let end = end_of_local_day(to);
    Ok(web::Json(reports::overview(&state.db, state.clock.now(), start, end).await?))
}
