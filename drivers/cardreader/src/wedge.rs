//! USB HID keyboard-wedge readers over Linux evdev.
//!
//! A wedge types its reads as key presses. Reading `/dev/input/event*` directly (with the
//! device grabbed by the caller, so nothing reaches a focused window) gives `struct
//! input_event` records (`linux/input.h`) whose key *codes* are positions on a US keyboard,
//! independent of the desktop's layout. [`KeyMapper`] maps them with a fixed US table, so a
//! German or French desktop layout cannot turn `;` into `ö` (payments-practice.md §4 item 4).

use zeroize::Zeroize;

use crate::line::LineError;
use crate::secret::TrackData;

/// Size of one `struct input_event` on this target: `struct timeval` (two `long`s) plus
/// `__u16 type`, `__u16 code` and `__s32 value`.
pub const EVENT_SIZE: usize = 2 * std::mem::size_of::<std::ffi::c_long>() + 8;

/// `EV_SYN`: end of a report.
pub const EV_SYN: u16 = 0x00;
/// `EV_KEY`: a key press, release or repeat.
pub const EV_KEY: u16 = 0x01;
/// `EV_MSC`: miscellaneous, e.g. the raw HID usage (`MSC_SCAN`).
pub const EV_MSC: u16 = 0x04;

/// Key codes used below (`linux/input-event-codes.h`).
pub mod keys {
    /// `KEY_ENTER`.
    pub const ENTER: u16 = 28;
    /// `KEY_KPENTER`.
    pub const KP_ENTER: u16 = 96;
    /// `KEY_LEFTSHIFT`.
    pub const LEFT_SHIFT: u16 = 42;
    /// `KEY_RIGHTSHIFT`.
    pub const RIGHT_SHIFT: u16 = 54;
    /// `KEY_CAPSLOCK`.
    pub const CAPS_LOCK: u16 = 58;
    /// Modifier keys that produce no character and are ignored: ctrl, alt, meta, num lock.
    pub const IGNORED: [u16; 7] = [29, 97, 56, 100, 125, 126, 69];
}

/// One decoded `struct input_event`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InputEvent {
    /// Timestamp seconds.
    pub seconds: i64,
    /// Timestamp microseconds.
    pub micros: i64,
    /// Event type (`EV_KEY`, …).
    pub kind: u16,
    /// Event code (a key code for `EV_KEY`).
    pub code: u16,
    /// Value (`EV_KEY`: 1 press, 0 release, 2 repeat).
    pub value: i32,
}

impl InputEvent {
    /// Decodes one native-endian record of [`EVENT_SIZE`] bytes.
    #[must_use]
    pub fn from_bytes(record: &[u8; EVENT_SIZE]) -> Self {
        let word = std::mem::size_of::<std::ffi::c_long>();
        let long = |at: usize| -> i64 {
            let mut bytes = [0u8; 8];
            if word == 8 {
                bytes.copy_from_slice(&record[at..at + 8]);
                i64::from_ne_bytes(bytes)
            } else {
                let mut four = [0u8; 4];
                four.copy_from_slice(&record[at..at + 4]);
                i64::from(i32::from_ne_bytes(four))
            }
        };
        let tail = 2 * word;
        Self {
            seconds: long(0),
            micros: long(word),
            kind: u16::from_ne_bytes([record[tail], record[tail + 1]]),
            code: u16::from_ne_bytes([record[tail + 2], record[tail + 3]]),
            value: i32::from_ne_bytes([
                record[tail + 4],
                record[tail + 5],
                record[tail + 6],
                record[tail + 7],
            ]),
        }
    }

    /// Encodes the record as the kernel would (for recordings and the simulator).
    #[must_use]
    pub fn to_bytes(&self) -> [u8; EVENT_SIZE] {
        let word = std::mem::size_of::<std::ffi::c_long>();
        let mut out = [0u8; EVENT_SIZE];
        let mut put_long = |at: usize, value: i64| {
            if word == 8 {
                out[at..at + 8].copy_from_slice(&value.to_ne_bytes());
            } else {
                // Truncation is what a 32-bit kernel's `long` does too.
                out[at..at + 4].copy_from_slice(&(value as i32).to_ne_bytes());
            }
        };
        put_long(0, self.seconds);
        put_long(word, self.micros);
        let tail = 2 * word;
        out[tail..tail + 2].copy_from_slice(&self.kind.to_ne_bytes());
        out[tail + 2..tail + 4].copy_from_slice(&self.code.to_ne_bytes());
        out[tail + 4..tail + 8].copy_from_slice(&self.value.to_ne_bytes());
        out
    }
}

/// Splits a byte stream into [`InputEvent`]s, whatever the chunking.
#[derive(Debug, Default)]
pub struct EventDecoder {
    partial: Vec<u8>,
}

impl EventDecoder {
    /// Feeds bytes; returns the complete records among them.
    pub fn push(&mut self, mut input: &[u8]) -> Vec<InputEvent> {
        let mut out = Vec::with_capacity((self.partial.len() + input.len()) / EVENT_SIZE);
        if !self.partial.is_empty() {
            let need = EVENT_SIZE - self.partial.len();
            let take = need.min(input.len());
            self.partial.extend_from_slice(&input[..take]);
            input = &input[take..];
            if let Ok(record) = <&[u8; EVENT_SIZE]>::try_from(self.partial.as_slice()) {
                out.push(InputEvent::from_bytes(record));
                self.partial.zeroize();
            }
        }
        let mut chunks = input.chunks_exact(EVENT_SIZE);
        for chunk in &mut chunks {
            if let Ok(record) = <&[u8; EVENT_SIZE]>::try_from(chunk) {
                out.push(InputEvent::from_bytes(record));
            }
        }
        self.partial.extend_from_slice(chunks.remainder());
        out
    }
}

impl Drop for EventDecoder {
    fn drop(&mut self) {
        self.partial.zeroize();
    }
}

/// What one event means for the text being typed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyOutput {
    /// A printable character (or tab).
    Char(u8),
    /// Enter: the end of a read.
    Enter,
    /// Nothing to type: a release, a modifier, a sync or a misc event.
    Nothing,
    /// A key press with no mapping in the US table.
    Unmapped(u16),
}

/// Rows of the US layout: key code, unshifted, shifted.
#[rustfmt::skip]
const US_KEYS: &[(u16, u8, u8)] = &[
    (2, b'1', b'!'), (3, b'2', b'@'), (4, b'3', b'#'), (5, b'4', b'$'), (6, b'5', b'%'),
    (7, b'6', b'^'), (8, b'7', b'&'), (9, b'8', b'*'), (10, b'9', b'('), (11, b'0', b')'),
    (12, b'-', b'_'), (13, b'=', b'+'), (15, b'\t', b'\t'),
    (16, b'q', b'Q'), (17, b'w', b'W'), (18, b'e', b'E'), (19, b'r', b'R'), (20, b't', b'T'),
    (21, b'y', b'Y'), (22, b'u', b'U'), (23, b'i', b'I'), (24, b'o', b'O'), (25, b'p', b'P'),
    (26, b'[', b'{'), (27, b']', b'}'),
    (30, b'a', b'A'), (31, b's', b'S'), (32, b'd', b'D'), (33, b'f', b'F'), (34, b'g', b'G'),
    (35, b'h', b'H'), (36, b'j', b'J'), (37, b'k', b'K'), (38, b'l', b'L'),
    (39, b';', b':'), (40, b'\'', b'"'), (41, b'`', b'~'), (43, b'\\', b'|'),
    (44, b'z', b'Z'), (45, b'x', b'X'), (46, b'c', b'C'), (47, b'v', b'V'), (48, b'b', b'B'),
    (49, b'n', b'N'), (50, b'm', b'M'), (51, b',', b'<'), (52, b'.', b'>'), (53, b'/', b'?'),
    (55, b'*', b'*'), (57, b' ', b' '),
    (71, b'7', b'7'), (72, b'8', b'8'), (73, b'9', b'9'), (74, b'-', b'-'),
    (75, b'4', b'4'), (76, b'5', b'5'), (77, b'6', b'6'), (78, b'+', b'+'),
    (79, b'1', b'1'), (80, b'2', b'2'), (81, b'3', b'3'), (82, b'0', b'0'), (83, b'.', b'.'),
    (98, b'/', b'/'),
];

/// Turns key events into US-layout characters, tracking shift and caps lock.
#[derive(Debug, Default, Clone)]
pub struct KeyMapper {
    left_shift: bool,
    right_shift: bool,
    caps_lock: bool,
}

impl KeyMapper {
    /// A mapper with no modifier held.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Maps one event.
    pub fn map(&mut self, event: &InputEvent) -> KeyOutput {
        if event.kind != EV_KEY {
            return KeyOutput::Nothing;
        }
        let pressed = event.value == 1;
        match event.code {
            keys::LEFT_SHIFT => self.left_shift = event.value != 0,
            keys::RIGHT_SHIFT => self.right_shift = event.value != 0,
            keys::CAPS_LOCK if pressed => self.caps_lock = !self.caps_lock,
            // Repeats are ignored: a wedge never holds a key, and a repeat would double it.
            _ if !pressed => {}
            keys::ENTER | keys::KP_ENTER => return KeyOutput::Enter,
            code if keys::IGNORED.contains(&code) => {}
            code => {
                return match US_KEYS.iter().find(|(key, _, _)| *key == code) {
                    Some(&(_, plain, shifted)) => {
                        let shift = self.left_shift || self.right_shift;
                        let upper = if plain.is_ascii_lowercase() {
                            shift ^ self.caps_lock
                        } else {
                            shift
                        };
                        KeyOutput::Char(if upper { shifted } else { plain })
                    }
                    None => KeyOutput::Unmapped(code),
                };
            }
        }
        KeyOutput::Nothing
    }
}

/// A wedge line that could not be decoded. Holds no data from the line.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum WedgeError {
    /// A key with no mapping was pressed; the whole line is dropped.
    #[error("key code {code} has no mapping; line discarded")]
    UnmappedKey {
        /// The evdev key code.
        code: u16,
    },
    /// The line overflowed.
    #[error(transparent)]
    Line(#[from] LineError),
}

/// Decodes a wedge's event stream into lines, one per Enter.
#[derive(Debug)]
pub struct WedgeDecoder {
    events: EventDecoder,
    keys: KeyMapper,
    line: Vec<u8>,
    max_len: usize,
    failed: Option<WedgeError>,
}

impl WedgeDecoder {
    /// A decoder for lines of at most `max_len` characters.
    #[must_use]
    pub fn new(max_len: usize) -> Self {
        let max_len = max_len.max(1);
        Self {
            events: EventDecoder::default(),
            keys: KeyMapper::new(),
            line: Vec::with_capacity(max_len),
            max_len,
            failed: None,
        }
    }

    /// Feeds raw bytes read from the event device.
    pub fn push_bytes(&mut self, bytes: &[u8]) -> Vec<Result<TrackData, WedgeError>> {
        let events = self.events.push(bytes);
        events
            .iter()
            .filter_map(|event| self.push_event(event))
            .collect()
    }

    /// Feeds one event; returns a line (or why it was dropped) at Enter.
    pub fn push_event(&mut self, event: &InputEvent) -> Option<Result<TrackData, WedgeError>> {
        match self.keys.map(event) {
            KeyOutput::Nothing => None,
            KeyOutput::Enter => {
                let failed = self.failed.take();
                let line = TrackData::new(self.line.clone());
                self.line.zeroize();
                match failed {
                    Some(error) => Some(Err(error)),
                    None if line.is_empty() => None,
                    None => Some(Ok(line)),
                }
            }
            KeyOutput::Unmapped(code) => {
                self.line.zeroize();
                self.failed.get_or_insert(WedgeError::UnmappedKey { code });
                None
            }
            KeyOutput::Char(_) if self.failed.is_some() => None,
            KeyOutput::Char(_) if self.line.len() >= self.max_len => {
                self.line.zeroize();
                let error = WedgeError::Line(LineError::TooLong { max: self.max_len });
                self.failed = Some(error);
                None
            }
            KeyOutput::Char(byte) => {
                self.line.push(byte);
                None
            }
        }
    }

    /// Drops any partial line and modifier state (after the device went away).
    pub fn reset(&mut self) {
        self.line.zeroize();
        self.failed = None;
        self.keys = KeyMapper::new();
        self.events = EventDecoder::default();
    }
}

impl Drop for WedgeDecoder {
    fn drop(&mut self) {
        self.line.zeroize();
    }
}

/// Events a US keyboard would send to type `text` followed by Enter, with `MSC_SCAN` and
/// `SYN_REPORT` as real HID keyboards send them. For recordings, tests and the simulator.
///
/// Characters outside the US table are skipped.
#[must_use]
pub fn type_text(text: &str, start_seconds: i64) -> Vec<InputEvent> {
    let mut out = Vec::new();
    let mut micros = 0i64;
    let mut emit = |kind: u16, code: u16, value: i32, out: &mut Vec<InputEvent>| {
        micros += 1000;
        out.push(InputEvent {
            seconds: start_seconds + micros / 1_000_000,
            micros: micros % 1_000_000,
            kind,
            code,
            value,
        });
    };
    let mut key = |code: u16, shift: bool, out: &mut Vec<InputEvent>| {
        if shift {
            emit(EV_KEY, keys::LEFT_SHIFT, 1, out);
            emit(EV_SYN, 0, 0, out);
        }
        emit(EV_MSC, 4, 0x70000 + i32::from(code), out);
        emit(EV_KEY, code, 1, out);
        emit(EV_SYN, 0, 0, out);
        emit(EV_MSC, 4, 0x70000 + i32::from(code), out);
        emit(EV_KEY, code, 0, out);
        emit(EV_SYN, 0, 0, out);
        if shift {
            emit(EV_KEY, keys::LEFT_SHIFT, 0, out);
            emit(EV_SYN, 0, 0, out);
        }
    };
    for byte in text.bytes() {
        let found = US_KEYS
            .iter()
            .find(|(code, plain, shifted)| (*code < 71) && (*plain == byte || *shifted == byte));
        if let Some(&(code, plain, _)) = found {
            key(code, plain != byte, &mut out);
        }
    }
    key(keys::ENTER, false, &mut out);
    out
}
