//! The checks towards the POS cloud: DNS, TCP and TLS to both hosts, OIDC discovery and a
//! client-credentials token, the `environment` probe, the configured `location`, and the
//! agent's operations against the live schema.
//!
//! Every call goes through the agent's own [`PosClient`] (its transport, TLS settings,
//! discovery and token code), one step at a time: `discover`, `fetch_token`, then the
//! operations and `introspect`, whose answer `pos_client::schema_check` checks. Only the DNS
//! lookup and the TCP connect are made here, to name the layer that fails.

use std::collections::BTreeSet;
use std::time::Duration;

use pos_client::{CodeQuery, DiscoveryError, PosClient, PosError, TokenError};
use secrecy::SecretString;
use url::Url;

use super::schema::{self, OPERATIONS};
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
    // Discovery and the TLS check do not use the secret; without a usable one the token
    // check is skipped, so a placeholder keeps the client's config valid meanwhile.
    let have_secret = secret.is_some();
    let request_timeout = cfg.pos.request_timeout.min(CALL_TIMEOUT);
    let pos_config = pos_client::PosConfig {
        graphql_url: cfg.pos.graphql_url.to_string(),
        issuer_url: cfg.pos.issuer_url.clone(),
        client_id: cfg.pos.client_id.clone(),
        client_secret: secret
            .unwrap_or_else(|| SecretString::from("unused: no usable secret".to_owned())),
        request_timeout,
        connect_timeout: CONNECT_TIMEOUT.min(request_timeout),
        max_response_bytes: pos_client::DEFAULT_MAX_RESPONSE_BYTES,
    };
    let client = match PosClient::new(pos_config) {
        Ok(c) => c,
        Err(e) => {
            report.fail(EXIT_CONFIG, "pos", "client", e.to_string());
            skip_rest(report, "no POS client");
            return probe;
        }
    };
    if !network(report, &client, cfg).await {
        skip_rest(report, "the POS is not reachable");
        return probe;
    }
    if !discovery(report, &client).await {
        for (area, name) in [
            ("oidc", "token"),
            ("pos", "environment"),
            ("pos", "location"),
            ("schema", "operations"),
        ] {
            report.skip(area, name, "OIDC discovery failed");
        }
        return probe;
    }
    let token = if have_secret {
        token(report, &client, cfg).await
    } else {
        report.skip("oidc", "token", "the client secret file is not usable");
        false
    };
    if !token {
        for (area, name) in [
            ("pos", "environment"),
            ("pos", "location"),
            ("schema", "operations"),
        ] {
            report.skip(area, name, "no access token");
        }
        return probe;
    }
    match client.environment().await {
        Ok(env) => {
            report.pass(
                "pos",
                "environment",
                format!("{} {}", env.name, env.version),
            );
            probe.environment = Some((env.name, env.version));
        }
        Err(e) => report.fail(exit_for(&e), "pos", "environment", e.to_string()),
    }
    let store_code = cfg.lane.store_code.as_str();
    let location = client
        .location(&CodeQuery {
            code: Some(store_code.to_owned()),
            skip: None,
            first: Some(10),
        })
        .await;
    match location {
        Ok(page) => match page.results.iter().find(|r| r.code == store_code) {
            Some(loc) => {
                let name = loc.name.as_deref().unwrap_or("unnamed");
                report.pass("pos", "location", format!("{store_code} exists ({name})"));
            }
            None => report.fail(
                EXIT_CONFIG,
                "pos",
                "location",
                format!("no location with code {store_code}: check lane.store_code"),
            ),
        },
        Err(e) => report.fail(exit_for(&e), "pos", "location", e.to_string()),
    }
    match client.introspect().await {
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
        Err(e) => report.fail(
            exit_for(&e),
            "schema",
            "introspection",
            format!("{e} (is introspection disabled?)"),
        ),
    }
    probe
}

/// Check 5: DNS, TCP and (for https) a verified TLS handshake to each POS host.
async fn network(report: &mut DoctorReport, client: &PosClient, cfg: &Config) -> bool {
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
            match client.get_status(url.as_str()).await {
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
                        format!("TLS handshake or HTTPS request failed: {}", reason(&e)),
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
async fn discovery(report: &mut DoctorReport, client: &PosClient) -> bool {
    let e = match client.discover().await {
        Ok(found) => {
            report.pass(
                "oidc",
                "discovery",
                format!("issuer matches; token endpoint {}", found.token_endpoint),
            );
            return true;
        }
        Err(e) => e,
    };
    let (exit, reason) = match &e {
        DiscoveryError::Status { url, status } => (
            EXIT_CONFIG,
            format!("{url} answered HTTP {status}: check pos.issuer_url"),
        ),
        DiscoveryError::Unreachable { .. } => (EXIT_UNAVAILABLE, e.to_string()),
        DiscoveryError::IssuerMismatch { found, expected } => (
            EXIT_CONFIG,
            format!(
                "issuer {found:?} differs from pos.issuer_url {expected:?} (must match exactly, trailing slash included)"
            ),
        ),
        DiscoveryError::BadIssuerUrl(_) | DiscoveryError::InsecureTokenEndpoint(_) => {
            (EXIT_CONFIG, e.to_string())
        }
        _ => (EXIT_OTHER, e.to_string()),
    };
    report.fail(exit, "oidc", "discovery", reason);
    false
}

/// Check 6b: a client-credentials token for the configured client.
async fn token(report: &mut DoctorReport, client: &PosClient, cfg: &Config) -> bool {
    match client.fetch_token().await {
        Ok(info) => {
            let ttl = info
                .expires_in
                .map_or_else(String::new, |d| format!(", expires in {} s", d.as_secs()));
            report.pass(
                "oidc",
                "token",
                format!("issued to client {}{ttl}", cfg.pos.client_id),
            );
            true
        }
        Err(e) => {
            let (exit, reason) = match &e {
                TokenError::Refused { code } if e.is_client_rejected() => (
                    EXIT_CONFIG,
                    format!(
                        "{code}: check client id/secret (pos.client_id {:?}, pos.client_secret_file)",
                        cfg.pos.client_id
                    ),
                ),
                TokenError::Unreachable(_) => (EXIT_UNAVAILABLE, e.to_string()),
                _ => (EXIT_OTHER, e.to_string()),
            };
            report.fail(exit, "oidc", "token", reason);
            false
        }
    }
}

/// The exit code a failed POS call stands for: 69 when the server could not be reached
/// or answered with an HTTP error, 64 when the setup is wrong, 1 for a bad answer.
fn exit_for(e: &PosError) -> u8 {
    match e {
        PosError::NotSent { .. }
        | PosError::OutcomeUnknown { .. }
        | PosError::HttpStatus { .. } => EXIT_UNAVAILABLE,
        PosError::InvalidClient | PosError::Config(_) | PosError::NotAuthenticated { .. } => {
            EXIT_CONFIG
        }
        _ => EXIT_OTHER,
    }
}

/// What went wrong on the wire, without the client's framing.
fn reason(e: &PosError) -> String {
    match e {
        PosError::NotSent { reason, .. } | PosError::OutcomeUnknown { reason, .. } => {
            reason.clone()
        }
        other => other.to_string(),
    }
}

/// On a lane with `terminal.protocol = "pos"`: the terminal-payment shapes, each mismatch
/// named, and which recovery the server allows.
fn terminal_payment_checks(report: &mut DoctorReport, cfg: &Config, data: &serde_json::Value) {
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
