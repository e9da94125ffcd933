use sea_orm::entity::prelude::*;

use crate::types::ActiveStatus;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "sanctions")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub record_id: i64,
    pub measure_id: i64,
    /// `active` or `ended`
    pub status: ActiveStatus,
    pub started_on: Date,
    pub ended_at: Option<DateTimeUtc>,
    pub ended_by: Option<i64>,
    pub ended_reason: Option<String>,
    pub ended_case_id: Option<i64>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
