//! The credit office's monitoring dashboard: open, due within one working
//! day and overdue cases by department and kind, the longest-overdue cases
//! with an urge button, timeliness for a chosen period, and two charts drawn
//! as SVG on the server.

use std::fmt::Write;

use actix_web::{HttpResponse, web};
use chrono::NaiveDate;
use serde::Deserialize;
use serde_json::json;

use super::render::{self, PageError};
use super::session::Signed;
use crate::auth::policy::Staff;
use crate::services::reports::{self, Dashboard};
use crate::state::AppState;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/office/dashboard", web::get().to(dashboard)).route("/office/statistics", web::get().to(statistics));
}

#[derive(Deserialize)]
struct StatisticsQuery {
    format: Option<String>,
    from: Option<String>,
    to: Option<String>,
}

/// The statistics workbook for the dashboard's period.
async fn statistics(
    state: web::Data<AppState>,
    _who: Signed<Staff>,
    q: web::Query<StatisticsQuery>,
) -> Result<HttpResponse, PageError> {
    let format = crate::services::exports::ExportFormat::parse(q.format.as_deref().unwrap_or("xlsx"))?;
    let (_, _, start, end) = reports::period(state.clock.today(), date(q.from.as_deref())?, date(q.to.as_deref())?)?;
    let e = crate::services::exports::statistics(&state, start, end, format).await?;
    Ok(crate::api::export_response(e))
}

#[derive(Deserialize)]
struct PeriodQuery {
    from: Option<String>,
    to: Option<String>,
}

fn date(s: Option<&str>) -> Result<Option<NaiveDate>, PageError> {
    match s.filter(|s| !s.is_empty()) {
        None => Ok(None),
        Some(s) => s.parse().map(Some).map_err(|_| PageError::BadRequest("日期格式应为 YYYY-MM-DD".into())),
    }
}

async fn dashboard(
    state: web::Data<AppState>,
    who: Signed<Staff>,
    q: web::Query<PeriodQuery>,
) -> Result<HttpResponse, PageError> {
    let d = reports::dashboard(&state, date(q.from.as_deref())?, date(q.to.as_deref())?).await?;
    let ctx = json!({
        "from": q.from, "to": q.to,
        "d": d, "by_department_svg": department_chart(&d), "weeks_svg": weeks_chart(&d),
        "share_objections": percent(d.objections.share_within_deadline),
        "share_repairs": percent(d.repairs.share_within_deadline),
    });
    render::ok("dashboard.html", Some(&who.session), "监测看板", ctx)
}

fn percent(share: Option<f64>) -> String {
    share.map(|s| format!("{:.0}%", s * 100.0)).unwrap_or_else(|| "—".into())
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

/// Open and overdue cases by department, as horizontal bars (names after
/// ten characters are cut with an ellipsis; the full name is the title).
fn department_chart(d: &Dashboard) -> String {
    const LABEL: i32 = 220; // where the bars start
    const WIDTH: f64 = 280.0;
    let max = d.rows.iter().map(|r| r.open_objections + r.open_repairs).max().unwrap_or(0).max(1) as f64;
    let height = 30 + d.rows.len() as i32 * 28;
    let mut svg = format!(
        r##"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 560 {height}" width="100%" role="img" aria-label="各单位在办与超期案件" font-family="sans-serif" font-size="12">"##
    );
    let _ = write!(
        svg,
        r##"<rect x="{LABEL}" y="4" width="10" height="10" fill="#3a6ea5"/><text x="{}" y="13">在办</text><rect x="{}" y="4" width="10" height="10" fill="#c0392b"/><text x="{}" y="13">超期</text>"##,
        LABEL + 14,
        LABEL + 60,
        LABEL + 74
    );
    for (i, r) in d.rows.iter().enumerate() {
        let y = 24 + i as i32 * 28;
        let open = r.open_objections + r.open_repairs;
        let w_open = (open as f64 / max * WIDTH).round() as i32;
        let w_over = (r.overdue as f64 / max * WIDTH).round() as i32;
        let name: String = if r.department_name.chars().count() > 10 {
            r.department_name.chars().take(10).chain(std::iter::once('…')).collect()
        } else {
            r.department_name.clone()
        };
        let _ = write!(
            svg,
            r##"<text x="{}" y="{}" text-anchor="end"><title>{}</title>{}</text><rect x="{LABEL}" y="{y}" width="{w_open}" height="10" fill="#3a6ea5"/><rect x="{LABEL}" y="{}" width="{w_over}" height="8" fill="#c0392b"/><text x="{}" y="{}">{open} / {}</text>"##,
            LABEL - 6,
            y + 12,
            esc(&r.department_name),
            esc(&name),
            y + 11,
            LABEL + 6 + w_open.max(w_over),
            y + 12,
            r.overdue
        );
    }
    svg.push_str("</svg>");
    svg
}

/// Filings and closures in each of the last eight weeks, as paired columns.
fn weeks_chart(d: &Dashboard) -> String {
    let max = d.weeks.iter().map(|w| w.filed.max(w.closed)).max().unwrap_or(0).max(1) as f64;
    let mut svg = String::from(
        r##"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 560 200" width="100%" role="img" aria-label="每周收件与办结" font-family="sans-serif" font-size="11"><rect x="20" y="4" width="10" height="10" fill="#3a6ea5"/><text x="34" y="13">收件</text><rect x="80" y="4" width="10" height="10" fill="#5d8a5d"/><text x="94" y="13">办结</text><line x1="20" y1="170" x2="550" y2="170" stroke="#999"/>"##,
    );
    for (i, w) in d.weeks.iter().enumerate() {
        let x = 30 + i as i32 * 65;
        let hf = (w.filed as f64 / max * 140.0).round() as i32;
        let hc = (w.closed as f64 / max * 140.0).round() as i32;
        let _ = write!(
            svg,
            r##"<rect x="{x}" y="{}" width="22" height="{hf}" fill="#3a6ea5"/><rect x="{}" y="{}" width="22" height="{hc}" fill="#5d8a5d"/><text x="{}" y="{}" text-anchor="middle">{}</text><text x="{}" y="186" text-anchor="middle">{}</text>"##,
            170 - hf,
            x + 24,
            170 - hc,
            x + 23,
            165 - hf.max(hc),
            format_args!("{}/{}", w.filed, w.closed),
            x + 23,
            w.start.format("%m-%d")
        );
    }
    svg.push_str("</svg>");
    svg
}
