//! Runs `tests/oidc/server.mjs` (a real oidc-provider) as a child process.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};
use tokio::sync::mpsc;

/// A running oidc-provider; killed on drop.
pub struct OidcPeer {
    pub issuer: String,
    events: mpsc::UnboundedReceiver<String>,
    _child: Child,
}

impl OidcPeer {
    /// Starts the peer on a free loopback port and waits for its `READY` line.
    pub async fn start(client_id: &str, secret: &str, ttl_s: u64) -> OidcPeer {
        let script = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("..")
            .join("tests/oidc/server.mjs");
        let mut child = Command::new("node")
            .arg(&script)
            .args(["--port", "0", "--client-id", client_id])
            .args(["--client-secret", secret, "--ttl", &ttl_s.to_string()])
            // stdin stays open while we live; the peer exits when it closes.
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("node is installed and tests/oidc has node_modules (npm ci)");
        let stdout = child.stdout.take().unwrap();
        let (tx, mut rx) = mpsc::unbounded_channel();
        tokio::spawn(async move {
            let mut lines = BufReader::new(stdout).lines();
            while let Ok(Some(line)) = lines.next_line().await {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let issuer = tokio::time::timeout(Duration::from_secs(20), async {
            loop {
                let line = rx.recv().await.expect("oidc peer exited before READY");
                if let Some(rest) = line.strip_prefix("READY ") {
                    return rest.trim().to_owned();
                }
            }
        })
        .await
        .expect("oidc peer ready within 20 s");
        OidcPeer {
            issuer,
            events: rx,
            _child: child,
        }
    }

    /// The next `EVENT …` line (without the prefix), waiting at most `within`.
    pub async fn next_event(&mut self, within: Duration) -> Option<String> {
        tokio::time::timeout(within, async {
            loop {
                let line = self.events.recv().await?;
                if let Some(ev) = line.strip_prefix("EVENT ") {
                    return Some(ev.to_owned());
                }
            }
        })
        .await
        .ok()
        .flatten()
    }
}
