use sea_orm::entity::prelude::*;

use crate::types::{PublicationStatus, RecordSource};

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "records")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub subject_id: i64,
    /// `administrative_penalty`, `serious_dishonesty_list`, `abnormal_operation_list` or `other`
    pub record_type: String,
    pub title: String,
    pub content: String,
    pub severity: String,
    pub regime: String,
    pub department_id: i64,
    pub document_no: String,
    pub decision_date: Date,
    pub conduct_end_date: Option<Date>,
    pub publication_status: PublicationStatus,
    pub publication_ended_at: Option<DateTimeUtc>,
    pub publication_end_reason: Option<String>,
    pub repairable: bool,
    pub repair_from: Option<Date>,
    pub publication_ends: Date,
    pub display_category: String,
    pub objection_open: bool,
    pub objection_case_id: Option<i64>,
    pub repair_barred_until: Option<Date>,
    /// The `repair_from` the subject was told about (None: not told yet).
    pub repair_notified_for: Option<Date>,
    pub deleted: bool,
    pub version: i32,
    /// Local, or mirrored from market regulation (repaired on SAMR's system).
    pub source: RecordSource,
    /// The day the record was first published (SAMR counts from it).
    pub published_on: Option<Date>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
