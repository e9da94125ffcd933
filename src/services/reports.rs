//! Monitoring figures for the credit office: open and overdue cases by
//! department, and the share of cases closed within their legal deadline.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};
use serde::Serialize;
use utoipa::ToSchema;

use crate::error::ApiResult;
use entity::types::{CaseKind, DeadlineKind};
use entity::{case, deadline, department};

#[derive(Debug, Default, Serialize, ToSchema)]
pub struct DepartmentLoad {
    pub department_id: i64,
    pub department_name: String,
    pub open_objections: u64,
    pub open_repairs: u64,
    pub overdue: u64,
    /// Due time of the longest-overdue open case.
    pub oldest_overdue_due_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Default, Serialize, ToSchema)]
pub struct Timeliness {
    /// Cases closed in the period.
    pub closed: u64,
    /// Closed cases whose closing came before the end of their total deadline
    /// (7 working days for objections, 10 for repairs, pauses excluded).
    pub within_deadline: u64,
    /// `within_deadline / closed`, or null when nothing closed.
    pub share_within_deadline: Option<f64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Overview {
    pub generated_at: DateTime<Utc>,
    pub period_from: DateTime<Utc>,
    pub period_to: DateTime<Utc>,
    pub departments: Vec<DepartmentLoad>,
    pub objections: Timeliness,
    pub repairs: Timeliness,
}

pub async fn overview<C: ConnectionTrait>(
    db: &C,
    now: DateTime<Utc>,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> ApiResult<Overview> {
    let names: BTreeMap<i64, String> =
        department::Entity::find().all(db).await?.into_iter().map(|d| (d.id, d.name)).collect();
    let mut load: BTreeMap<i64, DepartmentLoad> = BTreeMap::new();
    for c in case::Entity::find().filter(case::Column::ClosedAt.is_null()).all(db).await? {
        let l = load.entry(c.department_id).or_insert_with(|| DepartmentLoad {
            department_id: c.department_id,
            department_name: names.get(&c.department_id).cloned().unwrap_or_default(),
            ..Default::default()
        });
        if c.kind == CaseKind::Objection {
            l.open_objections += 1;
        } else {
            l.open_repairs += 1;
        }
        if c.overdue {
            l.overdue += 1;
            l.oldest_overdue_due_at = match (l.oldest_overdue_due_at, c.due_at) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
        }
    }
    let closed = case::Entity::find()
        .filter(case::Column::ClosedAt.gte(from))
        .filter(case::Column::ClosedAt.lte(to))
        .all(db)
        .await?;
    let ids: Vec<i64> = closed.iter().map(|c| c.id).collect();
    let mut total_due: BTreeMap<i64, DateTime<Utc>> = BTreeMap::new();
    for chunk in ids.chunks(500) {
        for d in deadline::Entity::find()
            .filter(deadline::Column::CaseId.is_in(chunk.to_vec()))
            .filter(deadline::Column::Kind.eq(DeadlineKind::Total))
            .all(db)
            .await?
        {
            total_due.insert(d.case_id, d.due_at);
        }
    }
    let (mut objections, mut repairs) = (Timeliness::default(), Timeliness::default());
    for c in &closed {
        let t = if c.kind == CaseKind::Objection { &mut objections } else { &mut repairs };
        t.closed += 1;
        if let (Some(closed_at), Some(due)) = (c.closed_at, total_due.get(&c.id))
            && closed_at <= *due
        {
            t.within_deadline += 1;
        }
    }
    for t in [&mut objections, &mut repairs] {
        t.share_within_deadline = (t.closed > 0).then(|| t.within_deadline as f64 / t.closed as f64);
    }
    Ok(Overview {
        generated_at: now,
        period_from: from,
        period_to: to,
        departments: load.into_values().collect(),
        objections,
        repairs,
    })
}
