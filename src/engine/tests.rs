//! Engine decisions at the port boundaries, with mockall ports and a real SQLite store.

use std::sync::Arc;

use mockall::Sequence;
use secrecy::{ExposeSecret, SecretString};

use super::ports::*;
use super::*;
use crate::domain::payment::{EntryMode, Method, TerminalMode};
use crate::domain::sale::LineInput;
use crate::domain::{Money, OutboxKind, OutboxState, PaymentState, SaleState};
use crate::store::payments::{self, PaymentUpdate};
use crate::store::{StoreOptions, outbox};

mod step_commits;

fn m(s: &str) -> Money {
    s.parse().unwrap()
}

fn policy() -> OfflinePolicy {
    OfflinePolicy {
        enabled: true,
        max_transaction_amount: m("50"),
        max_total_amount: m("100"),
        max_count: 5,
        max_age_hours: 24,
        unknown_card: UnknownCard::Refuse,
    }
}

struct H {
    engine: Engine,
    _dir: tempfile::TempDir,
}

async fn harness(
    g: MockGiftcardHost,
    s: MockPurchaseSink,
    t: MockPaymentTerminal,
    offline: OfflinePolicy,
) -> H {
    harness_with(g, s, t, offline, None).await
}

async fn harness_with(
    g: MockGiftcardHost,
    s: MockPurchaseSink,
    t: MockPaymentTerminal,
    offline: OfflinePolicy,
    fault: Option<Fault>,
) -> H {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(StoreOptions::new(dir.path().join("agent.db")))
        .await
        .unwrap();
    let cfg = EngineConfig {
        store_code: "DALLAS".into(),
        register_code: "LANE01".into(),
        offline,
        forward_backoff: simple_backoff(
            std::time::Duration::from_millis(1),
            std::time::Duration::from_millis(4),
        ),
        probe_backoff: simple_backoff(
            std::time::Duration::from_millis(1),
            std::time::Duration::from_millis(4),
        ),
        fault,
    };
    let ports = Ports {
        giftcards: Arc::new(g),
        purchases: Arc::new(s),
        terminal: Arc::new(t),
    };
    H {
        engine: Engine::new(store, ports, cfg),
        _dir: dir,
    }
}

async fn sale(e: &Engine, total: &str) -> String {
    sale_named(e, "S1", total).await
}

/// Opens sale `id` of one line for `total`.
async fn sale_named(e: &Engine, id: &str, total: &str) -> String {
    e.open_sale(OpenSale {
        sale_id: Some(id.into()),
        lines: vec![LineInput {
            sku: "SKU1".into(),
            quantity: m("1"),
            unit_price: total.parse().unwrap(),
            uom: "EA".into(),
            item_discount: Money::ZERO,
            sale_discount: Money::ZERO,
        }],
        tax: None,
        member_id: Some("000010049".into()),
    })
    .await
    .unwrap()
    .sale_id
}

fn gift(id: &str, code: &str, amount: &str) -> PaymentRequest {
    PaymentRequest {
        payment_id: Some(id.into()),
        method: Method::Giftcard,
        amount: m(amount),
        code: Some(SecretString::from(code.to_owned())),
        pin: None,
        entry_mode: EntryMode::Keyed,
        terminal_mode: TerminalMode::Authorize,
    }
}

fn cash(id: &str, amount: &str) -> PaymentRequest {
    PaymentRequest {
        method: Method::Cash,
        code: None,
        ..gift(id, "", amount)
    }
}

fn card_req(id: &str, amount: &str, mode: TerminalMode) -> PaymentRequest {
    PaymentRequest {
        method: Method::Card,
        code: None,
        terminal_mode: mode,
        ..gift(id, "", amount)
    }
}

fn trans(id: &str, bal: &str) -> GiftcardTrans {
    GiftcardTrans {
        id: id.into(),
        balance: Some(m(bal)),
    }
}

fn approved(amount: &str, receipt: u32) -> TerminalOutcome {
    TerminalOutcome {
        approved: true,
        amount: m(amount),
        receipt_no: Some(receipt),
        trace_no: Some(receipt + 100),
        masked_pan: Some("************1111".into()),
        card_name: Some("VISA".into()),
        result_text: None,
        receipt_lines: vec![],
    }
}

async fn payment_state(e: &Engine, id: &str) -> PaymentState {
    let id = id.to_owned();
    e.store()
        .read(move |c, _| payments::get(c, &id))
        .await
        .unwrap()
        .state
}

async fn items(e: &Engine) -> Vec<outbox::OutboxItem> {
    e.forwarder().list(None).await.unwrap()
}

#[tokio::test]
async fn partial_approval_then_cash_completes_with_capture_and_queued_purchase() {
    let mut g = MockGiftcardHost::new();
    // Authorized first for what is due; the card cannot cover it, so its balance is read
    // and what it holds is authorized.
    g.expect_authorize_use()
        .withf(|r| r.amount == m("50"))
        .times(1)
        .returning(|_| Err(HostError::Declined(Decline::InsufficientBalance)));
    g.expect_balance()
        .times(1)
        .returning(|_| Ok(GiftcardBalance { balance: m("30") }));
    g.expect_authorize_use()
        .withf(|r| {
            r.amount == m("30")
                && r.ref_no.starts_with("DALLAS-LANE01-")
                && r.card.code.expose_secret() == "6001000011112222"
        })
        .times(1)
        .returning(|_| Ok(trans("T1", "0")));
    g.expect_capture()
        .withf(|id| id == "T1")
        .times(1)
        .returning(|_| Ok(trans("T1", "0")));
    let h = harness(
        g,
        MockPurchaseSink::new(),
        MockPaymentTerminal::new(),
        policy(),
    )
    .await;
    let e = &h.engine;
    let mut ev = e.subscribe();
    let sid = sale(e, "50.00").await;
    let a = e
        .add_payment(&sid, gift("P1", "6001000011112222", "50"))
        .await
        .unwrap();
    assert_eq!(
        (a.status, a.approved_amount, a.due),
        (PaymentStatus::Approved, m("30"), m("20.00"))
    );
    assert!(matches!(
        e.complete_sale(&sid).await,
        Err(EngineError::Due { .. })
    ));
    let a = e.add_payment(&sid, cash("P2", "25")).await.unwrap();
    assert_eq!((a.approved_amount, a.due), (m("20.00"), Money::ZERO));
    let done = e.complete_sale(&sid).await.unwrap();
    assert_eq!(done.purchase, PurchaseStatus::Queued);
    let item = e.forwarder().show(done.outbox_id).await.unwrap();
    let input: PurchaseInput = serde_json::from_str(&item.payload).unwrap();
    assert_eq!(input.pay_method.as_deref(), Some("GIFTCARD+CASH"));
    assert_eq!(input.pay_amount, m("50.00").get());
    assert_eq!(input.member_id.as_deref(), Some("000010049"));
    assert_eq!(input.store_code, "DALLAS");
    assert!(!input.purchased_on.contains('+') && !input.purchased_on.ends_with('Z'));
    assert_eq!(payment_state(e, "P1").await, PaymentState::Captured);
    assert!(!item.payload.contains("6001000011112222"));
    let mut saw_completed = false;
    while let Ok(ev) = ev.try_recv() {
        saw_completed |= ev
            == EngineEvent::Sale {
                sale_id: sid.clone(),
                state: SaleState::Completed,
            };
    }
    assert!(saw_completed);
}

#[tokio::test]
async fn split_across_two_gift_cards_and_a_terminal_card() {
    let mut g = MockGiftcardHost::new();
    g.expect_balance().returning(|c| {
        Ok(GiftcardBalance {
            balance: if c.code.expose_secret().ends_with("1111") {
                m("10")
            } else {
                m("15")
            },
        })
    });
    g.expect_authorize_use()
        .withf(|r| r.amount == m("40") || r.amount == m("30"))
        .times(2)
        .returning(|_| Err(HostError::Declined(Decline::InsufficientBalance)));
    g.expect_authorize_use()
        .withf(|r| r.amount == m("10") || r.amount == m("15"))
        .times(2)
        .returning(|r| {
            Ok(GiftcardTrans {
                id: format!("T{}", r.amount),
                balance: Some(Money::ZERO),
            })
        });
    g.expect_capture().times(2).returning(|id| {
        Ok(GiftcardTrans {
            id: id.to_owned(),
            balance: None,
        })
    });
    let mut t = MockPaymentTerminal::new();
    t.expect_last_trace().return_const(None);
    t.expect_authorize()
        .withf(|r| r.amount == m("15.00"))
        .times(1)
        .returning(|_| Ok(approved("15.00", 7)));
    let mut s = MockPurchaseSink::new();
    s.expect_purchase_add().times(1).returning(|p| {
        assert_eq!(p.pay_method.as_deref(), Some("GIFTCARD+CARD"));
        Ok("PUR1".into())
    });
    let h = harness(g, s, t, policy()).await;
    let e = &h.engine;
    let sid = sale(e, "40.00").await;
    assert_eq!(
        e.add_payment(&sid, gift("G1", "AAAA1111", "40"))
            .await
            .unwrap()
            .approved_amount,
        m("10")
    );
    assert_eq!(
        e.add_payment(&sid, gift("G2", "BBBB2222", "40"))
            .await
            .unwrap()
            .approved_amount,
        m("15")
    );
    let a = e
        .add_payment(&sid, card_req("C1", "99", TerminalMode::Authorize))
        .await
        .unwrap();
    assert_eq!((a.status, a.due), (PaymentStatus::Approved, Money::ZERO));
    e.complete_sale(&sid).await.unwrap();
    assert!(matches!(
        e.forwarder().forward_once().await.unwrap(),
        forwarder::Step::Done(_, OutboxState::Confirmed)
    ));
    let v = e.sale(&sid).await.unwrap();
    let card = v.payments.iter().find(|p| p.payment_id == "C1").unwrap();
    assert_eq!(card.masked_pan.as_deref(), Some("****1111"));
    assert_eq!(card.receipt_no, Some(7));
    assert_eq!(
        e.forwarder().forward_once().await.unwrap(),
        forwarder::Step::Idle
    );
}

#[tokio::test]
async fn declines_of_each_kind_are_declined_and_change_nothing_due() {
    for decline in [
        Decline::CodeNotFound,
        Decline::CodeExpired,
        Decline::AmountSign,
        Decline::Other("Weird".into()),
    ] {
        let mut g = MockGiftcardHost::new();
        let d2 = decline.clone();
        // One POS call: the authorization's decline is the answer; no balance is read.
        g.expect_balance().never();
        g.expect_authorize_use()
            .times(1)
            .returning(move |_| Err(HostError::Declined(d2.clone())));
        let h = harness(
            g,
            MockPurchaseSink::new(),
            MockPaymentTerminal::new(),
            policy(),
        )
        .await;
        let sid = sale(&h.engine, "20").await;
        let a = h
            .engine
            .add_payment(&sid, gift("P", "CODE9999", "20"))
            .await
            .unwrap();
        assert_eq!(a.status, PaymentStatus::Declined);
        assert_eq!(a.reason.as_deref(), Some(decline.reason().as_str()));
        assert_eq!(a.due, m("20"));
        assert_eq!(payment_state(&h.engine, "P").await, PaymentState::Declined);
    }
}

#[tokio::test]
async fn invalid_pin_on_keyed_code_asks_the_terminal_once() {
    let mut g = MockGiftcardHost::new();
    g.expect_balance()
        .returning(|_| Ok(GiftcardBalance { balance: m("100") }));
    let mut seq = Sequence::new();
    g.expect_authorize_use()
        .withf(|r| r.card.pin.is_none())
        .times(1)
        .in_sequence(&mut seq)
        .returning(|_| Err(HostError::Declined(Decline::InvalidPin)));
    g.expect_authorize_use()
        .withf(|r| {
            r.card
                .pin
                .as_ref()
                .map(|p| p.expose_secret() == "4321")
                .unwrap_or(false)
        })
        .times(1)
        .in_sequence(&mut seq)
        .returning(|_| Ok(trans("T9", "80")));
    let mut t = MockPaymentTerminal::new();
    t.expect_last_trace().return_const(None);
    t.expect_numeric_input()
        .times(1)
        .returning(|_, _| Ok(Some(SecretString::from("4321".to_owned()))));
    let h = harness(g, MockPurchaseSink::new(), t, policy()).await;
    let sid = sale(&h.engine, "20").await;
    let a = h
        .engine
        .add_payment(&sid, gift("P", "CODE1234", "20"))
        .await
        .unwrap();
    assert_eq!(
        (a.status, a.balance),
        (PaymentStatus::Approved, Some(m("80")))
    );
}

#[tokio::test]
async fn swiped_card_with_invalid_pin_never_prompts() {
    let mut g = MockGiftcardHost::new();
    g.expect_balance()
        .returning(|_| Ok(GiftcardBalance { balance: m("100") }));
    g.expect_authorize_use()
        .times(1)
        .returning(|_| Err(HostError::Declined(Decline::InvalidPin)));
    let mut t = MockPaymentTerminal::new();
    t.expect_last_trace().return_const(None);
    t.expect_numeric_input().times(0);
    let h = harness(g, MockPurchaseSink::new(), t, policy()).await;
    let sid = sale(&h.engine, "20").await;
    let mut req = gift("P", "CODE1234", "20");
    req.entry_mode = EntryMode::Swiped;
    let a = h.engine.add_payment(&sid, req).await.unwrap();
    assert_eq!(
        (a.status, a.reason.as_deref()),
        (PaymentStatus::Declined, Some("invalid_pin"))
    );
}

#[tokio::test]
async fn insufficient_balance_reads_the_balance_and_authorizes_what_is_left() {
    let mut g = MockGiftcardHost::new();
    let mut seq = Sequence::new();
    g.expect_authorize_use()
        .withf(|r| r.amount == m("20"))
        .times(1)
        .in_sequence(&mut seq)
        .returning(|_| Err(HostError::Declined(Decline::InsufficientBalance)));
    g.expect_balance()
        .times(1)
        .in_sequence(&mut seq)
        .returning(|_| {
            Ok(GiftcardBalance {
                balance: m("12.50"),
            })
        });
    g.expect_authorize_use()
        .withf(|r| r.amount == m("12.50"))
        .times(1)
        .in_sequence(&mut seq)
        .returning(|_| Ok(trans("T", "0")));
    let h = harness(
        g,
        MockPurchaseSink::new(),
        MockPaymentTerminal::new(),
        policy(),
    )
    .await;
    let sid = sale(&h.engine, "20").await;
    let a = h
        .engine
        .add_payment(&sid, gift("P", "CODE1234", "20"))
        .await
        .unwrap();
    assert_eq!((a.approved_amount, a.due), (m("12.50"), m("7.50")));
}

#[tokio::test]
async fn lost_authorize_answer_is_in_doubt_never_approved_and_retry_returns_the_same() {
    let mut g = MockGiftcardHost::new();
    g.expect_balance().never();
    g.expect_authorize_use()
        .times(1)
        .returning(|_| Err(HostError::OutcomeUnknown("timeout after write".into())));
    let h = harness(
        g,
        MockPurchaseSink::new(),
        MockPaymentTerminal::new(),
        policy(),
    )
    .await;
    let sid = sale(&h.engine, "20").await;
    let a = h
        .engine
        .add_payment(&sid, gift("P", "CODE1234", "20"))
        .await
        .unwrap();
    assert_eq!(
        (a.status, a.reason.as_deref(), a.due),
        (PaymentStatus::InDoubt, Some("outcome_unknown"), m("20"))
    );
    assert_eq!(payment_state(&h.engine, "P").await, PaymentState::InDoubt);
    let again = h
        .engine
        .add_payment(&sid, gift("P", "CODE1234", "20"))
        .await
        .unwrap();
    assert_eq!(
        again, a,
        "same id, same body: first answer, no second authorize"
    );
    assert!(matches!(
        h.engine
            .add_payment(&sid, gift("P", "CODE1234", "19"))
            .await,
        Err(EngineError::Conflict(_))
    ));
}

#[tokio::test]
async fn unreachable_pos_goes_offline_within_the_policy_and_forwards_later() {
    let mut g = MockGiftcardHost::new();
    // Online earlier: the balance is known.
    let mut seq = Sequence::new();
    g.expect_balance()
        .times(1)
        .in_sequence(&mut seq)
        .returning(|_| Ok(GiftcardBalance { balance: m("40") }));
    g.expect_authorize_use()
        .times(1)
        .in_sequence(&mut seq)
        .returning(|_| Err(HostError::NotSent("connect refused".into())));
    g.expect_use_now()
        .withf(|r| r.amount == m("25") && r.card.code.expose_secret() == "CARD5555")
        .times(1)
        .returning(|_| Ok(trans("U1", "15")));
    g.expect_environment().returning(|| Ok(()));
    let h = harness(
        g,
        MockPurchaseSink::new(),
        MockPaymentTerminal::new(),
        policy(),
    )
    .await;
    let e = &h.engine;
    assert_eq!(
        e.giftcard_balance(SecretString::from("CARD5555".to_owned()))
            .await
            .unwrap()
            .source,
        BalanceSource::Online
    );
    let sid = sale(e, "60").await;
    let a = e
        .add_payment(&sid, gift("P1", "CARD5555", "25"))
        .await
        .unwrap();
    assert_eq!(
        (a.status, a.approved_amount),
        (PaymentStatus::OfflineApproved, m("25"))
    );
    assert!(!e.link().online);
    // Link offline: no call at all; the card's known balance minus offline takings bounds it.
    let a2 = e
        .add_payment(&sid, gift("P2", "CARD5555", "25"))
        .await
        .unwrap();
    assert_eq!(
        (a2.status, a2.approved_amount),
        (PaymentStatus::OfflineApproved, m("15"))
    );
    let a3 = e
        .add_payment(&sid, gift("P3", "CARD5555", "5"))
        .await
        .unwrap();
    assert_eq!(
        (a3.status, a3.reason.as_deref()),
        (PaymentStatus::Declined, Some("insufficient_balance"))
    );
    let a4 = e
        .add_payment(&sid, gift("P4", "NEWCARD1", "5"))
        .await
        .unwrap();
    assert_eq!(a4.reason.as_deref(), Some("unknown_card"));
    let bal = e
        .giftcard_balance(SecretString::from("CARD5555".to_owned()))
        .await
        .unwrap();
    assert_eq!(
        (bal.balance, bal.source),
        (Money::ZERO, BalanceSource::Cached)
    );
    let st = e.status().await.unwrap();
    assert_eq!(
        (st.offline_budget.used_count, st.offline_budget.used_amount),
        (2, m("40"))
    );
    // The sealed code is in the db, but only encrypted.
    let leaked = e
        .store()
        .read(|c, _| Ok(c.query_row("SELECT COUNT(*) FROM payments WHERE CAST(code_sealed AS TEXT) LIKE '%CARD5555%' OR code_masked LIKE '%CARD5555%'", [], |r| r.get::<_, i64>(0))?))
        .await
        .unwrap();
    assert_eq!(leaked, 0);
    // Link back: the first redemption is forwarded as an immediate USE with its refNo.
    e.inner.link.up();
    assert!(matches!(
        e.forwarder().forward_once().await.unwrap(),
        forwarder::Step::Done(_, OutboxState::Confirmed)
    ));
    assert_eq!(payment_state(e, "P1").await, PaymentState::Captured);
    let sealed = e
        .store()
        .read(|c, s| payments::sealed_code(c, s, "P1"))
        .await
        .unwrap();
    assert_eq!(sealed, None, "code erased after forwarding");
}

#[tokio::test]
async fn forwarded_offline_redemption_declined_becomes_an_exception_until_acknowledged() {
    let mut g = MockGiftcardHost::new();
    // The POS is down: the authorization never leaves.
    g.expect_authorize_use()
        .returning(|_| Err(HostError::NotSent("down".into())));
    g.expect_use_now()
        .times(1)
        .returning(|_| Err(HostError::Declined(Decline::InsufficientBalance)));
    let mut p = policy();
    p.unknown_card = UnknownCard::Limit(m("20"));
    let h = harness(g, MockPurchaseSink::new(), MockPaymentTerminal::new(), p).await;
    let e = &h.engine;
    let sid = sale(e, "10").await;
    assert_eq!(
        e.add_payment(&sid, gift("P1", "CARD7777", "10"))
            .await
            .unwrap()
            .status,
        PaymentStatus::OfflineApproved
    );
    e.inner.link.up();
    assert!(matches!(
        e.forwarder().forward_once().await.unwrap(),
        forwarder::Step::Done(_, OutboxState::Rejected)
    ));
    assert_eq!(payment_state(e, "P1").await, PaymentState::ForwardDeclined);
    let ex = e.exceptions(true).await.unwrap();
    assert_eq!(ex.len(), 1);
    assert_eq!(
        (
            ex[0].kind.as_str(),
            ex[0].reason.as_str(),
            ex[0].code_masked.as_deref()
        ),
        ("forward_declined", "insufficient_balance", Some("****7777"))
    );
    assert_eq!(e.status().await.unwrap().open_exceptions, 1);
    e.acknowledge_exception(ex[0].id).await.unwrap();
    assert!(e.exceptions(true).await.unwrap().is_empty());
    assert!(e.acknowledge_exception(ex[0].id).await.is_err());
}

#[tokio::test]
async fn offline_caps_refuse_each_in_turn() {
    let mut g = MockGiftcardHost::new();
    // The POS is down: the authorization never leaves.
    g.expect_authorize_use()
        .returning(|_| Err(HostError::NotSent("down".into())));
    let p = OfflinePolicy {
        max_count: 2,
        max_total_amount: m("30"),
        unknown_card: UnknownCard::Limit(m("100")),
        ..policy()
    };
    let h = harness(g, MockPurchaseSink::new(), MockPaymentTerminal::new(), p).await;
    let e = &h.engine;
    let sid = sale(e, "500").await;
    assert_eq!(
        e.add_payment(&sid, gift("A", "CARD0001", "51"))
            .await
            .unwrap()
            .reason
            .as_deref(),
        Some("offline_transaction_cap")
    );
    assert_eq!(
        e.add_payment(&sid, gift("B", "CARD0002", "20"))
            .await
            .unwrap()
            .status,
        PaymentStatus::OfflineApproved
    );
    assert_eq!(
        e.add_payment(&sid, gift("C", "CARD0003", "11"))
            .await
            .unwrap()
            .reason
            .as_deref(),
        Some("offline_total_cap")
    );
    assert_eq!(
        e.add_payment(&sid, gift("D", "CARD0004", "10"))
            .await
            .unwrap()
            .status,
        PaymentStatus::OfflineApproved
    );
    assert_eq!(
        e.add_payment(&sid, gift("E", "CARD0005", "1"))
            .await
            .unwrap()
            .reason
            .as_deref(),
        Some("offline_count_cap")
    );
    // Cancel drops the unsent redemptions and frees the budget.
    e.cancel_sale(&sid).await.unwrap();
    assert_eq!(payment_state(e, "B").await, PaymentState::Cancelled);
    assert_eq!(e.status().await.unwrap().offline_budget.used_count, 0);
    assert!(
        items(e)
            .await
            .iter()
            .all(|i| i.state == OutboxState::Dropped)
    );
}

#[tokio::test]
async fn capture_not_sent_is_queued_and_a_pos_auto_cancel_is_reauthorized() {
    let mut g = MockGiftcardHost::new();
    g.expect_balance()
        .returning(|_| Ok(GiftcardBalance { balance: m("50") }));
    g.expect_authorize_use()
        .times(1)
        .returning(|_| Ok(trans("T1", "30")));
    let mut seq = Sequence::new();
    g.expect_capture()
        .times(1)
        .in_sequence(&mut seq)
        .returning(|_| Err(HostError::NotSent("down".into())));
    g.expect_capture()
        .times(1)
        .in_sequence(&mut seq)
        .returning(|_| Err(HostError::Declined(Decline::TransactionNotAuthorized)));
    g.expect_use_now()
        .withf(|r| r.amount == m("20") && r.card.code.expose_secret() == "CARD4242")
        .times(1)
        .returning(|_| Ok(trans("U2", "30")));
    let mut s = MockPurchaseSink::new();
    s.expect_purchase_add()
        .times(1)
        .returning(|_| Ok("X".into()));
    let h = harness(g, s, MockPaymentTerminal::new(), policy()).await;
    let e = &h.engine;
    let sid = sale(e, "20").await;
    e.add_payment(&sid, gift("P1", "CARD4242", "20"))
        .await
        .unwrap();
    e.complete_sale(&sid).await.unwrap();
    assert_eq!(payment_state(e, "P1").await, PaymentState::Capturing);
    let kinds: Vec<OutboxKind> = items(e).await.iter().map(|i| i.kind).collect();
    assert_eq!(
        kinds,
        vec![OutboxKind::GiftcardCapture, OutboxKind::Purchase]
    );
    e.inner.link.up();
    assert!(matches!(
        e.forwarder().forward_once().await.unwrap(),
        forwarder::Step::Done(_, OutboxState::Confirmed)
    ));
    assert_eq!(payment_state(e, "P1").await, PaymentState::Captured);
    assert!(matches!(
        e.forwarder().forward_once().await.unwrap(),
        forwarder::Step::Done(_, OutboxState::Confirmed)
    ));
}

#[tokio::test]
async fn purchase_outcomes_are_classified_and_in_doubt_is_never_resent() {
    let mut s = MockPurchaseSink::new();
    let mut seq = Sequence::new();
    s.expect_purchase_add()
        .times(1)
        .in_sequence(&mut seq)
        .returning(|_| {
            Err(SinkError::NotSent {
                message: "dns".into(),
                retry_after: None,
            })
        });
    s.expect_purchase_add()
        .times(1)
        .in_sequence(&mut seq)
        .returning(|_| Err(SinkError::OutcomeUnknown("502".into())));
    s.expect_purchase_add()
        .times(1)
        .in_sequence(&mut seq)
        .returning(|_| Ok("PUR".into()));
    let h = harness(
        MockGiftcardHost::new(),
        s,
        MockPaymentTerminal::new(),
        policy(),
    )
    .await;
    let e = &h.engine;
    let sid = sale(e, "5").await;
    e.add_payment(&sid, cash("P", "5")).await.unwrap();
    let id = e.complete_sale(&sid).await.unwrap().outbox_id;
    assert!(
        matches!(e.forwarder().forward_once().await.unwrap(), forwarder::Step::Retry(i, None) if i == id)
    );
    assert_eq!(
        e.forwarder().show(id).await.unwrap().state,
        OutboxState::New
    );
    assert!(!e.link().online);
    assert!(matches!(
        e.forwarder().forward_once().await.unwrap(),
        forwarder::Step::Done(_, OutboxState::InDoubt)
    ));
    assert_eq!(
        e.forwarder().forward_once().await.unwrap(),
        forwarder::Step::Idle,
        "in doubt is not resent"
    );
    assert_eq!(e.status().await.unwrap().outbox.in_doubt, 1);
    assert!(e.status().await.unwrap().outbox_oldest_pending.is_some());
    assert!(
        e.forwarder().hold(id).await.is_err(),
        "cannot hold an in-doubt item"
    );
    let it = e.forwarder().resolve(id, Resolution::Resend).await.unwrap();
    assert_eq!((it.state, it.attempt), (OutboxState::New, 2));
    assert!(matches!(
        e.forwarder().forward_once().await.unwrap(),
        forwarder::Step::Done(_, OutboxState::Confirmed)
    ));
    assert_eq!(
        e.complete_sale(&sid).await.unwrap().purchase,
        PurchaseStatus::Recorded
    );
}

#[tokio::test]
async fn rejected_purchase_and_hold_flush_resolve_recorded() {
    let mut s = MockPurchaseSink::new();
    s.expect_purchase_add()
        .times(1)
        .returning(|_| Err(SinkError::Rejected("VALIDATION".into())));
    let h = harness(
        MockGiftcardHost::new(),
        s,
        MockPaymentTerminal::new(),
        policy(),
    )
    .await;
    let e = &h.engine;
    let sid = sale(e, "5").await;
    e.add_payment(&sid, cash("P", "5")).await.unwrap();
    let id = e.complete_sale(&sid).await.unwrap().outbox_id;
    e.forwarder().hold(id).await.unwrap();
    assert_eq!(
        e.forwarder().forward_once().await.unwrap(),
        forwarder::Step::Idle,
        "held items are skipped"
    );
    assert_eq!(e.forwarder().flush().await.unwrap(), 1);
    assert!(matches!(
        e.forwarder().forward_once().await.unwrap(),
        forwarder::Step::Done(_, OutboxState::Rejected)
    ));
    assert_eq!(e.status().await.unwrap().outbox.failed, 1);
    assert_eq!(
        e.forwarder()
            .resolve(id, Resolution::Recorded)
            .await
            .unwrap()
            .state,
        OutboxState::Confirmed
    );
}

#[tokio::test]
async fn cancel_releases_holds_inline_or_through_the_outbox_and_reverses_cards() {
    let mut g = MockGiftcardHost::new();
    g.expect_balance()
        .returning(|_| Ok(GiftcardBalance { balance: m("5") }));
    g.expect_authorize_use().times(2).returning(|r| {
        Ok(GiftcardTrans {
            id: r.ref_no.clone(),
            balance: None,
        })
    });
    let mut seq = Sequence::new();
    g.expect_cancel()
        .times(1)
        .in_sequence(&mut seq)
        .returning(|id| {
            Ok(GiftcardTrans {
                id: id.into(),
                balance: None,
            })
        });
    g.expect_cancel()
        .times(1)
        .in_sequence(&mut seq)
        .returning(|_| Err(HostError::OutcomeUnknown("reset".into())));
    g.expect_cancel()
        .times(1)
        .in_sequence(&mut seq)
        .returning(|id| {
            Ok(GiftcardTrans {
                id: id.into(),
                balance: None,
            })
        });
    let mut t = MockPaymentTerminal::new();
    t.expect_last_trace().return_const(None);
    t.expect_authorize()
        .returning(|r| Ok(approved(&r.amount.to_string(), 42)));
    t.expect_reverse()
        .withf(|r, reservation| *r == 42 && !*reservation)
        .times(1)
        .returning(|_, _| Ok(approved("5", 43)));
    let h = harness(g, MockPurchaseSink::new(), t, policy()).await;
    let e = &h.engine;
    let sid = sale(e, "20").await;
    e.add_payment(&sid, gift("G1", "CARD1111", "5"))
        .await
        .unwrap();
    e.add_payment(&sid, gift("G2", "CARD2222", "5"))
        .await
        .unwrap();
    e.add_payment(&sid, card_req("C1", "5", TerminalMode::Authorize))
        .await
        .unwrap();
    e.add_payment(&sid, cash("K1", "5")).await.unwrap();
    let v = e.cancel_sale(&sid).await.unwrap();
    assert_eq!(v.state, SaleState::Cancelled);
    assert_eq!(payment_state(e, "G1").await, PaymentState::Cancelled);
    assert_eq!(payment_state(e, "G2").await, PaymentState::Cancelling);
    assert_eq!(payment_state(e, "C1").await, PaymentState::Cancelled);
    assert_eq!(payment_state(e, "K1").await, PaymentState::Cancelled);
    assert!(matches!(
        e.forwarder().forward_once().await.unwrap(),
        forwarder::Step::Done(_, OutboxState::Confirmed)
    ));
    assert_eq!(payment_state(e, "G2").await, PaymentState::Cancelled);
    assert!(matches!(
        e.complete_sale(&sid).await,
        Err(EngineError::SaleCancelled(_))
    ));
    let late = e.add_payment(&sid, cash("K2", "1")).await;
    assert_eq!(late.unwrap_err().code(), "sale_cancelled");
}

#[tokio::test]
async fn reservation_is_booked_at_completion_and_lost_terminal_answer_is_recovered() {
    let mut t = MockPaymentTerminal::new();
    t.expect_last_trace().return_const(None);
    t.expect_reserve()
        .times(1)
        .returning(|_| Err(TerminalError::OutcomeUnknown("link lost".into())));
    t.expect_recover()
        .withf(|i| i.amount == m("12"))
        .times(1)
        .returning(|_| Ok(Recovered::Approved(approved("12.00", 9))));
    t.expect_book_total()
        .withf(|r, a| *r == 9 && *a == m("12.00"))
        .times(1)
        .returning(|_, _| Ok(approved("12.00", 10)));
    let h = harness(
        MockGiftcardHost::new(),
        MockPurchaseSink::new(),
        t,
        policy(),
    )
    .await;
    let e = &h.engine;
    let sid = sale(e, "12.00").await;
    let a = e
        .add_payment(&sid, card_req("C", "12", TerminalMode::Reserve))
        .await
        .unwrap();
    assert_eq!(a.status, PaymentStatus::Approved);
    assert_eq!(payment_state(e, "C").await, PaymentState::Authorized);
    e.complete_sale(&sid).await.unwrap();
    assert_eq!(payment_state(e, "C").await, PaymentState::Captured);
}

#[tokio::test]
async fn terminal_answer_lost_and_not_recoverable_is_in_doubt() {
    let mut t = MockPaymentTerminal::new();
    t.expect_last_trace().return_const(None);
    t.expect_authorize()
        .times(1)
        .returning(|_| Err(TerminalError::OutcomeUnknown("link lost".into())));
    t.expect_recover()
        .times(1)
        .returning(|_| Err(TerminalError::NotSent("gone".into())));
    let h = harness(
        MockGiftcardHost::new(),
        MockPurchaseSink::new(),
        t,
        policy(),
    )
    .await;
    let sid = sale(&h.engine, "12").await;
    let a = h
        .engine
        .add_payment(&sid, card_req("C", "12", TerminalMode::Authorize))
        .await
        .unwrap();
    assert_eq!((a.status, a.due), (PaymentStatus::InDoubt, m("12")));
    assert_eq!(payment_state(&h.engine, "C").await, PaymentState::InDoubt);
    // In doubt has an exit, and nothing moves on the sale until it is taken.
    let ex = h.engine.exceptions(true).await.unwrap();
    assert_eq!(ex.len(), 1);
    assert_eq!(ex[0].kind, "payment_in_doubt");
    assert_eq!(ex[0].payment_id.as_deref(), Some("C"));
    assert_eq!(h.engine.status().await.unwrap().payments_in_doubt, 1);
    for r in [
        h.engine.complete_sale(&sid).await.map(|_| ()),
        h.engine.cancel_sale(&sid).await.map(|_| ()),
        h.engine
            .add_payment(&sid, cash("K", "12"))
            .await
            .map(|_| ()),
    ] {
        assert_eq!(r.unwrap_err().code(), "payment_in_doubt");
    }
    let err = h.engine.resolve_exception(ex[0].id, None, None).await;
    assert!(matches!(err, Err(EngineError::InvalidState(_))), "{err:?}");
    h.engine
        .resolve_exception(
            ex[0].id,
            Some("receipt 17 shows approval".into()),
            Some(crate::engine::in_doubt::PaymentResolution::Approved),
        )
        .await
        .unwrap();
    assert_eq!(payment_state(&h.engine, "C").await, PaymentState::Approved);
    let s = h.engine.status().await.unwrap();
    assert_eq!((s.payments_in_doubt, s.open_exceptions), (0, 0));
    assert_eq!(h.engine.sale(&sid).await.unwrap().due, m("0"));
}

#[tokio::test]
async fn recovery_resumes_each_in_flight_state() {
    let mut g = MockGiftcardHost::new();
    g.expect_capture().times(1).returning(|id| {
        Ok(GiftcardTrans {
            id: id.into(),
            balance: None,
        })
    });
    let mut t = MockPaymentTerminal::new();
    t.expect_last_trace().return_const(None);
    t.expect_recover()
        .times(1)
        .returning(|_| Ok(Recovered::Approved(approved("3", 77))));
    let h = harness(g, MockPurchaseSink::new(), t, policy()).await;
    let e = &h.engine;
    // Build the journal a crash would leave: sale S1 completing with an authorized gift hold,
    // a gift payment and a card payment mid-authorize, a purchase mid-send.
    let sid = sale(e, "10").await;
    let new_pay = |id: &str, method: Method, amount: &str| payments::NewPayment {
        payment_id: id.into(),
        sale_id: sid.clone(),
        method,
        requested_amount: m(amount),
        amount: m(amount),
        code: (method == Method::Giftcard).then(|| zeroize::Zeroizing::new("CARD3333".to_owned())),
        entry_mode: None,
        terminal_mode: (method == Method::Card).then_some(TerminalMode::Authorize),
        pin_given: false,
        trace_before: None,
    };
    let (a, b, c3) = (
        new_pay("GA", Method::Giftcard, "7"),
        new_pay("GB", Method::Giftcard, "1"),
        new_pay("CC", Method::Card, "3"),
    );
    let s2 = sid.clone();
    e.store()
        .write(move |c, s| {
            for p in [&a, &b, &c3] {
                payments::insert(c, s, "DALLAS", "LANE01", p)?;
            }
            payments::transition(
                c,
                "GA",
                PaymentState::Authorized,
                PaymentUpdate {
                    pos_trans_id: Some("TA".into()),
                    ..Default::default()
                },
            )?;
            crate::store::sales::set_state(c, &s2, SaleState::Completing)?;
            let id = outbox::enqueue(
                c,
                &outbox::NewItem {
                    kind: OutboxKind::Purchase,
                    sale_id: None,
                    payment_id: None,
                    amount: None,
                    code_hash: None,
                    payload: "{}".into(),
                },
            )?;
            outbox::transition(c, id, OutboxState::Sending, None)?;
            Ok(())
        })
        .await
        .unwrap();
    let rep = e.recover().await.unwrap();
    assert_eq!(rep.outbox_interrupted, 1);
    assert_eq!(rep.payments_in_doubt, 1);
    assert_eq!(rep.card_recovered, 1);
    // The completion waits for the payment in doubt to be settled.
    assert_eq!(rep.completions_resumed, 0);
    assert!(rep.errors[0].contains("in doubt"), "{:?}", rep.errors);
    assert_eq!(payment_state(e, "GB").await, PaymentState::InDoubt);
    let ex = e.exceptions(true).await.unwrap();
    assert_eq!(ex.len(), 1);
    e.resolve_exception(
        ex[0].id,
        None,
        Some(crate::engine::in_doubt::PaymentResolution::NotApproved),
    )
    .await
    .unwrap();
    assert_eq!(payment_state(e, "GB").await, PaymentState::Declined);
    e.complete_sale(&sid).await.unwrap();
    assert_eq!(payment_state(e, "CC").await, PaymentState::Approved);
    assert_eq!(payment_state(e, "GA").await, PaymentState::Captured);
    assert_eq!(e.sale(&sid).await.unwrap().state, SaleState::Completed);
    let states: Vec<OutboxState> = items(e).await.iter().map(|i| i.state).collect();
    assert_eq!(states, vec![OutboxState::InDoubt, OutboxState::New]);
    // A second recovery changes nothing and sends nothing (mocks would panic on extra calls).
    let again = e.recover().await.unwrap();
    assert_eq!(
        (
            again.outbox_interrupted,
            again.payments_in_doubt,
            again.completions_resumed
        ),
        (0, 0, 0)
    );
}

#[tokio::test]
async fn forwarder_task_drains_on_wake_and_stops_on_shutdown() {
    let mut s = MockPurchaseSink::new();
    s.expect_purchase_add()
        .times(1)
        .returning(|_| Ok("PUR".into()));
    let h = harness(
        MockGiftcardHost::new(),
        s,
        MockPaymentTerminal::new(),
        policy(),
    )
    .await;
    let e = h.engine.clone();
    let mut ev = e.subscribe();
    let stop = tokio_util::sync::CancellationToken::new();
    let task = tokio::spawn({
        let e = e.clone();
        let stop = stop.clone();
        async move { e.forwarder().run(stop).await }
    });
    let sid = sale(&e, "5").await;
    e.add_payment(&sid, cash("P", "5")).await.unwrap();
    let id = e.complete_sale(&sid).await.unwrap().outbox_id;
    tokio::time::timeout(std::time::Duration::from_secs(5), async {
        loop {
            if let Ok(EngineEvent::Outbox {
                id: i,
                state: OutboxState::Confirmed,
                ..
            }) = ev.recv().await
                && i == id
            {
                break;
            }
        }
    })
    .await
    .expect("purchase confirmed");
    stop.cancel();
    tokio::time::timeout(std::time::Duration::from_secs(5), task)
        .await
        .unwrap()
        .unwrap();
}

#[tokio::test]
async fn link_probe_brings_the_link_back_and_wakes_the_forwarder() {
    let mut g = MockGiftcardHost::new();
    let mut seq = Sequence::new();
    g.expect_environment()
        .times(1)
        .in_sequence(&mut seq)
        .returning(|| Err(HostError::NotSent("down".into())));
    g.expect_environment()
        .times(1)
        .in_sequence(&mut seq)
        .returning(|| Ok(()));
    let h = harness(
        g,
        MockPurchaseSink::new(),
        MockPaymentTerminal::new(),
        policy(),
    )
    .await;
    let e = h.engine.clone();
    let mut ev = e.subscribe();
    let stop = tokio_util::sync::CancellationToken::new();
    let task = tokio::spawn({
        let e = e.clone();
        let stop = stop.clone();
        async move { e.run_link_probe(stop).await }
    });
    e.inner.link.down();
    tokio::time::timeout(std::time::Duration::from_secs(5), async {
        loop {
            if let Ok(EngineEvent::Link { online: true, .. }) = ev.recv().await {
                break;
            }
        }
    })
    .await
    .expect("link back");
    assert!(e.link().online);
    stop.cancel();
    tokio::time::timeout(std::time::Duration::from_secs(5), task)
        .await
        .unwrap()
        .unwrap();
}

#[tokio::test]
async fn bad_input_changes_nothing() {
    let h = harness(
        MockGiftcardHost::new(),
        MockPurchaseSink::new(),
        MockPaymentTerminal::new(),
        policy(),
    )
    .await;
    let e = &h.engine;
    assert!(matches!(
        e.open_sale(OpenSale {
            sale_id: Some("X".into()),
            lines: vec![],
            tax: None,
            member_id: None
        })
        .await,
        Err(EngineError::Invalid(_))
    ));
    assert!(matches!(e.sale("X").await, Err(EngineError::NotFound(_))));
    let sid = sale(e, "5").await;
    assert!(matches!(
        e.add_payment(&sid, cash("P", "0")).await,
        Err(EngineError::Invalid(_))
    ));
    assert!(matches!(
        e.add_payment(&sid, gift("P", "", "1")).await,
        Err(EngineError::Invalid(_))
    ));
    assert!(matches!(
        e.add_payment("nope", cash("P", "1")).await,
        Err(EngineError::NotFound(_))
    ));
    assert!(e.sale(&sid).await.unwrap().payments.is_empty());
    // Same sale id with another body is a conflict.
    let other = OpenSale {
        sale_id: Some(sid.clone()),
        lines: vec![LineInput {
            sku: "Z".into(),
            quantity: m("1"),
            unit_price: m("1"),
            uom: "EA".into(),
            item_discount: Money::ZERO,
            sale_discount: Money::ZERO,
        }],
        tax: None,
        member_id: None,
    };
    assert!(matches!(
        e.open_sale(other).await,
        Err(EngineError::Conflict(_))
    ));
}

#[tokio::test]
async fn pin_cards_are_refused_offline_because_pins_are_never_stored() {
    let mut g = MockGiftcardHost::new();
    // The POS is down: the authorization never leaves.
    g.expect_authorize_use()
        .returning(|_| Err(HostError::NotSent("down".into())));
    let p = OfflinePolicy {
        unknown_card: UnknownCard::Limit(m("50")),
        ..policy()
    };
    let h = harness(g, MockPurchaseSink::new(), MockPaymentTerminal::new(), p).await;
    let sid = sale(&h.engine, "10").await;
    let mut req = gift("P", "CARD8888", "10");
    req.pin = Some(SecretString::from("1234".to_owned()));
    let a = h.engine.add_payment(&sid, req).await.unwrap();
    assert_eq!(a.reason.as_deref(), Some("offline_pin_card"));
    assert!(h.engine.forwarder().list(None).await.unwrap().is_empty());
}

#[tokio::test]
async fn stale_open_sales_are_swept_and_their_holds_released() {
    let mut g = MockGiftcardHost::new();
    g.expect_balance()
        .returning(|_| Ok(GiftcardBalance { balance: m("50") }));
    g.expect_authorize_use()
        .times(1)
        .returning(|_| Ok(trans("T1", "40")));
    g.expect_cancel()
        .withf(|id| id == "T1")
        .times(1)
        .returning(|_| Ok(trans("T1", "50")));
    let h = harness(
        g,
        MockPurchaseSink::new(),
        MockPaymentTerminal::new(),
        policy(),
    )
    .await;
    let e = &h.engine;
    let sid = sale(e, "10").await;
    e.add_payment(&sid, gift("P", "CARD1212", "10"))
        .await
        .unwrap();
    assert!(
        e.cancel_stale_open_sales(std::time::Duration::from_secs(3600))
            .await
            .unwrap()
            .is_empty()
    );
    let swept = e
        .cancel_stale_open_sales(std::time::Duration::ZERO)
        .await
        .unwrap();
    assert_eq!(swept, vec![sid.clone()]);
    assert_eq!(payment_state(e, "P").await, PaymentState::Cancelled);
}

#[test]
fn debug_output_never_shows_a_code_or_pin() {
    let req = gift("P", "SENTINEL12345678", "1");
    let mut req = req;
    req.pin = Some(SecretString::from("9876".to_owned()));
    let dbg = format!("{req:?}");
    assert!(
        !dbg.contains("SENTINEL12345678") && !dbg.contains("9876"),
        "{dbg}"
    );
    let np = payments::NewPayment {
        payment_id: "P".into(),
        sale_id: "S".into(),
        method: Method::Giftcard,
        requested_amount: m("1"),
        amount: m("1"),
        code: Some(zeroize::Zeroizing::new("SENTINEL12345678".to_owned())),
        entry_mode: None,
        terminal_mode: None,
        pin_given: true,
        trace_before: None,
    };
    let dbg = format!("{np:?}");
    assert!(
        !dbg.contains("SENTINEL12345678") && dbg.contains("****5678"),
        "{dbg}"
    );
}

#[tokio::test]
async fn negative_control_resend_in_doubt_really_resends() {
    // The crash harness's broken build must be able to fail it: with the switch on, an
    // in-doubt purchase is sent again.
    let mut s = MockPurchaseSink::new();
    let mut seq = Sequence::new();
    s.expect_purchase_add()
        .times(1)
        .in_sequence(&mut seq)
        .returning(|_| Err(SinkError::OutcomeUnknown("reset".into())));
    s.expect_purchase_add()
        .times(1)
        .in_sequence(&mut seq)
        .returning(|_| Ok("PUR".into()));
    let h = harness_with(
        MockGiftcardHost::new(),
        s,
        MockPaymentTerminal::new(),
        policy(),
        Some(Fault::ResendInDoubt),
    )
    .await;
    let e = &h.engine;
    let sid = sale(e, "5").await;
    e.add_payment(&sid, cash("P", "5")).await.unwrap();
    e.complete_sale(&sid).await.unwrap();
    assert!(matches!(
        e.forwarder().forward_once().await.unwrap(),
        forwarder::Step::Retry(..)
    ));
    assert!(matches!(
        e.forwarder().forward_once().await.unwrap(),
        forwarder::Step::Done(_, OutboxState::Confirmed)
    ));
}

#[tokio::test]
async fn negative_control_answer_before_commit_answers_before_anything_is_written() {
    let h = harness_with(
        MockGiftcardHost::new(),
        MockPurchaseSink::new(),
        MockPaymentTerminal::new(),
        policy(),
        Some(Fault::AnswerBeforeCommit),
    )
    .await;
    let e = &h.engine;
    let sid = sale(e, "5").await;
    e.add_payment(&sid, cash("P", "5")).await.unwrap();
    let a = e.complete_sale(&sid).await.unwrap();
    assert_eq!((a.state, a.outbox_id), (SaleState::Completed, 0));
    {
        // The deferred completion takes the sale lock before it writes anything; holding it
        // here freezes the store as it was when the register got its answer.
        let _frozen = e.inner.sale_lock.lock().await;
        assert_eq!(e.sale(&sid).await.unwrap().state, SaleState::Open);
        assert!(e.forwarder().list(None).await.unwrap().is_empty());
    }
    // The commit still happens afterwards (only a kill in between loses it).
    tokio::time::timeout(std::time::Duration::from_secs(5), async {
        // Each read is a round-trip through the store's queue.
        while e.forwarder().list(None).await.unwrap().is_empty() {
            tokio::task::yield_now().await;
        }
    })
    .await
    .unwrap();
    assert_eq!(e.sale(&sid).await.unwrap().state, SaleState::Completed);
}

#[tokio::test]
async fn without_the_fault_complete_commits_before_it_answers() {
    let h = harness_with(
        MockGiftcardHost::new(),
        MockPurchaseSink::new(),
        MockPaymentTerminal::new(),
        policy(),
        None,
    )
    .await;
    let e = &h.engine;
    let sid = sale(e, "5").await;
    e.add_payment(&sid, cash("P", "5")).await.unwrap();
    let a = e.complete_sale(&sid).await.unwrap();
    assert_ne!(a.outbox_id, 0);
    assert_eq!(e.sale(&sid).await.unwrap().state, SaleState::Completed);
    assert_eq!(e.forwarder().list(None).await.unwrap().len(), 1);
}

#[tokio::test]
async fn a_booking_whose_answer_is_lost_and_unproven_is_never_sent_twice() {
    let mut t = MockPaymentTerminal::new();
    t.expect_last_trace().return_const(Some(109));
    t.expect_reserve()
        .times(1)
        .returning(|_| Ok(approved("12.00", 9)));
    t.expect_book_total()
        .times(1)
        .returning(|_, _| Err(TerminalError::OutcomeUnknown("link lost".into())));
    // Two recoveries (the lost answer, then the register's retry): neither proves anything.
    t.expect_recover()
        .withf(|i| i.amount == m("12") && i.trace_before == Some(109))
        .times(2)
        .returning(|_| Ok(Recovered::Unknown("no answer".into())));
    let h = harness(
        MockGiftcardHost::new(),
        MockPurchaseSink::new(),
        t,
        policy(),
    )
    .await;
    let e = &h.engine;
    let sid = sale(e, "12.00").await;
    e.add_payment(&sid, card_req("C", "12", TerminalMode::Reserve))
        .await
        .unwrap();
    for _ in 0..2 {
        let err = e.complete_sale(&sid).await.unwrap_err();
        assert!(
            matches!(err, EngineError::Terminal(TerminalError::OutcomeUnknown(_))),
            "{err:?}"
        );
    }
    assert_eq!(e.sale(&sid).await.unwrap().state, SaleState::Completing);
    assert_eq!(payment_state(e, "C").await, PaymentState::Capturing);
    let ex = e.exceptions(true).await.unwrap();
    assert_eq!(ex.len(), 1, "one exception, not one per attempt: {ex:?}");
    assert_eq!(ex[0].kind, in_doubt::FOLLOW_UP_IN_DOUBT);
    // "Not done" is not the operator's to say: only the terminal's evidence re-sends.
    let refused = e
        .resolve_exception(
            ex[0].id,
            None,
            Some(in_doubt::PaymentResolution::NotApproved),
        )
        .await;
    assert!(
        matches!(refused, Err(EngineError::InvalidState(_))),
        "{refused:?}"
    );
    e.resolve_exception(
        ex[0].id,
        Some("the terminal's journal shows the booking".into()),
        Some(in_doubt::PaymentResolution::Approved),
    )
    .await
    .unwrap();
    assert_eq!(payment_state(e, "C").await, PaymentState::Captured);
    let done = e.complete_sale(&sid).await.unwrap();
    assert_eq!(done.state, SaleState::Completed);
}

/// A payment id is the lane's: reused on another sale it is refused, cash and offline alike,
/// and that sale keeps no payment; on its own sale the same body gets the first answer.
#[tokio::test]
async fn a_payment_id_of_another_sale_is_a_conflict_and_writes_nothing() {
    let h = harness(
        MockGiftcardHost::new(),
        MockPurchaseSink::new(),
        MockPaymentTerminal::new(),
        policy(),
    )
    .await;
    let e = &h.engine;
    let first = sale(e, "5").await;
    let a = e.add_payment(&first, cash("P", "5")).await.unwrap();
    assert_eq!(a.status, PaymentStatus::Approved);
    let again = e.add_payment(&first, cash("P", "5")).await.unwrap();
    assert_eq!(again, a, "a retry gets the first answer");
    let other = sale_named(e, "S2", "5").await;
    assert!(matches!(
        e.add_payment(&other, cash("P", "5")).await,
        Err(EngineError::Conflict(_))
    ));
    e.inner.link.down();
    assert!(matches!(
        e.add_payment(&other, gift("P", "CODE1234", "5")).await,
        Err(EngineError::Conflict(_))
    ));
    assert!(e.sale(&other).await.unwrap().payments.is_empty());
    assert_eq!(e.sale(&first).await.unwrap().payments.len(), 1);
}
