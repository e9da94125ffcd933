//! 站内消息: the signed-in user's message list, opening a message (marks it
//! read and follows its link), and turning mail on or off.

use actix_web::{HttpResponse, web};
use serde::Deserialize;
use serde_json::json;

use super::render::{self, PageError};
use super::session::{Posted, Signed};
use crate::api::PageQuery;
use crate::auth::policy::AnyUser;
use crate::services::messages;
use crate::state::AppState;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/messages", web::get().to(list))
        .route("/messages/read", web::post().to(read_all))
        .route("/messages/preferences", web::post().to(preferences))
        .route("/messages/{id}/open", web::post().to(open));
}

#[derive(Deserialize)]
struct ListQuery {
    unread: Option<String>,
    page: Option<u64>,
}

async fn list(
    state: web::Data<AppState>,
    who: Signed<AnyUser>,
    q: web::Query<ListQuery>,
) -> Result<HttpResponse, PageError> {
    let (page, per_page) = PageQuery::resolve(q.page, Some(20))?;
    let unread_only = q.unread.is_some();
    let p = messages::list(&state, &who, unread_only, page, per_page).await?;
    let prefs = messages::preferences(&state, &who).await?;
    let ctx = json!({
        "items": p.items, "total": p.total, "unread": p.unread, "page": page,
        "pages": p.total.div_ceil(per_page), "unread_only": unread_only, "prefs": prefs,
    });
    render::ok("messages.html", Some(&who.session), "站内消息", ctx)
}

#[derive(Deserialize)]
struct CsrfOnly {
    csrf: String,
}
crate::csrf_form!(CsrfOnly);

/// Opens a message: marks it read and goes where it leads (else back to the list).
async fn open(
    state: web::Data<AppState>,
    p: Posted<AnyUser, CsrfOnly>,
    id: web::Path<i64>,
) -> Result<HttpResponse, PageError> {
    let m = messages::mark_read(&state, &p.who, id.into_inner()).await?;
    // Only links into this server are followed.
    let to = m
        .link
        .as_deref()
        .and_then(|l| l.strip_prefix(state.settings.public_url.as_str()).or(Some(l)))
        .filter(|l| l.starts_with('/') && !l.starts_with("//"))
        .unwrap_or("/messages");
    Ok(render::redirect(to))
}

async fn read_all(state: web::Data<AppState>, p: Posted<AnyUser, CsrfOnly>) -> Result<HttpResponse, PageError> {
    messages::mark_all_read(&state, &p.who).await?;
    Ok(render::redirect("/messages"))
}

#[derive(Deserialize)]
struct PrefsForm {
    csrf: String,
    mail_enabled: Option<String>,
}
crate::csrf_form!(PrefsForm);

async fn preferences(state: web::Data<AppState>, p: Posted<AnyUser, PrefsForm>) -> Result<HttpResponse, PageError> {
    messages::set_mail_enabled(&state, &p.who, p.form.mail_enabled.is_some()).await?;
    Ok(render::redirect("/messages"))
}
