//! Who may call a route, said where the route is declared: a handler takes
//! `Guarded<P>` for a policy `P`, the extractor authenticates the bearer
//! token (the account is re-read, so a deactivated account or a changed
//! department takes effect at once) and answers 401 or 403 before the handler
//! runs. A route cannot be registered without naming its policy.

use std::future::Future;
use std::marker::PhantomData;
use std::ops::Deref;
use std::pin::Pin;

use actix_web::{FromRequest, HttpRequest, dev::Payload, web};
use sea_orm::EntityTrait;

use crate::auth::AuthUser;
use crate::error::ApiError;
use crate::state::AppState;
use crate::workflow::Role;

/// A rule on the caller's role.
pub trait Policy {
    fn allows(role: Role) -> bool;
}

/// Any signed-in user; what they see is then limited by scope.
pub struct AnyUser;
/// An enterprise applicant.
pub struct ApplicantOnly;
/// Someone who works on cases: applicant, department officer, credit office
/// (not an administrator, who manages accounts and data).
pub struct CaseParty;
/// The credit office or an administrator.
pub struct Staff;
/// An administrator.
pub struct AdminOnly;

impl Policy for AnyUser {
    fn allows(role: Role) -> bool {
        role != Role::System
    }
}
impl Policy for ApplicantOnly {
    fn allows(role: Role) -> bool {
        role == Role::Applicant
    }
}
impl Policy for CaseParty {
    fn allows(role: Role) -> bool {
        matches!(role, Role::Applicant | Role::DepartmentOfficer | Role::CreditOffice)
    }
}
impl Policy for Staff {
    fn allows(role: Role) -> bool {
        matches!(role, Role::CreditOffice | Role::Admin)
    }
}
impl Policy for AdminOnly {
    fn allows(role: Role) -> bool {
        role == Role::Admin
    }
}

/// The authenticated caller, admitted by policy `P`.
pub struct Guarded<P: Policy>(pub AuthUser, PhantomData<P>);

/// Any signed-in user.
pub type Caller = Guarded<AnyUser>;

impl<P: Policy> Deref for Guarded<P> {
    type Target = AuthUser;
    fn deref(&self) -> &AuthUser {
        &self.0
    }
}

fn unauthenticated() -> ApiError {
    ApiError::Unauthorized { code: "unauthenticated", message: "请先登录".into() }
}

/// The caller of a request carrying a bearer token.
async fn authenticate(req: HttpRequest) -> Result<AuthUser, ApiError> {
    let state = req
        .app_data::<web::Data<AppState>>()
        .ok_or_else(|| ApiError::Internal(anyhow::anyhow!("app state missing")))?
        .clone();
    let header = req
        .headers()
        .get(actix_web::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .ok_or_else(unauthenticated)?;
    let token =
        header.strip_prefix("Bearer ").or_else(|| header.strip_prefix("bearer ")).ok_or_else(unauthenticated)?;
    let claims = state.jwt.verify(token.trim(), state.clock.now().timestamp())?;
    let user =
        entity::user::Entity::find_by_id(claims.sub).one(&state.db).await?.filter(|u| u.active).ok_or_else(|| {
            ApiError::Unauthorized { code: "token_invalid", message: "账号不存在或已停用".into() }
        })?;
    let role = Role::parse(&user.role).ok_or_else(|| ApiError::Internal(anyhow::anyhow!("bad role in db")))?;
    Ok(AuthUser {
        id: user.id,
        username: user.username,
        role,
        department_id: user.department_id,
        subject_id: user.subject_id,
    })
}

impl<P: Policy + 'static> FromRequest for Guarded<P> {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            let user = authenticate(req).await?;
            if !P::allows(user.role) {
                return Err(ApiError::Forbidden);
            }
            Ok(Guarded(user, PhantomData))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policies() {
        let all = [Role::Applicant, Role::DepartmentOfficer, Role::CreditOffice, Role::Admin, Role::System];
        let allowed = |f: fn(Role) -> bool| all.iter().copied().filter(|r| f(*r)).collect::<Vec<_>>();
        assert_eq!(allowed(AnyUser::allows).len(), 4);
        assert_eq!(allowed(ApplicantOnly::allows), [Role::Applicant]);
        assert_eq!(allowed(CaseParty::allows), [Role::Applicant, Role::DepartmentOfficer, Role::CreditOffice]);
        assert_eq!(allowed(Staff::allows), [Role::CreditOffice, Role::Admin]);
        assert_eq!(allowed(AdminOnly::allows), [Role::Admin]);
    }
}
