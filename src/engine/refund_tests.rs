//! Refund decisions at the port boundaries: mockall ports, a real SQLite store.

use std::sync::Arc;

use secrecy::SecretString;

use super::ports::*;
use super::refund::{RefundRequest, RefundStatus};
use super::*;
use crate::domain::Money;
use crate::domain::payment::Method;
use crate::domain::sale::LineInput;
use crate::store::StoreOptions;
use crate::store::refunds::{self, NewRefund, RefundState};

const CODE: &str = "6006491000000001";

fn m(s: &str) -> Money {
    s.parse().unwrap()
}

struct H {
    engine: Engine,
    _dir: tempfile::TempDir,
}

async fn harness(g: MockGiftcardHost) -> H {
    harness_with(g, OfflinePolicy::disabled()).await
}

async fn harness_with(g: MockGiftcardHost, offline: OfflinePolicy) -> H {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(StoreOptions::new(dir.path().join("agent.db")))
        .await
        .unwrap();
    let quick = || simple_backoff(Duration::from_millis(1), Duration::from_millis(4));
    let cfg = EngineConfig {
        store_code: "DALLAS".into(),
        register_code: "LANE01".into(),
        offline,
        forward_backoff: quick(),
        probe_backoff: quick(),
        fault: None,
    };
    let ports = Ports {
        giftcards: Arc::new(g),
        purchases: Arc::new(MockPurchaseSink::new()),
        terminal: Arc::new(MockPaymentTerminal::new()),
    };
    H {
        engine: Engine::new(store, ports, cfg),
        _dir: dir,
    }
}

async fn open_return(e: &Engine, id: &str, price: &str) {
    e.open_sale(OpenSale {
        sale_id: Some(id.into()),
        lines: vec![LineInput {
            sku: "ITEM-001".into(),
            quantity: m("-1"),
            unit_price: m(price),
            uom: "EA".into(),
            item_discount: Money::ZERO,
            sale_discount: Money::ZERO,
        }],
        tax: None,
        member_id: None,
    })
    .await
    .unwrap();
}

fn gift(id: &str, amount: &str) -> RefundRequest {
    RefundRequest {
        refund_id: Some(id.into()),
        method: Method::Giftcard,
        amount: m(amount),
        code: Some(SecretString::from(CODE)),
    }
}

fn added(balance: &str) -> Result<GiftcardTrans, HostError> {
    Ok(GiftcardTrans {
        id: "T-ADD".into(),
        balance: Some(m(balance)),
    })
}

async fn refund_state(e: &Engine, id: &str) -> RefundState {
    let id = id.to_owned();
    e.store()
        .read(move |c, _| refunds::get(c, &id))
        .await
        .unwrap()
        .state
}

#[tokio::test]
async fn a_declined_add_pays_nothing_back_and_a_retry_gets_the_first_answer() {
    let mut g = MockGiftcardHost::new();
    g.expect_add()
        .times(1)
        .returning(|_| Err(HostError::Declined(Decline::CodeNotFound)));
    let h = harness(g).await;
    open_return(&h.engine, "s1", "9.00").await;
    let a = h.engine.refund("s1", gift("r1", "9.00")).await.unwrap();
    assert_eq!(a.status, RefundStatus::Declined);
    assert_eq!(a.reason.as_deref(), Some("code_not_found"));
    assert_eq!((a.amount, a.due), (Money::ZERO, m("-9.00")));
    let again = h.engine.refund("s1", gift("r1", "9.00")).await.unwrap();
    assert_eq!(again, a);
    assert!(matches!(
        h.engine.refund("s1", gift("r1", "8.00")).await,
        Err(EngineError::Conflict(_))
    ));
}

#[tokio::test]
async fn a_refused_take_back_leaves_an_exception_and_the_cancel_goes_on() {
    let mut g = MockGiftcardHost::new();
    g.expect_add().times(1).returning(|_| added("59.00"));
    g.expect_use_now()
        .times(1)
        .withf(|r| r.amount == m("9.00") && !r.ref_no.is_empty())
        .returning(|_| Err(HostError::Declined(Decline::InsufficientBalance)));
    let h = harness(g).await;
    open_return(&h.engine, "s1", "9.00").await;
    let a = h.engine.refund("s1", gift("r1", "9.00")).await.unwrap();
    assert_eq!(
        (a.status, a.balance),
        (RefundStatus::Approved, Some(m("59.00")))
    );
    let v = h.engine.cancel_sale("s1").await.unwrap();
    assert_eq!(v.state, SaleState::Cancelled);
    assert_eq!(
        refund_state(&h.engine, "r1").await,
        RefundState::ReversalFailed
    );
    let ex = h.engine.exceptions(true).await.unwrap();
    assert_eq!(ex.len(), 1, "{ex:?}");
    assert_eq!(ex[0].kind, super::refund::REFUND_REVERSAL_FAILED);
    assert_eq!(ex[0].code_masked.as_deref(), Some("****0001"));
    assert!(!ex[0].reason.contains(CODE));
}

#[tokio::test]
async fn an_unreachable_pos_at_cancel_sends_nothing_and_the_next_cancel_takes_it_back() {
    let mut g = MockGiftcardHost::new();
    let mut seq = mockall::Sequence::new();
    g.expect_add().times(1).returning(|_| added("59.00"));
    g.expect_use_now()
        .times(1)
        .in_sequence(&mut seq)
        .returning(|_| Err(HostError::NotSent("connect refused".into())));
    g.expect_use_now()
        .times(1)
        .in_sequence(&mut seq)
        .returning(|_| added("50.00"));
    let h = harness(g).await;
    open_return(&h.engine, "s1", "9.00").await;
    h.engine.refund("s1", gift("r1", "9.00")).await.unwrap();
    let err = h.engine.cancel_sale("s1").await.unwrap_err();
    assert_eq!(err.code(), "pos_unreachable");
    assert_eq!(refund_state(&h.engine, "r1").await, RefundState::Approved);
    let v = h.engine.cancel_sale("s1").await.unwrap();
    assert_eq!(v.state, SaleState::Cancelled);
    assert_eq!(refund_state(&h.engine, "r1").await, RefundState::Reversed);
    let id = "r1".to_owned();
    let sealed = h
        .engine
        .store()
        .read(move |c, s| refunds::sealed_code(c, s, &id))
        .await
        .unwrap();
    assert_eq!(sealed, None, "the code is erased once taken back");
}

#[tokio::test]
async fn recovery_settles_refunds_found_mid_flight() {
    let h = harness(MockGiftcardHost::new()).await;
    open_return(&h.engine, "s1", "9.00").await;
    // Two refunds journaled before their outcome, as a kill would leave them.
    h.engine
        .store()
        .write(|c, s| {
            for (id, method, code) in [
                ("r-cash", Method::Cash, None),
                (
                    "r-gift",
                    Method::Giftcard,
                    Some(zeroize::Zeroizing::new(CODE.to_owned())),
                ),
            ] {
                refunds::claim(
                    c,
                    s,
                    "DALLAS",
                    "LANE01",
                    &NewRefund {
                        refund_id: id.into(),
                        sale_id: "s1".into(),
                        method,
                        amount: m("4.00"),
                        code,
                    },
                )?;
            }
            Ok(())
        })
        .await
        .unwrap();
    let rep = h.engine.recover().await.unwrap();
    assert_eq!(rep.payments_in_doubt, 1);
    assert_eq!(
        refund_state(&h.engine, "r-cash").await,
        RefundState::Declined
    );
    assert_eq!(
        refund_state(&h.engine, "r-gift").await,
        RefundState::InDoubt
    );
    let ex = h.engine.exceptions(true).await.unwrap();
    assert_eq!(ex.len(), 1);
    assert_eq!(ex[0].kind, super::refund::REFUND_IN_DOUBT);
    // The gift-card ADD in doubt counts as paid back; the declined cash does not.
    assert_eq!(h.engine.sale("s1").await.unwrap().due, m("-5.00"));
}

#[tokio::test]
async fn offline_gift_card_refunds_are_refused_when_offline_acceptance_is_off() {
    let mut g = MockGiftcardHost::new();
    g.expect_add()
        .times(1)
        .returning(|_| Err(HostError::NotSent("connect refused".into())));
    let h = harness(g).await;
    open_return(&h.engine, "s1", "9.00").await;
    let a = h.engine.refund("s1", gift("r1", "9.00")).await.unwrap();
    assert_eq!(a.status, RefundStatus::Declined);
    assert_eq!(a.reason.as_deref(), Some("offline_disabled"));
    // The link is down now: the next gift-card refund does not try the POS at all.
    let b = h.engine.refund("s1", gift("r2", "1.00")).await.unwrap();
    assert_eq!(b.reason.as_deref(), Some("offline_disabled"));
}

#[tokio::test]
async fn a_stale_return_that_paid_back_is_left_for_the_register() {
    let h = harness(MockGiftcardHost::new()).await;
    open_return(&h.engine, "s1", "9.00").await;
    let cash = RefundRequest {
        refund_id: Some("r1".into()),
        method: Method::Cash,
        amount: m("4.00"),
        code: None,
    };
    h.engine.refund("s1", cash).await.unwrap();
    open_return(&h.engine, "s2", "3.00").await;
    let swept = h
        .engine
        .cancel_stale_open_sales(Duration::ZERO)
        .await
        .unwrap();
    assert_eq!(swept, vec!["s2".to_owned()]);
    assert_eq!(h.engine.sale("s1").await.unwrap().state, SaleState::Open);
    assert_eq!(refund_state(&h.engine, "r1").await, RefundState::Approved);
    let e = h.engine.complete_sale("s1").await.unwrap_err();
    assert_eq!(e.to_string(), "5.00 still owed to the customer");
}

#[tokio::test]
async fn a_queued_refund_whose_forward_is_lost_is_in_doubt_until_the_operator_records_it() {
    let mut g = MockGiftcardHost::new();
    let mut seq = mockall::Sequence::new();
    g.expect_add()
        .times(1)
        .in_sequence(&mut seq)
        .returning(|_| Err(HostError::NotSent("connect refused".into())));
    g.expect_add()
        .times(1)
        .in_sequence(&mut seq)
        .returning(|_| Err(HostError::OutcomeUnknown("reset after write".into())));
    let offline = OfflinePolicy {
        enabled: true,
        max_transaction_amount: m("50"),
        max_total_amount: m("100"),
        max_count: 5,
        max_age_hours: 24,
        unknown_card: UnknownCard::Refuse,
    };
    let h = harness_with(g, offline).await;
    open_return(&h.engine, "s1", "9.00").await;
    let a = h.engine.refund("s1", gift("r1", "9.00")).await.unwrap();
    assert_eq!(a.status, RefundStatus::OfflineApproved);
    assert_eq!(
        h.engine.status().await.unwrap().offline_budget.used_count,
        1
    );
    let step = h.engine.forwarder().forward_once().await.unwrap();
    let super::forwarder::Step::Done(item, OutboxState::InDoubt) = step else {
        panic!("{step:?}");
    };
    assert_eq!(refund_state(&h.engine, "r1").await, RefundState::InDoubt);
    let ex = h.engine.exceptions(true).await.unwrap();
    assert_eq!(ex[0].kind, super::refund::REFUND_IN_DOUBT);
    let id = "r1".to_owned();
    let sealed = h
        .engine
        .store()
        .read(move |c, s| refunds::sealed_code(c, s, &id))
        .await
        .unwrap();
    assert_eq!(
        sealed.as_deref().map(String::as_str),
        Some(CODE),
        "kept for a resend"
    );
    h.engine
        .forwarder()
        .resolve(item, Resolution::Recorded)
        .await
        .unwrap();
    assert_eq!(refund_state(&h.engine, "r1").await, RefundState::Approved);
    assert_eq!(
        h.engine.forwarder().forward_once().await.unwrap(),
        super::forwarder::Step::Idle
    );
}

#[tokio::test]
async fn a_queued_refund_cut_mid_send_by_a_restart_is_in_doubt() {
    let mut g = MockGiftcardHost::new();
    g.expect_add()
        .times(1)
        .returning(|_| Err(HostError::NotSent("connect refused".into())));
    let offline = OfflinePolicy {
        enabled: true,
        max_transaction_amount: m("50"),
        max_total_amount: m("100"),
        max_count: 5,
        max_age_hours: 24,
        unknown_card: UnknownCard::Refuse,
    };
    let h = harness_with(g, offline).await;
    open_return(&h.engine, "s1", "9.00").await;
    let a = h.engine.refund("s1", gift("r1", "9.00")).await.unwrap();
    assert_eq!(a.status, RefundStatus::OfflineApproved);
    // The forwarder had claimed the item (sending) when the process died.
    h.engine
        .store()
        .write(|c, _| crate::store::outbox::claim_next(c))
        .await
        .unwrap()
        .unwrap();
    let rep = h.engine.recover().await.unwrap();
    assert_eq!(rep.payments_in_doubt, 1);
    assert_eq!(refund_state(&h.engine, "r1").await, RefundState::InDoubt);
    assert_eq!(h.engine.status().await.unwrap().outbox.in_doubt, 1);
    assert_eq!(
        h.engine.forwarder().forward_once().await.unwrap(),
        super::forwarder::Step::Idle
    );
}
