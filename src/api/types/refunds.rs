//! Returns and receipts: `POST /v1/sales/{id}/refunds`, `GET /v1/sales/{id}/receipt`.

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::ids::{PaymentId, SaleId};
use super::money::{dec, dec_opt};
use super::sales::PaymentMethod;
use super::secret::GiftCardCode;

/// Body of `POST /v1/sales/{id}/refunds`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RefundRequest {
    /// How the money goes back.
    pub method: PaymentMethod,
    /// The amount to pay back with this refund; at most what the sale owes the customer.
    #[serde(with = "dec")]
    pub amount: Decimal,
    /// The gift card to load (gift-card refunds only; typed or scanned at the register).
    #[serde(default)]
    pub code: Option<GiftCardCode>,
    /// The register's id for the refund; the same id with the same body returns the first
    /// answer.
    #[serde(default)]
    pub refund_id: Option<PaymentId>,
}

/// The outcome of a refund.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RefundStatus {
    /// Paid back.
    Approved,
    /// Not paid back; `reason` says why (e.g. `link_offline`, `card_refund_unavailable`).
    Declined,
    /// A gift-card refund accepted offline within the caps; loaded when the link is back.
    OfflineApproved,
    /// Still running; send the same `refund_id` again for the final answer.
    Pending,
    /// The POS's answer was lost: counted as paid back (never paid twice), exception open.
    InDoubt,
}

/// Answer of `POST /v1/sales/{id}/refunds` (status 201).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RefundResult {
    /// The refund's id (the register's, or one assigned by the agent).
    pub refund_id: PaymentId,
    /// The outcome.
    pub status: RefundStatus,
    /// What was paid back (zero when declined).
    #[serde(with = "dec")]
    pub amount: Decimal,
    /// The gift card's balance after the refund, when known.
    #[serde(default, with = "dec_opt", skip_serializing_if = "Option::is_none")]
    pub balance: Option<Decimal>,
    /// Why the refund was declined.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// What the sale still owes the customer (negative) after this refund.
    #[serde(with = "dec")]
    pub due: Decimal,
}

/// Answer of `GET /v1/sales/{id}/receipt`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReceiptResult {
    /// The sale's id.
    pub sale_id: SaleId,
    /// The customer receipt, one string per printed line; card data masked to the last 4.
    pub lines: Vec<String>,
}

/// A refund in [`SaleDetail`](super::SaleDetail).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RefundLine {
    /// The refund's id.
    pub refund_id: PaymentId,
    /// How the money went back.
    pub method: PaymentMethod,
    /// `approved`, `declined`, `queued`, `in_doubt`, `reversed`, … (the journal's state).
    pub state: String,
    /// The amount.
    #[serde(with = "dec")]
    pub amount: Decimal,
    /// The gift card, masked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<super::MaskedCode>,
    /// Why it was declined or needs a look.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}
