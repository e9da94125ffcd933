//! Deciding transitions: given a definition, the current state, who acts and
//! with which input, work out where the case goes and what must happen.

use std::fmt;

use serde::Serialize;

use super::{Definition, Effect, Guard, OUTCOMES, Role, TransitionDef, attachment_kind_title, outcome_title};

/// Case facts the guards are evaluated against; the caller computes them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Facts {
    /// Required material kinds not yet on file (see
    /// [`Definition::missing_materials`]); `materials_complete` needs it empty.
    pub missing_materials: Vec<String>,
    /// The case's one extension has been used.
    pub extension_used: bool,
    /// A department's extension request awaits the credit office.
    pub extension_pending: bool,
    /// The case has been urged on the current working day.
    pub urged_today: bool,
    /// The applicant may currently apply for repair (not barred, waiting
    /// period over).
    pub repair_window_open: bool,
}

/// What the actor submitted with the action.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ActionInput<'a> {
    pub comment: Option<&'a str>,
    pub outcome: Option<&'a str>,
    /// Kinds of the attachments uploaded with this action.
    pub attachment_kinds: &'a [String],
}

/// The result of an allowed action. The caller applies `effects` in order
/// and records the clock changes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Decision<'d> {
    pub transition: &'d TransitionDef,
    pub from: String,
    pub to: String,
    pub effects: Vec<Effect>,
    /// A new step deadline of this many working days starts now. `None` when
    /// the target state has no deadline and for self-loops (`extend`,
    /// `urge`), which keep the running deadline.
    pub enters_deadline: Option<u32>,
    /// The total clock stops now (entering a `pauses_total` state from one
    /// that is not).
    pub pauses_total: bool,
    /// The total clock runs again now (leaving a `pauses_total` state for one
    /// that is not).
    pub resumes_total: bool,
    /// The target state is terminal.
    pub terminal: bool,
}

/// Why an action was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EngineError {
    /// The workflow has no action of this name at all.
    UnknownAction(String),
    /// The case's state is not part of the workflow.
    UnknownState(String),
    NotAllowedInState {
        action: String,
        state: String,
    },
    RoleNotAllowed {
        action: String,
        role: Role,
    },
    MissingComment,
    MissingOutcome,
    /// Unknown outcome value, or one this action does not take.
    InvalidOutcome(String),
    /// Required attachment kinds that were not supplied.
    MissingAttachments(Vec<String>),
    /// `missing` lists the missing materials for `materials_complete`.
    GuardFailed {
        guard: Guard,
        missing: Vec<String>,
    },
}

impl EngineError {
    /// Stable snake_case code for API responses. A failed guard reports the
    /// guard's own code (see [`Guard::failure_code`]).
    pub fn code(&self) -> &'static str {
        match self {
            EngineError::UnknownAction(_) => "unknown_action",
            EngineError::UnknownState(_) => "invalid_state",
            EngineError::NotAllowedInState { .. } => "action_not_allowed",
            EngineError::RoleNotAllowed { .. } => "role_not_allowed",
            EngineError::MissingComment => "comment_required",
            EngineError::MissingOutcome => "outcome_required",
            EngineError::InvalidOutcome(_) => "invalid_outcome",
            EngineError::MissingAttachments(_) => "attachments_required",
            EngineError::GuardFailed { guard, .. } => guard.failure_code(),
        }
    }
}

fn material_list(kinds: &[String]) -> String {
    kinds.iter().map(|k| attachment_kind_title(k).unwrap_or(k)).collect::<Vec<_>>().join("、")
}

impl fmt::Display for EngineError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EngineError::UnknownAction(action) => write!(f, "未知的操作：{action}"),
            EngineError::UnknownState(state) => write!(f, "案件状态无效：{state}"),
            EngineError::NotAllowedInState { action, state } => {
                write!(f, "案件当前状态（{state}）下不能执行操作：{action}")
            }
            EngineError::RoleNotAllowed { action, role } => {
                write!(f, "{}无权执行操作：{action}", role.title())
            }
            EngineError::MissingComment => f.write_str("请填写办理意见"),
            EngineError::MissingOutcome => f.write_str("请选择处理结果"),
            EngineError::InvalidOutcome(outcome) => match outcome_title(outcome) {
                Some(title) => write!(f, "该操作不能选择处理结果「{title}」"),
                None => write!(f, "无效的处理结果：{outcome}"),
            },
            EngineError::MissingAttachments(kinds) => {
                write!(f, "缺少必需的附件：{}", material_list(kinds))
            }
            EngineError::GuardFailed { guard, missing } => match guard {
                Guard::MaterialsComplete if missing.is_empty() => f.write_str("申请材料不齐全"),
                Guard::MaterialsComplete => {
                    write!(f, "申请材料不齐全，缺少：{}", material_list(missing))
                }
                Guard::ExtensionUnused => f.write_str("本案已延期过一次，不能再次延期"),
                Guard::NotUrgedToday => f.write_str("今日已催办过本案，请勿重复催办"),
                Guard::RepairWindowOpen => f.write_str("当前不符合申请信用修复的期限要求"),
                Guard::ExtensionPending => f.write_str("本案没有待审批的延期申请"),
                Guard::NoExtensionPending => f.write_str("本案已有待信用办审批的延期申请"),
            },
        }
    }
}

impl std::error::Error for EngineError {}

fn non_blank(value: Option<&str>) -> Option<&str> {
    value.map(str::trim).filter(|v| !v.is_empty())
}

/// Checks whether `role` may take `action` in `state` with `input`, and
/// describes the resulting transition.
///
/// Checks run in this order: unknown action, unknown state, action not
/// available from the state, role, outcome (which also selects the transition
/// when several share the action), comment, attachments, guards. Blank
/// comments and outcomes count as missing. No role, admin included, is
/// allowed anything the file does not list.
pub fn decide<'d>(
    def: &'d Definition,
    state: &str,
    role: Role,
    action: &str,
    input: &ActionInput,
    facts: &Facts,
) -> Result<Decision<'d>, EngineError> {
    if !def.transitions.iter().any(|t| t.action == action) {
        return Err(EngineError::UnknownAction(action.to_owned()));
    }
    let Some(from_state) = def.state(state) else {
        return Err(EngineError::UnknownState(state.to_owned()));
    };
    let candidates: Vec<&TransitionDef> = def.transitions_from(state).filter(|t| t.action == action).collect();
    let role_refused = || EngineError::RoleNotAllowed { action: action.to_owned(), role };
    if candidates.is_empty() {
        return Err(EngineError::NotAllowedInState { action: action.to_owned(), state: state.to_owned() });
    }
    if !candidates.iter().any(|t| t.roles.contains(&role)) {
        return Err(role_refused());
    }

    let outcome = non_blank(input.outcome);
    let transition = if candidates.iter().any(|t| t.requires.outcome) {
        let outcome = outcome.ok_or(EngineError::MissingOutcome)?;
        let invalid = || EngineError::InvalidOutcome(outcome.to_owned());
        if !OUTCOMES.contains(&outcome) {
            return Err(invalid());
        }
        candidates
            .iter()
            .copied()
            .find(|t| t.requires.outcome && t.outcomes.as_ref().is_none_or(|list| list.iter().any(|o| o == outcome)))
            .ok_or_else(invalid)?
    } else {
        if let Some(outcome) = outcome {
            return Err(EngineError::InvalidOutcome(outcome.to_owned()));
        }
        // Validation guarantees a single transition per action and state
        // unless they are split by outcome.
        candidates[0]
    };
    if !transition.roles.contains(&role) {
        return Err(role_refused());
    }

    if transition.requires.comment && non_blank(input.comment).is_none() {
        return Err(EngineError::MissingComment);
    }
    let missing: Vec<String> =
        transition.requires.attachments.iter().filter(|kind| !input.attachment_kinds.contains(kind)).cloned().collect();
    if !missing.is_empty() {
        return Err(EngineError::MissingAttachments(missing));
    }
    if let Some(&guard) = transition.guards.iter().find(|g| !g.holds(facts)) {
        let missing = match guard {
            Guard::MaterialsComplete => facts.missing_materials.clone(),
            _ => Vec::new(),
        };
        return Err(EngineError::GuardFailed { guard, missing });
    }

    let to_state = def.state(&transition.to).expect("validated definitions only point at declared states");
    let self_loop = transition.to == state;
    Ok(Decision {
        transition,
        from: state.to_owned(),
        to: transition.to.clone(),
        effects: transition.effects.clone(),
        enters_deadline: if self_loop && !transition.restarts_step { None } else { to_state.deadline_working_days },
        pauses_total: to_state.pauses_total && !from_state.pauses_total,
        resumes_total: from_state.pauses_total && !to_state.pauses_total,
        terminal: to_state.terminal,
    })
}

#[cfg(test)]
mod tests {
    use super::super::{Recipient, builtin_sources};
    use super::*;

    fn builtin(name: &str) -> Definition {
        let (file, text) = builtin_sources().into_iter().find(|(file, _)| file.starts_with(name)).unwrap();
        Definition::parse(file, text).unwrap()
    }

    fn facts() -> Facts {
        Facts { repair_window_open: true, ..Facts::default() }
    }

    fn with_comment(comment: &str) -> ActionInput<'_> {
        ActionInput { comment: Some(comment), ..ActionInput::default() }
    }

    fn verify_input(outcome: &str) -> ActionInput<'_> {
        ActionInput { comment: Some("已核查"), outcome: Some(outcome), attachment_kinds: &[] }
    }

    fn ok<'d>(def: &'d Definition, state: &str, role: Role, action: &str, input: &ActionInput) -> Decision<'d> {
        decide(def, state, role, action, input, &facts())
            .unwrap_or_else(|e| panic!("{action} from {state} as {role}: {e} ({})", e.code()))
    }

    fn err(def: &Definition, state: &str, role: Role, action: &str, input: &ActionInput, facts: &Facts) -> EngineError {
        decide(def, state, role, action, input, facts).unwrap_err()
    }

    fn kinds(decision: &Decision) -> Vec<&'static str> {
        decision.effects.iter().map(Effect::kind).collect()
    }

    fn notified(decision: &Decision) -> Vec<Recipient> {
        decision
            .effects
            .iter()
            .filter_map(|e| match e {
                Effect::Notify { to, .. } => Some(to.clone()),
                _ => None,
            })
            .flatten()
            .collect()
    }

    fn template<'a>(decision: &'a Decision<'_>) -> &'a str {
        decision
            .effects
            .iter()
            .find_map(|e| match e {
                Effect::Notify { template, .. } => Some(template.as_str()),
                _ => None,
            })
            .unwrap()
    }

    // ------------------------------------------------------------ objection

    #[test]
    fn objection_accept_marks_and_routes() {
        let def = builtin("objection");
        let d = ok(&def, "submitted", Role::CreditOffice, "accept", &ActionInput::default());
        assert_eq!(d.from, "submitted");
        assert_eq!(d.to, "with_department");
        assert_eq!(d.transition.action, "accept");
        assert_eq!(kinds(&d), ["mark_objection", "route_to_department", "queue_sync", "notify"]);
        assert_eq!(template(&d), "case_accepted");
        assert_eq!(notified(&d), [Recipient::Applicant, Recipient::Department]);
        assert_eq!(d.enters_deadline, Some(4));
        assert!(!d.pauses_total && !d.resumes_total && !d.terminal);
    }

    #[test]
    fn objection_reject_needs_comment_and_closes() {
        let def = builtin("objection");
        let e = err(&def, "submitted", Role::CreditOffice, "reject", &ActionInput::default(), &facts());
        assert_eq!(e, EngineError::MissingComment);
        let e = err(&def, "submitted", Role::CreditOffice, "reject", &with_comment("  "), &facts());
        assert_eq!(e.code(), "comment_required");
        let d = ok(&def, "submitted", Role::CreditOffice, "reject", &with_comment("不属于受理范围"));
        assert_eq!(d.to, "closed_not_accepted");
        assert!(d.terminal);
        assert_eq!(d.enters_deadline, None);
        assert_eq!(kinds(&d), ["issue_document", "notify"]);
        assert_eq!(template(&d), "case_decided");
    }

    #[test]
    fn objection_supplement_round_trip_pauses_and_resumes_total() {
        let def = builtin("objection");
        let d = ok(&def, "submitted", Role::CreditOffice, "request_supplement", &with_comment("请补充身份证明"));
        assert_eq!(d.to, "supplement_requested");
        assert_eq!(d.enters_deadline, Some(10));
        assert!(d.pauses_total && !d.resumes_total);
        assert_eq!(template(&d), "supplement_requested");
        assert_eq!(notified(&d), [Recipient::Applicant]);

        let d = ok(&def, "supplement_requested", Role::Applicant, "supplement", &ActionInput::default());
        assert_eq!(d.to, "submitted");
        assert_eq!(d.enters_deadline, Some(1));
        assert!(!d.pauses_total && d.resumes_total && !d.terminal);
        assert_eq!(template(&d), "case_received");
    }

    #[test]
    fn objection_withdraw_from_every_open_state() {
        let def = builtin("objection");
        for state in ["submitted", "supplement_requested", "with_department"] {
            let d = ok(&def, state, Role::Applicant, "withdraw", &ActionInput::default());
            assert_eq!(d.to, "withdrawn");
            assert!(d.terminal);
            assert_eq!(template(&d), "case_withdrawn");
            assert_eq!(d.effects.contains(&Effect::UnmarkObjection), state == "with_department", "{state}");
            assert_eq!(d.resumes_total, state == "supplement_requested");
        }
        for state in ["closed_resolved", "closed_not_accepted", "withdrawn"] {
            let e = err(&def, state, Role::Applicant, "withdraw", &ActionInput::default(), &facts());
            assert_eq!(e.code(), "action_not_allowed", "{state}");
        }
    }

    #[test]
    fn objection_verify_effects_per_outcome() {
        let def = builtin("objection");
        let table: &[(&str, &[&str])] = &[
            ("corrected", &["apply_outcome", "unmark_objection", "queue_sync", "issue_document", "notify"]),
            ("supplemented", &["apply_outcome", "unmark_objection", "queue_sync", "issue_document", "notify"]),
            (
                "deleted",
                &[
                    "apply_outcome",
                    "end_list_membership",
                    "end_sanctions",
                    "end_publication",
                    "unmark_objection",
                    "queue_sync",
                    "issue_document",
                    "notify",
                ],
            ),
            (
                "removed_from_list",
                &[
                    "apply_outcome",
                    "end_list_membership",
                    "end_sanctions",
                    "unmark_objection",
                    "queue_sync",
                    "issue_document",
                    "notify",
                ],
            ),
            ("maintained", &["unmark_objection", "queue_sync", "issue_document", "notify"]),
        ];
        for (outcome, expected) in table {
            let d = ok(&def, "with_department", Role::DepartmentOfficer, "verify", &verify_input(outcome));
            assert_eq!(d.to, "closed_resolved");
            assert!(d.terminal);
            assert_eq!(kinds(&d), *expected, "{outcome}");
            assert_eq!(template(&d), "case_decided");
            assert!(notified(&d).contains(&Recipient::Applicant));
            let outcomes = d.transition.outcomes.as_ref().unwrap();
            assert!(outcomes.iter().any(|o| o == outcome));
        }
    }

    #[test]
    fn objection_verify_input_checks() {
        let def = builtin("objection");
        let dept = Role::DepartmentOfficer;
        let no_outcome = with_comment("已核查");
        let e = err(&def, "with_department", dept, "verify", &no_outcome, &facts());
        assert_eq!(e, EngineError::MissingOutcome);
        assert_eq!(e.code(), "outcome_required");
        let e = err(&def, "with_department", dept, "verify", &verify_input("lost"), &facts());
        assert_eq!(e, EngineError::InvalidOutcome("lost".into()));
        assert_eq!(e.code(), "invalid_outcome");
        // Outcome is checked before the comment.
        let e = err(&def, "with_department", dept, "verify", &ActionInput::default(), &facts());
        assert_eq!(e.code(), "outcome_required");
        let no_comment = ActionInput { outcome: Some("maintained"), ..ActionInput::default() };
        let e = err(&def, "with_department", dept, "verify", &no_comment, &facts());
        assert_eq!(e.code(), "comment_required");
    }

    #[test]
    fn extend_adds_no_new_deadline_and_only_once() {
        for name in ["objection", "repair"] {
            let def = builtin(name);
            let dept = Role::DepartmentOfficer;
            // The department asks, with a reason.
            let d = ok(&def, "with_department", dept, "request_extension", &with_comment("需调取档案"));
            assert_eq!(d.to, "with_department", "{name}");
            assert_eq!(d.enters_deadline, None, "{name}");
            assert_eq!(kinds(&d), ["request_extension", "notify"]);
            assert_eq!(template(&d), "extension_requested");
            assert_eq!(notified(&d), [Recipient::CreditOffice]);
            let e = err(&def, "with_department", dept, "request_extension", &ActionInput::default(), &facts());
            assert_eq!(e.code(), "comment_required");
            // Another party approves (Art. 39): the credit office, not the department.
            let pending = Facts { extension_pending: true, ..facts() };
            let e = err(&def, "with_department", dept, "approve_extension", &ActionInput::default(), &pending);
            assert_eq!(e.code(), "role_not_allowed");
            let e = err(&def, "with_department", dept, "request_extension", &with_comment("再申请"), &pending);
            assert_eq!(e.code(), "extension_request_pending");
            let d = decide(
                &def,
                "with_department",
                Role::CreditOffice,
                "approve_extension",
                &ActionInput::default(),
                &pending,
            )
            .unwrap();
            assert_eq!(d.enters_deadline, None, "{name}");
            assert!(!d.terminal && !d.pauses_total && !d.resumes_total);
            assert_eq!(kinds(&d), ["extend_deadline", "notify"]);
            assert_eq!(template(&d), "deadline_extended");
            assert_eq!(def.extension_working_days, 3);
            let office = Role::CreditOffice;
            let e = err(&def, "with_department", office, "approve_extension", &ActionInput::default(), &facts());
            assert_eq!(e.code(), "no_extension_request");
            let e = err(&def, "with_department", office, "refuse_extension", &ActionInput::default(), &pending);
            assert_eq!(e.code(), "comment_required");

            let used = Facts { extension_used: true, ..facts() };
            let e = err(&def, "with_department", dept, "request_extension", &with_comment("再延"), &used);
            assert_eq!(e, EngineError::GuardFailed { guard: Guard::ExtensionUnused, missing: Vec::new() });
            assert_eq!(e.code(), "extension_used");
        }
    }

    #[test]
    fn urge_is_a_daily_self_loop_for_the_credit_office() {
        for name in ["objection", "repair"] {
            let def = builtin(name);
            let office = Role::CreditOffice;
            let d = ok(&def, "with_department", office, "urge", &ActionInput::default());
            assert_eq!(d.to, "with_department");
            assert_eq!(d.enters_deadline, None);
            assert_eq!(template(&d), "case_urged");
            assert!(notified(&d).contains(&Recipient::Department));
            let urged = Facts { urged_today: true, ..facts() };
            let e = err(&def, "with_department", office, "urge", &ActionInput::default(), &urged);
            assert_eq!(e.code(), "already_urged_today");
            for state in ["submitted", "supplement_requested"] {
                let e = err(&def, state, office, "urge", &ActionInput::default(), &facts());
                assert_eq!(e.code(), "action_not_allowed", "{name} {state}");
            }
            let e = err(&def, "with_department", Role::Applicant, "urge", &ActionInput::default(), &facts());
            assert_eq!(e.code(), "role_not_allowed");
        }
    }

    // --------------------------------------------------------------- repair

    #[test]
    fn repair_accept_guards() {
        let def = builtin("repair");
        let office = Role::CreditOffice;
        let d = ok(&def, "submitted", office, "accept", &ActionInput::default());
        assert_eq!(d.to, "with_department");
        assert_eq!(d.enters_deadline, Some(3));
        assert_eq!(kinds(&d), ["route_to_department", "notify"]);
        assert_eq!(template(&d), "case_accepted");

        let missing = Facts { missing_materials: def.missing_materials(&["commitment_letter".to_string()]), ..facts() };
        let e = err(&def, "submitted", office, "accept", &ActionInput::default(), &missing);
        assert_eq!(
            e,
            EngineError::GuardFailed { guard: Guard::MaterialsComplete, missing: vec!["fulfilment_proof".into()] }
        );
        assert_eq!(e.code(), "materials_missing");
        assert!(e.to_string().contains("履行完毕证明"), "{e}");

        let closed = Facts { repair_window_open: false, ..facts() };
        let e = err(&def, "submitted", office, "accept", &ActionInput::default(), &closed);
        assert_eq!(e.code(), "repair_window_closed");
    }

    #[test]
    fn repair_formal_check_other_actions() {
        let def = builtin("repair");
        let office = Role::CreditOffice;
        let d = ok(&def, "submitted", office, "reject", &with_comment("不符合修复条件"));
        assert_eq!(d.to, "not_accepted");
        assert!(d.terminal);
        assert_eq!(template(&d), "case_decided");
        let d = ok(&def, "submitted", office, "request_supplement", &with_comment("缺承诺书"));
        assert_eq!(d.to, "supplement_requested");
        assert!(d.pauses_total);
        assert_eq!(d.enters_deadline, Some(10));
        let d = ok(&def, "supplement_requested", Role::Applicant, "supplement", &ActionInput::default());
        assert_eq!(d.to, "submitted");
        assert!(d.resumes_total);
        for state in ["submitted", "supplement_requested", "with_department"] {
            let d = ok(&def, state, Role::Applicant, "withdraw", &ActionInput::default());
            assert_eq!(d.to, "withdrawn");
            assert_eq!(template(&d), "case_withdrawn");
        }
    }

    #[test]
    fn repair_approve_ends_everything() {
        let def = builtin("repair");
        let d = ok(&def, "with_department", Role::DepartmentOfficer, "approve", &ActionInput::default());
        assert_eq!(d.to, "completed");
        assert!(d.terminal);
        assert_eq!(
            kinds(&d),
            ["end_publication", "end_list_membership", "end_sanctions", "queue_sync", "issue_document", "notify"]
        );
        assert_eq!(template(&d), "case_decided");
        // Approve takes no outcome.
        let e = err(&def, "with_department", Role::DepartmentOfficer, "approve", &verify_input("corrected"), &facts());
        assert_eq!(e.code(), "invalid_outcome");
    }

    #[test]
    fn repair_deny_needs_comment() {
        let def = builtin("repair");
        let dept = Role::DepartmentOfficer;
        let e = err(&def, "with_department", dept, "deny", &ActionInput::default(), &facts());
        assert_eq!(e.code(), "comment_required");
        let d = ok(&def, "with_department", dept, "deny", &with_comment("仍在履行期内"));
        assert_eq!(d.to, "denied");
        assert!(d.terminal);
        assert_eq!(kinds(&d), ["issue_document", "notify"]);
    }

    #[test]
    fn repair_revoke_restores_and_bars() {
        let def = builtin("repair");
        let office = Role::CreditOffice;
        let e = err(&def, "completed", office, "revoke", &ActionInput::default(), &facts());
        assert_eq!(e.code(), "comment_required");
        let d = ok(&def, "completed", office, "revoke", &with_comment("提供虚假材料"));
        assert_eq!(d.from, "completed");
        assert_eq!(d.to, "revoked");
        assert!(d.terminal);
        assert_eq!(d.enters_deadline, None);
        assert_eq!(
            kinds(&d),
            [
                "restore_publication",
                "restore_list_membership",
                "restore_sanctions",
                "bar_repair",
                "queue_sync",
                "issue_document",
                "notify"
            ]
        );
        assert_eq!(template(&d), "case_revoked");
        for state in ["with_department", "denied", "revoked"] {
            let e = err(&def, state, office, "revoke", &with_comment("x"), &facts());
            assert_eq!(e.code(), "action_not_allowed", "{state}");
        }
        let e = err(&def, "completed", Role::DepartmentOfficer, "revoke", &with_comment("x"), &facts());
        assert_eq!(e.code(), "role_not_allowed");
    }

    // ---------------------------------------------------------- check order

    #[test]
    fn unknown_action_is_checked_before_state() {
        let def = builtin("objection");
        let e = err(&def, "nowhere", Role::Admin, "approve", &ActionInput::default(), &facts());
        assert_eq!(e, EngineError::UnknownAction("approve".into()));
        assert_eq!(e.code(), "unknown_action");
        let e = err(&def, "nowhere", Role::Admin, "accept", &ActionInput::default(), &facts());
        assert_eq!(e, EngineError::UnknownState("nowhere".into()));
        assert_eq!(e.code(), "invalid_state");
    }

    #[test]
    fn state_is_checked_before_role() {
        let def = builtin("objection");
        let e = err(&def, "closed_resolved", Role::Applicant, "verify", &ActionInput::default(), &facts());
        assert_eq!(e, EngineError::NotAllowedInState { action: "verify".into(), state: "closed_resolved".into() });
    }

    #[test]
    fn admin_gets_nothing_implicitly() {
        for name in ["objection", "repair"] {
            let def = builtin(name);
            for t in &def.transitions {
                for from in &t.from {
                    let input = ActionInput {
                        comment: Some("x"),
                        outcome: t.outcomes.as_ref().map(|o| o[0].as_str()),
                        attachment_kinds: &[],
                    };
                    let e = err(&def, from, Role::Admin, &t.action, &input, &facts());
                    assert_eq!(e, EngineError::RoleNotAllowed { action: t.action.clone(), role: Role::Admin });
                }
            }
        }
    }

    #[test]
    fn the_credit_office_corrects_its_own_copy_or_forwards() {
        let def = builtin("objection");
        let office = Role::CreditOffice;
        let d = ok(&def, "submitted", office, "accept_for_check", &ActionInput::default());
        assert_eq!(d.to, "platform_check");
        assert_eq!(d.enters_deadline, Some(2));
        assert_eq!(kinds(&d), ["mark_objection", "queue_sync", "notify"]);
        let missing = Facts { missing_materials: vec!["evidence".into()], ..facts() };
        let e = err(&def, "submitted", office, "accept_for_check", &ActionInput::default(), &missing);
        assert_eq!(e.code(), "materials_missing");
        let d = ok(&def, "platform_check", office, "correct_platform", &verify_input("corrected"));
        assert_eq!(d.to, "closed_resolved");
        assert!(d.terminal);
        assert_eq!(kinds(&d), ["apply_outcome", "unmark_objection", "queue_sync", "issue_document", "notify"]);
        let e = err(&def, "platform_check", office, "correct_platform", &verify_input("deleted"), &facts());
        assert_eq!(e.code(), "invalid_outcome");
        let d = ok(&def, "platform_check", office, "forward", &ActionInput::default());
        assert_eq!(d.to, "with_department");
        assert_eq!(d.enters_deadline, Some(4));
        assert_eq!(kinds(&d), ["route_to_department", "notify"]);
    }

    #[test]
    fn hand_back_and_reroute_restart_the_step() {
        for name in ["objection", "repair"] {
            let def = builtin(name);
            let d = ok(&def, "with_department", Role::DepartmentOfficer, "hand_back", &with_comment("非本单位信息"));
            assert_eq!(d.to, "handed_back");
            assert_eq!(d.enters_deadline, Some(1));
            assert_eq!(kinds(&d), ["return_to_office", "notify"]);
            assert_eq!(notified(&d), [Recipient::CreditOffice]);
            let e =
                err(&def, "with_department", Role::DepartmentOfficer, "hand_back", &ActionInput::default(), &facts());
            assert_eq!(e.code(), "comment_required");
            for from in ["handed_back", "with_department"] {
                let d = ok(&def, from, Role::CreditOffice, "reroute", &with_comment("改派"));
                assert_eq!(d.to, "with_department");
                assert!(d.transition.requires.department);
                // A self-loop that starts the step again.
                assert!(d.enters_deadline.is_some(), "{name} {from}");
                assert_eq!(kinds(&d), ["route_to_department", "notify"]);
            }
        }
    }

    #[test]
    fn role_is_checked_before_inputs_and_guards() {
        let def = builtin("objection");
        let used = Facts { extension_used: true, ..facts() };
        let e = err(&def, "with_department", Role::Applicant, "request_extension", &ActionInput::default(), &used);
        assert_eq!(e.code(), "role_not_allowed");
        // Comment is checked before guards.
        let e =
            err(&def, "with_department", Role::DepartmentOfficer, "request_extension", &ActionInput::default(), &used);
        assert_eq!(e.code(), "comment_required");
    }

    const ATTACH: &str = r#"
id = "attach"
version = 2
title = "附件测试"
initial = "open"
[total]
working_days = 5
[states.open]
title = "待处理"
owner = "applicant"
deadline = { working_days = 2 }
[states.done]
title = "已办结"
terminal = true
result = "已办结"
report_as = "decided"
[[transitions]]
action = "file"
title = "提交"
from = ["open"]
to = "done"
roles = ["applicant"]
requires = { comment = true, attachments = ["fulfilment_proof", "commitment_letter"] }
guards = ["materials_complete"]
effects = [ { kind = "notify", template = "case_received", to = ["applicant"] } ]
"#;

    #[test]
    fn attachments_are_checked_after_comment_and_before_guards() {
        let def = Definition::parse("attach.toml", ATTACH).unwrap();
        let missing_materials = Facts { missing_materials: vec!["evidence".into()], ..facts() };
        let e = err(&def, "open", Role::Applicant, "file", &ActionInput::default(), &missing_materials);
        assert_eq!(e.code(), "comment_required");
        let some = vec!["commitment_letter".to_string()];
        let input = ActionInput { comment: Some("材料见附件"), outcome: None, attachment_kinds: &some };
        let e = err(&def, "open", Role::Applicant, "file", &input, &missing_materials);
        assert_eq!(e, EngineError::MissingAttachments(vec!["fulfilment_proof".into()]));
        assert_eq!(e.code(), "attachments_required");
        assert!(e.to_string().contains("履行完毕证明"));
        let all = vec!["commitment_letter".to_string(), "fulfilment_proof".to_string()];
        let input = ActionInput { attachment_kinds: &all, ..input };
        let e = err(&def, "open", Role::Applicant, "file", &input, &missing_materials);
        assert_eq!(e.code(), "materials_missing");
        let d = decide(&def, "open", Role::Applicant, "file", &input, &facts()).unwrap();
        assert_eq!(d.to, "done");
    }

    #[test]
    fn every_builtin_transition_can_be_taken() {
        for name in ["objection", "repair"] {
            let def = builtin(name);
            for t in &def.transitions {
                let outcomes: Vec<Option<&str>> = match &t.outcomes {
                    Some(list) => list.iter().map(|o| Some(o.as_str())).collect(),
                    None => vec![None],
                };
                for from in &t.from {
                    for outcome in &outcomes {
                        let input = ActionInput {
                            comment: Some("意见"),
                            outcome: *outcome,
                            attachment_kinds: &t.requires.attachments,
                        };
                        let role = t.roles[0];
                        // Approving or refusing needs a pending request.
                        let facts = Facts { extension_pending: t.guards.contains(&Guard::ExtensionPending), ..facts() };
                        let d = decide(&def, from, role, &t.action, &input, &facts)
                            .unwrap_or_else(|e| panic!("{name}: {} from {from}: {e}", t.action));
                        assert!(std::ptr::eq(d.transition, t));
                        assert_eq!(d.to, t.to);
                        assert_eq!(d.effects, t.effects);
                    }
                }
            }
        }
    }

    #[test]
    fn error_codes_and_messages() {
        let errors = [
            EngineError::UnknownAction("fly".into()),
            EngineError::UnknownState("limbo".into()),
            EngineError::NotAllowedInState { action: "verify".into(), state: "submitted".into() },
            EngineError::RoleNotAllowed { action: "accept".into(), role: Role::Applicant },
            EngineError::MissingComment,
            EngineError::MissingOutcome,
            EngineError::InvalidOutcome("lost".into()),
            EngineError::MissingAttachments(vec!["evidence".into()]),
            EngineError::GuardFailed { guard: Guard::MaterialsComplete, missing: vec!["commitment_letter".into()] },
            EngineError::GuardFailed { guard: Guard::ExtensionUnused, missing: vec![] },
            EngineError::GuardFailed { guard: Guard::NotUrgedToday, missing: vec![] },
            EngineError::GuardFailed { guard: Guard::RepairWindowOpen, missing: vec![] },
        ];
        let codes: Vec<&str> = errors.iter().map(EngineError::code).collect();
        assert_eq!(
            codes,
            [
                "unknown_action",
                "invalid_state",
                "action_not_allowed",
                "role_not_allowed",
                "comment_required",
                "outcome_required",
                "invalid_outcome",
                "attachments_required",
                "materials_missing",
                "extension_used",
                "already_urged_today",
                "repair_window_closed",
            ]
        );
        for e in &errors {
            let text = e.to_string();
            assert!(text.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c)), "not Chinese: {text}");
        }
        assert!(errors[3].to_string().contains("申请人"));
        assert!(errors[8].to_string().contains("信用承诺书"));
        assert!(EngineError::InvalidOutcome("maintained".into()).to_string().contains("维持"));
    }
}
