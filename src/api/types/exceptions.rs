//! Exceptions: what an operator must see and decide (`interfaces.md` §3b).

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::money::dec_opt;

/// One exception.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExceptionView {
    /// Id (for acknowledge).
    pub id: String,
    /// `payment_in_doubt`, `giftcard_load_in_doubt`, `forward_declined`, `refund_needed`, …
    pub kind: String,
    /// The sale concerned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sale_id: Option<String>,
    /// The payment concerned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payment_id: Option<String>,
    /// The outbox item concerned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outbox_id: Option<String>,
    /// The amount concerned.
    #[serde(default, with = "dec_opt", skip_serializing_if = "Option::is_none")]
    pub amount: Option<Decimal>,
    /// The card code, masked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    /// What happened.
    pub reason: String,
    /// When it was raised.
    pub created_at: DateTime<Utc>,
    /// When it was acknowledged (absent while open).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acknowledged_at: Option<DateTime<Utc>>,
    /// The operator's note.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// How it was settled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resolution: Option<String>,
}

/// Answer of `GET /v1/exceptions`: the open exceptions, oldest first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExceptionList {
    /// The exceptions.
    pub exceptions: Vec<ExceptionView>,
}

/// An operator's decision on a payment in doubt.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ExceptionResolution {
    /// The money was taken: the payment counts as paid.
    Approved,
    /// No money was taken: the payment counts as declined.
    NotApproved,
}

/// Body of `POST /v1/exceptions/{id}/acknowledge`.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AcknowledgeRequest {
    /// Free text for the journal (at most 500 characters).
    #[serde(default)]
    pub note: Option<String>,
    /// Required for a `payment_in_doubt` exception whose payment is still in doubt.
    #[serde(default)]
    pub resolution: Option<ExceptionResolution>,
}
