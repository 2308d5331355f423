//! The sync loop: a pass every `interval ± jitter`, paused while the link is offline, resumed
//! from the stored `until` values (a restart resumes the same way).

use std::sync::Arc;
use std::time::Duration;

use rand::Rng;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use super::Mirror;
use super::source::CatalogSource;
use super::sync::{SyncOutcome, SyncReport, sync_once};

/// When and how to sync.
#[derive(Debug, Clone, PartialEq)]
pub struct SyncSchedule {
    /// Time between passes, e.g. 300 s.
    pub interval: Duration,
    /// Spread as a fraction of `interval` (0.2 = ±20 %), so that a store's lanes do not all
    /// hit the POS at the same second. Clamped to 0..=0.9.
    pub jitter: f64,
    /// Rows asked for per page.
    pub page_size: u32,
}

impl Default for SyncSchedule {
    fn default() -> Self {
        SyncSchedule {
            interval: Duration::from_secs(300),
            jitter: 0.2,
            page_size: 500,
        }
    }
}

impl SyncSchedule {
    /// The delay before the next pass: `interval × (1 ± jitter)`, uniformly.
    pub fn next_delay(&self, rng: &mut impl Rng) -> Duration {
        let j = self.jitter.clamp(0.0, 0.9);
        let factor = if j > 0.0 {
            1.0 + rng.random_range(-j..=j)
        } else {
            1.0
        };
        self.interval.mul_f64(factor)
    }
}

/// What the loop has done so far (published on a `watch` channel).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SyncStatus {
    /// Passes finished (including ones that stopped early).
    pub passes: u64,
    /// The last pass's report.
    pub last: Option<SyncReport>,
    /// The last mirror-file error, if the last pass ended with one.
    pub last_error: Option<String>,
    /// True while the loop waits for the link to come back.
    pub paused: bool,
}

fn stopped_by_link(report: &SyncReport) -> bool {
    report
        .entities
        .iter()
        .any(|(_, o)| matches!(o, SyncOutcome::Paused { .. }))
}

/// Runs passes until `shutdown`: waits while `online` is `false`, runs a pass, waits the
/// jittered interval (or, after a pass cut short by the link, until the link is back).
pub async fn run_schedule(
    mirror: Mirror,
    source: Arc<dyn CatalogSource>,
    schedule: SyncSchedule,
    mut online: watch::Receiver<bool>,
    status: watch::Sender<SyncStatus>,
    shutdown: CancellationToken,
) {
    loop {
        if !*online.borrow() {
            status.send_modify(|s| s.paused = true);
            tracing::info!("Mirror sync paused while the link is offline.");
            tokio::select! {
                _ = shutdown.cancelled() => return,
                r = online.wait_for(|up| *up) => if r.is_err() { return },
            }
            status.send_modify(|s| s.paused = false);
        }
        let result = sync_once(&mirror, source.as_ref(), schedule.page_size, Some(&online)).await;
        let cut_short = matches!(&result, Ok(r) if stopped_by_link(r));
        status.send_modify(|s| {
            s.passes += 1;
            match result {
                Ok(r) => {
                    s.last = Some(r);
                    s.last_error = None;
                }
                Err(e) => {
                    tracing::error!(error = %e, "Mirror sync pass failed on the mirror file.");
                    s.last_error = Some(e.to_string());
                }
            }
        });
        if cut_short {
            continue;
        }
        let delay = schedule.next_delay(&mut rand::rng());
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tokio::time::sleep(delay) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delay_stays_within_the_jitter_band_and_varies() {
        let s = SyncSchedule {
            interval: Duration::from_secs(300),
            jitter: 0.2,
            page_size: 100,
        };
        let mut rng = rand::rng();
        let delays: Vec<Duration> = (0..1000).map(|_| s.next_delay(&mut rng)).collect();
        assert!(
            delays
                .iter()
                .all(|d| *d >= Duration::from_secs(240) && *d <= Duration::from_secs(360))
        );
        assert!(delays.iter().any(|d| *d < Duration::from_secs(270)));
        assert!(delays.iter().any(|d| *d > Duration::from_secs(330)));
        let flat = SyncSchedule { jitter: 0.0, ..s };
        assert_eq!(flat.next_delay(&mut rng), Duration::from_secs(300));
    }
}
