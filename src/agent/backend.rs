//! [`AgentBackend`]: the local API's [`LaneBackend`] over the engine, the devices and the
//! catalog mirror. It translates types and errors only; every business rule (idempotency,
//! what is due, offline caps) stays in the engine.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use tokio::sync::broadcast;
use tokio::time::Instant;

use crate::api::backend::{BackendError, LaneBackend, Resource};
use crate::api::types::{
    AcknowledgeRequest, AddPaymentRequest, ApiEvent, CancelResult, CompleteResult,
    DeviceState as ApiDeviceState, DeviceStatus, ExceptionList, ExceptionResolution, ExceptionView,
    GiftCardBalance, GiftCardCode, GiftCardCodeReplaced, GiftCardFundRequest, GiftCardFunded,
    GiftCardReplaceCodeRequest, Item, LinkState as ApiLink, LoadStatus as ApiLoadStatus,
    MaskedCode, Member, MemberId, OfflineBudget as ApiBudget, OpenSaleRequest, OutboxCounts,
    OutboxFlushed, OutboxItem as ApiOutboxItem, OutboxList, OutboxResolution,
    OutboxState as ApiOutboxState, PaymentId, PaymentMethod, PaymentRecord, PaymentResult,
    PaymentState as ApiPaymentState, PaymentStatus as ApiPaymentStatus, Product, PurchaseState,
    ReceiptResult, RefundRequest, RefundResult, SaleDetail, SaleId, SaleLine,
    SaleState as ApiSaleState, SaleSummary, ScanKind, Source, Status,
};
use crate::devices::{DeviceEvent, DeviceRegistry, DeviceState as DevState};
use crate::domain::payment::{EntryMode, Method, TerminalMode};
use crate::domain::sale::LineInput;
use crate::domain::{Money, OutboxState, PaymentState, SaleState};
use crate::engine::in_doubt::PaymentResolution;
use crate::engine::ports::{HostError, TerminalError};
use crate::engine::{
    BalanceSource, Engine, EngineError, EngineEvent, LoadStatus, OpenSale, PaymentAnswer,
    PaymentRequest, PaymentStatus, PaymentView, PurchaseStatus, Resolution, SaleView,
};
use cardreader::ClassifiedRead;

use super::cashier;
use super::catalog::Catalog;
use super::terminal::ZvtTerminal;

/// How long a swipe stays usable for a payment or load sent without a code.
const SWIPE_FRESH: Duration = Duration::from_secs(60);

/// A gift card read by a reader, waiting for the register's next code-less request.
struct Swipe {
    at: Instant,
    code: cardreader::GiftCardCode,
}

/// The agent's implementation of the local API.
pub struct AgentBackend {
    engine: Engine,
    devices: Option<Arc<DeviceRegistry>>,
    catalog: Option<Catalog>,
    events: broadcast::Sender<ApiEvent>,
    swipe: Arc<Mutex<Option<Swipe>>>,
    /// Bumped after each swipe lands in `swipe`, so a waiter never misses one.
    swiped: tokio::sync::watch::Sender<u64>,
    read_timeout: Duration,
    /// The terminal whose display shows the cashier gift-card amounts and results.
    cashier_display: Option<Arc<ZvtTerminal>>,
}

impl std::fmt::Debug for AgentBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AgentBackend").finish_non_exhaustive()
    }
}

impl AgentBackend {
    /// A backend over `engine`; `devices` gives device health and swiped gift cards,
    /// `catalog` answers items, products and members. Must run inside a tokio runtime (it
    /// spawns the event bridge and the swipe listener, which end with their channels).
    pub fn new(
        engine: Engine,
        devices: Option<Arc<DeviceRegistry>>,
        catalog: Option<Catalog>,
    ) -> Self {
        let (events, _) = broadcast::channel(1024);
        spawn_engine_bridge(engine.subscribe(), events.clone());
        let swipe = Arc::new(Mutex::new(None));
        let swiped = tokio::sync::watch::Sender::new(0);
        if let Some(d) = &devices {
            spawn_device_bridge(
                engine.clone(),
                d.subscribe(),
                events.clone(),
                Arc::clone(&swipe),
                swiped.clone(),
            );
        }
        Self {
            engine,
            devices,
            catalog,
            events,
            swipe,
            swiped,
            read_timeout: Duration::from_secs(30),
            cashier_display: None,
        }
    }

    /// Shows gift-card amounts, results and decline reasons on this terminal's display.
    #[must_use]
    pub fn with_cashier_display(mut self, terminal: Arc<ZvtTerminal>) -> Self {
        self.cashier_display = Some(terminal);
        self
    }

    /// How long a code-less gift-card request waits for a swipe (default 30 s).
    #[must_use]
    pub fn with_read_timeout(mut self, t: Duration) -> Self {
        self.read_timeout = t;
        self
    }

    /// The engine behind the API.
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// A gift card from the reader: a fresh swipe, or the next one within the read timeout.
    async fn swiped_code(&self) -> Result<SecretString, BackendError> {
        let take = || {
            let mut g = self
                .swipe
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            match g.take() {
                Some(s) if s.at.elapsed() <= SWIPE_FRESH => {
                    Some(SecretString::from(s.code.expose_secret().to_owned()))
                }
                _ => None,
            }
        };
        let Some(devices) = &self.devices else {
            return Err(no_reader());
        };
        if !devices.has_readers() {
            return self.terminal_read_code(devices).await;
        }
        // Subscribed before looking, so a swipe stored after the look still wakes us.
        let mut rx = self.swiped.subscribe();
        let deadline = Instant::now() + self.read_timeout;
        loop {
            if let Some(c) = take() {
                return Ok(c);
            }
            match tokio::time::timeout_at(deadline, rx.changed()).await {
                Ok(Ok(())) => {}
                Err(_) | Ok(Err(_)) => return Err(no_reader()),
            }
        }
    }

    /// A lane without a reader reads a code-less gift card on the payment terminal (Read
    /// Card 06 C0), classified by the readers' rules: a bank card is refused and its data
    /// dropped.
    async fn terminal_read_code(
        &self,
        devices: &DeviceRegistry,
    ) -> Result<SecretString, BackendError> {
        let Some(terminal) = &self.cashier_display else {
            return Err(no_reader());
        };
        let timeout_s = u8::try_from(self.read_timeout.as_secs()).unwrap_or(u8::MAX);
        let track = terminal
            .read_card(timeout_s)
            .await
            .map_err(|e| map_error(EngineError::Terminal(e)))?
            .ok_or_else(no_reader)?;
        match devices.classify_track2(track.expose_secret()) {
            Some(ClassifiedRead::GiftCard { code, .. }) => {
                tracing::info!(code = %code.masked(), "Gift card read on the terminal.");
                Ok(SecretString::from(code.expose_secret().to_owned()))
            }
            Some(ClassifiedRead::PaymentCard { .. }) => Err(BackendError::Invalid {
                code: "bank_card",
                message: "A bank card was presented for a gift-card payment; pay by card instead."
                    .into(),
            }),
            _ => Err(no_reader()),
        }
    }
}

fn no_reader() -> BackendError {
    BackendError::Unavailable {
        code: "no_card_read",
        message: "No gift card was swiped; send the code or swipe the card.".into(),
    }
}

fn spawn_engine_bridge(mut rx: broadcast::Receiver<EngineEvent>, tx: broadcast::Sender<ApiEvent>) {
    tokio::spawn(async move {
        loop {
            match rx.recv().await {
                Ok(e) => {
                    if let Some(ev) = api_event(e) {
                        let _ = tx.send(ev);
                    }
                }
                Err(broadcast::error::RecvError::Lagged(n)) => {
                    tracing::warn!(missed = n, "Engine event bridge fell behind.");
                }
                Err(broadcast::error::RecvError::Closed) => break,
            }
        }
    });
}

/// The `scan` event of an item barcode or a member card. A member card also joins the open
/// sale, on its own task: the sale lock may be held by a payment at the terminal, and the
/// swipes behind this one must not wait for it (a failure is logged; the register still
/// sees the scan and can open or attach with it).
fn scan_event(engine: &Engine, reader: String, read: &ClassifiedRead) -> Option<ApiEvent> {
    let (kind, value) = match read {
        ClassifiedRead::ItemCode { code } => (ScanKind::Item, code.clone()),
        ClassifiedRead::MemberCard { id, .. } => {
            let member = id.expose_secret().to_owned();
            let (engine, id) = (engine.clone(), member.clone());
            tokio::spawn(async move {
                if let Err(e) = engine.attach_member(&id).await {
                    tracing::warn!(error = %e, "Member card not attached to the open sale.");
                }
            });
            (ScanKind::Member, member)
        }
        _ => return None,
    };
    Some(ApiEvent::Scan {
        reader,
        kind,
        value,
    })
}

fn spawn_device_bridge(
    engine: Engine,
    mut rx: broadcast::Receiver<DeviceEvent>,
    tx: broadcast::Sender<ApiEvent>,
    swipe: Arc<Mutex<Option<Swipe>>>,
    swiped: tokio::sync::watch::Sender<u64>,
) {
    tokio::spawn(async move {
        loop {
            match rx.recv().await {
                Ok(DeviceEvent::StateChanged { name, kind, state }) => {
                    let _ = tx.send(ApiEvent::Device {
                        name,
                        kind: kind.as_str().to_owned(),
                        state: device_state(state),
                    });
                }
                Ok(DeviceEvent::Read { name, read }) => {
                    if let Some(scan) = scan_event(&engine, name, &read) {
                        let _ = tx.send(scan);
                    }
                    if let cardreader::ClassifiedRead::GiftCard { code, .. } = read {
                        *swipe
                            .lock()
                            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(Swipe {
                            at: Instant::now(),
                            code,
                        });
                        swiped.send_modify(|n| *n += 1);
                    }
                }
                Err(broadcast::error::RecvError::Lagged(_)) => {}
                Err(broadcast::error::RecvError::Closed) => break,
            }
        }
    });
}

fn device_state(s: DevState) -> ApiDeviceState {
    match s {
        DevState::Up => ApiDeviceState::Ready,
        DevState::Down => ApiDeviceState::Disconnected,
        DevState::Degraded => ApiDeviceState::Error,
    }
}

fn api_event(e: EngineEvent) -> Option<ApiEvent> {
    Some(match e {
        EngineEvent::Sale { sale_id, state } => ApiEvent::Sale {
            sale_id: SaleId::parse(&sale_id)?,
            state: sale_state(state),
            total: None,
            due: None,
        },
        EngineEvent::Payment {
            sale_id,
            payment_id,
            state,
            amount,
        } => ApiEvent::Payment {
            sale_id: SaleId::parse(&sale_id)?,
            payment_id: PaymentId::parse(&payment_id)?,
            state: payment_state(state),
            amount: Some(amount.get()),
        },
        EngineEvent::Outbox { id, kind, state } => ApiEvent::Outbox {
            id: id.to_string(),
            kind: Some(kind.to_string()),
            state: outbox_state(state),
            counts: None,
        },
        EngineEvent::Link { online, since } => ApiEvent::Link {
            link: if online {
                ApiLink::Online
            } else {
                ApiLink::Offline
            },
            offline_since: if online { None } else { parse_time(&since) },
        },
        EngineEvent::Exception { id, kind, reason } => ApiEvent::Exception {
            id: id.to_string(),
            kind,
            reason,
        },
        EngineEvent::PaymentProgress {
            sale_id,
            payment_id,
            amount,
            state,
        } => ApiEvent::PaymentProgress {
            sale_id: SaleId::parse(&sale_id)?,
            payment_id: PaymentId::parse(&payment_id)?,
            amount: amount.get(),
            state,
        },
    })
}

fn parse_time(s: &str) -> Option<chrono::DateTime<chrono::Utc>> {
    chrono::DateTime::parse_from_rfc3339(s)
        .ok()
        .map(|t| t.with_timezone(&chrono::Utc))
}

/// Engine error → API error, for an operation on a sale.
pub fn map_error(e: EngineError) -> BackendError {
    map_error_for(e, Resource::Sale)
}

fn map_error_for(e: EngineError, resource: Resource) -> BackendError {
    let code = e.code();
    let message = e.to_string();
    match e {
        EngineError::NotFound(_) => BackendError::NotFound(resource),
        EngineError::Conflict(_)
        | EngineError::InvalidState(_)
        | EngineError::Due { .. }
        | EngineError::SaleCancelled(_)
        | EngineError::SaleCompleted(_)
        | EngineError::NothingDue(_)
        | EngineError::PaymentInDoubt(_) => BackendError::Conflict { code, message },
        EngineError::ShuttingDown => BackendError::Unavailable { code, message },
        EngineError::Invalid(_) => BackendError::Invalid { code, message },
        EngineError::Terminal(TerminalError::NotSent(_)) => BackendError::Unavailable {
            code: "terminal_unavailable",
            message,
        },
        EngineError::Terminal(_) => BackendError::Unavailable { code, message },
        EngineError::Host(HostError::NotSent(_)) => BackendError::Unavailable { code, message },
        EngineError::Host(HostError::Declined(d)) => match d {
            crate::engine::ports::Decline::CodeNotFound => {
                BackendError::NotFound(Resource::GiftCard)
            }
            crate::engine::ports::Decline::Other(t) if t == "CodeAlreadyExists" => {
                BackendError::conflict("giftcard_exists", "a gift card with this code exists")
            }
            d => BackendError::Invalid {
                code,
                message: d.reason(),
            },
        },
        EngineError::Host(HostError::OutcomeUnknown(_)) => BackendError::Unavailable {
            code: "pos_outcome_unknown",
            message,
        },
        EngineError::Store(ref f) if f.is_storage_fault() => BackendError::Unavailable {
            code,
            message: "The lane's storage cannot be written (full disk or I/O error); nothing was recorded.".into(),
        },
        EngineError::Host(_) | EngineError::Store(_) => BackendError::Internal { message },
    }
}

/// Engine error → API error, for an operator action on an outbox item: an unknown item is
/// `outbox_item_not_found`, a state the action does not apply to is a conflict with
/// `state_code`.
fn map_outbox_error(e: EngineError, state_code: &'static str) -> BackendError {
    match e {
        EngineError::InvalidState(message) => BackendError::Conflict {
            code: state_code,
            message,
        },
        e => map_error_for(e, Resource::OutboxItem),
    }
}

/// The store's ids are positive integers; anything else names no item.
fn outbox_id(id: &str) -> Result<i64, BackendError> {
    id.parse::<i64>()
        .ok()
        .filter(|n| *n > 0)
        .ok_or(BackendError::NotFound(Resource::OutboxItem))
}

fn api_outbox_item(i: &crate::domain::outbox::OutboxItem) -> Result<ApiOutboxItem, BackendError> {
    outbox_item(i).ok_or_else(|| internal("outbox item"))
}

fn internal(what: &str) -> BackendError {
    BackendError::Internal {
        message: format!("engine returned an invalid {what}"),
    }
}

fn sale_state(s: SaleState) -> ApiSaleState {
    match s {
        SaleState::Completed => ApiSaleState::Completed,
        SaleState::Cancelled => ApiSaleState::Cancelled,
        // Completing/cancelling are steps in progress: the sale is not final yet.
        SaleState::Open | SaleState::Completing | SaleState::Cancelling => ApiSaleState::Open,
    }
}

fn payment_state(s: PaymentState) -> ApiPaymentState {
    match s {
        PaymentState::Authorizing => ApiPaymentState::Pending,
        PaymentState::Authorized
        | PaymentState::Approved
        | PaymentState::Capturing
        | PaymentState::Cancelling => ApiPaymentState::Approved,
        PaymentState::OfflineApproved => ApiPaymentState::OfflineApproved,
        PaymentState::Captured => ApiPaymentState::Captured,
        PaymentState::Cancelled => ApiPaymentState::Cancelled,
        PaymentState::Declined | PaymentState::ForwardDeclined => ApiPaymentState::Declined,
        PaymentState::InDoubt => ApiPaymentState::InDoubt,
    }
}

fn outbox_state(s: OutboxState) -> ApiOutboxState {
    match s {
        OutboxState::New => ApiOutboxState::Pending,
        OutboxState::Sending => ApiOutboxState::Sending,
        OutboxState::Confirmed | OutboxState::Dropped => ApiOutboxState::Confirmed,
        OutboxState::Rejected => ApiOutboxState::Failed,
        OutboxState::InDoubt => ApiOutboxState::InDoubt,
        OutboxState::Held => ApiOutboxState::Held,
    }
}

fn method(m: PaymentMethod) -> Method {
    match m {
        PaymentMethod::GiftCard => Method::Giftcard,
        PaymentMethod::Card => Method::Card,
        PaymentMethod::Cash => Method::Cash,
    }
}

fn api_method(m: Method) -> PaymentMethod {
    match m {
        Method::Giftcard => PaymentMethod::GiftCard,
        Method::Card => PaymentMethod::Card,
        Method::Cash => PaymentMethod::Cash,
    }
}

fn summary(v: &SaleView) -> Result<SaleSummary, BackendError> {
    Ok(SaleSummary {
        sale_id: SaleId::parse(&v.sale_id).ok_or_else(|| internal("sale id"))?,
        total: v.total.get(),
        due: v.due.get(),
        state: sale_state(v.state),
    })
}

fn load_status(s: LoadStatus) -> ApiLoadStatus {
    match s {
        LoadStatus::Loaded => ApiLoadStatus::Loaded,
        LoadStatus::Pending => ApiLoadStatus::Pending,
        LoadStatus::InDoubt => ApiLoadStatus::InDoubt,
    }
}

fn exception_view(e: &crate::domain::exception::ExceptionRecord) -> ExceptionView {
    ExceptionView {
        id: e.id.to_string(),
        kind: e.kind.clone(),
        sale_id: e.sale_id.clone(),
        payment_id: e.payment_id.clone(),
        outbox_id: e.outbox_id.map(|i| i.to_string()),
        amount: e.amount.map(Money::get),
        code: e.code_masked.clone(),
        reason: e.reason.clone(),
        created_at: parse_time(&e.created_at).unwrap_or_default(),
        acknowledged_at: e.acknowledged_at.as_deref().and_then(parse_time),
        note: e.note.clone(),
        resolution: e.resolution.clone(),
    }
}

fn payment_result(a: PaymentAnswer) -> Result<PaymentResult, BackendError> {
    Ok(PaymentResult {
        payment_id: PaymentId::parse(&a.payment_id).ok_or_else(|| internal("payment id"))?,
        status: match a.status {
            PaymentStatus::Approved => ApiPaymentStatus::Approved,
            PaymentStatus::Declined => ApiPaymentStatus::Declined,
            PaymentStatus::OfflineApproved => ApiPaymentStatus::OfflineApproved,
            PaymentStatus::Pending => ApiPaymentStatus::Pending,
            PaymentStatus::InDoubt => ApiPaymentStatus::InDoubt,
        },
        approved_amount: a.approved_amount.get(),
        balance: a.balance.map(Money::get),
        reason: a.reason,
        due: a.due.get(),
    })
}

fn payment_record(p: &PaymentView) -> Option<PaymentRecord> {
    let counted = matches!(
        p.state,
        PaymentState::Authorized
            | PaymentState::Approved
            | PaymentState::OfflineApproved
            | PaymentState::Capturing
            | PaymentState::Captured
    );
    Some(PaymentRecord {
        payment_id: PaymentId::parse(&p.payment_id)?,
        method: api_method(p.method),
        amount: p.amount.get(),
        approved_amount: if counted {
            p.amount.get()
        } else {
            Money::ZERO.get()
        },
        state: payment_state(p.state),
        code: p.code.as_deref().map(MaskedCode::from_full),
        reason: p.reason.clone(),
        ref_no: Some(p.ref_no.clone()),
        masked_pan: p.masked_pan.clone(),
        receipt_no: p.receipt_no,
    })
}

fn detail(v: SaleView) -> Result<SaleDetail, BackendError> {
    Ok(SaleDetail {
        sale_id: SaleId::parse(&v.sale_id).ok_or_else(|| internal("sale id"))?,
        state: sale_state(v.state),
        transaction_id: Some(v.transaction_id.clone()),
        lines: v
            .lines
            .iter()
            .map(|l| SaleLine {
                sku: l.sku.clone(),
                quantity: l.quantity.get(),
                unit_price: l.unit_price.get(),
                uom: Some(l.uom.clone()),
                amount: l.ext_price.get(),
            })
            .collect(),
        tax: v.totals.tax.get(),
        total: v.total.get(),
        paid: v.paid.get(),
        due: v.due.get(),
        member_id: v.member_id.as_deref().and_then(MemberId::parse),
        payments: v
            .payments
            .iter()
            .map(|p| payment_record(p).ok_or_else(|| internal("payment id")))
            .collect::<Result<_, _>>()?,
        purchase: None,
        refunds: Vec::new(),
    })
}

fn budget(b: &crate::engine::OfflineBudget) -> ApiBudget {
    ApiBudget {
        enabled: b.enabled,
        max_transaction_amount: b.max_transaction_amount.get(),
        remaining_amount: b.remaining_amount.get(),
        remaining_count: b.remaining_count,
        used_amount: b.used_amount.get(),
        used_count: b.used_count,
        oldest_age_secs: b.oldest_age_secs,
        expires_in_secs: b.expires_in_secs,
    }
}

fn outbox_item(i: &crate::domain::outbox::OutboxItem) -> Option<ApiOutboxItem> {
    Some(ApiOutboxItem {
        id: i.id.to_string(),
        kind: i.kind.to_string(),
        state: outbox_state(i.state),
        sale_id: i.sale_id.as_deref().and_then(SaleId::parse),
        attempts: u32::try_from(i.attempt).unwrap_or(u32::MAX),
        created_at: parse_time(&i.created_at)?,
        last_error: i.last_error.clone(),
    })
}

impl LaneBackend for AgentBackend {
    async fn status(&self) -> Result<Status, BackendError> {
        let s = self.engine.status().await.map_err(map_error)?;
        let devices = self
            .devices
            .as_ref()
            .map(|d| {
                d.snapshot()
                    .into_iter()
                    .map(|h| DeviceStatus {
                        name: h.name,
                        kind: h.kind.as_str().to_owned(),
                        state: device_state(h.state),
                    })
                    .collect()
            })
            .unwrap_or_default();
        Ok(Status {
            link: if s.link.online {
                ApiLink::Online
            } else {
                ApiLink::Offline
            },
            offline_since: if s.link.online {
                None
            } else {
                parse_time(&s.link.since)
            },
            outbox: OutboxCounts {
                pending: s.outbox.pending,
                in_doubt: s.outbox.in_doubt,
                failed: s.outbox.failed,
                held: s.outbox.held,
            },
            devices,
            offline_budget: budget(&s.offline_budget),
            open_exceptions: s.open_exceptions,
            payments_in_doubt: s.payments_in_doubt,
            storage_error: s.storage_error,
        })
    }

    async fn open_sale(&self, req: OpenSaleRequest) -> Result<SaleSummary, BackendError> {
        if let Some(c) = &self.catalog {
            let skus: Vec<&str> = req.lines.iter().map(|l| l.sku.as_str()).collect();
            c.check_sale_skus(&skus).await?;
        }
        let original = req.original_sale_id.map(|s| s.as_str().to_owned());
        let open = OpenSale {
            sale_id: req.sale_id.map(|s| s.as_str().to_owned()),
            lines: req
                .lines
                .into_iter()
                .map(|l| LineInput {
                    sku: l.sku,
                    // The engine's form of a returned line: a negative quantity.
                    quantity: Money::from(if l.refund { -l.quantity } else { l.quantity }),
                    unit_price: Money::from(l.unit_price),
                    uom: l.uom.unwrap_or_else(|| "EA".into()),
                    item_discount: Money::ZERO,
                    sale_discount: Money::ZERO,
                })
                .collect(),
            tax: req.tax.map(Money::from),
            member_id: req.member_id.map(|m| m.as_str().to_owned()),
        };
        let v = self
            .engine
            .open_sale_with(open, original)
            .await
            .map_err(map_error)?;
        summary(&v)
    }

    async fn add_payment(
        &self,
        sale_id: SaleId,
        req: AddPaymentRequest,
    ) -> Result<PaymentResult, BackendError> {
        let m = method(req.method);
        // A retried code-less gift-card payment gets its first answer, never a wait for
        // another swipe (which could be the next customer's card).
        if m == Method::Giftcard
            && req.code.is_none()
            && let Some(pid) = &req.payment_id
            && let Some(first) = self
                .engine
                .existing_payment(sale_id.as_str(), pid.as_str())
                .await
                .map_err(map_error)?
        {
            return payment_result(first);
        }
        let (code, entry_mode) = match (m, req.code) {
            (Method::Giftcard, Some(c)) => (
                Some(SecretString::from(c.expose().to_owned())),
                EntryMode::Keyed,
            ),
            (Method::Giftcard, None) => (Some(self.swiped_code().await?), EntryMode::Swiped),
            _ => (None, EntryMode::Keyed),
        };
        // Best effort and off the payment's path: `cashier::show` runs in its own task.
        let display = self
            .cashier_display
            .as_ref()
            .filter(|_| m == Method::Giftcard);
        // While the link is down the lane decides the tender itself, at once: the result
        // screen follows in a moment, so a "processing" screen would only race it to the
        // terminal (and take the CPU the decision needs).
        if let Some(t) = display.filter(|_| self.engine.link().online) {
            let code = code.as_ref().map(|c| c.expose_secret().to_owned());
            let amount = Money::from(req.amount);
            cashier::show(Arc::clone(t), cashier::processing(amount, code.as_deref()));
        }
        let pr = PaymentRequest {
            payment_id: req.payment_id.map(|p| p.as_str().to_owned()),
            method: m,
            amount: Money::from(req.amount),
            code,
            pin: req.pin.map(|p| SecretString::from(p.expose().to_owned())),
            entry_mode,
            terminal_mode: if req.reserve {
                TerminalMode::Reserve
            } else {
                TerminalMode::Authorize
            },
        };
        let a = self
            .engine
            .add_payment(sale_id.as_str(), pr)
            .await
            .map_err(map_error)?;
        if let Some(t) = display {
            cashier::show(Arc::clone(t), cashier::result(&a));
        }
        payment_result(a)
    }

    async fn complete_sale(&self, sale_id: SaleId) -> Result<CompleteResult, BackendError> {
        let a = self
            .engine
            .complete_sale(sale_id.as_str())
            .await
            .map_err(map_error)?;
        Ok(CompleteResult {
            state: sale_state(a.state),
            purchase: match a.purchase {
                PurchaseStatus::Queued => PurchaseState::Queued,
                PurchaseStatus::Recorded => PurchaseState::Recorded,
            },
        })
    }

    async fn cancel_sale(&self, sale_id: SaleId) -> Result<CancelResult, BackendError> {
        let v = self
            .engine
            .cancel_sale(sale_id.as_str())
            .await
            .map_err(map_error)?;
        Ok(CancelResult {
            state: sale_state(v.state),
        })
    }

    async fn get_sale(&self, sale_id: SaleId) -> Result<SaleDetail, BackendError> {
        let v = self
            .engine
            .sale(sale_id.as_str())
            .await
            .map_err(map_error)?;
        let mut d = detail(v)?;
        d.refunds = super::refunds::lines(&self.engine, sale_id.as_str()).await?;
        Ok(d)
    }

    async fn refund(
        &self,
        sale_id: SaleId,
        req: RefundRequest,
    ) -> Result<RefundResult, BackendError> {
        super::refunds::refund(&self.engine, sale_id, req).await
    }

    async fn receipt(&self, sale_id: SaleId) -> Result<ReceiptResult, BackendError> {
        super::refunds::receipt(&self.engine, sale_id).await
    }

    async fn giftcard_balance(&self, code: GiftCardCode) -> Result<GiftCardBalance, BackendError> {
        let masked = code.masked();
        let a = self
            .engine
            .giftcard_balance(SecretString::from(code.expose().to_owned()))
            .await
            .map_err(|e| map_error_for(e, Resource::GiftCard))?;
        Ok(GiftCardBalance {
            balance: a.balance.get(),
            code: masked,
            source: match a.source {
                BalanceSource::Online => Source::Online,
                BalanceSource::Cached => Source::Cached,
            },
        })
    }

    async fn giftcard_activate(
        &self,
        req: GiftCardFundRequest,
    ) -> Result<GiftCardFunded, BackendError> {
        let code = match req.code {
            Some(c) => SecretString::from(c.expose().to_owned()),
            None => self.swiped_code().await?,
        };
        let a = self
            .engine
            .activate_giftcard(
                code,
                None,
                Money::from(req.amount),
                req.request_id.map(|r| r.as_str().to_owned()),
            )
            .await
            .map_err(|e| map_error_for(e, Resource::GiftCard))?;
        Ok(GiftCardFunded {
            status: load_status(a.status),
            code: MaskedCode::from_full(&a.code),
            amount: a.amount.get(),
            balance: a.balance.map(Money::get),
        })
    }

    async fn giftcard_reload(
        &self,
        req: GiftCardFundRequest,
    ) -> Result<GiftCardFunded, BackendError> {
        let code = match req.code {
            Some(c) => SecretString::from(c.expose().to_owned()),
            None => self.swiped_code().await?,
        };
        let a = self
            .engine
            .reload_giftcard(
                code,
                Money::from(req.amount),
                req.request_id.map(|r| r.as_str().to_owned()),
            )
            .await
            .map_err(|e| map_error_for(e, Resource::GiftCard))?;
        Ok(GiftCardFunded {
            status: load_status(a.status),
            code: MaskedCode::from_full(&a.code),
            amount: a.amount.get(),
            balance: a.balance.map(Money::get),
        })
    }

    async fn giftcard_replace_code(
        &self,
        req: GiftCardReplaceCodeRequest,
    ) -> Result<GiftCardCodeReplaced, BackendError> {
        match &self.catalog {
            Some(c) => c.replace_code(req).await,
            None => Err(Catalog::unavailable()),
        }
    }

    async fn item(&self, sku: String) -> Result<Item, BackendError> {
        match &self.catalog {
            Some(c) => c.item(&sku).await,
            None => Err(Catalog::unavailable()),
        }
    }

    async fn product(&self, sku: String) -> Result<Product, BackendError> {
        match &self.catalog {
            Some(c) => c.product(&sku).await,
            None => Err(Catalog::unavailable()),
        }
    }

    async fn member(&self, member_id: MemberId) -> Result<Member, BackendError> {
        match &self.catalog {
            Some(c) => c.member(&member_id).await,
            None => Err(Catalog::unavailable()),
        }
    }

    async fn outbox_list(&self) -> Result<OutboxList, BackendError> {
        let items = self
            .engine
            .forwarder()
            .list(None)
            .await
            .map_err(map_error)?;
        Ok(OutboxList {
            items: items.iter().filter_map(outbox_item).collect(),
        })
    }

    async fn outbox_show(&self, id: String) -> Result<ApiOutboxItem, BackendError> {
        let item = self
            .engine
            .forwarder()
            .show(outbox_id(&id)?)
            .await
            .map_err(|e| map_outbox_error(e, "invalid_state"))?;
        api_outbox_item(&item)
    }

    async fn outbox_hold(&self, id: String) -> Result<ApiOutboxItem, BackendError> {
        let item = self
            .engine
            .forwarder()
            .hold(outbox_id(&id)?)
            .await
            .map_err(|e| map_outbox_error(e, "outbox_item_not_holdable"))?;
        api_outbox_item(&item)
    }

    async fn outbox_resolve(
        &self,
        id: String,
        resolution: OutboxResolution,
    ) -> Result<ApiOutboxItem, BackendError> {
        let how = match resolution {
            OutboxResolution::Recorded => Resolution::Recorded,
            OutboxResolution::Resend => Resolution::Resend,
        };
        let item = self
            .engine
            .forwarder()
            .resolve(outbox_id(&id)?, how)
            .await
            .map_err(|e| map_outbox_error(e, "outbox_item_not_resolvable"))?;
        api_outbox_item(&item)
    }

    async fn outbox_flush(&self) -> Result<OutboxFlushed, BackendError> {
        let released = self.engine.forwarder().flush().await.map_err(map_error)?;
        Ok(OutboxFlushed {
            released: u64::try_from(released).unwrap_or(u64::MAX),
        })
    }

    async fn exceptions_list(&self) -> Result<ExceptionList, BackendError> {
        let list = self.engine.exceptions(true).await.map_err(map_error)?;
        Ok(ExceptionList {
            exceptions: list.iter().map(exception_view).collect(),
        })
    }

    async fn exception_acknowledge(
        &self,
        id: String,
        req: AcknowledgeRequest,
    ) -> Result<ExceptionView, BackendError> {
        let id: i64 = id
            .parse()
            .ok()
            .filter(|n| *n > 0)
            .ok_or(BackendError::NotFound(Resource::Exception))?;
        let resolution = req.resolution.map(|r| match r {
            ExceptionResolution::Approved => PaymentResolution::Approved,
            ExceptionResolution::NotApproved => PaymentResolution::NotApproved,
        });
        match self
            .engine
            .resolve_exception(id, req.note, resolution)
            .await
        {
            Ok(e) => Ok(exception_view(&e)),
            Err(EngineError::InvalidState(message)) => Err(BackendError::Conflict {
                code: if resolution.is_none() {
                    "resolution_required"
                } else {
                    "resolution_refused"
                },
                message,
            }),
            Err(e) => Err(map_error_for(e, Resource::Exception)),
        }
    }

    fn subscribe_events(&self) -> broadcast::Receiver<ApiEvent> {
        self.events.subscribe()
    }

    fn subscribe_terminal_trace(&self) -> Option<broadcast::Receiver<String>> {
        self.cashier_display.as_ref().map(|t| t.trace())
    }

    async fn terminal_end_of_day(&self) -> Result<crate::api::types::EndOfDayResult, BackendError> {
        self.end_of_day_as(crate::store::end_of_day::Trigger::Api)
            .await
    }
}

impl AgentBackend {
    /// The end of day for `trigger` (the API's, or the CLI's on a stopped agent's store).
    pub async fn end_of_day_as(
        &self,
        trigger: crate::store::end_of_day::Trigger,
    ) -> Result<crate::api::types::EndOfDayResult, BackendError> {
        use crate::api::types::{EndOfDayResult, EndOfDayStatus, EndOfDayTotalsView};
        if !self.engine.cards().settles_here() {
            return Err(BackendError::conflict(
                crate::api::backend::END_OF_DAY_NOT_APPLICABLE,
                "This lane's terminal does not run an end of day (the processor settles).",
            ));
        }
        let a = self
            .engine
            .cards()
            .end_of_day(trigger, true)
            .await
            .map_err(map_error)?;
        Ok(EndOfDayResult {
            status: if a.ok {
                EndOfDayStatus::Ok
            } else {
                EndOfDayStatus::Failed
            },
            totals: EndOfDayTotalsView {
                currency: a.totals.currency.clone(),
                total: a.totals.total.map(|t| t.to_string()),
                count: a.totals.count,
                receipt_from: a.totals.receipt_from,
                receipt_to: a.totals.receipt_to,
            },
            reason: a.reason,
            receipt_lines: a.totals.receipt_lines,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::ports::Decline;

    fn code_of(e: &BackendError) -> &'static str {
        match e {
            BackendError::Conflict { code, .. }
            | BackendError::Invalid { code, .. }
            | BackendError::Forbidden { code, .. }
            | BackendError::Unavailable { code, .. } => code,
            BackendError::NotFound(r) => r.not_found_code(),
            BackendError::Internal { .. } => "internal",
        }
    }

    #[test]
    fn engine_errors_keep_their_codes_and_meaning() {
        let cases: Vec<(EngineError, &str)> = vec![
            (EngineError::NotFound("s".into()), "sale_not_found"),
            (EngineError::Conflict("s".into()), "idempotency_conflict"),
            (
                EngineError::Due {
                    due: Money::from(rust_decimal::Decimal::ONE),
                },
                "amount_due",
            ),
            (EngineError::SaleCancelled("s".into()), "sale_cancelled"),
            (EngineError::SaleCompleted("s".into()), "sale_completed"),
            (EngineError::NothingDue("s".into()), "nothing_due"),
            (EngineError::PaymentInDoubt("p".into()), "payment_in_doubt"),
            (EngineError::Invalid("x".into()), "invalid_request"),
            (
                EngineError::Terminal(TerminalError::NotSent("down".into())),
                "terminal_unavailable",
            ),
            (
                EngineError::Host(HostError::NotSent("down".into())),
                "pos_unreachable",
            ),
            (
                EngineError::Host(HostError::OutcomeUnknown("lost".into())),
                "pos_outcome_unknown",
            ),
            (
                EngineError::Host(HostError::Declined(Decline::CodeNotFound)),
                "sale_not_found",
            ),
            (
                EngineError::Host(HostError::Declined(Decline::CodeExpired)),
                "declined",
            ),
            (
                EngineError::Host(HostError::Other("bad".into())),
                "internal",
            ),
        ];
        for (e, want) in cases {
            let shown = format!("{e:?}");
            let got = map_error(e);
            // A gift card the POS does not know is a 404 of the gift card, not of the sale.
            let want = if shown.contains("CodeNotFound") {
                "giftcard_not_found"
            } else {
                want
            };
            assert_eq!(code_of(&got), want, "{shown}");
        }
    }

    #[test]
    fn conflicts_are_409_and_declines_422() {
        assert!(matches!(
            map_error(EngineError::Due { due: Money::ZERO }),
            BackendError::Conflict { .. }
        ));
        assert!(matches!(
            map_error(EngineError::Host(HostError::Declined(
                Decline::InsufficientBalance
            ))),
            BackendError::Invalid { .. }
        ));
    }

    #[test]
    fn states_map_onto_the_api_without_claiming_too_much() {
        assert_eq!(
            payment_state(PaymentState::Authorizing),
            ApiPaymentState::Pending
        );
        assert_eq!(
            payment_state(PaymentState::InDoubt),
            ApiPaymentState::InDoubt
        );
        assert_eq!(
            payment_state(PaymentState::ForwardDeclined),
            ApiPaymentState::Declined
        );
        assert_eq!(sale_state(SaleState::Completing), ApiSaleState::Open);
        assert_eq!(outbox_state(OutboxState::Rejected), ApiOutboxState::Failed);
        assert_eq!(outbox_state(OutboxState::New), ApiOutboxState::Pending);
    }
}
