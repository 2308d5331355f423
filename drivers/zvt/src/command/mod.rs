//! Typed ZVT messages in both directions, each encoding to and decoding from an [`Apdu`].
//!
//! - [`EcrCommand`]: commands ECR → PT ([`ecr`]).
//! - [`PtMessage`]: messages PT → ECR ([`pt`]).
//! - [`EcrMessage`]: everything an ECR sends, as a PT (simulator) decodes it.
//!
//! Chapter numbers cite PA00P015 revision 13.07 unless noted; EVerest/zvt cites revision
//! 13.11 where chapter numbers can differ (for example Status Enquiry is 2.55 there).
//!
//! Decoders accept BMPs in any order; encoders write them in the order the spec's tables
//! list them. ECR commands decode strictly (a BMP the command does not allow is an error).
//! PT messages decode leniently: at a BMP tag whose length is unknown, decoding stops and
//! the rest is kept raw in an `unparsed` field, so a newer terminal's extra fields do not
//! lose the message.

pub mod ecr;
pub mod pt;

pub use ecr::*;
pub use pt::*;

use crate::apdu::bmp::{self, tag};
use crate::apdu::tlv::{self, TlvItem};
use crate::apdu::{Apdu, CodecError, bcd};

/// `80 00 00`: positive acknowledgement (PA00P016 rev. 04 ch. 2.3, both directions).
pub const ACK_CONTROL: [u8; 2] = [0x80, 0x00];
/// CCRC of a negative acknowledgement `84 xx 00`.
pub const NACK_CLASS: u8 = 0x84;

/// The `80 00 00` APDU.
pub const fn ack_apdu() -> Apdu {
    Apdu::empty(0x80, 0x00)
}

/// The `84 xx 00` APDU with result code `code`.
pub const fn nack_apdu(code: u8) -> Apdu {
    Apdu::empty(NACK_CLASS, code)
}

/// Anything an ECR sends, as seen by a PT.
#[derive(Debug, Clone, PartialEq)]
pub enum EcrMessage {
    /// A command.
    Command(EcrCommand),
    /// `80 00 00`.
    Ack,
    /// `84 xx 00` with its code.
    Nack(u8),
    /// A control field this crate does not model.
    Other(Apdu),
}

impl EcrMessage {
    /// Decodes an APDU sent by an ECR. Unknown control fields give [`EcrMessage::Other`];
    /// known ones with bad content give an error.
    pub fn from_apdu(apdu: &Apdu) -> Result<Self, CodecError> {
        match (apdu.class(), apdu.instr()) {
            (0x80, 0x00) if apdu.data().is_empty() => Ok(EcrMessage::Ack),
            (NACK_CLASS, code) if apdu.data().is_empty() => Ok(EcrMessage::Nack(code)),
            _ => match EcrCommand::from_apdu(apdu) {
                Err(CodecError::UnexpectedControl { .. }) => Ok(EcrMessage::Other(apdu.clone())),
                r => r.map(EcrMessage::Command),
            },
        }
    }

    /// Encodes the message.
    pub fn to_apdu(&self) -> Result<Apdu, CodecError> {
        match self {
            EcrMessage::Command(c) => c.to_apdu(),
            EcrMessage::Ack => Ok(ack_apdu()),
            EcrMessage::Nack(code) => Ok(nack_apdu(*code)),
            EcrMessage::Other(a) => Ok(a.clone()),
        }
    }
}

/// A receipt number reference in 06 23 (BMP 87): one receipt, or `FF FF` = all open
/// reservations (PA00P015 13.07 ch. 2.10, "Partial-Reversal of a Pre-Authorisation").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ReceiptSelector {
    /// Receipt number 0–9999.
    Number(u16),
    /// `87 FF FF`: list the open reservations.
    AllOpen,
}

// ---- shared BMP writing and reading helpers -------------------------------------------

/// Builds a data block field by field.
#[derive(Default)]
pub(crate) struct Writer(pub(crate) Vec<u8>);

impl Writer {
    pub(crate) fn raw(&mut self, bytes: &[u8]) -> &mut Self {
        self.0.extend_from_slice(bytes);
        self
    }
    pub(crate) fn bcd_raw(
        &mut self,
        v: u64,
        len: usize,
        what: &'static str,
    ) -> Result<&mut Self, CodecError> {
        let b = bcd::encode_u64(v, len, what)?;
        self.0.extend_from_slice(&b);
        Ok(self)
    }
    pub(crate) fn u8(&mut self, t: u8, v: Option<u8>) -> Result<&mut Self, CodecError> {
        if let Some(v) = v {
            bmp::put_u8(&mut self.0, t, v)?;
        }
        Ok(self)
    }
    pub(crate) fn bcd(&mut self, t: u8, v: Option<u64>) -> Result<&mut Self, CodecError> {
        if let Some(v) = v {
            bmp::put_bcd(&mut self.0, t, v)?;
        }
        Ok(self)
    }
    pub(crate) fn bytes(&mut self, t: u8, v: Option<&[u8]>) -> Result<&mut Self, CodecError> {
        if let Some(v) = v {
            bmp::put(&mut self.0, t, v)?;
        }
        Ok(self)
    }
    pub(crate) fn text(&mut self, t: u8, v: Option<&str>) -> Result<&mut Self, CodecError> {
        if let Some(v) = v {
            bmp::put(&mut self.0, t, &bmp::text_to_bytes(v))?;
        }
        Ok(self)
    }
    pub(crate) fn amount(
        &mut self,
        v: Option<rust_decimal::Decimal>,
    ) -> Result<&mut Self, CodecError> {
        if let Some(v) = v {
            bmp::put(&mut self.0, tag::AMOUNT, &bcd::amount_to_bcd(v)?)?;
        }
        Ok(self)
    }
    pub(crate) fn tlv(&mut self, items: &[TlvItem]) -> Result<&mut Self, CodecError> {
        if !items.is_empty() {
            let mut v = Vec::new();
            tlv::encode(items, &mut v)?;
            bmp::put(&mut self.0, tag::TLV, &v)?;
        }
        Ok(self)
    }
    pub(crate) fn lines(&mut self, first: u8, lines: &[String]) -> Result<&mut Self, CodecError> {
        if lines.len() > 8 {
            return Err(CodecError::OutOfRange {
                what: "text lines (max 8)",
            });
        }
        for (i, l) in lines.iter().enumerate() {
            bmp::put(&mut self.0, first + i as u8, &bmp::text_to_bytes(l))?;
        }
        Ok(self)
    }
    pub(crate) fn into_apdu(self, control: [u8; 2]) -> Result<Apdu, CodecError> {
        Apdu::new(control[0], control[1], self.0)
    }
}

/// Walks the BMPs of `data`, calling `f` for each; `f` returns `Ok(false)` for a tag the
/// message does not allow. Strict: unknown tags are errors.
pub(crate) fn each_bmp(
    data: &[u8],
    message: &'static str,
    mut f: impl FnMut(u8, &[u8]) -> Result<bool, CodecError>,
) -> Result<(), CodecError> {
    for item in bmp::Bmps::new(data) {
        let (t, v) = item?;
        if !f(t, v)? {
            return Err(CodecError::UnexpectedBmp { tag: t, message });
        }
    }
    Ok(())
}

/// Like [`each_bmp`], but stops at a tag of unknown length and returns the rest, starting
/// at that tag. Tags `f` does not handle are handed to `other`.
pub(crate) fn each_bmp_lenient(
    data: &[u8],
    mut f: impl FnMut(u8, &[u8]) -> Result<bool, CodecError>,
    mut other: impl FnMut(u8, &[u8]),
) -> Result<&[u8], CodecError> {
    let mut it = bmp::Bmps::new(data);
    loop {
        let before = it.remaining();
        match it.next() {
            None => return Ok(&[]),
            Some(Ok((t, v))) => {
                if !f(t, v)? {
                    other(t, v);
                }
            }
            Some(Err(CodecError::UnknownBmp { .. })) => return Ok(before),
            Some(Err(e)) => return Err(e),
        }
    }
}

pub(crate) fn parse_tlv(v: &[u8]) -> Result<Vec<TlvItem>, CodecError> {
    tlv::parse(v)
}

pub(crate) fn text(v: &[u8]) -> String {
    bmp::bytes_to_text(v)
}

pub(crate) fn bcd_u32(v: &[u8], what: &'static str) -> Result<u32, CodecError> {
    // Fixed BCD fields here are at most 4 bytes (8 digits), so the value fits.
    Ok(bcd::decode_u64(v, what)? as u32)
}

pub(crate) fn bcd_u16(v: &[u8], what: &'static str) -> Result<u16, CodecError> {
    let n = bcd::decode_u64(v, what)?;
    u16::try_from(n).map_err(|_| CodecError::OutOfRange { what })
}

pub(crate) fn check_control(apdu: &Apdu, control: [u8; 2]) -> Result<(), CodecError> {
    if apdu.control() != control {
        return Err(CodecError::UnexpectedControl {
            class: apdu.class(),
            instr: apdu.instr(),
        });
    }
    Ok(())
}
