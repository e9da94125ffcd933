use sea_orm_migration::{prelude::*, schema::*};

use crate::index;

/// Bulk imports of records, sanctions and list entries by departments: one
/// row per uploaded file (checked, applied or rejected) with its SHA-256 (the
/// file itself is in the blob store under that hash) and the rows it refused.
/// Records are found again by (department, document number), which imports
/// use as their key.
#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table("imports")
                .col(big_pk_auto("id"))
                .col(big_integer("department_id"))
                .col(big_integer("uploaded_by"))
                .col(string("file_name"))
                .col(string("sha256"))
                .col(big_integer("size"))
                .col(string("format"))
                .col(string("mode"))
                .col(boolean("partial"))
                .col(string("outcome"))
                .col(integer("rows"))
                .col(integer("records_created"))
                .col(integer("records_updated"))
                .col(integer("records_unchanged"))
                .col(integer("subjects_created"))
                .col(integer("sanctions_added"))
                .col(integer("list_entries_added"))
                .col(integer("error_count"))
                .col(text("errors"))
                .col(timestamp_with_time_zone("created_at"))
                .foreign_key(ForeignKey::create().from("imports", "department_id").to("departments", "id"))
                .foreign_key(ForeignKey::create().from("imports", "uploaded_by").to("users", "id"))
                .to_owned(),
        )
        .await?;
        m.create_index(index("imports", "imports_department", &["department_id", "id"], false)).await?;
        m.create_index(index("records", "records_department_document", &["department_id", "document_no"], false)).await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_index(Index::drop().name("records_department_document").table("records").to_owned()).await?;
        m.drop_table(Table::drop().table("imports").to_owned()).await
    }
}
