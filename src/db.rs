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
    // A ping only for a connection idle long enough to have been dropped,
    // not a round trip at every checkout.
    opts.test_before_acquire_if_idle_for(Duration::from_secs(30));
    if url.starts_with("sqlite") {
        // One writer at a time; WAL keeps readers (the read pool) from blocking it.
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

/// Connections to read with. SQLite: a pool of read-only connections
/// (`PRAGMA query_only`) beside the single writer; in WAL mode a reader
/// never waits for the writer and sees everything committed when its
/// statement starts, so a caller's own committed write is visible to its
/// next read. PostgreSQL (and an in-memory SQLite database, which a second
/// pool would not share): the writer's pool itself.
pub async fn connect_read(url: &str, writer: &DatabaseConnection) -> anyhow::Result<DatabaseConnection> {
    if writer.get_database_backend() != DatabaseBackend::Sqlite
        || url.contains(":memory:")
        || url.contains("mode=memory")
    {
        return Ok(writer.clone());
    }
    let mut opts = ConnectOptions::new(url.to_owned());
    opts.acquire_timeout(Duration::from_secs(10))
        .sqlx_logging(false)
        .test_before_acquire_if_idle_for(Duration::from_secs(30))
        .max_connections(READERS)
        .min_connections(1)
        .map_sqlx_sqlite_opts(|o| {
            o.create_if_missing(false)
                .pragma("query_only", "ON")
                .foreign_keys(true)
                .busy_timeout(Duration::from_secs(5))
        });
    Ok(Database::connect(opts).await?)
}

/// Read-only SQLite connections beside the writer.
const READERS: u32 = 4;

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

/// The writer (after migrating) and the connections to read with.
pub async fn connect_pools(settings: &Settings) -> anyhow::Result<(DatabaseConnection, DatabaseConnection)> {
    let db = connect_and_migrate(settings).await?;
    let read = connect_read(&settings.effective_database_url(), &db).await?;
    Ok((db, read))
}
