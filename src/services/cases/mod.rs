//! Cases: intake, reading, transitions with their effects, attachments,
//! deadlines and the audit chain.

pub mod act;
pub mod attachments;
pub mod audit;
pub mod create;
pub mod deadlines;
pub mod effects;
pub mod escalation;
pub mod expiry;
pub mod facts;
pub mod input;
pub mod notice;
pub mod view;

use sea_orm::{ColumnTrait, Condition, ConnectionTrait, EntityTrait, JoinType, QueryFilter, QuerySelect};

use crate::auth::AuthUser;
use crate::error::{ApiError, ApiResult};
use crate::workflow::Role;
use entity::{case, record};

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

/// The case if `user` may see it; 404 otherwise (existence does not leak).
pub async fn find_in_scope<C: ConnectionTrait>(db: &C, user: &AuthUser, id: i64) -> ApiResult<case::Model> {
    case::Entity::find_by_id(id).filter(scope(user)).one(db).await?.ok_or_else(|| ApiError::not_found("案件"))
}

/// The case (in `user`'s scope, when a user acts) with its record, in one query.
pub(crate) async fn case_with_record<C: ConnectionTrait>(
    db: &C,
    user: Option<&AuthUser>,
    case_id: i64,
) -> ApiResult<(case::Model, record::Model)> {
    let to_record: sea_orm::RelationDef =
        case::Entity::belongs_to(record::Entity).from(case::Column::RecordId).to(record::Column::Id).into();
    let mut q = case::Entity::find_by_id(case_id);
    if let Some(u) = user {
        q = q.filter(scope(u));
    }
    let (c, rec) = q
        .select_also(record::Entity)
        .join(JoinType::InnerJoin, to_record)
        .one(db)
        .await?
        .ok_or_else(|| ApiError::not_found("案件"))?;
    Ok((c, rec.ok_or_else(|| ApiError::not_found("信用信息"))?))
}

/// Current time truncated to microseconds, so that timestamps read back from
/// either database equal what was hashed into the audit chain.
pub fn now_micros(state: &crate::state::AppState) -> chrono::DateTime<chrono::Utc> {
    use chrono::SubsecRound;
    state.clock.now().trunc_subsecs(6)
}
