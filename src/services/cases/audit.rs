//! The append-only case event log. Each event's hash covers its content and
//! the previous event's hash, so any edit or deletion breaks the chain.

use chrono::{DateTime, SecondsFormat, Utc};
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use entity::case_event;

/// Hash of the chain's start.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

pub struct NewEvent<'a> {
    pub case_id: i64,
    pub actor_user_id: Option<i64>,
    pub actor_role: &'a str,
    pub action: &'a str,
    pub from_state: Option<&'a str>,
    pub to_state: &'a str,
    pub comment: Option<&'a str>,
    pub inputs: Value,
    pub at: DateTime<Utc>,
}

#[allow(clippy::too_many_arguments)]
fn compute_hash(
    prev: &str,
    case_id: i64,
    seq: i32,
    actor_user_id: Option<i64>,
    actor_role: &str,
    action: &str,
    from_state: Option<&str>,
    to_state: &str,
    comment: Option<&str>,
    inputs: &str,
    at: &DateTime<Utc>,
) -> String {
    let body = json!({
        "case_id": case_id,
        "seq": seq,
        "actor_user_id": actor_user_id,
        "actor_role": actor_role,
        "action": action,
        "from_state": from_state,
        "to_state": to_state,
        "comment": comment,
        "inputs": inputs,
        "created_at": at.to_rfc3339_opts(SecondsFormat::Micros, true),
    });
    let mut h = Sha256::new();
    h.update(prev.as_bytes());
    h.update(b"\n");
    h.update(body.to_string().as_bytes());
    hex::encode(h.finalize())
}

fn hash_of(m: &case_event::Model) -> String {
    compute_hash(
        &m.prev_hash,
        m.case_id,
        m.seq,
        m.actor_user_id,
        &m.actor_role,
        &m.action,
        m.from_state.as_deref(),
        &m.to_state,
        m.comment.as_deref(),
        &m.inputs,
        &m.created_at,
    )
}

/// Takes the case row's write lock for the rest of the transaction (a no-op
/// update), for writers that do not change the case row itself (an upload,
/// a deadline job): appends to one case's chain, and jobs touching its
/// deadlines, then run one after another, always locking the case first.
pub async fn lock_case<C: ConnectionTrait>(db: &C, case_id: i64) -> anyhow::Result<bool> {
    use entity::case;
    let res = case::Entity::update_many()
        .col_expr(case::Column::Version, sea_orm::sea_query::Expr::col(case::Column::Version))
        .filter(case::Column::Id.eq(case_id))
        .exec(db)
        .await?;
    Ok(res.rows_affected == 1)
}

/// Appends an event to the case's chain (inside the caller's transaction).
/// The caller holds the case row's lock (a transition's version-checked
/// write, or [`lock_case`]), so two appends to one chain never interleave.
pub async fn append<C: ConnectionTrait>(db: &C, ev: NewEvent<'_>) -> anyhow::Result<case_event::Model> {
    let last = last_events(db, [ev.case_id]).await?.remove(&ev.case_id);
    append_after(db, last.as_ref(), ev).await
}

/// The last event of each of `cases` (one query). The caller holds the
/// cases' locks.
pub async fn last_events<C: ConnectionTrait>(
    db: &C,
    cases: impl IntoIterator<Item = i64>,
) -> anyhow::Result<std::collections::HashMap<i64, case_event::Model>> {
    use sea_orm::sea_query::{Expr, ExprTrait as _, Func, Query};
    let ids: Vec<i64> = cases.into_iter().collect();
    // (case, highest sequence number) of each chain.
    let newest = Query::select()
        .column(case_event::Column::CaseId)
        .expr(Func::max(Expr::col(case_event::Column::Seq)))
        .from(case_event::Entity)
        .and_where(case_event::Column::CaseId.is_in(ids))
        .group_by_col(case_event::Column::CaseId)
        .to_owned();
    let key = Expr::tuple([Expr::col(case_event::Column::CaseId), Expr::col(case_event::Column::Seq)]);
    Ok(case_event::Entity::find()
        .filter(key.in_subquery(newest))
        .all(db)
        .await?
        .into_iter()
        .map(|e| (e.case_id, e))
        .collect())
}

/// As [`append`], after `last`: the case's last event as the caller read it
/// while holding the case's lock (None: the chain is empty).
pub async fn append_after<C: ConnectionTrait>(
    db: &C,
    last: Option<&case_event::Model>,
    ev: NewEvent<'_>,
) -> anyhow::Result<case_event::Model> {
    Ok(insertable(next_event(last, ev)).insert(db).await?)
}

/// The event that follows `last` in its case's chain (None: the first), as
/// it will be stored; its id is given by the insert.
pub fn next_event(last: Option<&case_event::Model>, ev: NewEvent<'_>) -> case_event::Model {
    let (seq, prev) = match last {
        Some(l) => (l.seq + 1, l.hash.clone()),
        None => (1, GENESIS.to_string()),
    };
    let inputs = ev.inputs.to_string();
    let hash = compute_hash(
        &prev,
        ev.case_id,
        seq,
        ev.actor_user_id,
        ev.actor_role,
        ev.action,
        ev.from_state,
        ev.to_state,
        ev.comment,
        &inputs,
        &ev.at,
    );
    case_event::Model {
        id: 0,
        case_id: ev.case_id,
        seq,
        actor_user_id: ev.actor_user_id,
        actor_role: ev.actor_role.to_string(),
        action: ev.action.to_string(),
        from_state: ev.from_state.map(str::to_string),
        to_state: ev.to_state.to_string(),
        comment: ev.comment.map(str::to_string),
        inputs,
        created_at: ev.at,
        prev_hash: prev,
        hash,
    }
}

/// An event row to insert (the id left to the database).
pub fn insertable(ev: case_event::Model) -> case_event::ActiveModel {
    let mut am = sea_orm::IntoActiveModel::into_active_model(ev);
    am.id = sea_orm::ActiveValue::NotSet;
    am
}

/// A system event's fields (no actor, the case stays in its state).
pub fn system<'a>(c: &'a entity::case::Model, action: &'a str, inputs: Value, at: DateTime<Utc>) -> NewEvent<'a> {
    NewEvent {
        case_id: c.id,
        actor_user_id: None,
        actor_role: "system",
        action,
        from_state: Some(&c.state),
        to_state: &c.state,
        comment: None,
        inputs,
        at,
    }
}

/// An event the system records on a case without moving it (a deadline
/// warning, an escalation). The caller holds the case's lock.
pub async fn system_event<C: ConnectionTrait>(
    db: &C,
    c: &entity::case::Model,
    action: &str,
    inputs: Value,
    at: DateTime<Utc>,
) -> anyhow::Result<()> {
    append(db, system(c, action, inputs, at)).await?;
    Ok(())
}

/// The first broken link found, if any.
#[derive(Debug, PartialEq)]
pub struct BrokenLink {
    pub case_id: i64,
    pub seq: i32,
    pub reason: String,
}

/// Checks one case's events, given in sequence order.
pub fn verify_chain(events: &[case_event::Model]) -> Option<BrokenLink> {
    let mut prev = GENESIS.to_string();
    for (i, ev) in events.iter().enumerate() {
        let expected_seq = i as i32 + 1;
        let broken = |reason: String| Some(BrokenLink { case_id: ev.case_id, seq: ev.seq, reason });
        if ev.seq != expected_seq {
            return broken(format!("expected event #{expected_seq}, found #{}: an event is missing", ev.seq));
        }
        if ev.prev_hash != prev {
            return broken("prev_hash does not match the previous event's hash".into());
        }
        if hash_of(ev) != ev.hash {
            return broken("content does not match its hash (the event was altered)".into());
        }
        prev = ev.hash.clone();
    }
    None
}

/// Recomputes every case's chain, a batch of cases at a time. Returns the
/// number of events checked and the first broken link.
pub async fn verify_all<C: ConnectionTrait>(db: &C) -> anyhow::Result<(u64, Option<BrokenLink>)> {
    use entity::case;
    let mut checked = 0u64;
    let mut after = 0i64;
    loop {
        let ids: Vec<i64> = case::Entity::find()
            .select_only()
            .column(case::Column::Id)
            .filter(case::Column::Id.gt(after))
            .order_by_asc(case::Column::Id)
            .limit(500)
            .into_tuple()
            .all(db)
            .await?;
        let Some(&last) = ids.last() else { break };
        after = last;
        let events = case_event::Entity::find()
            .filter(case_event::Column::CaseId.is_in(ids))
            .order_by_asc(case_event::Column::CaseId)
            .order_by_asc(case_event::Column::Seq)
            .all(db)
            .await?;
        for chunk in events.chunk_by(|a, b| a.case_id == b.case_id) {
            checked += chunk.len() as u64;
            if let Some(b) = verify_chain(chunk) {
                return Ok((checked, Some(b)));
            }
        }
    }
    Ok((checked, None))
}
