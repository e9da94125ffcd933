//! Administration: departments, users, subjects, records, the measure
//! catalogue, sanctions and list entries.

use chrono::NaiveDate;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, Set,
    TransactionTrait,
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::domain::period::{PeriodRules, Regime, Severity};
use crate::domain::uscc::Uscc;
use crate::error::{ApiError, ApiResult, FieldError, is_unique_violation};
use crate::state::AppState;
use crate::workflow::Role;
use entity::{department, list_membership, measure, record, sanction, subject, user};

// ---------- departments ----------

#[derive(Debug, Serialize, ToSchema)]
pub struct DepartmentView {
    pub id: i64,
    pub code: String,
    pub name: String,
    /// `producing` or `credit_office`
    pub kind: String,
    pub email: Option<String>,
}

impl From<department::Model> for DepartmentView {
    fn from(d: department::Model) -> Self {
        DepartmentView { id: d.id, code: d.code, name: d.name, kind: d.kind, email: d.email }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DepartmentInput {
    pub code: Option<String>,
    pub name: Option<String>,
    pub kind: Option<String>,
    pub email: Option<String>,
}

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

pub async fn create_department(state: &AppState, input: DepartmentInput) -> ApiResult<DepartmentView> {
    let mut errs = Vec::new();
    let code = require(&input.code, "code", "单位编码").map_err(|e| errs.push(e)).ok();
    let name = require(&input.name, "name", "单位名称").map_err(|e| errs.push(e)).ok();
    let kind = input.kind.clone().unwrap_or_else(|| "producing".into());
    if !["producing", "credit_office"].contains(&kind.as_str()) {
        errs.push(FieldError::new("kind", "invalid_value", "单位类型须为 producing 或 credit_office"));
    }
    check_email(&input.email, "email", &mut errs);
    if !errs.is_empty() {
        return Err(ApiError::Validation(errs));
    }
    let m = department::ActiveModel {
        code: Set(code.unwrap_or_default().to_string()),
        name: Set(name.unwrap_or_default().to_string()),
        kind: Set(kind),
        email: Set(input.email.filter(|e| !e.is_empty())),
        created_at: Set(state.clock.now()),
        ..Default::default()
    }
    .insert(&state.db)
    .await
    .map_err(|e| unique_or(e, "department_code_taken", "单位编码已存在"))?;
    Ok(m.into())
}

pub async fn update_department(state: &AppState, id: i64, input: DepartmentInput) -> ApiResult<DepartmentView> {
    let d = department::Entity::find_by_id(id).one(&state.db).await?.ok_or_else(|| ApiError::not_found("单位"))?;
    let mut errs = Vec::new();
    check_email(&input.email, "email", &mut errs);
    if input.kind.is_some() {
        errs.push(FieldError::new("kind", "immutable", "单位类型创建后不可修改"));
    }
    if !errs.is_empty() {
        return Err(ApiError::Validation(errs));
    }
    let mut am: department::ActiveModel = d.into();
    if let Some(c) = input.code.filter(|s| !s.trim().is_empty()) {
        am.code = Set(c.trim().to_string());
    }
    if let Some(n) = input.name.filter(|s| !s.trim().is_empty()) {
        am.name = Set(n.trim().to_string());
    }
    if let Some(e) = input.email {
        am.email = Set((!e.is_empty()).then_some(e));
    }
    Ok(am.update(&state.db).await.map_err(|e| unique_or(e, "department_code_taken", "单位编码已存在"))?.into())
}

pub async fn list_departments<C: ConnectionTrait>(db: &C) -> ApiResult<Vec<DepartmentView>> {
    Ok(department::Entity::find()
        .order_by_asc(department::Column::Id)
        .all(db)
        .await?
        .into_iter()
        .map(Into::into)
        .collect())
}

// ---------- users ----------

#[derive(Debug, Serialize, ToSchema)]
pub struct UserView {
    pub id: i64,
    pub username: String,
    pub display_name: String,
    pub role: String,
    pub department_id: Option<i64>,
    pub department_name: Option<String>,
    pub subject_id: Option<i64>,
    pub subject_code: Option<String>,
    pub subject_name: Option<String>,
    pub email: Option<String>,
    pub active: bool,
    pub locked_until: Option<chrono::DateTime<chrono::Utc>>,
}

async fn to_user_view<C: ConnectionTrait>(db: &C, u: user::Model) -> ApiResult<UserView> {
    let dept = match u.department_id {
        Some(id) => department::Entity::find_by_id(id).one(db).await?,
        None => None,
    };
    let subj = match u.subject_id {
        Some(id) => subject::Entity::find_by_id(id).one(db).await?,
        None => None,
    };
    Ok(UserView {
        id: u.id,
        username: u.username,
        display_name: u.display_name,
        role: u.role,
        department_id: u.department_id,
        department_name: dept.map(|d| d.name),
        subject_id: u.subject_id,
        subject_code: subj.as_ref().map(|s| s.code.clone()),
        subject_name: subj.map(|s| s.name),
        email: u.email,
        active: u.active,
        locked_until: u.locked_until,
    })
}

pub async fn user_view<C: ConnectionTrait>(db: &C, id: i64) -> ApiResult<UserView> {
    let u = user::Entity::find_by_id(id).one(db).await?.ok_or_else(|| ApiError::not_found("用户"))?;
    to_user_view(db, u).await
}

pub async fn list_users<C: ConnectionTrait>(db: &C) -> ApiResult<Vec<UserView>> {
    let users = user::Entity::find().order_by_asc(user::Column::Id).all(db).await?;
    let mut out = Vec::with_capacity(users.len());
    for u in users {
        out.push(to_user_view(db, u).await?);
    }
    Ok(out)
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UserInput {
    pub username: Option<String>,
    pub display_name: Option<String>,
    pub password: Option<String>,
    /// `applicant`, `department_officer`, `credit_office` or `admin`
    pub role: Option<String>,
    pub department_id: Option<i64>,
    pub subject_id: Option<i64>,
    pub email: Option<String>,
    pub active: Option<bool>,
}

/// Checks that the role's binding (department or subject) exists and fits.
async fn check_binding<C: ConnectionTrait>(
    db: &C,
    role: Role,
    department_id: Option<i64>,
    subject_id: Option<i64>,
    errs: &mut Vec<FieldError>,
) -> ApiResult<()> {
    match role {
        Role::Applicant => match subject_id {
            None => errs.push(FieldError::new("subject_id", "required", "申请人账号须关联信用主体")),
            Some(id) => {
                if subject::Entity::find_by_id(id).one(db).await?.is_none() {
                    errs.push(FieldError::new("subject_id", "not_found", "信用主体不存在"));
                }
            }
        },
        Role::DepartmentOfficer => match department_id {
            None => errs.push(FieldError::new("department_id", "required", "部门经办人须关联单位")),
            Some(id) => match department::Entity::find_by_id(id).one(db).await? {
                None => errs.push(FieldError::new("department_id", "not_found", "单位不存在")),
                Some(d) if d.kind != "producing" => {
                    errs.push(FieldError::new("department_id", "not_producing", "部门经办人须关联认定单位"))
                }
                _ => {}
            },
        },
        _ => {
            if let Some(id) = department_id
                && department::Entity::find_by_id(id).one(db).await?.is_none()
            {
                errs.push(FieldError::new("department_id", "not_found", "单位不存在"));
            }
        }
    }
    Ok(())
}

fn parse_role(v: &str) -> Option<Role> {
    Role::parse(v).filter(|r| *r != Role::System)
}

pub async fn create_user(state: &AppState, input: UserInput) -> ApiResult<UserView> {
    let mut errs = Vec::new();
    let username = require(&input.username, "username", "用户名").map_err(|e| errs.push(e)).ok().map(str::to_string);
    if let Some(u) = &username
        && (u.len() > 64 || !u.chars().all(|c| c.is_ascii_alphanumeric() || "._-".contains(c)))
    {
        errs.push(FieldError::new("username", "invalid_username", "用户名只能包含字母、数字和 . _ -，最长 64 个字符"));
    }
    let role = match input.role.as_deref().map(parse_role) {
        Some(Some(r)) => Some(r),
        Some(None) => {
            errs.push(FieldError::new("role", "invalid_value", "角色取值无效"));
            None
        }
        None => {
            errs.push(FieldError::new("role", "required", "角色不能为空"));
            None
        }
    };
    if let Some(r) = role {
        check_binding(&state.db, r, input.department_id, input.subject_id, &mut errs).await?;
    }
    check_email(&input.email, "email", &mut errs);
    let password = match &input.password {
        None => {
            errs.push(FieldError::new("password", "required", "密码不能为空"));
            None
        }
        Some(p) => match crate::auth::check_password_policy(p, username.as_deref().unwrap_or("")) {
            Err(ApiError::Validation(mut f)) => {
                errs.append(&mut f);
                None
            }
            _ => Some(p.clone()),
        },
    };
    if !errs.is_empty() {
        return Err(ApiError::Validation(errs));
    }
    let (Some(username), Some(role), Some(password)) = (username, role, password) else {
        return Err(ApiError::Validation(errs));
    };
    let now = state.clock.now();
    let hash = crate::auth::hash_password(password).await?;
    let m = user::ActiveModel {
        display_name: Set(input
            .display_name
            .clone()
            .filter(|s| !s.trim().is_empty())
            .unwrap_or_else(|| username.clone())),
        username: Set(username),
        password_hash: Set(hash),
        role: Set(role.as_str().to_string()),
        department_id: Set(if role == Role::Applicant { None } else { input.department_id }),
        subject_id: Set(if role == Role::Applicant { input.subject_id } else { None }),
        email: Set(input.email.filter(|e| !e.is_empty())),
        active: Set(input.active.unwrap_or(true)),
        failed_logins: Set(0),
        locked_until: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(&state.db)
    .await
    .map_err(|e| unique_or(e, "username_taken", "用户名已存在"))?;
    to_user_view(&state.db, m).await
}

pub async fn update_user(state: &AppState, id: i64, input: UserInput) -> ApiResult<UserView> {
    let u = user::Entity::find_by_id(id).one(&state.db).await?.ok_or_else(|| ApiError::not_found("用户"))?;
    let mut errs = Vec::new();
    if input.username.is_some() {
        errs.push(FieldError::new("username", "immutable", "用户名不可修改"));
    }
    let role = match input.role.as_deref() {
        Some(r) => match parse_role(r) {
            Some(r) => r,
            None => {
                errs.push(FieldError::new("role", "invalid_value", "角色取值无效"));
                Role::parse(&u.role).unwrap_or(Role::Applicant)
            }
        },
        None => Role::parse(&u.role).unwrap_or(Role::Applicant),
    };
    let department_id = input.department_id.or(u.department_id);
    let subject_id = input.subject_id.or(u.subject_id);
    check_binding(&state.db, role, department_id, subject_id, &mut errs).await?;
    check_email(&input.email, "email", &mut errs);
    if let Some(p) = &input.password
        && let Err(ApiError::Validation(mut f)) = crate::auth::check_password_policy(p, &u.username)
    {
        errs.append(&mut f);
    }
    if !errs.is_empty() {
        return Err(ApiError::Validation(errs));
    }
    let mut am: user::ActiveModel = u.into();
    am.role = Set(role.as_str().to_string());
    am.department_id = Set(if role == Role::Applicant { None } else { department_id });
    am.subject_id = Set(if role == Role::Applicant { subject_id } else { None });
    if let Some(n) = input.display_name.filter(|s| !s.trim().is_empty()) {
        am.display_name = Set(n);
    }
    if let Some(e) = input.email {
        am.email = Set((!e.is_empty()).then_some(e));
    }
    if let Some(a) = input.active {
        am.active = Set(a);
    }
    if let Some(p) = input.password {
        am.password_hash = Set(crate::auth::hash_password(p).await?);
        am.failed_logins = Set(0);
        am.locked_until = Set(None);
    }
    am.updated_at = Set(state.clock.now());
    let m = am.update(&state.db).await?;
    to_user_view(&state.db, m).await
}

// ---------- subjects ----------

#[derive(Debug, Serialize, ToSchema)]
pub struct SubjectView {
    pub id: i64,
    pub code: String,
    pub name: String,
    /// `legal_person`, `individual_business`, `other_organisation` or `natural_person`
    pub kind: String,
    /// The code failed the GB 32100 check and an administrator accepted it.
    pub check_overridden: bool,
}

impl From<subject::Model> for SubjectView {
    fn from(s: subject::Model) -> Self {
        SubjectView { id: s.id, code: s.code, name: s.name, kind: s.kind, check_overridden: s.check_overridden }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SubjectInput {
    pub code: Option<String>,
    pub name: Option<String>,
    pub kind: Option<String>,
    /// Accept a code whose check character does not match (some legitimate
    /// early codes fail the check).
    #[serde(default)]
    pub override_check: bool,
}

const SUBJECT_KINDS: [&str; 4] = ["legal_person", "individual_business", "other_organisation", "natural_person"];

/// GB 11643 check of an 18-digit resident identity number.
fn resident_id_valid(id: &str) -> bool {
    const W: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
    let chars: Vec<char> = id.chars().collect();
    if chars.len() != 18 || !chars[..17].iter().all(|c| c.is_ascii_digit()) {
        return false;
    }
    let sum: u32 = chars[..17].iter().zip(W).map(|(c, w)| c.to_digit(10).unwrap_or(0) * w).sum();
    "10X98765432".chars().nth((sum % 11) as usize) == Some(chars[17])
}

pub async fn create_subject(state: &AppState, input: SubjectInput) -> ApiResult<SubjectView> {
    let mut errs = Vec::new();
    let name = require(&input.name, "name", "主体名称").map_err(|e| errs.push(e)).ok().map(str::to_string);
    let kind = input.kind.clone().unwrap_or_else(|| "legal_person".into());
    if !SUBJECT_KINDS.contains(&kind.as_str()) {
        errs.push(FieldError::new("kind", "invalid_value", "主体类型取值无效"));
    }
    let raw = require(&input.code, "code", "统一社会信用代码").map_err(|e| errs.push(e)).ok().map(|s| s.to_uppercase());
    let mut overridden = false;
    let mut code = None;
    if let Some(raw) = raw {
        if kind == "natural_person" && raw.len() == 18 && raw[..17].chars().all(|c| c.is_ascii_digit()) {
            if resident_id_valid(&raw) || input.override_check {
                overridden = !resident_id_valid(&raw);
                code = Some(raw);
            } else {
                errs.push(FieldError::new(
                    "code",
                    "id_check_digit",
                    "身份证号码校验位不符；如确认无误，请设置 override_check",
                ));
            }
        } else {
            match Uscc::parse_lenient(&raw) {
                Ok((u, None)) => code = Some(u.as_str().to_string()),
                Ok((u, Some(warning))) => {
                    if input.override_check {
                        overridden = true;
                        code = Some(u.as_str().to_string());
                    } else {
                        errs.push(FieldError::new(
                            "code",
                            warning.code(),
                            format!("{warning}；如确认代码无误，请设置 override_check 后重新提交"),
                        ));
                    }
                }
                Err(e) => errs.push(FieldError::new("code", e.code(), e.to_string())),
            }
        }
    }
    if !errs.is_empty() {
        return Err(ApiError::Validation(errs));
    }
    let m = subject::ActiveModel {
        code: Set(code.unwrap_or_default()),
        name: Set(name.unwrap_or_default()),
        kind: Set(kind),
        check_overridden: Set(overridden),
        created_at: Set(state.clock.now()),
        ..Default::default()
    }
    .insert(&state.db)
    .await
    .map_err(|e| unique_or(e, "subject_code_taken", "该统一社会信用代码已登记"))?;
    Ok(m.into())
}

pub async fn update_subject(state: &AppState, id: i64, input: SubjectInput) -> ApiResult<SubjectView> {
    let s = subject::Entity::find_by_id(id).one(&state.db).await?.ok_or_else(|| ApiError::not_found("信用主体"))?;
    if input.code.is_some() || input.kind.is_some() {
        return Err(ApiError::field("code", "immutable", "统一社会信用代码和主体类型登记后不可修改"));
    }
    let mut am: subject::ActiveModel = s.into();
    if let Some(n) = input.name.filter(|n| !n.trim().is_empty()) {
        am.name = Set(n.trim().to_string());
    }
    Ok(am.update(&state.db).await?.into())
}

pub async fn list_subjects<C: ConnectionTrait>(db: &C) -> ApiResult<Vec<SubjectView>> {
    Ok(subject::Entity::find().order_by_asc(subject::Column::Id).all(db).await?.into_iter().map(Into::into).collect())
}

// ---------- records ----------

pub const RECORD_TYPES: [&str; 4] =
    ["administrative_penalty", "serious_dishonesty_list", "abnormal_operation_list", "other"];

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RecordInput {
    pub subject_id: Option<i64>,
    pub record_type: Option<String>,
    pub title: Option<String>,
    pub content: Option<String>,
    /// `minor`, `general`, `serious`, `legacy_general`, `legacy_serious`, `legacy_specific_serious`
    pub severity: Option<String>,
    /// `current`, `order58` or `legacy527`
    pub regime: Option<String>,
    pub department_id: Option<i64>,
    pub document_no: Option<String>,
    pub decision_date: Option<NaiveDate>,
    pub conduct_end_date: Option<NaiveDate>,
    /// Overrides the default publication status derived from the rules.
    pub publication_status: Option<String>,
    /// Required when updating: the version the change is based on.
    pub version: Option<i32>,
}

/// Fields derived from regime, severity and dates.
pub struct DerivedFields {
    pub repairable: bool,
    pub repair_from: Option<NaiveDate>,
    pub publication_ends: NaiveDate,
    pub display_category: String,
    pub published_by_default: bool,
}

pub fn derive_fields(
    rules: &PeriodRules,
    regime: &str,
    severity: &str,
    decision: NaiveDate,
    conduct_end: Option<NaiveDate>,
) -> Result<DerivedFields, Vec<FieldError>> {
    let mut errs = Vec::new();
    let r = Regime::parse(regime);
    let s = Severity::parse(severity);
    if r.is_none() {
        errs.push(FieldError::new("regime", "invalid_value", "适用规则取值无效（current、order58、legacy527）"));
    }
    if s.is_none() {
        errs.push(FieldError::new("severity", "invalid_value", "失信程度取值无效"));
    }
    let (Some(r), Some(s)) = (r, s) else { return Err(errs) };
    match rules.derive(r, s, decision, conduct_end) {
        Ok(d) => Ok(DerivedFields {
            repairable: d.repairable,
            repair_from: d.repair_from,
            publication_ends: d.publication_ends,
            display_category: d.display_category,
            published_by_default: d.published_by_default,
        }),
        Err(e) => Err(vec![FieldError::new("severity", e.code(), e.to_string())]),
    }
}

/// A decision date must lie between 2000 and today.
fn check_decision_date(d: NaiveDate, today: NaiveDate) -> Option<FieldError> {
    if d > today {
        Some(FieldError::new("decision_date", "in_future", "决定日期不能晚于今天"))
    } else if chrono::Datelike::year(&d) < 2000 {
        Some(FieldError::new("decision_date", "out_of_range", "决定日期超出有效范围"))
    } else {
        None
    }
}

/// The end of the conduct must lie between 1990 and today.
fn check_conduct_end(c: NaiveDate, today: NaiveDate) -> Option<FieldError> {
    (c > today || chrono::Datelike::year(&c) < 1990)
        .then(|| FieldError::new("conduct_end_date", "out_of_range", "失信行为终止日期不合理"))
}

fn admin_actor(admin_id: i64) -> crate::services::publication::Actor<'static> {
    crate::services::publication::Actor { user_id: Some(admin_id), role: "admin" }
}

pub async fn create_record(
    state: &AppState,
    admin_id: i64,
    input: RecordInput,
) -> ApiResult<crate::services::records::RecordView> {
    let mut errs = Vec::new();
    let subject_id = input.subject_id;
    match subject_id {
        None => errs.push(FieldError::new("subject_id", "required", "信用主体不能为空")),
        Some(id) if subject::Entity::find_by_id(id).one(&state.db).await?.is_none() => {
            errs.push(FieldError::new("subject_id", "not_found", "信用主体不存在"))
        }
        _ => {}
    }
    match input.department_id {
        None => errs.push(FieldError::new("department_id", "required", "认定单位不能为空")),
        Some(id) => match department::Entity::find_by_id(id).one(&state.db).await? {
            Some(d) if d.kind == "producing" => {}
            _ => errs.push(FieldError::new("department_id", "not_found", "认定单位不存在")),
        },
    }
    let record_type = input.record_type.clone().unwrap_or_default();
    if !RECORD_TYPES.contains(&record_type.as_str()) {
        errs.push(FieldError::new("record_type", "invalid_value", "信息类型取值无效"));
    }
    let title = require(&input.title, "title", "信息名称").map_err(|e| errs.push(e)).ok().map(str::to_string);
    let document_no =
        require(&input.document_no, "document_no", "决定书文号").map_err(|e| errs.push(e)).ok().map(str::to_string);
    let today = state.clock.today();
    let decision = match input.decision_date {
        None => {
            errs.push(FieldError::new("decision_date", "required", "决定日期不能为空"));
            None
        }
        Some(d) => match check_decision_date(d, today) {
            Some(e) => {
                errs.push(e);
                None
            }
            None => Some(d),
        },
    };
    if let Some(e) = input.conduct_end_date.and_then(|c| check_conduct_end(c, today)) {
        errs.push(e);
    }
    let derived = match (decision, &input.regime, &input.severity) {
        (Some(d), Some(r), Some(s)) => {
            match derive_fields(&state.settings.publication, r, s, d, input.conduct_end_date) {
                Ok(x) => Some(x),
                Err(mut e) => {
                    errs.append(&mut e);
                    None
                }
            }
        }
        (_, r, s) => {
            if r.is_none() {
                errs.push(FieldError::new("regime", "required", "适用规则不能为空"));
            }
            if s.is_none() {
                errs.push(FieldError::new("severity", "required", "失信程度不能为空"));
            }
            None
        }
    };
    if let Some(p) = &input.publication_status
        && !["published", "not_published"].contains(&p.as_str())
    {
        errs.push(FieldError::new("publication_status", "invalid_value", "公示状态须为 published 或 not_published"));
    }
    if !errs.is_empty() {
        return Err(ApiError::Validation(errs));
    }
    let (Some(derived), Some(decision)) = (derived, decision) else {
        return Err(ApiError::Validation(errs));
    };
    let now = state.clock.now();
    let status = input
        .publication_status
        .unwrap_or_else(|| if derived.published_by_default { "published".into() } else { "not_published".into() });
    let display_category =
        if status == "not_published" { "不予公示".to_string() } else { derived.display_category };
    let txn = state.db.begin().await?;
    let m = record::ActiveModel {
        subject_id: Set(subject_id.unwrap_or_default()),
        record_type: Set(record_type),
        title: Set(title.unwrap_or_default()),
        content: Set(input.content.unwrap_or_default()),
        severity: Set(input.severity.unwrap_or_default()),
        regime: Set(input.regime.unwrap_or_default()),
        department_id: Set(input.department_id.unwrap_or_default()),
        document_no: Set(document_no.unwrap_or_default()),
        decision_date: Set(decision),
        conduct_end_date: Set(input.conduct_end_date),
        publication_status: Set(status),
        publication_ended_at: Set(None),
        publication_end_reason: Set(None),
        repairable: Set(derived.repairable),
        repair_from: Set(derived.repair_from),
        publication_ends: Set(derived.publication_ends),
        display_category: Set(display_category),
        objection_open: Set(false),
        objection_case_id: Set(None),
        repair_barred_until: Set(None),
        deleted: Set(false),
        version: Set(1),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(&txn)
    .await?;
    let detail = serde_json::json!({"document_no": m.document_no, "publication_status": m.publication_status});
    crate::services::publication::record_event(&txn, m.id, admin_actor(admin_id), "record_created", detail, now)
        .await?;
    txn.commit().await?;
    crate::services::records::view_by_id(&state.db, m.id).await
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SanctionInput {
    pub measure_id: i64,
    pub started_on: Option<NaiveDate>,
}

pub async fn add_sanction(
    state: &AppState,
    admin_id: i64,
    record_id: i64,
    input: SanctionInput,
) -> ApiResult<crate::services::records::RecordView> {
    let r =
        record::Entity::find_by_id(record_id).one(&state.db).await?.ok_or_else(|| ApiError::not_found("信用信息"))?;
    if measure::Entity::find_by_id(input.measure_id).one(&state.db).await?.is_none() {
        return Err(ApiError::field("measure_id", "not_found", "惩戒措施不存在"));
    }
    let txn = state.db.begin().await?;
    let sn = sanction::ActiveModel {
        record_id: Set(r.id),
        measure_id: Set(input.measure_id),
        status: Set("active".into()),
        started_on: Set(input.started_on.unwrap_or(r.decision_date)),
        ..Default::default()
    }
    .insert(&txn)
    .await?;
    let detail = serde_json::json!({"sanction_id": sn.id, "measure_id": sn.measure_id});
    crate::services::publication::record_event(
        &txn,
        r.id,
        admin_actor(admin_id),
        "sanction_added",
        detail,
        state.clock.now(),
    )
    .await?;
    txn.commit().await?;
    crate::services::records::view_by_id(&state.db, record_id).await
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ListEntryInput {
    pub list_name: String,
    pub listed_on: Option<NaiveDate>,
}

pub async fn add_list_entry(
    state: &AppState,
    admin_id: i64,
    record_id: i64,
    input: ListEntryInput,
) -> ApiResult<crate::services::records::RecordView> {
    let r =
        record::Entity::find_by_id(record_id).one(&state.db).await?.ok_or_else(|| ApiError::not_found("信用信息"))?;
    if input.list_name.trim().is_empty() {
        return Err(ApiError::field("list_name", "required", "名单名称不能为空"));
    }
    let txn = state.db.begin().await?;
    let entry = list_membership::ActiveModel {
        record_id: Set(r.id),
        subject_id: Set(r.subject_id),
        list_name: Set(input.list_name.trim().to_string()),
        status: Set("active".into()),
        listed_on: Set(input.listed_on.unwrap_or(r.decision_date)),
        ..Default::default()
    }
    .insert(&txn)
    .await?;
    let detail = serde_json::json!({"list_membership_id": entry.id, "list_name": entry.list_name});
    crate::services::publication::record_event(
        &txn,
        r.id,
        admin_actor(admin_id),
        "list_entry_added",
        detail,
        state.clock.now(),
    )
    .await?;
    txn.commit().await?;
    crate::services::records::view_by_id(&state.db, record_id).await
}

// ---------- measures ----------

#[derive(Debug, Serialize, ToSchema)]
pub struct MeasureView {
    pub id: i64,
    pub name: String,
    pub legal_basis: String,
    pub implementing_department: String,
}

impl From<measure::Model> for MeasureView {
    fn from(m: measure::Model) -> Self {
        MeasureView {
            id: m.id,
            name: m.name,
            legal_basis: m.legal_basis,
            implementing_department: m.implementing_department,
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MeasureInput {
    pub name: Option<String>,
    pub legal_basis: Option<String>,
    pub implementing_department: Option<String>,
}

pub async fn create_measure(state: &AppState, input: MeasureInput) -> ApiResult<MeasureView> {
    let mut errs = Vec::new();
    let name = require(&input.name, "name", "措施名称").map_err(|e| errs.push(e)).ok().map(str::to_string);
    let basis =
        require(&input.legal_basis, "legal_basis", "法律依据").map_err(|e| errs.push(e)).ok().map(str::to_string);
    let dept = require(&input.implementing_department, "implementing_department", "实施部门")
        .map_err(|e| errs.push(e))
        .ok()
        .map(str::to_string);
    if !errs.is_empty() {
        return Err(ApiError::Validation(errs));
    }
    let m = measure::ActiveModel {
        name: Set(name.unwrap_or_default()),
        legal_basis: Set(basis.unwrap_or_default()),
        implementing_department: Set(dept.unwrap_or_default()),
        created_at: Set(state.clock.now()),
        ..Default::default()
    }
    .insert(&state.db)
    .await
    .map_err(|e| unique_or(e, "measure_name_taken", "同名惩戒措施已存在"))?;
    Ok(m.into())
}

pub async fn update_measure(state: &AppState, id: i64, input: MeasureInput) -> ApiResult<MeasureView> {
    let m = measure::Entity::find_by_id(id).one(&state.db).await?.ok_or_else(|| ApiError::not_found("惩戒措施"))?;
    let mut am: measure::ActiveModel = m.into();
    if let Some(v) = input.name.filter(|s| !s.trim().is_empty()) {
        am.name = Set(v);
    }
    if let Some(v) = input.legal_basis.filter(|s| !s.trim().is_empty()) {
        am.legal_basis = Set(v);
    }
    if let Some(v) = input.implementing_department.filter(|s| !s.trim().is_empty()) {
        am.implementing_department = Set(v);
    }
    Ok(am.update(&state.db).await.map_err(|e| unique_or(e, "measure_name_taken", "同名惩戒措施已存在"))?.into())
}

pub async fn delete_measure(state: &AppState, id: i64) -> ApiResult<()> {
    let m = measure::Entity::find_by_id(id).one(&state.db).await?.ok_or_else(|| ApiError::not_found("惩戒措施"))?;
    let used = sanction::Entity::find().filter(sanction::Column::MeasureId.eq(id)).count(&state.db).await?;
    if used > 0 {
        return Err(ApiError::conflict("measure_in_use", "该惩戒措施已被使用，不能删除"));
    }
    measure::Entity::delete_by_id(m.id).exec(&state.db).await?;
    Ok(())
}

pub async fn list_measures<C: ConnectionTrait>(db: &C) -> ApiResult<Vec<MeasureView>> {
    Ok(measure::Entity::find().order_by_asc(measure::Column::Id).all(db).await?.into_iter().map(Into::into).collect())
}

/// Updates descriptive fields of a record (title, content, document number,
/// conduct-end date). Optimistic: `version` must match. Changes to regime,
/// severity or dates re-derive the publication window.
pub async fn update_record(
    state: &AppState,
    admin_id: i64,
    id: i64,
    input: RecordInput,
) -> ApiResult<crate::services::records::RecordView> {
    use sea_orm::sea_query::Expr;
    let r = record::Entity::find_by_id(id).one(&state.db).await?.ok_or_else(|| ApiError::not_found("信用信息"))?;
    let Some(version) = input.version else {
        return Err(ApiError::field("version", "required", "请提供信息版本号（version）"));
    };
    if input.subject_id.is_some()
        || input.department_id.is_some()
        || input.record_type.is_some()
        || input.publication_status.is_some()
    {
        return Err(ApiError::field("subject_id", "immutable", "主体、认定单位、信息类型和公示状态不能通过此接口修改"));
    }
    let regime = input.regime.clone().unwrap_or(r.regime.clone());
    let severity = input.severity.clone().unwrap_or(r.severity.clone());
    let decision = input.decision_date.unwrap_or(r.decision_date);
    if let Some(e) = input.decision_date.and_then(|d| check_decision_date(d, state.clock.today())) {
        return Err(ApiError::Validation(vec![e]));
    }
    let Some(next_version) = version.checked_add(1) else {
        return Err(ApiError::conflict("stale_version", "信息已被他人修改，请刷新后重试"));
    };
    if let Some(e) = input.conduct_end_date.and_then(|c| check_conduct_end(c, state.clock.today())) {
        return Err(ApiError::Validation(vec![e]));
    }
    let conduct_end = input.conduct_end_date.or(r.conduct_end_date);
    let derived = derive_fields(&state.settings.publication, &regime, &severity, decision, conduct_end)
        .map_err(ApiError::Validation)?;
    let mut q = record::Entity::update_many()
        .col_expr(record::Column::Regime, Expr::value(regime))
        .col_expr(record::Column::Severity, Expr::value(severity))
        .col_expr(record::Column::DecisionDate, Expr::value(decision))
        .col_expr(record::Column::ConductEndDate, Expr::value(conduct_end))
        .col_expr(record::Column::Repairable, Expr::value(derived.repairable))
        .col_expr(record::Column::RepairFrom, Expr::value(derived.repair_from))
        .col_expr(record::Column::PublicationEnds, Expr::value(derived.publication_ends))
        .col_expr(record::Column::Version, Expr::value(next_version))
        .col_expr(record::Column::UpdatedAt, Expr::value(state.clock.now()));
    if r.publication_status != "not_published" {
        q = q.col_expr(record::Column::DisplayCategory, Expr::value(derived.display_category));
    }
    if let Some(t) = input.title.filter(|s| !s.trim().is_empty()) {
        q = q.col_expr(record::Column::Title, Expr::value(t));
    }
    if let Some(c) = input.content {
        q = q.col_expr(record::Column::Content, Expr::value(c));
    }
    if let Some(d) = input.document_no.filter(|s| !s.trim().is_empty()) {
        q = q.col_expr(record::Column::DocumentNo, Expr::value(d));
    }
    let txn = state.db.begin().await?;
    let res = q.filter(record::Column::Id.eq(id)).filter(record::Column::Version.eq(version)).exec(&txn).await?;
    if res.rows_affected != 1 {
        return Err(ApiError::conflict("stale_version", "信息已被他人修改，请刷新后重试"));
    }
    let before = serde_json::json!({
        "title": r.title, "content": r.content, "document_no": r.document_no, "regime": r.regime,
        "severity": r.severity, "decision_date": r.decision_date, "conduct_end_date": r.conduct_end_date,
        "version": r.version,
    });
    crate::services::publication::record_event(
        &txn,
        id,
        admin_actor(admin_id),
        "record_updated",
        serde_json::json!({"before": before}),
        state.clock.now(),
    )
    .await?;
    txn.commit().await?;
    crate::services::records::view_by_id(&state.db, id).await
}
