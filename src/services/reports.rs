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

use crate::clock::{end_of_local_day, local_date};
use crate::domain::calendar::Calendar;
use crate::domain::deadline::{Count, judge_closing};
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use crate::workflow::ClosureClass;
use entity::types::{CaseKind, DeadlineKind};
use entity::{case, closure_count, deadline, department};

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

/// Open cases of one holder and kind: the department once routed, the
/// credit office before (formal check, supplements).
#[derive(Debug, Clone, Copy)]
pub struct OpenLoad {
    pub holder: i64,
    pub kind: CaseKind,
    pub open: u64,
    /// Falling due by the `soon` given, not yet overdue (0 without one).
    pub due_soon: u64,
    pub overdue: u64,
    /// Due time of the longest-overdue case.
    pub oldest_overdue: Option<DateTime<Utc>>,
}

/// Open cases by (holder, kind) in one pass over the open cases (a partial
/// index holds just them): how many, how many fall due by `soon` without
/// being overdue, how many are overdue and since when.
pub async fn open_load<C: ConnectionTrait>(db: &C, soon: Option<DateTime<Utc>>) -> ApiResult<Vec<OpenLoad>> {
    use sea_orm::sea_query::ExprTrait as _;
    let unrouted = Expr::col(case::Column::RoutedAt).is_null();
    let late = Expr::col(case::Column::Overdue).eq(true);
    let due_soon = match soon {
        Some(t) => Expr::col(case::Column::Overdue).eq(false).and(Expr::col(case::Column::DueAt).lte(t)),
        None => Expr::val(false),
    };
    let q = case::Entity::find()
        .select_only()
        .column(case::Column::DepartmentId)
        .column(case::Column::Kind)
        .column_as(unrouted.clone(), "unrouted")
        .column_as(Expr::expr(Func::count(Expr::col(case::Column::Id))), "n")
        .column_as(Expr::from(Func::sum(Expr::case(due_soon, 1).finally(0))), "soon")
        .column_as(Expr::from(Func::sum(Expr::case(late.clone(), 1).finally(0))), "late")
        .column_as(Expr::from(Func::min(Expr::case(late, Expr::col(case::Column::DueAt)))), "oldest")
        .filter(case::Column::ClosedAt.is_null())
        .group_by(case::Column::DepartmentId)
        .group_by(case::Column::Kind)
        .group_by(unrouted);
    let rows = db.query_all_raw(q.build(db.get_database_backend())).await?;
    let office = credit_office_id(db).await?;
    let mut out: Vec<OpenLoad> = Vec::with_capacity(rows.len());
    for row in rows {
        let d: i64 = row.try_get("", "department_id")?;
        let kind: CaseKind = row.try_get("", "kind")?;
        let unrouted: bool = row.try_get("", "unrouted")?;
        let count = |v: Option<i64>| u64::try_from(v.unwrap_or(0)).unwrap_or(0);
        let n: i64 = row.try_get("", "n")?;
        let soon: Option<i64> = row.try_get("", "soon")?;
        let late: Option<i64> = row.try_get("", "late")?;
        let oldest: Option<DateTime<Utc>> = row.try_get("", "oldest")?;
        let holder = if unrouted { office.unwrap_or(d) } else { d };
        // Routed and unrouted rows of one department and kind merge.
        let load = OpenLoad {
            holder,
            kind,
            open: count(Some(n)),
            due_soon: count(soon),
            overdue: count(late),
            oldest_overdue: oldest,
        };
        match out.iter_mut().find(|o| o.holder == holder && o.kind == kind) {
            Some(o) => {
                o.open += load.open;
                o.due_soon += load.due_soon;
                o.overdue += load.overdue;
                o.oldest_overdue = match (o.oldest_overdue, load.oldest_overdue) {
                    (Some(a), Some(b)) => Some(std::cmp::min(a, b)),
                    (a, b) => a.or(b),
                };
            }
            None => out.push(load),
        }
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

/// Judges a closing case (closed at `closed_at`, its final state counted as
/// `class`) and writes the judgement on the row: the one place timeliness is
/// decided. `total` is the case's total deadline as the closing left it.
pub(crate) fn judge(cal: &Calendar, c: &mut case::Model, class: ClosureClass, total: Option<&Count>) {
    let Some(closed_at) = c.closed_at else { return };
    let closed_on = local_date(closed_at);
    let own_branch = c.kind == CaseKind::Objection && c.routed_at.is_none();
    let j = judge_closing(cal, total, own_branch, local_date(c.received_at), closed_on);
    c.closure_class = Some(class.as_str().to_string());
    c.closed_on = Some(closed_on);
    c.closed_within_legal = Some(j.within_legal);
    c.closed_within_own_scope = Some(j.within_own_scope);
    c.handling_working_days = j.handling_working_days.map(|n| i32::try_from(n).unwrap_or(i32::MAX));
}

/// The `closure_counts` row a judged case adds one to (None: not judged).
/// Timeliness and handling time count for decided cases only.
fn closure_key(c: &case::Model) -> Option<closure_count::Model> {
    let class = c.closure_class.clone()?;
    let decided = class == ClosureClass::Decided.as_str();
    let days = c.handling_working_days.filter(|_| decided);
    Some(closure_count::Model {
        closed_on: c.closed_on?,
        department_id: c.department_id,
        kind: c.kind,
        closure_class: class,
        routed: c.routed_at.is_some(),
        within_legal: decided && c.closed_within_legal == Some(true),
        within_own_scope: decided && c.closed_within_own_scope == Some(true),
        n: 1,
        timed: i64::from(days.is_some()),
        days_sum: i64::from(days.unwrap_or(0)),
        days_max: days.unwrap_or(0),
    })
}

/// Moves a case's count in `closure_counts`, in the transaction that judged
/// it: out of the row of its earlier judgement (a revoked repair closes a
/// second time), into the row of the new one.
pub(crate) async fn count_closure<C: ConnectionTrait>(
    db: &C,
    before: &case::Model,
    after: &case::Model,
) -> ApiResult<()> {
    use sea_orm::sea_query::{ExprTrait as _, OnConflict, Query};
    let (old, new) = (closure_key(before), closure_key(after));
    if old == new {
        return Ok(());
    }
    if let Some(o) = old {
        // The longest handling time left in the row, read again: the case's
        // own row was already written with its new judgement.
        let days_max: Expr = if o.closure_class == ClosureClass::Decided.as_str() {
            let routed = if o.routed { case::Column::RoutedAt.is_not_null() } else { case::Column::RoutedAt.is_null() };
            let max = Query::select()
                .expr(Func::max(Expr::col(case::Column::HandlingWorkingDays)))
                .from(case::Entity)
                .and_where(case::Column::ClosedOn.eq(o.closed_on))
                .and_where(case::Column::DepartmentId.eq(o.department_id))
                .and_where(case::Column::Kind.eq(o.kind))
                .and_where(case::Column::ClosureClass.eq(o.closure_class.clone()))
                .and_where(routed)
                .and_where(case::Column::ClosedWithinLegal.eq(o.within_legal))
                .and_where(case::Column::ClosedWithinOwnScope.eq(o.within_own_scope))
                .to_owned();
            Func::coalesce([Expr::SubQuery(None, Box::new(max.into())), Expr::val(0)]).into()
        } else {
            Expr::val(0)
        };
        closure_count::Entity::update_many()
            .col_expr(closure_count::Column::N, Expr::col(closure_count::Column::N).sub(1))
            .col_expr(closure_count::Column::Timed, Expr::col(closure_count::Column::Timed).sub(o.timed))
            .col_expr(closure_count::Column::DaysSum, Expr::col(closure_count::Column::DaysSum).sub(o.days_sum))
            .col_expr(closure_count::Column::DaysMax, days_max)
            .filter(closure_count::Column::ClosedOn.eq(o.closed_on))
            .filter(closure_count::Column::DepartmentId.eq(o.department_id))
            .filter(closure_count::Column::Kind.eq(o.kind))
            .filter(closure_count::Column::ClosureClass.eq(o.closure_class))
            .filter(closure_count::Column::Routed.eq(o.routed))
            .filter(closure_count::Column::WithinLegal.eq(o.within_legal))
            .filter(closure_count::Column::WithinOwnScope.eq(o.within_own_scope))
            .exec(db)
            .await?;
    }
    if let Some(n) = new {
        use closure_count::Column as K;
        let add = OnConflict::columns([
            K::ClosedOn,
            K::DepartmentId,
            K::Kind,
            K::ClosureClass,
            K::Routed,
            K::WithinLegal,
            K::WithinOwnScope,
        ])
        .value(K::N, Expr::cust("closure_counts.n + excluded.n"))
        .value(K::Timed, Expr::cust("closure_counts.timed + excluded.timed"))
        .value(K::DaysSum, Expr::cust("closure_counts.days_sum + excluded.days_sum"))
        .value(K::DaysMax, Func::greatest([Expr::cust("closure_counts.days_max"), Expr::cust("excluded.days_max")]))
        .to_owned();
        closure_count::Entity::insert(sea_orm::IntoActiveModel::into_active_model(n))
            .on_conflict(add)
            .exec_without_returning(db)
            .await?;
    }
    Ok(())
}

/// Closed cases summed for the reports.
#[derive(Debug, Clone)]
pub struct ClosureGroup {
    pub kind: CaseKind,
    /// Who holds them for the reports: the routed department, else the credit office.
    pub department_id: i64,
    pub class: Option<ClosureClass>,
    /// Closed before the end of the legal total (decided cases).
    pub within_legal: bool,
    /// Objections the credit office decided itself, never routed.
    pub own_branch: bool,
    /// Of those, closed within 3 working days of receipt (Shandong Art. 39).
    pub within_own_scope: bool,
    pub cases: u64,
    /// Decided cases with a known handling time, its sum and maximum (working days).
    pub timed: u64,
    pub days_sum: u64,
    pub days_max: u32,
}

/// The cases closed from `from` to `to` (local days, both included), summed
/// by holder, kind and judgement: one aggregate over `closure_counts`, a few
/// rows per day however many cases closed.
pub async fn closure_groups<C: ConnectionTrait>(
    db: &C,
    from: NaiveDate,
    to: NaiveDate,
) -> ApiResult<Vec<ClosureGroup>> {
    use closure_count::Column as K;
    let q = closure_count::Entity::find()
        .select_only()
        .column(K::DepartmentId)
        .column(K::Kind)
        .column(K::ClosureClass)
        .column(K::Routed)
        .column(K::WithinLegal)
        .column(K::WithinOwnScope)
        // SUM of a bigint is numeric on PostgreSQL: cast back.
        .column_as(Expr::cust("CAST(SUM(n) AS BIGINT)"), "n")
        .column_as(Expr::cust("CAST(SUM(timed) AS BIGINT)"), "timed")
        .column_as(Expr::cust("CAST(SUM(days_sum) AS BIGINT)"), "days_sum")
        .column_as(Expr::cust("CAST(MAX(days_max) AS BIGINT)"), "days_max")
        .filter(K::ClosedOn.gte(from))
        .filter(K::ClosedOn.lte(to))
        .filter(K::N.gt(0))
        .group_by(K::DepartmentId)
        .group_by(K::Kind)
        .group_by(K::ClosureClass)
        .group_by(K::Routed)
        .group_by(K::WithinLegal)
        .group_by(K::WithinOwnScope);
    /// (department, kind, class, routed, within legal, within own scope, n, timed, days sum, days max).
    type Row = (i64, CaseKind, String, bool, bool, bool, i64, i64, i64, i64);
    let rows: Vec<Row> = q.into_tuple().all(db).await?;
    let office = credit_office_id(db).await?;
    let count = |v: i64| u64::try_from(v).unwrap_or(0);
    Ok(rows
        .into_iter()
        .map(|(d, kind, class, routed, within_legal, within_own_scope, n, timed, sum, max)| ClosureGroup {
            kind,
            department_id: if routed { d } else { office.unwrap_or(d) },
            class: ClosureClass::parse(&class),
            within_legal,
            own_branch: kind == CaseKind::Objection && !routed,
            within_own_scope,
            cases: count(n),
            timed: count(timed),
            days_sum: count(sum),
            days_max: u32::try_from(max).unwrap_or(0),
        })
        .collect())
}

/// The local days of a period's instants ([`period`]: the end of the day
/// before the first, the end of the last).
pub fn period_days(from: DateTime<Utc>, to: DateTime<Utc>) -> (NaiveDate, NaiveDate) {
    (local_date(from) + Duration::days(1), local_date(to))
}

/// Judges the cases closed before closings were judged (cases closed before
/// migration 000008), in batches, counting each: run once when the server
/// starts; nothing to do afterwards. Returns how many were judged.
pub async fn judge_unjudged(state: &AppState) -> anyhow::Result<u64> {
    use sea_orm::{ActiveModelTrait as _, TransactionTrait};
    let cal = state.calendar();
    let mut judged = 0;
    loop {
        let txn = state.db.begin().await?;
        let batch = case::Entity::find()
            .filter(case::Column::ClosedAt.is_not_null())
            .filter(case::Column::ClosureClass.is_null())
            .order_by_asc(case::Column::Id)
            .limit(500)
            .all(&txn)
            .await?;
        if batch.is_empty() {
            return Ok(judged);
        }
        let ids: Vec<i64> = batch.iter().map(|c| c.id).collect();
        let totals: BTreeMap<i64, deadline::Model> = deadline::Entity::find()
            .filter(deadline::Column::CaseId.is_in(ids))
            .filter(deadline::Column::Kind.eq(DeadlineKind::Total))
            .order_by_asc(deadline::Column::Id)
            .all(&txn)
            .await?
            .into_iter()
            .map(|d| (d.case_id, d))
            .collect();
        for before in batch {
            let def = state.workflows.pinned(&txn, &before.workflow_hash).await?;
            let class = def.state(&before.state).and_then(|s| s.report_as).unwrap_or(ClosureClass::Moot);
            let mut after = before.clone();
            let total = totals.get(&before.id).map(crate::services::cases::deadlines::count_of);
            judge(&cal, &mut after, class, total.as_ref());
            let mut am = sea_orm::IntoActiveModel::into_active_model(after.clone()).reset_all();
            am.id = sea_orm::ActiveValue::NotSet;
            // Another process starting at the same time may have judged it.
            let res = case::Entity::update_many()
                .set(am)
                .filter(case::Column::Id.eq(before.id))
                .filter(case::Column::ClosureClass.is_null())
                .exec(&txn)
                .await?;
            if res.rows_affected == 1 {
                count_closure(&txn, &before, &after).await?;
                judged += 1;
            }
        }
        txn.commit().await?;
    }
}

/// Cases closed in the period, split by kind and by how they closed; decided
/// ones within or past their total deadline.
async fn timeliness<C: ConnectionTrait>(
    db: &C,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> ApiResult<(Timeliness, Timeliness)> {
    let (mut objections, mut repairs) = (Timeliness::default(), Timeliness::default());
    let (first, last) = period_days(from, to);
    for g in closure_groups(db, first, last).await? {
        let t = if g.kind == CaseKind::Objection { &mut objections } else { &mut repairs };
        let n = g.cases;
        match g.class {
            Some(ClosureClass::Decided) => {
                t.closed += n;
                if g.within_legal {
                    t.within_deadline += n;
                }
                if g.own_branch {
                    t.closed_by_credit_office += n;
                    if g.within_own_scope {
                        t.closed_by_credit_office_within_3_days += n;
                    }
                } else {
                    t.closed_by_department += n;
                    if g.within_legal {
                        t.closed_by_department_within_deadline += n;
                    }
                }
            }
            Some(ClosureClass::Withdrawn) => t.withdrawn += n,
            Some(ClosureClass::NotAccepted) => t.not_accepted += n,
            Some(ClosureClass::Moot) | None => t.ended_otherwise += n,
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
    for o in open_load(db, None).await? {
        entry(&mut load, o.holder);
        let l = load.get_mut(&o.holder).expect("entry just inserted");
        if o.kind == CaseKind::Objection {
            l.open_objections += o.open;
        } else {
            l.open_repairs += o.open;
        }
        l.overdue += o.overdue;
        l.oldest_overdue_due_at = match (l.oldest_overdue_due_at, o.oldest_overdue) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
    }
    let (objections, repairs) = timeliness(db, from, to).await?;
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
    week_sums(db, q, n).await
}

/// Runs a one-row query of columns `w0`..`w{weeks-1}` (sums, NULL when
/// nothing matched) and returns them as counts.
async fn week_sums<C: ConnectionTrait, E: EntityTrait>(
    db: &C,
    q: sea_orm::Select<E>,
    weeks: usize,
) -> ApiResult<Vec<u64>> {
    let Some(row) = db.query_one_raw(q.build(db.get_database_backend())).await? else {
        return Ok(vec![0; weeks]);
    };
    (0..weeks)
        .map(|w| {
            let v: Option<i64> = row.try_get("", &format!("w{w}"))?;
            Ok(u64::try_from(v.unwrap_or(0)).unwrap_or(0))
        })
        .collect()
}

/// Cases closed in each of `weeks` weeks from `first` (local days, Monday
/// to Sunday): one query over `closure_counts`, a few rows per day.
async fn weekly_closings<C: ConnectionTrait>(db: &C, first: NaiveDate, weeks: usize) -> ApiResult<Vec<u64>> {
    use sea_orm::sea_query::{Alias, ExprTrait as _};
    if weeks == 0 {
        return Ok(Vec::new());
    }
    let day = |w: usize, d: i64| first + Duration::weeks(w as i64) + Duration::days(d);
    let mut q = closure_count::Entity::find()
        .select_only()
        .filter(closure_count::Column::ClosedOn.gte(first))
        .filter(closure_count::Column::ClosedOn.lte(day(weeks - 1, 6)));
    for w in 0..weeks {
        let inside = Expr::col(closure_count::Column::ClosedOn)
            .gte(day(w, 0))
            .and(Expr::col(closure_count::Column::ClosedOn).lte(day(w, 6)));
        let n = Func::sum(Expr::case(inside, Expr::col(closure_count::Column::N)).finally(0));
        // SUM of a bigint is numeric on PostgreSQL: cast back.
        q = q.column_as(Expr::from(Func::cast_as(n, Alias::new("BIGINT"))), format!("w{w}"));
    }
    week_sums(db, q, weeks).await
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
    for o in open_load(db, Some(soon)).await? {
        let r = rows.entry(o.holder).or_insert_with(|| DashboardRow {
            department_id: o.holder,
            department_name: names.get(&o.holder).cloned().unwrap_or_default(),
            ..Default::default()
        });
        match o.kind {
            CaseKind::Objection => r.open_objections += o.open,
            CaseKind::Repair => r.open_repairs += o.open,
        }
        r.due_soon += o.due_soon;
        r.overdue += o.overdue;
        open += o.open;
        soon_n += o.due_soon;
        overdue += o.overdue;
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
    let (objections, repairs) = timeliness(db, start, end).await?;
    // The last eight weeks, Monday to Sunday.
    let monday = today - Duration::days(today.weekday().num_days_from_monday() as i64);
    let first = monday - Duration::weeks(7);
    // Week i covers (bounds[i], bounds[i + 1]]: local Mondays at midnight.
    let bounds: Vec<DateTime<Utc>> =
        (0..=8).map(|i| end_of_local_day(first + Duration::weeks(i) - Duration::days(1))).collect();
    let filed = weekly_counts(db, case::Column::ReceivedAt, &bounds).await?;
    let closed = weekly_closings(db, first, 8).await?;
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
