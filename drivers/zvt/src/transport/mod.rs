//! The tokio transport (feature `tokio`): a [`Terminal`] client over TCP or a serial line
//! (USB-CDC, RS-232, a pseudo-terminal) that runs the sans-IO [`crate::exchange`] state
//! machine with real timers.
//!
//! - [`link`]: opening TCP connections and 8N2 serial ports.
//! - [`Terminal`]: one command at a time; every intermediate message goes to an
//!   [`EventSink`] that is awaited before the message is acknowledged (journal before ACK);
//!   reconnects along an injected [`ReconnectPolicy`] and registers again after each
//!   reconnect; publishes [`Health`] on a `watch` channel.
//! - Lost results: a financial command whose answer is lost ends with
//!   [`Error::OutcomeUnknown`] and is never sent again; [`Terminal::recover_last`] asks the
//!   terminal (Status Enquiry, Repeat Receipt) and lets [`crate::recovery`] decide.
//!
//! Wire traffic is dumped at `trace` level with card data removed.
//!
//! ```no_run
//! # async fn demo() -> Result<(), zvt::transport::Error> {
//! use std::time::Duration;
//! use zvt::command::PaymentRequest;
//! use zvt::transport::{NoEvents, Terminal, TransportConfig};
//!
//! let backoff = || [1, 2, 4].into_iter().map(Duration::from_secs);
//! let mut pt = Terminal::connect(TransportConfig::tcp("127.0.0.1:20007"), backoff).await?;
//! let outcome = pt.authorize(PaymentRequest::new(rust_decimal::Decimal::new(1234, 2)), NoEvents).await?;
//! println!("approved: {}, receipt {:?}", outcome.is_approved(), outcome.receipt);
//! # Ok(()) }
//! ```

mod config;
mod driver;
mod error;
mod events;
mod health;
pub mod link;
mod outcome;
pub mod redact;
mod terminal;

pub use config::{ConfigError, TransportConfig};
pub use driver::{ApduTap, Transport, TransportError};
pub use error::Error;
pub use events::{EventSink, FnSink, NoEvents};
pub use health::{Health, LinkState, NoRetry, ReconnectPolicy};
pub use link::Endpoint;
pub use outcome::{CardData, EndOfDayReport, TerminalStatus, TxOutcome, TxResult};
pub use terminal::{AbortHandle, Terminal};
