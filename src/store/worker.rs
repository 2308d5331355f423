//! The writer thread: owns the `Connection`; async callers send it closures.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::thread;

use rusqlite::Connection;
use tokio::sync::oneshot;

use super::{Db, PragmaReport, Secrets, StoreError, StoreOptions};

type Job = Box<dyn FnOnce(&mut Db) + Send + 'static>;

/// An async handle to the store. Cheap to clone; every clone talks to the same writer thread.
/// The thread ends (closing the database) when the last handle is dropped.
#[derive(Clone)]
pub struct Store {
    tx: mpsc::Sender<Job>,
    /// The last storage fault of a write (full disk, I/O error), until a write succeeds.
    fault: Arc<Mutex<Option<String>>>,
    /// Transactions committed through [`Store::write`]: what each register step costs in
    /// durable commits (the engine's tests read it). One that changed nothing counts too,
    /// though SQLite writes and syncs nothing for it.
    commits: Arc<AtomicU64>,
    /// Jobs sent to the writer thread (reads, writes, anything else): each is a hand-off
    /// between threads, which a register step pays for in latency.
    trips: Arc<AtomicU64>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Store")
    }
}

impl Store {
    /// Opens the database on a new thread (see [`Db::open`] for the checks).
    pub async fn open(opts: StoreOptions) -> Result<Store, StoreError> {
        let (tx, rx) = mpsc::channel::<Job>();
        let (ready_tx, ready_rx) = oneshot::channel();
        thread::Builder::new()
            .name("lane-store".into())
            .spawn(move || {
                // Held for the life of this thread: one `Store` per database at a time.
                let _lock = match lock_store(&opts.path) {
                    Ok(l) => l,
                    Err(e) => {
                        let _ = ready_tx.send(Err(e));
                        return;
                    }
                };
                let mut db = match Db::open(&opts) {
                    Ok(db) => {
                        let _ = ready_tx.send(Ok(()));
                        db
                    }
                    Err(e) => {
                        let _ = ready_tx.send(Err(e));
                        return;
                    }
                };
                while let Ok(job) = rx.recv() {
                    job(&mut db);
                }
            })?;
        ready_rx.await.map_err(|_| StoreError::Closed)??;
        Ok(Store {
            tx,
            fault: Arc::new(Mutex::new(None)),
            commits: Arc::new(AtomicU64::new(0)),
            trips: Arc::new(AtomicU64::new(0)),
        })
    }

    /// Runs `f` on the writer thread with the whole `Db`.
    pub async fn with_db<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Db) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let (otx, orx) = oneshot::channel();
        self.trips.fetch_add(1, Ordering::Relaxed);
        self.tx
            .send(Box::new(move |db: &mut Db| {
                let _ = otx.send(f(db));
            }))
            .map_err(|_| StoreError::Closed)?;
        orx.await.map_err(|_| StoreError::Closed)?
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

    /// How many jobs went to the writer thread since the store was opened.
    pub fn trips(&self) -> u64 {
        self.trips.load(Ordering::Relaxed)
    }

    /// The storage fault of the last failed write, until a write succeeds again.
    pub fn fault(&self) -> Option<String> {
        self.fault.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// A read on the writer thread.
    pub async fn read<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Connection, &Secrets) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        self.with_db(move |db| db.read(f)).await
    }

    /// Checkpoints and truncates the WAL (P1.4); the agent calls it periodically.
    pub async fn checkpoint(&self) -> Result<(), StoreError> {
        self.with_db(|db| db.checkpoint()).await
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
    // A `Store` just dropped in this process releases the lock when its thread ends, a
    // moment later: wait that long, not for a writer that stays.
    let deadline = std::time::Instant::now() + LOCK_WAIT;
    loop {
        match file.try_lock() {
            Ok(()) => return Ok(file),
            Err(std::fs::TryLockError::WouldBlock) if std::time::Instant::now() < deadline => {
                thread::sleep(std::time::Duration::from_millis(20));
            }
            Err(std::fs::TryLockError::WouldBlock) => return Err(StoreError::Locked(path)),
            Err(std::fs::TryLockError::Error(e)) => return Err(e.into()),
        }
    }
}
