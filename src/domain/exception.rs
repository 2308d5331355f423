//! An exception: something an operator must see and decide (a payment in doubt, a decline
//! after forwarding, a refund that is needed).

use serde::{Deserialize, Serialize};

use super::Money;

/// Something an operator must see and acknowledge.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExceptionRecord {
    /// Id.
    pub id: i64,
    /// Kind, e.g. "forward_declined", "reauthorize_declined", "refund_needed".
    pub kind: String,
    /// Sale.
    pub sale_id: Option<String>,
    /// Payment.
    pub payment_id: Option<String>,
    /// Outbox item.
    pub outbox_id: Option<i64>,
    /// Amount concerned.
    pub amount: Option<Money>,
    /// Masked card code.
    pub code_masked: Option<String>,
    /// Why (decline reason).
    pub reason: String,
    /// When (UTC).
    pub created_at: String,
    /// When acknowledged (UTC), if yet.
    pub acknowledged_at: Option<String>,
    /// The operator's note.
    pub note: Option<String>,
    /// How it was settled ("approved", "not_approved", "evidence: …"), when it was.
    pub resolution: Option<String>,
}
