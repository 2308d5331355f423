//! `/v1/outbox/…` operator handlers: show, hold, resolve and flush.

use axum::Json;
use axum::extract::State;

use crate::api::ApiState;
use crate::api::backend::LaneBackend;
use crate::api::error::ApiError;
use crate::api::extract::{ApiJson, ApiPath};
use crate::api::types::{ID_RULE, OutboxFlushed, OutboxItem, OutboxResolveRequest, is_valid_id};

/// Checks `{id}`; a malformed id is 400 `invalid_id`.
fn item_id(ApiPath(raw): ApiPath) -> Result<String, ApiError> {
    if is_valid_id(&raw) {
        Ok(raw)
    } else {
        Err(ApiError::bad_request(
            "invalid_id",
            format!("An outbox item id is {ID_RULE}."),
        ))
    }
}

pub(super) async fn show<B: LaneBackend>(
    State(state): State<ApiState<B>>,
    path: ApiPath,
) -> Result<Json<OutboxItem>, ApiError> {
    let id = item_id(path)?;
    Ok(Json(state.backend.outbox_show(id).await?))
}

pub(super) async fn hold<B: LaneBackend>(
    State(state): State<ApiState<B>>,
    path: ApiPath,
) -> Result<Json<OutboxItem>, ApiError> {
    let id = item_id(path)?;
    Ok(Json(state.backend.outbox_hold(id).await?))
}

pub(super) async fn resolve<B: LaneBackend>(
    State(state): State<ApiState<B>>,
    path: ApiPath,
    ApiJson(req): ApiJson<OutboxResolveRequest>,
) -> Result<Json<OutboxItem>, ApiError> {
    let id = item_id(path)?;
    Ok(Json(
        state.backend.outbox_resolve(id, req.resolution).await?,
    ))
}

pub(super) async fn flush<B: LaneBackend>(
    State(state): State<ApiState<B>>,
) -> Result<Json<OutboxFlushed>, ApiError> {
    Ok(Json(state.backend.outbox_flush().await?))
}
