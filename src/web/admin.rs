//! The administrator's pages: users, departments, sanction measures,
//! records (with their sanctions and list entries), calendar years and the
//! workflows as diagrams. Each form calls the same service as the JSON API.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use serde::Deserialize;
use serde_json::{Value, json};

use super::render::{self, PageError};
use super::session::{Posted, Signed};
use crate::api::PageQuery;
use crate::auth::policy::AdminOnly;
use crate::error::ApiError;
use crate::services::admin::{
    DepartmentInput, ListEntryInput, MeasureInput, RecordInput, SanctionInput, departments, measures,
    records as admin_records, subjects, users,
};
use crate::services::sessions::Session;
use crate::services::{calendar, records};
use crate::state::AppState;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/admin/users", web::get().to(users_page))
        .route("/admin/users", web::post().to(create_user))
        .route("/admin/users/{id}", web::post().to(update_user))
        .route("/admin/departments", web::get().to(departments_page))
        .route("/admin/departments", web::post().to(create_department))
        .route("/admin/departments/{id}", web::post().to(update_department))
        .route("/admin/measures", web::get().to(measures_page))
        .route("/admin/measures", web::post().to(create_measure))
        .route("/admin/measures/{id}", web::post().to(update_measure))
        .route("/admin/records", web::get().to(records_page))
        .route("/admin/records", web::post().to(create_record))
        .route("/admin/records/{id}", web::get().to(record_page))
        .route("/admin/records/{id}", web::post().to(update_record))
        .route("/admin/records/{id}/sanctions", web::post().to(add_sanction))
        .route("/admin/records/{id}/lists", web::post().to(add_list_entry))
        .route("/admin/calendar", web::get().to(calendar_page))
        .route("/admin/calendar", web::post().to(put_year))
        .route("/admin/calendar/revert", web::post().to(revert_year))
        .route("/admin/workflows", web::get().to(workflows_page));
}

fn opt(s: &Option<String>) -> Option<String> {
    s.as_deref().map(str::trim).filter(|s| !s.is_empty()).map(str::to_string)
}

fn opt_i64(s: &Option<String>) -> Option<i64> {
    opt(s).and_then(|v| v.parse().ok())
}

/// A refused form: shown again with its message, or an error page.
fn refused(e: ApiError) -> Result<(StatusCode, String), PageError> {
    match e {
        ApiError::Internal(e) => Err(PageError::Internal(e)),
        ApiError::NotFound { .. } => Err(PageError::NotFound),
        e => Ok((render::status_of(&e), render::describe(&e))),
    }
}

/// After a form's service call: on success, back to `done` (post, redirect,
/// get); on a refusal, the form's page again with the reason.
async fn settle<T, Fut>(
    res: Result<T, ApiError>,
    done: &str,
    again: impl FnOnce(StatusCode, String) -> Fut,
) -> Result<HttpResponse, PageError>
where
    Fut: std::future::Future<Output = Result<HttpResponse, PageError>>,
{
    match res {
        Ok(_) => Ok(render::redirect(done)),
        Err(e) => {
            let (status, msg) = refused(e)?;
            again(status, msg).await
        }
    }
}

#[derive(Deserialize)]
struct Notice {
    done: Option<String>,
    /// The calendar page after a year was reverted (deadlines recomputed).
    reverted: Option<String>,
}

fn notice(done: &Option<String>) -> Option<&'static str> {
    done.as_deref().map(|_| "已保存。")
}

// ------------------------------------------------------------------ users

async fn users_ctx(state: &AppState) -> Result<Value, PageError> {
    Ok(json!({
        "users": users::list_users(&state.db, state.clock.now()).await?,
        "departments": departments::list_departments(&state.db).await?,
        "subjects": subjects::list_subjects(&state.db).await?,
        "roles": [["applicant", "申请人（企业）"], ["department_officer", "部门经办人"], ["credit_office", "信用办"], ["admin", "管理员"]],
    }))
}

async fn show_users(
    state: &AppState,
    session: &Session,
    status: StatusCode,
    notice: Option<&str>,
    error: Option<String>,
) -> Result<HttpResponse, PageError> {
    let mut ctx = users_ctx(state).await?;
    ctx["notice"] = json!(notice);
    ctx["error"] = json!(error);
    render::with_status(status, "admin_users.html", Some(session), "用户管理", ctx)
}

async fn users_page(
    state: web::Data<AppState>,
    who: Signed<AdminOnly>,
    q: web::Query<Notice>,
) -> Result<HttpResponse, PageError> {
    show_users(&state, &who.session, StatusCode::OK, notice(&q.done), None).await
}

#[derive(Deserialize)]
struct UserForm {
    csrf: String,
    username: Option<String>,
    display_name: Option<String>,
    password: Option<String>,
    role: Option<String>,
    department_id: Option<String>,
    subject_id: Option<String>,
    email: Option<String>,
    /// For updates: activate, deactivate, unlock, password.
    op: Option<String>,
}
crate::csrf_form!(UserForm);

async fn create_user(state: web::Data<AppState>, p: Posted<AdminOnly, UserForm>) -> Result<HttpResponse, PageError> {
    let f = &p.form;
    let input = users::UserInput {
        username: opt(&f.username),
        display_name: opt(&f.display_name),
        password: f.password.clone(),
        role: opt(&f.role),
        department_id: opt_i64(&f.department_id),
        subject_id: opt_i64(&f.subject_id),
        email: opt(&f.email),
        ..Default::default()
    };
    let res = users::create_user(&state, input).await;
    settle(res, "/admin/users?done=1", |status, msg| show_users(&state, &p.who.session, status, None, Some(msg))).await
}

/// Deactivate, activate, unlock, or set a new password.
async fn update_user(
    state: web::Data<AppState>,
    id: web::Path<i64>,
    p: Posted<AdminOnly, UserForm>,
) -> Result<HttpResponse, PageError> {
    let f = &p.form;
    let mut input = users::UserInput::default();
    match f.op.as_deref() {
        Some("deactivate") => input.active = Some(false),
        Some("activate") => input.active = Some(true),
        Some("unlock") => input.unlock = Some(true),
        Some("password") => input.password = f.password.clone().or(Some(String::new())),
        _ => return Err(PageError::BadRequest("未知的操作".into())),
    }
    let res = users::update_user(&state, id.into_inner(), input).await;
    settle(res, "/admin/users?done=1", |status, msg| show_users(&state, &p.who.session, status, None, Some(msg))).await
}

// ------------------------------------------------------------ departments

async fn show_departments(
    state: &AppState,
    session: &Session,
    status: StatusCode,
    notice: Option<&str>,
    error: Option<String>,
) -> Result<HttpResponse, PageError> {
    let ctx = json!({"departments": departments::list_departments(&state.db).await?, "notice": notice, "error": error});
    render::with_status(status, "admin_departments.html", Some(session), "单位管理", ctx)
}

async fn departments_page(
    state: web::Data<AppState>,
    who: Signed<AdminOnly>,
    q: web::Query<Notice>,
) -> Result<HttpResponse, PageError> {
    show_departments(&state, &who.session, StatusCode::OK, notice(&q.done), None).await
}

#[derive(Deserialize)]
struct DepartmentForm {
    csrf: String,
    code: Option<String>,
    name: Option<String>,
    kind: Option<String>,
    email: Option<String>,
}
crate::csrf_form!(DepartmentForm);

async fn create_department(
    state: web::Data<AppState>,
    p: Posted<AdminOnly, DepartmentForm>,
) -> Result<HttpResponse, PageError> {
    let f = &p.form;
    let input = DepartmentInput { code: opt(&f.code), name: opt(&f.name), kind: opt(&f.kind), email: opt(&f.email) };
    let res = departments::create_department(&state, input).await;
    settle(res, "/admin/departments?done=1", |status, msg| {
        show_departments(&state, &p.who.session, status, None, Some(msg))
    })
    .await
}

async fn update_department(
    state: web::Data<AppState>,
    id: web::Path<i64>,
    p: Posted<AdminOnly, DepartmentForm>,
) -> Result<HttpResponse, PageError> {
    let f = &p.form;
    let input = DepartmentInput { code: opt(&f.code), name: opt(&f.name), kind: None, email: f.email.clone() };
    let res = departments::update_department(&state, id.into_inner(), input).await;
    settle(res, "/admin/departments?done=1", |status, msg| {
        show_departments(&state, &p.who.session, status, None, Some(msg))
    })
    .await
}

// --------------------------------------------------------------- measures

async fn show_measures(
    state: &AppState,
    session: &Session,
    status: StatusCode,
    notice: Option<&str>,
    error: Option<String>,
) -> Result<HttpResponse, PageError> {
    let ctx = json!({"measures": measures::list_measures(&state.db).await?, "notice": notice, "error": error});
    render::with_status(status, "admin_measures.html", Some(session), "惩戒措施", ctx)
}

async fn measures_page(
    state: web::Data<AppState>,
    who: Signed<AdminOnly>,
    q: web::Query<Notice>,
) -> Result<HttpResponse, PageError> {
    show_measures(&state, &who.session, StatusCode::OK, notice(&q.done), None).await
}

#[derive(Deserialize)]
struct MeasureForm {
    csrf: String,
    name: Option<String>,
    legal_basis: Option<String>,
    implementing_department: Option<String>,
    op: Option<String>,
}
crate::csrf_form!(MeasureForm);

async fn create_measure(
    state: web::Data<AppState>,
    p: Posted<AdminOnly, MeasureForm>,
) -> Result<HttpResponse, PageError> {
    let f = &p.form;
    let input = MeasureInput {
        name: opt(&f.name),
        legal_basis: opt(&f.legal_basis),
        implementing_department: opt(&f.implementing_department),
    };
    let res = measures::create_measure(&state, input).await;
    settle(res, "/admin/measures?done=1", |status, msg| show_measures(&state, &p.who.session, status, None, Some(msg)))
        .await
}

/// Saves a measure, or deletes it (`op=delete`).
async fn update_measure(
    state: web::Data<AppState>,
    id: web::Path<i64>,
    p: Posted<AdminOnly, MeasureForm>,
) -> Result<HttpResponse, PageError> {
    let f = &p.form;
    let id = id.into_inner();
    let result = if f.op.as_deref() == Some("delete") {
        measures::delete_measure(&state, id).await
    } else {
        let input = MeasureInput {
            name: opt(&f.name),
            legal_basis: opt(&f.legal_basis),
            implementing_department: opt(&f.implementing_department),
        };
        measures::update_measure(&state, id, input).await.map(|_| ())
    };
    settle(result, "/admin/measures?done=1", |status, msg| {
        show_measures(&state, &p.who.session, status, None, Some(msg))
    })
    .await
}

// ---------------------------------------------------------------- records

#[derive(Deserialize)]
struct RecordsQuery {
    page: Option<u64>,
    done: Option<String>,
}

async fn show_records(
    state: &AppState,
    session: &Session,
    page: Option<u64>,
    status: StatusCode,
    notice: Option<&str>,
    error: Option<String>,
    form: Value,
) -> Result<HttpResponse, PageError> {
    let (page, per_page) = PageQuery::resolve(page, Some(50))?;
    let (items, total) = records::list(&state.db, &session.user, Default::default(), page, per_page).await?;
    let ctx = json!({
        "items": items, "total": total, "page": page, "pages": total.div_ceil(per_page),
        "departments": departments::list_departments(&state.db).await?,
        "subjects": subjects::list_subjects(&state.db).await?,
        "notice": notice, "error": error, "form": form, "today": state.clock.today(),
    });
    render::with_status(status, "admin_records.html", Some(session), "信用信息管理", ctx)
}

async fn records_page(
    state: web::Data<AppState>,
    who: Signed<AdminOnly>,
    q: web::Query<RecordsQuery>,
) -> Result<HttpResponse, PageError> {
    show_records(&state, &who.session, q.page, StatusCode::OK, notice(&q.done), None, json!({})).await
}

#[derive(Deserialize, serde::Serialize)]
struct RecordForm {
    csrf: String,
    subject_id: Option<String>,
    department_id: Option<String>,
    record_type: Option<String>,
    title: Option<String>,
    content: Option<String>,
    severity: Option<String>,
    regime: Option<String>,
    document_no: Option<String>,
    decision_date: Option<String>,
    conduct_end_date: Option<String>,
    source: Option<String>,
    published_on: Option<String>,
    version: Option<String>,
}
crate::csrf_form!(RecordForm);

fn parse_date(field: &str, v: &Option<String>) -> Result<Option<chrono::NaiveDate>, ApiError> {
    match opt(v) {
        None => Ok(None),
        Some(s) => s.parse().map(Some).map_err(|_| ApiError::field(field, "invalid_date", "日期格式应为 YYYY-MM-DD")),
    }
}

fn record_input(f: &RecordForm, create: bool) -> Result<RecordInput, ApiError> {
    Ok(RecordInput {
        subject_id: if create { opt_i64(&f.subject_id) } else { None },
        department_id: if create { opt_i64(&f.department_id) } else { None },
        record_type: if create { opt(&f.record_type) } else { None },
        title: opt(&f.title),
        content: f.content.clone(),
        severity: opt(&f.severity),
        regime: opt(&f.regime),
        document_no: opt(&f.document_no),
        decision_date: parse_date("decision_date", &f.decision_date)?,
        conduct_end_date: parse_date("conduct_end_date", &f.conduct_end_date)?,
        source: if create { opt(&f.source) } else { None },
        published_on: if create { parse_date("published_on", &f.published_on)? } else { None },
        publication_status: None,
        version: opt(&f.version).and_then(|v| v.parse().ok()),
    })
}

async fn create_record(
    state: web::Data<AppState>,
    p: Posted<AdminOnly, RecordForm>,
) -> Result<HttpResponse, PageError> {
    let result = match record_input(&p.form, true) {
        Ok(input) => admin_records::create_record(&state, p.who.id, input).await,
        Err(e) => Err(e),
    };
    match result {
        Ok(r) => Ok(render::redirect(&format!("/admin/records/{}?done=1", r.id))),
        Err(e) => {
            let (status, msg) = refused(e)?;
            show_records(&state, &p.who.session, None, status, None, Some(msg), json!(p.form)).await
        }
    }
}

async fn show_record(
    state: &AppState,
    session: &Session,
    id: i64,
    status: StatusCode,
    notice: Option<&str>,
    error: Option<String>,
) -> Result<HttpResponse, PageError> {
    let record = records::get(&state.db, &session.user, id).await?;
    let history = records::history(&state.db, &session.user, id).await?;
    let ctx = json!({
        "record": record, "history": history, "measures": measures::list_measures(&state.db).await?,
        "notice": notice, "error": error,
    });
    render::with_status(status, "admin_record.html", Some(session), "编辑信用信息", ctx)
}

async fn record_page(
    state: web::Data<AppState>,
    who: Signed<AdminOnly>,
    id: web::Path<i64>,
    q: web::Query<Notice>,
) -> Result<HttpResponse, PageError> {
    show_record(&state, &who.session, id.into_inner(), StatusCode::OK, notice(&q.done), None).await
}

async fn update_record(
    state: web::Data<AppState>,
    id: web::Path<i64>,
    p: Posted<AdminOnly, RecordForm>,
) -> Result<HttpResponse, PageError> {
    let id = id.into_inner();
    let result = match record_input(&p.form, false) {
        Ok(input) => admin_records::update_record(&state, p.who.id, id, input).await,
        Err(e) => Err(e),
    };
    let done = format!("/admin/records/{id}?done=1");
    settle(result, &done, |status, msg| show_record(&state, &p.who.session, id, status, None, Some(msg))).await
}

#[derive(Deserialize)]
struct EntryForm {
    csrf: String,
    measure_id: Option<String>,
    started_on: Option<String>,
    list_name: Option<String>,
    listed_on: Option<String>,
}
crate::csrf_form!(EntryForm);

async fn add_sanction(
    state: web::Data<AppState>,
    id: web::Path<i64>,
    p: Posted<AdminOnly, EntryForm>,
) -> Result<HttpResponse, PageError> {
    let id = id.into_inner();
    let f = &p.form;
    let result = match (opt_i64(&f.measure_id), parse_date("started_on", &f.started_on)) {
        (Some(measure_id), Ok(started_on)) => {
            admin_records::add_sanction(&state, p.who.id, id, SanctionInput { measure_id, started_on }).await
        }
        (None, _) => Err(ApiError::field("measure_id", "required", "请选择惩戒措施")),
        (_, Err(e)) => Err(e),
    };
    let done = format!("/admin/records/{id}?done=1");
    settle(result, &done, |status, msg| show_record(&state, &p.who.session, id, status, None, Some(msg))).await
}

async fn add_list_entry(
    state: web::Data<AppState>,
    id: web::Path<i64>,
    p: Posted<AdminOnly, EntryForm>,
) -> Result<HttpResponse, PageError> {
    let id = id.into_inner();
    let f = &p.form;
    let result = match parse_date("listed_on", &f.listed_on) {
        Ok(listed_on) => {
            let input = ListEntryInput { list_name: f.list_name.clone().unwrap_or_default(), listed_on };
            admin_records::add_list_entry(&state, p.who.id, id, input).await
        }
        Err(e) => Err(e),
    };
    let done = format!("/admin/records/{id}?done=1");
    settle(result, &done, |status, msg| show_record(&state, &p.who.session, id, status, None, Some(msg))).await
}

// --------------------------------------------------------------- calendar

async fn show_calendar(
    state: &AppState,
    session: &Session,
    status: StatusCode,
    notice: Option<String>,
    error: Option<String>,
    text: &str,
) -> Result<HttpResponse, PageError> {
    let events: Vec<Value> = calendar::events(&state.db)
        .await?
        .into_iter()
        .take(50)
        .map(|e| {
            let title = match e.action.as_str() {
                "calendar_reverted" => "恢复为推定安排",
                "calendar_corrected" => "更正",
                _ => "加载",
            };
            json!({"at": e.at, "year": e.year, "title": title, "detail": e.detail})
        })
        .collect();
    let ctx = json!({
        "loaded": state.calendar().loaded_years(),
        "provisional": calendar::provisional_count(&state.db).await?,
        "notice": notice, "error": error, "text": text, "events": events,
    });
    render::with_status(status, "admin_calendar.html", Some(session), "节假日安排", ctx)
}

async fn calendar_page(
    state: web::Data<AppState>,
    who: Signed<AdminOnly>,
    q: web::Query<Notice>,
) -> Result<HttpResponse, PageError> {
    let msg = match (&q.done, &q.reverted) {
        (Some(n), _) => Some(format!("已加载，{n} 个期限已按新安排重新计算。")),
        (None, Some(n)) => Some(format!("已恢复为推定安排，{n} 个期限已重新计算并标注为推定。")),
        _ => None,
    };
    show_calendar(&state, &who.session, StatusCode::OK, msg, None, "").await
}

#[derive(Deserialize)]
struct YearForm {
    csrf: String,
    data: String,
}
crate::csrf_form!(YearForm);

/// Loads or corrects a year: the arrangement as JSON ({year, source, days}).
async fn put_year(state: web::Data<AppState>, p: Posted<AdminOnly, YearForm>) -> Result<HttpResponse, PageError> {
    let text = p.form.data.trim().to_string();
    let result = match crate::domain::calendar::YearFile::parse_json(&text) {
        Ok(year) => calendar::put_year(&state, p.who.id, year.year, year).await,
        Err(e) => Err(e.into()),
    };
    match result {
        Ok((_, n, _)) => Ok(render::redirect(&format!("/admin/calendar?done={n}"))),
        Err(e) => {
            let (status, msg) = refused(e)?;
            show_calendar(&state, &p.who.session, status, None, Some(msg), &text).await
        }
    }
}

#[derive(Deserialize)]
struct RevertForm {
    csrf: String,
    year: String,
    reason: String,
}
crate::csrf_form!(RevertForm);

/// Reverts a loaded year to provisional, with the reason.
async fn revert_year(state: web::Data<AppState>, p: Posted<AdminOnly, RevertForm>) -> Result<HttpResponse, PageError> {
    let result = match p.form.year.trim().parse::<i32>() {
        Ok(year) => calendar::revert_year(&state, p.who.id, year, &p.form.reason).await,
        Err(_) => Err(crate::error::ApiError::field("year", "invalid_value", "请选择年份")),
    };
    match result {
        Ok((_, n, _)) => Ok(render::redirect(&format!("/admin/calendar?reverted={n}"))),
        Err(e) => {
            let (status, msg) = refused(e)?;
            show_calendar(&state, &p.who.session, status, None, Some(msg), "").await
        }
    }
}

// -------------------------------------------------------------- workflows

async fn workflows_page(state: web::Data<AppState>, who: Signed<AdminOnly>) -> Result<HttpResponse, PageError> {
    let defs: Vec<Value> = state
        .workflows
        .all_current()
        .iter()
        .map(|d| {
            json!({"id": d.id, "title": d.title, "version": d.version, "hash": d.hash,
                   "total": d.total_working_days, "svg": d.diagram_svg(None),
                   "transitions": d.transitions.iter().map(|t| json!({
                       "title": t.title, "action": t.action, "from": t.from, "to": t.to,
                       "roles": t.roles.iter().map(|r| r.title()).collect::<Vec<_>>(),
                   })).collect::<Vec<_>>()})
        })
        .collect();
    render::ok("admin_workflows.html", Some(&who.session), "流程", json!({"defs": defs}))
}
