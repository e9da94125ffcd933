//! Withdrawal of a record whose decision was revoked or changed (Shandong
//! Art. 40, 行政处罚法 Art. 48), outside any case: the producing department
//! (its own records) or the credit office withdraws it with a reason and the
//! revoking document. In one transaction the record is marked withdrawn
//! (deleted) and its publication, list memberships and sanctions end, open
//! cases on it close with the reason, the subject is told and the change is
//! queued for the downstream platforms; the record's history holds it all.

use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, TransactionTrait};
use serde::Deserialize;
use serde_json::json;
use utoipa::ToSchema;

use crate::auth::AuthUser;
use crate::error::{ApiError, ApiResult, FieldError};
use crate::services::cases::act::transition_in;
use crate::services::cases::input::ActionRequest;
use crate::services::publication::{self, Actor};
use crate::services::{outbox, records};
use crate::state::AppState;
use crate::workflow::Role;
use entity::types::PublicationStatus;
use entity::{case, department, record};

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WithdrawInput {
    /// Why the record is withdrawn (shown to the subject).
    pub reason: Option<String>,
    /// The document that revoked or changed the decision (e.g. 复议决定书、判决书、撤销决定书 and its number).
    pub revoking_document_no: Option<String>,
    /// The record's version as the caller saw it (optional; a stale one is 409).
    pub version: Option<i32>,
}

fn text(v: &Option<String>, field: &'static str, label: &str, max: usize, errs: &mut Vec<FieldError>) -> String {
    let t = v.as_deref().map(str::trim).unwrap_or_default();
    if t.is_empty() {
        errs.push(FieldError::new(field, "required", format!("{label}不能为空")));
    } else if t.chars().count() > max {
        errs.push(FieldError::new(field, "too_long", format!("{label}不能超过 {max} 个字符")));
    }
    t.to_string()
}

pub async fn withdraw(
    state: &AppState,
    user: &AuthUser,
    record_id: i64,
    input: WithdrawInput,
) -> ApiResult<records::RecordView> {
    let mut errs = Vec::new();
    let reason = text(&input.reason, "reason", "撤回理由", 500, &mut errs);
    let document = text(&input.revoking_document_no, "revoking_document_no", "撤销或变更决定的文书", 100, &mut errs);
    if !errs.is_empty() {
        return Err(ApiError::Validation(errs));
    }
    let now = state.clock.now();
    let txn = state.db.begin().await?;
    let rec = records::find_in_scope(&txn, user, record_id).await?;
    if rec.deleted {
        return Err(ApiError::conflict("record_already_withdrawn", "该信息已撤回或删除"));
    }
    if let Some(v) = input.version
        && v != rec.version
    {
        return Err(ApiError::conflict("stale_version", "该信息已被他人修改，请刷新后重试"));
    }
    let end_reason = format!("原决定已撤销或变更（{document}），依法撤回：{reason}");
    let was_published = rec.publication_status == PublicationStatus::Published;
    // A conditional write: of two withdrawals at once, one wins.
    let res = record::Entity::update_many()
        .col_expr(record::Column::Deleted, sea_orm::sea_query::Expr::value(true))
        .col_expr(record::Column::Version, sea_orm::sea_query::Expr::value(rec.version + 1))
        .col_expr(record::Column::UpdatedAt, sea_orm::sea_query::Expr::value(now))
        .filter(record::Column::Id.eq(rec.id))
        .filter(record::Column::Version.eq(rec.version))
        .exec(&txn)
        .await?;
    if res.rows_affected != 1 {
        return Err(ApiError::conflict("stale_version", "该信息已被他人修改，请刷新后重试"));
    }
    let mut rec = record::Entity::find_by_id(rec.id).one(&txn).await?.ok_or_else(|| ApiError::not_found("信用信息"))?;
    if was_published {
        rec = publication::end_publication(&txn, rec, &end_reason, now).await?;
    }
    let actor = Actor { user_id: Some(user.id), role: user.role.as_str() };
    let lists = publication::end_lists(&txn, rec.id, &end_reason, None, now).await?;
    let sanctions = publication::end_sanctions(&txn, rec.id, None, actor, &end_reason, None, now).await?;
    // Open cases on the record have nothing left to decide.
    let open = case::Entity::find()
        .filter(case::Column::RecordId.eq(rec.id))
        .filter(case::Column::ClosedAt.is_null())
        .order_by_asc(case::Column::Id)
        .all(&txn)
        .await?;
    let mut closed = Vec::new();
    for c in open {
        let req = ActionRequest::system(&format!("该信息已依法撤回，本申请终止办理。{end_reason}"));
        let done = transition_in(state, &txn, None, Role::System, c.id, "record_withdrawn", req).await?;
        closed.push(done.case_no);
    }
    let rec = record::Entity::find_by_id(rec.id).one(&txn).await?.ok_or_else(|| ApiError::not_found("信用信息"))?;
    let detail = json!({
        "reason": reason, "revoking_document_no": document, "was_published": was_published,
        "ended_lists": lists, "ended_sanctions": sanctions, "closed_cases": closed,
    });
    publication::record_event(&txn, rec.id, actor, "record_withdrawn", detail, now).await?;
    let department_name =
        department::Entity::find_by_id(rec.department_id).one(&txn).await?.map(|d| d.name).unwrap_or_default();
    let extra = json!({"revoking_document_no": document, "reason": reason, "department_name": department_name});
    outbox::notify_subject(&txn, &state.templates, "record_withdrawn", &rec, extra, now).await?;
    let subject_code =
        entity::subject::Entity::find_by_id(rec.subject_id).one(&txn).await?.map(|s| s.code).unwrap_or_default();
    let payload = json!({
        "action": "record:withdrawn", "subject_code": subject_code, "record_id": rec.id, "document_no": rec.document_no,
        "publication_status": rec.publication_status, "deleted": true, "revoking_document_no": document,
        "ended_lists": lists, "ended_sanctions": sanctions, "at": now,
    });
    outbox::queue_sync(&txn, &payload, None, format!("sync:record:{}:v{}", rec.id, rec.version), now).await?;
    txn.commit().await?;
    records::view_by_id(&state.db, rec.id).await
}
