//! The mirror's file: open with read-back pragmas, schema migrations, and the one connection
//! that async callers run closures on, like the journal's store: on their own thread, one at
//! a time. A lookup that finds the mirror free runs at once (a sale's SKU check is on the
//! register's path: handing it to a thread of its own and back cost two thread wake-ups); a
//! write (a sync page may be large) or a job that must wait first moves the runtime's other
//! tasks off the worker.

use std::path::PathBuf;
use std::sync::{Arc, Mutex, TryLockError};
use std::time::Duration;

use rusqlite::{Connection, TransactionBehavior};

use super::MirrorError;

/// How to open the mirror.
#[derive(Clone, Debug)]
pub struct MirrorOptions {
    /// The mirror file (see [`super::mirror_path`]).
    pub path: PathBuf,
    /// `busy_timeout`.
    pub busy_timeout: Duration,
}

impl MirrorOptions {
    /// Defaults for a path: busy timeout 5 s.
    pub fn new(path: impl Into<PathBuf>) -> Self {
        MirrorOptions {
            path: path.into(),
            busy_timeout: Duration::from_secs(5),
        }
    }
}

/// Pragmas as read back after opening (for `doctor`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PragmaReport {
    /// `journal_mode`, expected `wal`.
    pub journal_mode: String,
    /// `synchronous`, expected 1 (NORMAL).
    pub synchronous: i64,
    /// `user_version` after migration.
    pub user_version: i64,
}

/// An async handle to the mirror file. Cheap to clone; the file closes with the last handle.
#[derive(Clone)]
pub struct Mirror {
    conn: Arc<Mutex<Connection>>,
}

impl std::fmt::Debug for Mirror {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Mirror")
    }
}

impl Mirror {
    /// Opens (creating if needed) and migrates the mirror, off the async workers.
    pub async fn open(opts: MirrorOptions) -> Result<Mirror, MirrorError> {
        let conn = tokio::task::spawn_blocking(move || open_conn(&opts))
            .await
            .map_err(|_| MirrorError::Closed)??;
        Ok(Mirror {
            conn: Arc::new(Mutex::new(conn)),
        })
    }

    /// Runs `f` with the connection, which may take long: off the runtime's other tasks.
    pub(crate) async fn with_conn<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Connection) -> Result<T, MirrorError> + Send + 'static,
    ) -> Result<T, MirrorError> {
        crate::store::blocking(|| f(&mut self.lock()))
    }

    /// The connection. A job that panicked rolled its transaction back (rusqlite's
    /// `Transaction` drop): the connection is sound, so a poisoned lock is taken as it is.
    fn lock(&self) -> std::sync::MutexGuard<'_, Connection> {
        self.conn.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A `BEGIN IMMEDIATE` transaction: all of `f` or nothing.
    pub(crate) async fn write<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Connection) -> Result<T, MirrorError> + Send + 'static,
    ) -> Result<T, MirrorError> {
        self.with_conn(move |c| {
            let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let out = f(&tx)?;
            tx.commit()?;
            Ok(out)
        })
        .await
    }

    /// A read: at once on the caller's thread when the mirror is free.
    pub(crate) async fn read<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Connection) -> Result<T, MirrorError> + Send + 'static,
    ) -> Result<T, MirrorError> {
        match self.conn.try_lock() {
            Ok(c) => return f(&c),
            Err(TryLockError::Poisoned(p)) => return f(&p.into_inner()),
            Err(TryLockError::WouldBlock) => {}
        };
        self.with_conn(move |c| f(c)).await
    }

    /// The pragmas as read back now.
    pub async fn pragmas(&self) -> Result<PragmaReport, MirrorError> {
        self.read(pragmas).await
    }

    /// Empties every table and forgets every `until` and `complete` flag, so that the next
    /// sync is a full first load (the only way to drop rows deleted at the POS).
    pub async fn reset(&self) -> Result<(), MirrorError> {
        self.write(|c| {
            for t in DATA_TABLES {
                c.execute(&format!("DELETE FROM {t}"), [])?;
            }
            c.execute("DELETE FROM sync_state", [])?;
            Ok(())
        })
        .await
    }

    /// Checkpoints and truncates the WAL; call after a large load.
    pub async fn checkpoint(&self) -> Result<(), MirrorError> {
        self.read(|c| {
            c.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))?;
            Ok(())
        })
        .await
    }
}

/// Tables holding mirrored rows (not the sync bookkeeping, not the member cache).
const DATA_TABLES: &[&str] = &[
    "item",
    "item_warehouse",
    "item_serial_lot",
    "product",
    "product_banner",
    "product_group",
    "product_notice",
    "product_section",
    "product_sort_option",
    "location",
];

fn open_conn(opts: &MirrorOptions) -> Result<Connection, MirrorError> {
    let mut conn = Connection::open(&opts.path)?;
    conn.busy_timeout(opts.busy_timeout)?;
    let mode: String = conn.pragma_update_and_check(None, "journal_mode", "wal", |r| r.get(0))?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(MirrorError::PragmaMismatch {
            name: "journal_mode",
            expected: "wal".into(),
            actual: mode,
        });
    }
    // Re-fetchable data: a power cut may undo the latest pages, together with their `until`.
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    let sync: i64 = conn.pragma_query_value(None, "synchronous", |r| r.get(0))?;
    if sync != 1 {
        return Err(MirrorError::PragmaMismatch {
            name: "synchronous",
            expected: "1".into(),
            actual: sync.to_string(),
        });
    }
    // One plan per cached statement, whatever is bound: without it this SQLite (STAT4)
    // parses a lookup again for each new barcode (see the store's `Db::open`).
    conn.set_db_config(
        rusqlite::config::DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG,
        true,
    )?;
    migrate(&mut conn)?;
    Ok(conn)
}

fn pragmas(c: &Connection) -> Result<PragmaReport, MirrorError> {
    Ok(PragmaReport {
        journal_mode: c.pragma_query_value(None, "journal_mode", |r| r.get(0))?,
        synchronous: c.pragma_query_value(None, "synchronous", |r| r.get(0))?,
        user_version: c.pragma_query_value(None, "user_version", |r| r.get(0))?,
    })
}

const MIGRATIONS: &[&str] = &[V1];

const V1: &str = r#"
CREATE TABLE sync_state (
    entity          TEXT PRIMARY KEY,
    until           TEXT,
    complete        INTEGER NOT NULL DEFAULT 0,
    pages           INTEGER NOT NULL DEFAULT 0,
    rows            INTEGER NOT NULL DEFAULT 0,
    caught_up_at    INTEGER
) STRICT;

CREATE TABLE item (
    sku        TEXT PRIMARY KEY,
    name       TEXT,
    long_name  TEXT,
    sale_uom   TEXT,
    stock_uom  TEXT
) STRICT;

CREATE TABLE item_warehouse (
    sku                 TEXT NOT NULL,
    warehouse_code      TEXT NOT NULL,
    base_price          TEXT,
    quantity_available  TEXT,
    PRIMARY KEY (sku, warehouse_code)
) STRICT, WITHOUT ROWID;

CREATE TABLE item_serial_lot (
    sku                 TEXT NOT NULL,
    warehouse_code      TEXT NOT NULL,
    serial_lot_number   TEXT NOT NULL,
    quantity_available  TEXT,
    PRIMARY KEY (sku, warehouse_code, serial_lot_number)
) STRICT, WITHOUT ROWID;

CREATE TABLE product (
    sku           TEXT PRIMARY KEY,
    name          TEXT,
    long_name     TEXT,
    description   TEXT,
    base_price    TEXT,
    group_codes   TEXT NOT NULL,
    notice_codes  TEXT NOT NULL
) STRICT;

CREATE TABLE product_banner (
    code  TEXT PRIMARY KEY,
    text  TEXT,
    url   TEXT
) STRICT;

CREATE TABLE product_group (
    code           TEXT PRIMARY KEY,
    name           TEXT,
    display_order  INTEGER,
    banner_code    TEXT,
    section_codes  TEXT NOT NULL
) STRICT;

CREATE TABLE product_notice (
    code  TEXT PRIMARY KEY,
    text  TEXT
) STRICT;

CREATE TABLE product_section (
    code           TEXT PRIMARY KEY,
    name           TEXT,
    display_order  INTEGER,
    banner_code    TEXT
) STRICT;

CREATE TABLE product_sort_option (
    code  TEXT PRIMARY KEY,
    name  TEXT
) STRICT;

CREATE TABLE location (
    code   TEXT PRIMARY KEY,
    name   TEXT,
    email  TEXT,
    phone  TEXT
) STRICT;

CREATE TABLE member (
    member_id    TEXT PRIMARY KEY,
    customer_id  TEXT NOT NULL,
    name_masked  TEXT,
    fetched_at   INTEGER NOT NULL
) STRICT;
"#;

fn migrate(conn: &mut Connection) -> Result<(), MirrorError> {
    let latest = MIGRATIONS.len() as i64;
    let mut version: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
    if version > latest {
        return Err(MirrorError::TooNew {
            found: version,
            supported: latest,
        });
    }
    while version < latest {
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        tx.execute_batch(MIGRATIONS[version as usize])?;
        tx.pragma_update(None, "user_version", version + 1)?;
        tx.commit()?;
        version += 1;
    }
    Ok(())
}

/// Seconds since the Unix epoch (mirror timestamps; ages are differences of these).
pub(crate) fn now_secs() -> i64 {
    chrono::Utc::now().timestamp()
}
