//! The lane's domain: money, the states of sales, payments and outbox items with their legal
//! transitions, sale lines and the totals rule, and how payments are taken. The engine decides
//! with these types; the store persists them (their SQL mapping lives in `store`), and the API
//! and the POS client translate them at the edges.

pub mod exception;
pub mod money;
pub mod outbox;
pub mod payment;
pub mod sale;
pub mod state;

pub use money::Money;
pub use state::{OutboxKind, OutboxState, PaymentState, SaleState};
