//! Serial and TCP framing reproduce every test vector of `zvt.md` §3 byte for byte, and the
//! decoders report CRC, escape and length errors and resynchronise.

use bytes::{Bytes, BytesMut};
use zvt::frame::FrameError;
use zvt::frame::crc::crc16;
use zvt::frame::serial::{self, SerialDecoder, SerialItem};
use zvt::frame::tcp::TcpDecoder;

// Re-declared here on purpose (ds323x style): the tests must not trust the crate's constants.
const ACK: u8 = 0x06;
const NAK: u8 = 0x15;

/// (APDU, serial frame) pairs from zvt.md §3.
#[rustfmt::skip]
const VECTORS: &[(&[u8], &[u8])] = &[
    // ACK APDU.
    (&[0x80, 0x00, 0x00],
     &[0x10, 0x02, 0x80, 0x00, 0x00, 0x10, 0x03, 0xF5, 0x1F]),
    // Authorization 12.34.
    (&[0x06, 0x01, 0x07, 0x04, 0x00, 0x00, 0x00, 0x00, 0x12, 0x34],
     &[0x10, 0x02, 0x06, 0x01, 0x07, 0x04, 0x00, 0x00, 0x00, 0x00, 0x12, 0x34, 0x10, 0x03, 0x18, 0xF5]),
    // Authorization 10.00: the 0x10 is doubled.
    (&[0x06, 0x01, 0x07, 0x04, 0x00, 0x00, 0x00, 0x00, 0x10, 0x00],
     &[0x10, 0x02, 0x06, 0x01, 0x07, 0x04, 0x00, 0x00, 0x00, 0x00, 0x10, 0x10, 0x00, 0x10, 0x03, 0x62, 0x91]),
    // Registration, password 123456, config BA, EUR.
    (&[0x06, 0x00, 0x06, 0x12, 0x34, 0x56, 0xBA, 0x09, 0x78],
     &[0x10, 0x02, 0x06, 0x00, 0x06, 0x12, 0x34, 0x56, 0xBA, 0x09, 0x78, 0x10, 0x03, 0x24, 0xC3]),
    // A real terminal's completion (ecrterm tests).
    (&[0x06, 0x0F, 0x0B, 0xF0, 0xF0, 0xF7, 0x32, 0x2E, 0x31, 0x34, 0x2E, 0x31, 0x35, 0x00],
     &[0x10, 0x02, 0x06, 0x0F, 0x0B, 0xF0, 0xF0, 0xF7, 0x32, 0x2E, 0x31, 0x34, 0x2E, 0x31, 0x35, 0x00, 0x10, 0x03, 0xB1, 0x11]),
];

fn decode_all(dec: &mut SerialDecoder, bytes: &[u8]) -> Vec<Result<SerialItem, FrameError>> {
    let mut buf = BytesMut::from(bytes);
    let mut out = Vec::new();
    loop {
        match dec.decode(&mut buf) {
            Ok(Some(i)) => out.push(Ok(i)),
            Ok(None) => break,
            Err(e) => out.push(Err(e)),
        }
    }
    out
}

#[test]
fn crc_check_value() {
    assert_eq!(crc16(b"123456789"), 0x2189);
}

#[test]
fn serial_vectors_encode_and_decode() {
    for (apdu, frame) in VECTORS {
        let mut out = BytesMut::new();
        serial::encode_frame(apdu, &mut out);
        assert_eq!(&out[..], *frame, "encode {apdu:02X?}");
        let items = decode_all(&mut SerialDecoder::new(), frame);
        assert_eq!(
            items,
            vec![Ok(SerialItem::Frame(Bytes::copy_from_slice(apdu)))]
        );
    }
}

#[test]
fn serial_ack_nak_and_garbage() {
    let mut stream = vec![0xAA, ACK, 0x55, 0x10, 0x99, NAK];
    stream.extend_from_slice(VECTORS[1].1);
    stream.push(ACK);
    let items = decode_all(&mut SerialDecoder::new(), &stream);
    assert_eq!(
        items,
        vec![
            Ok(SerialItem::Ack),
            Ok(SerialItem::Nak),
            Ok(SerialItem::Frame(Bytes::copy_from_slice(VECTORS[1].0))),
            Ok(SerialItem::Ack),
        ]
    );
}

#[rustfmt::skip]
#[test]
fn serial_errors_then_resync() {
    // Bad CRC (last byte changed).
    let mut bad = VECTORS[1].1.to_vec();
    *bad.last_mut().unwrap() ^= 0xFF;
    // DLE followed by 0x41 inside a frame.
    let bad_escape: &[u8] = &[0x10, 0x02, 0x06, 0x01, 0x10, 0x41, 0x00];
    let mut stream = bad.clone();
    stream.extend_from_slice(bad_escape);
    stream.extend_from_slice(VECTORS[0].1);
    let items = decode_all(&mut SerialDecoder::new(), &stream);
    assert_eq!(items, vec![
        Err(FrameError::BadCrc { computed: 0xF518, received: 0x0A18 }),
        Err(FrameError::BadEscape { byte: 0x41 }),
        Ok(SerialItem::Frame(Bytes::from_static(&[0x80, 0x00, 0x00]))),
    ]);
    assert!(items.iter().all(|i| i.as_ref().err().is_none_or(FrameError::can_continue)));
}

#[test]
fn serial_dle_stx_inside_frame_restarts() {
    let mut stream = vec![0x10, 0x02, 0x06, 0x01, 0x10, 0x02];
    stream.extend_from_slice(&VECTORS[0].1[2..]);
    let items = decode_all(&mut SerialDecoder::new(), &stream);
    assert_eq!(
        items,
        vec![
            Err(FrameError::BadEscape { byte: 0x02 }),
            Ok(SerialItem::Frame(Bytes::from_static(&[0x80, 0x00, 0x00])))
        ]
    );
}

#[test]
fn serial_too_long_and_too_short() {
    let mut dec = SerialDecoder::with_max_apdu_len(4);
    let mut f = BytesMut::new();
    serial::encode_frame(&[0x06, 0x01, 0x03, 1, 2, 3], &mut f);
    let items = decode_all(&mut dec, &f);
    assert_eq!(items, vec![Err(FrameError::TooLong { max: 4 })]);
    assert!(!dec.in_frame());
    let mut f = BytesMut::new();
    serial::encode_frame(&[0x80, 0x00], &mut f);
    assert_eq!(
        decode_all(&mut dec, &f),
        vec![Err(FrameError::TooShort { len: 2 })]
    );
}

#[test]
fn serial_reset_drops_partial_frame() {
    let mut dec = SerialDecoder::new();
    let frame = VECTORS[1].1;
    assert!(decode_all(&mut dec, &frame[..7]).is_empty());
    assert!(dec.in_frame());
    dec.reset();
    assert!(!dec.in_frame());
    // The rest alone is noise; a full frame afterwards decodes.
    let mut stream = frame[7..].to_vec();
    stream.extend_from_slice(frame);
    let items = decode_all(&mut dec, &stream);
    assert_eq!(
        items,
        vec![Ok(SerialItem::Frame(Bytes::copy_from_slice(VECTORS[1].0)))]
    );
}

#[rustfmt::skip]
#[test]
fn tcp_plain_and_extended_lengths() {
    let mut dec = TcpDecoder::new();
    // Extended length: 06 01 FF 07 00 + 7 data bytes, then a short APDU.
    let mut buf = BytesMut::from(&[
        0x06, 0x01, 0xFF, 0x07, 0x00, 0x04, 0x00, 0x00, 0x00, 0x00, 0x12, 0x34,
        0x80, 0x00, 0x00,
    ][..]);
    assert_eq!(dec.decode(&mut buf).unwrap().unwrap().as_ref(),
        &[0x06, 0x01, 0xFF, 0x07, 0x00, 0x04, 0x00, 0x00, 0x00, 0x00, 0x12, 0x34]);
    assert_eq!(dec.decode(&mut buf).unwrap().unwrap().as_ref(), &[0x80, 0x00, 0x00]);
    assert_eq!(dec.decode(&mut buf).unwrap(), None);
    let apdu = zvt::Apdu::decode(&[0x06, 0x01, 0xFF, 0x07, 0x00, 0x04, 0, 0, 0, 0, 0x12, 0x34]).unwrap();
    assert_eq!(apdu.data().len(), 7);
}

#[test]
fn tcp_banner_is_skipped() {
    let mut dec = TcpDecoder::new();
    let mut buf = BytesMut::from(&b"Hello\r\n"[..]);
    buf.extend_from_slice(&[0x80, 0x00, 0x00]);
    assert_eq!(
        dec.decode(&mut buf).unwrap().unwrap().as_ref(),
        &[0x80, 0x00, 0x00]
    );
    assert_eq!(dec.skipped_bytes(), 7);
}

#[test]
fn tcp_length_checked_before_buffering() {
    let mut dec = TcpDecoder::with_max_data_len(100);
    let mut buf = BytesMut::from(&[0x06, 0xD3, 0xFF, 0x00, 0x10][..]);
    let err = dec.decode(&mut buf).unwrap_err();
    assert_eq!(
        err,
        FrameError::ApduTooLong {
            len: 4096,
            max: 100
        }
    );
    assert!(!err.can_continue());
    assert!(buf.capacity() < 4096);
}

#[test]
fn over_long_frame_with_stuffed_start_marker_is_dropped_whole() {
    // The APDU holds `10 02`, stuffed to `10 10 02`: after the length limit hits, that must
    // not start a bogus frame.
    let mut dec = SerialDecoder::with_max_apdu_len(4);
    let mut f = BytesMut::new();
    serial::encode_frame(&[0x06, 0xD1, 0x05, 0x00, 0x41, 0x10, 0x02, 0x42], &mut f);
    f.extend_from_slice(VECTORS[0].1);
    let items = decode_all(&mut dec, &f);
    assert_eq!(
        items,
        vec![
            Err(FrameError::TooLong { max: 4 }),
            Ok(SerialItem::Frame(Bytes::from_static(&[0x80, 0x00, 0x00])))
        ]
    );
}
