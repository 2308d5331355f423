//! Agent status, the outbox listing and the events streamed at `GET /v1/events`.

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::ids::{PaymentId, SaleId};
use super::money::{dec, dec_opt};
use super::sales::{PaymentState, SaleState};

/// The POS link's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LinkState {
    /// The POS answers.
    Online,
    /// The POS is unreachable; offline rules apply.
    Offline,
}

/// A device's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeviceState {
    /// Connected and idle.
    Ready,
    /// Connected and in an exchange.
    Busy,
    /// Not connected; the supervisor is reconnecting.
    Disconnected,
    /// Connected but reporting a fault.
    Error,
}

impl DeviceState {
    /// The state's wire name (also the metrics label).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ready => "ready",
            Self::Busy => "busy",
            Self::Disconnected => "disconnected",
            Self::Error => "error",
        }
    }
}

/// One device in [`Status`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeviceStatus {
    /// The configured name (`terminal`, or a reader's name).
    pub name: String,
    /// The kind (`zvt`, `serial-msr`, `serial-scanner`, `hid-wedge`).
    pub kind: String,
    /// The state.
    pub state: DeviceState,
}

/// Outbox counts in [`Status`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutboxCounts {
    /// Waiting to be sent.
    pub pending: u64,
    /// Sent with an unknown outcome, being recovered.
    pub in_doubt: u64,
    /// Refused by the POS; an operator must act.
    pub failed: u64,
    /// Held by an operator.
    #[serde(default)]
    pub held: u64,
}

/// What offline selling may still do, in [`Status`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OfflineBudget {
    /// Whether offline selling is enabled.
    pub enabled: bool,
    /// The largest single offline tender.
    #[serde(with = "dec")]
    pub max_transaction_amount: Decimal,
    /// Amount left before the offline total limit.
    #[serde(with = "dec")]
    pub remaining_amount: Decimal,
    /// Offline tenders left before the count limit.
    pub remaining_count: u64,
    /// Amount of offline tenders not yet forwarded.
    #[serde(with = "dec")]
    pub used_amount: Decimal,
    /// Offline tenders not yet forwarded.
    pub used_count: u64,
    /// Age of the oldest offline tender not yet forwarded.
    pub oldest_age_secs: Option<i64>,
    /// Time left before the oldest offline tender exceeds `max_age_hours`.
    pub expires_in_secs: Option<i64>,
}

/// Answer of `GET /v1/status`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Status {
    /// The POS link.
    pub link: LinkState,
    /// Since when the link is down (null while online).
    pub offline_since: Option<DateTime<Utc>>,
    /// Outbox counts.
    pub outbox: OutboxCounts,
    /// Each configured device.
    pub devices: Vec<DeviceStatus>,
    /// What offline selling may still do.
    pub offline_budget: OfflineBudget,
    /// Exceptions (e.g. an offline redemption declined later) awaiting an operator.
    #[serde(default)]
    pub open_exceptions: u64,
    /// Payments whose outcome is unknown (each has an open exception).
    #[serde(default)]
    pub payments_in_doubt: u64,
    /// Why the lane's storage cannot be written (full disk, I/O error), while it lasts;
    /// null when writes work. Reads still answer; no new movement is acknowledged meanwhile.
    #[serde(default)]
    pub storage_error: Option<String>,
}

/// An outbox item's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OutboxState {
    /// Waiting to be sent.
    Pending,
    /// Being sent.
    Sending,
    /// Sent with an unknown outcome, being recovered.
    InDoubt,
    /// Refused by the POS; an operator must act.
    Failed,
    /// Held by an operator.
    Held,
    /// Confirmed by the POS.
    Confirmed,
}

/// One item of [`OutboxList`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OutboxItem {
    /// The item's id (also its idempotency key at the POS).
    pub id: String,
    /// What it records (`purchase`, `giftcard_capture`, …).
    pub kind: String,
    /// The state.
    pub state: OutboxState,
    /// The sale it belongs to.
    pub sale_id: Option<SaleId>,
    /// Send attempts so far.
    pub attempts: u32,
    /// When it was queued.
    pub created_at: DateTime<Utc>,
    /// The last error, without card data.
    pub last_error: Option<String>,
}

/// Answer of `GET /v1/outbox`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OutboxList {
    /// Every item not yet confirmed, oldest first (confirmed items may follow).
    pub items: Vec<OutboxItem>,
}

/// An operator's verdict on an in-doubt or failed outbox item.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OutboxResolution {
    /// The POS has it: confirm without sending.
    Recorded,
    /// The POS does not have it: queue it again.
    Resend,
}

/// Body of `POST /v1/outbox/{id}/resolve`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OutboxResolveRequest {
    /// The verdict.
    pub resolution: OutboxResolution,
}

/// Answer of `POST /v1/outbox/flush`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutboxFlushed {
    /// How many held items went back to pending.
    pub released: u64,
}

/// What a [`ApiEvent::Scan`] carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ScanKind {
    /// An item barcode.
    Item,
    /// A member card.
    Member,
}

/// One server-sent event on `GET /v1/events`; the SSE `event:` name is the `type`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ApiEvent {
    /// A device changed state.
    Device {
        /// The device's name.
        name: String,
        /// The device's kind.
        kind: String,
        /// The new state.
        state: DeviceState,
    },
    /// The POS link changed state.
    Link {
        /// The new state.
        link: LinkState,
        /// Since when it is down.
        offline_since: Option<DateTime<Utc>>,
    },
    /// A sale changed (opened, paid, completed, cancelled).
    Sale {
        /// The sale.
        sale_id: SaleId,
        /// Its state.
        state: SaleState,
        /// Its total, when the publisher knows it.
        #[serde(default, with = "dec_opt", skip_serializing_if = "Option::is_none")]
        total: Option<Decimal>,
        /// What is still due, when the publisher knows it.
        #[serde(default, with = "dec_opt", skip_serializing_if = "Option::is_none")]
        due: Option<Decimal>,
    },
    /// A payment changed state.
    Payment {
        /// The sale.
        sale_id: SaleId,
        /// The payment.
        payment_id: PaymentId,
        /// Its state.
        state: PaymentState,
        /// Its amount, when the publisher knows it.
        #[serde(default, with = "dec_opt", skip_serializing_if = "Option::is_none")]
        amount: Option<Decimal>,
    },
    /// An outbox item changed state.
    Outbox {
        /// The item.
        id: String,
        /// What it records (`purchase`, `giftcard_capture`, …), when known.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        kind: Option<String>,
        /// Its state.
        state: OutboxState,
        /// The counts after the change, when known.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        counts: Option<OutboxCounts>,
    },
    /// A reader scanned an item barcode or read a member card (a gift card's code never
    /// appears here; a bank card never leaves the reader).
    Scan {
        /// The reader's configured name.
        reader: String,
        /// What was read.
        kind: ScanKind,
        /// The barcode, or the member id.
        value: String,
    },
    /// An exception needs an operator (e.g. an offline redemption declined on forwarding).
    Exception {
        /// The exception's id.
        id: String,
        /// Its kind.
        kind: String,
        /// Why, without card data.
        reason: String,
    },
    /// A card payment on a POS-driven terminal while the customer is at it.
    PaymentProgress {
        /// The sale.
        sale_id: SaleId,
        /// The payment.
        payment_id: PaymentId,
        /// The amount asked (the approved amount once approved).
        #[serde(with = "dec")]
        amount: Decimal,
        /// `waiting_for_card`, `approved`, `declined` or `cancelled`.
        state: String,
    },
}

impl ApiEvent {
    /// The SSE event name.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Device { .. } => "device",
            Self::Link { .. } => "link",
            Self::Sale { .. } => "sale",
            Self::Payment { .. } => "payment",
            Self::Outbox { .. } => "outbox",
            Self::Scan { .. } => "scan",
            Self::Exception { .. } => "exception",
            Self::PaymentProgress { .. } => "payment_progress",
        }
    }
}
