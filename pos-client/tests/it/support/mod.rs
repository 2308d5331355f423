//! Shared test fixtures: a wiremock identity provider, a manual clock, a raw TCP server and
//! the real oidc-provider peer.

pub mod oidc_peer;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use pos_client::{Clock, PosClient, PosConfig};
use secrecy::SecretString;
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::time::Instant;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

pub const SECRET: &str = "test-secret-Zq8x1Lw2";

/// A clock that is tokio's clock plus a manually advanced offset.
#[derive(Default)]
pub struct ManualClock {
    offset_ms: AtomicU64,
}

impl ManualClock {
    pub fn advance(&self, d: Duration) {
        self.offset_ms
            .fetch_add(d.as_millis() as u64, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Instant {
        Instant::now() + Duration::from_millis(self.offset_ms.load(Ordering::SeqCst))
    }
}

/// Token endpoint answering `tok-1`, `tok-2`, … with the given lifetime.
pub struct TokenResponder {
    pub count: Arc<AtomicUsize>,
    pub ttl_s: u64,
}

impl Respond for TokenResponder {
    fn respond(&self, _: &Request) -> ResponseTemplate {
        let n = self.count.fetch_add(1, Ordering::SeqCst) + 1;
        ResponseTemplate::new(200).set_body_json(json!({
            "access_token": format!("tok-{n}"),
            "token_type": "Bearer",
            "expires_in": self.ttl_s,
        }))
    }
}

/// Mounts discovery, JWKS and a counting token endpoint on `server`; returns the counter.
pub async fn mount_idp(server: &MockServer, ttl_s: u64) -> Arc<AtomicUsize> {
    mount_discovery(server).await;
    let count = Arc::new(AtomicUsize::new(0));
    Mock::given(method("POST"))
        .and(path("/token"))
        .respond_with(TokenResponder {
            count: count.clone(),
            ttl_s,
        })
        .mount(server)
        .await;
    count
}

pub async fn mount_discovery(server: &MockServer) {
    let base = server.uri();
    Mock::given(method("GET"))
        .and(path("/.well-known/openid-configuration"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "issuer": base,
            "authorization_endpoint": format!("{base}/auth"),
            "token_endpoint": format!("{base}/token"),
            "jwks_uri": format!("{base}/jwks"),
            "response_types_supported": ["code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "grant_types_supported": ["client_credentials"],
        })))
        .mount(server)
        .await;
    Mock::given(method("GET"))
        .and(path("/jwks"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"keys": []})))
        .mount(server)
        .await;
}

pub fn config(issuer: &str, graphql: &str) -> PosConfig {
    PosConfig {
        graphql_url: graphql.to_owned(),
        issuer_url: issuer.to_owned(),
        client_id: "lane-agent".to_owned(),
        client_secret: SecretString::from(SECRET.to_owned()),
        request_timeout: Duration::from_secs(5),
        connect_timeout: Duration::from_secs(2),
        max_response_bytes: pos_client::DEFAULT_MAX_RESPONSE_BYTES,
    }
}

/// A client against a wiremock server that plays both IdP and GraphQL API (`/graphql`).
pub async fn client_on(server: &MockServer) -> (PosClient, Arc<AtomicUsize>, Arc<ManualClock>) {
    let tokens = mount_idp(server, 300).await;
    let clock = Arc::new(ManualClock::default());
    let cfg = config(&server.uri(), &format!("{}/graphql", server.uri()));
    let client = PosClient::with_clock(cfg, clock.clone()).unwrap();
    (client, tokens, clock)
}

/// A raw TCP server for answers wiremock cannot give: it reads one request head (and the
/// body by Content-Length), then runs `behaviour` on the socket.
pub async fn raw_server<F, Fut>(behaviour: F) -> String
where
    F: Fn(tokio::net::TcpStream) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = ()> + Send,
{
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let behaviour = Arc::new(behaviour);
    tokio::spawn(async move {
        while let Ok((mut sock, _)) = listener.accept().await {
            let b = behaviour.clone();
            tokio::spawn(async move {
                read_request(&mut sock).await;
                b(sock).await;
            });
        }
    });
    format!("http://{addr}/graphql")
}

async fn read_request(sock: &mut tokio::net::TcpStream) {
    let mut buf = Vec::new();
    let mut tmp = [0u8; 4096];
    loop {
        let n = sock.read(&mut tmp).await.unwrap_or(0);
        if n == 0 {
            return;
        }
        buf.extend_from_slice(&tmp[..n]);
        if let Some(pos) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..pos]).to_ascii_lowercase();
            let len = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .and_then(|v| v.trim().parse::<usize>().ok())
                .unwrap_or(0);
            while buf.len() < pos + 4 + len {
                let n = sock.read(&mut tmp).await.unwrap_or(0);
                if n == 0 {
                    return;
                }
                buf.extend_from_slice(&tmp[..n]);
            }
            return;
        }
    }
}

/// Writes a chunked 200 answer that never stops growing (until the client hangs up).
pub async fn endless_chunks(mut sock: tokio::net::TcpStream) {
    let head =
        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n";
    if sock.write_all(head.as_bytes()).await.is_err() {
        return;
    }
    let chunk = vec![b' '; 64 * 1024];
    loop {
        let mut frame = format!("{:x}\r\n", chunk.len()).into_bytes();
        frame.extend_from_slice(&chunk);
        frame.extend_from_slice(b"\r\n");
        if sock.write_all(&frame).await.is_err() {
            return;
        }
    }
}
