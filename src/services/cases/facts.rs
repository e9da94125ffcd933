//! The facts a case's guards are judged on, computed from its attachments
//! and record (inside the caller's transaction when it acts).

use chrono::NaiveDate;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QuerySelect};

use crate::domain::period::{RecordStanding, RepairEligibility, repair_eligibility};
use crate::error::ApiResult;
use crate::workflow::{Definition, Facts};
use entity::types::AttachmentKind;
use entity::{attachment, case, record};

pub async fn of<C: ConnectionTrait>(
    db: &C,
    def: &Definition,
    c: &case::Model,
    rec: &record::Model,
    today: NaiveDate,
    end: crate::domain::period::PublicationEnd,
) -> ApiResult<Facts> {
    let kinds: Vec<AttachmentKind> = attachment::Entity::find()
        .select_only()
        .column(attachment::Column::Kind)
        .filter(attachment::Column::CaseId.eq(c.id))
        .into_tuple()
        .all(db)
        .await?;
    Ok(compute(def, c, rec, &kinds, today, end))
}

/// The facts from the kinds of the case's attachments (already loaded).
pub fn compute(
    def: &Definition,
    c: &case::Model,
    rec: &record::Model,
    kinds: &[AttachmentKind],
    today: NaiveDate,
    end: crate::domain::period::PublicationEnd,
) -> Facts {
    let present: Vec<String> = kinds.iter().map(|k| k.as_str().to_string()).collect();
    Facts {
        missing_materials: def.missing_materials(&present),
        extension_used: c.extension_used,
        extension_pending: c.extension_requested_by.is_some(),
        urged_today: c.last_urged_on == Some(today),
        repair_window_open: repair_eligibility(&RecordStanding::from(rec), today, end) == RepairEligibility::Open,
    }
}
