//! The boundary between the HTTP layer and the engine.
//!
//! The API validates every request before it calls the backend, so an implementation sees
//! only well-formed input: ids that satisfy [`ID_RULE`](super::types::ID_RULE), at least one
//! line, positive amounts with at most two decimal places below the API's maximum, and so
//! on (see [`validate`](super::validate)). Business rules stay with the backend: idempotency
//! of register ids (interfaces.md §5), what is due, whether a sale may complete.

use std::future::Future;

use tokio::sync::broadcast;

use super::types::{
    AcknowledgeRequest, AddPaymentRequest, ApiEvent, CancelResult, CompleteResult, ExceptionList,
    ExceptionView, GiftCardBalance, GiftCardCode, GiftCardCodeReplaced, GiftCardFundRequest,
    GiftCardFunded, GiftCardReplaceCodeRequest, Item, Member, MemberId, OpenSaleRequest,
    OutboxFlushed, OutboxItem, OutboxList, OutboxResolution, PaymentResult, Product, ReceiptResult,
    RefundRequest, RefundResult, SaleDetail, SaleId, SaleSummary, Status,
};

/// What the local API needs from the engine.
///
/// Every method answers one route of interfaces.md §3. Errors are [`BackendError`]s, which
/// the API turns into `{"error":{"code","message"}}` with a fitting status.
pub trait LaneBackend: Send + Sync + 'static {
    /// `GET /v1/status`.
    fn status(&self) -> impl Future<Output = Result<Status, BackendError>> + Send;

    /// `POST /v1/sales`. The same `sale_id` with an equal request returns the sale again
    /// (its current summary); with a different request it is a
    /// [`BackendError::Conflict`] (code `idempotency_conflict`).
    fn open_sale(
        &self,
        req: OpenSaleRequest,
    ) -> impl Future<Output = Result<SaleSummary, BackendError>> + Send;

    /// `POST /v1/sales/{id}/payments`. The same `payment_id` with an equal request returns
    /// the first answer; with a different request it is a conflict. A payment on a sale
    /// that is not open, or with nothing due, is a conflict.
    fn add_payment(
        &self,
        sale_id: SaleId,
        req: AddPaymentRequest,
    ) -> impl Future<Output = Result<PaymentResult, BackendError>> + Send;

    /// `POST /v1/sales/{id}/complete`. A conflict (code `amount_due`) while anything is due,
    /// or (code `sale_cancelled`) for a cancelled sale; completing a completed sale again
    /// returns the same answer.
    fn complete_sale(
        &self,
        sale_id: SaleId,
    ) -> impl Future<Output = Result<CompleteResult, BackendError>> + Send;

    /// `POST /v1/sales/{id}/cancel`. A conflict (code `sale_completed`) for a completed sale;
    /// cancelling a cancelled sale again returns the same answer.
    fn cancel_sale(
        &self,
        sale_id: SaleId,
    ) -> impl Future<Output = Result<CancelResult, BackendError>> + Send;

    /// `GET /v1/sales/{id}`.
    fn get_sale(
        &self,
        sale_id: SaleId,
    ) -> impl Future<Output = Result<SaleDetail, BackendError>> + Send;

    /// `GET /v1/giftcards/balance?code=…`.
    fn giftcard_balance(
        &self,
        code: GiftCardCode,
    ) -> impl Future<Output = Result<GiftCardBalance, BackendError>> + Send;

    /// `POST /v1/giftcards/activate`: a new card funded with an ADD.
    fn giftcard_activate(
        &self,
        req: GiftCardFundRequest,
    ) -> impl Future<Output = Result<GiftCardFunded, BackendError>> + Send;

    /// `POST /v1/giftcards/reload`: an ADD to an existing card.
    fn giftcard_reload(
        &self,
        req: GiftCardFundRequest,
    ) -> impl Future<Output = Result<GiftCardFunded, BackendError>> + Send;

    /// `POST /v1/giftcards/replace-code`: replaces the physical code (and PIN) of the card
    /// with POS id `card_id` (`giftcardEdit`). The API has already checked the lane's
    /// `api.permissions.giftcard_replace_code`; an unknown card is
    /// [`BackendError::NotFound`] with [`Resource::GiftCard`], a POS client without the
    /// `EditGiftCard` permission [`BackendError::Forbidden`] (code `pos_not_authorized`).
    fn giftcard_replace_code(
        &self,
        req: GiftCardReplaceCodeRequest,
    ) -> impl Future<Output = Result<GiftCardCodeReplaced, BackendError>> + Send;

    /// `GET /v1/items/{sku}`.
    fn item(&self, sku: String) -> impl Future<Output = Result<Item, BackendError>> + Send;

    /// `GET /v1/products/{sku}`.
    fn product(&self, sku: String) -> impl Future<Output = Result<Product, BackendError>> + Send;

    /// `GET /v1/members/{member_id}`.
    fn member(
        &self,
        member_id: MemberId,
    ) -> impl Future<Output = Result<Member, BackendError>> + Send;

    /// `GET /v1/outbox`.
    fn outbox_list(&self) -> impl Future<Output = Result<OutboxList, BackendError>> + Send;

    /// `GET /v1/outbox/{id}`. An unknown id is [`BackendError::NotFound`] with
    /// [`Resource::OutboxItem`].
    fn outbox_show(
        &self,
        id: String,
    ) -> impl Future<Output = Result<OutboxItem, BackendError>> + Send;

    /// `POST /v1/outbox/{id}/hold`: the forwarder skips the item until a flush releases it.
    /// Only a pending item can be held; any other state is a conflict (code
    /// `outbox_item_not_holdable`).
    fn outbox_hold(
        &self,
        id: String,
    ) -> impl Future<Output = Result<OutboxItem, BackendError>> + Send;

    /// `POST /v1/outbox/{id}/resolve`: an operator's verdict on an in-doubt or failed item.
    /// `Recorded` confirms it without sending; `Resend` queues it again. Any other state is a
    /// conflict (code `outbox_item_not_resolvable`).
    fn outbox_resolve(
        &self,
        id: String,
        resolution: OutboxResolution,
    ) -> impl Future<Output = Result<OutboxItem, BackendError>> + Send;

    /// `POST /v1/outbox/flush`: releases every held item back to pending and wakes the
    /// forwarder to send now. In-doubt and failed items are untouched (they need
    /// `resolve`).
    fn outbox_flush(&self) -> impl Future<Output = Result<OutboxFlushed, BackendError>> + Send;

    /// `GET /v1/exceptions`: the open exceptions.
    fn exceptions_list(&self) -> impl Future<Output = Result<ExceptionList, BackendError>> + Send;

    /// `POST /v1/exceptions/{id}/acknowledge`: closes an exception. An unknown or closed id
    /// is [`BackendError::NotFound`] with [`Resource::Exception`]; a payment in doubt without a
    /// resolution is a conflict (code `resolution_required`).
    fn exception_acknowledge(
        &self,
        id: String,
        req: AcknowledgeRequest,
    ) -> impl Future<Output = Result<ExceptionView, BackendError>> + Send;

    /// `POST /v1/sales/{id}/refunds`: pays back what the sale owes the customer. The same
    /// `refund_id` with an equal request returns the first answer; with a different request
    /// it is a conflict. A backend without refunds answers 503 `refunds_unavailable`.
    fn refund(
        &self,
        sale_id: SaleId,
        req: RefundRequest,
    ) -> impl Future<Output = Result<RefundResult, BackendError>> + Send {
        let _ = (sale_id, req);
        async {
            Err(BackendError::Unavailable {
                code: "refunds_unavailable",
                message: "This lane takes no refunds.".into(),
            })
        }
    }

    /// `GET /v1/sales/{id}/receipt`: the customer receipt as text lines. A backend without
    /// receipts answers 503 `receipts_unavailable`.
    fn receipt(
        &self,
        sale_id: SaleId,
    ) -> impl Future<Output = Result<ReceiptResult, BackendError>> + Send {
        let _ = sale_id;
        async {
            Err(BackendError::Unavailable {
                code: "receipts_unavailable",
                message: "This lane prints no receipts.".into(),
            })
        }
    }

    /// A new receiver on the agent's event channel, for `GET /v1/events`.
    fn subscribe_events(&self) -> broadcast::Receiver<ApiEvent>;

    /// `POST /v1/terminal/end-of-day`: the terminal's end of day (ZVT 06 50), its totals
    /// journaled. A terminal that does not settle at the lane (a processor terminal behind
    /// the POS) is a conflict `end_of_day_not_applicable` (409); so is a backend without one.
    fn terminal_end_of_day(
        &self,
    ) -> impl Future<Output = Result<crate::api::types::EndOfDayResult, BackendError>> + Send {
        async {
            Err(BackendError::conflict(
                END_OF_DAY_NOT_APPLICABLE,
                "This lane's terminal does not run an end of day (the processor settles).",
            ))
        }
    }

    /// `GET /v1/terminal/trace`: the agent's own conversation with its ZVT terminal, each
    /// message in words without secrets ([`zvt::describe`]); `None` when the lane has no
    /// terminal link of its own (409 `no_terminal_trace`).
    fn subscribe_terminal_trace(&self) -> Option<broadcast::Receiver<String>> {
        None
    }
}

/// The 409 code of an end of day on a terminal that does not settle at the lane.
pub const END_OF_DAY_NOT_APPLICABLE: &str = "end_of_day_not_applicable";

/// What kind of thing was not found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resource {
    /// A sale.
    Sale,
    /// An item.
    Item,
    /// A product.
    Product,
    /// A member.
    Member,
    /// A gift card.
    GiftCard,
    /// An outbox item.
    OutboxItem,
    /// An open exception.
    Exception,
}

impl Resource {
    /// The error code, e.g. `sale_not_found`.
    pub fn not_found_code(self) -> &'static str {
        match self {
            Self::Sale => "sale_not_found",
            Self::Item => "item_not_found",
            Self::Product => "product_not_found",
            Self::Member => "member_not_found",
            Self::GiftCard => "giftcard_not_found",
            Self::OutboxItem => "outbox_item_not_found",
            Self::Exception => "exception_not_found",
        }
    }

    fn noun(self) -> &'static str {
        match self {
            Self::Sale => "sale",
            Self::Item => "item",
            Self::Product => "product",
            Self::Member => "member",
            Self::GiftCard => "gift card",
            Self::OutboxItem => "outbox item",
            Self::Exception => "open exception",
        }
    }
}

/// A backend failure, mapped by the API to a status code.
///
/// Messages go to the register as they are, so they must never hold card data.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BackendError {
    /// 404: the thing does not exist.
    #[error("The {} was not found.", .0.noun())]
    NotFound(Resource),
    /// 409: the request contradicts the current state (e.g. `amount_due`,
    /// `sale_completed`, `idempotency_conflict`).
    #[error("{message}")]
    Conflict {
        /// A stable code.
        code: &'static str,
        /// A sentence for the cashier or the log.
        message: String,
    },
    /// 422: the request is well-formed but not acceptable (e.g. `offline_limit`).
    #[error("{message}")]
    Invalid {
        /// A stable code.
        code: &'static str,
        /// A sentence for the cashier or the log.
        message: String,
    },
    /// 403: the request is refused for want of a permission (e.g. `pos_not_authorized`
    /// when the POS client's roles lack one).
    #[error("{message}")]
    Forbidden {
        /// A stable code.
        code: &'static str,
        /// A sentence for the cashier or the log.
        message: String,
    },
    /// 503: a device or the POS is needed and unreachable, with no offline fallback.
    #[error("{message}")]
    Unavailable {
        /// A stable code (e.g. `pos_unreachable`, `terminal_unavailable`).
        code: &'static str,
        /// A sentence for the cashier or the log.
        message: String,
    },
    /// 500: a bug or a storage failure. The message is logged, not sent.
    #[error("{message}")]
    Internal {
        /// What went wrong, for the log.
        message: String,
    },
}

impl BackendError {
    /// A conflict with a stable code.
    pub fn conflict(code: &'static str, message: impl Into<String>) -> Self {
        Self::Conflict {
            code,
            message: message.into(),
        }
    }

    /// An unacceptable request with a stable code.
    pub fn invalid(code: &'static str, message: impl Into<String>) -> Self {
        Self::Invalid {
            code,
            message: message.into(),
        }
    }
}
