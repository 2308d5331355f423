//! Every driver command against the simulated terminal, over real TCP and a real pty.

use crate::support::terminal::{Via, rig, sim_config, wait_for};
use hardware_sim::terminal::{Outcome, SimEvent, TxKind};
use rust_decimal::Decimal;
use zvt::{
    command::PaymentRequest,
    exchange::Event,
    transport::{FnSink, LinkState, NoEvents, TxResult},
};

fn eur(s: &str) -> Decimal {
    s.parse().unwrap()
}

async fn payment_approved_with_status_and_receipt(via: Via) {
    let r = rig(via, sim_config()).await;
    let mut pt = r.terminal().await;
    assert_eq!(pt.health().borrow().state, LinkState::Registered);
    let mut seen = Vec::new();
    let out = pt
        .authorize(
            PaymentRequest::new(eur("12.34")),
            FnSink(|e: &Event| seen.push(kind(e))),
        )
        .await
        .unwrap();
    assert_eq!(out.result, TxResult::Approved);
    assert_eq!(out.amount, Some(eur("12.34")));
    let j = r.sim.control().journal();
    assert_eq!(j.len(), 1);
    assert_eq!(out.receipt, Some(j[0].receipt));
    assert_eq!(out.trace, Some(j[0].trace));
    assert_eq!(
        out.card_number.as_ref().map(|c| c.last4()),
        Some("0019".into())
    );
    assert!(out.card_number.as_ref().unwrap().is_masked());
    // 0xBA asks for ECR printing: the receipt came as print lines.
    assert!(
        out.receipt_lines.iter().any(|l| l.contains("APPROVED")),
        "{:?}",
        out.receipt_lines
    );
    assert!(
        seen.contains(&"status") && seen.contains(&"intermediate"),
        "{seen:?}"
    );
}

fn kind(e: &Event) -> &'static str {
    match e {
        Event::Intermediate(_) => "intermediate",
        Event::StatusInformation(_) => "status",
        Event::PrintLine(_) | Event::PrintTextBlock(_) => "print",
        _ => "other",
    }
}

#[tokio::test]
async fn tcp_payment_approved() {
    payment_approved_with_status_and_receipt(Via::Tcp).await;
}

#[tokio::test]
async fn pty_payment_approved() {
    payment_approved_with_status_and_receipt(Via::Pty).await;
}

async fn declined_and_partial(via: Via) {
    let r = rig(via, sim_config()).await;
    let mut pt = r.terminal().await;
    r.sim
        .control()
        .set_next_outcome(Outcome::Decline { code: 0x33 });
    let out = pt
        .authorize(PaymentRequest::new(eur("5.00")), NoEvents)
        .await
        .unwrap();
    assert_eq!(out.result, TxResult::Declined { code: 0x33 });
    r.sim.control().set_next_outcome(Outcome::Partial {
        amount: eur("3.00"),
    });
    let out = pt
        .authorize(PaymentRequest::new(eur("5.00")), NoEvents)
        .await
        .unwrap();
    assert_eq!(out.result, TxResult::Approved);
    assert_eq!(out.amount, Some(eur("3.00")));
    assert_eq!(r.sim.control().approved_payments(), 1);
}

#[tokio::test]
async fn tcp_declined_and_partial() {
    declined_and_partial(Via::Tcp).await;
}

#[tokio::test]
async fn pty_declined_and_partial() {
    declined_and_partial(Via::Pty).await;
}

async fn reversal_by_receipt(via: Via) {
    let r = rig(via, sim_config()).await;
    let mut pt = r.terminal().await;
    let paid = pt
        .authorize(PaymentRequest::new(eur("20.00")), NoEvents)
        .await
        .unwrap();
    let receipt = paid.receipt.unwrap();
    let rev = pt.reversal(receipt, NoEvents).await.unwrap();
    assert_eq!(rev.result, TxResult::Approved);
    assert!(
        r.sim.control().charges().is_empty(),
        "the payment is voided"
    );
    let again = pt.reversal(receipt, NoEvents).await.unwrap();
    assert_eq!(
        again.result,
        TxResult::Declined { code: 0xB4 },
        "already reversed"
    );
}

#[tokio::test]
async fn tcp_reversal_by_receipt() {
    reversal_by_receipt(Via::Tcp).await;
}

#[tokio::test]
async fn pty_reversal_by_receipt() {
    reversal_by_receipt(Via::Pty).await;
}

async fn reservation_lifecycle(via: Via) {
    let r = rig(via, sim_config()).await;
    let mut pt = r.terminal().await;
    let res = pt
        .reserve(PaymentRequest::new(eur("50.00")), NoEvents)
        .await
        .unwrap();
    assert!(res.is_approved());
    let receipt = res.receipt.unwrap();
    let open = pt.open_reservations().await.unwrap();
    assert_eq!(
        open.iter().filter_map(|s| s.receipt).collect::<Vec<_>>(),
        vec![receipt]
    );
    let part = pt
        .partial_reversal(receipt, eur("10.00"), NoEvents)
        .await
        .unwrap();
    assert!(part.is_approved());
    let booked = pt
        .book_total(receipt, Some(eur("40.00")), NoEvents)
        .await
        .unwrap();
    assert!(booked.is_approved());
    assert_eq!(booked.amount, Some(eur("40.00")));
    // Booked reservations cannot be booked or reversed again.
    let twice = pt.book_total(receipt, None, NoEvents).await.unwrap();
    assert!(matches!(twice.result, TxResult::Declined { .. }));
    assert!(pt.open_reservations().await.unwrap().is_empty());

    let res2 = pt
        .reserve(PaymentRequest::new(eur("30.00")), NoEvents)
        .await
        .unwrap();
    let rel = pt
        .preauth_reversal(res2.receipt.unwrap(), NoEvents)
        .await
        .unwrap();
    assert!(rel.is_approved());
    let kinds: Vec<TxKind> = r.sim.control().journal().iter().map(|e| e.kind).collect();
    assert_eq!(
        kinds,
        [
            TxKind::Reservation,
            TxKind::PartialReversal,
            TxKind::BookTotal,
            TxKind::Reservation,
            TxKind::PreAuthReversal
        ]
    );
}

#[tokio::test]
async fn tcp_reservation_lifecycle() {
    reservation_lifecycle(Via::Tcp).await;
}

#[tokio::test]
async fn pty_reservation_lifecycle() {
    reservation_lifecycle(Via::Pty).await;
}

async fn admin_commands(via: Via) {
    let r = rig(via, sim_config()).await;
    let mut pt = r.terminal().await;
    let st = pt.status_enquiry().await.unwrap();
    assert_eq!(st.status, Some(0));
    assert!(st.sw_version.unwrap().starts_with("HWSIM"));
    pt.authorize(PaymentRequest::new(eur("1.50")), NoEvents)
        .await
        .unwrap();
    let paid = pt
        .authorize(PaymentRequest::new(eur("2.50")), NoEvents)
        .await
        .unwrap();
    let copy = pt.repeat_receipt(NoEvents).await.unwrap();
    assert_eq!(
        copy.receipt, paid.receipt,
        "repeat receipt shows the last transaction"
    );
    assert_eq!(copy.amount, Some(eur("2.50")));
    let eod = pt.end_of_day(NoEvents).await.unwrap();
    assert_eq!(eod.result, TxResult::Approved);
    assert_eq!(eod.total, Some(eur("4.00")));
    assert!(eod.totals.is_some());
    assert!(pt.abort().await.unwrap(), "an idle abort is acknowledged");
}

#[tokio::test]
async fn tcp_admin_commands() {
    admin_commands(Via::Tcp).await;
}

#[tokio::test]
async fn pty_admin_commands() {
    admin_commands(Via::Pty).await;
}

async fn display_input_and_card(via: Via) {
    let mut cfg = sim_config();
    cfg.gift_track = "6280001234567890123=4912".into();
    let r = rig(via, cfg).await;
    let ctl = r.sim.control();
    let mut events = ctl.subscribe();
    let mut pt = r.terminal().await;
    pt.display_text(&["Hello", "Lane 1"], 5).await.unwrap();
    let shown = wait_for(&mut events, |e| matches!(e, SimEvent::Display(_))).await;
    assert_eq!(
        shown,
        SimEvent::Display(vec!["Hello".into(), "Lane 1".into()])
    );

    // Unanswered prompts are cancelled by the customer (the default).
    assert_eq!(pt.numeric_input(&["PIN?"], 4, 6).await.unwrap(), None);
    ctl.type_input(Some("4711".into()));
    assert_eq!(
        pt.numeric_input(&["PIN?"], 4, 6).await.unwrap().as_deref(),
        Some("4711")
    );

    let card = pt.read_card(30).await.unwrap().expect("a card");
    assert_eq!(card.expose_number().as_deref(), Some("6280001234567890123"));
    assert!(!format!("{card:?}").contains("628000"));
    ctl.present_track("6280009999000000017=4912");
    let card = pt.read_card(30).await.unwrap().unwrap();
    assert_eq!(card.expose_track2(), Some("6280009999000000017=4912"));
}

#[tokio::test]
async fn tcp_display_input_and_card() {
    display_input_and_card(Via::Tcp).await;
}

#[tokio::test]
async fn pty_display_input_and_card() {
    display_input_and_card(Via::Pty).await;
}

#[tokio::test]
async fn wrong_password_is_refused_and_nothing_runs() {
    let r = rig(Via::Tcp, sim_config()).await;
    let mut cfg = r.config.clone();
    cfg.password = "000000".into();
    let err = zvt::transport::Terminal::connect(cfg, zvt::transport::NoRetry)
        .await
        .unwrap_err();
    assert!(
        matches!(err, zvt::transport::Error::RegistrationRefused { .. }),
        "{err}"
    );
    assert!(!r.sim.control().is_registered());
}

async fn abort_handle_cancels_an_open_prompt(via: Via) {
    let cfg = hardware_sim::terminal::SimTerminalConfig {
        wait_for_input: true,
        ..sim_config()
    };
    let r = rig(via, cfg).await;
    let ctl = r.sim.control();
    let mut events = ctl.subscribe();
    let mut pt = r.terminal().await;
    let handle = pt.abort_handle();
    let aborter = tokio::spawn(async move {
        wait_for(&mut events, |e| *e == SimEvent::InputPrompt).await;
        handle.abort();
    });
    let answer = tokio::time::timeout(
        std::time::Duration::from_secs(10),
        pt.numeric_input(&["Code?"], 1, 8),
    )
    .await
    .expect("the abort ends the prompt long before its 60 s")
    .unwrap();
    assert_eq!(answer, None);
    aborter.await.unwrap();
    // The link is still usable, and a typed answer still works.
    ctl.type_input(Some("42".into()));
    assert_eq!(
        pt.numeric_input(&["Code?"], 1, 8).await.unwrap().as_deref(),
        Some("42")
    );
}

#[tokio::test]
async fn tcp_abort_handle_cancels_an_open_prompt() {
    abort_handle_cancels_an_open_prompt(Via::Tcp).await;
}

#[tokio::test]
async fn pty_abort_handle_cancels_an_open_prompt() {
    abort_handle_cancels_an_open_prompt(Via::Pty).await;
}
