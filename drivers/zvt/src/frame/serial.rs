//! Serial framing (PA00P016 rev. 04 ch. 2.2 "Transport protocol, serial"):
//!
//! ```text
//! DLE STX | APDU, every 10 doubled | DLE ETX | CRC-lo CRC-hi
//! 10  02                             10  03
//! ```
//!
//! The receiver answers each frame with one byte, ACK `06` or NAK `15`. Outside a frame the
//! decoder drops bytes until `DLE STX` (resynchronisation), except the lone ACK/NAK bytes,
//! which it reports. The inter-byte gap inside a frame is the caller's business: when its
//! timer fires it calls [`SerialDecoder::reset`].

use super::FrameError;
use super::crc::Crc16;
use crate::apdu::{Apdu, MAX_DATA_LEN};
use bytes::{Buf, BufMut, Bytes, BytesMut};

/// Data Link Escape.
pub const DLE: u8 = 0x10;
/// Start of text.
pub const STX: u8 = 0x02;
/// End of text.
pub const ETX: u8 = 0x03;
/// Positive link acknowledgement.
pub const ACK: u8 = 0x06;
/// Negative link acknowledgement.
pub const NAK: u8 = 0x15;

/// Largest unstuffed frame content by default: the largest APDU (5-byte header plus
/// [`MAX_DATA_LEN`]).
pub const DEFAULT_MAX_APDU_LEN: usize = MAX_DATA_LEN + 5;

/// One item received on a serial line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SerialItem {
    /// A frame with a good CRC; the unstuffed APDU bytes (answer with [`ACK`]).
    Frame(Bytes),
    /// The peer acknowledged our frame.
    Ack,
    /// The peer rejected our frame.
    Nak,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Idle,
    IdleDle,
    Data,
    DataDle,
    CrcLo,
    CrcHi(u8),
    // Dropping the rest of an over-long frame, still honouring DLE pairs so that stuffed
    // `10 10 02` inside it is not mistaken for a frame start.
    Discard,
    DiscardDle,
    DiscardCrc(u8),
}

/// Streaming decoder for the serial line.
#[derive(Debug, Clone)]
pub struct SerialDecoder {
    state: State,
    buf: BytesMut,
    crc: Crc16,
    max_apdu_len: usize,
    skipped: u64,
}

impl Default for SerialDecoder {
    fn default() -> Self {
        Self::new()
    }
}

impl SerialDecoder {
    /// A decoder accepting APDUs up to [`DEFAULT_MAX_APDU_LEN`] bytes.
    pub fn new() -> Self {
        Self::with_max_apdu_len(DEFAULT_MAX_APDU_LEN)
    }

    /// A decoder that drops frames whose unstuffed content exceeds `max` bytes. The
    /// internal buffer never grows beyond `max`.
    pub fn with_max_apdu_len(max: usize) -> Self {
        SerialDecoder {
            state: State::Idle,
            buf: BytesMut::new(),
            crc: Crc16::new(),
            max_apdu_len: max,
            skipped: 0,
        }
    }

    /// Drops any partial frame and waits for the next `DLE STX`. Call it when the
    /// inter-byte gap inside a frame is exceeded.
    pub fn reset(&mut self) {
        self.state = State::Idle;
        self.buf.clear();
    }

    /// Whether a frame is partly received (the inter-byte timer should run).
    pub fn in_frame(&self) -> bool {
        !matches!(self.state, State::Idle | State::IdleDle)
    }

    /// Bytes of the partial frame held (never more than the maximum APDU length).
    pub fn buffered_len(&self) -> usize {
        self.buf.len()
    }

    /// Count of bytes dropped outside frames so far (line noise, banners).
    pub fn skipped_bytes(&self) -> u64 {
        self.skipped
    }

    fn start_frame(&mut self) {
        self.state = State::Data;
        self.buf.clear();
        self.crc = Crc16::new();
    }

    fn push(&mut self, b: u8) -> Result<(), FrameError> {
        if self.buf.len() >= self.max_apdu_len {
            self.buf.clear();
            self.state = State::Discard;
            return Err(FrameError::TooLong {
                max: self.max_apdu_len,
            });
        }
        self.buf.put_u8(b);
        self.crc.update_byte(b);
        Ok(())
    }

    /// Consumes bytes from `src` until one item or error is complete.
    ///
    /// `Ok(None)` means every byte of `src` was consumed and more are needed. After an
    /// error the decoder has already resynchronised (every [`FrameError`] from this decoder
    /// has `can_continue() == true`): NAK the frame and keep calling.
    pub fn decode(&mut self, src: &mut BytesMut) -> Result<Option<SerialItem>, FrameError> {
        let mut used = 0;
        let result = self.run(&src[..], &mut used);
        src.advance(used);
        result
    }

    fn run(&mut self, src: &[u8], used: &mut usize) -> Result<Option<SerialItem>, FrameError> {
        while let Some(&b) = src.get(*used) {
            *used += 1;
            match self.state {
                State::Idle => match b {
                    DLE => self.state = State::IdleDle,
                    ACK => return Ok(Some(SerialItem::Ack)),
                    NAK => return Ok(Some(SerialItem::Nak)),
                    _ => self.skipped += 1,
                },
                State::IdleDle => match b {
                    STX => self.start_frame(),
                    DLE => self.skipped += 1,
                    ACK => {
                        self.state = State::Idle;
                        return Ok(Some(SerialItem::Ack));
                    }
                    NAK => {
                        self.state = State::Idle;
                        return Ok(Some(SerialItem::Nak));
                    }
                    _ => {
                        self.skipped += 2;
                        self.state = State::Idle;
                    }
                },
                State::Data => {
                    if b == DLE {
                        self.state = State::DataDle;
                    } else {
                        self.push(b)?;
                    }
                }
                State::DataDle => match b {
                    DLE => {
                        self.state = State::Data;
                        self.push(DLE)?;
                    }
                    ETX => self.state = State::CrcLo,
                    STX => {
                        // A new frame starts inside the broken one: report the broken one and
                        // take the new start, which is where the sender's repeat begins.
                        self.start_frame();
                        return Err(FrameError::BadEscape { byte: b });
                    }
                    _ => {
                        self.reset();
                        return Err(FrameError::BadEscape { byte: b });
                    }
                },
                State::Discard => {
                    self.skipped += 1;
                    if b == DLE {
                        self.state = State::DiscardDle;
                    }
                }
                State::DiscardDle => {
                    self.skipped += 1;
                    match b {
                        DLE => self.state = State::Discard,
                        ETX => self.state = State::DiscardCrc(2),
                        STX => self.start_frame(),
                        _ => self.state = State::Idle,
                    }
                }
                State::DiscardCrc(n) => {
                    self.skipped += 1;
                    self.state = if n > 1 {
                        State::DiscardCrc(n - 1)
                    } else {
                        State::Idle
                    };
                }
                State::CrcLo => self.state = State::CrcHi(b),
                State::CrcHi(lo) => {
                    self.state = State::Idle;
                    let received = u16::from_le_bytes([lo, b]);
                    let mut crc = self.crc;
                    crc.update_byte(ETX);
                    let computed = crc.value();
                    let content = self.buf.split().freeze();
                    if computed != received {
                        return Err(FrameError::BadCrc { computed, received });
                    }
                    if content.len() < 3 {
                        return Err(FrameError::TooShort { len: content.len() });
                    }
                    return Ok(Some(SerialItem::Frame(content)));
                }
            }
        }
        Ok(None)
    }
}

/// Appends the serial frame of the raw APDU bytes `apdu` to `dst`.
pub fn encode_frame(apdu: &[u8], dst: &mut BytesMut) {
    let doubled = apdu.iter().filter(|&&b| b == DLE).count();
    dst.reserve(apdu.len() + doubled + 6);
    dst.put_slice(&[DLE, STX]);
    let mut crc = Crc16::new();
    for &b in apdu {
        crc.update_byte(b);
        dst.put_u8(b);
        if b == DLE {
            dst.put_u8(DLE);
        }
    }
    crc.update_byte(ETX);
    dst.put_slice(&[DLE, ETX]);
    dst.put_u16_le(crc.value());
}

/// Appends the serial frame of `apdu` to `dst`.
pub fn encode_apdu(apdu: &Apdu, dst: &mut BytesMut) {
    encode_frame(&apdu.to_vec(), dst);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ack_frame() {
        let mut out = BytesMut::new();
        encode_frame(&[0x80, 0, 0], &mut out);
        assert_eq!(&out[..], &[0x10, 0x02, 0x80, 0, 0, 0x10, 0x03, 0xF5, 0x1F]);
        let mut d = SerialDecoder::new();
        assert_eq!(
            d.decode(&mut out).unwrap(),
            Some(SerialItem::Frame(Bytes::from_static(&[0x80, 0, 0])))
        );
        assert!(out.is_empty());
    }
}
