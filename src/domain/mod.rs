//! Pure domain logic: no database, clock or network inside. Each rule is one
//! function here (or in `workflow/`), unit-tested with the rulebook's vectors;
//! services call them and never re-derive.

pub mod calendar;
pub mod consistency;
pub mod deadline;
pub mod delivery;
pub mod documents;
pub mod filing;
pub mod identity;
pub mod import;
pub mod login_throttle;
pub mod period;
pub mod repair_policy;
pub mod samr;
pub mod uscc;
