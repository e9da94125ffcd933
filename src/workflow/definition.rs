//! Workflow definitions: parsing and validating the TOML files.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::fmt;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::{ATTACHMENT_KINDS, Effect, Facts, Guard, OUTCOMES, Recipient, Role};

/// A parsed and validated workflow.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Definition {
    pub id: String,
    pub version: u32,
    pub title: String,
    pub initial: String,
    /// Length of the case-wide clock, counted from receipt.
    pub total_working_days: u32,
    /// Working days added by an `extend_deadline` effect (0 if not declared).
    pub extension_working_days: u32,
    /// Whether an extension also moves the case-wide deadline. When it does
    /// not (an objection: Shandong Art. 39's 7 working days are a hard
    /// limit), it moves the step only, and never past the case-wide deadline.
    pub extension_moves_total: bool,
    /// Attachment kinds an application needs before it can be accepted
    /// (see [`Definition::missing_materials`]).
    pub required_materials: Vec<String>,
    pub states: BTreeMap<String, StateDef>,
    /// In file order.
    pub transitions: Vec<TransitionDef>,
    /// SHA-256 (lowercase hex) of the source text.
    pub hash: String,
    pub source_name: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StateDef {
    pub title: String,
    /// Who is expected to act; `None` only for terminal states.
    pub owner: Option<Role>,
    pub terminal: bool,
    /// Result label of a terminal state, e.g. "不予受理".
    pub result: Option<String>,
    /// Entering the state starts a step deadline of this many working days.
    pub deadline_working_days: Option<u32>,
    /// While the case sits in this state the total clock does not run.
    pub pauses_total: bool,
    /// How reports count a case closed in this (terminal) state.
    pub report_as: Option<ClosureClass>,
}

/// How reports count a closed case: decided on its merits, withdrawn by the
/// applicant, not accepted, or ended without a decision (the record's
/// window ran out, the record was withdrawn).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ClosureClass {
    Decided,
    Withdrawn,
    NotAccepted,
    Moot,
}

impl ClosureClass {
    pub fn as_str(self) -> &'static str {
        match self {
            ClosureClass::Decided => "decided",
            ClosureClass::Withdrawn => "withdrawn",
            ClosureClass::NotAccepted => "not_accepted",
            ClosureClass::Moot => "moot",
        }
    }

    pub fn parse(s: &str) -> Option<ClosureClass> {
        match s {
            "decided" => Some(ClosureClass::Decided),
            "withdrawn" => Some(ClosureClass::Withdrawn),
            "not_accepted" => Some(ClosureClass::NotAccepted),
            "moot" => Some(ClosureClass::Moot),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TransitionDef {
    pub action: String,
    pub title: String,
    pub from: Vec<String>,
    pub to: String,
    pub roles: Vec<Role>,
    /// When set, the transition applies only to these outcome values.
    pub outcomes: Option<Vec<String>>,
    pub requires: Requires,
    pub guards: Vec<Guard>,
    pub effects: Vec<Effect>,
    /// A self-loop that starts a fresh step deadline (re-routing a case to
    /// another department); other self-loops keep the running one.
    pub restarts_step: bool,
}

/// Inputs an action must come with.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Requires {
    pub comment: bool,
    pub outcome: bool,
    /// Attachment kinds that must be uploaded with the action.
    pub attachments: Vec<String>,
    /// The action names the department the case goes to (re-routing).
    pub department: bool,
    /// The action lists items (a supplement request's missing items, told
    /// all at once: 一次性告知).
    pub items: bool,
}

/// An action a role may take now, for building user interfaces.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ActionInfo {
    pub name: String,
    pub title: String,
    pub requires_comment: bool,
    pub requires_outcome: bool,
    /// Outcome values allowed across the transitions of this action (empty
    /// when the action takes no outcome).
    pub outcomes: Vec<String>,
    pub requires_attachments: Vec<String>,
    /// The action names a department (re-routing).
    pub requires_department: bool,
    /// The action lists items (a supplement request's missing items).
    pub requires_items: bool,
}

/// A problem in a workflow file. `state` names the state concerned, if any.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DefinitionError {
    pub file: String,
    pub state: Option<String>,
    pub message: String,
}

impl fmt::Display for DefinitionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.state {
            Some(state) => write!(f, "{}: state `{}`: {}", self.file, state, self.message),
            None => write!(f, "{}: {}", self.file, self.message),
        }
    }
}

impl std::error::Error for DefinitionError {}

// ------------------------------------------------------------ raw format ----

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    id: String,
    version: u32,
    title: String,
    initial: String,
    #[serde(default)]
    required_materials: Vec<String>,
    total: RawDays,
    #[serde(default)]
    extension: Option<RawExtension>,
    #[serde(default)]
    states: BTreeMap<String, toml::Value>,
    #[serde(default)]
    transitions: Vec<toml::Value>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDays {
    working_days: u32,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawExtension {
    working_days: u32,
    #[serde(default)]
    moves_total: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawState {
    title: String,
    #[serde(default)]
    owner: Option<String>,
    #[serde(default)]
    terminal: bool,
    #[serde(default)]
    result: Option<String>,
    #[serde(default)]
    deadline: Option<RawDays>,
    #[serde(default)]
    pauses_total: bool,
    #[serde(default)]
    report_as: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTransition {
    action: String,
    title: String,
    from: Vec<String>,
    to: String,
    roles: Vec<String>,
    #[serde(default)]
    outcomes: Option<Vec<String>>,
    #[serde(default)]
    requires: RawRequires,
    #[serde(default)]
    guards: Vec<String>,
    #[serde(default)]
    effects: Vec<RawEffect>,
    #[serde(default)]
    restarts_step: bool,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawRequires {
    #[serde(default)]
    comment: bool,
    #[serde(default)]
    outcome: bool,
    #[serde(default)]
    attachments: Vec<String>,
    #[serde(default)]
    department: bool,
    #[serde(default)]
    items: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEffect {
    kind: String,
    #[serde(default)]
    template: Option<String>,
    #[serde(default)]
    to: Option<Vec<String>>,
    #[serde(default)]
    letter: Option<String>,
}

// ------------------------------------------------------------ validation ----

struct Errors {
    file: String,
    list: Vec<DefinitionError>,
}

impl Errors {
    fn push(&mut self, state: Option<&str>, message: impl Into<String>) {
        self.list.push(DefinitionError {
            file: self.file.clone(),
            state: state.map(str::to_owned),
            message: message.into(),
        });
    }
}

/// Label used in messages about one `[[transitions]]` entry (1-based index).
fn transition_label(index: usize, action: &str) -> String {
    if action.is_empty() {
        format!("第 {} 条 [[transitions]]", index + 1)
    } else {
        format!("第 {} 条 [[transitions]]（操作 `{}`）", index + 1, action)
    }
}

/// Finds the state whose `[states.<name>]` section contains byte `offset`.
fn state_at(text: &str, offset: usize) -> Option<String> {
    let mut current = None;
    let mut pos = 0;
    for line in text.split_inclusive('\n') {
        if pos > offset {
            break;
        }
        pos += line.len();
        let trimmed = line.trim();
        if !trimmed.starts_with('[') {
            continue;
        }
        let header = trimmed.trim_start_matches('[');
        current = header.strip_prefix("states.").and_then(|rest| {
            let name: String = rest.chars().take_while(|c| !matches!(c, '.' | ']' | ' ')).collect();
            let name = name.trim_matches('"').to_owned();
            (!name.is_empty()).then_some(name)
        });
    }
    current
}

fn check_days(errors: &mut Errors, state: Option<&str>, what: &str, days: u32) {
    if days == 0 {
        errors.push(state, format!("{what} 的 working_days 必须大于 0"));
    }
}

impl Definition {
    /// Parses and validates a workflow file. `source_name` (e.g.
    /// `"objection.toml"`) is only used in error messages and stored in the
    /// definition. All problems found are reported, not just the first.
    pub fn parse(source_name: &str, text: &str) -> Result<Definition, Vec<DefinitionError>> {
        let mut errors = Errors { file: source_name.to_owned(), list: Vec::new() };
        let raw: RawFile = match toml::from_str(text) {
            Ok(raw) => raw,
            Err(err) => {
                let state = err.span().and_then(|span| state_at(text, span.start));
                errors.push(state.as_deref(), format!("TOML 格式错误：{}", err.message().trim()));
                return Err(errors.list);
            }
        };

        if raw.id.trim().is_empty() {
            errors.push(None, "id 不能为空");
        }
        if raw.version == 0 {
            errors.push(None, "version 必须大于 0");
        }
        if raw.title.trim().is_empty() {
            errors.push(None, "title 不能为空");
        }
        check_days(&mut errors, None, "[total]", raw.total.working_days);
        if let Some(ext) = &raw.extension {
            check_days(&mut errors, None, "[extension]", ext.working_days);
        }
        for kind in &raw.required_materials {
            if !ATTACHMENT_KINDS.contains(&kind.as_str()) {
                errors.push(None, format!("required_materials 中有未知的材料类型 `{kind}`"));
            }
        }

        // Structural problems in a state or transition make the graph checks
        // below unreliable, so those are skipped in that case.
        let mut complete = true;
        let states = parse_states(&mut errors, raw.states, &mut complete);
        if !states.contains_key(&raw.initial) && complete {
            errors.push(Some(&raw.initial), "初始状态（initial）未在 [states] 中定义");
        }
        let transitions = parse_transitions(&mut errors, raw.transitions, &states, &mut complete);

        if raw.extension.is_none() && transitions.iter().any(|t| t.effects.contains(&Effect::ExtendDeadline)) {
            errors.push(None, "使用了 extend_deadline 效果，但未定义 [extension]");
        }
        check_ambiguity(&mut errors, &transitions);
        if complete && states.contains_key(&raw.initial) {
            check_graph(&mut errors, &raw.initial, &states, &transitions);
            check_objection_mark(&mut errors, &states, &transitions);
        }

        if !errors.list.is_empty() {
            return Err(errors.list);
        }
        Ok(Definition {
            id: raw.id,
            version: raw.version,
            title: raw.title,
            initial: raw.initial,
            total_working_days: raw.total.working_days,
            extension_working_days: raw.extension.as_ref().map_or(0, |e| e.working_days),
            extension_moves_total: raw.extension.as_ref().is_some_and(|e| e.moves_total),
            required_materials: raw.required_materials,
            states,
            transitions,
            hash: hex::encode(Sha256::digest(text.as_bytes())),
            source_name: source_name.to_owned(),
        })
    }

    /// Looks up a state by name.
    pub fn state(&self, name: &str) -> Option<&StateDef> {
        self.states.get(name)
    }

    /// Required materials not among `present` (attachment kinds on file), in
    /// declaration order. Useful for filling [`Facts::missing_materials`].
    pub fn missing_materials(&self, present: &[String]) -> Vec<String> {
        self.required_materials.iter().filter(|kind| !present.contains(kind)).cloned().collect()
    }

    /// Transitions leaving `state`, in file order.
    pub fn transitions_from<'a>(&'a self, state: &str) -> impl Iterator<Item = &'a TransitionDef> {
        self.transitions.iter().filter(move |t| t.from.iter().any(|f| f == state))
    }

    /// The actions `role` may take in `state` right now: one entry per action
    /// name, in file order. Actions whose guards fail for `facts` are left
    /// out; for actions split by outcome, only outcomes whose transition
    /// passes its guards are listed.
    pub fn available_actions(&self, state: &str, role: Role, facts: &Facts) -> Vec<ActionInfo> {
        let mut infos: Vec<ActionInfo> = Vec::new();
        let usable = self
            .transitions_from(state)
            .filter(|t| t.roles.contains(&role) && t.guards.iter().all(|guard| guard.holds(facts)));
        for t in usable {
            let idx = match infos.iter().position(|i| i.name == t.action) {
                Some(idx) => idx,
                None => {
                    infos.push(ActionInfo {
                        name: t.action.clone(),
                        title: t.title.clone(),
                        requires_comment: false,
                        requires_outcome: false,
                        outcomes: Vec::new(),
                        requires_attachments: Vec::new(),
                        requires_department: false,
                        requires_items: false,
                    });
                    infos.len() - 1
                }
            };
            let info = &mut infos[idx];
            info.requires_comment |= t.requires.comment;
            info.requires_outcome |= t.requires.outcome;
            info.requires_department |= t.requires.department;
            info.requires_items |= t.requires.items;
            let outcomes: Vec<&str> = match &t.outcomes {
                Some(list) => list.iter().map(String::as_str).collect(),
                None if t.requires.outcome => OUTCOMES.to_vec(),
                None => Vec::new(),
            };
            for outcome in outcomes {
                if !info.outcomes.iter().any(|o| o == outcome) {
                    info.outcomes.push(outcome.to_owned());
                }
            }
            for kind in &t.requires.attachments {
                if !info.requires_attachments.contains(kind) {
                    info.requires_attachments.push(kind.clone());
                }
            }
        }
        infos
    }
}

fn parse_states(
    errors: &mut Errors,
    raw: BTreeMap<String, toml::Value>,
    complete: &mut bool,
) -> BTreeMap<String, StateDef> {
    let mut states = BTreeMap::new();
    for (name, value) in raw {
        let at = Some(name.as_str());
        let raw: RawState = match value.try_into() {
            Ok(raw) => raw,
            Err(err) => {
                errors.push(at, format!("格式错误：{}", err.message().trim()));
                *complete = false;
                continue;
            }
        };
        if raw.title.trim().is_empty() {
            errors.push(at, "title 不能为空");
        }
        let owner = raw.owner.as_deref().and_then(|owner| {
            let role = Role::parse(owner);
            if role.is_none() {
                errors.push(at, format!("owner 是未知的角色 `{owner}`"));
            }
            role
        });
        let deadline = raw.deadline.map(|d| d.working_days);
        if let Some(days) = deadline {
            check_days(errors, at, "deadline", days);
        }
        if raw.terminal {
            if raw.owner.is_some() {
                errors.push(at, "终止状态不能指定 owner");
            }
            if deadline.is_some() {
                errors.push(at, "终止状态不能指定 deadline");
            }
            if raw.pauses_total {
                errors.push(at, "终止状态不能设置 pauses_total");
            }
            match raw.report_as.as_deref().map(ClosureClass::parse) {
                None => errors.push(at, "终止状态必须指定 report_as（decided、withdrawn、not_accepted 或 moot）"),
                Some(None) => errors.push(at, "report_as 须为 decided、withdrawn、not_accepted 或 moot"),
                Some(Some(_)) => {}
            }
            match &raw.result {
                None => errors.push(at, "终止状态必须指定 result（结果标签）"),
                Some(result) if result.trim().is_empty() => {
                    errors.push(at, "result 不能为空");
                }
                Some(_) => {}
            }
        } else {
            if raw.owner.is_none() {
                errors.push(at, "非终止状态必须指定 owner");
            }
            if deadline.is_none() {
                errors.push(at, "非终止状态必须指定 deadline");
            }
            if raw.result.is_some() {
                errors.push(at, "只有终止状态才能指定 result");
            }
            if raw.report_as.is_some() {
                errors.push(at, "只有终止状态才能指定 report_as");
            }
        }
        states.insert(
            name,
            StateDef {
                title: raw.title,
                owner,
                terminal: raw.terminal,
                result: raw.result,
                deadline_working_days: deadline,
                pauses_total: raw.pauses_total,
                report_as: raw.report_as.as_deref().and_then(ClosureClass::parse),
            },
        );
    }
    states
}

fn parse_transitions(
    errors: &mut Errors,
    raw: Vec<toml::Value>,
    states: &BTreeMap<String, StateDef>,
    complete: &mut bool,
) -> Vec<TransitionDef> {
    let mut transitions = Vec::new();
    for (index, value) in raw.into_iter().enumerate() {
        // Best-effort names for messages, even if the entry is malformed.
        let first_from = value
            .get("from")
            .and_then(|f| f.as_array())
            .and_then(|f| f.first())
            .and_then(|f| f.as_str())
            .map(str::to_owned);
        let action = value.get("action").and_then(|a| a.as_str()).unwrap_or_default().to_owned();
        let label = transition_label(index, &action);
        let raw: RawTransition = match value.try_into() {
            Ok(raw) => raw,
            Err(err) => {
                errors.push(first_from.as_deref(), format!("{label}：格式错误：{}", err.message().trim()));
                *complete = false;
                continue;
            }
        };
        let at = first_from.as_deref();

        if raw.action.trim().is_empty() {
            errors.push(at, format!("{label}：action 不能为空"));
        }
        if raw.title.trim().is_empty() {
            errors.push(at, format!("{label}：title 不能为空"));
        }
        if raw.from.is_empty() {
            errors.push(None, format!("{label}：from 不能为空"));
        }
        for from in &raw.from {
            if !states.contains_key(from) {
                errors.push(Some(from), format!("{label}：from 引用了未定义的状态"));
                *complete = false;
            }
        }
        if !states.contains_key(&raw.to) {
            errors.push(Some(&raw.to), format!("{label}：to 引用了未定义的状态"));
            *complete = false;
        }

        if raw.roles.is_empty() {
            errors.push(at, format!("{label}：roles 不能为空"));
        }
        let mut roles = Vec::new();
        for name in &raw.roles {
            match Role::parse(name) {
                Some(role) if !roles.contains(&role) => roles.push(role),
                Some(_) => {}
                None => errors.push(at, format!("{label}：未知的角色 `{name}`")),
            }
        }

        if let Some(outcomes) = &raw.outcomes {
            if outcomes.is_empty() {
                errors.push(at, format!("{label}：outcomes 不能为空列表"));
            }
            if !raw.requires.outcome {
                errors.push(at, format!("{label}：列出了 outcomes，必须同时设置 requires.outcome = true"));
            }
            for outcome in outcomes {
                if !OUTCOMES.contains(&outcome.as_str()) {
                    errors.push(at, format!("{label}：未知的处理结果 `{outcome}`"));
                }
            }
        }
        for kind in &raw.requires.attachments {
            if !ATTACHMENT_KINDS.contains(&kind.as_str()) {
                errors.push(at, format!("{label}：未知的附件类型 `{kind}`"));
            }
        }

        let mut guards = Vec::new();
        for name in &raw.guards {
            match Guard::parse(name) {
                Some(guard) => guards.push(guard),
                None => errors.push(at, format!("{label}：未知的条件（guard）`{name}`")),
            }
        }

        let mut effects = Vec::new();
        for effect in raw.effects {
            if let Some(effect) = parse_effect(errors, at, &label, effect) {
                effects.push(effect);
            }
        }

        if raw.requires.department && !effects.contains(&Effect::RouteToDepartment) {
            errors.push(at, format!("{label}：requires.department 只能用于带 route_to_department 效果的操作"));
        }
        if raw.restarts_step && !raw.from.contains(&raw.to) {
            errors.push(at, format!("{label}：restarts_step 只能用于停留在原状态的操作"));
        }

        transitions.push(TransitionDef {
            action: raw.action,
            title: raw.title,
            from: raw.from,
            to: raw.to,
            roles,
            outcomes: raw.outcomes,
            requires: Requires {
                comment: raw.requires.comment,
                outcome: raw.requires.outcome,
                attachments: raw.requires.attachments,
                department: raw.requires.department,
                items: raw.requires.items,
            },
            guards,
            effects,
            restarts_step: raw.restarts_step,
        });
    }
    transitions
}

fn parse_effect(errors: &mut Errors, at: Option<&str>, label: &str, raw: RawEffect) -> Option<Effect> {
    if raw.kind == "issue_document" {
        if raw.template.is_some() || raw.to.is_some() {
            errors.push(at, format!("{label}：issue_document 效果只接受 letter 参数"));
        }
        return match raw.letter {
            Some(letter) if crate::domain::documents::is_letter(&letter) => Some(Effect::IssueDocument { letter }),
            Some(letter) => {
                errors.push(at, format!("{label}：未知的文书 `{letter}`"));
                None
            }
            None => {
                errors.push(at, format!("{label}：issue_document 效果必须指定 letter"));
                None
            }
        };
    }
    if raw.letter.is_some() {
        errors.push(at, format!("{label}：效果 `{}` 不接受 letter 参数", raw.kind));
    }
    if raw.kind == "notify" {
        let template = match raw.template {
            Some(t) if !t.trim().is_empty() => Some(t),
            _ => {
                errors.push(at, format!("{label}：notify 效果必须指定 template"));
                None
            }
        };
        let names = raw.to.unwrap_or_default();
        if names.is_empty() {
            errors.push(at, format!("{label}：notify 效果必须指定至少一个接收方（to）"));
        }
        let mut to = Vec::new();
        for name in &names {
            match Recipient::parse(name) {
                Some(r) if !to.contains(&r) => to.push(r),
                Some(_) => {}
                None => errors.push(at, format!("{label}：未知的通知接收方 `{name}`")),
            }
        }
        return template.map(|template| Effect::Notify { template, to });
    }
    let Some(effect) = Effect::unit_from_kind(&raw.kind) else {
        errors.push(at, format!("{label}：未知的效果类型 `{}`", raw.kind));
        return None;
    };
    if raw.template.is_some() || raw.to.is_some() {
        errors.push(at, format!("{label}：效果 `{}` 不接受 template / to 参数", raw.kind));
    }
    Some(effect)
}

/// Outcome sets overlap when either side takes every outcome (`None`).
fn outcomes_overlap(a: &Option<Vec<String>>, b: &Option<Vec<String>>) -> Vec<String> {
    match (a, b) {
        (Some(a), Some(b)) => a.iter().filter(|o| b.contains(o)).cloned().collect(),
        (Some(list), None) | (None, Some(list)) => list.clone(),
        (None, None) => Vec::new(),
    }
}

fn check_ambiguity(errors: &mut Errors, transitions: &[TransitionDef]) {
    for (i, a) in transitions.iter().enumerate() {
        for (j, b) in transitions.iter().enumerate().skip(i + 1) {
            if a.action != b.action {
                continue;
            }
            let shared = outcomes_overlap(&a.outcomes, &b.outcomes);
            let overlap = (a.outcomes.is_none() || b.outcomes.is_none()) || !shared.is_empty();
            if !overlap {
                continue;
            }
            let mut reported = BTreeSet::new();
            for from in a.from.iter().filter(|f| b.from.contains(f)) {
                if !reported.insert(from) {
                    continue;
                }
                let detail = if shared.is_empty() {
                    String::new()
                } else {
                    format!("（重叠的结果：{}）", shared.join("、"))
                };
                errors.push(
                    Some(from),
                    format!(
                        "操作 `{}` 的第 {} 条与第 {} 条 transition 从同一状态出发且 outcomes 重叠{detail}，走向不确定",
                        a.action,
                        i + 1,
                        j + 1
                    ),
                );
            }
        }
    }
}

/// Reachability from the initial state and "every open state has a way out".
fn check_graph(errors: &mut Errors, initial: &str, states: &BTreeMap<String, StateDef>, transitions: &[TransitionDef]) {
    let mut reached = BTreeSet::from([initial]);
    let mut queue = VecDeque::from([initial]);
    while let Some(state) = queue.pop_front() {
        for t in transitions.iter().filter(|t| t.from.iter().any(|f| f == state)) {
            if reached.insert(t.to.as_str()) {
                queue.push_back(t.to.as_str());
            }
        }
    }
    for (name, state) in states {
        if !reached.contains(name.as_str()) {
            errors.push(Some(name), format!("从初始状态 `{initial}` 无法到达该状态"));
        }
        let has_exit = transitions.iter().any(|t| t.from.contains(name));
        if !state.terminal && !has_exit {
            errors.push(Some(name), "非终止状态没有出口（no way out）：没有任何 transition 以它为 from");
        }
    }
}

/// An objection mark set by `mark_objection` must be removed by
/// `unmark_objection` before the case reaches a terminal state.
fn check_objection_mark(errors: &mut Errors, states: &BTreeMap<String, StateDef>, transitions: &[TransitionDef]) {
    let marked_after = |t: &TransitionDef, marked_before: bool| {
        let mut marked = marked_before;
        for effect in &t.effects {
            match effect {
                Effect::MarkObjection => marked = true,
                Effect::UnmarkObjection => marked = false,
                _ => {}
            }
        }
        marked
    };
    // States in which the mark may be set on entry (never the case at the
    // start, so the set begins empty).
    let mut may_be_marked: BTreeSet<&str> = BTreeSet::new();
    let mut changed = true;
    while changed {
        changed = false;
        for t in transitions {
            for from in &t.from {
                let before = may_be_marked.contains(from.as_str());
                if marked_after(t, before) && may_be_marked.insert(t.to.as_str()) {
                    changed = true;
                }
            }
        }
    }
    for (index, t) in transitions.iter().enumerate() {
        if !states.get(&t.to).is_some_and(|s| s.terminal) {
            continue;
        }
        for from in &t.from {
            let before = may_be_marked.contains(from.as_str());
            if marked_after(t, before) {
                errors.push(
                    Some(from),
                    format!(
                        "{}：进入终止状态 `{}` 时异议标注可能未撤销，需要 unmark_objection 效果",
                        transition_label(index, &t.action),
                        t.to
                    ),
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::builtin_sources;
    use super::*;

    fn builtin(name: &str) -> Definition {
        let (file, text) = builtin_sources().into_iter().find(|(file, _)| file.starts_with(name)).unwrap();
        Definition::parse(file, text)
            .unwrap_or_else(|errs| panic!("{}", errs.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n")))
    }

    fn names(actions: &[ActionInfo]) -> Vec<&str> {
        actions.iter().map(|a| a.name.as_str()).collect()
    }

    fn complete_facts() -> Facts {
        Facts { repair_window_open: true, ..Facts::default() }
    }

    /// A small valid workflow; tests break it in one place at a time.
    const BASE: &str = r#"
id = "mini"
version = 1
title = "测试流程"
initial = "open"

[total]
working_days = 5

[extension]
working_days = 2

[states.open]
title = "待处理"
owner = "credit_office"
deadline = { working_days = 1 }

[states.done]
title = "已办结"
terminal = true
result = "已办结"
report_as = "decided"

[[transitions]]
action = "close"
title = "办结"
from = ["open"]
to = "done"
roles = ["credit_office"]
effects = [ { kind = "notify", template = "case_decided", to = ["applicant"] } ]
"#;

    fn broken(text: &str) -> Vec<DefinitionError> {
        match Definition::parse("mini.toml", text) {
            Ok(_) => panic!("expected validation errors for:\n{text}"),
            Err(errs) => errs,
        }
    }

    /// Asserts that some error names `state` and contains `needle`.
    fn assert_error(errs: &[DefinitionError], state: Option<&str>, needle: &str) {
        let found = errs.iter().any(|e| e.state.as_deref() == state && e.message.contains(needle));
        assert!(
            found,
            "no error for state {state:?} containing {needle:?} in:\n{}",
            errs.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n")
        );
        if let Some(state) = state {
            let shown = errs
                .iter()
                .find(|e| e.state.as_deref() == Some(state) && e.message.contains(needle))
                .unwrap()
                .to_string();
            assert!(shown.starts_with(&format!("mini.toml: state `{state}`: ")), "{shown}");
        }
    }

    #[test]
    fn base_fixture_is_valid() {
        let def = Definition::parse("mini.toml", BASE).unwrap();
        assert_eq!(def.id, "mini");
        assert_eq!(def.source_name, "mini.toml");
        assert_eq!(def.extension_working_days, 2);
        assert_eq!(def.transitions.len(), 1);
    }

    #[test]
    fn builtin_objection_matches_domain() {
        let def = builtin("objection");
        assert_eq!(def.id, "objection");
        assert_eq!(def.version, 3);
        assert_eq!(def.title, "异议申请");
        assert_eq!(def.initial, "submitted");
        assert_eq!(def.total_working_days, 7);
        assert_eq!(def.extension_working_days, 3);
        assert_eq!(def.required_materials, ["evidence"]);
        // The credit office's own branch finishes within 3 working days: 1 + 2.
        assert_eq!(def.state("platform_check").unwrap().deadline_working_days, Some(2));
        assert_eq!(def.state("platform_check").unwrap().owner, Some(Role::CreditOffice));
        assert_eq!(def.state("handed_back").unwrap().owner, Some(Role::CreditOffice));
        assert_eq!(def.state("submitted").unwrap().deadline_working_days, Some(1));
        assert_eq!(def.state("submitted").unwrap().owner, Some(Role::CreditOffice));
        let supplement = def.state("supplement_requested").unwrap();
        assert_eq!(supplement.deadline_working_days, Some(10));
        assert!(supplement.pauses_total);
        assert_eq!(supplement.owner, Some(Role::Applicant));
        assert_eq!(def.state("with_department").unwrap().deadline_working_days, Some(4));
        for name in ["closed_resolved", "closed_not_accepted", "withdrawn"] {
            let state = def.state(name).unwrap();
            assert!(state.terminal, "{name}");
            assert!(state.result.is_some(), "{name}");
        }
        assert_eq!(def.state("closed_not_accepted").unwrap().result.as_deref(), Some("不予受理"));
        assert!(def.state("nope").is_none());
    }

    #[test]
    fn builtin_repair_matches_domain() {
        let def = builtin("repair");
        assert_eq!(def.id, "repair");
        assert_eq!(def.title, "信用修复");
        assert_eq!(def.total_working_days, 10);
        assert_eq!(def.extension_working_days, 3);
        assert_eq!(def.required_materials, ["fulfilment_proof", "commitment_letter"]);
        assert_eq!(def.state("submitted").unwrap().deadline_working_days, Some(1));
        assert_eq!(def.state("supplement_requested").unwrap().deadline_working_days, Some(10));
        assert_eq!(def.state("with_department").unwrap().deadline_working_days, Some(3));
        for name in ["completed", "denied", "not_accepted", "withdrawn", "revoked", "expired"] {
            let state = def.state(name).unwrap();
            assert!(state.terminal, "{name}");
            assert!(state.result.is_some(), "{name}");
        }
        // Terminal, yet revocable.
        assert_eq!(def.transitions_from("completed").map(|t| t.action.as_str()).collect::<Vec<_>>(), ["revoke"]);
    }

    #[test]
    fn builtin_files_use_required_action_names_and_comments() {
        let expect = [
            (
                "objection",
                &[
                    "accept",
                    "accept_for_check",
                    "correct_platform",
                    "forward",
                    "reject",
                    "request_supplement",
                    "supplement",
                    "withdraw",
                    "verify",
                    "hand_back",
                    "request_extension",
                    "approve_extension",
                    "refuse_extension",
                    "reroute",
                    "urge",
                    "expire_supplement",
                    "record_withdrawn",
                ][..],
            ),
            (
                "repair",
                &[
                    "accept",
                    "reject",
                    "request_supplement",
                    "supplement",
                    "withdraw",
                    "approve",
                    "deny",
                    "hand_back",
                    "request_extension",
                    "approve_extension",
                    "refuse_extension",
                    "urge",
                    "reroute",
                    "revoke",
                    "expire_supplement",
                    "expire",
                    "record_withdrawn",
                ][..],
            ),
        ];
        for (name, actions) in expect {
            let def = builtin(name);
            let mut found: Vec<&str> = Vec::new();
            for t in &def.transitions {
                if !found.contains(&t.action.as_str()) {
                    found.push(&t.action);
                }
            }
            assert_eq!(found, actions, "{name}");
            for t in &def.transitions {
                let needs_comment = matches!(
                    t.action.as_str(),
                    "reject"
                        | "request_supplement"
                        | "deny"
                        | "revoke"
                        | "request_extension"
                        | "refuse_extension"
                        | "hand_back"
                        | "reroute"
                        | "verify"
                        | "correct_platform"
                );
                if needs_comment {
                    assert!(t.requires.comment, "{name}: {} needs a comment", t.action);
                }
                // Coordination between the offices is theirs; every other
                // transition tells the applicant what happened.
                let internal = matches!(
                    t.action.as_str(),
                    "forward" | "hand_back" | "reroute" | "request_extension" | "refuse_extension"
                );
                assert!(
                    internal
                        || t.effects.iter().any(|e| matches!(
                            e,
                            Effect::Notify { to, .. } if to.contains(&Recipient::Applicant)
                        )),
                    "{name}: {} does not notify the applicant",
                    t.action
                );
            }
        }
    }

    #[test]
    fn builtin_templates_are_from_the_known_set() {
        let known = [
            "case_received",
            "supplement_requested",
            "case_accepted",
            "case_decided",
            "case_withdrawn",
            "case_urged",
            "case_revoked",
            "deadline_extended",
            "case_routed",
            "case_handed_back",
            "extension_requested",
            "extension_refused",
        ];
        for name in ["objection", "repair"] {
            for t in &builtin(name).transitions {
                for effect in &t.effects {
                    if let Effect::Notify { template, .. } = effect {
                        assert!(known.contains(&template.as_str()), "{template}");
                    }
                }
            }
        }
    }

    #[test]
    fn objection_verify_covers_every_outcome_once() {
        let def = builtin("objection");
        let mut seen = Vec::new();
        for t in def.transitions.iter().filter(|t| t.action == "verify") {
            assert!(t.requires.comment && t.requires.outcome);
            seen.extend(t.outcomes.clone().unwrap());
        }
        seen.sort();
        let mut all: Vec<String> = OUTCOMES.iter().map(|s| s.to_string()).collect();
        all.sort();
        assert_eq!(seen, all);
    }

    #[test]
    fn hash_tracks_source_text() {
        let a = Definition::parse("mini.toml", BASE).unwrap();
        let b = Definition::parse("mini.toml", &format!("{BASE}\n# comment\n")).unwrap();
        let again = Definition::parse("other.toml", BASE).unwrap();
        assert_eq!(a.hash.len(), 64);
        assert!(a.hash.chars().all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase()));
        assert_ne!(a.hash, b.hash);
        assert_eq!(a.hash, again.hash);
        assert_eq!(a.hash, hex::encode(Sha256::digest(BASE.as_bytes())), "hash is sha256 of the text");
    }

    #[test]
    fn missing_materials_lists_absent_kinds() {
        let def = builtin("repair");
        assert_eq!(def.missing_materials(&["commitment_letter".to_string()]), ["fulfilment_proof"]);
        assert!(
            def.missing_materials(&[
                "fulfilment_proof".to_string(),
                "commitment_letter".to_string(),
                "other".to_string()
            ])
            .is_empty()
        );
        assert_eq!(builtin("objection").missing_materials(&[]), ["evidence"]);
        assert!(builtin("objection").missing_materials(&["evidence".to_string()]).is_empty());
    }

    #[test]
    fn error_display_formats() {
        let with_state = DefinitionError {
            file: "objection.toml".into(),
            state: Some("with_department".into()),
            message: "坏了".into(),
        };
        assert_eq!(with_state.to_string(), "objection.toml: state `with_department`: 坏了");
        let without = DefinitionError { state: None, ..with_state };
        assert_eq!(without.to_string(), "objection.toml: 坏了");
    }

    // ------------------------------------------------- validation errors ----

    #[test]
    fn rejects_toml_syntax_error_naming_state() {
        let text = BASE.replace("title = \"待处理\"", "title = \"待处理");
        let errs = broken(&text);
        assert_eq!(errs.len(), 1);
        assert_error(&errs, Some("open"), "TOML");
    }

    #[test]
    fn rejects_unknown_key_in_state() {
        let text = BASE.replace("title = \"待处理\"", "title = \"待处理\"\ncolour = \"red\"");
        let errs = broken(&text);
        assert_error(&errs, Some("open"), "colour");
    }

    #[test]
    fn rejects_unknown_key_in_transition_naming_from_state() {
        let text = BASE.replace("action = \"close\"", "action = \"close\"\npriority = 1");
        let errs = broken(&text);
        assert_error(&errs, Some("open"), "priority");
    }

    #[test]
    fn rejects_unknown_top_level_key() {
        let errs = broken(&format!("owner = \"admin\"\n{BASE}"));
        assert_eq!(errs.len(), 1);
        assert!(errs[0].message.contains("owner"), "{}", errs[0]);
    }

    #[test]
    fn rejects_unknown_key_in_requires_and_effect() {
        let text = BASE.replace(
            "roles = [\"credit_office\"]\neffects",
            "roles = [\"credit_office\"]\nrequires = { signature = true }\neffects",
        );
        assert_error(&broken(&text), Some("open"), "signature");
        let text = BASE.replace("kind = \"notify\",", "kind = \"notify\", urgent = true,");
        assert_error(&broken(&text), Some("open"), "urgent");
    }

    #[test]
    fn rejects_missing_initial_state() {
        let errs = broken(&BASE.replace("initial = \"open\"", "initial = \"start\""));
        assert_error(&errs, Some("start"), "initial");
    }

    #[test]
    fn rejects_unknown_from_and_to_states() {
        let text =
            BASE.replace("from = [\"open\"]", "from = [\"open\", \"limbo\"]").replace("to = \"done\"", "to = \"gone\"");
        let errs = broken(&text);
        assert_error(&errs, Some("limbo"), "from 引用了未定义的状态");
        assert_error(&errs, Some("gone"), "to 引用了未定义的状态");
    }

    #[test]
    fn rejects_unknown_effect_kind() {
        let text = BASE.replace("effects = [ {", "effects = [ { kind = \"launch_rocket\" }, {");
        let errs = broken(&text);
        assert_error(&errs, Some("open"), "launch_rocket");
    }

    #[test]
    fn rejects_unknown_guard() {
        let text = BASE.replace("effects = [", "guards = [\"moon_is_full\"]\neffects = [");
        let errs = broken(&text);
        assert_error(&errs, Some("open"), "moon_is_full");
    }

    #[test]
    fn rejects_unknown_roles() {
        let text = BASE
            .replace("roles = [\"credit_office\"]", "roles = [\"mayor\"]")
            .replace("owner = \"credit_office\"", "owner = \"janitor\"");
        let errs = broken(&text);
        assert_error(&errs, Some("open"), "mayor");
        assert_error(&errs, Some("open"), "janitor");
    }

    #[test]
    fn rejects_unknown_recipient() {
        let errs = broken(&BASE.replace("to = [\"applicant\"]", "to = [\"applicant\", \"press\"]"));
        assert_error(&errs, Some("open"), "press");
    }

    #[test]
    fn rejects_unknown_outcome_and_attachment_kind() {
        let text = BASE.replace(
            "roles = [\"credit_office\"]\neffects",
            "roles = [\"credit_office\"]\noutcomes = [\"forgotten\"]\nrequires = { outcome = true, attachments = [\"selfie\"] }\neffects",
        );
        let errs = broken(&text);
        assert_error(&errs, Some("open"), "forgotten");
        assert_error(&errs, Some("open"), "selfie");
    }

    #[test]
    fn rejects_outcomes_without_requiring_outcome() {
        let text = BASE.replace(
            "roles = [\"credit_office\"]\neffects",
            "roles = [\"credit_office\"]\noutcomes = [\"maintained\"]\neffects",
        );
        assert_error(&broken(&text), Some("open"), "requires.outcome");
    }

    #[test]
    fn rejects_unreachable_state() {
        let text = format!(
            "{BASE}\n[states.island]\ntitle = \"孤岛\"\nterminal = true\nresult = \"无\"\nreport_as = \"moot\"\n"
        );
        assert_error(&broken(&text), Some("island"), "无法到达");
    }

    #[test]
    fn rejects_state_without_way_out() {
        let text = format!(
            "{BASE}
[states.stuck]
title = \"卡住\"
owner = \"department_officer\"
deadline = {{ working_days = 2 }}

[[transitions]]
action = \"park\"
title = \"搁置\"
from = [\"open\"]
to = \"stuck\"
roles = [\"credit_office\"]
effects = [ {{ kind = \"notify\", template = \"case_decided\", to = [\"applicant\"] }} ]
"
        );
        let errs = broken(&text);
        assert_eq!(errs.len(), 1, "{errs:?}");
        assert_error(&errs, Some("stuck"), "no way out");
    }

    #[test]
    fn rejects_open_state_without_owner_or_deadline() {
        let text = BASE.replace("owner = \"credit_office\"\n", "").replace("deadline = { working_days = 1 }\n", "");
        let errs = broken(&text);
        assert_error(&errs, Some("open"), "owner");
        assert_error(&errs, Some("open"), "deadline");
    }

    #[test]
    fn rejects_terminal_state_with_owner_or_deadline() {
        let text = BASE
            .replace("terminal = true\n", "terminal = true\nowner = \"applicant\"\ndeadline = { working_days = 3 }\n");
        let errs = broken(&text);
        assert_error(&errs, Some("done"), "终止状态不能指定 owner");
        assert_error(&errs, Some("done"), "终止状态不能指定 deadline");
    }

    #[test]
    fn terminal_states_say_how_reports_count_them() {
        let errs = broken(&BASE.replace("report_as = \"decided\"\n", ""));
        assert_error(&errs, Some("done"), "report_as");
        let errs = broken(&BASE.replace("report_as = \"decided\"", "report_as = \"won\""));
        assert_error(&errs, Some("done"), "report_as");
        assert_eq!(builtin("repair").state("denied").unwrap().report_as, Some(ClosureClass::Decided));
        assert_eq!(
            builtin("objection").state("closed_not_accepted").unwrap().report_as,
            Some(ClosureClass::NotAccepted)
        );
    }

    #[test]
    fn rejects_terminal_state_without_result() {
        let errs = broken(&BASE.replace("result = \"已办结\"\n", ""));
        assert_error(&errs, Some("done"), "result");
    }

    #[test]
    fn rejects_ambiguous_transitions() {
        let extra = r#"
[[transitions]]
action = "close"
title = "办结"
from = ["open"]
to = "done"
roles = ["admin"]
effects = [ { kind = "notify", template = "case_decided", to = ["applicant"] } ]
"#;
        let errs = broken(&format!("{BASE}{extra}"));
        assert_error(&errs, Some("open"), "close");
        assert_error(&errs, Some("open"), "走向不确定");
    }

    #[test]
    fn rejects_overlapping_outcome_groups_but_allows_disjoint_ones() {
        let group = |outcomes: &str| {
            format!(
                r#"
[[transitions]]
action = "decide"
title = "决定"
from = ["open"]
to = "done"
roles = ["department_officer"]
outcomes = {outcomes}
requires = {{ outcome = true }}
effects = [ {{ kind = "apply_outcome" }}, {{ kind = "notify", template = "case_decided", to = ["applicant"] }} ]
"#
            )
        };
        let ok = format!("{BASE}{}{}", group(r#"["corrected"]"#), group(r#"["maintained"]"#));
        assert!(Definition::parse("mini.toml", &ok).is_ok());
        let bad = format!("{BASE}{}{}", group(r#"["corrected", "deleted"]"#), group(r#"["deleted"]"#));
        let errs = broken(&bad);
        assert_error(&errs, Some("open"), "deleted");
        assert_error(&errs, Some("open"), "走向不确定");
    }

    #[test]
    fn rejects_version_zero_and_zero_days() {
        let text = BASE
            .replace("version = 1", "version = 0")
            .replace("deadline = { working_days = 1 }", "deadline = { working_days = 0 }");
        let errs = broken(&text);
        assert_error(&errs, None, "version");
        assert_error(&errs, Some("open"), "deadline");
    }

    #[test]
    fn rejects_notify_without_template_or_recipients() {
        let text = BASE.replace(
            "{ kind = \"notify\", template = \"case_decided\", to = [\"applicant\"] }",
            "{ kind = \"notify\", to = [\"applicant\"] }, { kind = \"notify\", template = \"x\" }",
        );
        let errs = broken(&text);
        assert_error(&errs, Some("open"), "template");
        assert_error(&errs, Some("open"), "接收方");
    }

    #[test]
    fn rejects_parameters_on_plain_effects() {
        let text = BASE.replace("effects = [ {", "effects = [ { kind = \"queue_sync\", template = \"x\" }, {");
        assert_error(&broken(&text), Some("open"), "queue_sync");
    }

    #[test]
    fn rejects_extend_deadline_without_extension_section() {
        let text = BASE
            .replace("[extension]\nworking_days = 2\n", "")
            .replace("effects = [ {", "effects = [ { kind = \"extend_deadline\" }, {");
        assert_error(&broken(&text), None, "[extension]");
    }

    #[test]
    fn rejects_objection_mark_left_at_terminal_state() {
        let text = BASE
            .replace("[states.done]", "[states.marked]\ntitle = \"已标注\"\nowner = \"department_officer\"\ndeadline = { working_days = 4 }\n\n[states.done]")
            .replace("from = [\"open\"]", "from = [\"marked\"]")
            + r#"
[[transitions]]
action = "mark"
title = "标注"
from = ["open"]
to = "marked"
roles = ["credit_office"]
effects = [ { kind = "mark_objection" }, { kind = "notify", template = "case_accepted", to = ["applicant"] } ]
"#;
        let errs = broken(&text);
        assert_eq!(errs.len(), 1, "{errs:?}");
        assert_error(&errs, Some("marked"), "unmark_objection");
        // Adding the unmark effect fixes it.
        let fixed = text.replacen(
            "effects = [ { kind = \"notify\", template = \"case_decided\"",
            "effects = [ { kind = \"unmark_objection\" }, { kind = \"notify\", template = \"case_decided\"",
            1,
        );
        assert!(Definition::parse("mini.toml", &fixed).is_ok());
    }

    #[test]
    fn reports_all_errors_at_once() {
        let text = BASE
            .replace("version = 1", "version = 0")
            .replace("roles = [\"credit_office\"]", "roles = [\"mayor\"]")
            .replace("to = [\"applicant\"]", "to = [\"press\"]")
            .replace("result = \"已办结\"\n", "")
            + "\n[states.island]\ntitle = \"孤岛\"\nterminal = true\nresult = \"无\"\nreport_as = \"moot\"\n";
        let errs = broken(&text);
        assert!(errs.len() >= 5, "{errs:?}");
        assert!(errs.iter().all(|e| e.file == "mini.toml"));
        assert_error(&errs, None, "version");
        assert_error(&errs, Some("open"), "mayor");
        assert_error(&errs, Some("open"), "press");
        assert_error(&errs, Some("done"), "result");
        assert_error(&errs, Some("island"), "无法到达");
    }

    // ------------------------------------------------- available actions ----

    #[test]
    fn objection_actions_per_role_and_state() {
        let def = builtin("objection");
        let facts = complete_facts();
        let table: &[(&str, Role, &[&str])] = &[
            ("submitted", Role::Applicant, &["withdraw"]),
            ("submitted", Role::CreditOffice, &["accept", "accept_for_check", "reject", "request_supplement"]),
            ("submitted", Role::DepartmentOfficer, &[]),
            ("submitted", Role::Admin, &[]),
            ("submitted", Role::System, &["record_withdrawn"]),
            ("platform_check", Role::CreditOffice, &["correct_platform", "forward"]),
            ("platform_check", Role::Applicant, &["withdraw"]),
            ("platform_check", Role::DepartmentOfficer, &[]),
            ("handed_back", Role::CreditOffice, &["reroute"]),
            ("handed_back", Role::DepartmentOfficer, &[]),
            ("handed_back", Role::Applicant, &["withdraw"]),
            ("supplement_requested", Role::Applicant, &["supplement", "withdraw"]),
            ("supplement_requested", Role::CreditOffice, &[]),
            ("supplement_requested", Role::DepartmentOfficer, &[]),
            ("with_department", Role::Applicant, &["withdraw"]),
            ("with_department", Role::DepartmentOfficer, &["verify", "hand_back", "request_extension"]),
            ("with_department", Role::CreditOffice, &["reroute", "urge"]),
            ("with_department", Role::Admin, &[]),
            ("closed_resolved", Role::Applicant, &[]),
            ("closed_resolved", Role::CreditOffice, &[]),
            ("closed_not_accepted", Role::CreditOffice, &[]),
            ("withdrawn", Role::Applicant, &[]),
            ("no_such_state", Role::CreditOffice, &[]),
        ];
        for (state, role, expected) in table {
            let actions = def.available_actions(state, *role, &facts);
            assert_eq!(names(&actions), *expected, "{state} / {role}");
        }
    }

    #[test]
    fn repair_actions_per_role_and_state() {
        let def = builtin("repair");
        let facts = complete_facts();
        let table: &[(&str, Role, &[&str])] = &[
            ("submitted", Role::Applicant, &["withdraw"]),
            ("submitted", Role::CreditOffice, &["accept", "reject", "request_supplement"]),
            ("submitted", Role::DepartmentOfficer, &[]),
            ("submitted", Role::Admin, &[]),
            ("supplement_requested", Role::Applicant, &["supplement", "withdraw"]),
            ("supplement_requested", Role::CreditOffice, &[]),
            ("with_department", Role::Applicant, &["withdraw"]),
            ("with_department", Role::DepartmentOfficer, &["approve", "deny", "hand_back", "request_extension"]),
            ("with_department", Role::CreditOffice, &["urge", "reroute"]),
            ("handed_back", Role::CreditOffice, &["reroute"]),
            ("handed_back", Role::DepartmentOfficer, &[]),
            ("completed", Role::CreditOffice, &["revoke"]),
            ("completed", Role::Applicant, &[]),
            ("completed", Role::Admin, &[]),
            ("denied", Role::CreditOffice, &[]),
            ("not_accepted", Role::CreditOffice, &[]),
            ("withdrawn", Role::CreditOffice, &[]),
            ("revoked", Role::CreditOffice, &[]),
        ];
        for (state, role, expected) in table {
            let actions = def.available_actions(state, *role, &facts);
            assert_eq!(names(&actions), *expected, "{state} / {role}");
        }
    }

    #[test]
    fn repair_accept_hidden_while_materials_missing_or_window_closed() {
        let def = builtin("repair");
        let missing = Facts { missing_materials: vec!["fulfilment_proof".into()], ..complete_facts() };
        assert_eq!(
            names(&def.available_actions("submitted", Role::CreditOffice, &missing)),
            ["reject", "request_supplement"]
        );
        let closed = Facts { repair_window_open: false, ..complete_facts() };
        assert_eq!(
            names(&def.available_actions("submitted", Role::CreditOffice, &closed)),
            ["reject", "request_supplement"]
        );
    }

    #[test]
    fn extend_and_urge_disappear_after_use() {
        for name in ["objection", "repair"] {
            let def = builtin(name);
            let used = Facts { extension_used: true, urged_today: true, ..complete_facts() };
            let dept = def.available_actions("with_department", Role::DepartmentOfficer, &used);
            assert!(!names(&dept).contains(&"request_extension"), "{name}");
            assert_eq!(
                names(&def.available_actions("with_department", Role::CreditOffice, &used)),
                ["reroute"],
                "{name}"
            );
            // A pending request: the department cannot ask twice, the credit office decides.
            let pending = Facts { extension_pending: true, ..complete_facts() };
            let dept = def.available_actions("with_department", Role::DepartmentOfficer, &pending);
            assert!(!names(&dept).contains(&"request_extension"), "{name}");
            let office_actions = def.available_actions("with_department", Role::CreditOffice, &pending);
            let office = names(&office_actions).into_iter().filter(|a| a.ends_with("_extension")).collect::<Vec<_>>();
            assert_eq!(office, ["approve_extension", "refuse_extension"], "{name}");
        }
    }

    #[test]
    fn action_info_describes_inputs() {
        let objection = builtin("objection");
        let dept = objection.available_actions("with_department", Role::DepartmentOfficer, &complete_facts());
        let verify = &dept[0];
        assert_eq!(verify.title, "核查完毕");
        assert!(verify.requires_comment && verify.requires_outcome);
        let mut outcomes = verify.outcomes.clone();
        outcomes.sort();
        let mut all: Vec<String> = OUTCOMES.iter().map(|s| s.to_string()).collect();
        all.sort();
        assert_eq!(outcomes, all);
        let extend = &dept[2];
        assert_eq!(extend.name, "request_extension");
        assert!(extend.requires_comment && !extend.requires_outcome);
        assert!(extend.outcomes.is_empty());

        let office = objection.available_actions("submitted", Role::CreditOffice, &complete_facts());
        let accept = &office[0];
        assert_eq!(accept.title, "受理");
        assert!(!accept.requires_comment);
        assert!(office[2].requires_comment, "reject needs a comment");
        assert!(office[3].requires_comment, "request_supplement needs a comment");
        assert!(office[3].requires_items, "request_supplement lists the missing items");
        let routing = objection.available_actions("handed_back", Role::CreditOffice, &complete_facts());
        assert!(routing[0].requires_department && routing[0].requires_comment);
    }

    #[test]
    fn action_info_merges_attachment_requirements() {
        let text = BASE.replace(
            "roles = [\"credit_office\"]\neffects",
            "roles = [\"credit_office\"]\nrequires = { attachments = [\"evidence\", \"other\"] }\neffects",
        );
        let def = Definition::parse("mini.toml", &text).unwrap();
        let actions = def.available_actions("open", Role::CreditOffice, &Facts::default());
        assert_eq!(actions[0].requires_attachments, ["evidence", "other"]);
    }
}
