//! Device health: the state table behind snapshots, and the events announcing changes.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use cardreader::ClassifiedRead;
use chrono::{DateTime, Utc};
use tokio::sync::broadcast;
use tokio::time::Instant;

use super::spec::DeviceKind;

/// Whether a device can be used.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DeviceState {
    /// Open and reading.
    Up,
    /// Absent or failing to open; the supervisor keeps looking for it.
    Down,
    /// Open but not fully working: repeated unreadable input, or a wedge that could not be
    /// grabbed exclusively.
    Degraded,
}

impl DeviceState {
    /// `up`, `down` or `degraded` (the status API's spelling).
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Up => "up",
            Self::Down => "down",
            Self::Degraded => "degraded",
        }
    }
}

impl std::fmt::Display for DeviceState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A device's health at one moment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeviceHealth {
    /// The configured name.
    pub name: String,
    /// What it is.
    pub kind: DeviceKind,
    /// Up, down or degraded.
    pub state: DeviceState,
    /// The latest error (open failure, read error, rejected input); never card data.
    pub last_error: Option<String>,
    /// When the device last produced a read.
    pub last_read_at: Option<DateTime<Utc>>,
    /// When `state` last changed.
    pub state_since: DateTime<Utc>,
    /// Attempts to find and open the device since it was last up (0 while up).
    pub open_attempts: u64,
}

/// What the device layer announces on its broadcast channel.
#[derive(Clone, Debug)]
pub enum DeviceEvent {
    /// A device changed state.
    StateChanged {
        /// The device.
        name: String,
        /// What it is (a terminal or a reader's kind).
        kind: DeviceKind,
        /// The new state.
        state: DeviceState,
    },
    /// A reader produced a read (a bank card arrives only as
    /// [`ClassifiedRead::PaymentCard`], without data).
    Read {
        /// The reader.
        name: String,
        /// What was read.
        read: ClassifiedRead,
    },
}

struct Entry {
    health: DeviceHealth,
    last_tick: Instant,
}

/// Devices by name, plus their registration order for snapshots.
#[derive(Default)]
struct Entries {
    order: Vec<String>,
    map: HashMap<String, Entry>,
}

/// The table all supervisors write and snapshots read. Cheap to clone.
#[derive(Clone)]
pub(crate) struct HealthTable {
    entries: Arc<Mutex<Entries>>,
    events: broadcast::Sender<DeviceEvent>,
}

impl HealthTable {
    pub(crate) fn new(capacity: usize) -> Self {
        let (events, _) = broadcast::channel(capacity.max(1));
        Self {
            entries: Arc::default(),
            events,
        }
    }

    fn lock(&self) -> MutexGuard<'_, Entries> {
        // A poisoned lock only means a panic elsewhere; the table itself stays consistent.
        self.entries
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    pub(crate) fn subscribe(&self) -> broadcast::Receiver<DeviceEvent> {
        self.events.subscribe()
    }

    /// Adds a device in state `Down`; false if the name is taken.
    pub(crate) fn insert(&self, name: &str, kind: DeviceKind) -> bool {
        let mut guard = self.lock();
        let Entries { order, map } = &mut *guard;
        if map.contains_key(name) {
            return false;
        }
        order.push(name.to_owned());
        let health = DeviceHealth {
            name: name.to_owned(),
            kind,
            state: DeviceState::Down,
            last_error: None,
            last_read_at: None,
            state_since: Utc::now(),
            open_attempts: 0,
        };
        map.insert(
            name.to_owned(),
            Entry {
                health,
                last_tick: Instant::now(),
            },
        );
        true
    }

    pub(crate) fn remove(&self, name: &str) {
        let mut guard = self.lock();
        let Entries { order, map } = &mut *guard;
        order.retain(|n| n != name);
        map.remove(name);
    }

    /// Sets the state (and error); announces and logs it if it changed.
    pub(crate) fn set_state(&self, name: &str, state: DeviceState, error: Option<String>) {
        let changed = {
            let mut guard = self.lock();
            let Some(entry) = guard.map.get_mut(name) else {
                return;
            };
            entry.last_tick = Instant::now();
            if error.is_some() {
                entry.health.last_error.clone_from(&error);
            }
            if state == DeviceState::Up {
                entry.health.open_attempts = 0;
            }
            let changed = entry.health.state != state;
            if changed {
                entry.health.state = state;
                entry.health.state_since = Utc::now();
            }
            changed.then_some(entry.health.kind)
        };
        if let Some(kind) = changed {
            match (state, &error) {
                (DeviceState::Up, _) => {
                    tracing::info!(device = name, state = %state, "Device is up.")
                }
                (_, Some(error)) => {
                    tracing::warn!(device = name, state = %state, %error, "Device is not fully usable.")
                }
                (_, None) => {
                    tracing::warn!(device = name, state = %state, "Device is not fully usable.")
                }
            }
            let _ = self.events.send(DeviceEvent::StateChanged {
                name: name.to_owned(),
                kind,
                state,
            });
        }
    }

    pub(crate) fn state(&self, name: &str) -> Option<DeviceState> {
        self.lock().map.get(name).map(|e| e.health.state)
    }

    /// Records a failed attempt to find or open the device.
    pub(crate) fn attempt_failed(&self, name: &str, error: String) {
        {
            let mut guard = self.lock();
            if let Some(entry) = guard.map.get_mut(name) {
                entry.health.open_attempts += 1;
                entry.last_tick = Instant::now();
            }
        }
        self.set_state(name, DeviceState::Down, Some(error));
    }

    pub(crate) fn set_error(&self, name: &str, error: String) {
        if let Some(entry) = self.lock().map.get_mut(name) {
            entry.health.last_error = Some(error);
        }
    }

    pub(crate) fn tick(&self, name: &str) {
        if let Some(entry) = self.lock().map.get_mut(name) {
            entry.last_tick = Instant::now();
        }
    }

    /// Records and announces a read.
    pub(crate) fn read(&self, name: &str, read: ClassifiedRead) {
        if let Some(entry) = self.lock().map.get_mut(name) {
            entry.health.last_read_at = Some(Utc::now());
            entry.last_tick = Instant::now();
        }
        let _ = self.events.send(DeviceEvent::Read {
            name: name.to_owned(),
            read,
        });
    }

    pub(crate) fn snapshot(&self) -> Vec<DeviceHealth> {
        let guard = self.lock();
        let Entries { order, map } = &*guard;
        order
            .iter()
            .filter_map(|name| map.get(name))
            .map(|e| e.health.clone())
            .collect()
    }

    pub(crate) fn stalled(&self, max_age: Duration, supervised: &[String]) -> Vec<String> {
        let guard = self.lock();
        supervised
            .iter()
            .filter(|name| {
                guard
                    .map
                    .get(*name)
                    .is_some_and(|e| e.last_tick.elapsed() > max_age)
            })
            .cloned()
            .collect()
    }
}
