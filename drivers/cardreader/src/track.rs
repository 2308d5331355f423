//! ISO/IEC 7813 magnetic-stripe tracks as serial readers send them.
//!
//! One line from a serial MSR holds one or more tracks, each framed by sentinels (ISO/IEC
//! 7811-2 character sets):
//!
//! | track | start | end | separator | characters | max data |
//! |---|---|---|---|---|---|
//! | 1 (IATA, 6-bit) | `%` | `?` | `^` | `0x20..=0x5F` | 76 |
//! | 2 (ABA, 4-bit) | `;` | `?` | `=` | `0`–`9 : < = >` | 37 |
//! | 3 (THRIFT, 4-bit) | `;` (second one) or `+` | `?` | `=` | as track 2 | 104 |
//!
//! An LRC character may follow each end sentinel ([`LrcMode`]). A track that the reader could
//! not decode is sent as `%E?`/`;E?`/`+E?`; an empty one as `%?`/`;?`. Errors name tracks
//! and offsets only, never content.

use crate::secret::TrackData;

/// Which track of the stripe.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum TrackNumber {
    /// Track 1 (IATA, alphanumeric).
    One = 1,
    /// Track 2 (ABA, numeric).
    Two = 2,
    /// Track 3 (THRIFT, numeric).
    Three = 3,
}

impl TrackNumber {
    /// Longest data content between the sentinels (ISO/IEC 7811-2 track capacity less start
    /// sentinel, end sentinel and LRC).
    #[must_use]
    pub const fn max_data_len(self) -> usize {
        match self {
            Self::One => 76,
            Self::Two => 37,
            Self::Three => 104,
        }
    }

    /// The field separator of this track.
    #[must_use]
    pub const fn separator(self) -> u8 {
        match self {
            Self::One => b'^',
            Self::Two | Self::Three => b'=',
        }
    }

    /// Whether `byte` may appear between the sentinels of this track.
    #[must_use]
    pub const fn is_data_char(self, byte: u8) -> bool {
        match self {
            // The 6-bit set minus the two sentinels it contains.
            Self::One => byte >= 0x20 && byte <= 0x5F && byte != b'%' && byte != b'?',
            // The 4-bit set minus ';' and '?'.
            Self::Two | Self::Three => byte >= 0x30 && byte <= 0x3E && byte != b';',
        }
    }

    /// The code of `byte` in this track's character set, used for the LRC.
    const fn code(self, byte: u8) -> u8 {
        match self {
            Self::One => (byte.wrapping_sub(0x20)) & 0x3F,
            Self::Two | Self::Three => (byte.wrapping_sub(0x30)) & 0x0F,
        }
    }

    /// The character that carries `code` in this track's set.
    const fn char_for(self, code: u8) -> u8 {
        match self {
            Self::One => code + 0x20,
            Self::Two | Self::Three => code + 0x30,
        }
    }
}

impl std::fmt::Display for TrackNumber {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", *self as u8)
    }
}

/// Whether an LRC character follows each end sentinel.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "kebab-case"))]
pub enum LrcMode {
    /// Most serial readers: no LRC is sent.
    Absent,
    /// An LRC character always follows `?` and is checked.
    Required,
    /// A character after `?` that is not the next track's start sentinel is taken as the LRC
    /// and checked. Ambiguous when the LRC happens to equal a start sentinel; use
    /// [`LrcMode::Required`] for readers that always send it.
    #[default]
    Auto,
}

/// Why a line is not a usable swipe. Carries positions only, never card data.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TrackError {
    /// The line held no track data at all.
    #[error("empty read")]
    Empty,
    /// The line does not start with a start sentinel: garbage or a scanner line.
    #[error("no start sentinel at byte {position}")]
    NoStartSentinel {
        /// Byte offset in the line.
        position: usize,
    },
    /// A track started but its end sentinel never came: a half read.
    #[error("track {track} has no end sentinel (partial read)")]
    Partial {
        /// The unfinished track.
        track: TrackNumber,
    },
    /// A character outside the track's character set.
    #[error("track {track}: invalid character at offset {offset}")]
    InvalidCharacter {
        /// The track.
        track: TrackNumber,
        /// Offset of the character from the start sentinel.
        offset: usize,
    },
    /// More data than the track can hold.
    #[error("track {track} longer than {max} characters")]
    TooLong {
        /// The track.
        track: TrackNumber,
        /// Its capacity.
        max: usize,
    },
    /// The LRC character does not match the track.
    #[error("track {track}: LRC mismatch")]
    LrcMismatch {
        /// The track.
        track: TrackNumber,
    },
    /// [`LrcMode::Required`] but the line ended after the end sentinel.
    #[error("track {track}: LRC missing")]
    MissingLrc {
        /// The track.
        track: TrackNumber,
    },
    /// The same track twice in one line.
    #[error("track {track} appears twice")]
    DuplicateTrack {
        /// The track.
        track: TrackNumber,
    },
    /// Bytes after the last track that start no track.
    #[error("unexpected bytes after the last track at byte {position}")]
    TrailingGarbage {
        /// Byte offset in the line.
        position: usize,
    },
    /// The reader marked every track it sent as unreadable (`%E?`, `;E?`).
    #[error("reader reported a read error on track {track}")]
    ReaderError {
        /// The first failed track.
        track: TrackNumber,
    },
}

/// One decoded track: the data between its sentinels.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Track {
    number: TrackNumber,
    data: TrackData,
    lrc_checked: bool,
}

impl Track {
    /// Which track this is.
    #[must_use]
    pub fn number(&self) -> TrackNumber {
        self.number
    }

    /// The data between the sentinels (a secret: never log it).
    #[must_use]
    pub fn data(&self) -> &TrackData {
        &self.data
    }

    /// The data as text. Always ASCII because every character was checked.
    #[must_use]
    pub fn expose_str(&self) -> &str {
        self.data.expose_str().unwrap_or_default()
    }

    /// Whether an LRC was present and matched.
    #[must_use]
    pub fn lrc_checked(&self) -> bool {
        self.lrc_checked
    }

    /// The fields of the track, split at its separator (`^` or `=`).
    pub fn fields(&self) -> impl Iterator<Item = &str> {
        let separator = char::from(self.number.separator());
        self.expose_str().split(separator)
    }

    /// Track 1's format code (`B` for financial cards), if the data starts with a letter.
    #[must_use]
    pub fn format_code(&self) -> Option<char> {
        match self.number {
            TrackNumber::One => self
                .expose_str()
                .chars()
                .next()
                .filter(char::is_ascii_uppercase),
            TrackNumber::Two | TrackNumber::Three => None,
        }
    }

    /// The primary account number field: track 1 after its format code up to `^`, tracks 2
    /// and 3 up to `=`. The whole data when there is no separator (typical for gift cards).
    #[must_use]
    pub fn primary_number(&self) -> &str {
        let first = self.fields().next().unwrap_or_default();
        match self.format_code() {
            Some(_) => &first[1..],
            None => first,
        }
    }
}

/// The tracks of one swipe, in the order the reader sent them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Swipe {
    tracks: Vec<Track>,
    failed: Vec<TrackNumber>,
}

impl Swipe {
    /// The tracks read successfully.
    #[must_use]
    pub fn tracks(&self) -> &[Track] {
        &self.tracks
    }

    /// Tracks the reader marked as unreadable.
    #[must_use]
    pub fn failed_tracks(&self) -> &[TrackNumber] {
        &self.failed
    }

    /// The track with `number`, if read.
    #[must_use]
    pub fn track(&self, number: TrackNumber) -> Option<&Track> {
        self.tracks.iter().find(|track| track.number == number)
    }

    fn highest(&self) -> Option<TrackNumber> {
        self.tracks
            .iter()
            .map(|t| t.number)
            .chain(self.failed.iter().copied())
            .max()
    }

    fn lowest(&self) -> Option<TrackNumber> {
        self.tracks
            .iter()
            .map(|t| t.number)
            .chain(self.failed.iter().copied())
            .min()
    }
}

fn is_start_sentinel(byte: u8) -> bool {
    matches!(byte, b'%' | b';' | b'+')
}

/// Parses one line from a serial MSR (without its CR/LF) into its tracks.
///
/// Total: any input gives a [`Swipe`] or a [`TrackError`], never a panic.
///
/// # Errors
/// See [`TrackError`]. A line whose tracks were all marked unreadable is
/// [`TrackError::ReaderError`]; a line with some good tracks is a [`Swipe`] listing the bad
/// ones in [`Swipe::failed_tracks`].
///
/// # Example
/// ```
/// use cardreader::track::{parse_swipe, LrcMode, TrackNumber};
/// let swipe = parse_swipe(b"%B6036001234567890^GIFT/CARD^4912?;6036001234567890=4912?", LrcMode::Auto).unwrap();
/// assert_eq!(swipe.tracks().len(), 2);
/// assert_eq!(swipe.track(TrackNumber::Two).unwrap().primary_number(), "6036001234567890");
/// ```
pub fn parse_swipe(line: &[u8], lrc: LrcMode) -> Result<Swipe, TrackError> {
    let end = line
        .iter()
        .rposition(|b| !b.is_ascii_whitespace())
        .map_or(0, |i| i + 1);
    let line = &line[..end];
    let mut swipe = Swipe::default();
    let mut seen_numeric = 0usize;
    let mut pos = 0usize;
    while pos < line.len() {
        let sentinel = line[pos];
        let number = match sentinel {
            b'%' => TrackNumber::One,
            b';' if seen_numeric == 0 => TrackNumber::Two,
            b';' | b'+' => TrackNumber::Three,
            _ if swipe.tracks.is_empty() && swipe.failed.is_empty() => {
                return Err(TrackError::NoStartSentinel { position: pos });
            }
            _ => return Err(TrackError::TrailingGarbage { position: pos }),
        };
        if number != TrackNumber::One {
            seen_numeric += 1;
        }
        if swipe.tracks.iter().any(|t| t.number == number) || swipe.failed.contains(&number) {
            return Err(TrackError::DuplicateTrack { track: number });
        }
        let data_start = pos + 1;
        let mut cursor = data_start;
        let reader_error =
            line.get(data_start) == Some(&b'E') && line.get(data_start + 1) == Some(&b'?');
        if reader_error {
            cursor = data_start + 1;
        } else {
            loop {
                let Some(&byte) = line.get(cursor) else {
                    return Err(TrackError::Partial { track: number });
                };
                if byte == b'?' {
                    break;
                }
                if !number.is_data_char(byte) {
                    if is_start_sentinel(byte) {
                        return Err(TrackError::Partial { track: number });
                    }
                    return Err(TrackError::InvalidCharacter {
                        track: number,
                        offset: cursor - pos,
                    });
                }
                if cursor - data_start >= number.max_data_len() {
                    return Err(TrackError::TooLong {
                        track: number,
                        max: number.max_data_len(),
                    });
                }
                cursor += 1;
            }
        }
        // `cursor` is at the end sentinel.
        let framed = &line[pos..=cursor];
        let after = cursor + 1;
        let lrc_byte = match (lrc, line.get(after)) {
            (LrcMode::Absent, _) => None,
            (LrcMode::Required, None) => return Err(TrackError::MissingLrc { track: number }),
            (LrcMode::Required, Some(&byte)) => Some(byte),
            (LrcMode::Auto, Some(&byte)) if !is_start_sentinel(byte) => Some(byte),
            (LrcMode::Auto, _) => None,
        };
        if let Some(byte) = lrc_byte
            && !reader_error
            && byte != compute_lrc(number, framed)
        {
            return Err(TrackError::LrcMismatch { track: number });
        }
        pos = after + usize::from(lrc_byte.is_some());
        if reader_error {
            swipe.failed.push(number);
        } else if cursor > data_start {
            swipe.tracks.push(Track {
                number,
                data: TrackData::from(&line[data_start..cursor]),
                lrc_checked: lrc_byte.is_some(),
            });
        }
    }
    match (swipe.tracks.is_empty(), swipe.failed.first()) {
        (true, Some(&track)) => Err(TrackError::ReaderError { track }),
        (true, None) => Err(TrackError::Empty),
        (false, _) => Ok(swipe),
    }
}

/// The LRC character of a framed track (start sentinel through end sentinel): the XOR of
/// the character codes (ISO/IEC 7811-2; the parity bit is not sent over serial).
#[must_use]
pub fn compute_lrc(number: TrackNumber, framed: &[u8]) -> u8 {
    let code = framed
        .iter()
        .fold(0u8, |acc, &byte| acc ^ number.code(byte));
    number.char_for(code)
}

/// Joins tracks that a reader sends on separate lines into one swipe.
///
/// Feed every parsed line to [`SwipeAssembler::push`]; call [`SwipeAssembler::flush`] when
/// the line has been idle for a moment (the caller owns the clock). A line continues the
/// pending swipe when all its tracks come after the pending ones (1 → 2 → 3).
#[derive(Debug, Default)]
pub struct SwipeAssembler {
    pending: Option<Swipe>,
}

impl SwipeAssembler {
    /// A new, empty assembler.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a parsed line; returns the previous swipe if this line starts a new one, or the
    /// merged swipe once it holds track 3 (nothing can follow it).
    pub fn push(&mut self, swipe: Swipe) -> Option<Swipe> {
        let done = match self.pending.take() {
            Some(mut pending) if pending.highest() < swipe.lowest() => {
                pending.tracks.extend(swipe.tracks.iter().cloned());
                pending.failed.extend(swipe.failed.iter().copied());
                self.pending = Some(pending);
                None
            }
            previous => {
                self.pending = Some(swipe);
                previous
            }
        };
        if done.is_none()
            && self.pending.as_ref().and_then(Swipe::highest) == Some(TrackNumber::Three)
        {
            return self.pending.take();
        }
        done
    }

    /// Whether a swipe is waiting for more tracks.
    #[must_use]
    pub fn is_pending(&self) -> bool {
        self.pending.is_some()
    }

    /// Ends the pending swipe (the reader went idle) and returns it.
    pub fn flush(&mut self) -> Option<Swipe> {
        self.pending.take()
    }
}
