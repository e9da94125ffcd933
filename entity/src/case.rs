use sea_orm::entity::prelude::*;

use crate::types::{CaseKind, ObjectionGrounds, Outcome};

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "cases")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    #[sea_orm(unique)]
    pub case_no: String,
    pub kind: CaseKind,
    pub state: String,
    pub version: i32,
    pub record_id: i64,
    pub subject_id: i64,
    pub department_id: i64,
    pub applicant_user_id: i64,
    pub reason: String,
    pub outcome: Option<Outcome>,
    pub workflow_id: String,
    pub workflow_version: i32,
    pub workflow_hash: String,
    pub extension_used: bool,
    pub due_at: Option<DateTimeUtc>,
    pub total_due_at: Option<DateTimeUtc>,
    pub overdue: bool,
    pub provisional_deadline: bool,
    pub last_urged_on: Option<Date>,
    /// Set to `record_id` while the case is open, NULL once closed: a unique
    /// index on it keeps one open case per record even under concurrency.
    #[sea_orm(unique)]
    pub open_record_key: Option<i64>,
    pub result: Option<String>,
    pub received_at: DateTimeUtc,
    /// When the case was routed to the producing department, which sees it from then on.
    pub routed_at: Option<DateTimeUtc>,
    pub closed_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    /// An objection's structured grounds (None for repairs).
    pub grounds: Option<ObjectionGrounds>,
    /// The repair case whose decision an objection contests.
    pub objects_to_case_id: Option<i64>,
    /// The open supplement request's list of missing items (JSON array of
    /// strings, 一次性告知); None when no request is open.
    pub supplement_items: Option<String>,
    /// A department's extension request awaiting the credit office: who asked.
    pub extension_requested_by: Option<i64>,
    /// Why the extension is asked for (kept with the approved extension).
    pub extension_reason: Option<String>,
    /// A SAMR record's repair registers SAMR's own decision: its document number.
    pub external_decision_no: Option<String>,
    /// How the reports count the closed case (its final state's report
    /// class: `decided`, `withdrawn`, `not_accepted`, `moot`); None while open.
    pub closure_class: Option<String>,
    /// The local day it closed.
    pub closed_on: Option<Date>,
    /// Closed before the end of its legal total (no extension counted).
    pub closed_within_legal: Option<bool>,
    /// An objection the credit office decided itself within 3 working days.
    pub closed_within_own_scope: Option<bool>,
    /// Working days from receipt to closing (None: a year without a calendar).
    pub handling_working_days: Option<i32>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
