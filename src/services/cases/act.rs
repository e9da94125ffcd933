//! Taking an action on a case: the engine decides; the case row is read once
//! and written once (with the optimistic version check, which also holds its
//! lock for the rest of the transaction); the deadline rows follow in memory
//! and are written once; every effect runs, the event is chained and the
//! notifications are queued, all in one transaction. Any failure rolls
//! everything back.

use sea_orm::{
    ActiveModelTrait, ActiveValue, ColumnTrait, DatabaseTransaction, EntityTrait, QueryFilter, TransactionTrait,
};
use serde_json::json;

use super::deadlines::Clocks;
use super::effects::{self, Ctx};
use super::input::ActionRequest;
use super::notice::Parties;
use super::{audit, facts, now_micros, view};
use crate::auth::AuthUser;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use crate::workflow::{ActionInput, ClosureClass, Effect, EngineError, Guard, Role, decide};
use entity::case;
use entity::types::Outcome;

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
    let txn = state.db.begin().await?;
    let (c, held) = transition(state, &txn, Some(user), user.role, case_id, action, req, true).await?;
    let held = held.ok_or_else(|| anyhow::anyhow!("the transition kept nothing for its view"))?;
    // The response from what the transaction holds, on its connection.
    let view = view::from_held(state, &txn, Some(user), c, held).await?;
    txn.commit().await?;
    crate::metrics::transition(&view.workflow_id, action);
    Ok(view)
}

/// The system takes an action (a deadline job). Returns false when the action
/// no longer applies, e.g. another server process took it first.
pub async fn system_action(state: &AppState, case_id: i64, action: &str, comment: &str) -> anyhow::Result<bool> {
    let txn = state.db.begin().await?;
    match transition_in(state, &txn, None, Role::System, case_id, action, ActionRequest::system(comment)).await {
        Ok(c) => {
            txn.commit().await?;
            crate::metrics::transition(&c.workflow_id, action);
            Ok(true)
        }
        Err(ApiError::Conflict { .. }) | Err(ApiError::NotFound { .. }) | Err(ApiError::Forbidden) => Ok(false),
        Err(e) => Err(anyhow::anyhow!("{action} on case {case_id}: {e} ({})", e.code())),
    }
}

/// The transition inside the caller's transaction (which commits it), so a
/// job can end a publication and close the case on it atomically. Returns
/// the case as it now stands.
pub async fn transition_in(
    state: &AppState,
    txn: &DatabaseTransaction,
    user: Option<&AuthUser>,
    role: Role,
    case_id: i64,
    action: &str,
    req: ActionRequest,
) -> ApiResult<case::Model> {
    Ok(transition(state, txn, user, role, case_id, action, req, false).await?.0)
}

/// The transition; with `keep` it also returns what the response view is
/// made of, as the transaction left it.
#[allow(clippy::too_many_arguments)]
async fn transition(
    state: &AppState,
    txn: &DatabaseTransaction,
    user: Option<&AuthUser>,
    role: Role,
    case_id: i64,
    action: &str,
    req: ActionRequest,
    keep: bool,
) -> ApiResult<(case::Model, Option<view::Held>)> {
    let now = now_micros(state);
    let today = state.clock.today();
    let (c, rec) = super::case_with_record(txn, user, case_id).await?;
    if req.version.is_some_and(|v| v != c.version) {
        return Err(stale());
    }
    let def = state.workflows.pinned(txn, &c.workflow_hash).await?;
    let attachments = view::attachments_of(txn, c.id).await?;
    let kinds: Vec<_> = attachments.iter().map(|a| a.kind).collect();
    let facts = facts::compute(&def, &c, &rec, &kinds, today, state.settings.publication.publication_end);
    let input = ActionInput { comment: req.comment.as_deref(), outcome: req.outcome.as_deref(), attachment_kinds: &[] };
    let decision = decide(&def, &c.state, role, action, &input, &facts).map_err(|e| match e {
        EngineError::GuardFailed { guard, .. } => {
            ApiError::from(EngineError::GuardFailed { guard, missing: facts.missing_materials.clone() })
        }
        e => e.into(),
    })?;
    // The engine accepted the outcome against the workflow's list.
    let outcome = match req.outcome.as_deref() {
        Some(o) => {
            Some(o.parse::<Outcome>().map_err(|_| ApiError::field("outcome", "invalid_outcome", "核查结论取值无效"))?)
        }
        None => None,
    };
    effects::validate_inputs(&decision, &req, outcome, &rec)?;
    let route_to = effects::routing_target(txn, &decision, &req, &c).await?;
    let items = effects::supplement_items(&decision, &req)?;

    // A state change, or a self-loop that starts the step again (re-routing).
    let moved = decision.from != decision.to || decision.transition.restarts_step;
    let has = |e: &Effect| decision.effects.contains(e);
    let extends = has(&Effect::ExtendDeadline);
    let to_def = def.state(&decision.to).ok_or_else(|| anyhow::anyhow!("target state missing"))?;

    // The clocks follow the state change, in memory first.
    let cal = state.calendar();
    let mut clocks = if moved || extends { Some(Clocks::load(txn, c.id).await?) } else { None };
    let mut new_due = None;
    if let Some(k) = clocks.as_mut() {
        if moved {
            k.close_step(today, now);
            if decision.pauses_total {
                k.pause_total(&cal, today, now)?;
            }
            if decision.resumes_total {
                k.resume_total(&cal, today, now)?;
            }
            if let Some(days) = decision.enters_deadline {
                k.start_step(&cal, &decision.to, days, today, now)?;
            }
            if decision.terminal {
                k.close_all(today, now);
            }
        }
        if extends {
            // The department's reason, approved by the credit office (the actor).
            let reason = c.extension_reason.as_deref().or(req.comment()).unwrap_or("");
            new_due =
                k.extend(&cal, def.extension_working_days, def.extension_moves_total, reason, user.map(|u| u.id), now)?;
        }
    }

    // The case row as the transition leaves it, written once: of two
    // concurrent actions on the same version exactly one gets past this; the
    // other gets 409 and runs nothing.
    let mut next = c.clone();
    next.state = decision.to.clone();
    next.version = c.version + 1;
    next.updated_at = now;
    if moved || extends {
        // A new or extended deadline: the overdue mark belonged to the old one.
        next.overdue = false;
    }
    if outcome.is_some() {
        next.outcome = outcome;
    }
    if extends {
        next.extension_used = true;
        next.extension_requested_by = None;
    }
    if has(&Effect::RequestExtension) {
        next.extension_requested_by = user.map(|u| u.id);
        next.extension_reason = req.comment().map(str::to_string);
    }
    if has(&Effect::RefuseExtension) {
        next.extension_requested_by = None;
        next.extension_reason = None;
    }
    if moved {
        // A supplement request's list lasts while the applicant answers it.
        next.supplement_items = items.as_ref().map(|list| serde_json::json!(list).to_string());
    }
    if has(&Effect::ReturnToOffice) {
        // Out of the department's scope until routed again.
        next.routed_at = None;
    }
    if decision.transition.guards.contains(&Guard::NotUrgedToday) {
        next.last_urged_on = Some(today);
    }
    if has(&Effect::RouteToDepartment) {
        next.department_id = route_to.unwrap_or(rec.department_id);
        next.routed_at = Some(now);
    }
    if decision.terminal {
        // Nothing stays pending on a closed case.
        next.extension_requested_by = None;
    }
    if decision.terminal {
        next.open_record_key = None;
        next.result = to_def.result.clone();
        next.closed_at = Some(now);
        let total = match clocks.as_ref().and_then(Clocks::total_count) {
            Some(t) => Some(t),
            // A closed case closing again (a revoked repair): its total row is no longer open.
            None => super::deadlines::total_of(txn, c.id).await?.as_ref().map(super::deadlines::count_of),
        };
        let class = to_def.report_as.unwrap_or(ClosureClass::Moot);
        crate::services::reports::judge(&cal, &mut next, class, total.as_ref());
    }
    if let Some(k) = &clocks {
        let s = k.summary();
        next.due_at = s.due_at;
        next.total_due_at = s.total_due_at;
        next.provisional_deadline = s.provisional;
    }
    let mut am = case::ActiveModel::from(next.clone()).reset_all();
    am.id = ActiveValue::NotSet;
    let res = case::Entity::update_many()
        .set(am)
        .filter(case::Column::Id.eq(c.id))
        .filter(case::Column::Version.eq(c.version))
        .exec(txn)
        .await?;
    if res.rows_affected != 1 {
        return Err(stale());
    }
    if let Some(k) = clocks {
        k.save(txn).await?;
    }
    // What the event and the view need is read before the effects (the
    // case's lock is held since its update): a document's number locks its
    // sequence row until the transaction ends, so little should follow it.
    let (mut events, last_event, documents_before) = if keep {
        let events = view::events_with_actors(txn, c.id).await?;
        (events, None, crate::services::documents::rows_of_case(txn, c.id).await?)
    } else {
        (Vec::new(), audit::last_events(txn, [c.id]).await?.remove(&c.id), Vec::new())
    };

    let mut ctx = Ctx {
        state,
        case: &next,
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
        new_due,
        parties: None,
        wanted: decision
            .effects
            .iter()
            .flat_map(|e| match e {
                Effect::Notify { to, .. } => to.clone(),
                _ => Vec::new(),
            })
            .collect(),
        addressed: Default::default(),
        queued: Default::default(),
        documents: Vec::new(),
    };
    for effect in &decision.effects {
        effects::apply(txn, &mut ctx, effect).await?;
    }
    std::mem::take(&mut ctx.queued).flush(txn).await?;
    let issued = std::mem::take(&mut ctx.documents);

    let mut inputs = json!({
        "outcome": req.outcome,
        "effects": decision.effects.iter().map(|e| e.kind()).collect::<Vec<_>>(),
    });
    if let Some(list) = &items {
        inputs["missing_materials"] = json!(facts.missing_materials);
        inputs["missing_items"] = json!(list);
    }
    if has(&Effect::RouteToDepartment) {
        inputs["department_id"] = json!(next.department_id);
        if next.department_id != c.department_id {
            inputs["previous_department_id"] = json!(c.department_id);
        }
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
    // The case row is locked by the write above: the chain grows one event at
    // a time. With `keep` the whole chain was read (the view shows it), else
    // its last event only.
    let event = audit::NewEvent {
        case_id: c.id,
        actor_user_id: user.map(|u| u.id),
        actor_role: role.as_str(),
        action,
        from_state: Some(&decision.from),
        to_state: &decision.to,
        comment: req.comment(),
        inputs,
        at: now,
    };
    if keep {
        let appended = audit::append_after(txn, events.last().map(|(e, _)| e), event).await?;
        events.push((appended, user.map(|u| u.display_name.clone())));
    } else {
        audit::append_after(txn, last_event.as_ref(), event).await?;
    }
    if decision.terminal {
        // Counted for the reports as the transaction's last write: the
        // counter row is shared by the day's closings, its lock held briefly.
        crate::services::reports::count_closure(txn, &c, &next).await?;
    }
    tracing::info!(case = c.id, action, from = %decision.from, to = %decision.to, "case transition");
    let held = if keep {
        let parties = match ctx.parties.take() {
            Some(p) => p,
            None => Parties::load(txn, &next).await?,
        };
        Some(view::Held {
            def: def.clone(),
            record: ctx.record,
            subject_code: parties.subject_code,
            subject_name: parties.subject_name,
            department_name: parties.department_name.unwrap_or_default(),
            attachments,
            documents: Some(documents_before.into_iter().chain(issued.into_iter().map(|d| d.row)).collect()),
            events,
        })
    } else {
        None
    };
    Ok((next, held))
}
