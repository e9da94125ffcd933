//! Objection and repair workflows end to end over HTTP.

#[allow(unused_imports)]
use crate::helpers::*;
