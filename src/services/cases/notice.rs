//! The template context of a case's notifications, built in one place for
//! the transitions, intake and the deadline jobs, and queued to a recipient
//! group.

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, Utc};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DatabaseBackend, EntityTrait, QueryFilter, QueryOrder, Statement,
};
use serde_json::{Map, Value, json};

use crate::error::ApiResult;
use crate::services::outbox;
use crate::state::AppState;
use crate::workflow::{Definition, Recipient, Role};
use entity::{case, department, record, user};

/// The names a notification shows: loaded once per transition.
#[derive(Debug, Clone, Default)]
pub struct Parties {
    pub subject_name: String,
    /// The subject's unified social credit code (or resident ID).
    pub subject_code: String,
    pub department_name: Option<String>,
    /// The department's shared mailbox.
    pub department_email: Option<String>,
    /// The credit office's department mailboxes (None: not read).
    pub office_mailboxes: Option<Vec<String>>,
    /// The applicant's user id and, when mail goes to it, e-mail address
    /// (None: not read).
    pub applicant: Option<(i64, Option<String>)>,
    /// The credit office's active officers, likewise (None: not read).
    pub office_users: Option<Vec<(i64, Option<String>)>>,
}

impl Parties {
    /// The case's subject and department side by side (one statement).
    pub async fn load<C: ConnectionTrait>(db: &C, c: &case::Model) -> ApiResult<Parties> {
        let backend = db.get_database_backend();
        // The credit office's mailboxes come along (newline-separated: an
        // address has no whitespace), and the applicant's address ('m:' and
        // the address, '-' without mail), so notifying them needs no query
        // of its own.
        let sql = match backend {
            DatabaseBackend::Postgres => {
                "SELECT s.name, s.code, d.name, d.email, \
                 (SELECT string_agg(o.email, chr(10) ORDER BY o.id) FROM departments o \
                  WHERE o.kind = 'credit_office' AND o.email IS NOT NULL), \
                 (SELECT CASE WHEN u.mail_enabled AND u.email IS NOT NULL THEN 'm:' || u.email ELSE '-' END \
                  FROM users u WHERE u.id = $3), \
                 (SELECT string_agg(u.id || ':' || CASE WHEN u.mail_enabled AND u.email IS NOT NULL THEN u.email \
                  ELSE '' END, chr(10) ORDER BY u.id) FROM users u WHERE u.role = 'credit_office' AND u.active) \
                 FROM subjects s LEFT JOIN departments d ON d.id = $1 WHERE s.id = $2"
            }
            _ => {
                "SELECT s.name, s.code, d.name, d.email, \
                 (SELECT group_concat(e, char(10)) FROM (SELECT o.email AS e FROM departments o \
                  WHERE o.kind = 'credit_office' AND o.email IS NOT NULL ORDER BY o.id)), \
                 (SELECT CASE WHEN u.mail_enabled AND u.email IS NOT NULL THEN 'm:' || u.email ELSE '-' END \
                  FROM users u WHERE u.id = ?3), \
                 (SELECT group_concat(e, char(10)) FROM (SELECT u.id || ':' || CASE WHEN u.mail_enabled AND \
                  u.email IS NOT NULL THEN u.email ELSE '' END AS e FROM users u \
                  WHERE u.role = 'credit_office' AND u.active ORDER BY u.id)) \
                 FROM subjects s LEFT JOIN departments d ON d.id = ?1 WHERE s.id = ?2"
            }
        };
        let values = [c.department_id.into(), c.subject_id.into(), c.applicant_user_id.into()];
        let row = db.query_one_raw(Statement::from_sql_and_values(backend, sql, values)).await?;
        if let Some(r) = row {
            let applicant = r
                .try_get_by_index::<Option<String>>(5)?
                .map(|m| (c.applicant_user_id, m.strip_prefix("m:").map(str::to_string)));
            // One line per officer: "id:address" (empty address: no mail).
            let office_users = r
                .try_get_by_index::<Option<String>>(6)?
                .unwrap_or_default()
                .split('\n')
                .filter_map(|line| {
                    let (id, mail) = line.split_once(':')?;
                    Some((id.parse().ok()?, Some(mail.to_string()).filter(|m| !m.is_empty())))
                })
                .collect();
            return Ok(Parties {
                applicant,
                office_users: Some(office_users),
                subject_name: r.try_get_by_index(0)?,
                subject_code: r.try_get_by_index(1)?,
                department_name: r.try_get_by_index(2)?,
                department_email: r.try_get_by_index(3)?,
                office_mailboxes: Some(
                    r.try_get_by_index::<Option<String>>(4)?
                        .map(|m| m.split('\n').filter(|e| !e.is_empty()).map(str::to_string).collect())
                        .unwrap_or_default(),
                ),
            });
        }
        // No subject row: the department alone.
        let dept = department::Entity::find_by_id(c.department_id).one(db).await?;
        Ok(Parties {
            department_name: dept.as_ref().map(|d| d.name.clone()),
            department_email: dept.and_then(|d| d.email),
            ..Parties::default()
        })
    }
}

/// The addressees of a case's recipient groups, looked up once per
/// transition: the applicant and the department's officers in one query,
/// the department's mailbox from [`Parties`].
#[derive(Debug, Default)]
pub struct Addressed {
    groups: HashMap<Recipient, outbox::Addressees>,
}

impl Addressed {
    /// Looks up the groups in `wanted` not known yet.
    pub async fn load<C: ConnectionTrait>(
        &mut self,
        db: &C,
        c: &case::Model,
        parties: &Parties,
        wanted: &[Recipient],
    ) -> ApiResult<()> {
        if wanted.contains(&Recipient::Applicant)
            && !self.groups.contains_key(&Recipient::Applicant)
            && let Some((id, mail)) = &parties.applicant
        {
            let a = outbox::Addressees { users: vec![(*id, mail.clone())], ..Default::default() };
            self.groups.insert(Recipient::Applicant, a);
        }
        if wanted.contains(&Recipient::CreditOffice)
            && !self.groups.contains_key(&Recipient::CreditOffice)
            && let (Some(users), Some(mailboxes)) = (&parties.office_users, &parties.office_mailboxes)
        {
            let o = outbox::Addressees { users: users.clone(), mailboxes: mailboxes.clone() };
            self.groups.insert(Recipient::CreditOffice, o);
        }
        let missing = |who: Recipient| wanted.contains(&who) && !self.groups.contains_key(&who);
        let (applicant, department, office) =
            (missing(Recipient::Applicant), missing(Recipient::Department), missing(Recipient::CreditOffice));
        if applicant || department || office {
            let mut cond = Condition::any();
            if applicant {
                cond = cond.add(user::Column::Id.eq(c.applicant_user_id));
            }
            if department {
                cond = cond.add(
                    Condition::all()
                        .add(user::Column::Role.eq(Role::DepartmentOfficer.as_str()))
                        .add(user::Column::Active.eq(true))
                        .add(user::Column::DepartmentId.eq(c.department_id)),
                );
            }
            if office {
                cond = cond.add(
                    Condition::all()
                        .add(user::Column::Role.eq(Role::CreditOffice.as_str()))
                        .add(user::Column::Active.eq(true)),
                );
            }
            let users = user::Entity::find().filter(cond).order_by_asc(user::Column::Id).all(db).await?;
            if applicant {
                let mut a = outbox::Addressees::default();
                a.add_users(users.iter().filter(|u| u.id == c.applicant_user_id).cloned().collect());
                self.groups.insert(Recipient::Applicant, a);
            }
            if department {
                let d = outbox::Addressees::department(c.department_id, parties.department_email.clone(), &users);
                self.groups.insert(Recipient::Department, d);
            }
            if office {
                let mailboxes = match &parties.office_mailboxes {
                    Some(m) => m.clone(),
                    None => outbox::credit_office_mailboxes(db).await?,
                };
                let mut o = outbox::Addressees { mailboxes, ..Default::default() };
                o.add_users(users.into_iter().filter(|u| u.role == Role::CreditOffice.as_str() && u.active).collect());
                self.groups.insert(Recipient::CreditOffice, o);
            }
        }
        Ok(())
    }

    /// A loaded group's addressees.
    pub fn of(&self, who: Recipient) -> outbox::Addressees {
        self.groups.get(&who).cloned().unwrap_or_default()
    }
}

/// The day a deadline falls due, from its end instant (24:00 local time).
pub fn due_day(due_at: DateTime<Utc>) -> NaiveDate {
    crate::clock::local_date(due_at) - chrono::Duration::days(1)
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
    let mut groups = Vec::with_capacity(to.len());
    for who in to {
        groups.push((*who, outbox::recipients(db, *who, c.applicant_user_id, c.department_id).await?));
    }
    let mut queued = outbox::Queued::default();
    queue_to(&mut queued, state, c, template, ctx, &groups, applicant_files, now)?;
    queued.flush(db).await?;
    Ok(())
}

/// As [`queue_with_files`], to addressees already looked up, kept in
/// `queued` (the caller inserts them).
#[allow(clippy::too_many_arguments)]
pub fn queue_to(
    queued: &mut outbox::Queued,
    state: &AppState,
    c: &case::Model,
    template: &str,
    ctx: &Map<String, Value>,
    to: &[(Recipient, outbox::Addressees)],
    applicant_files: &[outbox::MailFile],
    now: DateTime<Utc>,
) -> ApiResult<()> {
    for (who, addrs) in to {
        // Each group's copy is addressed to that group.
        let mut m = ctx.clone();
        let name = match who {
            Recipient::Applicant => ctx.get("applicant_name").cloned().unwrap_or(Value::Null),
            Recipient::Department => ctx.get("department_name").cloned().unwrap_or(Value::Null),
            Recipient::CreditOffice => Value::String("区信用办".into()),
        };
        m.insert("recipient_name".into(), name);
        m.insert("for_applicant".into(), Value::Bool(*who == Recipient::Applicant));
        let ctx = Value::Object(m);
        let files = if *who == Recipient::Applicant { applicant_files } else { &[] };
        queued.mail(&state.templates, template, &ctx, addrs, Some(c.id), None, files, now)?;
    }
    Ok(())
}
