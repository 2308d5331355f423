//! Refunds: money paid back on a sale (issue 12). One row per `refund_id`, its `refNo` minted
//! and its intent committed before anything leaves the lane; the same id with the same body
//! reads the row back (the first answer), another body is a conflict.
//!
//! States: `running` (journaled, outcome not yet known) → `approved` | `declined` |
//! `in_doubt` (a gift-card ADD whose answer was lost) | `queued` (a gift-card ADD waiting in
//! the offline outbox) → `approved` once forwarded (or `forward_declined`). At cancel an
//! approved refund goes `reversing` (its reversal `refNo` journaled first) → `reversed`, or
//! stays `reversal_failed` with an exception.

use rusqlite::{Connection, OptionalExtension, Row, params};

use super::sales::{journal_id, next_seq};
use super::{Money, Secrets, StoreError, mask, now_utc};
use crate::domain::payment::Method;

/// Where a refund stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RefundState {
    /// Journaled; the request may have left.
    Running,
    /// Paid back.
    Approved,
    /// Refused; nothing paid back.
    Declined,
    /// The ADD's answer was lost: the card may or may not hold the money (exception open).
    InDoubt,
    /// A gift-card ADD waiting in the offline outbox.
    Queued,
    /// Queued offline, then refused by the POS when forwarded (exception open).
    ForwardDeclined,
    /// Being taken back at cancel; the reversal's `refNo` is journaled.
    Reversing,
    /// Taken back at cancel.
    Reversed,
    /// The take-back failed or its outcome is unknown (exception open).
    ReversalFailed,
}

impl RefundState {
    /// The stored spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            RefundState::Running => "running",
            RefundState::Approved => "approved",
            RefundState::Declined => "declined",
            RefundState::InDoubt => "in_doubt",
            RefundState::Queued => "queued",
            RefundState::ForwardDeclined => "forward_declined",
            RefundState::Reversing => "reversing",
            RefundState::Reversed => "reversed",
            RefundState::ReversalFailed => "reversal_failed",
        }
    }

    /// Parses the stored spelling.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "running" => RefundState::Running,
            "approved" => RefundState::Approved,
            "declined" => RefundState::Declined,
            "in_doubt" => RefundState::InDoubt,
            "queued" => RefundState::Queued,
            "forward_declined" => RefundState::ForwardDeclined,
            "reversing" => RefundState::Reversing,
            "reversed" => RefundState::Reversed,
            "reversal_failed" => RefundState::ReversalFailed,
            _ => return None,
        })
    }

    /// Whether the money counts as given back. An ADD in doubt or declined after forwarding
    /// counts too: the customer left believing it was paid, and paying again could pay twice
    /// (the exception tells the operator to check the card's history).
    pub fn counts_as_refunded(self) -> bool {
        !matches!(
            self,
            RefundState::Declined | RefundState::Reversed | RefundState::Running
        )
    }
}

/// What the caller journals before a refund leaves. `Debug` masks the code.
#[derive(Clone)]
pub struct NewRefund {
    /// Register-given id (or generated).
    pub refund_id: String,
    /// The sale.
    pub sale_id: String,
    /// How the money goes back.
    pub method: Method,
    /// Amount (positive).
    pub amount: Money,
    /// Gift-card code (sealed at rest only while it may still be needed; wiped
    /// from memory when dropped).
    pub code: Option<zeroize::Zeroizing<String>>,
}

impl std::fmt::Debug for NewRefund {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewRefund")
            .field("refund_id", &self.refund_id)
            .field("sale_id", &self.sale_id)
            .field("method", &self.method)
            .field("amount", &self.amount)
            .field("code", &self.code.as_deref().map(|c| mask(c)))
            .finish()
    }
}

/// A stored refund.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RefundRecord {
    /// Id.
    pub refund_id: String,
    /// Sale.
    pub sale_id: String,
    /// `refNo` of the ADD (or the lane's reference for cash).
    pub ref_no: String,
    /// Method.
    pub method: Method,
    /// State.
    pub state: RefundState,
    /// Amount.
    pub amount: Money,
    /// Masked code.
    pub code_masked: Option<String>,
    /// Keyed hash of the code (original-sale limits, balance cache).
    pub code_hash: Option<String>,
    /// Whether a sealed code is still stored.
    pub has_sealed_code: bool,
    /// Card balance after the ADD, when reported.
    pub balance: Option<Money>,
    /// Why declined / in doubt.
    pub reason: Option<String>,
    /// `refNo` of the reversal at cancel, once journaled.
    pub reversal_ref_no: Option<String>,
    /// Creation time (UTC).
    pub created_at: String,
}

/// Fields changed with a state.
#[derive(Clone, Debug, Default)]
pub struct RefundUpdate {
    /// Balance after.
    pub balance: Option<Money>,
    /// Reason.
    pub reason: Option<String>,
    /// Keep the sealed code (a queued ADD still needs it); erased otherwise.
    pub keep_code: bool,
}

/// The outcome of [`claim`].
#[derive(Clone, Debug)]
pub enum Claim {
    /// First time: the caller runs it.
    New(RefundRecord),
    /// Seen before with the same body.
    Existing(RefundRecord),
}

const COLS: &str = "refund_id, sale_id, ref_no, method, state, amount, code_masked, code_hash,
    code_sealed IS NOT NULL, balance, reason, reversal_ref_no, created_at";

fn from_row(r: &Row<'_>) -> rusqlite::Result<RefundRecord> {
    let bad = |i: usize, s: String| {
        rusqlite::Error::FromSqlConversionFailure(i, rusqlite::types::Type::Text, s.into())
    };
    let method: String = r.get(3)?;
    let state: String = r.get(4)?;
    Ok(RefundRecord {
        refund_id: r.get(0)?,
        sale_id: r.get(1)?,
        ref_no: r.get(2)?,
        method: Method::parse(&method).ok_or_else(|| bad(3, method.clone()))?,
        state: RefundState::parse(&state).ok_or_else(|| bad(4, state.clone()))?,
        amount: r.get(5)?,
        code_masked: r.get(6)?,
        code_hash: r.get(7)?,
        has_sealed_code: r.get(8)?,
        balance: r.get(9)?,
        reason: r.get(10)?,
        reversal_ref_no: r.get(11)?,
        created_at: r.get(12)?,
    })
}

fn fingerprint(secrets: &Secrets, new: &NewRefund) -> String {
    let code_hash = new
        .code
        .as_deref()
        .map(|c| secrets.keyed_hash(c))
        .unwrap_or_default();
    secrets.keyed_hash(&format!(
        "refund|{}|{}|{}|{}",
        new.sale_id,
        new.method.as_str(),
        new.amount,
        code_hash
    ))
}

fn seal_context(refund_id: &str) -> String {
    format!("refund:{refund_id}")
}

/// Reads a refund if it exists.
pub fn find(c: &Connection, refund_id: &str) -> Result<Option<RefundRecord>, StoreError> {
    Ok(
        c.prepare_cached(&format!("SELECT {COLS} FROM refunds WHERE refund_id = ?1"))?
            .query_row([refund_id], from_row)
            .optional()?,
    )
}

/// Reads a refund.
pub fn get(c: &Connection, refund_id: &str) -> Result<RefundRecord, StoreError> {
    find(c, refund_id)?.ok_or_else(|| StoreError::NotFound(format!("refund {refund_id}")))
}

/// The first refund with this id and body, `None` when the id is unused, `Conflict` when it
/// was used with another body.
pub fn find_same(
    c: &Connection,
    secrets: &Secrets,
    new: &NewRefund,
) -> Result<Option<RefundRecord>, StoreError> {
    let existing: Option<String> = c
        .prepare_cached("SELECT request_hash FROM refunds WHERE refund_id = ?1")?
        .query_row([&new.refund_id], |r| r.get(0))
        .optional()?;
    match existing {
        None => Ok(None),
        Some(h) if h == fingerprint(secrets, new) => Ok(Some(get(c, &new.refund_id)?)),
        Some(_) => Err(StoreError::Conflict(format!("refund {}", new.refund_id))),
    }
}

/// Journals a refund in `running` (minting its `refNo`) before it leaves, or returns the
/// first one with the same id and body.
pub fn claim(
    c: &Connection,
    secrets: &Secrets,
    store_code: &str,
    register_code: &str,
    new: &NewRefund,
) -> Result<Claim, StoreError> {
    if let Some(r) = find_same(c, secrets, new)? {
        return Ok(Claim::Existing(r));
    }
    let seq = next_seq(c, "journal")?;
    let ref_no = journal_id(store_code, register_code, seq);
    let (masked, hash, sealed) = match new.code.as_deref() {
        Some(code) => (
            Some(mask(code)),
            Some(secrets.keyed_hash(code)),
            Some(secrets.seal(&seal_context(&new.refund_id), code)?),
        ),
        None => (None, None, None),
    };
    let now = now_utc();
    c.prepare_cached(
        "INSERT INTO refunds(refund_id, sale_id, seq, ref_no, method, state, request_hash, amount,
            code_masked, code_hash, code_sealed, created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?12)",
    )?
    .execute(params![
        new.refund_id,
        new.sale_id,
        seq,
        ref_no,
        new.method.as_str(),
        RefundState::Running.as_str(),
        fingerprint(secrets, new),
        new.amount,
        masked,
        hash,
        sealed,
        now
    ])?;
    Ok(Claim::New(get(c, &new.refund_id)?))
}

fn legal(from: RefundState, to: RefundState) -> bool {
    use RefundState::*;
    matches!(
        (from, to),
        (Running, Approved | Declined | InDoubt | Queued)
            | (Queued, Approved | ForwardDeclined | InDoubt | Reversed)
            | (Approved, Reversing | Reversed | ReversalFailed)
            | (Reversing, Reversed | ReversalFailed | Approved)
            // An operator's resend of a forwarded ADD in doubt settles it.
            | (InDoubt, Approved | ForwardDeclined)
    )
}

/// Moves a refund to `to`, enforcing the legal transitions; the sealed code is erased unless
/// `upd.keep_code`.
pub fn transition(
    c: &Connection,
    refund_id: &str,
    to: RefundState,
    upd: RefundUpdate,
) -> Result<RefundRecord, StoreError> {
    let cur = get(c, refund_id)?;
    if !legal(cur.state, to) {
        return Err(StoreError::IllegalTransition {
            entity: "refund",
            id: refund_id.to_owned(),
            from: cur.state.as_str().into(),
            to: to.as_str().into(),
        });
    }
    c.prepare_cached(
        "UPDATE refunds SET state = ?2, balance = ?3, reason = ?4,
            code_sealed = CASE WHEN ?5 THEN code_sealed ELSE NULL END, updated_at = ?6
         WHERE refund_id = ?1",
    )?
    .execute(params![
        refund_id,
        to.as_str(),
        upd.balance.or(cur.balance),
        upd.reason.or(cur.reason),
        upd.keep_code,
        now_utc()
    ])?;
    get(c, refund_id)
}

/// Journals the reversal's `refNo` and moves an approved refund to `reversing` (before the
/// reversal leaves).
pub fn begin_reversal(
    c: &Connection,
    store_code: &str,
    register_code: &str,
    refund_id: &str,
) -> Result<RefundRecord, StoreError> {
    let cur = get(c, refund_id)?;
    if cur.reversal_ref_no.is_none() {
        let seq = next_seq(c, "journal")?;
        c.prepare_cached("UPDATE refunds SET reversal_ref_no = ?2 WHERE refund_id = ?1")?
            .execute(params![
                refund_id,
                journal_id(store_code, register_code, seq)
            ])?;
    }
    // The take-back USE still needs the card's code.
    transition(
        c,
        refund_id,
        RefundState::Reversing,
        RefundUpdate {
            keep_code: true,
            ..Default::default()
        },
    )
}

/// A sale's refunds in the order they were made.
pub fn for_sale(c: &Connection, sale_id: &str) -> Result<Vec<RefundRecord>, StoreError> {
    let mut st = c.prepare_cached(&format!(
        "SELECT {COLS} FROM refunds WHERE sale_id = ?1 ORDER BY seq"
    ))?;
    Ok(st
        .query_map([sale_id], from_row)?
        .collect::<Result<_, _>>()?)
}

/// Refunds in a state, oldest first.
pub fn in_state(c: &Connection, state: RefundState) -> Result<Vec<RefundRecord>, StoreError> {
    let mut st = c.prepare_cached(&format!(
        "SELECT {COLS} FROM refunds WHERE state = ?1 ORDER BY seq"
    ))?;
    Ok(st
        .query_map([state.as_str()], from_row)?
        .collect::<Result<_, _>>()?)
}

/// What a sale has given back so far, and by which methods (in order, each once).
pub fn refunded_total(c: &Connection, sale_id: &str) -> Result<(Money, Vec<Method>), StoreError> {
    let mut total = Money::ZERO;
    let mut methods = Vec::new();
    for r in for_sale(c, sale_id)?
        .iter()
        .filter(|r| r.state.counts_as_refunded())
    {
        total += r.amount;
        if !methods.contains(&r.method) {
            methods.push(r.method);
        }
    }
    Ok((total, methods))
}

/// What sales naming `original_sale_id` have already given back by `method` (and, for gift
/// cards, to the card with `code_hash`), except `except_refund`.
pub fn refunded_against(
    c: &Connection,
    original_sale_id: &str,
    method: Method,
    code_hash: Option<&str>,
    except_refund: &str,
) -> Result<Money, StoreError> {
    let mut st = c.prepare_cached(&format!(
        "SELECT {COLS} FROM refunds WHERE sale_id IN
            (SELECT sale_id FROM sales WHERE original_sale_id = ?1) ORDER BY seq"
    ))?;
    let rows: Vec<RefundRecord> = st
        .query_map([original_sale_id], from_row)?
        .collect::<Result<_, _>>()?;
    Ok(rows
        .iter()
        .filter(|r| {
            r.refund_id != except_refund
                && r.method == method
                && r.state.counts_as_refunded()
                && (code_hash.is_none() || r.code_hash.as_deref() == code_hash)
        })
        .map(|r| r.amount)
        .sum())
}

/// Opens the sealed code of a queued gift-card refund.
pub fn sealed_code(
    c: &Connection,
    secrets: &Secrets,
    refund_id: &str,
) -> Result<Option<zeroize::Zeroizing<String>>, StoreError> {
    let sealed: Option<Vec<u8>> = c
        .prepare_cached("SELECT code_sealed FROM refunds WHERE refund_id = ?1")?
        .query_row([refund_id], |r| r.get(0))
        .optional()?
        .flatten();
    sealed
        .map(|s| secrets.open(&seal_context(refund_id), &s))
        .transpose()
}

/// Removes a running refund that moved nothing (not sent), so that a retry may run again.
pub fn forget(c: &Connection, refund_id: &str) -> Result<(), StoreError> {
    c.prepare_cached("DELETE FROM refunds WHERE refund_id = ?1 AND state = 'running'")?
        .execute([refund_id])?;
    Ok(())
}

/// Erases the sealed codes of a sale's refunds at completion (nothing will take them back),
/// except an ADD still to be forwarded or that an operator may resend.
pub fn erase_codes(c: &Connection, sale_id: &str) -> Result<(), StoreError> {
    c.prepare_cached(
        "UPDATE refunds SET code_sealed = NULL WHERE sale_id = ?1
         AND state NOT IN ('queued', 'in_doubt')",
    )?
    .execute([sale_id])?;
    Ok(())
}

/// Records the sale a return names (in the transaction that opens it). The same sale opened
/// again must name the same original.
pub fn set_original(
    c: &Connection,
    sale_id: &str,
    original_sale_id: Option<&str>,
    is_new: bool,
) -> Result<(), StoreError> {
    if is_new {
        c.prepare_cached("UPDATE sales SET original_sale_id = ?2 WHERE sale_id = ?1")?
            .execute(params![sale_id, original_sale_id])?;
        return Ok(());
    }
    let stored: Option<String> = c
        .prepare_cached("SELECT original_sale_id FROM sales WHERE sale_id = ?1")?
        .query_row([sale_id], |r| r.get(0))?;
    if stored.as_deref() != original_sale_id {
        return Err(StoreError::Conflict(format!("sale {sale_id}")));
    }
    Ok(())
}
