use sea_orm::entity::prelude::*;

use crate::types::CaseKind;

/// Closed cases summed per closing day and judgement (written in each
/// closing transaction; read by the reports instead of the cases).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "closure_counts")]
pub struct Model {
    /// Local (Asia/Shanghai) day the cases closed.
    #[sea_orm(primary_key, auto_increment = false)]
    pub closed_on: Date,
    /// The case's department (the producing department once routed).
    #[sea_orm(primary_key, auto_increment = false)]
    pub department_id: i64,
    #[sea_orm(primary_key, auto_increment = false)]
    pub kind: CaseKind,
    /// The final state's report class (`decided`, `withdrawn`, ...).
    #[sea_orm(primary_key, auto_increment = false)]
    pub closure_class: String,
    /// Routed to the producing department (else the credit office held it).
    #[sea_orm(primary_key, auto_increment = false)]
    pub routed: bool,
    /// Decided within the legal total (false for other classes).
    #[sea_orm(primary_key, auto_increment = false)]
    pub within_legal: bool,
    /// An objection the credit office decided itself within 3 working days.
    #[sea_orm(primary_key, auto_increment = false)]
    pub within_own_scope: bool,
    /// Cases.
    pub n: i64,
    /// Of those, decided cases whose handling time is known.
    pub timed: i64,
    /// Their handling time summed, in working days.
    pub days_sum: i64,
    /// The longest of them, in working days.
    pub days_max: i32,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
