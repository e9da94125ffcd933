use sea_orm_migration::{prelude::*, schema::*};

use crate::index;

/// The sign-in throttle's counters (`src/domain/login_throttle.rs`): one row
/// per account and client address it failed from, and one per account for
/// the account as a whole (`client` = `*`). They replace counting in
/// `users.failed_logins` / `users.locked_until`, which are no longer used
/// for signing in.
#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table("login_throttles")
                .col(big_pk_auto("id"))
                .col(big_integer("user_id"))
                .col(string("client"))
                .col(integer("failures"))
                .col(timestamp_with_time_zone_null("last_failure_at"))
                .col(timestamp_with_time_zone_null("blocked_until"))
                .col(integer("version"))
                .col(timestamp_with_time_zone("updated_at"))
                .foreign_key(ForeignKey::create().from("login_throttles", "user_id").to("users", "id"))
                .to_owned(),
        )
        .await?;
        m.create_index(index("login_throttles", "login_throttles_user_client", &["user_id", "client"], true)).await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table("login_throttles").to_owned()).await
    }
}
