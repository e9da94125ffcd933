//! Pure workflow engine for objection (异议) and credit repair (信用修复) cases.
//!
//! Workflows are declared in TOML files (see `workflows/*.toml`). The caller
//! reads the file text and hands it to [`Definition::parse`], which parses and
//! validates it. [`decide`] then answers "may this role take this action in
//! this state, and what happens if it does" without touching any database,
//! clock or I/O: the returned [`Decision`] lists the effects to apply and the
//! clock changes to record, which the caller carries out.

mod definition;
mod diagram;
mod engine;

use std::fmt;

use serde::{Deserialize, Serialize};

pub use definition::{ActionInfo, ClosureClass, Definition, DefinitionError, Requires, StateDef, TransitionDef};
pub use engine::{ActionInput, Decision, EngineError, Facts, decide};

pub use entity::types::{AttachmentKind, Outcome};

/// Outcome values a department may record when verifying an objection.
pub const OUTCOMES: [&str; 5] = [
    Outcome::Corrected.as_str(),
    Outcome::Supplemented.as_str(),
    Outcome::Deleted.as_str(),
    Outcome::RemovedFromList.as_str(),
    Outcome::Maintained.as_str(),
];

/// Attachment kinds known to the workflows.
pub const ATTACHMENT_KINDS: [&str; 4] = [
    AttachmentKind::FulfilmentProof.as_str(),
    AttachmentKind::CommitmentLetter.as_str(),
    AttachmentKind::Evidence.as_str(),
    AttachmentKind::Other.as_str(),
];

/// Chinese label of an outcome value, `None` for unknown values.
pub fn outcome_title(outcome: &str) -> Option<&'static str> {
    outcome.parse::<Outcome>().ok().map(Outcome::title_zh)
}

/// Chinese label of an attachment kind, `None` for unknown kinds.
pub fn attachment_kind_title(kind: &str) -> Option<&'static str> {
    kind.parse::<AttachmentKind>().ok().map(AttachmentKind::title_zh)
}

/// Who acts on a case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Applicant,
    DepartmentOfficer,
    CreditOffice,
    Admin,
    System,
}

impl Role {
    pub const ALL: [Role; 5] =
        [Role::Applicant, Role::DepartmentOfficer, Role::CreditOffice, Role::Admin, Role::System];

    /// Stable snake_case name, as used in the workflow files.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Applicant => "applicant",
            Role::DepartmentOfficer => "department_officer",
            Role::CreditOffice => "credit_office",
            Role::Admin => "admin",
            Role::System => "system",
        }
    }

    /// Inverse of [`Role::as_str`].
    pub fn parse(name: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == name)
    }

    /// Chinese label.
    pub fn title(self) -> &'static str {
        match self {
            Role::Applicant => "申请人",
            Role::DepartmentOfficer => "部门经办人",
            Role::CreditOffice => "信用办",
            Role::Admin => "管理员",
            Role::System => "系统",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Addressee of a notification.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Recipient {
    Applicant,
    Department,
    CreditOffice,
}

impl Recipient {
    pub const ALL: [Recipient; 3] = [Recipient::Applicant, Recipient::Department, Recipient::CreditOffice];

    pub fn as_str(self) -> &'static str {
        match self {
            Recipient::Applicant => "applicant",
            Recipient::Department => "department",
            Recipient::CreditOffice => "credit_office",
        }
    }

    pub fn parse(name: &str) -> Option<Recipient> {
        Recipient::ALL.into_iter().find(|r| r.as_str() == name)
    }
}

/// Precondition evaluated against caller-supplied [`Facts`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Guard {
    /// `Facts::missing_materials` is empty.
    MaterialsComplete,
    /// `Facts::extension_used` is false.
    ExtensionUnused,
    /// `Facts::urged_today` is false.
    NotUrgedToday,
    /// `Facts::repair_window_open` is true.
    RepairWindowOpen,
    /// `Facts::extension_pending` is true.
    ExtensionPending,
    /// `Facts::extension_pending` is false.
    NoExtensionPending,
}

impl Guard {
    pub const ALL: [Guard; 6] = [
        Guard::MaterialsComplete,
        Guard::ExtensionUnused,
        Guard::NotUrgedToday,
        Guard::RepairWindowOpen,
        Guard::ExtensionPending,
        Guard::NoExtensionPending,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Guard::MaterialsComplete => "materials_complete",
            Guard::ExtensionUnused => "extension_unused",
            Guard::NotUrgedToday => "not_urged_today",
            Guard::RepairWindowOpen => "repair_window_open",
            Guard::ExtensionPending => "extension_pending",
            Guard::NoExtensionPending => "no_extension_pending",
        }
    }

    pub fn parse(name: &str) -> Option<Guard> {
        Guard::ALL.into_iter().find(|g| g.as_str() == name)
    }

    /// Stable error code reported when this guard fails.
    pub fn failure_code(self) -> &'static str {
        match self {
            Guard::MaterialsComplete => "materials_missing",
            Guard::ExtensionUnused => "extension_used",
            Guard::NotUrgedToday => "already_urged_today",
            Guard::RepairWindowOpen => "repair_window_closed",
            Guard::ExtensionPending => "no_extension_request",
            Guard::NoExtensionPending => "extension_request_pending",
        }
    }

    /// Whether the guard holds for `facts`.
    pub fn holds(self, facts: &Facts) -> bool {
        match self {
            Guard::MaterialsComplete => facts.missing_materials.is_empty(),
            Guard::ExtensionUnused => !facts.extension_used,
            Guard::NotUrgedToday => !facts.urged_today,
            Guard::RepairWindowOpen => facts.repair_window_open,
            Guard::ExtensionPending => facts.extension_pending,
            Guard::NoExtensionPending => !facts.extension_pending,
        }
    }
}

impl fmt::Display for Guard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Side effect of a transition; the caller applies them in order.
///
/// Serialized the same way as in the workflow files:
/// `{ "kind": "notify", "template": "...", "to": ["applicant"] }`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Effect {
    /// Put the objection mark (异议标注) on the disputed record.
    MarkObjection,
    /// Remove the objection mark.
    UnmarkObjection,
    /// Correct / delete / remove from list according to the decision outcome.
    ApplyOutcome,
    EndPublication,
    RestorePublication,
    EndListMembership,
    RestoreListMembership,
    /// End every sanction linked to the record.
    EndSanctions,
    RestoreSanctions,
    /// Bar new repair applications for the record for a period.
    BarRepair,
    /// Assign the case to the department that produced the record, or to
    /// the department the action names (re-routing).
    RouteToDepartment,
    /// The department hands the case back to the credit office: it leaves
    /// the department's scope until routed again.
    ReturnToOffice,
    /// Record the department's extension request (reason, who asked) for
    /// the credit office to approve.
    RequestExtension,
    /// Drop a pending extension request (refused).
    RefuseExtension,
    /// Add `Definition::extension_working_days` to the current step deadline.
    ExtendDeadline,
    Notify {
        template: String,
        to: Vec<Recipient>,
    },
    /// Queue a synchronisation to the credit sharing platforms.
    QueueSync,
    /// Issue the formal document `letter` (a template under
    /// `templates/letters/`): numbered, rendered to PDF and stored in the
    /// transition's transaction; a later `notify` to the applicant carries it.
    IssueDocument {
        letter: String,
    },
}

impl Effect {
    /// Names of all effect kinds, as used in the workflow files.
    pub const KINDS: [&'static str; 18] = [
        "mark_objection",
        "unmark_objection",
        "apply_outcome",
        "end_publication",
        "restore_publication",
        "end_list_membership",
        "restore_list_membership",
        "end_sanctions",
        "restore_sanctions",
        "bar_repair",
        "route_to_department",
        "return_to_office",
        "request_extension",
        "refuse_extension",
        "extend_deadline",
        "notify",
        "queue_sync",
        "issue_document",
    ];

    /// The `kind` name of this effect.
    pub fn kind(&self) -> &'static str {
        match self {
            Effect::MarkObjection => "mark_objection",
            Effect::UnmarkObjection => "unmark_objection",
            Effect::ApplyOutcome => "apply_outcome",
            Effect::EndPublication => "end_publication",
            Effect::RestorePublication => "restore_publication",
            Effect::EndListMembership => "end_list_membership",
            Effect::RestoreListMembership => "restore_list_membership",
            Effect::EndSanctions => "end_sanctions",
            Effect::RestoreSanctions => "restore_sanctions",
            Effect::BarRepair => "bar_repair",
            Effect::RouteToDepartment => "route_to_department",
            Effect::ReturnToOffice => "return_to_office",
            Effect::RequestExtension => "request_extension",
            Effect::RefuseExtension => "refuse_extension",
            Effect::ExtendDeadline => "extend_deadline",
            Effect::Notify { .. } => "notify",
            Effect::QueueSync => "queue_sync",
            Effect::IssueDocument { .. } => "issue_document",
        }
    }

    /// Builds a parameterless effect from its kind name; `None` for unknown
    /// kinds, for `notify` (a template and recipients) and for
    /// `issue_document` (a letter).
    pub fn unit_from_kind(kind: &str) -> Option<Effect> {
        Some(match kind {
            "mark_objection" => Effect::MarkObjection,
            "unmark_objection" => Effect::UnmarkObjection,
            "apply_outcome" => Effect::ApplyOutcome,
            "end_publication" => Effect::EndPublication,
            "restore_publication" => Effect::RestorePublication,
            "end_list_membership" => Effect::EndListMembership,
            "restore_list_membership" => Effect::RestoreListMembership,
            "end_sanctions" => Effect::EndSanctions,
            "restore_sanctions" => Effect::RestoreSanctions,
            "bar_repair" => Effect::BarRepair,
            "route_to_department" => Effect::RouteToDepartment,
            "return_to_office" => Effect::ReturnToOffice,
            "request_extension" => Effect::RequestExtension,
            "refuse_extension" => Effect::RefuseExtension,
            "extend_deadline" => Effect::ExtendDeadline,
            "queue_sync" => Effect::QueueSync,
            _ => return None,
        })
    }
}

/// The workflow files shipped with the server, as `(file name, text)`.
pub fn builtin_sources() -> [(&'static str, &'static str); 2] {
    [
        ("objection.toml", include_str!("../../workflows/objection.toml")),
        ("repair.toml", include_str!("../../workflows/repair.toml")),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn role_names_round_trip() {
        for role in Role::ALL {
            assert_eq!(Role::parse(role.as_str()), Some(role));
            let json = serde_json::to_string(&role).unwrap();
            assert_eq!(json, format!("\"{}\"", role.as_str()));
            assert_eq!(serde_json::from_str::<Role>(&json).unwrap(), role);
        }
        assert_eq!(Role::parse("root"), None);
        assert_eq!(Role::parse("DepartmentOfficer"), None);
    }

    #[test]
    fn guard_and_recipient_names_round_trip() {
        for guard in Guard::ALL {
            assert_eq!(Guard::parse(guard.as_str()), Some(guard));
        }
        for recipient in Recipient::ALL {
            assert_eq!(Recipient::parse(recipient.as_str()), Some(recipient));
        }
        assert_eq!(Guard::parse("always"), None);
        assert_eq!(Recipient::parse("everyone"), None);
    }

    #[test]
    fn effect_kinds_are_consistent() {
        for kind in Effect::KINDS {
            if kind == "notify" || kind == "issue_document" {
                assert!(Effect::unit_from_kind(kind).is_none());
                continue;
            }
            let effect = Effect::unit_from_kind(kind).unwrap();
            assert_eq!(effect.kind(), kind);
            let json = serde_json::to_value(&effect).unwrap();
            assert_eq!(json, serde_json::json!({ "kind": kind }));
        }
        let notify =
            Effect::Notify { template: "case_decided".into(), to: vec![Recipient::Applicant, Recipient::CreditOffice] };
        let json = serde_json::to_value(&notify).unwrap();
        assert_eq!(
            json,
            serde_json::json!({
                "kind": "notify",
                "template": "case_decided",
                "to": ["applicant", "credit_office"],
            })
        );
        assert_eq!(serde_json::from_value::<Effect>(json).unwrap(), notify);
    }

    #[test]
    fn labels_cover_known_values() {
        for outcome in OUTCOMES {
            assert!(outcome_title(outcome).is_some());
        }
        for kind in ATTACHMENT_KINDS {
            assert!(attachment_kind_title(kind).is_some());
        }
        assert_eq!(OUTCOMES.len(), Outcome::ALL.len());
        assert_eq!(ATTACHMENT_KINDS.len(), AttachmentKind::ALL.len());
        assert_eq!(outcome_title("lost"), None);
        assert_eq!(attachment_kind_title("photo"), None);
    }
}
