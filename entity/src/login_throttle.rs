use sea_orm::entity::prelude::*;

/// A sign-in throttle counter (`domain::login_throttle::Counter`): of an
/// account from one client address, or of the account as a whole.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "login_throttles")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub user_id: i64,
    /// The client address (an IPv4 address or an IPv6 /64), or [`ACCOUNT`].
    pub client: String,
    pub failures: i32,
    pub last_failure_at: Option<DateTimeUtc>,
    /// An address: the end of its lock. The account: no delayed attempt before this instant.
    pub blocked_until: Option<DateTimeUtc>,
    /// Bumped by every write; writes are conditional on it.
    pub version: i32,
    pub updated_at: DateTimeUtc,
}

/// The `client` of the account-wide counter.
pub const ACCOUNT: &str = "*";

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
