//! Departments: the producing departments and the credit office.

use sea_orm::{ActiveModelTrait, ConnectionTrait, EntityTrait, QueryOrder, Set};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{check_email, require, unique_or};
use crate::error::{ApiError, ApiResult, FieldError};
use crate::state::AppState;
use entity::department;
use entity::types::DepartmentKind;

#[derive(Debug, Serialize, ToSchema)]
pub struct DepartmentView {
    pub id: i64,
    pub code: String,
    pub name: String,
    pub kind: DepartmentKind,
    pub email: Option<String>,
}

impl From<department::Model> for DepartmentView {
    fn from(d: department::Model) -> Self {
        DepartmentView { id: d.id, code: d.code, name: d.name, kind: d.kind, email: d.email }
    }
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DepartmentInput {
    pub code: Option<String>,
    pub name: Option<String>,
    pub kind: Option<String>,
    pub email: Option<String>,
}

pub async fn create_department(state: &AppState, input: DepartmentInput) -> ApiResult<DepartmentView> {
    let mut errs = Vec::new();
    let code = require(&input.code, "code", "单位编码").map_err(|e| errs.push(e)).ok();
    let name = require(&input.name, "name", "单位名称").map_err(|e| errs.push(e)).ok();
    let kind = match input.kind.as_deref().map(str::parse::<DepartmentKind>) {
        None => DepartmentKind::Producing,
        Some(Ok(k)) => k,
        Some(Err(_)) => {
            errs.push(FieldError::new("kind", "invalid_value", "单位类型须为 producing 或 credit_office"));
            DepartmentKind::Producing
        }
    };
    check_email(&input.email, "email", &mut errs);
    if !errs.is_empty() {
        return Err(ApiError::Validation(errs));
    }
    let m = department::ActiveModel {
        code: Set(code.unwrap_or_default().to_string()),
        name: Set(name.unwrap_or_default().to_string()),
        kind: Set(kind),
        email: Set(input.email.filter(|e| !e.is_empty())),
        created_at: Set(state.clock.now()),
        ..Default::default()
    }
    .insert(&state.db)
    .await
    .map_err(|e| unique_or(e, "department_code_taken", "单位编码已存在"))?;
    Ok(m.into())
}

pub async fn update_department(state: &AppState, id: i64, input: DepartmentInput) -> ApiResult<DepartmentView> {
    let d = department::Entity::find_by_id(id).one(&state.db).await?.ok_or_else(|| ApiError::not_found("单位"))?;
    let mut errs = Vec::new();
    check_email(&input.email, "email", &mut errs);
    if input.kind.is_some() {
        errs.push(FieldError::new("kind", "immutable", "单位类型创建后不可修改"));
    }
    if !errs.is_empty() {
        return Err(ApiError::Validation(errs));
    }
    let mut am: department::ActiveModel = d.into();
    if let Some(c) = input.code.filter(|s| !s.trim().is_empty()) {
        am.code = Set(c.trim().to_string());
    }
    if let Some(n) = input.name.filter(|s| !s.trim().is_empty()) {
        am.name = Set(n.trim().to_string());
    }
    if let Some(e) = input.email {
        am.email = Set((!e.is_empty()).then_some(e));
    }
    Ok(am.update(&state.db).await.map_err(|e| unique_or(e, "department_code_taken", "单位编码已存在"))?.into())
}

pub async fn list_departments<C: ConnectionTrait>(db: &C) -> ApiResult<Vec<DepartmentView>> {
    Ok(department::Entity::find()
        .order_by_asc(department::Column::Id)
        .all(db)
        .await?
        .into_iter()
        .map(Into::into)
        .collect())
}
