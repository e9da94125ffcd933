//! Publication windows that end by themselves when their maximum runs out.

use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, TransactionTrait};

use super::BATCH;
use crate::services::cases::{expiry, now_micros};
use crate::services::repair_notice;
use crate::state::AppState;
use entity::record;
use entity::types::{PublicationStatus, RecordSource};

/// Records whose maximum publication period has run out: publication, list
/// membership and sanctions end; open repair cases on them close as expired.
pub(super) async fn expire_publications(state: &AppState) -> anyhow::Result<u32> {
    let today = state.clock.today();
    let now = now_micros(state);
    let mut n = 0;
    loop {
        let rows = record::Entity::find()
            .filter(record::Column::PublicationStatus.eq(PublicationStatus::Published))
            .filter(
                record::Column::PublicationEnds.lte(state.settings.publication.publication_end.latest_end_over(today)),
            )
            .order_by_asc(record::Column::Id)
            .limit(BATCH)
            .all(&state.db)
            .await?;
        if rows.is_empty() {
            break;
        }
        let mut progressed = false;
        for rec in rows {
            // Ending the publication and closing an open repair case on the
            // record happen together, or not at all (retried next tick).
            let txn = state.db.begin().await?;
            let id = rec.id;
            match expiry::expire_record(state, &txn, rec, today, now).await {
                Ok(Some(_)) => {}
                Ok(None) => continue,
                Err(e) => {
                    // Rolled back: the record stays published and is retried next tick.
                    tracing::warn!(record = id, error = %e, code = e.code(), "publication end postponed");
                    continue;
                }
            }
            txn.commit().await?;
            n += 1;
            progressed = true;
        }
        if !progressed {
            break;
        }
    }
    Ok(n)
}

/// Records whose repair-from date has come and whose subject was not told:
/// told once (`services::repair_notice`).
pub(super) async fn repair_notices(state: &AppState) -> anyhow::Result<u32> {
    let today = state.clock.today();
    let now = now_micros(state);
    let mut n = 0;
    let mut after = 0;
    let referred = crate::domain::samr::referral(&state.settings.samr, RecordSource::Samr).is_some();
    loop {
        let mut q = record::Entity::find();
        if referred {
            q = q.filter(record::Column::Source.ne(RecordSource::Samr));
        }
        let rows = q
            .filter(record::Column::Id.gt(after))
            .filter(record::Column::RepairNotifiedFor.is_null())
            .filter(record::Column::RepairFrom.lte(today))
            .filter(record::Column::PublicationStatus.eq(PublicationStatus::Published))
            .filter(record::Column::Deleted.eq(false))
            .order_by_asc(record::Column::Id)
            .limit(BATCH)
            .all(&state.db)
            .await?;
        let Some(last) = rows.last() else { break };
        after = last.id;
        let full = rows.len() as u64 == BATCH;
        for rec in &rows {
            if repair_notice::tell_if_repairable(state, rec, today, now).await? {
                n += 1;
            }
        }
        if !full {
            break;
        }
    }
    Ok(n)
}
