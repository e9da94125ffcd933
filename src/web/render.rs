//! Page templates (minijinja, `templates/pages/`, embedded in the binary),
//! the frame every page shares (navigation by role, the signed-in user, the
//! CSRF token), page responses, and the error page (the security headers
//! every response gets are `crate::middleware`'s).

use std::sync::LazyLock;

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use minijinja::Environment;
use serde_json::{Map, Value, json};

use crate::error::ApiError;
use crate::services::sessions::Session;
use crate::workflow::Role;

/// The page templates, embedded.
pub const PAGES: &[(&str, &str)] = &[
    ("base.html", include_str!("../../templates/pages/base.html")),
    ("macros.html", include_str!("../../templates/pages/macros.html")),
    ("error.html", include_str!("../../templates/pages/error.html")),
    ("login.html", include_str!("../../templates/pages/login.html")),
    ("public_search.html", include_str!("../../templates/pages/public_search.html")),
    ("guide.html", include_str!("../../templates/pages/guide.html")),
    ("verify.html", include_str!("../../templates/pages/verify.html")),
    ("messages.html", include_str!("../../templates/pages/messages.html")),
    ("my_records.html", include_str!("../../templates/pages/my_records.html")),
    ("apply.html", include_str!("../../templates/pages/apply.html")),
    ("cases.html", include_str!("../../templates/pages/cases.html")),
    ("case.html", include_str!("../../templates/pages/case.html")),
    ("records.html", include_str!("../../templates/pages/records.html")),
    ("record.html", include_str!("../../templates/pages/record.html")),
    ("dashboard.html", include_str!("../../templates/pages/dashboard.html")),
    ("admin_users.html", include_str!("../../templates/pages/admin_users.html")),
    ("admin_departments.html", include_str!("../../templates/pages/admin_departments.html")),
    ("admin_measures.html", include_str!("../../templates/pages/admin_measures.html")),
    ("admin_records.html", include_str!("../../templates/pages/admin_records.html")),
    ("admin_record.html", include_str!("../../templates/pages/admin_record.html")),
    ("admin_calendar.html", include_str!("../../templates/pages/admin_calendar.html")),
    ("admin_workflows.html", include_str!("../../templates/pages/admin_workflows.html")),
    ("imports.html", include_str!("../../templates/pages/imports.html")),
    ("sync_status.html", include_str!("../../templates/pages/sync_status.html")),
    ("deliveries.html", include_str!("../../templates/pages/deliveries.html")),
    ("admin_subscribers.html", include_str!("../../templates/pages/admin_subscribers.html")),
];

static ENV: LazyLock<Environment<'static>> = LazyLock::new(|| {
    let mut env = Environment::new();
    for (name, src) in PAGES {
        if let Err(e) = env.add_template(name, src) {
            // A broken embedded template is a build defect; the unit test below catches it.
            tracing::error!(template = name, error = %e, "page template does not compile");
        }
    }
    env.add_filter("localtime", localtime);
    env.add_filter("day", day);
    env.add_filter("deadline", deadline);
    env.add_filter("urlencode", |v: String| encode(&v));
    env
});

/// An RFC 3339 instant as local (Asia/Shanghai) "YYYY-MM-DD HH:MM".
fn localtime(v: String) -> String {
    chrono::DateTime::parse_from_rfc3339(&v)
        .map(|t| t.with_timezone(&crate::clock::shanghai()).format("%Y-%m-%d %H:%M").to_string())
        .unwrap_or(v)
}

/// An RFC 3339 instant as its local day.
fn day(v: String) -> String {
    chrono::DateTime::parse_from_rfc3339(&v)
        .map(|t| t.with_timezone(&crate::clock::shanghai()).format("%Y-%m-%d").to_string())
        .unwrap_or(v)
}

/// A deadline instant as the last day it allows: a deadline at local
/// midnight ends the day before ("2026-11-26（含当日）"); any other time
/// is shown as it is.
fn deadline(v: String) -> String {
    let Ok(t) = chrono::DateTime::parse_from_rfc3339(&v) else { return v };
    let local = t.with_timezone(&crate::clock::shanghai());
    if local.format("%H:%M:%S").to_string() == "00:00:00" {
        let last = local.date_naive().pred_opt().unwrap_or(local.date_naive());
        format!("{last}（含当日）")
    } else {
        format!("{} 前", local.format("%Y-%m-%d %H:%M"))
    }
}

/// Navigation for a role (or the public).
fn nav(role: Option<Role>) -> Value {
    let items: &[(&str, &str)] = match role {
        None => &[("/", "信用信息查询"), ("/guide", "办事指南"), ("/verify", "文书核验")],
        Some(Role::Applicant) => &[
            ("/my/records", "我的信用记录"),
            ("/cases?view=mine", "我的申请"),
            ("/", "信用信息查询"),
            ("/guide", "办事指南"),
        ],
        Some(Role::DepartmentOfficer) => &[
            ("/cases?view=todo", "待办"),
            ("/cases?view=done", "已办"),
            ("/records", "本单位信用信息"),
            ("/imports", "批量导入"),
        ],
        Some(Role::CreditOffice) => &[
            ("/office/dashboard", "监测看板"),
            ("/cases?view=intake", "受理"),
            ("/cases?view=all", "全部案件"),
            ("/records", "信用信息"),
            ("/office/deliveries", "数据推送"),
        ],
        Some(Role::Admin) => &[
            ("/admin/users", "用户"),
            ("/admin/departments", "单位"),
            ("/admin/measures", "惩戒措施"),
            ("/admin/records", "信用信息"),
            ("/imports", "批量导入"),
            ("/admin/subscribers", "推送订阅"),
            ("/admin/calendar", "节假日"),
            ("/admin/workflows", "流程"),
        ],
        Some(Role::System) => &[],
    };
    Value::Array(items.iter().map(|(href, label)| json!({"href": href, "label": label})).collect())
}

/// Where a role starts after signing in.
pub fn home_of(role: Role) -> &'static str {
    match role {
        Role::Applicant => "/my/records",
        Role::DepartmentOfficer => "/cases?view=todo",
        Role::CreditOffice => "/office/dashboard",
        Role::Admin => "/admin/users",
        Role::System => "/",
    }
}

/// Renders a page: `ctx` plus the frame (user, navigation, CSRF token).
pub fn page(name: &str, session: Option<&Session>, title: &str, ctx: Value) -> Result<String, PageError> {
    let mut m: Map<String, Value> = match ctx {
        Value::Object(m) => m,
        _ => Map::new(),
    };
    m.insert("title".into(), json!(title));
    m.insert("nav".into(), nav(session.map(|s| s.user.role)));
    if let Some(s) = session {
        m.insert(
            "me".into(),
            json!({"name": s.user.display_name, "username": s.user.username, "role": s.user.role,
                   "role_title": s.user.role.title(), "home": home_of(s.user.role), "unread": s.unread}),
        );
        m.insert("csrf".into(), json!(s.csrf_token));
    }
    let tmpl = ENV.get_template(name).map_err(|e| PageError::Internal(anyhow::anyhow!("template {name}: {e}")))?;
    tmpl.render(minijinja::value::Serde(&m)).map_err(|e| PageError::Internal(anyhow::anyhow!("template {name}: {e:#}")))
}

/// Pages are not cached (they show a signed-in user's data). The security
/// headers every response gets are `crate::middleware`'s.
pub fn with_headers(mut b: actix_web::HttpResponseBuilder) -> actix_web::HttpResponseBuilder {
    b.insert_header(("Cache-Control", "no-store"));
    b
}

/// An HTML response.
pub fn html(status: StatusCode, body: String) -> HttpResponse {
    with_headers(HttpResponse::build(status)).content_type("text/html; charset=utf-8").body(body)
}

/// A rendered page, 200.
pub fn ok(name: &str, session: Option<&Session>, title: &str, ctx: Value) -> Result<HttpResponse, PageError> {
    Ok(html(StatusCode::OK, page(name, session, title, ctx)?))
}

/// A rendered page with another status (a form shown again with its error).
pub fn with_status(
    status: StatusCode,
    name: &str,
    session: Option<&Session>,
    title: &str,
    ctx: Value,
) -> Result<HttpResponse, PageError> {
    Ok(html(status, page(name, session, title, ctx)?))
}

/// 303 See Other: after a form, the browser loads the result.
pub fn redirect(to: &str) -> HttpResponse {
    with_headers(HttpResponse::SeeOther()).insert_header(("Location", to)).finish()
}

/// The message a form shows for a refused input: the error's message and
/// each field's message.
pub fn describe(e: &ApiError) -> String {
    match e {
        ApiError::Validation(fields) => {
            let msgs: Vec<&str> = fields.iter().map(|f| f.message.as_str()).collect();
            msgs.join("；")
        }
        other => other.to_string(),
    }
}

/// The status a refused form is shown again with.
pub fn status_of(e: &ApiError) -> StatusCode {
    e.status_code()
}

/// What a page answers when it cannot show itself.
#[derive(Debug, thiserror::Error)]
pub enum PageError {
    /// Not signed in (or the session ended): to the login page, then back.
    #[error("请先登录")]
    Login { next: String },
    #[error("无权访问此页面")]
    Forbidden,
    #[error("页面不存在或无权访问")]
    NotFound,
    #[error("{0}")]
    BadRequest(String),
    /// A state-changing form without its session's CSRF token.
    #[error("表单已失效，请刷新页面后重新提交")]
    Csrf,
    #[error("服务器内部错误，请稍后再试")]
    Internal(anyhow::Error),
    #[error("{}", describe(.0))]
    Refused(ApiError),
}

impl From<ApiError> for PageError {
    fn from(e: ApiError) -> Self {
        match e {
            ApiError::NotFound { .. } => PageError::NotFound,
            ApiError::Forbidden => PageError::Forbidden,
            ApiError::Unauthorized { .. } => PageError::Login { next: "/".into() },
            ApiError::Internal(e) => PageError::Internal(e),
            other => PageError::Refused(other),
        }
    }
}

impl From<anyhow::Error> for PageError {
    fn from(e: anyhow::Error) -> Self {
        PageError::Internal(e)
    }
}

impl From<sea_orm::DbErr> for PageError {
    fn from(e: sea_orm::DbErr) -> Self {
        PageError::Internal(e.into())
    }
}

impl PageError {
    /// A stable code, shown on the error page (`data-error-code`).
    pub fn code(&self) -> &str {
        match self {
            PageError::Login { .. } => "login_required",
            PageError::Forbidden => "forbidden",
            PageError::NotFound => "not_found",
            PageError::BadRequest(_) => "bad_request",
            PageError::Csrf => "csrf_invalid",
            PageError::Internal(_) => "internal_error",
            PageError::Refused(e) => e.code(),
        }
    }
}

/// The error page.
fn error_page(status: StatusCode, code: &str, message: &str, request_id: Option<String>) -> HttpResponse {
    let ctx = json!({"status": status.as_u16(), "code": code, "message": message, "request_id": request_id});
    let body = page("error.html", None, "出错了", ctx)
        .unwrap_or_else(|_| format!("<!doctype html><title>{}</title><p>{}</p>", status.as_u16(), message));
    html(status, body)
}

/// The page of every 500: a fixed message and the request's id, never the
/// error itself (`crate::middleware` puts it in place of any 500 body).
pub fn internal_page(request_id: Option<String>) -> HttpResponse {
    let generic = PageError::Internal(anyhow::anyhow!("generic"));
    error_page(StatusCode::INTERNAL_SERVER_ERROR, generic.code(), &generic.to_string(), request_id)
}

impl ResponseError for PageError {
    fn status_code(&self) -> StatusCode {
        match self {
            PageError::Login { .. } => StatusCode::SEE_OTHER,
            PageError::Forbidden | PageError::Csrf => StatusCode::FORBIDDEN,
            PageError::NotFound => StatusCode::NOT_FOUND,
            PageError::BadRequest(_) => StatusCode::BAD_REQUEST,
            PageError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
            PageError::Refused(e) => e.status_code(),
        }
    }

    fn error_response(&self) -> HttpResponse {
        if let PageError::Login { next } = self {
            let to = format!("/login?next={}", encode(next));
            return redirect(&to);
        }
        if let PageError::Internal(e) = self {
            tracing::error!(error = ?e, "page failed");
        }
        error_page(self.status_code(), self.code(), &self.to_string(), None)
    }
}

/// Percent-encodes a query value.
pub fn encode(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => out.push(b as char),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_page_template_file_is_embedded() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("templates/pages");
        for entry in std::fs::read_dir(dir).unwrap() {
            let name = entry.unwrap().file_name().into_string().unwrap();
            assert!(PAGES.iter().any(|(n, _)| *n == name), "templates/pages/{name} is not in PAGES");
        }
    }

    #[test]
    fn every_page_template_compiles() {
        let mut env = Environment::new();
        for (name, src) in PAGES {
            env.add_template(name, src).unwrap_or_else(|e| panic!("{name}: {e:#}"));
        }
        assert_eq!(deadline("2026-11-26T16:00:00Z".into()), "2026-11-26（含当日）");
        assert_eq!(deadline("2026-11-26T08:30:00Z".into()), "2026-11-26 16:30 前");
        let html = page("error.html", None, "出错了", json!({"status": 404, "message": "页面不存在"})).unwrap();
        assert!(html.contains("页面不存在") && html.contains("/static/app.css"));
    }

    #[test]
    fn query_values_are_encoded() {
        assert_eq!(encode("/cases?view=todo&x=1"), "/cases%3Fview%3Dtodo%26x%3D1");
    }
}
