//! Link state to the POS: set by real call outcomes, healed by the `environment` probe.

use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};
use tokio::sync::{Notify, broadcast};
use tokio_util::sync::CancellationToken;

use super::ports::HostError;
use super::{Engine, EngineEvent};

/// Online or offline, and since when.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LinkState {
    /// Whether the last real call reached the POS.
    pub online: bool,
    /// When this state began (UTC, RFC 3339).
    pub since: String,
}

/// The shared link state; starts online (the first failed call says otherwise). Every POS
/// call's outcome reports here; the link coming back wakes the forwarder.
pub struct Link {
    state: Mutex<LinkState>,
    events: broadcast::Sender<EngineEvent>,
    changed: Notify,
    /// The forwarder's wake-up.
    outbox_wake: Arc<Notify>,
}

impl Link {
    pub(crate) fn new(events: broadcast::Sender<EngineEvent>, outbox_wake: Arc<Notify>) -> Link {
        Link {
            state: Mutex::new(LinkState {
                online: true,
                since: crate::store::now_utc(),
            }),
            events,
            changed: Notify::new(),
            outbox_wake,
        }
    }

    /// The current state.
    pub fn state(&self) -> LinkState {
        self.state.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Whether the POS is believed reachable.
    pub fn is_online(&self) -> bool {
        self.state().online
    }

    /// Records a call outcome; returns true when this changed the state.
    pub fn set(&self, online: bool) -> bool {
        let mut s = self.state.lock().unwrap_or_else(|e| e.into_inner());
        if s.online == online {
            return false;
        }
        *s = LinkState {
            online,
            since: crate::store::now_utc(),
        };
        let ev = EngineEvent::Link {
            online,
            since: s.since.clone(),
        };
        drop(s);
        if online {
            tracing::info!("POS link is back online.");
        } else {
            tracing::warn!("POS link went offline.");
        }
        let _ = self.events.send(ev);
        self.changed.notify_waiters();
        true
    }

    /// A call reached the POS.
    pub(crate) fn up(&self) {
        if self.set(true) {
            self.outbox_wake.notify_one();
        }
    }

    /// A call could not reach the POS.
    pub(crate) fn down(&self) {
        self.set(false);
    }

    /// Reads a failed call: not sent means the link is down, a decline that it is up.
    pub(crate) fn note(&self, e: &HostError) {
        match e {
            HostError::NotSent(_) => self.down(),
            HostError::Declined(_) => self.up(),
            _ => {}
        }
    }

    pub(crate) fn changed(&self) -> tokio::sync::futures::Notified<'_> {
        self.changed.notified()
    }
}

impl Engine {
    /// Probes the POS with `environment` while offline, waiting the probe backoff between
    /// attempts; returns when `shutdown` fires.
    pub async fn run_link_probe(&self, shutdown: CancellationToken) {
        loop {
            while self.inner.link.is_online() {
                let changed = self.inner.link.changed();
                tokio::pin!(changed);
                changed.as_mut().enable();
                if !self.inner.link.is_online() {
                    break;
                }
                tokio::select! {
                    _ = shutdown.cancelled() => return,
                    _ = changed => {}
                }
            }
            let mut delays = (self.inner.cfg.probe_backoff)();
            while !self.inner.link.is_online() {
                let d = delays.next().unwrap_or(std::time::Duration::from_secs(60));
                tokio::select! {
                    _ = shutdown.cancelled() => return,
                    _ = tokio::time::sleep(d) => {}
                    _ = self.inner.link.changed() => continue,
                }
                match self.inner.ports.giftcards.environment().await {
                    Ok(()) => self.inner.link.up(),
                    Err(e) => tracing::debug!(error = %e, "Link probe failed."),
                }
            }
        }
    }
}
