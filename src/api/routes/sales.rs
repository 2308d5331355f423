//! `/v1/sales…` handlers.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;

use crate::api::ApiState;
use crate::api::backend::LaneBackend;
use crate::api::error::ApiError;
use crate::api::extract::{ApiJson, ApiPath};
use crate::api::types::{
    AddPaymentRequest, CancelResult, CompleteResult, ID_RULE, OpenSaleRequest, PaymentResult,
    ReceiptResult, RefundRequest, RefundResult, SaleDetail, SaleId, SaleSummary,
};
use crate::api::validate;

/// Parses `{id}`; a malformed id is 400 `invalid_id`.
fn sale_id(ApiPath(raw): ApiPath) -> Result<SaleId, ApiError> {
    SaleId::parse(&raw)
        .ok_or_else(|| ApiError::bad_request("invalid_id", format!("A sale id is {ID_RULE}.")))
}

pub(super) async fn open<B: LaneBackend>(
    State(state): State<ApiState<B>>,
    ApiJson(req): ApiJson<OpenSaleRequest>,
) -> Result<(StatusCode, Json<SaleSummary>), ApiError> {
    validate::open_sale(&req)?;
    let sale = state.backend.open_sale(req).await?;
    Ok((StatusCode::CREATED, Json(sale)))
}

pub(super) async fn add_payment<B: LaneBackend>(
    State(state): State<ApiState<B>>,
    path: ApiPath,
    ApiJson(req): ApiJson<AddPaymentRequest>,
) -> Result<(StatusCode, Json<PaymentResult>), ApiError> {
    let id = sale_id(path)?;
    validate::add_payment(&req)?;
    let result = state.backend.add_payment(id, req).await?;
    Ok((StatusCode::CREATED, Json(result)))
}

pub(super) async fn complete<B: LaneBackend>(
    State(state): State<ApiState<B>>,
    path: ApiPath,
) -> Result<Json<CompleteResult>, ApiError> {
    let id = sale_id(path)?;
    Ok(Json(state.backend.complete_sale(id).await?))
}

pub(super) async fn cancel<B: LaneBackend>(
    State(state): State<ApiState<B>>,
    path: ApiPath,
) -> Result<Json<CancelResult>, ApiError> {
    let id = sale_id(path)?;
    Ok(Json(state.backend.cancel_sale(id).await?))
}

pub(super) async fn get<B: LaneBackend>(
    State(state): State<ApiState<B>>,
    path: ApiPath,
) -> Result<Json<SaleDetail>, ApiError> {
    let id = sale_id(path)?;
    Ok(Json(state.backend.get_sale(id).await?))
}

pub(super) async fn refund<B: LaneBackend>(
    State(state): State<ApiState<B>>,
    path: ApiPath,
    ApiJson(req): ApiJson<RefundRequest>,
) -> Result<(StatusCode, Json<RefundResult>), ApiError> {
    let id = sale_id(path)?;
    validate::refund(&req)?;
    let result = state.backend.refund(id, req).await?;
    Ok((StatusCode::CREATED, Json(result)))
}

pub(super) async fn receipt<B: LaneBackend>(
    State(state): State<ApiState<B>>,
    path: ApiPath,
) -> Result<Json<ReceiptResult>, ApiError> {
    let id = sale_id(path)?;
    Ok(Json(state.backend.receipt(id).await?))
}
