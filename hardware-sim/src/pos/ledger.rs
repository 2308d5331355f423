//! What the simulated POS has recorded, as tests and technicians read it.
//!
//! A [`Ledger`] is a snapshot (`SimControl::ledger`, `GET /_sim/ledger`). It holds no
//! gift-card codes or PINs: cards appear by internal id only.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

/// Gift-card transaction status (the GraphQL enum `GiftcardTransStatus`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum TransStatus {
    /// Authorized, neither captured nor cancelled yet.
    Authorized,
    /// Authorized, then cancelled (by the client or the Delay Period).
    Cancelled,
    /// Immediate, or authorized and then captured.
    Completed,
}

/// Gift-card transaction type (the GraphQL enum `GiftcardTransType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum TransType {
    /// Add funds; positive amounts only.
    Add,
    /// Balance correction; either sign.
    Adjust,
    /// External system; either sign.
    External,
    /// Migrated balance; either sign.
    Import,
    /// Spend funds; negative amounts only.
    Use,
}

impl TransType {
    /// The permission a client needs for this transaction type (pos-api.md §5.8).
    pub fn permission(self) -> &'static str {
        match self {
            TransType::Add => "GiftCardTransAdd",
            TransType::Adjust => "GiftCardTransAdjust",
            TransType::External => "GiftCardTransExternal",
            TransType::Import => "GiftCardTransImport",
            TransType::Use => "GiftCardTransUse",
        }
    }
}

/// One `purchaseAdd` call the POS accepted. Duplicates are kept: the POS does not dedupe.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PurchaseRecord {
    /// Id the POS assigned.
    pub id: String,
    /// The caller's `transactionId`.
    pub transaction_id: String,
    /// `storeCode`.
    pub store_code: String,
    /// `payAmount`.
    pub pay_amount: Decimal,
    /// `memberId`, if given.
    pub member_id: Option<String>,
    /// The client that sent it.
    pub client_id: String,
    /// When the POS recorded it (simulated clock).
    pub recorded_at: DateTime<Utc>,
    /// The whole `add:` input as JSON.
    pub input: serde_json::Value,
}

/// One gift-card transaction.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GiftcardTransRecord {
    /// Transaction id.
    pub id: String,
    /// Internal id of the card.
    pub giftcard_id: String,
    /// Type.
    pub trans_type: TransType,
    /// Signed amount.
    pub amount: Decimal,
    /// Current status.
    pub status: TransStatus,
    /// Card balance after this transaction's last step.
    pub balance: Decimal,
    /// The caller's `refNo`.
    pub ref_no: Option<String>,
    /// The caller's `sourceId`.
    pub source_id: Option<String>,
    /// The client that created it.
    pub client_id: String,
    /// Creation time (simulated clock).
    pub created: DateTime<Utc>,
    /// Last status change (simulated clock).
    pub updated: DateTime<Utc>,
    /// True when the Delay Period sweeper cancelled it.
    pub auto_cancelled: bool,
}

/// One request that reached the GraphQL endpoint or the token endpoint.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RequestRecord {
    /// Root field names of the operation (e.g. `["purchaseAdd"]`), or `["token"]`.
    pub operations: Vec<String>,
    /// The `operationName` the client sent.
    pub operation_name: Option<String>,
    /// The authenticated client, if any.
    pub client_id: Option<String>,
    /// The fault applied to this request, if any (`Debug` of the kind).
    pub fault: Option<String>,
    /// A `transactionId` found in the request (variables or inline), whatever its fate:
    /// lets tests see a resend even when the first attempt was never recorded.
    #[serde(default)]
    pub transaction_id: Option<String>,
    /// A `refNo` found in the request, likewise.
    #[serde(default)]
    pub ref_no: Option<String>,
    /// When it arrived (simulated clock).
    pub at: DateTime<Utc>,
}

/// A snapshot of everything recorded.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Ledger {
    /// Every accepted `purchaseAdd`, in order.
    pub purchases: Vec<PurchaseRecord>,
    /// Every gift-card transaction, in creation order.
    pub giftcard_transactions: Vec<GiftcardTransRecord>,
    /// Card id → balance.
    pub balances: BTreeMap<String, Decimal>,
    /// Every request, in arrival order.
    pub requests: Vec<RequestRecord>,
    /// Token endpoint calls (successful or not).
    pub token_requests: u64,
    /// Every terminal payment, in creation order (`start` accepted it).
    #[serde(default)]
    pub terminal_payments: Vec<super::terminals::TerminalPaymentRecord>,
}

impl Ledger {
    /// The terminal payments started with this `refNo` (more than one means a second start).
    pub fn terminal_payments_with(
        &self,
        ref_no: &str,
    ) -> Vec<&super::terminals::TerminalPaymentRecord> {
        self.terminal_payments
            .iter()
            .filter(|p| p.ref_no == ref_no)
            .collect()
    }

    /// How many requests ran this operation (root field, or `terminalPayment.start` …).
    pub fn requests_for(&self, operation: &str) -> usize {
        self.requests
            .iter()
            .filter(|r| r.operations.iter().any(|o| o == operation))
            .count()
    }

    /// The purchases recorded with this `transactionId` (more than one means a duplicate).
    pub fn purchases_with(&self, transaction_id: &str) -> Vec<&PurchaseRecord> {
        self.purchases
            .iter()
            .filter(|p| p.transaction_id == transaction_id)
            .collect()
    }

    /// The balance of a card, by internal id.
    pub fn balance(&self, giftcard_id: &str) -> Option<Decimal> {
        self.balances.get(giftcard_id).copied()
    }

    /// A transaction by id.
    pub fn transaction(&self, id: &str) -> Option<&GiftcardTransRecord> {
        self.giftcard_transactions.iter().find(|t| t.id == id)
    }

    /// How many requests carried this `transactionId` (attempts, recorded or not).
    pub fn attempts_for(&self, transaction_id: &str) -> usize {
        self.requests
            .iter()
            .filter(|r| r.transaction_id.as_deref() == Some(transaction_id))
            .count()
    }

    /// How many requests named this root field.
    pub fn request_count(&self, operation: &str) -> usize {
        self.requests
            .iter()
            .filter(|r| r.operations.iter().any(|o| o == operation))
            .count()
    }
}
