//! The fixed set of effects a workflow transition may run. Each one writes
//! through the caller's transaction; none commits.

use chrono::{DateTime, Months, NaiveDate, Utc};
use sea_orm::{ActiveModelTrait, ConnectionTrait, EntityTrait, Set};
use serde_json::{Value, json};

use super::input::ActionRequest;
use super::notice::{self, Parties};
use crate::auth::AuthUser;
use crate::error::{ApiError, ApiResult, FieldError};
use crate::services::admin::records::{WindowChange, rederive};
use crate::services::outbox;
use crate::services::publication::{self, Actor};
use crate::state::AppState;
use crate::workflow::{Decision, Definition, Effect, Role, attachment_kind_title};
use entity::types::{CaseKind, DepartmentKind, Outcome, PublicationStatus};
use entity::{case, department, record};

pub struct Ctx<'a> {
    pub state: &'a AppState,
    /// The case as the transition leaves it (state, version, deadlines).
    pub case: &'a case::Model,
    pub def: &'a Definition,
    /// The acting user; None when the system acts (deadline jobs).
    pub actor: Option<&'a AuthUser>,
    pub role: Role,
    pub req: &'a ActionRequest,
    /// The record as the effects have left it so far.
    pub record: record::Model,
    pub to_state: String,
    pub today: NaiveDate,
    pub now: DateTime<Utc>,
    /// What changed, for the event's inputs (e.g. the record's previous content).
    pub changes: serde_json::Map<String, Value>,
    pub missing: Vec<String>,
    /// The step's due day after an extension.
    pub new_due: Option<NaiveDate>,
    /// Names for notifications, loaded by the first one.
    pub parties: Option<Parties>,
    /// Every recipient group this transition's notifications go to, and
    /// their addressees (looked up together by the first notification).
    pub wanted: Vec<crate::workflow::Recipient>,
    pub addressed: notice::Addressed,
    /// The outbox and message rows queued so far (inserted when the transition ends).
    pub queued: outbox::Queued,
    /// Documents this step issued (the applicant's mail carries them).
    pub documents: Vec<crate::services::documents::Issued>,
}

impl Ctx<'_> {
    /// Notes, for the event and the response, what a restore left out and why.
    fn not_restored(&mut self, what: &str, why: String) {
        let list = self.changes.entry("not_restored").or_insert_with(|| json!([]));
        if let Some(a) = list.as_array_mut() {
            a.push(json!({"what": what, "reason": why}));
        }
    }

    fn actor(&self) -> Actor<'_> {
        Actor { user_id: self.actor.map(|u| u.id), role: self.role.as_str() }
    }
    fn reason(&self, default: &str) -> String {
        self.req.comment().unwrap_or(default).to_string()
    }
}

/// Input checks the engine cannot know: an objection `corrected` outcome
/// needs the corrected content; named sanctions must belong to the record.
pub fn validate_inputs(
    decision: &Decision<'_>,
    req: &ActionRequest,
    outcome: Option<Outcome>,
    rec: &record::Model,
) -> ApiResult<()> {
    let applies_outcome = decision.effects.iter().any(|e| matches!(e, Effect::ApplyOutcome));
    if req.correction.is_some()
        && !(applies_outcome && matches!(outcome, Some(Outcome::Corrected | Outcome::Supplemented)))
    {
        return Err(ApiError::field("correction", "not_applicable", "仅在核查结论为更正或补充时提交更正内容"));
    }
    if req.sanction_ids.is_some() && !(applies_outcome && outcome == Some(Outcome::Corrected)) {
        return Err(ApiError::field("sanction_ids", "not_applicable", "仅在核查结论为更正时指定需解除的惩戒措施"));
    }
    if applies_outcome {
        let c = req.correction.clone().unwrap_or_default();
        let empty = |s: &Option<String>| s.as_deref().is_none_or(|x| x.trim().is_empty());
        match outcome {
            Some(Outcome::Corrected)
                if empty(&c.title)
                    && empty(&c.content)
                    && empty(&c.document_no)
                    && c.decision_date.is_none()
                    && empty(&c.severity)
                    && empty(&c.regime)
                    && c.conduct_end_date.is_none() =>
            {
                return Err(ApiError::field(
                    "correction",
                    "correction_required",
                    "核查结论为更正时，须提交更正后的信息内容",
                ));
            }
            Some(Outcome::Supplemented) if empty(&c.content) => {
                return Err(ApiError::field(
                    "correction",
                    "correction_required",
                    "核查结论为补充时，须提交补充内容（correction.content）",
                ));
            }
            _ => {}
        }
        if let Some(d) = c.decision_date
            && (d > rec.decision_date + chrono::Duration::days(3650)
                || d < rec.decision_date - chrono::Duration::days(3650))
        {
            return Err(ApiError::Validation(vec![FieldError::new(
                "correction.decision_date",
                "out_of_range",
                "更正后的决定日期不合理",
            )]));
        }
    }
    Ok(())
}

/// The department a routing transition sends the case to: the one the
/// action names (re-routing: required, a producing department other than
/// the one holding the case), else None (the record's producing department).
pub async fn routing_target<C: ConnectionTrait>(
    db: &C,
    decision: &Decision<'_>,
    req: &ActionRequest,
    c: &case::Model,
) -> ApiResult<Option<i64>> {
    let names = decision.transition.requires.department;
    let Some(id) = req.department_id else {
        if names {
            return Err(ApiError::field("department_id", "required", "请选择改派的部门"));
        }
        return Ok(None);
    };
    if !names {
        return Err(ApiError::field("department_id", "not_applicable", "仅在改派部门时指定部门"));
    }
    let dept =
        department::Entity::find_by_id(id).one(db).await?.filter(|d| d.kind == DepartmentKind::Producing).ok_or_else(
            || ApiError::field("department_id", "unknown_department", "所选部门不存在或不是数据提供部门"),
        )?;
    if c.routed_at.is_some() && dept.id == c.department_id {
        return Err(ApiError::field("department_id", "same_department", "案件已在该部门办理，请选择其他部门"));
    }
    Ok(Some(dept.id))
}

/// A supplement request's list of missing items (一次性告知): required, each
/// item 1–200 characters, at most 30, no duplicates; None for other actions.
pub fn supplement_items(decision: &Decision<'_>, req: &ActionRequest) -> ApiResult<Option<Vec<String>>> {
    if !decision.transition.requires.items {
        if req.missing_items.is_some() {
            return Err(ApiError::field("missing_items", "not_applicable", "仅在要求补正时列出缺少的材料"));
        }
        return Ok(None);
    }
    let mut list: Vec<String> = Vec::new();
    for item in req.missing_items.iter().flatten() {
        let item = item.trim();
        if item.is_empty() {
            continue;
        }
        if item.chars().count() > 200 {
            return Err(ApiError::field("missing_items", "invalid_length", "每项补正内容不超过 200 字"));
        }
        if !list.iter().any(|i| i == item) {
            list.push(item.to_string());
        }
    }
    if list.is_empty() {
        return Err(ApiError::field("missing_items", "required", "请逐项列出需要补正的材料或内容（一次性告知）"));
    }
    if list.len() > 30 {
        return Err(ApiError::field("missing_items", "too_many", "补正事项不超过 30 项"));
    }
    Ok(Some(list))
}

fn record_snapshot(r: &record::Model) -> Value {
    json!({
        "title": r.title, "content": r.content, "document_no": r.document_no, "decision_date": r.decision_date,
        "publication_status": r.publication_status, "repair_from": r.repair_from,
        "publication_ends": r.publication_ends, "display_category": r.display_category, "deleted": r.deleted,
    })
}

pub async fn apply<C: ConnectionTrait>(db: &C, ctx: &mut Ctx<'_>, effect: &Effect) -> ApiResult<()> {
    let now = ctx.now;
    let case_id = ctx.case.id;
    let is_repair = ctx.case.kind == CaseKind::Repair;
    match effect {
        Effect::MarkObjection | Effect::UnmarkObjection => {
            let on = matches!(effect, Effect::MarkObjection);
            if on || ctx.record.objection_case_id == Some(case_id) {
                let mut am: record::ActiveModel = ctx.record.clone().into();
                am.objection_open = Set(on);
                am.objection_case_id = Set(on.then_some(case_id));
                am.version = Set(ctx.record.version + 1);
                am.updated_at = Set(now);
                ctx.record = am.update(db).await?;
            }
        }
        Effect::ApplyOutcome => apply_outcome(db, ctx).await?,
        Effect::EndPublication => {
            let reason = if is_repair { "信用修复，终止公示" } else { "异议核实，终止公示" };
            ctx.record = publication::end_publication(db, ctx.record.clone(), reason, now).await?;
        }
        Effect::RestorePublication => {
            let r = &ctx.record;
            match crate::domain::period::restore_refusal(
                r.deleted,
                r.publication_ends,
                ctx.today,
                ctx.state.settings.publication.publication_end,
            ) {
                None => ctx.record = publication::restore_publication(db, ctx.record.clone(), now).await?,
                Some(why) => ctx.not_restored("publication", why),
            }
        }
        Effect::EndListMembership => {
            let reason =
                ctx.reason(if is_repair { "信用修复，移出名单" } else { "异议核实，移出名单" });
            let ids = publication::end_lists(db, ctx.record.id, &reason, Some(case_id), now).await?;
            ctx.changes.insert("ended_list_memberships".into(), json!(ids));
            // A list-entry record is the listing: off the list, it is no longer published.
            if crate::domain::consistency::is_list_entry(&ctx.record.record_type) {
                ctx.record = publication::end_publication(db, ctx.record.clone(), &reason, now).await?;
            }
        }
        Effect::RestoreListMembership => {
            // An ended record keeps no listing: nothing comes back without it.
            if ctx.record.publication_status != PublicationStatus::Published {
                ctx.not_restored("list_memberships", "信息未恢复公示，名单不予恢复".into());
            } else {
                let n = publication::restore_lists(db, ctx.record.id, case_id).await?;
                ctx.changes.insert("restored_list_memberships".into(), json!(n));
            }
        }
        Effect::EndSanctions => {
            let reason = ctx.reason(if is_repair {
                "准予信用修复，终止联合惩戒"
            } else {
                "异议成立，解除惩戒措施"
            });
            let ids =
                publication::end_sanctions(db, ctx.record.id, None, ctx.actor(), &reason, Some(case_id), now).await?;
            ctx.changes.insert("ended_sanctions".into(), json!(ids));
        }
        Effect::RestoreSanctions => {
            if ctx.record.publication_status != PublicationStatus::Published {
                ctx.not_restored("sanctions", "信息未恢复公示，惩戒措施不予恢复".into());
            } else {
                let n = publication::restore_sanctions(db, ctx.record.id, case_id).await?;
                ctx.changes.insert("restored_sanctions".into(), json!(n));
            }
        }
        Effect::BarRepair => {
            let years = ctx.state.settings.repair_bar_years;
            let until = ctx.today.checked_add_months(Months::new(12 * years)).unwrap_or(ctx.today);
            let mut am: record::ActiveModel = ctx.record.clone().into();
            am.repair_barred_until = Set(Some(until));
            // A bar past the end leaves no repair before it: the category says so.
            let r = &ctx.record;
            am.display_category = Set(crate::domain::period::shown_category(
                &r.display_category,
                r.publication_status,
                r.repair_from,
                r.publication_ends,
                Some(until),
            ));
            am.version = Set(ctx.record.version + 1);
            am.updated_at = Set(now);
            ctx.record = am.update(db).await?;
            ctx.changes.insert("repair_barred_until".into(), json!(until));
        }
        Effect::RouteToDepartment => {
            // "谁认定、谁修复" (or the department the credit office named):
            // the case row was routed with the transition's one write.
            ctx.changes.insert("routed_to_department".into(), json!(ctx.case.department_id));
        }
        Effect::ReturnToOffice => {
            ctx.changes.insert("handed_back_by_department".into(), json!(ctx.case.department_id));
        }
        Effect::RequestExtension => {
            ctx.changes.insert("extension_requested".into(), json!(ctx.def.extension_working_days));
        }
        Effect::RefuseExtension => {
            ctx.changes.insert("extension_refused".into(), json!(true));
        }
        Effect::ExtendDeadline => {
            // The deadline rows were extended with the transition's clock changes.
            ctx.changes.insert("extended_working_days".into(), json!(ctx.def.extension_working_days));
            ctx.changes.insert("new_due".into(), json!(ctx.new_due));
        }
        Effect::QueueSync => {
            if ctx.parties.is_none() {
                ctx.parties = Some(Parties::load(db, ctx.case).await?);
            }
            let subject_code = ctx.parties.as_ref().map(|p| p.subject_code.clone()).unwrap_or_default();
            // What downstream platforms need: whose record, which one, what it
            // now is, and what this step changed (ended or restored lists and
            // sanctions, corrected fields before and after).
            let payload = json!({
                "action": format!("{}:{}", ctx.case.kind, ctx.to_state),
                "case_no": ctx.case.case_no,
                "subject_code": subject_code,
                "record_id": ctx.record.id,
                "document_no": ctx.record.document_no,
                "publication_status": ctx.record.publication_status,
                "publication_ends": ctx.record.publication_ends,
                "objection_open": ctx.record.objection_open,
                "deleted": ctx.record.deleted,
                "changes": ctx.changes,
                "at": now,
            });
            let key = format!("sync:{}:v{}", case_id, ctx.case.version);
            ctx.queued.sync(&payload, Some(case_id), key, now);
        }
        Effect::Notify { template, to } => notify(db, ctx, template, to).await?,
        Effect::IssueDocument { letter } => {
            let letter_ctx = letter_context(db, ctx).await?;
            let issued =
                crate::services::documents::issue(db, ctx.state, letter, ctx.case, &letter_ctx, ctx.today, now).await?;
            // The number and hash go into the step's event.
            ctx.changes.insert(
                "document".into(),
                json!({"id": issued.id, "number": issued.number, "title": issued.title, "sha256": issued.sha256}),
            );
            ctx.documents.push(issued);
        }
    }
    Ok(())
}

async fn apply_outcome<C: ConnectionTrait>(db: &C, ctx: &mut Ctx<'_>) -> ApiResult<()> {
    let before = record_snapshot(&ctx.record);
    let outcome = ctx.case.outcome;
    let corr = ctx.req.correction.clone().unwrap_or_default();
    let mut am: record::ActiveModel = ctx.record.clone().into();
    let mut rederived = None;
    match outcome {
        Some(Outcome::Corrected) => {
            if let Some(t) = corr.title.filter(|s| !s.trim().is_empty()) {
                am.title = Set(t);
            }
            if let Some(c) = corr.content.filter(|s| !s.trim().is_empty()) {
                am.content = Set(c);
            }
            if let Some(d) = corr.document_no.filter(|s| !s.trim().is_empty()) {
                am.document_no = Set(d);
            }
            let filled = |s: Option<String>| s.map(|x| x.trim().to_string()).filter(|x| !x.is_empty());
            let change = WindowChange {
                regime: filled(corr.regime),
                severity: filled(corr.severity),
                decision_date: corr.decision_date,
                conduct_end_date: corr.conduct_end_date,
            };
            if !change.is_empty() {
                let r = &ctx.record;
                let w = rederive(&ctx.state.settings.publication, ctx.today, r, &change, "correction.")
                    .map_err(ApiError::Validation)?;
                am.regime = Set(w.regime);
                am.severity = Set(w.severity);
                am.decision_date = Set(w.decision_date);
                am.conduct_end_date = Set(w.conduct_end_date);
                am.repairable = Set(w.derived.repairable);
                if w.derived.repair_from != r.repair_from {
                    // A moved repair-from date is told again.
                    am.repair_notified_for = Set(None);
                }
                am.repair_from = Set(w.derived.repair_from);
                am.publication_ends = Set(w.derived.publication_ends);
                am.display_category = Set(w.derived.display_category_for(r.publication_status, r.repair_barred_until));
                rederived = Some(w.derived);
            }
        }
        Some(Outcome::Supplemented) => {
            let extra = corr.content.unwrap_or_default();
            am.content = Set(format!("{}\n【补充】{}", ctx.record.content, extra.trim()));
        }
        Some(Outcome::Deleted) => {
            am.deleted = Set(true);
        }
        _ => {}
    }
    am.version = Set(ctx.record.version + 1);
    am.updated_at = Set(ctx.now);
    ctx.record = am.update(db).await?;
    // A correction can never leave the record public past what its corrected window allows.
    if let Some(derived) = rederived {
        let end = ctx.state.settings.publication.publication_end;
        let (actor, case_id) = (ctx.actor(), Some(ctx.case.id));
        let rec = ctx.record.clone();
        if let Some(why) =
            publication::end_if_no_longer_public(db, rec, &derived, ctx.today, end, actor, case_id, ctx.now).await?
        {
            ctx.changes.insert("publication_ended".into(), json!(why));
            ctx.record = record::Entity::find_by_id(ctx.record.id)
                .one(db)
                .await?
                .ok_or_else(|| ApiError::not_found("信用信息"))?;
        }
    }
    if outcome == Some(Outcome::Corrected)
        && let Some(ids) = ctx.req.sanction_ids.clone()
    {
        let reason = ctx.reason("异议核实，惩戒依据有误，予以解除");
        let ended =
            publication::end_sanctions(db, ctx.record.id, Some(&ids), ctx.actor(), &reason, Some(ctx.case.id), ctx.now)
                .await?;
        if ended.len() != ids.len() {
            return Err(ApiError::field("sanction_ids", "not_found", "所列惩戒措施不属于该信息或已解除"));
        }
        ctx.changes.insert("ended_sanctions".into(), json!(ended));
    }
    ctx.changes.insert("record_before".into(), before);
    ctx.changes.insert("record_after".into(), record_snapshot(&ctx.record));
    Ok(())
}

async fn notify<C: ConnectionTrait>(
    db: &C,
    ctx: &mut Ctx<'_>,
    template: &str,
    to: &[crate::workflow::Recipient],
) -> ApiResult<()> {
    if ctx.parties.is_none() {
        ctx.parties = Some(Parties::load(db, ctx.case).await?);
    }
    let parties = ctx.parties.clone().unwrap_or_default();
    let mut m = notice::context(ctx.state, ctx.case, ctx.def, Some(&ctx.record), &parties, ctx.new_due);
    let extra = json!({
        "comment": ctx.req.comment,
        "outcome_label": ctx.case.outcome.map(Outcome::title_zh),
        "missing": ctx.missing.iter().map(|k| attachment_kind_title(k).unwrap_or(k)).collect::<Vec<_>>(),
        "bar_until": ctx.record.repair_barred_until.map(|d| d.to_string()),
        "document_number": ctx.documents.last().map(|d| d.number.clone()),
        "document_title": ctx.documents.last().map(|d| d.title.clone()),
        // A denied repair: the applicant may fix and re-apply, or object.
        "denied": ctx.case.kind == CaseKind::Repair && ctx.to_state == "denied",
        "missing_items": super::view::supplement_items(ctx.case.supplement_items.as_deref()),
        "extension_reason": ctx.case.extension_reason,
        "extension_days": ctx.def.extension_working_days,
    });
    if let Value::Object(e) = extra {
        m.extend(e);
    }
    let files: Vec<_> = ctx.documents.iter().map(|d| d.as_mail_file()).collect();
    ctx.addressed.load(db, ctx.case, &parties, &ctx.wanted).await?;
    let groups: Vec<_> = to.iter().map(|who| (*who, ctx.addressed.of(*who))).collect();
    notice::queue_to(&mut ctx.queued, ctx.state, ctx.case, template, &m, &groups, &files, ctx.now)?;
    Ok(())
}

/// Labels of the record fields a correction may change, for the letter.
const FIELD_LABELS: [(&str, &str); 7] = [
    ("title", "信息名称"),
    ("content", "信息内容"),
    ("document_no", "决定书文号"),
    ("decision_date", "决定日期"),
    ("publication_ends", "公示截止日期"),
    ("repair_from", "可申请修复日期"),
    ("display_category", "公示类别"),
];

/// The context of the letter a step issues: who, which record, what was
/// decided and why, what changed.
async fn letter_context<C: ConnectionTrait>(db: &C, ctx: &mut Ctx<'_>) -> ApiResult<Value> {
    use crate::domain::documents::{chinese_date, legal_basis};
    if ctx.parties.is_none() {
        ctx.parties = Some(Parties::load(db, ctx.case).await?);
    }
    let parties = ctx.parties.clone().unwrap_or_default();
    // Usually the department holding the case, whose name the parties have.
    let record_department = if ctx.record.department_id == ctx.case.department_id {
        parties.department_name.clone().unwrap_or_default()
    } else {
        entity::department::Entity::find_by_id(ctx.record.department_id)
            .one(db)
            .await?
            .map(|d| d.name)
            .unwrap_or_default()
    };
    let local = crate::clock::local_date;
    let changed: Vec<Value> = match (ctx.changes.get("record_before"), ctx.changes.get("record_after")) {
        (Some(before), Some(after)) => FIELD_LABELS
            .iter()
            .filter(|(k, _)| before[k] != after[k])
            .map(|(k, label)| {
                let show = |v: &Value| v.as_str().map(str::to_string).unwrap_or_else(|| v.to_string());
                json!({"label": label, "before": show(&before[k]), "after": show(&after[k])})
            })
            .collect(),
        _ => Vec::new(),
    };
    let not_restored: Vec<String> = ctx
        .changes
        .get("not_restored")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(|x| x["reason"].as_str().map(str::to_string)).collect())
        .unwrap_or_default();
    let approval_number = if ctx.case.kind == CaseKind::Repair {
        crate::services::documents::of_case(db, ctx.case.id)
            .await?
            .into_iter()
            .rev()
            .find(|d| d.letter == "repair_approved")
            .map(|d| d.number)
    } else {
        None
    };
    let ended = |key: &str| ctx.changes.get(key).and_then(Value::as_array).is_some_and(|a| !a.is_empty());
    let grounds_title = ctx.case.grounds.map(|g| g.title_zh());
    Ok(json!({
        "subject_name": parties.subject_name,
        "subject_code": parties.subject_code,
        "case_no": ctx.case.case_no,
        "kind_label": ctx.case.kind.label_zh(),
        "received_on": chinese_date(local(ctx.case.received_at)),
        "today": chinese_date(ctx.today),
        "record_title": ctx.record.title,
        "record_document_no": ctx.record.document_no,
        "record_department": record_department,
        "department_name": parties.department_name,
        "routed": ctx.case.routed_at.is_some(),
        "legal_basis": legal_basis(ctx.case.kind),
        "comment": ctx.req.comment(),
        "outcome": ctx.case.outcome.map(|o| o.as_str()),
        "outcome_label": ctx.case.outcome.map(Outcome::title_zh),
        "grounds_title": grounds_title,
        "changed": changed,
        "publication_ended": ctx.changes.get("publication_ended").and_then(Value::as_str).map(|why| format!("因{why}终止公示")),
        "missing_items": super::view::supplement_items(ctx.case.supplement_items.as_deref()),
        "supplement_due": ctx.case.due_at.map(|t| chinese_date(super::notice::due_day(t))),
        "had_lists": ended("ended_list_memberships"),
        "had_sanctions": ended("ended_sanctions"),
        "approval_number": approval_number,
        "not_restored": (!not_restored.is_empty()).then(|| not_restored.join("；")),
        "bar_years": ctx.state.settings.repair_bar_years,
        "bar_until": ctx.record.repair_barred_until.map(chinese_date),
    }))
}
