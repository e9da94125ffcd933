//! Formal documents (文书): which letters exist, the number family each runs
//! in, and how a number is written (configurable per deployment).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// The letters a workflow may issue (`issue_document` effects name one), with
/// the number family each uses by default. Approval and denial share the
/// repair-decision family: one sequence, so one number never names two
/// documents.
pub const LETTERS: [(&str, &str); 6] = [
    ("repair_approved", "信修"),
    ("repair_denied", "信修"),
    ("repair_revoked", "信撤"),
    ("objection_result", "信异"),
    ("not_accepted", "信受"),
    ("supplement_notice", "信补"),
];

/// Whether `letter` is a known letter.
pub fn is_letter(letter: &str) -> bool {
    LETTERS.iter().any(|(l, _)| *l == letter)
}

/// `[documents]` in the configuration file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DocumentSettings {
    /// 发文机关: the issuing office, signed under every letter.
    pub issuer: String,
    /// Put before each family (e.g. 济高 for 济南高新区): 济高信修.
    pub office_abbreviation: String,
    /// `{prefix}`, `{year}` and `{seq}` (zero-padded to `seq_width`).
    pub number_format: String,
    pub seq_width: usize,
    /// A family per letter, replacing the defaults of [`LETTERS`].
    pub families: BTreeMap<String, String>,
}

impl Default for DocumentSettings {
    fn default() -> Self {
        DocumentSettings {
            issuer: "区社会信用体系建设办公室".into(),
            office_abbreviation: "济高".into(),
            number_format: "{prefix}〔{year}〕第{seq}号".into(),
            seq_width: 4,
            families: BTreeMap::new(),
        }
    }
}

impl DocumentSettings {
    /// The number family (sequence key) of `letter`, e.g. 济高信修.
    pub fn prefix(&self, letter: &str) -> String {
        let family = self
            .families
            .get(letter)
            .cloned()
            .or_else(|| LETTERS.iter().find(|(l, _)| *l == letter).map(|(_, f)| f.to_string()))
            .unwrap_or_else(|| "信".into());
        format!("{}{family}", self.office_abbreviation)
    }

    /// The number of the `seq`th document of `prefix` in `year`.
    pub fn number(&self, prefix: &str, year: i32, seq: i32) -> String {
        let seq = format!("{seq:0width$}", width = self.seq_width.min(9));
        self.number_format.replace("{prefix}", prefix).replace("{year}", &year.to_string()).replace("{seq}", &seq)
    }

    /// Checks the configuration: a format that cannot tell two documents
    /// apart is refused at start.
    pub fn validate(&self) -> Result<(), String> {
        for key in ["{prefix}", "{year}", "{seq}"] {
            if !self.number_format.contains(key) {
                return Err(format!("documents.number_format must contain {key}"));
            }
        }
        if let Some(l) = self.families.keys().find(|l| !is_letter(l)) {
            return Err(format!("documents.families: unknown letter `{l}`"));
        }
        if self.issuer.trim().is_empty() {
            return Err("documents.issuer must not be empty".into());
        }
        Ok(())
    }
}

/// The legal basis a letter cites for a case of `kind` (repairs are decided
/// under Order 36 whatever regime set the record's periods; objections under
/// Shandong Art. 39).
pub fn legal_basis(kind: entity::types::CaseKind) -> &'static str {
    match kind {
        entity::types::CaseKind::Repair => {
            "《信用修复管理办法》（国家发展和改革委员会令第36号）和《山东省社会信用条例》的有关规定"
        }
        entity::types::CaseKind::Objection => "《山东省社会信用条例》第三十九条的规定",
    }
}

/// A date as a Chinese document writes it: 2026年12月2日.
pub fn chinese_date(d: chrono::NaiveDate) -> String {
    use chrono::Datelike;
    format!("{}年{}月{}日", d.year(), d.month(), d.day())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_follow_the_configured_format() {
        let s = DocumentSettings::default();
        assert_eq!(s.prefix("repair_approved"), "济高信修");
        assert_eq!(s.prefix("repair_denied"), "济高信修", "one family for both decisions");
        assert_eq!(s.number(&s.prefix("repair_approved"), 2026, 1), "济高信修〔2026〕第0001号");
        assert_eq!(s.number("济高信异", 2027, 12345), "济高信异〔2027〕第12345号");
        let custom = DocumentSettings {
            number_format: "{prefix}[{year}]{seq}".into(),
            seq_width: 3,
            families: BTreeMap::from([("objection_result".to_string(), "异议".to_string())]),
            ..DocumentSettings::default()
        };
        assert_eq!(custom.number(&custom.prefix("objection_result"), 2026, 7), "济高异议[2026]007");
        assert!(custom.validate().is_ok());
    }

    #[test]
    fn a_format_that_cannot_tell_documents_apart_is_refused() {
        let no_seq = DocumentSettings { number_format: "{prefix}〔{year}〕".into(), ..DocumentSettings::default() };
        assert!(no_seq.validate().is_err());
        let unknown = DocumentSettings {
            families: BTreeMap::from([("memo".into(), "备".into())]),
            ..DocumentSettings::default()
        };
        assert!(unknown.validate().is_err());
        assert_eq!(chinese_date(chrono::NaiveDate::from_ymd_opt(2026, 12, 2).unwrap()), "2026年12月2日");
    }
}
