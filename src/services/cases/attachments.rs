//! Attachments: checked by content (PDF, PNG, JPEG), stored under their
//! SHA-256 in the data directory, never under the client's file name.

use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, Set};

use super::{audit, find_in_scope, now_micros};
use crate::auth::AuthUser;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use crate::workflow::Role;
use entity::attachment;
use entity::types::AttachmentKind;

/// The content type of a file judged by its first bytes; None when it is
/// not an accepted type.
pub fn sniff(bytes: &[u8]) -> Option<(&'static str, &'static str)> {
    if bytes.starts_with(b"%PDF-") {
        Some(("application/pdf", "pdf"))
    } else if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some(("image/png", "png"))
    } else if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some(("image/jpeg", "jpg"))
    } else {
        None
    }
}

/// A file name safe to keep as metadata (never used as a path).
fn clean_name(name: Option<&str>) -> String {
    let base = name.unwrap_or("").rsplit(['/', '\\']).next().unwrap_or("");
    let cleaned: String = base.chars().filter(|c| !c.is_control()).take(120).collect();
    if cleaned.trim().is_empty() { "file".into() } else { cleaned }
}

/// Stores an uploaded file for a case the caller may see. The applicant may
/// add materials while the case is open; officers in scope may add evidence
/// (the route admits no administrator).
pub async fn upload(
    state: &AppState,
    user: &AuthUser,
    case_id: i64,
    kind: &str,
    file_name: Option<&str>,
    bytes: Vec<u8>,
) -> ApiResult<attachment::Model> {
    let c = find_in_scope(&state.db, user, case_id).await?;
    let Ok(kind) = kind.parse::<AttachmentKind>() else {
        return Err(ApiError::field(
            "kind",
            "invalid_value",
            "材料类型须为 fulfilment_proof、commitment_letter、evidence 或 other",
        ));
    };
    if c.closed_at.is_some() {
        return Err(ApiError::conflict("case_closed", "案件已办结，不能再上传材料"));
    }
    // The applicant's own materials come from the applicant; officers add evidence.
    if user.role != Role::Applicant && kind.applicant_only() {
        return Err(ApiError::field("kind", "applicant_material", "履行完毕证明和信用承诺书须由申请人提交"));
    }
    if bytes.is_empty() {
        return Err(ApiError::field("file", "empty_file", "上传的文件为空"));
    }
    let Some((content_type, _ext)) = sniff(&bytes) else {
        return Err(ApiError::UnsupportedMediaType);
    };
    let sha = crate::services::blobs::put(&state.settings.data_dir, &bytes).await?;
    let now = now_micros(state);
    let txn = sea_orm::TransactionTrait::begin(&state.db).await?;
    let a = attachment::ActiveModel {
        case_id: Set(c.id),
        kind: Set(kind),
        sha256: Set(sha.clone()),
        size: Set(bytes.len() as i64),
        content_type: Set(content_type.into()),
        file_name: Set(clean_name(file_name)),
        uploaded_by: Set(user.id),
        created_at: Set(now),
        ..Default::default()
    }
    .insert(&txn)
    .await?;
    audit::lock_case(&txn, c.id).await?;
    audit::append(
        &txn,
        audit::NewEvent {
            case_id: c.id,
            actor_user_id: Some(user.id),
            actor_role: user.role.as_str(),
            action: "attach",
            from_state: Some(&c.state),
            to_state: &c.state,
            comment: None,
            inputs: serde_json::json!({"attachment_id": a.id, "kind": kind, "sha256": sha, "size": a.size}),
            at: now,
        },
    )
    .await?;
    txn.commit().await?;
    Ok(a)
}

/// An attachment's bytes, if the caller may see the case.
pub async fn download(
    state: &AppState,
    user: &AuthUser,
    case_id: i64,
    id: i64,
) -> ApiResult<(attachment::Model, Vec<u8>)> {
    find_in_scope(&state.db, user, case_id).await?;
    let a = attachment::Entity::find_by_id(id)
        .filter(attachment::Column::CaseId.eq(case_id))
        .one(&state.db)
        .await?
        .ok_or_else(|| ApiError::not_found("材料"))?;
    let bytes = crate::services::blobs::get(&state.settings.data_dir, &a.sha256).await?;
    Ok((a, bytes))
}
