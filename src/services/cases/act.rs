//! Taking an action on a case: the engine decides, then the case row moves
//! under an optimistic version check, deadlines follow, every effect runs,
//! the event is chained and notifications are queued, all in one
//! transaction. Any failure rolls everything back.

use chrono::NaiveDate;
use sea_orm::{ColumnTrait, DatabaseTransaction, EntityTrait, QueryFilter, TransactionTrait, sea_query::Expr};
use serde::Deserialize;
use serde_json::{Value, json};
use utoipa::ToSchema;

use super::{audit, deadlines, effects, kind_label, now_micros, scope, view};
use crate::auth::AuthUser;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use crate::workflow::{ActionInput, Effect, EngineError, Guard, Role, attachment_kind_title, decide};
use entity::{case, record};

/// Corrected content of a record (objection outcome `corrected`/`supplemented`).
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Correction {
    pub title: Option<String>,
    pub content: Option<String>,
    pub document_no: Option<String>,
    pub decision_date: Option<NaiveDate>,
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ActionRequest {
    pub comment: Option<String>,
    /// For `verify`: corrected, supplemented, deleted, removed_from_list, maintained.
    pub outcome: Option<String>,
    /// The case version this action is based on; a stale one answers 409.
    pub version: Option<i32>,
    /// For `verify` with outcome corrected (required) or supplemented.
    pub correction: Option<Correction>,
    /// For `verify` with outcome corrected: sanctions whose basis was wrong.
    pub sanction_ids: Option<Vec<i64>>,
}

fn engine_error(e: EngineError, missing: &[String]) -> ApiError {
    let code = e.code();
    let msg = e.to_string();
    match e {
        EngineError::UnknownAction(_) => ApiError::NotFound { what: "操作" },
        EngineError::UnknownState(_) => ApiError::Internal(anyhow::anyhow!("case in unknown state: {msg}")),
        EngineError::NotAllowedInState { .. } => ApiError::conflict(code, msg),
        EngineError::RoleNotAllowed { .. } => ApiError::Forbidden,
        EngineError::MissingComment => ApiError::field("comment", code, msg),
        EngineError::MissingOutcome | EngineError::InvalidOutcome(_) => ApiError::field("outcome", code, msg),
        EngineError::MissingAttachments(_) => ApiError::unprocessable(code, msg),
        EngineError::GuardFailed { .. } => {
            let labels: Vec<&str> = missing.iter().map(|k| attachment_kind_title(k).unwrap_or(k.as_str())).collect();
            ApiError::conflict(code, msg).with_details(json!({"missing_materials": missing, "missing_titles": labels}))
        }
    }
}

fn stale() -> ApiError {
    ApiError::conflict("stale_version", "案件已被他人处理或已更新，请刷新后重试")
}

/// A user takes an action on a case in their scope.
#[tracing::instrument(skip(state, user, req), fields(user = user.id))]
pub async fn act(
    state: &AppState,
    user: &AuthUser,
    case_id: i64,
    action: &str,
    req: ActionRequest,
) -> ApiResult<view::CaseView> {
    let c = transition(state, Some(user), user.role, case_id, action, req).await?;
    view::build(state, &state.db, Some(user), c).await
}

/// The system takes an action (a deadline job). Returns false when the action
/// no longer applies, e.g. another server process took it first.
pub async fn system_action(state: &AppState, case_id: i64, action: &str, comment: &str) -> anyhow::Result<bool> {
    let req = ActionRequest { comment: Some(comment.to_string()), ..Default::default() };
    match transition(state, None, Role::System, case_id, action, req).await {
        Ok(_) => Ok(true),
        Err(ApiError::Conflict { .. }) | Err(ApiError::NotFound { .. }) | Err(ApiError::Forbidden) => Ok(false),
        Err(e) => Err(anyhow::anyhow!("{action} on case {case_id}: {e} ({})", e.code())),
    }
}

async fn transition(
    state: &AppState,
    user: Option<&AuthUser>,
    role: Role,
    case_id: i64,
    action: &str,
    req: ActionRequest,
) -> ApiResult<case::Model> {
    let txn = state.db.begin().await?;
    let c = transition_in(state, &txn, user, role, case_id, action, req).await?;
    txn.commit().await?;
    Ok(c)
}

/// The transition inside the caller's transaction (which commits it), so a
/// job can end a publication and close the case on it atomically.
pub async fn transition_in(
    state: &AppState,
    txn: &DatabaseTransaction,
    user: Option<&AuthUser>,
    role: Role,
    case_id: i64,
    action: &str,
    req: ActionRequest,
) -> ApiResult<case::Model> {
    let now = now_micros(state);
    let today = state.clock.today();
    let mut q = case::Entity::find_by_id(case_id);
    if let Some(u) = user {
        q = q.filter(scope(u));
    }
    let c = q.one(txn).await?.ok_or_else(|| ApiError::not_found("案件"))?;
    if req.version.is_some_and(|v| v != c.version) {
        return Err(stale());
    }
    let def = state.workflows.pinned(txn, &c.workflow_hash).await?;
    let rec = record::Entity::find_by_id(c.record_id).one(txn).await?.ok_or_else(|| ApiError::not_found("信用信息"))?;
    let facts = view::facts(txn, &def, &c, &rec, today).await?;
    let input = ActionInput { comment: req.comment.as_deref(), outcome: req.outcome.as_deref(), attachment_kinds: &[] };
    let decision =
        decide(&def, &c.state, role, action, &input, &facts).map_err(|e| engine_error(e, &facts.missing_materials))?;
    effects::validate_inputs(&decision, &req, &rec)?;

    // Move the case first, conditionally: of two concurrent actions on the
    // same version exactly one gets here; the other gets 409 and runs nothing.
    let moved = decision.from != decision.to;
    let extends = decision.effects.iter().any(|e| matches!(e, Effect::ExtendDeadline));
    let to_def = def.state(&decision.to).ok_or_else(|| anyhow::anyhow!("target state missing"))?;
    let mut upd = case::Entity::update_many()
        .col_expr(case::Column::State, Expr::value(decision.to.clone()))
        .col_expr(case::Column::Version, Expr::value(c.version + 1))
        .col_expr(case::Column::UpdatedAt, Expr::value(now));
    if moved || extends {
        // A new or extended deadline: the overdue mark belongs to the old one.
        upd = upd.col_expr(case::Column::Overdue, Expr::value(false));
    }
    if let Some(o) = &req.outcome {
        upd = upd.col_expr(case::Column::Outcome, Expr::value(o.clone()));
    }
    if extends {
        upd = upd.col_expr(case::Column::ExtensionUsed, Expr::value(true));
    }
    if decision.transition.guards.contains(&Guard::NotUrgedToday) {
        upd = upd.col_expr(case::Column::LastUrgedOn, Expr::value(today));
    }
    if decision.terminal {
        upd = upd
            .col_expr(case::Column::OpenRecordKey, Expr::value(Option::<i64>::None))
            .col_expr(case::Column::Result, Expr::value(to_def.result.clone()))
            .col_expr(case::Column::ClosedAt, Expr::value(now));
    }
    let res = upd.filter(case::Column::Id.eq(c.id)).filter(case::Column::Version.eq(c.version)).exec(txn).await?;
    if res.rows_affected != 1 {
        return Err(stale());
    }

    // Deadlines follow the state change.
    let cal = state.calendar();
    if moved {
        deadlines::close_step(txn, c.id, today, now).await?;
        if decision.pauses_total {
            deadlines::pause_total(txn, &cal, c.id, today, now).await?;
        }
        if decision.resumes_total {
            deadlines::resume_total(txn, &cal, c.id, today, now).await?;
        }
        if let Some(days) = decision.enters_deadline {
            deadlines::start(txn, &cal, c.id, "step", &decision.to, days, today, now).await?;
        }
        if decision.terminal {
            deadlines::close_all(txn, c.id, today, now).await?;
        }
    }

    let mut ctx = effects::Ctx {
        state,
        cal: &cal,
        case: &c,
        def: &def,
        actor: user,
        role,
        req: &req,
        record: rec,
        to_state: decision.to.clone(),
        today,
        now,
        changes: serde_json::Map::new(),
        missing: facts.missing_materials.clone(),
        new_due: None,
    };
    // Deadline columns are needed by notifications: refresh them first.
    deadlines::refresh_case(txn, c.id).await?;
    for effect in &decision.effects {
        effects::apply(txn, &mut ctx, effect).await?;
    }
    if ctx.new_due.is_some() {
        deadlines::refresh_case(txn, c.id).await?;
    }

    let mut inputs = json!({
        "outcome": req.outcome,
        "effects": decision.effects.iter().map(|e| e.kind()).collect::<Vec<_>>(),
    });
    if action == "request_supplement" {
        inputs["missing_materials"] = json!(facts.missing_materials);
    }
    if let Some(corr) = &req.correction {
        inputs["correction"] = json!({"title": corr.title, "content": corr.content, "document_no": corr.document_no, "decision_date": corr.decision_date});
    }
    if let Some(ids) = &req.sanction_ids {
        inputs["sanction_ids"] = json!(ids);
    }
    for (k, v) in std::mem::take(&mut ctx.changes) {
        inputs[k] = v;
    }
    audit::append(
        txn,
        audit::NewEvent {
            case_id: c.id,
            actor_user_id: user.map(|u| u.id),
            actor_role: role.as_str(),
            action,
            from_state: Some(&decision.from),
            to_state: &decision.to,
            comment: req.comment.as_deref().map(str::trim).filter(|s| !s.is_empty()),
            inputs,
            at: now,
        },
    )
    .await?;
    tracing::info!(case = c.id, action, from = %decision.from, to = %decision.to, "case transition");
    case::Entity::find_by_id(c.id).one(txn).await?.ok_or_else(|| ApiError::not_found("案件"))
}

/// Template context shared by a case's notifications.
pub fn notify_context(state: &AppState, c: &case::Model, rec: &record::Model, extra: Value) -> Value {
    let mut v = json!({
        "case_no": c.case_no,
        "kind_label": kind_label(&c.kind),
        "record_title": rec.title,
        "document_no": rec.document_no,
        "link": format!("{}/api/v1/cases/{}", state.settings.public_url, c.id),
    });
    if let (Value::Object(m), Value::Object(e)) = (&mut v, extra) {
        m.extend(e);
    }
    v
}
