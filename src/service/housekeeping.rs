//! Periodic store housekeeping in the running service (issue 13 item 4, reliability P1.4):
//! `wal_checkpoint(TRUNCATE)` so erased codes do not survive in the WAL and the WAL stays
//! bounded, and cancellation of open sales a register abandoned, so their sealed codes and
//! POS holds do not live forever.

use std::future::Future;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::store::Store;

/// How often the WAL is checkpointed and truncated.
pub const CHECKPOINT_EVERY: Duration = Duration::from_secs(5 * 60);
/// How often open sales are checked for staleness.
pub const SWEEP_EVERY: Duration = Duration::from_secs(5 * 60);
/// An open sale older than this was abandoned (no lane keeps a basket open for hours).
pub const STALE_SALE_AGE: Duration = Duration::from_secs(4 * 60 * 60);

/// The schedule; tests shorten it.
#[derive(Debug, Clone, Copy)]
pub struct Schedule {
    /// Checkpoint period.
    pub checkpoint_every: Duration,
    /// Stale-sale sweep period.
    pub sweep_every: Duration,
}

impl Default for Schedule {
    fn default() -> Self {
        Self {
            checkpoint_every: CHECKPOINT_EVERY,
            sweep_every: SWEEP_EVERY,
        }
    }
}

/// Runs until `stop`: checkpoints `store` and calls `sweep` (the engine's stale-sale
/// cancellation) on their periods. A sweep runs before the checkpoint that follows it, so
/// codes it erases leave the WAL at the next checkpoint. Failures are logged and retried on
/// the next period.
pub async fn run<F, Fut>(store: Store, schedule: Schedule, sweep: F, stop: CancellationToken)
where
    F: Fn() -> Fut,
    Fut: Future<Output = Result<usize, String>>,
{
    let mut checkpoint = tokio::time::interval(schedule.checkpoint_every);
    let mut sweeps = tokio::time::interval(schedule.sweep_every);
    checkpoint.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    sweeps.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            biased;
            () = stop.cancelled() => break,
            _ = sweeps.tick() => match sweep().await {
                Ok(0) => {}
                Ok(n) => tracing::info!(cancelled = n, "Stale open sales cancelled."),
                Err(e) => tracing::warn!(error = %e, "Stale-sale sweep failed; retrying later."),
            },
            _ = checkpoint.tick() => {
                if let Err(e) = store.checkpoint().await {
                    tracing::warn!(error = %e, "WAL checkpoint failed; retrying later.");
                }
            }
        }
    }
    // One last truncation on the way out: a clean stop leaves no WAL behind.
    if let Err(e) = store.checkpoint().await {
        tracing::debug!(error = %e, "Final WAL checkpoint failed.");
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;
    use crate::store::StoreOptions;

    fn wal_len(db: &std::path::Path) -> u64 {
        let wal = db.with_extension("db-wal");
        std::fs::metadata(wal).map(|m| m.len()).unwrap_or(0)
    }

    #[tokio::test]
    async fn checkpoints_truncate_the_wal_and_sweeps_run_on_schedule() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("agent.db");
        let store = Store::open(StoreOptions::new(&path)).await.unwrap();
        store
            .write(|c, _| {
                c.execute_batch(
                    "CREATE TABLE hk(x BLOB); INSERT INTO hk VALUES (randomblob(20000));",
                )?;
                Ok(())
            })
            .await
            .unwrap();
        assert!(wal_len(&path) > 0, "the write went to the WAL");
        let sweeps = Arc::new(AtomicUsize::new(0));
        let stop = CancellationToken::new();
        let task = tokio::spawn({
            let (store, sweeps, stop) = (store.clone(), Arc::clone(&sweeps), stop.clone());
            async move {
                run(
                    store,
                    Schedule {
                        checkpoint_every: Duration::from_millis(20),
                        sweep_every: Duration::from_millis(20),
                    },
                    move || {
                        let sweeps = Arc::clone(&sweeps);
                        async move {
                            sweeps.fetch_add(1, Ordering::SeqCst);
                            Ok(0)
                        }
                    },
                    stop,
                )
                .await;
            }
        });
        // Wait (bounded) for the first checkpoint to truncate the WAL and a second sweep.
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        while wal_len(&path) > 0 || sweeps.load(Ordering::SeqCst) < 2 {
            assert!(
                tokio::time::Instant::now() < deadline,
                "no checkpoint/sweep"
            );
            tokio::task::yield_now().await;
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        stop.cancel();
        tokio::time::timeout(Duration::from_secs(5), task)
            .await
            .unwrap()
            .unwrap();
    }
}
