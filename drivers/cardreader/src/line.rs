//! Streaming line framing for serial readers and scanners.
//!
//! Serial MSRs and scanners end each read with CR, LF or CR LF; some wrap it in STX … ETX.
//! [`LineDecoder`] turns any chunking of that byte stream into the same sequence of lines
//! (chunking-invariant), keeps at most `max_len` bytes buffered, and recovers from floods of
//! garbage at the next terminator or STX.

use zeroize::Zeroize;

use crate::secret::TrackData;

/// Default longest line: all three tracks with sentinels and LRCs fit in 232 bytes.
pub const DEFAULT_MAX_LINE: usize = 512;

const STX: u8 = 0x02;
const ETX: u8 = 0x03;

/// A line that could not be framed. Holds no data from the line.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum LineError {
    /// More than `max` bytes without a terminator; they are dropped up to the next CR, LF,
    /// ETX or STX.
    #[error("line longer than {max} bytes, discarded")]
    TooLong {
        /// The configured limit.
        max: usize,
    },
}

/// Frames a byte stream into lines. Buffered bytes are zeroed when a line is taken out and
/// when the decoder is reset or dropped.
#[derive(Debug)]
pub struct LineDecoder {
    buf: Vec<u8>,
    max_len: usize,
    discarding: bool,
}

impl LineDecoder {
    /// A decoder that buffers at most `max_len` bytes (at least 1).
    #[must_use]
    pub fn new(max_len: usize) -> Self {
        let max_len = max_len.max(1);
        // Allocated once so the buffer never reallocates and leaves unzeroed copies behind.
        Self {
            buf: Vec::with_capacity(max_len),
            max_len,
            discarding: false,
        }
    }

    /// Feeds bytes; returns each line completed by them, in order. Empty lines are skipped,
    /// so CR LF yields one line.
    pub fn push(&mut self, input: &[u8]) -> Vec<Result<TrackData, LineError>> {
        let mut out = Vec::new();
        for &byte in input {
            if let Some(item) = self.push_byte(byte) {
                out.push(item);
            }
        }
        out
    }

    /// Feeds one byte; returns a line or an error if this byte completed one.
    pub fn push_byte(&mut self, byte: u8) -> Option<Result<TrackData, LineError>> {
        match byte {
            b'\r' | b'\n' | ETX => {
                if std::mem::take(&mut self.discarding) || self.buf.is_empty() {
                    return None;
                }
                let line = TrackData::new(self.buf.clone());
                self.buf.zeroize();
                Some(Ok(line))
            }
            STX => {
                // A frame start: whatever came before was not a complete line.
                self.buf.zeroize();
                self.discarding = false;
                None
            }
            _ if self.discarding => None,
            _ if self.buf.len() >= self.max_len => {
                self.buf.zeroize();
                self.discarding = true;
                Some(Err(LineError::TooLong { max: self.max_len }))
            }
            _ => {
                self.buf.push(byte);
                None
            }
        }
    }

    /// Whether part of a line is buffered.
    #[must_use]
    pub fn has_partial(&self) -> bool {
        !self.buf.is_empty() || self.discarding
    }

    /// Drops any partial line (e.g. after the port was closed).
    pub fn reset(&mut self) {
        self.buf.zeroize();
        self.discarding = false;
    }
}

impl Default for LineDecoder {
    fn default() -> Self {
        Self::new(DEFAULT_MAX_LINE)
    }
}

impl Drop for LineDecoder {
    fn drop(&mut self) {
        self.buf.zeroize();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(decoder: &mut LineDecoder, input: &[u8]) -> Vec<Result<Vec<u8>, LineError>> {
        decoder
            .push(input)
            .into_iter()
            .map(|r| r.map(|l| l.expose().to_vec()))
            .collect()
    }

    #[test]
    fn terminators_and_empty_lines() {
        let mut d = LineDecoder::new(64);
        assert_eq!(
            lines(&mut d, b"abc\r\ndef\n\r\nghi\r\x02jkl\x03"),
            vec![
                Ok(b"abc".to_vec()),
                Ok(b"def".to_vec()),
                Ok(b"ghi".to_vec()),
                Ok(b"jkl".to_vec())
            ]
        );
        assert!(!d.has_partial());
    }

    #[test]
    fn stx_drops_a_half_line() {
        let mut d = LineDecoder::new(64);
        assert_eq!(
            lines(&mut d, b";12345\x02;678?\r"),
            vec![Ok(b";678?".to_vec())]
        );
    }

    #[test]
    fn overflow_reports_once_and_resyncs() {
        let mut d = LineDecoder::new(8);
        let mut input = vec![b'x'; 1000];
        input.extend_from_slice(b"\r\nok\r\n");
        assert_eq!(
            lines(&mut d, &input),
            vec![Err(LineError::TooLong { max: 8 }), Ok(b"ok".to_vec())]
        );
    }

    #[test]
    fn exactly_max_is_accepted() {
        let mut d = LineDecoder::new(4);
        assert_eq!(lines(&mut d, b"abcd\n"), vec![Ok(b"abcd".to_vec())]);
    }
}
