//! Each injected fault ends in the right result or a recovered outcome, over a real pty or
//! real TCP, and no fault ever yields two payments (the simulator's journal is the truth).

use std::time::Duration;

use crate::support::terminal::{Via, rig, sim_config, wait_for};
use hardware_sim::terminal::{Fault, SimEvent, TxKind};
use rust_decimal::Decimal;
use zvt::{
    command::PaymentRequest,
    recovery::Verdict,
    transport::{Error, LinkState, NoEvents, Terminal, TxResult},
};

fn eur(s: &str) -> Decimal {
    s.parse().unwrap()
}

fn approved_payments(sim: &hardware_sim::terminal::SimTerminal) -> usize {
    sim.control()
        .journal()
        .iter()
        .filter(|e| e.kind == TxKind::Payment && e.approved())
        .count()
}

/// Pays once so that the driver knows the terminal's last trace number.
async fn warm_up(pt: &mut Terminal) {
    let out = pt
        .authorize(PaymentRequest::new(eur("1.00")), NoEvents)
        .await
        .unwrap();
    assert!(out.is_approved());
}

#[tokio::test]
async fn pty_nak_storm_within_the_limit_is_absorbed() {
    let r = rig(Via::Pty, sim_config()).await;
    let mut pt = r.terminal().await;
    // The PT NAKs the command frame twice; the third transmission gets through.
    r.sim.control().inject(Fault::Nak(2));
    let out = pt
        .authorize(PaymentRequest::new(eur("9.99")), NoEvents)
        .await
        .unwrap();
    assert!(out.is_approved());
    assert_eq!(approved_payments(&r.sim), 1);
}

#[tokio::test]
async fn pty_nak_storm_beyond_the_limit_is_a_link_error_and_recovers_as_not_executed() {
    let r = rig(Via::Pty, sim_config()).await;
    let mut pt = r.terminal().await;
    warm_up(&mut pt).await;
    let intent = pt.intent(eur("9.99"));
    r.sim.control().inject(Fault::Nak(3));
    let err = pt
        .authorize(PaymentRequest::new(eur("9.99")), NoEvents)
        .await
        .unwrap_err();
    assert!(err.is_outcome_unknown(), "{err}");
    assert_eq!(pt.health().borrow().state, LinkState::Down);
    let verdict = pt.recover_last(&intent).await.unwrap();
    assert!(
        matches!(verdict, Verdict::NotExecuted { .. }),
        "{verdict:?}"
    );
    assert_eq!(approved_payments(&r.sim), 1, "only the warm-up payment");
}

#[tokio::test]
async fn pty_bad_crc_is_naked_and_repeated() {
    let r = rig(Via::Pty, sim_config()).await;
    let mut pt = r.terminal().await;
    let mut events = r.sim.control().subscribe();
    r.sim.control().inject(Fault::BadCrc(2));
    let out = pt
        .authorize(PaymentRequest::new(eur("3.00")), NoEvents)
        .await
        .unwrap();
    assert!(out.is_approved());
    assert_eq!(approved_payments(&r.sim), 1);
    wait_for(&mut events, |e| matches!(e, SimEvent::Done(_))).await;
}

#[tokio::test]
async fn pty_byte_gap_breaks_the_frame_which_is_repeated() {
    let mut r = rig(Via::Pty, sim_config()).await;
    // The driver allows 200 ms between bytes and waits 2 s for the PT's acceptance; the PT
    // stalls 500 ms inside its acceptance frame, gets a NAK and repeats the frame.
    r.config.t3 = Duration::from_secs(2);
    let mut pt = r.terminal().await;
    r.sim
        .control()
        .inject(Fault::ByteGap(Duration::from_millis(500)));
    let out = pt
        .authorize(PaymentRequest::new(eur("4.00")), NoEvents)
        .await
        .unwrap();
    assert!(out.is_approved());
    assert_eq!(approved_payments(&r.sim), 1);
}

async fn stray_bytes_are_skipped(via: Via) {
    let mut cfg = sim_config();
    cfg.banner = Some(b"VENDOR-PT v9.1 READY\r\n".to_vec());
    let r = rig(via, cfg).await;
    let mut pt = r.terminal().await;
    r.sim
        .control()
        .inject(Fault::Garbage(b"+++ATH\r\n".to_vec()));
    let out = pt
        .authorize(PaymentRequest::new(eur("2.00")), NoEvents)
        .await
        .unwrap();
    assert!(out.is_approved());
    assert_eq!(approved_payments(&r.sim), 1);
}

#[tokio::test]
async fn tcp_banner_and_stray_bytes_are_skipped() {
    stray_bytes_are_skipped(Via::Tcp).await;
}

#[tokio::test]
async fn pty_banner_and_stray_bytes_are_skipped() {
    stray_bytes_are_skipped(Via::Pty).await;
}

async fn silence_times_out_and_recovers_as_not_executed(via: Via) {
    let r = rig(via, sim_config()).await;
    let mut pt = r.terminal().await;
    warm_up(&mut pt).await;
    let intent = pt.intent(eur("7.00"));
    r.sim.control().inject(Fault::Silence);
    let err = pt
        .authorize(PaymentRequest::new(eur("7.00")), NoEvents)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::OutcomeUnknown { .. }), "{err}");
    let verdict = pt.recover_last(&intent).await.unwrap();
    assert!(
        matches!(verdict, Verdict::NotExecuted { .. }),
        "{verdict:?}"
    );
    assert_eq!(approved_payments(&r.sim), 1);
}

#[tokio::test]
async fn tcp_silence_times_out_and_recovers_as_not_executed() {
    silence_times_out_and_recovers_as_not_executed(Via::Tcp).await;
}

#[tokio::test]
async fn pty_silence_times_out_and_recovers_as_not_executed() {
    silence_times_out_and_recovers_as_not_executed(Via::Pty).await;
}

async fn drop_after_approval_recovers_as_approved(via: Via) {
    let r = rig(via, sim_config()).await;
    let mut pt = r.terminal().await;
    let intent = pt.intent(eur("25.00"));
    r.sim.control().inject(Fault::DropAfterApproval);
    let err = pt
        .authorize(PaymentRequest::new(eur("25.00")), NoEvents)
        .await
        .unwrap_err();
    assert!(err.is_outcome_unknown(), "{err}");
    // The driver saw the 04 0F (trace and receipt) before the link dropped.
    let verdict = pt.recover_last(&intent).await.unwrap();
    let paid = &r.sim.control().journal()[0];
    assert_eq!(
        verdict,
        Verdict::Approved {
            receipt: Some(paid.receipt),
            trace: Some(paid.trace)
        }
    );
    assert_eq!(approved_payments(&r.sim), 1, "recovery never pays again");
}

#[tokio::test]
async fn tcp_drop_after_approval_recovers_as_approved() {
    drop_after_approval_recovers_as_approved(Via::Tcp).await;
}

#[tokio::test]
async fn pty_drop_after_approval_recovers_as_approved() {
    drop_after_approval_recovers_as_approved(Via::Pty).await;
}

async fn drop_before_status(via: Via) {
    let r = rig(via, sim_config()).await;
    let mut pt = r.terminal().await;
    warm_up(&mut pt).await;
    let intent = pt.intent(eur("33.00"));
    r.sim.control().inject(Fault::DropBeforeStatus);
    let err = pt
        .authorize(PaymentRequest::new(eur("33.00")), NoEvents)
        .await
        .unwrap_err();
    assert!(err.is_outcome_unknown(), "{err}");
    // Nothing of ours was seen; the last transaction is newer than the one known before
    // and has our amount.
    let verdict = pt.recover_last(&intent).await.unwrap();
    assert!(matches!(verdict, Verdict::Approved { .. }), "{verdict:?}");
    assert_eq!(approved_payments(&r.sim), 2);
}

#[tokio::test]
async fn tcp_drop_before_status_recovers_by_trace_and_amount() {
    drop_before_status(Via::Tcp).await;
}

#[tokio::test]
async fn pty_drop_before_status_recovers_by_trace_and_amount() {
    drop_before_status(Via::Pty).await;
}

#[tokio::test]
async fn drop_before_status_without_history_stays_unknown() {
    let r = rig(Via::Tcp, sim_config()).await;
    let mut pt = r.terminal().await;
    let intent = pt.intent(eur("33.00"));
    r.sim.control().inject(Fault::DropBeforeStatus);
    assert!(
        pt.authorize(PaymentRequest::new(eur("33.00")), NoEvents)
            .await
            .unwrap_err()
            .is_outcome_unknown()
    );
    let verdict = pt.recover_last(&intent).await.unwrap();
    assert!(
        matches!(verdict, Verdict::Unknown { .. }),
        "never approved on a guess: {verdict:?}"
    );
}

async fn reboot_mid_transaction(via: Via) {
    let r = rig(via, sim_config()).await;
    let mut pt = r.terminal().await;
    warm_up(&mut pt).await;
    let intent = pt.intent(eur("12.00"));
    let mut events = r.sim.control().subscribe();
    r.sim.control().inject(Fault::Reboot);
    let err = pt
        .authorize(PaymentRequest::new(eur("12.00")), NoEvents)
        .await
        .unwrap_err();
    assert!(err.is_outcome_unknown(), "{err}");
    wait_for(&mut events, |e| *e == SimEvent::Rebooted).await;
    assert!(!r.sim.control().is_registered());
    let verdict = pt.recover_last(&intent).await.unwrap();
    assert!(matches!(verdict, Verdict::Approved { .. }), "{verdict:?}");
    assert!(
        r.sim.control().is_registered(),
        "the driver registered again"
    );
    assert_eq!(approved_payments(&r.sim), 2);
}

#[tokio::test]
async fn tcp_reboot_mid_transaction_keeps_the_last_transaction() {
    reboot_mid_transaction(Via::Tcp).await;
}

#[tokio::test]
async fn pty_reboot_mid_transaction_keeps_the_last_transaction() {
    reboot_mid_transaction(Via::Pty).await;
}

async fn reconnects_after_a_dropped_link(via: Via) {
    let r = rig(via, sim_config()).await;
    let mut pt = r.terminal().await;
    let mut health = pt.health();
    let mut events = r.sim.control().subscribe();
    r.sim.control().drop_link();
    wait_for(&mut events, |e| *e == SimEvent::LinkDropped).await;
    // The dead link may be noticed before the command (a clean reconnect) or by it (a
    // retryable link error for a non-financial command); the next attempt must succeed.
    let first = pt.status_enquiry().await;
    if let Err(e) = &first {
        assert!(e.is_retryable(), "{e}");
        pt.status_enquiry().await.unwrap();
    }
    health.mark_changed();
    assert_eq!(health.borrow_and_update().state, LinkState::Registered);
    let out = pt
        .authorize(PaymentRequest::new(eur("5.00")), NoEvents)
        .await
        .unwrap();
    assert_eq!(out.result, TxResult::Approved);
}

#[tokio::test]
async fn tcp_reconnects_after_a_dropped_link() {
    reconnects_after_a_dropped_link(Via::Tcp).await;
}

#[tokio::test]
async fn pty_reconnects_after_a_replugged_port() {
    reconnects_after_a_dropped_link(Via::Pty).await;
}

#[tokio::test]
async fn unreachable_terminal_reports_down_after_the_schedule() {
    // A listener that is closed at once: connections are refused.
    let addr = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap()
    };
    let cfg =
        crate::support::terminal::fast(zvt::transport::TransportConfig::tcp(addr.to_string()));
    let attempts = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let seen = attempts.clone();
    let policy = move || {
        seen.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        std::iter::repeat_n(Duration::from_millis(10), 2)
    };
    let mut pt = Terminal::new(cfg, policy).unwrap();
    let health = pt.health();
    let err = pt
        .authorize(PaymentRequest::new(eur("1.00")), NoEvents)
        .await
        .unwrap_err();
    assert!(
        matches!(err, Error::Unavailable(_)),
        "nothing was sent: {err}"
    );
    assert!(err.is_retryable());
    let h = health.borrow().clone();
    assert_eq!(h.state, LinkState::Down);
    assert_eq!(h.failed_attempts, 3, "first try plus two scheduled retries");
    assert!(h.last_error.is_some());
    assert_eq!(
        attempts.load(std::sync::atomic::Ordering::SeqCst),
        1,
        "one schedule per episode"
    );
}

/// A caller that gives up on a command midway (a timeout around the future) leaves half an
/// exchange on the link; the next command starts on a fresh, registered link instead of
/// reading the dropped command's late answer as its own.
async fn abandoned_exchange_resets_the_link(via: Via) {
    let r = rig(via, sim_config()).await;
    let mut pt = r.terminal().await;
    let mut events = r.sim.control().subscribe();
    r.sim.control().inject(Fault::Silence);
    tokio::select! {
        res = pt.display_text(&["Gift card ****4321"], 0) => panic!("display ended: {res:?}"),
        _ = wait_for(&mut events, |e| matches!(e, SimEvent::Command([0x06, 0xE0]))) => {}
    }
    let out = pt
        .authorize(PaymentRequest::new(eur("4.20")), NoEvents)
        .await
        .unwrap();
    assert!(out.is_approved());
    // Registered again before the payment's command reached the terminal.
    wait_for(&mut events, |e| matches!(e, SimEvent::Registered)).await;
    wait_for(&mut events, |e| {
        matches!(e, SimEvent::Command([0x06, 0x01]))
    })
    .await;
    assert_eq!(approved_payments(&r.sim), 1);
}

#[tokio::test]
async fn tcp_abandoned_exchange_resets_the_link() {
    abandoned_exchange_resets_the_link(Via::Tcp).await;
}

#[tokio::test]
async fn pty_abandoned_exchange_resets_the_link() {
    abandoned_exchange_resets_the_link(Via::Pty).await;
}
