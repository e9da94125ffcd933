use sea_orm::entity::prelude::*;

/// Every workflow definition a case was started with, kept so that a case
/// always runs on the exact definition (version and content hash) it began on.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "workflow_definitions")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub workflow_id: String,
    pub version: i32,
    #[sea_orm(unique)]
    pub hash: String,
    #[sea_orm(column_type = "Text")]
    pub source: String,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
