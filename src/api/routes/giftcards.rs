//! `/v1/giftcards/…` handlers.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;

use crate::api::ApiState;
use crate::api::backend::LaneBackend;
use crate::api::error::ApiError;
use crate::api::extract::{ApiJson, ApiQuery};
use crate::api::types::{
    BalanceQuery, GiftCardBalance, GiftCardCodeReplaced, GiftCardFundRequest, GiftCardFunded,
    GiftCardReplaceCodeRequest,
};
use crate::api::validate;

pub(super) async fn balance<B: LaneBackend>(
    State(state): State<ApiState<B>>,
    ApiQuery(query): ApiQuery<BalanceQuery>,
) -> Result<Json<GiftCardBalance>, ApiError> {
    validate::code(&query.code)?;
    Ok(Json(state.backend.giftcard_balance(query.code).await?))
}

/// Refuses card loads on lanes where `api.permissions.giftcard_edit` is off.
fn may_edit<B>(state: &ApiState<B>) -> Result<(), ApiError> {
    if state.options.giftcard_edit {
        Ok(())
    } else {
        Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            "Gift-card activation and reload are disabled on this lane.",
        ))
    }
}

pub(super) async fn activate<B: LaneBackend>(
    State(state): State<ApiState<B>>,
    ApiJson(req): ApiJson<GiftCardFundRequest>,
) -> Result<(StatusCode, Json<GiftCardFunded>), ApiError> {
    may_edit(&state)?;
    validate::fund(&req)?;
    Ok((
        StatusCode::CREATED,
        Json(state.backend.giftcard_activate(req).await?),
    ))
}

pub(super) async fn reload<B: LaneBackend>(
    State(state): State<ApiState<B>>,
    ApiJson(req): ApiJson<GiftCardFundRequest>,
) -> Result<Json<GiftCardFunded>, ApiError> {
    may_edit(&state)?;
    validate::fund(&req)?;
    Ok(Json(state.backend.giftcard_reload(req).await?))
}

/// A manager replaces a lost card's physical code. Refused (before any validation or POS
/// call) unless `api.permissions.giftcard_replace_code` is on.
pub(super) async fn replace_code<B: LaneBackend>(
    State(state): State<ApiState<B>>,
    ApiJson(req): ApiJson<GiftCardReplaceCodeRequest>,
) -> Result<Json<GiftCardCodeReplaced>, ApiError> {
    if !state.options.giftcard_replace_code {
        tracing::warn!(
            card_id = %req.card_id,
            "Gift-card code replacement refused: not permitted on this lane."
        );
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "permission_denied",
            "Gift-card code replacement is not permitted on this lane \
             (api.permissions.giftcard_replace_code).",
        ));
    }
    validate::replace_code(&req)?;
    Ok(Json(state.backend.giftcard_replace_code(req).await?))
}
