//! Golden fixtures (`tests/fixtures/`): every message of each scenario decodes and
//! re-encodes byte for byte, and the exchange fed with the terminal's side writes exactly
//! the register's side.

use bytes::{Bytes, BytesMut};
use std::path::PathBuf;
use std::time::Instant;
use zvt::Apdu;
use zvt::command::*;
use zvt::exchange::*;
use zvt::frame::serial::{self, SerialDecoder, SerialItem};
use zvt::frame::tcp::TcpDecoder;

fn read(name: &str) -> Vec<u8> {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name);
    std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

fn serial_items(bytes: &[u8]) -> Vec<SerialItem> {
    let mut dec = SerialDecoder::new();
    let mut buf = BytesMut::from(bytes);
    let mut out = Vec::new();
    while let Some(i) = dec
        .decode(&mut buf)
        .expect("fixture frames are well-formed")
    {
        out.push(i);
    }
    assert_eq!(dec.skipped_bytes(), 0);
    out
}

fn tcp_apdus(bytes: &[u8]) -> Vec<Bytes> {
    let mut dec = TcpDecoder::new();
    let mut buf = BytesMut::from(bytes);
    let mut out = Vec::new();
    while let Some(a) = dec.decode(&mut buf).unwrap() {
        out.push(a);
    }
    assert!(buf.is_empty());
    out
}

fn check_ecr_apdu(raw: &[u8]) -> EcrMessage {
    let m = EcrMessage::from_apdu(&Apdu::decode(raw).unwrap()).unwrap();
    assert!(!matches!(m, EcrMessage::Other(_)), "{m:?}");
    assert_eq!(m.to_apdu().unwrap().to_vec(), raw);
    m
}

fn check_pt_apdu(raw: &[u8]) -> PtMessage {
    let m = PtMessage::from_apdu(&Apdu::decode(raw).unwrap()).unwrap();
    assert!(!matches!(m, PtMessage::Other(_)), "{m:?}");
    assert_eq!(m.to_apdu().unwrap().to_vec(), raw);
    m
}

/// Re-frames every serial item and checks the stream is rebuilt exactly.
fn reframe(items: &[SerialItem]) -> Vec<u8> {
    let mut out = BytesMut::new();
    for i in items {
        match i {
            SerialItem::Frame(a) => serial::encode_frame(a, &mut out),
            SerialItem::Ack => out.extend_from_slice(&[0x06]),
            SerialItem::Nak => out.extend_from_slice(&[0x15]),
        }
    }
    out.to_vec()
}

/// Starts `cmd`, feeds every PT input, returns the concatenated transmits and the events.
fn replay(cfg: ExchangeConfig, cmd: &EcrCommand, inputs: Vec<Input>) -> (Vec<u8>, Vec<Event>) {
    let t0 = Instant::now();
    let mut ex = Exchange::new(cfg);
    ex.start(cmd, t0).unwrap();
    let mut wire = Vec::new();
    let mut events = Vec::new();
    let mut drain = |ex: &mut Exchange, wire: &mut Vec<u8>| {
        events.extend(std::iter::from_fn(|| ex.poll_event()));
        while let Some(b) = ex.poll_transmit() {
            wire.extend_from_slice(&b);
        }
    };
    drain(&mut ex, &mut wire);
    for i in inputs {
        ex.handle_input(i, t0);
        drain(&mut ex, &mut wire);
    }
    assert!(ex.is_idle());
    (wire, events)
}

#[test]
fn serial_payment_approved() {
    let ecr = read("serial_payment_approved_ecr_pt.bin");
    let pt = read("serial_payment_approved_pt_ecr.bin");
    let ecr_items = serial_items(&ecr);
    let pt_items = serial_items(&pt);
    assert_eq!(reframe(&ecr_items), ecr);
    assert_eq!(reframe(&pt_items), pt);

    let mut cmd = None;
    for i in &ecr_items {
        if let SerialItem::Frame(a) = i
            && let EcrMessage::Command(c) = check_ecr_apdu(a)
        {
            cmd = Some(c);
        }
    }
    let cmd = cmd.expect("a command");
    let mut saw_pan = false;
    for i in &pt_items {
        if let SerialItem::Frame(a) = i
            && let PtMessage::StatusInformation(si) = check_pt_apdu(a)
        {
            let pan = si.card_number.as_ref().unwrap();
            assert!(pan.is_masked());
            assert_eq!(pan.masked(), "************1111");
            saw_pan = true;
        }
    }
    assert!(saw_pan);

    let inputs = pt_items.into_iter().map(Input::from).collect();
    let (wire, events) = replay(ExchangeConfig::serial(), &cmd, inputs);
    assert_eq!(
        wire, ecr,
        "the exchange writes exactly the recorded ECR side"
    );
    let Some(Event::Finished(Ok(Reply::Completed { completion, status }))) = events.last() else {
        panic!("{events:?}")
    };
    assert_eq!(completion.terminal_id, Some(10000001));
    assert_eq!(status[0].amount, Some(rust_decimal::dec!(10.00)));
    assert_eq!((status[0].trace, status[0].receipt), (Some(123), Some(42)));
}

fn tcp_scenario(name: &str) -> (Vec<u8>, Vec<Event>, Vec<PtMessage>) {
    let ecr = read(&format!("{name}_ecr_pt.bin"));
    let pt = read(&format!("{name}_pt_ecr.bin"));
    let ecr_apdus = tcp_apdus(&ecr);
    let pt_apdus = tcp_apdus(&pt);
    let EcrMessage::Command(cmd) = check_ecr_apdu(&ecr_apdus[0]) else {
        panic!()
    };
    for a in &ecr_apdus[1..] {
        assert_eq!(check_ecr_apdu(a), EcrMessage::Ack);
    }
    let msgs = pt_apdus.iter().map(|a| check_pt_apdu(a)).collect();
    let inputs = pt_apdus.into_iter().map(Input::Apdu).collect();
    let (wire, events) = replay(ExchangeConfig::tcp(), &cmd, inputs);
    assert_eq!(
        wire, ecr,
        "the exchange writes exactly the recorded ECR side"
    );
    (wire, events, msgs)
}

#[test]
fn tcp_payment_aborted() {
    let (_, events, msgs) = tcp_scenario("tcp_payment_aborted");
    assert_eq!(
        msgs[1],
        PtMessage::IntermediateStatus(IntermediateStatus {
            status: 0x0A,
            timeout: Some(60),
            tlv: vec![]
        })
    );
    assert!(events.contains(&Event::PrintLine(PrintLine {
        attribute: 0,
        text: "ABBRUCH".into()
    })));
    assert_eq!(
        events.last(),
        Some(&Event::Finished(Ok(Reply::Aborted {
            abort: Abort::new(0x6C),
            status: vec![]
        })))
    );
}

#[test]
fn tcp_status_enquiry() {
    let (_, events, _) = tcp_scenario("tcp_status_enquiry");
    let Some(Event::Finished(Ok(Reply::Completed { completion, .. }))) = events.last() else {
        panic!("{events:?}")
    };
    assert_eq!(completion.sw_version.as_deref(), Some("1.02.03"));
    assert_eq!(completion.terminal_status, Some(0));
}
