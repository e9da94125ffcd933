//! What an objection must say (rulebook A.3; Shenzhen Art. 51, Zhejiang
//! Art. 30): structured grounds, and, when it contests a repair decision,
//! which decided repair case of the same record it contests.

use entity::types::{CaseKind, ObjectionGrounds};

/// The repair case an objection names, as far as the rule needs it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ContestedCase<'a> {
    pub kind: CaseKind,
    pub record_id: i64,
    pub subject_id: i64,
    /// The case's state name in its workflow.
    pub state: &'a str,
}

/// Repair states whose decision an objection may contest: a denial, or a
/// revocation of a completed repair.
pub const CONTESTABLE_REPAIR_STATES: [&str; 2] = ["denied", "revoked"];

/// Why a filing's grounds are refused: (field, code, message).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FilingRefusal {
    pub field: &'static str,
    pub code: &'static str,
    pub message: &'static str,
}

const fn refusal(field: &'static str, code: &'static str, message: &'static str) -> FilingRefusal {
    FilingRefusal { field, code, message }
}

/// Checks an application's grounds and contested case. `grounds` is the
/// parsed value (None: not given, or not a known value when `grounds_given`).
pub fn check_grounds(
    kind: CaseKind,
    grounds_given: bool,
    grounds: Option<ObjectionGrounds>,
    contested: Option<Option<ContestedCase<'_>>>,
    record_id: i64,
    subject_id: i64,
) -> Result<(), FilingRefusal> {
    if kind == CaseKind::Repair {
        if grounds_given {
            return Err(refusal("grounds", "not_applicable", "信用修复申请无需选择异议理由"));
        }
        if contested.is_some() {
            return Err(refusal("objects_to_case_id", "not_applicable", "仅异议申请可以针对信用修复决定提出"));
        }
        return Ok(());
    }
    let Some(grounds) = grounds else {
        return Err(if grounds_given {
            refusal(
                "grounds",
                "invalid_value",
                "异议理由取值无效（wrong_identity、wrong_content、past_period、decision_revoked、repair_decision、other）",
            )
        } else {
            refusal("grounds", "required", "请选择异议理由")
        });
    };
    match (grounds, contested) {
        (ObjectionGrounds::RepairDecision, None) => {
            Err(refusal("objects_to_case_id", "required", "对信用修复决定提出异议时，须指明所针对的信用修复案件"))
        }
        (ObjectionGrounds::RepairDecision, Some(None)) => {
            Err(refusal("objects_to_case_id", "not_found", "所指明的信用修复案件不存在"))
        }
        (ObjectionGrounds::RepairDecision, Some(Some(c))) => {
            if c.kind != CaseKind::Repair || c.subject_id != subject_id {
                Err(refusal("objects_to_case_id", "not_found", "所指明的信用修复案件不存在"))
            } else if c.record_id != record_id {
                Err(refusal("objects_to_case_id", "other_record", "所指明的信用修复案件涉及的不是该条信用信息"))
            } else if !CONTESTABLE_REPAIR_STATES.contains(&c.state) {
                Err(refusal("objects_to_case_id", "not_contestable", "只能对不予修复或撤销修复的决定提出异议"))
            } else {
                Ok(())
            }
        }
        (_, Some(_)) => Err(refusal(
            "objects_to_case_id",
            "not_applicable",
            "仅在异议理由为“对信用修复决定有异议”时指明信用修复案件",
        )),
        (_, None) => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn repair(state: &str) -> ContestedCase<'_> {
        ContestedCase { kind: CaseKind::Repair, record_id: 7, subject_id: 3, state }
    }

    #[test]
    fn an_objection_needs_known_grounds() {
        let o = CaseKind::Objection;
        assert_eq!(check_grounds(o, false, None, None, 7, 3).unwrap_err().code, "required");
        assert_eq!(check_grounds(o, true, None, None, 7, 3).unwrap_err().code, "invalid_value");
        assert_eq!(check_grounds(o, true, Some(ObjectionGrounds::WrongContent), None, 7, 3), Ok(()));
    }

    #[test]
    fn a_repair_takes_no_grounds() {
        let r = CaseKind::Repair;
        assert_eq!(check_grounds(r, false, None, None, 7, 3), Ok(()));
        assert_eq!(check_grounds(r, true, Some(ObjectionGrounds::Other), None, 7, 3).unwrap_err().field, "grounds");
        assert_eq!(
            check_grounds(r, false, None, Some(Some(repair("denied"))), 7, 3).unwrap_err().code,
            "not_applicable"
        );
    }

    #[test]
    fn contesting_a_repair_decision_names_a_decided_repair_of_the_same_record() {
        let o = CaseKind::Objection;
        let g = Some(ObjectionGrounds::RepairDecision);
        assert_eq!(check_grounds(o, true, g, None, 7, 3).unwrap_err().code, "required");
        assert_eq!(check_grounds(o, true, g, Some(None), 7, 3).unwrap_err().code, "not_found");
        assert_eq!(check_grounds(o, true, g, Some(Some(repair("denied"))), 7, 3), Ok(()));
        assert_eq!(check_grounds(o, true, g, Some(Some(repair("revoked"))), 7, 3), Ok(()));
        assert_eq!(
            check_grounds(o, true, g, Some(Some(repair("completed"))), 7, 3).unwrap_err().code,
            "not_contestable"
        );
        assert_eq!(
            check_grounds(o, true, g, Some(Some(repair("with_department"))), 7, 3).unwrap_err().code,
            "not_contestable"
        );
        assert_eq!(check_grounds(o, true, g, Some(Some(repair("denied"))), 8, 3).unwrap_err().code, "other_record");
        // Another subject's case does not exist for this applicant.
        assert_eq!(check_grounds(o, true, g, Some(Some(repair("denied"))), 7, 4).unwrap_err().code, "not_found");
        let objection = ContestedCase { kind: CaseKind::Objection, ..repair("denied") };
        assert_eq!(check_grounds(o, true, g, Some(Some(objection)), 7, 3).unwrap_err().code, "not_found");
        // Other grounds name no case.
        let w = Some(ObjectionGrounds::WrongContent);
        assert_eq!(check_grounds(o, true, w, Some(Some(repair("denied"))), 7, 3).unwrap_err().code, "not_applicable");
    }
}
