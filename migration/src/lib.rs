//! Database migrations. `Migrator::up` runs them; on PostgreSQL the server
//! takes an advisory lock first so that replicas starting together apply
//! them once (see `src/db.rs`).

pub use sea_orm_migration::prelude::*;

mod m20261122_000001_accounts_and_records;
mod m20261122_000002_cases;
mod m20261123_000001_web_sessions;
mod m20261123_000002_repair_notice;
mod m20261202_000001_case_routing_and_sources;
mod m20261202_000002_documents;
mod m20261202_000003_login_throttle;
mod m20261202_000004_messages;
mod m20261202_000005_deliveries;
mod m20261202_000006_imports;
mod m20261202_000007_deadline_lookup;
mod m20261202_000008_closure_counts;
mod m20261202_000009_open_cases_index;

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261122_000001_accounts_and_records::Migration),
            Box::new(m20261122_000002_cases::Migration),
            Box::new(m20261123_000001_web_sessions::Migration),
            Box::new(m20261123_000002_repair_notice::Migration),
            Box::new(m20261202_000001_case_routing_and_sources::Migration),
            Box::new(m20261202_000002_documents::Migration),
            Box::new(m20261202_000003_login_throttle::Migration),
            Box::new(m20261202_000004_messages::Migration),
            Box::new(m20261202_000005_deliveries::Migration),
            Box::new(m20261202_000006_imports::Migration),
            Box::new(m20261202_000007_deadline_lookup::Migration),
            Box::new(m20261202_000008_closure_counts::Migration),
            Box::new(m20261202_000009_open_cases_index::Migration),
        ]
    }
}

/// Shorthand for an index.
pub(crate) fn index(
    table: &'static str,
    name: &'static str,
    cols: &[&'static str],
    unique: bool,
) -> IndexCreateStatement {
    let mut idx = Index::create();
    idx.name(name).table(table);
    for c in cols {
        idx.col(*c);
    }
    if unique {
        idx.unique();
    }
    idx.to_owned()
}
