//! BMP fields: a 1-byte tag followed by a fixed-length or variable-length value.
//!
//! The format of each tag follows PA00P015 13.07 ch. 9 ("Bitmaps"), cross-checked against
//! ecrterm's `bitmaps.py` and EVerest's `packets.rs`. A tag missing from [`format()`] cannot be
//! skipped, because its length is unknown.
//!
//! Variable lengths: LLVAR is 2 bytes, LLLVAR 3 bytes, each `F0 | digit` (`F1 F6` = 16).
//! BMP 06 carries a BER-TLV container with a BER length (see [`super::tlv`]).

use super::{CodecError, tlv};

/// The tags used by this crate (PA00P015 13.07 ch. 9).
pub mod tag {
    /// Time-out, 1 byte binary (seconds).
    pub const TIMEOUT: u8 = 0x01;
    /// Maximum number of status informations, 1 byte.
    pub const MAX_STATUS_INFOS: u8 = 0x02;
    /// Service byte, 1 byte flags.
    pub const SERVICE_BYTE: u8 = 0x03;
    /// Amount, 6 bytes BCD minor units.
    pub const AMOUNT: u8 = 0x04;
    /// Pump number, 1 byte.
    pub const PUMP_NR: u8 = 0x05;
    /// TLV container.
    pub const TLV: u8 = 0x06;
    /// Trace number, 3 BCD.
    pub const TRACE: u8 = 0x0B;
    /// Time HHMMSS, 3 BCD.
    pub const TIME: u8 = 0x0C;
    /// Date MMDD, 2 BCD.
    pub const DATE: u8 = 0x0D;
    /// Expiry YYMM, 2 BCD.
    pub const EXPIRY: u8 = 0x0E;
    /// Card sequence number, 2 BCD.
    pub const CARD_SEQUENCE: u8 = 0x17;
    /// Status byte / payment type, 1 byte.
    pub const PAYMENT_TYPE: u8 = 0x19;
    /// PAN / card number, LLVAR BCD (nibble E = masked digit).
    pub const CARD_NUMBER: u8 = 0x22;
    /// Track 2, LLVAR.
    pub const TRACK_2: u8 = 0x23;
    /// Track 3, LLLVAR.
    pub const TRACK_3: u8 = 0x24;
    /// Result code, 1 byte binary.
    pub const RESULT_CODE: u8 = 0x27;
    /// Terminal ID, 4 BCD.
    pub const TERMINAL_ID: u8 = 0x29;
    /// VU (contract) number, 15 ASCII.
    pub const VU_NUMBER: u8 = 0x2A;
    /// Track 1, LLVAR.
    pub const TRACK_1: u8 = 0x2D;
    /// Synchronous chip data, LLLVAR.
    pub const SYNC_CHIP_DATA: u8 = 0x2E;
    /// Trace number of the original transaction, 3 BCD.
    pub const ORIGINAL_TRACE: u8 = 0x37;
    /// CVV, 2 BCD.
    pub const CVV: u8 = 0x3A;
    /// AID / authorisation attribute, 8 bytes.
    pub const AID: u8 = 0x3B;
    /// Additional text, LLLVAR.
    pub const ADDITIONAL_TEXT: u8 = 0x3C;
    /// Password, 3 BCD.
    pub const PASSWORD: u8 = 0x3D;
    /// Currency code, 2 BCD (`09 78` = EUR).
    pub const CURRENCY: u8 = 0x49;
    /// Individual totals, LLLVAR.
    pub const TOTALS: u8 = 0x60;
    /// Receipt number, 2 BCD (`FF FF` = all/open).
    pub const RECEIPT: u8 = 0x87;
    /// Turnover record number, 3 BCD.
    pub const TURNOVER: u8 = 0x88;
    /// ZVT card type, 1 byte.
    pub const CARD_TYPE: u8 = 0x8A;
    /// Card name, LLVAR.
    pub const CARD_NAME: u8 = 0x8B;
    /// Card type ID of the network operator, 1 byte.
    pub const CARD_OPERATOR: u8 = 0x8C;
    /// Date YYMMDD, 3 BCD.
    pub const DATE_FULL: u8 = 0xAA;
    /// Minimum input length (06 E2), 1 byte.
    pub const INPUT_MIN: u8 = 0xE0;
    /// First line of text 2 (06 E2); E1–E8, LLVAR.
    pub const INPUT_LINE_1: u8 = 0xE1;
    /// Maximum input length (06 E2), 1 byte.
    pub const INPUT_MAX: u8 = 0xE9;
    /// Echo the input (06 E2), 1 byte.
    pub const INPUT_ECHO: u8 = 0xEA;
    /// MAC over text 1 and text 2, 8 bytes.
    pub const MAC: u8 = 0xEB;
    /// Display duration in seconds (0 = forever), 1 byte.
    pub const DISPLAY_DURATION: u8 = 0xF0;
    /// First display line; F1–F8, LLVAR.
    pub const LINE_1: u8 = 0xF1;
    /// Number of beeps, 1 byte.
    pub const BEEPS: u8 = 0xF9;
    /// Status / card reading control, 1 byte.
    pub const STATUS: u8 = 0xFA;
    /// Input must be confirmed with OK, 1 byte.
    pub const OK_REQUIRED: u8 = 0xFB;
    /// Dialog control (06 C0), 1 byte.
    pub const DIALOG_CONTROL: u8 = 0xFC;
}

/// How a BMP's value length is determined.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BmpFormat {
    /// Always this many bytes.
    Fixed(usize),
    /// 2-byte `F0|digit` length prefix, at most 99 bytes.
    LlVar,
    /// 3-byte `F0|digit` length prefix, at most 999 bytes.
    LllVar,
    /// BER length prefix (BMP 06).
    Tlv,
}

/// The format of a BMP tag, or `None` for a tag this codec does not know.
pub const fn format(tag: u8) -> Option<BmpFormat> {
    use BmpFormat::*;
    Some(match tag {
        0x01 | 0x02 | 0x03 | 0x05 | 0x19 | 0x27 | 0x8A | 0x8C | 0xA0 | 0xD0 | 0xD2 | 0xD3
        | 0xE0 | 0xE9 | 0xEA | 0xF0 | 0xF9 | 0xFA | 0xFB | 0xFC => Fixed(1),
        0x04 => Fixed(6),
        0x06 => Tlv,
        0x0B | 0x0C | 0x37 | 0x3D | 0x88 | 0xAA => Fixed(3),
        0x0D | 0x0E | 0x17 | 0x3A | 0x49 | 0x87 => Fixed(2),
        0x29 => Fixed(4),
        0x2A => Fixed(15),
        0x3B | 0xEB => Fixed(8),
        0xBA => Fixed(5),
        0x22 | 0x23 | 0x2D | 0x8B | 0xA7 | 0xD1 | 0xE1..=0xE8 | 0xF1..=0xF8 => LlVar,
        0x24 | 0x2E | 0x3C | 0x60 | 0x92 | 0x9A | 0xAF => LllVar,
        _ => return None,
    })
}

/// Reads a `F0|digit` length prefix of `n` bytes.
fn read_var_len(tag: u8, src: &[u8], n: usize) -> Result<usize, CodecError> {
    let prefix = src.get(..n).ok_or(CodecError::BmpTruncated { tag })?;
    let mut len = 0usize;
    for &b in prefix {
        if b & 0xF0 != 0xF0 || b & 0x0F > 9 {
            return Err(CodecError::BadVarLength { tag });
        }
        len = len * 10 + usize::from(b & 0x0F);
    }
    Ok(len)
}

/// Parses one BMP at the start of `src`: returns tag, value and the bytes consumed.
pub fn parse_one(src: &[u8]) -> Result<(u8, &[u8], usize), CodecError> {
    let (&tag, rest) = src.split_first().ok_or(CodecError::Truncated {
        needed: 1,
        available: 0,
    })?;
    let fmt = format(tag).ok_or(CodecError::UnknownBmp { tag })?;
    let (prefix, len) = match fmt {
        BmpFormat::Fixed(n) => (0, n),
        BmpFormat::LlVar => (2, read_var_len(tag, rest, 2)?),
        BmpFormat::LllVar => (3, read_var_len(tag, rest, 3)?),
        BmpFormat::Tlv => {
            let (len, used) = tlv::decode_length(rest)?.ok_or(CodecError::BmpTruncated { tag })?;
            (used, len)
        }
    };
    let end = prefix
        .checked_add(len)
        .filter(|&e| e <= rest.len())
        .ok_or(CodecError::BmpTruncated { tag })?;
    Ok((tag, &rest[prefix..end], 1 + end))
}

/// An iterator over the BMPs of a data block, yielding `(tag, value)`.
///
/// After the first error it yields nothing more.
#[derive(Debug, Clone)]
pub struct Bmps<'a> {
    rest: &'a [u8],
    failed: bool,
}

impl<'a> Bmps<'a> {
    /// Iterates over the BMPs in `data`.
    pub const fn new(data: &'a [u8]) -> Self {
        Bmps {
            rest: data,
            failed: false,
        }
    }

    /// The bytes not yet parsed (after an error: starting at the offending tag).
    pub const fn remaining(&self) -> &'a [u8] {
        self.rest
    }
}

impl<'a> Iterator for Bmps<'a> {
    type Item = Result<(u8, &'a [u8]), CodecError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed || self.rest.is_empty() {
            return None;
        }
        match parse_one(self.rest) {
            Ok((tag, value, used)) => {
                self.rest = &self.rest[used..];
                Some(Ok((tag, value)))
            }
            Err(e) => {
                self.failed = true;
                Some(Err(e))
            }
        }
    }
}

fn write_var_len(dst: &mut Vec<u8>, len: usize, digits: u32) {
    for i in (0..digits).rev() {
        dst.push(0xF0 | ((len / 10usize.pow(i)) % 10) as u8);
    }
}

/// Appends one BMP (tag, length prefix per [`format()`], value) to `dst`.
///
/// Fails for an unknown tag, a fixed-length value of the wrong size, or a value longer than
/// its length prefix can express. `dst` is unchanged on error.
pub fn put(dst: &mut Vec<u8>, tag: u8, value: &[u8]) -> Result<(), CodecError> {
    match format(tag).ok_or(CodecError::UnknownBmp { tag })? {
        BmpFormat::Fixed(n) => {
            if value.len() != n {
                return Err(CodecError::BadFixedLength {
                    tag,
                    expected: n,
                    actual: value.len(),
                });
            }
            dst.push(tag);
        }
        BmpFormat::LlVar => {
            if value.len() > 99 {
                return Err(CodecError::TooLong {
                    len: value.len(),
                    max: 99,
                });
            }
            dst.push(tag);
            write_var_len(dst, value.len(), 2);
        }
        BmpFormat::LllVar => {
            if value.len() > 999 {
                return Err(CodecError::TooLong {
                    len: value.len(),
                    max: 999,
                });
            }
            dst.push(tag);
            write_var_len(dst, value.len(), 3);
        }
        BmpFormat::Tlv => {
            if value.len() > 0xFFFF {
                return Err(CodecError::TooLong {
                    len: value.len(),
                    max: 0xFFFF,
                });
            }
            dst.push(tag);
            tlv::encode_length(value.len(), dst);
        }
    }
    dst.extend_from_slice(value);
    Ok(())
}

/// Appends a 1-byte BMP.
pub fn put_u8(dst: &mut Vec<u8>, tag: u8, value: u8) -> Result<(), CodecError> {
    put(dst, tag, &[value])
}

/// Appends a BCD BMP whose width comes from [`format()`].
pub fn put_bcd(dst: &mut Vec<u8>, tag: u8, value: u64) -> Result<(), CodecError> {
    let Some(BmpFormat::Fixed(n)) = format(tag) else {
        return Err(CodecError::UnknownBmp { tag });
    };
    let v = super::bcd::encode_u64(value, n, "BCD field")?;
    put(dst, tag, &v)
}

/// Converts a text to ZVT bytes: characters up to U+00FF map to one byte each (ISO 8859-1),
/// anything else becomes `?`.
///
/// The PT's code page (often CP437) is not translated; ASCII is safe on every terminal.
pub fn text_to_bytes(text: &str) -> Vec<u8> {
    text.chars()
        .map(|c| u8::try_from(u32::from(c)).unwrap_or(b'?'))
        .collect()
}

/// Converts ZVT bytes to text, byte for character (ISO 8859-1); the inverse of
/// [`text_to_bytes`] for characters up to U+00FF.
pub fn bytes_to_text(bytes: &[u8]) -> String {
    bytes.iter().map(|&b| char::from(b)).collect()
}

/// Decodes a 1-byte value, checking the length.
pub(crate) fn one(tag: u8, v: &[u8]) -> Result<u8, CodecError> {
    match v {
        [b] => Ok(*b),
        _ => Err(CodecError::BadFixedLength {
            tag,
            expected: 1,
            actual: v.len(),
        }),
    }
}

/// Copies a fixed-size value.
pub(crate) fn array<const N: usize>(tag: u8, v: &[u8]) -> Result<[u8; N], CodecError> {
    v.try_into().map_err(|_| CodecError::BadFixedLength {
        tag,
        expected: N,
        actual: v.len(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn var_lengths() {
        let mut v = Vec::new();
        put(&mut v, tag::CARD_NUMBER, &[0x12; 16]).unwrap();
        assert_eq!(&v[..3], &[0x22, 0xF1, 0xF6]);
        let mut v = Vec::new();
        put(&mut v, tag::ADDITIONAL_TEXT, b"2.14.15").unwrap();
        assert_eq!(&v[..4], &[0x3C, 0xF0, 0xF0, 0xF7]);
        let (t, val, used) = parse_one(&v).unwrap();
        assert_eq!((t, val, used), (0x3C, &b"2.14.15"[..], 11));
        assert_eq!(
            parse_one(&[0x22, 0xF1, 0x0A]),
            Err(CodecError::BadVarLength { tag: 0x22 })
        );
        assert_eq!(
            parse_one(&[0x04, 0, 0]),
            Err(CodecError::BmpTruncated { tag: 4 })
        );
        assert_eq!(
            parse_one(&[0x99]),
            Err(CodecError::UnknownBmp { tag: 0x99 })
        );
    }
}
