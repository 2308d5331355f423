//! The driver's Refund (06 31) and a USD registration against the simulated terminal, over
//! real TCP and a real pty; a refund whose answer is lost is settled from the terminal's
//! evidence, never sent again.

use crate::support::terminal::{Via, rig, sim_config};
use hardware_sim::terminal::{Fault, TxKind};
use rust_decimal::Decimal;
use zvt::{
    command::{PaymentRequest, USD},
    recovery::Verdict,
    transport::{NoEvents, TxResult},
};

fn amount(s: &str) -> Decimal {
    s.parse().unwrap()
}

async fn refund_in_usd(via: Via) {
    let mut r = rig(via, sim_config()).await;
    r.config.currency = USD;
    let mut pt = r.terminal().await;
    assert_eq!(r.sim.control().currency(), USD, "registered in USD");
    let paid = pt
        .authorize(PaymentRequest::new(amount("20.00")), NoEvents)
        .await
        .unwrap();
    assert!(paid.is_approved(), "{paid:?}");
    let out = pt.refund(amount("7.50"), NoEvents).await.unwrap();
    assert_eq!(out.result, TxResult::Approved);
    assert_eq!(out.amount, Some(amount("7.50")));
    let j = r.sim.control().journal();
    assert_eq!(j.len(), 2);
    assert_eq!(j[1].kind, TxKind::Refund);
    assert_eq!(j[1].amount, amount("7.50"));
    assert_eq!(out.receipt, Some(j[1].receipt));
    // The terminal's own receipt, masked PAN and currency included.
    assert!(
        out.receipt_lines.iter().any(|l| l == "REFUND"),
        "{:?}",
        out.receipt_lines
    );
    assert!(out.receipt_lines.iter().any(|l| l == "USD 7.50"));
    assert!(
        out.receipt_lines
            .iter()
            .any(|l| l.ends_with("0019") && l.contains('*'))
    );
}

#[tokio::test]
async fn tcp_refund_in_usd() {
    refund_in_usd(Via::Tcp).await;
}

#[tokio::test]
async fn pty_refund_in_usd() {
    refund_in_usd(Via::Pty).await;
}

#[tokio::test]
async fn a_declined_refund_says_so() {
    let r = rig(Via::Tcp, sim_config()).await;
    let mut pt = r.terminal().await;
    r.sim
        .control()
        .set_next_outcome(hardware_sim::terminal::Outcome::Decline { code: 0x05 });
    let out = pt.refund(amount("3.00"), NoEvents).await.unwrap();
    assert_eq!(out.result, TxResult::Declined { code: 0x05 });
}

#[tokio::test]
async fn a_lost_refund_answer_is_recovered_not_resent() {
    let r = rig(Via::Tcp, sim_config()).await;
    let mut pt = r.terminal().await;
    let intent = pt.intent(amount("4.20"));
    r.sim.control().inject(Fault::DropAfterApproval);
    let err = pt.refund(amount("4.20"), NoEvents).await.unwrap_err();
    assert!(err.is_outcome_unknown(), "{err}");
    let verdict = pt.recover_last(&intent).await.unwrap();
    let refunded = &r.sim.control().journal()[0];
    assert_eq!(
        verdict,
        Verdict::Approved {
            receipt: Some(refunded.receipt),
            trace: Some(refunded.trace)
        }
    );
    assert_eq!(
        r.sim.control().refunds().len(),
        1,
        "recovery never refunds again"
    );
}
