//! Proof of life for the systemd watchdog.
//!
//! A task that must not wedge (the engine loop, the device supervisors, the forwarder)
//! registers a [`Heartbeat`] and calls [`Heartbeat::beat`] from inside its own loop,
//! also when idle (a `select!` arm on an interval of [`Liveness::beat_interval`]). The
//! service sends `WATCHDOG=1` only while every registered heart has beaten recently, so
//! a hung loop stops the pings and systemd restarts the agent.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::time::Instant;

/// The registry of heartbeats the watchdog checks. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Liveness {
    hearts: Arc<Mutex<Vec<Arc<Heart>>>>,
    max_silence: Duration,
}

#[derive(Debug)]
struct Heart {
    name: String,
    last: Mutex<Option<Instant>>,
}

/// One task's heartbeat. Dropping it stops the watchdog from waiting for it.
#[derive(Debug)]
pub struct Heartbeat {
    heart: Arc<Heart>,
    registry: Liveness,
}

impl Liveness {
    /// A registry in which a heart is stale after `max_silence` without a beat.
    pub fn new(max_silence: Duration) -> Self {
        Self {
            hearts: Arc::default(),
            max_silence,
        }
    }

    /// How often a task should beat: a quarter of the allowed silence, so one late
    /// beat does not miss a watchdog ping.
    pub fn beat_interval(&self) -> Duration {
        self.max_silence / 4
    }

    /// Registers a heart named `name`; it counts as having just beaten.
    pub fn register(&self, name: impl Into<String>) -> Heartbeat {
        let heart = Arc::new(Heart {
            name: name.into(),
            last: Mutex::new(Some(Instant::now())),
        });
        self.lock().push(Arc::clone(&heart));
        Heartbeat {
            heart,
            registry: self.clone(),
        }
    }

    /// The names of hearts silent for longer than the allowed silence at `now`.
    pub fn stale(&self, now: Instant) -> Vec<String> {
        self.lock()
            .iter()
            .filter(|h| {
                let last = *h.last.lock().unwrap_or_else(PoisonError::into_inner);
                last.is_none_or(|t| now.saturating_duration_since(t) > self.max_silence)
            })
            .map(|h| h.name.clone())
            .collect()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Arc<Heart>>> {
        self.hearts.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Heartbeat {
    /// Records that the task is making progress.
    pub fn beat(&self) {
        *self
            .heart
            .last
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Some(Instant::now());
    }

    /// How often to call [`beat`](Self::beat).
    pub fn interval(&self) -> Duration {
        self.registry.beat_interval()
    }
}

impl Drop for Heartbeat {
    fn drop(&mut self) {
        self.registry
            .lock()
            .retain(|h| !Arc::ptr_eq(h, &self.heart));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_silent_heart_is_stale_and_a_dropped_one_is_forgotten() {
        let liveness = Liveness::new(Duration::from_secs(10));
        let engine = liveness.register("engine");
        let devices = liveness.register("devices");
        assert_eq!(liveness.beat_interval(), Duration::from_millis(2500));

        tokio::time::advance(Duration::from_secs(8)).await;
        engine.beat();
        tokio::time::advance(Duration::from_secs(3)).await;
        assert_eq!(liveness.stale(Instant::now()), ["devices"]);

        drop(devices);
        assert!(liveness.stale(Instant::now()).is_empty());
        tokio::time::advance(Duration::from_secs(11)).await;
        assert_eq!(liveness.stale(Instant::now()), ["engine"]);
    }
}
