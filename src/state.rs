//! Shared application state handed to every handler and job.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use sea_orm::DatabaseConnection;

use crate::auth::JwtKeys;
use crate::clock::SharedClock;
use crate::config::Settings;
use crate::domain::calendar::Calendar;
use crate::notify::Templates;
use crate::workflow::Definition;

/// The workflow definitions: the current one per kind (used for new cases)
/// and every definition a case is pinned to, loaded on demand by hash.
pub struct Workflows {
    current: HashMap<String, (Arc<Definition>, String)>,
    pinned: RwLock<HashMap<String, Arc<Definition>>>,
}

impl Workflows {
    /// From (definition, source text) pairs.
    pub fn new(defs: Vec<(Definition, String)>) -> Workflows {
        let mut current = HashMap::new();
        let mut pinned = HashMap::new();
        for (d, src) in defs {
            let d = Arc::new(d);
            pinned.insert(d.hash.clone(), d.clone());
            current.insert(d.id.clone(), (d, src));
        }
        Workflows { current, pinned: RwLock::new(pinned) }
    }

    /// The definition new cases of this kind start with.
    pub fn current(&self, kind: &str) -> Option<Arc<Definition>> {
        self.current.get(kind).map(|(d, _)| d.clone())
    }

    /// States of the current definitions that `role` owns (where it is
    /// expected to act), for to-do lists.
    pub fn states_owned_by(&self, role: crate::workflow::Role) -> Vec<String> {
        let mut out: Vec<String> = self
            .current
            .values()
            .flat_map(|(d, _)| d.states.iter().filter(|(_, s)| s.owner == Some(role)).map(|(n, _)| n.clone()))
            .collect();
        out.sort();
        out.dedup();
        out
    }

    /// Current definitions, by kind.
    pub fn all_current(&self) -> Vec<Arc<Definition>> {
        let mut v: Vec<Arc<Definition>> = self.current.values().map(|(d, _)| d.clone()).collect();
        v.sort_by(|a, b| a.id.cmp(&b.id));
        v
    }

    /// Current definitions with their source text, for registration.
    pub fn sources(&self) -> impl Iterator<Item = (&Arc<Definition>, &str)> {
        self.current.values().map(|(d, s)| (d, s.as_str()))
    }

    /// The definition with this content hash: from memory, or from the
    /// `workflow_definitions` table (older definitions a case was pinned to).
    pub async fn pinned<C: sea_orm::ConnectionTrait>(&self, db: &C, hash: &str) -> anyhow::Result<Arc<Definition>> {
        if let Some(d) = self.pinned.read().ok().and_then(|m| m.get(hash).cloned()) {
            return Ok(d);
        }
        use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
        let row = entity::workflow_definition::Entity::find()
            .filter(entity::workflow_definition::Column::Hash.eq(hash))
            .one(db)
            .await?
            .ok_or_else(|| anyhow::anyhow!("workflow definition {hash} not stored"))?;
        let def = Definition::parse(&format!("{}.toml@{}", row.workflow_id, &hash[..12]), &row.source)
            .map_err(|e| anyhow::anyhow!("stored workflow definition {hash} no longer parses: {e:?}"))?;
        let def = Arc::new(def);
        if let Ok(mut m) = self.pinned.write() {
            m.insert(hash.to_string(), def.clone());
        }
        Ok(def)
    }
}

#[derive(Clone)]
pub struct AppState {
    /// Writes, and reads that decide a write (inside its transaction). On
    /// SQLite the single writer connection.
    pub db: DatabaseConnection,
    /// Reads that answer a request without writing (GET handlers): on SQLite
    /// a pool of read-only connections beside the writer (WAL), so reads
    /// never queue behind writes; on PostgreSQL the same pool as `db`.
    pub read: DatabaseConnection,
    pub settings: Arc<Settings>,
    pub clock: SharedClock,
    pub jwt: JwtKeys,
    pub workflows: Arc<Workflows>,
    pub calendar: Arc<RwLock<Calendar>>,
    pub templates: Arc<Templates>,
}

impl AppState {
    /// A snapshot of the working-day calendar.
    pub fn calendar(&self) -> Calendar {
        self.calendar.read().map(|c| c.clone()).unwrap_or_default()
    }
}
