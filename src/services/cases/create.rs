//! Filing a case: scope, repair eligibility, idempotency, the first event,
//! deadlines and the receipt notification, all in one transaction.

use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, Set, TransactionTrait};
use serde::Deserialize;
use serde_json::json;
use sha2::{Digest, Sha256};
use utoipa::ToSchema;

use super::deadlines::Clocks;
use super::notice::{self, Parties};
use super::{audit, now_micros, view};
use crate::auth::AuthUser;
use crate::domain::filing::{ContestedCase, check_grounds};
use crate::domain::period::{RecordStanding, RepairEligibility, repair_eligibility};
use crate::domain::samr::samr_repair_refusal;
use crate::error::{ApiError, ApiResult, is_unique_violation};
use crate::state::AppState;
use crate::workflow::Recipient;
use entity::types::{CaseKind, ObjectionGrounds, PublicationStatus};
use entity::{case, idempotency_key, record};

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateCase {
    /// `objection` or `repair`
    pub kind: String,
    pub record_id: i64,
    /// The applicant's grounds (objection) or statement of fulfilment (repair).
    pub reason: String,
    /// An objection's grounds (required for objections): `wrong_identity`,
    /// `wrong_content`, `past_period`, `decision_revoked`,
    /// `repair_decision` (contests a repair case's decision), `other`.
    pub grounds: Option<String>,
    /// With grounds `repair_decision`: the denied or revoked repair case.
    pub objects_to_case_id: Option<i64>,
    /// A market-regulation record's repair in registration mode: SAMR's
    /// decision number (the decision itself is uploaded as material).
    pub samr_decision_no: Option<String>,
}

fn request_hash(r: &CreateCase) -> String {
    let text = format!(
        "{}\n{}\n{}\n{}\n{}\n{}",
        r.kind,
        r.record_id,
        r.reason.trim(),
        r.grounds.as_deref().unwrap_or(""),
        r.objects_to_case_id.map(|i| i.to_string()).unwrap_or_default(),
        r.samr_decision_no.as_deref().map(str::trim).unwrap_or("")
    );
    hex::encode(Sha256::digest(text.as_bytes()))
}

async fn replay(state: &AppState, user: &AuthUser, key: &str, hash: &str) -> ApiResult<Option<view::CaseView>> {
    let Some(k) = idempotency_key::Entity::find()
        .filter(idempotency_key::Column::UserId.eq(user.id))
        .filter(idempotency_key::Column::Key.eq(key))
        .one(&state.db)
        .await?
    else {
        return Ok(None);
    };
    if k.request_hash != hash {
        return Err(ApiError::unprocessable(
            "idempotency_key_reused",
            "该 Idempotency-Key 已用于内容不同的申请，请使用新的键值",
        ));
    }
    let c = case::Entity::find_by_id(k.case_id).one(&state.db).await?.ok_or_else(|| ApiError::not_found("案件"))?;
    Ok(Some(view::build(state, &state.db, Some(user), c).await?))
}

/// Files a case. Returns the case and whether it was created now (false: an
/// idempotent retry answered with the case created before).
pub async fn create(
    state: &AppState,
    user: &AuthUser,
    req: CreateCase,
    idempotency_key: Option<String>,
) -> ApiResult<(view::CaseView, bool)> {
    let kind: CaseKind = req
        .kind
        .parse()
        .map_err(|_| ApiError::field("kind", "invalid_value", "申请类型须为 objection（异议）或 repair（信用修复）"))?;
    let Some(def) = state.workflows.current(kind.as_str()) else {
        return Err(anyhow::anyhow!("no workflow for {kind}").into());
    };
    let reason = req.reason.trim();
    if reason.is_empty() || reason.chars().count() > 2000 {
        return Err(ApiError::field("reason", "invalid_length", "申请理由不能为空，且不超过 2000 字"));
    }
    if let Some(k) = &idempotency_key
        && (k.is_empty() || k.len() > 128 || !k.chars().all(|c| c.is_ascii_graphic()))
    {
        return Err(ApiError::bad_request(
            "invalid_idempotency_key",
            "Idempotency-Key 须为 1 至 128 个可见 ASCII 字符",
        ));
    }
    let hash = request_hash(&req);
    if let Some(k) = &idempotency_key
        && let Some(existing) = replay(state, user, k, &hash).await?
    {
        return Ok((existing, false));
    }

    // An applicant's scope is its own subject's records.
    let rec = crate::services::records::find_in_scope(&state.db, user, req.record_id).await?;
    let today = state.clock.today();
    let now = now_micros(state);
    if rec.deleted {
        return Err(ApiError::unprocessable("record_deleted", "该信用信息已删除，无需申请"));
    }
    let grounds = check_filing_grounds(state, user, &req, kind, &rec).await?;
    let samr_decision_no = req.samr_decision_no.as_deref().map(str::trim).filter(|s| !s.is_empty());
    if samr_decision_no.is_some_and(|s| s.chars().count() > 100) {
        return Err(ApiError::field("samr_decision_no", "invalid_length", "决定书文号不超过 100 字"));
    }
    if kind == CaseKind::Repair {
        if let Some(r) = samr_repair_refusal(&state.settings.samr, rec.source, samr_decision_no) {
            return Err(match r.field() {
                Some(field) => ApiError::field(field, r.code(), r.message_zh()),
                None => ApiError::unprocessable(r.code(), r.message_zh())
                    .with_details(json!({"system_url": state.settings.samr.system_url})),
            });
        }
        check_repair_eligibility(state, &rec, today, now).await?;
    } else if samr_decision_no.is_some() {
        return Err(ApiError::field("samr_decision_no", "not_applicable", "异议申请无需填写信用修复决定书文号"));
    }

    let txn = state.db.begin().await?;
    if kind == CaseKind::Repair {
        // Hold the record as published until commit: a publication end (the
        // scheduler, another replica) cannot slip between the check and the insert.
        let held = record::Entity::update_many()
            .col_expr(record::Column::Version, sea_orm::sea_query::Expr::col(record::Column::Version))
            .filter(record::Column::Id.eq(rec.id))
            .filter(record::Column::PublicationStatus.eq(PublicationStatus::Published))
            .exec(&txn)
            .await?;
        if held.rows_affected != 1 {
            return Err(ApiError::unprocessable("publication_already_ended", "该信息已终止公示，无需申请信用修复"));
        }
    }
    if let Some(open) = case::Entity::find().filter(case::Column::OpenRecordKey.eq(rec.id)).one(&txn).await? {
        drop(txn);
        // A concurrent retry with the same key may have committed meanwhile.
        if let Some(k) = idempotency_key.as_deref()
            && let Some(v) = replay(state, user, k, &hash).await?
        {
            return Ok((v, false));
        }
        return Err(already_open(&open.case_no));
    }
    let initial = def.state(&def.initial).ok_or_else(|| anyhow::anyhow!("initial state missing"))?;
    let inserted = case::ActiveModel {
        case_no: Set(format!("pending-{}", uuid::Uuid::new_v4().simple())),
        kind: Set(kind),
        state: Set(def.initial.clone()),
        version: Set(1),
        record_id: Set(rec.id),
        subject_id: Set(rec.subject_id),
        department_id: Set(rec.department_id),
        applicant_user_id: Set(user.id),
        reason: Set(reason.to_string()),
        outcome: Set(None),
        workflow_id: Set(def.id.clone()),
        workflow_version: Set(def.version as i32),
        workflow_hash: Set(def.hash.clone()),
        extension_used: Set(false),
        due_at: Set(None),
        total_due_at: Set(None),
        overdue: Set(false),
        provisional_deadline: Set(false),
        last_urged_on: Set(None),
        open_record_key: Set(Some(rec.id)),
        result: Set(None),
        received_at: Set(now),
        routed_at: Set(None),
        closed_at: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
        grounds: Set(grounds),
        objects_to_case_id: Set(req.objects_to_case_id),
        supplement_items: Set(None),
        extension_requested_by: Set(None),
        extension_reason: Set(None),
        external_decision_no: Set(samr_decision_no.map(str::to_string)),
        ..Default::default()
    }
    .insert(&txn)
    .await;
    let c = match inserted {
        Ok(c) => c,
        Err(e) if is_unique_violation(&e) => {
            drop(txn);
            return match idempotency_key.as_deref() {
                Some(k) => match replay(state, user, k, &hash).await? {
                    Some(v) => Ok((v, false)),
                    None => Err(already_open("")),
                },
                None => Err(already_open("")),
            };
        }
        Err(e) => return Err(e.into()),
    };
    let case_no = format!("{}{}{:06}", kind.case_no_prefix(), today.format("%Y"), c.id);
    let cal = state.calendar();
    let mut clocks = Clocks::empty(c.id);
    let step_due = clocks.start_step(&cal, &def.initial, initial.deadline_working_days.unwrap_or(1), today, now)?;
    clocks.start_total(&cal, &def.initial, def.total_working_days, today, now)?;
    let due = clocks.summary();
    let mut am: case::ActiveModel = c.clone().into();
    am.case_no = Set(case_no.clone());
    am.due_at = Set(due.due_at);
    am.total_due_at = Set(due.total_due_at);
    am.provisional_deadline = Set(due.provisional);
    let c = am.update(&txn).await?;
    clocks.save(&txn).await?;
    if let Some(k) = &idempotency_key {
        let res = idempotency_key::ActiveModel {
            user_id: Set(user.id),
            key: Set(k.clone()),
            request_hash: Set(hash.clone()),
            case_id: Set(c.id),
            created_at: Set(now),
            ..Default::default()
        }
        .insert(&txn)
        .await;
        if let Err(e) = res {
            drop(txn);
            if is_unique_violation(&e)
                && let Some(v) = replay(state, user, k, &hash).await?
            {
                return Ok((v, false));
            }
            return Err(e.into());
        }
    }
    audit::append(
        &txn,
        audit::NewEvent {
            case_id: c.id,
            actor_user_id: Some(user.id),
            actor_role: user.role.as_str(),
            action: "submit",
            from_state: None,
            to_state: &def.initial,
            comment: Some(reason),
            inputs: json!({
                "kind": kind, "record_id": rec.id, "grounds": grounds,
                "objects_to_case_id": req.objects_to_case_id, "samr_decision_no": samr_decision_no,
                "workflow": {"id": def.id, "version": def.version, "hash": def.hash},
            }),
            at: now,
        },
    )
    .await?;
    let parties = Parties::load(&txn, &c).await?;
    let ctx = notice::context(state, &c, &def, Some(&rec), &parties, Some(step_due));
    notice::queue(&txn, state, &c, "case_received", &ctx, &[Recipient::Applicant, Recipient::CreditOffice], now)
        .await?;
    txn.commit().await?;
    Ok((view::build(state, &state.db, Some(user), c).await?, true))
}

/// An objection's grounds and the repair case it contests (the rule is
/// `domain::filing::check_grounds`); a repair takes neither.
async fn check_filing_grounds(
    state: &AppState,
    user: &AuthUser,
    req: &CreateCase,
    kind: CaseKind,
    rec: &record::Model,
) -> ApiResult<Option<ObjectionGrounds>> {
    let given = req.grounds.as_deref().map(str::trim).filter(|g| !g.is_empty());
    let grounds = given.and_then(|g| g.parse::<ObjectionGrounds>().ok());
    let contested_row = match req.objects_to_case_id {
        // Only a case in the applicant's own scope can be named.
        Some(id) => match super::find_in_scope(&state.db, user, id).await {
            Ok(c) => Some(Some(c)),
            Err(ApiError::NotFound { .. }) => Some(None),
            Err(e) => return Err(e),
        },
        None => None,
    };
    let contested = contested_row.as_ref().map(|row| {
        row.as_ref().map(|c| ContestedCase {
            kind: c.kind,
            record_id: c.record_id,
            subject_id: c.subject_id,
            state: c.state.as_str(),
        })
    });
    check_grounds(kind, given.is_some(), grounds, contested, rec.id, rec.subject_id)
        .map_err(|r| ApiError::field(r.field, r.code, r.message))?;
    Ok(grounds)
}

fn already_open(case_no: &str) -> ApiError {
    ApiError::unprocessable("case_already_open", "该信用信息已有正在办理的申请，请勿重复提交")
        .with_details(json!({"open_case_no": case_no}))
}

/// The configured repeat-application limits and the bar's scope
/// (`domain::repair_policy::repeat_refusal`); nothing is read when they are off.
async fn check_repeat_limits(state: &AppState, rec: &record::Model, today: chrono::NaiveDate) -> ApiResult<()> {
    use crate::domain::repair_policy::{BarScope, repeat_refusal};
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QuerySelect};
    let policy = &state.settings.repair_policy;
    if *policy == Default::default() {
        return Ok(());
    }
    let approved_on: Vec<chrono::NaiveDate> =
        if policy.min_months_between_repairs.is_some() || policy.max_repairs_in_five_years.is_some() {
            // Approved repairs of the subject (a revoked one was approved too).
            let closed: Vec<Option<chrono::DateTime<chrono::Utc>>> = entity::case::Entity::find()
                .select_only()
                .column(entity::case::Column::ClosedAt)
                .filter(entity::case::Column::SubjectId.eq(rec.subject_id))
                .filter(entity::case::Column::Kind.eq(entity::types::CaseKind::Repair))
                .filter(entity::case::Column::State.is_in(["completed", "revoked"]))
                .into_tuple()
                .all(&state.db)
                .await?;
            closed.into_iter().flatten().map(crate::clock::local_date).collect()
        } else {
            Vec::new()
        };
    let subject_bar = if policy.bar_scope == BarScope::Subject {
        let bars: Vec<Option<chrono::NaiveDate>> = record::Entity::find()
            .select_only()
            .column(record::Column::RepairBarredUntil)
            .filter(record::Column::SubjectId.eq(rec.subject_id))
            .into_tuple()
            .all(&state.db)
            .await?;
        bars.into_iter().flatten().max()
    } else {
        None
    };
    match repeat_refusal(policy, &approved_on, subject_bar, today) {
        None => Ok(()),
        Some(r) => Err(ApiError::unprocessable(r.code(), r.message_zh())),
    }
}

/// Part A.4 intake checks (the rule is `domain::period::repair_eligibility`).
/// A record past its publication end is taken down here and then (in the
/// same way the scheduler would).
async fn check_repair_eligibility(
    state: &AppState,
    rec: &record::Model,
    today: chrono::NaiveDate,
    now: chrono::DateTime<chrono::Utc>,
) -> ApiResult<()> {
    let e = repair_eligibility(&RecordStanding::from(rec), today, state.settings.publication.publication_end);
    if e == RepairEligibility::Open {
        check_repeat_limits(state, rec, today).await?;
    }
    let refuse = || ApiError::unprocessable(e.code(), e.message_zh(&rec.display_category));
    match e {
        RepairEligibility::Open => Ok(()),
        RepairEligibility::Deleted | RepairEligibility::NotPublished | RepairEligibility::PublicationEnded => {
            Err(refuse())
        }
        RepairEligibility::NotRepairable { ends } => Err(refuse().with_details(json!({"publication_ends": ends}))),
        RepairEligibility::Barred { until } => Err(refuse().with_details(json!({"barred_until": until}))),
        RepairEligibility::PeriodOver { ends } => {
            let txn = state.db.begin().await?;
            super::expiry::expire_record(state, &txn, rec.clone(), today, now).await?;
            txn.commit().await?;
            Err(ApiError::unprocessable(
                e.code(),
                format!("该信息最长公示期已于 {ends} 届满，系统已自动终止公示，无需申请信用修复"),
            )
            .with_details(json!({"publication_ends": ends, "publication_status": "ended"})))
        }
        RepairEligibility::TooEarly { from } => Err(refuse().with_details(json!({"repairable_from": from}))),
    }
}
