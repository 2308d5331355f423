//! A sans-IO driver core for the ZVT protocol (ECR-Interface, PA00P015 rev. 13.07 for
//! commands and PA00P016 rev. 04 for transport), from the ECR's side and, for simulators,
//! from the PT's side.
//!
//! Layers, bottom up:
//!
//! - [`frame`]: serial frames (DLE stuffing, CRC-16/KERMIT, ACK/NAK bytes) and TCP framing;
//!   streaming, total, chunking-invariant decoders.
//! - [`apdu`]: APDUs with extended length, BMP fields, TLV, BCD amounts, card numbers that
//!   stay masked, and the spec's code tables.
//! - [`command`]: typed ECR→PT commands and PT→ECR messages, encode and decode both ways.
//! - [`exchange`]: the master/slave conversation as a state machine driven by the caller
//!   (bytes in, bytes out, `Instant`s for T3/T4), with a typed outcome per command.
//! - [`recovery`]: deciding a lost payment's fate from Status Enquiry and Repeat Receipt,
//!   never by paying again.
//! - `transport` (feature `tokio`, on by default): async adapters for serial ports and TCP.
//!
//! ```
//! use zvt::command::{EcrCommand, PaymentRequest};
//! use zvt::frame::serial;
//! use rust_decimal::Decimal;
//!
//! let cmd = EcrCommand::Authorization(PaymentRequest::new(Decimal::new(1234, 2)));
//! let apdu = cmd.to_apdu().unwrap();
//! let mut wire = bytes::BytesMut::new();
//! serial::encode_apdu(&apdu, &mut wire);
//! assert_eq!(
//!     &wire[..],
//!     &[0x10, 0x02, 0x06, 0x01, 0x07, 0x04, 0, 0, 0, 0, 0x12, 0x34, 0x10, 0x03, 0x18, 0xF5]
//! );
//! ```
#![deny(missing_docs)]

pub mod apdu;
pub mod command;
pub mod describe;
pub mod exchange;
pub mod frame;
pub mod recovery;
#[cfg(feature = "tokio")]
pub mod transport;

pub use apdu::{Apdu, CodecError};
pub use frame::FrameError;

/// Compiles and runs the README's example as a doctest.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
