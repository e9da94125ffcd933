use sea_orm::entity::prelude::*;

/// One uploaded import file: what it asked for (check or apply), what came
/// of it, and the rows it refused (`errors`, JSON). The file is kept in the
/// blob store under `sha256`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "imports")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub department_id: i64,
    pub uploaded_by: i64,
    pub file_name: String,
    pub sha256: String,
    pub size: i64,
    /// `xlsx` or `csv`
    pub format: String,
    /// `check` or `apply`
    pub mode: String,
    /// Apply the good rows even when others are refused.
    pub partial: bool,
    /// `checked`, `applied` or `rejected`
    pub outcome: String,
    pub rows: i32,
    pub records_created: i32,
    pub records_updated: i32,
    pub records_unchanged: i32,
    pub subjects_created: i32,
    pub sanctions_added: i32,
    pub list_entries_added: i32,
    pub error_count: i32,
    /// JSON array of row errors.
    #[sea_orm(column_type = "Text")]
    pub errors: String,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
