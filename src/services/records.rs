//! Reading records with their subject, department, sanctions and lists, scoped
//! to the caller in the query itself.

use std::collections::HashMap;

use chrono::NaiveDate;
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect,
};
use serde::Serialize;
use utoipa::ToSchema;

use crate::auth::AuthUser;
use crate::domain::period::RecordStanding;
use crate::domain::uscc::Uscc;
use crate::error::{ApiError, ApiResult};
use crate::workflow::Role;
use entity::types::{ActiveStatus, CaseKind, PublicationStatus, RecordSource, SubjectKind};
use entity::{department, list_membership, measure, record, sanction, subject};

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SanctionView {
    pub id: i64,
    pub measure_id: i64,
    /// Name of the sanction measure.
    pub measure: String,
    pub status: ActiveStatus,
    pub started_on: NaiveDate,
    pub ended_at: Option<chrono::DateTime<chrono::Utc>>,
    pub ended_reason: Option<String>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ListMembershipView {
    pub id: i64,
    pub list_name: String,
    pub status: ActiveStatus,
    pub listed_on: NaiveDate,
    pub ended_at: Option<chrono::DateTime<chrono::Utc>>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RecordView {
    pub id: i64,
    pub subject_id: i64,
    pub subject_code: String,
    pub subject_name: String,
    pub subject_kind: Option<SubjectKind>,
    /// `administrative_penalty`, `serious_dishonesty_list`, `abnormal_operation_list` or `other`
    pub record_type: String,
    pub title: String,
    pub content: String,
    pub severity: String,
    pub regime: String,
    pub department_id: i64,
    pub department_name: String,
    pub document_no: String,
    pub decision_date: NaiveDate,
    pub conduct_end_date: Option<NaiveDate>,
    pub publication_status: PublicationStatus,
    pub publication_end_reason: Option<String>,
    pub objection_open: bool,
    pub repairable: bool,
    pub repairable_from: Option<NaiveDate>,
    pub publication_ends: NaiveDate,
    pub display_category: String,
    pub repair_barred_until: Option<NaiveDate>,
    pub deleted: bool,
    pub version: i32,
    /// `local`, or `samr`: mirrored from market regulation, repaired on SAMR's system.
    pub source: RecordSource,
    pub source_title: String,
    /// The day the record was first published (SAMR counts from it).
    pub published_on: Option<NaiveDate>,
    pub sanctions: Vec<SanctionView>,
    pub lists: Vec<ListMembershipView>,
    /// The case open on the record, if any (one at a time).
    pub open_case_id: Option<i64>,
}

impl From<&RecordView> for RecordStanding {
    fn from(r: &RecordView) -> Self {
        RecordStanding {
            status: r.publication_status,
            deleted: r.deleted,
            repairable: r.repairable,
            repair_from: r.repairable_from,
            publication_ends: r.publication_ends,
            repair_barred_until: r.repair_barred_until,
        }
    }
}

/// The condition limiting records to what `user` may see.
pub fn scope(user: &AuthUser) -> Condition {
    match user.role {
        Role::Applicant => match user.subject_id {
            Some(s) => Condition::all().add(record::Column::SubjectId.eq(s)),
            None => Condition::all().add(record::Column::Id.lt(0)),
        },
        Role::DepartmentOfficer => match user.department_id {
            Some(d) => Condition::all().add(record::Column::DepartmentId.eq(d)),
            None => Condition::all().add(record::Column::Id.lt(0)),
        },
        Role::CreditOffice | Role::Admin => Condition::all(),
        Role::System => Condition::all().add(record::Column::Id.lt(0)),
    }
}

/// Resolves a `subject=<code>` filter. With `require_uscc` the code must have
/// the shape of a unified social credit code (a failed check character is
/// still looked up: some legitimate codes fail it).
pub async fn find_subject<C: ConnectionTrait>(
    db: &C,
    code: &str,
    require_uscc: bool,
) -> ApiResult<Option<subject::Model>> {
    let code = code.trim().to_uppercase();
    if code.is_empty() {
        return Err(ApiError::field("subject", "required", "请提供统一社会信用代码"));
    }
    if require_uscc {
        Uscc::parse_lenient(&code).map_err(|e| ApiError::field("subject", e.code(), e.to_string()))?;
    }
    Ok(subject::Entity::find().filter(subject::Column::Code.eq(code)).one(db).await?)
}

#[derive(Clone, Default)]
pub struct RecordFilter {
    pub subject_id: Option<i64>,
    pub department_id: Option<i64>,
    pub publication_status: Option<PublicationStatus>,
}

pub async fn list<C: ConnectionTrait>(
    db: &C,
    user: &AuthUser,
    filter: RecordFilter,
    page: u64,
    per_page: u64,
) -> ApiResult<(Vec<RecordView>, u64)> {
    let mut q = record::Entity::find().filter(scope(user));
    if let Some(s) = filter.subject_id {
        q = q.filter(record::Column::SubjectId.eq(s));
    }
    if let Some(d) = filter.department_id {
        q = q.filter(record::Column::DepartmentId.eq(d));
    }
    if let Some(p) = filter.publication_status {
        q = q.filter(record::Column::PublicationStatus.eq(p));
    }
    let total = q.clone().count(db).await?;
    let rows = q
        .order_by_desc(record::Column::DecisionDate)
        .order_by_desc(record::Column::Id)
        .limit(per_page)
        .offset((page - 1) * per_page)
        .all(db)
        .await?;
    Ok((views(db, rows).await?, total))
}

/// The record if `user` may see it; 404 otherwise (existence does not leak).
pub async fn find_in_scope<C: ConnectionTrait>(db: &C, user: &AuthUser, id: i64) -> ApiResult<record::Model> {
    record::Entity::find_by_id(id).filter(scope(user)).one(db).await?.ok_or_else(|| ApiError::not_found("信用信息"))
}

/// One record the caller may see.
pub async fn get<C: ConnectionTrait>(db: &C, user: &AuthUser, id: i64) -> ApiResult<RecordView> {
    let row = find_in_scope(db, user, id).await?;
    Ok(views(db, vec![row]).await?.remove(0))
}

/// One record without scope (internal use).
pub async fn view_by_id<C: ConnectionTrait>(db: &C, id: i64) -> ApiResult<RecordView> {
    let row = record::Entity::find_by_id(id).one(db).await?.ok_or_else(|| ApiError::not_found("信用信息"))?;
    Ok(views(db, vec![row]).await?.remove(0))
}

/// Loads the related rows for a batch of records with one query per table.
pub async fn views<C: ConnectionTrait>(db: &C, rows: Vec<record::Model>) -> ApiResult<Vec<RecordView>> {
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
    let subject_ids: Vec<i64> = rows.iter().map(|r| r.subject_id).collect();
    let dept_ids: Vec<i64> = rows.iter().map(|r| r.department_id).collect();
    let subjects: HashMap<i64, subject::Model> = subject::Entity::find()
        .filter(subject::Column::Id.is_in(subject_ids))
        .all(db)
        .await?
        .into_iter()
        .map(|s| (s.id, s))
        .collect();
    let depts: HashMap<i64, department::Model> = department::Entity::find()
        .filter(department::Column::Id.is_in(dept_ids))
        .all(db)
        .await?
        .into_iter()
        .map(|d| (d.id, d))
        .collect();
    let sanctions = sanction::Entity::find()
        .filter(sanction::Column::RecordId.is_in(ids.clone()))
        .order_by_asc(sanction::Column::Id)
        .all(db)
        .await?;
    let measure_ids: Vec<i64> = sanctions.iter().map(|s| s.measure_id).collect();
    let measures: HashMap<i64, String> = measure::Entity::find()
        .filter(measure::Column::Id.is_in(measure_ids))
        .all(db)
        .await?
        .into_iter()
        .map(|m| (m.id, m.name))
        .collect();
    let open_cases: HashMap<i64, i64> = entity::case::Entity::find()
        .select_only()
        .column(entity::case::Column::OpenRecordKey)
        .column(entity::case::Column::Id)
        .filter(entity::case::Column::OpenRecordKey.is_in(ids.clone()))
        .into_tuple::<(Option<i64>, i64)>()
        .all(db)
        .await?
        .into_iter()
        .filter_map(|(r, c)| r.map(|r| (r, c)))
        .collect();
    let lists = list_membership::Entity::find()
        .filter(list_membership::Column::RecordId.is_in(ids))
        .order_by_asc(list_membership::Column::Id)
        .all(db)
        .await?;
    Ok(rows
        .into_iter()
        .map(|r| {
            let s = subjects.get(&r.subject_id);
            RecordView {
                id: r.id,
                subject_id: r.subject_id,
                subject_code: s.map(|s| s.code.clone()).unwrap_or_default(),
                subject_name: s.map(|s| s.name.clone()).unwrap_or_default(),
                subject_kind: s.map(|s| s.kind),
                record_type: r.record_type,
                title: r.title,
                content: r.content,
                severity: r.severity,
                regime: r.regime,
                department_id: r.department_id,
                department_name: depts.get(&r.department_id).map(|d| d.name.clone()).unwrap_or_default(),
                document_no: r.document_no,
                decision_date: r.decision_date,
                conduct_end_date: r.conduct_end_date,
                publication_status: r.publication_status,
                publication_end_reason: r.publication_end_reason,
                objection_open: r.objection_open,
                repairable: r.repairable,
                repairable_from: r.repair_from,
                publication_ends: r.publication_ends,
                display_category: r.display_category,
                repair_barred_until: r.repair_barred_until,
                deleted: r.deleted,
                version: r.version,
                source: r.source,
                source_title: r.source.title_zh().to_string(),
                published_on: r.published_on,
                sanctions: sanctions
                    .iter()
                    .filter(|x| x.record_id == r.id)
                    .map(|x| SanctionView {
                        id: x.id,
                        measure_id: x.measure_id,
                        measure: measures.get(&x.measure_id).cloned().unwrap_or_default(),
                        status: x.status,
                        started_on: x.started_on,
                        ended_at: x.ended_at,
                        ended_reason: x.ended_reason.clone(),
                    })
                    .collect(),
                lists: lists
                    .iter()
                    .filter(|x| x.record_id == r.id)
                    .map(|x| ListMembershipView {
                        id: x.id,
                        list_name: x.list_name.clone(),
                        status: x.status,
                        listed_on: x.listed_on,
                        ended_at: x.ended_at,
                    })
                    .collect(),
                open_case_id: open_cases.get(&r.id).copied(),
            }
        })
        .collect())
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PublicRecordView {
    pub id: i64,
    pub subject_code: String,
    pub subject_name: String,
    pub record_type: String,
    pub title: String,
    pub content: String,
    pub department_name: String,
    pub document_no: String,
    pub decision_date: NaiveDate,
    pub publication_ends: NaiveDate,
    pub display_category: String,
    pub objection_open: bool,
    /// "异议处理中" while an objection is open.
    pub objection_label: Option<String>,
    /// `samr`: a market-regulation record; its repair is applied for on SAMR's system.
    pub source: RecordSource,
}

/// What the public may see about a subject: published records only, never a
/// natural person's.
pub async fn public_query<C: ConnectionTrait>(db: &C, code: &str) -> ApiResult<Vec<PublicRecordView>> {
    let Some(subj) = find_subject(db, code, true).await? else {
        return Ok(Vec::new());
    };
    if subj.kind == SubjectKind::NaturalPerson {
        return Ok(Vec::new());
    }
    let rows = record::Entity::find()
        .filter(record::Column::SubjectId.eq(subj.id))
        .filter(record::Column::PublicationStatus.eq(PublicationStatus::Published))
        .filter(record::Column::Deleted.eq(false))
        .order_by_desc(record::Column::DecisionDate)
        .all(db)
        .await?;
    Ok(views(db, rows)
        .await?
        .into_iter()
        .map(|v| PublicRecordView {
            id: v.id,
            subject_code: v.subject_code,
            subject_name: v.subject_name,
            record_type: v.record_type,
            title: v.title,
            content: v.content,
            department_name: v.department_name,
            document_no: v.document_no,
            decision_date: v.decision_date,
            publication_ends: v.publication_ends,
            display_category: v.display_category,
            objection_open: v.objection_open,
            objection_label: v.objection_open.then(|| "异议处理中".to_string()),
            source: v.source,
        })
        .collect())
}

/// A subject found by the public search, with what is published about it.
#[derive(Debug, Serialize)]
pub struct PublicSubject {
    pub code: String,
    pub name: String,
    pub records: Vec<PublicRecordView>,
}

/// The public search: by USCC (exactly) or by name (any part of it), a page
/// of subjects at a time; natural persons are never found.
pub async fn public_search<C: ConnectionTrait>(
    db: &C,
    query: &str,
    page: u64,
    per_page: u64,
) -> ApiResult<(Vec<PublicSubject>, u64)> {
    let q = query.trim();
    if q.is_empty() {
        return Ok((Vec::new(), 0));
    }
    if q.chars().count() > 100 {
        return Err(ApiError::field("q", "too_long", "查询内容不能超过 100 个字符"));
    }
    let mut find = subject::Entity::find().filter(subject::Column::Kind.ne(SubjectKind::NaturalPerson));
    find = if Uscc::parse_lenient(q).is_ok() {
        find.filter(subject::Column::Code.eq(q.to_uppercase()))
    } else {
        let like = format!("%{}%", q.replace(['%', '_'], ""));
        find.filter(subject::Column::Name.like(like))
    };
    let total = find.clone().count(db).await?;
    let subjects =
        find.order_by_asc(subject::Column::Name).limit(per_page).offset((page - 1) * per_page).all(db).await?;
    let mut out = Vec::with_capacity(subjects.len());
    for s in subjects {
        let records = public_query(db, &s.code).await?;
        out.push(PublicSubject { code: s.code, name: s.name, records });
    }
    Ok((out, total))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RecordEventView {
    pub action: String,
    pub actor_role: String,
    #[schema(value_type = Object)]
    pub detail: serde_json::Value,
    pub created_at: chrono::DateTime<chrono::Utc>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RecordCaseView {
    pub id: i64,
    pub case_no: String,
    pub kind: CaseKind,
    pub state: String,
    pub result: Option<String>,
    pub received_at: chrono::DateTime<chrono::Utc>,
    pub closed_at: Option<chrono::DateTime<chrono::Utc>>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RecordHistory {
    /// Changes made outside a case (e.g. the publication window ran out).
    pub events: Vec<RecordEventView>,
    /// Cases filed on the record; their own history shows what each changed.
    pub cases: Vec<RecordCaseView>,
}

/// What happened to a record the caller may see.
pub async fn history<C: ConnectionTrait>(db: &C, user: &AuthUser, id: i64) -> ApiResult<RecordHistory> {
    use entity::{case, record_event};
    let rec = find_in_scope(db, user, id).await?;
    let events = record_event::Entity::find()
        .filter(record_event::Column::RecordId.eq(rec.id))
        .order_by_asc(record_event::Column::Id)
        .all(db)
        .await?
        .into_iter()
        .map(|e| RecordEventView {
            action: e.action,
            actor_role: e.actor_role,
            detail: serde_json::from_str(&e.detail).unwrap_or_default(),
            created_at: e.created_at,
        })
        .collect();
    let mut q = case::Entity::find().filter(case::Column::RecordId.eq(rec.id));
    if user.role == Role::DepartmentOfficer {
        q = q.filter(crate::services::cases::scope(user));
    }
    let cases = q
        .order_by_asc(case::Column::Id)
        .all(db)
        .await?
        .into_iter()
        .map(|c| RecordCaseView {
            id: c.id,
            case_no: c.case_no,
            kind: c.kind,
            state: c.state,
            result: c.result,
            received_at: c.received_at,
            closed_at: c.closed_at,
        })
        .collect();
    Ok(RecordHistory { events, cases })
}
