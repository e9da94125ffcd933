//! The caller's message list (站内消息) and notification preferences.

use actix_web::{get, patch, post, web};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::api::PageQuery;
use crate::api::guard::Caller;
use crate::error::{ApiResult, ErrorBody};
use crate::services::messages::{self, MessagePage, MessageView, Preferences};
use crate::state::AppState;

pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(list)
        .service(unread)
        .service(read_all)
        .service(read_one)
        .service(get_preferences)
        .service(set_preferences);
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct MessageQuery {
    /// Only unread messages.
    pub unread: Option<bool>,
    pub page: Option<u64>,
    pub per_page: Option<u64>,
}

/// The caller's messages, newest first, with the unread count.
#[utoipa::path(tag = "messages", params(MessageQuery), responses((status = 200, body = MessagePage), (status = 401, body = ErrorBody), (status = 422, body = ErrorBody)), security(("bearer" = [])))]
#[get("/api/v1/me/messages")]
async fn list(
    state: web::Data<AppState>,
    user: Caller,
    q: web::Query<MessageQuery>,
) -> ApiResult<web::Json<MessagePage>> {
    let (page, per_page) = PageQuery::resolve(q.page, q.per_page)?;
    Ok(web::Json(messages::list(&state, &user, q.unread.unwrap_or(false), page, per_page).await?))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct UnreadCount {
    pub unread: u64,
}

/// How many of the caller's messages are unread (the bell).
#[utoipa::path(tag = "messages", responses((status = 200, body = UnreadCount), (status = 401, body = ErrorBody)), security(("bearer" = [])))]
#[get("/api/v1/me/messages/unread")]
async fn unread(state: web::Data<AppState>, user: Caller) -> ApiResult<web::Json<UnreadCount>> {
    Ok(web::Json(UnreadCount { unread: messages::unread_count(&state.read, user.id).await? }))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Marked {
    pub marked: u64,
}

/// Marks all the caller's messages read.
#[utoipa::path(tag = "messages", responses((status = 200, body = Marked), (status = 401, body = ErrorBody)), security(("bearer" = [])))]
#[post("/api/v1/me/messages/read")]
async fn read_all(state: web::Data<AppState>, user: Caller) -> ApiResult<web::Json<Marked>> {
    Ok(web::Json(Marked { marked: messages::mark_all_read(&state, &user).await? }))
}

/// Marks one of the caller's messages read.
#[utoipa::path(tag = "messages", responses((status = 200, body = MessageView), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
#[post("/api/v1/me/messages/{id}/read")]
async fn read_one(state: web::Data<AppState>, user: Caller, id: web::Path<i64>) -> ApiResult<web::Json<MessageView>> {
    Ok(web::Json(messages::mark_read(&state, &user, id.into_inner()).await?))
}

/// The caller's notification preferences.
#[utoipa::path(tag = "messages", responses((status = 200, body = Preferences), (status = 401, body = ErrorBody)), security(("bearer" = [])))]
#[get("/api/v1/me/preferences")]
async fn get_preferences(state: web::Data<AppState>, user: Caller) -> ApiResult<web::Json<Preferences>> {
    Ok(web::Json(messages::preferences(&state, &user).await?))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PreferencesInput {
    /// Notifications also by mail (the message list is always kept).
    pub mail_enabled: bool,
}

/// Turns the caller's notification mail on or off.
#[utoipa::path(tag = "messages", request_body = PreferencesInput, responses((status = 200, body = Preferences), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)), security(("bearer" = [])))]
#[patch("/api/v1/me/preferences")]
async fn set_preferences(
    state: web::Data<AppState>,
    user: Caller,
    body: web::Json<PreferencesInput>,
) -> ApiResult<web::Json<Preferences>> {
    Ok(web::Json(messages::set_mail_enabled(&state, &user, body.mail_enabled).await?))
}
