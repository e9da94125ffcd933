use sea_orm_migration::{prelude::*, schema::*};

/// Rules of issue 9, second part:
/// - cases: an objection's structured grounds (`grounds`), the repair case an
///   objection contests (`objects_to_case_id`), the one-time list of missing
///   items of a supplement request (`supplement_items`, JSON), and a pending
///   extension request (who asked, why) awaiting the credit office's approval,
///   and the market regulator's decision a mirrored SAMR repair registers;
/// - records: where the record comes from (`source`: local, or mirrored from
///   market regulation, `samr`) and the day it was first published
///   (`published_on`; SAMR counts its periods from publication);
/// - calendar years an administrator reverted to provisional (`reverted`),
///   and `admin_events`, the audit trail of changes outside cases and
///   records (a calendar year loaded or reverted).
#[derive(DeriveMigrationName)]
pub struct Migration;

const CASE_COLUMNS: [&str; 6] = [
    "grounds",
    "objects_to_case_id",
    "supplement_items",
    "extension_requested_by",
    "extension_reason",
    "external_decision_no",
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        // One column per statement: SQLite alters one column at a time.
        let cases = |col: ColumnDef| Table::alter().table("cases").add_column(col).to_owned();
        m.alter_table(cases(string_null("grounds"))).await?;
        m.alter_table(cases(big_integer_null("objects_to_case_id"))).await?;
        m.alter_table(cases(text_null("supplement_items"))).await?;
        m.alter_table(cases(big_integer_null("extension_requested_by"))).await?;
        m.alter_table(cases(text_null("extension_reason"))).await?;
        m.alter_table(cases(string_null("external_decision_no"))).await?;
        let records = |col: ColumnDef| Table::alter().table("records").add_column(col).to_owned();
        m.alter_table(records(string("source").default("local").to_owned())).await?;
        m.alter_table(records(date_null("published_on"))).await?;
        m.alter_table(Table::alter().table("calendar_years").add_column(boolean("reverted").default(false)).to_owned())
            .await?;
        m.create_table(
            Table::create()
                .table("admin_events")
                .col(big_pk_auto("id"))
                .col(timestamp_with_time_zone("at"))
                .col(big_integer_null("actor_user_id"))
                .col(string("action"))
                .col(string("target"))
                .col(text("detail"))
                .to_owned(),
        )
        .await?;
        m.create_index(crate::index("admin_events", "admin_events_target", &["target", "id"], false)).await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for col in CASE_COLUMNS {
            m.alter_table(Table::alter().table("cases").drop_column(col).to_owned()).await?;
        }
        for col in ["source", "published_on"] {
            m.alter_table(Table::alter().table("records").drop_column(col).to_owned()).await?;
        }
        m.drop_table(Table::drop().table("admin_events").to_owned()).await?;
        m.alter_table(Table::alter().table("calendar_years").drop_column("reverted").to_owned()).await?;
        Ok(())
    }
}
