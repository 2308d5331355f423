//! The technicians' and tests' HTTP control API under `/_sim/` (no authentication: the
//! simulator is a local tool).
//!
//! | route | body | effect |
//! |---|---|---|
//! | `GET /_sim/ledger` | | the [`Ledger`](super::Ledger) as JSON |
//! | `GET /_sim/faults` | | armed faults |
//! | `POST /_sim/faults` | a [`Fault`](super::Fault) | arms it |
//! | `DELETE /_sim/faults` | | clears all faults |
//! | `POST /_sim/clock/advance` | `{"secs": N}` | advances the clock, runs the Delay Period task |
//! | `POST /_sim/items` | a [`SeedItem`](super::SeedItem) | inserts or changes an item |
//! | `POST /_sim/outage` | `{"secs": N}` | refuses connections for N seconds |
//! | `POST /_sim/terminals/steps` | a [`TerminalStep`](super::TerminalStep) | queues the next cardholder action |
//! | `POST /_sim/terminals/online` | `{"terminal": ID, "online": bool}` | processor terminal on/off line |

use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::faults::Fault;
use super::seed::SeedItem;
use super::server::App;

#[derive(Deserialize)]
pub(crate) struct Secs {
    secs: u64,
}

pub(crate) async fn ledger(State(app): State<App>) -> Response {
    let now = app.state.now();
    let mut db = app.state.db();
    db.terminals.settle_due(now);
    Json(db.ledger()).into_response()
}

pub(crate) async fn list_faults(State(app): State<App>) -> Response {
    Json(app.state.faults.list()).into_response()
}

pub(crate) async fn add_fault(State(app): State<App>, Json(fault): Json<Fault>) -> Response {
    tracing::info!(?fault, "Fault armed.");
    app.state.faults.inject(fault);
    StatusCode::NO_CONTENT.into_response()
}

pub(crate) async fn clear_faults(State(app): State<App>) -> Response {
    app.state.faults.clear();
    tracing::info!("Faults cleared.");
    StatusCode::NO_CONTENT.into_response()
}

pub(crate) async fn advance_clock(State(app): State<App>, Json(by): Json<Secs>) -> Response {
    app.state.advance_clock(Duration::from_secs(by.secs));
    let cancelled = app.state.sweep();
    Json(serde_json::json!({"now": app.state.now(), "cancelled": cancelled})).into_response()
}

pub(crate) async fn upsert_item(State(app): State<App>, Json(item): Json<SeedItem>) -> Response {
    app.state.db().upsert_item(item);
    StatusCode::NO_CONTENT.into_response()
}

pub(crate) async fn terminal_step(
    State(app): State<App>,
    Json(step): Json<super::terminals::TerminalStep>,
) -> Response {
    if app.state.db().terminals.push_step(step) {
        StatusCode::NO_CONTENT.into_response()
    } else {
        StatusCode::NOT_FOUND.into_response()
    }
}

#[derive(Deserialize)]
pub(crate) struct TerminalOnline {
    terminal: String,
    online: bool,
}

pub(crate) async fn terminal_online(
    State(app): State<App>,
    Json(t): Json<TerminalOnline>,
) -> Response {
    if app.state.db().terminals.set_online(&t.terminal, t.online) {
        StatusCode::NO_CONTENT.into_response()
    } else {
        StatusCode::NOT_FOUND.into_response()
    }
}

pub(crate) async fn outage(State(app): State<App>, Json(period): Json<Secs>) -> Response {
    let Some(server) = app.server.upgrade() else {
        return StatusCode::SERVICE_UNAVAILABLE.into_response();
    };
    // Answered before the listener goes down, so the caller learns it worked.
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(50)).await;
        if let Err(e) = server.set_online(false).await {
            tracing::warn!(error = %e, "Cannot go offline.");
        }
        tokio::time::sleep(Duration::from_secs(period.secs)).await;
        if let Err(e) = server.set_online(true).await {
            tracing::error!(error = %e, "Cannot come back online.");
        }
    });
    StatusCode::ACCEPTED.into_response()
}
