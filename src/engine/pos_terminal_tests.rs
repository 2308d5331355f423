//! The POS-terminal tender at its port boundary (mockall `TerminalPaymentHost`, real SQLite):
//! what is called how often, and what is journaled, for the decisions the integration
//! tests cannot force one by one.

use std::sync::Arc;

use super::ports::{HostError, MockGiftcardHost, MockPaymentTerminal, MockPurchaseSink};
use super::pos_terminal::*;
use super::*;
use crate::domain::payment::{EntryMode, Method, TerminalMode};
use crate::domain::sale::LineInput;
use crate::domain::{Money, PaymentState};
use crate::store::StoreOptions;
use crate::store::payments;

fn m(s: &str) -> Money {
    s.parse().unwrap()
}

async fn engine(host: MockTerminalPaymentHost) -> (Engine, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(StoreOptions::new(dir.path().join("agent.db")))
        .await
        .unwrap();
    let ms = std::time::Duration::from_millis;
    let e = Engine::new(
        store,
        Ports {
            giftcards: Arc::new(MockGiftcardHost::new()),
            purchases: Arc::new(MockPurchaseSink::new()),
            terminal: Arc::new(MockPaymentTerminal::new()),
        },
        EngineConfig {
            store_code: "DALLAS".into(),
            register_code: "LANE01".into(),
            offline: OfflinePolicy::disabled(),
            forward_backoff: simple_backoff(ms(1), ms(4)),
            probe_backoff: simple_backoff(ms(1), ms(4)),
            fault: None,
        },
    );
    e.set_pos_terminal(PosTerminalLane {
        host: Arc::new(host),
        terminal_id: "T1".into(),
    });
    e.open_sale(OpenSale {
        sale_id: Some("S1".into()),
        lines: vec![LineInput {
            sku: "SKU1".into(),
            quantity: m("1"),
            unit_price: m("10.00"),
            uom: "EA".into(),
            item_discount: Money::ZERO,
            sale_discount: Money::ZERO,
        }],
        tax: None,
        member_id: None,
    })
    .await
    .unwrap();
    (e, dir)
}

fn card(id: &str) -> PaymentRequest {
    PaymentRequest {
        payment_id: Some(id.into()),
        method: Method::Card,
        amount: m("10.00"),
        code: None,
        pin: None,
        entry_mode: EntryMode::Keyed,
        terminal_mode: TerminalMode::Authorize,
    }
}

fn payment(ref_no: &str, status: TerminalPaymentStatus, approved: &str) -> TerminalPayment {
    TerminalPayment {
        id: "P1".into(),
        ref_no: ref_no.into(),
        transaction_id: None,
        terminal_id: "T1".into(),
        trans_type: TerminalPaymentType::Authorize,
        status,
        amount: "10.00".parse().unwrap(),
        approved_amount: approved.parse().unwrap(),
        captured_amount: None,
        decline_reason: None,
        error_code: None,
        continuation: None,
        original_id: None,
        card_brand: Some("VISA".into()),
        last4: Some("4242".into()),
        auth_code: None,
        created_on: "2026-01-01T00:00:00Z".into(),
    }
}

#[tokio::test]
async fn a_lost_start_with_an_empty_lookup_is_declined_and_never_started_again() {
    let mut host = MockTerminalPaymentHost::new();
    host.expect_start()
        .times(1)
        .returning(|_| Err(HostError::OutcomeUnknown("reset".into())));
    host.expect_lookup().times(1).returning(|_| Ok(Vec::new()));
    let (e, _d) = engine(host).await;
    let a = e.add_payment("S1", card("C1")).await.unwrap();
    assert_eq!(a.status, PaymentStatus::Declined);
    assert_eq!(a.reason.as_deref(), Some("not_started"));
}

#[tokio::test]
async fn the_start_carries_the_journaled_ref_no_and_authorize() {
    let mut host = MockTerminalPaymentHost::new();
    host.expect_start()
        .times(1)
        .withf(|r| {
            r.trans_type == TerminalPaymentType::Authorize
                && r.terminal_id == "T1"
                && r.store_code == "DALLAS"
                && r.amount == "10.00".parse::<rust_decimal::Decimal>().unwrap()
                && r.transaction_id.is_some()
        })
        .returning(|r| {
            Ok(TerminalPaymentOutcome::Payment(Box::new(payment(
                &r.ref_no,
                TerminalPaymentStatus::Authorized,
                "6.00",
            ))))
        });
    let (e, _d) = engine(host).await;
    let a = e.add_payment("S1", card("C1")).await.unwrap();
    assert_eq!(
        (a.status, a.approved_amount, a.due),
        (PaymentStatus::Approved, m("6.00"), m("4.00"))
    );
    let p = e.store().read(|c, _| payments::get(c, "C1")).await.unwrap();
    assert_eq!(p.state, PaymentState::Authorized);
    assert_eq!(p.pos_trans_id.as_deref(), Some("P1"));
    assert_eq!(p.terminal_mode, Some(TerminalMode::Pos));
    assert_eq!(p.terminal.masked_pan.as_deref(), Some("****4242"));
}

#[tokio::test]
async fn a_resume_with_a_journaled_token_continues_and_never_starts() {
    let mut host = MockTerminalPaymentHost::new();
    host.expect_start().times(0);
    host.expect_continue_payment()
        .times(1)
        .withf(|t| t == "TOK-1")
        .returning(|_| {
            Ok(TerminalPaymentOutcome::Payment(Box::new(payment(
                "any",
                TerminalPaymentStatus::Authorized,
                "10.00",
            ))))
        });
    let (e, _d) = engine(host).await;
    // A payment journaled mid-flight, as a SIGKILL leaves it: intent and token.
    let ref_no = e
        .store()
        .write(|c, s| {
            let p = payments::insert(
                c,
                s,
                "DALLAS",
                "LANE01",
                &payments::NewPayment {
                    payment_id: "C9".into(),
                    sale_id: "S1".into(),
                    method: Method::Card,
                    requested_amount: m("10.00"),
                    amount: m("10.00"),
                    code: None,
                    entry_mode: None,
                    terminal_mode: Some(TerminalMode::Pos),
                    pin_given: false,
                    trace_before: None,
                },
            )?
            .into_inner();
            payments::set_continuation(c, "C9", Some("TOK-1"))?;
            Ok(p.ref_no)
        })
        .await
        .unwrap();
    assert!(!ref_no.is_empty());
    let p = e.pos_terminal().resume("C9").await.unwrap();
    assert_eq!(p.state, PaymentState::Authorized);
}

#[tokio::test]
async fn an_unknown_continuation_is_settled_by_the_lookup() {
    let mut host = MockTerminalPaymentHost::new();
    host.expect_start().times(1).returning(|_| {
        Ok(TerminalPaymentOutcome::Continuation(TerminalContinuation {
            token: "OLD".into(),
            wait_ms: 0,
        }))
    });
    host.expect_continue_payment().times(1).returning(|_| {
        Ok(TerminalPaymentOutcome::Error {
            code: TerminalErrorCode::UnknownContinuation,
            message: None,
        })
    });
    host.expect_lookup().times(1).returning(|r| {
        let mut p = payment(r, TerminalPaymentStatus::Declined, "0");
        p.decline_reason = Some("Do not honor".into());
        Ok(vec![p])
    });
    let (e, _d) = engine(host).await;
    let a = e.add_payment("S1", card("C1")).await.unwrap();
    assert_eq!(a.status, PaymentStatus::Declined);
    assert_eq!(a.reason.as_deref(), Some("declined: Do not honor"));
}
