//! What each register step costs in durable commits (issue 16): one commit a step, and for a
//! money movement at the POS the intent journaled before its request leaves plus the outcome.
//! The answers still follow their commits; only the extra trips are gone.

use std::future::Future;

use super::*;

/// `f`'s result and the commits the store made while it ran.
async fn commits_of<T>(e: &Engine, f: impl Future<Output = T>) -> (T, u64) {
    let before = e.store().commits();
    let t = f.await;
    (t, e.store().commits() - before)
}

/// `f`'s result, and its commits and trips to the store.
async fn cost_of<T>(e: &Engine, f: impl Future<Output = T>) -> (T, (u64, u64)) {
    let (commits, trips) = (e.store().commits(), e.store().trips());
    let t = f.await;
    let cost = (e.store().commits() - commits, e.store().trips() - trips);
    (t, cost)
}

/// An engine whose POS authorizes one 10.00 hold `T1` (90.00 left) and answers its capture
/// with `capture`; the offline policy of the engine tests.
async fn one_hold(capture: Result<GiftcardTrans, HostError>) -> H {
    let mut g = MockGiftcardHost::new();
    g.expect_authorize_use()
        .times(1)
        .returning(|_| Ok(trans("T1", "90.00")));
    let mut capture = Some(capture);
    g.expect_capture()
        .withf(|id| id == "T1")
        .times(1)
        .returning(move |_| capture.take().expect("one capture"));
    harness(
        g,
        MockPurchaseSink::new(),
        MockPaymentTerminal::new(),
        policy(),
    )
    .await
}

#[tokio::test]
async fn a_cash_sale_costs_one_commit_per_step() {
    let h = harness(
        MockGiftcardHost::new(),
        MockPurchaseSink::new(),
        MockPaymentTerminal::new(),
        policy(),
    )
    .await;
    let e = &h.engine;
    let (_, n) = cost_of(e, sale(e, "10.00")).await;
    assert_eq!(n, (1, 1), "open: one commit, one trip");
    let (a, n) = cost_of(e, e.add_payment("S1", cash("P1", "10.00"))).await;
    let a = a.unwrap();
    assert_eq!((a.status, a.due), (PaymentStatus::Approved, Money::ZERO));
    assert_eq!(
        n,
        (1, 1),
        "cash payment: checked, approved and answered in one commit"
    );
    let (c, n) = cost_of(e, e.complete_sale("S1")).await;
    assert_eq!(c.unwrap().state, SaleState::Completed);
    assert_eq!(n, (1, 1), "completion with nothing to capture");
    // A retry gets the first answer and adds no payment.
    let a = e.add_payment("S1", cash("P1", "10.00")).await.unwrap();
    assert_eq!(
        (a.payment_id.as_str(), a.status),
        ("P1", PaymentStatus::Approved)
    );
    assert_eq!(e.sale("S1").await.unwrap().payments.len(), 1);
    let queued = items(e).await;
    assert_eq!(queued.len(), 1);
    assert_eq!(
        (queued[0].kind, queued[0].state),
        (OutboxKind::Purchase, OutboxState::New)
    );
}

#[tokio::test]
async fn an_online_gift_card_costs_intent_and_outcome_and_its_capture_rides_the_completion() {
    let h = one_hold(Ok(trans("T1", "90.00"))).await;
    let e = &h.engine;
    sale(e, "10.00").await;
    let (a, n) = commits_of(
        e,
        e.add_payment("S1", gift("G1", "6001000011112222", "10.00")),
    )
    .await;
    let a = a.unwrap();
    assert_eq!(a.status, PaymentStatus::Approved);
    assert_eq!(a.balance, Some(m("90.00")));
    assert_eq!(n, 2, "intent, then the hold with its cached balance");
    // The balance the hold left is cached for offline use in that same commit.
    let cached = e
        .store()
        .read(|c, s| crate::store::exceptions::cached_balance(c, &s.keyed_hash("6001000011112222")))
        .await
        .unwrap();
    assert_eq!(cached.map(|(b, _)| b), Some(m("90.00")));

    let (c, n) = commits_of(e, e.complete_sale("S1")).await;
    assert_eq!(c.unwrap().state, SaleState::Completed);
    assert_eq!(
        n, 2,
        "completing with the hold capturing, then captured with the purchase"
    );
    assert_eq!(payment_state(e, "G1").await, PaymentState::Captured);
    let queued = items(e).await;
    assert_eq!(
        queued.len(),
        1,
        "captured inline: only the purchase is queued"
    );
    assert_eq!(queued[0].kind, OutboxKind::Purchase);
}

#[tokio::test]
async fn a_capture_the_pos_cannot_take_now_is_queued_before_the_purchase() {
    let h = one_hold(Err(HostError::NotSent("link down".into()))).await;
    let e = &h.engine;
    sale(e, "10.00").await;
    e.add_payment("S1", gift("G1", "6001000011112222", "10.00"))
        .await
        .unwrap();
    let c = e.complete_sale("S1").await.unwrap();
    assert_eq!(c.state, SaleState::Completed);
    // Still capturing: the outbox item finishes it, and it goes out before the purchase.
    assert_eq!(payment_state(e, "G1").await, PaymentState::Capturing);
    let kinds: Vec<_> = items(e).await.iter().map(|i| i.kind).collect();
    assert_eq!(kinds, [OutboxKind::GiftcardCapture, OutboxKind::Purchase]);
}

#[tokio::test]
async fn an_offline_approval_is_one_commit() {
    let h = one_hold(Ok(trans("T1", "80.00"))).await;
    let e = &h.engine;
    // A first sale online caches the card's balance.
    sale(e, "10.00").await;
    e.add_payment("S1", gift("G1", "6001000011112222", "10.00"))
        .await
        .unwrap();
    e.complete_sale("S1").await.unwrap();
    e.inner.link.down();
    e.open_sale(OpenSale {
        sale_id: Some("S2".into()),
        lines: vec![LineInput {
            sku: "SKU1".into(),
            quantity: m("1"),
            unit_price: m("5.00"),
            uom: "EA".into(),
            item_discount: Money::ZERO,
            sale_discount: Money::ZERO,
        }],
        tax: None,
        member_id: None,
    })
    .await
    .unwrap();
    let (a, n) = commits_of(
        e,
        e.add_payment("S2", gift("G2", "6001000011112222", "5.00")),
    )
    .await;
    assert_eq!(a.unwrap().status, PaymentStatus::OfflineApproved);
    assert_eq!(
        n, 1,
        "policy check, approval and its redemption item in one commit"
    );
}
