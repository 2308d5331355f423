//! Gift-card balance cache, offline budget and the exception list.

use rusqlite::{Connection, OptionalExtension, params};
use serde::{Deserialize, Serialize};

use super::states::{OutboxKind, OutboxState};
use super::{Money, StoreError, now_utc};

/// Records the last balance the POS reported for a card.
pub fn cache_balance(
    c: &Connection,
    code_hash: &str,
    code_masked: &str,
    balance: Money,
) -> Result<(), StoreError> {
    c.prepare_cached("INSERT INTO giftcard_cache(code_hash, code_masked, balance, updated_at) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT(code_hash) DO UPDATE SET balance = excluded.balance, updated_at = excluded.updated_at")?.execute(params![code_hash, code_masked, balance, now_utc()],
    )?;
    Ok(())
}

/// The last known balance of a card and when it was seen.
pub fn cached_balance(
    c: &Connection,
    code_hash: &str,
) -> Result<Option<(Money, String)>, StoreError> {
    Ok(
        c.prepare_cached("SELECT balance, updated_at FROM giftcard_cache WHERE code_hash = ?1")?
            .query_row([code_hash], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()?,
    )
}

/// What offline acceptance has used and not yet forwarded.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OfflineUsage {
    /// Number of offline redemptions not yet confirmed or dropped.
    pub count: u64,
    /// Their total amount.
    pub total: Money,
    /// Creation time of the oldest (UTC, RFC 3339).
    pub oldest: Option<String>,
}

fn open_states() -> [OutboxState; 4] {
    [
        OutboxState::New,
        OutboxState::Sending,
        OutboxState::Held,
        OutboxState::InDoubt,
    ]
}

/// Usage across the lane. One statement for all open states: this runs in every offline
/// approval's commit.
pub fn offline_usage(c: &Connection) -> Result<OfflineUsage, StoreError> {
    let mut st = c.prepare_cached(
        "SELECT amount, created_at FROM outbox
         WHERE kind IN (?1, ?2) AND state IN (?3, ?4, ?5, ?6)",
    )?;
    let [s1, s2, s3, s4] = open_states();
    let mut u = OfflineUsage::default();
    // Offline gift-card refunds (ADDs) share the caps with offline redemptions.
    let kinds = (OutboxKind::GiftcardRedeem, OutboxKind::GiftcardRefund);
    for r in st.query_map(params![kinds.0, kinds.1, s1, s2, s3, s4], |r| {
        Ok((r.get::<_, Money>(0)?, r.get::<_, String>(1)?))
    })? {
        let (a, at) = r?;
        u.count += 1;
        u.total += a;
        if u.oldest.as_ref().is_none_or(|o| at < *o) {
            u.oldest = Some(at);
        }
    }
    Ok(u)
}

/// [`offline_usage`] and [`offline_taken_for_card`] for `code_hash` in one pass over the
/// open items: what an offline decision reads.
pub fn offline_usage_and_taken(
    c: &Connection,
    code_hash: &str,
) -> Result<(OfflineUsage, Money), StoreError> {
    let mut st = c.prepare_cached(
        "SELECT kind, code_hash, amount, created_at FROM outbox
         WHERE kind IN (?1, ?2) AND state IN (?3, ?4, ?5, ?6)",
    )?;
    let [s1, s2, s3, s4] = open_states();
    let (redeem, refund) = (OutboxKind::GiftcardRedeem, OutboxKind::GiftcardRefund);
    let mut u = OfflineUsage::default();
    let mut taken = Money::ZERO;
    let mut rows = st.query(params![redeem, refund, s1, s2, s3, s4])?;
    while let Some(r) = rows.next()? {
        let amount: Money = r.get(2)?;
        u.count += 1;
        u.total += amount;
        let at = r.get_ref(3)?.as_str().map_err(rusqlite::Error::from)?;
        if u.oldest.as_deref().is_none_or(|o| at < o) {
            u.oldest = Some(at.to_owned());
        }
        let card = r
            .get_ref(1)?
            .as_str_or_null()
            .map_err(rusqlite::Error::from)?;
        if r.get::<_, OutboxKind>(0)? == redeem && card == Some(code_hash) {
            taken += amount;
        }
    }
    Ok((u, taken))
}

/// What this lane took offline from one card and has not yet forwarded.
pub fn offline_taken_for_card(c: &Connection, code_hash: &str) -> Result<Money, StoreError> {
    let mut st = c.prepare_cached(
        "SELECT amount FROM outbox
         WHERE kind = ?1 AND code_hash = ?2 AND state IN (?3, ?4, ?5, ?6)",
    )?;
    let [s1, s2, s3, s4] = open_states();
    let mut total = Money::ZERO;
    for a in st.query_map(
        params![OutboxKind::GiftcardRedeem, code_hash, s1, s2, s3, s4],
        |r| r.get::<_, Money>(0),
    )? {
        total += a?;
    }
    Ok(total)
}

pub use crate::domain::exception::ExceptionRecord;

/// A new exception.
#[derive(Clone, Debug, Default)]
pub struct NewException {
    /// Kind.
    pub kind: String,
    /// Sale.
    pub sale_id: Option<String>,
    /// Payment.
    pub payment_id: Option<String>,
    /// Outbox item.
    pub outbox_id: Option<i64>,
    /// Amount.
    pub amount: Option<Money>,
    /// Masked code.
    pub code_masked: Option<String>,
    /// Reason.
    pub reason: String,
}

/// Records an exception.
pub fn raise(c: &Connection, e: &NewException) -> Result<i64, StoreError> {
    c.prepare_cached("INSERT INTO exceptions(kind, sale_id, payment_id, outbox_id, amount, code_masked, reason, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)")?.execute(params![
            e.kind,
            e.sale_id,
            e.payment_id,
            e.outbox_id,
            e.amount,
            e.code_masked,
            e.reason,
            now_utc()
        ],
    )?;
    Ok(c.last_insert_rowid())
}

const COLS: &str =
    "id, kind, sale_id, payment_id, outbox_id, amount, code_masked, reason, created_at,
    acknowledged_at, note, resolution";

fn from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<ExceptionRecord> {
    Ok(ExceptionRecord {
        id: r.get(0)?,
        kind: r.get(1)?,
        sale_id: r.get(2)?,
        payment_id: r.get(3)?,
        outbox_id: r.get(4)?,
        amount: r.get(5)?,
        code_masked: r.get(6)?,
        reason: r.get(7)?,
        created_at: r.get(8)?,
        acknowledged_at: r.get(9)?,
        note: r.get(10)?,
        resolution: r.get(11)?,
    })
}

/// Exceptions, optionally only the unacknowledged ones.
pub fn list(c: &Connection, open_only: bool) -> Result<Vec<ExceptionRecord>, StoreError> {
    let filter = if open_only {
        "WHERE acknowledged_at IS NULL"
    } else {
        ""
    };
    let mut st = c.prepare_cached(&format!(
        "SELECT {COLS} FROM exceptions {filter} ORDER BY id"
    ))?;
    Ok(st.query_map([], from_row)?.collect::<Result<_, _>>()?)
}

/// Counts the unacknowledged exceptions.
pub fn count_open(c: &Connection) -> Result<u64, StoreError> {
    let n: i64 = c
        .prepare_cached("SELECT COUNT(*) FROM exceptions WHERE acknowledged_at IS NULL")?
        .query_row([], |r| r.get(0))?;
    Ok(n as u64)
}

/// One exception.
pub fn get(c: &Connection, id: i64) -> Result<ExceptionRecord, StoreError> {
    c.prepare_cached(&format!("SELECT {COLS} FROM exceptions WHERE id = ?1"))?
        .query_row([id], from_row)
        .optional()?
        .ok_or_else(|| StoreError::NotFound(format!("exception {id}")))
}

/// The open exceptions of one kind for a payment.
pub fn open_for_payment(
    c: &Connection,
    payment_id: &str,
    kind: &str,
) -> Result<Vec<ExceptionRecord>, StoreError> {
    let mut st = c.prepare_cached(&format!(
        "SELECT {COLS} FROM exceptions
         WHERE payment_id = ?1 AND kind = ?2 AND acknowledged_at IS NULL ORDER BY id"
    ))?;
    Ok(st
        .query_map(params![payment_id, kind], from_row)?
        .collect::<Result<_, _>>()?)
}

/// Acknowledges an exception with an optional note and resolution; acknowledging twice is
/// an error.
pub fn acknowledge(
    c: &Connection,
    id: i64,
    note: Option<&str>,
    resolution: Option<&str>,
) -> Result<ExceptionRecord, StoreError> {
    let n = c
        .prepare_cached(
            "UPDATE exceptions SET acknowledged_at = ?2, note = ?3, resolution = ?4
         WHERE id = ?1 AND acknowledged_at IS NULL",
        )?
        .execute(params![id, now_utc(), note, resolution])?;
    if n == 0 {
        return Err(StoreError::NotFound(format!("open exception {id}")));
    }
    get(c, id)
}
