//! `/v1/terminal/…`: the lane terminal's administration (end of day) and its live trace.

use std::convert::Infallible;

use axum::Json;
use axum::extract::State;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures::{Stream, StreamExt};
use tokio::sync::broadcast::error::RecvError;

use crate::api::backend::BackendError;

use crate::api::ApiState;
use crate::api::backend::LaneBackend;
use crate::api::error::ApiError;
use crate::api::types::EndOfDayResult;

/// The decoded live view of the terminal link, one `trace` event per message:
/// `{"line":"ECR→PT 06 01 Authorization 9.99 USD"}`; `lagged` with the number missed when
/// the client falls behind. Ends with the server.
pub(super) async fn trace<B: LaneBackend>(
    State(state): State<ApiState<B>>,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
    let Some(rx) = state.backend.subscribe_terminal_trace() else {
        return Err(BackendError::conflict(
            "no_terminal_trace",
            "This lane has no ZVT terminal link of its own to trace.",
        )
        .into());
    };
    let stream = futures::stream::unfold(rx, |mut rx| async move {
        let event = match rx.recv().await {
            Ok(line) => Event::default()
                .event("trace")
                .data(serde_json::json!({ "line": line }).to_string()),
            Err(RecvError::Lagged(missed)) => Event::default()
                .event("lagged")
                .data(format!("{{\"missed\":{missed}}}")),
            Err(RecvError::Closed) => return None,
        };
        Some((Ok(event), rx))
    });
    let stream = stream.take_until(state.shutdown.clone().cancelled_owned());
    Ok(Sse::new(stream).keep_alive(KeepAlive::default()))
}

pub(super) async fn end_of_day<B: LaneBackend>(
    State(state): State<ApiState<B>>,
) -> Result<Json<EndOfDayResult>, ApiError> {
    Ok(Json(state.backend.terminal_end_of_day().await?))
}
