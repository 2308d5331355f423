//! The local API's refunds and receipts over the engine (types and errors only).

use secrecy::SecretString;

use crate::api::backend::BackendError;
use crate::api::types::{
    MaskedCode, PaymentId, PaymentMethod, ReceiptResult, RefundLine, RefundRequest, RefundResult,
    RefundStatus as ApiRefundStatus, SaleId,
};
use crate::domain::Money;
use crate::domain::payment::Method;
use crate::engine::Engine;
use crate::engine::refund::{RefundRequest as EngineRefund, RefundStatus};

use super::backend::map_error;

fn method(m: PaymentMethod) -> Method {
    match m {
        PaymentMethod::GiftCard => Method::Giftcard,
        PaymentMethod::Card => Method::Card,
        PaymentMethod::Cash => Method::Cash,
    }
}

/// `POST /v1/sales/{id}/refunds`.
pub(super) async fn refund(
    engine: &Engine,
    sale_id: SaleId,
    req: RefundRequest,
) -> Result<RefundResult, BackendError> {
    let r = EngineRefund {
        refund_id: req.refund_id.map(|r| r.as_str().to_owned()),
        method: method(req.method),
        amount: Money::from(req.amount),
        code: req.code.map(|c| SecretString::from(c.expose().to_owned())),
    };
    let a = engine
        .refund(sale_id.as_str(), r)
        .await
        .map_err(map_error)?;
    Ok(RefundResult {
        refund_id: PaymentId::parse(&a.refund_id).ok_or_else(|| BackendError::Internal {
            message: "refund id".into(),
        })?,
        status: match a.status {
            RefundStatus::Approved => ApiRefundStatus::Approved,
            RefundStatus::Declined => ApiRefundStatus::Declined,
            RefundStatus::OfflineApproved => ApiRefundStatus::OfflineApproved,
            RefundStatus::Pending => ApiRefundStatus::Pending,
            RefundStatus::InDoubt => ApiRefundStatus::InDoubt,
        },
        amount: a.amount.get(),
        balance: a.balance.map(Money::get),
        reason: a.reason,
        due: a.due.get(),
    })
}

/// `GET /v1/sales/{id}/receipt`.
pub(super) async fn receipt(
    engine: &Engine,
    sale_id: SaleId,
) -> Result<ReceiptResult, BackendError> {
    let r = engine.receipt(sale_id.as_str()).await.map_err(map_error)?;
    Ok(ReceiptResult {
        sale_id,
        lines: r.lines,
    })
}

/// The refunds of a sale for `GET /v1/sales/{id}`.
pub(super) async fn lines(engine: &Engine, sale_id: &str) -> Result<Vec<RefundLine>, BackendError> {
    let rs = engine.returns().refunds(sale_id).await.map_err(map_error)?;
    rs.into_iter()
        .map(|r| {
            Ok(RefundLine {
                refund_id: PaymentId::parse(&r.refund_id).ok_or_else(|| {
                    BackendError::Internal {
                        message: "refund id".into(),
                    }
                })?,
                method: match r.method {
                    Method::Giftcard => PaymentMethod::GiftCard,
                    Method::Card => PaymentMethod::Card,
                    Method::Cash => PaymentMethod::Cash,
                },
                state: r.state.as_str().to_owned(),
                amount: r.amount.get(),
                code: r.code.as_deref().map(MaskedCode::from_full),
                reason: r.reason,
            })
        })
        .collect()
}
