//! Sync deliveries to downstream platforms: administrators manage the
//! subscribers; staff see a record's or a case's deliveries; the credit
//! office lists failed and dead ones and sends them again.

use actix_web::{HttpResponse, get, patch, post, web};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::api::guard::{AdminOnly, Guarded, RecordKeeper, Staff};
use crate::error::{ApiResult, ErrorBody};
use crate::services::admin::subscribers::{self as subs, SubscriberInput, SubscriberView};
use crate::services::deliveries::{self, DeliveryView};
use crate::state::AppState;

pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(list_subscribers)
        .service(create_subscriber)
        .service(update_subscriber)
        .service(record_deliveries)
        .service(case_deliveries)
        .service(list_deliveries)
        .service(resend_all)
        .service(resend_one);
}

/// Lists the subscribers (secrets are never returned).
#[utoipa::path(tag = "admin", responses((status = 200, body = Vec<SubscriberView>), (status = 403, body = ErrorBody)), security(("bearer" = [])))]
#[get("/api/v1/admin/subscribers")]
async fn list_subscribers(
    state: web::Data<AppState>,
    _a: Guarded<AdminOnly>,
) -> ApiResult<web::Json<Vec<SubscriberView>>> {
    Ok(web::Json(subs::list_subscribers(&state).await?))
}

/// Adds a subscriber: `http` (URL and signing secret) or `folder` (absolute path).
#[utoipa::path(tag = "admin", request_body = SubscriberInput, responses((status = 201, body = SubscriberView), (status = 422, body = ErrorBody), (status = 409, body = ErrorBody)), security(("bearer" = [])))]
#[post("/api/v1/admin/subscribers")]
async fn create_subscriber(
    state: web::Data<AppState>,
    admin: Guarded<AdminOnly>,
    body: web::Json<SubscriberInput>,
) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Created().json(subs::create_subscriber(&state, admin.id, body.into_inner()).await?))
}

/// Changes a subscriber; `{"active": false}` disables it.
#[utoipa::path(tag = "admin", request_body = SubscriberInput, responses((status = 200, body = SubscriberView), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)), security(("bearer" = [])))]
#[patch("/api/v1/admin/subscribers/{id}")]
async fn update_subscriber(
    state: web::Data<AppState>,
    admin: Guarded<AdminOnly>,
    id: web::Path<i64>,
    body: web::Json<SubscriberInput>,
) -> ApiResult<web::Json<SubscriberView>> {
    Ok(web::Json(subs::update_subscriber(&state, admin.id, id.into_inner(), body.into_inner()).await?))
}

/// A record's sync deliveries, per message and subscriber.
#[utoipa::path(tag = "records", responses((status = 200, body = Vec<DeliveryView>), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
#[get("/api/v1/records/{id}/deliveries")]
async fn record_deliveries(
    state: web::Data<AppState>,
    user: Guarded<RecordKeeper>,
    id: web::Path<i64>,
) -> ApiResult<web::Json<Vec<DeliveryView>>> {
    Ok(web::Json(deliveries::for_record(&state, &user, id.into_inner()).await?))
}

/// A case's sync deliveries, per message and subscriber.
#[utoipa::path(tag = "cases", responses((status = 200, body = Vec<DeliveryView>), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
#[get("/api/v1/cases/{id}/deliveries")]
async fn case_deliveries(
    state: web::Data<AppState>,
    user: Guarded<RecordKeeper>,
    id: web::Path<i64>,
) -> ApiResult<web::Json<Vec<DeliveryView>>> {
    Ok(web::Json(deliveries::for_case(&state, &user, id.into_inner()).await?))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct DeliveryQuery {
    /// `pending`, `sending`, `failed`, `delivered` or `dead`; default failed and dead.
    pub status: Option<String>,
}

/// Deliveries by status (default: failed and dead), newest first.
#[utoipa::path(tag = "deliveries", params(DeliveryQuery), responses((status = 200, body = Vec<DeliveryView>), (status = 422, body = ErrorBody)), security(("bearer" = [])))]
#[get("/api/v1/deliveries")]
async fn list_deliveries(
    state: web::Data<AppState>,
    _s: Guarded<Staff>,
    q: web::Query<DeliveryQuery>,
) -> ApiResult<web::Json<Vec<DeliveryView>>> {
    Ok(web::Json(deliveries::list(&state, q.status.as_deref()).await?))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Resent {
    /// Deliveries queued again.
    pub resent: u64,
}

/// Sends every failed and dead delivery again (at the next tick).
#[utoipa::path(tag = "deliveries", responses((status = 200, body = Resent)), security(("bearer" = [])))]
#[post("/api/v1/deliveries/resend")]
async fn resend_all(state: web::Data<AppState>, staff: Guarded<Staff>) -> ApiResult<web::Json<Resent>> {
    Ok(web::Json(Resent { resent: deliveries::resend_all(&state, staff.id).await? }))
}

/// Sends one failed or dead delivery again (at the next tick).
#[utoipa::path(tag = "deliveries", responses((status = 200, body = DeliveryView), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)), security(("bearer" = [])))]
#[post("/api/v1/deliveries/{id}/resend")]
async fn resend_one(
    state: web::Data<AppState>,
    staff: Guarded<Staff>,
    id: web::Path<i64>,
) -> ApiResult<web::Json<DeliveryView>> {
    Ok(web::Json(deliveries::resend(&state, staff.id, id.into_inner()).await?))
}
