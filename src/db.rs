//! Connecting and migrating. SQLite migrates at start-up; PostgreSQL migrates
//! under an advisory lock so replicas starting together apply each migration once.

use std::time::Duration;

use migration::{Migrator, MigratorTrait};
use sea_orm::{ConnectOptions, ConnectionTrait, Database, DatabaseBackend, DatabaseConnection, Statement};

use crate::config::Settings;

/// Advisory lock key for migrations ("CRMIGR" in ASCII).
const MIGRATION_LOCK_KEY: i64 = 0x43_52_4d_49_47_52;

pub async fn connect(url: &str) -> anyhow::Result<DatabaseConnection> {
    if let Some(path) = url.strip_prefix("sqlite://") {
        let file = path.split('?').next().unwrap_or_default();
        if let Some(dir) = std::path::Path::new(file).parent()
            && !dir.as_os_str().is_empty()
        {
            std::fs::create_dir_all(dir)?;
        }
    }
    let mut opts = ConnectOptions::new(url.to_owned());
    opts.acquire_timeout(Duration::from_secs(10)).sqlx_logging(false);
    if url.starts_with("sqlite") {
        // One writer at a time; WAL keeps readers from blocking it.
        opts.max_connections(1);
    } else {
        opts.max_connections(16).min_connections(1);
    }
    let db = Database::connect(opts).await?;
    if db.get_database_backend() == DatabaseBackend::Sqlite {
        for pragma in ["PRAGMA journal_mode=WAL", "PRAGMA foreign_keys=ON", "PRAGMA busy_timeout=5000"] {
            db.execute_unprepared(pragma).await?;
        }
    }
    Ok(db)
}

/// Applies pending migrations. On PostgreSQL this holds a session advisory
/// lock on a dedicated single connection while it runs.
pub async fn migrate(url: &str) -> anyhow::Result<()> {
    if url.starts_with("postgres") {
        let mut opts = ConnectOptions::new(url.to_owned());
        opts.max_connections(1).min_connections(1).sqlx_logging(false);
        let conn = Database::connect(opts).await?;
        conn.execute_raw(Statement::from_string(
            DatabaseBackend::Postgres,
            format!("SELECT pg_advisory_lock({MIGRATION_LOCK_KEY})"),
        ))
        .await?;
        let result = Migrator::up(&conn, None).await;
        conn.execute_raw(Statement::from_string(
            DatabaseBackend::Postgres,
            format!("SELECT pg_advisory_unlock({MIGRATION_LOCK_KEY})"),
        ))
        .await?;
        conn.close().await?;
        result?;
    } else {
        let conn = connect(url).await?;
        Migrator::up(&conn, None).await?;
        conn.close().await?;
    }
    Ok(())
}

/// Connects and migrates as the server does at start-up.
pub async fn connect_and_migrate(settings: &Settings) -> anyhow::Result<DatabaseConnection> {
    let url = settings.effective_database_url();
    migrate(&url).await?;
    connect(&url).await
}
