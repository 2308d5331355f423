//! Issue 13 item 9: the forwarder feeds the watchdog. While its `purchaseAdd` hangs at the
//! POS (latency far beyond the watchdog interval, inside the request timeout) the service
//! stops sending `WATCHDOG=1` and names the forwarder; before that it pings.

use crate::support::lane::TestLane;
use std::os::unix::net::UnixDatagram;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::support::agent::{Api, expect_async};
use hardware_sim::pos::{Fault, FaultKind, FaultTarget};
use serde_json::json;

const TOKEN: &str = "watchdog-token-0123456789";

/// The arrival times of `WATCHDOG=1` on `sock` during `span`.
fn pings(sock: &UnixDatagram, span: Duration) -> Vec<Instant> {
    let end = Instant::now() + span;
    let mut out = Vec::new();
    loop {
        let left = end.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return out;
        }
        sock.set_read_timeout(Some(left)).unwrap();
        let mut buf = [0u8; 4096];
        match sock.recv(&mut buf) {
            Ok(n) => {
                if String::from_utf8_lossy(&buf[..n])
                    .lines()
                    .any(|l| l == "WATCHDOG=1")
                {
                    out.push(Instant::now());
                }
            }
            Err(_) => return out,
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stuck_forwarder_withholds_the_watchdog_ping() {
    let TestLane {
        dir, pos, config, ..
    } = TestLane::without_terminal()
        .token(TOKEN)
        .any_port()
        .request_timeout_ms(120_000)
        .build()
        .await;
    let notify_path = dir.path().join("notify.sock");
    let notify = Arc::new(UnixDatagram::bind(&notify_path).unwrap());
    let log = dir.path().join("agent.log");
    let mut child = Command::new(crate::support::agent::agent_bin())
        .args(["run", "--config"])
        .arg(&config)
        .env("NOTIFY_SOCKET", &notify_path)
        .env("WATCHDOG_USEC", "2000000")
        .env_remove("WATCHDOG_PID")
        .env("RUST_LOG", "info")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    let ready = expect_async(&notify, "READY=1").await;
    let addr = ready
        .lines()
        .find_map(|l| l.strip_prefix("STATUS=Serving on "))
        .and_then(|a| a.strip_suffix('.'))
        .unwrap()
        .to_owned();
    let api = Api::new(&addr, TOKEN);

    // Healthy: pings every second (half the 2 s interval).
    let n = Arc::clone(&notify);
    let before = tokio::task::spawn_blocking(move || pings(&n, Duration::from_secs(3)))
        .await
        .unwrap();
    assert!(before.len() >= 2, "no pings while healthy: {before:?}");

    // The POS now holds every purchaseAdd for 60 s; a completed cash sale sends one.
    pos.control().inject(Fault {
        target: FaultTarget::Operation("purchaseAdd".into()),
        kind: FaultKind::Latency(Duration::from_secs(60)),
        times: None,
    });
    let (st, v) = api
        .post(
            "/v1/sales",
            json!({"sale_id": "wd-1", "lines": [{"sku": "ITEM-001", "quantity": "1", "unit_price": "5.00"}]}),
        )
        .await;
    assert_eq!(st, 201, "{v}");
    let (st, v) = api
        .post(
            "/v1/sales/wd-1/payments",
            json!({"method": "cash", "amount": "5.00"}),
        )
        .await;
    assert_eq!(st, 201, "{v}");
    let (st, v) = api.post("/v1/sales/wd-1/complete", json!({})).await;
    assert_eq!(st, 200, "{v}");

    // Within the 2 s silence allowance (plus one ping period) the pings stop for good.
    let n = Arc::clone(&notify);
    let stuck = tokio::task::spawn_blocking(move || pings(&n, Duration::from_secs(7)))
        .await
        .unwrap();
    let started = stuck.first().copied();
    let last = stuck.last().copied();
    assert!(
        match (started, last) {
            (Some(_), Some(l)) => l.elapsed() >= Duration::from_secs(3),
            _ => true,
        },
        "pings went on while the forwarder hung: {} pings",
        stuck.len()
    );
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(
        text.contains("Withholding the watchdog ping") && text.contains("forwarder"),
        "{text}"
    );

    // SIGKILL: the test stands in for systemd's restart.
    child.kill().unwrap();
    child.wait().unwrap();
}
