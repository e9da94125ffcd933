//! Subscribers of the sync messages (downstream platforms, or a folder for
//! offline hand-over), managed by an administrator. The secret is written,
//! never read back: views say only whether one is set.

use sea_orm::{ActiveModelTrait, EntityTrait, QueryOrder, Set, TransactionTrait};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::unique_or;
use crate::domain::delivery::{self, MIN_SECRET_LEN, SubscriberKind};
use crate::error::{ApiError, ApiResult, FieldError};
use crate::state::AppState;
use entity::subscriber;

#[derive(Debug, Serialize, ToSchema)]
pub struct SubscriberView {
    pub id: i64,
    pub name: String,
    /// `http` or `folder`
    pub kind: String,
    /// The URL or the folder path.
    pub target: String,
    /// Whether a signing secret is set (the secret itself is never returned).
    pub secret_set: bool,
    /// Sync actions wanted, or `["*"]` for all.
    pub events: Vec<String>,
    pub active: bool,
    pub created_at: chrono::DateTime<chrono::Utc>,
    pub updated_at: chrono::DateTime<chrono::Utc>,
}

/// A subscriber's event filters as stored (JSON array).
pub fn events_of(s: &subscriber::Model) -> Vec<String> {
    serde_json::from_str(&s.events).unwrap_or_default()
}

impl From<subscriber::Model> for SubscriberView {
    fn from(s: subscriber::Model) -> Self {
        SubscriberView {
            id: s.id,
            events: events_of(&s),
            name: s.name,
            kind: s.kind,
            target: s.target,
            secret_set: !s.secret.is_empty(),
            active: s.active,
            created_at: s.created_at,
            updated_at: s.updated_at,
        }
    }
}

/// A new subscriber, or the fields to change (all optional on update).
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SubscriberInput {
    pub name: Option<String>,
    /// `http` or `folder`
    pub kind: Option<String>,
    /// The URL (`http`) or the absolute folder path (`folder`).
    pub target: Option<String>,
    /// The HMAC key (`http`), at least 16 characters.
    pub secret: Option<String>,
    /// Sync actions such as `repair:completed`, or `["*"]` (the default) for all.
    pub events: Option<Vec<String>>,
    pub active: Option<bool>,
}

/// The checked values of a subscriber.
struct Checked {
    name: String,
    kind: SubscriberKind,
    target: String,
    secret: String,
    events: Vec<String>,
}

/// Checks a subscriber's fields together (the target and the secret depend
/// on the kind); every problem is reported at once.
fn check(name: &str, kind: &str, target: &str, secret: &str, events: &[String]) -> Result<Checked, ApiError> {
    let mut errs = Vec::new();
    let name = name.trim();
    if name.is_empty() {
        errs.push(FieldError::new("name", "required", "订阅方名称不能为空"));
    } else if name.chars().count() > 100 {
        errs.push(FieldError::new("name", "too_long", "订阅方名称不能超过100个字符"));
    }
    let kind_parsed = SubscriberKind::parse(kind);
    if kind_parsed.is_none() {
        errs.push(FieldError::new("kind", "invalid_kind", "订阅方式只能是 http（推送）或 folder（文件夹）"));
    }
    let target = target.trim();
    match kind_parsed {
        Some(SubscriberKind::Http) => {
            if !delivery::valid_url(target) {
                errs.push(FieldError::new(
                    "target",
                    "invalid_url",
                    "推送地址须为以 http:// 或 https:// 开头的有效网址",
                ));
            }
            if secret.chars().count() < MIN_SECRET_LEN {
                errs.push(FieldError::new(
                    "secret",
                    "secret_too_short",
                    format!("签名密钥不能少于{MIN_SECRET_LEN}个字符"),
                ));
            }
        }
        Some(SubscriberKind::Folder) if !std::path::Path::new(target).is_absolute() => {
            errs.push(FieldError::new("target", "invalid_path", "文件夹须为服务器上的绝对路径"));
        }
        Some(SubscriberKind::Folder) | None => {}
    }
    if events.is_empty() {
        errs.push(FieldError::new("events", "events_empty", "请至少选择一种同步事件，或填写 * 表示全部"));
    } else if let Some(bad) = events.iter().find(|e| !delivery::valid_event(e)) {
        errs.push(FieldError::new(
            "events",
            "invalid_event",
            format!("同步事件“{bad}”格式不正确，应如 repair:completed"),
        ));
    }
    if !errs.is_empty() {
        return Err(ApiError::Validation(errs));
    }
    let mut events = events.to_vec();
    events.sort();
    events.dedup();
    Ok(Checked {
        name: name.to_string(),
        kind: kind_parsed.unwrap_or(SubscriberKind::Http),
        target: target.to_string(),
        secret: secret.to_string(),
        events,
    })
}

const TAKEN: &str = "同名订阅方已存在";

pub async fn list_subscribers(state: &AppState) -> ApiResult<Vec<SubscriberView>> {
    let rows = subscriber::Entity::find().order_by_asc(subscriber::Column::Id).all(&state.db).await?;
    Ok(rows.into_iter().map(Into::into).collect())
}

/// Adds a subscriber; audited (`subscriber_created`, without the secret).
pub async fn create_subscriber(state: &AppState, actor: i64, input: SubscriberInput) -> ApiResult<SubscriberView> {
    let events = input.events.unwrap_or_else(|| vec![delivery::ALL_EVENTS.to_string()]);
    let c = check(
        input.name.as_deref().unwrap_or(""),
        input.kind.as_deref().unwrap_or(""),
        input.target.as_deref().unwrap_or(""),
        input.secret.as_deref().unwrap_or(""),
        &events,
    )?;
    let now = state.clock.now();
    let txn = state.db.begin().await?;
    let m = subscriber::ActiveModel {
        name: Set(c.name),
        kind: Set(c.kind.as_str().into()),
        target: Set(c.target),
        secret: Set(if c.kind == SubscriberKind::Http { c.secret } else { String::new() }),
        events: Set(serde_json::to_string(&c.events).map_err(anyhow::Error::from)?),
        active: Set(input.active.unwrap_or(true)),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(&txn)
    .await
    .map_err(|e| unique_or(e, "subscriber_name_taken", TAKEN))?;
    audit(&txn, actor, "subscriber_created", &m, false, now).await?;
    txn.commit().await?;
    Ok(m.into())
}

/// Changes the given fields (a missing secret keeps the old one); `active:
/// false` disables the subscriber: it gets no new messages and its pending
/// deliveries wait until it is active again.
pub async fn update_subscriber(
    state: &AppState,
    actor: i64,
    id: i64,
    input: SubscriberInput,
) -> ApiResult<SubscriberView> {
    let s = subscriber::Entity::find_by_id(id).one(&state.db).await?.ok_or_else(|| ApiError::not_found("订阅方"))?;
    let events = input.events.clone().unwrap_or_else(|| events_of(&s));
    let c = check(
        input.name.as_deref().unwrap_or(&s.name),
        input.kind.as_deref().unwrap_or(&s.kind),
        input.target.as_deref().unwrap_or(&s.target),
        input.secret.as_deref().unwrap_or(&s.secret),
        &events,
    )?;
    let mut am: subscriber::ActiveModel = s.into();
    am.name = Set(c.name);
    am.kind = Set(c.kind.as_str().into());
    am.target = Set(c.target);
    am.secret = Set(if c.kind == SubscriberKind::Http { c.secret } else { String::new() });
    am.events = Set(serde_json::to_string(&c.events).map_err(anyhow::Error::from)?);
    if let Some(a) = input.active {
        am.active = Set(a);
    }
    let now = state.clock.now();
    am.updated_at = Set(now);
    let txn = state.db.begin().await?;
    let m = am.update(&txn).await.map_err(|e| unique_or(e, "subscriber_name_taken", TAKEN))?;
    audit(&txn, actor, "subscriber_updated", &m, input.secret.is_some(), now).await?;
    txn.commit().await?;
    Ok(m.into())
}

/// The audit event of a change to a subscriber: its settings, never its secret.
async fn audit<C: sea_orm::ConnectionTrait>(
    db: &C,
    actor: i64,
    action: &str,
    s: &subscriber::Model,
    secret_changed: bool,
    now: chrono::DateTime<chrono::Utc>,
) -> ApiResult<()> {
    let detail = serde_json::json!({
        "name": s.name, "kind": s.kind, "target": s.target, "events": events_of(s), "active": s.active,
        "secret_changed": secret_changed,
    });
    crate::services::calendar::admin_event(db, Some(actor), action, &format!("subscriber:{}", s.id), detail, now).await
}
