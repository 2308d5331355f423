//! Shared state of one simulator: data, clock, armed faults.

use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};

use super::db::{Caller, Db, TokenInfo};
use super::faults::FaultTable;
use super::seed::{Seed, SeedEnvironment};

/// Everything the HTTP handlers and the control API share.
pub(crate) struct SimState {
    pub environment: SeedEnvironment,
    pub token_ttl: Duration,
    pub delay_period: Duration,
    pub faults: FaultTable,
    clock_offset: Mutex<TimeDelta>,
    db: Mutex<Db>,
    /// The live console's lines (requests, answers, faults, outages), in words.
    live: tokio::sync::broadcast::Sender<String>,
}

impl SimState {
    pub(crate) fn new(seed: &Seed) -> SimState {
        SimState {
            environment: seed.environment.clone(),
            token_ttl: Duration::from_secs(seed.token_ttl_secs),
            delay_period: Duration::from_secs(seed.delay_period_secs),
            faults: FaultTable::default(),
            clock_offset: Mutex::new(TimeDelta::zero()),
            db: Mutex::new(Db::from_seed(seed)),
            live: tokio::sync::broadcast::channel(1024).0,
        }
    }

    /// Publishes a live-console line; nobody listening is fine.
    pub(crate) fn live(&self, line: String) {
        let _ = self.live.send(line);
    }

    /// Subscribes to the live-console lines.
    pub(crate) fn live_lines(&self) -> tokio::sync::broadcast::Receiver<String> {
        self.live.subscribe()
    }

    /// The simulated clock: wall clock plus everything `advance_clock` added.
    pub(crate) fn now(&self) -> DateTime<Utc> {
        Utc::now() + *self.clock_offset.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn advance_clock(&self, by: Duration) {
        let by = TimeDelta::from_std(by).unwrap_or(TimeDelta::MAX);
        let mut offset = self.clock_offset.lock().unwrap_or_else(|e| e.into_inner());
        *offset = offset.checked_add(&by).unwrap_or(TimeDelta::MAX);
    }

    /// The data. Never held across an `.await`.
    pub(crate) fn db(&self) -> MutexGuard<'_, Db> {
        // Every mutation checks before it changes anything, so a poisoned lock still
        // guards consistent data.
        self.db.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Runs the Delay Period task once.
    pub(crate) fn sweep(&self) -> usize {
        let now = self.now();
        let delay = TimeDelta::from_std(self.delay_period).unwrap_or(TimeDelta::MAX);
        let cancelled = self.db().sweep(now, delay);
        if cancelled > 0 {
            tracing::info!(
                cancelled,
                "Delay Period cancelled gift-card authorizations."
            );
        }
        cancelled
    }

    /// Checks a client's credentials.
    pub(crate) fn check_client(&self, id: &str, secret: &str) -> bool {
        self.db()
            .clients
            .get(id)
            .is_some_and(|c| c.secret.as_bytes() == secret.as_bytes())
    }

    /// Issues an opaque bearer token.
    pub(crate) fn issue_token(&self, client_id: &str) -> String {
        let token = hex(&rand::random::<[u8; 32]>());
        let now = self.now();
        let expires_at = now + TimeDelta::from_std(self.token_ttl).unwrap_or(TimeDelta::MAX);
        let mut db = self.db();
        db.tokens.retain(|_, t| t.expires_at > now);
        db.tokens.insert(
            token.clone(),
            TokenInfo {
                client_id: client_id.to_owned(),
                expires_at,
            },
        );
        token
    }

    /// The client a token belongs to, if it is known and not expired.
    pub(crate) fn authenticate(&self, token: &str) -> Option<Caller> {
        let now = self.now();
        let db = self.db();
        let info = db.tokens.get(token).filter(|t| t.expires_at > now)?;
        let client = db.clients.get(&info.client_id)?;
        Some(Caller {
            client_id: client.id.clone(),
            permissions: client.permissions.iter().cloned().collect(),
        })
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
