//! OIDC client credentials: lazy discovery, a cached access token refreshed at ~80% of its
//! lifetime (monotonic clock), single flight, and the current token kept if a refresh fails
//! while it is still valid (like linkerd's `certify.rs`, `style.md` §2 item 9).

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use openidconnect::core::{CoreClient, CoreErrorResponseType, CoreProviderMetadata};
use openidconnect::{
    ClientId, ClientSecret, DiscoveryError, EndpointMaybeSet, EndpointNotSet, EndpointSet,
    IssuerUrl, OAuth2TokenResponse, RequestTokenError, StandardErrorResponse,
};
use secrecy::{ExposeSecret, SecretString};
use tokio::time::Instant;

use crate::config::PosConfig;
use crate::error::PosError;
use crate::transport::{Http, TransportError};

/// A monotonic clock for token lifetimes. Injectable so tests can move past the refresh
/// point without sleeping.
pub trait Clock: Send + Sync + 'static {
    /// Now, on a monotonic scale.
    fn now(&self) -> Instant;
}

/// The default clock: `tokio::time::Instant::now()` (follows paused time in tests).
#[derive(Debug, Default, Clone, Copy)]
pub struct TokioClock;

impl Clock for TokioClock {
    fn now(&self) -> Instant {
        Instant::now()
    }
}

/// Share of the token lifetime after which a new token is fetched.
const REFRESH_AT: f64 = 0.8;
/// Longest wait before retrying a failed renewal while the current token is still valid.
const REFRESH_RETRY_MAX: Duration = Duration::from_secs(10);
/// Lifetime assumed when the provider omits `expires_in`.
const DEFAULT_LIFETIME: Duration = Duration::from_secs(60);

type DiscoveredClient = CoreClient<
    EndpointSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointMaybeSet,
    EndpointMaybeSet,
>;

/// A bearer token handed to one request. `generation` identifies it for "this one was
/// rejected, give me a fresh one".
#[derive(Clone)]
pub(crate) struct Bearer {
    pub(crate) token: SecretString,
    pub(crate) generation: u64,
}

impl fmt::Debug for Bearer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Bearer(gen {}, [REDACTED])", self.generation)
    }
}

struct Cached {
    bearer: Bearer,
    refresh_at: Instant,
    expires_at: Instant,
}

#[derive(Default)]
struct State {
    client: Option<DiscoveredClient>,
    token: Option<Cached>,
    generation: u64,
}

pub(crate) struct Auth {
    issuer_url: String,
    client_id: String,
    client_secret: SecretString,
    http: Http,
    clock: Arc<dyn Clock>,
    // A tokio Mutex held across the fetch gives single flight: concurrent callers wait for
    // the one refresh instead of stampeding the IdP.
    state: tokio::sync::Mutex<State>,
    fetches: AtomicU64,
}

impl Auth {
    pub(crate) fn new(cfg: &PosConfig, http: Http, clock: Arc<dyn Clock>) -> Self {
        Auth {
            issuer_url: cfg.issuer_url.clone(),
            client_id: cfg.client_id.clone(),
            client_secret: cfg.client_secret.clone(),
            http,
            clock,
            state: tokio::sync::Mutex::new(State::default()),
            fetches: AtomicU64::new(0),
        }
    }

    /// Number of successful token fetches so far.
    pub(crate) fn fetches(&self) -> u64 {
        self.fetches.load(Ordering::Relaxed)
    }

    /// A token for the next request. `rejected` names a token the server refused: it is
    /// never handed out again.
    pub(crate) async fn bearer(&self, rejected: Option<u64>) -> Result<Bearer, PosError> {
        let mut st = self.state.lock().await;
        let now = self.clock.now();
        let usable = |c: &Cached| Some(c.bearer.generation) != rejected;
        if let Some(c) = st.token.as_ref().filter(|c| usable(c))
            && now < c.refresh_at
        {
            return Ok(c.bearer.clone());
        }
        if st.client.is_none() {
            st.client = Some(self.discover().await?);
        }
        let client = st.client.as_ref().expect("set just above");
        match self.fetch(client).await {
            Ok((token, lifetime, fetched_at)) => {
                st.generation += 1;
                let bearer = Bearer {
                    token,
                    generation: st.generation,
                };
                st.token = Some(Cached {
                    bearer: bearer.clone(),
                    refresh_at: fetched_at + lifetime.mul_f64(REFRESH_AT),
                    expires_at: fetched_at + lifetime,
                });
                self.fetches.fetch_add(1, Ordering::Relaxed);
                tracing::debug!(
                    lifetime_s = lifetime.as_secs(),
                    "POS access token obtained."
                );
                Ok(bearer)
            }
            Err(err) => {
                let now = self.clock.now();
                match st
                    .token
                    .as_mut()
                    .filter(|c| Some(c.bearer.generation) != rejected && now < c.expires_at)
                {
                    Some(c) => {
                        // Try again later, not on every call: a hanging IdP would otherwise
                        // add its timeout to each gift-card call while the token is fine.
                        let left = c.expires_at - now;
                        c.refresh_at = now + (left / 4).min(REFRESH_RETRY_MAX);
                        tracing::warn!(error = %err, "POS token refresh failed; keeping the current token until it expires.");
                        Ok(c.bearer.clone())
                    }
                    None => Err(err),
                }
            }
        }
    }

    async fn discover(&self) -> Result<DiscoveredClient, PosError> {
        let issuer = IssuerUrl::new(self.issuer_url.clone())
            .map_err(|e| PosError::Config(format!("issuer_url: {e}")))?;
        let meta = CoreProviderMetadata::discover_async(issuer, &self.http)
            .await
            .map_err(discovery_error)?;
        // Discovery names where the client secret goes: it gets the same rule as the
        // configured URLs (https, or plain http to loopback only), so a provider document
        // cannot send the secret across the network in clear.
        if let Some(endpoint) = meta.token_endpoint() {
            let mut problems = Vec::new();
            crate::config::check_url(
                "token_endpoint (from discovery)",
                endpoint.as_str(),
                &mut problems,
            );
            if !problems.is_empty() {
                return Err(PosError::Config(problems.join("; ")));
            }
        }
        Ok(CoreClient::from_provider_metadata(
            meta,
            ClientId::new(self.client_id.clone()),
            // The secret leaves `SecretString` only here, into openidconnect's redacting type.
            Some(ClientSecret::new(
                self.client_secret.expose_secret().to_owned(),
            )),
        ))
    }

    async fn fetch(
        &self,
        client: &DiscoveredClient,
    ) -> Result<(SecretString, Duration, Instant), PosError> {
        let fetched_at = self.clock.now();
        let req = client
            .exchange_client_credentials()
            .map_err(|e| PosError::Config(format!("token endpoint: {e}")))?;
        let resp = req.request_async(&self.http).await.map_err(token_error)?;
        let lifetime = resp
            .expires_in()
            .filter(|d| !d.is_zero())
            .unwrap_or(DEFAULT_LIFETIME);
        let token = SecretString::from(resp.access_token().secret().clone());
        Ok((token, lifetime, fetched_at))
    }
}

fn discovery_error(e: DiscoveryError<TransportError>) -> PosError {
    match e {
        DiscoveryError::Request(t) => PosError::NotSent {
            operation: "discovery",
            reason: t.to_string(),
        },
        DiscoveryError::Response(status, _, msg) if status.is_server_error() => PosError::NotSent {
            operation: "discovery",
            reason: msg,
        },
        DiscoveryError::Response(_, _, msg) => PosError::Config(format!("discovery: {msg}")),
        DiscoveryError::Validation(msg) => PosError::Config(format!("discovery: {msg}")),
        DiscoveryError::Parse(e) => PosError::Config(format!("discovery document: {e}")),
        DiscoveryError::UrlParse(e) => PosError::Config(format!("issuer_url: {e}")),
        other => PosError::Config(format!("discovery: {other}")),
    }
}

fn token_error(
    e: RequestTokenError<TransportError, StandardErrorResponse<CoreErrorResponseType>>,
) -> PosError {
    match e {
        RequestTokenError::ServerResponse(resp) => match resp.error() {
            CoreErrorResponseType::InvalidClient => PosError::InvalidClient,
            // The IdP's own error object; it never contains the secret.
            _ => PosError::Config(format!("token endpoint refused: {resp}")),
        },
        RequestTokenError::Request(t) => PosError::NotSent {
            operation: "token",
            reason: t.to_string(),
        },
        RequestTokenError::Parse(e, _) => PosError::NotSent {
            operation: "token",
            reason: format!("token answer malformed: {e}"),
        },
        RequestTokenError::Other(msg) => PosError::NotSent {
            operation: "token",
            reason: msg,
        },
    }
}
