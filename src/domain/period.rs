//! Publication windows of administrative-penalty records.
//!
//! Each record belongs to a regulatory regime and has a severity. Together
//! with the decision date they determine whether the record is published, the
//! earliest date it may be repaired (credit repair) and the date its
//! publication ends automatically.
//!
//! Month arithmetic follows Art. 202 of the Civil Code (民法典): a period of
//! N months ends on the same-numbered day of the target month, or on that
//! month's last day if the target month has no such day.

use chrono::{Days, Months, NaiveDate};
use entity::types::PublicationStatus;
use serde::{Deserialize, Serialize};
use thiserror::Error;

/// Regulatory regime that governs a record's publication period.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Regime {
    /// 国办发〔2025〕22号 / 令第36号 (current rules).
    Current,
    /// 令第58号.
    Order58,
    /// 发改办财金〔2019〕527号 (legacy rules).
    Legacy527,
}

impl Regime {
    /// All regimes, in declaration order.
    pub const ALL: [Regime; 3] = [Regime::Current, Regime::Order58, Regime::Legacy527];

    /// Stable snake_case identifier (identical to the serde value).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Current => "current",
            Self::Order58 => "order58",
            Self::Legacy527 => "legacy527",
        }
    }

    /// Inverse of [`Regime::as_str`].
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.as_str() == s)
    }

    /// Chinese label naming the governing document(s).
    pub fn label_zh(self) -> &'static str {
        match self {
            Self::Current => "国办发〔2025〕22号 / 令第36号",
            Self::Order58 => "令第58号",
            Self::Legacy527 => "发改办财金〔2019〕527号",
        }
    }

    /// The regime in force on a decision date (rulebook Part B §0): NDRC
    /// Order 36 with 国办发〔2025〕22号 from 2026-04-01, Order 58 from
    /// 2023-05-01 until then, 527号 before.
    pub fn in_force_on(decision_date: NaiveDate) -> Regime {
        if decision_date >= order36_from() {
            Regime::Current
        } else if decision_date >= order58_from() {
            Regime::Order58
        } else {
            Regime::Legacy527
        }
    }

    /// Whether `severity` is a grade defined by this regime.
    pub fn accepts(self, severity: Severity) -> bool {
        use Severity::*;
        match self {
            Self::Current => matches!(severity, Minor | General | Serious),
            Self::Order58 => matches!(severity, General | Serious),
            Self::Legacy527 => matches!(severity, LegacyGeneral | LegacySerious | LegacySpecificSerious),
        }
    }
}

/// NDRC Order 36 (信用修复管理办法) in force.
pub fn order36_from() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 4, 1).expect("valid date")
}

/// NDRC Order 58 in force (repealed by Order 36).
pub fn order58_from() -> NaiveDate {
    NaiveDate::from_ymd_opt(2023, 5, 1).expect("valid date")
}

/// A record's regime: the one in force on its decision date when not
/// given; when given, it must be that one (`Err` names it).
pub fn regime_for(given: Option<Regime>, decision_date: NaiveDate) -> Result<Regime, Regime> {
    let in_force = Regime::in_force_on(decision_date);
    match given {
        Some(r) if r != in_force => Err(in_force),
        _ => Ok(in_force),
    }
}

/// The day a record's periods count from: its decision date, or for a
/// market-regulation (SAMR) record its publication date (令第45号 Art. 13:
/// "自公示之日起"), when known.
pub fn window_start(
    source: entity::types::RecordSource,
    decision_date: NaiveDate,
    published_on: Option<NaiveDate>,
) -> NaiveDate {
    match (source, published_on) {
        (entity::types::RecordSource::Samr, Some(p)) => p,
        _ => decision_date,
    }
}

/// Severity grade of a record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// 轻微.
    Minor,
    /// 一般.
    General,
    /// 严重.
    Serious,
    /// 一般失信 (legacy).
    LegacyGeneral,
    /// 严重失信 (legacy).
    LegacySerious,
    /// 特定严重失信 (legacy).
    LegacySpecificSerious,
}

impl Severity {
    /// All severities, in declaration order.
    pub const ALL: [Severity; 6] = [
        Severity::Minor,
        Severity::General,
        Severity::Serious,
        Severity::LegacyGeneral,
        Severity::LegacySerious,
        Severity::LegacySpecificSerious,
    ];

    /// Stable snake_case identifier (identical to the serde value).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Minor => "minor",
            Self::General => "general",
            Self::Serious => "serious",
            Self::LegacyGeneral => "legacy_general",
            Self::LegacySerious => "legacy_serious",
            Self::LegacySpecificSerious => "legacy_specific_serious",
        }
    }

    /// Inverse of [`Severity::as_str`].
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|v| v.as_str() == s)
    }

    /// Chinese label.
    pub fn label_zh(self) -> &'static str {
        match self {
            Self::Minor => "轻微",
            Self::General => "一般",
            Self::Serious => "严重",
            Self::LegacyGeneral => "一般失信",
            Self::LegacySerious => "严重失信",
            Self::LegacySpecificSerious => "特定严重失信",
        }
    }
}

/// Publication rule for one (regime, severity) pair.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PeriodRule {
    pub regime: Regime,
    pub severity: Severity,
    /// Whether the record is published at all.
    pub published: bool,
    /// Whether the record may be repaired before its publication ends.
    pub repairable: bool,
    /// Minimum publication period in months before repair is possible;
    /// `Some(0)` means repairable once obligations are fulfilled.
    #[serde(default)]
    pub min_months: Option<u32>,
    /// Maximum publication period in months (automatic end).
    pub max_months: u32,
}

/// The rule table plus global options; deserialisable so that a
/// configuration file can override it (missing fields keep their defaults).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct PeriodRules {
    pub rules: Vec<PeriodRule>,
    /// Repair becomes possible on the day after the minimum period ends
    /// (rather than on its last day).
    pub repair_from_day_after: bool,
    /// Publication never extends beyond this many months after the end of
    /// the conduct (Shandong regulations Art. 38: five years).
    pub conduct_cap_months: Option<u32>,
    /// Whether the record is still published on its end date.
    pub publication_end: PublicationEnd,
}

impl Default for PeriodRules {
    fn default() -> Self {
        use Regime::*;
        use Severity::*;
        let rule = |regime, severity, published, repairable, min_months, max_months| PeriodRule {
            regime,
            severity,
            published,
            repairable,
            min_months,
            max_months,
        };
        Self {
            rules: vec![
                rule(Current, Minor, false, true, Some(0), 3),
                rule(Current, General, true, true, Some(3), 12),
                rule(Current, Serious, true, true, Some(12), 36),
                rule(Order58, General, true, true, Some(3), 36),
                // Food, drugs, special equipment, work safety, fire safety.
                rule(Order58, Serious, true, true, Some(12), 36),
                rule(Legacy527, LegacyGeneral, true, true, Some(3), 12),
                rule(Legacy527, LegacySerious, true, true, Some(6), 36),
                rule(Legacy527, LegacySpecificSerious, true, false, None, 36),
            ],
            repair_from_day_after: true,
            conduct_cap_months: Some(60),
            publication_end: PublicationEnd::DayAfter,
        }
    }
}

/// Errors about the period rule table.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum PeriodError {
    /// No rule exists for the pair.
    #[error("未找到适用于{}“{}”等级的公示期限规则", .regime.label_zh(), .severity.label_zh())]
    NoRule { regime: Regime, severity: Severity },
    /// A rule pairs a severity with a regime that does not define it.
    #[error("{}未规定“{}”等级", .regime.label_zh(), .severity.label_zh())]
    SeverityNotInRegime { regime: Regime, severity: Severity },
    /// The table contains more than one rule for the pair.
    #[error("{}“{}”等级的公示期限规则重复", .regime.label_zh(), .severity.label_zh())]
    DuplicateRule { regime: Regime, severity: Severity },
    /// A rule's minimum period exceeds its maximum period.
    #[error(
        "{}“{}”等级的最短公示期（{min} 个月）超过最长公示期（{max} 个月）",
        .regime.label_zh(),
        .severity.label_zh()
    )]
    MinExceedsMax { regime: Regime, severity: Severity, min: u32, max: u32 },
}

impl PeriodError {
    /// Stable machine-readable code of the error.
    pub fn code(&self) -> &'static str {
        match self {
            Self::NoRule { .. } => "period_rule_missing",
            Self::SeverityNotInRegime { .. } => "period_severity_not_in_regime",
            Self::DuplicateRule { .. } => "period_rule_duplicate",
            Self::MinExceedsMax { .. } => "period_min_exceeds_max",
        }
    }
}

/// Adds `months` calendar months following Civil Code Art. 202: the result is
/// the same-numbered day of the target month, or that month's last day when
/// the target month is shorter. Saturates at [`NaiveDate::MAX`].
pub fn add_months(date: NaiveDate, months: u32) -> NaiveDate {
    date.checked_add_months(Months::new(months)).unwrap_or(NaiveDate::MAX)
}

/// Values derived from a record's regime, severity and dates.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Derived {
    pub published_by_default: bool,
    pub repairable: bool,
    /// Earliest date a repair may be granted; `None` when not repairable.
    pub repair_from: Option<NaiveDate>,
    /// Date on which publication ends automatically.
    pub publication_ends: NaiveDate,
    /// Chinese display category, e.g. "公示满1年可修复".
    pub display_category: String,
}

impl PeriodRules {
    /// The rule for the pair, if any (the first one when duplicated).
    pub fn rule(&self, regime: Regime, severity: Severity) -> Option<&PeriodRule> {
        self.rules.iter().find(|r| r.regime == regime && r.severity == severity)
    }

    /// Checks the table for severities outside their regime, duplicate
    /// pairs and minimum periods longer than the maximum.
    pub fn validate(&self) -> Result<(), PeriodError> {
        for (i, r) in self.rules.iter().enumerate() {
            let (regime, severity) = (r.regime, r.severity);
            if !regime.accepts(severity) {
                return Err(PeriodError::SeverityNotInRegime { regime, severity });
            }
            if self.rules[..i].iter().any(|o| o.regime == regime && o.severity == severity) {
                return Err(PeriodError::DuplicateRule { regime, severity });
            }
            if let Some(min) = r.min_months.filter(|&min| min > r.max_months) {
                return Err(PeriodError::MinExceedsMax { regime, severity, min, max: r.max_months });
            }
        }
        Ok(())
    }

    /// Derives the repair date, publication end and display category.
    ///
    /// `conduct_end` is the day the unlawful conduct ended; when given and a
    /// conduct cap is configured, publication ends no later than the cap.
    pub fn derive(
        &self,
        regime: Regime,
        severity: Severity,
        decision_date: NaiveDate,
        conduct_end: Option<NaiveDate>,
    ) -> Result<Derived, PeriodError> {
        let rule = self.rule(regime, severity).ok_or(PeriodError::NoRule { regime, severity })?;
        let min = rule.min_months.unwrap_or(0);

        let repair_from = rule.repairable.then(|| {
            let period_end = add_months(decision_date, min);
            if self.repair_from_day_after && min > 0 {
                period_end.checked_add_days(Days::new(1)).unwrap_or(period_end)
            } else {
                period_end
            }
        });

        let mut publication_ends = add_months(decision_date, rule.max_months);
        if let (Some(end), Some(cap)) = (conduct_end, self.conduct_cap_months) {
            publication_ends = publication_ends.min(add_months(end, cap));
        }

        Ok(Derived {
            published_by_default: rule.published,
            repairable: rule.repairable,
            repair_from,
            publication_ends,
            display_category: display_category(rule),
        })
    }
}

/// Chinese display category of a rule.
fn display_category(rule: &PeriodRule) -> String {
    if !rule.published {
        return "不予公示".to_owned();
    }
    if !rule.repairable {
        return "公示期满前不可修复".to_owned();
    }
    match rule.min_months.unwrap_or(0) {
        0 => "履行义务后可修复".to_owned(),
        m if m % 12 == 0 => format!("公示满{}年可修复", m / 12),
        m => format!("公示满{m}个月可修复"),
    }
}

/// The category a record shows, from its rule's category and its standing:
/// 不予公示 for a record not published (a natural person's always);
/// 公示期满前不可修复 when no repair can come before the end: the rule allows
/// none, the window ends (the Shandong cap included) before repair opens, or
/// a revoked repair bars it past the end; otherwise the rule's category.
pub fn shown_category(
    rule_category: &str,
    status: PublicationStatus,
    repair_from: Option<NaiveDate>,
    publication_ends: NaiveDate,
    barred_until: Option<NaiveDate>,
) -> String {
    const NONE_BEFORE_END: &str = "公示期满前不可修复";
    if status == PublicationStatus::NotPublished {
        return "不予公示".to_owned();
    }
    if repair_from.is_none_or(|from| from > publication_ends) || barred_until.is_some_and(|b| b >= publication_ends) {
        return NONE_BEFORE_END.to_owned();
    }
    rule_category.to_owned()
}

impl Derived {
    /// The display category of a record with these derived values, its
    /// publication status and its repair bar (`shown_category`).
    pub fn display_category_for(&self, status: PublicationStatus, barred_until: Option<NaiveDate>) -> String {
        shown_category(&self.display_category, status, self.repair_from, self.publication_ends, barred_until)
    }
}

/// When a record comes down relative to its end date (`publication_ends`).
/// The one place the boundary is decided: the scheduler, intake, restores,
/// new records and the record invariant all ask here.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PublicationEnd {
    /// 民法典 Art. 201–203: a period includes its last day, so a one-year
    /// window from 2025-11-23 ends at the end of 2026-11-23 and the record
    /// comes down on 2026-11-24 (the same convention as repair-from).
    #[default]
    DayAfter,
    /// The record comes down on its end date.
    OnEndDate,
}

impl PublicationEnd {
    /// The first day the record is no longer published.
    pub fn first_day_down(self, ends: NaiveDate) -> NaiveDate {
        match self {
            PublicationEnd::DayAfter => ends.succ_opt().unwrap_or(ends),
            PublicationEnd::OnEndDate => ends,
        }
    }

    /// Whether a window that ends on `ends` is over on `today`.
    pub fn over(self, ends: NaiveDate, today: NaiveDate) -> bool {
        today >= self.first_day_down(ends)
    }

    /// The latest end date whose window is over on `today` (for queries:
    /// `publication_ends <= latest_end_over(today)`).
    pub fn latest_end_over(self, today: NaiveDate) -> NaiveDate {
        match self {
            PublicationEnd::DayAfter => today.pred_opt().unwrap_or(today),
            PublicationEnd::OnEndDate => today,
        }
    }
}

/// Why an ended record cannot be published again (after a revoked repair or
/// any restore), or None when it can: a deleted record stays down, and no
/// restore republishes past the window's end (which already includes the
/// Shandong five-year cap on the conduct).
pub fn restore_refusal(deleted: bool, ends: NaiveDate, today: NaiveDate, end: PublicationEnd) -> Option<String> {
    if deleted {
        return Some("该信息已删除，不再恢复公示".to_owned());
    }
    if end.over(ends, today) {
        return Some(format!("该信息公示期已于 {ends} 届满，不再恢复公示"));
    }
    None
}

/// The publication status a record starts with, and why it is ended when it
/// starts ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InitialStatus {
    pub status: PublicationStatus,
    pub end_reason: Option<&'static str>,
}

/// Why a new record cannot have the status asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InitialStatusError {
    /// Only published or not published can be asked for.
    Ended,
    /// A natural person's record is never published (Shandong Art. 20).
    NaturalPersonPublished,
}

/// The status a new record (created, imported or seeded) starts with: what
/// was asked, else what the rule says; a natural person's record is not
/// published; a record whose window is already over starts ended, so it is
/// never shown and nobody is told it came down.
pub fn initial_status(
    derived: &Derived,
    requested: Option<PublicationStatus>,
    natural_person: bool,
    today: NaiveDate,
    end: PublicationEnd,
) -> Result<InitialStatus, InitialStatusError> {
    use PublicationStatus::*;
    let status = match (requested, natural_person) {
        (Some(Ended), _) => return Err(InitialStatusError::Ended),
        (Some(Published), true) => return Err(InitialStatusError::NaturalPersonPublished),
        (_, true) => NotPublished,
        (Some(s), false) => s,
        (None, false) if derived.published_by_default => Published,
        (None, false) => NotPublished,
    };
    if status == Published && end.over(derived.publication_ends, today) {
        return Ok(InitialStatus { status: Ended, end_reason: Some("录入时公示期已届满，不予公示") });
    }
    Ok(InitialStatus { status, end_reason: None })
}

/// What decides whether a record may be repaired on a given day.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordStanding {
    pub status: PublicationStatus,
    pub deleted: bool,
    pub repairable: bool,
    pub repair_from: Option<NaiveDate>,
    pub publication_ends: NaiveDate,
    pub repair_barred_until: Option<NaiveDate>,
}

impl From<&entity::record::Model> for RecordStanding {
    fn from(r: &entity::record::Model) -> Self {
        RecordStanding {
            status: r.publication_status,
            deleted: r.deleted,
            repairable: r.repairable,
            repair_from: r.repair_from,
            publication_ends: r.publication_ends,
            repair_barred_until: r.repair_barred_until,
        }
    }
}

/// Whether a repair may be applied for (and granted) on a day, or the first
/// reason it may not, in the order the rulebook checks them (Part A.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RepairEligibility {
    Open,
    /// The record was deleted (an objection outcome).
    Deleted,
    /// Never published: nothing to repair.
    NotPublished,
    /// Publication already ended.
    PublicationEnded,
    /// Not repairable before its publication ends (on `ends`).
    NotRepairable {
        ends: NaiveDate,
    },
    /// A revoked repair bars new applications until `until`.
    Barred {
        until: NaiveDate,
    },
    /// The maximum period ran out on `ends`: the publication is to be ended.
    PeriodOver {
        ends: NaiveDate,
    },
    /// Repair opens on `from`.
    TooEarly {
        from: NaiveDate,
    },
}

impl RepairEligibility {
    /// Stable code of a refusal (`repair_open` when open).
    pub fn code(&self) -> &'static str {
        match self {
            RepairEligibility::Open => "repair_open",
            RepairEligibility::Deleted => "record_deleted",
            RepairEligibility::NotPublished => "record_not_published",
            RepairEligibility::PublicationEnded => "publication_already_ended",
            RepairEligibility::NotRepairable { .. } => "record_not_repairable",
            RepairEligibility::Barred { .. } => "repair_barred",
            RepairEligibility::PeriodOver { .. } => "publication_period_over",
            RepairEligibility::TooEarly { .. } => "repair_too_early",
        }
    }

    /// What the applicant is told; `category` is the record's display category.
    pub fn message_zh(&self, category: &str) -> String {
        match self {
            RepairEligibility::Open => "可申请信用修复".to_owned(),
            RepairEligibility::Deleted => "该信用信息已删除，无需申请".to_owned(),
            RepairEligibility::NotPublished => "该信息未公示，无需申请信用修复".to_owned(),
            RepairEligibility::PublicationEnded => "该信息已终止公示，无需申请信用修复".to_owned(),
            RepairEligibility::NotRepairable { ends } => {
                format!("该信息属于“{category}”，公示期满前不可修复，将于 {ends} 自动终止公示")
            }
            RepairEligibility::Barred { until } => {
                format!("该信息的信用修复已因弄虚作假被撤销，{until} 前不得再次申请")
            }
            RepairEligibility::PeriodOver { ends } => {
                format!("该信息最长公示期已于 {ends} 届满，将自动终止公示，无需申请信用修复")
            }
            RepairEligibility::TooEarly { from } => format!("该信息自 {from} 起方可申请信用修复"),
        }
    }
}

/// The repair rule: a record may be repaired when it is published, not
/// deleted, repairable, not barred, `repair_from <= today < publication_ends`.
pub fn repair_eligibility(r: &RecordStanding, today: NaiveDate, end: PublicationEnd) -> RepairEligibility {
    use RepairEligibility::*;
    if r.deleted {
        return Deleted;
    }
    match r.status {
        PublicationStatus::NotPublished => return NotPublished,
        PublicationStatus::Ended => return PublicationEnded,
        PublicationStatus::Published => {}
    }
    let Some(from) = r.repair_from.filter(|_| r.repairable) else {
        return NotRepairable { ends: r.publication_ends };
    };
    if let Some(until) = r.repair_barred_until
        && today < until
    {
        return Barred { until };
    }
    if end.over(r.publication_ends, today) {
        return PeriodOver { ends: r.publication_ends };
    }
    // The window (the Shandong cap included) ends before repair would open.
    if from > r.publication_ends {
        return NotRepairable { ends: r.publication_ends };
    }
    if today < from {
        return TooEarly { from };
    }
    Open
}

#[cfg(test)]
mod tests {
    use super::*;

    const DA: PublicationEnd = PublicationEnd::DayAfter;

    #[test]
    fn a_one_year_window_from_2025_11_23_comes_down_on_2026_11_24() {
        let d = derive(Regime::Current, Severity::General, date(2025, 11, 23));
        assert_eq!(d.publication_ends, date(2026, 11, 23));
        assert!(!DA.over(d.publication_ends, date(2026, 11, 23)));
        assert!(DA.over(d.publication_ends, date(2026, 11, 24)));
        assert_eq!(DA.first_day_down(d.publication_ends), date(2026, 11, 24));
        assert_eq!(DA.latest_end_over(date(2026, 11, 24)), date(2026, 11, 23));
        let on = PublicationEnd::OnEndDate;
        assert!(on.over(d.publication_ends, date(2026, 11, 23)));
        assert_eq!(on.latest_end_over(date(2026, 11, 23)), date(2026, 11, 23));
    }
    use serde::de::IntoDeserializer;
    use serde::de::value::Error as ValueError;

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    fn derive(regime: Regime, severity: Severity, decision: NaiveDate) -> Derived {
        PeriodRules::default().derive(regime, severity, decision, None).unwrap()
    }

    #[test]
    fn add_months_follows_article_202() {
        assert_eq!(add_months(date(2025, 11, 30), 3), date(2026, 2, 28));
        assert_eq!(add_months(date(2024, 1, 31), 1), date(2024, 2, 29));
        assert_eq!(add_months(date(2023, 2, 28), 12), date(2024, 2, 28));
        assert_eq!(add_months(date(2024, 2, 29), 12), date(2025, 2, 28));
        assert_eq!(add_months(date(2025, 1, 15), 0), date(2025, 1, 15));
        assert_eq!(add_months(date(2025, 12, 31), 2), date(2026, 2, 28));
        assert_eq!(add_months(date(2025, 3, 31), 1), date(2025, 4, 30));
        assert_eq!(add_months(NaiveDate::MAX, 1), NaiveDate::MAX);
    }

    #[test]
    fn current_general_from_month_end() {
        let d = derive(Regime::Current, Severity::General, date(2025, 11, 30));
        // The 3-month period ends on 2026-02-28; repair opens the day after.
        assert!(d.published_by_default);
        assert!(d.repairable);
        assert_eq!(d.repair_from, Some(date(2026, 3, 1)));
        assert_eq!(d.publication_ends, date(2026, 11, 30));
        assert_eq!(d.display_category, "公示满3个月可修复");
    }

    #[test]
    fn repair_from_on_period_end_when_configured() {
        let rules = PeriodRules { repair_from_day_after: false, ..PeriodRules::default() };
        let d = rules.derive(Regime::Current, Severity::General, date(2025, 11, 30), None).unwrap();
        assert_eq!(d.repair_from, Some(date(2026, 2, 28)));
    }

    #[test]
    fn conduct_cap_limits_publication() {
        let rules = PeriodRules::default();
        let d = rules.derive(Regime::Current, Severity::Serious, date(2025, 1, 10), Some(date(2021, 6, 15))).unwrap();
        assert_eq!(d.publication_ends, date(2026, 6, 15));
        assert_eq!(d.repair_from, Some(date(2026, 1, 11)));

        // A later cap does not extend the publication.
        let d = rules.derive(Regime::Current, Severity::Serious, date(2025, 1, 10), Some(date(2024, 12, 1))).unwrap();
        assert_eq!(d.publication_ends, date(2028, 1, 10));

        // Without a configured cap, conduct_end is ignored.
        let uncapped = PeriodRules { conduct_cap_months: None, ..PeriodRules::default() };
        let d =
            uncapped.derive(Regime::Current, Severity::Serious, date(2025, 1, 10), Some(date(2021, 6, 15))).unwrap();
        assert_eq!(d.publication_ends, date(2028, 1, 10));
    }

    #[test]
    fn display_categories() {
        let decision = date(2025, 5, 20);
        let cases = [
            (Regime::Current, Severity::Minor, "不予公示"),
            (Regime::Current, Severity::General, "公示满3个月可修复"),
            (Regime::Current, Severity::Serious, "公示满1年可修复"),
            (Regime::Order58, Severity::General, "公示满3个月可修复"),
            (Regime::Order58, Severity::Serious, "公示满1年可修复"),
            (Regime::Legacy527, Severity::LegacyGeneral, "公示满3个月可修复"),
            (Regime::Legacy527, Severity::LegacySerious, "公示满6个月可修复"),
            (Regime::Legacy527, Severity::LegacySpecificSerious, "公示期满前不可修复"),
        ];
        for (regime, severity, expected) in cases {
            assert_eq!(derive(regime, severity, decision).display_category, expected);
        }

        let mut rule = PeriodRules::default().rule(Regime::Current, Severity::Minor).unwrap().clone();
        rule.published = true;
        assert_eq!(display_category(&rule), "履行义务后可修复");
        rule.min_months = Some(24);
        assert_eq!(display_category(&rule), "公示满2年可修复");
        rule.min_months = Some(18);
        assert_eq!(display_category(&rule), "公示满18个月可修复");
    }

    #[test]
    fn minor_is_unpublished_and_repairable_at_once() {
        let d = derive(Regime::Current, Severity::Minor, date(2025, 5, 20));
        assert!(!d.published_by_default);
        assert!(d.repairable);
        assert_eq!(d.repair_from, Some(date(2025, 5, 20)));
        assert_eq!(d.publication_ends, date(2025, 8, 20));
    }

    #[test]
    fn legacy_derivations() {
        let d = derive(Regime::Legacy527, Severity::LegacySerious, date(2019, 8, 31));
        assert_eq!(d.repair_from, Some(date(2020, 3, 1)));
        assert_eq!(d.publication_ends, date(2022, 8, 31));

        let d = derive(Regime::Legacy527, Severity::LegacySpecificSerious, date(2019, 8, 31));
        assert!(d.published_by_default);
        assert!(!d.repairable);
        assert_eq!(d.repair_from, None);
        assert_eq!(d.publication_ends, date(2022, 8, 31));
    }

    fn standing(d: &Derived) -> RecordStanding {
        RecordStanding {
            status: PublicationStatus::Published,
            deleted: false,
            repairable: d.repairable,
            repair_from: d.repair_from,
            publication_ends: d.publication_ends,
            repair_barred_until: None,
        }
    }

    #[test]
    fn repair_window_branches() {
        use RepairEligibility::*;
        let d = derive(Regime::Current, Severity::General, date(2025, 11, 30));
        let r = standing(&d);
        assert_eq!(repair_eligibility(&r, date(2026, 2, 28), DA), TooEarly { from: date(2026, 3, 1) });
        assert_eq!(repair_eligibility(&r, date(2026, 3, 1), DA), Open);
        // 民法典 reading: the end date is the last day published.
        assert_eq!(repair_eligibility(&r, date(2026, 11, 30), DA), Open);
        assert_eq!(repair_eligibility(&r, date(2026, 12, 1), DA), PeriodOver { ends: date(2026, 11, 30) });
        // The other convention: down on the end date.
        let on = PublicationEnd::OnEndDate;
        assert_eq!(repair_eligibility(&r, date(2026, 11, 29), on), Open);
        assert_eq!(repair_eligibility(&r, date(2026, 11, 30), on), PeriodOver { ends: date(2026, 11, 30) });

        let d = derive(Regime::Legacy527, Severity::LegacySpecificSerious, date(2019, 8, 31));
        assert_eq!(repair_eligibility(&standing(&d), date(2020, 1, 1), DA), NotRepairable { ends: date(2022, 8, 31) });
    }

    #[test]
    fn repair_eligibility_checks_in_rulebook_order() {
        use RepairEligibility::*;
        let d = derive(Regime::Current, Severity::General, date(2025, 11, 30));
        let open_day = date(2026, 5, 1);
        let r = standing(&d);
        assert_eq!(repair_eligibility(&RecordStanding { deleted: true, ..r.clone() }, open_day, DA), Deleted);
        let not_published = RecordStanding { status: PublicationStatus::NotPublished, ..r.clone() };
        assert_eq!(repair_eligibility(&not_published, open_day, DA), NotPublished);
        let ended = RecordStanding { status: PublicationStatus::Ended, ..r.clone() };
        assert_eq!(repair_eligibility(&ended, open_day, DA), PublicationEnded);
        let barred = RecordStanding { repair_barred_until: Some(date(2026, 6, 1)), ..r.clone() };
        assert_eq!(repair_eligibility(&barred, open_day, DA), Barred { until: date(2026, 6, 1) });
        assert_eq!(repair_eligibility(&barred, date(2026, 6, 1), DA), Open, "the bar ends on its date");
        // A bar is reported before the end of the period.
        assert_eq!(repair_eligibility(&barred, date(2026, 1, 1), DA), Barred { until: date(2026, 6, 1) });
    }

    #[test]
    fn publication_over_is_checked_before_too_early() {
        // The conduct cap ends publication before the repair date.
        let d = PeriodRules::default()
            .derive(Regime::Current, Severity::Serious, date(2025, 1, 10), Some(date(2020, 2, 1)))
            .unwrap();
        assert_eq!(d.publication_ends, date(2025, 2, 1));
        assert_eq!(d.repair_from, Some(date(2026, 1, 11)));
        assert_eq!(
            repair_eligibility(&standing(&d), date(2025, 6, 1), DA),
            RepairEligibility::PeriodOver { ends: date(2025, 2, 1) }
        );
    }

    #[test]
    fn not_published_records_show_as_such() {
        let d = derive(Regime::Current, Severity::General, date(2025, 11, 30));
        assert_eq!(d.display_category_for(PublicationStatus::NotPublished, None), "不予公示");
        assert_eq!(d.display_category_for(PublicationStatus::Published, None), "公示满3个月可修复");
        // A bar that outlasts the window leaves no repair before the end; a shorter one does not.
        let past_end = d.publication_ends.succ_opt();
        assert_eq!(d.display_category_for(PublicationStatus::Published, past_end), "公示期满前不可修复");
        let before_end = d.publication_ends.pred_opt();
        assert_eq!(d.display_category_for(PublicationStatus::Published, before_end), "公示满3个月可修复");
        // The Shandong cap ending the window before repair opens.
        let capped = Derived { publication_ends: d.repair_from.unwrap().pred_opt().unwrap(), ..d.clone() };
        assert_eq!(capped.display_category_for(PublicationStatus::Published, None), "公示期满前不可修复");
    }

    #[test]
    fn missing_rule_is_reported() {
        let err =
            PeriodRules::default().derive(Regime::Legacy527, Severity::General, date(2025, 1, 1), None).unwrap_err();
        assert_eq!(err, PeriodError::NoRule { regime: Regime::Legacy527, severity: Severity::General });
        assert_eq!(err.code(), "period_rule_missing");
        assert_eq!(err.to_string(), "未找到适用于发改办财金〔2019〕527号“一般”等级的公示期限规则");
        assert!(PeriodRules::default().rule(Regime::Order58, Severity::Minor).is_none());
    }

    #[test]
    fn default_table_is_valid_and_complete() {
        let rules = PeriodRules::default();
        assert_eq!(rules.validate(), Ok(()));
        assert!(rules.repair_from_day_after);
        assert_eq!(rules.conduct_cap_months, Some(60));
        for regime in Regime::ALL {
            for severity in Severity::ALL {
                assert_eq!(rules.rule(regime, severity).is_some(), regime.accepts(severity), "{regime:?} {severity:?}");
            }
        }
    }

    #[test]
    fn validate_reports_bad_tables() {
        let mut rules = PeriodRules::default();
        rules.rules.push(PeriodRule {
            regime: Regime::Current,
            severity: Severity::LegacySerious,
            published: true,
            repairable: true,
            min_months: Some(6),
            max_months: 36,
        });
        let err = rules.validate().unwrap_err();
        assert_eq!(err.code(), "period_severity_not_in_regime");
        assert_eq!(err.to_string(), "国办发〔2025〕22号 / 令第36号未规定“严重失信”等级");

        let mut rules = PeriodRules::default();
        let dup = rules.rules[1].clone();
        rules.rules.push(dup);
        assert_eq!(rules.validate().unwrap_err().code(), "period_rule_duplicate");

        let mut rules = PeriodRules::default();
        rules.rules[1].min_months = Some(13);
        let err = rules.validate().unwrap_err();
        assert_eq!(
            err,
            PeriodError::MinExceedsMax { regime: Regime::Current, severity: Severity::General, min: 13, max: 12 }
        );
        assert_eq!(err.code(), "period_min_exceeds_max");
    }

    #[test]
    fn enum_strings_round_trip() {
        for regime in Regime::ALL {
            assert_eq!(Regime::parse(regime.as_str()), Some(regime));
            let de: Regime =
                Regime::deserialize(regime.as_str().into_deserializer()).map_err(|e: ValueError| e).unwrap();
            assert_eq!(de, regime);
            assert!(!regime.label_zh().is_empty());
        }
        for severity in Severity::ALL {
            assert_eq!(Severity::parse(severity.as_str()), Some(severity));
            let de: Severity =
                Severity::deserialize(severity.as_str().into_deserializer()).map_err(|e: ValueError| e).unwrap();
            assert_eq!(de, severity);
        }
        assert_eq!(Regime::parse("Current"), None);
        assert_eq!(Severity::parse("legacy-general"), None);
        assert_eq!(Severity::LegacySpecificSerious.label_zh(), "特定严重失信");
    }

    #[test]
    fn initial_status_follows_the_rule_natural_persons_and_the_window() {
        let today = date(2026, 11, 23);
        let d = derive(Regime::Current, Severity::General, date(2026, 6, 20));
        let ok = |status, end_reason| Ok(InitialStatus { status, end_reason });
        assert_eq!(initial_status(&d, None, false, today, DA), ok(PublicationStatus::Published, None));
        assert_eq!(
            initial_status(&d, Some(PublicationStatus::NotPublished), false, today, DA),
            ok(PublicationStatus::NotPublished, None)
        );
        assert_eq!(initial_status(&d, None, true, today, DA), ok(PublicationStatus::NotPublished, None));
        assert_eq!(
            initial_status(&d, Some(PublicationStatus::Published), true, today, DA),
            Err(InitialStatusError::NaturalPersonPublished)
        );
        assert_eq!(
            initial_status(&d, Some(PublicationStatus::Ended), false, today, DA),
            Err(InitialStatusError::Ended)
        );
        // Decided 2025-06-20 (一般, one year): over on 2026-06-20, so it starts ended.
        let old = derive(Regime::Current, Severity::General, date(2025, 6, 20));
        let started = initial_status(&old, None, false, today, DA).unwrap();
        assert_eq!(started.status, PublicationStatus::Ended);
        assert!(started.end_reason.is_some());
        // A not-published record past its window stays not published.
        assert_eq!(
            initial_status(&old, Some(PublicationStatus::NotPublished), false, today, DA),
            ok(PublicationStatus::NotPublished, None)
        );
    }

    #[test]
    fn a_restore_never_republishes_a_deleted_record_or_past_the_end() {
        let ends = date(2027, 6, 20);
        assert_eq!(restore_refusal(false, ends, date(2027, 6, 20), DA), None);
        assert!(restore_refusal(false, ends, date(2027, 6, 21), DA).unwrap().contains("2027-06-20"));
        assert!(restore_refusal(false, ends, date(2027, 6, 20), PublicationEnd::OnEndDate).is_some());
        assert!(restore_refusal(true, ends, date(2026, 1, 1), DA).is_some());
    }

    #[test]
    fn the_regime_follows_the_decision_date() {
        let d = |y, m, day| NaiveDate::from_ymd_opt(y, m, day).unwrap();
        assert_eq!(Regime::in_force_on(d(2026, 4, 1)), Regime::Current);
        assert_eq!(Regime::in_force_on(d(2026, 3, 31)), Regime::Order58);
        assert_eq!(Regime::in_force_on(d(2023, 5, 1)), Regime::Order58);
        assert_eq!(Regime::in_force_on(d(2023, 4, 30)), Regime::Legacy527);
        assert_eq!(regime_for(None, d(2026, 10, 1)), Ok(Regime::Current));
        assert_eq!(regime_for(Some(Regime::Current), d(2026, 10, 1)), Ok(Regime::Current));
        assert_eq!(regime_for(Some(Regime::Current), d(2025, 11, 30)), Err(Regime::Order58));
        assert_eq!(regime_for(Some(Regime::Legacy527), d(2024, 2, 29)), Err(Regime::Order58));
        assert_eq!(regime_for(Some(Regime::Legacy527), d(2022, 2, 28)), Ok(Regime::Legacy527));
    }

    #[test]
    fn samr_periods_count_from_publication() {
        use entity::types::RecordSource;
        let decided = NaiveDate::from_ymd_opt(2026, 5, 6).unwrap();
        let published = NaiveDate::from_ymd_opt(2026, 5, 20).unwrap();
        assert_eq!(window_start(RecordSource::Samr, decided, Some(published)), published);
        assert_eq!(window_start(RecordSource::Samr, decided, None), decided);
        assert_eq!(window_start(RecordSource::Local, decided, Some(published)), decided);
    }
}
