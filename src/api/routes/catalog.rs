//! Items, products and members.

use axum::Json;
use axum::extract::State;

use crate::api::ApiState;
use crate::api::backend::LaneBackend;
use crate::api::error::ApiError;
use crate::api::extract::ApiPath;
use crate::api::types::{ID_RULE, Item, Member, MemberId, Product};
use crate::api::validate;

fn sku(ApiPath(raw): ApiPath) -> Result<String, ApiError> {
    validate::sku("sku", &raw).map_err(|mut e| {
        e.status = axum::http::StatusCode::BAD_REQUEST;
        e
    })?;
    Ok(raw)
}

pub(super) async fn item<B: LaneBackend>(
    State(state): State<ApiState<B>>,
    path: ApiPath,
) -> Result<Json<Item>, ApiError> {
    let sku = sku(path)?;
    Ok(Json(state.backend.item(sku).await?))
}

pub(super) async fn product<B: LaneBackend>(
    State(state): State<ApiState<B>>,
    path: ApiPath,
) -> Result<Json<Product>, ApiError> {
    let sku = sku(path)?;
    Ok(Json(state.backend.product(sku).await?))
}

pub(super) async fn member<B: LaneBackend>(
    State(state): State<ApiState<B>>,
    ApiPath(raw): ApiPath,
) -> Result<Json<Member>, ApiError> {
    let id = MemberId::parse(&raw)
        .ok_or_else(|| ApiError::bad_request("invalid_id", format!("A member id is {ID_RULE}.")))?;
    Ok(Json(state.backend.member(id).await?))
}
