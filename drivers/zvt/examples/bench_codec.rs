//! Codec throughput, compared with the serial line's own speed.
//!
//! Run in release mode: `cargo run -p lane-zvt --release --example bench_codec`.
//! It prints frames/s and MB/s for encoding and decoding an authorization (06 01) and a
//! status information (04 0F), serial and TCP, next to the wire time of the same frame at
//! 9600 baud 8N2 (11 bits per byte).

use bytes::BytesMut;
use rust_decimal::Decimal;
use std::hint::black_box;
use std::time::{Duration, Instant};
use zvt::Apdu;
use zvt::apdu::card::CardNumber;
use zvt::command::{EcrCommand, PaymentRequest, PtMessage, StatusInformation};
use zvt::frame::serial::{self, SerialDecoder, SerialItem};
use zvt::frame::tcp::TcpDecoder;

const BAUD: f64 = 9600.0;
const BITS_PER_BYTE: f64 = 11.0; // start + 8 data + 2 stop

fn measure(name: &str, bytes_per_op: usize, mut op: impl FnMut()) -> f64 {
    // Warm up, then run for about a second.
    for _ in 0..10_000 {
        op();
    }
    let mut n: u64 = 0;
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(1) {
        for _ in 0..10_000 {
            op();
        }
        n += 10_000;
    }
    let secs = start.elapsed().as_secs_f64();
    let per_s = n as f64 / secs;
    println!(
        "{name:<42} {:>12.0} frames/s {:>9.1} MB/s {:>9.3} µs/frame",
        per_s,
        per_s * bytes_per_op as f64 / 1e6,
        1e6 / per_s
    );
    per_s
}

fn main() {
    let auth = EcrCommand::Authorization(PaymentRequest {
        currency: Some(978),
        ..PaymentRequest::new(Decimal::new(1000, 2))
    });
    let auth_apdu = auth.to_apdu().expect("encodes");
    let mut auth_frame = BytesMut::new();
    serial::encode_apdu(&auth_apdu, &mut auth_frame);

    let si = PtMessage::StatusInformation(Box::new(StatusInformation {
        result_code: Some(0),
        amount: Some(Decimal::new(1000, 2)),
        trace: Some(123),
        time: Some(101530),
        date: Some(1128),
        card_number: Some(CardNumber::from_digits("999900******1111").expect("digits")),
        terminal_id: Some(10000001),
        currency: Some(978),
        receipt: Some(42),
        card_type: Some(5),
        card_name: Some("TEST CARD".into()),
        ..Default::default()
    }));
    let si_apdu = si.to_apdu().expect("encodes");
    let mut si_frame = BytesMut::new();
    serial::encode_apdu(&si_apdu, &mut si_frame);

    println!("lane-zvt codec benchmark (single thread)\n");
    let enc = measure("encode 06 01 -> serial frame", auth_frame.len(), || {
        let apdu = black_box(&auth).to_apdu().expect("encodes");
        let mut out = BytesMut::with_capacity(32);
        serial::encode_apdu(&apdu, &mut out);
        black_box(out);
    });
    let dec = measure("decode serial frame -> 06 01", auth_frame.len(), || {
        let mut dec = SerialDecoder::new();
        let mut buf = BytesMut::from(&black_box(&auth_frame)[..]);
        let Ok(Some(SerialItem::Frame(raw))) = dec.decode(&mut buf) else {
            panic!("frame expected")
        };
        let cmd = EcrCommand::from_apdu(&Apdu::decode(&raw).expect("apdu")).expect("command");
        black_box(cmd);
    });
    measure("encode 04 0F -> serial frame", si_frame.len(), || {
        let apdu = black_box(&si).to_apdu().expect("encodes");
        let mut out = BytesMut::with_capacity(96);
        serial::encode_apdu(&apdu, &mut out);
        black_box(out);
    });
    measure("decode serial frame -> 04 0F", si_frame.len(), || {
        let mut dec = SerialDecoder::new();
        let mut buf = BytesMut::from(&black_box(&si_frame)[..]);
        let Ok(Some(SerialItem::Frame(raw))) = dec.decode(&mut buf) else {
            panic!("frame expected")
        };
        let msg = PtMessage::from_apdu(&Apdu::decode(&raw).expect("apdu")).expect("message");
        black_box(msg);
    });
    let si_bytes = si_apdu.to_vec();
    measure("decode TCP APDU -> 04 0F", si_bytes.len(), || {
        let mut dec = TcpDecoder::new();
        let mut buf = BytesMut::from(&black_box(&si_bytes)[..]);
        let raw = dec.decode(&mut buf).expect("ok").expect("apdu");
        let msg = PtMessage::from_apdu(&Apdu::decode(&raw).expect("apdu")).expect("message");
        black_box(msg);
    });

    let wire_s = auth_frame.len() as f64 * BITS_PER_BYTE / BAUD;
    println!(
        "\n06 01 frame: {} bytes; at 9600 baud 8N2 the wire needs {:.2} ms ({:.0} frames/s).",
        auth_frame.len(),
        wire_s * 1e3,
        1.0 / wire_s
    );
    println!(
        "Codec time per 06 01 frame is {:.5}% (encode) / {:.5}% (decode) of its wire time.",
        100.0 / enc / wire_s,
        100.0 / dec / wire_s
    );
}
