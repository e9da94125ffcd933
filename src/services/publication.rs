//! Ending and restoring a record's publication together with its list
//! memberships and sanctions: shared by repair approval, objection outcomes,
//! revocation, and the automatic end of a publication window.

use chrono::{DateTime, NaiveDate, Utc};
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set, sea_query::Expr};
use serde_json::{Value, json};

use entity::types::{ActiveStatus, PublicationStatus};
use entity::{list_membership, record, record_event, sanction};

/// Who caused a change: a user, or the system (None).
#[derive(Clone, Copy, Debug)]
pub struct Actor<'a> {
    pub user_id: Option<i64>,
    pub role: &'a str,
}

pub const SYSTEM: Actor<'static> = Actor { user_id: None, role: "system" };

/// Marks the record as no longer published. Returns the updated record.
pub async fn end_publication<C: ConnectionTrait>(
    db: &C,
    rec: record::Model,
    reason: &str,
    now: DateTime<Utc>,
) -> anyhow::Result<record::Model> {
    if rec.publication_status == PublicationStatus::Ended {
        return Ok(rec);
    }
    let version = rec.version;
    let mut am: record::ActiveModel = rec.into();
    am.publication_status = Set(PublicationStatus::Ended);
    am.publication_ended_at = Set(Some(now));
    am.publication_end_reason = Set(Some(reason.into()));
    am.version = Set(version + 1);
    am.updated_at = Set(now);
    Ok(am.update(db).await?)
}

/// Publishes the record again (after a repair is revoked).
pub async fn restore_publication<C: ConnectionTrait>(
    db: &C,
    rec: record::Model,
    now: DateTime<Utc>,
) -> anyhow::Result<record::Model> {
    let version = rec.version;
    let mut am: record::ActiveModel = rec.into();
    am.publication_status = Set(PublicationStatus::Published);
    am.publication_ended_at = Set(None);
    am.publication_end_reason = Set(None);
    am.version = Set(version + 1);
    am.updated_at = Set(now);
    Ok(am.update(db).await?)
}

/// Ends the record's active list memberships. Returns the ids ended.
pub async fn end_lists<C: ConnectionTrait>(
    db: &C,
    record_id: i64,
    reason: &str,
    case_id: Option<i64>,
    now: DateTime<Utc>,
) -> anyhow::Result<Vec<i64>> {
    let rows = list_membership::Entity::find()
        .filter(list_membership::Column::RecordId.eq(record_id))
        .filter(list_membership::Column::Status.eq(ActiveStatus::Active))
        .all(db)
        .await?;
    let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
    if !ids.is_empty() {
        list_membership::Entity::update_many()
            .col_expr(list_membership::Column::Status, Expr::value(ActiveStatus::Ended))
            .col_expr(list_membership::Column::EndedAt, Expr::value(now))
            .col_expr(list_membership::Column::EndedReason, Expr::value(reason))
            .col_expr(list_membership::Column::EndedCaseId, Expr::value(case_id))
            .filter(list_membership::Column::Id.is_in(ids.clone()))
            .exec(db)
            .await?;
    }
    Ok(ids)
}

/// Re-activates the list memberships that `case_id` ended.
pub async fn restore_lists<C: ConnectionTrait>(db: &C, record_id: i64, case_id: i64) -> anyhow::Result<u64> {
    let res = list_membership::Entity::update_many()
        .col_expr(list_membership::Column::Status, Expr::value(ActiveStatus::Active))
        .col_expr(list_membership::Column::EndedAt, Expr::value(Option::<DateTime<Utc>>::None))
        .col_expr(list_membership::Column::EndedReason, Expr::value(Option::<String>::None))
        .col_expr(list_membership::Column::EndedCaseId, Expr::value(Option::<i64>::None))
        .filter(list_membership::Column::RecordId.eq(record_id))
        .filter(list_membership::Column::EndedCaseId.eq(case_id))
        .exec(db)
        .await?;
    Ok(res.rows_affected)
}

/// Ends active sanctions of the record (only `only` when given). Returns the ids ended.
pub async fn end_sanctions<C: ConnectionTrait>(
    db: &C,
    record_id: i64,
    only: Option<&[i64]>,
    actor: Actor<'_>,
    reason: &str,
    case_id: Option<i64>,
    now: DateTime<Utc>,
) -> anyhow::Result<Vec<i64>> {
    let mut q = sanction::Entity::find()
        .filter(sanction::Column::RecordId.eq(record_id))
        .filter(sanction::Column::Status.eq(ActiveStatus::Active));
    if let Some(ids) = only {
        q = q.filter(sanction::Column::Id.is_in(ids.to_vec()));
    }
    let ids: Vec<i64> = q.all(db).await?.into_iter().map(|s| s.id).collect();
    if !ids.is_empty() {
        sanction::Entity::update_many()
            .col_expr(sanction::Column::Status, Expr::value(ActiveStatus::Ended))
            .col_expr(sanction::Column::EndedAt, Expr::value(now))
            .col_expr(sanction::Column::EndedBy, Expr::value(actor.user_id))
            .col_expr(sanction::Column::EndedReason, Expr::value(reason))
            .col_expr(sanction::Column::EndedCaseId, Expr::value(case_id))
            .filter(sanction::Column::Id.is_in(ids.clone()))
            .exec(db)
            .await?;
    }
    Ok(ids)
}

/// Re-activates the sanctions that `case_id` ended.
pub async fn restore_sanctions<C: ConnectionTrait>(db: &C, record_id: i64, case_id: i64) -> anyhow::Result<u64> {
    let res = sanction::Entity::update_many()
        .col_expr(sanction::Column::Status, Expr::value(ActiveStatus::Active))
        .col_expr(sanction::Column::EndedAt, Expr::value(Option::<DateTime<Utc>>::None))
        .col_expr(sanction::Column::EndedBy, Expr::value(Option::<i64>::None))
        .col_expr(sanction::Column::EndedReason, Expr::value(Option::<String>::None))
        .col_expr(sanction::Column::EndedCaseId, Expr::value(Option::<i64>::None))
        .filter(sanction::Column::RecordId.eq(record_id))
        .filter(sanction::Column::EndedCaseId.eq(case_id))
        .exec(db)
        .await?;
    Ok(res.rows_affected)
}

pub async fn record_event<C: ConnectionTrait>(
    db: &C,
    record_id: i64,
    actor: Actor<'_>,
    action: &str,
    detail: Value,
    now: DateTime<Utc>,
) -> anyhow::Result<()> {
    record_event::ActiveModel {
        record_id: Set(record_id),
        actor_user_id: Set(actor.user_id),
        actor_role: Set(actor.role.into()),
        action: Set(action.into()),
        detail: Set(detail.to_string()),
        created_at: Set(now),
        ..Default::default()
    }
    .insert(db)
    .await?;
    Ok(())
}

/// The maximum publication period has run out: publication, list membership
/// and sanctions end, with a system audit event. The caller owns the
/// transaction and queues notifications. Returns false when nothing changed.
pub async fn expire<C: ConnectionTrait>(
    db: &C,
    rec: record::Model,
    today: NaiveDate,
    end: crate::domain::period::PublicationEnd,
    now: DateTime<Utc>,
) -> anyhow::Result<Option<record::Model>> {
    if rec.publication_status != PublicationStatus::Published || !end.over(rec.publication_ends, today) {
        return Ok(None);
    }
    // Conditional claim: of two replicas expiring the same record, one wins.
    let res = record::Entity::update_many()
        .col_expr(record::Column::PublicationStatus, Expr::value(PublicationStatus::Ended))
        .col_expr(record::Column::PublicationEndedAt, Expr::value(now))
        .col_expr(record::Column::PublicationEndReason, Expr::value("公示期满自动终止"))
        .col_expr(record::Column::Version, Expr::value(rec.version + 1))
        .col_expr(record::Column::UpdatedAt, Expr::value(now))
        .filter(record::Column::Id.eq(rec.id))
        .filter(record::Column::PublicationStatus.eq(PublicationStatus::Published))
        .exec(db)
        .await?;
    if res.rows_affected != 1 {
        return Ok(None);
    }
    let reason = "公示期满，自动终止公示";
    let lists = end_lists(db, rec.id, reason, None, now).await?;
    let sanctions = end_sanctions(db, rec.id, None, SYSTEM, reason, None, now).await?;
    record_event(
        db,
        rec.id,
        SYSTEM,
        "publication_expired",
        json!({"publication_ends": rec.publication_ends, "ended_lists": lists, "ended_sanctions": sanctions}),
        now,
    )
    .await?;
    Ok(record::Entity::find_by_id(rec.id).one(db).await?)
}

/// After a record's window was re-derived (an administrator's edit, an
/// objection's correction): a published record that its new rule does not
/// publish, or whose new window is already over, comes down with its lists
/// and sanctions. Returns the reason when it did.
#[allow(clippy::too_many_arguments)]
pub async fn end_if_no_longer_public<C: ConnectionTrait>(
    db: &C,
    rec: record::Model,
    derived: &crate::domain::period::Derived,
    today: NaiveDate,
    end: crate::domain::period::PublicationEnd,
    actor: Actor<'_>,
    case_id: Option<i64>,
    now: DateTime<Utc>,
) -> anyhow::Result<Option<String>> {
    if rec.publication_status != PublicationStatus::Published {
        return Ok(None);
    }
    let reason = if !derived.published_by_default {
        "更正后属于不予公示的信息，终止公示".to_owned()
    } else if end.over(derived.publication_ends, today) {
        format!("更正后公示期已于 {} 届满，终止公示", derived.publication_ends)
    } else {
        return Ok(None);
    };
    let id = rec.id;
    end_publication(db, rec, &reason, now).await?;
    end_lists(db, id, &reason, case_id, now).await?;
    end_sanctions(db, id, None, actor, &reason, case_id, now).await?;
    Ok(Some(reason))
}
