//! The working-day calendar: the shipped years, plus years an administrator
//! loaded or corrected (kept in `calendar_years`, which win).

use sea_orm::{ActiveModelTrait, ConnectionTrait, EntityTrait, Set};

use crate::domain::calendar::{Calendar, YearFile};
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use entity::calendar_year;

/// The shipped calendar overlaid with the years stored in the database.
pub async fn load<C: ConnectionTrait>(db: &C) -> anyhow::Result<Calendar> {
    let mut cal = Calendar::builtin();
    for row in calendar_year::Entity::find().all(db).await? {
        let year = YearFile::parse_json(&row.data).map_err(|e| anyhow::anyhow!("calendar year {}: {e}", row.year))?;
        cal.load_year(year).map_err(|e| anyhow::anyhow!("calendar year {}: {e}", row.year))?;
    }
    Ok(cal)
}

/// Stores a year's arrangement and makes it live. Returns the loaded years.
pub async fn put_year(state: &AppState, admin_id: i64, year: YearFile) -> ApiResult<Vec<i32>> {
    year.validate().map_err(|e| ApiError::unprocessable(e.code(), e.to_string()))?;
    let data = serde_json::to_string(&year).map_err(anyhow::Error::from)?;
    let now = state.clock.now();
    let existing = calendar_year::Entity::find_by_id(year.year).one(&state.db).await?;
    let am = calendar_year::ActiveModel {
        year: Set(year.year),
        data: Set(data),
        updated_by: Set(Some(admin_id)),
        updated_at: Set(now),
    };
    if existing.is_some() {
        am.update(&state.db).await?;
    } else {
        am.insert(&state.db).await?;
    }
    let mut cal = state.calendar.write().map_err(|_| anyhow::anyhow!("calendar lock poisoned"))?;
    cal.load_year(year).map_err(|e| ApiError::unprocessable(e.code(), e.to_string()))?;
    Ok(cal.loaded_years())
}
