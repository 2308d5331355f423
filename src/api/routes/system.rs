//! Health, status, outbox, events, metrics and the OpenAPI document.

use std::convert::Infallible;

use axum::Json;
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures::{Stream, StreamExt};
use tokio::sync::broadcast::error::RecvError;

use crate::api::ApiState;
use crate::api::backend::LaneBackend;
use crate::api::error::ApiError;
use crate::api::types::{OutboxList, Status};

/// The OpenAPI 3.1 document of this API, checked into `docs/openapi.json`.
pub const OPENAPI_JSON: &str = include_str!("../../../docs/openapi.json");

pub(super) async fn health() -> Json<serde_json::Value> {
    Json(serde_json::json!({ "status": "ok" }))
}

pub(super) async fn status<B: LaneBackend>(
    State(state): State<ApiState<B>>,
) -> Result<Json<Status>, ApiError> {
    Ok(Json(state.backend.status().await?))
}

pub(super) async fn outbox<B: LaneBackend>(
    State(state): State<ApiState<B>>,
) -> Result<Json<OutboxList>, ApiError> {
    Ok(Json(state.backend.outbox_list().await?))
}

pub(super) async fn openapi() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "application/json")], OPENAPI_JSON)
}

pub(super) async fn metrics<B: LaneBackend>(State(state): State<ApiState<B>>) -> impl IntoResponse {
    // Status gauges are read at the scrape; a status that cannot be read leaves the last
    // values (and the storage gauge tells why).
    if let Ok(status) = state.backend.status().await {
        state.metrics.set_status(&status);
    }
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        state.metrics.render(),
    )
}

/// Server-sent events: one SSE event per [`ApiEvent`](crate::api::types::ApiEvent), named by
/// its `type`. A slow client that falls behind gets a `lagged` event with the number missed
/// and should re-read `/v1/status`. The stream ends when the server shuts down.
pub(super) async fn events<B: LaneBackend>(
    State(state): State<ApiState<B>>,
) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let rx = state.backend.subscribe_events();
    let stream = futures::stream::unfold(rx, |mut rx| async move {
        let event = match rx.recv().await {
            Ok(ev) => match serde_json::to_string(&ev) {
                Ok(data) => Event::default().event(ev.name()).data(data),
                Err(error) => {
                    tracing::error!(%error, "Event could not be serialized.");
                    Event::default().event("error").data("{}")
                }
            },
            Err(RecvError::Lagged(missed)) => Event::default()
                .event("lagged")
                .data(format!("{{\"missed\":{missed}}}")),
            Err(RecvError::Closed) => return None,
        };
        Some((Ok(event), rx))
    });
    let stream = stream.take_until(state.shutdown.clone().cancelled_owned());
    Sse::new(stream).keep_alive(KeepAlive::default())
}
