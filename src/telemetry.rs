//! Logging: `tracing` to journald when systemd runs the agent, a human format on a
//! terminal, filtered by `RUST_LOG` (default `info`).
//!
//! Card data never reaches a log: secrets are `secrecy` types whose `Debug` prints a
//! redaction marker, and the test below logs them through this very setup.

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

/// The filter used when `RUST_LOG` is unset or invalid.
pub const DEFAULT_FILTER: &str = "info";

/// Where log lines went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogSink {
    /// Native journald fields.
    Journald,
    /// Human-readable lines on stderr.
    Stderr,
}

/// Installs the global subscriber: journald when `JOURNAL_STREAM` says stderr is the
/// journal (falling back to stderr when the journald socket is missing), else the fmt
/// layer on stderr, with colour only on a terminal. Returns where logs go; calling it
/// twice is harmless (the second call changes nothing).
pub fn init() -> LogSink {
    let under_journal = std::env::var_os("JOURNAL_STREAM").is_some();
    if under_journal {
        match tracing_journald::layer() {
            Ok(journald) => {
                let installed = tracing_subscriber::registry()
                    .with(env_filter())
                    .with(journald.with_syslog_identifier("lane-agent".to_owned()))
                    .try_init();
                if installed.is_ok() {
                    return LogSink::Journald;
                }
                return LogSink::Stderr;
            }
            Err(error) => {
                let _ = fmt_subscriber(std::io::stderr, false).try_init();
                tracing::warn!(%error, "Journald socket unavailable; logging to stderr.");
                return LogSink::Stderr;
            }
        }
    }
    let ansi = std::io::stderr().is_terminal();
    let _ = fmt_subscriber(std::io::stderr, ansi).try_init();
    LogSink::Stderr
}

/// `RUST_LOG`, or [`DEFAULT_FILTER`].
pub fn env_filter() -> EnvFilter {
    EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(DEFAULT_FILTER))
}

/// The human-format subscriber writing to `writer`; [`init`] uses it with stderr, tests
/// with a buffer.
pub fn fmt_subscriber<W>(writer: W, ansi: bool) -> impl tracing::Subscriber + Send + Sync
where
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    tracing_subscriber::registry().with(env_filter()).with(
        tracing_subscriber::fmt::layer()
            .with_writer(writer)
            .with_ansi(ansi)
            .with_target(true),
    )
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use secrecy::SecretString;

    use super::*;
    use crate::config::{self, MemorySource};

    #[derive(Clone, Default)]
    struct Buffer(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Buffer {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl<'w> MakeWriter<'w> for Buffer {
        type Writer = Buffer;
        fn make_writer(&'w self) -> Self::Writer {
            self.clone()
        }
    }

    const GIFT_CODE: &str = "6036281234567890123";
    const PAN: &str = "4111111111111111";
    const CLIENT_SECRET: &str = "s3cr3t-client-SENTINEL";
    const API_TOKEN: &str = "api-token-SENTINEL-0123456789";
    const TERMINAL_PASSWORD: &str = "918273";

    /// Logs secrets the way code would (wrapped, as fields, inside the config) through
    /// the real fmt subscriber and checks none of them reach the output.
    #[test]
    fn secrets_never_reach_the_log() {
        let buffer = Buffer::default();
        let subscriber = fmt_subscriber(buffer.clone(), false);
        let text = include_str!("../config/lane-agent.toml");
        let source = MemorySource::new()
            .with_file("/etc/lane-agent/lane-agent.toml", text)
            .with_file(
                "/run/credentials/lane-agent.service/pos-client-secret",
                format!("{CLIENT_SECRET}\n"),
            )
            .with_file("/run/credentials/lane-agent.service/api-token", API_TOKEN)
            .with_file(
                "/run/credentials/lane-agent.service/zvt-password",
                format!("{TERMINAL_PASSWORD}\n"),
            );
        let loaded = config::load(&source, "/etc/lane-agent/lane-agent.toml".as_ref())
            .expect("example config is valid");

        tracing::subscriber::with_default(subscriber, || {
            let code = SecretString::from(GIFT_CODE.to_owned());
            let pan = SecretString::from(PAN.to_owned());
            tracing::info!(?code, ?pan, "Redeeming gift card.");
            tracing::info!(config = ?loaded, "Loaded configuration.");
            tracing::info!(secrets = ?loaded.secrets, password = ?loaded.config.terminal.password, "Secrets loaded.");
        });

        let out = String::from_utf8(buffer.0.lock().unwrap().clone()).unwrap();
        assert!(
            out.contains("Redeeming gift card."),
            "log was not written: {out}"
        );
        assert!(out.contains("REDACTED"), "no redaction marker: {out}");
        for secret in [GIFT_CODE, PAN, CLIENT_SECRET, API_TOKEN, TERMINAL_PASSWORD] {
            assert!(!out.contains(secret), "{secret} leaked into the log");
        }
    }
}
