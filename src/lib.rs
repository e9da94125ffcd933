//! Credit repair (信用修复) and objection (异议) case server for a district
//! credit office.

pub mod api;
pub mod auth;
pub mod clock;
pub mod config;
pub mod db;
pub mod domain;
pub mod error;
pub mod jobs;
pub mod mailer;
pub mod metrics;
pub mod middleware;
pub mod notify;
pub mod scheduler;
pub mod seed;
pub mod services;
pub mod startup;
pub mod state;
pub mod web;
pub mod workflow;

/// Installs rustls' ring crypto provider for the process (once; later calls
/// do nothing). reqwest is built without a bundled provider (ring is already
/// built for lettre, aws-lc would be a second one), so this must run before
/// any `reqwest::Client` is built: the server does it in
/// `startup::build_state`, tests and benchmarks before their own clients.
pub fn install_tls_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}
