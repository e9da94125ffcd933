use actix_web::{HttpResponse, get, post, web};
use serde::Deserialize;
use utoipa::ToSchema;

use crate::api::client::ClientAddr;
use crate::api::guard::Caller;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::services::accounts::{self, TokenPair};
use crate::services::admin::UserView;
use crate::services::admin::users::user_view;
use crate::state::AppState;

pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(login).service(refresh).service(logout).service(me);
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    pub username: String,
    pub password: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefreshRequest {
    pub refresh_token: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LogoutRequest {
    pub refresh_token: Option<String>,
    /// Revoke every refresh token of the caller (log out everywhere).
    #[serde(default)]
    pub all: bool,
}

/// Logs in with a username and password.
#[utoipa::path(tag = "auth", request_body = LoginRequest, responses(
    (status = 200, body = TokenPair),
    (status = 401, description = "用户名或密码错误", body = ErrorBody),
    (status = 423, description = "该账号在当前网络地址已锁定（Retry-After 给出秒数）", body = ErrorBody),
    (status = 429, description = "该账号登录失败次数过多，须等待后再试（Retry-After 给出秒数）", body = ErrorBody)))]
#[post("/api/v1/auth/login")]
async fn login(
    state: web::Data<AppState>,
    client: ClientAddr,
    body: web::Json<LoginRequest>,
) -> ApiResult<web::Json<TokenPair>> {
    let body = body.into_inner();
    if body.username.trim().is_empty() || body.password.is_empty() {
        return Err(ApiError::field("username", "required", "请输入用户名和密码"));
    }
    Ok(web::Json(accounts::login(&state, body.username.trim(), body.password, &client.0).await?))
}

/// Exchanges a refresh token for a new token pair (the old refresh token is revoked).
#[utoipa::path(tag = "auth", request_body = RefreshRequest, responses(
    (status = 200, body = TokenPair), (status = 401, body = ErrorBody)))]
#[post("/api/v1/auth/refresh")]
async fn refresh(state: web::Data<AppState>, body: web::Json<RefreshRequest>) -> ApiResult<web::Json<TokenPair>> {
    Ok(web::Json(accounts::refresh(&state, body.refresh_token.trim()).await?))
}

/// Revokes a refresh token (or all of the caller's).
#[utoipa::path(tag = "auth", request_body = LogoutRequest, responses((status = 204), (status = 401, body = ErrorBody)),
    security(("bearer" = [])))]
#[post("/api/v1/auth/logout")]
async fn logout(state: web::Data<AppState>, user: Caller, body: web::Json<LogoutRequest>) -> ApiResult<HttpResponse> {
    accounts::logout(&state.db, user.id, body.refresh_token.as_deref(), body.all, state.clock.now()).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// The logged-in user.
#[utoipa::path(tag = "auth", responses((status = 200, body = UserView), (status = 401, body = ErrorBody)), security(("bearer" = [])))]
#[get("/api/v1/me")]
async fn me(state: web::Data<AppState>, user: Caller) -> ApiResult<web::Json<UserView>> {
    Ok(web::Json(user_view(&state.db, user.id, state.clock.now()).await?))
}
