//! `lane-agent outbox resolve` with the real binary: purchases whose answers the POS
//! stand-in dropped after recording them are in doubt and never re-sent by the agent; the
//! operator resolves one as recorded through the running agent and the other on the stopped
//! store; the ledger keeps exactly one purchase per sale.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use hardware_sim::pos::{Fault, FaultKind, FaultTarget, PosSim, Seed};
use serde_json::{Value, json};

const WAIT: Duration = Duration::from_secs(30);
const TOKEN: &str = "outbox-cli-token-0123456789";

fn private(dir: &Path, name: &str, contents: &str) -> PathBuf {
    let path = dir.join(name);
    fs::write(&path, contents).unwrap();
    fs::set_permissions(&path, fs::Permissions::from_mode(0o600)).unwrap();
    path
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn config(dir: &Path, pos: &PosSim, port: u16) -> PathBuf {
    let secret = private(
        dir,
        "pos-client-secret",
        "lane-agent-sim-secret-0123456789\n",
    );
    let token = private(dir, "api-token", &format!("{TOKEN}\n"));
    let text = format!(
        r#"[lane]
store_code = "DALLAS"
register_code = "LANE01"
[pos]
graphql_url = "{}"
issuer_url = "{}"
client_id = "lane-agent"
client_secret_file = "{}"
request_timeout_ms = 2000
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
[offline]
enabled = true
max_transaction_amount = "50.00"
max_total_amount = "500.00"
max_count = 100
max_age_hours = 24
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

fn cli(config: &Path, args: &[&str]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_lane-agent"));
    cmd.args(args)
        .arg("--config")
        .arg(config)
        .stdin(Stdio::null());
    cmd.output().unwrap()
}

fn json_of(out: &Output) -> Value {
    assert!(
        out.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stdout)))
}

fn expect(sock: &UnixDatagram, needle: &str) {
    let deadline = Instant::now() + WAIT;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        assert!(!left.is_zero(), "no {needle}");
        sock.set_read_timeout(Some(left)).unwrap();
        let mut buf = [0u8; 4096];
        let n = sock.recv(&mut buf).expect("notify socket");
        if String::from_utf8_lossy(&buf[..n])
            .lines()
            .any(|l| l.starts_with(needle))
        {
            return;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_in_doubt_purchase_waits_for_the_operator_and_is_resolved_as_recorded() {
    let dir = tempfile::tempdir().unwrap();
    let pos = PosSim::start("127.0.0.1:0".parse().unwrap(), Seed::example())
        .await
        .unwrap();
    let port = free_port();
    let config = config(dir.path(), &pos, port);
    pos.control().inject(Fault {
        target: FaultTarget::Operation("purchaseAdd".into()),
        kind: FaultKind::ApplyThenDrop,
        times: Some(2),
    });

    let notify_path = dir.path().join("notify.sock");
    let notify = UnixDatagram::bind(&notify_path).unwrap();
    let child = Command::new(env!("CARGO_BIN_EXE_lane-agent"))
        .args(["run", "--config"])
        .arg(&config)
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

    let http = reqwest::Client::new();
    let base = format!("http://127.0.0.1:{port}");
    let steps = ["doubt-1", "doubt-2"].into_iter().flat_map(|sale| {
        [
            (
                "/v1/sales".to_owned(),
                json!({"sale_id": sale, "lines": [{"sku": "ITEM-001", "quantity": "1", "unit_price": "6.60"}]}),
            ),
            (
                format!("/v1/sales/{sale}/payments"),
                json!({"method": "cash", "amount": "6.60"}),
            ),
            (format!("/v1/sales/{sale}/complete"), json!({})),
        ]
    });
    for (path, body) in steps {
        let r = http
            .post(format!("{base}{path}"))
            .bearer_auth(TOKEN)
            .json(&body)
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success(), "{path}: {}", r.status());
    }

    // The forwarder sends each once; the answers are lost; the items go in doubt.
    let deadline = Instant::now() + WAIT;
    let mut ticks = tokio::time::interval(Duration::from_millis(50));
    loop {
        let st: Value = http
            .get(format!("{base}/v1/status"))
            .bearer_auth(TOKEN)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if st["outbox"]["in_doubt"] == 2 {
            break;
        }
        assert!(Instant::now() < deadline, "never in doubt: {st}");
        ticks.tick().await;
    }
    assert_eq!(pos.control().ledger().purchases.len(), 2);

    let cfg = config.clone();
    let run = |args: Vec<&'static str>, id: Option<String>| {
        let c = cfg.clone();
        tokio::task::spawn_blocking(move || {
            let mut a: Vec<String> = args.iter().map(|s| (*s).to_owned()).collect();
            if let Some(id) = id {
                a.insert(2, id);
            }
            let refs: Vec<&str> = a.iter().map(String::as_str).collect();
            cli(&c, &refs)
        })
    };
    let list = json_of(&run(vec!["outbox", "list", "--json"], None).await.unwrap());
    let id_of = |sale: &str| {
        let item = list["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i["sale_id"] == sale)
            .unwrap_or_else(|| panic!("no item for {sale}: {list}"));
        assert_eq!(item["state"], "in_doubt", "{list}");
        item["id"].as_str().unwrap().to_owned()
    };
    let (first, second) = (id_of("doubt-1"), id_of("doubt-2"));

    // The agent runs: the CLI resolves through its operator route.
    let resolved = json_of(
        &run(
            vec!["outbox", "resolve", "--recorded", "--json"],
            Some(first.clone()),
        )
        .await
        .unwrap(),
    );
    assert_eq!(resolved["state"], "confirmed", "{resolved}");
    let st = json_of(&run(vec!["status", "--json"], None).await.unwrap());
    assert_eq!(st["agent"]["running"], true, "{st}");
    assert_eq!(st["outbox"]["in_doubt"], 1, "{st}");
    // Waking the forwarder sends nothing: the recorded item is done, the other in doubt.
    let flush = run(vec!["outbox", "flush"], None).await.unwrap();
    let text = String::from_utf8_lossy(&flush.stdout);
    assert!(flush.status.success(), "{text}");
    assert!(text.contains("0 delivered, 0 still pending."), "{text}");
    // A confirmed item cannot be resolved again (nothing is re-sent).
    let again = run(vec!["outbox", "resolve", "--resend"], Some(first.clone()))
        .await
        .unwrap();
    assert!(!again.status.success());
    let err = String::from_utf8_lossy(&again.stderr);
    assert!(err.contains("outbox_item_not_resolvable"), "{err}");
    let shown = json_of(
        &run(vec!["outbox", "show", "--json"], Some(first.clone()))
            .await
            .unwrap(),
    );
    assert_eq!(shown["state"], "confirmed", "{shown}");
    assert_eq!(pos.control().ledger().purchases.len(), 2);

    assert!(
        Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status()
            .unwrap()
            .success()
    );
    let mut child = child;
    let status = tokio::task::spawn_blocking(move || {
        expect(&notify, "STOPPING=1");
        child.wait().unwrap()
    })
    .await
    .unwrap();
    assert!(status.success());

    // The agent is stopped: the CLI resolves on the store.
    let resolved = json_of(
        &run(
            vec!["outbox", "resolve", "--recorded", "--json"],
            Some(second.clone()),
        )
        .await
        .unwrap(),
    );
    assert_eq!(resolved["state"], "confirmed", "{resolved}");
    let st = json_of(&run(vec!["status", "--json"], None).await.unwrap());
    assert_eq!(st["agent"]["running"], false, "{st}");
    assert_eq!(st["outbox"]["in_doubt"], 0, "{st}");
    let again = run(vec!["outbox", "resolve", "--resend"], Some(second))
        .await
        .unwrap();
    assert!(!again.status.success());
    assert_eq!(pos.control().ledger().purchases.len(), 2);
    pos.shutdown().await;
}
