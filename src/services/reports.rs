//! Monitoring figures for the credit office: open, due-soon and overdue cases
//! by department and kind, the longest-overdue cases, the share of cases
//! closed within their legal deadline, and filings and closures per week.
//! Counts are aggregate queries (GROUP BY), not rows loaded into memory.

use std::collections::BTreeMap;

use chrono::{DateTime, Datelike, Duration, NaiveDate, Utc};
use sea_orm::sea_query::{Expr, Func};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, QueryTrait};
use serde::Serialize;
use utoipa::ToSchema;

use crate::clock::end_of_local_day;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
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
    /// Cases decided on their merits in the period (the workflow's
    /// `report_as = "decided"` states).
    pub closed: u64,
    /// Decided cases whose closing came before the end of their legal total
    /// deadline (7 working days for objections, 10 for repairs, pauses
    /// excluded), judged without any extension.
    pub within_deadline: u64,
    /// Objections the credit office decided itself, never routed (the
    /// platform's copy was wrong); 0 for repairs.
    pub closed_by_credit_office: u64,
    /// Of those, closed within 3 working days of receipt (Shandong Art. 39).
    pub closed_by_credit_office_within_3_days: u64,
    /// Decided after routing to the producing department.
    pub closed_by_department: u64,
    /// Of those, closed within the legal total (7 working days for objections).
    pub closed_by_department_within_deadline: u64,
    /// `within_deadline / closed`, or null when nothing was decided.
    pub share_within_deadline: Option<f64>,
    /// Withdrawn by the applicant in the period (reported apart).
    pub withdrawn: u64,
    /// Not accepted in the period (reported apart).
    pub not_accepted: u64,
    /// Ended without a decision (the window ran out, the record was withdrawn).
    pub ended_otherwise: u64,
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

/// A reporting period of whole local days, `from` and `to` included
/// (default: the 365 days up to today). Returns its first and last instant.
pub fn period(
    today: NaiveDate,
    from: Option<NaiveDate>,
    to: Option<NaiveDate>,
) -> ApiResult<(NaiveDate, NaiveDate, DateTime<Utc>, DateTime<Utc>)> {
    let in_range = |d: NaiveDate| (2000..=2100).contains(&d.year());
    if from.is_some_and(|d| !in_range(d)) || to.is_some_and(|d| !in_range(d)) {
        return Err(ApiError::field("from", "out_of_range", "统计日期须在 2000 年至 2100 年之间"));
    }
    let to = to.unwrap_or(today);
    let from = from.unwrap_or(to - Duration::days(365));
    if from > to {
        return Err(ApiError::field("from", "invalid_period", "统计起始日期不能晚于截止日期"));
    }
    Ok((from, to, end_of_local_day(from - Duration::days(1)), end_of_local_day(to)))
}

async fn department_names<C: ConnectionTrait>(db: &C) -> ApiResult<BTreeMap<i64, String>> {
    Ok(department::Entity::find().all(db).await?.into_iter().map(|d| (d.id, d.name)).collect())
}

/// Open cases counted by (department, kind), with an optional extra filter.
pub(crate) async fn open_counts<C: ConnectionTrait>(
    db: &C,
    extra: sea_orm::Condition,
) -> ApiResult<Vec<(i64, CaseKind, i64, Option<DateTime<Utc>>)>> {
    use sea_orm::sea_query::ExprTrait as _;
    let unrouted = Expr::col(case::Column::RoutedAt).is_null();
    /// (department, kind, not yet routed, count, earliest due).
    type Row = (i64, CaseKind, bool, i64, Option<DateTime<Utc>>);
    let rows: Vec<Row> = case::Entity::find()
        .select_only()
        .column(case::Column::DepartmentId)
        .column(case::Column::Kind)
        .column_as(unrouted.clone(), "unrouted")
        .column_as(Expr::expr(Func::count(Expr::col(case::Column::Id))), "n")
        .column_as(Expr::expr(Func::min(Expr::col(case::Column::DueAt))), "oldest")
        .filter(case::Column::ClosedAt.is_null())
        .filter(extra)
        .group_by(case::Column::DepartmentId)
        .group_by(case::Column::Kind)
        .group_by(unrouted)
        .into_tuple()
        .all(db)
        .await?;
    // A case counts against a department only once routed there; before,
    // the credit office holds it (formal check, supplements).
    let office = credit_office_id(db).await?;
    Ok(rows
        .into_iter()
        .map(|(d, k, unrouted, n, oldest)| (if unrouted { office.unwrap_or(d) } else { d }, k, n, oldest))
        .collect())
}

/// Open cases by (holder, kind) in one pass: how many, how many fall due by
/// `soon` without being overdue, how many are overdue. The holder is the
/// department once routed, the credit office before.
async fn open_load<C: ConnectionTrait>(db: &C, soon: DateTime<Utc>) -> ApiResult<Vec<(i64, CaseKind, u64, u64, u64)>> {
    use sea_orm::sea_query::ExprTrait as _;
    let unrouted = Expr::col(case::Column::RoutedAt).is_null();
    let due_soon = Expr::col(case::Column::Overdue).eq(false).and(Expr::col(case::Column::DueAt).lte(soon));
    let late = Expr::col(case::Column::Overdue).eq(true);
    let q = case::Entity::find()
        .select_only()
        .column(case::Column::DepartmentId)
        .column(case::Column::Kind)
        .column_as(unrouted.clone(), "unrouted")
        .column_as(Expr::expr(Func::count(Expr::col(case::Column::Id))), "n")
        .column_as(Expr::from(Func::sum(Expr::case(due_soon, 1).finally(0))), "soon")
        .column_as(Expr::from(Func::sum(Expr::case(late, 1).finally(0))), "late")
        .filter(case::Column::ClosedAt.is_null())
        .group_by(case::Column::DepartmentId)
        .group_by(case::Column::Kind)
        .group_by(unrouted);
    let rows = db.query_all_raw(q.build(db.get_database_backend())).await?;
    let office = credit_office_id(db).await?;
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        let d: i64 = row.try_get("", "department_id")?;
        let kind: CaseKind = row.try_get("", "kind")?;
        let unrouted: bool = row.try_get("", "unrouted")?;
        let count = |v: Option<i64>| u64::try_from(v.unwrap_or(0)).unwrap_or(0);
        let n: i64 = row.try_get("", "n")?;
        let soon: Option<i64> = row.try_get("", "soon")?;
        let late: Option<i64> = row.try_get("", "late")?;
        let holder = if unrouted { office.unwrap_or(d) } else { d };
        out.push((holder, kind, count(Some(n)), count(soon), count(late)));
    }
    Ok(out)
}

/// The credit office's own department (it holds cases before routing).
async fn credit_office_id<C: ConnectionTrait>(db: &C) -> ApiResult<Option<i64>> {
    Ok(department::Entity::find()
        .filter(department::Column::Kind.eq(entity::types::DepartmentKind::CreditOffice))
        .one(db)
        .await?
        .map(|d| d.id))
}

/// A case closed in a period, with what the reports judge it by.
#[derive(Debug, Clone)]
pub struct ClosedCase {
    pub kind: CaseKind,
    /// Who holds it for the reports: the routed department, else the credit office.
    pub department_id: i64,
    pub class: Option<crate::workflow::ClosureClass>,
    /// Closed before the end of its legal total (no extension counted).
    pub within_legal: bool,
    /// An objection the credit office decided itself, never routed.
    pub own_branch: bool,
    /// Of those, closed within 3 working days of receipt (Shandong Art. 39).
    pub within_own_scope: bool,
    pub received_on: chrono::NaiveDate,
    pub closed_on: chrono::NaiveDate,
}

/// Every case closed in the period, judged: the one place timeliness is decided.
pub async fn closed_cases(state: &AppState, from: DateTime<Utc>, to: DateTime<Utc>) -> ApiResult<Vec<ClosedCase>> {
    let db = &state.read;
    /// (id, kind, closed at, state, workflow hash, received at, routed at, department).
    type Closed = (i64, CaseKind, Option<DateTime<Utc>>, String, String, DateTime<Utc>, Option<DateTime<Utc>>, i64);
    let closed: Vec<Closed> = case::Entity::find()
        .select_only()
        .column(case::Column::Id)
        .column(case::Column::Kind)
        .column(case::Column::ClosedAt)
        .column(case::Column::State)
        .column(case::Column::WorkflowHash)
        .column(case::Column::ReceivedAt)
        .column(case::Column::RoutedAt)
        .column(case::Column::DepartmentId)
        .filter(case::Column::ClosedAt.gte(from))
        .filter(case::Column::ClosedAt.lte(to))
        .into_tuple()
        .all(db)
        .await?;
    // The legal total of each case: the rule's budget without extensions.
    let cal = state.calendar();
    let mut total_due: BTreeMap<i64, DateTime<Utc>> = BTreeMap::new();
    let ids: Vec<i64> = closed.iter().map(|c| c.0).collect();
    for chunk in ids.chunks(500) {
        let rows = deadline::Entity::find()
            .filter(deadline::Column::CaseId.is_in(chunk.to_vec()))
            .filter(deadline::Column::Kind.eq(DeadlineKind::Total))
            .all(db)
            .await?;
        for row in rows {
            let legal = match crate::services::cases::deadlines::count_of(&row).legal_due(&cal) {
                Ok(d) => crate::clock::end_of_local_day(d.due),
                // A year without a calendar: judge by the stored due time.
                Err(_) => row.due_at,
            };
            total_due.insert(row.case_id, legal);
        }
    }
    let office = credit_office_id(db).await?;
    let local = |t: DateTime<Utc>| t.with_timezone(&crate::clock::shanghai()).date_naive();
    let mut out = Vec::with_capacity(closed.len());
    for (id, kind, closed_at, st, hash, received_at, routed_at, dept) in closed {
        let Some(closed_at) = closed_at else { continue };
        let class = state.workflows.pinned(db, &hash).await?.state(&st).and_then(|s| s.report_as);
        let within_legal = total_due.get(&id).is_some_and(|due| closed_at <= *due);
        let own_branch = kind == CaseKind::Objection && routed_at.is_none();
        let within_own_scope = own_branch
            && cal
                .add_working_days(local(received_at), crate::domain::deadline::OWN_SCOPE_WORKING_DAYS)
                .is_ok_and(|d| closed_at <= crate::clock::end_of_local_day(d.due));
        out.push(ClosedCase {
            kind,
            department_id: if routed_at.is_some() { dept } else { office.unwrap_or(dept) },
            class,
            within_legal,
            own_branch,
            within_own_scope,
            received_on: local(received_at),
            closed_on: local(closed_at),
        });
    }
    Ok(out)
}

/// Cases closed in the period, split by kind and by how they closed; decided
/// ones within or past their total deadline.
async fn timeliness(state: &AppState, from: DateTime<Utc>, to: DateTime<Utc>) -> ApiResult<(Timeliness, Timeliness)> {
    use crate::workflow::ClosureClass;
    let (mut objections, mut repairs) = (Timeliness::default(), Timeliness::default());
    for c in closed_cases(state, from, to).await? {
        let t = if c.kind == CaseKind::Objection { &mut objections } else { &mut repairs };
        match c.class {
            Some(ClosureClass::Decided) => {
                t.closed += 1;
                if c.within_legal {
                    t.within_deadline += 1;
                }
                if c.own_branch {
                    t.closed_by_credit_office += 1;
                    if c.within_own_scope {
                        t.closed_by_credit_office_within_3_days += 1;
                    }
                } else {
                    t.closed_by_department += 1;
                    if c.within_legal {
                        t.closed_by_department_within_deadline += 1;
                    }
                }
            }
            Some(ClosureClass::Withdrawn) => t.withdrawn += 1,
            Some(ClosureClass::NotAccepted) => t.not_accepted += 1,
            Some(ClosureClass::Moot) | None => t.ended_otherwise += 1,
        }
    }
    for t in [&mut objections, &mut repairs] {
        t.share_within_deadline = (t.closed > 0).then(|| t.within_deadline as f64 / t.closed as f64);
    }
    Ok((objections, repairs))
}

pub async fn overview(state: &AppState, from: DateTime<Utc>, to: DateTime<Utc>) -> ApiResult<Overview> {
    let db = &state.read;
    let now = state.clock.now();
    let names = department_names(db).await?;
    let mut load: BTreeMap<i64, DepartmentLoad> = BTreeMap::new();
    let entry = |load: &mut BTreeMap<i64, DepartmentLoad>, d: i64| {
        load.entry(d).or_insert_with(|| DepartmentLoad {
            department_id: d,
            department_name: names.get(&d).cloned().unwrap_or_default(),
            ..Default::default()
        });
    };
    for (d, kind, n, _) in open_counts(db, sea_orm::Condition::all()).await? {
        entry(&mut load, d);
        let l = load.get_mut(&d).expect("entry just inserted");
        if kind == CaseKind::Objection {
            l.open_objections += n as u64;
        } else {
            l.open_repairs += n as u64;
        }
    }
    for (d, _, n, oldest) in open_counts(db, sea_orm::Condition::all().add(case::Column::Overdue.eq(true))).await? {
        entry(&mut load, d);
        let l = load.get_mut(&d).expect("entry just inserted");
        l.overdue += n as u64;
        l.oldest_overdue_due_at = match (l.oldest_overdue_due_at, oldest) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
    }
    let (objections, repairs) = timeliness(state, from, to).await?;
    Ok(Overview {
        generated_at: now,
        period_from: from,
        period_to: to,
        departments: load.into_values().collect(),
        objections,
        repairs,
    })
}

/// One department's row on the dashboard.
#[derive(Debug, Default, Clone, Serialize, ToSchema)]
pub struct DashboardRow {
    pub department_id: i64,
    pub department_name: String,
    pub open_objections: u64,
    pub open_repairs: u64,
    pub due_soon: u64,
    pub overdue: u64,
}

/// An overdue open case.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct OverdueCase {
    pub id: i64,
    pub case_no: String,
    pub kind: CaseKind,
    pub kind_label: &'static str,
    pub state_title: String,
    pub department_name: String,
    pub due_at: Option<DateTime<Utc>>,
    pub due_on: Option<NaiveDate>,
    pub last_urged_on: Option<NaiveDate>,
    pub last_urged_by: Option<String>,
}

/// Cases filed and closed in one week (Monday to Sunday, local time).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Week {
    pub start: NaiveDate,
    pub filed: u64,
    pub closed: u64,
}

/// What the credit office watches.
#[derive(Debug, Serialize, ToSchema)]
pub struct Dashboard {
    pub generated_at: DateTime<Utc>,
    pub open: u64,
    pub due_soon: u64,
    pub overdue: u64,
    pub rows: Vec<DashboardRow>,
    pub longest_overdue: Vec<OverdueCase>,
    pub period_from: NaiveDate,
    pub period_to: NaiveDate,
    pub objections: Timeliness,
    pub repairs: Timeliness,
    pub weeks: Vec<Week>,
}

/// How many cases have `column` in each interval (bounds[i], bounds[i + 1]]:
/// one query of SUM(CASE ...) columns, counted by the database.
async fn weekly_counts<C: ConnectionTrait>(
    db: &C,
    column: case::Column,
    bounds: &[DateTime<Utc>],
) -> ApiResult<Vec<u64>> {
    use sea_orm::sea_query::ExprTrait as _;
    let n = bounds.len().saturating_sub(1);
    if n == 0 {
        return Ok(Vec::new());
    }
    let mut q = case::Entity::find().select_only().filter(column.gt(bounds[0])).filter(column.lte(bounds[n]));
    for i in 0..n {
        let inside = Expr::col(column).gt(bounds[i]).and(Expr::col(column).lte(bounds[i + 1]));
        q = q.column_as(Expr::from(Func::sum(Expr::case(inside, 1).finally(0))), format!("w{i}"));
    }
    let Some(row) = db.query_one_raw(q.build(db.get_database_backend())).await? else {
        return Ok(vec![0; n]);
    };
    // SUM is NULL when nothing matched.
    (0..n)
        .map(|i| {
            let v: Option<i64> = row.try_get("", &format!("w{i}"))?;
            Ok(u64::try_from(v.unwrap_or(0)).unwrap_or(0))
        })
        .collect()
}

/// The monitoring dashboard: open, due within one working day and overdue
/// cases by department and kind; the ten longest-overdue cases; timeliness
/// for the period; filings and closures in each of the last eight weeks.
pub async fn dashboard(state: &AppState, from: Option<NaiveDate>, to: Option<NaiveDate>) -> ApiResult<Dashboard> {
    let db = &state.read;
    let now = state.clock.now();
    let today = state.clock.today();
    let (pfrom, pto, start, end) = period(today, from, to)?;
    let soon = state.calendar().next_working_day(today).map(end_of_local_day).unwrap_or(now + Duration::days(1));
    let names = department_names(db).await?;
    let mut rows: BTreeMap<i64, DashboardRow> = BTreeMap::new();
    let (mut open, mut soon_n, mut overdue) = (0, 0, 0);
    for (d, k, n, due_soon, late) in open_load(db, soon).await? {
        let r = rows.entry(d).or_insert_with(|| DashboardRow {
            department_id: d,
            department_name: names.get(&d).cloned().unwrap_or_default(),
            ..Default::default()
        });
        match k {
            CaseKind::Objection => r.open_objections += n,
            CaseKind::Repair => r.open_repairs += n,
        }
        r.due_soon += due_soon;
        r.overdue += late;
        open += n;
        soon_n += due_soon;
        overdue += late;
    }
    let worst = case::Entity::find()
        .filter(case::Column::ClosedAt.is_null())
        .filter(case::Column::Overdue.eq(true))
        .order_by_asc(case::Column::DueAt)
        .limit(10)
        .all(db)
        .await?;
    let urged_by = crate::services::cases::view::last_urgers(db, &worst).await?;
    let mut longest_overdue = Vec::with_capacity(worst.len());
    for c in worst {
        let def = state.workflows.pinned(db, &c.workflow_hash).await?;
        longest_overdue.push(OverdueCase {
            id: c.id,
            kind_label: c.kind.label_zh(),
            kind: c.kind,
            state_title: def.state(&c.state).map(|s| s.title.clone()).unwrap_or_default(),
            department_name: names.get(&c.department_id).cloned().unwrap_or_default(),
            due_on: c.due_at.map(crate::services::cases::notice::due_day),
            due_at: c.due_at,
            last_urged_on: c.last_urged_on,
            last_urged_by: urged_by.get(&c.id).cloned(),
            case_no: c.case_no,
        });
    }
    let (objections, repairs) = timeliness(state, start, end).await?;
    // The last eight weeks, Monday to Sunday.
    let monday = today - Duration::days(today.weekday().num_days_from_monday() as i64);
    let first = monday - Duration::weeks(7);
    // Week i covers (bounds[i], bounds[i + 1]]: local Mondays at midnight.
    let bounds: Vec<DateTime<Utc>> =
        (0..=8).map(|i| end_of_local_day(first + Duration::weeks(i) - Duration::days(1))).collect();
    let filed = weekly_counts(db, case::Column::ReceivedAt, &bounds).await?;
    let closed = weekly_counts(db, case::Column::ClosedAt, &bounds).await?;
    let weeks: Vec<Week> =
        (0..8).map(|i| Week { start: first + Duration::weeks(i as i64), filed: filed[i], closed: closed[i] }).collect();
    Ok(Dashboard {
        generated_at: now,
        open,
        due_soon: soon_n,
        overdue,
        rows: rows.into_values().collect(),
        longest_overdue,
        period_from: pfrom,
        period_to: pto,
        objections,
        repairs,
        weeks,
    })
}
