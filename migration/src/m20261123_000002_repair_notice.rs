use sea_orm_migration::{prelude::*, schema::*};

use crate::index;

/// The day a record became repairable and its subject was told so: the
/// `repair_from` the notice was sent for (NULL: not sent yet). A correction
/// that moves `repair_from` clears it, so the new day is told once too.
#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(Table::alter().table("records").add_column(date_null("repair_notified_for")).to_owned()).await?;
        m.create_index(index("records", "records_repair_notice", &["repair_notified_for", "repair_from"], false)).await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_index(Index::drop().name("records_repair_notice").table("records").to_owned()).await?;
        m.alter_table(Table::alter().table("records").drop_column("repair_notified_for").to_owned()).await
    }
}
