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

use crate::auth::AuthUser;
pub use crate::auth::policy::{AdminOnly, AnyUser, ApplicantOnly, CaseParty, Importer, Policy, RecordKeeper, Staff};
use crate::error::ApiError;
use crate::state::AppState;

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

/// What the request alone tells, without waiting on anything: the state,
/// and the token's subject. The token's role is checked against the policy
/// here too, so a refused role is answered before any body is read (the body
/// extractor never gets to speak first).
fn precheck<P: Policy>(req: &HttpRequest) -> Result<(web::Data<AppState>, i64), ApiError> {
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
    if !crate::workflow::Role::parse(&claims.role).is_some_and(P::allows) {
        return Err(ApiError::Forbidden);
    }
    Ok((state, claims.sub))
}

/// The account behind a checked token, read again: a deactivated account or
/// a changed role takes effect at once.
async fn authenticate<P: Policy>(state: web::Data<AppState>, sub: i64) -> Result<AuthUser, ApiError> {
    let user = crate::services::accounts::caller(&state.read, sub)
        .await?
        .ok_or_else(|| ApiError::Unauthorized {
            code: "token_invalid", message: "账号不存在或已停用".into()
        })?;
    if !P::allows(user.role) {
        return Err(ApiError::Forbidden);
    }
    Ok(user)
}

impl<P: Policy + 'static> FromRequest for Guarded<P> {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        match precheck::<P>(req) {
            // Ready at the first poll: answered before the body extractor's error.
            Err(e) => Box::pin(async move { Err(e) }),
            Ok((state, sub)) => Box::pin(async move { Ok(Guarded(authenticate::<P>(state, sub).await?, PhantomData)) }),
        }
    }
}
