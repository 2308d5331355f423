//! Exactly-once under "apply then drop the answer" and crashes: the fake POS ledger ends with
//! no duplicate purchase and no double debit; uncertain items are in doubt, not resent.

use crate::support::engine::*;
use lane_agent::engine::forwarder::Step;
use lane_agent::engine::{OpenSale, PaymentRequest, PaymentStatus, Resolution};
use lane_agent::store::payments::{EntryMode, Method, TerminalMode};
use lane_agent::store::sales::LineInput;
use lane_agent::store::{Money, OutboxState, PaymentState};
use secrecy::SecretString;

fn open(id: &str, total: &str) -> OpenSale {
    OpenSale {
        sale_id: Some(id.into()),
        lines: vec![LineInput {
            sku: "SKU".into(),
            quantity: m("1"),
            unit_price: m(total),
            uom: "EA".into(),
            item_discount: Money::ZERO,
            sale_discount: Money::ZERO,
        }],
        tax: None,
        member_id: None,
    }
}

fn pay(id: &str, method: Method, amount: &str, code: Option<&str>) -> PaymentRequest {
    PaymentRequest {
        payment_id: Some(id.into()),
        method,
        amount: m(amount),
        code: code.map(|c| SecretString::from(c.to_owned())),
        pin: None,
        entry_mode: EntryMode::Scanned,
        terminal_mode: TerminalMode::Authorize,
    }
}

#[tokio::test]
async fn dropped_purchase_answer_is_in_doubt_and_never_resent() {
    let dir = tempfile::tempdir().unwrap();
    let pos = FakePos::default();
    let e = engine(
        &dir.path().join("a.db"),
        &pos,
        &FakeTerminal::default(),
        policy(),
    )
    .await;
    let v = e.open_sale(open("S1", "9.99")).await.unwrap();
    e.add_payment("S1", pay("P1", Method::Cash, "10", None))
        .await
        .unwrap();
    e.complete_sale("S1").await.unwrap();
    pos.set(|f| f.drop_purchase_answer = true);
    assert!(matches!(
        e.forwarder().forward_once().await.unwrap(),
        Step::Done(_, OutboxState::InDoubt)
    ));
    pos.set(|f| f.drop_purchase_answer = false);
    for _ in 0..3 {
        assert_eq!(e.forwarder().forward_once().await.unwrap(), Step::Idle);
    }
    assert_eq!(pos.purchase_count(&v.transaction_id), 1);
    // The operator checks the POS and says it is recorded: still one purchase.
    let id = e
        .forwarder()
        .list(Some(OutboxState::InDoubt))
        .await
        .unwrap()[0]
        .id;
    e.forwarder()
        .resolve(id, Resolution::Recorded)
        .await
        .unwrap();
    assert_eq!(e.forwarder().forward_once().await.unwrap(), Step::Idle);
    assert_eq!(pos.purchase_count(&v.transaction_id), 1);
}

#[tokio::test]
async fn dropped_authorize_answer_is_never_approved_and_never_retried() {
    let dir = tempfile::tempdir().unwrap();
    let pos = FakePos::default().with_card("GC1", "100");
    let e = engine(
        &dir.path().join("a.db"),
        &pos,
        &FakeTerminal::default(),
        policy(),
    )
    .await;
    e.open_sale(open("S1", "30")).await.unwrap();
    pos.set(|f| f.drop_authorize_answer = true);
    let a = e
        .add_payment("S1", pay("P1", Method::Giftcard, "30", Some("GC1")))
        .await
        .unwrap();
    assert_eq!(a.status, PaymentStatus::InDoubt);
    pos.set(|f| f.drop_authorize_answer = false);
    let again = e
        .add_payment("S1", pay("P1", Method::Giftcard, "30", Some("GC1")))
        .await
        .unwrap();
    assert_eq!(again, a);
    // One hold at the POS (it ends at the Delay Period), no second one.
    assert_eq!(pos.balance_of("GC1"), m("70"));
    assert_eq!(pos.ledger.lock().unwrap().trans.len(), 1);
    assert_eq!(e.sale("S1").await.unwrap().due, m("30"));
}

#[tokio::test]
async fn crash_while_sending_a_purchase_leaves_it_in_doubt_after_restart() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a.db");
    let pos = FakePos::default();
    let term = FakeTerminal::default();
    let tid;
    {
        let e = engine(&path, &pos, &term, policy()).await;
        tid = e.open_sale(open("S1", "5")).await.unwrap().transaction_id;
        e.add_payment("S1", pay("C1", Method::Card, "5", None))
            .await
            .unwrap();
        e.complete_sale("S1").await.unwrap();
        pos.set(|f| f.hang_purchase = true);
        let fwd = tokio::spawn({
            let e = e.clone();
            async move { e.forwarder().forward_once().await }
        });
        // Wait until the POS has applied it, then "kill" the agent.
        tokio::time::timeout(std::time::Duration::from_secs(5), async {
            while pos.purchase_count(&tid) == 0 {
                tokio::task::yield_now().await;
            }
        })
        .await
        .unwrap();
        fwd.abort();
        let _ = fwd.await;
    }
    pos.set(|f| f.hang_purchase = false);
    let e = engine(&path, &pos, &term, policy()).await;
    let rep = e.recover().await.unwrap();
    assert_eq!(rep.outbox_interrupted, 1);
    assert_eq!(e.status().await.unwrap().outbox.in_doubt, 1);
    assert_eq!(e.forwarder().forward_once().await.unwrap(), Step::Idle);
    assert_eq!(
        pos.purchase_count(&tid),
        1,
        "no second purchaseAdd after restart"
    );
}

#[tokio::test]
async fn outage_mid_sale_then_offline_then_forwarding_debits_each_card_once() {
    let dir = tempfile::tempdir().unwrap();
    let pos = FakePos::default()
        .with_card("GC1", "40")
        .with_card("GC2", "40");
    let e = engine(
        &dir.path().join("a.db"),
        &pos,
        &FakeTerminal::default(),
        policy(),
    )
    .await;
    // Learn the balances online.
    e.giftcard_balance(SecretString::from("GC1".to_owned()))
        .await
        .unwrap();
    e.giftcard_balance(SecretString::from("GC2".to_owned()))
        .await
        .unwrap();
    e.open_sale(open("S1", "60")).await.unwrap();
    let a = e
        .add_payment("S1", pay("P1", Method::Giftcard, "25", Some("GC1")))
        .await
        .unwrap();
    assert_eq!(a.status, PaymentStatus::Approved);
    pos.set(|f| f.down = true);
    let b = e
        .add_payment("S1", pay("P2", Method::Giftcard, "35", Some("GC2")))
        .await
        .unwrap();
    assert_eq!(b.status, PaymentStatus::OfflineApproved);
    let done = e.complete_sale("S1").await.unwrap();
    assert!(done.outbox_id > 0);
    // Nothing can be sent yet.
    assert!(matches!(
        e.forwarder().forward_once().await.unwrap(),
        Step::Retry(..)
    ));
    pos.set(|f| f.down = false);
    let mut steps = 0;
    while e.forwarder().forward_once().await.unwrap() != Step::Idle {
        steps += 1;
        assert!(steps < 10);
    }
    assert_eq!(pos.balance_of("GC1"), m("15"));
    assert_eq!(pos.balance_of("GC2"), m("5"));
    {
        let l = pos.ledger.lock().unwrap();
        assert_eq!(l.uses.len(), 1, "one forwarded offline redemption");
        assert_eq!(l.purchases.len(), 1);
        assert!(l.trans.values().all(|t| t.2 == "COMPLETED"));
    }
    let v = e.sale("S1").await.unwrap();
    assert!(v.payments.iter().all(|p| p.state == PaymentState::Captured));
}
