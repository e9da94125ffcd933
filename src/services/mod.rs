//! Use cases: one function per use case, doing its I/O in one transaction.

pub mod accounts;
pub mod admin;
pub mod blobs;
pub mod calendar;
pub mod cases;
pub mod claims;
pub mod consistency;
pub mod deliveries;
pub mod digest;
pub mod documents;
pub mod exports;
pub mod health;
pub mod imports;
pub mod login_throttle;
pub mod messages;
pub mod outbox;
pub mod publication;
pub mod records;
pub mod repair_notice;
pub mod reports;
pub mod sessions;
pub mod withdrawal;
