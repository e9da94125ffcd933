use sea_orm::entity::prelude::*;

/// A downstream platform (or a folder for offline hand-over) that receives
/// the sync messages it wants.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "subscribers")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    #[sea_orm(unique)]
    pub name: String,
    /// `http` or `folder`
    pub kind: String,
    /// The URL (`http`) or the absolute folder path (`folder`).
    pub target: String,
    /// The HMAC key of an `http` subscriber (empty for a folder); never
    /// returned by the API.
    pub secret: String,
    /// JSON array of sync actions (`repair:completed`), or `["*"]` for all.
    #[sea_orm(column_type = "Text")]
    pub events: String,
    pub active: bool,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
