//! `credit-repair [serve [--demo] | migrate | check-workflows [DIR] | verify-audit | check-records | tick]`

use std::sync::Arc;

use credit_repair::{clock::SystemClock, config::Settings, startup};

const USAGE: &str =
    "usage: credit-repair [serve [--demo] | migrate | check-workflows [DIR] | verify-audit | check-records | tick]";

fn init_tracing() {
    use tracing_subscriber::{EnvFilter, fmt};
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn"));
    if std::env::var("LOG_FORMAT").as_deref() == Ok("json") {
        fmt().json().with_env_filter(filter).init();
    } else {
        fmt().with_env_filter(filter).init();
    }
}

#[tokio::main]
async fn main() {
    init_tracing();
    let args: Vec<String> = std::env::args().skip(1).collect();
    let code = match run(args).await {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            1
        }
    };
    std::process::exit(code);
}

async fn run(args: Vec<String>) -> anyhow::Result<i32> {
    let mut settings = Settings::load()?;
    let cmd = args.first().map(String::as_str).unwrap_or("serve");
    match cmd {
        "serve" => {
            if args.iter().any(|a| a == "--demo") {
                settings.demo = true;
            }
            if let Some(bad) = args.iter().skip(1).find(|a| *a != "--demo") {
                anyhow::bail!("unknown option {bad}\n{USAGE}");
            }
            let host = settings.host.clone();
            let port = settings.port;
            let state = startup::build_state(settings, Arc::new(SystemClock)).await?;
            let _scheduler = if state.settings.scheduler {
                Some(credit_repair::scheduler::start(state.clone()).await?)
            } else {
                None
            };
            let app = startup::Application::build(state, &host, port)?;
            tracing::info!("listening on http://{host}:{}  (API docs: /api/docs/)", app.port);
            app.server.await?;
            Ok(0)
        }
        "migrate" => {
            credit_repair::db::migrate(&settings.effective_database_url()).await?;
            println!("migrations applied");
            Ok(0)
        }
        "check-workflows" => {
            let dir = args.get(1).map(std::path::PathBuf::from).or(settings.workflows_dir.clone());
            match startup::load_workflows(dir.as_deref()) {
                Ok(w) => {
                    for (d, _) in w.sources() {
                        println!(
                            "ok: {} v{} ({} states, {} transitions, sha256 {})",
                            d.source_name,
                            d.version,
                            d.states.len(),
                            d.transitions.len(),
                            &d.hash[..12]
                        );
                    }
                    Ok(0)
                }
                Err(e) => {
                    eprintln!("{e}");
                    Ok(2)
                }
            }
        }
        "tick" => {
            let state = startup::build_state(settings, Arc::new(SystemClock)).await?;
            let mailer = credit_repair::mailer::Mailer::from_settings(&state.settings)?;
            let worker = format!("cli-{}", std::process::id());
            let report = credit_repair::jobs::tick(&state, &mailer, &worker).await?;
            println!("{}", serde_json::to_string_pretty(&report)?);
            Ok(0)
        }
        "verify-audit" => {
            let db = credit_repair::db::connect(&settings.effective_database_url()).await?;
            let (checked, broken) = credit_repair::services::cases::audit::verify_all(&db).await?;
            match broken {
                None => {
                    println!("ok: {checked} case events verified, every chain intact");
                    Ok(0)
                }
                Some(b) => {
                    use sea_orm::EntityTrait;
                    let case_no = entity::case::Entity::find_by_id(b.case_id).one(&db).await?.map(|c| c.case_no);
                    eprintln!(
                        "BROKEN: case {} (id {}), event #{}: {}",
                        case_no.unwrap_or_default(),
                        b.case_id,
                        b.seq,
                        b.reason
                    );
                    Ok(3)
                }
            }
        }
        "check-records" => {
            // Every record's publication, objection mark, lists and sanctions
            // agree with each other and with its dates (the record invariant).
            let db = credit_repair::db::connect(&settings.effective_database_url()).await?;
            let today = credit_repair::clock::Clock::today(&SystemClock);
            let (checked, bad) = credit_repair::services::consistency::check_records(
                &db,
                today,
                settings.publication.publication_end,
                None,
            )
            .await?;
            if bad.is_empty() {
                println!("ok: {checked} records checked, every one consistent");
                return Ok(0);
            }
            for r in &bad {
                for v in &r.violations {
                    eprintln!("record {} ({}): {} {}", r.record_id, r.document_no, v.code, v.message);
                }
            }
            eprintln!("{} of {checked} records inconsistent", bad.len());
            Ok(4)
        }
        "-h" | "--help" | "help" => {
            println!("{USAGE}");
            Ok(0)
        }
        other => {
            eprintln!("unknown command {other}\n{USAGE}");
            Ok(2)
        }
    }
}
