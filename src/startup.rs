//! Building the application: state, routes, server. Used by `main` and tests.

use std::net::TcpListener;
use std::path::Path;
use std::sync::{Arc, RwLock};

use actix_web::{App, HttpRequest, HttpResponse, HttpServer, ResponseError, dev::Server, error::InternalError, web};
use tracing_actix_web::TracingLogger;
use utoipa::OpenApi;
use utoipa_actix_web::AppExt;
use utoipa_swagger_ui::SwaggerUi;

use crate::auth::JwtKeys;
use crate::clock::SharedClock;
use crate::config::Settings;
use crate::error::ApiError;
use crate::notify::Templates;
use crate::state::{AppState, Workflows};
use crate::web::render::PageError;
use crate::workflow::Definition;

/// Loads and validates the workflow definitions: the embedded ones, each
/// replaced by a file of the same name in `dir` when given.
pub fn load_workflows(dir: Option<&Path>) -> anyhow::Result<Workflows> {
    let mut loaded = Vec::new();
    for (name, builtin) in crate::workflow::builtin_sources() {
        let text = match dir.map(|d| d.join(name)).filter(|p| p.exists()) {
            Some(p) => std::fs::read_to_string(&p)?,
            None => builtin.to_string(),
        };
        let def = Definition::parse(name, &text).map_err(|errs| {
            anyhow::anyhow!(
                "invalid workflow definition:\n{}",
                errs.iter().map(|e| format!("  {e}")).collect::<Vec<_>>().join("\n")
            )
        })?;
        loaded.push((def, text));
    }
    Ok(Workflows::new(loaded))
}

/// Stores each current definition (by content hash) so cases can stay pinned
/// to it after the files change.
async fn register_workflows(
    db: &sea_orm::DatabaseConnection,
    workflows: &Workflows,
    now: chrono::DateTime<chrono::Utc>,
) -> anyhow::Result<()> {
    use entity::workflow_definition as wd;
    use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, Set};
    for (def, source) in workflows.sources() {
        if wd::Entity::find().filter(wd::Column::Hash.eq(def.hash.clone())).one(db).await?.is_some() {
            continue;
        }
        let res = wd::ActiveModel {
            workflow_id: Set(def.id.clone()),
            version: Set(def.version as i32),
            hash: Set(def.hash.clone()),
            source: Set(source.to_string()),
            created_at: Set(now),
            ..Default::default()
        }
        .insert(db)
        .await;
        // Another replica may have registered it at the same moment.
        if let Err(e) = res
            && !crate::error::is_unique_violation(&e)
        {
            return Err(e.into());
        }
    }
    Ok(())
}

/// The JWT secret: configured, or kept in `data_dir/jwt-secret` (created on first start).
fn jwt_secret(settings: &Settings) -> anyhow::Result<Vec<u8>> {
    if !settings.jwt_secret.is_empty() {
        return Ok(settings.jwt_secret.expose().as_bytes().to_vec());
    }
    let path = settings.data_dir.join("jwt-secret");
    if let Ok(s) = std::fs::read_to_string(&path)
        && s.trim().len() >= 32
    {
        return Ok(s.trim().as_bytes().to_vec());
    }
    std::fs::create_dir_all(&settings.data_dir)?;
    let secret = crate::auth::random_token();
    std::fs::write(&path, &secret)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))?;
    }
    tracing::info!(path = %path.display(), "generated a new JWT signing secret");
    Ok(secret.into_bytes())
}

/// Builds the shared state: connects, migrates, loads definitions, templates
/// and the calendar, and seeds demo data when asked.
pub async fn build_state(settings: Settings, clock: SharedClock) -> anyhow::Result<AppState> {
    crate::install_tls_provider();
    crate::auth::return_large_allocations();
    let workflows = load_workflows(settings.workflows_dir.as_deref())?;
    let templates = Templates::load(settings.templates_dir.as_deref())?;
    settings.publication.validate().map_err(|e| anyhow::anyhow!("publication rules: {e}"))?;
    settings.documents.validate().map_err(|e| anyhow::anyhow!("{e}"))?;
    settings.login_rule().map_err(|e| anyhow::anyhow!("sign-in throttle: {e}"))?;
    let (db, read) = crate::db::connect_pools(&settings).await?;
    register_workflows(&db, &workflows, clock.now()).await?;
    let calendar = crate::services::calendar::load(&db).await?;
    let jwt = JwtKeys::new(&jwt_secret(&settings)?);
    let state = AppState {
        db,
        read,
        settings: Arc::new(settings),
        clock,
        jwt,
        workflows: Arc::new(workflows),
        calendar: Arc::new(RwLock::new(calendar)),
        templates: Arc::new(templates),
    };
    // Cases closed before closings were judged (migration 000008).
    let judged = crate::services::reports::judge_unjudged(&state).await?;
    if judged > 0 {
        tracing::info!(judged, "closed cases judged for the reports");
    }
    if state.settings.demo || state.settings.is_default_database() {
        crate::seed::seed_demo_if_empty(&state).await?;
    }
    Ok(state)
}

#[derive(OpenApi)]
#[openapi(
    info(title = "信用修复与异议办理系统 API", description = "Credit repair (信用修复) and objection (异议) case server."),
    modifiers(&SecurityAddon)
)]
struct ApiDoc;

struct SecurityAddon;

impl utoipa::Modify for SecurityAddon {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).bearer_format("JWT").build()),
        );
    }
}

fn json_error(err: actix_web::error::JsonPayloadError, _req: &HttpRequest) -> actix_web::Error {
    use actix_web::error::JsonPayloadError as E;
    let api = match &err {
        E::OverflowKnownLength { .. } | E::Overflow { .. } => ApiError::PayloadTooLarge,
        E::ContentType => ApiError::UnsupportedMediaType,
        E::Deserialize(e) if e.is_data() => {
            ApiError::bad_request("invalid_field", format!("字段取值或类型不正确：{e}"))
        }
        _ => ApiError::bad_request("invalid_json", "请求体不是有效的 JSON"),
    };
    InternalError::from_response(err, actix_web::ResponseError::error_response(&api)).into()
}

/// A page (not an API route): errors answer with an HTML page.
fn is_page(req: &HttpRequest) -> bool {
    !req.path().starts_with("/api")
}

fn query_error(err: actix_web::error::QueryPayloadError, req: &HttpRequest) -> actix_web::Error {
    if is_page(req) {
        let page = PageError::BadRequest(format!("查询参数不正确：{err}"));
        return InternalError::from_response(err, page.error_response()).into();
    }
    let api = ApiError::bad_request("invalid_query", format!("查询参数不正确：{err}"));
    InternalError::from_response(err, actix_web::ResponseError::error_response(&api)).into()
}

fn path_error(err: actix_web::error::PathError, req: &HttpRequest) -> actix_web::Error {
    if is_page(req) {
        return InternalError::from_response(err, PageError::NotFound.error_response()).into();
    }
    let api = ApiError::not_found("资源");
    InternalError::from_response(err, actix_web::ResponseError::error_response(&api)).into()
}

fn form_error(err: actix_web::error::UrlencodedError, req: &HttpRequest) -> actix_web::Error {
    use actix_web::error::UrlencodedError as E;
    let too_large = matches!(err, E::Overflow { .. });
    let response = match (is_page(req), too_large) {
        (true, true) => PageError::Refused(ApiError::PayloadTooLarge).error_response(),
        (true, false) => PageError::BadRequest(format!("表单内容无效：{err}")).error_response(),
        (false, true) => ApiError::PayloadTooLarge.error_response(),
        (false, false) => ApiError::bad_request("invalid_form", format!("表单内容无效：{err}")).error_response(),
    };
    InternalError::from_response(err, response).into()
}

async fn not_found(req: HttpRequest) -> HttpResponse {
    if is_page(&req) {
        return PageError::NotFound.error_response();
    }
    ApiError::not_found("接口").error_response()
}

/// The OpenAPI document of every route.
pub fn openapi() -> utoipa::openapi::OpenApi {
    let (_, mut api) =
        App::new().into_utoipa_app().openapi(ApiDoc::openapi()).configure(crate::api::configure).split_for_parts();
    crate::api::openapi::complete(&mut api);
    api
}

/// A running server and the port it is bound to.
pub struct Application {
    pub port: u16,
    pub server: Server,
    pub state: AppState,
}

impl Application {
    /// Binds `host:port` (port 0 picks a free one) and builds the server.
    pub fn build(state: AppState, host: &str, port: u16) -> anyhow::Result<Application> {
        let listener = TcpListener::bind((host, port))?;
        let port = listener.local_addr()?.port();
        let data = web::Data::new(state.clone());
        let spec = openapi();
        let max_body = state.settings.max_body_bytes;
        let server = HttpServer::new(move || {
            // Body limits: JSON, URL-encoded forms and raw bodies (`Bytes`) at
            // `max_body_bytes`; multipart bodies where they are read (each file
            // `max_attachment_bytes`, their text fields `max_body_bytes`).
            App::new()
                .wrap(actix_web::middleware::from_fn(crate::metrics::record))
                .wrap(actix_web::middleware::from_fn(crate::middleware::harden))
                .wrap(TracingLogger::default())
                .app_data(data.clone())
                .app_data(web::JsonConfig::default().limit(max_body).error_handler(json_error))
                .app_data(web::QueryConfig::default().error_handler(query_error))
                .app_data(web::PathConfig::default().error_handler(path_error))
                .app_data(web::FormConfig::default().limit(max_body).error_handler(form_error))
                .app_data(web::PayloadConfig::new(max_body))
                .into_utoipa_app()
                .configure(crate::api::configure)
                .into_app()
                .configure(crate::web::configure)
                .service(SwaggerUi::new("/api/docs/{_:.*}").url("/api/openapi.json", spec.clone()))
                .route("/metrics", web::get().to(crate::metrics::scrape))
                .default_service(web::to(not_found))
        })
        .listen(listener)?
        .shutdown_timeout(5)
        .run();
        Ok(Application { port, server, state })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_workflows_load_and_a_directory_overrides_them() {
        let w = load_workflows(None).expect("embedded definitions are valid");
        assert_eq!(w.current("objection").unwrap().id, "objection");
        assert_eq!(w.current("repair").unwrap().id, "repair");
        assert!(w.current("other").is_none());

        let dir = std::env::temp_dir().join(format!("wf-override-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).unwrap();
        let text =
            include_str!("../workflows/repair.toml").replace("title = \"信用修复\"", "title = \"信用修复（本地）\"");
        std::fs::write(dir.join("repair.toml"), text).unwrap();
        let w2 = load_workflows(Some(&dir)).expect("override is valid");
        assert_eq!(w2.current("repair").unwrap().title, "信用修复（本地）");
        assert_ne!(w2.current("repair").unwrap().hash, w.current("repair").unwrap().hash);
        assert_eq!(w2.current("objection").unwrap().hash, w.current("objection").unwrap().hash);
        std::fs::write(dir.join("objection.toml"), "id = \"objection\"").unwrap();
        assert!(load_workflows(Some(&dir)).is_err());
        let _ = std::fs::remove_dir_all(dir);
    }
}
