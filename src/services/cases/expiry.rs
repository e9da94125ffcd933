//! A record whose maximum publication period has run out: publication, list
//! membership and sanctions end, and an open repair application on it closes
//! as expired, in the caller's transaction. Used by the scheduler and by
//! intake (a repair filed after the end date).

use chrono::{DateTime, NaiveDate, Utc};
use sea_orm::{ColumnTrait, DatabaseTransaction, EntityTrait, QueryFilter};

use super::act::transition_in;
use super::input::ActionRequest;
use crate::error::ApiResult;
use crate::services::{outbox, publication};
use crate::state::AppState;
use crate::workflow::Role;
use entity::types::CaseKind;
use entity::{case, record};

/// Returns the ended record, or None when there was nothing to end.
pub async fn expire_record(
    state: &AppState,
    txn: &DatabaseTransaction,
    rec: record::Model,
    today: NaiveDate,
    now: DateTime<Utc>,
) -> ApiResult<Option<record::Model>> {
    let Some(updated) = publication::expire(txn, rec, today, state.settings.publication.publication_end, now).await?
    else {
        return Ok(None);
    };
    outbox::notify_publication_ended(txn, &state.templates, &updated, now).await?;
    let subject_code =
        entity::subject::Entity::find_by_id(updated.subject_id).one(txn).await?.map(|s| s.code).unwrap_or_default();
    let payload = serde_json::json!({
        "action": "record:publication_expired", "subject_code": subject_code, "record_id": updated.id,
        "document_no": updated.document_no, "publication_status": updated.publication_status,
        "publication_ends": updated.publication_ends, "at": now,
    });
    outbox::queue_sync(txn, &payload, None, format!("sync:record:{}:v{}", updated.id, updated.version), now).await?;
    if let Some(open) = case::Entity::find()
        .filter(case::Column::OpenRecordKey.eq(updated.id))
        .filter(case::Column::Kind.eq(CaseKind::Repair))
        .one(txn)
        .await?
    {
        let req = ActionRequest::system("信息最长公示期届满，已自动终止公示，本申请办结");
        transition_in(state, txn, None, Role::System, open.id, "expire", req).await?;
    }
    Ok(Some(updated))
}
