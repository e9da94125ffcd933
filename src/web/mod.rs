//! The web pages: a second edge beside the JSON API (`src/api/`). Handlers
//! extract the caller (a page session, `Signed<Policy>`), call the same
//! services the API calls and render a template; every form works without
//! JavaScript (post, redirect, see the result), and the vendored htmx only
//! makes navigation smoother. Scope is the services': what the API answers
//! 404 to, a page answers with a 404 page.

pub mod admin;
pub mod cases;
pub mod deliveries;
pub mod imports;
pub mod messages;
pub mod office;
pub mod public;
pub mod render;
pub mod session;

use actix_web::{HttpResponse, web};

/// The style sheet, hand-written.
const APP_CSS: &str = include_str!("../../assets/app.css");
/// htmx 2 from the npm registry's `htmx.org` package (0BSD, licence beside it).
const HTMX: &str = include_str!("../../assets/vendor/htmx/htmx.min.js");
const HTMX_LICENSE: &str = include_str!("../../assets/vendor/htmx/LICENSE");

fn asset(content_type: &'static str, body: &'static str) -> HttpResponse {
    HttpResponse::Ok().content_type(content_type).insert_header(("Cache-Control", "public, max-age=3600")).body(body)
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/static/app.css", web::get().to(|| async { asset("text/css; charset=utf-8", APP_CSS) }))
        .route("/static/htmx.min.js", web::get().to(|| async { asset("text/javascript; charset=utf-8", HTMX) }))
        .route(
            "/static/htmx-LICENSE.txt",
            web::get().to(|| async { asset("text/plain; charset=utf-8", HTMX_LICENSE) }),
        );
    public::configure(cfg);
    cases::configure(cfg);
    messages::configure(cfg);
    office::configure(cfg);
    admin::configure(cfg);
    imports::configure(cfg);
    deliveries::configure(cfg);
}
