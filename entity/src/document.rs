use sea_orm::entity::prelude::*;

/// A formal document (文书) issued at a case transition. Its PDF is stored
/// under `sha256` and never regenerated.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "documents")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub case_id: i64,
    /// The letter template, e.g. `repair_approved`.
    pub letter: String,
    /// 文号, e.g. 济高信修〔2026〕第0001号: unique.
    #[sea_orm(unique)]
    pub number: String,
    /// The number family the sequence runs in (e.g. 济高信修).
    pub prefix: String,
    pub year: i32,
    pub seq: i32,
    /// The letter's title, e.g. 准予信用修复决定书.
    pub title: String,
    pub sha256: String,
    pub size: i64,
    /// Printed on the document; the public checks it with the number.
    pub verify_code: String,
    pub issued_on: Date,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
