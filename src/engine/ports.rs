//! The engine's ports: the small traits through which it reaches the POS and the terminal.
//!
//! Adapters live elsewhere (the POS client, the ZVT driver); unit tests use mockall mocks and
//! scenario tests use the simulators. Every error type says what the engine may do next:
//! `NotSent` is safe to retry, `OutcomeUnknown` is not (the request may have taken effect).

use std::time::Duration;

use async_trait::async_trait;
use secrecy::SecretString;
use serde::{Deserialize, Serialize};

use crate::domain::Money;

/// Why the POS declined a gift-card request (`VALIDATION` + `ValidationType`, pos-api.md §3).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Decline {
    /// `InsufficientBalance`: definitive; re-read the balance before trying again.
    InsufficientBalance,
    /// `CodeNotFound`.
    CodeNotFound,
    /// `CodeExpired`.
    CodeExpired,
    /// `InvalidPin`: a PIN is required or the one given is wrong.
    InvalidPin,
    /// `AmountSign`.
    AmountSign,
    /// `TransactionNotAuthorized`: capture of a cancelled hold, or cancel of a captured one.
    TransactionNotAuthorized,
    /// Any other validation failure (its `ValidationType`, never card data).
    Other(String),
}

impl Decline {
    /// The reason as given to the register.
    pub fn reason(&self) -> String {
        match self {
            Decline::InsufficientBalance => "insufficient_balance".into(),
            Decline::CodeNotFound => "code_not_found".into(),
            Decline::CodeExpired => "code_expired".into(),
            Decline::InvalidPin => "invalid_pin".into(),
            Decline::AmountSign => "amount_sign".into(),
            Decline::TransactionNotAuthorized => "transaction_not_authorized".into(),
            Decline::Other(s) => format!("declined: {s}"),
        }
    }
}

/// A gift-card host failure, classified as the POS client's error classes.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum HostError {
    /// Nothing reached the server (connect/DNS/TLS failure, 429, circuit open): safe to retry.
    #[error("not sent: {0}")]
    NotSent(String),
    /// Sent, no usable answer (timeout after writing, reset, 5xx, `FUSION_ERROR`, null field).
    #[error("outcome unknown: {0}")]
    OutcomeUnknown(String),
    /// A definitive business decline.
    #[error("declined: {}", .0.reason())]
    Declined(Decline),
    /// A permission is missing (`NOT_AUTHORIZED`, 403): configuration, permanent.
    #[error("not authorized: {0}")]
    NotAuthorized(String),
    /// Anything else (bad request, unexpected shape).
    #[error("{0}")]
    Other(String),
}

/// A gift-card code with its optional PIN. `Debug` redacts both.
#[derive(Clone, Debug)]
pub struct CardSecret {
    /// The full code (bearer secret).
    pub code: SecretString,
    /// The PIN, when the customer gave one.
    pub pin: Option<SecretString>,
}

/// A USE (authorize or immediate) or ADD request. `amount` is positive; the adapter signs it.
#[derive(Clone, Debug)]
pub struct GiftcardTransRequest {
    /// Card.
    pub card: CardSecret,
    /// Positive amount.
    pub amount: Money,
    /// `refNo`, minted and journaled before the call.
    pub ref_no: String,
    /// `sourceId`: the register code.
    pub source_id: String,
}

/// The POS's answer to a gift-card transaction.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GiftcardTrans {
    /// POS transaction id (for capture/cancel).
    pub id: String,
    /// Card balance after it, when reported.
    pub balance: Option<Money>,
}

/// A gift-card balance answer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GiftcardBalance {
    /// Available balance.
    pub balance: Money,
}

/// The POS's gift-card operations (pos-api.md §5.6–5.8).
#[cfg_attr(test, mockall::automock)]
#[async_trait]
pub trait GiftcardHost: Send + Sync {
    /// `giftcard(code:, codeType:)` balance.
    async fn balance(&self, card: &CardSecret) -> Result<GiftcardBalance, HostError>;
    /// `giftcardTransAdd` USE with `authorize: true`.
    async fn authorize_use(&self, req: &GiftcardTransRequest) -> Result<GiftcardTrans, HostError>;
    /// `giftcardTransAdd` USE, immediate (offline forwards, re-authorizations).
    async fn use_now(&self, req: &GiftcardTransRequest) -> Result<GiftcardTrans, HostError>;
    /// `giftcardTransCapture(trans: {id})`: idempotent on a COMPLETED transaction.
    async fn capture(&self, pos_trans_id: &str) -> Result<GiftcardTrans, HostError>;
    /// `giftcardTransCapture(trans: {id, cancel: true})`: idempotent on a CANCELLED one.
    async fn cancel(&self, pos_trans_id: &str) -> Result<GiftcardTrans, HostError>;
    /// `giftcardAdd`: creates a physical card; returns its POS id.
    async fn create(&self, card: &CardSecret) -> Result<String, HostError>;
    /// `giftcardTransAdd` ADD.
    async fn add(&self, req: &GiftcardTransRequest) -> Result<GiftcardTrans, HostError>;
    /// `environment`: the cheap link probe.
    async fn environment(&self) -> Result<(), HostError>;
}

/// A `purchaseAdd` failure, classified per reliability.md §2 rule 3.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SinkError {
    /// Nothing written yet (DNS, connect, TLS) or 429 (with `Retry-After`): retry.
    #[error("not sent: {message}")]
    NotSent {
        /// What happened.
        message: String,
        /// Server-requested delay.
        retry_after: Option<Duration>,
    },
    /// 400, 403, `NOT_AUTHORIZED`, validation, a business rejection: never retry; alert.
    #[error("rejected: {0}")]
    Rejected(String),
    /// Timeout after writing, reset, 5xx, 200 with a null field: in doubt, never resent.
    #[error("outcome unknown: {0}")]
    OutcomeUnknown(String),
}

/// Where completed sales go (`purchaseAdd`, pos-api.md §5.9). The adapter refreshes the token
/// once on 401 before classifying.
#[cfg_attr(test, mockall::automock)]
#[async_trait]
pub trait PurchaseSink: Send + Sync {
    /// Sends one purchase; returns the POS purchase id.
    async fn purchase_add(&self, purchase: &PurchaseInput) -> Result<String, SinkError>;
}

/// The `purchaseAdd(add: …)` input: declared once, by the POS client, and kept as it is in
/// the outbox payload.
pub use pos_client::{PurchaseLine, PurchaseRequest as PurchaseInput};

/// What the terminal is asked to do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TerminalRequest {
    /// Amount.
    pub amount: Money,
    /// Our reference (the payment's `refNo`), for the journal and receipts.
    pub reference: String,
}

/// A terminal's answer. Only masked PANs ever appear here.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TerminalOutcome {
    /// Approved or declined.
    pub approved: bool,
    /// Amount approved (may be less than asked).
    pub amount: Money,
    /// Receipt number.
    pub receipt_no: Option<u32>,
    /// Trace number.
    pub trace_no: Option<u32>,
    /// Masked PAN.
    pub masked_pan: Option<String>,
    /// Card brand.
    pub card_name: Option<String>,
    /// Result text for a decline.
    pub result_text: Option<String>,
    /// The terminal's own receipt lines (ZVT 06 D1 / 06 D3) printed during the command, in
    /// order; already masked by the terminal, masked again by the store.
    #[serde(default)]
    pub receipt_lines: Vec<String>,
}

/// The totals of a terminal end of day (ZVT 06 50).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EndOfDayTotals {
    /// The terminal completed the end of day.
    pub ok: bool,
    /// ISO 4217 letters of the lane's currency.
    pub currency: String,
    /// Total turnover (BMP 04), when sent.
    pub total: Option<Money>,
    /// Transactions counted (BMP 60), when sent.
    pub count: Option<u32>,
    /// First receipt number of the period (BMP 60).
    pub receipt_from: Option<u16>,
    /// Last receipt number of the period (BMP 60).
    pub receipt_to: Option<u16>,
    /// Why it failed (result code), when it did.
    pub reason: Option<String>,
    /// The terminal's printed end-of-day receipt.
    pub receipt_lines: Vec<String>,
}

/// What the engine journaled about a terminal command before it was sent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecoveryIntent {
    /// The amount sent.
    pub amount: Money,
    /// The terminal's last trace number known before the command left.
    pub trace_before: Option<u32>,
}

/// The terminal's evidence about a command whose answer was lost.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Recovered {
    /// The terminal's last transaction is ours and approved.
    Approved(TerminalOutcome),
    /// Positive evidence that ours did not run or was declined.
    NotExecuted(String),
    /// Not enough evidence: the movement stays in doubt and the evidence is asked again.
    Unknown(String),
}

/// A terminal failure.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TerminalError {
    /// The command never reached the terminal (link down, busy): nothing happened.
    #[error("terminal not reached: {0}")]
    NotSent(String),
    /// The command may have run (link lost mid-sequence): recover, never repeat.
    #[error("terminal outcome unknown: {0}")]
    OutcomeUnknown(String),
    /// Anything else.
    #[error("terminal error: {0}")]
    Other(String),
}

/// The lane's payment terminal (ZVT), reduced to what the engine needs.
#[cfg_attr(test, mockall::automock)]
#[async_trait]
pub trait PaymentTerminal: Send + Sync {
    /// Authorization (ZVT 06 01).
    async fn authorize(&self, req: &TerminalRequest) -> Result<TerminalOutcome, TerminalError>;
    /// Reservation (pre-authorization).
    async fn reserve(&self, req: &TerminalRequest) -> Result<TerminalOutcome, TerminalError>;
    /// Books the final amount of a reservation.
    async fn book_total(
        &self,
        receipt_no: u32,
        amount: Money,
    ) -> Result<TerminalOutcome, TerminalError>;
    /// Reversal of an authorization (06 30), or release of a reservation (06 25) when
    /// `reservation` is set: which one is journaled with the payment, never remembered in
    /// memory only.
    async fn reverse(
        &self,
        receipt_no: u32,
        reservation: bool,
    ) -> Result<TerminalOutcome, TerminalError>;
    /// The trace number of the last transaction this terminal client has seen, if any;
    /// journaled with each command as recovery evidence.
    async fn last_trace(&self) -> Option<u32>;
    /// Settles a command whose answer was lost from the terminal's own evidence (status
    /// enquiry, repeat receipt), matched against the journaled `intent`. Never sends the
    /// command again.
    async fn recover(&self, intent: &RecoveryIntent) -> Result<Recovered, TerminalError>;
    /// Shows `prompt` and reads a numeric entry (PIN); `None` when the customer cancels.
    async fn numeric_input(
        &self,
        prompt: &str,
        max_len: u8,
    ) -> Result<Option<SecretString>, TerminalError>;
    /// Refund (ZVT 06 31): gives `req.amount` back to the card the customer presents.
    ///
    /// Financial, like [`PaymentTerminal::authorize`]: journal the intent with
    /// [`PaymentTerminal::last_trace`] before calling, and on
    /// [`TerminalError::OutcomeUnknown`] settle it with [`PaymentTerminal::recover`]
    /// (status enquiry + repeat receipt), never by calling `refund` again. Terminals that
    /// cannot refund answer [`TerminalError::Other`].
    async fn refund(&self, req: &TerminalRequest) -> Result<TerminalOutcome, TerminalError> {
        let _ = req;
        Err(TerminalError::Other(
            "this terminal does not support refunds".into(),
        ))
    }
    /// Whether [`PaymentTerminal::refund`] can give money back to a card (a ZVT terminal:
    /// 06 31); card refunds are declined at once on a lane whose terminal cannot.
    fn supports_refund(&self) -> bool {
        false
    }
    /// Whether [`PaymentTerminal::end_of_day`] applies: a ZVT terminal settles at the lane;
    /// a processor terminal driven through the POS does not (the processor settles), and the
    /// API answers 409 for it.
    fn supports_end_of_day(&self) -> bool {
        false
    }
    /// End of day (ZVT 06 50): the terminal closes its period and reports its totals.
    /// `wait` false: answer [`TerminalError::NotSent`] at once when a command is running
    /// (the scheduler tries again later) instead of waiting for it.
    async fn end_of_day(&self, wait: bool) -> Result<EndOfDayTotals, TerminalError> {
        let _ = wait;
        Err(TerminalError::Other(
            "end of day does not apply to this terminal".into(),
        ))
    }
}
