//! The checks towards the POS cloud: DNS, TCP and TLS to both hosts, OIDC discovery and a
//! client-credentials token, the `environment` probe, the configured `location`, and the
//! agent's operations against the live schema.
//!
//! These calls are made with `reqwest` directly rather than through `pos_client`: doctor
//! needs the raw answers (the token endpoint's `error`, the discovery `issuer`, an
//! introspection query) that the client deliberately hides. TLS is the same rustls with
//! certificate verification that the client uses.

use std::collections::BTreeSet;
use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use serde_json::{Value as Json, json};
use url::Url;

use super::schema::{self, INTROSPECTION_QUERY, OPERATIONS};
use super::{DoctorReport, EXIT_CONFIG, EXIT_OTHER, EXIT_UNAVAILABLE};
use crate::config::Config;

/// Upper bound for each POS call made by doctor.
const CALL_TIMEOUT: Duration = Duration::from_secs(10);
/// DNS and TCP connect timeout.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// What the POS checks learned, for callers that want more than the report.
#[derive(Debug, Clone, Default)]
pub struct PosProbe {
    /// `environment { name version }`.
    pub environment: Option<(String, String)>,
    /// Schema mismatches found (empty when the schema check passed or did not run).
    pub mismatches: Vec<String>,
}

/// Checks 5–9. `secret` is the POS client secret when check 2 could read it.
pub(super) async fn checks(
    report: &mut DoctorReport,
    cfg: &Config,
    secret: Option<SecretString>,
) -> PosProbe {
    let mut probe = PosProbe::default();
    let skip_rest = |report: &mut DoctorReport, why: &str| {
        for (area, name) in [
            ("oidc", "discovery"),
            ("oidc", "token"),
            ("pos", "environment"),
            ("pos", "location"),
            ("schema", "operations"),
        ] {
            report.skip(area, name, why);
        }
    };
    let http = match reqwest::Client::builder()
        .timeout(cfg.pos.request_timeout.min(CALL_TIMEOUT))
        .connect_timeout(CONNECT_TIMEOUT)
        .build()
    {
        Ok(c) => c,
        Err(e) => {
            report.fail(EXIT_OTHER, "pos", "http client", e.to_string());
            skip_rest(report, "no HTTP client");
            return probe;
        }
    };
    if !network(report, &http, cfg).await {
        skip_rest(report, "the POS is not reachable");
        return probe;
    }
    let Some(token_endpoint) = discovery(report, &http, cfg).await else {
        for (area, name) in [
            ("oidc", "token"),
            ("pos", "environment"),
            ("pos", "location"),
            ("schema", "operations"),
        ] {
            report.skip(area, name, "OIDC discovery failed");
        }
        return probe;
    };
    let token = match secret {
        Some(secret) => token(report, &http, cfg, &token_endpoint, &secret).await,
        None => {
            report.skip("oidc", "token", "the client secret file is not usable");
            None
        }
    };
    let Some(token) = token else {
        for (area, name) in [
            ("pos", "environment"),
            ("pos", "location"),
            ("schema", "operations"),
        ] {
            report.skip(area, name, "no access token");
        }
        return probe;
    };
    let gql = Gql {
        http: &http,
        url: cfg.pos.graphql_url.as_str(),
        token: &token,
    };
    match gql
        .post(schema::ENVIRONMENT_DOC, "Environment", json!({}))
        .await
    {
        Ok(data) => {
            let field = |k: &str| {
                data.pointer(&format!("/environment/{k}"))
                    .and_then(Json::as_str)
                    .unwrap_or("?")
                    .to_owned()
            };
            let (name, version) = (field("name"), field("version"));
            report.pass("pos", "environment", format!("{name} {version}"));
            probe.environment = Some((name, version));
        }
        Err((code, e)) => report.fail(code, "pos", "environment", e),
    }
    let store_code = cfg.lane.store_code.as_str();
    match gql
        .post(
            schema::LOCATION_DOC,
            "Location",
            json!({ "code": store_code, "first": 10 }),
        )
        .await
    {
        Ok(data) => {
            let results = data
                .pointer("/location/results")
                .and_then(Json::as_array)
                .cloned()
                .unwrap_or_default();
            let found = results
                .iter()
                .find(|r| r.get("code").and_then(Json::as_str) == Some(store_code));
            match found {
                Some(loc) => {
                    let name = loc.get("name").and_then(Json::as_str).unwrap_or("unnamed");
                    report.pass("pos", "location", format!("{store_code} exists ({name})"));
                }
                None => report.fail(
                    EXIT_CONFIG,
                    "pos",
                    "location",
                    format!("no location with code {store_code}: check lane.store_code"),
                ),
            }
        }
        Err((code, e)) => report.fail(code, "pos", "location", e),
    }
    match gql
        .post(INTROSPECTION_QUERY, "IntrospectionQuery", json!({}))
        .await
    {
        Ok(data) => match schema::check_introspection(&data) {
            Ok(mismatches) if mismatches.is_empty() => {
                terminal_payment_checks(report, cfg, &data);
                report.pass(
                    "schema",
                    "operations",
                    format!(
                        "all {} operation documents are valid against the live schema",
                        OPERATIONS.len()
                    ),
                )
            }
            Ok(mismatches) => {
                terminal_payment_checks(report, cfg, &data);
                for m in &mismatches {
                    report.fail(EXIT_OTHER, "schema", "mismatch", m.clone());
                }
                probe.mismatches = mismatches;
            }
            Err(e) => report.fail(EXIT_OTHER, "schema", "introspection", e),
        },
        Err((code, e)) => report.fail(
            code,
            "schema",
            "introspection",
            format!("{e} (is introspection disabled?)"),
        ),
    }
    probe
}

/// Check 5: DNS, TCP and (for https) a verified TLS handshake to each POS host.
async fn network(report: &mut DoctorReport, http: &reqwest::Client, cfg: &Config) -> bool {
    let mut urls = vec![("pos.graphql_url", cfg.pos.graphql_url.clone())];
    match Url::parse(&cfg.pos.issuer_url) {
        Ok(u) => urls.push(("pos.issuer_url", u)),
        Err(e) => {
            report.fail(EXIT_CONFIG, "pos", "pos.issuer_url", e.to_string());
            return false;
        }
    }
    let mut seen = BTreeSet::new();
    let mut ok = true;
    for (key, url) in urls {
        let (Some(host), Some(port)) = (url.host_str(), url.port_or_known_default()) else {
            report.fail(EXIT_CONFIG, "pos", key, format!("{url} has no host"));
            ok = false;
            continue;
        };
        if !seen.insert((url.scheme().to_owned(), host.to_owned(), port)) {
            continue;
        }
        let target = format!("{host}:{port}");
        let addrs: Vec<_> =
            match tokio::time::timeout(CONNECT_TIMEOUT, tokio::net::lookup_host(target.as_str()))
                .await
            {
                Ok(Ok(a)) => a.collect(),
                Ok(Err(e)) => {
                    report.fail(
                        EXIT_UNAVAILABLE,
                        "pos",
                        format!("dns {host}"),
                        e.to_string(),
                    );
                    ok = false;
                    continue;
                }
                Err(_) => {
                    report.fail(
                        EXIT_UNAVAILABLE,
                        "pos",
                        format!("dns {host}"),
                        "no answer in time",
                    );
                    ok = false;
                    continue;
                }
            };
        let shown: Vec<String> = addrs.iter().map(|a| a.ip().to_string()).collect();
        report.pass(
            "pos",
            format!("dns {host}"),
            format!("resolves to {}", shown.join(", ")),
        );
        let mut last_err = String::from("no addresses");
        let mut connected = false;
        for addr in &addrs {
            match tokio::time::timeout(CONNECT_TIMEOUT, tokio::net::TcpStream::connect(addr)).await
            {
                Ok(Ok(_)) => {
                    connected = true;
                    break;
                }
                Ok(Err(e)) => last_err = format!("{addr}: {e}"),
                Err(_) => last_err = format!("{addr}: no answer within {CONNECT_TIMEOUT:?}"),
            }
        }
        if !connected {
            report.fail(EXIT_UNAVAILABLE, "pos", format!("tcp {target}"), last_err);
            ok = false;
            continue;
        }
        report.pass("pos", format!("tcp {target}"), "connects");
        if url.scheme() == "https" {
            match http.get(url.clone()).send().await {
                Ok(_) => report.pass(
                    "pos",
                    format!("tls {target}"),
                    "handshake ok, certificate verified (rustls)",
                ),
                Err(e) => {
                    report.fail(
                        EXIT_UNAVAILABLE,
                        "pos",
                        format!("tls {target}"),
                        format!("TLS handshake or HTTPS request failed: {}", error_chain(&e)),
                    );
                    ok = false;
                }
            }
        } else {
            report.warn(
                "pos",
                format!("tls {target}"),
                "plain HTTP (test setups only)",
            );
        }
    }
    ok
}

/// Check 6a: discovery answers and its `issuer` equals `pos.issuer_url` byte for byte.
async fn discovery(
    report: &mut DoctorReport,
    http: &reqwest::Client,
    cfg: &Config,
) -> Option<TokenEndpoint> {
    let url = cfg.pos.discovery_url();
    let doc: Json = match http.get(&url).send().await {
        Ok(r) if r.status().is_success() => match r.json().await {
            Ok(j) => j,
            Err(e) => {
                report.fail(
                    EXIT_OTHER,
                    "oidc",
                    "discovery",
                    format!("{url}: not JSON: {e}"),
                );
                return None;
            }
        },
        Ok(r) => {
            report.fail(
                EXIT_CONFIG,
                "oidc",
                "discovery",
                format!(
                    "{url} answered HTTP {}: check pos.issuer_url",
                    r.status().as_u16()
                ),
            );
            return None;
        }
        Err(e) => {
            report.fail(
                EXIT_UNAVAILABLE,
                "oidc",
                "discovery",
                format!("{url}: {}", error_chain(&e)),
            );
            return None;
        }
    };
    let issuer = doc.get("issuer").and_then(Json::as_str).unwrap_or("");
    if issuer != cfg.pos.issuer_url {
        report.fail(
            EXIT_CONFIG,
            "oidc",
            "discovery",
            format!(
                "issuer {issuer:?} differs from pos.issuer_url {:?} (must match exactly, trailing slash included)",
                cfg.pos.issuer_url
            ),
        );
        return None;
    }
    let Some(endpoint) = doc.get("token_endpoint").and_then(Json::as_str) else {
        report.fail(
            EXIT_OTHER,
            "oidc",
            "discovery",
            format!("{url} has no token_endpoint"),
        );
        return None;
    };
    report.pass(
        "oidc",
        "discovery",
        format!("issuer matches; token endpoint {endpoint}"),
    );
    let methods: Vec<&str> = doc
        .get("token_endpoint_auth_methods_supported")
        .and_then(Json::as_array)
        .map(|m| m.iter().filter_map(Json::as_str).collect())
        .unwrap_or_default();
    // RFC 8414: absent means client_secret_basic only.
    let basic = !methods.contains(&"client_secret_post");
    Some(TokenEndpoint {
        url: endpoint.to_owned(),
        basic,
    })
}

/// Where and how to ask for a token.
struct TokenEndpoint {
    url: String,
    /// Client authentication by HTTP Basic (else in the form body).
    basic: bool,
}

/// Check 6b: a client-credentials token for the configured client.
async fn token(
    report: &mut DoctorReport,
    http: &reqwest::Client,
    cfg: &Config,
    endpoint: &TokenEndpoint,
    secret: &SecretString,
) -> Option<String> {
    let request = if endpoint.basic {
        // RFC 6749 §2.3.1: id and secret are form-encoded before Basic encoding.
        let enc = |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
        http.post(&endpoint.url)
            .basic_auth(enc(&cfg.pos.client_id), Some(enc(secret.expose_secret())))
            .form(&[("grant_type", "client_credentials")])
    } else {
        http.post(&endpoint.url).form(&[
            ("grant_type", "client_credentials"),
            ("client_id", cfg.pos.client_id.as_str()),
            ("client_secret", secret.expose_secret()),
        ])
    };
    let resp = match request.send().await {
        Ok(r) => r,
        Err(e) => {
            report.fail(EXIT_UNAVAILABLE, "oidc", "token", error_chain(&e));
            return None;
        }
    };
    let status = resp.status();
    let body: Json = resp.json().await.unwrap_or(Json::Null);
    if status.is_success()
        && let Some(tok) = body.get("access_token").and_then(Json::as_str)
    {
        let ttl = body
            .get("expires_in")
            .and_then(Json::as_u64)
            .map_or_else(String::new, |s| format!(", expires in {s} s"));
        report.pass(
            "oidc",
            "token",
            format!("issued to client {}{ttl}", cfg.pos.client_id),
        );
        return Some(tok.to_owned());
    }
    let error = body
        .get("error")
        .and_then(Json::as_str)
        .unwrap_or("no error code");
    if error == "invalid_client" || error == "unauthorized_client" {
        report.fail(
            EXIT_CONFIG,
            "oidc",
            "token",
            format!(
                "{error}: check client id/secret (pos.client_id {:?}, pos.client_secret_file)",
                cfg.pos.client_id
            ),
        );
    } else {
        report.fail(
            EXIT_OTHER,
            "oidc",
            "token",
            format!("HTTP {}: {error}", status.as_u16()),
        );
    }
    None
}

struct Gql<'a> {
    http: &'a reqwest::Client,
    url: &'a str,
    token: &'a str,
}

impl Gql<'_> {
    /// POSTs one operation; `Ok(data)` or the exit code and reason of the failure.
    async fn post(
        &self,
        query: &str,
        operation: &str,
        variables: Json,
    ) -> Result<Json, (u8, String)> {
        let body = json!({ "query": query, "operationName": operation, "variables": variables });
        let resp = self
            .http
            .post(self.url)
            .bearer_auth(self.token)
            .json(&body)
            .send()
            .await
            .map_err(|e| (EXIT_UNAVAILABLE, error_chain(&e)))?;
        let status = resp.status();
        if !status.is_success() {
            return Err((EXIT_UNAVAILABLE, format!("HTTP {}", status.as_u16())));
        }
        let mut answer: Json = resp
            .json()
            .await
            .map_err(|e| (EXIT_OTHER, format!("answer is not JSON: {e}")))?;
        if let Some(errors) = answer
            .get("errors")
            .and_then(Json::as_array)
            .filter(|e| !e.is_empty())
        {
            let shown: Vec<String> = errors
                .iter()
                .map(|e| {
                    let code = e
                        .pointer("/extensions/code")
                        .and_then(Json::as_str)
                        .unwrap_or("ERROR");
                    let msg = e.get("message").and_then(Json::as_str).unwrap_or("");
                    format!("{code}: {msg}")
                })
                .collect();
            return Err((EXIT_OTHER, shown.join("; ")));
        }
        Ok(answer.get_mut("data").map(Json::take).unwrap_or(Json::Null))
    }
}

fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        s.push_str(": ");
        s.push_str(&c.to_string());
        cur = c.source();
    }
    s
}

/// On a lane with `terminal.protocol = "pos"`: the terminal-payment shapes, each mismatch
/// named, and which recovery the server allows.
fn terminal_payment_checks(report: &mut DoctorReport, cfg: &Config, data: &Json) {
    let Some(terminal_id) = cfg.terminal.transport.pos_terminal_id() else {
        return;
    };
    match super::terminal_payments::check_terminal_payments(data) {
        Ok(s) => {
            for m in &s.mismatches {
                report.fail(EXIT_OTHER, "schema", "terminal payments", m.clone());
            }
            if s.payments {
                report.pass(
                    "schema",
                    "terminal payments",
                    format!(
                        "start, continue and capture fit: cards on {terminal_id} through the POS"
                    ),
                );
            }
            for (ok, text) in s.recovery() {
                if ok {
                    report.pass("schema", "terminal recovery", text);
                } else {
                    report.warn("schema", "terminal recovery", text);
                }
            }
        }
        Err(e) => report.fail(EXIT_OTHER, "schema", "terminal payments", e),
    }
}
