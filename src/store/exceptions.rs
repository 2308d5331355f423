//! Gift-card balance cache, offline budget and the exception list.

use rusqlite::{Connection, OptionalExtension, params};
use serde::{Deserialize, Serialize};

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

/// The open offline items (redemptions and refunds not yet confirmed or dropped), word for
/// word the condition of the partial index `outbox_offline_open`: SQLite uses a partial
/// index only for a query that repeats its condition, so the values are literals here (and
/// the query names the index: a condition that stopped matching fails to prepare instead of
/// quietly scanning the outbox).
/// Offline gift-card refunds (ADDs) share the caps with offline redemptions.
pub(crate) const OPEN_OFFLINE: &str = "kind IN ('giftcard_redeem', 'giftcard_refund') \
     AND state IN ('new', 'sending', 'held', 'in_doubt')";

/// Usage across the lane.
pub fn offline_usage(c: &Connection) -> Result<OfflineUsage, StoreError> {
    Ok(open_offline(c, None)?.0)
}

/// [`offline_usage`] and [`offline_taken_for_card`] for `code_hash` in one statement: what
/// every offline decision reads.
pub fn offline_usage_and_taken(
    c: &Connection,
    code_hash: &str,
) -> Result<(OfflineUsage, Money), StoreError> {
    open_offline(c, Some(code_hash))
}

/// What this lane took offline from one card and has not yet forwarded.
pub fn offline_taken_for_card(c: &Connection, code_hash: &str) -> Result<Money, StoreError> {
    Ok(open_offline(c, Some(code_hash))?.1)
}

/// The open offline items, and what of them one card's redemptions took. SQLite walks
/// `outbox_offline_open`, which holds only these items with their amount and age, and hands
/// back one row: the amounts come as text, summed exactly here (SQLite's sum would be
/// floating point).
fn open_offline(
    c: &Connection,
    code_hash: Option<&str>,
) -> Result<(OfflineUsage, Money), StoreError> {
    let mut st = c.prepare_cached(&open_offline_sql())?;
    let (count, oldest, all, card) = st.query_row([code_hash], |r| {
        Ok((
            r.get::<_, i64>(0)?,
            r.get::<_, Option<String>>(1)?,
            r.get::<_, Option<String>>(2)?,
            r.get::<_, Option<String>>(3)?,
        ))
    })?;
    let usage = OfflineUsage {
        count: u64::try_from(count).unwrap_or_default(),
        total: sum_amounts(all.as_deref())?,
        oldest,
    };
    Ok((usage, sum_amounts(card.as_deref())?))
}

fn open_offline_sql() -> String {
    format!(
        "SELECT COUNT(*), MIN(created_at), group_concat(amount, ' '),
                group_concat(CASE WHEN kind = 'giftcard_redeem' AND code_hash = ?1
                                  THEN amount END, ' ')
         FROM outbox INDEXED BY outbox_offline_open WHERE {OPEN_OFFLINE}"
    )
}

/// The sum of amounts listed by `group_concat(amount, ' ')`.
fn sum_amounts(list: Option<&str>) -> Result<Money, StoreError> {
    let mut total = Money::ZERO;
    for a in list.unwrap_or_default().split_ascii_whitespace() {
        total += a
            .parse::<Money>()
            .map_err(|e| StoreError::Corrupt(format!("outbox amount {a:?}: {e}")))?;
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::outbox::{self, NewItem};
    use crate::store::states::{OutboxKind, OutboxState};
    use crate::store::{Db, StoreOptions};

    #[test]
    fn the_open_offline_condition_is_the_enums_open_states_and_offline_kinds() {
        let [s1, s2, s3, s4] = [
            OutboxState::New,
            OutboxState::Sending,
            OutboxState::Held,
            OutboxState::InDoubt,
        ]
        .map(|s| s.as_str());
        let (k1, k2) = (
            OutboxKind::GiftcardRedeem.as_str(),
            OutboxKind::GiftcardRefund.as_str(),
        );
        let want =
            format!("kind IN ('{k1}', '{k2}') AND state IN ('{s1}', '{s2}', '{s3}', '{s4}')");
        let squeezed: Vec<&str> = OPEN_OFFLINE.split_whitespace().collect();
        assert_eq!(squeezed.join(" "), want);
    }

    fn item(c: &Connection, kind: OutboxKind, card: &str, amount: &str) -> i64 {
        outbox::enqueue(
            c,
            &NewItem {
                kind,
                sale_id: None,
                payment_id: None,
                amount: Some(amount.parse().unwrap()),
                code_hash: Some(card.into()),
                payload: "{}".into(),
            },
        )
        .unwrap()
    }

    #[test]
    fn offline_usage_counts_the_open_offline_items_from_their_index() {
        let dir = tempfile::tempdir().unwrap();
        let mut db = Db::open(&StoreOptions::new(dir.path().join("agent.db"))).unwrap();
        db.write(|c, _| {
            item(c, OutboxKind::GiftcardRedeem, "A", "10.00");
            item(c, OutboxKind::GiftcardRedeem, "B", "2.50");
            item(c, OutboxKind::GiftcardRefund, "A", "1.25");
            item(c, OutboxKind::Purchase, "A", "99.00");
            let sent = item(c, OutboxKind::GiftcardRedeem, "A", "7.00");
            outbox::transition(c, sent, OutboxState::Sending, None)?;
            outbox::transition(c, sent, OutboxState::Confirmed, None)?;
            let held = item(c, OutboxKind::GiftcardRedeem, "A", "0.10");
            outbox::transition(c, held, OutboxState::Held, None)?;
            Ok(())
        })
        .unwrap();
        let (usage, taken) = db.read(|c, _| offline_usage_and_taken(c, "A")).unwrap();
        assert_eq!((usage.count, usage.total.to_string()), (4, "13.85".into()));
        assert!(usage.oldest.is_some());
        // The card's redemptions only: its refund gives back, it takes nothing.
        assert_eq!(taken.to_string(), "10.10");
        let none = db.read(|c, _| offline_taken_for_card(c, "C")).unwrap();
        assert_eq!(none, Money::ZERO);

        let plan: Vec<String> = db
            .read(|c, _| {
                let mut st = c.prepare(&format!("EXPLAIN QUERY PLAN {}", open_offline_sql()))?;
                let rows = st.query_map(["A"], |r| r.get::<_, String>(3))?;
                Ok(rows.collect::<Result<_, _>>()?)
            })
            .unwrap();
        assert!(
            plan.iter()
                .any(|p| p.contains("COVERING INDEX outbox_offline_open")),
            "{plan:?}"
        );
    }
}
