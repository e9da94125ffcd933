use actix_web::{HttpResponse, get, web};
use serde_json::json;

use crate::state::AppState;

pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(healthz).service(readyz);
}

/// Liveness and database check: 200 when the database answers, 503 otherwise.
#[utoipa::path(tag = "system", responses((status = 200, description = "数据库连接正常"), (status = 503, description = "数据库不可用")))]
#[get("/healthz")]
async fn healthz(state: web::Data<AppState>) -> HttpResponse {
    match crate::services::health::ping(&state.db).await {
        Ok(backend) => HttpResponse::Ok().json(json!({"status": "ok", "database": backend})),
        Err(e) => {
            tracing::warn!(error = %e, "health check failed");
            HttpResponse::ServiceUnavailable()
                .json(json!({"status": "unavailable", "code": "database_unavailable", "message": "数据库不可用"}))
        }
    }
}

/// Readiness: 200 when the database answers and its schema is current
/// (every migration of this build applied); 503 otherwise, saying which.
#[utoipa::path(tag = "system", responses((status = 200, description = "可以提供服务"), (status = 503, description = "数据库不可用或数据库结构未更新")))]
#[get("/readyz")]
async fn readyz(state: web::Data<AppState>) -> HttpResponse {
    use crate::services::health::NotReady;
    match crate::services::health::ready(&state.db).await {
        Ok(backend) => {
            HttpResponse::Ok().json(json!({"status": "ready", "database": backend, "migrations": "current"}))
        }
        Err(NotReady::Database(e)) => {
            tracing::warn!(error = %e, "readiness check failed");
            HttpResponse::ServiceUnavailable()
                .json(json!({"status": "unavailable", "code": "database_unavailable", "message": "数据库不可用"}))
        }
        Err(NotReady::Pending(names)) => HttpResponse::ServiceUnavailable().json(json!({
            "status": "unavailable", "code": "migrations_pending",
            "message": "数据库结构尚未更新到本版本", "pending": names,
        })),
    }
}
