//! The POS cloud stand-in: OIDC discovery and client-credentials tokens, the GraphQL API of
//! `pos-schema.graphql` with its documented and pinned behaviour (pos-api.md), a ledger
//! that does **not** deduplicate `purchaseAdd`, and fault injection.
//!
//! ```text
//! mod.rs      PosSim / SimControl / CLI          seed.rs    the seed file
//! server.rs   accept loop, online/offline, reset oidc.rs    discovery + /connect/token
//! graphql/    schema, endpoint, resolvers        cards.rs   gift-card rules
//! db.rs       in-memory data                     paging.rs  skip/first, Since & Until
//! faults.rs   faults and scripts                 ledger.rs  what tests read
//! admin.rs    /_sim/ control API                 state.rs   clock, tokens, locks
//! console.rs  technicians' stdin commands
//! ```
//!
//! `hardware-sim pos` applies `--script` if given; otherwise, when stdin is a terminal, it
//! offers the [`console`] commands; unattended it simply serves until Ctrl-C.
//!
//! Routes: `GET /.well-known/openid-configuration`, `GET /.well-known/jwks`,
//! `POST /connect/token`, `POST /api/graphql`, and the control API under `/_sim/`
//! (see [`admin`]). Errors on `/api/graphql` are always HTTP 200 with
//! `errors[].extensions.code`; that includes a missing token (`NOT_AUTHENTICATED`).
//!
//! ## Behaviour where pos-api.md leaves a choice
//!
//! - Tokens are opaque, live `token_ttl_secs` on the simulated clock; discovery's `issuer`
//!   is [`PosSim::issuer_url`] (no trailing slash), JWKS is empty.
//! - `VALIDATION` `ValidationType`s: gift cards `InsufficientBalance`, `CodeNotFound`,
//!   `CodeExpired`, `InvalidPin`, `AmountSign`, `TransactionNotAuthorized`,
//!   `TransactionNotFound`, `CodeAlreadyExists`, `GiftCardNotFound`, `MemberNotFound`,
//!   `MemberMismatch`; purchases `NotEmptyValidator`, `DateTimeValidator`,
//!   `GreaterThanValidator`, `LocationNotFound` (the `storeCode` must be a seeded
//!   location); paging `SinceValidator`, `GreaterThanOrEqualValidator`; `sale` dates
//!   `DateValidator`.
//! - Permissions are pos-api.md §6's; `environment`, `location` and `product*` need only a
//!   valid token. `PHYSICAL` codes need `UsePhysicalGiftCardCodes`, `EXTERNAL` codes
//!   `UseExternalGiftCardCodes`; `PERSONAL` and `EXTERNAL` codes are masked to their last
//!   four characters without `ViewUnmaskedGiftCardCodes`. Capture/cancel needs the
//!   permission of the original transaction type.
//! - Without `codeType` a code is searched among the types the client may use. A PIN sent
//!   for a code without PIN is ignored. A code is valid through its `expiresOn` day (UTC).
//! - Order of gift-card checks: permission, amount sign, code, expiry, PIN, balance.
//! - Paging: `first` defaults to 100 and is capped at 1000; `since` walks rows by a
//!   modification sequence, so a row changed mid-walk shows up again later, never missed.
//! - Gift-card and purchase ids are numeric strings from one counter.
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use hardware_sim::pos::{Fault, FaultKind, FaultTarget, PosSim, Seed};
//! let sim = PosSim::start("127.0.0.1:0".parse()?, Seed::example()).await?;
//! sim.control().inject(Fault {
//!     target: FaultTarget::Operation("purchaseAdd".into()),
//!     kind: FaultKind::ApplyThenDrop,
//!     times: Some(1),
//! });
//! println!("{}", sim.graphql_url());
//! sim.shutdown().await;
//! # Ok(()) }
//! ```

pub mod admin;
mod cards;
pub mod console;
mod db;
mod error;
mod faults;
mod graphql;
mod ledger;
mod oidc;
mod paging;
mod seed;
mod server;
mod state;
mod terminals;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::routing::{get, post};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

pub use faults::{Fault, FaultKind, FaultTarget, Outage, Script};
pub use graphql::schema_sdl;
pub use ledger::{
    GiftcardTransRecord, Ledger, PurchaseRecord, RequestRecord, TransStatus, TransType,
};
pub use seed::{
    CodeType, PERMISSIONS, Seed, SeedClient, SeedCustomer, SeedEnvironment, SeedError,
    SeedGiftcard, SeedGiftcardCode, SeedItem, SeedItemWarehouse, SeedLocation, SeedProduct,
    SeedProductBanner, SeedProductGroup, SeedProductNotice, SeedProductSection,
    SeedProductSortOption, SeedSale, SeedSerialLot, generated_item, mask,
};
pub use terminals::{
    SeedTerminal, TerminalOutcome, TerminalPaymentRecord, TerminalStep, TpError, TpStatus, TpType,
};

use server::{App, ServerCtl};
use state::SimState;

/// How often the Delay Period task runs on its own (besides every `advance_clock`).
const SWEEP_INTERVAL: Duration = Duration::from_secs(1);

/// Why the simulator could not start or change state.
#[derive(Debug, thiserror::Error)]
pub enum PosSimError {
    /// Binding or re-binding the listen address failed.
    #[error("cannot listen on {addr}: {source}")]
    Listen {
        /// The address.
        addr: SocketAddr,
        /// The underlying error.
        source: std::io::Error,
    },
    /// The seed is unusable.
    #[error(transparent)]
    Seed(#[from] SeedError),
    /// The script file is unusable.
    #[error("cannot use script {path}: {reason}")]
    Script {
        /// The file.
        path: String,
        /// What is wrong.
        reason: String,
    },
}

/// A running POS simulator.
pub struct PosSim {
    control: SimControl,
    stop: CancellationToken,
    sweeper: JoinHandle<()>,
}

/// Test and technician control over a running simulator. Cheap to clone.
#[derive(Clone)]
pub struct SimControl {
    state: Arc<SimState>,
    server: Arc<ServerCtl>,
}

impl PosSim {
    /// Binds `listen` (port 0 picks a free port) and starts serving `seed`.
    pub async fn start(listen: SocketAddr, seed: Seed) -> Result<PosSim, PosSimError> {
        seed.validate()?;
        let (server, listener) =
            ServerCtl::bind(listen)
                .await
                .map_err(|source| PosSimError::Listen {
                    addr: listen,
                    source,
                })?;
        let state = Arc::new(SimState::new(&seed));
        let issuer = issuer_for(server.addr());
        let app = App {
            state: state.clone(),
            schema: graphql::build_schema(state.clone()),
            issuer,
            server: Arc::downgrade(&server),
        };
        server.serve(router(app), listener).await;
        let stop = CancellationToken::new();
        let sweeper = tokio::spawn(sweep_periodically(state.clone(), stop.clone()));
        tracing::info!(addr = %server.addr(), clients = seed.clients.len(),
            giftcards = seed.giftcards.len(), items = seed.items.len() + seed.generate_items as usize,
            "POS simulator listening.");
        Ok(PosSim {
            control: SimControl { state, server },
            stop,
            sweeper,
        })
    }

    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.control.server.addr()
    }

    /// `http://IP:PORT`, no trailing slash; the `issuer` of the discovery document.
    pub fn issuer_url(&self) -> String {
        issuer_for(self.addr())
    }

    /// `issuer_url() + "/api/graphql"`.
    pub fn graphql_url(&self) -> String {
        format!("{}/api/graphql", self.issuer_url())
    }

    /// The control handle.
    pub fn control(&self) -> SimControl {
        self.control.clone()
    }

    /// Stops serving and closes every connection.
    pub async fn shutdown(mut self) {
        self.stop.cancel();
        let _ = (&mut self.sweeper).await;
        let _ = self.control.server.set_online(false).await;
    }
}

impl Drop for PosSim {
    /// A simulator dropped without `shutdown` still stops accepting and sweeping.
    fn drop(&mut self) {
        self.stop.cancel();
        self.control.server.stop_now();
    }
}

impl SimControl {
    /// Arms a fault.
    pub fn inject(&self, fault: Fault) {
        tracing::info!(?fault, "Fault armed.");
        self.state.faults.inject(fault);
    }

    /// Disarms every fault (does not change online/offline).
    pub fn clear_faults(&self) {
        self.state.faults.clear();
    }

    /// The armed faults with their remaining `times`.
    pub fn faults(&self) -> Vec<Fault> {
        self.state.faults.list()
    }

    /// `false`: drop the listener and close open connections, so connects are refused.
    /// `true`: bind the same address again. Returns once the change is in effect.
    ///
    /// # Panics
    /// When the address cannot be bound again (another process took the port).
    pub async fn set_online(&self, online: bool) {
        self.state.live(if online {
            "POS back online".into()
        } else {
            "POS offline: connections refused".into()
        });
        if let Err(e) = self.server.set_online(online).await {
            panic!(
                "POS simulator cannot go online again on {}: {e}",
                self.server.addr()
            );
        }
    }

    /// The live console's lines from now on: each request, its answer, faults, outages.
    pub fn live_lines(&self) -> tokio::sync::broadcast::Receiver<String> {
        self.state.live_lines()
    }

    /// Whether the simulator accepts connections.
    pub async fn is_online(&self) -> bool {
        self.server.is_online().await
    }

    /// Advances the simulated clock (token expiry, Delay Period, code expiry) and runs
    /// the Delay Period task.
    pub fn advance_clock(&self, by: Duration) {
        self.state.advance_clock(by);
        self.state.sweep();
    }

    /// The simulated time.
    pub fn now(&self) -> chrono::DateTime<chrono::Utc> {
        self.state.now()
    }

    /// A snapshot of everything recorded (terminal payments whose cardholder is done are
    /// settled first, as the processor would have).
    pub fn ledger(&self) -> Ledger {
        let now = self.state.now();
        let mut db = self.state.db();
        db.terminals.settle_due(now);
        db.ledger()
    }

    /// Queues what the cardholder does with the next payment on a terminal; `false` when
    /// the seed has no such terminal.
    pub fn terminal_step(&self, step: TerminalStep) -> bool {
        self.state.live(format!(
            "terminal {} next: {:?}",
            step.terminal, step.outcome
        ));
        self.state.db().terminals.push_step(step)
    }

    /// Takes a processor terminal on or off line (`TERMINAL_OFFLINE` while off).
    pub fn set_terminal_online(&self, terminal: &str, online: bool) -> bool {
        self.state.db().terminals.set_online(terminal, online)
    }

    /// Expires every continuation token issued so far.
    pub fn expire_terminal_tokens(&self) {
        self.state.db().terminals.expire_tokens();
    }

    /// How many token requests arrived.
    pub fn token_requests(&self) -> u64 {
        self.state.db().token_requests
    }

    /// Inserts or changes an item (with its warehouse and serial/lot rows); it moves to the
    /// end of the modification order seen by `since`.
    pub fn upsert_item(&self, item: SeedItem) {
        self.state.db().upsert_item(item);
    }
}

fn issuer_for(addr: SocketAddr) -> String {
    let ip = if addr.ip().is_unspecified() {
        match addr {
            SocketAddr::V4(_) => std::net::IpAddr::from([127, 0, 0, 1]),
            SocketAddr::V6(_) => std::net::IpAddr::from(std::net::Ipv6Addr::LOCALHOST),
        }
    } else {
        addr.ip()
    };
    format!("http://{}", SocketAddr::new(ip, addr.port()))
}

fn router(app: App) -> Router {
    Router::new()
        .route("/.well-known/openid-configuration", get(oidc::discovery))
        .route("/.well-known/jwks", get(oidc::jwks))
        .route("/connect/token", post(oidc::token))
        .route("/api/graphql", post(graphql::endpoint))
        .route("/_sim/ledger", get(admin::ledger))
        .route(
            "/_sim/faults",
            get(admin::list_faults)
                .post(admin::add_fault)
                .delete(admin::clear_faults),
        )
        .route("/_sim/clock/advance", post(admin::advance_clock))
        .route("/_sim/items", post(admin::upsert_item))
        .route("/_sim/outage", post(admin::outage))
        .route("/_sim/terminals/steps", post(admin::terminal_step))
        .route("/_sim/terminals/online", post(admin::terminal_online))
        .with_state(app)
}

async fn sweep_periodically(state: Arc<SimState>, stop: CancellationToken) {
    let mut tick = tokio::time::interval(SWEEP_INTERVAL);
    loop {
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = tick.tick() => { state.sweep(); }
        }
    }
}

/// Command-line arguments of `hardware-sim pos`.
#[derive(Debug, clap::Args)]
pub struct PosArgs {
    /// Address to listen on (HTTP).
    #[arg(long, default_value = "127.0.0.1:7380")]
    pub listen: SocketAddr,
    /// Seed file (TOML); the embedded example seed when absent.
    #[arg(long)]
    pub seed: Option<PathBuf>,
    /// Script of faults and outages to apply (TOML, see [`Script`]).
    #[arg(long)]
    pub script: Option<PathBuf>,
    /// Do not show requests and answers as they happen.
    #[arg(long, conflicts_with = "json")]
    pub quiet: bool,
    /// Show the live lines as JSON objects.
    #[arg(long)]
    pub json: bool,
}

/// Prints the live lines (words or JSON) until the simulator stops. Write errors are
/// ignored: a closed stdout must not stop the simulator.
async fn print_live(mut lines: tokio::sync::broadcast::Receiver<String>, json: bool) {
    use std::io::Write;
    use tokio::sync::broadcast::error::RecvError;
    loop {
        let text = match lines.recv().await {
            Ok(t) => t,
            Err(RecvError::Lagged(n)) => format!("({n} lines not shown)"),
            Err(RecvError::Closed) => return,
        };
        let line = if json {
            serde_json::json!({
                "ts": chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
                "text": text,
            })
            .to_string()
        } else {
            format!("{} {text}", chrono::Local::now().format("%H:%M:%S%.3f"))
        };
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "{line}");
        let _ = out.flush();
    }
}

/// Runs `hardware-sim pos` until Ctrl-C.
pub async fn run(args: PosArgs) -> Result<(), PosSimError> {
    // The binary may already have installed a subscriber; then this one is not needed.
    let _ = tracing_subscriber::fmt()
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stdout()))
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .try_init();
    let seed = match &args.seed {
        Some(path) => Seed::from_file(path)?,
        None => Seed::example(),
    };
    let script = match &args.script {
        Some(path) => {
            let text = std::fs::read_to_string(path).map_err(|e| PosSimError::Script {
                path: path.display().to_string(),
                reason: e.to_string(),
            })?;
            Script::from_toml_str(&text).map_err(|e| PosSimError::Script {
                path: path.display().to_string(),
                reason: e.to_string(),
            })?
        }
        None => Script::default(),
    };
    let sim = PosSim::start(args.listen, seed).await?;
    let control = sim.control();
    if !args.quiet {
        tokio::spawn(print_live(control.live_lines(), args.json));
    }
    for fault in script.faults {
        control.inject(fault);
    }
    for step in script.terminal_steps {
        if !control.terminal_step(step.clone()) {
            tracing::warn!(terminal = %step.terminal, "Script names a terminal the seed lacks.");
        }
    }
    for outage in script.outages {
        let control = control.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_secs(outage.after_secs)).await;
            control.set_online(false).await;
            tokio::time::sleep(Duration::from_secs(outage.for_secs)).await;
            control.set_online(true).await;
        });
    }
    // Logged only once the script is in force: tests and tools wait for this line.
    tracing::info!(issuer = %sim.issuer_url(), graphql = %sim.graphql_url(),
        "POS simulator ready; stop with Ctrl-C.");
    let console = args.script.is_none() && std::io::IsTerminal::is_terminal(&std::io::stdin());
    if console {
        println!("{}", console::HELP);
        let mut lines =
            tokio::io::AsyncBufReadExt::lines(tokio::io::BufReader::new(tokio::io::stdin()));
        loop {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => break,
                line = lines.next_line() => match line {
                    Ok(Some(line)) if line.trim().is_empty() => {}
                    Ok(Some(line)) => {
                        if !run_command(&control, &line).await {
                            break;
                        }
                    }
                    // End of input: keep serving until Ctrl-C.
                    _ => {
                        let _ = tokio::signal::ctrl_c().await;
                        break;
                    }
                },
            }
        }
    } else {
        let _ = tokio::signal::ctrl_c().await;
    }
    tracing::info!("Stopping the POS simulator.");
    sim.shutdown().await;
    Ok(())
}

/// Runs one console line; `false` means quit.
async fn run_command(control: &SimControl, line: &str) -> bool {
    match console::parse(line) {
        Err(message) => println!("{message}"),
        Ok(console::Command::Inject(fault)) => control.inject(fault),
        Ok(console::Command::Faults) => {
            for fault in control.faults() {
                println!("{fault:?}");
            }
        }
        Ok(console::Command::Clear) => control.clear_faults(),
        Ok(console::Command::Online(online)) => control.set_online(online).await,
        Ok(console::Command::Advance(by)) => {
            control.advance_clock(by);
            println!("clock now {}", control.now());
        }
        Ok(console::Command::Ledger) => {
            let ledger = control.ledger();
            for p in &ledger.purchases {
                println!(
                    "purchase {} transactionId={} store={} pay={}",
                    p.id, p.transaction_id, p.store_code, p.pay_amount
                );
            }
            for t in &ledger.giftcard_transactions {
                println!(
                    "giftcard trans {} card={} {:?} {} {:?} balance={}",
                    t.id, t.giftcard_id, t.trans_type, t.amount, t.status, t.balance
                );
            }
            for t in &ledger.terminal_payments {
                println!(
                    "terminal payment {} terminal={} refNo={} {:?} {:?} {} of {} captured={:?}",
                    t.id,
                    t.terminal_id,
                    t.ref_no,
                    t.trans_type,
                    t.status,
                    t.approved_amount,
                    t.amount,
                    t.captured_amount
                );
            }
            for (card, balance) in &ledger.balances {
                println!("card {card} balance {balance}");
            }
            println!(
                "{} requests, {} token requests",
                ledger.requests.len(),
                ledger.token_requests
            );
        }
        Ok(console::Command::TerminalStep(step)) => {
            if !control.terminal_step(step) {
                println!("no such terminal in the seed");
            }
        }
        Ok(console::Command::TerminalOnline(id, online)) => {
            if !control.set_terminal_online(&id, online) {
                println!("no such terminal in the seed");
            }
        }
        Ok(console::Command::Help) => println!("{}", console::HELP),
        Ok(console::Command::Quit) => return false,
    }
    true
}
