use sea_orm_migration::{prelude::*, schema::*};

use crate::index;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table("departments")
                .col(big_pk_auto("id"))
                .col(string_uniq("code"))
                .col(string("name"))
                .col(string("kind"))
                .col(string_null("email"))
                .col(timestamp_with_time_zone("created_at"))
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table("subjects")
                .col(big_pk_auto("id"))
                .col(string_uniq("code"))
                .col(string("name"))
                .col(string("kind"))
                .col(boolean("check_overridden"))
                .col(timestamp_with_time_zone("created_at"))
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table("users")
                .col(big_pk_auto("id"))
                .col(string_uniq("username"))
                .col(string("display_name"))
                .col(string("password_hash"))
                .col(string("role"))
                .col(big_integer_null("department_id"))
                .col(big_integer_null("subject_id"))
                .col(string_null("email"))
                .col(boolean("active"))
                .col(integer("failed_logins"))
                .col(timestamp_with_time_zone_null("locked_until"))
                .col(timestamp_with_time_zone("created_at"))
                .col(timestamp_with_time_zone("updated_at"))
                .foreign_key(ForeignKey::create().from("users", "department_id").to("departments", "id"))
                .foreign_key(ForeignKey::create().from("users", "subject_id").to("subjects", "id"))
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table("refresh_tokens")
                .col(big_pk_auto("id"))
                .col(big_integer("user_id"))
                .col(string_uniq("token_hash"))
                .col(timestamp_with_time_zone("expires_at"))
                .col(timestamp_with_time_zone_null("revoked_at"))
                .col(timestamp_with_time_zone("created_at"))
                .foreign_key(ForeignKey::create().from("refresh_tokens", "user_id").to("users", "id"))
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table("records")
                .col(big_pk_auto("id"))
                .col(big_integer("subject_id"))
                .col(string("record_type"))
                .col(string("title"))
                .col(text("content"))
                .col(string("severity"))
                .col(string("regime"))
                .col(big_integer("department_id"))
                .col(string("document_no"))
                .col(date("decision_date"))
                .col(date_null("conduct_end_date"))
                .col(string("publication_status"))
                .col(timestamp_with_time_zone_null("publication_ended_at"))
                .col(string_null("publication_end_reason"))
                .col(boolean("repairable"))
                .col(date_null("repair_from"))
                .col(date("publication_ends"))
                .col(string("display_category"))
                .col(boolean("objection_open"))
                .col(big_integer_null("objection_case_id"))
                .col(date_null("repair_barred_until"))
                .col(boolean("deleted"))
                .col(integer("version"))
                .col(timestamp_with_time_zone("created_at"))
                .col(timestamp_with_time_zone("updated_at"))
                .foreign_key(ForeignKey::create().from("records", "subject_id").to("subjects", "id"))
                .foreign_key(ForeignKey::create().from("records", "department_id").to("departments", "id"))
                .to_owned(),
        )
        .await?;
        m.create_index(index("records", "idx_records_subject", &["subject_id"], false)).await?;
        m.create_index(index("records", "idx_records_department", &["department_id"], false)).await?;
        m.create_index(index("records", "idx_records_publication", &["publication_status", "publication_ends"], false))
            .await?;
        m.create_table(
            Table::create()
                .table("measures")
                .col(big_pk_auto("id"))
                .col(string_uniq("name"))
                .col(text("legal_basis"))
                .col(string("implementing_department"))
                .col(timestamp_with_time_zone("created_at"))
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table("sanctions")
                .col(big_pk_auto("id"))
                .col(big_integer("record_id"))
                .col(big_integer("measure_id"))
                .col(string("status"))
                .col(date("started_on"))
                .col(timestamp_with_time_zone_null("ended_at"))
                .col(big_integer_null("ended_by"))
                .col(text_null("ended_reason"))
                .col(big_integer_null("ended_case_id"))
                .foreign_key(ForeignKey::create().from("sanctions", "record_id").to("records", "id"))
                .foreign_key(ForeignKey::create().from("sanctions", "measure_id").to("measures", "id"))
                .to_owned(),
        )
        .await?;
        m.create_index(index("sanctions", "idx_sanctions_record", &["record_id"], false)).await?;
        m.create_table(
            Table::create()
                .table("list_memberships")
                .col(big_pk_auto("id"))
                .col(big_integer("record_id"))
                .col(big_integer("subject_id"))
                .col(string("list_name"))
                .col(string("status"))
                .col(date("listed_on"))
                .col(timestamp_with_time_zone_null("ended_at"))
                .col(text_null("ended_reason"))
                .col(big_integer_null("ended_case_id"))
                .foreign_key(ForeignKey::create().from("list_memberships", "record_id").to("records", "id"))
                .to_owned(),
        )
        .await?;
        m.create_index(index("list_memberships", "idx_lists_record", &["record_id"], false)).await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for t in [
            "list_memberships",
            "sanctions",
            "measures",
            "records",
            "refresh_tokens",
            "users",
            "subjects",
            "departments",
        ] {
            m.drop_table(Table::drop().table(t).to_owned()).await?;
        }
        Ok(())
    }
}
