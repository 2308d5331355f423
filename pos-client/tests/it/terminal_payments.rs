//! Terminal payments (`terminalPayment.start/continue/capture/void`, `terminalPayments`)
//! against the POS stand-in over real HTTP: the three-way answer as one enum, partial
//! approvals, declines, terminal errors, idempotent capture/void, and a lost `start` answer
//! classified as an unknown outcome that the lookup by `refNo` settles.

use std::net::SocketAddr;
use std::time::Duration;

use hardware_sim::pos::{
    Fault, FaultKind, FaultTarget, PosSim, Seed, TerminalOutcome, TerminalStep,
};
use pos_client::*;
use rust_decimal::Decimal;
use secrecy::SecretString;

const TERMINAL: &str = "FORTIS-T-0042";

fn dec(s: &str) -> Decimal {
    s.parse().unwrap()
}

async fn lane_as(id: &str, seed: Seed) -> (PosSim, PosClient) {
    let sim = PosSim::start("127.0.0.1:0".parse::<SocketAddr>().unwrap(), seed.clone())
        .await
        .unwrap();
    let c = seed.clients.iter().find(|c| c.id == id).unwrap();
    let client = PosClient::new(PosConfig {
        graphql_url: sim.graphql_url(),
        issuer_url: sim.issuer_url(),
        client_id: c.id.clone(),
        client_secret: SecretString::from(c.secret.clone()),
        request_timeout: Duration::from_secs(5),
        connect_timeout: Duration::from_secs(2),
        max_response_bytes: DEFAULT_MAX_RESPONSE_BYTES,
    })
    .unwrap();
    (sim, client)
}

async fn lane() -> (PosSim, PosClient) {
    lane_as("lane-agent", Seed::example()).await
}

fn start_req(ref_no: &str, amount: &str) -> TerminalPaymentStartRequest {
    TerminalPaymentStartRequest {
        terminal_id: TERMINAL.into(),
        store_code: "DALLAS".into(),
        trans_type: TerminalPaymentType::Authorize,
        amount: dec(amount),
        ref_no: ref_no.into(),
        transaction_id: Some("DALLAS-LANE01-1".into()),
        original_id: None,
    }
}

fn step(outcome: TerminalOutcome, delay_ms: u64) -> TerminalStep {
    TerminalStep {
        terminal: TERMINAL.into(),
        outcome,
        delay_ms: Some(delay_ms),
    }
}

/// Follows continuations (waiting `waitMs` each time, as the POS asks) to the end.
async fn finish(pos: &PosClient, first: TerminalPaymentOutcome) -> TerminalPaymentOutcome {
    let mut out = first;
    for _ in 0..200 {
        let TerminalPaymentOutcome::Continuation(c) = &out else {
            return out;
        };
        tokio::time::sleep(Duration::from_millis(u64::from(c.wait_ms))).await;
        out = pos.terminal_payment_continue(&c.token).await.unwrap();
    }
    panic!("never finished: {out:?}");
}

#[tokio::test]
async fn an_authorization_waits_for_the_cardholder_then_captures_once() {
    let (sim, pos) = lane().await;
    sim.control()
        .terminal_step(step(TerminalOutcome::Approve, 300));
    let first = pos
        .terminal_payment_start(&start_req("R-1", "12.50"))
        .await
        .unwrap();
    assert!(
        matches!(first, TerminalPaymentOutcome::Continuation(ref c) if c.wait_ms == 100),
        "{first:?}"
    );
    let TerminalPaymentOutcome::Payment(p) = finish(&pos, first).await else {
        panic!("payment expected")
    };
    assert_eq!(p.status, TerminalPaymentStatus::Authorized);
    assert_eq!(p.approved_amount, dec("12.50"));
    assert_eq!(p.last4.as_deref(), Some("4242"));
    for _ in 0..2 {
        let TerminalPaymentOutcome::Payment(c) =
            pos.terminal_payment_capture(&p.id, None).await.unwrap()
        else {
            panic!("capture answers the payment")
        };
        assert_eq!(c.status, TerminalPaymentStatus::Captured);
        assert_eq!(c.captured_amount, Some(dec("12.50")));
    }
    let ledger = sim.control().ledger();
    assert_eq!(ledger.terminal_payments.len(), 1);
    assert_eq!(ledger.terminal_payments[0].captures, 1);
    // Void after capture (before settlement) and again: idempotent.
    for _ in 0..2 {
        let TerminalPaymentOutcome::Payment(v) = pos.terminal_payment_void(&p.id).await.unwrap()
        else {
            panic!("void answers the payment")
        };
        assert_eq!(v.status, TerminalPaymentStatus::Voided);
    }
    assert_eq!(sim.control().ledger().terminal_payments[0].voids, 1);
    assert!(matches!(
        pos.terminal_payment_capture(&p.id, None).await.unwrap(),
        TerminalPaymentOutcome::Error {
            code: TerminalErrorCode::NotCapturable,
            ..
        }
    ));
}

#[tokio::test]
async fn partial_approvals_declines_and_terminal_errors_are_typed() {
    let (sim, pos) = lane().await;
    let c = sim.control();
    c.terminal_step(step(
        TerminalOutcome::Partial {
            amount: dec("4.00"),
        },
        0,
    ));
    c.terminal_step(step(
        TerminalOutcome::Decline {
            reason: "Insufficient funds".into(),
        },
        0,
    ));
    c.terminal_step(step(TerminalOutcome::Busy, 0));
    c.terminal_step(step(TerminalOutcome::Cancel, 0));
    c.terminal_step(step(TerminalOutcome::Timeout, 0));

    let TerminalPaymentOutcome::Payment(p) = finish(
        &pos,
        pos.terminal_payment_start(&start_req("P", "10.00"))
            .await
            .unwrap(),
    )
    .await
    else {
        panic!()
    };
    assert_eq!(
        (p.status, p.approved_amount),
        (TerminalPaymentStatus::Authorized, dec("4.00"))
    );
    let TerminalPaymentOutcome::Payment(d) = finish(
        &pos,
        pos.terminal_payment_start(&start_req("D", "10.00"))
            .await
            .unwrap(),
    )
    .await
    else {
        panic!()
    };
    assert_eq!(d.status, TerminalPaymentStatus::Declined);
    assert_eq!(d.decline_reason.as_deref(), Some("Insufficient funds"));
    for (ref_no, code) in [
        ("B", TerminalErrorCode::TerminalBusy),
        ("C", TerminalErrorCode::Cancelled),
        ("T", TerminalErrorCode::TimedOut),
    ] {
        let out = finish(
            &pos,
            pos.terminal_payment_start(&start_req(ref_no, "1.00"))
                .await
                .unwrap(),
        )
        .await;
        assert!(
            matches!(&out, TerminalPaymentOutcome::Error { code: c, .. } if *c == code),
            "{ref_no}: {out:?}"
        );
    }
    // Busy left nothing behind; cancelled and timed out leave a FAILED payment.
    assert!(
        pos.terminal_payments(Some("B"), None)
            .await
            .unwrap()
            .is_empty()
    );
    let failed = pos.terminal_payments(Some("C"), None).await.unwrap();
    assert_eq!(failed[0].status, TerminalPaymentStatus::Failed);
    assert_eq!(failed[0].error_code, Some(TerminalErrorCode::Cancelled));
    c.set_terminal_online(TERMINAL, false);
    assert!(matches!(
        pos.terminal_payment_start(&start_req("O", "1.00"))
            .await
            .unwrap(),
        TerminalPaymentOutcome::Error {
            code: TerminalErrorCode::TerminalOffline,
            ..
        }
    ));
}

#[tokio::test]
async fn a_lost_start_answer_is_an_unknown_outcome_that_the_lookup_settles() {
    let (sim, pos) = lane().await;
    let c = sim.control();
    c.terminal_step(step(TerminalOutcome::Approve, 200));
    c.inject(Fault {
        target: FaultTarget::Operation("terminalPayment.start".into()),
        kind: FaultKind::ApplyThenDrop,
        times: Some(1),
    });
    let err = pos
        .terminal_payment_start(&start_req("LOST-1", "7.00"))
        .await
        .unwrap_err();
    assert_eq!(err.class(), ErrorClass::OutcomeUnknown, "{err}");
    let found = pos.terminal_payments(Some("LOST-1"), None).await.unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].status, TerminalPaymentStatus::Pending);
    let token = found[0].continuation.clone().expect("pending has a token");
    let TerminalPaymentOutcome::Payment(p) =
        finish(&pos, TerminalPaymentOutcome::Continuation(token)).await
    else {
        panic!()
    };
    assert_eq!(p.status, TerminalPaymentStatus::Authorized);
    assert_eq!(
        sim.control()
            .ledger()
            .terminal_payments_with("LOST-1")
            .len(),
        1
    );
    // The lookup by id answers the same payment.
    let by_id = pos.terminal_payments(None, Some(&p.id)).await.unwrap();
    assert_eq!(by_id[0].ref_no, "LOST-1");
    // A never-started refNo is an empty answer, and an expired token is UNKNOWN_CONTINUATION.
    assert!(
        pos.terminal_payments(Some("NEVER"), None)
            .await
            .unwrap()
            .is_empty()
    );
    c.expire_terminal_tokens();
    assert!(matches!(
        pos.terminal_payment_continue("tpc-none").await.unwrap(),
        TerminalPaymentOutcome::Error {
            code: TerminalErrorCode::UnknownContinuation,
            ..
        }
    ));
}

#[tokio::test]
async fn a_client_without_the_permission_is_not_authorized() {
    let (_sim, pos) = lane_as("reports", Seed::example()).await;
    let err = pos
        .terminal_payment_start(&start_req("X", "1.00"))
        .await
        .unwrap_err();
    assert!(matches!(err, PosError::NotAuthorized { .. }), "{err}");
    assert_eq!(err.class(), ErrorClass::Rejected);
}
