use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "calendar_years")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub year: i32,
    #[sea_orm(column_type = "Text")]
    pub data: String,
    pub updated_by: Option<i64>,
    pub updated_at: DateTimeUtc,
    /// Reverted to provisional by an administrator: the year counts from the
    /// lunar-table estimate again, whatever `data` (or the shipped file) says.
    pub reverted: bool,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
