//! The sale engine: sales and tenders as explicit state machines over the durable store.
//!
//! # Overview
//!
//! ```text
//!  register/API ──► Engine: the sale desk (sale.rs), movements, in doubt, recovery
//!                     │  drives one Tender state machine per method (tender.rs) over parts
//!                     │  that each hold only what they use:
//!                     ├── Giftcards        journal, link, GiftcardHost, PIN pad, offline policy
//!                     ├── CardTender       journal, the lane's PaymentTerminal (ZVT), end of day
//!                     ├── PosTerminalTender journal, link, TerminalPaymentHost (US lanes)
//!                     ├── Returns          journal, link, the three tenders, the sale lock
//!                     ├── Forwarder        journal, link, PurchaseSink, the tenders' items
//!                     ├── Link             online/offline from real calls + `environment` probe
//!                     └── Journal          store, events, metrics, the loops' wake-ups: the
//!                                          recording primitives every part goes through
//! ```
//!
//! * **Journal first** (`journal.rs`). Every money movement gets its ids (`transactionId`,
//!   `refNo`) and an `authorizing`/`sending` row committed before the first byte leaves; the
//!   answer is committed before it is shown. Nothing in doubt is shown as approved. A part
//!   records only through the journal, which also tells the register (events), the metrics and
//!   the loops that act on new rows (forwarder, in-doubt evidence).
//! * **Gift cards** ([`giftcard`]): one `USE authorize:true` of what is due, whose answer
//!   carries the balance left; only `InsufficientBalance` reads the balance and authorizes
//!   what the card holds (a partial approval; a second refusal is final). `InvalidPin` on a
//!   keyed code without PIN asks the terminal for one; a lost answer makes the payment
//!   `in_doubt`. Capture at completion, cancel on sale cancel; a capture/cancel that cannot be
//!   sent becomes an idempotent outbox item, which the gift-card tender also sends. Activation
//!   and reload ([`load`]) are journaled in `requests`.
//! * **Offline** ([`offline`]): when the POS is unreachable, a gift-card tender is accepted
//!   within the [`OfflinePolicy`] caps, checked in the same transaction that records it; the
//!   redemption is forwarded later as an immediate USE with its `refNo`. A decline after
//!   forwarding is an exception until acknowledged.
//! * **Tenders** ([`tender`]): one state machine per method (start, capture, release,
//!   recover) that the sale, start-up recovery and the in-doubt loop drive; the card tender
//!   ([`terminal`]) authorizes or reserves, books the total, reverses on cancel, and settles a
//!   lost answer from the terminal's evidence; cash is a tender too. On a US lane
//!   ([`pos_terminal`]) the card tender runs on the processor terminal the POS drives.
//! * **Movements** ([`movement`]): every money movement runs on an engine-owned task under
//!   its idempotency key; the handler only submits and waits.
//! * **In doubt** ([`in_doubt`]): an exception in the same commit, 409 on the sale until the
//!   evidence or an operator settles it.
//! * **Completion** ([`sale`]): captures, then one transaction completes the sale and puts
//!   its `purchaseAdd` into the outbox.
//! * **Forwarder** ([`forwarder`]): NEW → SENDING → CONFIRMED | REJECTED | IN_DOUBT; an
//!   in-doubt item is never re-sent without an operator ([`forwarder::Forwarder::resolve`]).
//! * **Returns** ([`refund`]): refunds and exchanges within the original sale, to cash, a
//!   gift card or the card; [`receipt`] builds the split-tender receipt, [`end_of_day`] the
//!   terminal's day closing.
//! * **Recovery** ([`recovery`]): at start-up every sale and payment resumes from its state.
//! * **Ports** ([`ports`]) keep the engine testable; [`adapters`] plugs in `PosClient` (gift
//!   cards, purchases, the POS-driven terminal) and the shared `Backoff`. The ZVT terminal's
//!   port is `crate::agent::ZvtTerminal`, over `zvt::transport::Terminal`.
//!
//! # Wiring
//!
//! ```text
//! let store = Store::open(StoreOptions::new(cfg.store.path)).await?;        // refuses bad files
//! let engine = Engine::new(store, Ports { giftcards, purchases, terminal }, engine_cfg);
//! engine.recover().await?;                                                  // before serving
//! tokio::spawn(engine.forwarder().clone().run(shutdown.child_token())); // (as async blocks)
//! tokio::spawn(engine.clone().run_link_probe(shutdown.child_token()));
//! // periodically: engine.store().checkpoint(), engine.cancel_stale_open_sales(max_age)
//! ```

pub mod adapters;
pub mod end_of_day;
pub mod forwarder;
pub mod giftcard;
pub mod in_doubt;
mod journal;
pub mod link;
pub mod load;
mod member;
pub mod movement;
pub mod offline;
pub mod ports;
pub mod pos_terminal;
mod pos_terminal_refund;
#[cfg(test)]
mod pos_terminal_tests;
pub mod purchase;
pub mod receipt;
pub mod receipt_source;
pub mod recovery;
pub mod refund;
mod refund_back;
#[cfg(test)]
mod refund_tests;
pub mod sale;
pub mod tender;
pub mod terminal;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod zvt_day_tests;

use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::sync::{Mutex, broadcast};

use crate::domain::exception::ExceptionRecord;
use crate::domain::payment::{EntryMode, Method, TerminalMode};
use crate::domain::sale::{LineInput, LineRecord, Totals};
use crate::domain::{Money, OutboxKind, OutboxState, PaymentState, SaleState};
use crate::store::outbox::Counts;
use crate::store::payments::PaymentRecord;
use crate::store::{Store, StoreError};

pub use link::{Link, LinkState};
pub use offline::{OfflineBudget, OfflinePolicy, OfflineRefusal, UnknownCard};
pub use ports::{GiftcardHost, PaymentTerminal, PurchaseSink};

/// A source of retry delays: called once per retry streak, the iterator yields each delay.
/// The shared `pos_client::backoff::Backoff` plugs in here.
pub type BackoffFactory = Arc<dyn Fn() -> Box<dyn Iterator<Item = Duration> + Send> + Send + Sync>;

/// A plain capped exponential factory (no jitter) for tests and until the shared one lands.
pub fn simple_backoff(base: Duration, cap: Duration) -> BackoffFactory {
    Arc::new(move || {
        let mut next = base;
        Box::new(std::iter::from_fn(move || {
            let d = next;
            next = (next * 2).min(cap);
            Some(d)
        }))
    })
}

/// Test-only switches for the crash harness's negative controls. `None` in production; the
/// config loader must refuse them outside test builds/flags.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Fault {
    /// `complete` answers the register before anything about the completion is written
    /// (the completion runs shortly afterwards): a kill in between loses an acknowledged sale.
    AnswerBeforeCommit,
    /// The forwarder treats an in-doubt purchase as "not sent" and sends it again.
    ResendInDoubt,
    /// Recovery sends a card payment whose answer was lost to the terminal again, blind,
    /// instead of asking for the terminal's evidence: a double charge.
    ResendCard,
    /// Recovery starts a POS-terminal payment found mid-flight again, blind (same refNo),
    /// instead of resuming its journaled token or looking it up: a second payment.
    ResendPosStart,
}

/// Engine settings.
#[derive(Clone)]
pub struct EngineConfig {
    /// `lane.store_code`.
    pub store_code: String,
    /// `lane.register_code`; also the gift-card `sourceId`.
    pub register_code: String,
    /// `[offline]`.
    pub offline: OfflinePolicy,
    /// Delays between forwarding attempts while the POS is unreachable.
    pub forward_backoff: BackoffFactory,
    /// Delays between `environment` probes while offline.
    pub probe_backoff: BackoffFactory,
    /// Negative-control switch; `None` in production.
    pub fault: Option<Fault>,
}

impl std::fmt::Debug for EngineConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EngineConfig")
            .field("store_code", &self.store_code)
            .field("register_code", &self.register_code)
            .field("offline", &self.offline)
            .field("fault", &self.fault)
            .finish_non_exhaustive()
    }
}

/// The ports the engine drives.
#[derive(Clone)]
pub struct Ports {
    /// Gift cards at the POS.
    pub giftcards: Arc<dyn GiftcardHost>,
    /// `purchaseAdd`.
    pub purchases: Arc<dyn PurchaseSink>,
    /// The lane terminal.
    pub terminal: Arc<dyn PaymentTerminal>,
}

/// Engine failures as the API maps them: `NotFound` 404; `Conflict`, `InvalidState`, `Due`,
/// `SaleCancelled`, `SaleCompleted`, `NothingDue`, `PaymentInDoubt` 409; `Invalid` 400/422; the
/// rest 5xx (`Host(NotSent)` 503). [`EngineError::code`] gives the error code.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// No such sale / payment / item.
    #[error("{0} not found")]
    NotFound(String),
    /// Same id, different body.
    #[error("{0} already exists with a different request")]
    Conflict(String),
    /// The operation does not fit the current state.
    #[error("{0}")]
    InvalidState(String),
    /// `complete` while something is due (negative: still owed to the customer).
    #[error("{}", due_text(*.due))]
    Due {
        /// What is due.
        due: Money,
    },
    /// `complete` or a payment on a cancelled (or cancelling) sale.
    #[error("sale {0} is cancelled")]
    SaleCancelled(String),
    /// `cancel` or a payment on a completed (or completing) sale.
    #[error("sale {0} is completed")]
    SaleCompleted(String),
    /// A payment when nothing is due.
    #[error("nothing is due on sale {0}")]
    NothingDue(String),
    /// Bad input (nothing changed).
    #[error("invalid request: {0}")]
    Invalid(String),
    /// The terminal failed in a way that leaves the sale to retry.
    #[error(transparent)]
    Terminal(#[from] ports::TerminalError),
    /// The POS failed for a request that is not queued (balance, activate, reload).
    #[error(transparent)]
    Host(#[from] ports::HostError),
    /// The store failed; nothing was confirmed.
    #[error(transparent)]
    Store(StoreError),
    /// A payment of the sale is in doubt: an operator (or the terminal's evidence) must
    /// settle it before the sale can complete, be cancelled or take another payment.
    #[error("payment {0} is in doubt; resolve its exception first")]
    PaymentInDoubt(String),
    /// The agent is stopping and takes no new money movement.
    #[error("the agent is shutting down")]
    ShuttingDown,
}

fn due_text(due: Money) -> String {
    if due < Money::ZERO {
        format!("{} still owed to the customer", Money(-due.0))
    } else {
        format!("{due} still due")
    }
}

impl EngineError {
    /// A stable machine-readable code for the API's `{"error":{"code"}}`.
    pub fn code(&self) -> &'static str {
        match self {
            EngineError::NotFound(_) => "not_found",
            EngineError::Conflict(_) => "idempotency_conflict",
            EngineError::InvalidState(_) => "invalid_state",
            EngineError::Due { .. } => "amount_due",
            EngineError::SaleCancelled(_) => "sale_cancelled",
            EngineError::SaleCompleted(_) => "sale_completed",
            EngineError::NothingDue(_) => "nothing_due",
            EngineError::Invalid(_) => "invalid_request",
            EngineError::Terminal(_) => "terminal_error",
            EngineError::Host(ports::HostError::NotSent(_)) => "pos_unreachable",
            EngineError::Host(ports::HostError::Declined(_)) => "declined",
            EngineError::Host(_) => "pos_error",
            EngineError::Store(e) if e.is_storage_fault() => "storage_unavailable",
            EngineError::Store(_) => "storage_error",
            EngineError::PaymentInDoubt(_) => "payment_in_doubt",
            EngineError::ShuttingDown => "shutting_down",
        }
    }
}

impl From<StoreError> for EngineError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound(s) => EngineError::NotFound(s),
            StoreError::Conflict(s) => EngineError::Conflict(s),
            StoreError::IllegalTransition { .. } => EngineError::InvalidState(e.to_string()),
            other => EngineError::Store(other),
        }
    }
}

/// Something the engine changed, for SSE and metrics.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum EngineEvent {
    /// A sale changed state.
    Sale {
        /// Sale.
        sale_id: String,
        /// New state.
        state: SaleState,
    },
    /// A payment changed state.
    Payment {
        /// Sale.
        sale_id: String,
        /// Payment.
        payment_id: String,
        /// New state.
        state: PaymentState,
        /// Amount.
        amount: Money,
    },
    /// An outbox item changed state.
    Outbox {
        /// Item.
        id: i64,
        /// Kind.
        kind: OutboxKind,
        /// New state.
        state: OutboxState,
    },
    /// The POS link changed.
    Link {
        /// Online?
        online: bool,
        /// Since (UTC).
        since: String,
    },
    /// An exception was raised.
    Exception {
        /// Id.
        id: i64,
        /// Kind.
        kind: String,
        /// Reason.
        reason: String,
    },
    /// A card payment on a POS-driven terminal moved on while the customer is at it
    /// (`waiting_for_card`, `approved`, `declined`, `cancelled`).
    PaymentProgress {
        /// Sale.
        sale_id: String,
        /// Payment.
        payment_id: String,
        /// Amount asked, or approved once approved.
        amount: Money,
        /// What the cashier should know.
        state: String,
    },
}

/// `POST /v1/sales` body.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OpenSale {
    /// Register-given id (retries return the same sale).
    #[serde(default)]
    pub sale_id: Option<String>,
    /// Lines.
    pub lines: Vec<LineInput>,
    /// Tax.
    #[serde(default)]
    pub tax: Option<Money>,
    /// Loyalty member.
    #[serde(default)]
    pub member_id: Option<String>,
}

/// A payment request (`POST /v1/sales/{id}/payments`). `Debug` redacts code and PIN.
#[derive(Clone, Debug)]
pub struct PaymentRequest {
    /// Register-given id (retries return the first answer).
    pub payment_id: Option<String>,
    /// Method.
    pub method: Method,
    /// Amount asked for.
    pub amount: Money,
    /// Gift-card code (required for gift cards; the API reads it from a reader if absent).
    pub code: Option<secrecy::SecretString>,
    /// Gift-card PIN.
    pub pin: Option<secrecy::SecretString>,
    /// How the code was read; keyed when it came from the register.
    pub entry_mode: EntryMode,
    /// Card: authorization or reservation.
    pub terminal_mode: TerminalMode,
}

/// The answer's status.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PaymentStatus {
    /// Approved online (hold, authorization or cash).
    Approved,
    /// Not approved.
    Declined,
    /// Approved offline within the policy.
    OfflineApproved,
    /// Still running (the customer is at the terminal, the POS is slow): ask again with the
    /// same id for the final answer.
    Pending,
    /// The outcome is unknown (the answer was lost): nothing is counted as paid, an
    /// exception is open, and the evidence is asked again until it or an operator settles it.
    InDoubt,
}

/// A payment answer (same for the first call and for retries with the same id).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaymentAnswer {
    /// Payment id.
    pub payment_id: String,
    /// Status.
    pub status: PaymentStatus,
    /// Approved amount (zero when declined).
    pub approved_amount: Money,
    /// Card balance after, when known.
    pub balance: Option<Money>,
    /// Why not approved.
    pub reason: Option<String>,
    /// What the sale still owes now.
    pub due: Money,
}

/// A payment as shown in a sale view (no codes, masked values only).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaymentView {
    /// Id.
    pub payment_id: String,
    /// Method.
    pub method: Method,
    /// State.
    pub state: PaymentState,
    /// Amount.
    pub amount: Money,
    /// `refNo`.
    pub ref_no: String,
    /// Masked gift-card code.
    pub code: Option<String>,
    /// Masked PAN.
    pub masked_pan: Option<String>,
    /// Terminal receipt number.
    pub receipt_no: Option<u32>,
    /// Reason.
    pub reason: Option<String>,
}

impl From<&PaymentRecord> for PaymentView {
    fn from(p: &PaymentRecord) -> Self {
        PaymentView {
            payment_id: p.payment_id.clone(),
            method: p.method,
            state: p.state,
            amount: p.amount,
            ref_no: p.ref_no.clone(),
            code: p.code_masked.clone(),
            masked_pan: p.terminal.masked_pan.clone(),
            receipt_no: p.terminal.receipt_no,
            reason: p.reason.clone(),
        }
    }
}

/// A sale with its payments and what is due.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SaleView {
    /// Id.
    pub sale_id: String,
    /// POS `transactionId`.
    pub transaction_id: String,
    /// State.
    pub state: SaleState,
    /// Totals.
    pub totals: Totals,
    /// Total to pay.
    pub total: Money,
    /// Paid so far (approved, authorized, offline approved).
    pub paid: Money,
    /// Still due.
    pub due: Money,
    /// Member.
    pub member_id: Option<String>,
    /// Lines.
    pub lines: Vec<LineRecord>,
    /// Payments.
    pub payments: Vec<PaymentView>,
}

/// Whether the purchase is already at the POS when `complete` answers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PurchaseStatus {
    /// In the outbox.
    Queued,
    /// Confirmed by the POS.
    Recorded,
}

/// `complete` answer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CompleteAnswer {
    /// Always `completed`.
    pub state: SaleState,
    /// Purchase status.
    pub purchase: PurchaseStatus,
    /// Outbox item of the purchase.
    pub outbox_id: i64,
}

/// Where a balance came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BalanceSource {
    /// Asked the POS now.
    Online,
    /// The last known balance minus what this lane took offline since.
    Cached,
}

/// `GET /v1/giftcards/balance` answer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BalanceAnswer {
    /// Balance.
    pub balance: Money,
    /// Masked code.
    pub code: String,
    /// Source.
    pub source: BalanceSource,
}

pub use load::{LoadAnswer, LoadStatus};

/// `/v1/status` engine part.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EngineStatus {
    /// Link.
    pub link: LinkState,
    /// Outbox counts.
    pub outbox: Counts,
    /// Offline budget.
    pub offline_budget: OfflineBudget,
    /// Unacknowledged exceptions.
    pub open_exceptions: u64,
    /// Payments whose outcome is unknown (each with an open exception).
    pub payments_in_doubt: u64,
    /// The store's last write fault (full disk, I/O error) while it lasts; reads still work.
    pub storage_error: Option<String>,
    /// Creation time (UTC) of the oldest outbox item not yet confirmed, rejected or dropped
    /// (for the "nothing stuck" alert, P2.3).
    pub outbox_oldest_pending: Option<String>,
}

/// Operator resolution of an in-doubt (or rejected) item.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Resolution {
    /// The POS has it: mark confirmed.
    Recorded,
    /// The POS does not have it: send again.
    Resend,
}

pub(crate) struct Inner {
    pub(crate) journal: journal::Journal,
    pub(crate) ports: Ports,
    pub(crate) cfg: EngineConfig,
    pub(crate) link: Arc<Link>,
    pub(crate) giftcards: giftcard::Giftcards,
    pub(crate) cards: terminal::CardTender,
    /// Serializes sale mutations: one register per lane, and no two tenders race for `due`.
    pub(crate) sale_lock: Arc<Mutex<()>>,
    /// Money movements running on engine-owned tasks.
    pub(crate) movements: movement::Movements,
    /// The processor terminal behind the POS, on lanes with `terminal.protocol = "pos"`.
    pub(crate) pos_terminal: Arc<pos_terminal::PosTerminalTender>,
    pub(crate) forwarder: forwarder::Forwarder,
    pub(crate) returns: refund::Returns,
}

/// The engine. Cheap to clone.
#[derive(Clone)]
pub struct Engine {
    pub(crate) inner: Arc<Inner>,
}

impl Engine {
    /// Builds an engine over an open store. Call [`Engine::recover`] before serving, then
    /// spawn [`Forwarder::run`](forwarder::Forwarder::run) and [`Engine::run_link_probe`].
    pub fn new(store: Store, ports: Ports, cfg: EngineConfig) -> Engine {
        let lane = journal::LaneIds {
            store_code: cfg.store_code.clone(),
            register_code: cfg.register_code.clone(),
        };
        let journal = journal::Journal::new(store, lane, cfg.probe_backoff.clone());
        let link = Arc::new(Link::new(journal.events(), journal.outbox_wake.clone()));
        let giftcards = giftcard::Giftcards::new(
            journal.clone(),
            link.clone(),
            ports.giftcards.clone(),
            ports.terminal.clone(),
            cfg.offline.clone(),
        );
        let cards = terminal::CardTender::new(journal.clone(), ports.terminal.clone(), cfg.fault);
        let pos_terminal = Arc::new(pos_terminal::PosTerminalTender::new(
            journal.clone(),
            link.clone(),
            cfg.probe_backoff.clone(),
            cfg.fault,
        ));
        let forwarder = forwarder::Forwarder::new(
            journal.clone(),
            link.clone(),
            ports.purchases.clone(),
            giftcards.clone(),
            pos_terminal.clone(),
            cfg.forward_backoff.clone(),
            cfg.fault,
        );
        let sale_lock = Arc::new(Mutex::new(()));
        let returns = refund::Returns {
            journal: journal.clone(),
            link: link.clone(),
            giftcards: giftcards.clone(),
            cards: cards.clone(),
            pos_terminal: pos_terminal.clone(),
            offline: cfg.offline.clone(),
            sale_lock: sale_lock.clone(),
        };
        Engine {
            inner: Arc::new(Inner {
                journal,
                ports,
                cfg,
                link,
                giftcards,
                cards,
                sale_lock,
                movements: movement::Movements::default(),
                pos_terminal,
                forwarder,
                returns,
            }),
        }
    }

    /// Counts sales and tenders into `metrics` from now on (the service's `/metrics`).
    /// Only the first call takes effect.
    pub fn attach_metrics(&self, metrics: crate::metrics::Metrics) {
        self.inner.journal.attach_metrics(metrics);
    }

    /// What the engine's parts record through.
    pub(crate) fn journal(&self) -> &journal::Journal {
        &self.inner.journal
    }

    /// The card tender on the lane's own terminal, and its end of day.
    pub fn cards(&self) -> &terminal::CardTender {
        &self.inner.cards
    }

    /// The gift-card tender.
    pub(crate) fn giftcards(&self) -> &giftcard::Giftcards {
        &self.inner.giftcards
    }

    /// Card balance (`GET /v1/giftcards/balance`): online when reachable, else the last known
    /// balance minus what this lane took offline since.
    pub async fn giftcard_balance(
        &self,
        code: secrecy::SecretString,
    ) -> Result<BalanceAnswer, EngineError> {
        self.giftcards().balance(code).await
    }

    /// Subscribes to engine events.
    pub fn subscribe(&self) -> broadcast::Receiver<EngineEvent> {
        self.inner.journal.subscribe()
    }

    /// The store handle (for the API's read-only views and checkpoints).
    pub fn store(&self) -> &Store {
        self.inner.journal.store()
    }

    /// Current link state.
    pub fn link(&self) -> LinkState {
        self.inner.link.state()
    }

    /// Link, outbox counts, offline budget and open exceptions.
    pub async fn status(&self) -> Result<EngineStatus, EngineError> {
        let policy = self.inner.cfg.offline.clone();
        let (outbox, usage, open, oldest, in_doubt) = self
            .store()
            .read(|c, _| {
                Ok((
                    crate::store::outbox::counts(c)?,
                    crate::store::exceptions::offline_usage(c)?,
                    crate::store::exceptions::count_open(c)?,
                    crate::store::outbox::oldest_pending(c)?,
                    crate::store::payments::count_in_state(c, PaymentState::InDoubt)?,
                ))
            })
            .await?;
        Ok(EngineStatus {
            link: self.link(),
            outbox,
            offline_budget: offline::budget(&policy, &usage, chrono::Utc::now()),
            open_exceptions: open,
            payments_in_doubt: in_doubt,
            storage_error: self.store().fault(),
            outbox_oldest_pending: oldest,
        })
    }

    /// The outbox's counts alone: what the cashier's display shows while offline, without
    /// the rest of [`Engine::status`].
    pub async fn outbox_counts(&self) -> Result<crate::store::outbox::Counts, EngineError> {
        Ok(self
            .store()
            .read(|c, _| crate::store::outbox::counts(c))
            .await?)
    }

    /// Exceptions (post-forward declines, payments in doubt and other operator matters).
    pub async fn exceptions(&self, open_only: bool) -> Result<Vec<ExceptionRecord>, EngineError> {
        Ok(self
            .store()
            .read(move |c, _| crate::store::exceptions::list(c, open_only))
            .await?)
    }

    /// Acknowledges an exception that needs no decision (a payment in doubt needs one:
    /// [`Engine::resolve_exception`]).
    pub async fn acknowledge_exception(&self, id: i64) -> Result<(), EngineError> {
        self.resolve_exception(id, None, None).await.map(|_| ())
    }
}
