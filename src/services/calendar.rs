//! The working-day calendar: the shipped years, plus years an administrator
//! loaded or corrected (kept in `calendar_years`, which win).

use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set, TransactionTrait};

use crate::domain::calendar::{Calendar, DueDate, YearFile};
use crate::error::{ApiError, ApiResult};
use crate::services::cases::deadlines::{Clocks, count_of};
use crate::state::AppState;
use entity::calendar_year;
use entity::types::DeadlineStatus;

/// The shipped calendar overlaid with the years stored in the database.
pub async fn load<C: ConnectionTrait>(db: &C) -> anyhow::Result<Calendar> {
    let mut cal = Calendar::builtin();
    for row in calendar_year::Entity::find().all(db).await? {
        if row.reverted {
            cal.unload_year(row.year).map_err(|e| anyhow::anyhow!("calendar year {}: {e}", row.year))?;
            continue;
        }
        let year = YearFile::parse_json(&row.data).map_err(|e| anyhow::anyhow!("calendar year {}: {e}", row.year))?;
        cal.load_year(year).map_err(|e| anyhow::anyhow!("calendar year {}: {e}", row.year))?;
    }
    Ok(cal)
}

/// The Nth working day after `from` (at most 250 working days).
pub fn due(state: &AppState, from: chrono::NaiveDate, working_days: u32) -> ApiResult<DueDate> {
    if working_days > 250 {
        return Err(ApiError::field("working_days", "out_of_range", "工作日数不能超过 250"));
    }
    Ok(state.calendar().add_working_days(from, working_days)?)
}

/// Stores a year's arrangement (for `path_year`), makes it live and
/// recomputes the running deadlines it changes (provisional ones, and those
/// counting days of that year), in one transaction. Returns the loaded years,
/// the number of deadlines recomputed and the number still provisional.
pub async fn put_year(
    state: &AppState,
    admin_id: i64,
    path_year: i32,
    year: YearFile,
) -> ApiResult<(Vec<i32>, u64, u64)> {
    if !(2000..=2100).contains(&year.year) {
        return Err(ApiError::field("year", "out_of_range", "年份须在 2000 年至 2100 年之间"));
    }
    if year.year != path_year {
        return Err(ApiError::field("year", "mismatch", "路径中的年份与数据中的年份不一致"));
    }
    year.validate()?;
    let mut cal = state.calendar();
    // Every statutory holiday of the year must be there (the lunar ones when
    // the lunar table covers the year).
    year.check_complete(cal.lunar_table().years.get(&year.year))?;
    let data = serde_json::to_string(&year).map_err(anyhow::Error::from)?;
    let now = state.clock.now();
    cal.load_year(year.clone())?;
    let txn = state.db.begin().await?;
    let existing = calendar_year::Entity::find_by_id(year.year).one(&txn).await?;
    let am = calendar_year::ActiveModel {
        year: Set(year.year),
        data: Set(data),
        updated_by: Set(Some(admin_id)),
        updated_at: Set(now),
        reverted: Set(false),
    };
    let action = if existing.as_ref().is_some_and(|e| !e.reverted) { "calendar_corrected" } else { "calendar_loaded" };
    if existing.is_some() {
        am.update(&txn).await?;
    } else {
        am.insert(&txn).await?;
    }
    let recomputed = recompute(&txn, &cal, year.year, "节假日安排已加载", now).await?;
    let detail = serde_json::json!({
        "source": year.source, "days": year.days.len(), "recomputed_deadlines": recomputed,
    });
    admin_event(&txn, Some(admin_id), action, &format!("calendar:{}", year.year), detail, now).await?;
    txn.commit().await?;
    let loaded = cal.loaded_years();
    *state.calendar.write().map_err(|_| anyhow::anyhow!("calendar lock poisoned"))? = cal;
    Ok((loaded, recomputed, provisional_count(&state.db).await?))
}

/// Reverts a year to provisional (an arrangement was loaded by mistake, or
/// the official one is withdrawn): deadlines counting its days are counted
/// from the lunar-table estimate again and marked provisional, in one
/// transaction with the audit event. Returns the loaded years, the number of
/// deadlines recomputed and the number now provisional.
pub async fn revert_year(state: &AppState, admin_id: i64, year: i32, reason: &str) -> ApiResult<(Vec<i32>, u64, u64)> {
    let reason = reason.trim();
    if reason.is_empty() || reason.chars().count() > 500 {
        return Err(ApiError::field("reason", "invalid_length", "请填写恢复为推定安排的理由（500 字以内）"));
    }
    let mut cal = state.calendar();
    if !cal.is_loaded(year) {
        return Err(ApiError::conflict("calendar_not_loaded", format!("{year} 年没有已加载的节假日安排，无需恢复")));
    }
    cal.unload_year(year).map_err(|_| {
        ApiError::unprocessable(
            "no_provisional_year",
            format!("{year} 年无法按农历推定节假日，不能恢复为推定安排（期限将无法计算）"),
        )
    })?;
    let now = state.clock.now();
    let txn = state.db.begin().await?;
    let existing = calendar_year::Entity::find_by_id(year).one(&txn).await?;
    let am = calendar_year::ActiveModel {
        year: Set(year),
        data: Set(existing.as_ref().map(|e| e.data.clone()).unwrap_or_else(|| "{}".into())),
        updated_by: Set(Some(admin_id)),
        updated_at: Set(now),
        reverted: Set(true),
    };
    if existing.is_some() {
        am.update(&txn).await?;
    } else {
        am.insert(&txn).await?;
    }
    let recomputed = recompute(&txn, &cal, year, "节假日安排已恢复为推定", now).await?;
    let detail = serde_json::json!({"reason": reason, "recomputed_deadlines": recomputed});
    admin_event(&txn, Some(admin_id), "calendar_reverted", &format!("calendar:{year}"), detail, now).await?;
    txn.commit().await?;
    let loaded = cal.loaded_years();
    *state.calendar.write().map_err(|_| anyhow::anyhow!("calendar lock poisoned"))? = cal;
    Ok((loaded, recomputed, provisional_count(&state.db).await?))
}

/// An entry in the administrative audit trail.
pub async fn admin_event<C: ConnectionTrait>(
    db: &C,
    actor: Option<i64>,
    action: &str,
    target: &str,
    detail: serde_json::Value,
    at: chrono::DateTime<chrono::Utc>,
) -> ApiResult<()> {
    entity::admin_event::ActiveModel {
        at: Set(at),
        actor_user_id: Set(actor),
        action: Set(action.to_string()),
        target: Set(target.to_string()),
        detail: Set(detail.to_string()),
        ..Default::default()
    }
    .insert(db)
    .await?;
    Ok(())
}

/// A calendar change as the audit trail shows it.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct CalendarEvent {
    pub id: i64,
    pub at: chrono::DateTime<chrono::Utc>,
    pub actor_user_id: Option<i64>,
    /// `calendar_loaded`, `calendar_corrected` or `calendar_reverted`
    pub action: String,
    pub year: i32,
    #[schema(value_type = Object)]
    pub detail: serde_json::Value,
}

/// Every calendar change, newest first.
pub async fn events<C: ConnectionTrait>(db: &C) -> ApiResult<Vec<CalendarEvent>> {
    use sea_orm::QueryOrder;
    let rows = entity::admin_event::Entity::find()
        .filter(entity::admin_event::Column::Target.starts_with("calendar:"))
        .order_by_desc(entity::admin_event::Column::Id)
        .all(db)
        .await?;
    Ok(rows
        .into_iter()
        .map(|e| CalendarEvent {
            id: e.id,
            at: e.at,
            actor_user_id: e.actor_user_id,
            year: e.target.trim_start_matches("calendar:").parse().unwrap_or_default(),
            action: e.action,
            detail: serde_json::from_str(&e.detail).unwrap_or_default(),
        })
        .collect())
}

/// Recomputes running deadlines that were computed provisionally, or whose
/// window touches `year` (a corrected arrangement changes them too).
pub async fn recompute<C: ConnectionTrait>(
    db: &C,
    cal: &Calendar,
    year: i32,
    reason: &str,
    now: chrono::DateTime<chrono::Utc>,
) -> ApiResult<u64> {
    use entity::deadline;
    use sea_orm::Condition;
    let (first, last) =
        match (chrono::NaiveDate::from_ymd_opt(year, 1, 1), chrono::NaiveDate::from_ymd_opt(year, 12, 31)) {
            (Some(f), Some(l)) => (f, l),
            _ => return Ok(0),
        };
    let rows =
        deadline::Entity::find()
            .filter(deadline::Column::Status.eq(DeadlineStatus::Running))
            .filter(Condition::any().add(deadline::Column::Provisional.eq(true)).add(
                Condition::all().add(deadline::Column::StartedOn.lte(last)).add(deadline::Column::DueOn.gte(first)),
            ))
            .all(db)
            .await?;
    let mut cases = Vec::new();
    let mut n = 0;
    for d in rows {
        let due = count_of(&d).recompute(cal)?;
        if due.due == d.due_on && due.provisional == d.provisional {
            continue;
        }
        n += 1;
        let mut history: Vec<serde_json::Value> = serde_json::from_str(&d.history).unwrap_or_default();
        history.push(serde_json::json!({
            "at": now, "event": "recomputed", "reason": reason, "previous_due": d.due_on,
            "due": due.due, "counted": due.counted, "provisional": due.provisional,
        }));
        cases.push(d.case_id);
        let mut am: deadline::ActiveModel = d.into();
        am.due_on = Set(due.due);
        am.due_at = Set(crate::clock::end_of_local_day(due.due));
        am.provisional = Set(due.provisional);
        am.history = Set(serde_json::Value::Array(history).to_string());
        am.update(db).await?;
    }
    cases.sort();
    cases.dedup();
    for id in cases {
        refresh_case(db, id).await?;
    }
    Ok(n)
}

/// Open deadlines still counted provisionally.
pub async fn provisional_count<C: ConnectionTrait>(db: &C) -> ApiResult<u64> {
    use entity::deadline;
    use sea_orm::PaginatorTrait;
    Ok(deadline::Entity::find()
        .filter(deadline::Column::Provisional.eq(true))
        .filter(deadline::Column::Status.is_in(DeadlineStatus::OPEN))
        .count(db)
        .await?)
}

/// Copies a case's open deadline rows onto its deadline columns.
async fn refresh_case<C: ConnectionTrait>(db: &C, case_id: i64) -> ApiResult<()> {
    use entity::case;
    use sea_orm::sea_query::Expr;
    let s = Clocks::load(db, case_id).await?.summary();
    case::Entity::update_many()
        .col_expr(case::Column::DueAt, Expr::value(s.due_at))
        .col_expr(case::Column::TotalDueAt, Expr::value(s.total_due_at))
        .col_expr(case::Column::ProvisionalDeadline, Expr::value(s.provisional))
        .filter(case::Column::Id.eq(case_id))
        .exec(db)
        .await?;
    Ok(())
}
