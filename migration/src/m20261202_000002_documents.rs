use sea_orm_migration::{prelude::*, schema::*};

use crate::index;

/// Formal documents (文书) issued at the transitions that decide them: each
/// with its number from a gap-free per-family, per-year sequence, its PDF
/// stored under its SHA-256 like an attachment, and a verification code the
/// public can check. Mails may carry files (`outbox.attachments`, JSON).
#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table("documents")
                .col(big_pk_auto("id"))
                .col(big_integer("case_id"))
                .col(string("letter"))
                .col(string_uniq("number"))
                .col(string("prefix"))
                .col(integer("year"))
                .col(integer("seq"))
                .col(string("title"))
                .col(string("sha256"))
                .col(big_integer("size"))
                .col(string("verify_code"))
                .col(date("issued_on"))
                .col(timestamp_with_time_zone("created_at"))
                .to_owned(),
        )
        .await?;
        m.create_index(index("documents", "documents_case", &["case_id", "id"], false)).await?;
        m.create_index(index("documents", "documents_prefix_year_seq", &["prefix", "year", "seq"], true)).await?;
        m.create_table(
            Table::create()
                .table("document_sequences")
                .col(string("prefix"))
                .col(integer("year"))
                .col(integer("last"))
                .primary_key(Index::create().col("prefix").col("year"))
                .to_owned(),
        )
        .await?;
        m.alter_table(Table::alter().table("outbox").add_column(text("attachments").default("[]")).to_owned()).await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(Table::alter().table("outbox").drop_column("attachments").to_owned()).await?;
        m.drop_table(Table::drop().table("document_sequences").to_owned()).await?;
        m.drop_table(Table::drop().table("documents").to_owned()).await
    }
}
