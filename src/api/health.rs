use actix_web::{HttpResponse, get, web};
use serde_json::json;

use crate::state::AppState;

pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(healthz);
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
