//! Messages from the PT to the ECR (PA00P015 rev. 13.07 ch. 3, "PT commands").

use super::*;
use crate::apdu::bmp::tag;
use crate::apdu::card::{CardNumber, SecretBytes};
use crate::apdu::codes::ResultCode;
use crate::apdu::tlv::TlvItem;
use crate::apdu::{Apdu, CodecError, bcd};
use rust_decimal::Decimal;

/// 06 0F Completion (PA00P015 13.07 ch. 2.2.9 for payments; EVerest 13.11 numbering is the
/// same). Ends a command; the ECR becomes master again.
///
/// After 05 01 Status Enquiry the data starts with two untagged fields: the software
/// version (LLLVAR, ASCII) and the terminal status byte (ch. 2.55). They are recognised by
/// a first byte in `F0..=F9`, which no BMP allowed here uses as a tag.
///
/// After 06 E2 the entered digits travel in BMP 3C, see [`Completion::numeric_input`].
/// They may be a gift-card PIN, so `Debug` shows their length only.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct Completion {
    /// Untagged software version (after 05 01). Encoding it requires `terminal_status`.
    pub sw_version: Option<String>,
    /// Untagged terminal status byte (after 05 01), see
    /// [`crate::apdu::codes::TerminalStatusCode`].
    pub terminal_status: Option<u8>,
    /// BMP 27 result code.
    pub result_code: Option<u8>,
    /// BMP 19 status byte.
    pub status_byte: Option<u8>,
    /// BMP 29 terminal ID (8 digits).
    pub terminal_id: Option<u32>,
    /// BMP 49 currency code.
    pub currency: Option<u16>,
    /// BMP 3C additional text (06 E2: the entered digits).
    pub additional_text: Option<String>,
    /// BMP 06 TLV container.
    pub tlv: Vec<TlvItem>,
    /// Bytes from the first BMP of unknown format onward, kept raw.
    pub unparsed: SecretBytes,
}

impl Completion {
    /// Control field `06 0F`.
    pub const CONTROL: [u8; 2] = [0x06, 0x0F];

    /// The digits entered after 06 E2 (BMP 3C), this crate's convention.
    pub fn numeric_input(&self) -> Option<&str> {
        self.additional_text.as_deref()
    }

    /// Encodes the message.
    pub fn to_apdu(&self) -> Result<Apdu, CodecError> {
        let mut w = Writer::default();
        match (&self.sw_version, self.terminal_status) {
            (Some(v), Some(s)) => {
                let b = bmp::text_to_bytes(v);
                if b.len() > 999 {
                    return Err(CodecError::TooLong {
                        len: b.len(),
                        max: 999,
                    });
                }
                let len = b.len();
                w.raw(&[
                    0xF0 | (len / 100) as u8,
                    0xF0 | (len / 10 % 10) as u8,
                    0xF0 | (len % 10) as u8,
                ]);
                w.raw(&b).raw(&[s]);
            }
            (None, None) => {}
            (None, Some(_)) => {
                return Err(CodecError::Missing {
                    what: "sw_version (with terminal_status)",
                });
            }
            (Some(_), None) => {
                return Err(CodecError::Missing {
                    what: "terminal_status (with sw_version)",
                });
            }
        }
        w.u8(tag::RESULT_CODE, self.result_code)?
            .u8(tag::PAYMENT_TYPE, self.status_byte)?
            .bcd(tag::TERMINAL_ID, self.terminal_id.map(u64::from))?
            .bcd(tag::CURRENCY, self.currency.map(u64::from))?
            .text(tag::ADDITIONAL_TEXT, self.additional_text.as_deref())?
            .tlv(&self.tlv)?
            .raw(self.unparsed.expose());
        w.into_apdu(Self::CONTROL)
    }

    /// Decodes the message.
    pub fn from_apdu(apdu: &Apdu) -> Result<Self, CodecError> {
        check_control(apdu, Self::CONTROL)?;
        let mut data = apdu.data();
        let mut r = Completion::default();
        if let Some(&first) = data.first()
            && (0xF0..=0xF9).contains(&first)
        {
            let prefix = data.get(..3).ok_or(CodecError::Truncated {
                needed: 3,
                available: data.len(),
            })?;
            let mut len = 0usize;
            for &b in prefix {
                if b & 0xF0 != 0xF0 || b & 0x0F > 9 {
                    return Err(CodecError::BadVarLength { tag: first });
                }
                len = len * 10 + usize::from(b & 0x0F);
            }
            let end = 3 + len;
            let v = data.get(3..end).ok_or(CodecError::Truncated {
                needed: end,
                available: data.len(),
            })?;
            let status = *data.get(end).ok_or(CodecError::Missing {
                what: "terminal status byte",
            })?;
            r.sw_version = Some(text(v));
            r.terminal_status = Some(status);
            data = &data[end + 1..];
        }
        let mut other = Vec::new();
        let rest = each_bmp_lenient(
            data,
            |t, v| {
                match t {
                    tag::RESULT_CODE => r.result_code = Some(bmp::one(t, v)?),
                    tag::PAYMENT_TYPE => r.status_byte = Some(bmp::one(t, v)?),
                    tag::TERMINAL_ID => r.terminal_id = Some(bcd_u32(v, "terminal ID")?),
                    tag::CURRENCY => r.currency = Some(bcd_u16(v, "currency")?),
                    tag::ADDITIONAL_TEXT => r.additional_text = Some(text(v)),
                    tag::TLV => r.tlv = parse_tlv(v)?,
                    _ => return Ok(false),
                }
                Ok(true)
            },
            |t, _| other.push(t),
        )?;
        if let Some(&t) = other.first() {
            return Err(CodecError::UnexpectedBmp {
                tag: t,
                message: "06 0F Completion",
            });
        }
        r.unparsed = SecretBytes::new(rest);
        Ok(r)
    }
}

/// 06 1E Abort from the PT (PA00P015 13.07 ch. 2.2.10): result code, then optional BMPs
/// (87 receipt number after 06 23, 3C, 06). Ends the command. `Debug` shows the length of
/// the additional text only.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct Abort {
    /// Result code, see [`ResultCode`].
    pub result_code: u8,
    /// BMP 87 receipt number.
    pub receipt: Option<u16>,
    /// BMP 3C additional text.
    pub additional_text: Option<String>,
    /// BMP 06 TLV container.
    pub tlv: Vec<TlvItem>,
    /// Bytes from the first BMP of unknown format onward, kept raw.
    pub unparsed: SecretBytes,
}

impl Abort {
    /// Control field `06 1E`.
    pub const CONTROL: [u8; 2] = [0x06, 0x1E];

    /// An abort with `code` and nothing else.
    pub fn new(code: u8) -> Self {
        Abort {
            result_code: code,
            ..Default::default()
        }
    }

    /// The result code from the table, if it is in it.
    pub fn code(&self) -> Option<ResultCode> {
        ResultCode::from_u8(self.result_code)
    }

    /// Encodes the message.
    pub fn to_apdu(&self) -> Result<Apdu, CodecError> {
        let mut w = Writer::default();
        w.raw(&[self.result_code])
            .bcd(tag::RECEIPT, self.receipt.map(u64::from))?
            .text(tag::ADDITIONAL_TEXT, self.additional_text.as_deref())?
            .tlv(&self.tlv)?
            .raw(self.unparsed.expose());
        w.into_apdu(Self::CONTROL)
    }

    /// Decodes the message.
    pub fn from_apdu(apdu: &Apdu) -> Result<Self, CodecError> {
        check_control(apdu, Self::CONTROL)?;
        let (&result_code, data) = apdu.data().split_first().ok_or(CodecError::Missing {
            what: "result code",
        })?;
        let mut r = Abort::new(result_code);
        let mut other = Vec::new();
        let rest = each_bmp_lenient(
            data,
            |t, v| {
                match t {
                    tag::RECEIPT => r.receipt = Some(bcd_u16(v, "receipt number")?),
                    tag::ADDITIONAL_TEXT => r.additional_text = Some(text(v)),
                    tag::TLV => r.tlv = parse_tlv(v)?,
                    _ => return Ok(false),
                }
                Ok(true)
            },
            |t, _| other.push(t),
        )?;
        if let Some(&t) = other.first() {
            return Err(CodecError::UnexpectedBmp {
                tag: t,
                message: "06 1E Abort",
            });
        }
        r.unparsed = SecretBytes::new(rest);
        Ok(r)
    }
}

/// 04 FF Intermediate Status Information (PA00P015 13.07 ch. 3.7): status byte, optional
/// untagged time-out byte, optional BMP 06. Restarts T4.
///
/// On decode a single byte after the status is the time-out; longer data is read as BMPs
/// if it parses as such, otherwise as time-out plus BMPs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IntermediateStatus {
    /// Status byte, see [`crate::apdu::codes::IntermediateStatusCode`].
    pub status: u8,
    /// Time-out in seconds the PT announces for this step.
    pub timeout: Option<u8>,
    /// BMP 06 TLV container.
    pub tlv: Vec<TlvItem>,
}

impl IntermediateStatus {
    /// Control field `04 FF`.
    pub const CONTROL: [u8; 2] = [0x04, 0xFF];

    /// Encodes the message.
    pub fn to_apdu(&self) -> Result<Apdu, CodecError> {
        let mut w = Writer::default();
        w.raw(&[self.status]);
        if let Some(t) = self.timeout {
            w.raw(&[t]);
        }
        w.tlv(&self.tlv)?;
        w.into_apdu(Self::CONTROL)
    }

    fn tlv_only(data: &[u8]) -> Result<Vec<TlvItem>, CodecError> {
        let mut tlv = Vec::new();
        each_bmp(data, "04 FF Intermediate status", |t, v| {
            if t != tag::TLV {
                return Ok(false);
            }
            tlv = parse_tlv(v)?;
            Ok(true)
        })?;
        Ok(tlv)
    }

    /// Decodes the message.
    pub fn from_apdu(apdu: &Apdu) -> Result<Self, CodecError> {
        check_control(apdu, Self::CONTROL)?;
        let (&status, rest) = apdu.data().split_first().ok_or(CodecError::Missing {
            what: "status byte",
        })?;
        match rest {
            [] => Ok(IntermediateStatus {
                status,
                timeout: None,
                tlv: Vec::new(),
            }),
            [t] => Ok(IntermediateStatus {
                status,
                timeout: Some(*t),
                tlv: Vec::new(),
            }),
            _ => match Self::tlv_only(rest) {
                Ok(tlv) => Ok(IntermediateStatus {
                    status,
                    timeout: None,
                    tlv,
                }),
                Err(_) => Ok(IntermediateStatus {
                    status,
                    timeout: Some(rest[0]),
                    tlv: Self::tlv_only(&rest[1..])?,
                }),
            },
        }
    }
}

/// 04 0F Status Information (PA00P015 13.07 ch. 2.2.4): the transaction's data as BMPs.
/// Restarts T4. Journal 27/04/0B/87 before acknowledging (`zvt.md` §9 rule 2).
///
/// Card data (22, 23, 24, 2D) is held in types whose `Debug` masks it.
///
/// Encoded order: 27, 04, 0B, 37, 0C, 0D, 0E, 17, 19, 22, 23, 24, 2D, 29, 2A, 3B, 3C, 49,
/// 60, 87, 88, 8A, 8B, 8C, AA, other known BMPs, 06, unparsed rest.
///
/// `Debug` shows the length of the additional text (3C) only.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct StatusInformation {
    /// BMP 27 result code.
    pub result_code: Option<u8>,
    /// BMP 04 amount.
    pub amount: Option<Decimal>,
    /// BMP 0B trace number.
    pub trace: Option<u32>,
    /// BMP 37 original trace number.
    pub original_trace: Option<u32>,
    /// BMP 0C time HHMMSS (as the decimal number `hhmmss`).
    pub time: Option<u32>,
    /// BMP 0D date MMDD.
    pub date: Option<u16>,
    /// BMP 0E expiry YYMM.
    pub expiry: Option<u16>,
    /// BMP 17 card sequence number.
    pub card_sequence: Option<u16>,
    /// BMP 19 payment type.
    pub payment_type: Option<u8>,
    /// BMP 22 card number (masked digits stay masked).
    pub card_number: Option<CardNumber>,
    /// BMP 23 track 2.
    pub track2: Option<SecretBytes>,
    /// BMP 24 track 3.
    pub track3: Option<SecretBytes>,
    /// BMP 2D track 1.
    pub track1: Option<SecretBytes>,
    /// BMP 29 terminal ID.
    pub terminal_id: Option<u32>,
    /// BMP 2A VU number (15 ASCII).
    pub vu_number: Option<[u8; 15]>,
    /// BMP 3B AID.
    pub aid: Option<[u8; 8]>,
    /// BMP 3C additional text.
    pub additional_text: Option<String>,
    /// BMP 49 currency code.
    pub currency: Option<u16>,
    /// BMP 60 individual totals (end of day), raw.
    pub totals: Option<Vec<u8>>,
    /// BMP 87 receipt number.
    pub receipt: Option<u16>,
    /// BMP 88 turnover record number.
    pub turnover: Option<u32>,
    /// BMP 8A card type.
    pub card_type: Option<u8>,
    /// BMP 8B card name.
    pub card_name: Option<String>,
    /// BMP 8C card type ID of the network operator.
    pub card_operator: Option<u8>,
    /// BMP AA date YYMMDD.
    pub date_full: Option<u32>,
    /// Other BMPs of known format, in order, raw.
    pub other: Vec<(u8, SecretBytes)>,
    /// BMP 06 TLV container.
    pub tlv: Vec<TlvItem>,
    /// Bytes from the first BMP of unknown format onward, kept raw.
    pub unparsed: SecretBytes,
}

impl StatusInformation {
    /// Control field `04 0F`.
    pub const CONTROL: [u8; 2] = [0x04, 0x0F];

    /// Whether BMP 27 says success (`00`).
    pub fn is_success(&self) -> bool {
        self.result_code == Some(0)
    }

    /// Encodes the message.
    pub fn to_apdu(&self) -> Result<Apdu, CodecError> {
        let mut w = Writer::default();
        w.u8(tag::RESULT_CODE, self.result_code)?
            .amount(self.amount)?
            .bcd(tag::TRACE, self.trace.map(u64::from))?
            .bcd(tag::ORIGINAL_TRACE, self.original_trace.map(u64::from))?
            .bcd(tag::TIME, self.time.map(u64::from))?
            .bcd(tag::DATE, self.date.map(u64::from))?
            .bcd(tag::EXPIRY, self.expiry.map(u64::from))?
            .bcd(tag::CARD_SEQUENCE, self.card_sequence.map(u64::from))?
            .u8(tag::PAYMENT_TYPE, self.payment_type)?
            .bytes(
                tag::CARD_NUMBER,
                self.card_number.as_ref().map(|c| c.to_bcd()).as_deref(),
            )?
            .bytes(tag::TRACK_2, self.track2.as_ref().map(|t| t.expose()))?
            .bytes(tag::TRACK_3, self.track3.as_ref().map(|t| t.expose()))?
            .bytes(tag::TRACK_1, self.track1.as_ref().map(|t| t.expose()))?
            .bcd(tag::TERMINAL_ID, self.terminal_id.map(u64::from))?
            .bytes(tag::VU_NUMBER, self.vu_number.as_ref().map(|v| &v[..]))?
            .bytes(tag::AID, self.aid.as_ref().map(|v| &v[..]))?
            .text(tag::ADDITIONAL_TEXT, self.additional_text.as_deref())?
            .bcd(tag::CURRENCY, self.currency.map(u64::from))?
            .bytes(tag::TOTALS, self.totals.as_deref())?
            .bcd(tag::RECEIPT, self.receipt.map(u64::from))?
            .bcd(tag::TURNOVER, self.turnover.map(u64::from))?
            .u8(tag::CARD_TYPE, self.card_type)?
            .text(tag::CARD_NAME, self.card_name.as_deref())?
            .u8(tag::CARD_OPERATOR, self.card_operator)?
            .bcd(tag::DATE_FULL, self.date_full.map(u64::from))?;
        for (t, v) in &self.other {
            w.bytes(*t, Some(v.expose()))?;
        }
        w.tlv(&self.tlv)?.raw(self.unparsed.expose());
        w.into_apdu(Self::CONTROL)
    }

    /// Decodes the message.
    pub fn from_apdu(apdu: &Apdu) -> Result<Self, CodecError> {
        check_control(apdu, Self::CONTROL)?;
        let mut r = StatusInformation::default();
        let mut other = Vec::new();
        let rest = each_bmp_lenient(
            apdu.data(),
            |t, v| {
                match t {
                    tag::RESULT_CODE => r.result_code = Some(bmp::one(t, v)?),
                    tag::AMOUNT => r.amount = Some(bcd::amount_from_bcd(v)?),
                    tag::TRACE => r.trace = Some(bcd_u32(v, "trace number")?),
                    tag::ORIGINAL_TRACE => r.original_trace = Some(bcd_u32(v, "original trace")?),
                    tag::TIME => r.time = Some(bcd_u32(v, "time")?),
                    tag::DATE => r.date = Some(bcd_u16(v, "date")?),
                    tag::EXPIRY => r.expiry = Some(bcd_u16(v, "expiry")?),
                    tag::CARD_SEQUENCE => r.card_sequence = Some(bcd_u16(v, "card sequence")?),
                    tag::PAYMENT_TYPE => r.payment_type = Some(bmp::one(t, v)?),
                    tag::CARD_NUMBER => r.card_number = Some(CardNumber::from_bcd(v)?),
                    tag::TRACK_2 => r.track2 = Some(SecretBytes::new(v)),
                    tag::TRACK_3 => r.track3 = Some(SecretBytes::new(v)),
                    tag::TRACK_1 => r.track1 = Some(SecretBytes::new(v)),
                    tag::TERMINAL_ID => r.terminal_id = Some(bcd_u32(v, "terminal ID")?),
                    tag::VU_NUMBER => r.vu_number = Some(bmp::array(t, v)?),
                    tag::AID => r.aid = Some(bmp::array(t, v)?),
                    tag::ADDITIONAL_TEXT => r.additional_text = Some(text(v)),
                    tag::CURRENCY => r.currency = Some(bcd_u16(v, "currency")?),
                    tag::TOTALS => r.totals = Some(v.to_vec()),
                    tag::RECEIPT => r.receipt = Some(bcd_u16(v, "receipt number")?),
                    tag::TURNOVER => r.turnover = Some(bcd_u32(v, "turnover number")?),
                    tag::CARD_TYPE => r.card_type = Some(bmp::one(t, v)?),
                    tag::CARD_NAME => r.card_name = Some(text(v)),
                    tag::CARD_OPERATOR => r.card_operator = Some(bmp::one(t, v)?),
                    tag::DATE_FULL => r.date_full = Some(bcd_u32(v, "date")?),
                    tag::TLV => r.tlv = parse_tlv(v)?,
                    _ => return Ok(false),
                }
                Ok(true)
            },
            |t, v| other.push((t, SecretBytes::new(v))),
        )?;
        r.other = other;
        r.unparsed = SecretBytes::new(rest);
        Ok(r)
    }
}

/// 06 D1 Print Line (PA00P015 13.07 ch. 3.5; EVerest 13.11 ch. 3.5): attribute byte, then
/// the text (untagged, to the end of the data).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrintLine {
    /// Attribute byte (`FF` = last line of the receipt, bit flags for size).
    pub attribute: u8,
    /// The line's text.
    pub text: String,
}

impl PrintLine {
    /// Control field `06 D1`.
    pub const CONTROL: [u8; 2] = [0x06, 0xD1];

    /// Encodes the message.
    pub fn to_apdu(&self) -> Result<Apdu, CodecError> {
        let mut w = Writer::default();
        w.raw(&[self.attribute])
            .raw(&bmp::text_to_bytes(&self.text));
        w.into_apdu(Self::CONTROL)
    }

    /// Decodes the message.
    pub fn from_apdu(apdu: &Apdu) -> Result<Self, CodecError> {
        check_control(apdu, Self::CONTROL)?;
        let (&attribute, t) = apdu.data().split_first().ok_or(CodecError::Missing {
            what: "attribute byte",
        })?;
        Ok(PrintLine {
            attribute,
            text: text(t),
        })
    }
}

/// 06 D3 Print Text Block (PA00P015 13.07 ch. 3.6): a BMP 06 TLV container holding tag 25
/// (print texts) with 07 text lines and optionally 1F07 receipt type.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PrintTextBlock {
    /// The TLV container's elements.
    pub tlv: Vec<TlvItem>,
}

impl PrintTextBlock {
    /// Control field `06 D3`.
    pub const CONTROL: [u8; 2] = [0x06, 0xD3];

    /// A block with these lines and an optional receipt type (1F07).
    pub fn from_lines(lines: &[String], receipt_type: Option<u8>) -> Result<Self, CodecError> {
        let mut children: Vec<TlvItem> = Vec::new();
        if let Some(rt) = receipt_type {
            children.push(TlvItem::new(tlv::tag::RECEIPT_TYPE, [rt]));
        }
        children.extend(
            lines
                .iter()
                .map(|l| TlvItem::new(tlv::tag::TEXT_LINE, bmp::text_to_bytes(l))),
        );
        Ok(PrintTextBlock {
            tlv: vec![TlvItem::constructed(tlv::tag::PRINT_TEXTS, &children)?],
        })
    }

    /// The text lines (tag 07 inside tag 25, or at top level); other tags are skipped.
    pub fn lines(&self) -> Vec<String> {
        let mut out = Vec::new();
        for item in &self.tlv {
            if item.tag == tlv::tag::TEXT_LINE {
                out.push(text(&item.value));
            } else if item.tag == tlv::tag::PRINT_TEXTS
                && let Ok(children) = item.children()
            {
                out.extend(
                    children
                        .iter()
                        .filter(|c| c.tag == tlv::tag::TEXT_LINE)
                        .map(|c| text(&c.value)),
                );
            }
        }
        out
    }

    /// Encodes the message.
    pub fn to_apdu(&self) -> Result<Apdu, CodecError> {
        let mut w = Writer::default();
        w.tlv(&self.tlv)?;
        w.into_apdu(Self::CONTROL)
    }

    /// Decodes the message.
    pub fn from_apdu(apdu: &Apdu) -> Result<Self, CodecError> {
        check_control(apdu, Self::CONTROL)?;
        let mut r = PrintTextBlock::default();
        each_bmp(apdu.data(), "06 D3 Print text block", |t, v| {
            if t != tag::TLV {
                return Ok(false);
            }
            r.tlv = parse_tlv(v)?;
            Ok(true)
        })?;
        Ok(r)
    }
}

/// A message from the PT to the ECR.
#[derive(Debug, Clone, PartialEq)]
pub enum PtMessage {
    /// `80 00 00`: the PT accepted the command.
    Ack,
    /// `84 xx 00`: the PT refused the command with result code `xx`.
    Nack(u8),
    /// 06 0F Completion.
    Completion(Completion),
    /// 06 1E Abort.
    Abort(Abort),
    /// 04 0F Status Information.
    StatusInformation(Box<StatusInformation>),
    /// 04 FF Intermediate Status Information.
    IntermediateStatus(IntermediateStatus),
    /// 06 D1 Print Line.
    PrintLine(PrintLine),
    /// 06 D3 Print Text Block.
    PrintTextBlock(PrintTextBlock),
    /// A control field this crate does not model (ACK it and report it).
    Other(Apdu),
}

impl PtMessage {
    /// Decodes an APDU sent by a PT. Unknown control fields give [`PtMessage::Other`];
    /// known ones with bad content give an error.
    pub fn from_apdu(apdu: &Apdu) -> Result<Self, CodecError> {
        Ok(match apdu.control() {
            [0x80, 0x00] if apdu.data().is_empty() => PtMessage::Ack,
            [NACK_CLASS, code] if apdu.data().is_empty() => PtMessage::Nack(code),
            Completion::CONTROL => PtMessage::Completion(Completion::from_apdu(apdu)?),
            Abort::CONTROL => PtMessage::Abort(Abort::from_apdu(apdu)?),
            StatusInformation::CONTROL => {
                PtMessage::StatusInformation(Box::new(StatusInformation::from_apdu(apdu)?))
            }
            IntermediateStatus::CONTROL => {
                PtMessage::IntermediateStatus(IntermediateStatus::from_apdu(apdu)?)
            }
            PrintLine::CONTROL => PtMessage::PrintLine(PrintLine::from_apdu(apdu)?),
            PrintTextBlock::CONTROL => PtMessage::PrintTextBlock(PrintTextBlock::from_apdu(apdu)?),
            _ => PtMessage::Other(apdu.clone()),
        })
    }

    /// Encodes the message.
    pub fn to_apdu(&self) -> Result<Apdu, CodecError> {
        match self {
            PtMessage::Ack => Ok(ack_apdu()),
            PtMessage::Nack(code) => Ok(nack_apdu(*code)),
            PtMessage::Completion(m) => m.to_apdu(),
            PtMessage::Abort(m) => m.to_apdu(),
            PtMessage::StatusInformation(m) => m.to_apdu(),
            PtMessage::IntermediateStatus(m) => m.to_apdu(),
            PtMessage::PrintLine(m) => m.to_apdu(),
            PtMessage::PrintTextBlock(m) => m.to_apdu(),
            PtMessage::Other(a) => Ok(a.clone()),
        }
    }
}

/// `Debug` stand-in for a text that may hold typed digits (BMP 3C).
struct Redacted<'a>(&'a Option<String>);

impl std::fmt::Debug for Redacted<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.0 {
            Some(t) => write!(f, "Some(<{} chars redacted>)", t.chars().count()),
            None => f.write_str("None"),
        }
    }
}

impl std::fmt::Debug for Completion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Completion")
            .field("sw_version", &self.sw_version)
            .field("terminal_status", &self.terminal_status)
            .field("result_code", &self.result_code)
            .field("status_byte", &self.status_byte)
            .field("terminal_id", &self.terminal_id)
            .field("currency", &self.currency)
            .field("additional_text", &Redacted(&self.additional_text))
            .field("tlv", &self.tlv)
            .field("unparsed", &self.unparsed)
            .finish()
    }
}

impl std::fmt::Debug for Abort {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Abort")
            .field("result_code", &self.result_code)
            .field("receipt", &self.receipt)
            .field("additional_text", &Redacted(&self.additional_text))
            .field("tlv", &self.tlv)
            .field("unparsed", &self.unparsed)
            .finish()
    }
}

impl std::fmt::Debug for StatusInformation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StatusInformation")
            .field("result_code", &self.result_code)
            .field("amount", &self.amount)
            .field("trace", &self.trace)
            .field("original_trace", &self.original_trace)
            .field("time", &self.time)
            .field("date", &self.date)
            .field("expiry", &self.expiry.map(|_| "<redacted>"))
            .field("card_sequence", &self.card_sequence)
            .field("payment_type", &self.payment_type)
            .field("card_number", &self.card_number)
            .field("track2", &self.track2)
            .field("track3", &self.track3)
            .field("track1", &self.track1)
            .field("terminal_id", &self.terminal_id)
            .field("vu_number", &self.vu_number)
            .field("aid", &self.aid)
            .field("additional_text", &Redacted(&self.additional_text))
            .field("currency", &self.currency)
            .field("totals", &self.totals)
            .field("receipt", &self.receipt)
            .field("turnover", &self.turnover)
            .field("card_type", &self.card_type)
            .field("card_name", &self.card_name)
            .field("card_operator", &self.card_operator)
            .field("date_full", &self.date_full)
            .field("other", &self.other)
            .field("tlv", &self.tlv)
            .finish_non_exhaustive()
    }
}
