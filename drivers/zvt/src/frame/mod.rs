//! The transport layer's framing (PA00P016 rev. 04): serial frames with DLE stuffing and
//! CRC, and plain APDUs over TCP. Both decoders are streaming, total (never panic on any
//! input) and chunking-invariant: feeding the same bytes in any split gives the same items.

pub mod crc;
pub mod serial;
pub mod tcp;

/// Errors of the framing decoders.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FrameError {
    /// A serial frame whose CRC does not match (the receiver NAKs it).
    #[error("CRC mismatch: computed {computed:#06x}, received {received:#06x}")]
    BadCrc {
        /// CRC over the received APDU and ETX.
        computed: u16,
        /// CRC bytes at the end of the frame.
        received: u16,
    },
    /// DLE followed by a byte other than DLE or ETX inside a serial frame (NAK it).
    #[error("DLE followed by {byte:#04x} inside a frame")]
    BadEscape {
        /// The byte after the DLE.
        byte: u8,
    },
    /// A serial frame longer than the configured maximum (it is dropped; resync follows).
    #[error("frame too long: more than {max} bytes")]
    TooLong {
        /// The configured maximum APDU length.
        max: usize,
    },
    /// A TCP APDU header announcing more data than the configured maximum.
    #[error("APDU announces {len} data bytes, maximum {max}")]
    ApduTooLong {
        /// Announced data length.
        len: usize,
        /// The configured maximum.
        max: usize,
    },
    /// A frame whose content is shorter than an APDU header (NAK it).
    #[error("frame of {len} bytes is shorter than an APDU header")]
    TooShort {
        /// The unstuffed content length.
        len: usize,
    },
}

impl FrameError {
    /// Whether decoding can go on with the following bytes.
    ///
    /// Serial errors are local: the decoder has resynchronised and the next `DLE STX`
    /// starts a fresh frame (NAK the broken one). A TCP APDU longer than the maximum breaks
    /// the stream, because plain APDUs have no start marker to resync on: close the
    /// connection.
    pub fn can_continue(&self) -> bool {
        !matches!(self, FrameError::ApduTooLong { .. })
    }
}
