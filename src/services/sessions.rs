//! Sessions of the web pages. Signing in checks the credentials under the
//! same lockout as the API and stores a session keyed by the SHA-256 of a
//! random token (the cookie holds the token). A session ends on logout (its
//! row is deleted) or after `session_idle_minutes` without a request.

use chrono::{DateTime, Duration, Utc};
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, Set, sea_query::Expr};

use crate::auth::{AuthUser, random_token, token_hash};
use crate::error::ApiResult;
use crate::services::accounts;
use crate::state::AppState;
use entity::web_session;

/// A signed-in page session.
#[derive(Debug, Clone)]
pub struct Session {
    pub id: i64,
    pub user: AuthUser,
    /// Every state-changing form of the session carries it.
    pub csrf_token: String,
    /// Unread messages (the bell on every page).
    pub unread: u64,
}

/// Signs in with a username and password from `client` (the address the
/// sign-in throttle counts); returns the cookie's token.
pub async fn sign_in(
    state: &AppState,
    username: &str,
    password: String,
    client: &str,
) -> ApiResult<(String, AuthUser)> {
    let u = accounts::check_credentials(state, username, password, client).await?;
    let user = accounts::caller(&state.db, u.id).await?.ok_or_else(|| crate::error::ApiError::Unauthorized {
        code: "account_disabled",
        message: "账号已停用".into(),
    })?;
    let token = random_token();
    let now = state.clock.now();
    web_session::ActiveModel {
        token_hash: Set(token_hash(&token)),
        user_id: Set(u.id),
        csrf_token: Set(random_token()),
        created_at: Set(now),
        last_seen_at: Set(now),
        ..Default::default()
    }
    .insert(&state.db)
    .await?;
    tracing::info!(user = u.id, "page session started");
    Ok((token, user))
}

fn idle_limit(state: &AppState) -> Duration {
    Duration::minutes(state.settings.session_idle_minutes.max(1))
}

/// The live session for a cookie token: None when unknown, idle too long
/// (the row is then removed) or its account is gone or inactive. A request
/// counts as activity.
pub async fn resume(state: &AppState, token: &str) -> ApiResult<Option<Session>> {
    let now = state.clock.now();
    let Some(row) =
        web_session::Entity::find().filter(web_session::Column::TokenHash.eq(token_hash(token))).one(&state.db).await?
    else {
        return Ok(None);
    };
    if expired(state, row.last_seen_at, now) {
        web_session::Entity::delete_by_id(row.id).exec(&state.db).await?;
        return Ok(None);
    }
    let Some(user) = accounts::caller(&state.db, row.user_id).await? else { return Ok(None) };
    // Activity is recorded at most once a minute.
    if now - row.last_seen_at > Duration::seconds(60) {
        web_session::Entity::update_many()
            .col_expr(web_session::Column::LastSeenAt, Expr::value(now))
            .filter(web_session::Column::Id.eq(row.id))
            .exec(&state.db)
            .await?;
    }
    let unread = crate::services::messages::unread_count(&state.db, user.id).await?;
    Ok(Some(Session { id: row.id, user, csrf_token: row.csrf_token, unread }))
}

fn expired(state: &AppState, last_seen: DateTime<Utc>, now: DateTime<Utc>) -> bool {
    now - last_seen > idle_limit(state)
}

/// Ends a session on the server.
pub async fn end(state: &AppState, token: &str) -> ApiResult<()> {
    web_session::Entity::delete_many()
        .filter(web_session::Column::TokenHash.eq(token_hash(token)))
        .exec(&state.db)
        .await?;
    Ok(())
}
