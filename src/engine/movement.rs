//! Engine-owned execution of money movements.
//!
//! A request handler never runs a movement itself: it submits it under its idempotency key
//! and waits for the answer up to [`ANSWER_WAIT`]. The movement runs on a task the engine
//! owns, so a register that hangs up, a handler deadline or an API shutdown never cuts it
//! between its journaled intent and its journaled outcome. A retry with the same key while
//! the movement runs waits on the same movement (and gets "pending" at its deadline); after
//! it, the retry reads the journal and gets the first answer.
//!
//! At shutdown [`Movements::drain`] stops new movements and lets the running ones reach a
//! journaled state within the grace; whatever is still running then is left to start-up
//! recovery, which walks every open intent.

use std::collections::HashMap;
use std::future::Future;
use std::sync::Mutex;
use std::time::Duration;

use tokio::sync::{oneshot, watch};
use tokio::time::Instant;
use tokio_util::task::TaskTracker;

use super::{Engine, EngineError};

/// How long a handler waits for its movement before answering "pending". The register may
/// give up sooner; the movement carries on either way.
pub const ANSWER_WAIT: Duration = Duration::from_secs(90);

/// The movements running now, by idempotency key.
#[derive(Default)]
pub(crate) struct Movements {
    running: Mutex<HashMap<String, watch::Receiver<bool>>>,
    tracker: TaskTracker,
}

/// Removes its key and wakes the key's waiters when the movement ends (also on a panic).
struct Running<'a> {
    key: String,
    done: watch::Sender<bool>,
    movements: &'a Movements,
}

impl Drop for Running<'_> {
    fn drop(&mut self) {
        self.movements
            .running
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .remove(&self.key);
        let _ = self.done.send(true);
    }
}

enum Begin {
    Started(watch::Sender<bool>),
    AlreadyRunning(watch::Receiver<bool>),
}

/// What a submitter learns within its wait.
pub(crate) enum Submitted<T> {
    /// The movement's own answer.
    Finished(Result<T, EngineError>),
    /// Still running at the deadline; the movement carries on.
    Pending,
}

impl Movements {
    fn begin(&self, key: &str) -> Result<Begin, EngineError> {
        if self.tracker.is_closed() {
            return Err(EngineError::ShuttingDown);
        }
        let mut running = self
            .running
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(rx) = running.get(key) {
            return Ok(Begin::AlreadyRunning(rx.clone()));
        }
        let (tx, rx) = watch::channel(false);
        running.insert(key.to_owned(), rx);
        Ok(Begin::Started(tx))
    }

    /// Whether a movement runs under `key` now.
    pub(crate) fn is_running(&self, key: &str) -> bool {
        self.running
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .contains_key(key)
    }

    /// Refuses new movements and waits up to `grace` for the running ones. Returns how many
    /// were still running at the end (left to start-up recovery).
    pub(crate) async fn drain(&self, grace: Duration) -> usize {
        self.tracker.close();
        let _ = tokio::time::timeout(grace, self.tracker.wait()).await;
        self.tracker.len()
    }
}

impl Engine {
    /// Runs `movement` on an engine-owned task under `key` and waits for its answer up to
    /// [`ANSWER_WAIT`]. A movement already running under `key` is waited for, then `movement`
    /// is run afresh: it must read the journal first and return the first answer.
    pub(crate) async fn submit<T, F>(
        &self,
        key: String,
        movement: impl Fn(Engine) -> F,
    ) -> Result<Submitted<T>, EngineError>
    where
        T: Send + 'static,
        F: Future<Output = Result<T, EngineError>> + Send + 'static,
    {
        let deadline = Instant::now() + ANSWER_WAIT;
        loop {
            match self.inner.movements.begin(&key)? {
                Begin::Started(done) => {
                    let (tx, rx) = oneshot::channel();
                    let fut = movement(self.clone());
                    let engine = self.clone();
                    let key = key.clone();
                    self.inner.movements.tracker.spawn(async move {
                        let _running = Running {
                            key,
                            done,
                            movements: &engine.inner.movements,
                        };
                        let _ = tx.send(fut.await);
                    });
                    return Ok(match tokio::time::timeout_at(deadline, rx).await {
                        Ok(Ok(r)) => Submitted::Finished(r),
                        Ok(Err(_)) => Submitted::Finished(Err(EngineError::InvalidState(
                            "the movement ended without an answer; see the journal".into(),
                        ))),
                        Err(_) => Submitted::Pending,
                    });
                }
                Begin::AlreadyRunning(mut done) => {
                    match tokio::time::timeout_at(deadline, done.wait_for(|d| *d)).await {
                        Ok(_) => continue,
                        Err(_) => return Ok(Submitted::Pending),
                    }
                }
            }
        }
    }

    /// Stops accepting movements and lets the running ones finish within `grace`; returns
    /// how many were left to start-up recovery.
    pub async fn drain_movements(&self, grace: Duration) -> usize {
        let left = self.inner.movements.drain(grace).await;
        if left > 0 {
            tracing::warn!(
                left,
                "Movements still running at shutdown; start-up recovery resumes them."
            );
        }
        left
    }
}
