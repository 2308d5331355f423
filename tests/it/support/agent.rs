//! The `lane-agent` process as the tests drive it: its binary, private secret files, the
//! notify socket it reports READY/STOPPING on, the CLI and the HTTP API. The lane it runs on
//! (simulators and config) is `super::lane`.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::Value;

/// Bound on every single wait on the agent.
pub const WAIT: Duration = Duration::from_secs(30);

/// The `[offline]` section body of a lane that may sell offline.
pub const OFFLINE_ENABLED: &str = r#"enabled = true
max_transaction_amount = "50.00"
max_total_amount = "500.00"
max_count = 100
max_age_hours = 24
"#;

/// The `[offline]` section body of a lane that never sells offline.
pub const OFFLINE_DISABLED: &str = "enabled = false\n";

/// The `lane-agent` binary Cargo built for this test binary.
pub fn agent_bin() -> &'static str {
    env!("CARGO_BIN_EXE_lane-agent")
}

/// Writes `contents` to `dir/name` readable by the owner only, as the agent demands of secrets.
pub fn private(dir: &Path, name: &str, contents: &str) -> PathBuf {
    let path = dir.join(name);
    fs::write(&path, contents).unwrap();
    fs::set_permissions(&path, fs::Permissions::from_mode(0o600)).unwrap();
    path
}

/// A port that was free a moment ago, for an API address the test must know before READY.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Blocks until a datagram containing a line starting with `needle` arrives; returns it.
pub fn expect(sock: &UnixDatagram, needle: &str) -> String {
    let deadline = Instant::now() + WAIT;
    let mut seen = Vec::new();
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        assert!(
            !left.is_zero(),
            "no {needle:?} within {WAIT:?}; saw {seen:?}"
        );
        sock.set_read_timeout(Some(left)).unwrap();
        let mut buf = [0u8; 4096];
        let n = sock
            .recv(&mut buf)
            .unwrap_or_else(|e| panic!("no {needle:?}: {e}; saw {seen:?}"));
        let msg = String::from_utf8_lossy(&buf[..n]).into_owned();
        if msg.lines().any(|l| l.starts_with(needle)) {
            return msg;
        }
        seen.push(msg);
    }
}

/// [`expect`] off the async runtime.
pub async fn expect_async(sock: &Arc<UnixDatagram>, needle: &'static str) -> String {
    let sock = Arc::clone(sock);
    tokio::task::spawn_blocking(move || expect(&sock, needle))
        .await
        .unwrap()
}

/// Starts `lane-agent run` quietly (no watchdog) with a notify socket at `dir/notify.sock`
/// and waits for READY; returns the child and the socket.
pub async fn start_quiet(config: &Path, dir: &Path) -> (Child, UnixDatagram) {
    let notify_path = dir.join("notify.sock");
    let notify = UnixDatagram::bind(&notify_path).unwrap();
    let child = Command::new(agent_bin())
        .args(["run", "--config"])
        .arg(config)
        .env("NOTIFY_SOCKET", &notify_path)
        .env_remove("WATCHDOG_USEC")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let notify = tokio::task::spawn_blocking(move || {
        expect(&notify, "READY=1");
        notify
    })
    .await
    .unwrap();
    (child, notify)
}

/// SIGTERM, then STOPPING=1 on the notify socket and a successful exit.
pub async fn stop_gracefully(mut child: Child, notify: UnixDatagram) {
    assert!(
        Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status()
            .unwrap()
            .success()
    );
    let status = tokio::task::spawn_blocking(move || {
        expect(&notify, "STOPPING=1");
        child.wait().unwrap()
    })
    .await
    .unwrap();
    assert!(status.success());
}

/// Runs `lane-agent ARGS --config CONFIG` to completion.
pub fn cli(config: &Path, args: &[&str]) -> Output {
    let mut cmd = Command::new(agent_bin());
    cmd.args(args)
        .arg("--config")
        .arg(config)
        .stdin(Stdio::null());
    cmd.output().unwrap()
}

/// The JSON on a successful command's stdout.
pub fn json_of(out: &Output) -> Value {
    assert!(
        out.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stdout)))
}

/// The agent's HTTP API with its bearer token.
pub struct Api {
    pub http: reqwest::Client,
    pub base: String,
    pub token: &'static str,
}

impl Api {
    /// A client for the API at `addr` whose every request is bounded by [`WAIT`].
    pub fn new(addr: &str, token: &'static str) -> Api {
        Api {
            http: reqwest::Client::builder().timeout(WAIT).build().unwrap(),
            base: format!("http://{addr}"),
            token,
        }
    }

    /// POSTs `body`; returns the status and the JSON answer (null if none).
    pub async fn post(&self, path: &str, body: Value) -> (u16, Value) {
        let r = self
            .http
            .post(format!("{}{path}", self.base))
            .bearer_auth(self.token)
            .json(&body)
            .send()
            .await
            .unwrap();
        (r.status().as_u16(), r.json().await.unwrap_or(Value::Null))
    }

    /// GETs `path`, which must succeed; returns the JSON answer.
    pub async fn get(&self, path: &str) -> Value {
        let r = self
            .http
            .get(format!("{}{path}", self.base))
            .bearer_auth(self.token)
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success(), "{path}: {}", r.status());
        r.json().await.unwrap()
    }
}
