//! Sans-IO parsing for the lane's card readers and scanners.
//!
//! Bytes from a serial magnetic-stripe reader (MSR), a serial barcode scanner or a USB HID
//! keyboard wedge go in; a [`ClassifiedRead`] comes out. Nothing here does I/O: the agent's
//! device supervisor owns the ports and the clock.
//!
//! - [`line`]: CR/LF framing with a bounded buffer and resync after garbage.
//! - [`track`]: ISO/IEC 7813 tracks 1–3 (sentinels, separators, LRC, multi-track lines).
//! - [`scanner`]: scanner lines with an optional prefix/suffix.
//! - [`wedge`]: evdev `input_event` records to text with a fixed US key map.
//! - [`classify`]: gift card, member card, payment card (discarded) or unknown.
//! - [`secret`] and [`pan`]: redacting wrappers, [`mask_last4`], Luhn and BIN ranges.
//!
//! Card data never appears in `Debug`, `Display` or error output, and buffers that held it are
//! zeroed (reliability.md P3.1–P3.3).
//!
//! ```
//! use cardreader::{Classifier, ClassifierConfig, ClassifiedRead, LineDecoder, RawRead};
//! use cardreader::track::{parse_swipe, LrcMode};
//!
//! let classifier = Classifier::new(ClassifierConfig {
//!     gift_prefixes: vec!["603600".into()],
//!     ..ClassifierConfig::default()
//! }).unwrap();
//! let mut lines = LineDecoder::default();
//! for line in lines.push(b";6036001234567890=4912?\r\n;4111111111111111=30121010000000000?\r\n") {
//!     let swipe = parse_swipe(line.unwrap().expose(), LrcMode::Auto).unwrap();
//!     match classifier.classify(RawRead::Swipe(swipe)) {
//!         ClassifiedRead::GiftCard { code, .. } => assert_eq!(code.masked(), "****7890"),
//!         ClassifiedRead::PaymentCard { .. } => {} // tell the cashier to use the terminal
//!         other => panic!("unexpected {other:?}"),
//!     }
//! }
//! ```
#![deny(missing_docs)]

pub mod classify;
pub mod line;
pub mod pan;
pub mod scanner;
pub mod secret;
pub mod track;
pub mod wedge;

pub use classify::{
    BANK_CARD_NOTICE, ClassifiedRead, Classifier, ClassifierConfig, ClassifierConfigError, RawRead,
    ReadSource,
};
pub use line::{LineDecoder, LineError};
pub use scanner::{ScannedCode, ScannerFormat, parse_scan};
pub use secret::{GiftCardCode, MemberId, REDACTED, TrackData, mask_last4};
pub use track::{LrcMode, Swipe, SwipeAssembler, Track, TrackError, TrackNumber, parse_swipe};
pub use wedge::{InputEvent, WedgeDecoder, WedgeError};
