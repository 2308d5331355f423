//! Payments (tenders): one row per attempt to take money, with its ids minted before I/O.

use rusqlite::{Connection, OptionalExtension, Row, params};
use serde::{Deserialize, Serialize};

use super::sales::{Inserted, journal_id, next_seq};
use super::states::{PaymentState, check};
use super::{Money, Secrets, StoreError, mask, now_utc};

pub use crate::domain::payment::{EntryMode, Method, TerminalMode, TerminalRef};

/// What the caller gives to start a payment.
/// `Debug` prints the code masked.
#[derive(Clone)]
pub struct NewPayment {
    /// Register-given id, or a generated one.
    pub payment_id: String,
    /// The sale.
    pub sale_id: String,
    /// Method.
    pub method: Method,
    /// Amount asked for by the register.
    pub requested_amount: Money,
    /// Amount this attempt asks the host for (may be less: partial approval).
    pub amount: Money,
    /// Gift-card code (sealed at rest, masked in plain columns). Never logged; wiped from memory when dropped.
    pub code: Option<zeroize::Zeroizing<String>>,
    /// How the code was read.
    pub entry_mode: Option<EntryMode>,
    /// For terminal payments.
    pub terminal_mode: Option<TerminalMode>,
    /// Whether a PIN came with the request (part of the idempotency fingerprint only).
    pub pin_given: bool,
    /// Card: the terminal's last trace number known before this payment is sent (recovery
    /// evidence, journaled with the intent).
    pub trace_before: Option<u32>,
}

impl std::fmt::Debug for NewPayment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewPayment")
            .field("payment_id", &self.payment_id)
            .field("sale_id", &self.sale_id)
            .field("method", &self.method)
            .field("requested_amount", &self.requested_amount)
            .field("amount", &self.amount)
            .field("code", &self.code.as_deref().map(|c| mask(c)))
            .field("entry_mode", &self.entry_mode)
            .field("terminal_mode", &self.terminal_mode)
            .field("pin_given", &self.pin_given)
            .field("trace_before", &self.trace_before)
            .finish()
    }
}

/// A stored payment.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaymentRecord {
    /// Id.
    pub payment_id: String,
    /// Sale.
    pub sale_id: String,
    /// POS `refNo` (gift cards) / terminal reference, minted at insert.
    pub ref_no: String,
    /// Method.
    pub method: Method,
    /// State.
    pub state: PaymentState,
    /// What the register asked for.
    pub requested_amount: Money,
    /// What was asked of the host / approved.
    pub amount: Money,
    /// Masked code.
    pub code_masked: Option<String>,
    /// Keyed hash of the code (balance cache key).
    pub code_hash: Option<String>,
    /// Whether a sealed code is still stored.
    pub has_sealed_code: bool,
    /// Entry mode.
    pub entry_mode: Option<EntryMode>,
    /// The POS gift-card transaction id of a hold.
    pub pos_trans_id: Option<String>,
    /// Card balance after the last answer.
    pub balance: Option<Money>,
    /// Terminal mode.
    pub terminal_mode: Option<TerminalMode>,
    /// Terminal facts.
    pub terminal: TerminalRef,
    /// Why it was declined / is in doubt.
    pub reason: Option<String>,
    /// Creation time (UTC).
    pub created_at: String,
    /// Card: the terminal's last trace number known before the latest command for this
    /// payment (payment, book total or reversal) was sent; recovery evidence.
    pub trace_before: Option<u32>,
}

/// Fields to change together with a state transition.
#[derive(Clone, Debug, Default)]
pub struct PaymentUpdate {
    /// New amount (approved / authorized).
    pub amount: Option<Money>,
    /// POS transaction id.
    pub pos_trans_id: Option<String>,
    /// Balance after.
    pub balance: Option<Money>,
    /// Terminal facts.
    pub terminal: Option<TerminalRef>,
    /// Reason.
    pub reason: Option<String>,
    /// Erase the sealed code.
    pub erase_code: bool,
}

const COLS: &str = "payment_id, sale_id, ref_no, method, state, requested_amount, amount, code_masked,
    code_hash, code_sealed IS NOT NULL, entry_mode, pos_trans_id, balance, terminal_mode, receipt_no,
    trace_no, masked_pan, card_name, reason, created_at, trace_before";

fn from_row(r: &Row<'_>) -> rusqlite::Result<PaymentRecord> {
    let bad = |i: usize, s: String| {
        rusqlite::Error::FromSqlConversionFailure(i, rusqlite::types::Type::Text, s.into())
    };
    let method: String = r.get(3)?;
    let entry: Option<String> = r.get(10)?;
    let tmode: Option<String> = r.get(13)?;
    Ok(PaymentRecord {
        payment_id: r.get(0)?,
        sale_id: r.get(1)?,
        ref_no: r.get(2)?,
        method: Method::parse(&method).ok_or_else(|| bad(3, method.clone()))?,
        state: r.get(4)?,
        requested_amount: r.get(5)?,
        amount: r.get(6)?,
        code_masked: r.get(7)?,
        code_hash: r.get(8)?,
        has_sealed_code: r.get(9)?,
        entry_mode: match entry {
            Some(e) => Some(EntryMode::parse(&e).ok_or_else(|| bad(10, e.clone()))?),
            None => None,
        },
        pos_trans_id: r.get(11)?,
        balance: r.get(12)?,
        terminal_mode: match tmode.as_deref() {
            Some(m) => Some(TerminalMode::parse(m).ok_or_else(|| bad(13, m.to_owned()))?),
            None => None,
        },
        terminal: TerminalRef {
            receipt_no: r.get(14)?,
            trace_no: r.get(15)?,
            masked_pan: r.get(16)?,
            card_name: r.get(17)?,
        },
        reason: r.get(18)?,
        created_at: r.get(19)?,
        trace_before: r.get(20)?,
    })
}

/// The idempotency fingerprint of a payment request (keyed: it covers the code).
pub fn fingerprint(secrets: &Secrets, new: &NewPayment) -> String {
    let code_hash = new
        .code
        .as_deref()
        .map(|c| secrets.keyed_hash(c))
        .unwrap_or_default();
    secrets.keyed_hash(&format!(
        "{}|{}|{}|{}|{:?}|{}",
        new.sale_id,
        new.method.as_str(),
        new.requested_amount,
        code_hash,
        new.terminal_mode,
        new.pin_given
    ))
}

/// Looks a payment id up: `Ok(None)` when unused, the first row when the body matches,
/// `Conflict` when it does not.
pub fn find_same(
    c: &Connection,
    secrets: &Secrets,
    new: &NewPayment,
) -> Result<Option<PaymentRecord>, StoreError> {
    let fp = fingerprint(secrets, new);
    let existing: Option<String> = c
        .prepare_cached("SELECT request_hash FROM payments WHERE payment_id = ?1")?
        .query_row([&new.payment_id], |r| r.get(0))
        .optional()?;
    match existing {
        None => Ok(None),
        Some(h) if h == fp => Ok(Some(get(c, &new.payment_id)?)),
        Some(_) => Err(StoreError::Conflict(format!("payment {}", new.payment_id))),
    }
}

/// [`find_same`] for a caller holding the sale's payments (read in this transaction): an id
/// not among them is not this sale's, and one of another sale is refused by the insert (the
/// id is the table's key, see [`insert_new`]), so only a retry asks the journal.
pub fn find_same_among(
    c: &Connection,
    secrets: &Secrets,
    new: &NewPayment,
    sale_payments: &[PaymentRecord],
) -> Result<Option<PaymentRecord>, StoreError> {
    if sale_payments.iter().any(|p| p.payment_id == new.payment_id) {
        find_same(c, secrets, new)
    } else {
        Ok(None)
    }
}

/// Inserts a payment in `authorizing`, minting its `refNo` (idempotent like sales).
pub fn insert(
    c: &Connection,
    secrets: &Secrets,
    store_code: &str,
    register_code: &str,
    new: &NewPayment,
) -> Result<Inserted<PaymentRecord>, StoreError> {
    if let Some(p) = find_same(c, secrets, new)? {
        return Ok(Inserted::Existing(p));
    }
    insert_new(c, secrets, store_code, register_code, new).map(Inserted::New)
}

/// [`insert`] for a caller that has just found no payment with this id on its sale
/// ([`find_same`], [`find_same_among`]) in the same transaction. An id already taken by
/// another sale's payment is a [`StoreError::Conflict`].
pub fn insert_new(
    c: &Connection,
    secrets: &Secrets,
    store_code: &str,
    register_code: &str,
    new: &NewPayment,
) -> Result<PaymentRecord, StoreError> {
    let ids = (store_code, register_code);
    insert_row(
        c,
        secrets,
        ids,
        new,
        PaymentState::Authorizing,
        new.amount,
        None,
    )
}

/// [`insert_new`] for a payment decided on the lane (cash, an offline decision) before its
/// row is written: it goes in as it ends, `authorizing` → `to` with `amount` and `reason`,
/// in one statement instead of an insert and a move. A refusal keeps no sealed code.
pub fn insert_settled(
    c: &Connection,
    secrets: &Secrets,
    lane: (&str, &str),
    new: &NewPayment,
    to: PaymentState,
    amount: Money,
    reason: Option<String>,
) -> Result<PaymentRecord, StoreError> {
    check(
        "payment",
        &new.payment_id,
        PaymentState::Authorizing,
        to,
        PaymentState::Authorizing.can_go(to),
    )?;
    insert_row(c, secrets, lane, new, to, amount, reason)
}

fn insert_row(
    c: &Connection,
    secrets: &Secrets,
    (store_code, register_code): (&str, &str),
    new: &NewPayment,
    state: PaymentState,
    amount: Money,
    reason: Option<String>,
) -> Result<PaymentRecord, StoreError> {
    let fp = fingerprint(secrets, new);
    let seq = next_seq(c, "journal")?;
    let ref_no = journal_id(store_code, register_code, seq);
    let (masked, hash, sealed) = match new.code.as_deref() {
        Some(code) => (
            Some(mask(code)),
            Some(secrets.keyed_hash(code)),
            (!erases_code(state))
                .then(|| secrets.seal(&new.payment_id, code))
                .transpose()?,
        ),
        None => (None, None, None),
    };
    let now = now_utc();
    // The row as written comes back with the insert (SQLite makes the change on the first
    // step of a RETURNING statement), not from a second read.
    c.prepare_cached(&format!("INSERT INTO payments(payment_id, sale_id, seq, ref_no, method, state, request_hash,
            requested_amount, amount, code_masked, code_hash, code_sealed, entry_mode, terminal_mode,
            created_at, updated_at, trace_before, reason)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?15, ?16, ?17)
         RETURNING {COLS}"))?.query_row(params![
            new.payment_id,
            new.sale_id,
            seq,
            ref_no,
            new.method.as_str(),
            state,
            fp,
            new.requested_amount,
            amount,
            masked,
            hash,
            sealed,
            new.entry_mode.map(EntryMode::as_str),
            new.terminal_mode.map(TerminalMode::as_str),
            now,
            new.trace_before,
            reason
        ],
        from_row,
    )
    .map_err(|e| {
        let key = e.sqlite_error().map(|f| f.extended_code);
        if key == Some(rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY) {
            StoreError::Conflict(format!("payment {}", new.payment_id))
        } else {
            e.into()
        }
    })
}

/// States that end a payment's need for its code: the sealed copy goes with the move.
fn erases_code(to: PaymentState) -> bool {
    matches!(
        to,
        PaymentState::Captured
            | PaymentState::Cancelled
            | PaymentState::Declined
            | PaymentState::InDoubt
    )
}

/// Reads a payment.
pub fn get(c: &Connection, payment_id: &str) -> Result<PaymentRecord, StoreError> {
    c.prepare_cached(&format!(
        "SELECT {COLS} FROM payments WHERE payment_id = ?1"
    ))?
    .query_row([payment_id], from_row)
    .optional()?
    .ok_or_else(|| StoreError::NotFound(format!("payment {payment_id}")))
}

/// A sale's payments in the order they were made.
pub fn for_sale(c: &Connection, sale_id: &str) -> Result<Vec<PaymentRecord>, StoreError> {
    let mut st = c.prepare_cached(&format!(
        "SELECT {COLS} FROM payments WHERE sale_id = ?1 ORDER BY seq"
    ))?;
    Ok(st
        .query_map([sale_id], from_row)?
        .collect::<Result<_, _>>()?)
}

/// Payments in a state, oldest first.
pub fn in_state(c: &Connection, state: PaymentState) -> Result<Vec<PaymentRecord>, StoreError> {
    let mut st = c.prepare_cached(&format!(
        "SELECT {COLS} FROM payments WHERE state = ?1 ORDER BY seq"
    ))?;
    Ok(st.query_map([state], from_row)?.collect::<Result<_, _>>()?)
}

/// Moves a payment to `to` with `upd`, enforcing the legal transitions. Reaching a final
/// state erases the sealed code.
pub fn transition(
    c: &Connection,
    payment_id: &str,
    to: PaymentState,
    upd: PaymentUpdate,
) -> Result<PaymentRecord, StoreError> {
    transition_from(c, get(c, payment_id)?, to, upd)
}

/// [`transition`] of a payment as just read (or written) in the same transaction.
pub fn transition_from(
    c: &Connection,
    cur: PaymentRecord,
    to: PaymentState,
    upd: PaymentUpdate,
) -> Result<PaymentRecord, StoreError> {
    let payment_id = cur.payment_id.as_str();
    check("payment", payment_id, cur.state, to, cur.state.can_go(to))?;
    let erase = upd.erase_code || erases_code(to);
    let t = upd.terminal.unwrap_or(cur.terminal);
    Ok(c.prepare_cached(&format!("UPDATE payments SET state = ?2, amount = ?3, pos_trans_id = ?4, balance = ?5, receipt_no = ?6,
            trace_no = ?7, masked_pan = ?8, card_name = ?9, reason = ?10,
            code_sealed = CASE WHEN ?11 THEN NULL ELSE code_sealed END, updated_at = ?12
         WHERE payment_id = ?1 RETURNING {COLS}"))?.query_row(params![
            payment_id,
            to,
            upd.amount.unwrap_or(cur.amount),
            upd.pos_trans_id.or(cur.pos_trans_id),
            upd.balance.or(cur.balance),
            t.receipt_no,
            t.trace_no,
            t.masked_pan,
            t.card_name,
            upd.reason.or(cur.reason.clone()),
            erase,
            now_utc()
        ],
        from_row,
    )?)
}

/// Journals the terminal's last known trace number before a follow-up command (book total,
/// reversal) for this payment is sent, so a lost answer can be matched after a restart.
pub fn set_trace_before(
    c: &Connection,
    payment_id: &str,
    trace_before: Option<u32>,
) -> Result<(), StoreError> {
    c.prepare_cached(
        "UPDATE payments SET trace_before = ?2, updated_at = ?3 WHERE payment_id = ?1",
    )?
    .execute(params![payment_id, trace_before, now_utc()])?;
    Ok(())
}

/// The highest trace number journaled for a card payment (the terminal's last known
/// transaction when the terminal client has not seen one since start).
pub fn last_trace(c: &Connection) -> Result<Option<u32>, StoreError> {
    Ok(c.prepare_cached(
        "SELECT trace_no FROM payments WHERE method = 'card' AND trace_no IS NOT NULL
         ORDER BY updated_at DESC, seq DESC LIMIT 1",
    )?
    .query_row([], |r| r.get(0))
    .optional()?)
}

/// Whether a terminal receipt number is already journaled for another card payment.
pub fn receipt_used_by_other(
    c: &Connection,
    receipt_no: u32,
    payment_id: &str,
) -> Result<bool, StoreError> {
    let n: i64 = c.prepare_cached("SELECT COUNT(*) FROM payments WHERE method = 'card' AND receipt_no = ?1 AND payment_id <> ?2")?.query_row(params![receipt_no, payment_id],
        |r| r.get(0),
    )?;
    Ok(n > 0)
}

/// Journals the continuation token of a POS-driven terminal payment as it arrives (the
/// resume point after a restart).
pub fn set_continuation(
    c: &Connection,
    payment_id: &str,
    token: Option<&str>,
) -> Result<(), StoreError> {
    c.prepare_cached(
        "UPDATE payments SET continuation = ?2, updated_at = ?3 WHERE payment_id = ?1",
    )?
    .execute(params![payment_id, token, now_utc()])?;
    Ok(())
}

/// The journaled continuation token of a POS-driven terminal payment, if any.
pub fn continuation(c: &Connection, payment_id: &str) -> Result<Option<String>, StoreError> {
    Ok(
        c.prepare_cached("SELECT continuation FROM payments WHERE payment_id = ?1")?
            .query_row([payment_id], |r| r.get::<_, Option<String>>(0))
            .optional()?
            .flatten(),
    )
}

/// Counts payments in a state.
pub fn count_in_state(c: &Connection, state: PaymentState) -> Result<u64, StoreError> {
    let n: i64 = c
        .prepare_cached("SELECT COUNT(*) FROM payments WHERE state = ?1")?
        .query_row([state], |r| r.get(0))?;
    Ok(n as u64)
}

/// Opens the sealed code of a payment (offline forward, re-authorization).
pub fn sealed_code(
    c: &Connection,
    secrets: &Secrets,
    payment_id: &str,
) -> Result<Option<zeroize::Zeroizing<String>>, StoreError> {
    let sealed: Option<Vec<u8>> = c
        .prepare_cached("SELECT code_sealed FROM payments WHERE payment_id = ?1")?
        .query_row([payment_id], |r| r.get(0))
        .optional()?
        .flatten();
    sealed.map(|s| secrets.open(payment_id, &s)).transpose()
}
