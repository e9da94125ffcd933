//! Claims of once-only work (a day's digest, an alert) by a unique key, so
//! that of several replicas exactly one does it.

use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, EntityTrait, Set, TryInsertResult};

use entity::job_claim;

/// Inserts a unique claim key; true when this call inserted it.
pub async fn claim<C: ConnectionTrait>(db: &C, key: &str, worker: &str, now: DateTime<Utc>) -> anyhow::Result<bool> {
    let row = job_claim::ActiveModel {
        key: Set(key.into()),
        claimed_by: Set(worker.into()),
        claimed_at: Set(now),
        ..Default::default()
    };
    let res = job_claim::Entity::insert(row).on_conflict_do_nothing_on([job_claim::Column::Key]).exec(db).await?;
    Ok(matches!(res, TryInsertResult::Inserted(_)))
}

/// Whether `key` is claimed already (by any process).
pub async fn claimed<C: ConnectionTrait>(db: &C, key: &str) -> anyhow::Result<bool> {
    use sea_orm::{ColumnTrait, PaginatorTrait, QueryFilter};
    Ok(job_claim::Entity::find().filter(job_claim::Column::Key.eq(key)).count(db).await? > 0)
}
