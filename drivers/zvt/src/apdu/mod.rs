//! The application layer: APDUs, BMP fields, TLV containers, BCD numbers, card numbers and
//! the spec's code tables.
//!
//! Chapter references are to the ZVT specification PA00P015 revision 13.07 (commands, BMPs,
//! codes) and PA00P016 revision 04 (transport). EVerest/zvt cites revision 13.11, whose
//! numbering differs in places.
//!
//! An APDU (PA00P016 ch. 2.2, "APDU structure") is
//!
//! ```text
//! CLASS INSTR LEN  DATA…         LEN = 00..FE
//! CLASS INSTR FF LL HH DATA…     extended length, little-endian
//! ```

pub mod bcd;
pub mod bmp;
pub mod card;
pub mod codes;
pub mod currency;
pub mod tlv;

use bytes::{BufMut, BytesMut};
use std::fmt;

/// Largest data length an APDU can carry (the extended length is 16 bits).
pub const MAX_DATA_LEN: usize = u16::MAX as usize;

/// Errors of the application layer codec (APDU, BMP, TLV, BCD, typed messages).
///
/// None of them carries card data: values are described by tag and length only.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CodecError {
    /// Fewer bytes than the structure needs.
    #[error("APDU truncated: need {needed} bytes, have {available}")]
    Truncated {
        /// Bytes needed.
        needed: usize,
        /// Bytes present.
        available: usize,
    },
    /// The length header disagrees with the bytes present.
    #[error("APDU length mismatch: header says {declared} data bytes, {actual} present")]
    LengthMismatch {
        /// Length in the header.
        declared: usize,
        /// Data bytes present.
        actual: usize,
    },
    /// A length exceeds the allowed maximum.
    #[error("too long: {len} bytes, maximum {max}")]
    TooLong {
        /// Offending length.
        len: usize,
        /// Allowed maximum.
        max: usize,
    },
    /// A BMP tag this codec does not know; its length cannot be determined.
    #[error("unknown BMP tag {tag:#04x}")]
    UnknownBmp {
        /// The tag byte.
        tag: u8,
    },
    /// A BMP whose value is cut off.
    #[error("BMP {tag:#04x} truncated")]
    BmpTruncated {
        /// The tag byte.
        tag: u8,
    },
    /// An LLVAR/LLLVAR length prefix that is not `F0 | digit` bytes.
    #[error("invalid variable-length prefix in BMP {tag:#04x}")]
    BadVarLength {
        /// The tag byte.
        tag: u8,
    },
    /// A fixed-length BMP written with a value of the wrong size.
    #[error("BMP {tag:#04x} needs {expected} bytes, got {actual}")]
    BadFixedLength {
        /// The tag byte.
        tag: u8,
        /// Length the table requires.
        expected: usize,
        /// Length supplied.
        actual: usize,
    },
    /// A nibble outside 0–9 in a BCD field.
    #[error("invalid BCD in {what}")]
    BadBcd {
        /// Which field.
        what: &'static str,
    },
    /// A malformed BER-TLV container.
    #[error("malformed TLV: {reason}")]
    Tlv {
        /// What is wrong.
        reason: &'static str,
    },
    /// An amount that cannot be carried (negative, too large, more than 2 decimals).
    #[error("invalid amount: {reason}")]
    Amount {
        /// What is wrong.
        reason: &'static str,
    },
    /// A number that does not fit its field.
    #[error("value out of range for {what}")]
    OutOfRange {
        /// Which field.
        what: &'static str,
    },
    /// A mandatory field is absent.
    #[error("missing mandatory field {what}")]
    Missing {
        /// Which field.
        what: &'static str,
    },
    /// A BMP that the message does not allow.
    #[error("BMP {tag:#04x} not allowed in {message}")]
    UnexpectedBmp {
        /// The tag byte.
        tag: u8,
        /// The message being decoded.
        message: &'static str,
    },
    /// Bytes left over after the last field.
    #[error("{count} trailing bytes in {message}")]
    TrailingBytes {
        /// How many.
        count: usize,
        /// The message being decoded.
        message: &'static str,
    },
    /// The APDU's control field is not the one the decoder expects.
    #[error("unexpected control field {class:#04x} {instr:#04x}")]
    UnexpectedControl {
        /// CLASS (or CCRC) byte.
        class: u8,
        /// INSTR (or APRC) byte.
        instr: u8,
    },
}

/// A parsed APDU header: where the data starts and how long it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    /// CLASS byte (CCRC in replies).
    pub class: u8,
    /// INSTR byte (APRC in replies).
    pub instr: u8,
    /// 3, or 5 with an extended length.
    pub header_len: usize,
    /// Number of data bytes that follow the header.
    pub data_len: usize,
}

impl Header {
    /// Total APDU length (header plus data).
    pub const fn total_len(&self) -> usize {
        self.header_len + self.data_len
    }

    /// Parses the header at the start of `src`.
    ///
    /// Returns `None` while `src` is too short to hold the whole header (3 bytes, or 5 when
    /// the length byte is `FF`). Never allocates, never panics.
    pub fn parse(src: &[u8]) -> Option<Header> {
        let (&class, &instr, &len) = match src {
            [c, i, l, ..] => (c, i, l),
            _ => return None,
        };
        if len == 0xFF {
            let (&lo, &hi) = match src {
                [_, _, _, lo, hi, ..] => (lo, hi),
                _ => return None,
            };
            Some(Header {
                class,
                instr,
                header_len: 5,
                data_len: u16::from_le_bytes([lo, hi]) as usize,
            })
        } else {
            Some(Header {
                class,
                instr,
                header_len: 3,
                data_len: len as usize,
            })
        }
    }
}

/// One application message: control field plus data.
///
/// `Debug` shows the control field and the data length only, because data may hold card
/// numbers.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Apdu {
    class: u8,
    instr: u8,
    data: Vec<u8>,
}

impl fmt::Debug for Apdu {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Apdu({:02X} {:02X}, {} data bytes)",
            self.class,
            self.instr,
            self.data.len()
        )
    }
}

impl Apdu {
    /// Builds an APDU; fails if `data` is longer than [`MAX_DATA_LEN`].
    pub fn new(class: u8, instr: u8, data: impl Into<Vec<u8>>) -> Result<Self, CodecError> {
        let data = data.into();
        if data.len() > MAX_DATA_LEN {
            return Err(CodecError::TooLong {
                len: data.len(),
                max: MAX_DATA_LEN,
            });
        }
        Ok(Apdu { class, instr, data })
    }

    /// An APDU without data, such as `80 00 00` or `06 B0 00`.
    pub const fn empty(class: u8, instr: u8) -> Self {
        Apdu {
            class,
            instr,
            data: Vec::new(),
        }
    }

    /// CLASS (CCRC) byte.
    pub const fn class(&self) -> u8 {
        self.class
    }

    /// INSTR (APRC) byte.
    pub const fn instr(&self) -> u8 {
        self.instr
    }

    /// Both control bytes.
    pub const fn control(&self) -> [u8; 2] {
        [self.class, self.instr]
    }

    /// The data after the length header.
    pub fn data(&self) -> &[u8] {
        &self.data
    }

    /// Consumes the APDU, returning its data.
    pub fn into_data(self) -> Vec<u8> {
        self.data
    }

    /// Length of the encoded APDU.
    pub fn encoded_len(&self) -> usize {
        if self.data.len() < 0xFF {
            3 + self.data.len()
        } else {
            5 + self.data.len()
        }
    }

    /// Appends the encoded APDU to `dst`; lengths from `FF` upward use the extended form.
    pub fn encode(&self, dst: &mut BytesMut) {
        dst.reserve(self.encoded_len());
        dst.put_u8(self.class);
        dst.put_u8(self.instr);
        if self.data.len() < 0xFF {
            dst.put_u8(self.data.len() as u8);
        } else {
            // `new` bounds the length by u16::MAX, so the cast is exact.
            dst.put_u8(0xFF);
            dst.put_u16_le(self.data.len() as u16);
        }
        dst.put_slice(&self.data);
    }

    /// The encoded APDU as a vector.
    pub fn to_vec(&self) -> Vec<u8> {
        let mut b = BytesMut::with_capacity(self.encoded_len());
        self.encode(&mut b);
        b.to_vec()
    }

    /// Decodes exactly one APDU occupying all of `src`.
    pub fn decode(src: &[u8]) -> Result<Self, CodecError> {
        let header = Header::parse(src).ok_or(CodecError::Truncated {
            needed: if src.len() >= 3 { 5 } else { 3 },
            available: src.len(),
        })?;
        let actual = src.len() - header.header_len;
        if actual != header.data_len {
            return Err(CodecError::LengthMismatch {
                declared: header.data_len,
                actual,
            });
        }
        Ok(Apdu {
            class: header.class,
            instr: header.instr,
            data: src[header.header_len..].to_vec(),
        })
    }
}
