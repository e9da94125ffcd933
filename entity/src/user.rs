use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "users")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    #[sea_orm(unique)]
    pub username: String,
    pub display_name: String,
    pub password_hash: String,
    /// `applicant`, `department_officer`, `credit_office` or `admin`
    pub role: String,
    pub department_id: Option<i64>,
    pub subject_id: Option<i64>,
    pub email: Option<String>,
    pub active: bool,
    /// `failed_logins` and `locked_until` are no longer used for signing in:
    /// the sign-in throttle keeps its counters in `login_throttles`. An
    /// administrator's unlock resets them with those.
    pub failed_logins: i32,
    pub locked_until: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    /// Notifications also go by mail (the message list is always kept).
    pub mail_enabled: bool,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
