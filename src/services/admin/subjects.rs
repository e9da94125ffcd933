//! Credit subjects, registered by USCC or (natural persons) resident ID.

use sea_orm::{ActiveModelTrait, ConnectionTrait, EntityTrait, QueryOrder, Set};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{require, unique_or};
use crate::domain::identity::check_subject_code;
use crate::error::{ApiError, ApiResult, FieldError};
use crate::state::AppState;
use entity::subject;
use entity::types::SubjectKind;

#[derive(Debug, Serialize, ToSchema)]
pub struct SubjectView {
    pub id: i64,
    pub code: String,
    pub name: String,
    pub kind: SubjectKind,
    /// The code failed the GB 32100 check and an administrator accepted it.
    pub check_overridden: bool,
}

impl From<subject::Model> for SubjectView {
    fn from(s: subject::Model) -> Self {
        SubjectView { id: s.id, code: s.code, name: s.name, kind: s.kind, check_overridden: s.check_overridden }
    }
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SubjectInput {
    pub code: Option<String>,
    pub name: Option<String>,
    pub kind: Option<String>,
    /// Accept a code whose check character does not match (some legitimate
    /// early codes fail the check).
    #[serde(default)]
    pub override_check: bool,
}

pub async fn create_subject(state: &AppState, input: SubjectInput) -> ApiResult<SubjectView> {
    let mut errs = Vec::new();
    let name = require(&input.name, "name", "主体名称").map_err(|e| errs.push(e)).ok().map(str::to_string);
    let kind = match input.kind.as_deref().map(str::parse::<SubjectKind>) {
        None => SubjectKind::LegalPerson,
        Some(Ok(k)) => k,
        Some(Err(_)) => {
            errs.push(FieldError::new("kind", "invalid_value", "主体类型取值无效"));
            SubjectKind::LegalPerson
        }
    };
    let raw = require(&input.code, "code", "统一社会信用代码").map_err(|e| errs.push(e)).ok().map(|s| s.to_uppercase());
    let mut overridden = false;
    let mut code = None;
    if let Some(raw) = raw {
        match check_subject_code(kind == SubjectKind::NaturalPerson, &raw, input.override_check) {
            Ok((c, o)) => {
                code = Some(c);
                overridden = o;
            }
            Err(e) if e.is_check_failure() => errs.push(FieldError::new(
                "code",
                e.code(),
                format!("{e}；如确认代码无误，请设置 override_check 后重新提交"),
            )),
            Err(e) => errs.push(FieldError::new("code", e.code(), e.to_string())),
        }
    }
    if !errs.is_empty() {
        return Err(ApiError::Validation(errs));
    }
    let m = subject::ActiveModel {
        code: Set(code.unwrap_or_default()),
        name: Set(name.unwrap_or_default()),
        kind: Set(kind),
        check_overridden: Set(overridden),
        created_at: Set(state.clock.now()),
        ..Default::default()
    }
    .insert(&state.db)
    .await
    .map_err(|e| unique_or(e, "subject_code_taken", "该统一社会信用代码已登记"))?;
    Ok(m.into())
}

pub async fn update_subject(state: &AppState, id: i64, input: SubjectInput) -> ApiResult<SubjectView> {
    let s = subject::Entity::find_by_id(id).one(&state.db).await?.ok_or_else(|| ApiError::not_found("信用主体"))?;
    if input.code.is_some() || input.kind.is_some() {
        return Err(ApiError::field("code", "immutable", "统一社会信用代码和主体类型登记后不可修改"));
    }
    let mut am: subject::ActiveModel = s.into();
    if let Some(n) = input.name.filter(|n| !n.trim().is_empty()) {
        am.name = Set(n.trim().to_string());
    }
    Ok(am.update(&state.db).await?.into())
}

pub async fn list_subjects<C: ConnectionTrait>(db: &C) -> ApiResult<Vec<SubjectView>> {
    Ok(subject::Entity::find().order_by_asc(subject::Column::Id).all(db).await?.into_iter().map(Into::into).collect())
}
