//! Client configuration, validated up front.

use std::fmt;
use std::path::Path;
use std::time::Duration;

use openidconnect::url::{Host, Url};
use secrecy::{ExposeSecret, SecretString};

use crate::PosError;

/// Largest response body the client reads before giving up (`BadResponse`).
pub const DEFAULT_MAX_RESPONSE_BYTES: usize = 4 * 1024 * 1024;
/// Default TCP + TLS connect timeout.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Everything the client needs. `Debug` redacts the secret.
#[derive(Clone)]
pub struct PosConfig {
    /// `POST` target of the GraphQL API, e.g. `https://pos.example.com/api/graphql`.
    pub graphql_url: String,
    /// OIDC issuer; must equal the discovery document's `issuer` exactly.
    pub issuer_url: String,
    /// OIDC client id.
    pub client_id: String,
    /// OIDC client secret; only ever sent to the token endpoint.
    pub client_secret: SecretString,
    /// Whole-request timeout for GraphQL, discovery and token calls.
    pub request_timeout: Duration,
    /// Connect timeout (TCP + TLS).
    pub connect_timeout: Duration,
    /// Largest response body accepted.
    pub max_response_bytes: usize,
}

impl fmt::Debug for PosConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PosConfig")
            .field("graphql_url", &self.graphql_url)
            .field("issuer_url", &self.issuer_url)
            .field("client_id", &self.client_id)
            .field("client_secret", &"[REDACTED]")
            .field("request_timeout", &self.request_timeout)
            .field("connect_timeout", &self.connect_timeout)
            .field("max_response_bytes", &self.max_response_bytes)
            .finish()
    }
}

impl PosConfig {
    /// Builds a config whose secret is read from `client_secret_file` (a systemd credential;
    /// `reliability.md` P3.4). Trailing newlines are dropped; an empty file is an error. The
    /// error names the path, never the content.
    pub fn with_secret_file(
        graphql_url: impl Into<String>,
        issuer_url: impl Into<String>,
        client_id: impl Into<String>,
        client_secret_file: &Path,
        request_timeout: Duration,
    ) -> Result<Self, PosError> {
        let mut raw = std::fs::read_to_string(client_secret_file).map_err(|e| {
            PosError::Config(format!(
                "cannot read client_secret_file {}: {}",
                client_secret_file.display(),
                e.kind()
            ))
        })?;
        // Trim in place so no second copy of the secret is left behind in memory.
        let len = raw.trim_end_matches(['\r', '\n']).len();
        raw.truncate(len);
        let secret = raw;
        if secret.trim().is_empty() {
            return Err(PosError::Config(format!(
                "client_secret_file {} is empty",
                client_secret_file.display()
            )));
        }
        Ok(PosConfig {
            graphql_url: graphql_url.into(),
            issuer_url: issuer_url.into(),
            client_id: client_id.into(),
            client_secret: SecretString::from(secret),
            request_timeout,
            connect_timeout: DEFAULT_CONNECT_TIMEOUT.min(request_timeout),
            max_response_bytes: DEFAULT_MAX_RESPONSE_BYTES,
        })
    }

    /// Checks every field and returns all problems at once.
    pub fn validate(&self) -> Result<(), Vec<String>> {
        let mut problems = Vec::new();
        check_url("graphql_url", &self.graphql_url, &mut problems);
        check_url("issuer_url", &self.issuer_url, &mut problems);
        if self.client_id.trim().is_empty() {
            problems.push("client_id: must not be empty".to_owned());
        }
        if self.client_secret.expose_secret().trim().is_empty() {
            problems.push("client_secret: must not be empty".to_owned());
        }
        if self.request_timeout.is_zero() {
            problems.push("request_timeout: must be greater than zero".to_owned());
        }
        if self.connect_timeout.is_zero() {
            problems.push("connect_timeout: must be greater than zero".to_owned());
        }
        if self.max_response_bytes < 1024 {
            problems.push("max_response_bytes: must be at least 1024".to_owned());
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(problems)
        }
    }
}

/// HTTPS everywhere, except plain HTTP to a loopback address (tests, a local stand-in):
/// gift-card codes and PINs must never cross a network in clear text (P3.5).
pub(crate) fn check_url(key: &str, value: &str, problems: &mut Vec<String>) {
    let url = match Url::parse(value) {
        Ok(u) => u,
        Err(e) => {
            problems.push(format!("{key}: not a URL ({e})"));
            return;
        }
    };
    if !url.username().is_empty() || url.password().is_some() {
        problems.push(format!("{key}: must not carry credentials"));
    }
    match url.scheme() {
        "https" => {}
        "http" if is_loopback(&url) => {}
        "http" => problems.push(format!("{key}: plain http is allowed only to loopback")),
        other => problems.push(format!("{key}: unsupported scheme {other}")),
    }
}

fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(Host::Ipv4(a)) => a.is_loopback(),
        Some(Host::Ipv6(a)) => a.is_loopback(),
        Some(Host::Domain(d)) => d == "localhost",
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn cfg() -> PosConfig {
        PosConfig {
            graphql_url: "https://pos.example.com/api/graphql".into(),
            issuer_url: "https://pos.example.com/".into(),
            client_id: "lane-agent".into(),
            client_secret: SecretString::from("s3cr3t-value".to_owned()),
            request_timeout: Duration::from_secs(10),
            connect_timeout: Duration::from_secs(5),
            max_response_bytes: DEFAULT_MAX_RESPONSE_BYTES,
        }
    }

    #[test]
    fn valid_config_passes_and_debug_redacts() {
        let c = cfg();
        assert_eq!(c.validate(), Ok(()));
        let dbg = format!("{c:?}");
        assert!(!dbg.contains("s3cr3t"));
        assert!(dbg.contains("[REDACTED]"));
    }

    #[test]
    fn collects_every_problem() {
        let mut c = cfg();
        c.graphql_url = "http://pos.example.com/api/graphql".into();
        c.issuer_url = "not a url".into();
        c.client_id = " ".into();
        c.client_secret = SecretString::from(String::new());
        c.request_timeout = Duration::ZERO;
        let problems = c.validate().unwrap_err();
        assert_eq!(problems.len(), 5, "{problems:?}");
        assert!(problems[0].starts_with("graphql_url"));
    }

    #[test]
    fn http_is_fine_on_loopback_only() {
        let mut c = cfg();
        c.graphql_url = "http://127.0.0.1:8080/api/graphql".into();
        c.issuer_url = "http://localhost:9000".into();
        assert_eq!(c.validate(), Ok(()));
        c.graphql_url = "ftp://127.0.0.1/x".into();
        assert!(c.validate().is_err());
        c.graphql_url = "https://user:pw@pos.example.com/".into();
        assert!(c.validate().is_err());
    }

    #[test]
    fn reads_secret_from_file() {
        let mut f = tempfile::NamedTempFile::new().unwrap();
        writeln!(f, "very-secret-42").unwrap();
        let c = PosConfig::with_secret_file(
            "https://pos.example.com/api/graphql",
            "https://pos.example.com/",
            "lane-agent",
            f.path(),
            Duration::from_secs(10),
        )
        .unwrap();
        assert_eq!(c.client_secret.expose_secret(), "very-secret-42");
        assert_eq!(c.connect_timeout, DEFAULT_CONNECT_TIMEOUT);
    }

    #[test]
    fn missing_or_empty_secret_file_is_a_config_error_without_content() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("nope");
        let err = PosConfig::with_secret_file(
            "https://a/",
            "https://a/",
            "c",
            &missing,
            Duration::from_secs(1),
        )
        .unwrap_err();
        assert!(matches!(err, PosError::Config(_)));
        let empty = dir.path().join("empty");
        std::fs::write(&empty, "\n").unwrap();
        let err = PosConfig::with_secret_file(
            "https://a/",
            "https://a/",
            "c",
            &empty,
            Duration::from_secs(1),
        )
        .unwrap_err();
        assert!(err.to_string().contains("empty"));
    }
}
