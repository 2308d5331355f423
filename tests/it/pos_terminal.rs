//! US lanes (issue 11): card payments on the processor terminal the POS drives
//! (`terminal.protocol = "pos"`, `terminalPayment`), through the real binary over HTTP against
//! `hardware-sim pos` with its simulated processor terminals. No ZVT terminal exists here.
//!
//! Approve (with SSE `payment_progress`), partial approval split with a gift card, declines
//! with the processor's reason, cancel at the terminal, a busy terminal, the POS offline
//! (refused at once), a lost `start` answer (one payment at the POS, the register gets the
//! real outcome), SIGKILL between `start` and the final `continue` (resumed after the
//! restart, one payment), a lost `capture` answer (captured once, before the purchase), a
//! cancelled sale (voided), and a POS client without the permission (a plain reason).

use std::process::Child;
use std::time::{Duration, Instant};

use std::os::unix::net::UnixDatagram;

use crate::support::agent::Api;
use crate::support::lane::{POS_TERMINAL_ID, TestLane};
use crate::support::sse::event_where;
use hardware_sim::pos::{
    Fault, FaultKind, FaultTarget, PosSim, Seed, TerminalOutcome, TerminalStep, TpStatus,
};
use serde_json::{Value, json};

const TOKEN: &str = "pos-terminal-token-0123456789abcd";

/// A US lane: cards on the processor terminal the POS drives, the stand-in seeded with `seed`.
async fn us_lane_with(seed: Seed) -> TestLane {
    TestLane::pos_terminal()
        .token(TOKEN)
        .seed(seed)
        .build()
        .await
}

async fn us_lane() -> TestLane {
    us_lane_with(Seed::example()).await
}

fn step(outcome: TerminalOutcome, delay_ms: u64) -> TerminalStep {
    TerminalStep {
        terminal: POS_TERMINAL_ID.into(),
        outcome,
        delay_ms: Some(delay_ms),
    }
}

async fn open(api: &Api, sale_id: &str, price: &str) {
    let (st, v) = api
        .post(
            "/v1/sales",
            json!({"sale_id": sale_id, "lines": [{"sku": "1000001", "quantity": "1", "unit_price": price}]}),
        )
        .await;
    assert_eq!(st, 201, "{v}");
}

async fn pay_card(api: &Api, sale_id: &str, payment_id: &str, amount: &str) -> (u16, Value) {
    api.post(
        &format!("/v1/sales/{sale_id}/payments"),
        json!({"method": "card", "amount": amount, "payment_id": payment_id}),
    )
    .await
}

fn kill(child: &mut Child) {
    child.kill().unwrap();
    child.wait().unwrap();
}

/// Waits (bounded) until the sale shows `payment_id` in `state`.
async fn payment_state_becomes(api: &Api, sale_id: &str, payment_id: &str, state: &str) -> Value {
    let deadline = tokio::time::Instant::now() + crate::support::agent::WAIT;
    let mut tick = tokio::time::interval(Duration::from_millis(25));
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
        tick.tick().await;
    }
}

/// Waits (bounded) until the simulator's ledger satisfies `ok`.
async fn ledger_until(
    pos: &PosSim,
    what: &str,
    ok: impl Fn(&hardware_sim::pos::Ledger) -> bool,
) -> hardware_sim::pos::Ledger {
    let deadline = tokio::time::Instant::now() + crate::support::agent::WAIT;
    let mut tick = tokio::time::interval(Duration::from_millis(20));
    loop {
        let l = pos.control().ledger();
        if ok(&l) {
            return l;
        }
        assert!(tokio::time::Instant::now() < deadline, "{what}: {l:?}");
        tick.tick().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_card_is_authorized_at_the_terminal_captured_at_completion_with_progress_events() {
    let l = us_lane().await;
    let (mut agent, notify) = l.start().await;
    let mut events = l
        .api
        .http
        .get(format!("{}/v1/events", l.api.base))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    let mut buf = String::new();
    l.pos
        .control()
        .terminal_step(step(TerminalOutcome::Approve, 400));
    open(&l.api, "us-1", "20.00").await;
    let (st, v) = pay_card(&l.api, "us-1", "us-1-card", "20.00").await;
    assert_eq!(st, 201, "{v}");
    assert_eq!(v["status"], "approved", "{v}");
    assert_eq!(v["approved_amount"], "20.00");
    assert_eq!(v["due"], "0.00");
    let waiting = event_where(&mut events, &mut buf, "payment_progress", |_| true).await;
    assert_eq!(waiting["state"], "waiting_for_card");
    assert_eq!(waiting["sale_id"], "us-1");
    assert_eq!(waiting["amount"], "20.00");
    let approved = event_where(&mut events, &mut buf, "payment_progress", |v| {
        v["state"] != "waiting_for_card"
    })
    .await;
    assert_eq!(approved["state"], "approved");

    let ledger = l.pos.control().ledger();
    assert_eq!(ledger.terminal_payments.len(), 1);
    let tp = &ledger.terminal_payments[0];
    assert_eq!(tp.status, TpStatus::Authorized);
    assert_eq!(
        tp.transaction_id
            .as_deref()
            .map(|t| t.starts_with("DALLAS-LANE01")),
        Some(true)
    );
    // The cardholder took a while: the agent waited on continuations, never started twice.
    assert_eq!(ledger.requests_for("terminalPayment.start"), 1);
    assert!(ledger.requests_for("terminalPayment.continue") >= 1);

    let (st, done) = l.api.post("/v1/sales/us-1/complete", json!({})).await;
    assert_eq!(
        (st, done["state"].as_str()),
        (200, Some("completed")),
        "{done}"
    );
    let ledger = ledger_until(&l.pos, "purchase recorded", |l| l.purchases.len() == 1).await;
    let tp = &ledger.terminal_payments[0];
    assert_eq!((tp.status, tp.captures), (TpStatus::Captured, 1));
    assert_eq!(tp.captured_amount, Some("20.00".parse().unwrap()));
    kill(&mut agent);
    drop(notify);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_partial_approval_leaves_the_rest_due_for_a_gift_card() {
    let l = us_lane().await;
    let (mut agent, _notify) = l.start().await;
    l.pos.control().terminal_step(step(
        TerminalOutcome::Partial {
            amount: "12.00".parse().unwrap(),
        },
        0,
    ));
    open(&l.api, "us-split", "30.00").await;
    let (st, v) = pay_card(&l.api, "us-split", "us-split-card", "30.00").await;
    assert_eq!(st, 201, "{v}");
    assert_eq!(
        (
            v["status"].as_str(),
            v["approved_amount"].as_str(),
            v["due"].as_str()
        ),
        (Some("approved"), Some("12.00"), Some("18.00")),
        "{v}"
    );
    let (st, g) = l
        .api
        .post(
            "/v1/sales/us-split/payments",
            json!({"method": "giftcard", "amount": "18.00", "code": "6006491000000001", "payment_id": "us-split-gift"}),
        )
        .await;
    assert_eq!(
        (st, g["status"].as_str(), g["due"].as_str()),
        (201, Some("approved"), Some("0.00")),
        "{g}"
    );
    let (st, done) = l.api.post("/v1/sales/us-split/complete", json!({})).await;
    assert_eq!(st, 200, "{done}");
    let ledger = ledger_until(&l.pos, "purchase recorded", |l| l.purchases.len() == 1).await;
    assert_eq!(
        ledger.terminal_payments[0].captured_amount,
        Some("12.00".parse().unwrap())
    );
    assert_eq!(ledger.purchases[0].pay_amount, "30.00".parse().unwrap());
    kill(&mut agent);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn declines_cancels_and_a_busy_terminal_answer_declined_with_a_plain_reason() {
    let l = us_lane().await;
    let (mut agent, _notify) = l.start().await;
    let c = l.pos.control();
    c.terminal_step(step(
        TerminalOutcome::Decline {
            reason: "Insufficient funds".into(),
        },
        100,
    ));
    c.terminal_step(step(TerminalOutcome::Cancel, 100));
    c.terminal_step(step(TerminalOutcome::Busy, 0));
    c.terminal_step(step(TerminalOutcome::Timeout, 100));
    open(&l.api, "us-d", "15.00").await;
    for (pid, reason) in [
        ("us-d-1", "declined: Insufficient funds"),
        ("us-d-2", "cancelled_at_terminal"),
        ("us-d-3", "terminal_busy"),
        ("us-d-4", "terminal_timed_out"),
    ] {
        let (st, v) = pay_card(&l.api, "us-d", pid, "15.00").await;
        assert_eq!(st, 201, "{v}");
        assert_eq!(
            (
                v["status"].as_str(),
                v["reason"].as_str(),
                v["due"].as_str()
            ),
            (Some("declined"), Some(reason), Some("15.00")),
            "{pid}: {v}"
        );
    }
    // Busy started nothing; the decline, cancel and timeout left one record each, nothing
    // charged.
    let ledger = c.ledger();
    let statuses: Vec<TpStatus> = ledger.terminal_payments.iter().map(|p| p.status).collect();
    assert_eq!(
        statuses,
        vec![TpStatus::Declined, TpStatus::Failed, TpStatus::Failed]
    );
    // The sale can still be paid by another card.
    c.terminal_step(step(TerminalOutcome::Approve, 0));
    let (_, v) = pay_card(&l.api, "us-d", "us-d-5", "15.00").await;
    assert_eq!(v["status"], "approved", "{v}");
    kill(&mut agent);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_the_pos_down_a_card_is_refused_at_once() {
    let l = us_lane().await;
    let (mut agent, _notify) = l.start().await;
    open(&l.api, "us-off", "9.00").await;
    l.pos.control().set_online(false).await;
    let t0 = Instant::now();
    let (st, v) = pay_card(&l.api, "us-off", "us-off-1", "9.00").await;
    let took = t0.elapsed();
    assert_eq!(st, 201, "{v}");
    assert_eq!(
        (v["status"].as_str(), v["reason"].as_str()),
        (Some("declined"), Some("link_offline")),
        "{v}"
    );
    assert!(took < Duration::from_secs(2), "refused after {took:?}");
    // Once the link is known down, the next card is refused without a call.
    let t0 = Instant::now();
    let (_, v) = pay_card(&l.api, "us-off", "us-off-2", "9.00").await;
    assert_eq!(v["reason"], "link_offline", "{v}");
    assert!(t0.elapsed() < Duration::from_millis(500));
    l.pos.control().set_online(true).await;
    assert!(l.pos.control().ledger().terminal_payments.is_empty());
    kill(&mut agent);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_start_answer_is_looked_up_and_the_register_gets_the_real_outcome() {
    let l = us_lane().await;
    let (mut agent, _notify) = l.start().await;
    let c = l.pos.control();
    c.terminal_step(step(TerminalOutcome::Approve, 300));
    c.inject(Fault {
        target: FaultTarget::Operation("terminalPayment.start".into()),
        kind: FaultKind::ApplyThenDrop,
        times: Some(1),
    });
    open(&l.api, "us-lost", "11.00").await;
    let (st, v) = pay_card(&l.api, "us-lost", "us-lost-1", "11.00").await;
    assert_eq!(st, 201, "{v}");
    assert_eq!(
        (v["status"].as_str(), v["approved_amount"].as_str()),
        (Some("approved"), Some("11.00")),
        "{v}"
    );
    let ledger = c.ledger();
    assert_eq!(
        ledger.terminal_payments.len(),
        1,
        "exactly one payment at the POS"
    );
    assert_eq!(
        ledger.requests_for("terminalPayment.start"),
        1,
        "never started again"
    );
    assert!(
        ledger.requests_for("terminalPayments") >= 1,
        "looked up by refNo"
    );
    assert_eq!(ledger.terminal_payments[0].status, TpStatus::Authorized);
    kill(&mut agent);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_payment_cut_by_sigkill_mid_terminal_resumes_after_restart_once() {
    let l = us_lane().await;
    let (mut agent, notify) = l.start().await;
    let c = l.pos.control();
    // The cardholder takes long enough for the kill to land between start and the end.
    c.terminal_step(step(TerminalOutcome::Approve, 2500));
    open(&l.api, "us-kill", "14.00").await;
    let api2 = Api::new(l.api.base.trim_start_matches("http://"), TOKEN);
    let first = tokio::spawn(async move {
        api2.http
            .post(format!("{}/v1/sales/us-kill/payments", api2.base))
            .bearer_auth(TOKEN)
            .json(&json!({"method": "card", "amount": "14.00", "payment_id": "us-kill-1"}))
            .send()
            .await
            .is_ok()
    });
    // A continue has been asked: the token was journaled before it.
    ledger_until(&l.pos, "a continue", |l| {
        l.requests_for("terminalPayment.continue") >= 1
    })
    .await;
    kill(&mut agent);
    let _ = first.await;
    drop(notify);
    std::fs::remove_file(l.dir.path().join("notify.sock")).unwrap();
    let (mut agent, _notify) = l.start().await;
    let sale = payment_state_becomes(&l.api, "us-kill", "us-kill-1", "approved").await;
    assert_eq!(sale["due"], "0.00", "{sale}");
    // The register's retry with the same id gets the approval.
    let (st, v) = pay_card(&l.api, "us-kill", "us-kill-1", "14.00").await;
    assert!(st == 200 || st == 201, "{st} {v}");
    assert_eq!(v["status"], "approved", "{v}");
    let ledger = c.ledger();
    assert_eq!(ledger.terminal_payments.len(), 1, "one payment at the POS");
    assert_eq!(ledger.requests_for("terminalPayment.start"), 1);
    kill(&mut agent);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_capture_answer_is_captured_once_before_the_purchase() {
    let l = us_lane().await;
    let (mut agent, _notify) = l.start().await;
    let c = l.pos.control();
    c.terminal_step(step(TerminalOutcome::Approve, 0));
    open(&l.api, "us-cap", "8.00").await;
    let (_, v) = pay_card(&l.api, "us-cap", "us-cap-1", "8.00").await;
    assert_eq!(v["status"], "approved", "{v}");
    c.inject(Fault {
        target: FaultTarget::Operation("terminalPayment.capture".into()),
        kind: FaultKind::ApplyThenDrop,
        times: Some(1),
    });
    let (st, done) = l.api.post("/v1/sales/us-cap/complete", json!({})).await;
    assert_eq!(
        (st, done["state"].as_str()),
        (200, Some("completed")),
        "{done}"
    );
    payment_state_becomes(&l.api, "us-cap", "us-cap-1", "captured").await;
    let ledger = ledger_until(&l.pos, "purchase recorded", |l| l.purchases.len() == 1).await;
    let tp = &ledger.terminal_payments[0];
    assert_eq!((tp.status, tp.captures), (TpStatus::Captured, 1));
    assert!(
        ledger.requests_for("terminalPayment.capture") >= 2,
        "sent again from the outbox"
    );
    // The capture went out before the purchase.
    let first_purchase = ledger
        .requests
        .iter()
        .position(|r| r.operations.iter().any(|o| o == "purchaseAdd"))
        .unwrap();
    let last_capture = ledger
        .requests
        .iter()
        .rposition(|r| r.operations.iter().any(|o| o == "terminalPayment.capture"))
        .unwrap();
    assert!(last_capture < first_purchase);
    kill(&mut agent);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancelled_sale_voids_its_terminal_payment() {
    let l = us_lane().await;
    let (mut agent, _notify) = l.start().await;
    l.pos
        .control()
        .terminal_step(step(TerminalOutcome::Approve, 0));
    open(&l.api, "us-void", "6.00").await;
    let (_, v) = pay_card(&l.api, "us-void", "us-void-1", "6.00").await;
    assert_eq!(v["status"], "approved", "{v}");
    let (st, s) = l.api.post("/v1/sales/us-void/cancel", json!({})).await;
    assert_eq!((st, s["state"].as_str()), (200, Some("cancelled")), "{s}");
    let ledger = l.pos.control().ledger();
    let tp = &ledger.terminal_payments[0];
    assert_eq!((tp.status, tp.voids), (TpStatus::Voided, 1));
    assert_eq!(tp.captures, 0);
    payment_state_becomes(&l.api, "us-void", "us-void-1", "cancelled").await;
    kill(&mut agent);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pos_client_without_the_permission_gets_a_clear_reason() {
    let mut seed = Seed::example();
    for c in &mut seed.clients {
        if c.id == "lane-agent" {
            c.permissions.retain(|p| p != "MakeSaleTerminalPayment");
        }
    }
    let l = us_lane_with(seed).await;
    let (mut agent, _notify) = l.start().await;
    open(&l.api, "us-perm", "5.00").await;
    let (st, v) = pay_card(&l.api, "us-perm", "us-perm-1", "5.00").await;
    assert_eq!((st, v["status"].as_str()), (201, Some("declined")), "{v}");
    let reason = v["reason"].as_str().unwrap();
    assert!(reason.contains("MakeSaleTerminalPayment"), "{reason}");
    assert!(l.pos.control().ledger().terminal_payments.is_empty());
    kill(&mut agent);
}

#[tokio::test]
async fn check_config_accepts_a_pos_lane_and_names_what_does_not_belong() {
    let l = us_lane().await;
    let ok = crate::support::agent::cli(&l.config, &["check-config"]);
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    let text = std::fs::read_to_string(&l.config).unwrap();
    let bad = text.replace(
        &format!("terminal_id = \"{POS_TERMINAL_ID}\"\n"),
        "address = \"127.0.0.1:20007\"\n",
    );
    std::fs::write(&l.config, bad).unwrap();
    let out = crate::support::agent::cli(&l.config, &["check-config"]);
    assert_eq!(out.status.code(), Some(64));
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(all.contains("terminal.terminal_id"), "{all}");
    assert!(all.contains("terminal.address"), "{all}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn doctor_checks_the_terminal_payment_shapes_and_names_the_recovery() {
    let l = us_lane().await;
    let config = l.config.clone();
    let out = tokio::task::spawn_blocking(move || crate::support::agent::cli(&config, &["doctor"]))
        .await
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    assert!(
        text.contains("PASS  schema    terminal payments: start, continue and capture fit"),
        "{text}"
    );
    assert!(text.contains("terminalPayments(refNo:)"), "{text}");
    assert!(text.contains("voids its card authorization"), "{text}");
    assert!(text.contains("terminal  protocol: pos"), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_start_that_cannot_be_looked_up_is_in_doubt_until_the_lookup_answers() {
    let l = us_lane().await;
    let (mut agent, _notify) = l.start().await;
    let c = l.pos.control();
    c.terminal_step(step(TerminalOutcome::Approve, 0));
    c.inject(Fault {
        target: FaultTarget::Operation("terminalPayment.start".into()),
        kind: FaultKind::ApplyThenDrop,
        times: Some(1),
    });
    c.inject(Fault {
        target: FaultTarget::Operation("terminalPayments".into()),
        kind: FaultKind::HttpStatus(503),
        times: None,
    });
    open(&l.api, "us-doubt", "13.00").await;
    let (st, v) = pay_card(&l.api, "us-doubt", "us-doubt-1", "13.00").await;
    assert_eq!(st, 201, "{v}");
    assert_eq!(
        (v["status"].as_str(), v["due"].as_str()),
        (Some("in_doubt"), Some("13.00")),
        "{v}"
    );
    let (st, e) = l.api.post("/v1/sales/us-doubt/complete", json!({})).await;
    assert_eq!(
        (st, e["error"]["code"].as_str()),
        (409, Some("payment_in_doubt")),
        "{e}"
    );
    let open_exc = l.api.get("/v1/exceptions").await;
    assert!(
        open_exc.to_string().contains("payment_in_doubt"),
        "{open_exc}"
    );
    // The lookup answers again: the evidence loop settles it, nothing started twice.
    c.clear_faults();
    payment_state_becomes(&l.api, "us-doubt", "us-doubt-1", "approved").await;
    let ledger = c.ledger();
    assert_eq!(ledger.terminal_payments.len(), 1);
    assert_eq!(ledger.requests_for("terminalPayment.start"), 1);
    let (st, done) = l.api.post("/v1/sales/us-doubt/complete", json!({})).await;
    assert_eq!(
        (st, done["state"].as_str()),
        (200, Some("completed")),
        "{done}"
    );
    kill(&mut agent);
}

#[test]
fn the_us_demo_day_reconciles() {
    let out = std::process::Command::new(crate::support::agent::agent_bin())
        .args(["demo", "--terminal", "pos"])
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for needle in [
        "reason partial_approval",
        "reason cancelled_at_terminal",
        "Voided",
        "lost: 0; duplicates: 0",
        "(2 captured, 1 voided, 0 captured twice)",
    ] {
        assert!(text.contains(needle), "{needle:?} missing:\n{text}");
    }
}

/// The register's side of the SIGKILL run: every step idempotent by its ids, replayed
/// after a restart until the agent answers it.
struct Register {
    next: usize,
    attempt: usize,
    completed: Vec<String>,
    cancelled: Vec<String>,
}

impl Register {
    fn sale(&self) -> String {
        format!("k-{}", self.next)
    }

    /// Runs sales until the agent goes away (or `until` sales are done).
    async fn run(&mut self, api: &Api, until: usize) {
        while self.next < until {
            if self.one(api).await.is_none() {
                return;
            }
        }
    }

    async fn one(&mut self, api: &Api) -> Option<()> {
        let sale = self.sale();
        // A unique price per sale; every fourth sale is cancelled after it is paid.
        let price = format!("{}.{:02}", 5 + self.next, self.next % 100);
        let r = api
            .http
            .post(format!("{}/v1/sales", api.base))
            .bearer_auth(TOKEN)
            .json(&json!({"sale_id": sale, "lines": [{"sku": "1000001", "quantity": "1", "unit_price": price}]}))
            .send()
            .await
            .ok()?;
        assert!(r.status().is_success(), "open {sale}: {}", r.status());
        loop {
            let pid = format!("{sale}-card-{}", self.attempt);
            let r = api
                .http
                .post(format!("{}/v1/sales/{sale}/payments", api.base))
                .bearer_auth(TOKEN)
                .json(&json!({"method": "card", "amount": price, "payment_id": pid}))
                .send()
                .await
                .ok()?;
            let status = r.status().as_u16();
            let v: Value = r.json().await.ok()?;
            match v["status"].as_str() {
                Some("approved") => break,
                // Nothing charged (e.g. killed before the start left): a new attempt.
                Some("declined") => self.attempt += 1,
                Some("pending" | "in_doubt") => {
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                // Paid (and perhaps completed or cancelled) before the kill cut the answer.
                _ if matches!(
                    v["error"]["code"].as_str(),
                    Some("nothing_due" | "sale_completed" | "sale_cancelled")
                ) =>
                {
                    break;
                }
                _ => panic!("pay {sale}: {status} {v}"),
            }
        }
        let cancel = self.next % 4 == 3;
        let path = if cancel { "cancel" } else { "complete" };
        loop {
            let r = api
                .http
                .post(format!("{}/v1/sales/{sale}/{path}", api.base))
                .bearer_auth(TOKEN)
                .json(&json!({}))
                .send()
                .await
                .ok()?;
            let status = r.status().as_u16();
            let v: Value = r.json().await.ok()?;
            match (status, v["state"].as_str()) {
                (200, Some("completed" | "cancelled")) => break,
                // The payment is still being settled (in doubt, or at the terminal).
                (409, _) | (200, Some("completing" | "cancelling")) => {
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                _ => panic!("{path} {sale}: {status} {v}"),
            }
        }
        if cancel {
            self.cancelled.push(sale);
        } else {
            self.completed.push(sale);
        }
        self.next += 1;
        self.attempt = 0;
        Some(())
    }
}

/// A small SIGKILL harness for the POS-terminal tender: the agent is killed at random
/// points (many while a customer is at the terminal: the seed's cardholder takes 300 ms)
/// and restarted; the register replays its idempotent steps. Then the POS ledger is
/// reconciled: every `refNo` started once, every completed sale one purchase and one
/// captured payment (captured once), every cancelled sale nothing held or captured.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_at_random_points_loses_nothing_and_charges_once() {
    // `POS_CRASH_KILLS=200` for a longer soak.
    let kills: usize = std::env::var("POS_CRASH_KILLS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(12);
    let l = us_lane().await;
    let mut rng: u64 = std::env::var("CRASH_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos() as u64
        });
    println!("CRASH_SEED={rng}");
    let mut next_rand = move || {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        rng
    };
    let mut purchases_in_doubt: Vec<String> = Vec::new();
    let mut reg = Register {
        next: 0,
        attempt: 0,
        completed: Vec::new(),
        cancelled: Vec::new(),
    };
    for kill_no in 0..=kills {
        let sock = l.dir.path().join("notify.sock");
        let _ = std::fs::remove_file(&sock);
        let (mut agent, _notify) = l.start().await;
        if kill_no == kills {
            // The last run is not killed: it finishes the interrupted sale and drains.
            reg.run(&l.api, reg.next + 2).await;
            // Drained: nothing new or sending. (A purchase whose send a kill cut is in doubt
            // by design: `purchaseAdd` does not deduplicate; counted below, never resent.)
            let deadline = tokio::time::Instant::now() + crate::support::agent::WAIT;
            loop {
                let items = l.api.get("/v1/outbox").await;
                let busy = items["items"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|i| matches!(i["state"].as_str(), Some("new" | "sending")));
                if !busy {
                    purchases_in_doubt = items["items"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .filter(|i| i["kind"] == "purchase" && i["state"] == "in_doubt")
                        .filter_map(|i| i["sale_id"].as_str().map(str::to_owned))
                        .collect();
                    break;
                }
                assert!(
                    tokio::time::Instant::now() < deadline,
                    "outbox never drained: {items}"
                );
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            kill(&mut agent);
            break;
        }
        let delay = Duration::from_millis(next_rand() % 1500);
        tokio::select! {
            () = reg.run(&l.api, usize::MAX) => unreachable!("the register runs until the kill"),
            () = tokio::time::sleep(delay) => {}
        }
        kill(&mut agent);
    }

    let ledger = l.pos.control().ledger();
    let mut refs: Vec<&str> = ledger
        .terminal_payments
        .iter()
        .map(|p| p.ref_no.as_str())
        .collect();
    refs.sort_unstable();
    let before = refs.len();
    refs.dedup();
    assert_eq!(refs.len(), before, "a refNo was started twice");
    assert!(
        ledger.terminal_payments.iter().all(|p| p.captures <= 1),
        "a double capture"
    );
    let tid = |sale: &str| {
        let api = &l.api;
        let sale = sale.to_owned();
        async move {
            api.get(&format!("/v1/sales/{sale}")).await["transaction_id"]
                .as_str()
                .unwrap()
                .to_owned()
        }
    };
    let sid = l.dir.path().join("notify.sock");
    let _ = std::fs::remove_file(&sid);
    let (mut agent, _notify) = l.start().await;
    for sale in &reg.completed {
        let t = tid(sale).await;
        let expected = usize::from(!purchases_in_doubt.contains(sale));
        assert!(
            ledger.purchases_with(&t).len() == expected
                || (expected == 0 && ledger.purchases_with(&t).len() == 1),
            "{sale}: purchases"
        );
        let pays: Vec<_> = ledger
            .terminal_payments
            .iter()
            .filter(|p| p.transaction_id.as_deref() == Some(t.as_str()))
            .collect();
        let captured = pays
            .iter()
            .filter(|p| p.status == TpStatus::Captured)
            .count();
        assert_eq!(captured, 1, "{sale}: captured payments {pays:?}");
        assert!(
            pays.iter().all(|p| p.status != TpStatus::Authorized),
            "{sale}: a hold left behind {pays:?}"
        );
    }
    for sale in &reg.cancelled {
        let t = tid(sale).await;
        assert!(
            ledger.purchases_with(&t).is_empty(),
            "{sale}: purchase of a cancelled sale"
        );
        let held: Vec<_> = ledger
            .terminal_payments
            .iter()
            .filter(|p| p.transaction_id.as_deref() == Some(t.as_str()))
            .filter(|p| {
                matches!(
                    p.status,
                    TpStatus::Authorized | TpStatus::Captured | TpStatus::Approved
                )
            })
            .collect();
        assert!(held.is_empty(), "{sale}: still charged {held:?}");
    }
    println!(
        "kills {kills}, sales completed {}, cancelled {}, terminal payments {}, purchases in doubt {}, lost 0, duplicate starts 0, double captures 0",
        reg.completed.len(),
        reg.cancelled.len(),
        ledger.terminal_payments.len(),
        purchases_in_doubt.len()
    );
    assert!(
        reg.completed.len() + reg.cancelled.len() >= 3,
        "too few sales to mean anything"
    );
    kill(&mut agent);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lost_continue_and_void_answers_are_asked_again_never_doubled() {
    let l = us_lane().await;
    let (mut agent, _notify) = l.start().await;
    let c = l.pos.control();
    c.terminal_step(step(TerminalOutcome::Approve, 300));
    c.inject(Fault {
        target: FaultTarget::Operation("terminalPayment.continue".into()),
        kind: FaultKind::ApplyThenDrop,
        times: Some(1),
    });
    open(&l.api, "us-lc", "7.00").await;
    let (_, v) = pay_card(&l.api, "us-lc", "us-lc-1", "7.00").await;
    assert_eq!(v["status"], "approved", "{v}");
    let ledger = c.ledger();
    assert_eq!(ledger.terminal_payments.len(), 1);
    assert_eq!(ledger.requests_for("terminalPayment.start"), 1);
    assert!(ledger.requests_for("terminalPayment.continue") >= 2);

    c.inject(Fault {
        target: FaultTarget::Operation("terminalPayment.void".into()),
        kind: FaultKind::ApplyThenDrop,
        times: Some(1),
    });
    let (st, s) = l.api.post("/v1/sales/us-lc/cancel", json!({})).await;
    assert_eq!((st, s["state"].as_str()), (200, Some("cancelled")), "{s}");
    // The void item of the outbox asks again; the POS answers the VOIDED payment unchanged.
    payment_state_becomes(&l.api, "us-lc", "us-lc-1", "cancelled").await;
    let ledger = c.ledger();
    let tp = &ledger.terminal_payments[0];
    assert_eq!((tp.status, tp.voids), (TpStatus::Voided, 1));
    assert!(ledger.requests_for("terminalPayment.void") >= 2);
    kill(&mut agent);
}

/// [`TestLane::start`] with `LANE_AGENT_FAULT` set (fault-injection test builds only).
async fn start_with_fault(l: &TestLane, fault: &str) -> (Child, UnixDatagram) {
    let _ = std::fs::remove_file(l.notify_path());
    let notify = UnixDatagram::bind(l.notify_path()).unwrap();
    let child = l
        .run_command()
        .env("LANE_AGENT_FAULT", fault)
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let notify = tokio::task::spawn_blocking(move || {
        crate::support::agent::expect(&notify, "READY=1");
        notify
    })
    .await
    .unwrap();
    (child, notify)
}

/// The negative control of the SIGKILL checks: a build whose recovery starts a payment
/// found mid-flight again (`LANE_AGENT_FAULT=resend-pos-start`) is caught as a second
/// payment under one refNo — the check the harness above relies on can fail.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn control_a_recovery_that_starts_again_is_caught_as_a_second_payment() {
    let l = us_lane().await;
    let (mut agent, notify) = l.start().await;
    let c = l.pos.control();
    c.terminal_step(step(TerminalOutcome::Approve, 2500));
    open(&l.api, "us-ctl", "14.00").await;
    let api2 = Api::new(l.api.base.trim_start_matches("http://"), TOKEN);
    let first = tokio::spawn(async move {
        api2.http
            .post(format!("{}/v1/sales/us-ctl/payments", api2.base))
            .bearer_auth(TOKEN)
            .json(&json!({"method": "card", "amount": "14.00", "payment_id": "us-ctl-1"}))
            .send()
            .await
            .is_ok()
    });
    ledger_until(&l.pos, "a continue", |l| {
        l.requests_for("terminalPayment.continue") >= 1
    })
    .await;
    kill(&mut agent);
    let _ = first.await;
    drop(notify);
    let (mut agent, _notify) = start_with_fault(&l, "resend-pos-start").await;
    ledger_until(&l.pos, "the blind second start", |l| {
        l.requests_for("terminalPayment.start") >= 2
    })
    .await;
    // The blind start either made a second payment under the refNo, or met the terminal
    // busy with the first one and was taken as declined while the first goes on to hold
    // the customer's money: both are what the SIGKILL checks call a duplicate start or a
    // hold left behind.
    let deadline = tokio::time::Instant::now() + crate::support::agent::WAIT;
    let mut tick = tokio::time::interval(Duration::from_millis(25));
    let (ref_no, state) = loop {
        let sale = l.api.get("/v1/sales/us-ctl").await;
        let p = &sale["payments"][0];
        let state = p["state"].as_str().unwrap_or("").to_owned();
        if state == "declined" || state == "approved" {
            break (p["ref_no"].as_str().unwrap().to_owned(), state);
        }
        assert!(tokio::time::Instant::now() < deadline, "{sale}");
        tick.tick().await;
    };
    let ledger = ledger_until(&l.pos, "the first payment ends", |l| {
        l.terminal_payments
            .iter()
            .all(|p| p.status != TpStatus::Pending)
    })
    .await;
    let same_ref = ledger.terminal_payments_with(&ref_no).len();
    let orphan_hold = state == "declined"
        && ledger
            .terminal_payments
            .iter()
            .any(|p| p.status == TpStatus::Authorized);
    assert!(
        same_ref == 2 || orphan_hold,
        "the control went unseen: {same_ref} payments under {ref_no}, agent says {state}"
    );
    kill(&mut agent);
}

/// A return on a US lane goes back to the customer's card on the processor terminal
/// (`terminalPayment.start` with `transType: REFUND`): one refund at the POS, the same
/// `refund_id` again is the first answer, and the sale completes at zero.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_return_is_refunded_to_the_card_on_the_pos_terminal_and_end_of_day_is_the_processors() {
    use hardware_sim::pos::TpType;

    let l = us_lane().await;
    let (mut agent, _notify) = l.start().await;
    l.pos
        .control()
        .terminal_step(step(TerminalOutcome::Approve, 300));
    let (st, v) = l
        .api
        .post(
            "/v1/sales",
            json!({"sale_id": "us-ret", "lines": [
                {"sku": "1000001", "quantity": "1", "unit_price": "7.00", "refund": true}]}),
        )
        .await;
    assert_eq!(st, 201, "{v}");
    let body = json!({"method": "card", "amount": "7.00", "refund_id": "us-ret-r"});
    let (st, v) = l.api.post("/v1/sales/us-ret/refunds", body.clone()).await;
    assert_eq!(
        (st, v["status"].as_str(), v["amount"].as_str()),
        (201, Some("approved"), Some("7.00")),
        "{v}"
    );
    assert_eq!(v["due"], "0.00", "{v}");
    let (_, again) = l.api.post("/v1/sales/us-ret/refunds", body).await;
    assert_eq!(again["status"], "approved", "{again}");
    let refunds: Vec<_> = l
        .pos
        .control()
        .ledger()
        .terminal_payments
        .into_iter()
        .filter(|p| p.trans_type == TpType::Refund)
        .collect();
    assert_eq!(refunds.len(), 1, "one refund at the POS: {refunds:?}");
    assert_eq!(refunds[0].amount.to_string(), "7.00");
    assert_eq!(refunds[0].status, TpStatus::Approved);
    let (st, v) = l.api.post("/v1/sales/us-ret/complete", json!({})).await;
    assert_eq!(st, 200, "{v}");

    // The answer to the refund's `start` is lost: looked up by its refNo, never started again.
    let c = l.pos.control();
    c.terminal_step(step(TerminalOutcome::Approve, 300));
    c.inject(Fault {
        target: FaultTarget::Operation("terminalPayment.start".into()),
        kind: FaultKind::ApplyThenDrop,
        times: Some(1),
    });
    let (st, v) = l
        .api
        .post(
            "/v1/sales",
            json!({"sale_id": "us-ret-2", "lines": [
                {"sku": "1000001", "quantity": "1", "unit_price": "4.00", "refund": true}]}),
        )
        .await;
    assert_eq!(st, 201, "{v}");
    let (st, v) = l
        .api
        .post(
            "/v1/sales/us-ret-2/refunds",
            json!({"method": "card", "amount": "4.00", "refund_id": "us-ret-2-r"}),
        )
        .await;
    assert_eq!((st, v["status"].as_str()), (201, Some("approved")), "{v}");
    let refunds = l
        .pos
        .control()
        .ledger()
        .terminal_payments
        .into_iter()
        .filter(|p| p.trans_type == TpType::Refund)
        .count();
    assert_eq!(refunds, 2, "one refund per return, none started twice");

    // The processor settles a US lane's day: no terminal end of day here.
    let (st, v) = l.api.post("/v1/terminal/end-of-day", json!({})).await;
    assert_eq!(
        (st, v["error"]["code"].as_str()),
        (409, Some("end_of_day_not_applicable")),
        "{v}"
    );
    kill(&mut agent);
}
