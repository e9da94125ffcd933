//! Whether the database answers.

use sea_orm::{ConnectionTrait, DatabaseConnection};

/// The backend's name when `SELECT 1` answers, or the error.
pub async fn ping(db: &DatabaseConnection) -> Result<String, sea_orm::DbErr> {
    let backend = db.get_database_backend();
    db.execute_unprepared("SELECT 1").await?;
    Ok(format!("{backend:?}").to_lowercase())
}
