//! The outbox: requests to the POS that must happen after the local commit, in order.

use rusqlite::{Connection, OptionalExtension, Row, params};
use serde::{Deserialize, Serialize};

use super::states::{OutboxKind, OutboxState, check};
use super::{Money, StoreError, now_utc};

pub use crate::domain::outbox::OutboxItem;

/// A new item.
#[derive(Clone, Debug)]
pub struct NewItem {
    /// Kind.
    pub kind: OutboxKind,
    /// Sale.
    pub sale_id: Option<String>,
    /// Payment.
    pub payment_id: Option<String>,
    /// Amount.
    pub amount: Option<Money>,
    /// Card hash.
    pub code_hash: Option<String>,
    /// JSON body.
    pub payload: String,
}

const COLS: &str = "id, kind, state, sale_id, payment_id, amount, code_hash, payload, attempt, sent_at, last_error, created_at";

fn from_row(r: &Row<'_>) -> rusqlite::Result<OutboxItem> {
    Ok(OutboxItem {
        id: r.get(0)?,
        kind: r.get(1)?,
        state: r.get(2)?,
        sale_id: r.get(3)?,
        payment_id: r.get(4)?,
        amount: r.get(5)?,
        code_hash: r.get(6)?,
        payload: r.get(7)?,
        attempt: r.get(8)?,
        sent_at: r.get(9)?,
        last_error: r.get(10)?,
        created_at: r.get(11)?,
    })
}

/// Enqueues an item in `new` (inside the caller's transaction).
pub fn enqueue(c: &Connection, item: &NewItem) -> Result<i64, StoreError> {
    let now = now_utc();
    c.prepare_cached("INSERT INTO outbox(kind, state, sale_id, payment_id, amount, code_hash, payload, created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?8)")?.execute(params![
            item.kind,
            OutboxState::New,
            item.sale_id,
            item.payment_id,
            item.amount,
            item.code_hash,
            item.payload,
            now
        ],
    )?;
    Ok(c.last_insert_rowid())
}

/// Reads one item.
pub fn get(c: &Connection, id: i64) -> Result<OutboxItem, StoreError> {
    c.prepare_cached(&format!("SELECT {COLS} FROM outbox WHERE id = ?1"))?
        .query_row([id], from_row)
        .optional()?
        .ok_or_else(|| StoreError::NotFound(format!("outbox item {id}")))
}

/// The next item to send: the lowest id in `new`.
pub fn next(c: &Connection) -> Result<Option<OutboxItem>, StoreError> {
    Ok(c.prepare_cached(&format!(
        "SELECT {COLS} FROM outbox WHERE state = 'new' ORDER BY id LIMIT 1"
    ))?
    .query_row([], from_row)
    .optional()?)
}

/// Claims the next item: `new → sending` for the lowest id, in the caller's transaction, so
/// nothing (a cancel dropping it, an operator holding it) can slip in between.
pub fn claim_next(c: &Connection) -> Result<Option<OutboxItem>, StoreError> {
    match next(c)? {
        Some(item) => transition(c, item.id, OutboxState::Sending, None).map(Some),
        None => Ok(None),
    }
}

/// Items, optionally only those in `state`, in id order.
pub fn list(c: &Connection, state: Option<OutboxState>) -> Result<Vec<OutboxItem>, StoreError> {
    let mut out = Vec::new();
    match state {
        Some(s) => {
            let mut st = c.prepare_cached(&format!(
                "SELECT {COLS} FROM outbox WHERE state = ?1 ORDER BY id"
            ))?;
            for r in st.query_map([s], from_row)? {
                out.push(r?);
            }
        }
        None => {
            let mut st = c.prepare_cached(&format!("SELECT {COLS} FROM outbox ORDER BY id"))?;
            for r in st.query_map([], from_row)? {
                out.push(r?);
            }
        }
    }
    Ok(out)
}

/// Items belonging to a payment.
pub fn for_payment(c: &Connection, payment_id: &str) -> Result<Vec<OutboxItem>, StoreError> {
    let mut st = c.prepare_cached(&format!(
        "SELECT {COLS} FROM outbox WHERE payment_id = ?1 ORDER BY id"
    ))?;
    Ok(st
        .query_map([payment_id], from_row)?
        .collect::<Result<_, _>>()?)
}

/// Moves an item to `to`, enforcing the legal transitions. `new → sending` counts an attempt
/// and stamps `sent_at`.
pub fn transition(
    c: &Connection,
    id: i64,
    to: OutboxState,
    error: Option<&str>,
) -> Result<OutboxItem, StoreError> {
    let cur = get(c, id)?;
    check(
        "outbox item",
        &id.to_string(),
        cur.state,
        to,
        cur.state.can_go(to),
    )?;
    let now = now_utc();
    if to == OutboxState::Sending {
        c.prepare_cached("UPDATE outbox SET state = ?2, attempt = attempt + 1, sent_at = ?3, updated_at = ?3 WHERE id = ?1")?.execute(params![id, to, now],
        )?;
    } else {
        c.prepare_cached("UPDATE outbox SET state = ?2, last_error = COALESCE(?3, last_error), updated_at = ?4 WHERE id = ?1")?.execute(params![id, to, error, now],
        )?;
    }
    get(c, id)
}

/// Counts by state.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counts {
    /// `new` + `sending` + `held`.
    pub pending: u64,
    /// `in_doubt`.
    pub in_doubt: u64,
    /// `rejected`.
    pub failed: u64,
    /// `held` (also counted in pending).
    pub held: u64,
}

/// Counts for `/v1/status`.
pub fn counts(c: &Connection) -> Result<Counts, StoreError> {
    // Only the states counted, through `outbox_by_state`: confirmed items are most of the
    // table and grow with every sale, and the cashier's display asks after each of them.
    let mut st = c.prepare_cached(
        "SELECT state, COUNT(*) FROM outbox
         WHERE state IN ('new', 'sending', 'held', 'in_doubt', 'rejected') GROUP BY state",
    )?;
    let mut out = Counts::default();
    for r in st.query_map([], |r| {
        Ok((r.get::<_, OutboxState>(0)?, r.get::<_, i64>(1)? as u64))
    })? {
        let (s, n) = r?;
        match s {
            OutboxState::New | OutboxState::Sending => out.pending += n,
            OutboxState::Held => {
                out.pending += n;
                out.held += n;
            }
            OutboxState::InDoubt => out.in_doubt += n,
            OutboxState::Rejected => out.failed += n,
            OutboxState::Confirmed | OutboxState::Dropped => {}
        }
    }
    Ok(out)
}

/// Creation time of the oldest item still waiting for the POS or an operator.
pub fn oldest_pending(c: &Connection) -> Result<Option<String>, StoreError> {
    Ok(c.prepare_cached(
        "SELECT MIN(created_at) FROM outbox WHERE state IN ('new', 'sending', 'held', 'in_doubt')",
    )?
    .query_row([], |r| r.get(0))?)
}

/// Start-up repair: an item left in `sending` was maybe sent. Idempotent kinds go back to
/// `new`; the others become `in_doubt`. Returns the changed items.
pub fn recover_sending(c: &Connection) -> Result<Vec<OutboxItem>, StoreError> {
    let mut out = Vec::new();
    for item in list(c, Some(OutboxState::Sending))? {
        let to = if item.kind.is_idempotent() {
            OutboxState::New
        } else {
            OutboxState::InDoubt
        };
        out.push(transition(
            c,
            item.id,
            to,
            Some("interrupted while sending"),
        )?);
    }
    Ok(out)
}

/// Claims up to `max` items for a drain that keeps several purchases in flight (the
/// forwarder's window), `new → sending` in id order, in the caller's transaction:
///
/// - a purchase is claimed unless a purchase of its sale is already busy (`busy_sales`, or
///   claimed earlier in this batch);
/// - any other kind (redemption, capture, cancel, refund, terminal item) is claimed only
///   alone, when nothing is busy (`alone`): it goes out on its own, so a card's
///   redemptions keep their order and a purchase still follows its sale's captures and
///   cancels, which are earlier in id order;
/// - the first item that may not be claimed ends the batch: nothing overtakes it.
///
/// With `max = 1` and `alone` this is [`claim_next`].
pub fn claim_window(
    c: &Connection,
    max: usize,
    busy_sales: &[String],
    alone: bool,
) -> Result<Vec<OutboxItem>, StoreError> {
    let mut out: Vec<OutboxItem> = Vec::new();
    if max == 0 {
        return Ok(out);
    }
    let limit = i64::try_from(max).unwrap_or(i64::MAX);
    let mut st = c.prepare_cached(&format!(
        "SELECT {COLS} FROM outbox WHERE state = 'new' ORDER BY id LIMIT ?1"
    ))?;
    let candidates: Vec<OutboxItem> = st.query_map([limit], from_row)?.collect::<Result<_, _>>()?;
    drop(st);
    let now = now_utc();
    for mut item in candidates {
        let claimable = if item.kind == OutboxKind::Purchase {
            let sale_busy = item.sale_id.as_ref().is_some_and(|s| {
                busy_sales.contains(s) || out.iter().any(|o| o.sale_id.as_ref() == Some(s))
            });
            !sale_busy
        } else {
            alone && out.is_empty()
        };
        if !claimable {
            break;
        }
        let n = c
            .prepare_cached(
                "UPDATE outbox SET state = 'sending', attempt = attempt + 1, sent_at = ?2, updated_at = ?2
                 WHERE id = ?1 AND state = 'new'",
            )?
            .execute(params![item.id, now])?;
        if n != 1 {
            break;
        }
        item.state = OutboxState::Sending;
        item.attempt += 1;
        item.sent_at = Some(now.clone());
        let barrier = item.kind != OutboxKind::Purchase;
        out.push(item);
        if barrier {
            break;
        }
    }
    Ok(out)
}

/// Records the outcome of a claimed item: `sending → to` (confirmed, rejected, in doubt, or
/// `new` when it was not sent), in the caller's transaction. Cheaper than [`transition`]
/// for the forwarder's hot path; refuses an item that is not `sending`.
pub fn finish(
    c: &Connection,
    id: i64,
    to: OutboxState,
    error: Option<&str>,
) -> Result<(), StoreError> {
    check(
        "outbox item",
        &id.to_string(),
        OutboxState::Sending,
        to,
        OutboxState::Sending.can_go(to),
    )?;
    let n = c
        .prepare_cached(
            "UPDATE outbox SET state = ?2, last_error = COALESCE(?3, last_error), updated_at = ?4
             WHERE id = ?1 AND state = 'sending'",
        )?
        .execute(params![id, to, error, now_utc()])?;
    if n != 1 {
        return Err(not_sending(c, id, to)?);
    }
    Ok(())
}

/// The refusal of a move out of `sending` for an item that is not in `sending`.
fn not_sending(c: &Connection, id: i64, to: OutboxState) -> Result<StoreError, StoreError> {
    Ok(StoreError::IllegalTransition {
        entity: "outbox item",
        id: id.to_string(),
        from: get(c, id)?.state.to_string(),
        to: to.to_string(),
    })
}

/// Gives back a claimed item whose request never left (the drain stopped or the agent is
/// stopping): `sending → new`, and the attempt it was counted is taken back.
pub fn unclaim(c: &Connection, id: i64) -> Result<(), StoreError> {
    let n = c.execute(
        "UPDATE outbox SET state = 'new', attempt = MAX(attempt - 1, 0), updated_at = ?2
         WHERE id = ?1 AND state = 'sending'",
        params![id, now_utc()],
    )?;
    if n != 1 {
        return Err(not_sending(c, id, OutboxState::New)?);
    }
    Ok(())
}
