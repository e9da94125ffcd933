use sea_orm_migration::{prelude::*, schema::*};

use crate::index;

/// Reports in SQL over any number of closed cases (issue 12):
/// - a case is judged once, when it closes (`services::reports::judge`):
///   the report class of its final state, its local closing day, whether it
///   closed within its legal total and (an objection the credit office
///   decided itself) within 3 working days, and its handling time in working
///   days; stored on the case;
/// - `closure_counts` sums those judgements per (closing day, department,
///   kind, class, routed, within legal total, within own scope), written in
///   the closing transaction, so the monitoring overview and the statistics
///   read a few rows per day instead of every closed case;
/// - indexes on `closed_at` and `received_at` for the weekly filed/closed
///   counts, and one that finds closed cases not judged yet (cases closed
///   before this migration; the server judges them when it starts).
#[derive(DeriveMigrationName)]
pub struct Migration;

const CASE_COLUMNS: [&str; 5] =
    ["closure_class", "closed_on", "closed_within_legal", "closed_within_own_scope", "handling_working_days"];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        // One column per statement: SQLite alters one column at a time.
        let cases = |col: ColumnDef| Table::alter().table("cases").add_column(col).to_owned();
        m.alter_table(cases(string_null("closure_class"))).await?;
        m.alter_table(cases(date_null("closed_on"))).await?;
        m.alter_table(cases(boolean_null("closed_within_legal"))).await?;
        m.alter_table(cases(boolean_null("closed_within_own_scope"))).await?;
        m.alter_table(cases(integer_null("handling_working_days"))).await?;
        m.create_table(
            Table::create()
                .table("closure_counts")
                .col(date("closed_on"))
                .col(big_integer("department_id"))
                .col(string("kind"))
                .col(string("closure_class"))
                .col(boolean("routed"))
                .col(boolean("within_legal"))
                .col(boolean("within_own_scope"))
                .col(big_integer("n"))
                .col(big_integer("timed"))
                .col(big_integer("days_sum"))
                .col(integer("days_max"))
                .primary_key(
                    Index::create()
                        .col("closed_on")
                        .col("department_id")
                        .col("kind")
                        .col("closure_class")
                        .col("routed")
                        .col("within_legal")
                        .col("within_own_scope"),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(index("cases", "idx_cases_closed_at", &["closed_at"], false)).await?;
        m.create_index(index("cases", "idx_cases_received_at", &["received_at"], false)).await?;
        m.create_index(index("cases", "idx_cases_closed_on", &["closed_on", "closure_class"], false)).await?;
        // Closed but not judged: only cases closed before this migration.
        m.get_connection()
            .execute_unprepared(
                "CREATE INDEX idx_cases_unjudged ON cases (id) WHERE closed_at IS NOT NULL AND closure_class IS NULL",
            )
            .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for name in ["idx_cases_closed_at", "idx_cases_received_at", "idx_cases_closed_on", "idx_cases_unjudged"] {
            m.drop_index(Index::drop().name(name).table("cases").to_owned()).await?;
        }
        m.drop_table(Table::drop().table("closure_counts").to_owned()).await?;
        for col in CASE_COLUMNS {
            m.alter_table(Table::alter().table("cases").drop_column(col).to_owned()).await?;
        }
        Ok(())
    }
}
