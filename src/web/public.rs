//! Pages anyone may open: the public credit query, the guide, signing in
//! and out.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;
use serde_json::json;

use super::render::{self, PageError, home_of};
use super::session::{self, COOKIE, LOGIN_COOKIE, Posted, Visitor};
use crate::api::PageQuery;
use crate::api::client::ClientAddr;
use crate::auth::policy::AnyUser;
use crate::services::{records, sessions};
use crate::state::AppState;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/", web::get().to(search))
        .route("/guide", web::get().to(guide))
        .route("/verify", web::get().to(verify))
        .route("/login", web::get().to(login_page))
        .route("/login", web::post().to(login))
        .route("/logout", web::post().to(logout));
}

#[derive(Deserialize)]
struct SearchQuery {
    q: Option<String>,
    page: Option<u64>,
}

/// 信用信息查询: by USCC or by company name, what is published now.
async fn search(
    state: web::Data<AppState>,
    visitor: Visitor,
    q: web::Query<SearchQuery>,
) -> Result<HttpResponse, PageError> {
    let query = q.q.clone().unwrap_or_default();
    let (page, per_page) = PageQuery::resolve(q.page, Some(10))?;
    let (status, ctx) = match records::public_search(&state.db, &query, page, per_page).await {
        Ok((subjects, total)) => (
            StatusCode::OK,
            json!({"q": query, "subjects": subjects, "total": total, "page": page,
                   "pages": total.div_ceil(per_page), "searched": !query.trim().is_empty()}),
        ),
        Err(e) => (render::status_of(&e), json!({"q": query, "error": render::describe(&e), "searched": false})),
    };
    render::with_status(status, "public_search.html", visitor.0.as_ref(), "信用信息查询", ctx)
}

#[derive(Deserialize)]
struct VerifyQuery {
    number: Option<String>,
    code: Option<String>,
}

/// 文书核验: is this document genuine? (number and code printed on it)
async fn verify(
    state: web::Data<AppState>,
    visitor: Visitor,
    q: web::Query<VerifyQuery>,
) -> Result<HttpResponse, PageError> {
    let number = q.number.clone().unwrap_or_default();
    let code = q.code.clone().unwrap_or_default();
    let asked = !number.trim().is_empty() || !code.trim().is_empty();
    let (status, ctx) = if !asked {
        (StatusCode::OK, json!({"number": number, "code": code}))
    } else {
        match crate::services::documents::verify(&state, &number, &code).await {
            Ok(v) => (StatusCode::OK, json!({"number": number, "code": code, "found": v})),
            Err(crate::error::ApiError::NotFound { .. }) => {
                (StatusCode::NOT_FOUND, json!({"number": number, "code": code, "not_found": true}))
            }
            Err(crate::error::ApiError::Internal(e)) => return Err(PageError::Internal(e)),
            Err(e) => (render::status_of(&e), json!({"number": number, "code": code, "error": render::describe(&e)})),
        }
    };
    render::with_status(status, "verify.html", visitor.0.as_ref(), "文书核验", ctx)
}

/// How to object or apply for repair, with the windows from the configured rules.
async fn guide(state: web::Data<AppState>, visitor: Visitor) -> Result<HttpResponse, PageError> {
    let rules: Vec<serde_json::Value> = state
        .settings
        .publication
        .rules
        .iter()
        .map(|r| {
            json!({
                "regime": r.regime.label_zh(), "severity": r.severity.label_zh(), "published": r.published,
                "repairable": r.repairable, "min_months": r.min_months, "max_months": r.max_months,
            })
        })
        .collect();
    let workflows: Vec<serde_json::Value> = state
        .workflows
        .all_current()
        .iter()
        .map(|d| {
            json!({"id": d.id, "title": d.title, "total": d.total_working_days,
                   "materials": d.required_materials.iter().map(|k| crate::workflow::attachment_kind_title(k).unwrap_or(k)).collect::<Vec<_>>()})
        })
        .collect();
    let ctx = json!({
        "rules": rules, "workflows": workflows,
        "day_after": state.settings.publication.repair_from_day_after,
        "conduct_cap_months": state.settings.publication.conduct_cap_months,
    });
    render::ok("guide.html", visitor.0.as_ref(), "办事指南", ctx)
}

#[derive(Deserialize)]
struct NextQuery {
    next: Option<String>,
}

/// Only a path on this server (no scheme, no host) is followed after login.
fn safe_next(next: Option<&str>) -> Option<String> {
    next.filter(|n| n.starts_with('/') && !n.starts_with("//") && !n.contains('\\') && !n.starts_with("/login"))
        .map(str::to_string)
}

fn login_form(
    state: &AppState,
    status: StatusCode,
    next: Option<String>,
    username: &str,
    error: Option<String>,
) -> Result<HttpResponse, PageError> {
    let token = crate::auth::random_token();
    let ctx = json!({"next": next, "username": username, "error": error, "login_csrf": token});
    let body = render::page("login.html", None, "登录", ctx)?;
    let mut res = render::html(status, body);
    res.add_cookie(&session::cookie(state, LOGIN_COOKIE, token)).map_err(|e| PageError::Internal(e.into()))?;
    Ok(res)
}

async fn login_page(
    state: web::Data<AppState>,
    visitor: Visitor,
    q: web::Query<NextQuery>,
) -> Result<HttpResponse, PageError> {
    if let Some(s) = visitor.0 {
        let to = safe_next(q.next.as_deref()).unwrap_or_else(|| home_of(s.user.role).to_string());
        return Ok(render::redirect(&to));
    }
    login_form(&state, StatusCode::OK, safe_next(q.next.as_deref()), "", None)
}

#[derive(Deserialize)]
struct LoginForm {
    username: String,
    password: String,
    csrf: String,
    next: Option<String>,
}

/// Signs in: the same credentials check and sign-in throttle as the API.
async fn login(
    state: web::Data<AppState>,
    req: HttpRequest,
    client: ClientAddr,
    form: web::Form<LoginForm>,
) -> Result<HttpResponse, PageError> {
    let f = form.into_inner();
    let next = safe_next(f.next.as_deref());
    let cookie_token = req.cookie(LOGIN_COOKIE).map(|c| c.value().to_string()).unwrap_or_default();
    if cookie_token.is_empty() || !session::same_token(&cookie_token, &f.csrf) {
        return login_form(&state, StatusCode::FORBIDDEN, next, &f.username, Some(PageError::Csrf.to_string()));
    }
    match sessions::sign_in(&state, f.username.trim(), f.password, &client.0).await {
        Ok((token, user)) => {
            let to = next.unwrap_or_else(|| home_of(user.role).to_string());
            let mut res = render::redirect(&to);
            res.add_cookie(&session::cookie(&state, COOKIE, token)).map_err(|e| PageError::Internal(e.into()))?;
            res.add_cookie(&session::removal(&state, LOGIN_COOKIE)).map_err(|e| PageError::Internal(e.into()))?;
            Ok(res)
        }
        Err(crate::error::ApiError::Internal(e)) => Err(PageError::Internal(e)),
        Err(e) => {
            let mut res = login_form(&state, render::status_of(&e), next, &f.username, Some(render::describe(&e)))?;
            if let Some(secs) = e.retry_after() {
                res.headers_mut()
                    .insert(actix_web::http::header::RETRY_AFTER, actix_web::http::header::HeaderValue::from(secs));
            }
            Ok(res)
        }
    }
}

#[derive(Deserialize)]
struct CsrfOnly {
    csrf: String,
}
crate::csrf_form!(CsrfOnly);

/// Signs out: the session ends on the server.
async fn logout(
    state: web::Data<AppState>,
    req: HttpRequest,
    _posted: Posted<AnyUser, CsrfOnly>,
) -> Result<HttpResponse, PageError> {
    if let Some(c) = req.cookie(COOKIE) {
        sessions::end(&state, c.value()).await?;
    }
    let mut res = render::redirect("/login");
    res.add_cookie(&session::removal(&state, COOKIE)).map_err(|e| PageError::Internal(e.into()))?;
    Ok(res)
}

#[cfg(test)]
mod tests {
    use super::safe_next;

    #[test]
    fn only_local_paths_are_followed_after_login() {
        assert_eq!(safe_next(Some("/cases/3")), Some("/cases/3".into()));
        assert_eq!(safe_next(Some("//evil.example/x")), None);
        assert_eq!(safe_next(Some("https://evil.example/")), None);
        assert_eq!(safe_next(Some("/\\evil")), None);
        assert_eq!(safe_next(None), None);
    }
}
