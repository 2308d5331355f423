//! TCP framing (PA00P016 rev. 04 ch. 3 "Transport protocol, TCP/IP"): plain APDUs with no
//! start marker, CRC or link acknowledgement. Read 3 bytes; if the length byte is `FF`,
//! 2 more (little-endian length); then the data.
//!
//! Terminals may send a banner or stray bytes on connect. The decoder drops any leading
//! byte that is not a known CLASS/CCRC byte (`04`, `05`, `06`, `08`, `80`, `84`) and counts it
//! in [`TcpDecoder::skipped_bytes`], so such noise does not become a bogus APDU.

use super::FrameError;
use crate::apdu::{Apdu, Header, MAX_DATA_LEN};
use bytes::{Buf, Bytes, BytesMut};

/// CLASS/CCRC bytes that can start an APDU in the commands this crate knows.
pub const KNOWN_CLASSES: [u8; 6] = [0x04, 0x05, 0x06, 0x08, 0x80, 0x84];

/// Streaming decoder for a TCP byte stream.
#[derive(Debug, Clone)]
pub struct TcpDecoder {
    max_data_len: usize,
    skipped: u64,
}

impl Default for TcpDecoder {
    fn default() -> Self {
        Self::new()
    }
}

impl TcpDecoder {
    /// A decoder accepting data lengths up to [`MAX_DATA_LEN`].
    pub fn new() -> Self {
        Self::with_max_data_len(MAX_DATA_LEN)
    }

    /// A decoder rejecting APDUs that announce more than `max` data bytes. The check runs on
    /// the header, before any data is buffered.
    pub fn with_max_data_len(max: usize) -> Self {
        TcpDecoder {
            max_data_len: max,
            skipped: 0,
        }
    }

    /// Count of noise bytes dropped so far.
    pub fn skipped_bytes(&self) -> u64 {
        self.skipped
    }

    /// Takes one complete APDU (raw bytes, header included) off the front of `src`.
    ///
    /// `Ok(None)`: more bytes are needed. [`FrameError::ApduTooLong`] leaves `src` as it is
    /// and cannot be continued from: close the connection.
    pub fn decode(&mut self, src: &mut BytesMut) -> Result<Option<Bytes>, FrameError> {
        let noise = src
            .iter()
            .take_while(|b| !KNOWN_CLASSES.contains(b))
            .count();
        if noise > 0 {
            src.advance(noise);
            self.skipped += noise as u64;
        }
        let Some(header) = Header::parse(src) else {
            return Ok(None);
        };
        if header.data_len > self.max_data_len {
            return Err(FrameError::ApduTooLong {
                len: header.data_len,
                max: self.max_data_len,
            });
        }
        if src.len() < header.total_len() {
            src.reserve(header.total_len() - src.len());
            return Ok(None);
        }
        Ok(Some(src.split_to(header.total_len()).freeze()))
    }
}

/// Appends `apdu` to `dst` (on TCP the frame is the APDU itself).
pub fn encode_apdu(apdu: &Apdu, dst: &mut BytesMut) {
    apdu.encode(dst);
}
