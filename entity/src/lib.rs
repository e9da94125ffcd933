//! sea-orm entities: one module per table. Enumerated columns are stored as
//! snake_case strings and typed as the enums in [`types`].

pub mod admin_event;
pub mod attachment;
pub mod calendar_year;
pub mod case;
pub mod case_event;
pub mod closure_count;
pub mod deadline;
pub mod delivery;
pub mod department;
pub mod document;
pub mod document_sequence;
pub mod idempotency_key;
pub mod import;
pub mod job_claim;
pub mod list_membership;
pub mod login_throttle;
pub mod measure;
pub mod message;
pub mod outbox;
pub mod record;
pub mod record_event;
pub mod refresh_token;
pub mod sanction;
pub mod subject;
pub mod subscriber;
pub mod types;
pub mod user;
pub mod web_session;
pub mod workflow_definition;
