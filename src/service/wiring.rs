//! The one place where the agent's parts meet: store, POS client, devices, engine,
//! forwarder and API, all driven by one [`Service`] and its cancellation path.
//!
//! Start order (this function): store (journal opened, PRAGMAs read back) → POS client →
//! devices (terminal reporter, readers) → terminal port → engine, with recovery of every
//! sale and payment left in flight → tasks. The stop order is given by each task's
//! [`Stage`]: the API stops accepting and lets requests in flight (a payment waiting on the
//! terminal) finish; then the engine heartbeat stops and the terminal link closes; then the
//! forwarder and the link probe stop after the item in flight; then the reader ports close.
//!
//! A part that fails to start maps its error onto the exit codes through [`ServiceError`]:
//! storage → 74, an unreachable required service → 69. An unreachable POS or terminal at
//! start is NOT fatal: the lane sells offline and the terminal reconnects per command.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::broadcast::error::{RecvError, TryRecvError};

use pos_client::backoff::Backoff;
use pos_client::{CodeType, PosClient, PosConfig};

use crate::agent::{AgentBackend, Catalog, ZvtTerminal, transport_config};
use crate::api::{self, ApiOptions, ApiState};
use crate::config::{Config, LoadedConfig, UnknownCardPolicy};
use crate::devices::{DeviceKind, DeviceRegistry, ReaderKind, ReaderSpec, SupervisorOptions};
use crate::domain::Money;
use crate::engine::adapters::{PosPorts, backoff_factory};
use crate::engine::{Engine, EngineConfig, EngineEvent, OfflinePolicy, Ports, UnknownCard};
use crate::metrics::Metrics;
use crate::mirror::{Mirror, MirrorOptions, mirror_path};
use crate::store::{Store, StoreOptions};

use super::{Service, ServiceError, Stage};

/// How long the devices get to close their ports at the end of a stop.
const DEVICE_CLOSE_GRACE: Duration = Duration::from_secs(2);

/// The engine's `[offline]` policy from the config.
pub fn offline_policy(config: &Config) -> OfflinePolicy {
    let o = &config.offline;
    if !o.enabled {
        return OfflinePolicy::disabled();
    }
    OfflinePolicy {
        enabled: true,
        max_transaction_amount: Money::from(o.max_transaction_amount),
        max_total_amount: Money::from(o.max_total_amount),
        max_count: u64::from(o.max_count),
        max_age_hours: o.max_age.as_secs().div_ceil(3600),
        unknown_card: match o.unknown_card {
            UnknownCardPolicy::Refuse => UnknownCard::Refuse,
            UnknownCardPolicy::Limit { max_amount } => UnknownCard::Limit(Money::from(max_amount)),
        },
    }
}

/// The POS client's settings from the config and its secret.
pub fn pos_config(loaded: &LoadedConfig) -> PosConfig {
    let pos = &loaded.config.pos;
    PosConfig {
        graphql_url: pos.graphql_url.to_string(),
        issuer_url: pos.issuer_url.clone(),
        client_id: pos.client_id.clone(),
        client_secret: loaded.secrets.pos_client_secret.clone(),
        request_timeout: pos.request_timeout,
        connect_timeout: pos_client::DEFAULT_CONNECT_TIMEOUT.min(pos.request_timeout),
        max_response_bytes: pos_client::DEFAULT_MAX_RESPONSE_BYTES,
    }
}

/// The one backoff policy for the forwarder and the link probe: 0.5 s doubling to 30 s,
/// jittered, never giving up (the lane keeps trying until the link is back).
fn shared_backoff() -> Result<Backoff, ServiceError> {
    Backoff::try_new(
        Duration::from_millis(500),
        Duration::from_secs(30),
        u32::MAX,
    )
    .map_err(|e| ServiceError::unavailable("building the retry policy", e))
}

/// Name of the systemd credential that may carry the code key (`LoadCredential=code-key:…`).
pub const CODE_KEY_CREDENTIAL: &str = "code-key";

/// The store, with its code key from the systemd credential `code-key` when the unit passes
/// one, otherwise from `<db>.key` beside the database.
fn store_options(path: &std::path::Path) -> StoreOptions {
    let opts = StoreOptions::new(path.to_path_buf());
    match std::env::var_os("CREDENTIALS_DIRECTORY") {
        Some(dir)
            if std::path::Path::new(&dir)
                .join(CODE_KEY_CREDENTIAL)
                .exists() =>
        {
            opts.with_key_file(std::path::Path::new(&dir).join(CODE_KEY_CREDENTIAL))
        }
        _ => opts,
    }
}

fn classifier(config: &Config) -> Result<cardreader::Classifier, ServiceError> {
    cardreader::Classifier::new(cardreader::ClassifierConfig {
        gift_prefixes: config.giftcard.prefixes.clone(),
        gift_pattern: config
            .giftcard
            .pattern
            .as_ref()
            .map(|r| r.as_str().to_owned()),
        member_pattern: config
            .member
            .pattern
            .as_ref()
            .map(|r| r.as_str().to_owned()),
        ..Default::default()
    })
    .map_err(|e| ServiceError::unavailable("building the card classifier", e))
}

fn reader_specs(config: &Config) -> Vec<ReaderSpec> {
    config
        .readers
        .iter()
        .map(|r| {
            let kind = match r.kind {
                crate::config::ReaderKind::SerialMsr => ReaderKind::SerialMsr,
                crate::config::ReaderKind::SerialScanner => ReaderKind::SerialScanner,
                crate::config::ReaderKind::HidWedge => ReaderKind::HidWedge,
            };
            let mut spec = ReaderSpec::new(r.name.clone(), kind, r.device.clone());
            spec.baud = r.baud;
            spec
        })
        .collect()
}

/// Settings of the assembly that are not in the config file (the demo and tests shorten
/// the retry policy so an outage heals in a second rather than half a minute).
#[derive(Debug, Clone, Default)]
pub struct WireOptions {
    /// Replaces the forwarder's and link probe's backoff.
    pub backoff: Option<Backoff>,
}

/// Assembles the service for a loaded configuration.
///
/// It is async so that parts can do their start-up work (store open, recovery) before
/// `READY=1`.
pub async fn wire(loaded: LoadedConfig) -> Result<Service, ServiceError> {
    wire_with(loaded, WireOptions::default()).await
}

/// [`wire`] with [`WireOptions`].
pub async fn wire_with(
    loaded: LoadedConfig,
    options: WireOptions,
) -> Result<Service, ServiceError> {
    let service = Service::builder(loaded);
    let loaded = Arc::clone(service.config());
    let config = &loaded.config;

    // Store first: nothing may act before the journal is open and its PRAGMAs are right.
    let store = Store::open(store_options(&config.store.path))
        .await
        .map_err(|e| ServiceError::storage("opening the store", e))?;
    let mirror = Mirror::open(MirrorOptions::new(mirror_path(&config.store.path)))
        .await
        .map_err(|e| ServiceError::storage("opening the catalog mirror", e))?;

    // POS client: building it does no I/O, so an unreachable POS does not stop the start.
    let client = PosClient::new(pos_config(&loaded))
        .map_err(|e| ServiceError::unavailable("building the POS client", e))?;
    let metrics = Metrics::new();
    client.observe_calls({
        let metrics = metrics.clone();
        Arc::new(move |operation, elapsed| metrics.observe_pos_call(operation, elapsed))
    });
    let pos = PosPorts::new(client.clone(), Some(CodeType::Physical));

    // Devices: the readers are supervised; the terminal reports through its driver.
    let devices = Arc::new(
        DeviceRegistry::start(
            reader_specs(config),
            classifier(config)?,
            SupervisorOptions::default(),
        )
        .map_err(|e| ServiceError::unavailable("starting the card readers", e))?,
    );
    // A lane with `terminal.protocol = "pos"` has no ZVT terminal: cards go through the
    // POS's terminalPayment, and nothing is shown on or sent to a ZVT display.
    let pos_terminal_id = config
        .terminal
        .transport
        .pos_terminal_id()
        .map(str::to_owned);
    let zvt = match &pos_terminal_id {
        Some(_) => None,
        None => {
            let reporter = devices
                .register_external("terminal", DeviceKind::Terminal)
                .map_err(|e| ServiceError::unavailable("registering the terminal", e))?;
            Some(Arc::new(
                ZvtTerminal::new(transport_config(&config.terminal), Some(reporter))
                    .map_err(|e| ServiceError::unavailable("configuring the terminal", e))?,
            ))
        }
    };
    let terminal: Arc<dyn crate::engine::PaymentTerminal> = match &zvt {
        Some(t) => t.clone(),
        None => Arc::new(crate::engine::adapters::NoZvtTerminal),
    };

    let backoff = match options.backoff {
        Some(b) => b,
        None => shared_backoff()?,
    };
    let engine = Engine::new(
        store,
        Ports {
            giftcards: Arc::new(pos.clone()),
            purchases: Arc::new(pos.clone()),
            terminal,
        },
        EngineConfig {
            store_code: config.lane.store_code.clone(),
            register_code: config.lane.register_code.clone(),
            offline: offline_policy(config),
            forward_backoff: backoff_factory(backoff.clone()),
            probe_backoff: backoff_factory(backoff),
            // Crash-harness negative controls; absent from builds without the feature.
            #[cfg(feature = "fault-injection")]
            fault: crate::fault_injection::from_env(),
            #[cfg(not(feature = "fault-injection"))]
            fault: None,
        },
    );
    engine.forwarder().set_window(config.pos.forward_window);
    if let Some(terminal_id) = pos_terminal_id {
        engine.set_pos_terminal(crate::engine::pos_terminal::PosTerminalLane {
            host: Arc::new(pos),
            terminal_id,
        });
    }
    // Recovery before READY: the register must not see a sale whose state is still being
    // settled from the last run.
    let report = engine
        .recover()
        .await
        .map_err(|e| ServiceError::storage("recovering the journal", e))?;
    tracing::info!(report = ?report, "Journal recovered.");

    let catalog = Catalog::new(
        client.clone(),
        mirror.clone(),
        config.lane.warehouse_code.clone(),
    )
    .with_code_replacement(config.api.permissions.giftcard_replace_code);
    let backend = AgentBackend::new(engine.clone(), Some(Arc::clone(&devices)), Some(catalog));
    let backend = Arc::new(match &zvt {
        Some(t) => backend.with_cashier_display(Arc::clone(t)),
        None => backend,
    });
    engine.attach_metrics(metrics.clone());
    let _gauges = api::follow_events(
        metrics.clone(),
        crate::api::LaneBackend::subscribe_events(&*backend),
    );
    // Codes keyed at the register meet the readers' bank-card rule before anything else.
    crate::api::validate::set_code_screen(classifier(config)?);
    crate::api::validate::set_money_rule(crate::api::validate::MoneyRule {
        currency: config.lane.currency.alpha,
        places: config.lane.currency.minor_units,
    });
    let state = ApiState::new(backend, loaded.secrets.api_token.clone(), metrics.clone())
        .with_options(ApiOptions {
            max_body_bytes: config.api.max_body_bytes,
            giftcard_edit: config.api.permissions.giftcard_edit,
            giftcard_replace_code: config.api.permissions.giftcard_replace_code,
        });

    let heartbeat = service.liveness().register("engine");
    let forwarder_heartbeat = service.liveness().register("forwarder");
    let api_heartbeat = service.liveness().register("api");
    let devices_heartbeat = service.liveness().register("devices");
    let service = service
        .task(Stage::Engine, "engine", {
            let engine = engine.clone();
            let zvt = zvt.clone();
            move |ctx| async move {
                // Connect early so `status` shows the terminal; failures only report.
                if let Some(terminal) = &zvt {
                    tokio::select! {
                        () = terminal.warm_up() => {}
                        () = ctx.stop.cancelled() => {}
                    }
                }
                // The beat follows a real read of the store, so a wedged engine or store
                // (its connection held by a stuck job) withholds the watchdog ping.
                let mut tick = tokio::time::interval(heartbeat.interval());
                loop {
                    tokio::select! {
                        () = ctx.stop.cancelled() => break,
                        _ = tick.tick() => {
                            // Reads work during a storage fault: the agent stays up and
                            // answers reads; `/metrics` reads the fault from the status.
                            if engine.status().await.is_ok() {
                                heartbeat.beat();
                            }
                        }
                    }
                }
                // The API stage has drained, so no new movement starts; the running ones
                // reach a journaled state (or are left to start-up recovery) before the
                // terminal link closes.
                engine.drain_movements(MOVEMENT_DRAIN_GRACE).await;
                if let Some(terminal) = zvt {
                    terminal.close().await;
                }
                Ok(())
            }
        })
        .task(Stage::Engine, "in-doubt-evidence", {
            let engine = engine.clone();
            move |ctx| async move {
                engine.run_in_doubt_evidence(ctx.stop.clone()).await;
                Ok(())
            }
        })
        .task(Stage::Engine, "end-of-day-schedule", {
            let engine = engine.clone();
            let at = config.terminal.end_of_day_at;
            move |ctx| async move {
                // `[terminal] end_of_day_at`: unattended daily end of day; without it the
                // task only waits for the stop.
                match at {
                    Some(at) if engine.cards().settles_here() => {
                        engine
                            .cards()
                            .run_end_of_day_schedule(
                                at,
                                crate::engine::end_of_day::RETRY_EVERY,
                                ctx.stop.clone(),
                            )
                            .await
                    }
                    _ => ctx.stop.cancelled().await,
                }
                Ok(())
            }
        })
        .task(Stage::Engine, "cashier-display", {
            let engine = engine.clone();
            let zvt = zvt.clone();
            move |ctx| async move {
                match zvt {
                    Some(terminal) => cashier_display(engine, terminal, ctx.stop).await,
                    // No display on a pos lane; a task that ends reads as a failure.
                    None => ctx.stop.cancelled().await,
                }
                Ok(())
            }
        })
        .task(Stage::Forwarder, "mirror-sync", {
            let engine = engine.clone();
            move |ctx| async move {
                mirror_sync(engine, mirror, client, ctx.stop).await;
                Ok(())
            }
        })
        .task(Stage::Forwarder, "forwarder", {
            let engine = engine.clone();
            // Beats between items and while idle, never during one: a forwarder stuck on an
            // item withholds the watchdog ping.
            let heartbeat = forwarder_heartbeat;
            move |ctx| async move {
                let every = heartbeat.interval();
                engine
                    .forwarder()
                    .run_beating(ctx.stop.clone(), &|| heartbeat.beat(), every)
                    .await;
                Ok(())
            }
        })
        .task(Stage::Forwarder, "housekeeping", {
            let engine = engine.clone();
            move |ctx| async move {
                let store = engine.store().clone();
                let sweep = move || {
                    let engine = engine.clone();
                    async move {
                        engine
                            .cancel_stale_open_sales(super::housekeeping::STALE_SALE_AGE)
                            .await
                            .map(|done| done.len())
                            .map_err(|e| e.to_string())
                    }
                };
                super::housekeeping::run(store, Default::default(), sweep, ctx.stop.clone()).await;
                Ok(())
            }
        })
        .task(Stage::Forwarder, "link-probe", {
            let engine = engine.clone();
            move |ctx| async move {
                engine.run_link_probe(ctx.stop.clone()).await;
                Ok(())
            }
        })
        .task(Stage::Devices, "devices", {
            let devices = Arc::clone(&devices);
            move |ctx| async move {
                super::probes::devices(Arc::clone(&devices), devices_heartbeat, ctx.stop.clone())
                    .await;
                devices.shutdown(DEVICE_CLOSE_GRACE).await;
                Ok(())
            }
        })
        .api(move |listener, ctx| async move {
            // The API's beat is a real request to its own listener.
            let probe = listener.local_addr().ok().map(|addr| {
                tokio::spawn(super::probes::api(addr, api_heartbeat, ctx.stop.clone()))
            });
            let served = api::serve(listener, state, ctx.stop.cancelled_owned()).await;
            if let Some(probe) = probe {
                probe.abort();
            }
            served.map_err(Into::into)
        });
    Ok(service)
}

/// How long a stop waits for running money movements (within the service's grace).
const MOVEMENT_DRAIN_GRACE: Duration = Duration::from_secs(10);

/// Keeps the cashier informed on the terminal's display: "OFFLINE" with the number of
/// records waiting to be sent while the POS link is down, "ONLINE" when it is back.
/// Display failures are only logged; the terminal may be away.
///
/// It runs beside the register's next step, so it reads as little as it can: the link state
/// comes with its events, and only offline does it count the outbox, once per burst of
/// events.
async fn cashier_display(
    engine: Engine,
    terminal: Arc<ZvtTerminal>,
    stop: tokio_util::sync::CancellationToken,
) {
    let mut events = engine.subscribe();
    let mut online = engine.link().online;
    let mut shown: Option<(bool, u64)> = None;
    loop {
        let event = tokio::select! {
            () = stop.cancelled() => return,
            e = events.recv() => e,
        };
        // Every event already queued is taken with this one: one count per burst.
        let mut relevant = false;
        let mut next = Some(event);
        while let Some(event) = next {
            match event {
                Ok(EngineEvent::Link { online: now, .. }) => {
                    online = now;
                    relevant = true;
                }
                Ok(EngineEvent::Outbox { .. }) => relevant = true,
                Ok(_) => {}
                // Missed events: the link may have changed among them.
                Err(RecvError::Lagged(_)) => {
                    online = engine.link().online;
                    relevant = true;
                }
                Err(RecvError::Closed) => return,
            }
            next = match events.try_recv() {
                Ok(e) => Some(Ok(e)),
                Err(TryRecvError::Empty) => None,
                Err(TryRecvError::Lagged(n)) => Some(Err(RecvError::Lagged(n))),
                Err(TryRecvError::Closed) => Some(Err(RecvError::Closed)),
            };
        }
        if !relevant {
            continue;
        }
        // Online, only the change of link state matters; offline, the count too.
        let pending = if online {
            shown.map_or(0, |s| s.1)
        } else {
            match engine.outbox_counts().await {
                Ok(c) => c.pending,
                Err(_) => continue,
            }
        };
        let now = (online, pending);
        let changed = match shown {
            None => !now.0,
            Some(prev) => prev.0 != now.0 || (!now.0 && prev.1 != now.1),
        };
        if !changed {
            continue;
        }
        shown = Some(now);
        let count = format!("{} to send", now.1);
        let lines: Vec<&str> = if now.0 {
            vec!["ONLINE"]
        } else {
            vec!["OFFLINE", &count]
        };
        // Not cut short by a timeout of ours: a display dropped midway would leave half an
        // answer on the link for the next payment (the transport's T3/T4 bound it).
        if let Err(e) = terminal.display(&lines).await {
            tracing::debug!(error = %e, "Cashier display not updated.");
        }
    }
}

/// Keeps the catalog mirror in sync (paused while the POS link is down), so that item and
/// product lookups still answer offline.
async fn mirror_sync(
    engine: Engine,
    mirror: Mirror,
    client: PosClient,
    stop: tokio_util::sync::CancellationToken,
) {
    let (online_tx, online_rx) = tokio::sync::watch::channel(engine.link().online);
    let (status_tx, _status) = tokio::sync::watch::channel(crate::mirror::SyncStatus::default());
    let mut events = engine.subscribe();
    let source: Arc<dyn crate::mirror::CatalogSource> = Arc::new(client);
    let sync = crate::mirror::run_schedule(
        mirror,
        source,
        crate::mirror::SyncSchedule::default(),
        online_rx,
        status_tx,
        stop.clone(),
    );
    tokio::pin!(sync);
    loop {
        tokio::select! {
            () = &mut sync => return,
            e = events.recv() => match e {
                Ok(EngineEvent::Link { online, .. }) => {
                    let _ = online_tx.send(online);
                }
                Ok(_) | Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
                Err(tokio::sync::broadcast::error::RecvError::Closed) => {
                    (&mut sync).await;
                    return;
                }
            },
        }
    }
}
