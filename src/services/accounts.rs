//! Login (under the sign-in throttle), refresh-token rotation, logout.

use chrono::{DateTime, Duration, Utc};
use sea_orm::{ActiveModelTrait, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, Set, TransactionTrait};
use serde::Serialize;
use utoipa::ToSchema;

use crate::auth::{AuthUser, Claims, random_token, token_hash, verify_password};
use crate::error::{ApiError, ApiResult};
use crate::services::login_throttle::{self, Admission};
use crate::state::AppState;
use crate::workflow::Role;
use entity::{refresh_token, user};

#[derive(Debug, Serialize, ToSchema)]
pub struct TokenPair {
    pub access_token: String,
    pub refresh_token: String,
    pub token_type: &'static str,
    /// Seconds until the access token expires.
    pub expires_in: i64,
}

fn bad_credentials() -> ApiError {
    ApiError::Unauthorized { code: "invalid_credentials", message: "用户名或密码错误".into() }
}

/// A real hash of a throwaway password, so that unknown usernames cost as
/// much time as wrong passwords (no user enumeration by timing).
async fn dummy_hash() -> String {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    if let Some(h) = DUMMY.get() {
        return h.clone();
    }
    let h = crate::auth::hash_password(random_token()).await.unwrap_or_default();
    DUMMY.get_or_init(|| h).clone()
}

/// The caller with this account id, read fresh (a deactivated account or a
/// changed department takes effect at once); None when it is gone or inactive.
pub async fn caller<C: sea_orm::ConnectionTrait>(db: &C, user_id: i64) -> ApiResult<Option<AuthUser>> {
    let Some(u) = user::Entity::find_by_id(user_id).one(db).await?.filter(|u| u.active) else { return Ok(None) };
    let role = Role::parse(&u.role).ok_or_else(|| ApiError::Internal(anyhow::anyhow!("bad role in db")))?;
    Ok(Some(AuthUser {
        id: u.id,
        username: u.username,
        display_name: u.display_name,
        role,
        department_id: u.department_id,
        subject_id: u.subject_id,
    }))
}

/// Signs in through the API: a token pair. `client` is the caller's address
/// as the sign-in throttle keys it (`domain::login_throttle::client_key`).
#[tracing::instrument(skip(state, password))]
pub async fn login(state: &AppState, username: &str, password: String, client: &str) -> ApiResult<TokenPair> {
    let u = check_credentials(state, username, password, client).await?;
    issue_tokens(state, &state.db, &u).await
}

/// The account for a username and password, under the sign-in throttle
/// shared by every way of signing in (API tokens and page sessions; the rule
/// is `domain::login_throttle`): a locked address or a delayed attempt is
/// refused before the password is looked at, a wrong password counts for
/// the address and the account, a correct one forgets the address.
pub async fn check_credentials(
    state: &AppState,
    username: &str,
    password: String,
    client: &str,
) -> ApiResult<user::Model> {
    let rule = state.settings.login_rule().map_err(|e| ApiError::Internal(anyhow::anyhow!(e)))?;
    let found = user::Entity::find().filter(user::Column::Username.eq(username)).one(&state.db).await?;
    let Some(u) = found else {
        verify_password(password, dummy_hash().await).await;
        return Err(bad_credentials());
    };
    let now = state.clock.now();
    match login_throttle::admit(&state.db, &rule, u.id, client, now).await? {
        Admission::Open => {}
        Admission::Locked(until) => return Err(locked(until, now)),
        Admission::Throttled(until) => return Err(throttled(until, now)),
    }
    if !verify_password(password, u.password_hash.clone()).await {
        let now = state.clock.now();
        return Err(match login_throttle::failed(&state.db, &rule, u.id, client, now).await? {
            Some(until) => locked(until, now),
            None => bad_credentials(),
        });
    }
    if !u.active {
        return Err(ApiError::Unauthorized { code: "account_disabled", message: "账号已停用".into() });
    }
    let now = state.clock.now();
    // A lock set by a concurrent failure from the same address stands.
    if let Some(until) = login_throttle::succeeded(&state.db, u.id, client, now).await? {
        return Err(locked(until, now));
    }
    Ok(u)
}

/// Whole seconds from `now` until `until`, at least 1.
fn seconds_until(until: DateTime<Utc>, now: DateTime<Utc>) -> u64 {
    let ms = (until - now).num_milliseconds().max(0) as u64;
    ms.div_ceil(1000).max(1)
}

/// 423: this address is locked for the account.
fn locked(until: DateTime<Utc>, now: DateTime<Utc>) -> ApiError {
    let local = until.with_timezone(&crate::clock::shanghai());
    ApiError::Locked {
        message: format!(
            "登录失败次数过多，该账号在您当前的网络地址已锁定至 {}，请届时再试，或联系管理员解锁",
            local.format("%Y-%m-%d %H:%M")
        ),
        retry_after_secs: seconds_until(until, now),
    }
}

/// 429: the account makes this address wait.
fn throttled(until: DateTime<Utc>, now: DateTime<Utc>) -> ApiError {
    let secs = seconds_until(until, now);
    ApiError::TooManyRequests {
        code: "login_throttled",
        message: format!("该账号近期登录失败次数过多，请 {secs} 秒后再试"),
        retry_after_secs: secs,
    }
}

async fn issue_tokens<C: sea_orm::ConnectionTrait>(state: &AppState, db: &C, u: &user::Model) -> ApiResult<TokenPair> {
    let now = state.clock.now();
    let ttl = state.settings.access_token_minutes * 60;
    let access = state.jwt.issue(&Claims {
        sub: u.id,
        role: u.role.clone(),
        iat: now.timestamp(),
        exp: now.timestamp() + ttl,
    })?;
    let refresh = random_token();
    refresh_token::ActiveModel {
        user_id: Set(u.id),
        token_hash: Set(token_hash(&refresh)),
        expires_at: Set(now + Duration::days(state.settings.refresh_token_days)),
        revoked_at: Set(None),
        created_at: Set(now),
        ..Default::default()
    }
    .insert(db)
    .await?;
    Ok(TokenPair { access_token: access, refresh_token: refresh, token_type: "Bearer", expires_in: ttl })
}

fn refresh_invalid() -> ApiError {
    ApiError::Unauthorized {
        code: "refresh_token_invalid", message: "刷新凭证无效或已过期，请重新登录".into()
    }
}

/// Exchanges a refresh token for a new pair; the old token is revoked. A
/// revoked token presented again revokes every token of that user (theft).
#[tracing::instrument(skip_all)]
pub async fn refresh(state: &AppState, token: &str) -> ApiResult<TokenPair> {
    let now = state.clock.now();
    let txn = state.db.begin().await?;
    let row = refresh_token::Entity::find()
        .filter(refresh_token::Column::TokenHash.eq(token_hash(token)))
        .one(&txn)
        .await?
        .ok_or_else(refresh_invalid)?;
    if row.revoked_at.is_some() {
        revoke_all(&txn, row.user_id, now).await?;
        txn.commit().await?;
        return Err(refresh_invalid());
    }
    if row.expires_at <= now {
        return Err(refresh_invalid());
    }
    // Conditional revoke: of two concurrent refreshes with one token, one wins.
    let res = refresh_token::Entity::update_many()
        .col_expr(refresh_token::Column::RevokedAt, sea_orm::sea_query::Expr::value(now))
        .filter(refresh_token::Column::Id.eq(row.id))
        .filter(refresh_token::Column::RevokedAt.is_null())
        .exec(&txn)
        .await?;
    if res.rows_affected != 1 {
        return Err(refresh_invalid());
    }
    let u = user::Entity::find_by_id(row.user_id).one(&txn).await?.filter(|u| u.active).ok_or_else(refresh_invalid)?;
    let pair = issue_tokens(state, &txn, &u).await?;
    txn.commit().await?;
    Ok(pair)
}

async fn revoke_all<C: sea_orm::ConnectionTrait>(
    db: &C,
    user_id: i64,
    now: chrono::DateTime<chrono::Utc>,
) -> ApiResult<()> {
    refresh_token::Entity::update_many()
        .col_expr(refresh_token::Column::RevokedAt, sea_orm::sea_query::Expr::value(now))
        .filter(refresh_token::Column::UserId.eq(user_id))
        .filter(refresh_token::Column::RevokedAt.is_null())
        .exec(db)
        .await?;
    Ok(())
}

/// Revokes the given refresh token (if it belongs to the caller), or all of
/// the caller's tokens when `all` is set.
pub async fn logout(
    db: &DatabaseConnection,
    user_id: i64,
    token: Option<&str>,
    all: bool,
    now: chrono::DateTime<chrono::Utc>,
) -> ApiResult<()> {
    if all {
        return revoke_all(db, user_id, now).await;
    }
    if let Some(t) = token {
        refresh_token::Entity::update_many()
            .col_expr(refresh_token::Column::RevokedAt, sea_orm::sea_query::Expr::value(now))
            .filter(refresh_token::Column::TokenHash.eq(token_hash(t)))
            .filter(refresh_token::Column::UserId.eq(user_id))
            .filter(refresh_token::Column::RevokedAt.is_null())
            .exec(db)
            .await?;
    }
    Ok(())
}
