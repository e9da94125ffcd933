//! The template context of a case's notifications, built in one place for
//! the transitions, intake and the deadline jobs, and queued to a recipient
//! group.

use chrono::{DateTime, NaiveDate, Utc};
use sea_orm::{ConnectionTrait, EntityTrait};
use serde_json::{Map, Value, json};

use crate::error::ApiResult;
use crate::services::outbox;
use crate::state::AppState;
use crate::workflow::{Definition, Recipient};
use entity::{case, department, record, subject};

/// The names a notification shows: loaded once per transition.
#[derive(Debug, Clone, Default)]
pub struct Parties {
    pub subject_name: String,
    /// The subject's unified social credit code (or resident ID).
    pub subject_code: String,
    pub department_name: Option<String>,
}

impl Parties {
    pub async fn load<C: ConnectionTrait>(db: &C, c: &case::Model) -> ApiResult<Parties> {
        let subject = subject::Entity::find_by_id(c.subject_id).one(db).await?;
        let dept = department::Entity::find_by_id(c.department_id).one(db).await?;
        let (subject_name, subject_code) = subject.map(|s| (s.name, s.code)).unwrap_or_default();
        Ok(Parties { subject_name, subject_code, department_name: dept.map(|d| d.name) })
    }
}

/// The day a deadline falls due, from its end instant (24:00 local time).
pub fn due_day(due_at: DateTime<Utc>) -> NaiveDate {
    due_at.with_timezone(&crate::clock::shanghai()).date_naive() - chrono::Duration::days(1)
}

/// Fields every case notification has; callers add their own.
pub fn context(
    state: &AppState,
    c: &case::Model,
    def: &Definition,
    rec: Option<&record::Model>,
    parties: &Parties,
    due_on: Option<NaiveDate>,
) -> Map<String, Value> {
    let st = def.state(&c.state);
    let v = json!({
        "case_no": c.case_no,
        "kind_label": c.kind.label_zh(),
        "objection": c.kind == entity::types::CaseKind::Objection,
        "state_title": st.map(|s| s.title.clone()),
        "result": st.and_then(|s| s.result.clone()),
        "recipient_name": parties.subject_name,
        "applicant_name": parties.subject_name,
        "for_applicant": true,
        "department_name": parties.department_name,
        // Routed to a department (false while the credit office holds it).
        "routed": c.routed_at.is_some(),
        "record_title": rec.map(|r| r.title.clone()),
        "document_no": rec.map(|r| r.document_no.clone()),
        "due_date": due_on.or(c.due_at.map(due_day)).map(|d| d.to_string()),
        // The whole case's legal deadline (none while a supplement request pauses it).
        "total_due_date": c.total_due_at.map(due_day).map(|d| d.to_string()),
        // The case's page (the applicant and the staff sign in there).
        "link": format!("{}/cases/{}", state.settings.public_url, c.id),
    });
    match v {
        Value::Object(m) => m,
        _ => Map::new(),
    }
}

/// Renders `template` with `ctx` and queues one mail to the recipient groups
/// together (each address once).
pub async fn queue_once<C: ConnectionTrait>(
    db: &C,
    state: &AppState,
    c: &case::Model,
    template: &str,
    ctx: &Map<String, Value>,
    to: &[Recipient],
    now: DateTime<Utc>,
) -> ApiResult<()> {
    let mut addrs = outbox::Addressees::default();
    for who in to {
        addrs.extend(outbox::recipients(db, *who, c.applicant_user_id, c.department_id).await?);
    }
    let ctx = Value::Object(ctx.clone());
    outbox::queue_mail(db, &state.templates, template, &ctx, &addrs, Some(c.id), None, now).await?;
    Ok(())
}

/// Renders `template` with `ctx` and queues it to each recipient group.
pub async fn queue<C: ConnectionTrait>(
    db: &C,
    state: &AppState,
    c: &case::Model,
    template: &str,
    ctx: &Map<String, Value>,
    to: &[Recipient],
    now: DateTime<Utc>,
) -> ApiResult<()> {
    queue_with_files(db, state, c, template, ctx, to, &[], now).await
}

/// As [`queue`]; the applicant's copy carries `applicant_files` (the
/// documents the step issued to it).
#[allow(clippy::too_many_arguments)]
pub async fn queue_with_files<C: ConnectionTrait>(
    db: &C,
    state: &AppState,
    c: &case::Model,
    template: &str,
    ctx: &Map<String, Value>,
    to: &[Recipient],
    applicant_files: &[outbox::MailFile],
    now: DateTime<Utc>,
) -> ApiResult<()> {
    for who in to {
        // Each group's copy is addressed to that group.
        let mut m = ctx.clone();
        let name = match who {
            Recipient::Applicant => ctx.get("applicant_name").cloned().unwrap_or(Value::Null),
            Recipient::Department => ctx.get("department_name").cloned().unwrap_or(Value::Null),
            Recipient::CreditOffice => Value::String("区信用办".into()),
        };
        m.insert("recipient_name".into(), name);
        m.insert("for_applicant".into(), Value::Bool(*who == Recipient::Applicant));
        let addrs = outbox::recipients(db, *who, c.applicant_user_id, c.department_id).await?;
        let ctx = Value::Object(m);
        let files = if *who == Recipient::Applicant { applicant_files } else { &[] };
        outbox::queue_mail_with_files(db, &state.templates, template, &ctx, &addrs, Some(c.id), None, files, now)
            .await?;
    }
    Ok(())
}
