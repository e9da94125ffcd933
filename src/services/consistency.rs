//! Loads each record's facts and runs the record invariant
//! (`domain::consistency::check`) over them: for the tests after every step
//! and for `credit-repair check-records` over a whole database. Reads only.

use std::collections::HashMap;

use chrono::NaiveDate;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use serde::Serialize;

use crate::domain::consistency::{RecordFacts, Violation, check};
use crate::domain::period::PublicationEnd;
use crate::error::ApiResult;
use entity::types::{ActiveStatus, CaseKind, SubjectKind};
use entity::{case, list_membership, record, sanction, subject};

/// A record that breaks the invariant, and how.
#[derive(Debug, Serialize)]
pub struct RecordReport {
    pub record_id: i64,
    pub document_no: String,
    pub violations: Vec<Violation>,
}

/// Records checked per batch (a few queries per batch, bounded memory).
const BATCH: u64 = 500;

/// Checks every record (or only `only`) on `today`. Returns how many were
/// checked and those that break the invariant.
pub async fn check_records<C: ConnectionTrait>(
    db: &C,
    today: NaiveDate,
    end: PublicationEnd,
    only: Option<i64>,
) -> ApiResult<(u64, Vec<RecordReport>)> {
    let mut after = 0i64;
    let mut checked = 0u64;
    let mut bad = Vec::new();
    loop {
        let mut q = record::Entity::find().filter(record::Column::Id.gt(after));
        if let Some(id) = only {
            q = q.filter(record::Column::Id.eq(id));
        }
        let rows = q.order_by_asc(record::Column::Id).limit(BATCH).all(db).await?;
        let Some(last) = rows.last() else { break };
        after = last.id;
        checked += rows.len() as u64;
        bad.extend(check_batch(db, &rows, today, end).await?);
        if (rows.len() as u64) < BATCH {
            break;
        }
    }
    Ok((checked, bad))
}

async fn check_batch<C: ConnectionTrait>(
    db: &C,
    rows: &[record::Model],
    today: NaiveDate,
    end: PublicationEnd,
) -> ApiResult<Vec<RecordReport>> {
    let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
    let subject_ids: Vec<i64> = rows.iter().map(|r| r.subject_id).collect();
    let natural: HashMap<i64, bool> = subject::Entity::find()
        .filter(subject::Column::Id.is_in(subject_ids))
        .all(db)
        .await?
        .into_iter()
        .map(|s| (s.id, s.kind == SubjectKind::NaturalPerson))
        .collect();
    let mut lists: HashMap<i64, (usize, usize)> = HashMap::new();
    for l in
        list_membership::Entity::find().filter(list_membership::Column::RecordId.is_in(ids.clone())).all(db).await?
    {
        let e = lists.entry(l.record_id).or_default();
        e.1 += 1;
        if l.status == ActiveStatus::Active {
            e.0 += 1;
        }
    }
    let mut sanctions: HashMap<i64, usize> = HashMap::new();
    for s in sanction::Entity::find()
        .filter(sanction::Column::RecordId.is_in(ids.clone()))
        .filter(sanction::Column::Status.eq(ActiveStatus::Active))
        .all(db)
        .await?
    {
        *sanctions.entry(s.record_id).or_default() += 1;
    }
    // The cases the marks name, and the open accepted objections.
    let marked: Vec<i64> = rows.iter().filter_map(|r| r.objection_case_id).collect();
    let cases = case::Entity::find()
        .filter(
            sea_orm::Condition::any().add(case::Column::Id.is_in(marked)).add(
                sea_orm::Condition::all()
                    .add(case::Column::RecordId.is_in(ids))
                    .add(case::Column::Kind.eq(CaseKind::Objection))
                    .add(case::Column::ClosedAt.is_null()),
            ),
        )
        .all(db)
        .await?;
    let by_id: HashMap<i64, &case::Model> = cases.iter().map(|c| (c.id, c)).collect();
    let mut accepted: HashMap<i64, usize> = HashMap::new();
    for c in &cases {
        if c.kind == CaseKind::Objection && c.closed_at.is_none() && c.routed_at.is_some() {
            *accepted.entry(c.record_id).or_default() += 1;
        }
    }
    let mut out = Vec::new();
    for r in rows {
        let (active_lists, all_lists) = lists.get(&r.id).copied().unwrap_or_default();
        let facts = RecordFacts {
            record_type: &r.record_type,
            status: r.publication_status,
            deleted: r.deleted,
            natural_person: natural.get(&r.subject_id).copied().unwrap_or(false),
            display_category: &r.display_category,
            publication_ends: r.publication_ends,
            objection_open: r.objection_open,
            marked_case: r
                .objection_case_id
                .and_then(|id| by_id.get(&id))
                .map(|c| (c.kind == CaseKind::Objection, c.closed_at.is_none())),
            accepted_open_objections: accepted.get(&r.id).copied().unwrap_or(0),
            active_lists,
            all_lists,
            active_sanctions: sanctions.get(&r.id).copied().unwrap_or(0),
            regime: &r.regime,
            decision_date: r.decision_date,
        };
        let violations = check(&facts, today, end);
        if !violations.is_empty() {
            out.push(RecordReport { record_id: r.id, document_no: r.document_no.clone(), violations });
        }
    }
    Ok(out)
}
