//! The one place where the agent's parts meet: store, POS client, devices, engine,
//! forwarder and API, all driven by one [`Service`] and its cancellation path.
//!
//! Each part is added in its own block below. A part that fails to start maps its
//! error onto the exit codes through [`ServiceError`]: storage → 74 (`storage`),
//! an unreachable required service → 69 (`unavailable`).

use crate::config::LoadedConfig;

use super::{Service, ServiceError};

/// Assembles the service for a loaded configuration.
///
/// Order of the blocks is the start order; the stop order is given by each task's
/// [`super::Stage`], not by this order. It is async so that parts can do their start-up
/// work (store open in `spawn_blocking`, recovery) before `READY=1`.
pub async fn wire(loaded: LoadedConfig) -> Result<Service, ServiceError> {
    let service = Service::builder(loaded);
    let _config = &service.config().config;

    // EXTENSION POINT (store): open the journal at `config.store.path` (PRAGMAs read
    // back, migrations applied) before anything else; on failure return
    // `ServiceError::storage("opening the store", e)` so the exit code is 74.

    // EXTENSION POINT (POS client): build it from `config.pos` and
    // `service.config().secrets.pos_client_secret`. An unreachable POS at start is NOT
    // fatal (the lane sells offline); only a missing required part would be
    // `ServiceError::unavailable(..)` (69).

    // EXTENSION POINT (devices): `service.task(Stage::Devices, "devices", |ctx| ...)`
    // with the terminal and `config.readers`; close the ports when `ctx.stop` fires.

    // EXTENSION POINT (engine): `let heartbeat = service.liveness().register("engine");`
    // and beat it from the engine loop (also when idle, every `heartbeat.interval()`),
    // then `service.task(Stage::Engine, "engine", |ctx| ...)`; on `ctx.stop` finish or
    // abort the terminal sequence in flight.

    // EXTENSION POINT (forwarder): `service.task(Stage::Forwarder, "forwarder", |ctx| ...)`;
    // on `ctx.stop` stop after the item in flight.

    // EXTENSION POINT (API): `service.api(|listener, ctx| async move {
    //     api::serve(listener, state, ctx.stop.cancelled_owned()).await.map_err(Into::into) })`
    // with the token `service.config().secrets.api_token`.

    Ok(service)
}
