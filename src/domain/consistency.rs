//! The record invariant: after any transition, scheduler job or
//! administrator's change, a record's publication status, its objection
//! mark, its list memberships and its sanctions agree with each other and
//! with the record's dates. One pure function over a record's facts; the
//! services load the facts (`services::consistency`) for the tests, which
//! call it after every step, and for `credit-repair check-records`.

use chrono::NaiveDate;
use serde::Serialize;

use super::period::PublicationEnd;
use entity::types::PublicationStatus;

/// Record types whose record *is* a list entry: while it is published the
/// subject is on the list, and off the list it is not published.
pub const LIST_RECORD_TYPES: [&str; 2] = ["serious_dishonesty_list", "abnormal_operation_list"];

/// Whether a record of this type is itself a list entry.
pub fn is_list_entry(record_type: &str) -> bool {
    LIST_RECORD_TYPES.contains(&record_type)
}

/// Whether sanctions and list entries may be added to a record: not once
/// its publication has ended or it is deleted (they would be in force on a
/// record that no longer is: `ended_but_listed`, `ended_but_sanctioned`).
pub fn may_attach(status: PublicationStatus, deleted: bool) -> bool {
    !deleted && status != PublicationStatus::Ended
}

/// What the invariant looks at for one record.
#[derive(Debug, Clone)]
pub struct RecordFacts<'a> {
    pub record_type: &'a str,
    pub status: PublicationStatus,
    pub deleted: bool,
    pub natural_person: bool,
    pub display_category: &'a str,
    pub publication_ends: NaiveDate,
    pub objection_open: bool,
    /// The case named by the record's objection mark, when it names one:
    /// (is it an objection, is it open).
    pub marked_case: Option<(bool, bool)>,
    /// Open objection cases on the record that were accepted (routed).
    pub accepted_open_objections: usize,
    pub active_lists: usize,
    /// List memberships ever recorded for the record, active or ended.
    pub all_lists: usize,
    pub active_sanctions: usize,
    /// The stored regime and the decision date it must match.
    pub regime: &'a str,
    pub decision_date: NaiveDate,
}

/// One way a record breaks the invariant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Violation {
    pub code: &'static str,
    pub message: String,
}

fn v(code: &'static str, message: impl Into<String>) -> Violation {
    Violation { code, message: message.into() }
}

/// Every way `f` breaks the invariant on `today` (empty when it holds).
pub fn check(f: &RecordFacts<'_>, today: NaiveDate, end: PublicationEnd) -> Vec<Violation> {
    use PublicationStatus::*;
    let mut out = Vec::new();
    let published = f.status == Published;
    if f.deleted && published {
        out.push(v("deleted_but_published", "已删除的信息仍在公示"));
    }
    if published && end.over(f.publication_ends, today) {
        out.push(v("published_past_end", format!("公示期已于 {} 届满，仍在公示", f.publication_ends)));
    }
    if f.natural_person && published {
        out.push(v("natural_person_published", "自然人信息不予公示，但处于公示状态"));
    }
    if f.natural_person && f.display_category != "不予公示" {
        out.push(v(
            "natural_person_category",
            format!("自然人信息的公示类别应为“不予公示”，实为“{}”", f.display_category),
        ));
    }
    if f.status == NotPublished && f.display_category != "不予公示" {
        out.push(v(
            "not_published_category",
            format!("未公示信息的公示类别应为“不予公示”，实为“{}”", f.display_category),
        ));
    }
    let removed = f.deleted || f.status == Ended;
    if removed && f.active_lists > 0 {
        out.push(v("ended_but_listed", "信息已终止公示或删除，主体仍在名单内"));
    }
    if removed && f.active_sanctions > 0 {
        out.push(v("ended_but_sanctioned", "信息已终止公示或删除，惩戒措施仍在执行"));
    }
    if is_list_entry(f.record_type) && published && f.all_lists > 0 && f.active_lists == 0 {
        out.push(v("off_list_but_published", "主体已移出名单，名单信息仍在公示"));
    }
    match (f.objection_open, f.marked_case) {
        (true, None) => out.push(v("mark_without_case", "标注“异议处理中”，但没有对应的异议案件")),
        (true, Some((false, _))) => out.push(v("mark_by_other_kind", "“异议处理中”标注指向的不是异议案件")),
        (true, Some((true, false))) => out.push(v("mark_of_closed_case", "异议案件已办结，“异议处理中”标注未撤除")),
        _ => {}
    }
    if !f.objection_open && f.accepted_open_objections > 0 {
        out.push(v("missing_mark", "异议已受理，信息未标注“异议处理中”"));
    }
    let in_force = crate::domain::period::Regime::in_force_on(f.decision_date);
    if f.regime != in_force.as_str() {
        out.push(v(
            "regime_mismatch",
            format!("决定日期 {} 适用{}，记录的适用规则为 {}", f.decision_date, in_force.label_zh(), f.regime),
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    fn good() -> RecordFacts<'static> {
        RecordFacts {
            record_type: "administrative_penalty",
            status: PublicationStatus::Published,
            deleted: false,
            natural_person: false,
            display_category: "公示满3个月可修复",
            publication_ends: day("2027-06-20"),
            objection_open: false,
            marked_case: None,
            accepted_open_objections: 0,
            active_lists: 0,
            all_lists: 0,
            active_sanctions: 2,
            regime: "current",
            decision_date: day("2026-06-20"),
        }
    }

    fn codes(f: &RecordFacts<'_>, today: &str) -> Vec<&'static str> {
        check(f, day(today), PublicationEnd::DayAfter).into_iter().map(|v| v.code).collect()
    }

    #[test]
    fn a_published_record_with_sanctions_inside_its_window_holds() {
        assert!(codes(&good(), "2026-11-23").is_empty());
    }

    #[test]
    fn the_regime_must_be_the_one_in_force_on_the_decision_date() {
        let f = RecordFacts { regime: "order58", ..good() };
        assert_eq!(codes(&f, "2026-11-23"), ["regime_mismatch"]);
        let f = RecordFacts { regime: "order58", decision_date: day("2025-06-20"), ..good() };
        assert!(codes(&f, "2026-11-23").is_empty());
    }

    #[test]
    fn publication_past_its_end_is_caught_the_day_after() {
        assert!(codes(&good(), "2027-06-20").is_empty(), "the end date is still published");
        assert_eq!(codes(&good(), "2027-06-21"), ["published_past_end"]);
        let on_end = check(&good(), day("2027-06-20"), PublicationEnd::OnEndDate);
        assert_eq!(on_end.iter().map(|v| v.code).collect::<Vec<_>>(), ["published_past_end"]);
    }

    #[test]
    fn an_ended_or_deleted_record_keeps_no_list_or_sanction() {
        let ended = RecordFacts { status: PublicationStatus::Ended, active_lists: 1, all_lists: 1, ..good() };
        assert_eq!(codes(&ended, "2026-11-23"), ["ended_but_listed", "ended_but_sanctioned"]);
        let deleted = RecordFacts { deleted: true, active_sanctions: 0, ..good() };
        assert_eq!(codes(&deleted, "2026-11-23"), ["deleted_but_published"]);
        let clean = RecordFacts { status: PublicationStatus::Ended, deleted: true, active_sanctions: 0, ..good() };
        assert!(codes(&clean, "2026-11-23").is_empty());
    }

    #[test]
    fn a_list_entry_off_its_list_is_not_published() {
        let off = RecordFacts { record_type: "serious_dishonesty_list", all_lists: 1, ..good() };
        assert_eq!(codes(&off, "2026-11-23"), ["off_list_but_published"]);
        let on = RecordFacts { active_lists: 1, ..off.clone() };
        assert!(codes(&on, "2026-11-23").is_empty());
        // A penalty whose subject left a list stays published.
        let penalty = RecordFacts { record_type: "administrative_penalty", ..off };
        assert!(codes(&penalty, "2026-11-23").is_empty());
    }

    #[test]
    fn natural_persons_are_never_published_and_show_no_category_but_not_published() {
        let np = RecordFacts { natural_person: true, ..good() };
        assert_eq!(codes(&np, "2026-11-23"), ["natural_person_published", "natural_person_category"]);
        let right = RecordFacts {
            natural_person: true,
            status: PublicationStatus::NotPublished,
            display_category: "不予公示",
            ..good()
        };
        assert!(codes(&right, "2026-11-23").is_empty());
    }

    #[test]
    fn the_objection_mark_follows_the_open_accepted_objection() {
        let missing = RecordFacts { accepted_open_objections: 1, ..good() };
        assert_eq!(codes(&missing, "2026-11-23"), ["missing_mark"]);
        let held = RecordFacts { objection_open: true, marked_case: Some((true, true)), ..missing };
        assert!(codes(&held, "2026-11-23").is_empty());
        let stale = RecordFacts { objection_open: true, marked_case: Some((true, false)), ..good() };
        assert_eq!(codes(&stale, "2026-11-23"), ["mark_of_closed_case"]);
        let orphan = RecordFacts { objection_open: true, ..good() };
        assert_eq!(codes(&orphan, "2026-11-23"), ["mark_without_case"]);
    }
}
