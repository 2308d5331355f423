//! Link health, published on a `tokio::sync::watch` channel for the agent's status page.

use std::time::Duration;

/// The state of the link to the terminal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkState {
    /// No link (never connected, dropped, or reconnecting).
    Down,
    /// The link is open but the terminal has not accepted a Registration yet.
    Connected,
    /// Registered (06 00 completed): commands can run.
    Registered,
}

/// What the agent shows about the terminal link.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Health {
    /// Current state.
    pub state: LinkState,
    /// The last error seen, if any (never contains card data).
    pub last_error: Option<String>,
    /// Failed connection attempts since the last success.
    pub failed_attempts: u32,
}

impl Default for Health {
    fn default() -> Self {
        Self {
            state: LinkState::Down,
            last_error: None,
            failed_attempts: 0,
        }
    }
}

/// The reconnect schedule, injected so that the agent's one backoff policy
/// (`pos_client::backoff`) decides the delays.
///
/// Each reconnect episode asks for a fresh schedule; the iterator ending means "give up for
/// now" (the command fails with a link error and the next command starts a new episode).
/// Any `Fn() -> impl Iterator<Item = Duration>` closure implements it.
pub trait ReconnectPolicy: Send + Sync + 'static {
    /// A fresh schedule of delays between connection attempts.
    fn schedule(&self) -> Box<dyn Iterator<Item = Duration> + Send>;
}

impl<F, I> ReconnectPolicy for F
where
    F: Fn() -> I + Send + Sync + 'static,
    I: Iterator<Item = Duration> + Send + 'static,
{
    fn schedule(&self) -> Box<dyn Iterator<Item = Duration> + Send> {
        Box::new(self())
    }
}

/// A policy that never retries: one attempt per episode. Useful for tools and tests.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoRetry;

impl ReconnectPolicy for NoRetry {
    fn schedule(&self) -> Box<dyn Iterator<Item = Duration> + Send> {
        Box::new(std::iter::empty())
    }
}
