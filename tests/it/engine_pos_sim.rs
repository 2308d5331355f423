//! Scenarios against the real POS stand-in (`hardware_sim::pos::PosSim`) through the real
//! `PosClient` and the engine's adapter: split and partial tenders, PIN prompt, declines,
//! faults that apply then drop the answer, an outage with offline sales and forwarding, and
//! a decline after forwarding. The ledger is the judge.

use std::sync::Arc;
use std::time::Duration;

use crate::support::engine::{FakeTerminal, m};
use hardware_sim::pos::{Fault, FaultKind, FaultTarget, PosSim, Seed, TransStatus};
use lane_agent::engine::adapters::{PosPorts, backoff_factory};
use lane_agent::engine::forwarder::Step;
use lane_agent::engine::{
    Engine, EngineConfig, EngineEvent, OfflinePolicy, OpenSale, PaymentRequest, PaymentStatus,
    Ports, UnknownCard,
};
use lane_agent::store::payments::{EntryMode, Method, TerminalMode};
use lane_agent::store::sales::LineInput;
use lane_agent::store::{Money, OutboxKind, OutboxState, Store, StoreOptions};
use pos_client::backoff::Backoff;
use pos_client::{CodeType, PosClient, PosConfig};
use secrecy::SecretString;

const C50: &str = "6006491000000001"; // $50
const C100_PIN: &str = "6006491000000002"; // $100, PIN 4321
const C3_50: &str = "6006491000000004"; // $3.50

struct Lane {
    sim: PosSim,
    engine: Engine,
    term: FakeTerminal,
    client: PosClient,
    _dir: tempfile::TempDir,
}

async fn lane() -> Lane {
    let sim = PosSim::start("127.0.0.1:0".parse().unwrap(), Seed::example())
        .await
        .unwrap();
    let client = PosClient::new(PosConfig {
        graphql_url: sim.graphql_url(),
        issuer_url: sim.issuer_url(),
        client_id: "lane-agent".into(),
        client_secret: SecretString::from("lane-agent-sim-secret-0123456789".to_owned()),
        request_timeout: Duration::from_secs(3),
        connect_timeout: Duration::from_secs(1),
        max_response_bytes: pos_client::DEFAULT_MAX_RESPONSE_BYTES,
    })
    .unwrap();
    let ports = PosPorts::new(client.clone(), Some(CodeType::Physical));
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(StoreOptions::new(dir.path().join("agent.db")))
        .await
        .unwrap();
    let fast = Backoff::try_new(
        Duration::from_millis(5),
        Duration::from_millis(50),
        u32::MAX,
    )
    .unwrap()
    .without_jitter();
    let term = FakeTerminal::default();
    let engine = Engine::new(
        store,
        Ports {
            giftcards: Arc::new(ports.clone()),
            purchases: Arc::new(ports),
            terminal: Arc::new(term.clone()),
        },
        EngineConfig {
            store_code: "DALLAS".into(),
            register_code: "LANE01".into(),
            offline: OfflinePolicy {
                enabled: true,
                max_transaction_amount: m("50.00"),
                max_total_amount: m("500.00"),
                max_count: 100,
                max_age_hours: 24,
                unknown_card: UnknownCard::Refuse,
            },
            forward_backoff: backoff_factory(fast.clone()),
            probe_backoff: backoff_factory(fast),
            fault: None,
        },
    );
    Lane {
        sim,
        engine,
        term,
        client,
        _dir: dir,
    }
}

fn sale(id: &str, total: &str) -> OpenSale {
    OpenSale {
        sale_id: Some(id.into()),
        lines: vec![LineInput {
            sku: "ITEM-001".into(),
            quantity: m("1"),
            unit_price: m(total),
            uom: "EA".into(),
            item_discount: Money::ZERO,
            sale_discount: Money::ZERO,
        }],
        tax: None,
        member_id: Some("000010049".into()),
    }
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

async fn drain(e: &Engine) {
    for _ in 0..50 {
        if e.forwarder().forward_once().await.unwrap() == Step::Idle {
            return;
        }
    }
    panic!("outbox did not drain");
}

fn balance(sim: &PosSim, card_id: &str) -> Money {
    Money(sim.control().ledger().balance(card_id).unwrap())
}

#[tokio::test]
async fn split_tender_with_partial_approval_records_one_purchase() {
    let l = lane().await;
    let e = &l.engine;
    let tid = e
        .open_sale(sale("S1", "20.00"))
        .await
        .unwrap()
        .transaction_id;
    let a = e
        .add_payment("S1", gift("G1", C3_50, "20.00"))
        .await
        .unwrap();
    assert_eq!(
        (a.status, a.approved_amount),
        (PaymentStatus::Approved, m("3.50"))
    );
    let b = e.add_payment("S1", gift("G2", C50, "20.00")).await.unwrap();
    assert_eq!((b.approved_amount, b.due), (m("16.50"), Money::ZERO));
    e.complete_sale("S1").await.unwrap();
    drain(e).await;
    let ledger = l.sim.control().ledger();
    assert_eq!(ledger.purchases_with(&tid).len(), 1);
    assert_eq!(balance(&l.sim, "1004"), m("0.00"));
    assert_eq!(balance(&l.sim, "1001"), m("33.50"));
    assert!(
        ledger
            .giftcard_transactions
            .iter()
            .all(|t| t.status == TransStatus::Completed)
    );
    assert_eq!(e.status().await.unwrap().outbox.pending, 0);
}

#[tokio::test]
async fn keyed_pin_card_prompts_on_the_terminal_and_cancel_releases_the_hold() {
    let l = lane().await;
    let e = &l.engine;
    *l.term.pin.lock().unwrap() = Some("4321".into());
    e.open_sale(sale("S1", "30.00")).await.unwrap();
    let a = e
        .add_payment("S1", gift("G1", C100_PIN, "30.00"))
        .await
        .unwrap();
    assert_eq!(a.status, PaymentStatus::Approved, "{a:?}");
    assert_eq!(*l.term.prompts.lock().unwrap(), 1);
    assert_eq!(balance(&l.sim, "1002"), m("70.00"));
    e.cancel_sale("S1").await.unwrap();
    assert_eq!(balance(&l.sim, "1002"), m("100.00"));
    let expired = e
        .add_payment("S1", gift("G2", "6006491000000003", "1"))
        .await;
    assert!(expired.is_err(), "no payment on a cancelled sale");
}

#[tokio::test]
async fn declines_are_reported_with_their_reason() {
    let l = lane().await;
    let e = &l.engine;
    e.open_sale(sale("S1", "10.00")).await.unwrap();
    let a = e
        .add_payment("S1", gift("G1", "6006491000000003", "10"))
        .await
        .unwrap();
    assert_eq!(
        (a.status, a.reason.as_deref()),
        (PaymentStatus::Declined, Some("code_expired"))
    );
    let b = e
        .add_payment("S1", gift("G2", "6006499999999999", "10"))
        .await
        .unwrap();
    assert_eq!(b.reason.as_deref(), Some("code_not_found"));
    let mut swiped = gift("G3", C100_PIN, "10");
    swiped.entry_mode = EntryMode::Swiped;
    let c = e.add_payment("S1", swiped).await.unwrap();
    assert_eq!(c.reason.as_deref(), Some("invalid_pin"));
    assert_eq!(*l.term.prompts.lock().unwrap(), 0);
    assert_eq!(e.sale("S1").await.unwrap().due, m("10.00"));
}

#[tokio::test]
async fn apply_then_drop_faults_leave_no_duplicate_and_no_double_debit() {
    let l = lane().await;
    let e = &l.engine;
    let ctl = l.sim.control();
    e.open_sale(sale("S1", "10.00")).await.unwrap();
    ctl.inject(Fault {
        target: FaultTarget::Operation("giftcardTransAdd".into()),
        kind: FaultKind::ApplyThenDrop,
        times: Some(1),
    });
    let a = e.add_payment("S1", gift("G1", C50, "10.00")).await.unwrap();
    assert_eq!(
        (a.status, a.reason.as_deref()),
        (PaymentStatus::InDoubt, Some("outcome_unknown"))
    );
    assert_eq!(balance(&l.sim, "1001"), m("40.00"), "one hold, not two");
    // Nothing more is taken on the sale until the payment in doubt is settled: an
    // authorization cannot be looked up, so the operator says it was not approved.
    let refused = e.add_payment("S1", cash("K1", "10.00")).await;
    assert_eq!(refused.unwrap_err().code(), "payment_in_doubt");
    let ex = e.exceptions(true).await.unwrap();
    e.resolve_exception(
        ex[0].id,
        None,
        Some(lane_agent::engine::in_doubt::PaymentResolution::NotApproved),
    )
    .await
    .unwrap();
    e.add_payment("S1", cash("K1", "10.00")).await.unwrap();
    let tid = e.sale("S1").await.unwrap().transaction_id;
    e.complete_sale("S1").await.unwrap();
    ctl.inject(Fault {
        target: FaultTarget::Operation("purchaseAdd".into()),
        kind: FaultKind::ApplyThenDrop,
        times: Some(1),
    });
    let step = e.forwarder().forward_once().await.unwrap();
    assert!(
        matches!(step, Step::Done(_, OutboxState::InDoubt)),
        "{step:?}"
    );
    drain(e).await;
    assert_eq!(
        ctl.ledger().purchases_with(&tid).len(),
        1,
        "in doubt is never resent"
    );
    assert_eq!(e.status().await.unwrap().outbox.in_doubt, 1);
    assert_eq!(ctl.ledger().request_count("purchaseAdd"), 1);
    // The stray hold ends at the Delay Period (advanced last: it also expires the token).
    ctl.advance_clock(Duration::from_secs(901));
    assert_eq!(balance(&l.sim, "1001"), m("50.00"));
}

#[tokio::test]
async fn outage_offline_sales_are_forwarded_when_the_link_returns() {
    let l = lane().await;
    let e = l.engine.clone();
    let ctl = l.sim.control();
    let mut events = e.subscribe();
    let stop = tokio_util::sync::CancellationToken::new();
    let fwd = tokio::spawn({
        let (e, s) = (e.clone(), stop.clone());
        async move { e.forwarder().run(s).await }
    });
    let probe = tokio::spawn({
        let (e, s) = (e.clone(), stop.clone());
        async move { e.run_link_probe(s).await }
    });
    // Known balance from an earlier online answer.
    e.giftcard_balance(SecretString::from(C50.to_owned()))
        .await
        .unwrap();
    ctl.set_online(false).await;
    let tid = e
        .open_sale(sale("S1", "30.00"))
        .await
        .unwrap()
        .transaction_id;
    let a = e.add_payment("S1", gift("G1", C50, "30.00")).await.unwrap();
    assert_eq!(
        (a.status, a.approved_amount),
        (PaymentStatus::OfflineApproved, m("30.00"))
    );
    assert!(!e.link().online);
    let over = e.add_payment("S1", gift("G2", C3_50, "1")).await;
    assert!(over.is_err(), "nothing due");
    e.complete_sale("S1").await.unwrap();
    assert_eq!(ctl.ledger().purchases_with(&tid).len(), 0);
    ctl.set_online(true).await;
    tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            if let Ok(EngineEvent::Outbox {
                kind: OutboxKind::Purchase,
                state: OutboxState::Confirmed,
                ..
            }) = events.recv().await
            {
                break;
            }
        }
    })
    .await
    .expect("purchase forwarded after the outage");
    assert!(e.link().online);
    let ledger = ctl.ledger();
    assert_eq!(ledger.purchases_with(&tid).len(), 1);
    let uses: Vec<_> = ledger
        .giftcard_transactions
        .iter()
        .filter(|t| t.giftcard_id == "1001")
        .collect();
    assert_eq!(uses.len(), 1);
    assert_eq!(uses[0].status, TransStatus::Completed);
    let ref_no = e.sale("S1").await.unwrap().payments[0].ref_no.clone();
    assert_eq!(uses[0].ref_no.as_deref(), Some(ref_no.as_str()));
    assert_eq!(balance(&l.sim, "1001"), m("20.00"));
    stop.cancel();
    fwd.await.unwrap();
    probe.await.unwrap();
}

#[tokio::test]
async fn a_decline_after_forwarding_is_an_exception_until_acknowledged() {
    let l = lane().await;
    let e = &l.engine;
    let ctl = l.sim.control();
    e.giftcard_balance(SecretString::from(C3_50.to_owned()))
        .await
        .unwrap();
    ctl.set_online(false).await;
    e.open_sale(sale("S1", "3.50")).await.unwrap();
    let a = e
        .add_payment("S1", gift("G1", C3_50, "3.50"))
        .await
        .unwrap();
    assert_eq!(a.status, PaymentStatus::OfflineApproved);
    e.complete_sale("S1").await.unwrap();
    ctl.set_online(true).await;
    // Meanwhile the card was spent elsewhere.
    client_use(&l.client, C3_50, "2.00").await;
    drain(e).await;
    let ex = e.exceptions(true).await.unwrap();
    assert_eq!(ex.len(), 1);
    assert_eq!(
        (ex[0].kind.as_str(), ex[0].reason.as_str()),
        ("forward_declined", "insufficient_balance")
    );
    assert_eq!(ex[0].code_masked.as_deref(), Some("****0004"));
    e.acknowledge_exception(ex[0].id).await.unwrap();
    assert_eq!(e.status().await.unwrap().open_exceptions, 0);
    assert_eq!(balance(&l.sim, "1004"), m("1.50"));
}

async fn client_use(client: &PosClient, code: &str, amount: &str) {
    client
        .giftcard_trans_add(&pos_client::GiftcardTransRequest {
            code_type: Some(CodeType::Physical),
            code: pos_client::GiftCode::new(code),
            pin: None,
            trans_type: pos_client::TransType::Use,
            amount: -m(amount).0,
            source_id: Some("OTHER-LANE".into()),
            ref_no: Some("OTHER-1".into()),
            authorize: false,
        })
        .await
        .unwrap();
}
