//! The case as a client sees it, including what the caller may do now.

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, Utc};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect};
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

use super::{facts, find_in_scope, scope};
use crate::auth::AuthUser;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use crate::workflow::ActionInfo;
use entity::types::{AttachmentKind, CaseKind, DeadlineKind, DeadlineStatus, ObjectionGrounds, Outcome, RecordSource};
use entity::{attachment, case, case_event, deadline, department, record, subject, user};

#[derive(Debug, Serialize, ToSchema)]
pub struct ActionView {
    pub name: String,
    pub title: String,
    pub requires_comment: bool,
    pub requires_outcome: bool,
    pub outcomes: Vec<String>,
    pub requires_attachments: Vec<String>,
    /// The action names the department to route to (`department_id`).
    pub requires_department: bool,
    /// The action lists the missing items (`missing_items`, 一次性告知).
    pub requires_items: bool,
}

impl From<ActionInfo> for ActionView {
    fn from(a: ActionInfo) -> Self {
        ActionView {
            name: a.name,
            title: a.title,
            requires_comment: a.requires_comment,
            requires_outcome: a.requires_outcome,
            outcomes: a.outcomes,
            requires_attachments: a.requires_attachments,
            requires_department: a.requires_department,
            requires_items: a.requires_items,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct EventView {
    pub seq: i32,
    pub action: String,
    pub actor_role: String,
    pub actor_name: Option<String>,
    pub from_state: Option<String>,
    pub to_state: String,
    pub comment: Option<String>,
    #[schema(value_type = Object)]
    pub inputs: Value,
    pub created_at: DateTime<Utc>,
    pub hash: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AttachmentView {
    pub id: i64,
    pub kind: AttachmentKind,
    pub kind_title: String,
    pub content_type: String,
    pub size: i64,
    pub sha256: String,
    pub file_name: String,
    pub uploaded_at: DateTime<Utc>,
    pub download_url: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CaseView {
    pub id: i64,
    pub case_no: String,
    pub kind: CaseKind,
    pub kind_label: String,
    pub state: String,
    pub state_title: String,
    pub terminal: bool,
    pub version: i32,
    pub record_id: i64,
    pub record_title: String,
    pub document_no: String,
    pub subject_code: String,
    pub subject_name: String,
    pub department_id: i64,
    pub department_name: String,
    pub reason: String,
    pub outcome: Option<Outcome>,
    pub outcome_title: Option<String>,
    pub result: Option<String>,
    /// End of the current step's deadline.
    pub due_at: Option<DateTime<Utc>>,
    /// End of the whole case's deadline (absent while paused).
    pub total_due_at: Option<DateTime<Utc>>,
    pub overdue: bool,
    /// A deadline counts days of a year whose holiday arrangement is not loaded yet.
    pub provisional_deadline: bool,
    pub extension_used: bool,
    /// A department's extension request awaits the credit office.
    pub extension_pending: bool,
    /// The reason given for the (requested or approved) extension.
    pub extension_reason: Option<String>,
    pub last_urged_on: Option<NaiveDate>,
    pub received_at: DateTime<Utc>,
    pub closed_at: Option<DateTime<Utc>>,
    /// An objection's grounds (`wrong_identity`, `wrong_content`,
    /// `past_period`, `decision_revoked`, `repair_decision`, `other`).
    pub grounds: Option<ObjectionGrounds>,
    pub grounds_title: Option<String>,
    /// The repair case whose decision this objection contests.
    pub objects_to_case_id: Option<i64>,
    pub objects_to_case_no: Option<String>,
    /// The open supplement request's missing items, told all at once.
    pub supplement_items: Vec<String>,
    /// The record comes from market regulation (SAMR): its repair is SAMR's.
    pub record_source: RecordSource,
    /// For a SAMR record's repair: SAMR's decision it registers.
    pub external_decision_no: Option<String>,
    /// The case has been routed to a department (false while the credit
    /// office holds it: formal check, platform check, handed back).
    pub routed: bool,
    pub workflow_id: String,
    pub workflow_version: i32,
    pub workflow_hash: String,
    /// Required materials not yet uploaded.
    pub missing_materials: Vec<String>,
    /// What the caller may do now.
    pub actions: Vec<ActionView>,
    pub attachments: Vec<AttachmentView>,
    /// Formal documents (文书) issued on the case.
    pub documents: Vec<crate::services::documents::DocumentView>,
    pub history: Vec<EventView>,
}

/// Compact row for lists.
#[derive(Debug, Serialize, ToSchema)]
pub struct CaseSummary {
    pub id: i64,
    pub case_no: String,
    pub kind: CaseKind,
    pub kind_label: String,
    pub state: String,
    pub state_title: String,
    pub subject_name: String,
    pub department_name: String,
    /// The day the current step falls due.
    pub due_on: Option<NaiveDate>,
    pub last_urged_on: Option<NaiveDate>,
    /// Who urged last (the credit-office officer's name).
    pub last_urged_by: Option<String>,
    pub version: i32,
    pub record_id: i64,
    pub subject_id: i64,
    pub department_id: i64,
    pub due_at: Option<DateTime<Utc>>,
    pub overdue: bool,
    pub provisional_deadline: bool,
    pub received_at: DateTime<Utc>,
    pub closed_at: Option<DateTime<Utc>>,
}

/// For each urged case among `rows`, the name of whoever urged it last
/// (two queries, only when a row was urged).
pub(crate) async fn last_urgers<C: ConnectionTrait>(db: &C, rows: &[case::Model]) -> ApiResult<HashMap<i64, String>> {
    let urged: Vec<i64> = rows.iter().filter(|c| c.last_urged_on.is_some()).map(|c| c.id).collect();
    if urged.is_empty() {
        return Ok(HashMap::new());
    }
    let events = case_event::Entity::find()
        .filter(case_event::Column::CaseId.is_in(urged))
        .filter(case_event::Column::Action.eq("urge"))
        .order_by_asc(case_event::Column::Id)
        .all(db)
        .await?;
    let last: HashMap<i64, Option<i64>> = events.into_iter().map(|e| (e.case_id, e.actor_user_id)).collect();
    let user_ids: Vec<i64> = last.values().flatten().copied().collect();
    let names: HashMap<i64, String> = user::Entity::find()
        .filter(user::Column::Id.is_in(user_ids))
        .all(db)
        .await?
        .into_iter()
        .map(|u| (u.id, u.display_name))
        .collect();
    Ok(last.into_iter().filter_map(|(case_id, actor)| Some((case_id, names.get(&actor?)?.clone()))).collect())
}

/// The decided repairs of a record (denied or revoked) that `user` may see
/// and an objection may contest: (id, case number, result).
pub async fn list_contestable<C: ConnectionTrait>(
    db: &C,
    user: &AuthUser,
    record_id: i64,
) -> ApiResult<Vec<(i64, String, Option<String>)>> {
    let rows = case::Entity::find()
        .filter(scope(user))
        .filter(case::Column::RecordId.eq(record_id))
        .filter(case::Column::Kind.eq(CaseKind::Repair))
        .filter(case::Column::State.is_in(crate::domain::filing::CONTESTABLE_REPAIR_STATES))
        .order_by_desc(case::Column::Id)
        .all(db)
        .await?;
    Ok(rows.into_iter().map(|c| (c.id, c.case_no, c.result)).collect())
}

pub async fn get(state: &AppState, user: &AuthUser, id: i64) -> ApiResult<CaseView> {
    let (c, record) = super::case_with_record(&state.read, Some(user), id).await?;
    build_with(state, &state.read, Some(user), c, record).await
}

/// The full view. With `viewer` the available actions are the viewer's.
pub async fn build<C: ConnectionTrait>(
    state: &AppState,
    db: &C,
    viewer: Option<&AuthUser>,
    c: case::Model,
) -> ApiResult<CaseView> {
    let record =
        record::Entity::find_by_id(c.record_id).one(db).await?.ok_or_else(|| ApiError::not_found("信用信息"))?;
    build_with(state, db, viewer, c, record).await
}

/// As [`build`], with the case's record already read.
async fn build_with<C: ConnectionTrait>(
    state: &AppState,
    db: &C,
    viewer: Option<&AuthUser>,
    c: case::Model,
    record: record::Model,
) -> ApiResult<CaseView> {
    let def = state.workflows.pinned(db, &c.workflow_hash).await?;
    let parties = super::notice::Parties::load(db, &c).await?;
    let attachments = attachments_of(db, c.id).await?;
    let events = events_with_actors(db, c.id).await?;
    let held = Held {
        def,
        record,
        subject_code: parties.subject_code,
        subject_name: parties.subject_name,
        department_name: parties.department_name.unwrap_or_default(),
        attachments,
        documents: None,
        events,
    };
    from_held(state, db, viewer, c, held).await
}

/// What a view is made of besides the case row; a transition's transaction
/// already holds all of it, so its response costs no second reading.
pub struct Held {
    pub def: std::sync::Arc<crate::workflow::Definition>,
    pub record: record::Model,
    pub subject_code: String,
    pub subject_name: String,
    pub department_name: String,
    /// The case's attachments in upload order.
    pub attachments: Vec<attachment::Model>,
    /// The case's documents, oldest first (None: read them).
    pub documents: Option<Vec<entity::document::Model>>,
    /// The case's events in sequence order, with the actor's name.
    pub events: Vec<(case_event::Model, Option<String>)>,
}

/// A case's attachments in upload order.
pub async fn attachments_of<C: ConnectionTrait>(db: &C, case_id: i64) -> ApiResult<Vec<attachment::Model>> {
    Ok(attachment::Entity::find()
        .filter(attachment::Column::CaseId.eq(case_id))
        .order_by_asc(attachment::Column::Id)
        .all(db)
        .await?)
}

/// A case's events in sequence order, each with its actor's display name
/// (one query).
pub async fn events_with_actors<C: ConnectionTrait>(
    db: &C,
    case_id: i64,
) -> ApiResult<Vec<(case_event::Model, Option<String>)>> {
    use sea_orm::JoinType;
    let actor: sea_orm::RelationDef =
        case_event::Entity::belongs_to(user::Entity).from(case_event::Column::ActorUserId).to(user::Column::Id).into();
    Ok(case_event::Entity::find()
        .filter(case_event::Column::CaseId.eq(case_id))
        .select_also(user::Entity)
        .join(JoinType::LeftJoin, actor)
        .order_by_asc(case_event::Column::Seq)
        .all(db)
        .await?
        .into_iter()
        .map(|(e, u)| (e, u.map(|u| u.display_name)))
        .collect())
}

/// The view from the case row and what is held; reads only the case's
/// documents (and the contested case's number, for an objection naming one).
pub async fn from_held<C: ConnectionTrait>(
    state: &AppState,
    db: &C,
    viewer: Option<&AuthUser>,
    c: case::Model,
    held: Held,
) -> ApiResult<CaseView> {
    let Held { def, record: rec, subject_code, subject_name, department_name, attachments, documents, events } = held;
    let today = state.clock.today();
    let kinds: Vec<AttachmentKind> = attachments.iter().map(|a| a.kind).collect();
    let facts = facts::compute(&def, &c, &rec, &kinds, today, state.settings.publication.publication_end);
    let actions = match viewer {
        Some(u) => def.available_actions(&c.state, u.role, &facts).into_iter().map(Into::into).collect(),
        None => Vec::new(),
    };
    let attachments = attachments
        .into_iter()
        .map(|a| AttachmentView {
            download_url: format!("/api/v1/cases/{}/attachments/{}", c.id, a.id),
            id: a.id,
            kind_title: a.kind.title_zh().to_string(),
            kind: a.kind,
            content_type: a.content_type,
            size: a.size,
            sha256: a.sha256,
            file_name: a.file_name,
            uploaded_at: a.created_at,
        })
        .collect();
    let history = events
        .into_iter()
        .map(|(e, actor_name)| EventView {
            seq: e.seq,
            actor_name,
            action: e.action,
            actor_role: e.actor_role,
            from_state: e.from_state,
            to_state: e.to_state,
            comment: e.comment,
            inputs: serde_json::from_str(&e.inputs).unwrap_or(Value::Null),
            created_at: e.created_at,
            hash: e.hash,
        })
        .collect();
    let st = def.state(&c.state);
    let objects_to_case_no = match c.objects_to_case_id {
        Some(id) => case::Entity::find_by_id(id).one(db).await?.map(|o| o.case_no),
        None => None,
    };
    Ok(CaseView {
        extension_pending: c.extension_requested_by.is_some(),
        extension_reason: c.extension_reason,
        grounds_title: c.grounds.map(|g| g.title_zh().to_string()),
        grounds: c.grounds,
        objects_to_case_id: c.objects_to_case_id,
        objects_to_case_no,
        supplement_items: supplement_items(c.supplement_items.as_deref()),
        record_source: rec.source,
        external_decision_no: c.external_decision_no,
        routed: c.routed_at.is_some(),
        id: c.id,
        case_no: c.case_no,
        kind_label: c.kind.label_zh().to_string(),
        kind: c.kind,
        state_title: st.map(|s| s.title.clone()).unwrap_or_default(),
        terminal: st.is_some_and(|s| s.terminal),
        state: c.state,
        version: c.version,
        record_id: c.record_id,
        record_title: rec.title,
        document_no: rec.document_no,
        subject_code,
        subject_name,
        department_id: c.department_id,
        department_name,
        reason: c.reason,
        outcome_title: c.outcome.map(|o| o.title_zh().to_string()),
        outcome: c.outcome,
        result: c.result,
        due_at: c.due_at,
        total_due_at: c.total_due_at,
        overdue: c.overdue,
        provisional_deadline: c.provisional_deadline,
        extension_used: c.extension_used,
        last_urged_on: c.last_urged_on,
        received_at: c.received_at,
        closed_at: c.closed_at,
        workflow_id: c.workflow_id,
        workflow_version: c.workflow_version,
        workflow_hash: c.workflow_hash,
        missing_materials: facts.missing_materials,
        actions,
        attachments,
        documents: match documents {
            Some(rows) => rows.into_iter().map(crate::services::documents::view).collect(),
            None => crate::services::documents::of_case(db, c.id).await?,
        },
        history,
    })
}

/// The stored list of a supplement request's missing items.
pub fn supplement_items(stored: Option<&str>) -> Vec<String> {
    stored.and_then(|s| serde_json::from_str(s).ok()).unwrap_or_default()
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DeadlineView {
    pub id: i64,
    /// `step` (the state's own budget) or `total` (the whole case)
    pub kind: DeadlineKind,
    pub state: String,
    pub budget_working_days: i32,
    pub extended_working_days: i32,
    pub started_on: NaiveDate,
    pub due_on: NaiveDate,
    pub due_at: DateTime<Utc>,
    pub status: DeadlineStatus,
    pub provisional: bool,
    pub paused_on: Option<NaiveDate>,
    pub used_working_days_before_pause: Option<i32>,
    pub warned_at: Option<DateTime<Utc>>,
    pub overdue_at: Option<DateTime<Utc>>,
    /// Every start, pause, resumption, extension and recomputation, with the days counted.
    #[schema(value_type = Vec<Object>)]
    pub explanation: serde_json::Value,
}

/// Every deadline of a case the caller may see: budget, days counted,
/// pauses, extensions.
pub async fn deadlines<C: ConnectionTrait>(db: &C, user: &AuthUser, id: i64) -> ApiResult<Vec<DeadlineView>> {
    let c = find_in_scope(db, user, id).await?;
    let rows = deadline::Entity::find()
        .filter(deadline::Column::CaseId.eq(c.id))
        .order_by_asc(deadline::Column::Id)
        .all(db)
        .await?;
    Ok(rows
        .into_iter()
        .map(|d| DeadlineView {
            id: d.id,
            kind: d.kind,
            state: d.state,
            budget_working_days: d.budget_days,
            extended_working_days: d.extended_days,
            started_on: d.started_on,
            due_on: d.due_on,
            due_at: d.due_at,
            status: d.status,
            provisional: d.provisional,
            paused_on: d.paused_on,
            used_working_days_before_pause: d.used_days_at_pause,
            warned_at: d.warned_at,
            overdue_at: d.overdue_at,
            explanation: serde_json::from_str(&d.history).unwrap_or_default(),
        })
        .collect())
}

/// The order of a case list.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum CaseSort {
    /// Newest filing first.
    #[default]
    Newest,
    /// Oldest filing first.
    Oldest,
    /// Soonest due first (a to-do list).
    DueFirst,
}

impl CaseSort {
    pub fn as_str(self) -> &'static str {
        match self {
            CaseSort::Newest => "new",
            CaseSort::Oldest => "old",
            CaseSort::DueFirst => "due",
        }
    }
}

impl std::str::FromStr for CaseSort {
    type Err = ();
    fn from_str(s: &str) -> Result<Self, ()> {
        match s {
            "new" => Ok(CaseSort::Newest),
            "old" => Ok(CaseSort::Oldest),
            "due" => Ok(CaseSort::DueFirst),
            _ => Err(()),
        }
    }
}

#[derive(Clone, Default)]
pub struct CaseFilter {
    pub kind: Option<CaseKind>,
    pub state: Option<String>,
    /// Only cases in one of these states (e.g. those a role owns).
    pub states: Option<Vec<String>>,
    pub sort: CaseSort,
    pub department_id: Option<i64>,
    pub overdue: Option<bool>,
    pub open: Option<bool>,
    pub text: Option<String>,
}

/// The cases in `user`'s scope that `f` selects (unsorted): the list and
/// its exports share it.
pub fn filtered(user: &AuthUser, f: CaseFilter) -> sea_orm::Select<case::Entity> {
    let mut q = case::Entity::find().filter(scope(user));
    if let Some(k) = f.kind {
        q = q.filter(case::Column::Kind.eq(k));
    }
    if let Some(s) = f.state {
        q = q.filter(case::Column::State.eq(s));
    }
    if let Some(states) = f.states {
        q = q.filter(case::Column::State.is_in(states));
    }
    if let Some(d) = f.department_id {
        q = q.filter(case::Column::DepartmentId.eq(d));
    }
    if let Some(o) = f.overdue {
        q = q.filter(case::Column::Overdue.eq(o));
    }
    if let Some(open) = f.open {
        q = if open {
            q.filter(case::Column::ClosedAt.is_null())
        } else {
            q.filter(case::Column::ClosedAt.is_not_null())
        };
    }
    if let Some(t) = f.text.map(|t| t.trim().to_string()).filter(|t| !t.is_empty()) {
        let like = format!("%{}%", t.replace(['%', '_'], ""));
        q = q.filter(
            sea_orm::Condition::any().add(case::Column::CaseNo.like(like.clone())).add(case::Column::Reason.like(like)),
        );
    }
    q
}

pub async fn list(
    state: &AppState,
    user: &AuthUser,
    f: CaseFilter,
    page: u64,
    per_page: u64,
) -> ApiResult<(Vec<CaseSummary>, u64)> {
    let sort = f.sort;
    let q = filtered(user, f);
    let total = q.clone().count(&state.read).await?;
    let q = match sort {
        CaseSort::DueFirst => q.order_by_asc(case::Column::DueAt).order_by_asc(case::Column::Id),
        CaseSort::Oldest => q.order_by_asc(case::Column::Id),
        CaseSort::Newest => q.order_by_desc(case::Column::Id),
    };
    let rows = q.limit(per_page).offset((page - 1) * per_page).all(&state.read).await?;
    let subject_ids: Vec<i64> = rows.iter().map(|c| c.subject_id).collect();
    let dept_ids: Vec<i64> = rows.iter().map(|c| c.department_id).collect();
    let subjects: HashMap<i64, String> = subject::Entity::find()
        .filter(subject::Column::Id.is_in(subject_ids))
        .all(&state.read)
        .await?
        .into_iter()
        .map(|s| (s.id, s.name))
        .collect();
    let depts: HashMap<i64, String> = department::Entity::find()
        .filter(department::Column::Id.is_in(dept_ids))
        .all(&state.read)
        .await?
        .into_iter()
        .map(|d| (d.id, d.name))
        .collect();
    let urged_by = last_urgers(&state.read, &rows).await?;
    let mut out = Vec::with_capacity(rows.len());
    for c in rows {
        let title = match state.workflows.pinned(&state.read, &c.workflow_hash).await?.state(&c.state) {
            Some(s) => s.title.clone(),
            None => String::new(),
        };
        out.push(CaseSummary {
            id: c.id,
            case_no: c.case_no,
            kind: c.kind,
            kind_label: c.kind.label_zh().to_string(),
            state: c.state,
            state_title: title,
            subject_name: subjects.get(&c.subject_id).cloned().unwrap_or_default(),
            department_name: depts.get(&c.department_id).cloned().unwrap_or_default(),
            due_on: c.due_at.map(super::notice::due_day),
            last_urged_on: c.last_urged_on,
            last_urged_by: urged_by.get(&c.id).cloned(),
            version: c.version,
            record_id: c.record_id,
            subject_id: c.subject_id,
            department_id: c.department_id,
            due_at: c.due_at,
            overdue: c.overdue,
            provisional_deadline: c.provisional_deadline,
            received_at: c.received_at,
            closed_at: c.closed_at,
        });
    }
    Ok((out, total))
}
