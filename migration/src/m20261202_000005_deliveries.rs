use sea_orm_migration::{prelude::*, schema::*};

use crate::index;

/// Delivery to downstream platforms: the subscribers an administrator
/// configures, and one delivery row per (sync message in the outbox,
/// subscriber that wants it), created when the delivery job fans the message
/// out. The outbox row stays the source of truth for the message's body.
#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table("subscribers")
                .col(big_pk_auto("id"))
                .col(string("name"))
                .col(string("kind"))
                .col(string("target"))
                .col(string("secret"))
                .col(text("events"))
                .col(boolean("active"))
                .col(timestamp_with_time_zone("created_at"))
                .col(timestamp_with_time_zone("updated_at"))
                .to_owned(),
        )
        .await?;
        m.create_index(index("subscribers", "subscribers_name", &["name"], true)).await?;
        m.create_table(
            Table::create()
                .table("deliveries")
                .col(big_pk_auto("id"))
                .col(big_integer("outbox_id"))
                .col(big_integer("subscriber_id"))
                .col(string("action"))
                .col(big_integer_null("record_id"))
                .col(big_integer_null("case_id"))
                .col(string("status"))
                .col(integer("attempts"))
                .col(timestamp_with_time_zone("next_attempt_at"))
                .col(text_null("last_error"))
                .col(integer_null("http_status"))
                .col(timestamp_with_time_zone_null("delivered_at"))
                .col(timestamp_with_time_zone("created_at"))
                .foreign_key(ForeignKey::create().from("deliveries", "outbox_id").to("outbox", "id"))
                .foreign_key(ForeignKey::create().from("deliveries", "subscriber_id").to("subscribers", "id"))
                .to_owned(),
        )
        .await?;
        m.create_index(index("deliveries", "deliveries_message_subscriber", &["outbox_id", "subscriber_id"], true))
            .await?;
        m.create_index(index("deliveries", "deliveries_due", &["status", "next_attempt_at"], false)).await?;
        m.create_index(index("deliveries", "deliveries_record", &["record_id", "subscriber_id"], false)).await?;
        m.create_index(index("deliveries", "deliveries_case", &["case_id"], false)).await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table("deliveries").to_owned()).await?;
        m.drop_table(Table::drop().table("subscribers").to_owned()).await
    }
}
