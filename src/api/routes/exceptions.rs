//! `/v1/exceptions…` operator handlers: list and acknowledge.

use axum::Json;
use axum::extract::State;

use crate::api::ApiState;
use crate::api::backend::LaneBackend;
use crate::api::error::ApiError;
use crate::api::extract::{ApiJson, ApiPath};
use crate::api::types::{AcknowledgeRequest, ExceptionList, ExceptionView};

/// The longest operator note kept in the journal.
const MAX_NOTE_CHARS: usize = 500;

pub(super) async fn list<B: LaneBackend>(
    State(state): State<ApiState<B>>,
) -> Result<Json<ExceptionList>, ApiError> {
    Ok(Json(state.backend.exceptions_list().await?))
}

pub(super) async fn acknowledge<B: LaneBackend>(
    State(state): State<ApiState<B>>,
    ApiPath(raw): ApiPath,
    ApiJson(req): ApiJson<AcknowledgeRequest>,
) -> Result<Json<ExceptionView>, ApiError> {
    if raw.is_empty() || raw.len() > 19 || !raw.bytes().all(|b| b.is_ascii_digit()) {
        return Err(ApiError::bad_request(
            "invalid_id",
            "An exception id is a positive integer.",
        ));
    }
    if req
        .note
        .as_deref()
        .is_some_and(|n| n.chars().count() > MAX_NOTE_CHARS || n.chars().any(char::is_control))
    {
        return Err(ApiError::bad_request(
            "invalid_note",
            format!("A note is at most {MAX_NOTE_CHARS} characters without control characters."),
        ));
    }
    Ok(Json(state.backend.exception_acknowledge(raw, req).await?))
}
