//! The checks on this PC: config, secret files, the store, the terminal and the readers.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::time::Duration;

use rusqlite::{Connection, OpenFlags};
use secrecy::SecretString;
use zvt::apdu::codes::TerminalStatusCode;
use zvt::transport::{Error as ZvtError, NoRetry, Terminal};

use super::{DoctorReport, EXIT_CONFIG, EXIT_STORAGE, EXIT_UNAVAILABLE};
use crate::config::{self, Config, ConfigError, FileSystem, MIN_API_TOKEN_LEN, TerminalTransport};
use crate::devices::DeviceLocator;

/// How long the terminal may take to connect, register and answer the status enquiry.
const TERMINAL_TIMEOUT: Duration = Duration::from_secs(10);
/// TCP connect timeout for the terminal.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);

/// Check 1: the config parses and validates; every problem is listed with its key path.
/// Secret-file problems are left to check 2, so a valid file with a bad secret still
/// gets the later checks.
pub(super) fn config(report: &mut DoctorReport, path: &Path) -> Option<Config> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) => {
            report.fail(
                EXIT_CONFIG,
                "config",
                path.display().to_string(),
                format!("cannot read: {e}"),
            );
            return None;
        }
    };
    match config::parse(&text).and_then(Config::validate) {
        Ok(cfg) => {
            report.pass("config", path.display().to_string(), "valid");
            for w in cfg.warnings() {
                report.warn("config", w.path.clone(), w.message.clone());
            }
            Some(cfg)
        }
        Err(problems) => {
            // `load_file` places each problem at its line and column; fall back to the
            // bare list if it disagrees (it also reads secrets).
            let located = match config::load_file(path) {
                Err(ConfigError::Invalid { problems, .. }) if !problems.is_empty() => problems,
                _ => problems,
            };
            for p in located {
                let name = if p.path.is_empty() {
                    "(file)".to_owned()
                } else {
                    p.path.clone()
                };
                let reason = match p.location {
                    Some(l) => format!("{} (line {}, column {})", p.message, l.line, l.column),
                    None => p.message.clone(),
                };
                report.fail(EXIT_CONFIG, "config", name, reason);
            }
            None
        }
    }
}

/// Check 2: both secret files exist, are readable, owner-only and non-empty. Returns the
/// POS client secret for the token check. Contents are never shown.
pub(super) fn secrets(report: &mut DoctorReport, cfg: &Config) -> Option<SecretString> {
    let files = [
        (
            "pos.client_secret_file",
            cfg.pos.client_secret_file.as_path(),
            1,
        ),
        (
            "api.token_file",
            cfg.api.token_file.as_path(),
            MIN_API_TOKEN_LEN,
        ),
    ];
    let mut pos_secret = None;
    for (key, path, min_len) in files {
        match config::read_secret(&FileSystem, key, path, min_len) {
            Ok(secret) => {
                let mode = std::fs::metadata(path)
                    .map(|m| m.permissions().mode() & 0o7777)
                    .unwrap_or(0);
                report.pass(
                    "secrets",
                    key,
                    format!("{} readable, mode {mode:04o}, not empty", path.display()),
                );
                if key == "pos.client_secret_file" {
                    pos_secret = Some(secret);
                }
            }
            Err(p) => report.fail(EXIT_CONFIG, "secrets", key, p.message),
        }
    }
    pos_secret
}

/// Check 3: the store directory is writable; an existing database passes
/// `PRAGMA integrity_check`, is in WAL mode and has a schema version this build knows.
pub(super) fn store(report: &mut DoctorReport, cfg: &Config) {
    let db = cfg.store.path.as_path();
    let Some(dir) = db.parent() else {
        report.fail(
            EXIT_CONFIG,
            "store",
            "directory",
            format!("{} has no parent directory", db.display()),
        );
        return;
    };
    match tempfile::NamedTempFile::new_in(dir) {
        Ok(_) => report.pass("store", "directory", format!("{} writable", dir.display())),
        Err(e) => {
            report.fail(
                EXIT_STORAGE,
                "store",
                "directory",
                format!("{} not writable: {e}", dir.display()),
            );
        }
    }
    if !db.exists() {
        report.pass(
            "store",
            "database",
            format!(
                "{} does not exist yet; the agent creates it at first start",
                db.display()
            ),
        );
        return;
    }
    let conn = match Connection::open_with_flags(db, OpenFlags::SQLITE_OPEN_READ_ONLY) {
        Ok(c) => c,
        Err(e) => {
            report.fail(
                EXIT_STORAGE,
                "store",
                "open",
                format!("cannot open {} read-only: {e}", db.display()),
            );
            return;
        }
    };
    let integrity = conn.prepare("PRAGMA integrity_check").and_then(|mut st| {
        st.query_map([], |r| r.get::<_, String>(0))?
            .collect::<Result<Vec<String>, _>>()
    });
    match integrity {
        Ok(rows) if rows == ["ok"] => report.pass("store", "integrity_check", "ok"),
        Ok(rows) => {
            let shown: Vec<&str> = rows.iter().take(3).map(String::as_str).collect();
            report.fail(
                EXIT_STORAGE,
                "store",
                "integrity_check",
                format!(
                    "{} problem(s): {}; restore from backup",
                    rows.len(),
                    shown.join("; ")
                ),
            );
            return;
        }
        Err(e) => {
            report.fail(
                EXIT_STORAGE,
                "store",
                "integrity_check",
                format!(
                    "{}: {e}; the agent will refuse it: restore it or move it aside",
                    db.display()
                ),
            );
            return;
        }
    }
    match conn.query_row("PRAGMA journal_mode", [], |r| r.get::<_, String>(0)) {
        Ok(mode) if mode.eq_ignore_ascii_case("wal") => report.pass(
            "store",
            "journal_mode",
            "wal (synchronous=FULL is set by the agent on every open; it is not stored in the file)",
        ),
        Ok(mode) => report.warn(
            "store",
            "journal_mode",
            format!("{mode}, expected wal; the agent switches it at the next start"),
        ),
        Err(e) => report.fail(EXIT_STORAGE, "store", "journal_mode", e.to_string()),
    }
    let latest = crate::store::schema::latest();
    match conn.query_row("PRAGMA user_version", [], |r| r.get::<_, i64>(0)) {
        Ok(v) if v == latest => report.pass("store", "schema", format!("version {v} (current)")),
        Ok(v) if v < latest => report.pass(
            "store",
            "schema",
            format!("version {v}; the agent migrates it to {latest} at the next start"),
        ),
        Ok(v) => report.fail(
            EXIT_STORAGE,
            "store",
            "schema",
            format!("version {v} is newer than this lane-agent knows ({latest}); install the newer build"),
        ),
        Err(e) => report.fail(EXIT_STORAGE, "store", "schema", e.to_string()),
    }
    let key = crate::store::key_path(db);
    if let Ok(meta) = std::fs::metadata(&key) {
        let mode = meta.permissions().mode() & 0o7777;
        if mode & 0o077 == 0 {
            report.pass(
                "store",
                "key file",
                format!("{} mode {mode:04o}", key.display()),
            );
        } else {
            report.fail(
                EXIT_STORAGE,
                "store",
                "key file",
                format!(
                    "{} is accessible by group or others (mode {mode:04o}); chmod 600",
                    key.display()
                ),
            );
        }
    }
}

/// Check 4: the terminal answers (connect, registration, status enquiry) and every
/// reader's device resolves and opens.
pub(super) async fn devices(report: &mut DoctorReport, cfg: &Config) {
    terminal(report, cfg).await;
    for r in &cfg.readers {
        let name = format!("reader {}", r.name);
        let locator = r.device.clone();
        match locator.resolve() {
            Ok(node) => match std::fs::OpenOptions::new().read(true).open(&node) {
                Ok(_) => report.pass(
                    "reader",
                    name,
                    format!("{} -> {} opens ({})", r.device, node.display(), r.kind.as_str()),
                ),
                Err(e) => report.fail(
                    EXIT_UNAVAILABLE,
                    "reader",
                    name,
                    format!(
                        "{} exists but does not open: {e} (is the service user in the device group of the udev rule?)",
                        node.display()
                    ),
                ),
            },
            Err(e) => report.fail(
                EXIT_UNAVAILABLE,
                "reader",
                name,
                format!("{e}: plugged in, and did the udev rule create the link?"),
            ),
        }
    }
}

async fn terminal(report: &mut DoctorReport, cfg: &Config) {
    match &cfg.terminal.transport {
        TerminalTransport::Pos { terminal_id } => {
            report.pass(
                "terminal",
                "protocol",
                format!(
                    "pos: cards on processor terminal {terminal_id} through the POS (no ZVT terminal on this lane; the POS checks cover it)"
                ),
            );
            return;
        }
        TerminalTransport::Tcp { address } => {
            let connect = tokio::time::timeout(
                CONNECT_TIMEOUT,
                tokio::net::TcpStream::connect(address.as_str()),
            );
            match connect.await {
                Ok(Ok(_)) => report.pass(
                    "terminal",
                    "connect",
                    format!("TCP {address} accepts connections"),
                ),
                Ok(Err(e)) => {
                    report.fail(
                        EXIT_UNAVAILABLE,
                        "terminal",
                        "connect",
                        format!("TCP {address}: {e}"),
                    );
                    report.skip("terminal", "registration", "the terminal is not reachable");
                    return;
                }
                Err(_) => {
                    report.fail(
                        EXIT_UNAVAILABLE,
                        "terminal",
                        "connect",
                        format!("TCP {address}: no answer within {CONNECT_TIMEOUT:?}"),
                    );
                    report.skip("terminal", "registration", "the terminal is not reachable");
                    return;
                }
            }
        }
        TerminalTransport::Serial { device, baud } => {
            let opened = DeviceLocator::Path(device.clone())
                .resolve()
                .map_err(|e| e.to_string())
                .and_then(|node| {
                    std::fs::OpenOptions::new()
                        .read(true)
                        .write(true)
                        .open(&node)
                        .map(|_| node)
                        .map_err(|e| format!("{} does not open: {e}", device.display()))
                });
            match opened {
                Ok(node) => report.pass(
                    "terminal",
                    "device",
                    format!(
                        "{} -> {} opens ({baud} baud)",
                        device.display(),
                        node.display()
                    ),
                ),
                Err(e) => {
                    report.fail(EXIT_UNAVAILABLE, "terminal", "device", e);
                    report.skip(
                        "terminal",
                        "registration",
                        "the terminal device does not open",
                    );
                    return;
                }
            }
        }
    }
    let mut tc = crate::agent::terminal::transport_config(&cfg.terminal);
    tc.connect_timeout = CONNECT_TIMEOUT;
    let mut client = match Terminal::new(tc, NoRetry) {
        Ok(c) => c,
        Err(e) => {
            report.fail(EXIT_CONFIG, "terminal", "registration", e.to_string());
            return;
        }
    };
    match tokio::time::timeout(TERMINAL_TIMEOUT, client.register()).await {
        Ok(Ok(())) => report.pass("terminal", "registration", "06 00 accepted"),
        Ok(Err(ZvtError::RegistrationRefused { code })) => {
            report.fail(
                EXIT_CONFIG,
                "terminal",
                "registration",
                format!("refused with result code {code:#04x}: check terminal.password"),
            );
            return;
        }
        Ok(Err(e)) => {
            report.fail(EXIT_UNAVAILABLE, "terminal", "registration", e.to_string());
            return;
        }
        Err(_) => {
            report.fail(
                EXIT_UNAVAILABLE,
                "terminal",
                "registration",
                format!("no answer within {TERMINAL_TIMEOUT:?}"),
            );
            return;
        }
    }
    match tokio::time::timeout(TERMINAL_TIMEOUT, client.status_enquiry()).await {
        Ok(Ok(st)) => {
            let version = st.sw_version.as_deref().unwrap_or("unknown");
            let tid = st
                .terminal_id
                .map_or_else(|| "unknown".to_owned(), |t| t.to_string());
            let detail = format!("software {version}, terminal id {tid}");
            match st.status {
                Some(0) | None => report.pass("terminal", "status", format!("PT ready ({detail})")),
                Some(b) => {
                    let meaning =
                        TerminalStatusCode::from_u8(b).map_or("unknown status", |c| c.text());
                    report.warn(
                        "terminal",
                        "status",
                        format!("status byte {b:#04x}: {meaning} ({detail})"),
                    );
                }
            }
        }
        Ok(Err(e)) => report.fail(EXIT_UNAVAILABLE, "terminal", "status", e.to_string()),
        Err(_) => report.fail(
            EXIT_UNAVAILABLE,
            "terminal",
            "status",
            format!("no answer within {TERMINAL_TIMEOUT:?}"),
        ),
    }
    client.disconnect();
}
