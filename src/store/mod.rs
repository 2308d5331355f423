//! The durable store: one SQLite file holding the journal of sales and payments, the outbox,
//! the gift-card balance cache and the exception list.
//!
//! # Contract
//!
//! **Committed.** A call that returns `Ok` from [`Store::write`] has been committed with
//! `journal_mode=WAL` and `synchronous=FULL`: it survives a process crash *and* a power cut.
//! The opposite is not true: a crash between COMMIT and the caller seeing `Ok` leaves a
//! committed change that nobody acknowledged, so every layer above treats "I don't know if my
//! write landed" as "re-read the journal", never as "it did not happen". An error from a
//! write means nothing of that write is stored (the transaction rolled back); earlier commits
//! are untouched. I/O, full-disk and corruption errors are returned, never swallowed.
//!
//! **One writer.** One `Connection`, behind a mutex; async callers hand it closures
//! ([`Store::write`], [`Store::read`]) that run one at a time on the caller's thread. Every write runs in `BEGIN IMMEDIATE`, so a
//! write never fails half-way with `SQLITE_BUSY` on a read→write upgrade; `busy_timeout` is
//! 5 s for anything else that holds the file (an operator's `sqlite3`).
//!
//! **Open.** [`Store::open`] sets and *reads back* `journal_mode=wal`, `synchronous=2`
//! (FULL), `foreign_keys=1` and `busy_timeout`; any mismatch refuses to open. It runs
//! `PRAGMA quick_check` and refuses a damaged file, then migrates by `PRAGMA user_version`
//! (one transaction per step). A file from a newer version is refused.
//!
//! **States** (see [`states`]; illegal transitions are errors and change nothing):
//!
//! ```text
//! sale:     open -> completing -> completed          (completing -> open when a capture
//!           open -> cancelling -> cancelled           cannot proceed and the register decides)
//! payment:  authorizing -> authorized | approved | offline_approved | declined | in_doubt
//!           authorized  -> capturing -> captured     (capturing -> authorizing: re-authorize
//!           authorized | approved -> cancelling -> cancelled          after a POS auto-cancel)
//!           offline_approved -> captured | forward_declined | cancelled | cancelling
//!           capturing -> forward_declined; authorizing -> captured | forward_declined
//!           (a re-authorization is one immediate USE)
//! outbox:   new -> sending(attempt, sent_at) -> confirmed | rejected | in_doubt | new
//!           new <-> held, new | held -> dropped, in_doubt -> confirmed | new (operator),
//!           rejected -> new | confirmed (operator)
//! ```
//!
//! **Ids before I/O.** A sale's `transactionId` and a payment's `refNo` are minted from the
//! `journal_seq` table in the same transaction that inserts the row, before any request
//! leaves. A payment row is in `authorizing` *before* its request is sent; an outbox item is
//! in `sending` before its request is sent. At start-up, `sending` items of idempotent kinds
//! go back to `new`, the others to `in_doubt` ([`outbox::recover_sending`]).
//!
//! **Outbox.** Delivery is at-least-once for idempotent kinds (capture, cancel) and
//! at-most-once-then-operator for the others (purchase, offline redemption): an item whose
//! answer was lost is `in_doubt` and is never re-sent without an operator. Items are claimed
//! in id order ([`outbox::claim_window`]): purchases of different sales may be in flight
//! together (the forwarder's window), every other kind goes out alone; an item that cannot be
//! sent yet (link down) stops the queue so that order holds.
//! Rows are never deleted: confirmed/dropped rows stay as the journal. There is no size bound
//! on the outbox itself; the offline policy bounds what offline acceptance adds to it.
//!
//! **Secrets.** Plain columns hold only masked codes (`****1234`) and keyed hashes. A
//! gift-card code needed after its request (offline forward, re-authorization) is sealed
//! with XChaCha20-Poly1305 under the key file `<db>.key` (0600), bound to its payment id, and
//! erased when the payment reaches a final state. PINs are never stored.
//!
//! **Schema** (version 2): `journal_seq`, `sales`, `sale_lines`, `payments`, `outbox`, `requests`,
//! `giftcard_cache`, `exceptions`; see [`schema`].

pub mod crypto;
pub mod end_of_day;
pub mod exceptions;
pub mod outbox;
pub mod payments;
pub mod receipts;
pub mod refunds;
pub mod requests;
pub mod sales;
pub mod schema;
pub mod states;
mod worker;

pub(crate) use worker::blocking;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use rusqlite::{Connection, OptionalExtension};

pub use crate::domain::Money;
pub use crypto::{Secrets, mask};
pub use states::{OutboxKind, OutboxState, PaymentState, SaleState};
pub use worker::{Store, lock_path};

/// Everything the store can fail with. Messages never contain card data.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// SQLite failed (I/O, full disk, corruption, constraint).
    #[error("database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// File-system error outside SQLite (key file).
    #[error("i/o error: {0}")]
    Io(#[from] std::io::Error),
    /// A pragma did not read back as required; the store refuses to open.
    #[error("pragma {name} is {actual}, expected {expected}")]
    PragmaMismatch {
        /// Pragma name.
        name: &'static str,
        /// What was required.
        expected: String,
        /// What SQLite reported.
        actual: String,
    },
    /// `quick_check` reported damage.
    #[error("database failed quick_check: {0}")]
    Corrupt(String),
    /// The file was written by a newer version of the agent.
    #[error("database schema version {found} is newer than this build ({supported})")]
    TooNew {
        /// Version in the file.
        found: i64,
        /// Highest version this build knows.
        supported: i64,
    },
    /// A state change that the contract forbids.
    #[error("illegal {entity} transition for {id}: {from} -> {to}")]
    IllegalTransition {
        /// "sale", "payment" or "outbox item".
        entity: &'static str,
        /// Its id.
        id: String,
        /// Current state.
        from: String,
        /// Requested state.
        to: String,
    },
    /// No such row.
    #[error("{0} not found")]
    NotFound(String),
    /// The same id was used with a different request body.
    #[error("{0} already exists with a different request")]
    Conflict(String),
    /// The key file is unusable.
    #[error("key file: {0}")]
    KeyFile(String),
    /// Sealing or opening a secret failed (wrong key or damaged data).
    #[error("sealed secret could not be opened")]
    Crypto,
    /// Stored data could not be decoded.
    #[error("bad stored data: {0}")]
    Data(String),
    /// Another process (normally the running service) holds the store's lock file.
    #[error("the store is in use by another process (it holds {})", .0.display())]
    Locked(PathBuf),
    /// Opening the store stopped short (its thread panicked).
    #[error("store is closed")]
    Closed,
}

impl StoreError {
    /// Whether this is a fault of the storage itself (full disk, I/O error, damaged or
    /// read-only file) rather than of the request: the write may succeed later, once the
    /// fault is gone, and the agent reports it meanwhile (P1.3).
    pub fn is_storage_fault(&self) -> bool {
        use rusqlite::ffi::ErrorCode::*;
        match self {
            StoreError::Sqlite(rusqlite::Error::SqliteFailure(e, _)) => matches!(
                e.code,
                DiskFull | SystemIoFailure | ReadOnly | CannotOpen | DatabaseCorrupt | NotADatabase
            ),
            StoreError::Io(_) => true,
            _ => false,
        }
    }
}

/// How to open the store.
#[derive(Clone, Debug)]
pub struct StoreOptions {
    /// The database file.
    pub path: PathBuf,
    /// `busy_timeout`; at least 5 s in production.
    pub busy_timeout: Duration,
    /// The code key from elsewhere than `<db>.key` (a systemd credential). It must exist:
    /// a key given this way is never created.
    pub key_file: Option<PathBuf>,
}

impl StoreOptions {
    /// Defaults for a path: busy timeout 5 s.
    pub fn new(path: impl Into<PathBuf>) -> Self {
        StoreOptions {
            path: path.into(),
            busy_timeout: Duration::from_secs(5),
            key_file: None,
        }
    }

    /// Takes the code key from `path` (e.g. `$CREDENTIALS_DIRECTORY/code-key`).
    pub fn with_key_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.key_file = Some(path.into());
        self
    }
}

/// An open database plus the lane's secrets: what a [`Store`] guards.
pub struct Db {
    /// The one connection.
    pub conn: Connection,
    /// Key material for sealing codes and keyed hashes.
    pub secrets: Arc<Secrets>,
}

/// Pragmas as read back after opening (for `doctor` and the T1.5 check).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PragmaReport {
    /// `journal_mode`, expected `wal`.
    pub journal_mode: String,
    /// `synchronous`, expected 2 (FULL).
    pub synchronous: i64,
    /// `busy_timeout` in ms.
    pub busy_timeout_ms: i64,
    /// `user_version` after migration.
    pub user_version: i64,
}

impl Db {
    /// Opens (creating if needed) the database and its key file, checks and migrates it.
    pub fn open(opts: &StoreOptions) -> Result<Db, StoreError> {
        let conn = Connection::open(&opts.path)?;
        let secrets = Arc::new(load_key(&conn, opts)?);
        conn.busy_timeout(opts.busy_timeout)?;
        let mode: String =
            conn.pragma_update_and_check(None, "journal_mode", "wal", |r| r.get(0))?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        // Erased codes (`code_sealed = NULL`) must not linger in free space: zero freed cells.
        conn.pragma_update(None, "secure_delete", "ON")?;
        // The store prepares each statement once (`prepare_cached`): parsing SQL was a
        // visible share of a register step. Room for every statement of the hot paths.
        conn.set_prepared_statement_cache_capacity(128);
        // Cached is not enough: this SQLite (built with STAT4) marks a statement like
        // `WHERE sale_id = ?1 ORDER BY seq` to be planned again whenever a new value is
        // bound, which parsed it anew on every run (a tenth of the agent's CPU in
        // `register_steps_bench`). One plan per statement, whatever its values.
        conn.set_db_config(
            rusqlite::config::DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG,
            true,
        )?;
        let db = Db { conn, secrets };
        let report = db.pragmas()?;
        if !mode.eq_ignore_ascii_case("wal") || !report.journal_mode.eq_ignore_ascii_case("wal") {
            return Err(StoreError::PragmaMismatch {
                name: "journal_mode",
                expected: "wal".into(),
                actual: report.journal_mode,
            });
        }
        if report.synchronous != 2 {
            return Err(StoreError::PragmaMismatch {
                name: "synchronous",
                expected: "2".into(),
                actual: report.synchronous.to_string(),
            });
        }
        let fk: i64 = db
            .conn
            .pragma_query_value(None, "foreign_keys", |r| r.get(0))?;
        if fk != 1 {
            return Err(StoreError::PragmaMismatch {
                name: "foreign_keys",
                expected: "1".into(),
                actual: fk.to_string(),
            });
        }
        let secure: i64 = db
            .conn
            .pragma_query_value(None, "secure_delete", |r| r.get(0))?;
        if secure != 1 {
            return Err(StoreError::PragmaMismatch {
                name: "secure_delete",
                expected: "1".into(),
                actual: secure.to_string(),
            });
        }
        let check: String = db.conn.query_row("PRAGMA quick_check", [], |r| r.get(0))?;
        if check != "ok" {
            return Err(StoreError::Corrupt(check));
        }
        let mut db = db;
        schema::migrate(&mut db.conn)?;
        Ok(db)
    }

    /// Reads the durability pragmas back.
    pub fn pragmas(&self) -> Result<PragmaReport, StoreError> {
        Ok(PragmaReport {
            journal_mode: self
                .conn
                .pragma_query_value(None, "journal_mode", |r| r.get(0))?,
            synchronous: self
                .conn
                .pragma_query_value(None, "synchronous", |r| r.get(0))?,
            busy_timeout_ms: self
                .conn
                .pragma_query_value(None, "busy_timeout", |r| r.get(0))?,
            user_version: self
                .conn
                .pragma_query_value(None, "user_version", |r| r.get(0))?,
        })
    }

    /// Runs `f` in a `BEGIN IMMEDIATE` transaction; commits on `Ok`, rolls back on `Err`.
    pub fn write<T>(
        &mut self,
        f: impl FnOnce(&Connection, &Secrets) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let tx = self
            .conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let out = f(&tx, &self.secrets)?;
        tx.commit()?;
        Ok(out)
    }

    /// Runs `f` against the connection without a write transaction.
    pub fn read<T>(
        &self,
        f: impl FnOnce(&Connection, &Secrets) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        f(&self.conn, &self.secrets)
    }

    /// Checkpoints and truncates the WAL (P1.4); call periodically from the agent.
    pub fn checkpoint(&self) -> Result<(), StoreError> {
        self.conn
            .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))?;
        Ok(())
    }
}

/// The code key for `conn`'s database. A missing key is created only beside the database
/// and only while no payment holds a sealed code; a missing or wrong key with sealed codes
/// refuses the open (a new key would make those redemptions fail forever).
fn load_key(conn: &Connection, opts: &StoreOptions) -> Result<Secrets, StoreError> {
    let path = opts
        .key_file
        .clone()
        .unwrap_or_else(|| Secrets::key_path(&opts.path));
    let has_payments: bool = conn.query_row(
        "SELECT EXISTS(SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'payments')",
        [],
        |r| r.get(0),
    )?;
    let sample: Option<(String, Vec<u8>)> = if has_payments {
        conn.query_row(
            "SELECT payment_id, code_sealed FROM payments WHERE code_sealed IS NOT NULL LIMIT 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?
    } else {
        None
    };
    let secrets = match (Secrets::load(&path)?, &sample) {
        (Some(s), _) => s,
        (None, Some(_)) => {
            return Err(StoreError::KeyFile(format!(
                "{} is missing but the database holds sealed gift-card codes; restore that \
                 key (a new one could never open them)",
                path.display()
            )));
        }
        (None, None) if opts.key_file.is_some() => {
            return Err(StoreError::KeyFile(format!(
                "{} (the configured key) does not exist",
                path.display()
            )));
        }
        (None, None) => Secrets::create(&path)?,
    };
    if let Some((payment_id, sealed)) = sample
        && secrets
            .open(&payment_id, &sealed)
            .map(zeroize::Zeroizing::new)
            .is_err()
    {
        return Err(StoreError::KeyFile(format!(
            "{} does not open the sealed gift-card codes in this database (wrong key); \
             restore the key that sealed them",
            path.display()
        )));
    }
    Ok(secrets)
}

/// Now, UTC, RFC 3339 with milliseconds (journal timestamps).
pub fn now_utc() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// Helper for callers that need the path of the key file for a database.
pub fn key_path(db: &Path) -> PathBuf {
    Secrets::key_path(db)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The journal's statements bind a new sale id or state each time: the planner must
    /// not re-plan them per binding (SQLite built with STAT4 re-prepares a statement whose
    /// plan might depend on a bound value unless the planner's stability guarantee is on).
    #[test]
    fn a_cached_statement_is_not_prepared_again_for_new_values() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(&StoreOptions::new(dir.path().join("agent.db"))).unwrap();
        let sql = "SELECT seq FROM payments WHERE sale_id = ?1 ORDER BY seq";
        for sale in ["S-1", "S-2", "S-3"] {
            let mut st = db.conn.prepare_cached(sql).unwrap();
            let rows: Vec<i64> = st
                .query_map([sale], |r| r.get(0))
                .unwrap()
                .collect::<Result<_, _>>()
                .unwrap();
            assert!(rows.is_empty());
        }
        let st = db.conn.prepare_cached(sql).unwrap();
        assert_eq!(
            st.get_status(rusqlite::StatementStatus::RePrepare),
            0,
            "re-prepared for new values"
        );
    }
}
