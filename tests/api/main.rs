//! Black-box tests over real HTTP: each test starts the server on its own
//! port with its own database (a fresh SQLite file, or a fresh PostgreSQL
//! database when TEST_DATABASE_URL is set).

mod helpers;
mod messages;
mod metrics;
mod openapi;

mod admin;
mod authz;
mod cases;
mod cases_robustness;
mod crash;
mod deliveries;
mod documents;
mod exports;
mod foundation;
mod imports;
mod multiprocess;
mod receiver;
mod reports;
mod routing;
mod rules;
mod scheduler;
mod security;
mod smtp_sink;
mod web;
