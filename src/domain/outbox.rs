//! An outbox item: a request to the POS waiting to be sent, or its record once sent.

use serde::{Deserialize, Serialize};

use super::{Money, OutboxKind, OutboxState};

/// An outbox item. The payload is JSON without secrets.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutboxItem {
    /// Id; also the send order.
    pub id: i64,
    /// What to send.
    pub kind: OutboxKind,
    /// State.
    pub state: OutboxState,
    /// Sale it belongs to.
    pub sale_id: Option<String>,
    /// Payment it belongs to.
    pub payment_id: Option<String>,
    /// Amount (offline redemptions, for the budget).
    pub amount: Option<Money>,
    /// Keyed hash of the card (offline redemptions, per-card budget).
    pub code_hash: Option<String>,
    /// The request body (JSON).
    pub payload: String,
    /// Sends attempted so far.
    pub attempt: i64,
    /// When the last send started (UTC).
    pub sent_at: Option<String>,
    /// Last error text (never card data).
    pub last_error: Option<String>,
    /// Enqueue time (UTC).
    pub created_at: String,
}
