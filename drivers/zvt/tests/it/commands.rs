//! Every command (ECR → PT) and every PT message encodes to the exact bytes below and
//! decodes back to the same value; malformed APDUs give the listed typed errors.

use rust_decimal::dec;
use zvt::apdu::card::CardNumber;
use zvt::apdu::tlv::TlvItem;
use zvt::command::*;
use zvt::{Apdu, CodecError};

fn apdu(bytes: &[u8]) -> Apdu {
    Apdu::decode(bytes).expect("well-formed APDU in table")
}

fn check_ecr(cmd: EcrCommand, bytes: &[u8]) {
    assert_eq!(cmd.to_apdu().unwrap().to_vec(), bytes, "encode {cmd:?}");
    assert_eq!(
        EcrCommand::from_apdu(&apdu(bytes)).unwrap(),
        cmd,
        "decode {bytes:02X?}"
    );
    assert_eq!(
        EcrMessage::from_apdu(&apdu(bytes)).unwrap(),
        EcrMessage::Command(cmd)
    );
}

fn check_pt(msg: PtMessage, bytes: &[u8]) {
    assert_eq!(msg.to_apdu().unwrap().to_vec(), bytes, "encode {msg:?}");
    assert_eq!(
        PtMessage::from_apdu(&apdu(bytes)).unwrap(),
        msg,
        "decode {bytes:02X?}"
    );
}

#[rustfmt::skip]
#[test]
fn ecr_commands_both_directions() {
    check_ecr(EcrCommand::Registration(Registration { password: 123456, config: 0xBA, currency: Some(EUR), service_byte: None, tlv: vec![] }),
        &[0x06, 0x00, 0x06, 0x12, 0x34, 0x56, 0xBA, 0x09, 0x78]);
    check_ecr(EcrCommand::Registration(Registration { password: 123456, config: 0xBA, currency: Some(EUR), service_byte: Some(0x01), tlv: vec![] }),
        &[0x06, 0x00, 0x08, 0x12, 0x34, 0x56, 0xBA, 0x09, 0x78, 0x03, 0x01]);
    check_ecr(EcrCommand::Registration(Registration { password: 0, config: 0x08, currency: None, service_byte: Some(0x03), tlv: vec![] }),
        &[0x06, 0x00, 0x06, 0x00, 0x00, 0x00, 0x08, 0x03, 0x03]);
    check_ecr(EcrCommand::Authorization(PaymentRequest::new(dec!(12.34))),
        &[0x06, 0x01, 0x07, 0x04, 0x00, 0x00, 0x00, 0x00, 0x12, 0x34]);
    check_ecr(EcrCommand::Authorization(PaymentRequest {
            currency: Some(EUR), payment_type: Some(0x40), timeout: Some(60), max_status_infos: Some(5),
            ..PaymentRequest::new(dec!(25.00)) }),
        &[0x06, 0x01, 0x10, 0x04, 0x00, 0x00, 0x00, 0x00, 0x25, 0x00, 0x49, 0x09, 0x78, 0x19, 0x40,
          0x01, 0x3C, 0x02, 0x05]);
    check_ecr(EcrCommand::Reservation(PaymentRequest { trace: Some(42), ..PaymentRequest::new(dec!(50)) }),
        &[0x06, 0x22, 0x0B, 0x04, 0x00, 0x00, 0x00, 0x00, 0x50, 0x00, 0x0B, 0x00, 0x00, 0x42]);
    check_ecr(EcrCommand::PartialReversal(PartialReversal::list_open()),
        &[0x06, 0x23, 0x03, 0x87, 0xFF, 0xFF]);
    check_ecr(EcrCommand::PartialReversal(PartialReversal { receipt: ReceiptSelector::Number(12), amount: Some(dec!(7.50)), ..PartialReversal::list_open() }),
        &[0x06, 0x23, 0x0A, 0x87, 0x00, 0x12, 0x04, 0x00, 0x00, 0x00, 0x00, 0x07, 0x50]);
    check_ecr(EcrCommand::BookTotal(BookTotal::new(12, Some(dec!(42)))),
        &[0x06, 0x24, 0x0A, 0x87, 0x00, 0x12, 0x04, 0x00, 0x00, 0x00, 0x00, 0x42, 0x00]);
    check_ecr(EcrCommand::PreAuthReversal(PreAuthReversal { payment_type: None, currency: None, receipt: 12, tlv: vec![] }),
        &[0x06, 0x25, 0x03, 0x87, 0x00, 0x12]);
    check_ecr(EcrCommand::PreAuthReversal(PreAuthReversal { payment_type: Some(0x40), currency: None, receipt: 12, tlv: vec![] }),
        &[0x06, 0x25, 0x05, 0x19, 0x40, 0x87, 0x00, 0x12]);
    check_ecr(EcrCommand::Reversal(Reversal { password: 123456, receipt: 34, tlv: vec![] }),
        &[0x06, 0x30, 0x06, 0x12, 0x34, 0x56, 0x87, 0x00, 0x34]);
    check_ecr(EcrCommand::Abort, &[0x06, 0xB0, 0x00]);
    check_ecr(EcrCommand::StatusEnquiry(StatusEnquiry::default()), &[0x05, 0x01, 0x00]);
    check_ecr(EcrCommand::StatusEnquiry(StatusEnquiry { password: Some(123456), service_byte: Some(1), tlv: vec![] }),
        &[0x05, 0x01, 0x05, 0x12, 0x34, 0x56, 0x03, 0x01]);
    check_ecr(EcrCommand::StatusEnquiry(StatusEnquiry { password: None, service_byte: Some(1), tlv: vec![] }),
        &[0x05, 0x01, 0x02, 0x03, 0x01]);
    check_ecr(EcrCommand::EndOfDay(EndOfDay { password: 123456 }), &[0x06, 0x50, 0x03, 0x12, 0x34, 0x56]);
    check_ecr(EcrCommand::RepeatReceipt(RepeatReceipt { password: 123456, service_byte: None }),
        &[0x06, 0x20, 0x03, 0x12, 0x34, 0x56]);
    check_ecr(EcrCommand::DisplayText(DisplayText { duration: Some(5), lines: vec!["Hi".into()], beeps: None }),
        &[0x06, 0xE0, 0x07, 0xF0, 0x05, 0xF1, 0xF0, 0xF2, 0x48, 0x69]);
    check_ecr(EcrCommand::NumericInput(NumericInput { lines: vec!["PIN?".into()], min_len: Some(4), max_len: Some(6), ..Default::default() }),
        &[0x06, 0xE2, 0x0B, 0xF1, 0xF0, 0xF4, 0x50, 0x49, 0x4E, 0x3F, 0xE0, 0x04, 0xE9, 0x06]);
    check_ecr(EcrCommand::ReadCard(ReadCard { timeout_s: 30, payment_type: None, dialog_control: None, tlv: vec![] }),
        &[0x06, 0xC0, 0x01, 0x1E]);
    check_ecr(EcrCommand::ReadCard(ReadCard { timeout_s: 30, payment_type: None, dialog_control: Some(1), tlv: vec![TlvItem::new(0x1F15, [0x01])] }),
        &[0x06, 0xC0, 0x09, 0x1E, 0xFC, 0x01, 0x06, 0x04, 0x1F, 0x15, 0x01, 0x01]);
}

#[rustfmt::skip]
#[test]
fn ecr_decode_errors() {
    let cases: &[(&[u8], CodecError)] = &[
        (&[0x06, 0x01, 0x00], CodecError::Missing { what: "amount (BMP 04)" }),
        (&[0x06, 0x01, 0x07, 0x04, 0x00, 0x00, 0x00, 0x00, 0x12, 0x3A], CodecError::BadBcd { what: "amount" }),
        (&[0x06, 0x01, 0x02, 0x27, 0x00], CodecError::UnexpectedBmp { tag: 0x27, message: "06 01 Authorization" }),
        (&[0x06, 0x01, 0x02, 0x99, 0x00], CodecError::UnknownBmp { tag: 0x99 }),
        (&[0x06, 0x01, 0x03, 0x04, 0x00, 0x00], CodecError::BmpTruncated { tag: 0x04 }),
        (&[0x06, 0x00, 0x02, 0x12, 0x34], CodecError::Missing { what: "password" }),
        (&[0x06, 0x00, 0x03, 0x12, 0x34, 0x56], CodecError::Missing { what: "config byte" }),
        (&[0x06, 0x30, 0x03, 0x12, 0x34, 0x56], CodecError::Missing { what: "receipt number (BMP 87)" }),
        (&[0x06, 0xB0, 0x01, 0x00], CodecError::TrailingBytes { count: 1, message: "06 B0 Abort" }),
        (&[0x06, 0xE0, 0x03, 0xF1, 0xF0, 0xF5], CodecError::BmpTruncated { tag: 0xF1 }),
        (&[0x06, 0xE0, 0x03, 0xF1, 0x0A, 0x00], CodecError::BadVarLength { tag: 0xF1 }),
        (&[0x06, 0xC0, 0x00], CodecError::Missing { what: "time-out byte" }),
        (&[0x06, 0x23, 0x03, 0x87, 0x12, 0xFF], CodecError::BadBcd { what: "receipt number" }),
        (&[0x06, 0x50, 0x04, 0x12, 0x34, 0x56, 0x00], CodecError::TrailingBytes { count: 1, message: "06 50 End of Day" }),
    ];
    for (bytes, err) in cases {
        assert_eq!(EcrCommand::from_apdu(&apdu(bytes)).unwrap_err(), *err, "{bytes:02X?}");
    }
    assert_eq!(
        Apdu::decode(&[0x06, 0x01, 0x08, 0x04, 0x00, 0x00, 0x00, 0x00, 0x12, 0x34]).unwrap_err(),
        CodecError::LengthMismatch { declared: 8, actual: 7 }
    );
    assert_eq!(Apdu::decode(&[0x06, 0x01]).unwrap_err(), CodecError::Truncated { needed: 3, available: 2 });
    assert_eq!(Apdu::decode(&[0x06, 0x01, 0xFF, 0x01]).unwrap_err(), CodecError::Truncated { needed: 5, available: 4 });
    // Unknown control fields are not errors at the message level.
    assert_eq!(EcrMessage::from_apdu(&apdu(&[0x06, 0x93, 0x00])).unwrap(), EcrMessage::Other(apdu(&[0x06, 0x93, 0x00])));
    assert_eq!(EcrMessage::from_apdu(&apdu(&[0x80, 0x00, 0x00])).unwrap(), EcrMessage::Ack);
    assert_eq!(EcrMessage::from_apdu(&apdu(&[0x84, 0x9C, 0x00])).unwrap(), EcrMessage::Nack(0x9C));
}

#[test]
fn ecr_encode_rejects_bad_values() {
    let neg = EcrCommand::Authorization(PaymentRequest::new(dec!(-1.00)));
    assert_eq!(
        neg.to_apdu().unwrap_err(),
        CodecError::Amount { reason: "negative" }
    );
    let frac = EcrCommand::Authorization(PaymentRequest::new(dec!(1.005)));
    assert!(matches!(
        frac.to_apdu().unwrap_err(),
        CodecError::Amount { .. }
    ));
    let pw = EcrCommand::EndOfDay(EndOfDay {
        password: 1_000_000,
    });
    assert_eq!(
        pw.to_apdu().unwrap_err(),
        CodecError::OutOfRange { what: "password" }
    );
    let lines = EcrCommand::DisplayText(DisplayText {
        lines: vec![String::new(); 9],
        ..Default::default()
    });
    assert!(lines.to_apdu().is_err());
    // 0B and 3B are listed for 06 22 only (zvt.md §5): an 06 01 with them is not built.
    let traced = EcrCommand::Authorization(PaymentRequest {
        trace: Some(7),
        ..PaymentRequest::new(dec!(1))
    });
    assert_eq!(
        traced.to_apdu().unwrap_err(),
        CodecError::UnexpectedBmp {
            tag: 0x0B,
            message: "06 01 Authorization"
        }
    );
    let aid = EcrCommand::Authorization(PaymentRequest {
        aid: Some([1; 8]),
        ..PaymentRequest::new(dec!(1))
    });
    assert_eq!(
        aid.to_apdu().unwrap_err(),
        CodecError::UnexpectedBmp {
            tag: 0x3B,
            message: "06 01 Authorization"
        }
    );
    let reservation = EcrCommand::Reservation(PaymentRequest {
        trace: Some(7),
        aid: Some([1; 8]),
        ..PaymentRequest::new(dec!(1))
    });
    assert!(reservation.to_apdu().is_ok());
}

#[rustfmt::skip]
#[test]
fn pt_messages_both_directions() {
    check_pt(PtMessage::Ack, &[0x80, 0x00, 0x00]);
    check_pt(PtMessage::Nack(0x6B), &[0x84, 0x6B, 0x00]);
    // The real terminal's completion after a status enquiry (ecrterm's tests).
    check_pt(PtMessage::Completion(Completion { sw_version: Some("2.14.15".into()), terminal_status: Some(0), ..Default::default() }),
        &[0x06, 0x0F, 0x0B, 0xF0, 0xF0, 0xF7, 0x32, 0x2E, 0x31, 0x34, 0x2E, 0x31, 0x35, 0x00]);
    check_pt(PtMessage::Completion(Completion { result_code: Some(0), terminal_id: Some(12345678), currency: Some(EUR), ..Default::default() }),
        &[0x06, 0x0F, 0x0A, 0x27, 0x00, 0x29, 0x12, 0x34, 0x56, 0x78, 0x49, 0x09, 0x78]);
    check_pt(PtMessage::Completion(Completion { result_code: Some(0), additional_text: Some("1234".into()), ..Default::default() }),
        &[0x06, 0x0F, 0x0A, 0x27, 0x00, 0x3C, 0xF0, 0xF0, 0xF4, 0x31, 0x32, 0x33, 0x34]);
    check_pt(PtMessage::Completion(Completion::default()), &[0x06, 0x0F, 0x00]);
    check_pt(PtMessage::Abort(Abort::new(0x6C)), &[0x06, 0x1E, 0x01, 0x6C]);
    check_pt(PtMessage::Abort(Abort { receipt: Some(12), ..Abort::new(0xB8) }),
        &[0x06, 0x1E, 0x04, 0xB8, 0x87, 0x00, 0x12]);
    check_pt(PtMessage::IntermediateStatus(IntermediateStatus { status: 0x0A, timeout: None, tlv: vec![] }),
        &[0x04, 0xFF, 0x01, 0x0A]);
    check_pt(PtMessage::IntermediateStatus(IntermediateStatus { status: 0x0A, timeout: Some(60), tlv: vec![] }),
        &[0x04, 0xFF, 0x02, 0x0A, 0x3C]);
    check_pt(PtMessage::IntermediateStatus(IntermediateStatus { status: 0xFF, timeout: Some(6), tlv: vec![TlvItem::new(0x24, [0x01])] }),
        &[0x04, 0xFF, 0x07, 0xFF, 0x06, 0x06, 0x03, 0x24, 0x01, 0x01]);
    check_pt(PtMessage::StatusInformation(Box::new(StatusInformation {
            result_code: Some(0), amount: Some(dec!(12.34)), trace: Some(123), time: Some(101530),
            date: Some(1128), expiry: Some(2812), payment_type: Some(0x40),
            card_number: Some(CardNumber::from_digits("670000******1234").unwrap()),
            terminal_id: Some(12345678), currency: Some(EUR), receipt: Some(42), card_type: Some(5),
            card_name: Some("TEST".into()), ..Default::default() })),
        &[0x04, 0x0F, 0x38,
          0x27, 0x00,
          0x04, 0x00, 0x00, 0x00, 0x00, 0x12, 0x34,
          0x0B, 0x00, 0x01, 0x23,
          0x0C, 0x10, 0x15, 0x30,
          0x0D, 0x11, 0x28,
          0x0E, 0x28, 0x12,
          0x19, 0x40,
          0x22, 0xF0, 0xF8, 0x67, 0x00, 0x00, 0xEE, 0xEE, 0xEE, 0x12, 0x34,
          0x29, 0x12, 0x34, 0x56, 0x78,
          0x49, 0x09, 0x78,
          0x87, 0x00, 0x42,
          0x8A, 0x05,
          0x8B, 0xF0, 0xF4, 0x54, 0x45, 0x53, 0x54]);
    check_pt(PtMessage::PrintLine(PrintLine { attribute: 0, text: "Hello".into() }),
        &[0x06, 0xD1, 0x06, 0x00, 0x48, 0x65, 0x6C, 0x6C, 0x6F]);
    check_pt(PtMessage::PrintTextBlock(PrintTextBlock::from_lines(&["AB".into()], None).unwrap()),
        &[0x06, 0xD3, 0x08, 0x06, 0x06, 0x25, 0x04, 0x07, 0x02, 0x41, 0x42]);
    check_pt(PtMessage::Other(apdu(&[0x06, 0x93, 0x00])), &[0x06, 0x93, 0x00]);
}

#[test]
fn pt_extended_length_round_trip() {
    let text = "x".repeat(300);
    let msg = PtMessage::StatusInformation(Box::new(StatusInformation {
        additional_text: Some(text.clone()),
        ..Default::default()
    }));
    let bytes = msg.to_apdu().unwrap().to_vec();
    // 3C F0 F3 F0 0F0... = 1 + 3 + 300 = 304 = 0x0130 data bytes, little-endian.
    assert_eq!(
        &bytes[..8],
        &[0x04, 0x0F, 0xFF, 0x30, 0x01, 0x3C, 0xF3, 0xF0]
    );
    assert_eq!(PtMessage::from_apdu(&apdu(&bytes)).unwrap(), msg);
    let block =
        PrintTextBlock::from_lines(&["line one".into(), "line two".into()], Some(1)).unwrap();
    let back = PrintTextBlock::from_apdu(&block.to_apdu().unwrap()).unwrap();
    assert_eq!(back.lines(), vec!["line one", "line two"]);
}

#[rustfmt::skip]
#[test]
fn pt_decode_errors_and_leniency() {
    let cases: &[(&[u8], CodecError)] = &[
        (&[0x06, 0x1E, 0x00], CodecError::Missing { what: "result code" }),
        (&[0x04, 0xFF, 0x00], CodecError::Missing { what: "status byte" }),
        (&[0x04, 0x0F, 0x03, 0x04, 0x00, 0x00], CodecError::BmpTruncated { tag: 0x04 }),
        (&[0x04, 0x0F, 0x04, 0x22, 0xF0, 0xF1, 0xAB], CodecError::BadBcd { what: "card number" }),
        (&[0x06, 0x0F, 0x03, 0x87, 0x00, 0x12], CodecError::UnexpectedBmp { tag: 0x87, message: "06 0F Completion" }),
        (&[0x06, 0x0F, 0x03, 0xF0, 0xF0, 0xF5], CodecError::Truncated { needed: 8, available: 3 }),
        (&[0x06, 0x0F, 0x03, 0xF0, 0xF0, 0xF0], CodecError::Missing { what: "terminal status byte" }),
        (&[0x06, 0xD1, 0x00], CodecError::Missing { what: "attribute byte" }),
        (&[0x06, 0xD3, 0x02, 0x27, 0x00], CodecError::UnexpectedBmp { tag: 0x27, message: "06 D3 Print text block" }),
    ];
    for (bytes, err) in cases {
        assert_eq!(PtMessage::from_apdu(&apdu(bytes)).unwrap_err(), *err, "{bytes:02X?}");
    }
    // A BMP of unknown format stops parsing; the rest is kept and re-encoded as is.
    let bytes = [0x04, 0x0F, 0x05, 0x27, 0x00, 0x99, 0x01, 0x02];
    let PtMessage::StatusInformation(si) = PtMessage::from_apdu(&apdu(&bytes)).unwrap() else { panic!() };
    assert_eq!(si.result_code, Some(0));
    assert_eq!(si.unparsed.expose(), &[0x99, 0x01, 0x02]);
    assert_eq!(si.to_apdu().unwrap().to_vec(), bytes);
}

#[test]
fn card_data_never_in_debug() {
    let si = StatusInformation {
        card_number: Some(CardNumber::from_digits("9999000011112222").unwrap()),
        track2: Some(zvt::apdu::card::SecretBytes::new(*b"9999000011112222=2812")),
        ..Default::default()
    };
    let dbg = format!("{:?}", PtMessage::StatusInformation(Box::new(si.clone())));
    assert!(!dbg.contains("99990000"), "{dbg}");
    assert!(dbg.contains("2222"));
    let a = si.to_apdu().unwrap();
    assert!(!format!("{a:?}").contains("99"));
}

#[test]
fn typed_digits_and_password_never_in_debug() {
    let c = Completion {
        additional_text: Some("4711".into()),
        terminal_id: Some(52500001),
        ..Default::default()
    };
    let a = Abort {
        additional_text: Some("4711".into()),
        ..Abort::new(0x6C)
    };
    let si = StatusInformation {
        additional_text: Some("4711".into()),
        expiry: Some(2812),
        ..Default::default()
    };
    for dbg in [
        format!("{:?}", PtMessage::Completion(c)),
        format!("{:?}", PtMessage::Abort(a)),
        format!("{:?}", PtMessage::StatusInformation(Box::new(si))),
    ] {
        assert!(!dbg.contains("4711") && !dbg.contains("2812"), "{dbg}");
        assert!(dbg.contains("4 chars redacted"), "{dbg}");
    }
    let commands = [
        EcrCommand::Registration(Registration {
            password: 314159,
            config: 0xBA,
            currency: Some(EUR),
            service_byte: None,
            tlv: vec![],
        }),
        EcrCommand::Reversal(Reversal {
            password: 314159,
            receipt: 1,
            tlv: vec![],
        }),
        EcrCommand::StatusEnquiry(StatusEnquiry {
            password: Some(314159),
            service_byte: Some(1),
            tlv: vec![],
        }),
        EcrCommand::EndOfDay(EndOfDay { password: 314159 }),
        EcrCommand::RepeatReceipt(RepeatReceipt {
            password: 314159,
            service_byte: None,
        }),
    ];
    for cmd in commands {
        let dbg = format!("{cmd:?}");
        assert!(
            !dbg.contains("314159") && dbg.contains("<redacted>"),
            "{dbg}"
        );
    }
}
