//! User accounts and their bindings (a department or a subject).

use sea_orm::{ActiveModelTrait, ConnectionTrait, EntityTrait, QueryOrder, Set, TransactionTrait};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{check_email, require, unique_or};
use crate::error::{ApiError, ApiResult, FieldError};
use crate::services::login_throttle;
use crate::state::AppState;
use crate::workflow::Role;
use entity::types::DepartmentKind;
use entity::{department, subject, user};

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
    /// Until when signing in is locked from some address or delayed for the
    /// account (the latest of them); absent when it is neither.
    pub locked_until: Option<chrono::DateTime<chrono::Utc>>,
}

type Instant = chrono::DateTime<chrono::Utc>;

async fn to_user_view<C: ConnectionTrait>(
    db: &C,
    u: user::Model,
    locked_until: Option<Instant>,
) -> ApiResult<UserView> {
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
        locked_until,
    })
}

/// One account as of `now`.
pub async fn user_view<C: ConnectionTrait>(db: &C, id: i64, now: Instant) -> ApiResult<UserView> {
    let u = user::Entity::find_by_id(id).one(db).await?.ok_or_else(|| ApiError::not_found("用户"))?;
    let locked = login_throttle::blocked_accounts(db, Some(id), now).await?;
    to_user_view(db, u, locked.get(&id).copied()).await
}

/// Every account as of `now`.
pub async fn list_users<C: ConnectionTrait>(db: &C, now: Instant) -> ApiResult<Vec<UserView>> {
    let users = user::Entity::find().order_by_asc(user::Column::Id).all(db).await?;
    let locked = login_throttle::blocked_accounts(db, None, now).await?;
    let mut out = Vec::with_capacity(users.len());
    for u in users {
        let until = locked.get(&u.id).copied();
        out.push(to_user_view(db, u, until).await?);
    }
    Ok(out)
}

#[derive(Debug, Default, Deserialize, ToSchema)]
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
    /// Clears a login lock and the failure count.
    pub unlock: Option<bool>,
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
                Some(d) if d.kind != DepartmentKind::Producing => {
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
    to_user_view(&state.db, m, None).await
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
    // An unlock or a new password forgets every sign-in counter of the account.
    let unlock = input.unlock == Some(true) || input.password.is_some();
    if unlock {
        am.failed_logins = Set(0);
        am.locked_until = Set(None);
    }
    if let Some(p) = input.password {
        am.password_hash = Set(crate::auth::hash_password(p).await?);
    }
    let now = state.clock.now();
    am.updated_at = Set(now);
    let txn = state.db.begin().await?;
    let m = am.update(&txn).await?;
    if unlock {
        login_throttle::clear(&txn, id).await?;
        tracing::info!(user_id = id, "sign-in counters cleared by an administrator");
    }
    txn.commit().await?;
    let locked = login_throttle::blocked_accounts(&state.db, Some(id), now).await?;
    to_user_view(&state.db, m, locked.get(&id).copied()).await
}
