//! The fixed set of effects a workflow transition may run. Each one writes
//! through the caller's transaction; none commits.

use chrono::{DateTime, Months, NaiveDate, Utc};
use sea_orm::{ActiveModelTrait, ConnectionTrait, EntityTrait, Set};
use serde_json::{Value, json};

use super::act::{ActionRequest, notify_context};
use super::deadlines;
use crate::auth::AuthUser;
use crate::domain::calendar::Calendar;
use crate::error::{ApiError, ApiResult, FieldError};
use crate::services::publication::{self, Actor};
use crate::services::{admin::derive_fields, outbox};
use crate::state::AppState;
use crate::workflow::{Decision, Definition, Effect, Role, attachment_kind_title, outcome_title};
use entity::{case, record};

pub struct Ctx<'a> {
    pub state: &'a AppState,
    pub cal: &'a Calendar,
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
    pub new_due: Option<NaiveDate>,
}

impl Ctx<'_> {
    fn actor(&self) -> Actor<'_> {
        Actor { user_id: self.actor.map(|u| u.id), role: self.role.as_str() }
    }
    fn reason(&self, default: &str) -> String {
        self.req.comment.as_deref().map(str::trim).filter(|s| !s.is_empty()).unwrap_or(default).to_string()
    }
}

/// Input checks the engine cannot know: an objection `corrected` outcome
/// needs the corrected content; named sanctions must belong to the record.
pub fn validate_inputs(decision: &Decision<'_>, req: &ActionRequest, rec: &record::Model) -> ApiResult<()> {
    let applies_outcome = decision.effects.iter().any(|e| matches!(e, Effect::ApplyOutcome));
    let outcome = req.outcome.as_deref().unwrap_or("");
    if req.correction.is_some() && !(applies_outcome && ["corrected", "supplemented"].contains(&outcome)) {
        return Err(ApiError::field("correction", "not_applicable", "仅在核查结论为更正或补充时提交更正内容"));
    }
    if req.sanction_ids.is_some() && !(applies_outcome && outcome == "corrected") {
        return Err(ApiError::field("sanction_ids", "not_applicable", "仅在核查结论为更正时指定需解除的惩戒措施"));
    }
    if applies_outcome {
        let c = req.correction.clone().unwrap_or_default();
        let empty = |s: &Option<String>| s.as_deref().is_none_or(|x| x.trim().is_empty());
        match outcome {
            "corrected"
                if empty(&c.title) && empty(&c.content) && empty(&c.document_no) && c.decision_date.is_none() =>
            {
                return Err(ApiError::field(
                    "correction",
                    "correction_required",
                    "核查结论为更正时，须提交更正后的信息内容",
                ));
            }
            "supplemented" if empty(&c.content) => {
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

fn injected(ctx: &Ctx<'_>, effect: &Effect) -> ApiResult<()> {
    if ctx.state.fail_effect.as_deref() == Some(effect.kind()) {
        return Err(ApiError::Internal(anyhow::anyhow!("injected failure in effect {}", effect.kind())));
    }
    Ok(())
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
    let is_repair = ctx.case.kind == "repair";
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
            ctx.record = publication::restore_publication(db, ctx.record.clone(), now).await?;
        }
        Effect::EndListMembership => {
            let reason =
                ctx.reason(if is_repair { "信用修复，移出名单" } else { "异议核实，移出名单" });
            let ids = publication::end_lists(db, ctx.record.id, &reason, Some(case_id), now).await?;
            ctx.changes.insert("ended_list_memberships".into(), json!(ids));
        }
        Effect::RestoreListMembership => {
            let n = publication::restore_lists(db, ctx.record.id, case_id).await?;
            ctx.changes.insert("restored_list_memberships".into(), json!(n));
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
            let n = publication::restore_sanctions(db, ctx.record.id, case_id).await?;
            ctx.changes.insert("restored_sanctions".into(), json!(n));
        }
        Effect::BarRepair => {
            let years = ctx.state.settings.repair_bar_years;
            let until = ctx.today.checked_add_months(Months::new(12 * years)).unwrap_or(ctx.today);
            let mut am: record::ActiveModel = ctx.record.clone().into();
            am.repair_barred_until = Set(Some(until));
            am.version = Set(ctx.record.version + 1);
            am.updated_at = Set(now);
            ctx.record = am.update(db).await?;
            ctx.changes.insert("repair_barred_until".into(), json!(until));
        }
        Effect::RouteToDepartment => {
            // "谁认定、谁修复": the producing department sees the case from now on.
            use sea_orm::{ColumnTrait, QueryFilter, sea_query::Expr};
            case::Entity::update_many()
                .col_expr(case::Column::DepartmentId, Expr::value(ctx.record.department_id))
                .col_expr(case::Column::RoutedAt, Expr::value(now))
                .filter(case::Column::Id.eq(case_id))
                .exec(db)
                .await?;
            ctx.changes.insert("routed_to_department".into(), json!(ctx.record.department_id));
        }
        Effect::ExtendDeadline => {
            let days = ctx.def.extension_working_days;
            let reason = ctx.reason("");
            ctx.new_due = deadlines::extend(db, ctx.cal, case_id, days, &reason, ctx.actor.map(|u| u.id), now).await?;
            ctx.changes.insert("extended_working_days".into(), json!(days));
            ctx.changes.insert("new_due".into(), json!(ctx.new_due));
        }
        Effect::QueueSync => {
            let payload = json!({
                "action": format!("{}:{}", ctx.case.kind, ctx.to_state),
                "case_no": ctx.case.case_no,
                "record_id": ctx.record.id,
                "document_no": ctx.record.document_no,
                "publication_status": ctx.record.publication_status,
                "deleted": ctx.record.deleted,
                "at": now,
            });
            let key = format!("sync:{}:v{}", case_id, ctx.case.version + 1);
            outbox::queue_sync(db, &payload, Some(case_id), key, now).await?;
        }
        Effect::Notify { template, to } => notify(db, ctx, template, to).await?,
    }
    injected(ctx, effect)
}

async fn apply_outcome<C: ConnectionTrait>(db: &C, ctx: &mut Ctx<'_>) -> ApiResult<()> {
    let before = record_snapshot(&ctx.record);
    let outcome = ctx.req.outcome.clone().unwrap_or_default();
    let corr = ctx.req.correction.clone().unwrap_or_default();
    let mut am: record::ActiveModel = ctx.record.clone().into();
    match outcome.as_str() {
        "corrected" => {
            if let Some(t) = corr.title.filter(|s| !s.trim().is_empty()) {
                am.title = Set(t);
            }
            if let Some(c) = corr.content.filter(|s| !s.trim().is_empty()) {
                am.content = Set(c);
            }
            if let Some(d) = corr.document_no.filter(|s| !s.trim().is_empty()) {
                am.document_no = Set(d);
            }
            if let Some(d) = corr.decision_date {
                let r = &ctx.record;
                let derived =
                    derive_fields(&ctx.state.settings.publication, &r.regime, &r.severity, d, r.conduct_end_date)
                        .map_err(ApiError::Validation)?;
                am.decision_date = Set(d);
                am.repair_from = Set(derived.repair_from);
                am.publication_ends = Set(derived.publication_ends);
                if r.publication_status != "not_published" {
                    am.display_category = Set(derived.display_category);
                }
            }
        }
        "supplemented" => {
            let extra = corr.content.unwrap_or_default();
            am.content = Set(format!("{}\n【补充】{}", ctx.record.content, extra.trim()));
        }
        "deleted" => {
            am.deleted = Set(true);
        }
        _ => {}
    }
    am.version = Set(ctx.record.version + 1);
    am.updated_at = Set(ctx.now);
    ctx.record = am.update(db).await?;
    if outcome == "corrected"
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

/// The decision letter text for an approved repair (准予信用修复决定书).
fn decision_letter(ctx: &Ctx<'_>, subject_name: &str) -> String {
    format!(
        "准予信用修复决定书\n\n{subject_name}：\n你单位就“{}”（{}）提出的信用修复申请（{}），经审核符合信用修复条件，决定准予信用修复。\n自 {} 起终止公示该信息，移出相关名单，并解除相关联合惩戒措施。\n",
        ctx.record.title, ctx.record.document_no, ctx.case.case_no, ctx.today
    )
}

async fn notify<C: ConnectionTrait>(
    db: &C,
    ctx: &mut Ctx<'_>,
    template: &str,
    to: &[crate::workflow::Recipient],
) -> ApiResult<()> {
    let current = entity::case::Entity::find_by_id(ctx.case.id).one(db).await?;
    let current = current.ok_or_else(|| anyhow::anyhow!("case vanished"))?;
    let dept = entity::department::Entity::find_by_id(ctx.case.department_id).one(db).await?;
    let subject = entity::subject::Entity::find_by_id(ctx.case.subject_id).one(db).await?;
    let subject_name = subject.map(|s| s.name).unwrap_or_default();
    let state_def = ctx.def.state(&ctx.to_state);
    let due_date =
        current.due_at.map(|d| d.with_timezone(&crate::clock::shanghai()).date_naive() - chrono::Duration::days(1));
    let extra = json!({
        "recipient_name": subject_name,
        "department_name": dept.map(|d| d.name),
        "state_title": state_def.map(|s| s.title.clone()),
        "result": state_def.and_then(|s| s.result.clone()),
        "comment": ctx.req.comment,
        "outcome_label": ctx.req.outcome.as_deref().and_then(outcome_title),
        "due_date": ctx.new_due.or(due_date).map(|d| d.to_string()),
        "missing": ctx.missing.iter().map(|k| attachment_kind_title(k).unwrap_or(k)).collect::<Vec<_>>(),
        "objection": ctx.case.kind == "objection",
        "bar_until": ctx.record.repair_barred_until.map(|d| d.to_string()),
        "decision_text": (ctx.case.kind == "repair" && ctx.to_state == "completed").then(|| decision_letter(ctx, &subject_name)),
    });
    let context = notify_context(ctx.state, &current, &ctx.record, extra);
    for who in to {
        let addrs = outbox::recipients(db, *who, ctx.case.applicant_user_id, ctx.case.department_id).await?;
        outbox::queue_mail(db, &ctx.state.templates, template, &context, &addrs, Some(ctx.case.id), None, ctx.now)
            .await?;
    }
    Ok(())
}
