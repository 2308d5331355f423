//! `lane-agent history` and `lane-agent report` with the real binary: POS sales by date range
//! and customer from the POS stand-in (and a clear error for a client without ViewSales), and
//! the daily reconciliation report of a lane's journal, read-only while the agent runs and
//! through the store when it does not.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use hardware_sim::pos::{PosSim, Seed};
use lane_agent::demo::{DEMO_TOKEN, DemoLane};
use lane_agent::store::{Store, StoreOptions};
use serde_json::{Value, json};

fn private(dir: &Path, name: &str, contents: &str) -> PathBuf {
    let path = dir.join(name);
    fs::write(&path, contents).unwrap();
    fs::set_permissions(&path, fs::Permissions::from_mode(0o600)).unwrap();
    path
}

/// A config for `client_id`; the API port is one nothing listens on (the agent is not running).
fn config(dir: &Path, pos: &PosSim, client_id: &str, secret: &str) -> PathBuf {
    let secret = private(dir, "pos-client-secret", &format!("{secret}\n"));
    let token = private(dir, "api-token", "history-token-0123456789\n");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let text = format!(
        r#"[lane]
store_code = "DALLAS"
register_code = "LANE01"
[pos]
graphql_url = "{}"
issuer_url = "{}"
client_id = "{client_id}"
client_secret_file = "{}"
request_timeout_ms = 5000
[api]
listen = "127.0.0.1:{port}"
token_file = "{}"
[store]
path = "{}"
[terminal]
protocol = "zvt"
transport = "tcp"
address = "127.0.0.1:9"
password = "000000"
"#,
        pos.graphql_url(),
        pos.issuer_url(),
        secret.display(),
        token.display(),
        dir.join("agent.db").display()
    );
    let path = dir.join("lane-agent.toml");
    fs::write(&path, text).unwrap();
    path
}

/// Runs the binary off the test's runtime threads (the POS stand-in must keep answering).
async fn cli(config: &Path, args: &[&str]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_lane-agent"));
    cmd.args(args).arg("--config").arg(config);
    tokio::task::spawn_blocking(move || cmd.output().unwrap())
        .await
        .unwrap()
}

fn json_of(o: &Output) -> Value {
    assert!(
        o.status.success(),
        "exit {:?}: {}",
        o.status.code(),
        String::from_utf8_lossy(&o.stderr)
    );
    serde_json::from_slice(&o.stdout).unwrap()
}

fn ids(v: &Value) -> Vec<&str> {
    v["sales"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn history_by_date_range_and_customer_and_refused_without_view_sales() {
    let pos = PosSim::start("127.0.0.1:0".parse().unwrap(), Seed::example())
        .await
        .unwrap();
    let reports = tempfile::tempdir().unwrap();
    let cfg = config(
        reports.path(),
        &pos,
        "reports",
        "reports-sim-secret-0123456789",
    );

    // --to is inclusive: the seed's sales of 2026-11-20 and 2026-11-21.
    let both = json_of(
        &cli(
            &cfg,
            &[
                "history",
                "--from",
                "2026-11-20",
                "--to",
                "2026-11-21",
                "--json",
            ],
        )
        .await,
    );
    assert_eq!(ids(&both), ["500001", "500002"], "{both}");
    assert_eq!(both["truncated"], false);
    let first = json_of(
        &cli(
            &cfg,
            &[
                "history",
                "--from",
                "2026-11-20",
                "--to",
                "2026-11-20",
                "--json",
            ],
        )
        .await,
    );
    assert_eq!(ids(&first), ["500001"], "{first}");
    let customer = json_of(
        &cli(
            &cfg,
            &[
                "history",
                "--from",
                "2026-11-01",
                "--to",
                "2026-11-30",
                "--customer",
                "00000000000000000001",
                "--json",
            ],
        )
        .await,
    );
    assert_eq!(ids(&customer), ["500001"], "{customer}");
    assert_eq!(customer["sales"][0]["register_code"], "R01");

    let text = cli(
        &cfg,
        &["history", "--from", "2026-11-20", "--to", "2026-11-21"],
    )
    .await;
    assert!(text.status.success());
    let text = String::from_utf8(text.stdout).unwrap();
    assert!(text.contains("500001") && text.contains("500002"), "{text}");
    assert!(text.contains("2 sale(s)"), "{text}");

    // Bad dates are usage errors.
    let bad = cli(
        &cfg,
        &["history", "--from", "2026-13-01", "--to", "2026-11-21"],
    )
    .await;
    assert_eq!(bad.status.code(), Some(64));
    let reversed = cli(
        &cfg,
        &["history", "--from", "2026-11-21", "--to", "2026-11-20"],
    )
    .await;
    assert_eq!(reversed.status.code(), Some(1));

    // The lane's own client has no ViewSales.
    let lane = tempfile::tempdir().unwrap();
    let cfg = config(
        lane.path(),
        &pos,
        "lane-agent",
        "lane-agent-sim-secret-0123456789",
    );
    let refused = cli(
        &cfg,
        &["history", "--from", "2026-11-20", "--to", "2026-11-21"],
    )
    .await;
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert_eq!(refused.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("not authorized: the POS client lacks ViewSales"),
        "{stderr}"
    );
    assert!(refused.stdout.is_empty());

    // The POS down is a service unreachable.
    pos.control().set_online(false).await;
    let cfg = config(
        reports.path(),
        &pos,
        "reports",
        "reports-sim-secret-0123456789",
    );
    let down = cli(
        &cfg,
        &["history", "--from", "2026-11-20", "--to", "2026-11-21"],
    )
    .await;
    assert_eq!(
        down.status.code(),
        Some(69),
        "{}",
        String::from_utf8_lossy(&down.stderr)
    );
    pos.shutdown().await;
}

async fn post(base: &str, path: &str, body: Value) -> (u16, Value) {
    let r = reqwest::Client::new()
        .post(format!("{base}{path}"))
        .json(&body)
        .bearer_auth(DEMO_TOKEN)
        .timeout(std::time::Duration::from_secs(30))
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.json().await.unwrap_or(Value::Null))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn report_reads_a_running_lanes_journal_read_only() {
    let lane = DemoLane::start().await.unwrap();
    let base = lane.api_url.clone();
    let (st, v) = post(
        &base,
        "/v1/sales",
        json!({"sale_id": "rep-1", "lines": [{"sku": "1000001", "quantity": "1", "unit_price": "9.99"}]}),
    )
    .await;
    assert_eq!(st, 201, "{v}");
    let (st, v) = post(
        &base,
        "/v1/sales/rep-1/payments",
        json!({"method": "giftcard", "amount": "9.99", "code": "6006491000000001", "payment_id": "rep-1-g"}),
    )
    .await;
    assert_eq!((st, &v["status"]), (201, &json!("approved")), "{v}");
    let (st, v) = post(&base, "/v1/sales/rep-1/complete", json!({})).await;
    assert_eq!(st, 200, "{v}");
    // A second sale stays open.
    let (st, v) = post(
        &base,
        "/v1/sales",
        json!({"sale_id": "rep-2", "lines": [{"sku": "1000001", "quantity": "2", "unit_price": "9.99"}]}),
    )
    .await;
    assert_eq!(st, 201, "{v}");

    // The demo's API listens on port 0, so the report cannot tell the agent runs and reads
    // read-only, while the agent keeps its store open.
    let cfg = lane.dir.path().join("lane-agent.toml");
    let today = chrono::Local::now()
        .date_naive()
        .format("%Y-%m-%d")
        .to_string();
    let r = json_of(&cli(&cfg, &["report", "--json"]).await);
    assert_eq!(r["day"], today.as_str(), "{r}");
    assert_eq!(r["sales_completed"], 1, "{r}");
    assert_eq!(r["sales_total"], "9.99", "{r}");
    assert_eq!(r["sales_unfinished"], 1, "{r}");
    assert_eq!(r["tenders"]["giftcard"]["count"], 1, "{r}");
    assert_eq!(r["tenders"]["giftcard"]["amount"], "9.99", "{r}");
    let text = cli(&cfg, &["report", "--date", &today]).await;
    let text = String::from_utf8(text.stdout).unwrap();
    assert!(
        text.contains(&format!("Reconciliation report for {today}")),
        "{text}"
    );
    assert!(text.contains("1 completed (9.99)"), "{text}");
    // Another day of the same journal is empty.
    let other = json_of(&cli(&cfg, &["report", "--date", "2001-01-01", "--json"]).await);
    assert_eq!(other["sales_completed"], 0, "{other}");
    assert_eq!(other["sales_unfinished"], 0, "{other}");

    // The agent still writes afterwards: the report held no lock.
    let (st, v) = post(
        &base,
        "/v1/sales",
        json!({"sale_id": "rep-3", "lines": [{"sku": "1000001", "quantity": "1", "unit_price": "9.99"}]}),
    )
    .await;
    assert_eq!(st, 201, "{v}");
    lane.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn report_on_a_stopped_lane_opens_the_store_and_a_missing_store_is_a_storage_error() {
    let pos = PosSim::start("127.0.0.1:0".parse().unwrap(), Seed::example())
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(
        dir.path(),
        &pos,
        "lane-agent",
        "lane-agent-sim-secret-0123456789",
    );
    let missing = cli(&cfg, &["report"]).await;
    assert_eq!(
        missing.status.code(),
        Some(74),
        "{}",
        String::from_utf8_lossy(&missing.stderr)
    );
    drop(
        Store::open(StoreOptions::new(dir.path().join("agent.db")))
            .await
            .unwrap(),
    );
    let r = json_of(&cli(&cfg, &["report", "--date", "2026-11-20", "--json"]).await);
    assert_eq!(r["day"], "2026-11-20");
    assert_eq!(r["sales_completed"], 0);
    assert_eq!(r["tenders"], json!({}));
    pos.shutdown().await;
}
