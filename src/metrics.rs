//! Operations metrics in the Prometheus text format (`GET /metrics`): HTTP
//! requests by route and status with latency histograms, case transitions by
//! workflow and action, scheduler ticks (duration, items by job), delivery
//! failures; and, read from the database at each scrape, open and overdue
//! cases by department and kind, the outbox backlog and its oldest pending
//! age by kind, and the connection pool's use. Access: a bearer token when
//! `metrics_token` is set, otherwise loopback clients only.

use std::sync::LazyLock;
use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::{Error, HttpRequest, HttpResponse, web};
use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGaugeVec, Opts, Registry, TextEncoder,
};
use sea_orm::sea_query::{Expr, Func};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QuerySelect};

use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

/// The process-wide counters and histograms.
pub struct Metrics {
    registry: Registry,
    pub http_requests: IntCounterVec,
    pub http_seconds: HistogramVec,
    pub transitions: IntCounterVec,
    pub tick_seconds: HistogramVec,
    pub tick_items: IntCounterVec,
    pub delivery_failures: IntCounter,
}

fn build() -> Result<Metrics, prometheus::Error> {
    let registry = Registry::new_custom(Some("credit".into()), None)?;
    let http_requests = IntCounterVec::new(
        Opts::new("http_requests_total", "HTTP requests answered, by route pattern, method and status"),
        &["route", "method", "status"],
    )?;
    let http_seconds = HistogramVec::new(
        HistogramOpts::new("http_request_duration_seconds", "Time to answer an HTTP request")
            .buckets(vec![0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0]),
        &["route", "method"],
    )?;
    let transitions = IntCounterVec::new(
        Opts::new("case_transitions_total", "Committed case transitions by workflow and action"),
        &["workflow", "action"],
    )?;
    let tick_seconds = HistogramVec::new(
        HistogramOpts::new("scheduler_tick_duration_seconds", "Scheduler tick duration")
            .buckets(vec![0.005, 0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 30.0]),
        &["outcome"],
    )?;
    let tick_items =
        IntCounterVec::new(Opts::new("scheduler_items_total", "Items the scheduler processed, by job"), &["job"])?;
    let delivery_failures = IntCounter::new("delivery_failures_total", "Outbox deliveries that failed (to retry)")?;
    registry.register(Box::new(http_requests.clone()))?;
    registry.register(Box::new(http_seconds.clone()))?;
    registry.register(Box::new(transitions.clone()))?;
    registry.register(Box::new(tick_seconds.clone()))?;
    registry.register(Box::new(tick_items.clone()))?;
    registry.register(Box::new(delivery_failures.clone()))?;
    Ok(Metrics { registry, http_requests, http_seconds, transitions, tick_seconds, tick_items, delivery_failures })
}

pub static METRICS: LazyLock<Metrics> = LazyLock::new(|| build().expect("metric definitions are valid"));

/// Counts a committed transition.
pub fn transition(workflow: &str, action: &str) {
    METRICS.transitions.with_label_values(&[workflow, action]).inc();
}

/// Records a finished tick.
pub fn tick(seconds: f64, ok: bool, items: &[(&str, u64)]) {
    METRICS.tick_seconds.with_label_values(&[if ok { "ok" } else { "error" }]).observe(seconds);
    for (job, n) in items {
        METRICS.tick_items.with_label_values(&[job]).inc_by(*n);
    }
}

/// The middleware: every request's route pattern, method, status and time.
pub async fn record(req: ServiceRequest, next: Next<impl MessageBody + 'static>) -> Result<ServiceResponse, Error> {
    let start = Instant::now();
    let method = req.method().to_string();
    let res = next.call(req).await?.map_into_boxed_body();
    let route = res.request().match_pattern().unwrap_or_else(|| "unmatched".into());
    let status = res.status().as_u16().to_string();
    METRICS.http_requests.with_label_values(&[&route, &method, &status]).inc();
    METRICS.http_seconds.with_label_values(&[&route, &method]).observe(start.elapsed().as_secs_f64());
    Ok(res)
}

/// Whether the caller may read the metrics.
fn allowed(state: &AppState, req: &HttpRequest) -> bool {
    match state.settings.metrics_token.as_ref().map(|t| t.expose().to_string()).filter(|t| !t.is_empty()) {
        Some(token) => req
            .headers()
            .get(actix_web::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .is_some_and(|given| constant_time_eq(given.as_bytes(), token.as_bytes())),
        None => req.peer_addr().is_some_and(|a| a.ip().is_loopback()),
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The values read from the database at each scrape.
async fn snapshot(state: &AppState) -> ApiResult<Registry> {
    use entity::{department, outbox};
    let r = Registry::new_custom(Some("credit".into()), None).map_err(anyhow::Error::from)?;
    let open = IntGaugeVec::new(Opts::new("open_cases", "Open cases by holder and kind"), &["department", "kind"])
        .map_err(anyhow::Error::from)?;
    let overdue =
        IntGaugeVec::new(Opts::new("overdue_cases", "Open overdue cases by holder and kind"), &["department", "kind"])
            .map_err(anyhow::Error::from)?;
    let pending = IntGaugeVec::new(Opts::new("outbox_pending", "Outbox messages waiting, by kind"), &["kind"])
        .map_err(anyhow::Error::from)?;
    let oldest = IntGaugeVec::new(
        Opts::new("outbox_oldest_pending_age_seconds", "Age of the oldest waiting outbox message, by kind"),
        &["kind"],
    )
    .map_err(anyhow::Error::from)?;
    let dead = IntGaugeVec::new(Opts::new("outbox_dead", "Outbox messages given up, by kind"), &["kind"])
        .map_err(anyhow::Error::from)?;
    let pool = IntGaugeVec::new(Opts::new("db_pool_connections", "Database pool connections by state"), &["state"])
        .map_err(anyhow::Error::from)?;
    let sync = IntGaugeVec::new(Opts::new("sync_deliveries", "Sync deliveries to subscribers, by status"), &["status"])
        .map_err(anyhow::Error::from)?;
    for g in [&open, &overdue, &pending, &oldest, &dead, &pool, &sync] {
        r.register(Box::new(g.clone())).map_err(anyhow::Error::from)?;
    }
    let names: std::collections::HashMap<i64, String> =
        department::Entity::find().all(&state.db).await?.into_iter().map(|d| (d.id, d.name)).collect();
    let name = |d: i64| names.get(&d).cloned().unwrap_or_else(|| d.to_string());
    for o in crate::services::reports::open_load(&state.db, None).await? {
        open.with_label_values(&[&name(o.holder), o.kind.as_str()]).add(o.open as i64);
        overdue.with_label_values(&[&name(o.holder), o.kind.as_str()]).add(o.overdue as i64);
    }
    let now = state.clock.now();
    for (status, gauge) in [("pending", &pending), ("dead", &dead)] {
        let rows: Vec<(String, i64, Option<chrono::DateTime<chrono::Utc>>)> = outbox::Entity::find()
            .select_only()
            .column(outbox::Column::Kind)
            .column_as(Expr::expr(Func::count(Expr::col(outbox::Column::Id))), "n")
            .column_as(Expr::expr(Func::min(Expr::col(outbox::Column::CreatedAt))), "oldest")
            .filter(outbox::Column::Status.eq(status))
            .group_by(outbox::Column::Kind)
            .into_tuple()
            .all(&state.db)
            .await?;
        for (kind, n, first) in rows {
            gauge.with_label_values(&[&kind]).set(n);
            if status == "pending"
                && let Some(t) = first
            {
                oldest.with_label_values(&[&kind]).set((now - t).num_seconds().max(0));
            }
        }
    }
    for (status, n) in crate::services::deliveries::counts(&state.db).await? {
        sync.with_label_values(&[&status]).set(n);
    }
    let (size, idle) = match state.db.get_database_backend() {
        sea_orm::DatabaseBackend::Postgres => {
            let p = state.db.get_postgres_connection_pool();
            (p.size(), p.num_idle() as u32)
        }
        _ => {
            let p = state.db.get_sqlite_connection_pool();
            (p.size(), p.num_idle() as u32)
        }
    };
    pool.with_label_values(&["open"]).set(i64::from(size));
    pool.with_label_values(&["idle"]).set(i64::from(idle));
    pool.with_label_values(&["in_use"]).set(i64::from(size.saturating_sub(idle)));
    Ok(r)
}

/// `GET /metrics`.
pub async fn scrape(state: web::Data<AppState>, req: HttpRequest) -> ApiResult<HttpResponse> {
    if !allowed(&state, &req) {
        return Err(ApiError::Unauthorized {
            code: "metrics_token_required", message: "需要指标访问令牌".into()
        });
    }
    let snap = snapshot(&state).await?;
    let mut families = METRICS.registry.gather();
    families.extend(snap.gather());
    let mut out = Vec::new();
    TextEncoder::new().encode(&families, &mut out).map_err(anyhow::Error::from)?;
    Ok(HttpResponse::Ok().content_type("text/plain; version=0.0.4; charset=utf-8").body(out))
}
