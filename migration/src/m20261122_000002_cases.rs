use sea_orm_migration::{prelude::*, schema::*};

use crate::index;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table("cases")
                .col(big_pk_auto("id"))
                .col(string_uniq("case_no"))
                .col(string("kind"))
                .col(string("state"))
                .col(integer("version"))
                .col(big_integer("record_id"))
                .col(big_integer("subject_id"))
                .col(big_integer("department_id"))
                .col(big_integer("applicant_user_id"))
                .col(text("reason"))
                .col(string_null("outcome"))
                .col(string("workflow_id"))
                .col(integer("workflow_version"))
                .col(string("workflow_hash"))
                .col(boolean("extension_used"))
                .col(timestamp_with_time_zone_null("due_at"))
                .col(timestamp_with_time_zone_null("total_due_at"))
                .col(boolean("overdue"))
                .col(boolean("provisional_deadline"))
                .col(date_null("last_urged_on"))
                .col(big_integer_null("open_record_key").unique_key())
                .col(text_null("result"))
                .col(timestamp_with_time_zone("received_at"))
                .col(timestamp_with_time_zone_null("routed_at"))
                .col(timestamp_with_time_zone_null("closed_at"))
                .col(timestamp_with_time_zone("created_at"))
                .col(timestamp_with_time_zone("updated_at"))
                .foreign_key(ForeignKey::create().from("cases", "record_id").to("records", "id"))
                .to_owned(),
        )
        .await?;
        m.create_index(index("cases", "idx_cases_department_state", &["department_id", "state"], false)).await?;
        m.create_index(index("cases", "idx_cases_subject", &["subject_id"], false)).await?;
        m.create_index(index("cases", "idx_cases_record", &["record_id"], false)).await?;
        m.create_table(
            Table::create()
                .table("case_events")
                .col(big_pk_auto("id"))
                .col(big_integer("case_id"))
                .col(integer("seq"))
                .col(big_integer_null("actor_user_id"))
                .col(string("actor_role"))
                .col(string("action"))
                .col(string_null("from_state"))
                .col(string("to_state"))
                .col(text_null("comment"))
                .col(text("inputs"))
                .col(timestamp_with_time_zone("created_at"))
                .col(string("prev_hash"))
                .col(string("hash"))
                .foreign_key(ForeignKey::create().from("case_events", "case_id").to("cases", "id"))
                .to_owned(),
        )
        .await?;
        m.create_index(index("case_events", "uq_case_events_seq", &["case_id", "seq"], true)).await?;
        m.create_table(
            Table::create()
                .table("attachments")
                .col(big_pk_auto("id"))
                .col(big_integer("case_id"))
                .col(string("kind"))
                .col(string("sha256"))
                .col(big_integer("size"))
                .col(string("content_type"))
                .col(string("file_name"))
                .col(big_integer("uploaded_by"))
                .col(timestamp_with_time_zone("created_at"))
                .foreign_key(ForeignKey::create().from("attachments", "case_id").to("cases", "id"))
                .to_owned(),
        )
        .await?;
        m.create_index(index("attachments", "idx_attachments_case", &["case_id"], false)).await?;
        m.create_table(
            Table::create()
                .table("deadlines")
                .col(big_pk_auto("id"))
                .col(big_integer("case_id"))
                .col(string("kind"))
                .col(string("state"))
                .col(integer("budget_days"))
                .col(integer("extended_days"))
                .col(date("started_on"))
                .col(date("due_on"))
                .col(timestamp_with_time_zone("due_at"))
                .col(boolean("provisional"))
                .col(string("status"))
                .col(date_null("paused_on"))
                .col(integer_null("used_days_at_pause"))
                .col(text("history"))
                .col(timestamp_with_time_zone_null("warned_at"))
                .col(timestamp_with_time_zone_null("overdue_at"))
                .col(timestamp_with_time_zone("created_at"))
                .foreign_key(ForeignKey::create().from("deadlines", "case_id").to("cases", "id"))
                .to_owned(),
        )
        .await?;
        m.create_index(index("deadlines", "idx_deadlines_status_due", &["status", "due_at"], false)).await?;
        m.create_index(index("deadlines", "idx_deadlines_case", &["case_id"], false)).await?;
        m.create_index(index("deadlines", "idx_deadlines_provisional", &["provisional", "status"], false)).await?;
        m.create_table(
            Table::create()
                .table("outbox")
                .col(big_pk_auto("id"))
                .col(string("kind"))
                .col(string_null("dedupe_key").unique_key())
                .col(big_integer_null("case_id"))
                .col(string("template"))
                .col(text("recipients"))
                .col(string("subject"))
                .col(text("body_text"))
                .col(text("body_html"))
                .col(string("status"))
                .col(integer("attempts"))
                .col(timestamp_with_time_zone("next_attempt_at"))
                .col(text_null("last_error"))
                .col(timestamp_with_time_zone("created_at"))
                .col(timestamp_with_time_zone_null("sent_at"))
                .to_owned(),
        )
        .await?;
        m.create_index(index("outbox", "idx_outbox_status_next", &["status", "next_attempt_at"], false)).await?;
        m.create_table(
            Table::create()
                .table("idempotency_keys")
                .col(big_pk_auto("id"))
                .col(big_integer("user_id"))
                .col(string("key"))
                .col(string("request_hash"))
                .col(big_integer("case_id"))
                .col(timestamp_with_time_zone("created_at"))
                .to_owned(),
        )
        .await?;
        m.create_index(index("idempotency_keys", "uq_idempotency_user_key", &["user_id", "key"], true)).await?;
        m.create_table(
            Table::create()
                .table("calendar_years")
                .col(integer("year").primary_key())
                .col(text("data"))
                .col(big_integer_null("updated_by"))
                .col(timestamp_with_time_zone("updated_at"))
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table("record_events")
                .col(big_pk_auto("id"))
                .col(big_integer("record_id"))
                .col(big_integer_null("actor_user_id"))
                .col(string("actor_role"))
                .col(string("action"))
                .col(text("detail"))
                .col(timestamp_with_time_zone("created_at"))
                .foreign_key(ForeignKey::create().from("record_events", "record_id").to("records", "id"))
                .to_owned(),
        )
        .await?;
        m.create_index(index("record_events", "idx_record_events_record", &["record_id"], false)).await?;
        m.create_table(
            Table::create()
                .table("workflow_definitions")
                .col(big_pk_auto("id"))
                .col(string("workflow_id"))
                .col(integer("version"))
                .col(string_uniq("hash"))
                .col(text("source"))
                .col(timestamp_with_time_zone("created_at"))
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table("job_claims")
                .col(big_pk_auto("id"))
                .col(string_uniq("key"))
                .col(string("claimed_by"))
                .col(timestamp_with_time_zone("claimed_at"))
                .to_owned(),
        )
        .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for t in [
            "job_claims",
            "workflow_definitions",
            "record_events",
            "calendar_years",
            "idempotency_keys",
            "outbox",
            "deadlines",
            "attachments",
            "case_events",
            "cases",
        ] {
            m.drop_table(Table::drop().table(t).to_owned()).await?;
        }
        Ok(())
    }
}
