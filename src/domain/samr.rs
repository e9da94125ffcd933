//! Market-regulation (SAMR) records are mirrored, not decided here (rulebook
//! A.2 and Part B §0): a subject repairs them on SAMR's own system
//! (国家企业信用信息公示系统). Deployments choose whether a repair application
//! on such a record is refused with a pointer to that system (the default)
//! or accepted only as the registration of SAMR's own decision, which is then
//! applied here like any approved repair.

use serde::{Deserialize, Serialize};

use entity::types::RecordSource;

/// What a repair application on a SAMR record does.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SamrRepair {
    /// Refused, pointing to SAMR's system.
    #[default]
    Refer,
    /// Accepted only with SAMR's decision (its document number and the
    /// decision itself as material): the department registers it.
    Register,
}

/// `[samr]` in the configuration file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SamrSettings {
    pub repair: SamrRepair,
    /// Where SAMR's repairs are applied for.
    pub system_url: String,
}

impl Default for SamrSettings {
    fn default() -> Self {
        SamrSettings { repair: SamrRepair::Refer, system_url: "https://www.gsxt.gov.cn".into() }
    }
}

/// Why a repair application on a record is refused by the SAMR rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SamrRefusal {
    /// Repaired on SAMR's system, not here.
    Referred { url: String },
    /// Registration mode: SAMR's decision number is missing.
    DecisionMissing,
    /// A SAMR decision number given for a record that is not SAMR's.
    NotSamr,
}

impl SamrRefusal {
    pub fn code(&self) -> &'static str {
        match self {
            SamrRefusal::Referred { .. } => "samr_record",
            SamrRefusal::DecisionMissing => "samr_decision_required",
            SamrRefusal::NotSamr => "not_samr_record",
        }
    }

    pub fn field(&self) -> Option<&'static str> {
        match self {
            SamrRefusal::Referred { .. } => None,
            SamrRefusal::DecisionMissing | SamrRefusal::NotSamr => Some("samr_decision_no"),
        }
    }

    pub fn message_zh(&self) -> String {
        match self {
            SamrRefusal::Referred { url } => format!(
                "该信息由市场监管部门认定并公示，其信用修复由市场监管部门办理，请通过国家企业信用信息公示系统（{url}）申请"
            ),
            SamrRefusal::DecisionMissing => {
                "该信息由市场监管部门认定：请填写市场监管部门准予信用修复的决定书文号，并上传该决定书".into()
            }
            SamrRefusal::NotSamr => "仅市场监管部门认定的信息需要填写其信用修复决定书文号".into(),
        }
    }
}

/// Whether a repair of a record from `source` is referred to SAMR's system
/// (a market-regulation record in refer mode).
pub fn referral(settings: &SamrSettings, source: RecordSource) -> Option<SamrRefusal> {
    (source == RecordSource::Samr && settings.repair == SamrRepair::Refer)
        .then(|| SamrRefusal::Referred { url: settings.system_url.clone() })
}

/// The SAMR rule for a repair application on a record from `source`, with
/// SAMR's decision number as given (blank counts as absent).
pub fn samr_repair_refusal(
    settings: &SamrSettings,
    source: RecordSource,
    samr_decision_no: Option<&str>,
) -> Option<SamrRefusal> {
    if let Some(r) = referral(settings, source) {
        return Some(r);
    }
    let given = samr_decision_no.map(str::trim).is_some_and(|s| !s.is_empty());
    match source {
        RecordSource::Local => given.then_some(SamrRefusal::NotSamr),
        // Registration mode (refer mode returned above).
        RecordSource::Samr => (!given).then_some(SamrRefusal::DecisionMissing),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_records_are_decided_here() {
        let s = SamrSettings::default();
        assert_eq!(samr_repair_refusal(&s, RecordSource::Local, None), None);
        assert_eq!(samr_repair_refusal(&s, RecordSource::Local, Some("  ")), None);
        assert_eq!(
            samr_repair_refusal(&s, RecordSource::Local, Some("济市监修〔2026〕1号")),
            Some(SamrRefusal::NotSamr)
        );
    }

    #[test]
    fn samr_records_are_referred_by_default() {
        let s = SamrSettings::default();
        let r = samr_repair_refusal(&s, RecordSource::Samr, Some("济市监修〔2026〕1号")).unwrap();
        assert_eq!(r.code(), "samr_record");
        assert!(r.message_zh().contains("国家企业信用信息公示系统"));
        assert!(r.message_zh().contains("https://www.gsxt.gov.cn"));
    }

    #[test]
    fn registration_needs_samrs_decision() {
        let s = SamrSettings { repair: SamrRepair::Register, ..SamrSettings::default() };
        assert_eq!(samr_repair_refusal(&s, RecordSource::Samr, None), Some(SamrRefusal::DecisionMissing));
        assert_eq!(samr_repair_refusal(&s, RecordSource::Samr, Some(" ")), Some(SamrRefusal::DecisionMissing));
        assert_eq!(samr_repair_refusal(&s, RecordSource::Samr, Some("济市监修〔2026〕1号")), None);
    }
}
