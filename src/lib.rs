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
