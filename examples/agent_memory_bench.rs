//! Benchmark (issue 15 item 9): the real agent process's memory, idle and while it drains
//! 10,000 queued purchases to the POS stand-in, read from `/proc/<pid>/status` (`VmRSS` now,
//! `VmHWM` the peak) and printed against the goals (idle ≤ 20 MB, draining ≤ 40 MB).
//!
//! It runs the release `lane-agent` binary next to this example (or `LANE_AGENT_BIN`):
//!
//! ```sh
//! cargo build --release -p lane-agent --bin lane-agent
//! cargo run --release -p lane-agent --example agent_memory_bench [N]     # N = 10000
//! ```
//!
//! Idle: a fresh store, the stand-in online, READY, then 3 s of samples. Draining: a store
//! holding N purchases written before the start (as after a long outage), sampled every 20 ms
//! from READY until the stand-in holds all N. The samples are the measurement, not a
//! synchronisation: every wait is on an event (READY, the ledger count) under a timeout.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use hardware_sim::pos::{PosSim, Seed};
use lane_agent::engine::ports::{PurchaseInput, PurchaseLine};
use lane_agent::store::outbox::{self, NewItem};
use lane_agent::store::{OutboxKind, Store, StoreError, StoreOptions};

const MB: f64 = 1024.0 * 1024.0;

fn agent_bin() -> PathBuf {
    if let Some(p) = std::env::var_os("LANE_AGENT_BIN") {
        return p.into();
    }
    let exe = std::env::current_exe().expect("own path");
    // target/<profile>/examples/agent_memory_bench → target/<profile>/lane-agent
    exe.parent()
        .and_then(Path::parent)
        .map(|d| d.join("lane-agent"))
        .expect("target dir")
}

fn private(dir: &Path, name: &str, contents: &str) -> PathBuf {
    let path = dir.join(name);
    fs::write(&path, contents).expect("write");
    fs::set_permissions(&path, fs::Permissions::from_mode(0o600)).expect("chmod");
    path
}

fn config(dir: &Path, pos: &PosSim) -> PathBuf {
    let secret = private(
        dir,
        "pos-client-secret",
        "lane-agent-sim-secret-0123456789\n",
    );
    let token = private(dir, "api-token", "memory-bench-token-0123456789\n");
    let text = format!(
        r#"[lane]
store_code = "DALLAS"
register_code = "LANE01"
[pos]
graphql_url = "{}"
issuer_url = "{}"
client_id = "lane-agent"
client_secret_file = "{}"
request_timeout_ms = 10000
[api]
listen = "127.0.0.1:0"
token_file = "{}"
[store]
path = "{}"
[terminal]
protocol = "zvt"
transport = "tcp"
address = "127.0.0.1:9"
password = "000000"
[offline]
enabled = false
"#,
        pos.graphql_url(),
        pos.issuer_url(),
        secret.display(),
        token.display(),
        dir.join("agent.db").display(),
    );
    let path = dir.join("lane-agent.toml");
    fs::write(&path, text).expect("config");
    path
}

fn purchase_json(tid: &str) -> String {
    let one = rust_decimal::Decimal::ONE;
    let zero = rust_decimal::Decimal::ZERO;
    serde_json::to_string(&PurchaseInput {
        transaction_id: tid.into(),
        store_code: "DALLAS".into(),
        purchased_on: "2026-11-28T10:00:00".into(),
        pay_amount: one,
        sale_discount_amount: zero,
        item_discount_amount: zero,
        sub_total: one,
        refund_amount: zero,
        tax_amount: zero,
        line_items: vec![PurchaseLine {
            line_number: 1,
            sku: "ITEM-001".into(),
            is_refund: false,
            unit_price: one,
            ext_price: one,
            item_discount_amount: zero,
            sale_discount_amount: zero,
            quantity: one,
            uom: "EA".into(),
        }],
        channel: None,
        member_id: None,
        order_type: None,
        pay_method: Some("CASH".into()),
        customer_id: None,
        email: None,
    })
    .expect("json")
}

/// `VmRSS` and `VmHWM` of `pid`, in bytes.
fn memory(pid: u32) -> Option<(u64, u64)> {
    let text = fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let field = |name: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
            .map(|kb| kb * 1024)
    };
    Some((field("VmRSS:")?, field("VmHWM:")?))
}

fn start(cfg: &Path, dir: &Path) -> Child {
    let notify_path = dir.join("notify.sock");
    let _ = fs::remove_file(&notify_path);
    let notify = UnixDatagram::bind(&notify_path).expect("notify socket");
    let child = Command::new(agent_bin())
        .args(["run", "--config"])
        .arg(cfg)
        .env("NOTIFY_SOCKET", &notify_path)
        .env_remove("WATCHDOG_USEC")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(fs::File::create(dir.join("agent.log")).expect("log"))
        .spawn()
        .unwrap_or_else(|e| {
            panic!(
                "{}: {e}; build it first: cargo build --release -p lane-agent --bin lane-agent",
                agent_bin().display()
            )
        });
    let mut child = child;
    match ready(&notify) {
        Ok(()) => child,
        Err(e) => {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{e}; see {}", dir.join("agent.log").display());
        }
    }
}

/// Waits for `READY=1` on the notify socket, for at most 30 s.
fn ready(notify: &UnixDatagram) -> Result<(), String> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err("no READY=1 within 30 s".into());
        }
        notify
            .set_read_timeout(Some(left))
            .map_err(|e| e.to_string())?;
        let mut buf = [0u8; 4096];
        let n = notify
            .recv(&mut buf)
            .map_err(|e| format!("no READY=1: {e}"))?;
        if String::from_utf8_lossy(&buf[..n])
            .lines()
            .any(|l| l == "READY=1")
        {
            return Ok(());
        }
    }
}

fn stop(mut child: Child) {
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let _ = child.wait();
}

fn verdict(bytes: u64, goal_mb: f64) -> &'static str {
    if bytes as f64 / MB <= goal_mb {
        "MET"
    } else {
        "NOT MET"
    }
}

#[tokio::main]
async fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(10_000);
    let pos = PosSim::start("127.0.0.1:0".parse().expect("addr"), Seed::example())
        .await
        .expect("stand-in");

    // Idle.
    let idle_dir = tempfile::tempdir().expect("tempdir");
    let cfg = config(idle_dir.path(), &pos);
    let child = start(&cfg, idle_dir.path());
    let pid = child.id();
    let until = Instant::now() + Duration::from_secs(3);
    let mut idle = (0, 0);
    while Instant::now() < until {
        idle = memory(pid).expect("agent alive");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    stop(child);

    // Draining N purchases queued before the start.
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = config(dir.path(), &pos);
    {
        let store = Store::open(StoreOptions::new(dir.path().join("agent.db")))
            .await
            .expect("store");
        store
            .write(move |c, _| {
                for i in 0..n {
                    outbox::enqueue(
                        c,
                        &NewItem {
                            kind: OutboxKind::Purchase,
                            sale_id: Some(format!("MEM-{i}")),
                            payment_id: None,
                            amount: None,
                            code_hash: None,
                            payload: purchase_json(&format!("MEM-{i}")),
                        },
                    )
                    .map_err(|e| StoreError::Data(e.to_string()))?;
                }
                Ok(())
            })
            .await
            .expect("backlog");
    }
    let base = pos.control().ledger().purchases.len();
    let t = Instant::now();
    let child = start(&cfg, dir.path());
    let pid = child.id();
    let mut peak_rss = 0;
    let mut last = (0, 0);
    let deadline = Instant::now() + Duration::from_secs(600);
    loop {
        if let Some(m) = memory(pid) {
            last = m;
            peak_rss = peak_rss.max(m.0);
        }
        if pos.control().ledger().purchases.len() >= base + n {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the drain did not finish in 600 s"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let drained_in = t.elapsed();
    if let Some(m) = memory(pid) {
        last = m;
    }
    stop(child);
    pos.shutdown().await;

    println!("agent memory (real `lane-agent run`, /proc/<pid>/status)");
    println!(
        "idle:     VmRSS {:>6.1} MB  VmHWM {:>6.1} MB   goal <= 20 MB: {}",
        idle.0 as f64 / MB,
        idle.1 as f64 / MB,
        verdict(idle.0, 20.0)
    );
    println!(
        "draining: VmRSS peak sampled {:>6.1} MB  VmHWM {:>6.1} MB   goal <= 40 MB: {}   ({n} purchases drained in {:.1} s)",
        peak_rss as f64 / MB,
        last.1 as f64 / MB,
        verdict(last.1, 40.0),
        drained_in.as_secs_f64()
    );
}
