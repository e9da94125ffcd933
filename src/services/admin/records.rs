//! Records entered by an administrator, with their sanctions and list
//! entries. Publication windows come from `domain::period`.

use chrono::NaiveDate;
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, Set, TransactionTrait};
use serde::Deserialize;
use utoipa::ToSchema;

use super::require;
use crate::domain::period::{Derived, InitialStatusError, PeriodRules, Regime, Severity, initial_status, window_start};
use crate::error::{ApiError, ApiResult, FieldError};
use crate::state::AppState;
use crate::workflow::Role;
use entity::types::{ActiveStatus, DepartmentKind, PublicationStatus, RecordSource};
use entity::{department, list_membership, measure, record, sanction, subject};

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RecordInput {
    pub subject_id: Option<i64>,
    pub record_type: Option<String>,
    pub title: Option<String>,
    pub content: Option<String>,
    /// `minor`, `general`, `serious`, `legacy_general`, `legacy_serious`, `legacy_specific_serious`
    pub severity: Option<String>,
    /// `current`, `order58` or `legacy527`: the regime in force on the
    /// decision date (derived when absent; refused when it differs).
    pub regime: Option<String>,
    pub department_id: Option<i64>,
    pub document_no: Option<String>,
    pub decision_date: Option<NaiveDate>,
    pub conduct_end_date: Option<NaiveDate>,
    /// `local` (default) or `samr`: a market-regulation record mirrored from
    /// SAMR, whose repair is SAMR's.
    pub source: Option<String>,
    /// The day the record was first published (SAMR counts its periods from it).
    pub published_on: Option<NaiveDate>,
    /// Overrides the default publication status derived from the rules.
    pub publication_status: Option<String>,
    /// Required when updating: the version the change is based on.
    pub version: Option<i32>,
}

/// The publication window of a record given as stored strings (regime,
/// severity): the rules are `domain::period::regime_for` (the regime in force
/// on the decision date, derived when `regime` is absent, checked when given)
/// and `PeriodRules::derive` from the window's start (`window_start`); this
/// only parses the input into the domain's types, with field errors. Returns
/// the regime's stored name and the window.
pub fn derive_for(
    rules: &PeriodRules,
    regime: Option<&str>,
    severity: &str,
    decision: NaiveDate,
    start: NaiveDate,
    conduct_end: Option<NaiveDate>,
) -> Result<(String, Derived), Vec<FieldError>> {
    let mut errs = Vec::new();
    let given = match regime.map(str::trim).filter(|r| !r.is_empty()) {
        None => None,
        Some(name) => match Regime::parse(name) {
            Some(r) => Some(r),
            None => {
                errs.push(FieldError::new(
                    "regime",
                    "invalid_value",
                    "适用规则取值无效（current、order58、legacy527）",
                ));
                None
            }
        },
    };
    let r = match crate::domain::period::regime_for(given, decision) {
        Ok(r) => Some(r),
        Err(expected) => {
            errs.push(FieldError::new(
                "regime",
                "regime_mismatch",
                format!(
                    "决定日期 {decision} 适用{}（{}），与所填适用规则不一致",
                    expected.label_zh(),
                    expected.as_str()
                ),
            ));
            None
        }
    };
    let s = Severity::parse(severity);
    if s.is_none() {
        errs.push(FieldError::new("severity", "invalid_value", "失信程度取值无效"));
    }
    let (Some(r), Some(s), true) = (r, s, errs.is_empty()) else { return Err(errs) };
    rules
        .derive(r, s, start, conduct_end)
        .map(|d| (r.as_str().to_string(), d))
        .map_err(|e| vec![FieldError::new("severity", e.code(), e.to_string())])
}

/// A decision date must lie between 2000 and today.
/// What a new record is about (its window and status come from the rules).
#[derive(Debug, Clone)]
pub struct NewRecord {
    pub subject_id: i64,
    pub record_type: String,
    pub title: String,
    pub content: String,
    pub severity: String,
    pub regime: String,
    pub department_id: i64,
    pub document_no: String,
    pub decision_date: NaiveDate,
    pub conduct_end_date: Option<NaiveDate>,
    pub source: RecordSource,
    pub published_on: Option<NaiveDate>,
}

/// A new record's row: its fields, the window derived for it and the status
/// it starts with (`domain::period::initial_status`). The one constructor for
/// administrators' records, the demo seed and imports.
pub fn new_record_row(
    n: NewRecord,
    derived: &Derived,
    initial: crate::domain::period::InitialStatus,
    now: chrono::DateTime<chrono::Utc>,
) -> record::ActiveModel {
    record::ActiveModel {
        subject_id: Set(n.subject_id),
        record_type: Set(n.record_type),
        title: Set(n.title),
        content: Set(n.content),
        severity: Set(n.severity),
        regime: Set(n.regime),
        department_id: Set(n.department_id),
        document_no: Set(n.document_no),
        decision_date: Set(n.decision_date),
        conduct_end_date: Set(n.conduct_end_date),
        publication_status: Set(initial.status),
        publication_ended_at: Set(initial.end_reason.map(|_| now)),
        publication_end_reason: Set(initial.end_reason.map(str::to_string)),
        repairable: Set(derived.repairable),
        repair_from: Set(derived.repair_from),
        publication_ends: Set(derived.publication_ends),
        display_category: Set(derived.display_category_for(initial.status, None)),
        objection_open: Set(false),
        objection_case_id: Set(None),
        repair_barred_until: Set(None),
        repair_notified_for: Set(None),
        deleted: Set(false),
        version: Set(1),
        created_at: Set(now),
        updated_at: Set(now),
        source: Set(n.source),
        published_on: Set(n.published_on),
        ..Default::default()
    }
}

/// New values for the fields a record's window depends on.
#[derive(Debug, Default, Clone)]
pub struct WindowChange {
    pub regime: Option<String>,
    pub severity: Option<String>,
    pub decision_date: Option<NaiveDate>,
    pub conduct_end_date: Option<NaiveDate>,
}

impl WindowChange {
    pub fn is_empty(&self) -> bool {
        self.regime.is_none()
            && self.severity.is_none()
            && self.decision_date.is_none()
            && self.conduct_end_date.is_none()
    }
}

/// A record's window fields after a change.
#[derive(Debug, Clone)]
pub struct Rederived {
    pub regime: String,
    pub severity: String,
    pub decision_date: NaiveDate,
    pub conduct_end_date: Option<NaiveDate>,
    pub derived: Derived,
}

/// The record's window after `change` (an administrator's edit or an
/// objection's correction), each new value checked as on creation; field
/// names in errors carry `prefix` (e.g. "correction.").
pub fn rederive(
    rules: &PeriodRules,
    today: NaiveDate,
    r: &record::Model,
    change: &WindowChange,
    prefix: &str,
) -> Result<Rederived, Vec<FieldError>> {
    let mut errs = Vec::new();
    if let Some(e) = change.decision_date.and_then(|d| check_decision_date(d, today)) {
        errs.push(e);
    }
    if let Some(e) = change.conduct_end_date.and_then(|c| check_conduct_end(c, today)) {
        errs.push(e);
    }
    let severity = change.severity.clone().unwrap_or(r.severity.clone());
    let decision_date = change.decision_date.unwrap_or(r.decision_date);
    let conduct_end_date = change.conduct_end_date.or(r.conduct_end_date);
    // A new decision date brings the regime in force on it unless one is
    // given (and then checked); otherwise the stored one stays.
    let regime = match (&change.regime, change.decision_date) {
        (Some(given), _) => Some(given.as_str()),
        (None, Some(_)) => None,
        (None, None) => Some(r.regime.as_str()),
    };
    let derived = if errs.is_empty() {
        let start = window_start(r.source, decision_date, r.published_on);
        derive_for(rules, regime, &severity, decision_date, start, conduct_end_date)
            .map_err(|mut e| errs.append(&mut e))
            .ok()
    } else {
        None
    };
    match derived {
        Some((regime, derived)) if errs.is_empty() => {
            Ok(Rederived { regime, severity, decision_date, conduct_end_date, derived })
        }
        _ => Err(errs
            .into_iter()
            .map(|mut e| {
                e.field = format!("{prefix}{}", e.field);
                e
            })
            .collect()),
    }
}

fn check_decision_date(d: NaiveDate, today: NaiveDate) -> Option<FieldError> {
    if d > today {
        Some(FieldError::new("decision_date", "in_future", "决定日期不能晚于今天"))
    } else if chrono::Datelike::year(&d) < 2000 {
        Some(FieldError::new("decision_date", "out_of_range", "决定日期超出有效范围"))
    } else {
        None
    }
}

/// The end of the conduct must lie between 1990 and today.
fn check_conduct_end(c: NaiveDate, today: NaiveDate) -> Option<FieldError> {
    (c > today || chrono::Datelike::year(&c) < 1990)
        .then(|| FieldError::new("conduct_end_date", "out_of_range", "失信行为终止日期不合理"))
}

fn admin_actor(admin_id: i64) -> crate::services::publication::Actor<'static> {
    crate::services::publication::Actor { user_id: Some(admin_id), role: Role::Admin.as_str() }
}

/// A new record as checked: its row's fields, its window and the status it
/// starts with.
#[derive(Debug, Clone)]
pub struct ValidRecord {
    pub new: NewRecord,
    pub derived: Derived,
    pub initial: crate::domain::period::InitialStatus,
}

/// Checks a new record's fields as a single create does: type, name,
/// document number, dates (not in the future), source and first
/// publication, severity and the regime against the decision date (the
/// window from `domain::period`), and the status it starts with (a natural
/// person's record is never published; one past its end starts ended).
/// `subject_id` and `department_id` are taken as given: the caller checks
/// them against the database. Errors name the API's fields.
pub fn validate_new(
    rules: &PeriodRules,
    today: NaiveDate,
    input: &RecordInput,
    natural_person: bool,
) -> Result<ValidRecord, Vec<FieldError>> {
    let mut errs = Vec::new();
    let record_type = input.record_type.clone().unwrap_or_default();
    if !crate::domain::import::RECORD_TYPES.iter().any(|(code, _)| *code == record_type) {
        errs.push(FieldError::new("record_type", "invalid_value", "信息类型取值无效"));
    }
    let title = require(&input.title, "title", "信息名称").map_err(|e| errs.push(e)).ok().map(str::to_string);
    let document_no =
        require(&input.document_no, "document_no", "决定书文号").map_err(|e| errs.push(e)).ok().map(str::to_string);
    let decision = match input.decision_date {
        None => {
            errs.push(FieldError::new("decision_date", "required", "决定日期不能为空"));
            None
        }
        Some(d) => match check_decision_date(d, today) {
            Some(e) => {
                errs.push(e);
                None
            }
            None => Some(d),
        },
    };
    if let Some(e) = input.conduct_end_date.and_then(|c| check_conduct_end(c, today)) {
        errs.push(e);
    }
    let source = match input.source.as_deref().map(str::parse::<RecordSource>) {
        None => RecordSource::Local,
        Some(Ok(s)) => s,
        Some(Err(_)) => {
            errs.push(FieldError::new(
                "source",
                "invalid_value",
                "信息来源须为 local（本地归集）或 samr（市场监管部门）",
            ));
            RecordSource::Local
        }
    };
    if let Some(p) = input.published_on
        && (p > today || decision.is_some_and(|d| p < d))
    {
        errs.push(FieldError::new("published_on", "out_of_range", "公示日期须在决定日期与今天之间"));
    }
    let derived = match (decision, &input.severity) {
        (Some(d), Some(s)) => {
            let start = window_start(source, d, input.published_on);
            match derive_for(rules, input.regime.as_deref(), s, d, start, input.conduct_end_date) {
                Ok(x) => Some(x),
                Err(mut e) => {
                    errs.append(&mut e);
                    None
                }
            }
        }
        (_, s) => {
            if s.is_none() {
                errs.push(FieldError::new("severity", "required", "失信程度不能为空"));
            }
            None
        }
    };
    let requested = match input.publication_status.as_deref().map(str::parse::<PublicationStatus>) {
        None => None,
        Some(Ok(s)) => Some(s),
        Some(Err(_)) => {
            errs.push(FieldError::new(
                "publication_status",
                "invalid_value",
                "公示状态须为 published 或 not_published",
            ));
            None
        }
    };
    let initial =
        match derived.as_ref().map(|(_, d)| initial_status(d, requested, natural_person, today, rules.publication_end))
        {
            None => None,
            Some(Ok(i)) => Some(i),
            Some(Err(InitialStatusError::Ended)) => {
                errs.push(FieldError::new(
                    "publication_status",
                    "invalid_value",
                    "公示状态须为 published 或 not_published",
                ));
                None
            }
            Some(Err(InitialStatusError::NaturalPersonPublished)) => {
                errs.push(FieldError::new(
                    "publication_status",
                    "natural_person_not_published",
                    "自然人信用信息不予公示（《山东省社会信用条例》第二十条）",
                ));
                None
            }
        };
    let (Some((regime, derived)), Some(decision), Some(initial), true) = (derived, decision, initial, errs.is_empty())
    else {
        return Err(errs);
    };
    let new = NewRecord {
        subject_id: input.subject_id.unwrap_or_default(),
        record_type,
        title: title.unwrap_or_default(),
        content: input.content.clone().unwrap_or_default(),
        severity: input.severity.clone().unwrap_or_default(),
        regime,
        department_id: input.department_id.unwrap_or_default(),
        document_no: document_no.unwrap_or_default(),
        decision_date: decision,
        conduct_end_date: input.conduct_end_date,
        source,
        published_on: input.published_on,
    };
    Ok(ValidRecord { new, derived, initial })
}

pub async fn create_record(
    state: &AppState,
    admin_id: i64,
    input: RecordInput,
) -> ApiResult<crate::services::records::RecordView> {
    let mut errs = Vec::new();
    let mut natural_person = false;
    match input.subject_id {
        None => errs.push(FieldError::new("subject_id", "required", "信用主体不能为空")),
        Some(id) => match subject::Entity::find_by_id(id).one(&state.db).await? {
            None => errs.push(FieldError::new("subject_id", "not_found", "信用主体不存在")),
            Some(s) => natural_person = s.kind == entity::types::SubjectKind::NaturalPerson,
        },
    }
    match input.department_id {
        None => errs.push(FieldError::new("department_id", "required", "认定单位不能为空")),
        Some(id) => match department::Entity::find_by_id(id).one(&state.db).await? {
            Some(d) if d.kind == DepartmentKind::Producing => {}
            _ => errs.push(FieldError::new("department_id", "not_found", "认定单位不存在")),
        },
    }
    let valid = validate_new(&state.settings.publication, state.clock.today(), &input, natural_person);
    let valid = match valid {
        Ok(v) if errs.is_empty() => v,
        Ok(_) => return Err(ApiError::Validation(errs)),
        Err(mut more) => {
            errs.append(&mut more);
            return Err(ApiError::Validation(errs));
        }
    };
    let now = state.clock.now();
    let txn = state.db.begin().await?;
    let m = new_record_row(valid.new, &valid.derived, valid.initial, now).insert(&txn).await?;
    let detail = serde_json::json!({"document_no": m.document_no, "publication_status": m.publication_status});
    crate::services::publication::record_event(&txn, m.id, admin_actor(admin_id), "record_created", detail, now)
        .await?;
    txn.commit().await?;
    crate::services::records::view_by_id(&state.db, m.id).await
}

/// Sanctions and list entries are added only to a record still in force
/// (`domain::consistency::may_attach`).
fn refuse_if_ended(r: &record::Model) -> ApiResult<()> {
    if crate::domain::consistency::may_attach(r.publication_status, r.deleted) {
        Ok(())
    } else {
        Err(ApiError::unprocessable("record_ended", "该信用信息已终止公示或已删除，不能再添加惩戒措施或名单"))
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SanctionInput {
    pub measure_id: i64,
    pub started_on: Option<NaiveDate>,
}

pub async fn add_sanction(
    state: &AppState,
    admin_id: i64,
    record_id: i64,
    input: SanctionInput,
) -> ApiResult<crate::services::records::RecordView> {
    let r =
        record::Entity::find_by_id(record_id).one(&state.db).await?.ok_or_else(|| ApiError::not_found("信用信息"))?;
    refuse_if_ended(&r)?;
    if measure::Entity::find_by_id(input.measure_id).one(&state.db).await?.is_none() {
        return Err(ApiError::field("measure_id", "not_found", "惩戒措施不存在"));
    }
    let txn = state.db.begin().await?;
    let sn = sanction::ActiveModel {
        record_id: Set(r.id),
        measure_id: Set(input.measure_id),
        status: Set(ActiveStatus::Active),
        started_on: Set(input.started_on.unwrap_or(r.decision_date)),
        ..Default::default()
    }
    .insert(&txn)
    .await?;
    let detail = serde_json::json!({"sanction_id": sn.id, "measure_id": sn.measure_id});
    crate::services::publication::record_event(
        &txn,
        r.id,
        admin_actor(admin_id),
        "sanction_added",
        detail,
        state.clock.now(),
    )
    .await?;
    txn.commit().await?;
    crate::services::records::view_by_id(&state.db, record_id).await
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ListEntryInput {
    pub list_name: String,
    pub listed_on: Option<NaiveDate>,
}

pub async fn add_list_entry(
    state: &AppState,
    admin_id: i64,
    record_id: i64,
    input: ListEntryInput,
) -> ApiResult<crate::services::records::RecordView> {
    let r =
        record::Entity::find_by_id(record_id).one(&state.db).await?.ok_or_else(|| ApiError::not_found("信用信息"))?;
    refuse_if_ended(&r)?;
    if input.list_name.trim().is_empty() {
        return Err(ApiError::field("list_name", "required", "名单名称不能为空"));
    }
    let txn = state.db.begin().await?;
    let entry = list_membership::ActiveModel {
        record_id: Set(r.id),
        subject_id: Set(r.subject_id),
        list_name: Set(input.list_name.trim().to_string()),
        status: Set(ActiveStatus::Active),
        listed_on: Set(input.listed_on.unwrap_or(r.decision_date)),
        ..Default::default()
    }
    .insert(&txn)
    .await?;
    let detail = serde_json::json!({"list_membership_id": entry.id, "list_name": entry.list_name});
    crate::services::publication::record_event(
        &txn,
        r.id,
        admin_actor(admin_id),
        "list_entry_added",
        detail,
        state.clock.now(),
    )
    .await?;
    txn.commit().await?;
    crate::services::records::view_by_id(&state.db, record_id).await
}

// ---------- measures ----------

/// Updates descriptive fields of a record (title, content, document number,
/// conduct-end date). Optimistic: `version` must match. Changes to regime,
/// severity or dates re-derive the publication window.
pub async fn update_record(
    state: &AppState,
    admin_id: i64,
    id: i64,
    input: RecordInput,
) -> ApiResult<crate::services::records::RecordView> {
    let r = record::Entity::find_by_id(id).one(&state.db).await?.ok_or_else(|| ApiError::not_found("信用信息"))?;
    let Some(version) = input.version else {
        return Err(ApiError::field("version", "required", "请提供信息版本号（version）"));
    };
    if input.subject_id.is_some()
        || input.department_id.is_some()
        || input.record_type.is_some()
        || input.publication_status.is_some()
    {
        return Err(ApiError::field("subject_id", "immutable", "主体、认定单位、信息类型和公示状态不能通过此接口修改"));
    }
    let today = state.clock.today();
    let change = WindowChange {
        regime: input.regime.clone(),
        severity: input.severity.clone(),
        decision_date: input.decision_date,
        conduct_end_date: input.conduct_end_date,
    };
    let w = rederive(&state.settings.publication, today, &r, &change, "").map_err(ApiError::Validation)?;
    let edit = Described { title: input.title, content: input.content, document_no: input.document_no };
    let txn = state.db.begin().await?;
    apply_edit(&txn, state, admin_actor(admin_id), &r, version, w, edit, serde_json::Value::Null).await?;
    txn.commit().await?;
    crate::services::records::view_by_id(&state.db, id).await
}

/// The descriptive fields an edit may change (empty or absent: unchanged).
#[derive(Debug, Default, Clone)]
pub struct Described {
    pub title: Option<String>,
    pub content: Option<String>,
    pub document_no: Option<String>,
}

/// Writes an edit of record `r` (checked by [`rederive`] into `w`) inside
/// the caller's transaction, if the record is still at `version`: the window
/// fields, the descriptive ones, a new version; ends publication when the
/// new window no longer allows it; a `record_updated` event with the values
/// before (and `source`, e.g. the import that made the change). A stale
/// version is a conflict.
#[allow(clippy::too_many_arguments)]
pub async fn apply_edit<C: sea_orm::ConnectionTrait>(
    txn: &C,
    state: &AppState,
    actor: crate::services::publication::Actor<'_>,
    r: &record::Model,
    version: i32,
    w: Rederived,
    edit: Described,
    source: serde_json::Value,
) -> ApiResult<()> {
    use sea_orm::sea_query::Expr;
    let Some(next_version) = version.checked_add(1) else {
        return Err(ApiError::conflict("stale_version", "信息已被他人修改，请刷新后重试"));
    };
    let today = state.clock.today();
    let now = state.clock.now();
    let derived = w.derived.clone();
    let mut q = record::Entity::update_many()
        .col_expr(record::Column::Regime, Expr::value(w.regime))
        .col_expr(record::Column::Severity, Expr::value(w.severity))
        .col_expr(record::Column::DecisionDate, Expr::value(w.decision_date))
        .col_expr(record::Column::ConductEndDate, Expr::value(w.conduct_end_date))
        .col_expr(record::Column::Repairable, Expr::value(derived.repairable))
        .col_expr(record::Column::RepairFrom, Expr::value(derived.repair_from))
        // A moved repair-from date is told again.
        .col_expr(
            record::Column::RepairNotifiedFor,
            Expr::value(if derived.repair_from == r.repair_from { r.repair_notified_for } else { None }),
        )
        .col_expr(record::Column::PublicationEnds, Expr::value(derived.publication_ends))
        .col_expr(record::Column::Version, Expr::value(next_version))
        .col_expr(record::Column::UpdatedAt, Expr::value(now));
    q = q.col_expr(
        record::Column::DisplayCategory,
        Expr::value(derived.display_category_for(r.publication_status, r.repair_barred_until)),
    );
    if let Some(t) = edit.title.filter(|s| !s.trim().is_empty()) {
        q = q.col_expr(record::Column::Title, Expr::value(t));
    }
    if let Some(c) = edit.content {
        q = q.col_expr(record::Column::Content, Expr::value(c));
    }
    if let Some(d) = edit.document_no.filter(|s| !s.trim().is_empty()) {
        q = q.col_expr(record::Column::DocumentNo, Expr::value(d));
    }
    let id = r.id;
    let res = q.filter(record::Column::Id.eq(id)).filter(record::Column::Version.eq(version)).exec(txn).await?;
    if res.rows_affected != 1 {
        return Err(ApiError::conflict("stale_version", "信息已被他人修改，请刷新后重试"));
    }
    let before = serde_json::json!({
        "title": r.title, "content": r.content, "document_no": r.document_no, "regime": r.regime,
        "severity": r.severity, "decision_date": r.decision_date, "conduct_end_date": r.conduct_end_date,
        "version": r.version,
    });
    // A change can never leave a record public that its new window no longer allows.
    let updated = record::Entity::find_by_id(id).one(txn).await?.ok_or_else(|| ApiError::not_found("信用信息"))?;
    let ended = crate::services::publication::end_if_no_longer_public(
        txn,
        updated,
        &derived,
        today,
        state.settings.publication.publication_end,
        actor,
        None,
        now,
    )
    .await?;
    let mut detail = serde_json::json!({"before": before, "publication_ended": ended});
    if !source.is_null() {
        detail["source"] = source;
    }
    crate::services::publication::record_event(txn, id, actor, "record_updated", detail, now).await?;
    Ok(())
}
