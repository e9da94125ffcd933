use sea_orm::entity::prelude::*;

use crate::types::ActiveStatus;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "list_memberships")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub record_id: i64,
    pub subject_id: i64,
    pub list_name: String,
    /// `active` or `ended`
    pub status: ActiveStatus,
    pub listed_on: Date,
    pub ended_at: Option<DateTimeUtc>,
    pub ended_reason: Option<String>,
    pub ended_case_id: Option<i64>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
