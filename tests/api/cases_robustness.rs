//! Case robustness: idempotency, concurrency, rollback, attachments, audit, definitions.

#[allow(unused_imports)]
use crate::helpers::*;
