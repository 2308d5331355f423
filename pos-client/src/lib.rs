//! Client for the store's cloud POS (`pos-api.md`, `pos-schema.graphql`).
//!
//! * **Operations**: every query and mutation of the contract as a typed async method on
//!   [`PosClient`], with plain domain types ([`types`]) and exact `Decimal` money.
//! * **Transport**: one reqwest client (rustls, connect + request timeouts, no redirects,
//!   response bodies bounded), GraphQL documents checked against the schema at compile time.
//! * **Auth**: OIDC discovery + client credentials, token cached and refreshed at ~80% of its
//!   lifetime, one refresh + one retry on `NOT_AUTHENTICATED`.
//! * **Errors**: one [`PosError`] whose [`PosError::class`] says retry, in doubt, rejected or
//!   misconfigured; no gift-card code, PIN, secret or token ever appears in it.
//! * **Install-time checks**: [`PosClient::discover`], [`PosClient::fetch_token`],
//!   [`PosClient::introspect`] and [`PosClient::get_status`] run one step at a time with
//!   typed errors ([`DiscoveryError`], [`TokenError`]) for `lane-agent doctor`, which
//!   checks the answer with [`schema_check`].
//! * **Backoff**: [`backoff`] is the project's one retry policy.
//! * **Since & Until**: [`SincePager`] walks `item`, `itemWarehouse`, `itemSerialLot`,
//!   `product` and `sale` resumably.
//!
//! ```no_run
//! # async fn demo() -> Result<(), pos_client::PosError> {
//! use std::time::Duration;
//! use pos_client::{PosClient, PosConfig};
//!
//! let cfg = PosConfig::with_secret_file(
//!     "https://pos.example.com/api/graphql",
//!     "https://pos.example.com/",
//!     "lane-agent",
//!     std::path::Path::new("/run/credentials/lane-agent.service/pos-client-secret"),
//!     Duration::from_secs(10),
//! )?;
//! let pos = PosClient::new(cfg)?;
//! let env = pos.environment().await?;
//! println!("{} {}", env.name, env.version);
//! # Ok(()) }
//! ```

#![deny(missing_docs)]

mod auth;
pub mod backoff;
mod classify;
mod client;
mod config;
mod convert;
mod discovery;
mod error;
mod ops;
mod pager;
pub mod schema_check;
mod secret;
mod terminal;
mod transport;
pub mod types;
mod wire;

pub use auth::{Clock, TokioClock};
pub use client::{CallObserver, PosClient};
pub use config::{DEFAULT_CONNECT_TIMEOUT, DEFAULT_MAX_RESPONSE_BYTES, PosConfig};
pub use discovery::{Discovery, DiscoveryError, TokenError, TokenInfo};
pub use error::{DeclineReason, ErrorClass, PosError};
pub use pager::{SincePage, SincePager};
pub use secret::{GiftCode, mask_last4};
pub use terminal::{
    TerminalContinuation, TerminalErrorCode, TerminalPayment, TerminalPaymentOutcome,
    TerminalPaymentStartRequest, TerminalPaymentStatus, TerminalPaymentType,
};
pub use types::*;
