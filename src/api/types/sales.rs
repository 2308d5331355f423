//! Sales and payments: `POST /v1/sales`, `…/payments`, `…/complete`, `…/cancel`, `GET …`.

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::ids::{MemberId, PaymentId, SaleId};
use super::money::{dec, dec_opt};
use super::secret::{GiftCardCode, MaskedCode, Pin};

/// Body of `POST /v1/sales`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OpenSaleRequest {
    /// The register's id for the sale; the same id with the same body returns the same sale.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sale_id: Option<SaleId>,
    /// The lines sold; never empty once validated.
    pub lines: Vec<SaleLineRequest>,
    /// Tax added on top of the lines, if the register computes it.
    #[serde(default, with = "dec_opt", skip_serializing_if = "Option::is_none")]
    pub tax: Option<Decimal>,
    /// The loyalty member the sale is for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub member_id: Option<MemberId>,
    /// A return: the sale the items were bought in. Refunds to card or gift card are then
    /// limited to what that sale took on that tender.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub original_sale_id: Option<SaleId>,
}

/// One line of [`OpenSaleRequest`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SaleLineRequest {
    /// The item's SKU.
    pub sku: String,
    /// Units sold, positive, at most three decimal places (weights).
    #[serde(with = "dec")]
    pub quantity: Decimal,
    /// Price per unit, zero or more, at most two decimal places.
    #[serde(with = "dec")]
    pub unit_price: Decimal,
    /// Unit of measure, when not the item's sale unit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uom: Option<String>,
    /// An item coming back: the line counts against the total (the sale's `total` and `due`
    /// may go negative: money owed to the customer). `quantity` stays positive.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub refund: bool,
}

/// A sale's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SaleState {
    /// Open for payments.
    Open,
    /// Completed; its purchase is queued or recorded.
    Completed,
    /// Cancelled; every authorization was cancelled or reversed.
    Cancelled,
}

/// Answer of `POST /v1/sales` (status 201).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SaleSummary {
    /// The sale's id (the register's, or one assigned by the agent).
    pub sale_id: SaleId,
    /// Sum of the lines (each rounded to cents) plus tax.
    #[serde(with = "dec")]
    pub total: Decimal,
    /// What is still to be paid.
    #[serde(with = "dec")]
    pub due: Decimal,
    /// The sale's state.
    pub state: SaleState,
}

/// How a payment is made.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PaymentMethod {
    /// A gift card redeemed against the POS.
    GiftCard,
    /// A payment card through the terminal.
    Card,
    /// Cash taken by the register.
    Cash,
}

/// Body of `POST /v1/sales/{id}/payments`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AddPaymentRequest {
    /// How the customer pays.
    pub method: PaymentMethod,
    /// The amount to pay with this tender.
    #[serde(with = "dec")]
    pub amount: Decimal,
    /// A gift-card code typed or scanned at the register; without it the card is read from
    /// the reader or the terminal.
    #[serde(default)]
    pub code: Option<GiftCardCode>,
    /// The gift card's PIN, if the register already has it.
    #[serde(default)]
    pub pin: Option<Pin>,
    /// The register's id for the payment; the same id with the same body returns the first
    /// answer.
    #[serde(default)]
    pub payment_id: Option<PaymentId>,
    /// Card only: reserve now and book the final amount at completion (ZVT 06 22 then
    /// 06 24), for sales that can still change; a cancelled sale reverses the reservation.
    #[serde(default)]
    pub reserve: bool,
}

/// The outcome of a payment attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PaymentStatus {
    /// Approved online (possibly for less than asked).
    Approved,
    /// Declined; `reason` says why.
    Declined,
    /// Approved under the offline policy; recorded when the link is back.
    OfflineApproved,
    /// Still running (the customer is at the terminal, the POS is slow); send the same
    /// `payment_id` again for the final answer. Nothing is counted as paid yet.
    Pending,
    /// The answer was lost: nothing is counted as paid, `due` is unchanged, an exception is
    /// open, and the sale refuses `complete`, `cancel` and new payments (409
    /// `payment_in_doubt`) until the terminal's evidence or an operator settles it.
    InDoubt,
}

/// Answer of `POST /v1/sales/{id}/payments` (status 201).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PaymentResult {
    /// The payment's id (the register's, or one assigned by the agent).
    pub payment_id: PaymentId,
    /// The outcome.
    pub status: PaymentStatus,
    /// What was approved; less than the amount on a partial approval, zero on a decline.
    #[serde(with = "dec")]
    pub approved_amount: Decimal,
    /// The gift card's balance after the payment, when known.
    #[serde(default, with = "dec_opt", skip_serializing_if = "Option::is_none")]
    pub balance: Option<Decimal>,
    /// Why the payment was declined, as a stable code (e.g. `insufficient_funds`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// What is still due on the sale after this payment.
    #[serde(with = "dec")]
    pub due: Decimal,
}

/// Whether a completed sale's purchase is already recorded at the POS.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PurchaseState {
    /// In the outbox, to be sent by the forwarder.
    Queued,
    /// Recorded at the POS (`purchaseAdd` confirmed).
    Recorded,
}

/// Answer of `POST /v1/sales/{id}/complete`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CompleteResult {
    /// Always [`SaleState::Completed`].
    pub state: SaleState,
    /// Where the purchase record is.
    pub purchase: PurchaseState,
}

/// Answer of `POST /v1/sales/{id}/cancel`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CancelResult {
    /// Always [`SaleState::Cancelled`].
    pub state: SaleState,
}

/// A payment's state within a sale.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PaymentState {
    /// Being authorized.
    Pending,
    /// Authorized online, not yet captured.
    Approved,
    /// Approved under the offline policy.
    OfflineApproved,
    /// Declined.
    Declined,
    /// Captured (sale completed).
    Captured,
    /// Authorization cancelled before capture.
    Cancelled,
    /// Reversed after capture.
    Reversed,
    /// Outcome unknown; being recovered.
    InDoubt,
}

/// One payment in [`SaleDetail`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PaymentRecord {
    /// The payment's id.
    pub payment_id: PaymentId,
    /// How it was paid.
    pub method: PaymentMethod,
    /// The amount asked.
    #[serde(with = "dec")]
    pub amount: Decimal,
    /// The amount approved.
    #[serde(with = "dec")]
    pub approved_amount: Decimal,
    /// The payment's state.
    pub state: PaymentState,
    /// The gift card, masked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<MaskedCode>,
    /// Why it was declined.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The reference sent to the POS or terminal for this payment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ref_no: Option<String>,
    /// A payment card's PAN as masked by the terminal.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub masked_pan: Option<String>,
    /// The terminal's receipt number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub receipt_no: Option<u32>,
}

/// One line in [`SaleDetail`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SaleLine {
    /// The item's SKU.
    pub sku: String,
    /// Units sold.
    #[serde(with = "dec")]
    pub quantity: Decimal,
    /// Price per unit.
    #[serde(with = "dec")]
    pub unit_price: Decimal,
    /// Unit of measure, if given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uom: Option<String>,
    /// `quantity * unit_price`, rounded to cents.
    #[serde(with = "dec")]
    pub amount: Decimal,
}

/// Answer of `GET /v1/sales/{id}`: the sale, its payments and their states.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SaleDetail {
    /// The sale's id.
    pub sale_id: SaleId,
    /// The sale's state.
    pub state: SaleState,
    /// The POS `transactionId` the sale is recorded under.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transaction_id: Option<String>,
    /// The lines.
    pub lines: Vec<SaleLine>,
    /// Tax on top of the lines.
    #[serde(with = "dec")]
    pub tax: Decimal,
    /// Lines plus tax.
    #[serde(with = "dec")]
    pub total: Decimal,
    /// Sum of approved payments.
    #[serde(with = "dec")]
    pub paid: Decimal,
    /// What is still due.
    #[serde(with = "dec")]
    pub due: Decimal,
    /// The loyalty member, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub member_id: Option<MemberId>,
    /// Every payment attempt, in order.
    pub payments: Vec<PaymentRecord>,
    /// For a completed sale, where its purchase record is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub purchase: Option<PurchaseState>,
    /// Money paid back on the sale (returns), in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub refunds: Vec<super::RefundLine>,
}
