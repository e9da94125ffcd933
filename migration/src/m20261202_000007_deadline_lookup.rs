use sea_orm_migration::prelude::*;

use crate::index;

/// The open deadlines of one case (`services::cases::deadlines::Clocks::load`:
/// `case_id = ? AND status IN (running, paused)`) get an index that fits the
/// whole condition, so the planner never reaches them through
/// `(status, due_at)`, scanning every open deadline (a young PostgreSQL
/// database without statistics did). It replaces the index on `case_id`
/// alone, which is its prefix.
#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_index(index("deadlines", "idx_deadlines_case_status", &["case_id", "status"], false)).await?;
        m.drop_index(Index::drop().name("idx_deadlines_case").table("deadlines").to_owned()).await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_index(index("deadlines", "idx_deadlines_case", &["case_id"], false)).await?;
        m.drop_index(Index::drop().name("idx_deadlines_case_status").table("deadlines").to_owned()).await
    }
}
