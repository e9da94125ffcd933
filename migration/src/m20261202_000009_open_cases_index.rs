use sea_orm_migration::prelude::*;

/// The open cases alone, with what the monitoring aggregates and the
/// longest-overdue list read (`services::reports::open_load`, `dashboard`):
/// a partial index `WHERE closed_at IS NULL`, so those queries read the open
/// cases' index entries however many cases have closed (SQLite and
/// PostgreSQL both plan partial indexes whose condition the query repeats).
#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.get_connection()
            .execute_unprepared(
                "CREATE INDEX idx_cases_open ON cases (overdue, due_at, department_id, kind, routed_at) \
                 WHERE closed_at IS NULL",
            )
            .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_index(Index::drop().name("idx_cases_open").table("cases").to_owned()).await
    }
}
