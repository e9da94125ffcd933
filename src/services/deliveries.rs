//! Delivery of sync messages to subscribers (downstream platforms, or a
//! folder). The outbox row is the message and stays the source of truth: the
//! delivery job first fans each pending sync row out into one delivery row
//! per active subscriber that wants it (in one transaction with marking the
//! outbox row handed over), then sends the deliveries that are due. A
//! delivery is claimed with a lease like mail (`outbox::delivery`), so a
//! sender killed mid-send leaves it to the next tick: at least once per
//! subscriber. Per record and subscriber, a message is not sent while an
//! earlier one is still pending, failed (retry due) or being sent: a later
//! message waits until the earlier one was delivered or went dead.

use std::sync::OnceLock;

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, PaginatorTrait, QueryFilter,
    QueryOrder, QuerySelect, Set, TransactionTrait, sea_query::Expr,
};
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

use crate::auth::AuthUser;
use crate::domain::delivery::{self as rules, SubscriberKind};
use crate::error::{ApiError, ApiResult};
use crate::services::admin::subscribers::events_of;
use crate::state::AppState;
use entity::{delivery, outbox, subscriber};

/// Statuses a later message of the same record waits behind.
const UNFINISHED: [&str; 3] = ["pending", "failed", "sending"];
/// Statuses a sender may claim.
const CLAIMABLE: [&str; 2] = ["pending", "failed"];
/// Deliveries one tick sends at most.
const BATCH: u64 = 100;

/// Fans the pending sync messages out to the subscribers that want them:
/// one delivery row each, in the same transaction as marking the outbox row
/// handed over (`sent`). A second replica doing the same inserts nothing (a
/// unique key on message and subscriber). Returns the messages handed over.
pub async fn fan_out(db: &DatabaseConnection, now: DateTime<Utc>) -> anyhow::Result<u32> {
    let rows = outbox::Entity::find()
        .filter(outbox::Column::Kind.eq("sync"))
        .filter(outbox::Column::Status.eq("pending"))
        .order_by_asc(outbox::Column::Id)
        .limit(500)
        .all(db)
        .await?;
    if rows.is_empty() {
        return Ok(0);
    }
    let subs = subscriber::Entity::find().filter(subscriber::Column::Active.eq(true)).all(db).await?;
    let mut n = 0;
    for row in rows {
        let payload: Value = serde_json::from_str(&row.body_text).unwrap_or(Value::Null);
        let action = payload["action"].as_str().unwrap_or(&row.subject).to_string();
        let record_id = payload["record_id"].as_i64();
        let txn = db.begin().await?;
        let claimed = outbox::Entity::update_many()
            .col_expr(outbox::Column::Status, Expr::value("sent"))
            .col_expr(outbox::Column::SentAt, Expr::value(Some(now)))
            .filter(outbox::Column::Id.eq(row.id))
            .filter(outbox::Column::Status.eq("pending"))
            .exec(&txn)
            .await?;
        if claimed.rows_affected != 1 {
            txn.rollback().await?;
            continue;
        }
        for s in subs.iter().filter(|s| rules::wants(&events_of(s), &action)) {
            let d = delivery::ActiveModel {
                outbox_id: Set(row.id),
                subscriber_id: Set(s.id),
                action: Set(action.clone()),
                record_id: Set(record_id),
                case_id: Set(row.case_id),
                status: Set("pending".into()),
                attempts: Set(0),
                next_attempt_at: Set(now),
                last_error: Set(None),
                http_status: Set(None),
                delivered_at: Set(None),
                created_at: Set(now),
                ..Default::default()
            };
            delivery::Entity::insert(d)
                .on_conflict_do_nothing_on([delivery::Column::OutboxId, delivery::Column::SubscriberId])
                .exec(&txn)
                .await?;
        }
        txn.commit().await?;
        n += 1;
    }
    Ok(n)
}

/// Whether an earlier message of the same record to the same subscriber is
/// still unfinished.
async fn waits_behind<C: ConnectionTrait>(db: &C, d: &delivery::Model) -> anyhow::Result<bool> {
    let Some(record_id) = d.record_id else { return Ok(false) };
    let earlier = delivery::Entity::find()
        .filter(delivery::Column::SubscriberId.eq(d.subscriber_id))
        .filter(delivery::Column::RecordId.eq(record_id))
        .filter(delivery::Column::OutboxId.lt(d.outbox_id))
        .filter(delivery::Column::Status.is_in(UNFINISHED))
        .count(db)
        .await?;
    Ok(earlier > 0)
}

/// The outcome of one try.
struct Attempt {
    ok: bool,
    http_status: Option<i32>,
    error: Option<String>,
}

fn http_client() -> &'static reqwest::Client {
    static CLIENT: OnceLock<reqwest::Client> = OnceLock::new();
    CLIENT.get_or_init(|| {
        crate::install_tls_provider();
        // A redirect is not a receipt: it counts as a failure (3xx), never followed.
        reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap_or_else(|_| reqwest::Client::new())
    })
}

/// One try: POST the signed body, or write the file.
async fn attempt(state: &AppState, sub: &subscriber::Model, msg: &outbox::Model) -> Attempt {
    let body = msg.body_text.as_bytes().to_vec();
    match SubscriberKind::parse(&sub.kind) {
        Some(SubscriberKind::Folder) => {
            let dir = std::path::PathBuf::from(&sub.target);
            let path = dir.join(format!("{:08}.json", msg.id));
            let tmp = dir.join(format!(".{:08}.json.tmp", msg.id));
            let res = async {
                tokio::fs::create_dir_all(&dir).await?;
                tokio::fs::write(&tmp, &body).await?;
                tokio::fs::rename(&tmp, &path).await
            }
            .await;
            match res {
                Ok(()) => Attempt { ok: true, http_status: None, error: None },
                Err(e) => Attempt { ok: false, http_status: None, error: Some(format!("写入文件失败: {e}")) },
            }
        }
        Some(SubscriberKind::Http) => {
            let ts = state.clock.now().timestamp();
            let sig = rules::signature(&sub.secret, ts, &body);
            let res = http_client()
                .post(&sub.target)
                .timeout(std::time::Duration::from_secs(state.settings.delivery.timeout_seconds.max(1)))
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .header("X-Credit-Timestamp", ts.to_string())
                .header("X-Credit-Signature", sig)
                .header("X-Credit-Message-Id", msg.id.to_string())
                .header("X-Credit-Event", msg.subject.clone())
                .body(body)
                .send()
                .await;
            match res {
                Ok(r) if r.status().is_success() => {
                    Attempt { ok: true, http_status: Some(r.status().as_u16() as i32), error: None }
                }
                Ok(r) => Attempt {
                    ok: false,
                    http_status: Some(r.status().as_u16() as i32),
                    error: Some(format!("接收方返回 HTTP {}", r.status().as_u16())),
                },
                Err(e) if e.is_timeout() => {
                    Attempt { ok: false, http_status: None, error: Some("接收方应答超时".into()) }
                }
                Err(e) => Attempt { ok: false, http_status: None, error: Some(format!("无法送达: {e}")) },
            }
        }
        None => Attempt { ok: false, http_status: None, error: Some(format!("未知的订阅方式 {}", sub.kind)) },
    }
}

/// Sends the deliveries that are due, oldest message first, in rounds until
/// none is left or the tick's budget is spent: throughput is the
/// subscribers'. Returns (delivered, failed).
pub async fn deliver_due(state: &AppState) -> anyhow::Result<(u32, u32)> {
    let db = &state.db;
    let now = state.clock.now();
    let settings = &state.settings.delivery;
    // A sender that died mid-send: its lease ran out, the delivery is due again.
    delivery::Entity::update_many()
        .col_expr(delivery::Column::Status, Expr::value("failed"))
        .col_expr(delivery::Column::LastError, Expr::value(Some("发送中断（租约已过期），将重新发送".to_string())))
        .filter(delivery::Column::Status.eq("sending"))
        .filter(delivery::Column::NextAttemptAt.lte(now))
        .exec(db)
        .await?;
    let lease = chrono::Duration::seconds(settings.timeout_seconds as i64 + 60);
    let (mut ok, mut failed) = (0, 0);
    let started = std::time::Instant::now();
    // Rounds while deliveries are due and the tick's budget lasts, each after
    // the last one seen in (message, delivery) order: one that waits behind
    // an earlier message of its record, or for a disabled subscriber, is
    // passed over, not read again.
    let mut after: Option<(i64, i64)> = None;
    loop {
        let mut q = delivery::Entity::find()
            .filter(delivery::Column::Status.is_in(CLAIMABLE))
            .filter(delivery::Column::NextAttemptAt.lte(now));
        if let Some((outbox_id, id)) = after {
            q = q.filter(
                sea_orm::Condition::any().add(delivery::Column::OutboxId.gt(outbox_id)).add(
                    sea_orm::Condition::all()
                        .add(delivery::Column::OutboxId.eq(outbox_id))
                        .add(delivery::Column::Id.gt(id)),
                ),
            );
        }
        let due =
            q.order_by_asc(delivery::Column::OutboxId).order_by_asc(delivery::Column::Id).limit(BATCH).all(db).await?;
        let Some(last) = due.last() else { break };
        after = Some((last.outbox_id, last.id));
        let (o, f) = deliver_round(state, due, now, lease).await?;
        ok += o;
        failed += f;
        if started.elapsed() >= crate::services::outbox::delivery::budget(state.settings.tick_seconds) {
            break;
        }
    }
    Ok((ok, failed))
}

/// One round of [`deliver_due`]: each delivery claimed (a lease), sent and
/// its outcome stored. Returns (delivered, failed).
async fn deliver_round(
    state: &AppState,
    due: Vec<delivery::Model>,
    now: DateTime<Utc>,
    lease: chrono::Duration,
) -> anyhow::Result<(u32, u32)> {
    let db = &state.db;
    let settings = &state.settings.delivery;
    let (mut ok, mut failed) = (0, 0);
    for d in due {
        let Some(sub) = subscriber::Entity::find_by_id(d.subscriber_id).one(db).await? else { continue };
        if !sub.active || waits_behind(db, &d).await? {
            continue;
        }
        let claimed = delivery::Entity::update_many()
            .col_expr(delivery::Column::Status, Expr::value("sending"))
            .col_expr(delivery::Column::NextAttemptAt, Expr::value(now + lease))
            .filter(delivery::Column::Id.eq(d.id))
            .filter(delivery::Column::Status.is_in(CLAIMABLE))
            .filter(delivery::Column::NextAttemptAt.lte(now))
            .exec(db)
            .await?;
        if claimed.rows_affected != 1 {
            continue;
        }
        let Some(msg) = outbox::Entity::find_by_id(d.outbox_id).one(db).await? else { continue };
        let attempts = d.attempts + 1;
        let a = attempt(state, &sub, &msg).await;
        let mut am = delivery::ActiveModel {
            id: Set(d.id),
            attempts: Set(attempts),
            http_status: Set(a.http_status),
            last_error: Set(a.error.clone()),
            ..Default::default()
        };
        if a.ok {
            am.status = Set("delivered".into());
            am.delivered_at = Set(Some(state.clock.now()));
            ok += 1;
        } else {
            let dead = rules::is_dead(settings, attempts);
            am.status = Set(if dead { "dead" } else { "failed" }.into());
            am.next_attempt_at = Set(now + rules::backoff(settings, attempts, rand::random::<f64>()));
            tracing::warn!(delivery = d.id, subscriber = sub.id, attempts, dead, error = ?a.error, "sync delivery failed");
            failed += 1;
        }
        am.update(db).await?;
    }
    Ok((ok, failed))
}

/// A delivery as staff see it.
#[derive(Debug, Serialize, ToSchema)]
pub struct DeliveryView {
    pub id: i64,
    /// The sync message (outbox row); sent as `X-Credit-Message-Id`.
    pub message_id: i64,
    pub subscriber_id: i64,
    pub subscriber_name: String,
    pub action: String,
    pub record_id: Option<i64>,
    pub case_id: Option<i64>,
    /// `pending`, `sending`, `failed` (retry due at `next_attempt_at`), `delivered` or `dead`
    pub status: String,
    pub attempts: i32,
    pub next_attempt_at: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
    /// The receiver's HTTP status at the last try.
    pub http_status: Option<i32>,
    /// The receipt's time (the receiver's 2xx answer, or the file written).
    pub delivered_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

async fn views<C: ConnectionTrait>(db: &C, rows: Vec<delivery::Model>) -> ApiResult<Vec<DeliveryView>> {
    let subs = subscriber::Entity::find().all(db).await?;
    let name = |id: i64| subs.iter().find(|s| s.id == id).map(|s| s.name.clone()).unwrap_or_default();
    Ok(rows
        .into_iter()
        .map(|d| DeliveryView {
            id: d.id,
            message_id: d.outbox_id,
            subscriber_id: d.subscriber_id,
            subscriber_name: name(d.subscriber_id),
            action: d.action,
            record_id: d.record_id,
            case_id: d.case_id,
            next_attempt_at: matches!(d.status.as_str(), "pending" | "failed").then_some(d.next_attempt_at),
            status: d.status,
            attempts: d.attempts,
            last_error: d.last_error,
            http_status: d.http_status,
            delivered_at: d.delivered_at,
            created_at: d.created_at,
        })
        .collect())
}

/// A record's deliveries (the caller must see the record), oldest first.
pub async fn for_record(state: &AppState, user: &AuthUser, record_id: i64) -> ApiResult<Vec<DeliveryView>> {
    let rec = crate::services::records::find_in_scope(&state.db, user, record_id).await?;
    let rows = delivery::Entity::find()
        .filter(delivery::Column::RecordId.eq(rec.id))
        .order_by_asc(delivery::Column::OutboxId)
        .order_by_asc(delivery::Column::SubscriberId)
        .all(&state.db)
        .await?;
    views(&state.db, rows).await
}

/// A case's deliveries (the caller must see the case), oldest first.
pub async fn for_case(state: &AppState, user: &AuthUser, case_id: i64) -> ApiResult<Vec<DeliveryView>> {
    let case = crate::services::cases::find_in_scope(&state.db, user, case_id).await?;
    let rows = delivery::Entity::find()
        .filter(delivery::Column::CaseId.eq(case.id))
        .order_by_asc(delivery::Column::OutboxId)
        .order_by_asc(delivery::Column::SubscriberId)
        .all(&state.db)
        .await?;
    views(&state.db, rows).await
}

/// The deliveries in a status (default: `failed` and `dead`), newest first.
pub async fn list(state: &AppState, status: Option<&str>) -> ApiResult<Vec<DeliveryView>> {
    let statuses: Vec<&str> = match status {
        None => vec!["failed", "dead"],
        Some(s @ ("pending" | "sending" | "failed" | "delivered" | "dead")) => vec![s],
        Some(_) => {
            return Err(ApiError::field(
                "status",
                "invalid_status",
                "状态只能是 pending、sending、failed、delivered 或 dead",
            ));
        }
    };
    let rows = delivery::Entity::find()
        .filter(delivery::Column::Status.is_in(statuses))
        .order_by_desc(delivery::Column::Id)
        .limit(1000)
        .all(&state.db)
        .await?;
    views(&state.db, rows).await
}

/// Sends a failed or dead delivery again at the next tick, with its tries
/// counted afresh; audited (`delivery_resent`). A delivered or waiting one
/// is refused (409).
pub async fn resend(state: &AppState, actor: i64, id: i64) -> ApiResult<DeliveryView> {
    let d = delivery::Entity::find_by_id(id).one(&state.db).await?.ok_or_else(|| ApiError::not_found("同步投递"))?;
    let now = state.clock.now();
    let txn = state.db.begin().await?;
    if requeue(&txn, Some(d.id), now).await? == 0 {
        return Err(ApiError::conflict("delivery_not_failed", "只有发送失败或已放弃的同步投递可以重新发送"));
    }
    let detail = serde_json::json!({"was": d.status, "attempts": d.attempts, "subscriber_id": d.subscriber_id});
    crate::services::calendar::admin_event(
        &txn,
        Some(actor),
        "delivery_resent",
        &format!("delivery:{id}"),
        detail,
        now,
    )
    .await?;
    txn.commit().await?;
    let d = delivery::Entity::find_by_id(id).one(&state.db).await?.ok_or_else(|| ApiError::not_found("同步投递"))?;
    Ok(views(&state.db, vec![d]).await?.remove(0))
}

/// Sends every failed and dead delivery again; audited when there were any.
/// Returns how many.
pub async fn resend_all(state: &AppState, actor: i64) -> ApiResult<u64> {
    let now = state.clock.now();
    let txn = state.db.begin().await?;
    let n = requeue(&txn, None, now).await?;
    if n > 0 {
        let detail = serde_json::json!({"count": n});
        crate::services::calendar::admin_event(&txn, Some(actor), "delivery_resent", "deliveries:all", detail, now)
            .await?;
    }
    txn.commit().await?;
    Ok(n)
}

/// Deliveries by status, for the metrics.
pub async fn counts<C: ConnectionTrait>(db: &C) -> anyhow::Result<Vec<(String, i64)>> {
    use sea_orm::sea_query::Func;
    Ok(delivery::Entity::find()
        .select_only()
        .column(delivery::Column::Status)
        .column_as(Expr::expr(Func::count(Expr::col(delivery::Column::Id))), "n")
        .group_by(delivery::Column::Status)
        .into_tuple()
        .all(db)
        .await?)
}

async fn requeue<C: ConnectionTrait>(db: &C, id: Option<i64>, now: DateTime<Utc>) -> anyhow::Result<u64> {
    let mut q = delivery::Entity::update_many()
        .col_expr(delivery::Column::Status, Expr::value("pending"))
        .col_expr(delivery::Column::Attempts, Expr::value(0))
        .col_expr(delivery::Column::NextAttemptAt, Expr::value(now))
        .filter(delivery::Column::Status.is_in(["failed", "dead"]));
    if let Some(id) = id {
        q = q.filter(delivery::Column::Id.eq(id));
    }
    Ok(q.exec(db).await?.rows_affected)
}
