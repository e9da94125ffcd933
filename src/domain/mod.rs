//! Pure domain logic: no database, clock or network inside.

pub mod calendar;
pub mod period;
pub mod uscc;
