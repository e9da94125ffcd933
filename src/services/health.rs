//! Whether the database answers.

use sea_orm::{ConnectionTrait, DatabaseConnection};

/// The backend's name when `SELECT 1` answers, or the error.
pub async fn ping(db: &DatabaseConnection) -> Result<String, sea_orm::DbErr> {
    let backend = db.get_database_backend();
    db.execute_unprepared("SELECT 1").await?;
    Ok(format!("{backend:?}").to_lowercase())
}

/// Why the server is not ready to take traffic.
#[derive(Debug)]
pub enum NotReady {
    /// The database does not answer.
    Database(sea_orm::DbErr),
    /// Migrations this build knows are not applied (by name).
    Pending(Vec<String>),
}

/// Ready: the database answers and every migration this build carries is
/// applied (a replica started against an older schema is not ready).
pub async fn ready(db: &DatabaseConnection) -> Result<String, NotReady> {
    use migration::MigratorTrait;
    let backend = ping(db).await.map_err(NotReady::Database)?;
    let pending = migration::Migrator::get_pending_migrations(db).await.map_err(NotReady::Database)?;
    if pending.is_empty() {
        Ok(backend)
    } else {
        Err(NotReady::Pending(pending.iter().map(|m| m.name().to_string()).collect()))
    }
}
