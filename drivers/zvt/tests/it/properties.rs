//! Property tests: the decoders never panic, stay bounded, and give the same items however
//! the input is split; encoding then decoding gives back the value.

use bytes::{Bytes, BytesMut};
use proptest::prelude::*;
use rust_decimal::Decimal;
use zvt::Apdu;
use zvt::apdu::bcd;
use zvt::command::*;
use zvt::frame::FrameError;
use zvt::frame::serial::{self, SerialDecoder, SerialItem};
use zvt::frame::tcp::TcpDecoder;

type SerialOut = Vec<Result<SerialItem, FrameError>>;

/// Feeds `chunks` one after the other, collecting every item and error.
fn serial_run(chunks: &[&[u8]], max: usize) -> SerialOut {
    let mut dec = SerialDecoder::with_max_apdu_len(max);
    let mut buf = BytesMut::new();
    let mut out = Vec::new();
    for c in chunks {
        buf.extend_from_slice(c);
        loop {
            match dec.decode(&mut buf) {
                Ok(Some(i)) => out.push(Ok(i)),
                Ok(None) => break,
                Err(e) => {
                    assert!(e.can_continue());
                    out.push(Err(e));
                }
            }
            assert!(dec.buffered_len() <= max);
        }
        assert!(
            buf.is_empty(),
            "the serial decoder consumes everything it is given"
        );
    }
    out
}

/// Same for TCP; stops at the first error that cannot be continued.
fn tcp_run(chunks: &[&[u8]], max: usize) -> Vec<Result<Bytes, FrameError>> {
    let mut dec = TcpDecoder::with_max_data_len(max);
    let mut buf = BytesMut::new();
    let mut out = Vec::new();
    for c in chunks {
        buf.extend_from_slice(c);
        loop {
            match dec.decode(&mut buf) {
                Ok(Some(i)) => out.push(Ok(i)),
                Ok(None) => break,
                Err(e) => {
                    assert!(!e.can_continue());
                    out.push(Err(e));
                    return out;
                }
            }
        }
    }
    out
}

fn split<'a>(data: &'a [u8], cuts: &[usize]) -> Vec<&'a [u8]> {
    let mut points: Vec<usize> = cuts.iter().map(|c| c % (data.len() + 1)).collect();
    points.sort_unstable();
    let mut out = Vec::new();
    let mut last = 0;
    for p in points {
        out.push(&data[last..p]);
        last = p;
    }
    out.push(&data[last..]);
    out
}

fn apdu_strategy() -> impl Strategy<Value = Vec<u8>> {
    (
        any::<u8>(),
        any::<u8>(),
        prop::collection::vec(any::<u8>(), 0..300),
    )
        .prop_map(|(c, i, d)| Apdu::new(c, i, d).unwrap().to_vec())
}

proptest! {
    #[test]
    fn serial_decoder_total_and_chunking_invariant(
        data in prop::collection::vec(any::<u8>(), 0..2000),
        cuts in prop::collection::vec(any::<usize>(), 0..20),
    ) {
        let whole = serial_run(&[&data], 64);
        prop_assert_eq!(serial_run(&split(&data, &cuts), 64), whole);
    }

    #[test]
    fn serial_frames_survive_garbage_and_splitting(
        apdus in prop::collection::vec(apdu_strategy(), 1..6),
        garbage in prop::collection::vec(
            prop::collection::vec(any::<u8>().prop_filter("no DLE/ACK/NAK", |b| ![0x10, 0x06, 0x15].contains(b)), 0..20), 6),
        cuts in prop::collection::vec(any::<usize>(), 0..20),
    ) {
        let mut stream = Vec::new();
        for (i, a) in apdus.iter().enumerate() {
            stream.extend_from_slice(&garbage[i]);
            let mut f = BytesMut::new();
            serial::encode_frame(a, &mut f);
            stream.extend_from_slice(&f);
        }
        let expected: SerialOut = apdus.iter().map(|a| Ok(SerialItem::Frame(Bytes::copy_from_slice(a)))).collect();
        prop_assert_eq!(serial_run(&split(&stream, &cuts), serial::DEFAULT_MAX_APDU_LEN), expected);
    }

    #[test]
    fn tcp_decoder_total_and_chunking_invariant(
        data in prop::collection::vec(any::<u8>(), 0..2000),
        cuts in prop::collection::vec(any::<usize>(), 0..20),
    ) {
        let whole = tcp_run(&[&data], 500);
        prop_assert_eq!(tcp_run(&split(&data, &cuts), 500), whole);
    }

    #[test]
    fn tcp_apdus_round_trip(
        apdus in prop::collection::vec(apdu_strategy(), 1..6),
        cuts in prop::collection::vec(any::<usize>(), 0..20),
    ) {
        // Only APDUs whose class the decoder accepts as a start byte.
        let apdus: Vec<Vec<u8>> = apdus.into_iter().map(|mut a| { a[0] = 0x06; a }).collect();
        let stream: Vec<u8> = apdus.concat();
        let expected: Vec<Result<Bytes, FrameError>> = apdus.iter().map(|a| Ok(Bytes::copy_from_slice(a))).collect();
        prop_assert_eq!(tcp_run(&split(&stream, &cuts), zvt::apdu::MAX_DATA_LEN), expected);
    }

    #[test]
    fn message_decoders_are_total(data in prop::collection::vec(any::<u8>(), 0..400)) {
        if let Ok(apdu) = Apdu::decode(&data) {
            prop_assert_eq!(apdu.to_vec(), data.clone());
            // Decoding never panics; whatever decodes re-encodes and decodes to the same.
            if let Ok(m) = PtMessage::from_apdu(&apdu) {
                let again = m.to_apdu().unwrap();
                prop_assert_eq!(PtMessage::from_apdu(&again).unwrap(), m);
            }
            if let Ok(m) = EcrMessage::from_apdu(&apdu) {
                let again = m.to_apdu().unwrap();
                prop_assert_eq!(EcrMessage::from_apdu(&again).unwrap(), m);
            }
        }
    }

    #[test]
    fn known_messages_with_random_data(
        control in prop::sample::select(vec![
            [0x06, 0x00], [0x06, 0x01], [0x06, 0x22], [0x06, 0x23], [0x06, 0x24], [0x06, 0x25],
            [0x06, 0x30], [0x05, 0x01], [0x06, 0x50], [0x06, 0x20], [0x06, 0xE0], [0x06, 0xE2],
            [0x06, 0xC0], [0x06, 0x0F], [0x06, 0x1E], [0x04, 0x0F], [0x04, 0xFF], [0x06, 0xD1],
            [0x06, 0xD3],
        ]),
        data in prop::collection::vec(
            prop_oneof![any::<u8>(), prop::sample::select(vec![0x04, 0x06, 0x0B, 0x22, 0x27, 0x3C, 0x87, 0x00, 0xF0, 0xF1])],
            0..60),
    ) {
        let apdu = Apdu::new(control[0], control[1], data).unwrap();
        if let Ok(m) = PtMessage::from_apdu(&apdu) {
            let again = m.to_apdu().unwrap();
            prop_assert_eq!(PtMessage::from_apdu(&again).unwrap(), m);
        }
        if let Ok(m) = EcrMessage::from_apdu(&apdu) {
            let again = m.to_apdu().unwrap();
            prop_assert_eq!(EcrMessage::from_apdu(&again).unwrap(), m);
        }
    }

    #[test]
    fn amounts_round_trip(minor in 0u64..=bcd::MAX_AMOUNT_MINOR) {
        let amount = Decimal::new(minor as i64, 2);
        let b = bcd::amount_to_bcd(amount).unwrap();
        prop_assert_eq!(bcd::amount_from_bcd(&b).unwrap(), amount);
    }

    #[test]
    fn payment_requests_round_trip(
        minor in 0u64..=bcd::MAX_AMOUNT_MINOR,
        currency in prop::option::of(0u16..1000),
        payment_type in prop::option::of(any::<u8>()),
        timeout in prop::option::of(any::<u8>()),
        text in prop::option::of("[ -~]{0,40}"),
        trace in prop::option::of(0u32..1_000_000),
        reserve in any::<bool>(),
    ) {
        // 0B is listed for 06 22 only (an 06 01 with it does not encode).
        let trace = if reserve { trace } else { None };
        let req = PaymentRequest {
            currency, payment_type, timeout, additional_text: text, trace,
            ..PaymentRequest::new(Decimal::new(minor as i64, 2))
        };
        let cmd = if reserve { EcrCommand::Reservation(req) } else { EcrCommand::Authorization(req) };
        let bytes = cmd.to_apdu().unwrap().to_vec();
        let back = EcrCommand::from_apdu(&Apdu::decode(&bytes).unwrap()).unwrap();
        prop_assert_eq!(back, cmd);
    }

    #[test]
    fn status_information_round_trips(
        result in prop::option::of(any::<u8>()),
        minor in prop::option::of(0u64..=bcd::MAX_AMOUNT_MINOR),
        trace in prop::option::of(0u32..1_000_000),
        receipt in prop::option::of(0u16..10_000),
        pan in prop::option::of("[0-9*]{12,19}"),
        name in prop::option::of("[ -~]{0,20}"),
    ) {
        let si = StatusInformation {
            result_code: result,
            amount: minor.map(|m| Decimal::new(m as i64, 2)),
            trace, receipt,
            card_number: pan.map(|p| zvt::apdu::card::CardNumber::from_digits(&p).unwrap()),
            card_name: name,
            ..Default::default()
        };
        let m = PtMessage::StatusInformation(Box::new(si));
        let apdu = m.to_apdu().unwrap();
        // Serial framing round trip too.
        let mut f = BytesMut::new();
        serial::encode_apdu(&apdu, &mut f);
        let items = serial_run(&[&f], serial::DEFAULT_MAX_APDU_LEN);
        let [Ok(SerialItem::Frame(raw))] = &items[..] else { panic!("{items:?}") };
        prop_assert_eq!(PtMessage::from_apdu(&Apdu::decode(raw).unwrap()).unwrap(), m);
    }
}
