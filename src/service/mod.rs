//! The service lifecycle behind `lane-agent run`.
//!
//! Start: the config is loaded and validated first (every problem, exit 64), then
//! [`wiring::wire`] assembles the parts into a [`Service`], and [`Service::start`] binds
//! the API's socket, spawns every task and only then sends `READY=1`.
//!
//! Run: [`RunningService::wait`] is the supervisor loop. It sends `WATCHDOG=1` at half
//! the watchdog interval, but only while every [`Heartbeat`] is recent, so a wedged
//! engine stops the pings and systemd restarts the agent.
//!
//! Stop: SIGTERM, SIGINT, [`Service::shutdown_token`] or a failed task start one drain
//! in one function: `STOPPING=1`, then the stages in the order of [`Stage`] (stop taking
//! requests, finish or abort the terminal sequence, flush the outbox, close the ports),
//! each stage cancelled through its own token and awaited, all within a grace period
//! shorter than the unit's `TimeoutStopSec` (20 s).

mod error;
pub mod housekeeping;
mod liveness;
mod notify;
mod probes;
pub mod wiring;

use std::collections::BTreeMap;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::signal::unix::{SignalKind, signal};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::config::LoadedConfig;

pub use error::{BoxError, ErrorKind, ServiceError};
pub use liveness::{Heartbeat, Liveness};
pub use notify::{Notice, Notifier, SystemdNotifier};

/// Default grace period for a stop: below the unit's `TimeoutStopSec=20s`, leaving
/// systemd time to collect the process before it would SIGKILL it.
pub const DEFAULT_GRACE_PERIOD: Duration = Duration::from_secs(15);

/// Used when the watchdog is off, so heartbeats still have a sensible beat interval.
const DEFAULT_MAX_SILENCE: Duration = Duration::from_secs(30);

/// The stop order: each stage is cancelled and drained before the next one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Stage {
    /// Stop accepting new work: the HTTP API and its event streams.
    Api,
    /// Finish or safely abort the sale and terminal sequence in flight.
    Engine,
    /// Flush what the outbox can deliver in the time left.
    Forwarder,
    /// Close the serial ports and device sessions.
    Devices,
}

/// What a task receives when it is spawned.
#[derive(Debug, Clone)]
pub struct TaskContext {
    /// Cancelled when the task's stage is told to stop; the task should then finish its
    /// current step and return.
    pub stop: CancellationToken,
    /// Cancel it to ask the whole service to stop (e.g. on an unrecoverable error).
    pub shutdown: CancellationToken,
    /// Where to register heartbeats for the watchdog.
    pub liveness: Liveness,
}

type TaskFuture = std::pin::Pin<Box<dyn Future<Output = Result<(), BoxError>> + Send>>;
type TaskFactory = Box<dyn FnOnce(TaskContext) -> TaskFuture + Send>;
type ApiFactory = Box<dyn FnOnce(TcpListener, TaskContext) -> TaskFuture + Send>;

/// The agent's parts, assembled but not yet running. Build with [`Service::builder`],
/// add tasks, then [`start`](Self::start).
pub struct Service {
    loaded: Arc<LoadedConfig>,
    notifier: Arc<dyn Notifier>,
    grace: Duration,
    shutdown: CancellationToken,
    liveness: Liveness,
    tasks: Vec<(Stage, &'static str, TaskFactory)>,
    api: Option<ApiFactory>,
}

impl std::fmt::Debug for Service {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Service")
            .field("listen", &self.loaded.config.api.listen)
            .field("grace", &self.grace)
            .field("tasks", &self.tasks.iter().map(|t| t.1).collect::<Vec<_>>())
            .field("api", &self.api.is_some())
            .finish_non_exhaustive()
    }
}

impl Service {
    /// A service for a loaded configuration, reporting to systemd.
    pub fn builder(loaded: LoadedConfig) -> Self {
        let notifier: Arc<dyn Notifier> = Arc::new(SystemdNotifier);
        let max_silence = notifier.watchdog_interval().unwrap_or(DEFAULT_MAX_SILENCE);
        Self {
            loaded: Arc::new(loaded),
            notifier,
            grace: DEFAULT_GRACE_PERIOD,
            shutdown: CancellationToken::new(),
            liveness: Liveness::new(max_silence),
            tasks: Vec::new(),
            api: None,
        }
    }

    /// Replaces the systemd notifier (tests).
    pub fn notifier(mut self, notifier: Arc<dyn Notifier>) -> Self {
        let max_silence = notifier.watchdog_interval().unwrap_or(DEFAULT_MAX_SILENCE);
        self.liveness = Liveness::new(max_silence);
        self.notifier = notifier;
        self
    }

    /// Sets the grace period of a stop.
    pub fn grace_period(mut self, grace: Duration) -> Self {
        self.grace = grace;
        self
    }

    /// The configuration the service runs with.
    pub fn config(&self) -> &Arc<LoadedConfig> {
        &self.loaded
    }

    /// The one cancellation path: cancelling it stops the service gracefully.
    pub fn shutdown_token(&self) -> CancellationToken {
        self.shutdown.clone()
    }

    /// The heartbeat registry the watchdog checks. Register hearts before `start` for
    /// parts that are not tasks of this service (e.g. an engine thread).
    pub fn liveness(&self) -> &Liveness {
        &self.liveness
    }

    /// Adds a task, stopped in `stage`. It runs until its `ctx.stop` is cancelled;
    /// returning earlier (Ok or Err) stops the whole service.
    pub fn task<F, Fut>(mut self, stage: Stage, name: &'static str, task: F) -> Self
    where
        F: FnOnce(TaskContext) -> Fut + Send + 'static,
        Fut: Future<Output = Result<(), BoxError>> + Send + 'static,
    {
        self.tasks
            .push((stage, name, Box::new(move |ctx| Box::pin(task(ctx)))));
        self
    }

    /// Sets the HTTP API: it gets the already-bound listener of `api.listen` and is
    /// stopped first ([`Stage::Api`]). Without one, the socket is bound but unserved.
    pub fn api<F, Fut>(mut self, serve: F) -> Self
    where
        F: FnOnce(TcpListener, TaskContext) -> Fut + Send + 'static,
        Fut: Future<Output = Result<(), BoxError>> + Send + 'static,
    {
        self.api = Some(Box::new(move |listener, ctx| {
            Box::pin(serve(listener, ctx))
        }));
        self
    }

    /// Binds the API socket, installs signal handlers, spawns every task and sends
    /// `READY=1`. Must be called inside a Tokio runtime.
    pub async fn start(self) -> Result<RunningService, ServiceError> {
        // Before READY, so a SIGTERM right after READY is never missed.
        let sigterm = signal(SignalKind::terminate()).map_err(ServiceError::Signals)?;
        let sigint = signal(SignalKind::interrupt()).map_err(ServiceError::Signals)?;

        let addr = self.loaded.config.api.listen;
        let listener = TcpListener::bind(addr)
            .await
            .map_err(|source| ServiceError::Listen { addr, source })?;
        let local_addr = listener
            .local_addr()
            .map_err(|source| ServiceError::Listen { addr, source })?;

        let mut stages: BTreeMap<Stage, CancellationToken> = BTreeMap::new();
        let mut running = RunningTasks::default();
        let mut ctx_for = |stage: Stage| TaskContext {
            stop: stages.entry(stage).or_default().clone(),
            shutdown: self.shutdown.clone(),
            liveness: self.liveness.clone(),
        };
        let mut idle_listener = None;
        match self.api {
            Some(serve) => running.spawn(Stage::Api, "api", serve(listener, ctx_for(Stage::Api))),
            None => idle_listener = Some(listener),
        }
        for (stage, name, task) in self.tasks {
            running.spawn(stage, name, task(ctx_for(stage)));
        }

        tracing::info!(
            listen = %local_addr,
            tasks = running.names().join(","),
            config = %self.loaded.path.display(),
            "Lane agent is ready."
        );
        self.notifier.notify(&[
            Notice::Ready,
            Notice::Status(format!("Serving on {local_addr}.")),
        ]);
        Ok(RunningService {
            notifier: self.notifier,
            grace: self.grace,
            shutdown: self.shutdown,
            liveness: self.liveness,
            stages,
            running,
            local_addr,
            _idle_listener: idle_listener,
            sigterm,
            sigint,
        })
    }
}

/// A started service. Call [`wait`](Self::wait) to supervise it until it stops.
pub struct RunningService {
    notifier: Arc<dyn Notifier>,
    grace: Duration,
    shutdown: CancellationToken,
    liveness: Liveness,
    stages: BTreeMap<Stage, CancellationToken>,
    running: RunningTasks,
    local_addr: SocketAddr,
    _idle_listener: Option<TcpListener>,
    sigterm: tokio::signal::unix::Signal,
    sigint: tokio::signal::unix::Signal,
}

impl std::fmt::Debug for RunningService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunningService")
            .field("local_addr", &self.local_addr)
            .field("tasks", &self.running.names())
            .finish_non_exhaustive()
    }
}

impl RunningService {
    /// The address the API socket is bound to (resolves port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// The service's cancellation path; cancelling it starts the graceful stop.
    pub fn shutdown_token(&self) -> CancellationToken {
        self.shutdown.clone()
    }

    /// Supervises the tasks and the watchdog until a stop is asked for or a task ends,
    /// then stops everything in stage order within the grace period.
    pub async fn wait(mut self) -> Result<(), ServiceError> {
        let mut first_error: Option<ServiceError> = None;
        let watchdog = self.notifier.watchdog_interval();
        let mut ping = tokio::time::interval(watchdog.map_or(Duration::from_secs(3600), |w| w / 2));
        ping.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut reported_stale: Vec<String> = Vec::new();

        let reason = loop {
            tokio::select! {
                _ = self.sigterm.recv() => break "SIGTERM",
                _ = self.sigint.recv() => break "SIGINT",
                () = self.shutdown.cancelled() => break "shutdown requested",
                Some((name, result)) = self.running.join_next() => {
                    first_error = Some(task_failure(name, result));
                    break "a task ended";
                }
                _ = ping.tick(), if watchdog.is_some() => {
                    // This arm runs in the supervisor loop itself, so a ping also proves
                    // the loop is not wedged; the hearts prove the same for the others.
                    let stale = self.liveness.stale(tokio::time::Instant::now());
                    if stale.is_empty() {
                        self.notifier.notify(&[Notice::Watchdog]);
                        reported_stale.clear();
                    } else if stale != reported_stale {
                        tracing::error!(stale = stale.join(","), "Withholding the watchdog ping: a part of the agent stopped making progress.");
                        reported_stale = stale;
                    }
                }
            }
        };
        tracing::info!(
            reason,
            grace_ms = self.grace.as_millis() as u64,
            "Stopping the lane agent."
        );
        self.notifier
            .notify(&[Notice::Stopping, Notice::Status("Stopping.".to_owned())]);
        self.shutdown.cancel();
        if let Err(e) = self.drain().await
            && first_error.is_none()
        {
            first_error = Some(e);
        }
        match first_error {
            None => {
                tracing::info!("Lane agent stopped.");
                Ok(())
            }
            Some(e) => Err(e),
        }
    }

    /// Cancels and drains each stage in order; aborts whatever is left at the deadline.
    async fn drain(&mut self) -> Result<(), ServiceError> {
        let deadline = tokio::time::Instant::now() + self.grace;
        let mut first_error = None;
        for (stage, token) in &self.stages {
            token.cancel();
            while self.running.pending_in(*stage) > 0 {
                match tokio::time::timeout_at(deadline, self.running.join_next()).await {
                    Ok(Some((name, Err(error)))) => {
                        tracing::warn!(task = name, error = %error, "Task failed while stopping.");
                        first_error.get_or_insert(ServiceError::Task {
                            task: name,
                            source: error,
                        });
                    }
                    Ok(Some((name, Ok(())))) => tracing::debug!(task = name, "Task stopped."),
                    Ok(None) => break,
                    Err(_) => {
                        let tasks = self.running.names();
                        tracing::error!(
                            tasks = tasks.join(","),
                            "Tasks did not stop within the grace period; aborting them."
                        );
                        self.running.abort_all();
                        return Err(ServiceError::StopTimeout {
                            grace: self.grace,
                            tasks,
                        });
                    }
                }
            }
        }
        first_error.map_or(Ok(()), Err)
    }
}

fn task_failure(name: &'static str, result: Result<(), BoxError>) -> ServiceError {
    match result {
        Ok(()) => {
            tracing::error!(task = name, "Task ended although no stop was requested.");
            ServiceError::TaskEnded { task: name }
        }
        Err(error) => {
            tracing::error!(task = name, error = %error, "Task failed; stopping the lane agent.");
            ServiceError::Task {
                task: name,
                source: error,
            }
        }
    }
}

/// The spawned tasks, with their stages, so a drain can wait for one stage at a time.
#[derive(Default)]
struct RunningTasks {
    set: JoinSet<Result<(), BoxError>>,
    live: Vec<(tokio::task::Id, Stage, &'static str)>,
}

impl RunningTasks {
    fn spawn(&mut self, stage: Stage, name: &'static str, fut: TaskFuture) {
        let id = self.set.spawn(fut).id();
        self.live.push((id, stage, name));
    }

    async fn join_next(&mut self) -> Option<(&'static str, Result<(), BoxError>)> {
        let (id, result) = match self.set.join_next_with_id().await? {
            Ok((id, result)) => (id, result),
            // A panicking task is a failed task.
            Err(join_error) => (join_error.id(), Err(Box::new(join_error) as BoxError)),
        };
        let name = match self.live.iter().position(|(i, _, _)| *i == id) {
            Some(at) => self.live.remove(at).2,
            None => "(unknown task)",
        };
        Some((name, result))
    }

    fn pending_in(&self, stage: Stage) -> usize {
        self.live.iter().filter(|(_, s, _)| *s == stage).count()
    }

    fn names(&self) -> Vec<&'static str> {
        self.live.iter().map(|(_, _, n)| *n).collect()
    }

    fn abort_all(&mut self) {
        self.set.abort_all();
        self.live.clear();
    }
}

/// Loads the config at `path` and runs the service until it stops: the whole of
/// `lane-agent run`.
pub async fn run(path: &std::path::Path) -> Result<(), ServiceError> {
    let loaded = crate::config::load_file(path)?;
    for warning in &loaded.warnings {
        tracing::warn!(key = %warning.path, "{}", capitalised(&warning.message));
    }
    wiring::wire(loaded).await?.start().await?.wait().await
}

fn capitalised(message: &str) -> String {
    let mut chars = message.chars();
    let mut out: String = chars
        .next()
        .map(|c| c.to_uppercase().collect())
        .unwrap_or_default();
    out.push_str(chars.as_str());
    if !out.ends_with('.') {
        out.push('.');
    }
    out
}

#[cfg(test)]
mod tests;
