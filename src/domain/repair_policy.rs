//! Repeat-application limits and the scope of the revocation bar (rulebook
//! Part B §5.6: no national rule; one locality's bars). Configuration, off by
//! default; the rule is this one pure function.

use chrono::{Months, NaiveDate};
use serde::{Deserialize, Serialize};

/// What a revoked repair bars.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BarScope {
    /// New repair of the same record (the default).
    #[default]
    Record,
    /// New repair of any of the subject's records.
    Subject,
}

/// The configurable limits (`[repair_policy]` in the configuration file).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RepairPolicy {
    pub bar_scope: BarScope,
    /// A new repair only this many months after the subject's last approved one.
    pub min_months_between_repairs: Option<u32>,
    /// At most this many approved repairs of the subject within five years.
    pub max_repairs_in_five_years: Option<u32>,
}

/// Why a repair application is refused by the policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RepeatRefusal {
    /// A revoked repair of another of the subject's records bars it until then.
    SubjectBarred { until: NaiveDate },
    /// Too soon after the last approved repair: possible from `from`.
    TooSoon { from: NaiveDate },
    /// The five-year limit is reached; the oldest counted repair leaves the window on `from`.
    TooMany { limit: u32, from: NaiveDate },
}

impl RepeatRefusal {
    pub fn code(&self) -> &'static str {
        match self {
            RepeatRefusal::SubjectBarred { .. } => "repair_barred",
            RepeatRefusal::TooSoon { .. } => "repair_too_soon",
            RepeatRefusal::TooMany { .. } => "repair_limit_reached",
        }
    }

    pub fn message_zh(&self) -> String {
        match self {
            RepeatRefusal::SubjectBarred { until } => {
                format!("该主体的信用修复已因弄虚作假被撤销，{until} 前不得申请信用修复")
            }
            RepeatRefusal::TooSoon { from } => format!("距上次信用修复不足规定期限，{from} 起方可再次申请"),
            RepeatRefusal::TooMany { limit, from } => {
                format!("五年内信用修复已达 {limit} 次，{from} 起方可再次申请")
            }
        }
    }
}

/// Checks a new repair application of a subject against the policy, given
/// the days its earlier repairs were approved and the latest bar on any of
/// its records (only used when the bar's scope is the subject).
pub fn repeat_refusal(
    policy: &RepairPolicy,
    approved_on: &[NaiveDate],
    subject_barred_until: Option<NaiveDate>,
    today: NaiveDate,
) -> Option<RepeatRefusal> {
    if policy.bar_scope == BarScope::Subject
        && let Some(until) = subject_barred_until.filter(|u| today < *u)
    {
        return Some(RepeatRefusal::SubjectBarred { until });
    }
    let mut days: Vec<NaiveDate> = approved_on.to_vec();
    days.sort();
    if let (Some(months), Some(last)) = (policy.min_months_between_repairs, days.last())
        && let Some(from) = last.checked_add_months(Months::new(months))
        && today < from
    {
        return Some(RepeatRefusal::TooSoon { from });
    }
    if let Some(limit) = policy.max_repairs_in_five_years {
        let since = today.checked_sub_months(Months::new(60)).unwrap_or(today);
        let inside: Vec<NaiveDate> = days.iter().copied().filter(|d| *d > since).collect();
        if inside.len() as u32 >= limit.max(1) {
            // The window frees a place when the oldest counted repair leaves it.
            let oldest = inside[inside.len() - limit.max(1) as usize];
            let from = oldest.checked_add_months(Months::new(60)).unwrap_or(today);
            return Some(RepeatRefusal::TooMany { limit, from });
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn off_by_default() {
        let p = RepairPolicy::default();
        let many = [d("2024-01-01"), d("2025-01-01"), d("2026-11-01")];
        assert_eq!(repeat_refusal(&p, &many, Some(d("2030-01-01")), d("2026-11-23")), None);
    }

    #[test]
    fn each_limit_names_the_day_it_lifts() {
        let p = RepairPolicy { min_months_between_repairs: Some(12), ..Default::default() };
        assert_eq!(
            repeat_refusal(&p, &[d("2026-03-01")], None, d("2026-11-23")),
            Some(RepeatRefusal::TooSoon { from: d("2027-03-01") })
        );
        assert_eq!(repeat_refusal(&p, &[d("2025-03-01")], None, d("2026-11-23")), None);

        let p = RepairPolicy { max_repairs_in_five_years: Some(2), ..Default::default() };
        let two = [d("2023-05-10"), d("2025-02-01")];
        assert_eq!(
            repeat_refusal(&p, &two, None, d("2026-11-23")),
            Some(RepeatRefusal::TooMany { limit: 2, from: d("2028-05-10") })
        );
        assert_eq!(repeat_refusal(&p, &two, None, d("2028-05-10")), None, "the oldest left the window");
        assert_eq!(repeat_refusal(&p, &[d("2025-02-01")], None, d("2026-11-23")), None);

        let p = RepairPolicy { bar_scope: BarScope::Subject, ..Default::default() };
        let r = repeat_refusal(&p, &[], Some(d("2027-01-01")), d("2026-11-23")).unwrap();
        assert_eq!((r.code(), r.clone()), ("repair_barred", RepeatRefusal::SubjectBarred { until: d("2027-01-01") }));
        assert!(r.message_zh().contains("2027-01-01"));
        assert_eq!(repeat_refusal(&p, &[], Some(d("2026-11-23")), d("2026-11-23")), None, "the bar ends on its date");
    }
}
