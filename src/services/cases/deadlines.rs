//! Deadline rows of a case. Entering a state with a deadline starts a `step`
//! row; the whole case runs on a `total` row that pauses while the applicant
//! supplements materials. The arithmetic is `domain::deadline`; this module
//! loads a case's open rows once, applies a transition's clock changes in
//! memory, and writes only the rows that changed.

use chrono::{DateTime, NaiveDate, Utc};
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, Set};
use serde_json::{Value, json};

use crate::clock::end_of_local_day;
use crate::domain::calendar::{Calendar, DueDate};
use crate::domain::deadline::Count;
use crate::error::ApiResult;
use entity::deadline;
use entity::types::{DeadlineKind, DeadlineStatus};

/// The counting state of a stored row.
pub fn count_of(d: &deadline::Model) -> Count {
    Count {
        budget_days: d.budget_days.max(0) as u32,
        extended_days: d.extended_days.max(0) as u32,
        started_on: d.started_on,
        due_on: d.due_on,
        provisional: d.provisional,
        used_before: d.used_days_at_pause.unwrap_or(0).max(0) as u32,
    }
}

fn push_history(history: &str, entry: Value) -> String {
    let mut v: Vec<Value> = serde_json::from_str(history).unwrap_or_default();
    v.push(entry);
    Value::Array(v).to_string()
}

/// A new running row.
#[allow(clippy::too_many_arguments)]
fn new_row(
    case_id: i64,
    kind: DeadlineKind,
    state: &str,
    start: NaiveDate,
    count: &Count,
    due: &DueDate,
    now: DateTime<Utc>,
) -> deadline::ActiveModel {
    let history = json!([{
        "at": now, "event": "started", "start": start, "working_days": count.budget_days,
        "due": due.due, "counted": due.counted, "provisional": due.provisional,
    }]);
    deadline::ActiveModel {
        case_id: Set(case_id),
        kind: Set(kind),
        state: Set(state.into()),
        budget_days: Set(count.budget_days as i32),
        extended_days: Set(0),
        started_on: Set(start),
        due_on: Set(count.due_on),
        due_at: Set(end_of_local_day(count.due_on)),
        provisional: Set(count.provisional),
        status: Set(DeadlineStatus::Running),
        paused_on: Set(None),
        used_days_at_pause: Set(None),
        history: Set(history.to_string()),
        warned_at: Set(None),
        overdue_at: Set(None),
        created_at: Set(now),
        ..Default::default()
    }
}

/// One open row and whether it changed.
struct Open {
    row: deadline::Model,
    changed: bool,
}

impl Open {
    fn set_count(&mut self, c: &Count) {
        self.row.extended_days = c.extended_days as i32;
        self.row.started_on = c.started_on;
        self.row.due_on = c.due_on;
        self.row.due_at = end_of_local_day(c.due_on);
        self.row.provisional = c.provisional;
        self.changed = true;
    }
    fn log(&mut self, entry: Value) {
        self.row.history = push_history(&self.row.history, entry);
        self.changed = true;
    }
}

/// The case's deadline columns: (step due_at, total due_at, any provisional).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Summary {
    pub due_at: Option<DateTime<Utc>>,
    pub total_due_at: Option<DateTime<Utc>>,
    pub provisional: bool,
}

/// A case's open deadline rows, changed in memory and written once.
pub struct Clocks {
    case_id: i64,
    step: Option<Open>,
    total: Option<Open>,
    /// Rows that left the open set (met) and must be written.
    closed: Vec<deadline::Model>,
    new_step: Option<deadline::ActiveModel>,
    new_step_row: Option<deadline::Model>,
    new_total: Option<deadline::ActiveModel>,
}

impl Clocks {
    /// Loads the case's open rows (one query).
    pub async fn load<C: ConnectionTrait>(db: &C, case_id: i64) -> ApiResult<Clocks> {
        let rows = deadline::Entity::find()
            .filter(deadline::Column::CaseId.eq(case_id))
            .filter(deadline::Column::Status.is_in(DeadlineStatus::OPEN))
            .order_by_desc(deadline::Column::Id)
            .all(db)
            .await?;
        let mut clocks = Clocks::empty(case_id);
        for row in rows {
            let slot = match row.kind {
                DeadlineKind::Step => &mut clocks.step,
                DeadlineKind::Total => &mut clocks.total,
            };
            if slot.is_none() {
                *slot = Some(Open { row, changed: false });
            }
        }
        Ok(clocks)
    }

    /// A new case: no rows yet.
    pub fn empty(case_id: i64) -> Clocks {
        Clocks {
            case_id,
            step: None,
            total: None,
            closed: Vec::new(),
            new_step: None,
            new_step_row: None,
            new_total: None,
        }
    }

    fn close(&mut self, kind: DeadlineKind, today: NaiveDate, now: DateTime<Utc>) {
        let slot = match kind {
            DeadlineKind::Step => self.step.take(),
            DeadlineKind::Total => self.total.take(),
        };
        if let Some(mut o) = slot {
            o.log(json!({"at": now, "event": "closed", "on": today}));
            o.row.status = DeadlineStatus::Met;
            self.closed.push(o.row);
        }
        if kind == DeadlineKind::Step {
            self.new_step = None;
            self.new_step_row = None;
        }
    }

    /// The state was left: its step deadline is met.
    pub fn close_step(&mut self, today: NaiveDate, now: DateTime<Utc>) {
        self.close(DeadlineKind::Step, today, now);
    }

    /// The case closed: every open deadline is met.
    pub fn close_all(&mut self, today: NaiveDate, now: DateTime<Utc>) {
        self.close(DeadlineKind::Step, today, now);
        self.close(DeadlineKind::Total, today, now);
    }

    /// Starts the step deadline of the state entered.
    pub fn start_step(
        &mut self,
        cal: &Calendar,
        state: &str,
        days: u32,
        today: NaiveDate,
        now: DateTime<Utc>,
    ) -> ApiResult<NaiveDate> {
        let (count, due) = Count::start(cal, today, days)?;
        self.new_step = Some(new_row(self.case_id, DeadlineKind::Step, state, today, &count, &due, now));
        self.new_step_row = Some(row_of(self.case_id, DeadlineKind::Step, state, &count));
        Ok(count.due_on)
    }

    /// Starts the whole case's deadline (intake).
    pub fn start_total(
        &mut self,
        cal: &Calendar,
        state: &str,
        days: u32,
        today: NaiveDate,
        now: DateTime<Utc>,
    ) -> ApiResult<NaiveDate> {
        let (count, due) = Count::start(cal, today, days)?;
        let am = new_row(self.case_id, DeadlineKind::Total, state, today, &count, &due, now);
        self.total = Some(Open { row: row_of(self.case_id, DeadlineKind::Total, state, &count), changed: false });
        self.new_total = Some(am);
        Ok(count.due_on)
    }

    /// Stops the total clock; the working days used so far are kept.
    pub fn pause_total(&mut self, cal: &Calendar, today: NaiveDate, now: DateTime<Utc>) -> ApiResult<()> {
        let Some(o) = self.total.as_mut().filter(|o| o.row.status == DeadlineStatus::Running) else { return Ok(()) };
        let mut c = count_of(&o.row);
        let used = c.pause(cal, today)?;
        o.row.status = DeadlineStatus::Paused;
        o.row.paused_on = Some(today);
        o.row.used_days_at_pause = Some(used as i32);
        o.log(json!({"at": now, "event": "paused", "on": today, "used_working_days": used}));
        Ok(())
    }

    /// Restarts the total clock with the remaining budget, counted after today.
    pub fn resume_total(&mut self, cal: &Calendar, today: NaiveDate, now: DateTime<Utc>) -> ApiResult<()> {
        let Some(o) = self.total.as_mut().filter(|o| o.row.status == DeadlineStatus::Paused) else { return Ok(()) };
        let mut c = count_of(&o.row);
        let remaining = c.remaining();
        let due = c.resume(cal, today)?;
        o.set_count(&c);
        o.row.status = DeadlineStatus::Running;
        o.row.paused_on = None;
        o.row.warned_at = None;
        o.log(json!({"at": now, "event": "resumed", "on": today, "remaining_working_days": remaining,
                     "due": due.due, "counted": due.counted, "provisional": due.provisional}));
        Ok(())
    }

    /// Adds `days` working days to the step deadline, and to the total when
    /// `moves_total`; otherwise the step moves only up to the total's due
    /// day. Returns the step's new due day.
    pub fn extend(
        &mut self,
        cal: &Calendar,
        days: u32,
        moves_total: bool,
        reason: &str,
        approver: Option<i64>,
        now: DateTime<Utc>,
    ) -> ApiResult<Option<NaiveDate>> {
        let mut new_step_due = None;
        let mut days = days;
        if !moves_total && let (Some(step), Some(total)) = (self.step.as_ref(), self.total.as_ref()) {
            days = crate::domain::deadline::extension_inside_total(cal, days, step.row.due_on, total.row.due_on)?;
        }
        for (kind, slot) in [(DeadlineKind::Step, &mut self.step), (DeadlineKind::Total, &mut self.total)] {
            if kind == DeadlineKind::Total && !moves_total {
                continue;
            }
            let Some(o) = slot.as_mut() else { continue };
            let running = o.row.status == DeadlineStatus::Running;
            let previous = o.row.due_on;
            let mut c = count_of(&o.row);
            let due = c.extend(cal, days, running)?;
            o.set_count(&c);
            if running {
                o.row.warned_at = None;
                o.row.overdue_at = None;
            }
            o.log(json!({"at": now, "event": "extended", "working_days": days, "reason": reason,
                         "approved_by": approver, "previous_due": previous, "due": due.due,
                         "counted": due.counted, "provisional": due.provisional}));
            if kind == DeadlineKind::Step {
                new_step_due = Some(due.due);
            }
        }
        Ok(new_step_due)
    }

    /// The total deadline's count as it now stands (open, just closed or
    /// just started), if this transition holds it.
    pub fn total_count(&self) -> Option<Count> {
        let closed = self.closed.iter().find(|d| d.kind == DeadlineKind::Total);
        self.total.as_ref().map(|o| &o.row).or(closed).map(count_of)
    }

    /// The case's deadline columns as the rows now stand.
    pub fn summary(&self) -> Summary {
        let step = self.new_step_row.as_ref().or(self.step.as_ref().map(|o| &o.row));
        let total = self.total.as_ref().map(|o| &o.row);
        let running = |d: Option<&deadline::Model>| d.filter(|d| d.status == DeadlineStatus::Running).map(|d| d.due_at);
        Summary {
            due_at: running(step),
            total_due_at: running(total),
            provisional: step.is_some_and(|d| d.provisional) || total.is_some_and(|d| d.provisional),
        }
    }

    /// Writes the changed and new rows (in the caller's transaction): the
    /// changed ones in one statement (an upsert on their ids, which exist),
    /// the new ones in another.
    pub async fn save<C: ConnectionTrait>(mut self, db: &C) -> ApiResult<()> {
        use sea_orm::sea_query::OnConflict;
        let changed: Vec<deadline::ActiveModel> = self
            .closed
            .drain(..)
            .chain(self.step.take().filter(|o| o.changed).map(|o| o.row))
            .chain(self.total.take().filter(|o| o.changed).map(|o| o.row))
            .map(|row| sea_orm::IntoActiveModel::into_active_model(row).reset_all())
            .collect();
        if !changed.is_empty() {
            let update = OnConflict::column(deadline::Column::Id)
                .update_columns([
                    deadline::Column::Status,
                    deadline::Column::ExtendedDays,
                    deadline::Column::StartedOn,
                    deadline::Column::DueOn,
                    deadline::Column::DueAt,
                    deadline::Column::Provisional,
                    deadline::Column::PausedOn,
                    deadline::Column::UsedDaysAtPause,
                    deadline::Column::History,
                    deadline::Column::WarnedAt,
                    deadline::Column::OverdueAt,
                ])
                .to_owned();
            deadline::Entity::insert_many(changed).on_conflict(update).exec_without_returning(db).await?;
        }
        let new: Vec<deadline::ActiveModel> =
            [self.new_step.take(), self.new_total.take()].into_iter().flatten().collect();
        if !new.is_empty() {
            deadline::Entity::insert_many(new).exec_without_returning(db).await?;
        }
        Ok(())
    }
}

/// The case's latest total deadline row, whatever its status (one query).
pub async fn total_of<C: ConnectionTrait>(db: &C, case_id: i64) -> ApiResult<Option<deadline::Model>> {
    Ok(deadline::Entity::find()
        .filter(deadline::Column::CaseId.eq(case_id))
        .filter(deadline::Column::Kind.eq(DeadlineKind::Total))
        .order_by_desc(deadline::Column::Id)
        .one(db)
        .await?)
}

/// A row as it will be stored (the id is not known before the insert).
fn row_of(case_id: i64, kind: DeadlineKind, state: &str, c: &Count) -> deadline::Model {
    deadline::Model {
        id: 0,
        case_id,
        kind,
        state: state.into(),
        budget_days: c.budget_days as i32,
        extended_days: 0,
        started_on: c.started_on,
        due_on: c.due_on,
        due_at: end_of_local_day(c.due_on),
        provisional: c.provisional,
        status: DeadlineStatus::Running,
        paused_on: None,
        used_days_at_pause: None,
        history: String::new(),
        warned_at: None,
        overdue_at: None,
        created_at: chrono::DateTime::<Utc>::MIN_UTC,
    }
}
