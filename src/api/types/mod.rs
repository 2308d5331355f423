//! The API's request and answer types: the field names of interfaces.md §3.
//!
//! Money and quantities are decimal strings both ways; JSON numbers are refused. Request
//! types reject unknown fields. Card secrets are [`GiftCardCode`] and [`Pin`], which
//! cannot be serialized and print masked.

mod catalog;
mod exceptions;
mod giftcards;
mod ids;
pub mod money;
mod refunds;
mod sales;
mod secret;
mod status;
mod terminal;

use serde::{Deserialize, Serialize};

pub use catalog::{Item, Member, Product, ProductGroup, ProductNotice};
pub use exceptions::{AcknowledgeRequest, ExceptionList, ExceptionResolution, ExceptionView};
pub use giftcards::{
    BalanceQuery, GiftCardBalance, GiftCardCodeReplaced, GiftCardFundRequest, GiftCardFunded,
    GiftCardReplaceCodeRequest, LoadStatus,
};
pub use ids::{
    ID_RULE, MAX_ID_LEN, MAX_SKU_LEN, MemberId, PaymentId, SaleId, is_valid_id, is_valid_sku,
};
pub use refunds::{ReceiptResult, RefundLine, RefundRequest, RefundResult, RefundStatus};
pub use sales::{
    AddPaymentRequest, CancelResult, CompleteResult, OpenSaleRequest, PaymentMethod, PaymentRecord,
    PaymentResult, PaymentState, PaymentStatus, PurchaseState, SaleDetail, SaleLine,
    SaleLineRequest, SaleState, SaleSummary,
};
pub use secret::{GiftCardCode, MaskedCode, MaskedName, Pin, mask_last4};
pub use status::{
    ApiEvent, DeviceState, DeviceStatus, LinkState, OfflineBudget, OutboxCounts, OutboxFlushed,
    OutboxItem, OutboxList, OutboxResolution, OutboxResolveRequest, OutboxState, ScanKind, Status,
};
pub use terminal::{EndOfDayResult, EndOfDayStatus, EndOfDayTotalsView};

/// Where an answer came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    /// Asked from the POS just now.
    Online,
    /// The last value seen from the POS (the link is down).
    Cached,
    /// The agent's periodically synced mirror.
    Mirror,
}
