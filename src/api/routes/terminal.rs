//! `/v1/terminal/…`: the lane terminal's administration (end of day).

use axum::Json;
use axum::extract::State;

use crate::api::ApiState;
use crate::api::backend::LaneBackend;
use crate::api::error::ApiError;
use crate::api::types::EndOfDayResult;

pub(super) async fn end_of_day<B: LaneBackend>(
    State(state): State<ApiState<B>>,
) -> Result<Json<EndOfDayResult>, ApiError> {
    Ok(Json(state.backend.terminal_end_of_day().await?))
}
