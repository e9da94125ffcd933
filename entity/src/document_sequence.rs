use sea_orm::entity::prelude::*;

/// The last number issued per number family and year: incremented in the
/// issuing transaction, so numbers are gap-free and unique across replicas.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "document_sequences")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub prefix: String,
    #[sea_orm(primary_key, auto_increment = false)]
    pub year: i32,
    pub last: i32,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
