//! Issue 15 item 8: the forwarder's window through the real binary against the POS stand-in.
//! Over a slow link (the stand-in's latency fault on `purchaseAdd`) purchases of different
//! sales are at the POS together, never more than `[pos] forward_window`, each recorded once;
//! a card's offline redemptions still reach the POS in the order they were taken, and each
//! sale's purchase follows its own redemption. The key is checked before anything starts.

use std::collections::BTreeMap;
use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::support::agent::{self, Api, OFFLINE_ENABLED};
use crate::support::lane::{LaneConfig, write_config, zvt_section};
use crate::support::sse::event_where;
use hardware_sim::pos::{
    CodeType, Fault, FaultKind, FaultTarget, Ledger, PosSim, Seed, SeedGiftcard, SeedGiftcardCode,
    TransStatus, TransType,
};
use hardware_sim::terminal::{SimEvent, SimTerminal, SimTerminalConfig};
use rust_decimal::Decimal;
use serde_json::json;
use tokio::sync::broadcast::error::RecvError;

const TOKEN: &str = "forward-window-token-0123456789";
const CARD_ID: &str = "9101";
const CARD: &str = "6006499100000001";
const WINDOW: usize = 4;

fn seed() -> Seed {
    let mut seed = Seed::example();
    seed.giftcards.push(SeedGiftcard {
        id: CARD_ID.into(),
        member_id: None,
        balance: Decimal::new(100_000, 2),
        codes: vec![SeedGiftcardCode {
            code_type: CodeType::Physical,
            code: CARD.into(),
            pin: None,
            expires_on: None,
        }],
    });
    seed
}

/// The lane's config with `forward_window = window` in `[pos]`.
fn config(dir: &Path, pos: &PosSim, window: &str, listen: &str, terminal: &str) -> PathBuf {
    let path = write_config(
        dir,
        pos,
        &LaneConfig {
            token: TOKEN,
            listen,
            request_timeout_ms: 5000,
            lane_lines: "",
            terminal: &zvt_section(terminal, ""),
            offline: OFFLINE_ENABLED,
            sections: "",
        },
    );
    let text = std::fs::read_to_string(&path).unwrap();
    let text = text.replacen(
        "request_timeout_ms = 5000\n",
        &format!("request_timeout_ms = 5000\nforward_window = {window}\n"),
        1,
    );
    assert!(text.contains("forward_window"), "{text}");
    std::fs::write(&path, text).unwrap();
    path
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_window_out_of_range_is_refused_before_anything_starts() {
    let pos = PosSim::start("127.0.0.1:0".parse().unwrap(), Seed::example())
        .await
        .unwrap();
    for bad in ["0", "65", "\"8\""] {
        let dir = tempfile::tempdir().unwrap();
        let cfg = config(dir.path(), &pos, bad, "127.0.0.1:0", "127.0.0.1:9");
        let out = agent::cli(&cfg, &["check-config"]);
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(out.status.code(), Some(64), "{bad}: {text}");
        assert!(text.contains("pos.forward_window"), "{bad}: {text}");
    }
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path(), &pos, "1", "127.0.0.1:0", "127.0.0.1:9");
    let out = agent::cli(&cfg, &["check-config"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The most `purchaseAdd` requests the stand-in held at once: each counts from its arrival
/// until its purchase is recorded (both on the stand-in's clock).
fn most_at_once(ledger: &Ledger) -> i32 {
    // Only requests whose purchase was recorded: one cut short by a kill never ends.
    let mut marks: Vec<(chrono::DateTime<chrono::Utc>, i32)> = Vec::new();
    for p in &ledger.purchases {
        if let Some(r) = ledger
            .requests
            .iter()
            .find(|r| r.transaction_id.as_deref() == Some(p.transaction_id.as_str()))
        {
            marks.push((r.at, 1));
            marks.push((p.recorded_at, -1));
        }
    }
    marks.sort();
    let (mut now, mut most) = (0, 0);
    for (_, d) in marks {
        now += d;
        most = most.max(now);
    }
    most
}

/// `lane-agent run` with its log in `dir/agent.log`, after READY.
async fn start(cfg: &Path, dir: &Path) -> (std::process::Child, UnixDatagram) {
    let notify_path = dir.join("notify.sock");
    let notify = UnixDatagram::bind(&notify_path).unwrap();
    let child = Command::new(agent::agent_bin())
        .args(["run", "--config"])
        .arg(cfg)
        .env("NOTIFY_SOCKET", &notify_path)
        .env_remove("WATCHDOG_USEC")
        .env("RUST_LOG", "info")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(dir.join("agent.log")).unwrap())
        .spawn()
        .unwrap();
    let notify = tokio::task::spawn_blocking(move || {
        agent::expect(&notify, "READY=1");
        notify
    })
    .await
    .unwrap();
    (child, notify)
}

/// SIGTERM, STOPPING=1 and a clean exit (the log is shown otherwise).
async fn stop(mut child: std::process::Child, notify: UnixDatagram, dir: &Path) {
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let status = tokio::task::spawn_blocking(move || {
        agent::expect(&notify, "STOPPING=1");
        child.wait().unwrap()
    })
    .await
    .unwrap();
    let log = std::fs::read_to_string(dir.join("agent.log")).unwrap_or_default();
    let tail: Vec<&str> = log
        .lines()
        .rev()
        .filter(|l| !l.contains("zvt::transport"))
        .take(30)
        .collect();
    assert!(
        status.success(),
        "{status}; log tail (newest first):\n{}",
        tail.join("\n")
    );
}

struct Sale {
    id: String,
    /// The gift-card payment's refNo, for sales paid by the card.
    ref_no: Option<String>,
}

async fn sell(api: &Api, id: &str, gift: bool) -> Sale {
    let (st, v) = api
        .post(
            "/v1/sales",
            json!({"sale_id": id, "lines": [{"sku": "ITEM-001", "quantity": "1", "unit_price": "2.00"}]}),
        )
        .await;
    assert!(st < 300, "{st} {v}");
    let body = if gift {
        json!({"method": "giftcard", "amount": "2.00", "code": CARD, "payment_id": format!("{id}-g")})
    } else {
        json!({"method": "cash", "amount": "2.00", "payment_id": format!("{id}-c")})
    };
    let (st, v) = api.post(&format!("/v1/sales/{id}/payments"), body).await;
    assert!(st < 300, "{st} {v}");
    let (st, v) = api
        .post(&format!("/v1/sales/{id}/complete"), json!({}))
        .await;
    assert!(st < 300, "{st} {v}");
    let view = api.get(&format!("/v1/sales/{id}")).await;
    let ref_no = view["payments"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["method"] == "giftcard")
        .map(|p| p["ref_no"].as_str().unwrap().to_owned());
    Sale {
        id: id.into(),
        ref_no,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn purchases_overlap_over_a_slow_link_and_a_cards_redemptions_keep_their_order() {
    let dir = tempfile::tempdir().unwrap();
    let pos = PosSim::start("127.0.0.1:0".parse().unwrap(), seed())
        .await
        .unwrap();
    // A terminal for the cashier display that the gift-card tenders update.
    let terminal =
        SimTerminal::start_tcp("127.0.0.1:0".parse().unwrap(), SimTerminalConfig::default())
            .await
            .unwrap();
    let port = agent::free_port();
    let cfg = config(
        dir.path(),
        &pos,
        &WINDOW.to_string(),
        &format!("127.0.0.1:{port}"),
        &terminal.addr().unwrap().to_string(),
    );
    let (child, notify) = start(&cfg, dir.path()).await;
    let api = Api::new(&format!("127.0.0.1:{port}"), TOKEN);

    // Online once, so the card's balance is known for offline acceptance; its purchase is
    // at the POS before the link goes (cut mid-send, it would be in doubt).
    let mut events = api
        .http
        .get(format!("{}/v1/events", api.base))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    let mut buf = String::new();
    let mut screens = terminal.control().subscribe();
    let first = sell(&api, "FW-0", true).await;
    assert!(first.ref_no.is_some());
    event_where(&mut events, &mut buf, "outbox", |d| {
        d["kind"] == "purchase" && d["state"] == "confirmed"
    })
    .await;
    drop(events);

    // Offline: cash sales and offline redemptions of the one card, interleaved.
    pos.control().set_online(false).await;
    let mut sales = Vec::new();
    for i in 1..=16 {
        sales.push(sell(&api, &format!("FW-{i}"), i % 5 == 0).await);
    }
    let offline_refs: Vec<String> = sales.iter().filter_map(|s| s.ref_no.clone()).collect();
    assert_eq!(offline_refs.len(), 3);
    // The cashier saw "processing" for the online tender only: offline the lane decides at
    // once, and the result screen is all there is to show.
    let processing = ["Gift card ****0001", "Amount 2.00"]
        .map(String::from)
        .to_vec();
    let (mut processed, mut offline_results) = (0, 0);
    tokio::time::timeout(agent::WAIT, async {
        while offline_results < 3 {
            match screens.recv().await {
                Ok(SimEvent::Display(lines)) if lines == processing => processed += 1,
                Ok(SimEvent::Display(lines)) if lines[0] == "Approved OFFLINE" => {
                    offline_results += 1
                }
                Ok(_) | Err(RecvError::Lagged(_)) => {}
                Err(RecvError::Closed) => panic!("terminal stopped"),
            }
        }
    })
    .await
    .expect("the three offline result screens");
    assert_eq!(processed, 1, "a processing screen for an offline tender");

    // The link comes back slow: every purchaseAdd waits 300 ms at the POS.
    pos.control().inject(Fault {
        target: FaultTarget::Operation("purchaseAdd".into()),
        kind: FaultKind::Latency(Duration::from_millis(300)),
        times: None,
    });
    pos.control().set_online(true).await;
    let (st, v) = api.post("/v1/outbox/flush", json!({})).await;
    assert!(st < 300, "{st} {v}");
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let s = api.get("/v1/status").await;
        if s["outbox"]["pending"].as_u64() == Some(0) {
            assert_eq!(s["outbox"]["in_doubt"].as_u64(), Some(0), "{s}");
            break;
        }
        assert!(Instant::now() < deadline, "outbox not drained: {s}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    stop(child, notify, dir.path()).await;

    let ledger = pos.control().ledger();
    // Every sale's purchase exactly once, sent once.
    let mut recorded_at = BTreeMap::new();
    let tids: Vec<String> = {
        let store = lane_agent::store::Store::open(lane_agent::store::StoreOptions::new(
            dir.path().join("agent.db"),
        ))
        .await
        .unwrap();
        let ids: Vec<String> = std::iter::once(&first)
            .chain(&sales)
            .map(|s| s.id.clone())
            .collect();
        store
            .read(move |c, _| {
                ids.iter()
                    .map(|id| {
                        lane_agent::store::sales::find(c, id)
                            .map(|s| s.expect("sale").transaction_id)
                    })
                    .collect()
            })
            .await
            .unwrap()
    };
    for (s, tid) in std::iter::once(&first).chain(&sales).zip(&tids) {
        let found = ledger.purchases_with(tid);
        assert_eq!(found.len(), 1, "{}: {tid} recorded {}", s.id, found.len());
        assert_eq!(ledger.attempts_for(tid), 1, "{}: {tid} sent again", s.id);
        recorded_at.insert(s.id.clone(), found[0].recorded_at);
    }

    // Concurrency at the POS, within the window.
    let most = most_at_once(&ledger);
    assert!(
        most > 1,
        "the stand-in never held two purchases at once (window {WINDOW})"
    );
    assert!(
        most <= WINDOW as i32,
        "{most} purchases at once, window {WINDOW}"
    );

    // The card's offline redemptions in the order they were taken, each before its purchase.
    let uses: Vec<&hardware_sim::pos::GiftcardTransRecord> = ledger
        .giftcard_transactions
        .iter()
        .filter(|t| {
            t.giftcard_id == CARD_ID
                && t.trans_type == TransType::Use
                && t.status == TransStatus::Completed
                && t.ref_no.as_ref().is_some_and(|r| offline_refs.contains(r))
        })
        .collect();
    let order: Vec<String> = uses.iter().filter_map(|t| t.ref_no.clone()).collect();
    assert_eq!(order, offline_refs, "redemptions out of order");
    for s in sales.iter().filter(|s| s.ref_no.is_some()) {
        let redeemed = uses
            .iter()
            .find(|t| t.ref_no == s.ref_no)
            .map(|t| t.created)
            .unwrap();
        assert!(
            recorded_at[&s.id] >= redeemed,
            "{}: purchase recorded before its redemption",
            s.id
        );
    }
}
