//! The catalogue of joint sanction measures (联合惩戒措施).

use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, Set,
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{require, unique_or};
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use entity::{measure, sanction};

#[derive(Debug, Serialize, ToSchema)]
pub struct MeasureView {
    pub id: i64,
    pub name: String,
    pub legal_basis: String,
    pub implementing_department: String,
}

impl From<measure::Model> for MeasureView {
    fn from(m: measure::Model) -> Self {
        MeasureView {
            id: m.id,
            name: m.name,
            legal_basis: m.legal_basis,
            implementing_department: m.implementing_department,
        }
    }
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MeasureInput {
    pub name: Option<String>,
    pub legal_basis: Option<String>,
    pub implementing_department: Option<String>,
}

pub async fn create_measure(state: &AppState, input: MeasureInput) -> ApiResult<MeasureView> {
    let mut errs = Vec::new();
    let name = require(&input.name, "name", "措施名称").map_err(|e| errs.push(e)).ok().map(str::to_string);
    let basis =
        require(&input.legal_basis, "legal_basis", "法律依据").map_err(|e| errs.push(e)).ok().map(str::to_string);
    let dept = require(&input.implementing_department, "implementing_department", "实施部门")
        .map_err(|e| errs.push(e))
        .ok()
        .map(str::to_string);
    if !errs.is_empty() {
        return Err(ApiError::Validation(errs));
    }
    let m = measure::ActiveModel {
        name: Set(name.unwrap_or_default()),
        legal_basis: Set(basis.unwrap_or_default()),
        implementing_department: Set(dept.unwrap_or_default()),
        created_at: Set(state.clock.now()),
        ..Default::default()
    }
    .insert(&state.db)
    .await
    .map_err(|e| unique_or(e, "measure_name_taken", "同名惩戒措施已存在"))?;
    Ok(m.into())
}

pub async fn update_measure(state: &AppState, id: i64, input: MeasureInput) -> ApiResult<MeasureView> {
    let m = measure::Entity::find_by_id(id).one(&state.db).await?.ok_or_else(|| ApiError::not_found("惩戒措施"))?;
    let mut am: measure::ActiveModel = m.into();
    if let Some(v) = input.name.filter(|s| !s.trim().is_empty()) {
        am.name = Set(v);
    }
    if let Some(v) = input.legal_basis.filter(|s| !s.trim().is_empty()) {
        am.legal_basis = Set(v);
    }
    if let Some(v) = input.implementing_department.filter(|s| !s.trim().is_empty()) {
        am.implementing_department = Set(v);
    }
    Ok(am.update(&state.db).await.map_err(|e| unique_or(e, "measure_name_taken", "同名惩戒措施已存在"))?.into())
}

pub async fn delete_measure(state: &AppState, id: i64) -> ApiResult<()> {
    let m = measure::Entity::find_by_id(id).one(&state.db).await?.ok_or_else(|| ApiError::not_found("惩戒措施"))?;
    let used = sanction::Entity::find().filter(sanction::Column::MeasureId.eq(id)).count(&state.db).await?;
    if used > 0 {
        return Err(ApiError::conflict("measure_in_use", "该惩戒措施已被使用，不能删除"));
    }
    measure::Entity::delete_by_id(m.id).exec(&state.db).await?;
    Ok(())
}

pub async fn list_measures<C: ConnectionTrait>(db: &C) -> ApiResult<Vec<MeasureView>> {
    Ok(measure::Entity::find().order_by_asc(measure::Column::Id).all(db).await?.into_iter().map(Into::into).collect())
}
