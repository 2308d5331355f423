//! `lane-agent run` as systemd runs it: READY=1 only once the API socket listens,
//! WATCHDOG=1 while alive, STOPPING=1 and exit 0 on SIGTERM; a bad config or a taken
//! port never reports READY.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

const EXAMPLE: &str = include_str!("../../config/lane-agent.toml");
const WAIT: Duration = Duration::from_secs(30);

struct Fixture {
    dir: tempfile::TempDir,
    config: PathBuf,
    notify: UnixDatagram,
    notify_path: PathBuf,
}

impl Fixture {
    fn new(listen: &str) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let secret = private(dir.path(), "pos-client-secret", "SENTINEL-client\n");
        let token = private(dir.path(), "api-token", "0123456789abcdef0123\n");
        let text = EXAMPLE
            .replace(
                "/run/credentials/lane-agent.service/pos-client-secret",
                secret.to_str().unwrap(),
            )
            .replace(
                "/run/credentials/lane-agent.service/api-token",
                token.to_str().unwrap(),
            )
            // These tests edit the inline password; the credential file has its own tests.
            .replace(
                "password_file = \"/run/credentials/lane-agent.service/zvt-password\"",
                "password = \"000000\"",
            )
            .replace(
                "/var/lib/lane-agent/agent.db",
                dir.path().join("agent.db").to_str().unwrap(),
            )
            .replace(
                "listen = \"127.0.0.1:7311\"",
                &format!("listen = \"{listen}\""),
            );
        let config = dir.path().join("lane-agent.toml");
        fs::write(&config, text).unwrap();
        let notify_path = dir.path().join("notify.sock");
        let notify = UnixDatagram::bind(&notify_path).unwrap();
        Self {
            dir,
            config,
            notify,
            notify_path,
        }
    }

    fn spawn(&self, config: &Path) -> Child {
        Command::new(env!("CARGO_BIN_EXE_lane-agent"))
            .args(["run", "--config"])
            .arg(config)
            .env("NOTIFY_SOCKET", &self.notify_path)
            .env("WATCHDOG_USEC", "400000")
            .env_remove("WATCHDOG_PID")
            .env_remove("JOURNAL_STREAM")
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    }

    /// Waits for a notification datagram containing `needle`; returns it.
    fn expect(&self, needle: &str) -> String {
        let deadline = Instant::now() + WAIT;
        let mut seen = Vec::new();
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            assert!(
                !left.is_zero(),
                "no {needle:?} within {WAIT:?}; saw {seen:?}"
            );
            self.notify.set_read_timeout(Some(left)).unwrap();
            let mut buf = [0u8; 4096];
            match self.notify.recv(&mut buf) {
                Ok(n) => {
                    let msg = String::from_utf8_lossy(&buf[..n]).into_owned();
                    if msg.lines().any(|l| l == needle || l.starts_with(needle)) {
                        return msg;
                    }
                    seen.push(msg);
                }
                Err(e)
                    if e.kind() == std::io::ErrorKind::WouldBlock
                        || e.kind() == std::io::ErrorKind::TimedOut =>
                {
                    panic!("no {needle:?} within {WAIT:?}; saw {seen:?}")
                }
                Err(e) => panic!("recv: {e}"),
            }
        }
    }

    fn pending_messages(&self) -> Vec<String> {
        self.notify.set_nonblocking(true).unwrap();
        let mut out = Vec::new();
        let mut buf = [0u8; 4096];
        while let Ok(n) = self.notify.recv(&mut buf) {
            out.push(String::from_utf8_lossy(&buf[..n]).into_owned());
        }
        out
    }
}

fn private(dir: &Path, name: &str, contents: &str) -> PathBuf {
    let path = dir.join(name);
    fs::write(&path, contents).unwrap();
    fs::set_permissions(&path, fs::Permissions::from_mode(0o600)).unwrap();
    path
}

/// Waits for the child to exit (on a thread, so the wait is bounded).
fn exit_of(child: Child) -> (ExitStatus, String) {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let out = child.wait_with_output().unwrap();
        let _ = tx.send((
            out.status,
            String::from_utf8_lossy(&out.stderr).into_owned(),
        ));
    });
    rx.recv_timeout(WAIT)
        .expect("lane-agent did not exit in time")
}

fn signal(child: &Child, sig: &str) {
    let status = Command::new("kill")
        .args([sig, &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
}

#[test]
fn ready_then_watchdog_then_graceful_stop_on_sigterm() {
    let f = Fixture::new("127.0.0.1:0");
    let child = f.spawn(&f.config);

    let ready = f.expect("READY=1");
    // The status line names the bound address; the socket really listens.
    let addr = ready
        .lines()
        .find_map(|l| l.strip_prefix("STATUS=Serving on "))
        .and_then(|a| a.strip_suffix('.'))
        .unwrap_or_else(|| panic!("no address in {ready:?}"));
    std::net::TcpStream::connect(addr).expect("API socket listens after READY");

    f.expect("WATCHDOG=1");
    f.expect("WATCHDOG=1");

    signal(&child, "-TERM");
    f.expect("STOPPING=1");
    let (status, stderr) = exit_of(child);
    assert_eq!(status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("Stopping the lane agent."), "{stderr}");
    assert!(stderr.contains("SIGTERM"), "{stderr}");
    // Card data and secrets never reach the log.
    assert!(
        !stderr.contains("SENTINEL") && !stderr.contains("0123456789abcdef"),
        "{stderr}"
    );
    drop(f.dir);
}

#[test]
fn sigint_stops_gracefully_too() {
    let f = Fixture::new("127.0.0.1:0");
    let child = f.spawn(&f.config);
    f.expect("READY=1");
    signal(&child, "-INT");
    f.expect("STOPPING=1");
    let (status, stderr) = exit_of(child);
    assert_eq!(status.code(), Some(0), "{stderr}");
}

#[test]
fn an_invalid_config_exits_64_without_ready() {
    let f = Fixture::new("127.0.0.1:0");
    let text = fs::read_to_string(&f.config)
        .unwrap()
        .replace("password = \"000000\"", "password = \"0\"");
    fs::write(&f.config, text).unwrap();
    let (status, stderr) = exit_of(f.spawn(&f.config));
    assert_eq!(status.code(), Some(64), "{stderr}");
    assert!(stderr.contains("terminal.password"), "{stderr}");
    let messages = f.pending_messages();
    assert!(
        messages.iter().all(|m| !m.contains("READY=1")),
        "{messages:?}"
    );
}

#[test]
fn a_taken_port_exits_1_without_ready() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let f = Fixture::new(&taken.local_addr().unwrap().to_string());
    let (status, stderr) = exit_of(f.spawn(&f.config));
    assert_eq!(status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("cannot listen"), "{stderr}");
    let messages = f.pending_messages();
    assert!(
        messages.iter().all(|m| !m.contains("READY=1")),
        "{messages:?}"
    );
}

/// Under systemd (`JOURNAL_STREAM` set) logs go to journald; where there is no journald
/// socket (containers, CI) they fall back to stderr and the service still starts.
#[test]
fn journald_logging_falls_back_to_stderr_without_a_journal() {
    let f = Fixture::new("127.0.0.1:0");
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_lane-agent"));
    cmd.args(["run", "--config"])
        .arg(&f.config)
        .env("NOTIFY_SOCKET", &f.notify_path)
        .env("JOURNAL_STREAM", "8:12345")
        .env("RUST_LOG", "info")
        .env_remove("WATCHDOG_USEC")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    let child = cmd.spawn().unwrap();
    f.expect("READY=1");
    signal(&child, "-TERM");
    let (status, stderr) = exit_of(child);
    assert_eq!(status.code(), Some(0), "{stderr}");
    if Path::new("/run/systemd/journal/socket").exists() {
        assert!(
            !stderr.contains("Lane agent is ready."),
            "logged to stderr despite journald: {stderr}"
        );
    } else {
        assert!(stderr.contains("Journald socket unavailable"), "{stderr}");
        assert!(stderr.contains("Lane agent is ready."), "{stderr}");
    }
}
