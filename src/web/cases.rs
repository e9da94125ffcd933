//! Records and cases in pages: an applicant's records with what can be done
//! on each, filing with materials, the case lists (mine, 待办, 已办, 受理,
//! all), the case page with its progress, deadlines, materials, history and
//! exactly the actions the engine offers the caller.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use serde::Deserialize;
use serde_json::{Value, json};

use super::render::{self, PageError};
use super::session::{Multipart, RawForm, Signed, check_csrf};
use crate::api::PageQuery;
use crate::auth::AuthUser;
use crate::auth::policy::{AnyUser, ApplicantOnly, CaseParty, Policy, RecordKeeper};
use crate::domain::period::{RepairEligibility, repair_eligibility};
use crate::services::cases::view::CaseSort;
use crate::services::cases::{self, attachments, create::CreateCase, input::ActionRequest, input::Correction};
use crate::services::records::{self, RecordFilter};
use crate::services::sessions::Session;
use crate::state::AppState;
use crate::workflow::{Role, attachment_kind_title, outcome_title};
use entity::types::{AttachmentKind, CaseKind, ObjectionGrounds, PublicationStatus};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/my/records", web::get().to(my_records))
        .route("/records", web::get().to(record_list))
        .route("/records/{id}", web::get().to(record_page))
        .route("/records/{id}/withdraw", web::post().to(withdraw_record))
        .route("/records/{id}/apply", web::get().to(apply_form))
        .route("/records/{id}/apply", web::post().to(apply))
        .route("/cases", web::get().to(case_list))
        .route("/cases/export", web::get().to(case_export))
        .route("/cases/{id}", web::get().to(case_page))
        .route("/cases/{id}/actions/{name}", web::post().to(take_action))
        .route("/cases/{id}/attachments", web::post().to(upload))
        .route("/cases/{id}/attachments/{aid}", web::get().to(attachment))
        .route("/cases/{id}/documents/{doc}", web::get().to(document));
}

/// What an applicant may do on a record today, and why not.
fn record_options(state: &AppState, r: &records::RecordView) -> Value {
    let e = repair_eligibility(&r.into(), state.clock.today(), state.settings.publication.publication_end);
    let open_case = r.open_case_id;
    // A market-regulation record in refer mode is repaired on SAMR's system.
    let samr = crate::domain::samr::referral(&state.settings.samr, r.source);
    let (repair_open, message, code) = match &samr {
        Some(x) if e == RepairEligibility::Open => (false, x.message_zh(), x.code()),
        _ => (e == RepairEligibility::Open, e.message_zh(&r.display_category), e.code()),
    };
    json!({
        "repair_open": repair_open && open_case.is_none(),
        "repair_message": message,
        "repair_code": code,
        "object_open": !r.deleted && open_case.is_none(),
        "open_case_id": open_case,
    })
}

/// 我的信用记录.
async fn my_records(state: web::Data<AppState>, who: Signed<ApplicantOnly>) -> Result<HttpResponse, PageError> {
    let (items, total) = records::list(&state.db, &who, RecordFilter::default(), 1, 100).await?;
    let rows: Vec<Value> = items.iter().map(|r| json!({"record": r, "options": record_options(&state, r)})).collect();
    render::ok("my_records.html", Some(&who.session), "我的信用记录", json!({"rows": rows, "total": total}))
}

#[derive(Deserialize)]
struct RecordListQuery {
    status: Option<String>,
    page: Option<u64>,
}

/// A department's records (officer), every record (credit office, administrator).
async fn record_list(
    state: web::Data<AppState>,
    who: Signed<AnyUser>,
    q: web::Query<RecordListQuery>,
) -> Result<HttpResponse, PageError> {
    if who.role == Role::Applicant {
        return Ok(render::redirect("/my/records"));
    }
    let (page, per_page) = PageQuery::resolve(q.page, Some(50))?;
    let status = q.status.as_deref().filter(|s| !s.is_empty()).map(str::parse::<PublicationStatus>);
    let publication_status = match status {
        None => None,
        Some(Ok(s)) => Some(s),
        Some(Err(_)) => return Err(PageError::BadRequest("公示状态取值无效".into())),
    };
    let filter = RecordFilter { publication_status, ..Default::default() };
    let (items, total) = records::list(&state.db, &who, filter, page, per_page).await?;
    let ctx = json!({"items": items, "total": total, "page": page, "pages": total.div_ceil(per_page),
                     "status": q.status, "admin": false});
    render::ok("records.html", Some(&who.session), "信用信息", ctx)
}

/// Labels of the events in a record's history (outside cases).
fn record_event_title(action: &str) -> &str {
    match action {
        "record_created" => "录入信息",
        "record_updated" => "修改信息",
        "sanction_added" => "添加惩戒措施",
        "list_entry_added" => "列入名单",
        "publication_expired" => "公示期满自动终止公示",
        "record_withdrawn" => "依法撤回",
        other => other,
    }
}

/// A record with its sanctions, lists, history and cases; the producing
/// department and the credit office can withdraw it from here.
async fn record_page_with(
    state: &AppState,
    session: &Session,
    id: i64,
    status: StatusCode,
    notice: Option<&str>,
    error: Option<String>,
    form: Value,
) -> Result<HttpResponse, PageError> {
    let who = &session.user;
    let record = records::get(&state.db, who, id).await?;
    let history = records::history(&state.db, who, id).await?;
    let events: Vec<Value> = history
        .events
        .iter()
        .map(|e| {
            let actor = Role::parse(&e.actor_role).map(Role::title).unwrap_or("系统");
            // A change brought by a bulk import names it (and its file).
            let import = [&e.detail["import_id"], &e.detail["source"]["import_id"]].into_iter().find_map(|v| v.as_i64());
            let sha = [&e.detail["sha256"], &e.detail["source"]["sha256"]].into_iter().find_map(|v| v.as_str());
            let reason = match import {
                Some(id) => json!(format!(
                    "批量导入第 {id} 号（文件 SHA-256 {}…）",
                    sha.unwrap_or_default().chars().take(12).collect::<String>()
                )),
                None => e.detail["reason"].clone(),
            };
            json!({"title": record_event_title(&e.action), "event": e, "actor": actor, "reason": reason, "import_id": import})
        })
        .collect();
    let can_withdraw = RecordKeeper::allows(who.role) && !record.deleted;
    let deliveries = if RecordKeeper::allows(who.role) {
        visible_or_none(crate::services::deliveries::for_record(state, who, id).await)?
    } else {
        Vec::new()
    };
    let ctx = json!({
        "record": record, "events": events, "cases": history.cases, "can_withdraw": can_withdraw,
        "notice": notice, "error": error, "form": form,
        "deliveries": deliveries, "delivery_labels": super::deliveries::STATUS_LABELS,
        "import_links": crate::auth::policy::Importer::allows(who.role),
    });
    render::with_status(status, "record.html", Some(session), "信用信息详情", ctx)
}

#[derive(Deserialize)]
struct NoticeQuery {
    done: Option<String>,
}

async fn record_page(
    state: web::Data<AppState>,
    who: Signed<AnyUser>,
    id: web::Path<i64>,
    q: web::Query<NoticeQuery>,
) -> Result<HttpResponse, PageError> {
    let notice = (q.done.as_deref() == Some("withdraw")).then_some("该信息已依法撤回。");
    record_page_with(&state, &who.session, id.into_inner(), StatusCode::OK, notice, None, json!({})).await
}

#[derive(Deserialize)]
struct WithdrawForm {
    csrf: String,
    reason: String,
    revoking_document_no: String,
    version: Option<i32>,
}
crate::csrf_form!(WithdrawForm);

async fn withdraw_record(
    state: web::Data<AppState>,
    id: web::Path<i64>,
    p: super::session::Posted<RecordKeeper, WithdrawForm>,
) -> Result<HttpResponse, PageError> {
    let id = id.into_inner();
    let f = &p.form;
    let input = crate::services::withdrawal::WithdrawInput {
        reason: Some(f.reason.clone()),
        revoking_document_no: Some(f.revoking_document_no.clone()),
        version: f.version,
    };
    match crate::services::withdrawal::withdraw(&state, &p.who, id, input).await {
        Ok(_) => Ok(render::redirect(&format!("/records/{id}?done=withdraw"))),
        Err(crate::error::ApiError::Internal(e)) => Err(PageError::Internal(e)),
        Err(e @ (crate::error::ApiError::NotFound { .. } | crate::error::ApiError::Forbidden)) => Err(e.into()),
        Err(e) => {
            let form = json!({"reason": f.reason, "revoking_document_no": f.revoking_document_no});
            record_page_with(&state, &p.who.session, id, render::status_of(&e), None, Some(render::describe(&e)), form)
                .await
        }
    }
}

#[derive(Deserialize)]
struct KindQuery {
    kind: Option<String>,
}

fn kind_of(s: Option<&str>) -> Result<CaseKind, PageError> {
    s.unwrap_or("repair").parse().map_err(|_| PageError::BadRequest("申请类型须为异议或信用修复".into()))
}

/// The filing form's context: the record, the kind, its materials.
async fn apply_ctx(
    state: &AppState,
    who: &AuthUser,
    record_id: i64,
    kind: CaseKind,
    reason: &str,
    error: Option<String>,
) -> Result<Value, PageError> {
    let record = records::get(&state.db, who, record_id).await?;
    let def = state.workflows.current(kind.as_str()).ok_or(PageError::NotFound)?;
    let required: Vec<Value> = def
        .required_materials
        .iter()
        .map(|k| json!({"kind": k, "title": attachment_kind_title(k).unwrap_or(k)}))
        .collect();
    let grounds: Vec<Value> =
        ObjectionGrounds::ALL.iter().map(|g| json!({"value": g, "title": g.title_zh()})).collect();
    // The decided repairs of this record an objection may contest.
    let contestable: Vec<Value> = cases::view::list_contestable(&state.db, who, record_id)
        .await?
        .into_iter()
        .map(|(id, no, result)| json!({"id": id, "case_no": no, "result": result}))
        .collect();
    let optional_evidence = !def.required_materials.iter().any(|k| k == AttachmentKind::Evidence.as_str());
    Ok(json!({
        "record": record, "kind": kind, "kind_label": kind.label_zh(), "required": required,
        "options": record_options(state, &record), "reason": reason, "error": error,
        "idem": crate::auth::random_token(), "total_days": def.total_working_days,
        "grounds": grounds, "contestable": contestable, "optional_evidence": optional_evidence,
        "samr_register": record.source == entity::types::RecordSource::Samr
            && state.settings.samr.repair == crate::domain::samr::SamrRepair::Register,
    }))
}

async fn apply_form(
    state: web::Data<AppState>,
    who: Signed<ApplicantOnly>,
    id: web::Path<i64>,
    q: web::Query<KindQuery>,
) -> Result<HttpResponse, PageError> {
    let kind = kind_of(q.kind.as_deref())?;
    let ctx = apply_ctx(&state, &who, id.into_inner(), kind, "", None).await?;
    render::ok("apply.html", Some(&who.session), &format!("提交{}", kind.label_zh()), ctx)
}

/// Files an objection or a repair with its materials (multipart): the files
/// are checked first, then the case is filed (idempotent by the form's key)
/// and the materials attached.
async fn apply(
    state: web::Data<AppState>,
    who: Signed<ApplicantOnly>,
    id: web::Path<i64>,
    body: actix_multipart::Multipart,
) -> Result<HttpResponse, PageError> {
    let record_id = id.into_inner();
    let form = Multipart::read(body, &state.settings).await?;
    check_csrf(&who.session, form.field("csrf"))?;
    let kind = kind_of(Some(form.field("kind")))?;
    let reason = form.field("reason").to_string();
    let again = async |status: StatusCode, msg: String| -> Result<HttpResponse, PageError> {
        let ctx = apply_ctx(&state, &who, record_id, kind, &reason, Some(msg)).await?;
        render::with_status(status, "apply.html", Some(&who.session), &format!("提交{}", kind.label_zh()), ctx)
    };
    let mut files = Vec::new();
    for (field, name, bytes) in &form.files {
        let Ok(k) = field.parse::<AttachmentKind>() else { continue };
        if attachments::sniff(bytes).is_none() {
            let title = k.title_zh();
            return again(StatusCode::UNSUPPORTED_MEDIA_TYPE, format!("“{title}”须为 PDF、PNG 或 JPEG 文件")).await;
        }
        files.push((k, name.clone(), bytes.clone()));
    }
    let key = Some(form.field("idem").to_string()).filter(|k| !k.is_empty());
    let opt_field = |k: &str| Some(form.field(k).trim().to_string()).filter(|v| !v.is_empty());
    let req = CreateCase {
        kind: kind.as_str().to_string(),
        record_id,
        reason: reason.clone(),
        grounds: opt_field("grounds"),
        objects_to_case_id: opt_field("objects_to_case_id").and_then(|v| v.parse().ok()),
        samr_decision_no: opt_field("samr_decision_no"),
    };
    let case = match cases::create::create(&state, &who, req, key).await {
        Ok((case, _)) => case,
        Err(crate::error::ApiError::Internal(e)) => return Err(PageError::Internal(e)),
        Err(e) => return again(render::status_of(&e), render::describe(&e)).await,
    };
    let present: Vec<&str> = case.attachments.iter().map(|a| a.kind.as_str()).collect();
    for (k, name, bytes) in files {
        // A retried form (same key) does not attach the same kind twice.
        if present.contains(&k.as_str()) {
            continue;
        }
        attachments::upload(&state, &who, case.id, k.as_str(), name.as_deref(), bytes).await?;
    }
    Ok(render::redirect(&format!("/cases/{}?done=submit", case.id)))
}

#[derive(Deserialize)]
struct CaseListQuery {
    /// The export's format (xlsx or csv).
    format: Option<String>,
    view: Option<String>,
    kind: Option<String>,
    overdue: Option<String>,
    q: Option<String>,
    sort: Option<String>,
    page: Option<u64>,
}

/// A case list view's filter from its query string (the page and its export).
fn list_filter(
    state: &AppState,
    role: Role,
    q: &CaseListQuery,
) -> Result<(String, &'static str, cases::view::CaseFilter), PageError> {
    let default_view = match role {
        Role::Applicant => "mine",
        Role::DepartmentOfficer => "todo",
        Role::CreditOffice => "intake",
        _ => "all",
    };
    let view = q.view.as_deref().unwrap_or(default_view);
    let mut f = cases::view::CaseFilter::default();
    let title = match (role, view) {
        (Role::Applicant, _) => "我的申请",
        (Role::DepartmentOfficer, "done") => {
            f.open = Some(false);
            "已办"
        }
        (Role::DepartmentOfficer, _) => {
            f.open = Some(true);
            f.states = Some(state.workflows.states_owned_by(Role::DepartmentOfficer));
            f.sort = CaseSort::DueFirst;
            "待办"
        }
        (Role::CreditOffice, "intake") => {
            f.open = Some(true);
            f.states = Some(state.workflows.states_owned_by(Role::CreditOffice));
            f.sort = CaseSort::DueFirst;
            "受理"
        }
        (Role::CreditOffice, "open") => {
            f.open = Some(true);
            f.sort = CaseSort::DueFirst;
            "在办案件"
        }
        _ => "全部案件",
    };
    f.kind = match q.kind.as_deref().filter(|k| !k.is_empty()) {
        None => None,
        Some(k) => Some(k.parse().map_err(|_| PageError::BadRequest("申请类型取值无效".into()))?),
    };
    if q.overdue.as_deref() == Some("1") {
        f.overdue = Some(true);
    }
    f.text = q.q.clone();
    if let Some(s) = q.sort.as_deref().filter(|s| !s.is_empty()) {
        f.sort = s.parse().map_err(|_| PageError::BadRequest("排序方式取值无效".into()))?;
    }
    Ok((view.to_string(), title, f))
}

/// The case list a view shows, as a spreadsheet (`format` = xlsx or csv).
async fn case_export(
    state: web::Data<AppState>,
    who: Signed<AnyUser>,
    q: web::Query<CaseListQuery>,
) -> Result<HttpResponse, PageError> {
    let (_, title, f) = list_filter(&state, who.role, &q)?;
    let format = crate::services::exports::ExportFormat::parse(q.format.as_deref().unwrap_or("xlsx"))?;
    let mut described = vec![title.to_string()];
    if let Some(k) = q.kind.as_deref().filter(|k| !k.is_empty()) {
        described.push(format!("类型={k}"));
    }
    if q.overdue.as_deref() == Some("1") {
        described.push("仅超期".into());
    }
    if let Some(t) = q.q.as_deref().filter(|t| !t.is_empty()) {
        described.push(format!("关键词={t}"));
    }
    let e = crate::services::exports::cases(&state, &who, f, &described.join("；"), format).await?;
    Ok(crate::api::export_response(e))
}

/// The case lists. Each role has its views; the filters and the page are in
/// the query string, so a link reproduces a view.
async fn case_list(
    state: web::Data<AppState>,
    who: Signed<AnyUser>,
    q: web::Query<CaseListQuery>,
) -> Result<HttpResponse, PageError> {
    let role = who.role;
    let (view, title, f) = list_filter(&state, role, &q)?;
    let sort = f.sort.as_str();
    let (page, per_page) = PageQuery::resolve(q.page, Some(50))?;
    let (items, total) = cases::view::list(&state, &who, f, page, per_page).await?;
    let today = state.clock.today();
    let soon = state.calendar().next_working_day(today).unwrap_or(today);
    let rows: Vec<Value> = items
        .iter()
        .map(|c| {
            let open = c.closed_at.is_none();
            let tone = match c.due_on {
                _ if !open => "",
                _ if c.overdue => "overdue",
                Some(d) if d <= today => "due-today",
                Some(d) if d <= soon => "due-soon",
                _ => "",
            };
            json!({"case": c, "tone": tone, "open": open, "due_today": open && c.due_on == Some(today)})
        })
        .collect();
    let ctx = json!({
        "rows": rows, "total": total, "page": page, "pages": total.div_ceil(per_page), "view": view,
        "kind": q.kind, "overdue": q.overdue, "q": q.q, "heading": title, "sort": sort,
        "views": views_of(role),
    });
    render::ok("cases.html", Some(&who.session), title, ctx)
}

fn views_of(role: Role) -> Value {
    let v: &[(&str, &str)] = match role {
        Role::DepartmentOfficer => &[("todo", "待办"), ("done", "已办")],
        Role::CreditOffice => &[("intake", "受理"), ("open", "在办"), ("all", "全部")],
        Role::Admin => &[("all", "全部")],
        _ => &[],
    };
    Value::Array(v.iter().map(|(k, l)| json!({"key": k, "label": l})).collect())
}

/// Everything the case page shows.
async fn case_ctx(state: &AppState, who: &AuthUser, id: i64) -> Result<Value, PageError> {
    let case = cases::view::get(state, who, id).await?;
    let record = records::get(&state.db, who, case.record_id).await.ok();
    let deadlines = cases::view::deadlines(&state.db, who, id).await?;
    let def = state.workflows.pinned(&state.db, &case.workflow_hash).await?;
    // The progress bar: states passed (from the history), the current one, the main path ahead.
    let mut passed: Vec<String> = Vec::new();
    for e in &case.history {
        if let Some(f) = &e.from_state
            && f != &case.state
            && !passed.contains(f)
        {
            passed.push(f.clone());
        }
    }
    let title = |s: &str| def.state(s).map(|x| x.title.clone()).unwrap_or_else(|| s.to_string());
    let steps: Vec<Value> = passed
        .iter()
        .map(|s| json!({"title": title(s), "status": "done"}))
        .chain(std::iter::once(
            json!({"title": case.state_title, "status": if case.terminal { "done" } else { "current" }}),
        ))
        .chain(def.path_ahead(&case.state).iter().map(|s| json!({"title": title(s), "status": "todo"})))
        .collect();
    let owner = def.state(&case.state).and_then(|s| s.owner);
    let holder = match owner {
        Some(Role::DepartmentOfficer) => {
            Some(format!("{}（{}）", Role::DepartmentOfficer.title(), case.department_name))
        }
        Some(r) => Some(r.title().to_string()),
        None => None,
    };
    let outcomes: Vec<Value> =
        crate::workflow::OUTCOMES.iter().map(|o| json!({"value": o, "title": outcome_title(o).unwrap_or(o)})).collect();
    let upload_kinds: Vec<Value> = AttachmentKind::ALL
        .iter()
        .filter(|k| who.role == Role::Applicant || !k.applicant_only())
        .map(|k| json!({"value": k, "title": k.title_zh()}))
        .collect();
    let active_sanctions: Vec<Value> = record
        .as_ref()
        .map(|r| {
            r.sanctions.iter().filter(|s| s.status == entity::types::ActiveStatus::Active).map(|s| json!(s)).collect()
        })
        .unwrap_or_default();
    let can_upload = case.closed_at.is_none() && who.role != Role::Admin;
    let missing_titles: Vec<&str> =
        case.missing_materials.iter().map(|k| attachment_kind_title(k).unwrap_or(k)).collect();
    let diagram = def.diagram_svg(Some(&case.state));
    // Re-routing names a producing department.
    let departments: Vec<Value> = if case.actions.iter().any(|a| a.requires_department) {
        crate::services::admin::departments::list_departments(&state.db)
            .await?
            .into_iter()
            .filter(|d| d.kind == entity::types::DepartmentKind::Producing && d.id != case.department_id)
            .map(|d| json!({"id": d.id, "name": d.name}))
            .collect()
    } else {
        Vec::new()
    };
    let mut case = json!(case);
    if let Some(events) = case["history"].as_array_mut() {
        for e in events {
            let action = e["action"].as_str().unwrap_or_default().to_string();
            let event_title = def
                .transitions
                .iter()
                .find(|t| t.action == action)
                .map(|t| t.title.clone())
                .unwrap_or_else(|| event_title(&action).to_string());
            e["action_title"] = json!(event_title);
            e["actor_role_title"] = json!(e["actor_role"].as_str().and_then(Role::parse).map(Role::title));
            e["to_state_title"] = json!(title(e["to_state"].as_str().unwrap_or_default()));
        }
    }
    // What was handed to the sharing platforms about this case (those who
    // handle records see it).
    let deliveries = if RecordKeeper::allows(who.role) {
        visible_or_none(crate::services::deliveries::for_case(state, who, id).await)?
    } else {
        Vec::new()
    };
    Ok(json!({
        "case": case, "record": record, "deadlines": deadlines, "steps": steps, "holder": holder,
        "outcomes": outcomes, "upload_kinds": upload_kinds, "can_upload": can_upload,
        "active_sanctions": active_sanctions, "diagram": diagram, "missing_titles": missing_titles,
        "departments": departments,
        "deliveries": deliveries, "delivery_labels": super::deliveries::STATUS_LABELS,
    }))
}

/// Deliveries the caller may see; none when their scope does not reach them.
fn visible_or_none<T>(r: Result<Vec<T>, crate::error::ApiError>) -> Result<Vec<T>, PageError> {
    match r {
        Ok(v) => Ok(v),
        Err(crate::error::ApiError::NotFound { .. }) => Ok(Vec::new()),
        Err(e) => Err(e.into()),
    }
}

/// Titles of events that are not workflow actions.
fn event_title(action: &str) -> &str {
    match action {
        "submit" => "提交申请",
        "attach" => "上传材料",
        "deadline_warning" => "到期提醒",
        "deadline_overdue" => "超期督办",
        other => other,
    }
}

#[derive(Deserialize)]
struct DoneQuery {
    done: Option<String>,
}

/// The confirmation after a redirect: an action's title is the one the
/// case's history gives it (from the workflow file).
fn done_message(done: Option<&str>, ctx: &Value) -> Option<String> {
    let d = done?;
    Some(match d {
        "submit" => "申请已提交，请留意办理进度。".to_string(),
        "upload" => "材料已上传。".to_string(),
        action => {
            let events = ctx["case"]["history"].as_array()?;
            let title = events.iter().rev().find(|e| e["action"] == action)?["action_title"].as_str()?;
            format!("已办理：{title}。")
        }
    })
}

async fn show_case(
    state: &AppState,
    session: &Session,
    id: i64,
    status: StatusCode,
    done: Option<&str>,
    error: Option<String>,
) -> Result<HttpResponse, PageError> {
    let mut ctx = case_ctx(state, &session.user, id).await?;
    ctx["notice"] = json!(done_message(done, &ctx));
    ctx["error"] = json!(error);
    let title = format!("案件 {}", ctx["case"]["case_no"].as_str().unwrap_or_default());
    render::with_status(status, "case.html", Some(session), &title, ctx)
}

async fn case_page(
    state: web::Data<AppState>,
    who: Signed<AnyUser>,
    id: web::Path<i64>,
    q: web::Query<DoneQuery>,
) -> Result<HttpResponse, PageError> {
    show_case(&state, &who.session, id.into_inner(), StatusCode::OK, q.done.as_deref(), None).await
}

/// An action form. The fields are read as pairs (the sanctions to end are
/// repeated checkboxes); the CSRF token is checked before anything else.
async fn take_action(
    state: web::Data<AppState>,
    who: Signed<AnyUser>,
    path: web::Path<(i64, String)>,
    RawForm(body): RawForm,
) -> Result<HttpResponse, PageError> {
    let (id, name) = path.into_inner();
    let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(&body).unwrap_or_default();
    let get = |k: &str| pairs.iter().find(|(n, _)| n == k).map(|(_, v)| v.trim().to_string()).filter(|v| !v.is_empty());
    check_csrf(&who.session, &get("csrf").unwrap_or_default())?;
    let date_of = |k: &str, label: &str| -> Result<Option<chrono::NaiveDate>, PageError> {
        match get(k) {
            None => Ok(None),
            Some(d) => d.parse().map(Some).map_err(|_| PageError::BadRequest(format!("{label}格式应为 YYYY-MM-DD"))),
        }
    };
    let decision_date = date_of("corr_decision_date", "更正后的决定日期")?;
    let conduct_end_date = date_of("corr_conduct_end_date", "更正后的失信行为终止日期")?;
    let correction = Correction {
        title: get("corr_title"),
        content: get("corr_content"),
        document_no: get("corr_document_no"),
        decision_date,
        severity: get("corr_severity"),
        regime: None,
        conduct_end_date,
    };
    let has_correction = correction.title.is_some()
        || correction.content.is_some()
        || correction.document_no.is_some()
        || correction.decision_date.is_some()
        || correction.severity.is_some()
        || correction.conduct_end_date.is_some();
    let sanction_ids: Vec<i64> =
        pairs.iter().filter(|(n, _)| n == "sanction_ids").filter_map(|(_, v)| v.parse().ok()).collect();
    // One missing item per line.
    let missing_items: Option<Vec<String>> = get("missing_items")
        .map(|text| text.lines().map(str::trim).filter(|l| !l.is_empty()).map(String::from).collect());
    let req = ActionRequest {
        comment: get("comment"),
        outcome: get("outcome"),
        version: get("version").and_then(|v| v.parse().ok()),
        correction: has_correction.then_some(correction),
        sanction_ids: (!sanction_ids.is_empty()).then_some(sanction_ids),
        department_id: get("department_id").and_then(|v| v.parse().ok()),
        missing_items,
    };
    match cases::act::act(&state, &who, id, &name, req).await {
        Ok(_) => Ok(render::redirect(&format!("/cases/{id}?done={}", render::encode(&name)))),
        Err(crate::error::ApiError::Internal(e)) => Err(PageError::Internal(e)),
        Err(e @ (crate::error::ApiError::NotFound { .. } | crate::error::ApiError::Forbidden)) => Err(e.into()),
        Err(e) => show_case(&state, &who.session, id, render::status_of(&e), None, Some(render::describe(&e))).await,
    }
}

/// Adds a material to a case (multipart: csrf, kind, file).
async fn upload(
    state: web::Data<AppState>,
    who: Signed<CaseParty>,
    id: web::Path<i64>,
    body: actix_multipart::Multipart,
) -> Result<HttpResponse, PageError> {
    let id = id.into_inner();
    let form = match Multipart::read(body, &state.settings).await {
        Ok(f) => f,
        Err(PageError::Refused(e)) => {
            return show_case(&state, &who.session, id, render::status_of(&e), None, Some(render::describe(&e))).await;
        }
        Err(e) => return Err(e),
    };
    check_csrf(&who.session, form.field("csrf"))?;
    let Some((_, name, bytes)) = form.files.into_iter().next() else {
        let msg = "请选择要上传的文件".to_string();
        return show_case(&state, &who.session, id, StatusCode::UNPROCESSABLE_ENTITY, None, Some(msg)).await;
    };
    match attachments::upload(&state, &who, id, form.fields.get("kind").map_or("", |s| s), name.as_deref(), bytes).await
    {
        Ok(_) => Ok(render::redirect(&format!("/cases/{id}?done=upload"))),
        Err(crate::error::ApiError::Internal(e)) => Err(PageError::Internal(e)),
        Err(e @ crate::error::ApiError::NotFound { .. }) => Err(e.into()),
        Err(e) => show_case(&state, &who.session, id, render::status_of(&e), None, Some(render::describe(&e))).await,
    }
}

/// A formal document (PDF) of a case in the viewer's scope: shown inline.
async fn document(
    state: web::Data<AppState>,
    who: Signed<AnyUser>,
    path: web::Path<(i64, i64)>,
) -> Result<HttpResponse, PageError> {
    let (case_id, doc) = path.into_inner();
    let (name, bytes) = crate::services::documents::download(&state, &who, case_id, doc).await?;
    let disposition = crate::api::content_disposition(&name, doc, true);
    Ok(HttpResponse::Ok()
        .content_type("application/pdf")
        .insert_header(("Content-Disposition", disposition))
        .insert_header(("X-Content-Type-Options", "nosniff"))
        .insert_header(("Cache-Control", "private, no-store"))
        .body(bytes))
}

#[derive(Deserialize)]
struct InlineQuery {
    inline: Option<String>,
}

/// A material, shown in the browser (PDF, image) or downloaded.
async fn attachment(
    state: web::Data<AppState>,
    who: Signed<AnyUser>,
    path: web::Path<(i64, i64)>,
    q: web::Query<InlineQuery>,
) -> Result<HttpResponse, PageError> {
    let (case_id, aid) = path.into_inner();
    let (a, bytes) = attachments::download(&state, &who, case_id, aid).await?;
    let ext = attachments::sniff(&bytes).map(|(_, e)| e).unwrap_or("bin");
    let disposition = if q.inline.is_some() { "inline" } else { "attachment" };
    Ok(HttpResponse::Ok()
        .content_type(a.content_type.as_str())
        .insert_header(("Content-Disposition", format!("{disposition}; filename=\"{}-{}.{ext}\"", a.kind, a.id)))
        .insert_header(("X-Content-Type-Options", "nosniff"))
        .insert_header(("Cache-Control", "private, no-store"))
        .body(bytes))
}
