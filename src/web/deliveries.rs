//! Delivery pages: the credit office lists sync deliveries by status
//! (failed and dead by default) and sends them again, one or all; an
//! administrator manages the subscribers. The same services as the JSON API.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use serde::Deserialize;
use serde_json::json;

use super::render::{self, PageError};
use super::session::{Posted, Signed};
use crate::auth::policy::{AdminOnly, Staff};
use crate::error::ApiError;
use crate::services::admin::subscribers::{self as subs, SubscriberInput};
use crate::services::deliveries;
use crate::services::sessions::Session;
use crate::state::AppState;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/office/deliveries", web::get().to(deliveries_page))
        .route("/office/deliveries/resend", web::post().to(resend_all))
        .route("/office/deliveries/{id}/resend", web::post().to(resend_one))
        .route("/admin/subscribers", web::get().to(subscribers_page))
        .route("/admin/subscribers", web::post().to(create_subscriber))
        .route("/admin/subscribers/{id}", web::post().to(update_subscriber));
}

/// Status names as the pages show them.
pub const STATUS_LABELS: [(&str, &str); 5] = [
    ("pending", "待发送"),
    ("sending", "发送中"),
    ("failed", "失败待重试"),
    ("delivered", "已送达"),
    ("dead", "已放弃"),
];

#[derive(Deserialize)]
struct StatusQuery {
    status: Option<String>,
    done: Option<String>,
}

async fn show_deliveries(
    state: &AppState,
    session: &Session,
    status: Option<&str>,
    code: StatusCode,
    notice: Option<String>,
    error: Option<String>,
) -> Result<HttpResponse, PageError> {
    let list = deliveries::list(state, status.filter(|s| !s.is_empty())).await?;
    let ctx = json!({
        "deliveries": list, "status": status.unwrap_or(""), "labels": STATUS_LABELS,
        "notice": notice, "error": error,
    });
    render::with_status(code, "deliveries.html", Some(session), "数据推送", ctx)
}

async fn deliveries_page(
    state: web::Data<AppState>,
    who: Signed<Staff>,
    q: web::Query<StatusQuery>,
) -> Result<HttpResponse, PageError> {
    let notice = q.done.as_deref().map(|n| match n.parse::<u64>() {
        Ok(0) => "没有需要重新发送的推送。".to_string(),
        Ok(n) => format!("已安排重新发送 {n} 条推送，将在下一次调度时发出。"),
        Err(_) => "已安排重新发送，将在下一次调度时发出。".to_string(),
    });
    show_deliveries(&state, &who.session, q.status.as_deref(), StatusCode::OK, notice, None).await
}

#[derive(Deserialize)]
struct CsrfOnly {
    csrf: String,
}
crate::csrf_form!(CsrfOnly);

async fn resend_all(state: web::Data<AppState>, p: Posted<Staff, CsrfOnly>) -> Result<HttpResponse, PageError> {
    let n = deliveries::resend_all(&state, p.who.id).await?;
    Ok(render::redirect(&format!("/office/deliveries?done={n}")))
}

async fn resend_one(
    state: web::Data<AppState>,
    id: web::Path<i64>,
    p: Posted<Staff, CsrfOnly>,
) -> Result<HttpResponse, PageError> {
    match deliveries::resend(&state, p.who.id, id.into_inner()).await {
        Ok(_) => Ok(render::redirect("/office/deliveries?done=1")),
        Err(e @ (ApiError::Internal(_) | ApiError::NotFound { .. })) => Err(e.into()),
        Err(e) => {
            show_deliveries(&state, &p.who.session, None, render::status_of(&e), None, Some(render::describe(&e))).await
        }
    }
}

// ------------------------------------------------------------ subscribers

async fn show_subscribers(
    state: &AppState,
    session: &Session,
    code: StatusCode,
    notice: Option<&str>,
    error: Option<String>,
) -> Result<HttpResponse, PageError> {
    let ctx = json!({"subscribers": subs::list_subscribers(state).await?, "notice": notice, "error": error});
    render::with_status(code, "admin_subscribers.html", Some(session), "推送订阅", ctx)
}

async fn subscribers_page(
    state: web::Data<AppState>,
    who: Signed<AdminOnly>,
    q: web::Query<StatusQuery>,
) -> Result<HttpResponse, PageError> {
    let notice = q.done.as_deref().map(|_| "已保存。");
    show_subscribers(&state, &who.session, StatusCode::OK, notice, None).await
}

#[derive(Deserialize)]
struct SubscriberForm {
    csrf: String,
    name: Option<String>,
    kind: Option<String>,
    target: Option<String>,
    /// Empty: unchanged (when editing).
    secret: Option<String>,
    /// Sync actions separated by commas, spaces or new lines; `*` for all.
    events: Option<String>,
    /// `on` / `off` (the enable and disable buttons).
    active: Option<String>,
}
crate::csrf_form!(SubscriberForm);

impl SubscriberForm {
    fn input(&self) -> SubscriberInput {
        let some = |s: &Option<String>| s.as_deref().map(str::trim).filter(|s| !s.is_empty()).map(str::to_string);
        SubscriberInput {
            name: some(&self.name),
            kind: some(&self.kind),
            target: some(&self.target),
            secret: some(&self.secret),
            events: some(&self.events).map(|e| {
                e.split([',', '，', ' ', '\n', '\r', '、']).filter(|x| !x.is_empty()).map(str::to_string).collect()
            }),
            active: self.active.as_deref().map(|a| a == "on"),
        }
    }
}

async fn settle(
    state: &AppState,
    session: &Session,
    res: Result<subs::SubscriberView, ApiError>,
) -> Result<HttpResponse, PageError> {
    match res {
        Ok(_) => Ok(render::redirect("/admin/subscribers?done=1")),
        Err(e @ (ApiError::Internal(_) | ApiError::NotFound { .. })) => Err(e.into()),
        Err(e) => show_subscribers(state, session, render::status_of(&e), None, Some(render::describe(&e))).await,
    }
}

async fn create_subscriber(
    state: web::Data<AppState>,
    p: Posted<AdminOnly, SubscriberForm>,
) -> Result<HttpResponse, PageError> {
    let res = subs::create_subscriber(&state, p.who.id, p.form.input()).await;
    settle(&state, &p.who.session, res).await
}

async fn update_subscriber(
    state: web::Data<AppState>,
    id: web::Path<i64>,
    p: Posted<AdminOnly, SubscriberForm>,
) -> Result<HttpResponse, PageError> {
    let res = subs::update_subscriber(&state, p.who.id, id.into_inner(), p.form.input()).await;
    settle(&state, &p.who.session, res).await
}
