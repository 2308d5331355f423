//! Secrets never reach the logs, in either direction (issue 13 item 2): the driver talks to
//! the simulated terminal over real TCP and a real pty while every span and event down to
//! TRACE (both sides, hex dumps included) is written to a buffer; the sentinel password,
//! PIN, card number and track data must not appear in it.

use std::{
    io::Write,
    sync::{Arc, Mutex},
};

use crate::support::terminal::{Via, rig, sim_config};
use hardware_sim::terminal::{Step, StepOn, TestCard};
use rust_decimal::Decimal;
use zvt::{command::PaymentRequest, transport::NoEvents};

const PASSWORD: &str = "314159";
const PIN: &str = "4711";
const PAN: &str = "6799990123456789012";
const TRACK: &str = "6280009876543210987=4912";

#[derive(Clone, Default)]
struct Buffer(Arc<Mutex<Vec<u8>>>);

impl Write for Buffer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// What must never be in the log: each secret as text and as it looks in a hex dump.
fn forbidden() -> Vec<String> {
    vec![
        PASSWORD.into(),
        "31 41 59".into(),
        PIN.into(),
        "34 37 31 31".into(),
        PAN.into(),
        PAN[..12].into(),
        "67 99 99 01 23 45".into(),
        TRACK.into(),
        "9876543210987".into(),
        "62 80 00 98 76 54".into(),
    ]
}

async fn session(via: Via) -> String {
    let buffer = Buffer::default();
    let writer = buffer.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        // Timestamps (and other incidental numbers) could contain a short sentinel by chance.
        .without_time()
        .with_writer(move || writer.clone())
        .finish();
    // The test runtime is single-threaded: the simulator's tasks log through this too.
    let _guard = tracing::subscriber::set_default(subscriber);

    let mut cfg = sim_config();
    cfg.password = PASSWORD.into();
    cfg.gift_track = TRACK.into();
    cfg.cards = vec![TestCard {
        pan: PAN.into(),
        ..TestCard::default()
    }];
    let mut r = rig(via, cfg).await;
    r.config.password = PASSWORD.into();
    let mut pt = r.terminal().await;

    let out = pt
        .authorize(PaymentRequest::new(Decimal::new(1234, 2)), NoEvents)
        .await
        .unwrap();
    assert!(out.is_approved());
    r.sim.control().push_step(Step {
        on: StepOn::Input,
        input: Some(PIN.into()),
        ..Step::default()
    });
    let typed = pt.numeric_input(&["PIN?"], 4, 6).await.unwrap();
    assert_eq!(typed.as_deref(), Some(PIN));
    let card = pt.read_card(10).await.unwrap().expect("card read");
    assert_eq!(card.expose_track2(), Some(TRACK));
    pt.reversal(out.receipt.unwrap(), NoEvents).await.unwrap();
    pt.repeat_receipt(NoEvents).await.unwrap();
    pt.status_enquiry().await.unwrap();
    pt.end_of_day(NoEvents).await.unwrap();
    drop(pt);

    let log = String::from_utf8(buffer.0.lock().unwrap().clone()).unwrap();
    // The dumps ran: without them "zero hits" would prove nothing.
    assert!(log.contains("TX.") && log.contains("RX."), "{log}");
    assert!(log.contains("[password]"), "{log}");
    assert!(log.contains("3C [4 bytes redacted]"), "{log}");
    assert!(log.contains("23 [12 bytes redacted]"), "{log}");
    log
}

/// Whether `secret` stands in `line` on its own: not inside a longer run of digits (a port
/// number, a counter), where a short numeric sentinel may turn up by chance.
fn contains_standalone(line: &str, secret: &str) -> bool {
    line.match_indices(secret).any(|(i, _)| {
        let before = line[..i].chars().next_back();
        let after = line[i + secret.len()..].chars().next();
        !before.is_some_and(|c| c.is_ascii_digit()) && !after.is_some_and(|c| c.is_ascii_digit())
    })
}

fn assert_clean(log: &str) {
    for secret in forbidden() {
        let hits: Vec<&str> = log
            .lines()
            .filter(|l| contains_standalone(l, &secret))
            .collect();
        assert!(hits.is_empty(), "{secret:?} logged:\n{}", hits.join("\n"));
    }
}

#[tokio::test]
async fn tcp_trace_log_has_no_password_pin_or_card_data() {
    assert_clean(&session(Via::Tcp).await);
}

#[tokio::test]
async fn serial_trace_log_has_no_password_pin_or_card_data() {
    let log = session(Via::Pty).await;
    assert!(log.contains("10 03 [CRC]"), "{log}");
    assert_clean(&log);
}
