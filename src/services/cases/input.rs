//! What a caller sends with an action on a case.

use chrono::NaiveDate;
use serde::Deserialize;
use utoipa::ToSchema;

/// Corrected content of a record (objection outcome `corrected`/`supplemented`).
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Correction {
    pub title: Option<String>,
    pub content: Option<String>,
    pub document_no: Option<String>,
    pub decision_date: Option<NaiveDate>,
    /// The corrected severity (e.g. serious → general); the window is re-derived.
    pub severity: Option<String>,
    /// The corrected regime; checked with the decision date like on creation.
    pub regime: Option<String>,
    /// The corrected end of the conduct (the Shandong five-year cap counts from it).
    pub conduct_end_date: Option<NaiveDate>,
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ActionRequest {
    pub comment: Option<String>,
    /// For `verify`: corrected, supplemented, deleted, removed_from_list, maintained.
    pub outcome: Option<String>,
    /// The case version this action is based on; a stale one answers 409.
    pub version: Option<i32>,
    /// For `verify` with outcome corrected (required) or supplemented.
    pub correction: Option<Correction>,
    /// For `verify` with outcome corrected: sanctions whose basis was wrong.
    pub sanction_ids: Option<Vec<i64>>,
    /// For `reroute`: the department the case goes to.
    pub department_id: Option<i64>,
    /// For `request_supplement`: every missing item, told at once (一次性告知).
    pub missing_items: Option<Vec<String>>,
}

impl ActionRequest {
    /// A system action with its comment.
    pub fn system(comment: &str) -> ActionRequest {
        ActionRequest { comment: Some(comment.to_string()), ..Default::default() }
    }

    /// The trimmed comment, if any.
    pub fn comment(&self) -> Option<&str> {
        self.comment.as_deref().map(str::trim).filter(|s| !s.is_empty())
    }
}
