//! Device supervision: card readers and scanners (and the terminal's health) for the lane.
//!
//! Each configured reader ([`ReaderSpec`]) gets a supervisor task that finds it by stable
//! path or USB identity, opens it, turns its bytes into [`cardreader::ClassifiedRead`]s and
//! publishes them as [`DeviceEvent`]s on a broadcast channel. Unplugging is noticed within a
//! second (EOF/EIO, or the path vanishing), the device is marked down, and the task polls for
//! it with the shared backoff (capped at 250 ms) until it returns, without a restart.
//! [`DeviceRegistry::snapshot`] gives every device's [`DeviceHealth`] for `status` and the API.
//!
//! Card data never leaves this module except as a classified read: bank cards arrive as
//! [`cardreader::ClassifiedRead::PaymentCard`] with no data, codes are masked in logs, and
//! errors name positions and causes only.

mod health;
mod pipeline;
mod spec;
mod supervise;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use cardreader::Classifier;
use pos_client::backoff::Backoff;
use tokio::sync::broadcast;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

pub use health::{DeviceEvent, DeviceHealth, DeviceState};
pub use spec::{
    BadLocator, DeviceKind, DeviceLocator, LocateError, ReaderKind, ReaderSpec, UnknownReaderKind,
    pick_usb_port,
};

/// Timing of the supervisors.
#[derive(Clone, Debug)]
pub struct SupervisorOptions {
    /// Polling for an absent device: the n-th wait is `poll.ceiling(n)` (no jitter: the
    /// device is local, there is no fleet to spread).
    pub poll: Backoff,
    /// How often an open device's path is checked (and the task reports progress).
    pub path_check: Duration,
    /// Idle time after which a multi-line swipe is complete.
    pub idle_flush: Duration,
    /// Unreadable reads in a row that make a reader degraded.
    pub degraded_after: u32,
    /// Capacity of the event channel (slow subscribers lag and skip, never block readers).
    pub event_capacity: usize,
}

impl Default for SupervisorOptions {
    fn default() -> Self {
        let poll = Backoff::try_new(
            Duration::from_millis(50),
            Duration::from_millis(250),
            u32::MAX,
        )
        .map(Backoff::without_jitter)
        .unwrap_or_else(|_| unreachable!("constant backoff parameters are valid"));
        Self {
            poll,
            path_check: Duration::from_millis(250),
            idle_flush: Duration::from_millis(80),
            degraded_after: 3,
            event_capacity: 256,
        }
    }
}

/// Why a device cannot be registered.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DeviceError {
    /// Two devices with one name.
    #[error("device name {0:?} is used twice")]
    DuplicateName(String),
    /// A combination this module does not support.
    #[error("reader {name:?}: {reason}")]
    Unsupported {
        /// The reader.
        name: String,
        /// What is unsupported.
        reason: &'static str,
    },
}

/// All supervised devices: spawn readers, subscribe to events, take health snapshots.
pub struct DeviceRegistry {
    table: health::HealthTable,
    classifier: Arc<Classifier>,
    options: SupervisorOptions,
    cancel: CancellationToken,
    tasks: Mutex<Vec<(String, JoinHandle<()>)>>,
}

impl DeviceRegistry {
    /// An empty registry classifying reads with `classifier`.
    #[must_use]
    pub fn new(classifier: Classifier, options: SupervisorOptions) -> Self {
        Self {
            table: health::HealthTable::new(options.event_capacity),
            classifier: Arc::new(classifier),
            options,
            cancel: CancellationToken::new(),
            tasks: Mutex::new(Vec::new()),
        }
    }

    /// A registry supervising every reader in `specs` (must run inside a tokio runtime).
    ///
    /// # Errors
    /// [`DeviceError`] for duplicate names or unsupported combinations; nothing is started
    /// then.
    pub fn start(
        specs: Vec<ReaderSpec>,
        classifier: Classifier,
        options: SupervisorOptions,
    ) -> Result<Self, DeviceError> {
        for (index, spec) in specs.iter().enumerate() {
            validate(spec)?;
            if specs[..index].iter().any(|other| other.name == spec.name) {
                return Err(DeviceError::DuplicateName(spec.name.clone()));
            }
        }
        let registry = Self::new(classifier, options);
        for spec in specs {
            registry.spawn_reader(spec)?;
        }
        Ok(registry)
    }

    /// Starts supervising one more reader (inside a tokio runtime). It starts `Down` and
    /// announces `Up` once open.
    ///
    /// # Errors
    /// [`DeviceError`] for a duplicate name or an unsupported combination.
    pub fn spawn_reader(&self, spec: ReaderSpec) -> Result<(), DeviceError> {
        validate(&spec)?;
        if !self.table.insert(&spec.name, spec.kind.into()) {
            return Err(DeviceError::DuplicateName(spec.name));
        }
        let name = spec.name.clone();
        let supervisor = supervise::Supervisor {
            spec,
            table: self.table.clone(),
            classifier: Arc::clone(&self.classifier),
            options: self.options.clone(),
            cancel: self.cancel.child_token(),
        };
        let task = tokio::spawn(supervisor.run());
        self.lock_tasks().push((name, task));
        Ok(())
    }

    /// Registers a device supervised elsewhere (the payment terminal): its driver reports
    /// state through the returned handle, and it appears in snapshots and events.
    ///
    /// # Errors
    /// [`DeviceError::DuplicateName`].
    pub fn register_external(
        &self,
        name: impl Into<String>,
        kind: DeviceKind,
    ) -> Result<DeviceReporter, DeviceError> {
        let name = name.into();
        if !self.table.insert(&name, kind) {
            return Err(DeviceError::DuplicateName(name));
        }
        Ok(DeviceReporter {
            name,
            table: self.table.clone(),
        })
    }

    /// A receiver of all device events from now on.
    #[must_use]
    pub fn subscribe(&self) -> broadcast::Receiver<DeviceEvent> {
        self.table.subscribe()
    }

    /// Every device's health, in registration order.
    #[must_use]
    pub fn snapshot(&self) -> Vec<DeviceHealth> {
        self.table.snapshot()
    }

    /// Whether any reader is configured (the terminal does not count).
    #[must_use]
    pub fn has_readers(&self) -> bool {
        self.table
            .snapshot()
            .iter()
            .any(|h| h.kind != DeviceKind::Terminal)
    }

    /// Classifies a track 2 another device read (the payment terminal's Read Card) by the
    /// readers' rules: a bank card's data is dropped here like a swipe's. `None` when it is
    /// not a track.
    #[must_use]
    pub fn classify_track2(&self, track2: &str) -> Option<cardreader::ClassifiedRead> {
        let line = zeroize::Zeroizing::new(format!(";{track2}?"));
        let swipe =
            cardreader::track::parse_swipe(line.as_bytes(), cardreader::track::LrcMode::Absent)
                .ok()?;
        Some(self.classifier.classify(cardreader::RawRead::Swipe(swipe)))
    }

    /// Supervised readers whose task has shown no progress for `max_age` (for the systemd
    /// watchdog: a wedged task is a reason to withhold `WATCHDOG=1`). Tasks tick at least
    /// every `path_check` while a device is up and every poll while it is down.
    #[must_use]
    pub fn stalled(&self, max_age: Duration) -> Vec<String> {
        let tasks = self.lock_tasks();
        let mut names: Vec<String> = tasks
            .iter()
            .filter(|(_, task)| task.is_finished())
            .map(|(n, _)| n.clone())
            .collect();
        let running: Vec<String> = tasks
            .iter()
            .filter(|(_, task)| !task.is_finished())
            .map(|(n, _)| n.clone())
            .collect();
        drop(tasks);
        names.extend(self.table.stalled(max_age, &running));
        names
    }

    /// Stops every supervisor and closes the devices; waits up to `grace` for them.
    pub async fn shutdown(&self, grace: Duration) {
        self.cancel.cancel();
        let tasks: Vec<(String, JoinHandle<()>)> = std::mem::take(&mut *self.lock_tasks());
        for (name, task) in tasks {
            let abort = task.abort_handle();
            if tokio::time::timeout(grace, task).await.is_err() {
                tracing::warn!(device = %name, "Device task did not stop in time; aborted.");
                abort.abort();
            }
            self.table.remove(&name);
        }
    }

    fn lock_tasks(&self) -> std::sync::MutexGuard<'_, Vec<(String, JoinHandle<()>)>> {
        self.tasks
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl Drop for DeviceRegistry {
    fn drop(&mut self) {
        self.cancel.cancel();
    }
}

fn validate(spec: &ReaderSpec) -> Result<(), DeviceError> {
    if spec.name.trim().is_empty() {
        return Err(DeviceError::Unsupported {
            name: spec.name.clone(),
            reason: "the name is empty",
        });
    }
    if spec.kind == ReaderKind::HidWedge && matches!(spec.device, DeviceLocator::Usb { .. }) {
        return Err(DeviceError::Unsupported {
            name: spec.name.clone(),
            reason: "hid-wedge needs a path (/dev/input/by-id/… or a udev symlink), not usb:VID:PID",
        });
    }
    Ok(())
}

/// Reports the health of a device supervised outside this module (e.g. the terminal).
#[derive(Clone)]
pub struct DeviceReporter {
    name: String,
    table: health::HealthTable,
}

impl DeviceReporter {
    /// Sets the device's state (announced if it changed) and, optionally, its last error.
    /// Never pass card data in `error`.
    pub fn set_state(&self, state: DeviceState, error: Option<String>) {
        self.table.set_state(&self.name, state, error);
    }

    /// Marks progress (for [`DeviceRegistry::stalled`]-style checks by the owner).
    pub fn tick(&self) {
        self.table.tick(&self.name);
    }
}

impl std::fmt::Debug for DeviceReporter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DeviceReporter")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}
