use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "outbox")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    /// `mail` or `sync`
    pub kind: String,
    #[sea_orm(unique)]
    pub dedupe_key: Option<String>,
    pub case_id: Option<i64>,
    pub template: String,
    pub recipients: String,
    pub subject: String,
    #[sea_orm(column_type = "Text")]
    pub body_text: String,
    #[sea_orm(column_type = "Text")]
    pub body_html: String,
    /// `pending`, `sending`, `sent` or `dead`
    pub status: String,
    pub attempts: i32,
    pub next_attempt_at: DateTimeUtc,
    pub last_error: Option<String>,
    pub created_at: DateTimeUtc,
    pub sent_at: Option<DateTimeUtc>,
    /// Files the mail carries: JSON `[{"name", "sha256", "content_type"}]`
    /// (stored blobs, e.g. the decision's PDF).
    #[sea_orm(column_type = "Text")]
    pub attachments: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
