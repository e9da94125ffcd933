use sea_orm_migration::{prelude::*, schema::*};

use crate::index;

/// Sessions of the web pages: a cookie holds a random token, the table its
/// SHA-256, the user, the CSRF token of the session and when it was last
/// used (the inactivity timeout counts from there).
#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table("web_sessions")
                .col(big_pk_auto("id"))
                .col(string_uniq("token_hash"))
                .col(big_integer("user_id"))
                .col(string("csrf_token"))
                .col(timestamp_with_time_zone("created_at"))
                .col(timestamp_with_time_zone("last_seen_at"))
                .to_owned(),
        )
        .await?;
        m.create_index(index("web_sessions", "web_sessions_user", &["user_id"], false)).await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table("web_sessions").to_owned()).await
    }
}
