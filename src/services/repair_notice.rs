//! "Repair becomes possible": on a record's repair-from date its subject is
//! told once (mail; the message list will show the same). A correction that
//! moves the date clears the mark, so the new date is told once too.

use chrono::{DateTime, NaiveDate, Utc};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, TransactionTrait, sea_query::Expr};
use serde_json::json;

use crate::domain::period::{RecordStanding, RepairEligibility, repair_eligibility};
use crate::error::ApiResult;
use crate::services::outbox;
use crate::state::AppState;
use crate::workflow::attachment_kind_title;
use entity::record;

/// Tells the subject that `rec` can be repaired from today on, once.
/// Returns false when there is nothing to tell (not repairable now, or told).
pub async fn tell_if_repairable(
    state: &AppState,
    rec: &record::Model,
    today: NaiveDate,
    now: DateTime<Utc>,
) -> ApiResult<bool> {
    let end = state.settings.publication.publication_end;
    let Some(from) = rec.repair_from else { return Ok(false) };
    // A market-regulation record's repair is SAMR's (refer mode): nothing to tell here.
    if rec.repair_notified_for.is_some()
        || crate::domain::samr::referral(&state.settings.samr, rec.source).is_some()
        || repair_eligibility(&RecordStanding::from(rec), today, end) != RepairEligibility::Open
    {
        return Ok(false);
    }
    let txn = state.db.begin().await?;
    // Conditional claim: of two replicas, one tells.
    let claimed = record::Entity::update_many()
        .col_expr(record::Column::RepairNotifiedFor, Expr::value(from))
        .filter(record::Column::Id.eq(rec.id))
        .filter(record::Column::RepairNotifiedFor.is_null())
        .filter(record::Column::RepairFrom.eq(from))
        .exec(&txn)
        .await?;
    if claimed.rows_affected != 1 {
        return Ok(false);
    }
    let materials: Vec<&str> = state
        .workflows
        .current("repair")
        .map(|d| d.required_materials.iter().map(|k| attachment_kind_title(k).unwrap_or("材料")).collect())
        .unwrap_or_default();
    let extra = json!({
        "repair_from": from.to_string(),
        "materials": materials.join("、"),
        "link": format!("{}/my/records", state.settings.public_url),
    });
    outbox::notify_subject(&txn, &state.templates, "repair_open", rec, extra, now).await?;
    txn.commit().await?;
    Ok(true)
}
