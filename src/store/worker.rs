//! The one connection and how async callers reach it.
//!
//! A job runs on the caller's own thread, under a mutex: a register step waits for its
//! commit anyway, and handing the job to a dedicated thread and back cost two thread wake-ups
//! per trip (about 0.06 ms, a tenth of a step; `register_steps_bench` measured the three ways:
//! a dedicated thread, `block_in_place` for every job, and this). A job that would wait for
//! another (the mutex is held) or that may run long (a checkpoint) first moves the runtime's
//! other tasks off this worker with `block_in_place`, so a slow disk never stalls both workers.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, TryLockError};

use rusqlite::Connection;

use super::{Db, PragmaReport, Secrets, StoreError, StoreOptions};

/// The database and the lock file that makes it ours; dropped with the last [`Store`].
struct Shared {
    /// Declared before `_lock`: the connection closes before the lock is released.
    db: Mutex<Db>,
    _lock: std::fs::File,
}

/// An async handle to the store. Cheap to clone; every clone uses the same connection, one
/// job at a time. The database closes (and its lock file is released) with the last handle.
#[derive(Clone)]
pub struct Store {
    shared: Arc<Shared>,
    /// The last storage fault of a write (full disk, I/O error), until a write succeeds.
    fault: Arc<Mutex<Option<String>>>,
    /// Transactions committed through [`Store::write`]: what each register step costs in
    /// durable commits (the engine's tests read it). One that changed nothing counts too,
    /// though SQLite writes and syncs nothing for it.
    commits: Arc<AtomicU64>,
    /// Jobs run on the connection (reads, writes, anything else): each takes the connection
    /// once, which a register step pays for in latency.
    trips: Arc<AtomicU64>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Store")
    }
}

/// Runs `f`, which may block, without stalling the runtime's other tasks: on a worker of the
/// multi-thread runtime they move to another thread first. On a current-thread runtime (the
/// CLI tools, tests) or outside any runtime it simply runs.
pub(crate) fn blocking<T>(f: impl FnOnce() -> T) -> T {
    let multi_thread = tokio::runtime::Handle::try_current()
        .is_ok_and(|h| h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread);
    if multi_thread {
        tokio::task::block_in_place(f)
    } else {
        f()
    }
}

impl Store {
    /// Opens the database (see [`Db::open`] for the checks), off the async workers: the
    /// integrity check and migrations read the whole file.
    pub async fn open(opts: StoreOptions) -> Result<Store, StoreError> {
        let (lock, db) = tokio::task::spawn_blocking(move || {
            // Held as long as the store is open: one `Store` per database at a time.
            let lock = lock_store(&opts.path)?;
            Ok::<_, StoreError>((lock, Db::open(&opts)?))
        })
        .await
        .map_err(|_| StoreError::Closed)??;
        Ok(Store {
            shared: Arc::new(Shared {
                db: Mutex::new(db),
                _lock: lock,
            }),
            fault: Arc::new(Mutex::new(None)),
            commits: Arc::new(AtomicU64::new(0)),
            trips: Arc::new(AtomicU64::new(0)),
        })
    }

    /// Runs `f` with the whole `Db`, one job at a time.
    pub async fn with_db<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Db) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        self.trips.fetch_add(1, Ordering::Relaxed);
        // A job that panicked rolled its transaction back (rusqlite's `Transaction` drop):
        // the connection is sound, so a poisoned lock is taken as it is.
        match self.shared.db.try_lock() {
            Ok(mut db) => f(&mut db),
            Err(TryLockError::Poisoned(p)) => f(&mut p.into_inner()),
            Err(TryLockError::WouldBlock) => blocking(|| f(&mut self.lock())),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Db> {
        self.shared.db.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A `BEGIN IMMEDIATE` transaction: `Ok` means committed durably (see the contract).
    pub async fn write<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Connection, &Secrets) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let res = self.with_db(move |db| db.write(f)).await;
        if res.is_ok() {
            self.commits.fetch_add(1, Ordering::Relaxed);
        }
        let mut fault = self.fault.lock().unwrap_or_else(|e| e.into_inner());
        match &res {
            Ok(_) => {
                if let Some(was) = fault.take() {
                    tracing::info!(fault = %was, "Store writes work again.");
                }
            }
            Err(e) if e.is_storage_fault() => {
                if fault.is_none() {
                    tracing::error!(error = %e, "Store write failed: nothing of it was journaled.");
                }
                *fault = Some(e.to_string());
            }
            Err(_) => {}
        }
        res
    }

    /// How many transactions [`Store::write`] has committed since the store was opened.
    pub fn commits(&self) -> u64 {
        self.commits.load(Ordering::Relaxed)
    }

    /// How many jobs ran on the connection since the store was opened.
    pub fn trips(&self) -> u64 {
        self.trips.load(Ordering::Relaxed)
    }

    /// The storage fault of the last failed write, until a write succeeds again.
    pub fn fault(&self) -> Option<String> {
        self.fault.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// A read (no transaction of its own).
    pub async fn read<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Connection, &Secrets) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        self.with_db(move |db| db.read(f)).await
    }

    /// Checkpoints and truncates the WAL (P1.4); the agent calls it periodically.
    pub async fn checkpoint(&self) -> Result<(), StoreError> {
        self.trips.fetch_add(1, Ordering::Relaxed);
        blocking(|| self.lock().checkpoint())
    }

    /// The pragmas as read back now.
    pub async fn pragmas(&self) -> Result<PragmaReport, StoreError> {
        self.with_db(|db| db.pragmas()).await
    }
}

/// How long opening a store waits for another holder of its lock to let go.
const LOCK_WAIT: std::time::Duration = std::time::Duration::from_secs(2);

/// The lock file for a database: `<db>.lock`.
pub fn lock_path(db: &std::path::Path) -> std::path::PathBuf {
    let mut p = db.as_os_str().to_owned();
    p.push(".lock");
    p.into()
}

/// Takes the exclusive lock (flock) on `<db>.lock` that the writer of a store holds, so a
/// second writer (the operator CLI while the service runs) is refused instead of opening
/// the live database. The kernel drops the lock when the process dies.
fn lock_store(db: &std::path::Path) -> Result<std::fs::File, StoreError> {
    use std::os::unix::fs::OpenOptionsExt;
    let path = lock_path(db);
    let file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o600)
        .open(&path)?;
    // A `Store` just dropped in this process releases the lock when its last handle goes,
    // which a task being stopped may hold a moment longer: wait that long, not for a writer
    // that stays.
    let deadline = std::time::Instant::now() + LOCK_WAIT;
    loop {
        match file.try_lock() {
            Ok(()) => return Ok(file),
            Err(std::fs::TryLockError::WouldBlock) if std::time::Instant::now() < deadline => {
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
            Err(std::fs::TryLockError::WouldBlock) => return Err(StoreError::Locked(path)),
            Err(std::fs::TryLockError::Error(e)) => return Err(e.into()),
        }
    }
}
