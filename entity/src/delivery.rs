use sea_orm::entity::prelude::*;

/// One sync message (an outbox row) for one subscriber.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "deliveries")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub outbox_id: i64,
    pub subscriber_id: i64,
    /// The sync action (`repair:completed`).
    pub action: String,
    pub record_id: Option<i64>,
    pub case_id: Option<i64>,
    /// `pending`, `sending` (claimed, with a lease until `next_attempt_at`),
    /// `failed` (a retry is due at `next_attempt_at`), `delivered` or `dead`.
    pub status: String,
    pub attempts: i32,
    pub next_attempt_at: DateTimeUtc,
    #[sea_orm(column_type = "Text", nullable)]
    pub last_error: Option<String>,
    /// The receiver's HTTP status of the last attempt.
    pub http_status: Option<i32>,
    /// When the receipt (a 2xx answer, or the file written) came.
    pub delivered_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
