//! OIDC client credentials: lazy discovery, a cached access token refreshed at ~80% of its
//! lifetime (monotonic clock), single flight, and the current token kept if a refresh fails
//! while it is still valid (like linkerd's `certify.rs`, `style.md` §2 item 9).

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use openidconnect::core::{CoreClient, CoreErrorResponseType};
use openidconnect::{
    ClientId, ClientSecret, EndpointMaybeSet, EndpointNotSet, EndpointSet, OAuth2TokenResponse,
    RequestTokenError, StandardErrorResponse,
};
use secrecy::{ExposeSecret, SecretString};
use tokio::time::Instant;

use crate::config::PosConfig;
use crate::discovery::{self, Discovery, DiscoveryError, TokenError, TokenInfo};
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
        match self.fetch_into(&mut st).await {
            Ok((bearer, _)) => Ok(bearer),
            Err(TokenError::Discovery(err)) => Err(err.into()),
            Err(err) => {
                let err = PosError::from(err);
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

    /// Discovery now (not lazily); the client keeps what it found for later calls.
    pub(crate) async fn discover_now(&self) -> Result<Discovery, DiscoveryError> {
        let found = discovery::discover(&self.http, &self.issuer_url).await?;
        self.state.lock().await.client = Some(self.client_from(&found));
        Ok(found)
    }

    /// A fresh token now, whatever the cache holds; it becomes the cached token.
    pub(crate) async fn fetch_now(&self) -> Result<TokenInfo, TokenError> {
        let mut st = self.state.lock().await;
        self.fetch_into(&mut st).await.map(|(_, info)| info)
    }

    /// Discovers if needed, fetches a token and caches it.
    async fn fetch_into(&self, st: &mut State) -> Result<(Bearer, TokenInfo), TokenError> {
        if st.client.is_none() {
            let found = discovery::discover(&self.http, &self.issuer_url).await?;
            st.client = Some(self.client_from(&found));
        }
        let client = st.client.as_ref().expect("set just above");
        let (token, lifetime, fetched_at, expires_in) = self.fetch(client).await?;
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
        Ok((bearer, TokenInfo { expires_in }))
    }

    fn client_from(&self, found: &Discovery) -> DiscoveredClient {
        CoreClient::from_provider_metadata(
            found.metadata.clone(),
            ClientId::new(self.client_id.clone()),
            // The secret leaves `SecretString` only here, into openidconnect's redacting type.
            Some(ClientSecret::new(
                self.client_secret.expose_secret().to_owned(),
            )),
        )
    }

    async fn fetch(
        &self,
        client: &DiscoveredClient,
    ) -> Result<(SecretString, Duration, Instant, Option<Duration>), TokenError> {
        let fetched_at = self.clock.now();
        let req = client
            .exchange_client_credentials()
            .map_err(|e| TokenError::Setup(e.to_string()))?;
        let resp = req.request_async(&self.http).await.map_err(token_error)?;
        let expires_in = resp.expires_in();
        let lifetime = expires_in
            .filter(|d| !d.is_zero())
            .unwrap_or(DEFAULT_LIFETIME);
        let token = SecretString::from(resp.access_token().secret().clone());
        Ok((token, lifetime, fetched_at, expires_in))
    }
}

fn token_error(
    e: RequestTokenError<TransportError, StandardErrorResponse<CoreErrorResponseType>>,
) -> TokenError {
    match e {
        // The IdP's own error code; it never contains the secret.
        RequestTokenError::ServerResponse(resp) => TokenError::Refused {
            code: resp.error().as_ref().to_owned(),
        },
        RequestTokenError::Request(t) => TokenError::Unreachable(t.to_string()),
        RequestTokenError::Parse(e, _) => TokenError::Malformed(e.to_string()),
        RequestTokenError::Other(msg) => TokenError::Unreachable(msg),
    }
}
