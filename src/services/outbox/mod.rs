//! Queueing notifications and downstream-sync messages in the outbox, inside
//! the caller's transaction. Delivery happens later (the scheduler calls
//! [`delivery::deliver`]).

pub mod delivery;

use chrono::{DateTime, Utc};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set, TryInsertResult};
use serde_json::Value;

use crate::notify::Templates;
use crate::workflow::{Recipient, Role};
use entity::types::DepartmentKind;
use entity::{department, outbox, user};

/// E-mail addresses for a recipient group.
pub async fn recipients<C: ConnectionTrait>(
    db: &C,
    who: Recipient,
    applicant_user_id: i64,
    department_id: i64,
) -> anyhow::Result<Vec<String>> {
    let mut out = Vec::new();
    match who {
        Recipient::Applicant => {
            if let Some(u) = user::Entity::find_by_id(applicant_user_id).one(db).await?
                && let Some(e) = u.email
            {
                out.push(e);
            }
        }
        Recipient::Department => {
            if let Some(d) = department::Entity::find_by_id(department_id).one(db).await?
                && let Some(e) = d.email
            {
                out.push(e);
            }
            let officers = user::Entity::find()
                .filter(user::Column::DepartmentId.eq(department_id))
                .filter(user::Column::Role.eq(Role::DepartmentOfficer.as_str()))
                .filter(user::Column::Active.eq(true))
                .all(db)
                .await?;
            out.extend(officers.into_iter().filter_map(|u| u.email));
        }
        Recipient::CreditOffice => out.extend(credit_office_emails(db).await?),
    }
    out.sort();
    out.dedup();
    Ok(out)
}

/// The credit office's addresses: its department mailbox and its officers.
pub async fn credit_office_emails<C: ConnectionTrait>(db: &C) -> anyhow::Result<Vec<String>> {
    let mut out: Vec<String> = department::Entity::find()
        .filter(department::Column::Kind.eq(DepartmentKind::CreditOffice))
        .all(db)
        .await?
        .into_iter()
        .filter_map(|d| d.email)
        .collect();
    let officers = user::Entity::find()
        .filter(user::Column::Role.eq(Role::CreditOffice.as_str()))
        .filter(user::Column::Active.eq(true))
        .all(db)
        .await?;
    out.extend(officers.into_iter().filter_map(|u| u.email));
    out.sort();
    out.dedup();
    Ok(out)
}

/// Renders `template` and queues one mail to `to`. With a `dedupe_key`, a
/// second queueing of the same key inserts nothing (returns false).
#[allow(clippy::too_many_arguments)]
pub async fn queue_mail<C: ConnectionTrait>(
    db: &C,
    templates: &Templates,
    template: &str,
    ctx: &Value,
    to: &[String],
    case_id: Option<i64>,
    dedupe_key: Option<String>,
    now: DateTime<Utc>,
) -> anyhow::Result<bool> {
    queue_mail_with_files(db, templates, template, ctx, to, case_id, dedupe_key, &[], now).await
}

/// A stored file a mail carries (e.g. the decision's PDF).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct MailFile {
    pub name: String,
    pub sha256: String,
    pub content_type: String,
}

/// As [`queue_mail`], with files attached (read from the blob store when sent).
#[allow(clippy::too_many_arguments)]
pub async fn queue_mail_with_files<C: ConnectionTrait>(
    db: &C,
    templates: &Templates,
    template: &str,
    ctx: &Value,
    to: &[String],
    case_id: Option<i64>,
    dedupe_key: Option<String>,
    files: &[MailFile],
    now: DateTime<Utc>,
) -> anyhow::Result<bool> {
    if to.is_empty() {
        tracing::warn!(template, case_id, "notification has no recipient address; not queued");
        return Ok(false);
    }
    let r = templates.render(template, ctx)?;
    let mut am = row("mail", dedupe_key, case_id, template, serde_json::to_string(to)?, r.subject, r.text, r.html, now);
    am.attachments = Set(serde_json::to_string(files)?);
    insert(db, am).await
}

/// Queues a message for the downstream sharing platforms.
pub async fn queue_sync<C: ConnectionTrait>(
    db: &C,
    payload: &Value,
    case_id: Option<i64>,
    dedupe_key: String,
    now: DateTime<Utc>,
) -> anyhow::Result<bool> {
    let subject = payload["action"].as_str().unwrap_or("sync").to_string();
    insert(
        db,
        row("sync", Some(dedupe_key), case_id, "sync", "[]".into(), subject, payload.to_string(), String::new(), now),
    )
    .await
}

#[allow(clippy::too_many_arguments)]
fn row(
    kind: &str,
    dedupe_key: Option<String>,
    case_id: Option<i64>,
    template: &str,
    recipients: String,
    subject: String,
    body_text: String,
    body_html: String,
    now: DateTime<Utc>,
) -> outbox::ActiveModel {
    outbox::ActiveModel {
        kind: Set(kind.into()),
        dedupe_key: Set(dedupe_key),
        case_id: Set(case_id),
        template: Set(template.into()),
        recipients: Set(recipients),
        subject: Set(subject),
        body_text: Set(body_text),
        body_html: Set(body_html),
        status: Set("pending".into()),
        attempts: Set(0),
        next_attempt_at: Set(now),
        last_error: Set(None),
        created_at: Set(now),
        sent_at: Set(None),
        attachments: Set("[]".into()),
        ..Default::default()
    }
}

async fn insert<C: ConnectionTrait>(db: &C, row: outbox::ActiveModel) -> anyhow::Result<bool> {
    // ON CONFLICT DO NOTHING: a duplicate key means the message is already
    // queued (by this or another replica), without aborting the transaction.
    let res = outbox::Entity::insert(row).on_conflict_do_nothing_on([outbox::Column::DedupeKey]).exec(db).await?;
    Ok(matches!(res, TryInsertResult::Inserted(_)))
}

/// Tells the subject's active applicant accounts about a change to `rec`
/// with `template`: the context has the subject's and the record's names,
/// the day publication ended and its reason, plus `extra`.
pub async fn notify_subject<C: ConnectionTrait>(
    db: &C,
    templates: &Templates,
    template: &str,
    rec: &entity::record::Model,
    extra: Value,
    now: DateTime<Utc>,
) -> anyhow::Result<bool> {
    let subject = entity::subject::Entity::find_by_id(rec.subject_id).one(db).await?;
    let to: Vec<String> = user::Entity::find()
        .filter(user::Column::SubjectId.eq(rec.subject_id))
        .filter(user::Column::Active.eq(true))
        .all(db)
        .await?
        .into_iter()
        .filter_map(|u| u.email)
        .collect();
    let ended_on = rec.publication_ended_at.map(|t| t.with_timezone(&crate::clock::shanghai()).date_naive());
    let mut ctx = serde_json::json!({
        "subject_name": subject.map(|s| s.name).unwrap_or_default(),
        "record_title": rec.title,
        "document_no": rec.document_no,
        "ended_on": ended_on.map(|d| d.to_string()).unwrap_or_default(),
        "reason": rec.publication_end_reason.clone().unwrap_or_default(),
        "publication_ends": rec.publication_ends.to_string(),
    });
    if let (Some(c), Value::Object(x)) = (ctx.as_object_mut(), extra) {
        c.extend(x);
    }
    let key = format!("{template}:{}:v{}", rec.id, rec.version);
    queue_mail(db, templates, template, &ctx, &to, None, Some(key), now).await
}

/// Tells the subject's applicant accounts that a record's publication ended.
pub async fn notify_publication_ended<C: ConnectionTrait>(
    db: &C,
    templates: &Templates,
    rec: &entity::record::Model,
    now: DateTime<Utc>,
) -> anyhow::Result<bool> {
    notify_subject(db, templates, "publication_ended", rec, serde_json::json!({}), now).await
}
