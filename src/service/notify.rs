//! Talking to the service manager (`sd_notify`), behind a trait so the lifecycle can be
//! observed in tests.

use std::time::Duration;

/// A state change the service reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Notice {
    /// `READY=1`: config valid, store open, API listening.
    Ready,
    /// `WATCHDOG=1`: every heartbeat is recent.
    Watchdog,
    /// `STOPPING=1`: the graceful stop has begun.
    Stopping,
    /// `STATUS=…`: one line for `systemctl status`.
    Status(String),
}

/// Receives the service's notices.
pub trait Notifier: Send + Sync + 'static {
    /// Sends the notices together.
    fn notify(&self, notices: &[Notice]);
    /// The watchdog interval the manager expects, if the watchdog is on.
    fn watchdog_interval(&self) -> Option<Duration>;
}

/// The real one: `NOTIFY_SOCKET` / `WATCHDOG_USEC`; a no-op outside systemd.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemdNotifier;

impl Notifier for SystemdNotifier {
    fn notify(&self, notices: &[Notice]) {
        let states: Vec<sd_notify::NotifyState<'_>> = notices
            .iter()
            .map(|n| match n {
                Notice::Ready => sd_notify::NotifyState::Ready,
                Notice::Watchdog => sd_notify::NotifyState::Watchdog,
                Notice::Stopping => sd_notify::NotifyState::Stopping,
                Notice::Status(s) => sd_notify::NotifyState::Status(s),
            })
            .collect();
        if let Err(error) = sd_notify::notify(&states) {
            tracing::warn!(%error, ?notices, "Could not notify the service manager.");
        }
    }

    fn watchdog_interval(&self) -> Option<Duration> {
        sd_notify::watchdog_enabled()
    }
}
