//! Currencies on the wire (BMP 49 and the untagged currency of 06 00) and 06 31 Refund:
//! exact bytes both ways, and every three-digit code decodes to itself.

use rust_decimal::dec;
use zvt::apdu::currency;
use zvt::command::*;
use zvt::frame::serial;
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
}

fn registration(currency: Option<u16>, service_byte: Option<u8>) -> EcrCommand {
    EcrCommand::Registration(Registration {
        password: 123456,
        config: 0xBA,
        currency,
        service_byte,
        tlv: vec![],
    })
}

#[rustfmt::skip]
#[test]
fn registration_carries_the_configured_currency() {
    check_ecr(registration(Some(USD), None), &[0x06, 0x00, 0x06, 0x12, 0x34, 0x56, 0xBA, 0x08, 0x40]);
    check_ecr(registration(Some(826), None), &[0x06, 0x00, 0x06, 0x12, 0x34, 0x56, 0xBA, 0x08, 0x26]);
    check_ecr(registration(Some(756), Some(0x01)),
        &[0x06, 0x00, 0x08, 0x12, 0x34, 0x56, 0xBA, 0x07, 0x56, 0x03, 0x01]);
    // JPY 392 and RUB 643 start with the bytes of the tags 03 and 06.
    check_ecr(registration(Some(392), None), &[0x06, 0x00, 0x06, 0x12, 0x34, 0x56, 0xBA, 0x03, 0x92]);
    check_ecr(registration(Some(643), Some(0x02)),
        &[0x06, 0x00, 0x08, 0x12, 0x34, 0x56, 0xBA, 0x06, 0x43, 0x03, 0x02]);
    // Without a currency, a service byte stays a service byte.
    check_ecr(registration(None, Some(0x01)), &[0x06, 0x00, 0x06, 0x12, 0x34, 0x56, 0xBA, 0x03, 0x01]);
}

/// The serial frame of a USD registration (CRC-16/KERMIT over APDU + ETX, low byte first).
#[test]
fn usd_registration_frame() {
    let a = registration(Some(USD), None).to_apdu().unwrap();
    let mut wire = bytes::BytesMut::new();
    serial::encode_apdu(&a, &mut wire);
    let body = &wire[2..wire.len() - 4];
    assert_eq!(
        body,
        &[0x06, 0x00, 0x06, 0x12, 0x34, 0x56, 0xBA, 0x08, 0x40]
    );
    let mut crc_input = body.to_vec();
    crc_input.push(0x03);
    let crc = zvt::frame::crc::crc16(&crc_input);
    assert_eq!(&wire[wire.len() - 2..], &crc.to_le_bytes());
}

#[test]
fn every_code_round_trips_in_registration_and_bmp_49() {
    for code in 0u16..=999 {
        // 300–303 read as the service byte 00–03: ISO 4217 assigns none of them.
        let ambiguous = (300..=303).contains(&code);
        for sb in [None, Some(0x01)] {
            let cmd = registration(Some(code), sb);
            let bytes = cmd.to_apdu().unwrap().to_vec();
            let back = EcrCommand::from_apdu(&apdu(&bytes)).unwrap();
            if !ambiguous {
                assert_eq!(
                    back, cmd,
                    "registration with {code:03}, service byte {sb:?}"
                );
            }
        }
        let pay = EcrCommand::Authorization(PaymentRequest {
            currency: Some(code),
            ..PaymentRequest::new(dec!(1.00))
        });
        let bytes = pay.to_apdu().unwrap().to_vec();
        assert_eq!(
            EcrCommand::from_apdu(&apdu(&bytes)).unwrap(),
            pay,
            "{code:03}"
        );
        let done = PtMessage::Completion(Completion {
            currency: Some(code),
            ..Completion::default()
        });
        let bytes = done.to_apdu().unwrap().to_vec();
        assert_eq!(
            PtMessage::from_apdu(&apdu(&bytes)).unwrap(),
            done,
            "{code:03}"
        );
    }
    for c in currency::KNOWN {
        let bytes = registration(Some(c.numeric), None)
            .to_apdu()
            .unwrap()
            .to_vec();
        assert_eq!(
            EcrCommand::from_apdu(&apdu(&bytes)).unwrap(),
            registration(Some(c.numeric), None),
            "{}",
            c.alpha
        );
    }
}

#[rustfmt::skip]
#[test]
fn usd_amounts_carry_bmp_49() {
    check_ecr(EcrCommand::Authorization(PaymentRequest { currency: Some(USD), ..PaymentRequest::new(dec!(12.34)) }),
        &[0x06, 0x01, 0x0A, 0x04, 0x00, 0x00, 0x00, 0x00, 0x12, 0x34, 0x49, 0x08, 0x40]);
    check_ecr(EcrCommand::BookTotal(BookTotal { currency: Some(USD), ..BookTotal::new(12, Some(dec!(42))) }),
        &[0x06, 0x24, 0x0D, 0x87, 0x00, 0x12, 0x04, 0x00, 0x00, 0x00, 0x00, 0x42, 0x00, 0x49, 0x08, 0x40]);
}

#[rustfmt::skip]
#[test]
fn refund_both_directions() {
    let refund = |currency, payment_type| EcrCommand::Refund(Refund {
        password: 123456, amount: dec!(12.34), currency, payment_type, tlv: vec![],
    });
    check_ecr(refund(Some(USD), None),
        &[0x06, 0x31, 0x0D, 0x12, 0x34, 0x56, 0x04, 0x00, 0x00, 0x00, 0x00, 0x12, 0x34, 0x49, 0x08, 0x40]);
    check_ecr(refund(None, None),
        &[0x06, 0x31, 0x0A, 0x12, 0x34, 0x56, 0x04, 0x00, 0x00, 0x00, 0x00, 0x12, 0x34]);
    check_ecr(refund(Some(EUR), Some(0x40)),
        &[0x06, 0x31, 0x0F, 0x12, 0x34, 0x56, 0x04, 0x00, 0x00, 0x00, 0x00, 0x12, 0x34, 0x49, 0x09, 0x78, 0x19, 0x40]);
    assert!(refund(None, None).is_financial());
    // The password never shows in Debug.
    assert!(!format!("{:?}", refund(None, None)).contains("123456"));
    // Without the amount there is nothing to refund.
    assert_eq!(
        EcrCommand::from_apdu(&apdu(&[0x06, 0x31, 0x03, 0x12, 0x34, 0x56])),
        Err(CodecError::Missing { what: "amount (BMP 04)" })
    );
    // A BMP the command does not list is refused.
    assert!(EcrCommand::from_apdu(&apdu(&[0x06, 0x31, 0x0D, 0x12, 0x34, 0x56, 0x04, 0, 0, 0, 0, 0x12, 0x34, 0x87, 0x00, 0x12])).is_err());
}
