//! The agent's assembly of parts that belong to no single module: the local API's backend
//! over the engine ([`AgentBackend`]), the engine's terminal port over the ZVT driver
//! ([`ZvtTerminal`]) and the catalog lookups for the API ([`Catalog`]).

pub mod backend;
pub mod cashier;
pub mod catalog;
mod refunds;
pub mod terminal;

pub use backend::AgentBackend;
pub use catalog::Catalog;
pub use terminal::{ZvtTerminal, transport_config};
