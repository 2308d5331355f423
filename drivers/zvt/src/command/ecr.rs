//! Commands from the ECR to the PT (PA00P015 rev. 13.07 ch. 2, "ECR commands").

use super::*;
use crate::apdu::bmp::tag;
use crate::apdu::tlv::TlvItem;
use crate::apdu::{Apdu, CodecError, bcd};
use rust_decimal::Decimal;

/// Currency code of the euro (ISO 4217 numeric 978, BCD `09 78`).
pub const EUR: u16 = 978;
/// Currency code of the US dollar (ISO 4217 numeric 840, BCD `08 40`).
pub const USD: u16 = 840;

/// Registration config byte flags (PA00P015 13.07 ch. 2.1; names as in ecrterm).
pub mod config {
    /// The ECR prints payment receipts.
    pub const ECR_PRINTS_PAYMENT_RECEIPT: u8 = 0x02;
    /// The ECR prints administration receipts.
    pub const ECR_PRINTS_ADMIN_RECEIPT: u8 = 0x04;
    /// The PT sends intermediate status information.
    pub const INTERMEDIATE_STATUS: u8 = 0x08;
    /// The ECR controls payments (the PT may not start one by itself).
    pub const ECR_CONTROLS_PAYMENT: u8 = 0x10;
    /// The ECR controls administration functions.
    pub const ECR_CONTROLS_ADMIN: u8 = 0x20;
    /// Print-line mode (06 D1) instead of text blocks.
    pub const PRINT_LINE_MODE: u8 = 0x80;
    /// ecrterm's default: `BA`.
    pub const DEFAULT: u8 = 0xBA;
}

fn password_bytes(w: &mut Writer, password: u32) -> Result<(), CodecError> {
    w.bcd_raw(u64::from(password), 3, "password")?;
    Ok(())
}

fn take_password(data: &[u8]) -> Result<(u32, &[u8]), CodecError> {
    let p = data
        .get(..3)
        .ok_or(CodecError::Missing { what: "password" })?;
    Ok((bcd_u32(p, "password")?, &data[3..]))
}

/// 06 00 Registration (PA00P015 13.07 ch. 2.1; EVerest 13.11 ch. 2.1).
///
/// Untagged: password (3 BCD), config byte, optional currency (2 BCD). Then `[03]`, `[06]`.
/// On decode the untagged currency is taken when two or more bytes follow the config byte
/// and they do not read as the BMPs 03/06 (see [`Registration::from_apdu`]).
#[derive(Clone, PartialEq, Eq)]
pub struct Registration {
    /// Terminal password, 6 digits.
    pub password: u32,
    /// Config byte, see [`config`].
    pub config: u8,
    /// Currency code, untagged (978 = EUR, 840 = USD). Codes 3xx and 6xx share their first
    /// byte with the tags `03`/`06`; see [`Registration::from_apdu`] for how they are told
    /// apart (only 300–303, unassigned in ISO 4217, stay ambiguous).
    pub currency: Option<u16>,
    /// BMP 03 service byte.
    pub service_byte: Option<u8>,
    /// BMP 06 TLV container.
    pub tlv: Vec<TlvItem>,
}

/// The BMPs of 06 00: service byte and TLV container.
type RegistrationBmps = (Option<u8>, Vec<TlvItem>);

impl Registration {
    /// Control field `06 00`.
    pub const CONTROL: [u8; 2] = [0x06, 0x00];

    /// Encodes the command.
    pub fn to_apdu(&self) -> Result<Apdu, CodecError> {
        let mut w = Writer::default();
        password_bytes(&mut w, self.password)?;
        w.raw(&[self.config]);
        if let Some(c) = self.currency {
            w.bcd_raw(u64::from(c), 2, "currency")?;
        }
        w.u8(tag::SERVICE_BYTE, self.service_byte)?.tlv(&self.tlv)?;
        w.into_apdu(Self::CONTROL)
    }

    /// Decodes the command.
    pub fn from_apdu(apdu: &Apdu) -> Result<Self, CodecError> {
        check_control(apdu, Self::CONTROL)?;
        let (password, rest) = take_password(apdu.data())?;
        let (&config, rest) = rest.split_first().ok_or(CodecError::Missing {
            what: "config byte",
        })?;
        let as_bmps = Self::bmps(rest);
        let currency_first = || -> Result<(u16, RegistrationBmps), CodecError> {
            let code = bcd_u16(
                rest.get(..2)
                    .ok_or(CodecError::Missing { what: "currency" })?,
                "currency",
            )?;
            Ok((code, Self::bmps(&rest[2..])?))
        };
        // The untagged currency and the BMPs 03/06 share their first byte for codes 3xx and
        // 6xx (JPY is `03 92`, RUB `06 43`). The service byte defines bits 0 and 1 only
        // (ch. 2.1), so `03` followed by a byte with other bits set is a currency; `06` is a
        // currency when the bytes do not read as a non-empty TLV container. Left ambiguous:
        // 300–303, which ISO 4217 does not assign.
        let take_currency = match rest {
            [] | [_] => false,
            [t, ..] if *t != tag::SERVICE_BYTE && *t != tag::TLV => true,
            [t, b, ..] if *t == tag::SERVICE_BYTE => b & 0xFC != 0,
            _ => !matches!(&as_bmps, Ok((_, tlv)) if !tlv.is_empty()),
        };
        let (currency, (service_byte, tlv)) = if take_currency {
            let (code, bmps) = currency_first()?;
            (Some(code), bmps)
        } else {
            (None, as_bmps?)
        };
        Ok(Registration {
            password,
            config,
            currency,
            service_byte,
            tlv,
        })
    }

    fn bmps(data: &[u8]) -> Result<RegistrationBmps, CodecError> {
        let (mut service_byte, mut tlv) = (None, Vec::new());
        each_bmp(data, "06 00 Registration", |t, v| {
            match t {
                tag::SERVICE_BYTE => service_byte = Some(bmp::one(t, v)?),
                tag::TLV => tlv = parse_tlv(v)?,
                _ => return Ok(false),
            }
            Ok(true)
        })?;
        Ok((service_byte, tlv))
    }
}

/// The body of 06 01 Authorization (PA00P015 13.07 ch. 2.2) and 06 22 Reservation /
/// pre-authorisation (ch. 2.8): amount plus optional BMPs.
///
/// Encoded order: 04, 49, 19, 01, 02, 3C, 8A, 0B, 3B, 06.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaymentRequest {
    /// BMP 04 amount, at most 2 decimals.
    pub amount: Decimal,
    /// BMP 49 currency code.
    pub currency: Option<u16>,
    /// BMP 19 payment type.
    pub payment_type: Option<u8>,
    /// BMP 01 time-out in seconds.
    pub timeout: Option<u8>,
    /// BMP 02 maximum number of status informations.
    pub max_status_infos: Option<u8>,
    /// BMP 3C additional text.
    pub additional_text: Option<String>,
    /// BMP 8A card type.
    pub card_type: Option<u8>,
    /// BMP 0B trace number (reservations).
    pub trace: Option<u32>,
    /// BMP 3B AID (reservations).
    pub aid: Option<[u8; 8]>,
    /// BMP 06 TLV container.
    pub tlv: Vec<TlvItem>,
}

impl PaymentRequest {
    /// A request for `amount` with no optional fields.
    pub fn new(amount: Decimal) -> Self {
        PaymentRequest {
            amount,
            currency: None,
            payment_type: None,
            timeout: None,
            max_status_infos: None,
            additional_text: None,
            card_type: None,
            trace: None,
            aid: None,
            tlv: Vec::new(),
        }
    }

    fn encode(&self, control: [u8; 2]) -> Result<Apdu, CodecError> {
        // zvt.md §5 lists 0B and 3B for 06 22 only; an 06 01 carrying them is refused by
        // strict terminals, so refuse to build one rather than drop them silently.
        if control == AUTHORIZATION {
            let unlisted = [
                (tag::TRACE, self.trace.is_some()),
                (tag::AID, self.aid.is_some()),
            ];
            if let Some((t, _)) = unlisted.iter().find(|(_, set)| *set) {
                return Err(CodecError::UnexpectedBmp {
                    tag: *t,
                    message: "06 01 Authorization",
                });
            }
        }
        let mut w = Writer::default();
        w.amount(Some(self.amount))?
            .bcd(tag::CURRENCY, self.currency.map(u64::from))?
            .u8(tag::PAYMENT_TYPE, self.payment_type)?
            .u8(tag::TIMEOUT, self.timeout)?
            .u8(tag::MAX_STATUS_INFOS, self.max_status_infos)?
            .text(tag::ADDITIONAL_TEXT, self.additional_text.as_deref())?
            .u8(tag::CARD_TYPE, self.card_type)?
            .bcd(tag::TRACE, self.trace.map(u64::from))?
            .bytes(tag::AID, self.aid.as_ref().map(|a| &a[..]))?
            .tlv(&self.tlv)?;
        w.into_apdu(control)
    }

    fn decode(apdu: &Apdu, control: [u8; 2], message: &'static str) -> Result<Self, CodecError> {
        check_control(apdu, control)?;
        let mut amount = None;
        let mut r = PaymentRequest::new(Decimal::ZERO);
        each_bmp(apdu.data(), message, |t, v| {
            match t {
                tag::AMOUNT => amount = Some(bcd::amount_from_bcd(v)?),
                tag::CURRENCY => r.currency = Some(bcd_u16(v, "currency")?),
                tag::PAYMENT_TYPE => r.payment_type = Some(bmp::one(t, v)?),
                tag::TIMEOUT => r.timeout = Some(bmp::one(t, v)?),
                tag::MAX_STATUS_INFOS => r.max_status_infos = Some(bmp::one(t, v)?),
                tag::ADDITIONAL_TEXT => r.additional_text = Some(text(v)),
                tag::CARD_TYPE => r.card_type = Some(bmp::one(t, v)?),
                tag::TRACE => r.trace = Some(bcd_u32(v, "trace number")?),
                tag::AID => r.aid = Some(bmp::array(t, v)?),
                tag::TLV => r.tlv = parse_tlv(v)?,
                _ => return Ok(false),
            }
            Ok(true)
        })?;
        r.amount = amount.ok_or(CodecError::Missing {
            what: "amount (BMP 04)",
        })?;
        Ok(r)
    }
}

/// 06 23 Partial reversal of a reservation / booking (PA00P015 13.07 ch. 2.10).
/// With [`ReceiptSelector::AllOpen`] (`87 FF FF`) the PT lists the open reservations.
///
/// Encoded order: 87, 04, 19, 49, 06.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartialReversal {
    /// BMP 87 receipt number of the reservation, or all open ones.
    pub receipt: ReceiptSelector,
    /// BMP 04 amount to book.
    pub amount: Option<Decimal>,
    /// BMP 19 payment type.
    pub payment_type: Option<u8>,
    /// BMP 49 currency code.
    pub currency: Option<u16>,
    /// BMP 06 TLV container.
    pub tlv: Vec<TlvItem>,
}

impl PartialReversal {
    /// Control field `06 23`.
    pub const CONTROL: [u8; 2] = [0x06, 0x23];

    /// `06 23 03 87 FF FF`: list all open reservations.
    pub fn list_open() -> Self {
        PartialReversal {
            receipt: ReceiptSelector::AllOpen,
            amount: None,
            payment_type: None,
            currency: None,
            tlv: Vec::new(),
        }
    }

    /// Encodes the command.
    pub fn to_apdu(&self) -> Result<Apdu, CodecError> {
        let mut w = Writer::default();
        match self.receipt {
            ReceiptSelector::AllOpen => {
                w.bytes(tag::RECEIPT, Some(&[0xFF, 0xFF]))?;
            }
            ReceiptSelector::Number(n) => {
                w.bcd(tag::RECEIPT, Some(u64::from(n)))?;
            }
        }
        w.amount(self.amount)?
            .u8(tag::PAYMENT_TYPE, self.payment_type)?
            .bcd(tag::CURRENCY, self.currency.map(u64::from))?
            .tlv(&self.tlv)?;
        w.into_apdu(Self::CONTROL)
    }

    /// Decodes the command.
    pub fn from_apdu(apdu: &Apdu) -> Result<Self, CodecError> {
        check_control(apdu, Self::CONTROL)?;
        let mut receipt = None;
        let mut r = PartialReversal::list_open();
        each_bmp(apdu.data(), "06 23 Partial reversal", |t, v| {
            match t {
                tag::RECEIPT if v == [0xFF, 0xFF] => receipt = Some(ReceiptSelector::AllOpen),
                tag::RECEIPT => {
                    receipt = Some(ReceiptSelector::Number(bcd_u16(v, "receipt number")?))
                }
                tag::AMOUNT => r.amount = Some(bcd::amount_from_bcd(v)?),
                tag::PAYMENT_TYPE => r.payment_type = Some(bmp::one(t, v)?),
                tag::CURRENCY => r.currency = Some(bcd_u16(v, "currency")?),
                tag::TLV => r.tlv = parse_tlv(v)?,
                _ => return Ok(false),
            }
            Ok(true)
        })?;
        r.receipt = receipt.ok_or(CodecError::Missing {
            what: "receipt number (BMP 87)",
        })?;
        Ok(r)
    }
}

/// 06 24 Book Total: books a reservation (PA00P015 13.07 ch. 2.9; fields as in ecrterm).
///
/// Encoded order: 87, 04, 49, 19, 3C, 0B, 8A, 3B, 06.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BookTotal {
    /// BMP 87 receipt number of the reservation.
    pub receipt: u16,
    /// BMP 04 amount to book.
    pub amount: Option<Decimal>,
    /// BMP 49 currency code.
    pub currency: Option<u16>,
    /// BMP 19 payment type.
    pub payment_type: Option<u8>,
    /// BMP 3C additional text.
    pub additional_text: Option<String>,
    /// BMP 0B trace number.
    pub trace: Option<u32>,
    /// BMP 8A card type.
    pub card_type: Option<u8>,
    /// BMP 3B AID.
    pub aid: Option<[u8; 8]>,
    /// BMP 06 TLV container.
    pub tlv: Vec<TlvItem>,
}

impl BookTotal {
    /// Control field `06 24`.
    pub const CONTROL: [u8; 2] = [0x06, 0x24];

    /// Books reservation `receipt` for `amount`.
    pub fn new(receipt: u16, amount: Option<Decimal>) -> Self {
        BookTotal {
            receipt,
            amount,
            currency: None,
            payment_type: None,
            additional_text: None,
            trace: None,
            card_type: None,
            aid: None,
            tlv: Vec::new(),
        }
    }

    /// Encodes the command.
    pub fn to_apdu(&self) -> Result<Apdu, CodecError> {
        let mut w = Writer::default();
        w.bcd(tag::RECEIPT, Some(u64::from(self.receipt)))?
            .amount(self.amount)?
            .bcd(tag::CURRENCY, self.currency.map(u64::from))?
            .u8(tag::PAYMENT_TYPE, self.payment_type)?
            .text(tag::ADDITIONAL_TEXT, self.additional_text.as_deref())?
            .bcd(tag::TRACE, self.trace.map(u64::from))?
            .u8(tag::CARD_TYPE, self.card_type)?
            .bytes(tag::AID, self.aid.as_ref().map(|a| &a[..]))?
            .tlv(&self.tlv)?;
        w.into_apdu(Self::CONTROL)
    }

    /// Decodes the command.
    pub fn from_apdu(apdu: &Apdu) -> Result<Self, CodecError> {
        check_control(apdu, Self::CONTROL)?;
        let mut receipt = None;
        let mut r = BookTotal::new(0, None);
        each_bmp(apdu.data(), "06 24 Book Total", |t, v| {
            match t {
                tag::RECEIPT => receipt = Some(bcd_u16(v, "receipt number")?),
                tag::AMOUNT => r.amount = Some(bcd::amount_from_bcd(v)?),
                tag::CURRENCY => r.currency = Some(bcd_u16(v, "currency")?),
                tag::PAYMENT_TYPE => r.payment_type = Some(bmp::one(t, v)?),
                tag::ADDITIONAL_TEXT => r.additional_text = Some(text(v)),
                tag::TRACE => r.trace = Some(bcd_u32(v, "trace number")?),
                tag::CARD_TYPE => r.card_type = Some(bmp::one(t, v)?),
                tag::AID => r.aid = Some(bmp::array(t, v)?),
                tag::TLV => r.tlv = parse_tlv(v)?,
                _ => return Ok(false),
            }
            Ok(true)
        })?;
        r.receipt = receipt.ok_or(CodecError::Missing {
            what: "receipt number (BMP 87)",
        })?;
        Ok(r)
    }
}

/// 06 25 Pre-authorisation reversal (PA00P015 13.07 ch. 2.11; fields as in EVerest).
///
/// Encoded order: 19, 49, 87, 06.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PreAuthReversal {
    /// BMP 19 payment type.
    pub payment_type: Option<u8>,
    /// BMP 49 currency code.
    pub currency: Option<u16>,
    /// BMP 87 receipt number of the reservation.
    pub receipt: u16,
    /// BMP 06 TLV container.
    pub tlv: Vec<TlvItem>,
}

impl PreAuthReversal {
    /// Control field `06 25`.
    pub const CONTROL: [u8; 2] = [0x06, 0x25];

    /// Encodes the command.
    pub fn to_apdu(&self) -> Result<Apdu, CodecError> {
        let mut w = Writer::default();
        w.u8(tag::PAYMENT_TYPE, self.payment_type)?
            .bcd(tag::CURRENCY, self.currency.map(u64::from))?
            .bcd(tag::RECEIPT, Some(u64::from(self.receipt)))?
            .tlv(&self.tlv)?;
        w.into_apdu(Self::CONTROL)
    }

    /// Decodes the command.
    pub fn from_apdu(apdu: &Apdu) -> Result<Self, CodecError> {
        check_control(apdu, Self::CONTROL)?;
        let mut receipt = None;
        let mut r = PreAuthReversal {
            payment_type: None,
            currency: None,
            receipt: 0,
            tlv: Vec::new(),
        };
        each_bmp(apdu.data(), "06 25 Pre-auth reversal", |t, v| {
            match t {
                tag::RECEIPT => receipt = Some(bcd_u16(v, "receipt number")?),
                tag::CURRENCY => r.currency = Some(bcd_u16(v, "currency")?),
                tag::PAYMENT_TYPE => r.payment_type = Some(bmp::one(t, v)?),
                tag::TLV => r.tlv = parse_tlv(v)?,
                _ => return Ok(false),
            }
            Ok(true)
        })?;
        r.receipt = receipt.ok_or(CodecError::Missing {
            what: "receipt number (BMP 87)",
        })?;
        Ok(r)
    }
}

/// 06 30 Reversal of a payment (PA00P015 13.07 ch. 2.14): password, then BMP 87.
#[derive(Clone, PartialEq, Eq)]
pub struct Reversal {
    /// Terminal password, 6 digits.
    pub password: u32,
    /// BMP 87 receipt number of the payment to void.
    pub receipt: u16,
    /// BMP 06 TLV container.
    pub tlv: Vec<TlvItem>,
}

impl Reversal {
    /// Control field `06 30`.
    pub const CONTROL: [u8; 2] = [0x06, 0x30];

    /// Encodes the command.
    pub fn to_apdu(&self) -> Result<Apdu, CodecError> {
        let mut w = Writer::default();
        password_bytes(&mut w, self.password)?;
        w.bcd(tag::RECEIPT, Some(u64::from(self.receipt)))?
            .tlv(&self.tlv)?;
        w.into_apdu(Self::CONTROL)
    }

    /// Decodes the command.
    pub fn from_apdu(apdu: &Apdu) -> Result<Self, CodecError> {
        check_control(apdu, Self::CONTROL)?;
        let (password, rest) = take_password(apdu.data())?;
        let mut receipt = None;
        let mut tlv = Vec::new();
        each_bmp(rest, "06 30 Reversal", |t, v| {
            match t {
                tag::RECEIPT => receipt = Some(bcd_u16(v, "receipt number")?),
                tag::TLV => tlv = parse_tlv(v)?,
                _ => return Ok(false),
            }
            Ok(true)
        })?;
        let receipt = receipt.ok_or(CodecError::Missing {
            what: "receipt number (BMP 87)",
        })?;
        Ok(Reversal {
            password,
            receipt,
            tlv,
        })
    }
}

/// 06 31 Refund (PA00P015 13.07 ch. 2.15): password (3 BCD, untagged), then BMP 04 amount,
/// `[49]` currency, `[19]` payment type, `[06]` TLV. It moves money back to the card, so it is
/// financial: never re-sent after a lost outcome. Runs like 06 01 (04 FF, 04 0F, prints,
/// then 06 0F / 06 1E).
#[derive(Clone, PartialEq, Eq)]
pub struct Refund {
    /// Terminal password, 6 digits.
    pub password: u32,
    /// BMP 04 amount to give back.
    pub amount: Decimal,
    /// BMP 49 currency code.
    pub currency: Option<u16>,
    /// BMP 19 payment type.
    pub payment_type: Option<u8>,
    /// BMP 06 TLV container.
    pub tlv: Vec<TlvItem>,
}

impl Refund {
    /// Control field `06 31`.
    pub const CONTROL: [u8; 2] = [0x06, 0x31];

    /// Encodes the command.
    pub fn to_apdu(&self) -> Result<Apdu, CodecError> {
        let mut w = Writer::default();
        password_bytes(&mut w, self.password)?;
        w.amount(Some(self.amount))?
            .bcd(tag::CURRENCY, self.currency.map(u64::from))?
            .u8(tag::PAYMENT_TYPE, self.payment_type)?
            .tlv(&self.tlv)?;
        w.into_apdu(Self::CONTROL)
    }

    /// Decodes the command.
    pub fn from_apdu(apdu: &Apdu) -> Result<Self, CodecError> {
        check_control(apdu, Self::CONTROL)?;
        let (password, rest) = take_password(apdu.data())?;
        let mut amount = None;
        let mut r = Refund {
            password,
            amount: Decimal::ZERO,
            currency: None,
            payment_type: None,
            tlv: Vec::new(),
        };
        each_bmp(rest, "06 31 Refund", |t, v| {
            match t {
                tag::AMOUNT => amount = Some(bcd::amount_from_bcd(v)?),
                tag::CURRENCY => r.currency = Some(bcd_u16(v, "currency")?),
                tag::PAYMENT_TYPE => r.payment_type = Some(bmp::one(t, v)?),
                tag::TLV => r.tlv = parse_tlv(v)?,
                _ => return Ok(false),
            }
            Ok(true)
        })?;
        r.amount = amount.ok_or(CodecError::Missing {
            what: "amount (BMP 04)",
        })?;
        Ok(r)
    }
}

/// 05 01 Status Enquiry (PA00P015 13.07 ch. 2.55; same number in EVerest 13.11).
///
/// The password is optional. On decode, the data is first read as BMPs only (03, 06); if
/// that fails, as password plus BMPs — the same choice EVerest makes by sending the
/// password only together with a service byte.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct StatusEnquiry {
    /// Terminal password, 6 digits.
    pub password: Option<u32>,
    /// BMP 03 service byte.
    pub service_byte: Option<u8>,
    /// BMP 06 TLV container.
    pub tlv: Vec<TlvItem>,
}

impl StatusEnquiry {
    /// Control field `05 01`.
    pub const CONTROL: [u8; 2] = [0x05, 0x01];

    /// Encodes the command.
    pub fn to_apdu(&self) -> Result<Apdu, CodecError> {
        let mut w = Writer::default();
        if let Some(p) = self.password {
            password_bytes(&mut w, p)?;
        }
        w.u8(tag::SERVICE_BYTE, self.service_byte)?.tlv(&self.tlv)?;
        w.into_apdu(Self::CONTROL)
    }

    fn bmps(data: &[u8], password: Option<u32>) -> Result<Self, CodecError> {
        let mut r = StatusEnquiry {
            password,
            ..Default::default()
        };
        each_bmp(data, "05 01 Status Enquiry", |t, v| {
            match t {
                tag::SERVICE_BYTE => r.service_byte = Some(bmp::one(t, v)?),
                tag::TLV => r.tlv = parse_tlv(v)?,
                _ => return Ok(false),
            }
            Ok(true)
        })?;
        Ok(r)
    }

    /// Decodes the command.
    pub fn from_apdu(apdu: &Apdu) -> Result<Self, CodecError> {
        check_control(apdu, Self::CONTROL)?;
        Self::bmps(apdu.data(), None).or_else(|first| match take_password(apdu.data()) {
            Ok((p, rest)) => Self::bmps(rest, Some(p)),
            Err(_) => Err(first),
        })
    }
}

/// A command whose only content is the password: 06 50 End of Day (PA00P015 13.07
/// ch. 2.16).
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct EndOfDay {
    /// Terminal password, 6 digits.
    pub password: u32,
}

impl EndOfDay {
    /// Control field `06 50`.
    pub const CONTROL: [u8; 2] = [0x06, 0x50];

    /// Encodes the command.
    pub fn to_apdu(&self) -> Result<Apdu, CodecError> {
        let mut w = Writer::default();
        password_bytes(&mut w, self.password)?;
        w.into_apdu(Self::CONTROL)
    }

    /// Decodes the command.
    pub fn from_apdu(apdu: &Apdu) -> Result<Self, CodecError> {
        check_control(apdu, Self::CONTROL)?;
        let (password, rest) = take_password(apdu.data())?;
        if !rest.is_empty() {
            return Err(CodecError::TrailingBytes {
                count: rest.len(),
                message: "06 50 End of Day",
            });
        }
        Ok(EndOfDay { password })
    }
}

/// 06 20 Repeat Receipt (PA00P015 13.07 ch. 2.13): password, `[03]` (fields as in zvtlib).
///
/// The PT repeats the last transaction's receipt as print lines/blocks and, on the
/// terminals modelled here, a 04 0F with that transaction's data (27, 04, 0B, 87…), then
/// 06 0F. The recovery module relies on that 04 0F.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct RepeatReceipt {
    /// Terminal password, 6 digits.
    pub password: u32,
    /// BMP 03 service byte.
    pub service_byte: Option<u8>,
}

impl RepeatReceipt {
    /// Control field `06 20`.
    pub const CONTROL: [u8; 2] = [0x06, 0x20];

    /// Encodes the command.
    pub fn to_apdu(&self) -> Result<Apdu, CodecError> {
        let mut w = Writer::default();
        password_bytes(&mut w, self.password)?;
        w.u8(tag::SERVICE_BYTE, self.service_byte)?;
        w.into_apdu(Self::CONTROL)
    }

    /// Decodes the command.
    pub fn from_apdu(apdu: &Apdu) -> Result<Self, CodecError> {
        check_control(apdu, Self::CONTROL)?;
        let (password, rest) = take_password(apdu.data())?;
        let mut service_byte = None;
        each_bmp(rest, "06 20 Repeat Receipt", |t, v| {
            match t {
                tag::SERVICE_BYTE => service_byte = Some(bmp::one(t, v)?),
                _ => return Ok(false),
            }
            Ok(true)
        })?;
        Ok(RepeatReceipt {
            password,
            service_byte,
        })
    }
}

/// 06 E0 Display Text (PA00P015 13.07 ch. 2.33; BMPs as in ecrterm): F0 duration
/// (0 = until replaced), F1–F8 lines, F9 beeps. The PT answers `80 00 00` and nothing else.
///
/// Lines are numbered from F1 in order; on decode they are collected in the order received.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DisplayText {
    /// BMP F0 display duration in seconds.
    pub duration: Option<u8>,
    /// BMP F1–F8 lines (at most 8).
    pub lines: Vec<String>,
    /// BMP F9 number of beeps.
    pub beeps: Option<u8>,
}

impl DisplayText {
    /// Control field `06 E0`.
    pub const CONTROL: [u8; 2] = [0x06, 0xE0];

    /// Encodes the command.
    pub fn to_apdu(&self) -> Result<Apdu, CodecError> {
        let mut w = Writer::default();
        w.u8(tag::DISPLAY_DURATION, self.duration)?
            .lines(tag::LINE_1, &self.lines)?
            .u8(tag::BEEPS, self.beeps)?;
        w.into_apdu(Self::CONTROL)
    }

    /// Decodes the command.
    pub fn from_apdu(apdu: &Apdu) -> Result<Self, CodecError> {
        check_control(apdu, Self::CONTROL)?;
        let mut r = DisplayText::default();
        each_bmp(apdu.data(), "06 E0 Display Text", |t, v| {
            match t {
                tag::DISPLAY_DURATION => r.duration = Some(bmp::one(t, v)?),
                0xF1..=0xF8 => r.lines.push(text(v)),
                tag::BEEPS => r.beeps = Some(bmp::one(t, v)?),
                _ => return Ok(false),
            }
            Ok(true)
        })?;
        Ok(r)
    }
}

/// 06 E2 Display Text with Numerical Input (PA00P015 13.07 ch. 2.35; BMPs as in ecrterm).
///
/// How the digits come back is not settled by the open implementations. This crate's
/// choice, used by both the ECR and the simulator side: the PT answers `80 00 00`, then
/// ends with **06 0F Completion carrying BMP 27 = 00 and the entered digits as ASCII in
/// BMP 3C** (see [`Completion::numeric_input`]); a cancelled input ends with 06 1E.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct NumericInput {
    /// BMP F0 display duration in seconds.
    pub duration: Option<u8>,
    /// BMP F1–F8 text 1 lines.
    pub lines: Vec<String>,
    /// BMP E1–E8 text 2 lines (shown after input).
    pub input_lines: Vec<String>,
    /// BMP E0 minimum input length.
    pub min_len: Option<u8>,
    /// BMP E9 maximum input length.
    pub max_len: Option<u8>,
    /// BMP EA echo the input (0 = masked).
    pub echo: Option<u8>,
    /// BMP FB input must be confirmed with OK.
    pub ok_required: Option<u8>,
    /// BMP EB MAC over text 1 and text 2.
    pub mac: Option<[u8; 8]>,
}

impl NumericInput {
    /// Control field `06 E2`.
    pub const CONTROL: [u8; 2] = [0x06, 0xE2];

    /// Encodes the command.
    pub fn to_apdu(&self) -> Result<Apdu, CodecError> {
        let mut w = Writer::default();
        w.u8(tag::DISPLAY_DURATION, self.duration)?
            .lines(tag::LINE_1, &self.lines)?
            .lines(tag::INPUT_LINE_1, &self.input_lines)?
            .u8(tag::INPUT_MIN, self.min_len)?
            .u8(tag::INPUT_MAX, self.max_len)?
            .u8(tag::INPUT_ECHO, self.echo)?
            .u8(tag::OK_REQUIRED, self.ok_required)?
            .bytes(tag::MAC, self.mac.as_ref().map(|m| &m[..]))?;
        w.into_apdu(Self::CONTROL)
    }

    /// Decodes the command.
    pub fn from_apdu(apdu: &Apdu) -> Result<Self, CodecError> {
        check_control(apdu, Self::CONTROL)?;
        let mut r = NumericInput::default();
        each_bmp(apdu.data(), "06 E2 Numeric input", |t, v| {
            match t {
                tag::DISPLAY_DURATION => r.duration = Some(bmp::one(t, v)?),
                0xF1..=0xF8 => r.lines.push(text(v)),
                0xE1..=0xE8 => r.input_lines.push(text(v)),
                tag::INPUT_MIN => r.min_len = Some(bmp::one(t, v)?),
                tag::INPUT_MAX => r.max_len = Some(bmp::one(t, v)?),
                tag::INPUT_ECHO => r.echo = Some(bmp::one(t, v)?),
                tag::OK_REQUIRED => r.ok_required = Some(bmp::one(t, v)?),
                tag::MAC => r.mac = Some(bmp::array(t, v)?),
                _ => return Ok(false),
            }
            Ok(true)
        })?;
        Ok(r)
    }
}

/// 06 C0 Read Card (PA00P015 13.07 ch. 2.21; EVerest 13.11 ch. 2.21): untagged time-out
/// byte (seconds; do not use 0 = infinite), then `[19]`, `[FC]`, `[06]`. The card data comes
/// back in a 04 0F (BMP 22/23…), or the PT ends with 06 1E.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadCard {
    /// Time-out in seconds.
    pub timeout_s: u8,
    /// BMP 19 card type selection.
    pub payment_type: Option<u8>,
    /// BMP FC dialog control.
    pub dialog_control: Option<u8>,
    /// BMP 06 TLV container.
    pub tlv: Vec<TlvItem>,
}

impl ReadCard {
    /// Control field `06 C0`.
    pub const CONTROL: [u8; 2] = [0x06, 0xC0];

    /// Encodes the command.
    pub fn to_apdu(&self) -> Result<Apdu, CodecError> {
        let mut w = Writer::default();
        w.raw(&[self.timeout_s])
            .u8(tag::PAYMENT_TYPE, self.payment_type)?
            .u8(tag::DIALOG_CONTROL, self.dialog_control)?
            .tlv(&self.tlv)?;
        w.into_apdu(Self::CONTROL)
    }

    /// Decodes the command.
    pub fn from_apdu(apdu: &Apdu) -> Result<Self, CodecError> {
        check_control(apdu, Self::CONTROL)?;
        let (&timeout_s, rest) = apdu.data().split_first().ok_or(CodecError::Missing {
            what: "time-out byte",
        })?;
        let mut r = ReadCard {
            timeout_s,
            payment_type: None,
            dialog_control: None,
            tlv: Vec::new(),
        };
        each_bmp(rest, "06 C0 Read Card", |t, v| {
            match t {
                tag::PAYMENT_TYPE => r.payment_type = Some(bmp::one(t, v)?),
                tag::DIALOG_CONTROL => r.dialog_control = Some(bmp::one(t, v)?),
                tag::TLV => r.tlv = parse_tlv(v)?,
                _ => return Ok(false),
            }
            Ok(true)
        })?;
        Ok(r)
    }
}

/// A command from the ECR to the PT.
#[derive(Debug, Clone, PartialEq)]
pub enum EcrCommand {
    /// 06 00 Registration (ch. 2.1).
    Registration(Registration),
    /// 06 01 Authorization / payment (ch. 2.2).
    Authorization(PaymentRequest),
    /// 06 22 Reservation / pre-authorisation (ch. 2.8).
    Reservation(PaymentRequest),
    /// 06 23 Partial reversal / booking of a reservation (ch. 2.10).
    PartialReversal(PartialReversal),
    /// 06 24 Book Total (ch. 2.9).
    BookTotal(BookTotal),
    /// 06 25 Pre-authorisation reversal (ch. 2.11).
    PreAuthReversal(PreAuthReversal),
    /// 06 30 Reversal (ch. 2.14).
    Reversal(Reversal),
    /// 06 31 Refund (ch. 2.15).
    Refund(Refund),
    /// 06 B0 Abort (ch. 2.4): honoured only in some states.
    Abort,
    /// 05 01 Status Enquiry (ch. 2.55).
    StatusEnquiry(StatusEnquiry),
    /// 06 50 End of Day (ch. 2.16).
    EndOfDay(EndOfDay),
    /// 06 20 Repeat Receipt (ch. 2.13).
    RepeatReceipt(RepeatReceipt),
    /// 06 E0 Display Text (ch. 2.33).
    DisplayText(DisplayText),
    /// 06 E2 Display Text with Numerical Input (ch. 2.35).
    NumericInput(NumericInput),
    /// 06 C0 Read Card (ch. 2.21).
    ReadCard(ReadCard),
}

/// Control field of 06 01.
pub const AUTHORIZATION: [u8; 2] = [0x06, 0x01];
/// Control field of 06 22.
pub const RESERVATION: [u8; 2] = [0x06, 0x22];
/// Control field of 06 B0.
pub const ABORT: [u8; 2] = [0x06, 0xB0];

impl EcrCommand {
    /// The command's control field.
    pub fn control(&self) -> [u8; 2] {
        match self {
            EcrCommand::Registration(_) => Registration::CONTROL,
            EcrCommand::Authorization(_) => AUTHORIZATION,
            EcrCommand::Reservation(_) => RESERVATION,
            EcrCommand::PartialReversal(_) => PartialReversal::CONTROL,
            EcrCommand::BookTotal(_) => BookTotal::CONTROL,
            EcrCommand::PreAuthReversal(_) => PreAuthReversal::CONTROL,
            EcrCommand::Reversal(_) => Reversal::CONTROL,
            EcrCommand::Refund(_) => Refund::CONTROL,
            EcrCommand::Abort => ABORT,
            EcrCommand::StatusEnquiry(_) => StatusEnquiry::CONTROL,
            EcrCommand::EndOfDay(_) => EndOfDay::CONTROL,
            EcrCommand::RepeatReceipt(_) => RepeatReceipt::CONTROL,
            EcrCommand::DisplayText(_) => DisplayText::CONTROL,
            EcrCommand::NumericInput(_) => NumericInput::CONTROL,
            EcrCommand::ReadCard(_) => ReadCard::CONTROL,
        }
    }

    /// Whether the command moves money (06 01/22/23/24/25/30/31). These are never re-sent at
    /// the application level after a lost outcome (`zvt.md` §9 rule 1).
    pub fn is_financial(&self) -> bool {
        matches!(
            self,
            EcrCommand::Authorization(_)
                | EcrCommand::Reservation(_)
                | EcrCommand::PartialReversal(_)
                | EcrCommand::BookTotal(_)
                | EcrCommand::PreAuthReversal(_)
                | EcrCommand::Reversal(_)
                | EcrCommand::Refund(_)
        )
    }

    /// Encodes the command.
    pub fn to_apdu(&self) -> Result<Apdu, CodecError> {
        match self {
            EcrCommand::Registration(c) => c.to_apdu(),
            EcrCommand::Authorization(c) => c.encode(AUTHORIZATION),
            EcrCommand::Reservation(c) => c.encode(RESERVATION),
            EcrCommand::PartialReversal(c) => c.to_apdu(),
            EcrCommand::BookTotal(c) => c.to_apdu(),
            EcrCommand::PreAuthReversal(c) => c.to_apdu(),
            EcrCommand::Reversal(c) => c.to_apdu(),
            EcrCommand::Refund(c) => c.to_apdu(),
            EcrCommand::Abort => Ok(Apdu::empty(ABORT[0], ABORT[1])),
            EcrCommand::StatusEnquiry(c) => c.to_apdu(),
            EcrCommand::EndOfDay(c) => c.to_apdu(),
            EcrCommand::RepeatReceipt(c) => c.to_apdu(),
            EcrCommand::DisplayText(c) => c.to_apdu(),
            EcrCommand::NumericInput(c) => c.to_apdu(),
            EcrCommand::ReadCard(c) => c.to_apdu(),
        }
    }

    /// Decodes a command; [`CodecError::UnexpectedControl`] for other control fields.
    pub fn from_apdu(apdu: &Apdu) -> Result<Self, CodecError> {
        Ok(match apdu.control() {
            Registration::CONTROL => EcrCommand::Registration(Registration::from_apdu(apdu)?),
            AUTHORIZATION => EcrCommand::Authorization(PaymentRequest::decode(
                apdu,
                AUTHORIZATION,
                "06 01 Authorization",
            )?),
            RESERVATION => EcrCommand::Reservation(PaymentRequest::decode(
                apdu,
                RESERVATION,
                "06 22 Reservation",
            )?),
            PartialReversal::CONTROL => {
                EcrCommand::PartialReversal(PartialReversal::from_apdu(apdu)?)
            }
            BookTotal::CONTROL => EcrCommand::BookTotal(BookTotal::from_apdu(apdu)?),
            PreAuthReversal::CONTROL => {
                EcrCommand::PreAuthReversal(PreAuthReversal::from_apdu(apdu)?)
            }
            Reversal::CONTROL => EcrCommand::Reversal(Reversal::from_apdu(apdu)?),
            Refund::CONTROL => EcrCommand::Refund(Refund::from_apdu(apdu)?),
            ABORT => {
                if !apdu.data().is_empty() {
                    return Err(CodecError::TrailingBytes {
                        count: apdu.data().len(),
                        message: "06 B0 Abort",
                    });
                }
                EcrCommand::Abort
            }
            StatusEnquiry::CONTROL => EcrCommand::StatusEnquiry(StatusEnquiry::from_apdu(apdu)?),
            EndOfDay::CONTROL => EcrCommand::EndOfDay(EndOfDay::from_apdu(apdu)?),
            RepeatReceipt::CONTROL => EcrCommand::RepeatReceipt(RepeatReceipt::from_apdu(apdu)?),
            DisplayText::CONTROL => EcrCommand::DisplayText(DisplayText::from_apdu(apdu)?),
            NumericInput::CONTROL => EcrCommand::NumericInput(NumericInput::from_apdu(apdu)?),
            ReadCard::CONTROL => EcrCommand::ReadCard(ReadCard::from_apdu(apdu)?),
            [class, instr] => return Err(CodecError::UnexpectedControl { class, instr }),
        })
    }
}

/// `Debug` stand-in for the ZVT password: it never reaches logs (issue 13 item 2).
struct Password;

impl std::fmt::Debug for Password {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("<redacted>")
    }
}

impl std::fmt::Debug for Registration {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Registration")
            .field("password", &Password)
            .field("config", &self.config)
            .field("currency", &self.currency)
            .field("service_byte", &self.service_byte)
            .field("tlv", &self.tlv)
            .finish()
    }
}

impl std::fmt::Debug for Reversal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Reversal")
            .field("password", &Password)
            .field("receipt", &self.receipt)
            .field("tlv", &self.tlv)
            .finish()
    }
}

impl std::fmt::Debug for Refund {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Refund")
            .field("password", &Password)
            .field("amount", &self.amount)
            .field("currency", &self.currency)
            .field("payment_type", &self.payment_type)
            .field("tlv", &self.tlv)
            .finish()
    }
}

impl std::fmt::Debug for StatusEnquiry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StatusEnquiry")
            .field("password", &self.password.map(|_| Password))
            .field("service_byte", &self.service_byte)
            .field("tlv", &self.tlv)
            .finish()
    }
}

impl std::fmt::Debug for EndOfDay {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EndOfDay")
            .field("password", &Password)
            .finish()
    }
}

impl std::fmt::Debug for RepeatReceipt {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RepeatReceipt")
            .field("password", &Password)
            .field("service_byte", &self.service_byte)
            .finish()
    }
}
