//! The message centre (站内消息): every notification is also a message in
//! each recipient user's list — users without an e-mail address, and users
//! who turned mail off, included. Unread until opened.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect,
    Set,
};
use serde::Serialize;
use utoipa::ToSchema;

use crate::auth::AuthUser;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use entity::{message, user};

/// Inserts message rows (from [`rows`]); a user's copy of a dedupe key
/// already there is kept, not doubled.
pub async fn insert<C: ConnectionTrait>(db: &C, rows: Vec<message::ActiveModel>) -> anyhow::Result<()> {
    if rows.is_empty() {
        return Ok(());
    }
    message::Entity::insert_many(rows)
        .on_conflict_do_nothing_on([message::Column::DedupeKey, message::Column::UserId])
        .exec(db)
        .await?;
    Ok(())
}

/// The message rows of one notification, one per addressed user.
#[allow(clippy::too_many_arguments)]
pub fn rows(
    users: &[(i64, Option<String>)],
    case_id: Option<i64>,
    template: &str,
    subject: &str,
    body: &str,
    link: Option<String>,
    dedupe_key: Option<&str>,
    now: DateTime<Utc>,
) -> Vec<message::ActiveModel> {
    users
        .iter()
        .map(|(id, _)| message::ActiveModel {
            user_id: Set(*id),
            case_id: Set(case_id),
            template: Set(template.to_string()),
            subject: Set(subject.to_string()),
            body: Set(body.trim().to_string()),
            link: Set(link.clone()),
            dedupe_key: Set(dedupe_key.map(str::to_string)),
            created_at: Set(now),
            read_at: Set(None),
            ..Default::default()
        })
        .collect()
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MessageView {
    pub id: i64,
    pub case_id: Option<i64>,
    pub template: String,
    pub subject: String,
    pub body: String,
    /// Where the message leads (the case's page).
    pub link: Option<String>,
    pub created_at: DateTime<Utc>,
    pub read_at: Option<DateTime<Utc>>,
}

impl From<message::Model> for MessageView {
    fn from(m: message::Model) -> Self {
        MessageView {
            id: m.id,
            case_id: m.case_id,
            template: m.template,
            subject: m.subject,
            body: m.body,
            link: m.link,
            created_at: m.created_at,
            read_at: m.read_at,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MessagePage {
    pub items: Vec<MessageView>,
    pub total: u64,
    pub unread: u64,
    pub page: u64,
    pub per_page: u64,
}

/// The caller's unread messages.
pub async fn unread_count<C: ConnectionTrait>(db: &C, user_id: i64) -> ApiResult<u64> {
    Ok(message::Entity::find()
        .filter(message::Column::UserId.eq(user_id))
        .filter(message::Column::ReadAt.is_null())
        .count(db)
        .await?)
}

/// The caller's messages, newest first (only unread ones when asked).
pub async fn list(
    state: &AppState,
    user: &AuthUser,
    unread_only: bool,
    page: u64,
    per_page: u64,
) -> ApiResult<MessagePage> {
    let mut q = message::Entity::find().filter(message::Column::UserId.eq(user.id));
    if unread_only {
        q = q.filter(message::Column::ReadAt.is_null());
    }
    let total = q.clone().count(&state.read).await?;
    let items = q
        .order_by_desc(message::Column::Id)
        .offset((page - 1) * per_page)
        .limit(per_page)
        .all(&state.read)
        .await?
        .into_iter()
        .map(MessageView::from)
        .collect();
    Ok(MessagePage { items, total, unread: unread_count(&state.read, user.id).await?, page, per_page })
}

/// Marks one of the caller's messages read (404 for anyone else's).
pub async fn mark_read(state: &AppState, user: &AuthUser, id: i64) -> ApiResult<MessageView> {
    let m = message::Entity::find_by_id(id)
        .filter(message::Column::UserId.eq(user.id))
        .one(&state.db)
        .await?
        .ok_or_else(|| ApiError::not_found("消息"))?;
    if m.read_at.is_some() {
        return Ok(m.into());
    }
    let mut am: message::ActiveModel = m.into();
    am.read_at = Set(Some(state.clock.now()));
    Ok(am.update(&state.db).await?.into())
}

/// Marks all the caller's messages read; returns how many were unread.
pub async fn mark_all_read(state: &AppState, user: &AuthUser) -> ApiResult<u64> {
    let res = message::Entity::update_many()
        .col_expr(message::Column::ReadAt, Expr::value(state.clock.now()))
        .filter(message::Column::UserId.eq(user.id))
        .filter(message::Column::ReadAt.is_null())
        .exec(&state.db)
        .await?;
    Ok(res.rows_affected)
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Preferences {
    /// Notifications also go by mail (to the account's address, if any).
    pub mail_enabled: bool,
    pub email: Option<String>,
}

/// The caller's notification preferences.
pub async fn preferences(state: &AppState, user: &AuthUser) -> ApiResult<Preferences> {
    let u = user::Entity::find_by_id(user.id).one(&state.db).await?.ok_or_else(|| ApiError::not_found("用户"))?;
    Ok(Preferences { mail_enabled: u.mail_enabled, email: u.email })
}

/// Turns the caller's mail on or off (the message list is always kept).
pub async fn set_mail_enabled(state: &AppState, user: &AuthUser, on: bool) -> ApiResult<Preferences> {
    user::Entity::update_many()
        .col_expr(user::Column::MailEnabled, Expr::value(on))
        .col_expr(user::Column::UpdatedAt, Expr::value(state.clock.now()))
        .filter(user::Column::Id.eq(user.id))
        .exec(&state.db)
        .await?;
    preferences(state, user).await
}
