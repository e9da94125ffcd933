//! Cases: intake, reading, transitions with their effects, attachments,
//! deadlines and the audit chain.

pub mod act;
pub mod attachments;
pub mod audit;
pub mod create;
pub mod deadlines;
pub mod effects;
pub mod expiry;
pub mod view;

use sea_orm::{ColumnTrait, Condition};

use crate::auth::AuthUser;
use crate::workflow::Role;
use entity::case;

/// The condition limiting cases to what `user` may see: an applicant its own
/// subject's, a department officer those routed to its department, the
/// credit office all.
pub fn scope(user: &AuthUser) -> Condition {
    match user.role {
        Role::Applicant => match user.subject_id {
            Some(s) => Condition::all().add(case::Column::SubjectId.eq(s)),
            None => Condition::all().add(case::Column::Id.lt(0)),
        },
        Role::DepartmentOfficer => match user.department_id {
            Some(d) => Condition::all().add(case::Column::DepartmentId.eq(d)).add(case::Column::RoutedAt.is_not_null()),
            None => Condition::all().add(case::Column::Id.lt(0)),
        },
        Role::CreditOffice | Role::Admin => Condition::all(),
        Role::System => Condition::all().add(case::Column::Id.lt(0)),
    }
}

/// Chinese label of a case kind.
pub fn kind_label(kind: &str) -> &'static str {
    match kind {
        "objection" => "异议申请",
        "repair" => "信用修复申请",
        _ => "申请",
    }
}

/// Current time truncated to microseconds, so that timestamps read back from
/// either database equal what was hashed into the audit chain.
pub fn now_micros(state: &crate::state::AppState) -> chrono::DateTime<chrono::Utc> {
    use chrono::SubsecRound;
    state.clock.now().trunc_subsecs(6)
}
