//! The writer thread: owns the `Connection`; async callers send it closures.

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
        })
    }

    /// Runs `f` on the writer thread with the whole `Db`.
    pub async fn with_db<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Db) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let (otx, orx) = oneshot::channel();
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
