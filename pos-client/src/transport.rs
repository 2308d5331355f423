//! HTTP transport: one reqwest client (rustls, timeouts, no redirects), bounded bodies, and
//! the split of transport failures into "not sent" and "may have arrived".

use std::future::Future;
use std::pin::Pin;
use std::time::{Duration, SystemTime};

use openidconnect::http;
use openidconnect::{AsyncHttpClient, HttpRequest, HttpResponse};
use reqwest::header::{AUTHORIZATION, CONTENT_TYPE, RETRY_AFTER};

use crate::backoff::parse_retry_after;
use crate::config::PosConfig;

/// A transport failure, classified by whether the request can have reached the server.
#[derive(Debug, Clone, thiserror::Error)]
pub(crate) enum TransportError {
    /// Connect refused, DNS, TLS, or the request could not even be built.
    #[error("not sent: {0}")]
    NotSent(String),
    /// Timeout after writing, reset, early EOF, or a failure while reading the body.
    #[error("no answer: {0}")]
    Unknown(String),
    /// The response body exceeded the limit.
    #[error("response body larger than {0} bytes")]
    TooLarge(usize),
}

/// A response with its body read in full (within the limit).
#[derive(Debug)]
pub(crate) struct RawResponse {
    pub(crate) status: u16,
    pub(crate) retry_after: Option<Duration>,
    pub(crate) body: Vec<u8>,
}

/// The shared HTTP client.
#[derive(Clone, Debug)]
pub(crate) struct Http {
    client: reqwest::Client,
    max_body: usize,
    timeout: Duration,
}

impl Http {
    pub(crate) fn new(cfg: &PosConfig) -> Result<Self, String> {
        let client = reqwest::Client::builder()
            .use_rustls_tls()
            .https_only(false) // config validation allows http to loopback only
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(cfg.connect_timeout)
            .timeout(cfg.request_timeout)
            .pool_idle_timeout(Duration::from_secs(50))
            .user_agent(concat!("lane-agent-pos-client/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| format!("cannot build HTTP client: {e}"))?;
        Ok(Http {
            client,
            max_body: cfg.max_response_bytes,
            timeout: cfg.request_timeout,
        })
    }

    /// `POST url` with a JSON body and a bearer token.
    pub(crate) async fn post_graphql(
        &self,
        url: &str,
        bearer: &str,
        body: Vec<u8>,
    ) -> Result<RawResponse, TransportError> {
        let req = self
            .client
            .post(url)
            .header(AUTHORIZATION, format!("Bearer {bearer}"))
            .header(CONTENT_TYPE, "application/json")
            .header(reqwest::header::ACCEPT, "application/json")
            .body(body)
            .build()
            .map_err(|e| TransportError::NotSent(describe(&e)))?;
        self.execute(req).await
    }

    /// `GET url` asking for JSON (discovery; doctor's reachability check).
    pub(crate) async fn get_json(&self, url: &str) -> Result<RawResponse, TransportError> {
        let req = self
            .client
            .get(url)
            .header(reqwest::header::ACCEPT, "application/json")
            .build()
            .map_err(|e| TransportError::NotSent(describe(&e)))?;
        self.execute(req).await
    }

    async fn execute(&self, req: reqwest::Request) -> Result<RawResponse, TransportError> {
        // reqwest's own timeout covers the whole exchange; this outer one is the explicit
        // guard style.md asks for on every call, in case a layer below ignores it.
        let guard = self.timeout + Duration::from_secs(1);
        match tokio::time::timeout(guard, self.execute_inner(req)).await {
            Ok(r) => r,
            Err(_) => Err(TransportError::Unknown("request timed out".to_owned())),
        }
    }

    async fn execute_inner(&self, req: reqwest::Request) -> Result<RawResponse, TransportError> {
        let mut resp = self.client.execute(req).await.map_err(classify)?;
        let status = resp.status().as_u16();
        let retry_after = resp
            .headers()
            .get(RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| parse_retry_after(v, SystemTime::now()));
        let body = read_bounded(&mut resp, self.max_body).await?;
        Ok(RawResponse {
            status,
            retry_after,
            body,
        })
    }

    async fn call_oauth(&self, request: HttpRequest) -> Result<HttpResponse, TransportError> {
        let req = reqwest::Request::try_from(request)
            .map_err(|e| TransportError::NotSent(describe(&e)))?;
        let guard = self.timeout + Duration::from_secs(1);
        let fut = async {
            let mut resp = self.client.execute(req).await.map_err(classify)?;
            let mut builder = http::Response::builder().status(resp.status());
            for (name, value) in resp.headers() {
                builder = builder.header(name, value);
            }
            let body = read_bounded(&mut resp, self.max_body).await?;
            builder
                .body(body)
                .map_err(|e| TransportError::Unknown(e.to_string()))
        };
        match tokio::time::timeout(guard, fut).await {
            Ok(r) => r,
            Err(_) => Err(TransportError::Unknown("request timed out".to_owned())),
        }
    }
}

/// Lets openidconnect run discovery and token requests through the same bounded client.
impl<'c> AsyncHttpClient<'c> for Http {
    type Error = TransportError;
    type Future = Pin<Box<dyn Future<Output = Result<HttpResponse, TransportError>> + Send + 'c>>;

    fn call(&'c self, request: HttpRequest) -> Self::Future {
        Box::pin(self.call_oauth(request))
    }
}

/// Reads the body chunk by chunk and stops at `max` bytes, so a hostile or broken server
/// cannot make the client allocate without bound.
async fn read_bounded(resp: &mut reqwest::Response, max: usize) -> Result<Vec<u8>, TransportError> {
    if resp.content_length().is_some_and(|len| len > max as u64) {
        return Err(TransportError::TooLarge(max));
    }
    let mut body = Vec::new();
    while let Some(chunk) = resp.chunk().await.map_err(classify)? {
        if body.len() + chunk.len() > max {
            return Err(TransportError::TooLarge(max));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// Connect-phase failures (refused, DNS, TLS handshake, connect timeout) happen before a byte
/// of the request left; everything else may have reached the server.
fn classify(e: reqwest::Error) -> TransportError {
    if e.is_connect() || e.is_builder() {
        TransportError::NotSent(describe(&e))
    } else {
        TransportError::Unknown(describe(&e))
    }
}

fn describe(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut src = e.source();
    while let Some(inner) = src {
        s.push_str(": ");
        s.push_str(&inner.to_string());
        src = inner.source();
    }
    s
}
