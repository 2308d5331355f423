//! Issue 12 (ZVT side) at the engine's port boundary, with a mockall terminal and a real
//! SQLite store: the terminal's receipt lines are kept per payment (masked again), and the
//! scheduled end of day waits for a busy terminal instead of interrupting it.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::NaiveTime;
use tokio_util::sync::CancellationToken;

use super::ports::*;
use super::*;
use crate::domain::payment::{EntryMode, Method, TerminalMode};
use crate::domain::sale::LineInput;
use crate::domain::{Money, PaymentState};
use crate::store::StoreOptions;

fn m(s: &str) -> Money {
    s.parse().unwrap()
}

async fn engine(t: MockPaymentTerminal) -> (Engine, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(StoreOptions::new(dir.path().join("agent.db")))
        .await
        .unwrap();
    let backoff = || simple_backoff(Duration::from_millis(1), Duration::from_millis(4));
    let cfg = EngineConfig {
        store_code: "DALLAS".into(),
        register_code: "LANE01".into(),
        offline: OfflinePolicy {
            enabled: false,
            max_transaction_amount: Money::ZERO,
            max_total_amount: Money::ZERO,
            max_count: 0,
            max_age_hours: 24,
            unknown_card: UnknownCard::Refuse,
        },
        forward_backoff: backoff(),
        probe_backoff: backoff(),
        fault: None,
    };
    let ports = Ports {
        giftcards: Arc::new(MockGiftcardHost::new()),
        purchases: Arc::new(MockPurchaseSink::new()),
        terminal: Arc::new(t),
    };
    (Engine::new(store, ports, cfg), dir)
}

#[tokio::test]
async fn the_terminals_receipt_lines_are_kept_with_the_payment_masked_again() {
    let mut t = MockPaymentTerminal::new();
    t.expect_last_trace().return_const(None);
    t.expect_authorize().times(1).returning(|r| {
        Ok(TerminalOutcome {
            approved: true,
            amount: r.amount,
            receipt_no: Some(3),
            trace_no: Some(9),
            masked_pan: Some("************1111".into()),
            card_name: Some("VISA".into()),
            result_text: None,
            // A terminal that prints the full card number.
            receipt_lines: vec![
                "HWSIM TEST TERMINAL".into(),
                "Card VISA 4111111111111111".into(),
                "USD 12.34".into(),
            ],
        })
    });
    let (e, _dir) = engine(t).await;
    let sid = e
        .open_sale(OpenSale {
            sale_id: Some("S1".into()),
            lines: vec![LineInput {
                sku: "SKU1".into(),
                quantity: m("1"),
                unit_price: m("12.34"),
                uom: "EA".into(),
                item_discount: Money::ZERO,
                sale_discount: Money::ZERO,
            }],
            tax: None,
            member_id: None,
        })
        .await
        .unwrap()
        .sale_id;
    let a = e
        .add_payment(
            &sid,
            PaymentRequest {
                payment_id: Some("C1".into()),
                method: Method::Card,
                amount: m("12.34"),
                code: None,
                pin: None,
                entry_mode: EntryMode::Keyed,
                terminal_mode: TerminalMode::Authorize,
            },
        )
        .await
        .unwrap();
    assert_eq!(a.status, PaymentStatus::Approved);
    let lines = e
        .store()
        .read(|c, _| crate::store::receipts::receipt_lines(c, "C1"))
        .await
        .unwrap();
    assert_eq!(
        lines,
        [
            "HWSIM TEST TERMINAL",
            "Card VISA ************1111",
            "USD 12.34"
        ]
    );
    let p = e
        .store()
        .read(|c, _| crate::store::payments::get(c, "C1"))
        .await
        .unwrap();
    assert_eq!(p.state, PaymentState::Approved);
}

#[tokio::test(start_paused = true)]
async fn the_scheduled_end_of_day_tries_again_while_the_terminal_is_busy() {
    let stop = CancellationToken::new();
    let calls = Arc::new(Mutex::new(Vec::new()));
    let mut t = MockPaymentTerminal::new();
    t.expect_supports_end_of_day().return_const(true);
    {
        let (calls, stop) = (Arc::clone(&calls), stop.clone());
        t.expect_end_of_day().times(3).returning(move |wait| {
            let mut c = calls.lock().unwrap();
            c.push((wait, tokio::time::Instant::now()));
            match c.len() {
                // A payment runs: the terminal is busy twice.
                1 | 2 => Err(TerminalError::NotSent("busy".into())),
                _ => {
                    stop.cancel();
                    Ok(EndOfDayTotals {
                        ok: true,
                        currency: "USD".into(),
                        total: Some("12.34".parse().unwrap()),
                        count: Some(1),
                        ..EndOfDayTotals::default()
                    })
                }
            }
        });
    }
    let (e, _dir) = engine(t).await;
    assert!(e.cards().settles_here());
    let at = (chrono::Local::now() + chrono::Duration::minutes(5)).time();
    let at = NaiveTime::from_hms_opt(
        chrono::Timelike::hour(&at),
        chrono::Timelike::minute(&at),
        0,
    )
    .unwrap();
    // No outer timeout: with paused time it would fire whenever the runtime idles. A
    // fourth call (the schedule not stopping) fails the mock's `times(3)`.
    e.cards()
        .run_end_of_day_schedule(at, Duration::from_secs(60), stop.clone())
        .await;
    let calls = calls.lock().unwrap().clone();
    assert_eq!(calls.len(), 3);
    assert!(
        calls.iter().all(|(wait, _)| !wait),
        "never waits behind a payment"
    );
    assert_eq!(calls[1].1 - calls[0].1, Duration::from_secs(60));
    assert_eq!(calls[2].1 - calls[1].1, Duration::from_secs(60));
    // Only the run that reached the terminal is journaled.
    let rows = e
        .store()
        .read(|c, _| crate::store::end_of_day::between(c, "0", "9"))
        .await
        .unwrap();
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(
        (rows[0].trigger.as_str(), rows[0].status.as_str()),
        ("schedule", "ok")
    );
    assert_eq!(rows[0].total, Some(m("12.34")));
}
