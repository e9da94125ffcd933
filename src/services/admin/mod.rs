//! Administration, one module per resource: departments, users, subjects,
//! records (with their sanctions and list entries) and the measure catalogue.

pub mod departments;
pub mod measures;
pub mod records;
pub mod subjects;
pub mod subscribers;
pub mod users;

use crate::error::{ApiError, FieldError, is_unique_violation};

pub use departments::{DepartmentInput, DepartmentView};
pub use measures::{MeasureInput, MeasureView};
pub use records::{ListEntryInput, RecordInput, SanctionInput};
pub use subjects::{SubjectInput, SubjectView};
pub use subscribers::{SubscriberInput, SubscriberView};
pub use users::{UserInput, UserView};

fn require<'a>(v: &'a Option<String>, field: &str, label: &str) -> Result<&'a str, FieldError> {
    match v.as_deref().map(str::trim) {
        Some(s) if !s.is_empty() => Ok(s),
        _ => Err(FieldError::new(field, "required", format!("{label}不能为空"))),
    }
}

fn check_email(v: &Option<String>, field: &str, errs: &mut Vec<FieldError>) {
    if let Some(e) = v
        && !e.is_empty()
        && (!e.contains('@') || e.contains(char::is_whitespace) || e.len() > 254)
    {
        errs.push(FieldError::new(field, "invalid_email", "电子邮箱格式不正确"));
    }
}

fn unique_or(e: sea_orm::DbErr, code: &'static str, message: &str) -> ApiError {
    if is_unique_violation(&e) { ApiError::conflict(code, message) } else { e.into() }
}
