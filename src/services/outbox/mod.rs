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

/// Who a notification goes to: users (each gets it in the message list, and
/// by mail when they have an address and mail on) and shared mailboxes (a
/// department's address: mail only).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Addressees {
    /// (user id, e-mail address when mail goes to it)
    pub users: Vec<(i64, Option<String>)>,
    pub mailboxes: Vec<String>,
}

impl Addressees {
    /// Adds users (each once); the mail goes to those with an address and mail on.
    pub fn add_users(&mut self, users: Vec<user::Model>) {
        for u in users {
            if !self.users.iter().any(|(id, _)| *id == u.id) {
                let mail = u.email.filter(|_| u.mail_enabled);
                self.users.push((u.id, mail));
            }
        }
    }

    /// A department's addressees: its shared mailbox and its active officers
    /// among `users`.
    pub fn department(department_id: i64, mailbox: Option<String>, users: &[user::Model]) -> Addressees {
        let mut out = Addressees { mailboxes: mailbox.into_iter().collect(), ..Addressees::default() };
        out.add_users(
            users
                .iter()
                .filter(|u| {
                    u.role == Role::DepartmentOfficer.as_str() && u.active && u.department_id == Some(department_id)
                })
                .cloned()
                .collect(),
        );
        out
    }

    /// Adds `other`'s users and mailboxes (each once).
    pub fn extend(&mut self, other: Addressees) {
        for (id, mail) in other.users {
            if !self.users.iter().any(|(u, _)| *u == id) {
                self.users.push((id, mail));
            }
        }
        for m in other.mailboxes {
            if !self.mailboxes.contains(&m) {
                self.mailboxes.push(m);
            }
        }
    }

    /// The mail addresses, each once, sorted.
    pub fn addresses(&self) -> Vec<String> {
        let mut out: Vec<String> =
            self.users.iter().filter_map(|(_, m)| m.clone()).chain(self.mailboxes.iter().cloned()).collect();
        out.sort();
        out.dedup();
        out
    }
}

/// The active users with `role` (and, when given, of a department or subject).
async fn active_users<C: ConnectionTrait>(
    db: &C,
    role: Role,
    department_id: Option<i64>,
    subject_id: Option<i64>,
) -> anyhow::Result<Vec<user::Model>> {
    let mut q = user::Entity::find().filter(user::Column::Role.eq(role.as_str())).filter(user::Column::Active.eq(true));
    if let Some(d) = department_id {
        q = q.filter(user::Column::DepartmentId.eq(d));
    }
    if let Some(s) = subject_id {
        q = q.filter(user::Column::SubjectId.eq(s));
    }
    Ok(q.all(db).await?)
}

/// The addressees of a recipient group.
pub async fn recipients<C: ConnectionTrait>(
    db: &C,
    who: Recipient,
    applicant_user_id: i64,
    department_id: i64,
) -> anyhow::Result<Addressees> {
    let mut out = Addressees::default();
    match who {
        Recipient::Applicant => {
            if let Some(u) = user::Entity::find_by_id(applicant_user_id).one(db).await? {
                out.add_users(vec![u]);
            }
        }
        Recipient::Department => {
            if let Some(d) = department::Entity::find_by_id(department_id).one(db).await?
                && let Some(e) = d.email
            {
                out.mailboxes.push(e);
            }
            out.add_users(active_users(db, Role::DepartmentOfficer, Some(department_id), None).await?);
        }
        Recipient::CreditOffice => out = credit_office(db).await?,
    }
    Ok(out)
}

/// The credit office: its department mailbox and its officers.
pub async fn credit_office<C: ConnectionTrait>(db: &C) -> anyhow::Result<Addressees> {
    let mut out = Addressees { mailboxes: credit_office_mailboxes(db).await?, ..Addressees::default() };
    out.add_users(active_users(db, Role::CreditOffice, None, None).await?);
    Ok(out)
}

/// The credit office's department mailboxes.
pub async fn credit_office_mailboxes<C: ConnectionTrait>(db: &C) -> anyhow::Result<Vec<String>> {
    Ok(department::Entity::find()
        .filter(department::Column::Kind.eq(DepartmentKind::CreditOffice))
        .all(db)
        .await?
        .into_iter()
        .filter_map(|d| d.email)
        .collect())
}

/// The administrators.
pub async fn administrators<C: ConnectionTrait>(db: &C) -> anyhow::Result<Addressees> {
    let mut out = Addressees::default();
    out.add_users(active_users(db, Role::Admin, None, None).await?);
    Ok(out)
}

/// A subject's applicant accounts.
pub async fn subject_users<C: ConnectionTrait>(db: &C, subject_id: i64) -> anyhow::Result<Addressees> {
    let mut out = Addressees::default();
    out.add_users(active_users(db, Role::Applicant, None, Some(subject_id)).await?);
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
    to: &Addressees,
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

/// As [`queue_mail`], with files attached (read from the blob store when
/// sent). Every addressed user gets the notification in the message list
/// (once per dedupe key); the mail goes to the users with an address and
/// mail on, and to the mailboxes. Returns whether a mail was queued (not
/// when it has no address, or its dedupe key was queued already).
#[allow(clippy::too_many_arguments)]
pub async fn queue_mail_with_files<C: ConnectionTrait>(
    db: &C,
    templates: &Templates,
    template: &str,
    ctx: &Value,
    to: &Addressees,
    case_id: Option<i64>,
    dedupe_key: Option<String>,
    files: &[MailFile],
    now: DateTime<Utc>,
) -> anyhow::Result<bool> {
    let (messages, mail) = mail_rows(templates, template, ctx, to, case_id, dedupe_key, files, now)?;
    crate::services::messages::insert(db, messages).await?;
    match mail {
        Some(am) => insert(db, am).await,
        None => Ok(false),
    }
}

/// The message rows and the outbox row (None: no address) of one
/// notification: the template rendered once for both.
#[allow(clippy::too_many_arguments)]
fn mail_rows(
    templates: &Templates,
    template: &str,
    ctx: &Value,
    to: &Addressees,
    case_id: Option<i64>,
    dedupe_key: Option<String>,
    files: &[MailFile],
    now: DateTime<Utc>,
) -> anyhow::Result<(Vec<entity::message::ActiveModel>, Option<outbox::ActiveModel>)> {
    let r = templates.render(template, ctx)?;
    let link = ctx.get("link").and_then(Value::as_str).map(str::to_string);
    let messages = crate::services::messages::rows(
        &to.users,
        case_id,
        template,
        &r.subject,
        &r.text,
        link,
        dedupe_key.as_deref(),
        now,
    );
    let addresses = to.addresses();
    if addresses.is_empty() {
        if to.users.is_empty() {
            tracing::warn!(template, case_id, "notification has no recipient; not queued");
        }
        return Ok((messages, None));
    }
    let mut am =
        row("mail", dedupe_key, case_id, template, serde_json::to_string(&addresses)?, r.subject, r.text, r.html, now);
    am.attachments = Set(serde_json::to_string(files)?);
    Ok((messages, Some(am)))
}

/// The outbox row of a message for the downstream sharing platforms.
fn sync_row(payload: &Value, case_id: Option<i64>, dedupe_key: String, now: DateTime<Utc>) -> outbox::ActiveModel {
    let subject = payload["action"].as_str().unwrap_or("sync").to_string();
    row("sync", Some(dedupe_key), case_id, "sync", "[]".into(), subject, payload.to_string(), String::new(), now)
}

/// Outbox and message rows a transition queues, inserted together when it
/// ends (two statements, however many notifications it sends).
#[derive(Default)]
pub struct Queued {
    outbox: Vec<outbox::ActiveModel>,
    messages: Vec<entity::message::ActiveModel>,
}

impl Queued {
    /// As [`queue_sync`], kept for [`Queued::flush`].
    pub fn sync(&mut self, payload: &Value, case_id: Option<i64>, dedupe_key: String, now: DateTime<Utc>) {
        self.outbox.push(sync_row(payload, case_id, dedupe_key, now));
    }

    /// As [`queue_mail_with_files`], kept for [`Queued::flush`]. Returns
    /// whether a mail is queued.
    #[allow(clippy::too_many_arguments)]
    pub fn mail(
        &mut self,
        templates: &Templates,
        template: &str,
        ctx: &Value,
        to: &Addressees,
        case_id: Option<i64>,
        dedupe_key: Option<String>,
        files: &[MailFile],
        now: DateTime<Utc>,
    ) -> anyhow::Result<bool> {
        let (messages, mail) = mail_rows(templates, template, ctx, to, case_id, dedupe_key, files, now)?;
        self.messages.extend(messages);
        let queued = mail.is_some();
        self.outbox.extend(mail);
        Ok(queued)
    }

    /// Inserts what was kept, in the order it was queued (a duplicate key
    /// inserts nothing, as one at a time).
    pub async fn flush<C: ConnectionTrait>(self, db: &C) -> anyhow::Result<()> {
        crate::services::messages::insert(db, self.messages).await?;
        if !self.outbox.is_empty() {
            outbox::Entity::insert_many(self.outbox)
                .on_conflict_do_nothing_on([outbox::Column::DedupeKey])
                .exec(db)
                .await?;
        }
        Ok(())
    }
}

/// Queues a message for the downstream sharing platforms.
pub async fn queue_sync<C: ConnectionTrait>(
    db: &C,
    payload: &Value,
    case_id: Option<i64>,
    dedupe_key: String,
    now: DateTime<Utc>,
) -> anyhow::Result<bool> {
    insert(db, sync_row(payload, case_id, dedupe_key, now)).await
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
    let to = subject_users(db, rec.subject_id).await?;
    let ended_on = rec.publication_ended_at.map(crate::clock::local_date);
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
