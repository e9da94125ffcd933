use sea_orm::entity::prelude::*;

/// A notification in a user's message list (站内消息).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "messages")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub user_id: i64,
    pub case_id: Option<i64>,
    pub template: String,
    pub subject: String,
    #[sea_orm(column_type = "Text")]
    pub body: String,
    /// Where the message leads (the case's page, the records page).
    pub link: Option<String>,
    /// With a key, a message is given to a user once.
    pub dedupe_key: Option<String>,
    pub created_at: DateTimeUtc,
    pub read_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
