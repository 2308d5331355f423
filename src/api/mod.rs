//! The register-facing local HTTP API (interfaces.md §3), server-sent events and metrics.
//!
//! The API translates HTTP to calls on a [`LaneBackend`] and holds no business rules: it
//! checks the bearer token, bounds and validates every request (so bad input changes
//! nothing) and maps [`BackendError`]s to statuses. Every error answer has the shape
//! `{"error":{"code":"…","message":"…"}}`. The OpenAPI document is `docs/openapi.json`,
//! served at `GET /v1/openapi.json`.
//!
//! ```no_run
//! # async fn demo<B: lane_agent::api::LaneBackend>(backend: std::sync::Arc<B>) -> std::io::Result<()> {
//! use lane_agent::api::{self, ApiState};
//! let state = ApiState::new(backend, "token".to_owned().into(), lane_agent::metrics::Metrics::new());
//! let listener = api::bind("127.0.0.1:7311".parse().unwrap()).await?;
//! api::serve(listener, state, async { let _ = tokio::signal::ctrl_c().await; }).await
//! # }
//! ```

mod auth;
pub mod backend;
pub mod bridge;
pub mod error;
pub mod extract;
mod routes;
pub mod types;
pub mod validate;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use secrecy::SecretString;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

pub use auth::tokens_match;
pub use backend::{BackendError, LaneBackend, Resource};
pub use bridge::{bridge_events, follow_events, record_event};
pub use error::ApiError;
pub use routes::{OPENAPI_JSON, RouteSpec, route_specs, router};

use crate::metrics::Metrics;

/// Settings from the `[api]` config section beyond the listen address and token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ApiOptions {
    /// Largest request body accepted, in bytes (`api.max_body_bytes`).
    pub max_body_bytes: usize,
    /// Whether `POST /v1/giftcards/activate` and `/reload` are allowed on this lane
    /// (`api.permissions.giftcard_edit`); when not, they answer 403 `forbidden`.
    pub giftcard_edit: bool,
    /// Whether `POST /v1/giftcards/replace-code` is allowed on this lane
    /// (`api.permissions.giftcard_replace_code`, off by default); when not, it answers 403
    /// `permission_denied` before anything is sent.
    pub giftcard_replace_code: bool,
}

impl Default for ApiOptions {
    fn default() -> Self {
        Self {
            max_body_bytes: validate::MAX_BODY_BYTES,
            giftcard_edit: true,
            giftcard_replace_code: false,
        }
    }
}

/// What every handler shares: the backend, the token, the metrics and the shutdown signal.
pub struct ApiState<B> {
    backend: Arc<B>,
    token: Arc<SecretString>,
    metrics: Metrics,
    options: ApiOptions,
    shutdown: CancellationToken,
}

impl<B> Clone for ApiState<B> {
    fn clone(&self) -> Self {
        Self {
            backend: Arc::clone(&self.backend),
            token: Arc::clone(&self.token),
            metrics: self.metrics.clone(),
            options: self.options,
            shutdown: self.shutdown.clone(),
        }
    }
}

impl<B: LaneBackend> ApiState<B> {
    /// State for the router. `token` is the contents of `api.token_file`; an empty token
    /// refuses every authenticated request.
    pub fn new(backend: Arc<B>, token: SecretString, metrics: Metrics) -> Self {
        Self {
            backend,
            token: Arc::new(token),
            metrics,
            options: ApiOptions::default(),
            shutdown: CancellationToken::new(),
        }
    }

    /// Replaces the default [`ApiOptions`].
    pub fn with_options(mut self, options: ApiOptions) -> Self {
        self.options = options;
        self
    }

    /// Cancelled when [`serve`] begins its graceful shutdown (ends the event streams).
    pub fn shutdown_token(&self) -> CancellationToken {
        self.shutdown.clone()
    }
}

/// Binds the API's listener. A non-loopback address is allowed (the operator chose it) but
/// logged, because the API then answers the network and not only the register on this PC.
pub async fn bind(addr: SocketAddr) -> std::io::Result<TcpListener> {
    let listener = TcpListener::bind(addr).await?;
    if !addr.ip().is_loopback() {
        tracing::warn!(%addr, "Local API listens beyond loopback.");
    }
    Ok(listener)
}

/// Serves the API on `listener` until `shutdown` resolves, then stops accepting, ends the
/// event streams and waits for requests in flight to finish.
pub async fn serve<B: LaneBackend>(
    listener: TcpListener,
    state: ApiState<B>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let streams = state.shutdown.clone();
    if let Ok(addr) = listener.local_addr() {
        tracing::info!(%addr, "Local API listening.");
    }
    axum::serve(listener, router(state))
        .with_graceful_shutdown(async move {
            shutdown.await;
            streams.cancel();
        })
        .await
}
