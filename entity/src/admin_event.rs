use sea_orm::entity::prelude::*;

/// The audit trail of administrative changes outside cases and records
/// (those have `case_events` and `record_events`): a calendar year loaded,
/// corrected or reverted to provisional.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "admin_events")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub at: DateTimeUtc,
    pub actor_user_id: Option<i64>,
    /// e.g. `calendar_loaded`, `calendar_reverted`
    pub action: String,
    /// What changed, e.g. `calendar:2027`.
    pub target: String,
    /// JSON.
    #[sea_orm(column_type = "Text")]
    pub detail: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
