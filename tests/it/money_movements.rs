//! Money movements belong to the engine, not to the HTTP request (issue 10), through the
//! real binary against `hardware-sim pos` and `hardware-sim terminal` over real TCP:
//!
//! - a register that hangs up while the customer is still at the terminal does not lose the
//!   approval: it is journaled, the retry gets it, the terminal saw one authorization;
//! - a reload retried with the same `request_id` is one ADD at the POS;
//! - a payment whose answer died with the agent (SIGKILL) and that the terminal's evidence
//!   cannot settle is **in doubt** after the restart — never declined — with an exception
//!   open, `complete`/`cancel` refused with 409 `payment_in_doubt`, until an operator
//!   resolves it through the CLI;
//! - a reservation made before a restart is released with 06 25 (its mode is journaled);
//! - a payment lost after a restart is never matched to the agent's own reversal;
//! - a full disk acknowledges nothing, shows in `/v1/status` and `/metrics`, and the lane
//!   resumes when space returns.

use std::process::Child;
use std::time::Duration;

use crate::support::agent::{Api, cli, json_of, stop_gracefully};
use crate::support::lane::TestLane;
use hardware_sim::pos::{Fault, FaultKind, FaultTarget, TransType};
use hardware_sim::terminal::TxKind;
use serde_json::{Value, json};

const TOKEN: &str = "money-movements-token-0123456789";

/// The lane of these tests: a simulated ZVT terminal, the POS stand-in, `extra` lines after
/// `[terminal]` (readers, `[giftcard]`, …), its state in `dir`.
async fn lane_with(dir: tempfile::TempDir, extra: &str) -> TestLane {
    TestLane::zvt()
        .token(TOKEN)
        .in_dir(dir)
        .terminal_lines(extra)
        .build()
        .await
}

async fn lane() -> TestLane {
    lane_with(tempfile::tempdir().unwrap(), "").await
}

async fn open(api: &Api, sale_id: &str, price: &str) {
    let (st, v) = api
        .post(
            "/v1/sales",
            json!({"sale_id": sale_id, "lines": [{"sku": "ITEM-001", "quantity": "1", "unit_price": price}]}),
        )
        .await;
    assert_eq!(st, 201, "{v}");
}

/// Waits (bounded) until the sale shows `payment_id` in `state`.
async fn payment_state_becomes(api: &Api, sale_id: &str, payment_id: &str, state: &str) -> Value {
    let deadline = tokio::time::Instant::now() + crate::support::agent::WAIT;
    let mut rx_interval = tokio::time::interval(Duration::from_millis(20));
    loop {
        let sale = api.get(&format!("/v1/sales/{sale_id}")).await;
        let found = sale["payments"]
            .as_array()
            .and_then(|ps| ps.iter().find(|p| p["payment_id"] == payment_id))
            .map(|p| p["state"].clone());
        if found.as_ref().and_then(Value::as_str) == Some(state) {
            return sale;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "payment {payment_id} never reached {state}: {sale}"
        );
        rx_interval.tick().await;
    }
}

/// Waits (bounded) until the agent's `/metrics` shows `line` (counters move when the
/// engine's work ends, which may be after the register's answer).
async fn metric_becomes(api: &Api, line: &str) {
    let deadline = tokio::time::Instant::now() + crate::support::agent::WAIT;
    let mut tick = tokio::time::interval(Duration::from_millis(100));
    loop {
        let text = api
            .http
            .get(format!("{}/metrics", api.base))
            .bearer_auth(api.token)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        if text.lines().any(|l| l == line) {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "/metrics never showed {line:?}:\n{text}"
        );
        tick.tick().await;
    }
}

fn kill(child: &mut Child) {
    child.kill().unwrap();
    child.wait().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_register_that_hangs_up_does_not_lose_the_approval() {
    let l = lane().await;
    let (child, notify) = l.start().await;
    open(&l.api, "hang-1", "9.99").await;
    l.terminal().control().hold_card();

    // The register gives up after one second; the customer is still at the terminal.
    let impatient = reqwest::Client::builder()
        .timeout(Duration::from_secs(1))
        .build()
        .unwrap();
    let body = json!({"method": "card", "amount": "9.99", "payment_id": "hang-1-c"});
    let gave_up = impatient
        .post(format!("http://{}/v1/sales/hang-1/payments", l.addr))
        .bearer_auth(TOKEN)
        .json(&body)
        .send()
        .await;
    assert!(gave_up.is_err(), "the register timed out: {gave_up:?}");
    // The movement carries on: its intent is journaled and it is running.
    payment_state_becomes(&l.api, "hang-1", "hang-1-c", "pending").await;

    // The register asks again with the same id while the customer finally pays.
    let retry = {
        let api = Api::new(&l.addr, TOKEN);
        let body = body.clone();
        tokio::spawn(async move { api.post("/v1/sales/hang-1/payments", body).await })
    };
    l.terminal().control().present_card();
    let (st, v) = retry.await.unwrap();
    assert_eq!(st, 201, "{v}");
    assert_eq!(v["status"], "approved", "{v}");
    assert_eq!(v["due"], "0.00", "{v}");
    // A later retry reads the journal: the same answer.
    let (_, again) = l.api.post("/v1/sales/hang-1/payments", body).await;
    assert_eq!(again["status"], "approved", "{again}");
    assert_eq!(
        l.terminal().control().approved_payments(),
        1,
        "one authorization at the terminal: {:?}",
        l.terminal().control().journal()
    );
    let (st, v) = l.api.post("/v1/sales/hang-1/complete", json!({})).await;
    assert_eq!((st, v["state"].as_str()), (200, Some("completed")), "{v}");
    stop_gracefully(child, notify).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_register_that_hangs_up_on_a_slow_pos_does_not_lose_the_gift_card_hold() {
    let l = lane().await;
    let (child, notify) = l.start().await;
    open(&l.api, "slow-1", "7.50").await;
    // The authorization takes 2.5 s at the POS (within the agent's 3 s request timeout).
    l.pos.control().inject(Fault {
        target: FaultTarget::Operation("giftcardTransAdd".into()),
        kind: FaultKind::Latency(Duration::from_millis(2500)),
        times: Some(1),
    });
    let impatient = reqwest::Client::builder()
        .timeout(Duration::from_secs(1))
        .build()
        .unwrap();
    let body = json!({"method": "giftcard", "amount": "7.50", "code": "6006491000000001",
        "payment_id": "slow-1-g"});
    let gave_up = impatient
        .post(format!("http://{}/v1/sales/slow-1/payments", l.addr))
        .bearer_auth(TOKEN)
        .json(&body)
        .send()
        .await;
    assert!(gave_up.is_err(), "the register timed out: {gave_up:?}");
    // The retry waits on the same movement and gets the hold it made.
    let (st, v) = l.api.post("/v1/sales/slow-1/payments", body).await;
    assert_eq!((st, v["status"].as_str()), (201, Some("approved")), "{v}");
    assert_eq!(v["due"], "0.00", "{v}");
    let holds: Vec<_> = l
        .pos
        .control()
        .ledger()
        .giftcard_transactions
        .into_iter()
        .filter(|t| t.trans_type == TransType::Use)
        .collect();
    assert_eq!(holds.len(), 1, "one authorization at the POS: {holds:?}");
    let (st, v) = l.api.post("/v1/sales/slow-1/complete", json!({})).await;
    assert_eq!((st, v["state"].as_str()), (200, Some("completed")), "{v}");
    stop_gracefully(child, notify).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reload_retried_with_its_request_id_is_one_add() {
    let l = lane().await;
    let (child, notify) = l.start().await;
    let body = json!({"code": "6006491000000001", "amount": "5.00", "request_id": "reload-1"});
    let (st, first) = l.api.post("/v1/giftcards/reload", body.clone()).await;
    assert_eq!(st, 200, "{first}");
    assert_eq!(first["status"], "loaded", "{first}");
    let (st, second) = l.api.post("/v1/giftcards/reload", body).await;
    assert_eq!(st, 200, "{second}");
    assert_eq!(second, first, "the first answer again");
    let other = json!({"code": "6006491000000001", "amount": "6.00", "request_id": "reload-1"});
    let (st, v) = l.api.post("/v1/giftcards/reload", other).await;
    assert_eq!(
        (st, v["error"]["code"].as_str()),
        (409, Some("idempotency_conflict")),
        "{v}"
    );
    let adds = l
        .pos
        .control()
        .ledger()
        .giftcard_transactions
        .iter()
        .filter(|t| t.amount > rust_decimal::Decimal::ZERO)
        .count();
    assert_eq!(
        adds,
        1,
        "one ADD at the POS: {:?}",
        l.pos.control().ledger().giftcard_transactions
    );
    stop_gracefully(child, notify).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_payment_lost_with_the_agent_is_in_doubt_until_an_operator_resolves_it() {
    let l = lane().await;
    let (mut child, _notify) = l.start().await;
    open(&l.api, "kill-1", "4.20").await;
    l.terminal().control().hold_card();
    let body = json!({"method": "card", "amount": "4.20", "payment_id": "kill-1-c"});
    let pending = {
        let api = Api::new(&l.addr, TOKEN);
        let body = body.clone();
        tokio::spawn(async move {
            let _ = api
                .http
                .post(format!("{}/v1/sales/kill-1/payments", api.base))
                .bearer_auth(api.token)
                .json(&body)
                .send()
                .await;
        })
    };
    payment_state_becomes(&l.api, "kill-1", "kill-1-c", "pending").await;
    kill(&mut child);
    pending.await.unwrap();
    // The customer pays while the agent is gone; the answer never reaches the journal.
    l.terminal().control().present_card();

    std::fs::remove_file(l.dir.path().join("notify.sock")).unwrap();
    let (child, notify) = l.start().await;
    // The terminal's evidence cannot tie its last transaction to ours (nothing to match it
    // by): in doubt, never declined.
    let sale = payment_state_becomes(&l.api, "kill-1", "kill-1-c", "in_doubt").await;
    assert_eq!(sale["due"], "4.20", "{sale}");
    let (_, answer) = l.api.post("/v1/sales/kill-1/payments", body).await;
    assert_eq!(answer["status"], "in_doubt", "{answer}");
    let status = l.api.get("/v1/status").await;
    assert_eq!(status["payments_in_doubt"], 1, "{status}");
    assert_eq!(status["open_exceptions"], 1, "{status}");
    for route in ["complete", "cancel"] {
        let (st, v) = l
            .api
            .post(&format!("/v1/sales/kill-1/{route}"), json!({}))
            .await;
        assert_eq!(
            (st, v["error"]["code"].as_str()),
            (409, Some("payment_in_doubt")),
            "{v}"
        );
    }
    let list = json_of(&cli(&l.config, &["exceptions", "list", "--json"]));
    let exceptions = list["exceptions"].as_array().unwrap();
    assert_eq!(exceptions.len(), 1, "{list}");
    assert_eq!(exceptions[0]["kind"], "payment_in_doubt");
    assert_eq!(exceptions[0]["payment_id"], "kill-1-c");
    let id = exceptions[0]["id"].as_str().unwrap().to_owned();
    // Without a decision the operator is told what is needed.
    let refused = cli(&l.config, &["exceptions", "ack", &id]);
    assert!(!refused.status.success());
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("resolution"),
        "{}",
        String::from_utf8_lossy(&refused.stderr)
    );
    // The terminal's own journal shows no approval (the link died before the customer's
    // card was read): the operator says so, and the customer pays again.
    assert_eq!(l.terminal().control().approved_payments(), 0);
    let closed = json_of(&cli(
        &l.config,
        &[
            "exceptions",
            "ack",
            &id,
            "--resolution",
            "not-approved",
            "--note",
            "terminal journal shows nothing",
            "--json",
        ],
    ));
    assert_eq!(closed["resolution"], "not_approved", "{closed}");
    let status = l.api.get("/v1/status").await;
    assert_eq!(
        (
            status["payments_in_doubt"].as_u64(),
            status["open_exceptions"].as_u64()
        ),
        (Some(0), Some(0))
    );
    let (st, v) = l
        .api
        .post(
            "/v1/sales/kill-1/payments",
            json!({"method": "card", "amount": "4.20", "payment_id": "kill-1-c2"}),
        )
        .await;
    assert_eq!((st, v["status"].as_str()), (201, Some("approved")), "{v}");
    let (st, v) = l.api.post("/v1/sales/kill-1/complete", json!({})).await;
    assert_eq!((st, v["state"].as_str()), (200, Some("completed")), "{v}");
    assert_eq!(
        l.terminal().control().approved_payments(),
        1,
        "charged once"
    );
    stop_gracefully(child, notify).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reservation_made_before_a_restart_is_released_with_06_25() {
    let l = lane().await;
    let (child, notify) = l.start().await;
    open(&l.api, "res-r", "15.00").await;
    let (st, v) = l
        .api
        .post(
            "/v1/sales/res-r/payments",
            json!({"method": "card", "amount": "15.00", "reserve": true, "payment_id": "res-r-c"}),
        )
        .await;
    assert_eq!((st, v["status"].as_str()), (201, Some("approved")), "{v}");
    stop_gracefully(child, notify).await;

    std::fs::remove_file(l.dir.path().join("notify.sock")).unwrap();
    let (child, notify) = l.start().await;
    let (st, v) = l.api.post("/v1/sales/res-r/cancel", json!({})).await;
    assert_eq!((st, v["state"].as_str()), (200, Some("cancelled")), "{v}");
    let kinds: Vec<TxKind> = l
        .terminal()
        .control()
        .journal()
        .iter()
        .map(|e| e.kind)
        .collect();
    assert_eq!(kinds, vec![TxKind::Reservation, TxKind::PreAuthReversal]);
    stop_gracefully(child, notify).await;
}

/// Mounts a small tmpfs on `dir` (the lane's whole state directory), so that the agent's
/// store can really run out of space.
fn mount_small_tmpfs(dir: &std::path::Path) -> TmpfsGuard {
    let out = std::process::Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=8m,mode=0700", "tmpfs"])
        .arg(dir)
        .output()
        .expect("mount(8) runs");
    assert!(
        out.status.success(),
        "this test mounts a tmpfs to fill the store's disk and needs root (scripts/test.sh and \
         CI run as root): {}",
        String::from_utf8_lossy(&out.stderr)
    );
    TmpfsGuard(dir.to_owned())
}

struct TmpfsGuard(std::path::PathBuf);

impl Drop for TmpfsGuard {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount")
            .arg("-l")
            .arg(&self.0)
            .status();
    }
}

/// Writes `path` until the file system is full; returns the bytes written.
fn fill(path: &std::path::Path) -> u64 {
    use std::io::Write;
    let mut f = std::fs::File::create(path).unwrap();
    let mut written = 0;
    for chunk in [65_536usize, 4096, 512, 1] {
        let buf = vec![0xA5u8; chunk];
        while f.write_all(&buf).is_ok() {
            written += chunk as u64;
        }
    }
    let _ = f.sync_all();
    written
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_acknowledges_nothing_and_the_lane_resumes_when_space_returns() {
    let dir = tempfile::tempdir().unwrap();
    let _tmpfs = mount_small_tmpfs(dir.path());
    let l = lane_with(dir, "").await;
    let (terminal, api) = (l.terminal(), &l.api);
    let (child, notify) = l.start().await;
    open(api, "full-1", "10.00").await;
    terminal.control().hold_card();
    let body = json!({"method": "card", "amount": "10.00", "payment_id": "full-1-c"});
    let paying = {
        let api = Api::new(&l.addr, TOKEN);
        let body = body.clone();
        tokio::spawn(async move { api.post("/v1/sales/full-1/payments", body).await })
    };
    payment_state_becomes(api, "full-1", "full-1-c", "pending").await;

    // The disk fills up while the customer is at the terminal; then the terminal approves.
    let filler = l.dir.path().join("filler");
    assert!(fill(&filler) > 0);
    terminal.control().present_card();

    // The approval cannot be journaled: it is not acknowledged, the fault is reported, reads
    // still answer, and nothing new is taken on.
    let deadline = tokio::time::Instant::now() + crate::support::agent::WAIT;
    let mut tick = tokio::time::interval(Duration::from_millis(20));
    let status = loop {
        let s = api.get("/v1/status").await;
        if s["storage_error"].is_string() {
            break s;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no storage fault reported: {s}"
        );
        tick.tick().await;
    };
    assert!(
        status["storage_error"].as_str().unwrap().contains("full"),
        "{status}"
    );
    assert_eq!(terminal.control().approved_payments(), 1);
    let sale = api.get("/v1/sales/full-1").await;
    assert_eq!(sale["payments"][0]["state"], "pending", "{sale}");
    metric_becomes(api, "lane_storage_writable 0").await;
    assert_eq!(sale["due"], "10.00", "{sale}");
    let (st, v) = api
        .post(
            "/v1/sales",
            json!({"sale_id": "full-2", "lines": [{"sku": "ITEM-001", "quantity": "1", "unit_price": "1.00"}]}),
        )
        .await;
    assert_eq!(
        (st, v["error"]["code"].as_str()),
        (503, Some("storage_unavailable")),
        "{v}"
    );

    // Space returns: the approval is journaled and the register gets it.
    std::fs::remove_file(&filler).unwrap();
    let (st, v) = paying.await.unwrap();
    assert_eq!((st, v["status"].as_str()), (201, Some("approved")), "{v}");
    let status = api.get("/v1/status").await;
    assert!(status["storage_error"].is_null(), "{status}");
    metric_becomes(api, "lane_storage_writable 1").await;
    let (st, v) = api.post("/v1/sales/full-1/complete", json!({})).await;
    assert_eq!((st, v["state"].as_str()), (200, Some("completed")), "{v}");
    assert_eq!(terminal.control().approved_payments(), 1, "charged once");
    stop_gracefully(child, notify).await;
}

/// Found by the crash harness: a reversal the agent made must count as the terminal's last
/// transaction in the evidence the next card payment journals. Otherwise a payment lost with
/// the agent after a restart is matched against a reversal of the same amount and taken as
/// approved, although the terminal never ran it (the customer paid nothing).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_payment_lost_after_a_restart_is_not_matched_to_a_reversal_of_the_same_amount() {
    let l = lane().await;
    // A card payment, then the customer changes their mind: 06 01 then 06 30.
    let (child, notify) = l.start().await;
    open(&l.api, "rev-a", "10.00").await;
    let (st, v) = l
        .api
        .post(
            "/v1/sales/rev-a/payments",
            json!({"method": "card", "amount": "10.00", "payment_id": "rev-a-c"}),
        )
        .await;
    assert_eq!((st, v["status"].as_str()), (201, Some("approved")), "{v}");
    let (st, v) = l.api.post("/v1/sales/rev-a/cancel", json!({})).await;
    assert_eq!((st, v["state"].as_str()), (200, Some("cancelled")), "{v}");
    stop_gracefully(child, notify).await;

    // After a restart, the next card payment of the same amount dies with the agent while the
    // customer has no card out: the terminal never runs it.
    std::fs::remove_file(l.dir.path().join("notify.sock")).unwrap();
    let (mut child, _notify) = l.start().await;
    open(&l.api, "rev-b", "10.00").await;
    l.terminal().control().hold_card();
    let paying = {
        let api = Api::new(&l.addr, TOKEN);
        tokio::spawn(async move {
            let _ = api
                .http
                .post(format!("{}/v1/sales/rev-b/payments", api.base))
                .bearer_auth(api.token)
                .json(&json!({"method": "card", "amount": "10.00", "payment_id": "rev-b-c"}))
                .send()
                .await;
        })
    };
    payment_state_becomes(&l.api, "rev-b", "rev-b-c", "pending").await;
    kill(&mut child);
    paying.await.unwrap();

    std::fs::remove_file(l.dir.path().join("notify.sock")).unwrap();
    let (child, notify) = l.start().await;
    // Positive evidence (the terminal's last transaction is the one journaled before ours):
    // declined, the amount still due. Approved would be a sale paid with money never taken.
    let sale = payment_state_becomes(&l.api, "rev-b", "rev-b-c", "declined").await;
    assert_eq!(sale["due"], "10.00", "{sale}");
    l.terminal().control().present_card();
    let kinds: Vec<TxKind> = l
        .terminal()
        .control()
        .journal()
        .iter()
        .map(|e| e.kind)
        .collect();
    assert_eq!(
        kinds,
        vec![TxKind::Payment, TxKind::Reversal],
        "the second payment never ran"
    );
    stop_gracefully(child, notify).await;
}

/// `/metrics` of the running service after a scripted day: sales and tenders counted by the
/// engine, POS call latency per operation, and the status gauges (outbox, devices with the
/// reader, in doubt, offline budget) read at the scrape.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_follow_a_scripted_day() {
    let dir = tempfile::tempdir().unwrap();
    let msr = dir.path().join("no-msr-here");
    let reader = format!(
        "[[reader]]\nname = \"msr\"\nkind = \"serial-msr\"\ndevice = \"{}\"\n",
        msr.display()
    );
    let l = lane_with(dir, &reader).await;
    let (api, pos, terminal) = (&l.api, &l.pos, l.terminal());
    let (child, notify) = l.start().await;

    // A split tender, completed.
    open(api, "day-1", "20.00").await;
    let (st, v) = api
        .post(
            "/v1/sales/day-1/payments",
            json!({"method": "giftcard", "amount": "5.00", "code": "6006491000000001", "payment_id": "day-1-g"}),
        )
        .await;
    assert_eq!((st, v["status"].as_str()), (201, Some("approved")), "{v}");
    // One POS call for the gift card: the authorization, whose answer carries the balance.
    let ledger = pos.control().ledger();
    assert_eq!(
        (
            ledger.request_count("giftcardTransAdd"),
            ledger.request_count("giftcard")
        ),
        (1, 0)
    );
    let (st, v) = api
        .post(
            "/v1/sales/day-1/payments",
            json!({"method": "card", "amount": "15.00", "payment_id": "day-1-c"}),
        )
        .await;
    assert_eq!((st, v["status"].as_str()), (201, Some("approved")), "{v}");
    let (st, v) = api.post("/v1/sales/day-1/complete", json!({})).await;
    assert_eq!(st, 200, "{v}");
    // A declined card, then the sale cancelled.
    open(api, "day-2", "10.00").await;
    terminal
        .control()
        .set_next_outcome(hardware_sim::terminal::Outcome::Decline { code: 0x05 });
    let (st, v) = api
        .post(
            "/v1/sales/day-2/payments",
            json!({"method": "card", "amount": "10.00", "payment_id": "day-2-c"}),
        )
        .await;
    assert_eq!((st, v["status"].as_str()), (201, Some("declined")), "{v}");
    let (st, v) = api.post("/v1/sales/day-2/cancel", json!({})).await;
    assert_eq!(st, 200, "{v}");

    for line in [
        r#"lane_sales_total{outcome="opened"} 2"#,
        r#"lane_sales_total{outcome="completed"} 1"#,
        r#"lane_sales_total{outcome="cancelled"} 1"#,
        r#"lane_tenders_total{method="giftcard",result="approved"} 1"#,
        r#"lane_tenders_total{method="card",result="approved"} 1"#,
        r#"lane_tenders_total{method="card",result="declined"} 1"#,
        // The purchase reached the POS: nothing waits in the outbox.
        r#"lane_pos_call_duration_seconds_count{operation="purchaseAdd"} 1"#,
        r#"lane_outbox_depth{state="pending"} 0"#,
        r#"lane_payments_in_doubt 0"#,
        r#"lane_exceptions_open 0"#,
        r#"lane_link_online 1"#,
        r#"lane_device_state{device="terminal",state="ready"} 1"#,
        r#"lane_device_state{device="msr",state="disconnected"} 1"#,
        r#"lane_offline_budget_remaining_count 100"#,
        r#"lane_offline_budget_remaining_amount 500"#,
    ] {
        metric_becomes(api, line).await;
    }
    let text = api
        .http
        .get(format!("{}/metrics", api.base))
        .bearer_auth(api.token)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        text.contains(r#"lane_pos_call_duration_seconds_bucket{operation="giftcardTransAdd""#),
        "{text}"
    );
    stop_gracefully(child, notify).await;
}

/// A lane without a reader takes a code-less gift card from the payment terminal (Read Card
/// 06 C0), classified by the readers' rules: a bank card is refused and nothing is paid.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lane_without_a_reader_reads_the_gift_card_on_the_terminal() {
    let l = lane_with(
        tempfile::tempdir().unwrap(),
        "[giftcard]\nprefixes = [\"600649\"]\n",
    )
    .await;
    let (api, terminal) = (&l.api, l.terminal());
    let (child, notify) = l.start().await;
    open(api, "read-1", "5.00").await;

    // A bank card at the terminal: refused, its data dropped, nothing paid.
    terminal.control().present_track("4111111111111111=2512");
    let (st, v) = api
        .post(
            "/v1/sales/read-1/payments",
            json!({"method": "giftcard", "amount": "5.00", "payment_id": "read-1-bank"}),
        )
        .await;
    assert_eq!(
        (st, v["error"]["code"].as_str()),
        (422, Some("bank_card")),
        "{v}"
    );
    assert!(!v.to_string().contains("4111111111111111"), "{v}");
    let sale = api.get("/v1/sales/read-1").await;
    assert_eq!(sale["due"], "5.00", "{sale}");

    // The store's gift card: read on the terminal and authorized at the POS.
    terminal.control().present_track("6006491000000001=4912");
    let (st, v) = api
        .post(
            "/v1/sales/read-1/payments",
            json!({"method": "giftcard", "amount": "5.00", "payment_id": "read-1-g"}),
        )
        .await;
    assert_eq!((st, v["status"].as_str()), (201, Some("approved")), "{v}");
    let sale = api.get("/v1/sales/read-1").await;
    assert_eq!(sale["payments"][0]["code"], "****0001", "{sale}");
    let reads = terminal
        .control()
        .journal()
        .iter()
        .filter(|e| e.kind == TxKind::Payment)
        .count();
    assert_eq!(reads, 0, "a card read is not a payment at the terminal");
    stop_gracefully(child, notify).await;
}

/// `lane-agent terminal trace` follows the running agent's terminal link in words: the
/// authorization and its answer appear, acknowledgements included, and no card number.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_terminal_trace_shows_the_agents_own_conversation_in_words() {
    use std::io::{BufRead, BufReader};

    let l = lane().await;
    let (child, notify) = l.start().await;
    let mut trace = std::process::Command::new(crate::support::agent::agent_bin())
        .args(["terminal", "trace", "--config"])
        .arg(&l.config)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let stdout = trace.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let next = |rx: &std::sync::mpsc::Receiver<String>| {
        rx.recv_timeout(crate::support::agent::WAIT)
            .expect("a trace line in time")
    };
    assert!(next(&rx).starts_with("Following the terminal link of http://"));

    open(&l.api, "trace-1", "9.99").await;
    let (st, v) = l
        .api
        .post(
            "/v1/sales/trace-1/payments",
            json!({"method": "card", "amount": "9.99", "payment_id": "trace-1-c"}),
        )
        .await;
    assert_eq!((st, v["status"].as_str()), (201, Some("approved")), "{v}");
    let mut seen = Vec::new();
    while !seen
        .iter()
        .any(|l: &String| l.starts_with("PT→ECR 06 0F completion"))
    {
        seen.push(next(&rx));
    }
    let text = seen.join("\n");
    for expected in [
        "ECR→PT 06 01 Authorization 9.99 EUR",
        "PT→ECR 80 00 00 ack",
        "PT→ECR 04 0F approved, 9.99 EUR",
        "ECR→PT 80 00 00 ack",
    ] {
        assert!(text.contains(expected), "missing {expected:?} in:\n{text}");
    }
    let long_digit_run = text
        .split(|c: char| !c.is_ascii_digit())
        .any(|run| run.len() >= 13);
    assert!(!long_digit_run, "a card number in the trace:\n{text}");
    trace.kill().unwrap();
    trace.wait().unwrap();
    stop_gracefully(child, notify).await;
}

/// A reader named by its USB identity is resolved at start (and at every replug): with no
/// such port attached the lane runs and reports the reader disconnected.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reader_named_by_usb_identity_runs_and_reports_until_the_port_appears() {
    let l = lane_with(
        tempfile::tempdir().unwrap(),
        "[[reader]]\nname = \"msr\"\nkind = \"serial-msr\"\ndevice = \"usb:0801:0002\"\n",
    )
    .await;
    let (child, notify) = l.start().await;
    let status = l.api.get("/v1/status").await;
    let msr = status["devices"]
        .as_array()
        .and_then(|d| d.iter().find(|d| d["name"] == "msr"))
        .cloned()
        .unwrap_or_else(|| panic!("no msr in {status}"));
    assert_eq!(msr["kind"], "serial-msr", "{msr}");
    assert_eq!(msr["state"], "disconnected", "{msr}");
    stop_gracefully(child, notify).await;
}
