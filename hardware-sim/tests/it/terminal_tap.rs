//! `hardware-sim tap` between the driver and the simulated terminal records a capture
//! without secrets; `hardware-sim terminal --replay` plays it back and the driver goes
//! through the same payment with the same outcome (real TCP, the real binary for replay).

use std::{
    io::{BufRead, BufReader},
    process::{Child, Command, Stdio},
    time::Duration,
};

use crate::support::terminal::{Via, rig, sim_config, wait_for};
use hardware_sim::{
    tap::{Tap, read_capture},
    terminal::{SimEvent, Step, StepOn, TestCard},
    zvtlog::Direction,
};
use rust_decimal::Decimal;
use zvt::{
    command::PaymentRequest,
    transport::{Endpoint, NoEvents, NoRetry, Terminal, TxOutcome},
};

const PASSWORD: &str = "314159";
const PIN: &str = "4711";
const PAN: &str = "6799990123456789012";
const TRACK: &str = "6280009876543210987=4912";

struct Child_(Child);

impl Drop for Child_ {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn same_payment(a: &TxOutcome, b: &TxOutcome) {
    assert_eq!(a.result, b.result);
    assert_eq!(a.amount, b.amount);
    assert_eq!(a.receipt, b.receipt);
    assert_eq!(a.trace, b.trace);
    assert_eq!(
        a.card_number.as_ref().map(|c| c.last4()),
        b.card_number.as_ref().map(|c| c.last4())
    );
    assert_eq!(a.card_name, b.card_name);
    assert_eq!(a.receipt_lines, b.receipt_lines);
}

#[tokio::test]
async fn tap_records_a_capture_without_secrets_and_replay_repeats_the_payment() {
    let dir = tempfile::tempdir().unwrap();
    let capture = dir.path().join("capture.jsonl");

    // Driver → tap → simulated terminal, with sentinel password, card number, track, PIN.
    let mut cfg = sim_config();
    cfg.password = PASSWORD.into();
    cfg.gift_track = TRACK.into();
    cfg.cards = vec![TestCard {
        pan: PAN.into(),
        ..TestCard::default()
    }];
    let mut r = rig(Via::Tcp, cfg).await;
    let tap = Tap::start(
        "127.0.0.1:0".parse().unwrap(),
        r.sim.addr().unwrap(),
        capture.clone(),
        true,
    )
    .await
    .unwrap();
    r.config.password = PASSWORD.into();
    r.config.endpoint = Endpoint::Tcp {
        addr: tap.addr().to_string(),
    };
    let mut events = r.sim.control().subscribe();
    r.sim.control().push_step(Step {
        on: StepOn::Input,
        input: Some(PIN.into()),
        ..Step::default()
    });
    let mut pt = r.terminal().await;
    let original = pt
        .authorize(PaymentRequest::new(Decimal::new(1234, 2)), NoEvents)
        .await
        .unwrap();
    assert!(original.is_approved());
    assert_eq!(
        pt.numeric_input(&["PIN?"], 4, 4).await.unwrap().as_deref(),
        Some(PIN)
    );
    let card = pt.read_card(10).await.unwrap().unwrap();
    assert_eq!(card.expose_track2(), Some(TRACK));
    // The terminal has the driver's last ACK, and the tap records before it forwards.
    wait_for(&mut events, |e| *e == SimEvent::Done([0x06, 0xC0])).await;
    drop(pt);

    let records = read_capture(&capture).unwrap();
    let texts: Vec<&str> = records.iter().map(|r| r.text.as_str()).collect();
    for want in [
        "ECR→PT 06 00 Registration, config BA, EUR",
        "ECR→PT 06 01 Authorization 12.34 EUR",
        "PT→ECR 04 0F approved, 12.34 EUR, receipt 1, trace 1, card ****9012, girocard",
        "PT→ECR 06 0F completion, 4 digits entered",
        "ECR→PT 06 C0 Read card, time-out 10 s",
    ] {
        assert!(texts.contains(&want), "{want:?} not in {texts:#?}");
    }
    assert!(records.windows(2).all(|w| w[0].t_ms <= w[1].t_ms));
    assert_eq!(records[0].dir, Direction::EcrToPt);
    let raw = std::fs::read_to_string(&capture).unwrap();
    for secret in [
        PASSWORD,
        "31 41 59",
        PIN,
        "34 37 31 31",
        PAN,
        &PAN[..12],
        "67 99 99 01 23 45",
        TRACK,
        "9876543210987",
        "62 80 00 98 76 54",
    ] {
        assert!(!raw.contains(secret), "{secret:?} in the capture:\n{raw}");
    }

    // Replay through the real binary: the driver sees the same payment.
    let (_child, addr, rx) = replay(&capture);
    let mut config = r.config.clone();
    config.endpoint = Endpoint::Tcp { addr };
    let mut pt = tokio::time::timeout(Duration::from_secs(10), Terminal::connect(config, NoRetry))
        .await
        .unwrap()
        .unwrap();
    let replayed = pt
        .authorize(PaymentRequest::new(Decimal::new(1234, 2)), NoEvents)
        .await
        .unwrap();
    same_payment(&original, &replayed);
    // The typed digits were masked in the capture: the replay answers with as many `*`.
    assert_eq!(
        pt.numeric_input(&["PIN?"], 4, 4).await.unwrap().as_deref(),
        Some("****")
    );
    let card = pt.read_card(10).await.unwrap();
    assert!(
        card.as_ref().and_then(|c| c.expose_track2()) != Some(TRACK),
        "{card:?}"
    );
    let mut seen = Vec::new();
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while !seen.iter().any(|l: &String| l.contains("replay ended")) {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        match rx.recv_timeout(left) {
            Ok(l) => seen.push(l),
            Err(_) => panic!("replay did not end:\n{}", seen.join("\n")),
        }
    }
    let end = seen.last().unwrap();
    assert!(
        end.ends_with(&format!(
            "replay ended: all {} records played, 0 differences",
            records.len()
        )),
        "{}",
        seen.join("\n")
    );
    assert!(
        seen.iter()
            .any(|l| l.contains("PT→ECR 04 0F approved, 12.34 EUR, receipt 1")),
        "{}",
        seen.join("\n")
    );
}

/// The same tap between two serial devices: the driver opens the tap's pty, the tap opens the
/// simulated terminal's port; bytes (frames, ACKs) pass unchanged and the capture holds each
/// framed APDU in words, without the card number or the password.
#[tokio::test]
async fn a_serial_tap_between_two_ports_records_the_conversation() {
    use hardware_sim::tap::SerialTap;

    let dir = tempfile::tempdir().unwrap();
    let capture = dir.path().join("serial.jsonl");
    let mut cfg = sim_config();
    cfg.password = PASSWORD.into();
    cfg.cards = vec![TestCard {
        pan: PAN.into(),
        ..TestCard::default()
    }];
    let mut r = rig(Via::Pty, cfg).await;
    let terminal_port = r.sim.link().unwrap().to_path_buf();
    let ecr_port = dir.path().join("ecr-side");
    let _tap = SerialTap::start(&ecr_port, &terminal_port, 9600, capture.clone(), true).unwrap();
    r.config.password = PASSWORD.into();
    r.config.endpoint = Endpoint::Serial {
        path: ecr_port.clone(),
        baud: 9600,
    };
    let mut events = r.sim.control().subscribe();
    let mut pt = r.terminal().await;
    let paid = pt
        .authorize(PaymentRequest::new(Decimal::new(1234, 2)), NoEvents)
        .await
        .unwrap();
    assert!(paid.is_approved());
    assert_eq!(r.sim.control().approved_payments(), 1);
    wait_for(&mut events, |e| *e == SimEvent::Done([0x06, 0x01])).await;
    drop(pt);

    let records = read_capture(&capture).unwrap();
    let texts: Vec<&str> = records.iter().map(|r| r.text.as_str()).collect();
    for want in [
        "ECR→PT 06 00 Registration, config BA, EUR",
        "ECR→PT 06 01 Authorization 12.34 EUR",
        "PT→ECR 80 00 00 ack",
        "PT→ECR 04 0F approved, 12.34 EUR, receipt 1, trace 1, card ****9012, girocard",
    ] {
        assert!(texts.contains(&want), "{want:?} not in {texts:#?}");
    }
    let raw = std::fs::read_to_string(&capture).unwrap();
    for secret in [PASSWORD, "31 41 59", PAN, &PAN[..12], "67 99 99 01 23 45"] {
        assert!(!raw.contains(secret), "{secret:?} in the capture:\n{raw}");
    }
}

/// Starts `hardware-sim terminal --replay CAPTURE` on a free port: the process, its address
/// and its output lines after the first.
fn replay(capture: &std::path::Path) -> (Child_, String, std::sync::mpsc::Receiver<String>) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_hardware-sim"))
        .args(["terminal", "--tcp", "127.0.0.1:0", "--replay"])
        .arg(capture)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let child = Child_(child);
    let mut first = String::new();
    stdout.read_line(&mut first).unwrap();
    let addr = first
        .split_whitespace()
        .nth(4)
        .unwrap_or_else(|| panic!("unexpected first line {first:?}"))
        .to_owned();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in stdout.lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                return;
            }
        }
    });
    (child, addr, rx)
}

/// A capture of a payment whose completion was lost (the link dropped after the approval's
/// 04 0F) and of the driver's recovery on a new connection: its replay drops the first
/// connection at the same point, and the driver's recovery meets the recorded status
/// enquiry and repeat receipt and reaches the same verdict.
#[tokio::test]
async fn replay_of_a_lost_completion_exercises_the_drivers_recovery() {
    use hardware_sim::terminal::Fault;
    use zvt::recovery::Verdict;

    let dir = tempfile::tempdir().unwrap();
    let capture = dir.path().join("lost.jsonl");
    let r = rig(Via::Tcp, sim_config()).await;
    let tap = Tap::start(
        "127.0.0.1:0".parse().unwrap(),
        r.sim.addr().unwrap(),
        capture.clone(),
        true,
    )
    .await
    .unwrap();
    let mut config = r.config.clone();
    config.endpoint = Endpoint::Tcp {
        addr: tap.addr().to_string(),
    };
    let mut pt = Terminal::new(config.clone(), NoRetry).unwrap();
    pt.register().await.unwrap();
    let mut events = r.sim.control().subscribe();
    let intent = pt.intent(Decimal::new(2500, 2));
    r.sim.control().inject(Fault::DropAfterApproval);
    let err = pt
        .authorize(PaymentRequest::new(Decimal::new(2500, 2)), NoEvents)
        .await
        .unwrap_err();
    assert!(err.is_outcome_unknown(), "{err}");
    let verdict = pt.recover_last(&intent).await.unwrap();
    assert!(matches!(verdict, Verdict::Approved { .. }), "{verdict:?}");
    drop(pt);
    // The terminal has the driver's last ACK of the repeat receipt, and the tap records
    // before it forwards: the capture is complete.
    wait_for(&mut events, |e| *e == SimEvent::Done([0x06, 0x20])).await;
    let records = read_capture(&capture).unwrap();
    let conns: std::collections::BTreeSet<u32> = records.iter().map(|r| r.conn).collect();
    assert_eq!(
        conns.into_iter().collect::<Vec<_>>(),
        [1, 2],
        "two connections"
    );

    let (_child, addr, _lines) = replay(&capture);
    config.endpoint = Endpoint::Tcp { addr };
    let mut pt = Terminal::new(config, NoRetry).unwrap();
    let err = pt
        .authorize(PaymentRequest::new(Decimal::new(2500, 2)), NoEvents)
        .await
        .unwrap_err();
    assert!(
        err.is_outcome_unknown(),
        "the replay loses the completion again: {err}"
    );
    let replayed = pt.recover_last(&intent).await.unwrap();
    assert_eq!(
        replayed, verdict,
        "the same verdict from the recorded evidence"
    );
}
