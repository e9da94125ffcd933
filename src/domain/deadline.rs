//! Deadline arithmetic in working days: start, pause, resume, extend,
//! recompute and the remaining budget. A deadline's due day is the end of
//! the Nth working day after its start day, which is not counted (Part B
//! §9.1). Pure: the calendar and the day are arguments.

use chrono::NaiveDate;

use super::calendar::{Calendar, CalendarError, DueDate};

/// The day on which the owner of a step is warned that it falls due: from
/// the start (00:00 local) of the step's last working day, which is its due
/// day; never earlier, so a step due on a Monday is warned on Monday, not
/// over the weekend. Queries use `due_on <= today`.
pub fn warning_day(due_on: NaiveDate) -> NaiveDate {
    due_on
}

/// How many of `days` extension working days a step may take when the
/// case-wide deadline does not move: only those up to the total's due day.
pub fn extension_inside_total(
    cal: &crate::domain::calendar::Calendar,
    days: u32,
    step_due: NaiveDate,
    total_due: NaiveDate,
) -> Result<u32, crate::domain::calendar::CalendarError> {
    if total_due <= step_due {
        return Ok(0);
    }
    let (room, _) = cal.working_days_between(step_due, total_due)?;
    Ok(days.min(room))
}

/// Shandong Art. 39: an objection the credit office settles itself (the
/// platform's copy was wrong) is closed within 3 working days of receipt;
/// with the producing department, within 7 (the workflow's total).
pub const OWN_SCOPE_WORKING_DAYS: u32 = 3;

/// The counting state of one deadline (a deadline row without its identity
/// and history).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Count {
    /// Working days the rule grants.
    pub budget_days: u32,
    /// Working days added by extensions.
    pub extended_days: u32,
    /// The day counting (re)started; not itself counted.
    pub started_on: NaiveDate,
    pub due_on: NaiveDate,
    /// Some counted day comes from a provisional calendar year.
    pub provisional: bool,
    /// Working days used before `started_on` (by earlier runs, before a pause).
    pub used_before: u32,
}

impl Count {
    /// A deadline of `days` working days counted after `on`.
    pub fn start(cal: &Calendar, on: NaiveDate, days: u32) -> Result<(Count, DueDate), CalendarError> {
        let due = cal.add_working_days(on, days)?;
        let count = Count {
            budget_days: days,
            extended_days: 0,
            started_on: on,
            due_on: due.due,
            provisional: due.provisional,
            used_before: 0,
        };
        Ok((count, due))
    }

    /// Working days still to run when counting (re)starts: the budget plus
    /// extensions less what was used before.
    pub fn remaining(&self) -> u32 {
        (self.budget_days + self.extended_days).saturating_sub(self.used_before)
    }

    /// Stops the clock on `today`: the working days used since the start (no
    /// more than up to the due day) are kept. Returns the total used.
    pub fn pause(&mut self, cal: &Calendar, today: NaiveDate) -> Result<u32, CalendarError> {
        let (used_now, _) = cal.working_days_between(self.started_on, today.min(self.due_on))?;
        self.used_before += used_now;
        Ok(self.used_before)
    }

    /// Restarts the clock after `today` with the remaining budget.
    pub fn resume(&mut self, cal: &Calendar, today: NaiveDate) -> Result<DueDate, CalendarError> {
        let due = cal.add_working_days(today, self.remaining())?;
        self.started_on = today;
        self.due_on = due.due;
        self.provisional = due.provisional;
        Ok(due)
    }

    /// Adds `days` working days. A running deadline's due day moves by that
    /// many working days; a paused one keeps its due day (the extension is in
    /// the budget it resumes with). Returns the due day the extension gives.
    pub fn extend(&mut self, cal: &Calendar, days: u32, running: bool) -> Result<DueDate, CalendarError> {
        let due = cal.add_working_days(self.due_on, days)?;
        self.extended_days += days;
        if running {
            self.due_on = due.due;
            self.provisional |= due.provisional;
        }
        Ok(due)
    }

    /// The due day the rule grants, without extensions: timeliness is judged
    /// against it (Shandong Art. 39), whatever an approved extension allowed.
    pub fn legal_due(&self, cal: &Calendar) -> Result<DueDate, CalendarError> {
        cal.add_working_days(self.started_on, self.budget_days.saturating_sub(self.used_before))
    }

    /// The due day recounted on a (changed) calendar from the same start and
    /// remaining budget.
    pub fn recompute(&self, cal: &Calendar) -> Result<DueDate, CalendarError> {
        cal.add_working_days(self.started_on, self.remaining())
    }
}

/// How the reports judge a case, decided once when it closes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClosingJudgement {
    /// Closed on or before the legal total's due day (no extension counted).
    pub within_legal: bool,
    /// An objection the credit office decided itself (never routed), closed
    /// within 3 working days of receipt (Shandong Art. 39).
    pub within_own_scope: bool,
    /// Working days after receipt up to the closing day (None: a year
    /// without a calendar).
    pub handling_working_days: Option<u32>,
}

/// Judges a case closing on `closed_on` (local day): `total` is its total
/// deadline as it stood (None: it never had one, e.g. not accepted at once),
/// `own_branch` an objection the credit office decided itself.
pub fn judge_closing(
    cal: &Calendar,
    total: Option<&Count>,
    own_branch: bool,
    received_on: NaiveDate,
    closed_on: NaiveDate,
) -> ClosingJudgement {
    let within_legal = total.is_some_and(|t| {
        // A year without a calendar: judged by the stored due day.
        let due = t.legal_due(cal).map(|d| d.due).unwrap_or(t.due_on);
        closed_on <= due
    });
    let within_own_scope =
        own_branch && cal.add_working_days(received_on, OWN_SCOPE_WORKING_DAYS).is_ok_and(|d| closed_on <= d.due);
    let handling_working_days = cal.working_days_between(received_on, closed_on).ok().map(|(n, _)| n);
    ClosingJudgement { within_legal, within_own_scope, handling_working_days }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_closing_is_judged_against_the_legal_total_and_the_own_scope() {
        let cal = Calendar::builtin();
        let received = date(2026, 9, 24);
        let (mut total, _) = Count::start(&cal, received, 7).unwrap();
        // Due 10-12 (Part B §9.1); an extension does not move the legal day.
        total.extend(&cal, 3, true).unwrap();
        let on_time = judge_closing(&cal, Some(&total), false, received, date(2026, 10, 12));
        assert!(on_time.within_legal);
        assert!(!on_time.within_own_scope);
        // 09-25..27 and 10-01..07 are off, 09-28 (Mon) is the first working day.
        assert_eq!(on_time.handling_working_days, Some(7));
        let late = judge_closing(&cal, Some(&total), false, received, date(2026, 10, 13));
        assert!(!late.within_legal);
        // The credit office's own branch: 3 working days after receipt is 09-30.
        assert!(judge_closing(&cal, Some(&total), true, received, date(2026, 9, 30)).within_own_scope);
        assert!(!judge_closing(&cal, Some(&total), true, received, date(2026, 10, 8)).within_own_scope);
        // No total deadline: never within it.
        assert!(!judge_closing(&cal, None, false, received, received).within_legal);
        assert_eq!(judge_closing(&cal, None, false, received, received).handling_working_days, Some(0));
    }

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    #[test]
    fn the_legal_due_day_ignores_extensions() {
        let cal = Calendar::builtin();
        let (mut c, _) = Count::start(&cal, date(2026, 9, 24), 10).unwrap();
        let legal = c.due_on;
        c.extend(&cal, 3, true).unwrap();
        assert!(c.due_on > legal);
        assert_eq!(c.legal_due(&cal).unwrap().due, legal);
        // Paused and resumed: the days used before count against the budget only.
        let (mut p, _) = Count::start(&cal, date(2026, 9, 24), 7).unwrap();
        // 09-25..27 are 中秋 days off: 09-28 and 09-29 are used.
        assert_eq!(p.pause(&cal, date(2026, 9, 29)).unwrap(), 2);
        p.resume(&cal, date(2026, 10, 12)).unwrap();
        p.extend(&cal, 3, true).unwrap();
        assert_eq!(p.legal_due(&cal).unwrap().due, cal.add_working_days(date(2026, 10, 12), 5).unwrap().due);
    }

    #[test]
    fn start_counts_after_the_start_day() {
        let cal = Calendar::builtin();
        // Part B §9.1 vectors.
        let (c, _) = Count::start(&cal, date(2026, 9, 24), 7).unwrap();
        assert_eq!(c.due_on, date(2026, 10, 12));
        assert_eq!(Count::start(&cal, date(2026, 9, 24), 3).unwrap().0.due_on, date(2026, 9, 30));
        assert_eq!(Count::start(&cal, date(2026, 2, 13), 10).unwrap().0.due_on, date(2026, 3, 5));
        assert_eq!(Count::start(&cal, date(2025, 12, 31), 7).unwrap().0.due_on, date(2026, 1, 12));
        assert_eq!(c.remaining(), 7);
    }

    #[test]
    fn pause_keeps_the_used_days_and_resume_runs_the_rest() {
        let cal = Calendar::builtin();
        let (mut c, _) = Count::start(&cal, date(2026, 9, 24), 7).unwrap();
        // 09-25..27 are off: 09-28 and 09-29 are used.
        assert_eq!(c.pause(&cal, date(2026, 9, 29)).unwrap(), 2);
        assert_eq!(c.remaining(), 5);
        // Resumed on 09-30: 10-08, 10-09, Sat 10-10 (make-up), 10-12, 10-13.
        let due = c.resume(&cal, date(2026, 9, 30)).unwrap();
        assert_eq!(due.due, date(2026, 10, 13));
        assert_eq!(c.started_on, date(2026, 9, 30));
        // A second pause adds to the first.
        assert_eq!(c.pause(&cal, date(2026, 10, 9)).unwrap(), 4);
        assert_eq!(c.remaining(), 3);
    }

    #[test]
    fn a_pause_after_the_due_day_uses_no_more_than_the_budget() {
        let cal = Calendar::builtin();
        let (mut c, _) = Count::start(&cal, date(2026, 9, 24), 3).unwrap();
        assert_eq!(c.pause(&cal, date(2026, 10, 20)).unwrap(), 3);
        assert_eq!(c.remaining(), 0);
    }

    #[test]
    fn extension_moves_a_running_deadline_only() {
        let cal = Calendar::builtin();
        let (mut c, _) = Count::start(&cal, date(2026, 9, 24), 3).unwrap();
        let due = c.extend(&cal, 3, true).unwrap();
        assert_eq!(due.due, date(2026, 10, 10));
        assert_eq!(c.due_on, date(2026, 10, 10));
        assert_eq!(c.remaining(), 6);

        let (mut paused, _) = Count::start(&cal, date(2026, 9, 24), 3).unwrap();
        paused.pause(&cal, date(2026, 9, 28)).unwrap();
        paused.extend(&cal, 3, false).unwrap();
        assert_eq!(paused.due_on, date(2026, 9, 30), "a paused deadline keeps its day");
        assert_eq!(paused.remaining(), 5);
    }

    #[test]
    fn recompute_recounts_from_the_start_with_what_remains() {
        let cal = Calendar::builtin();
        let (mut c, _) = Count::start(&cal, date(2026, 9, 24), 7).unwrap();
        c.due_on = date(2026, 10, 1); // as if counted on a wrong calendar
        assert_eq!(c.recompute(&cal).unwrap().due, date(2026, 10, 12));
    }
}
