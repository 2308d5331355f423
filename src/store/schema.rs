//! Schema migrations by `PRAGMA user_version`, one transaction per step.

use rusqlite::Connection;

use super::StoreError;

/// The migration steps; step `i` moves the file from version `i` to `i + 1`.
pub const MIGRATIONS: &[&str] = &[
    V1,
    V2,
    V3,
    V4_TERMINAL_RECEIPTS_AND_END_OF_DAY,
    V5_REFUNDS,
    V6_TERMINAL_CONTINUATION,
    V7_OPEN_OFFLINE_INDEX,
];

/// Highest schema version this build knows.
pub fn latest() -> i64 {
    MIGRATIONS.len() as i64
}

const V1: &str = r#"
CREATE TABLE journal_seq (
    name  TEXT PRIMARY KEY,
    value INTEGER NOT NULL
) STRICT;

CREATE TABLE sales (
    sale_id         TEXT PRIMARY KEY,
    transaction_id  TEXT NOT NULL UNIQUE,
    seq             INTEGER NOT NULL,
    state           TEXT NOT NULL,
    request_hash    TEXT NOT NULL,
    member_id       TEXT,
    subtotal        TEXT NOT NULL,
    item_discount   TEXT NOT NULL,
    sale_discount   TEXT NOT NULL,
    tax             TEXT NOT NULL,
    total           TEXT NOT NULL,
    purchased_on    TEXT NOT NULL,
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL
) STRICT;

CREATE TABLE sale_lines (
    sale_id        TEXT NOT NULL REFERENCES sales(sale_id),
    line_no        INTEGER NOT NULL,
    sku            TEXT NOT NULL,
    quantity       TEXT NOT NULL,
    unit_price     TEXT NOT NULL,
    uom            TEXT NOT NULL,
    item_discount  TEXT NOT NULL,
    sale_discount  TEXT NOT NULL,
    ext_price      TEXT NOT NULL,
    PRIMARY KEY (sale_id, line_no)
) STRICT;

CREATE TABLE payments (
    payment_id        TEXT PRIMARY KEY,
    sale_id           TEXT NOT NULL REFERENCES sales(sale_id),
    seq               INTEGER NOT NULL,
    ref_no            TEXT NOT NULL UNIQUE,
    method            TEXT NOT NULL,
    state             TEXT NOT NULL,
    request_hash      TEXT NOT NULL,
    requested_amount  TEXT NOT NULL,
    amount            TEXT NOT NULL,
    code_masked       TEXT,
    code_hash         TEXT,
    code_sealed       BLOB,
    entry_mode        TEXT,
    pos_trans_id      TEXT,
    balance           TEXT,
    terminal_mode     TEXT,
    receipt_no        INTEGER,
    trace_no          INTEGER,
    masked_pan        TEXT,
    card_name         TEXT,
    reason            TEXT,
    created_at        TEXT NOT NULL,
    updated_at        TEXT NOT NULL
) STRICT;
CREATE INDEX payments_by_sale ON payments(sale_id, seq);
CREATE INDEX payments_by_state ON payments(state);

CREATE TABLE outbox (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    kind        TEXT NOT NULL,
    state       TEXT NOT NULL,
    sale_id     TEXT,
    payment_id  TEXT,
    amount      TEXT,
    code_hash   TEXT,
    payload     TEXT NOT NULL,
    attempt     INTEGER NOT NULL DEFAULT 0,
    sent_at     TEXT,
    last_error  TEXT,
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL
) STRICT;
CREATE INDEX outbox_by_state ON outbox(state, id);
CREATE INDEX outbox_by_kind ON outbox(kind, state, code_hash);

CREATE TABLE giftcard_cache (
    code_hash    TEXT PRIMARY KEY,
    code_masked  TEXT NOT NULL,
    balance      TEXT NOT NULL,
    updated_at   TEXT NOT NULL
) STRICT;

CREATE TABLE exceptions (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    kind             TEXT NOT NULL,
    sale_id          TEXT,
    payment_id       TEXT,
    outbox_id        INTEGER,
    amount           TEXT,
    code_masked      TEXT,
    reason           TEXT NOT NULL,
    created_at       TEXT NOT NULL,
    acknowledged_at  TEXT
) STRICT;
"#;

/// Money movements owned by the engine: the terminal evidence a card payment's recovery
/// needs, operator notes on exceptions, and one idempotency table for the mutating requests
/// that have no row of their own (gift-card activation and reload, later refunds).
const V2: &str = r#"
ALTER TABLE payments ADD COLUMN trace_before INTEGER;
ALTER TABLE exceptions ADD COLUMN note TEXT;
ALTER TABLE exceptions ADD COLUMN resolution TEXT;

CREATE TABLE requests (
    kind          TEXT NOT NULL,
    request_id    TEXT NOT NULL,
    request_hash  TEXT NOT NULL,
    ref_no        TEXT NOT NULL UNIQUE,
    state         TEXT NOT NULL,
    answer        TEXT,
    code_masked   TEXT,
    amount        TEXT,
    created_at    TEXT NOT NULL,
    updated_at    TEXT NOT NULL,
    PRIMARY KEY (kind, request_id)
) STRICT;
CREATE INDEX requests_by_state ON requests(state);
"#;

/// Issue 13 item 11: a rebuilt database must not mint the `transactionId`s / `refNo`s of the
/// one it replaced (the POS deduplicates neither). A new journal starts at a random epoch
/// times [`super::sales::EPOCH_SPAN`], persisted as the counter's start; `journal_id`
/// prints it as its own segment. A journal that already has numbers keeps them (not a
/// rebuild).
const V3: &str = r#"
INSERT INTO journal_seq(name, value)
    SELECT 'journal', (1 + abs(random() % 999999999)) * 100000000
    WHERE NOT EXISTS (SELECT 1 FROM journal_seq WHERE name = 'journal');
"#;

/// Issue 12 (ZVT side): the terminal's own receipt lines per payment (06 D1 / 06 D3, masked
/// again before they are stored) and the end-of-day runs (06 50) with their totals.
const V4_TERMINAL_RECEIPTS_AND_END_OF_DAY: &str = r#"
CREATE TABLE payment_receipt_lines (
    payment_id  TEXT NOT NULL,
    seq         INTEGER NOT NULL,
    line        TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    PRIMARY KEY (payment_id, seq)
) STRICT;

CREATE TABLE terminal_end_of_day (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    trigger     TEXT NOT NULL,
    status      TEXT NOT NULL,
    total       TEXT,
    count       INTEGER,
    totals      TEXT NOT NULL,
    reason      TEXT,
    created_at  TEXT NOT NULL
) STRICT;
CREATE INDEX terminal_end_of_day_by_time ON terminal_end_of_day(created_at);
"#;

/// Issue 12 (returns and refunds): the sale a return names, and the refunds paid back on a
/// sale, each journaled (with its `refNo`) before anything leaves, like a payment. A gift-card
/// refund queued offline keeps its code sealed until it is forwarded; a reversal at cancel
/// journals its own `refNo` first.
const V5_REFUNDS: &str = r#"
ALTER TABLE sales ADD COLUMN original_sale_id TEXT;

CREATE TABLE refunds (
    refund_id        TEXT PRIMARY KEY,
    sale_id          TEXT NOT NULL REFERENCES sales(sale_id),
    seq              INTEGER NOT NULL,
    ref_no           TEXT NOT NULL UNIQUE,
    method           TEXT NOT NULL,
    state            TEXT NOT NULL,
    request_hash     TEXT NOT NULL,
    amount           TEXT NOT NULL,
    code_masked      TEXT,
    code_hash        TEXT,
    code_sealed      BLOB,
    balance          TEXT,
    reason           TEXT,
    reversal_ref_no  TEXT UNIQUE,
    created_at       TEXT NOT NULL,
    updated_at       TEXT NOT NULL
) STRICT;
CREATE INDEX refunds_by_sale ON refunds(sale_id, seq);
CREATE INDEX refunds_by_state ON refunds(state);
"#;

/// Issue 11: a POS-driven terminal payment journals each continuation token as it arrives,
/// so a restart mid-payment resumes with `continue` instead of starting again (the POS does
/// not deduplicate `refNo`).
const V6_TERMINAL_CONTINUATION: &str = r#"
ALTER TABLE payments ADD COLUMN continuation TEXT;
"#;

/// Issue 15 item 6: every offline decision sums the open offline redemptions and refunds
/// (the policy's caps and the card's taken amount). `outbox_by_kind` answered that with a
/// seek per kind and state and a table row per item, half of a decision's reads; an index
/// of just those items, holding all the query reads, answers it in one pass. Purchases and
/// captures no longer write to it: one page fewer in every completed sale's commit. Its
/// condition is `exceptions::OPEN_OFFLINE` word for word.
const V7_OPEN_OFFLINE_INDEX: &str = r#"
DROP INDEX outbox_by_kind;
CREATE INDEX outbox_offline_open ON outbox(code_hash, kind, state, amount, created_at)
    WHERE kind IN ('giftcard_redeem', 'giftcard_refund')
     AND state IN ('new', 'sending', 'held', 'in_doubt');
"#;

/// Brings the file up to [`latest`]; refuses a newer file.
pub fn migrate(conn: &mut Connection) -> Result<i64, StoreError> {
    let mut version: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
    if version > latest() {
        return Err(StoreError::TooNew {
            found: version,
            supported: latest(),
        });
    }
    while version < latest() {
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        tx.execute_batch(MIGRATIONS[version as usize])?;
        tx.pragma_update(None, "user_version", version + 1)?;
        tx.commit()?;
        version += 1;
    }
    Ok(version)
}
