use sea_orm_migration::{prelude::*, schema::*};

use crate::index;

/// The message centre (站内消息): every notification is also a message in
/// each recipient user's list (users without an e-mail address included),
/// unread until opened; a user may turn mail off (`users.mail_enabled`),
/// the list is always kept.
#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table("messages")
                .col(big_pk_auto("id"))
                .col(big_integer("user_id"))
                .col(big_integer_null("case_id"))
                .col(string("template"))
                .col(string("subject"))
                .col(text("body"))
                .col(string_null("link"))
                .col(string_null("dedupe_key"))
                .col(timestamp_with_time_zone("created_at"))
                .col(timestamp_with_time_zone_null("read_at"))
                .to_owned(),
        )
        .await?;
        m.create_index(index("messages", "messages_user", &["user_id", "id"], false)).await?;
        m.create_index(index("messages", "messages_user_unread", &["user_id", "read_at"], false)).await?;
        m.create_index(index("messages", "messages_dedupe", &["dedupe_key", "user_id"], true)).await?;
        m.alter_table(Table::alter().table("users").add_column(boolean("mail_enabled").default(true)).to_owned()).await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(Table::alter().table("users").drop_column("mail_enabled").to_owned()).await?;
        m.drop_table(Table::drop().table("messages").to_owned()).await
    }
}
