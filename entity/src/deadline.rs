use sea_orm::entity::prelude::*;

use crate::types::{DeadlineKind, DeadlineStatus};

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "deadlines")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub case_id: i64,
    /// `step` (the current state's own budget) or `total` (the whole case)
    pub kind: DeadlineKind,
    pub state: String,
    pub budget_days: i32,
    pub extended_days: i32,
    pub started_on: Date,
    pub due_on: Date,
    pub due_at: DateTimeUtc,
    pub provisional: bool,
    pub status: DeadlineStatus,
    pub paused_on: Option<Date>,
    /// Working days already used before the current pause.
    pub used_days_at_pause: Option<i32>,
    #[sea_orm(column_type = "Text")]
    pub history: String,
    pub warned_at: Option<DateTimeUtc>,
    pub overdue_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
