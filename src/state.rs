//! Shared application state handed to every handler and job.

use std::sync::{Arc, RwLock};

use sea_orm::DatabaseConnection;

use crate::auth::JwtKeys;
use crate::clock::SharedClock;
use crate::config::Settings;
use crate::domain::calendar::Calendar;
use crate::notify::Templates;
use crate::workflow::Definition;

/// The loaded workflow definitions, by id.
pub struct Workflows {
    pub objection: Definition,
    pub repair: Definition,
}

impl Workflows {
    pub fn get(&self, kind: &str) -> Option<&Definition> {
        match kind {
            "objection" => Some(&self.objection),
            "repair" => Some(&self.repair),
            _ => None,
        }
    }
}

#[derive(Clone)]
pub struct AppState {
    pub db: DatabaseConnection,
    pub settings: Arc<Settings>,
    pub clock: SharedClock,
    pub jwt: JwtKeys,
    pub workflows: Arc<Workflows>,
    pub calendar: Arc<RwLock<Calendar>>,
    pub templates: Arc<Templates>,
    /// Name of an effect that fails on purpose after its writes (tests only;
    /// proves that a failing effect rolls the whole transition back).
    pub fail_effect: Option<String>,
}

impl AppState {
    /// A snapshot of the working-day calendar.
    pub fn calendar(&self) -> Calendar {
        self.calendar.read().map(|c| c.clone()).unwrap_or_default()
    }
}
