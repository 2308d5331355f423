//! Sales and their lines; the journal sequence that mints `transactionId` and `refNo`.

use rusqlite::{Connection, OptionalExtension, params};
use serde::{Deserialize, Serialize};

use super::states::{SaleState, check};
use super::{Money, Secrets, StoreError, now_utc};
pub use crate::domain::sale::{LineInput, LineRecord, Totals, compute};

/// What the caller gives to open a sale.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewSale {
    /// Register-given id, or a generated one.
    pub sale_id: String,
    /// Lines, in order.
    pub lines: Vec<LineInput>,
    /// Tax amount.
    pub tax: Money,
    /// Loyalty member id.
    pub member_id: Option<String>,
    /// Local date-time without offset, `purchasedOn` in the purchase.
    pub purchased_on: String,
}

/// A stored sale.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SaleRecord {
    /// Id.
    pub sale_id: String,
    /// POS `transactionId`, minted at insert.
    pub transaction_id: String,
    /// State.
    pub state: SaleState,
    /// Member id.
    pub member_id: Option<String>,
    /// Totals.
    pub totals: Totals,
    /// Local purchase time.
    pub purchased_on: String,
    /// Lines.
    pub lines: Vec<LineRecord>,
    /// Creation time (UTC).
    pub created_at: String,
    /// The sale a return names (refunds to card or gift card are limited to what it took).
    #[serde(default)]
    pub original_sale_id: Option<String>,
    /// What has been given back on this sale so far (refunds that count, `store::refunds`).
    #[serde(default)]
    pub refunded: Money,
    /// The methods of those refunds, in order, each once (`payMethod`).
    #[serde(default)]
    pub refund_methods: Vec<crate::domain::payment::Method>,
}

/// Takes the next value of a named journal sequence (inside the caller's transaction).
pub fn next_seq(c: &Connection, name: &str) -> Result<i64, StoreError> {
    // The counter comes back with its move. The row is there but for a sequence's first
    // number: an update first costs half of an upsert, which tries the insert each time.
    let moved = c
        .prepare_cached("UPDATE journal_seq SET value = value + 1 WHERE name = ?1 RETURNING value")?
        .query_row([name], |r| r.get(0))
        .optional()?;
    match moved {
        Some(v) => Ok(v),
        None => Ok(c
            .prepare_cached("INSERT INTO journal_seq(name, value) VALUES (?1, 1) RETURNING value")?
            .query_row([name], |r| r.get(0))?),
    }
}

/// Numbers one journal epoch can hold; a sequence number is `epoch * EPOCH_SPAN + n`.
pub const EPOCH_SPAN: i64 = 100_000_000;

/// The POS id for a journal sequence number: store, register, the journal's epoch (random
/// per database, so a rebuilt database never repeats an id) and the number within it, e.g.
/// `DALLAS-LANE01-482913077-00000001` (at most 32 + 16 + 9 + 8 + 3 characters). A journal
/// from before epochs (epoch 0) keeps the old form `DALLAS-LANE01-00000001`.
pub fn journal_id(store_code: &str, register_code: &str, seq: i64) -> String {
    let (epoch, n) = (seq / EPOCH_SPAN, seq % EPOCH_SPAN);
    if epoch == 0 {
        format!("{store_code}-{register_code}-{n:08}")
    } else {
        format!("{store_code}-{register_code}-{epoch}-{n:08}")
    }
}

/// Result of an idempotent insert.
#[derive(Clone, Debug)]
pub enum Inserted<T> {
    /// A new row.
    New(T),
    /// The same id and body were seen before: the first row.
    Existing(T),
}

impl<T> Inserted<T> {
    /// The row either way.
    pub fn into_inner(self) -> T {
        match self {
            Inserted::New(t) | Inserted::Existing(t) => t,
        }
    }
}

/// Inserts a sale (same id + same body → the first sale; different body → `Conflict`).
pub fn insert(
    c: &Connection,
    secrets: &Secrets,
    store_code: &str,
    register_code: &str,
    new: &NewSale,
) -> Result<Inserted<SaleRecord>, StoreError> {
    let canonical = serde_json::to_string(&(&new.lines, new.tax, &new.member_id))
        .map_err(|e| StoreError::Data(e.to_string()))?;
    let hash = secrets.keyed_hash(&canonical);
    let existing: Option<String> = c
        .prepare_cached("SELECT request_hash FROM sales WHERE sale_id = ?1")?
        .query_row([&new.sale_id], |r| r.get(0))
        .optional()?;
    if let Some(h) = existing {
        if h != hash {
            return Err(StoreError::Conflict(format!("sale {}", new.sale_id)));
        }
        return Ok(Inserted::Existing(get(c, &new.sale_id)?));
    }
    let (lines, totals) = compute(&new.lines, new.tax).map_err(StoreError::Data)?;
    let seq = next_seq(c, "journal")?;
    let tid = journal_id(store_code, register_code, seq);
    let now = now_utc();
    c.prepare_cached(
        "INSERT INTO sales(sale_id, transaction_id, seq, state, request_hash, member_id, subtotal,
            item_discount, sale_discount, tax, total, purchased_on, created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?13)",
    )?
    .execute(params![
        new.sale_id,
        tid,
        seq,
        SaleState::Open,
        hash,
        new.member_id,
        totals.subtotal,
        totals.item_discount,
        totals.sale_discount,
        totals.tax,
        totals.total,
        new.purchased_on,
        now
    ])?;
    for l in &lines {
        c.prepare_cached("INSERT INTO sale_lines(sale_id, line_no, sku, quantity, unit_price, uom, item_discount,
                sale_discount, ext_price) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)")?.execute(params![
                new.sale_id,
                l.line_no,
                l.sku,
                l.quantity,
                l.unit_price,
                l.uom,
                l.item_discount,
                l.sale_discount,
                l.ext_price
            ],
        )?;
    }
    Ok(Inserted::New(get(c, &new.sale_id)?))
}

/// Reads a sale with its lines.
pub fn get(c: &Connection, sale_id: &str) -> Result<SaleRecord, StoreError> {
    find(c, sale_id)?.ok_or_else(|| StoreError::NotFound(format!("sale {sale_id}")))
}

/// Reads a sale if it exists.
pub fn find(c: &Connection, sale_id: &str) -> Result<Option<SaleRecord>, StoreError> {
    let Some(mut sale) = find_without_lines(c, sale_id)? else {
        return Ok(None);
    };
    let mut st = c.prepare_cached(
        "SELECT line_no, sku, quantity, unit_price, uom, item_discount, sale_discount, ext_price
         FROM sale_lines WHERE sale_id = ?1 ORDER BY line_no",
    )?;
    sale.lines = st
        .query_map([sale_id], |r| {
            Ok(LineRecord {
                line_no: r.get(0)?,
                sku: r.get(1)?,
                quantity: r.get(2)?,
                unit_price: r.get(3)?,
                uom: r.get(4)?,
                item_discount: r.get(5)?,
                sale_discount: r.get(6)?,
                ext_price: r.get(7)?,
            })
        })?
        .collect::<Result<_, _>>()?;
    Ok(Some(sale))
}

/// A sale with its totals and refunds but without its lines (`lines` is empty): what a
/// payment decision needs, one statement fewer.
pub fn find_without_lines(c: &Connection, sale_id: &str) -> Result<Option<SaleRecord>, StoreError> {
    let sale = c
        .prepare_cached("SELECT sale_id, transaction_id, state, member_id, subtotal, item_discount, sale_discount,
                tax, total, purchased_on, created_at, original_sale_id FROM sales WHERE sale_id = ?1")?
        .query_row([sale_id],
            |r| {
                Ok(SaleRecord {
                    sale_id: r.get(0)?,
                    transaction_id: r.get(1)?,
                    state: r.get(2)?,
                    member_id: r.get(3)?,
                    totals: Totals {
                        subtotal: r.get(4)?,
                        item_discount: r.get(5)?,
                        sale_discount: r.get(6)?,
                        tax: r.get(7)?,
                        total: r.get(8)?,
                    },
                    purchased_on: r.get(9)?,
                    created_at: r.get(10)?,
                    original_sale_id: r.get(11)?,
                    refunded: Money::ZERO,
                    refund_methods: Vec::new(),
                    lines: Vec::new(),
                })
            },
        )
        .optional()?;
    let Some(mut sale) = sale else {
        return Ok(None);
    };
    (sale.refunded, sale.refund_methods) = super::refunds::refunded_total(c, sale_id)?;
    Ok(Some(sale))
}

/// Moves a sale to `to`, enforcing the legal transitions.
pub fn set_state(c: &Connection, sale_id: &str, to: SaleState) -> Result<SaleState, StoreError> {
    let from: SaleState = c
        .prepare_cached("SELECT state FROM sales WHERE sale_id = ?1")?
        .query_row([sale_id], |r| r.get(0))
        .optional()?
        .ok_or_else(|| StoreError::NotFound(format!("sale {sale_id}")))?;
    check("sale", sale_id, from, to, from.can_go(to))?;
    c.prepare_cached("UPDATE sales SET state = ?2, updated_at = ?3 WHERE sale_id = ?1")?
        .execute(params![sale_id, to, now_utc()])?;
    Ok(from)
}

/// Gives the newest open sale without a member `member_id` (a member card read at the lane
/// while the register has a sale open); returns that sale's id, or `None` if there is none.
pub fn attach_member(c: &Connection, member_id: &str) -> Result<Option<String>, StoreError> {
    let sale: Option<String> = c
        .prepare_cached(
            "SELECT sale_id FROM sales WHERE state = ?1 AND member_id IS NULL
             ORDER BY seq DESC LIMIT 1",
        )?
        .query_row([SaleState::Open], |r| r.get(0))
        .optional()?;
    if let Some(id) = &sale {
        c.prepare_cached("UPDATE sales SET member_id = ?2, updated_at = ?3 WHERE sale_id = ?1")?
            .execute(params![id, member_id, now_utc()])?;
    }
    Ok(sale)
}

/// Ids of sales in one of `states`, oldest first (recovery).
pub fn ids_in_states(c: &Connection, states: &[SaleState]) -> Result<Vec<String>, StoreError> {
    let mut st = c.prepare_cached("SELECT sale_id FROM sales WHERE state = ?1 ORDER BY seq")?;
    let mut out = Vec::new();
    for s in states {
        for id in st.query_map([s], |r| r.get::<_, String>(0))? {
            out.push(id?);
        }
    }
    Ok(out)
}
