//! The handle tests, the console and `lane-agent demo` use to steer a running simulated
//! terminal and to read what it did.

use std::sync::{
    Arc, Mutex, MutexGuard,
    atomic::{AtomicU64, Ordering},
};

use tokio::sync::{Notify, broadcast, watch};

use super::{
    fault::Fault,
    script::{Outcome, Step},
    state::{JournalEntry, SimState, TxKind},
};

/// Something the simulated terminal did, for tests to wait on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SimEvent {
    /// An ECR connected (TCP) or the pty was (re)created.
    LinkUp,
    /// The link was dropped on purpose (fault or console).
    LinkDropped,
    /// The terminal rebooted (fault or console).
    Rebooted,
    /// A command arrived: its control field.
    Command([u8; 2]),
    /// An ECR registered successfully.
    Registered,
    /// A command was refused before running, with its result code.
    Refused([u8; 2], u8),
    /// A transaction was journalled (its index in the journal).
    Transaction(usize),
    /// Text was displayed (06 E0 or the prompt of 06 E2).
    Display(Vec<String>),
    /// A numeric-input prompt is waiting for an answer.
    InputPrompt,
    /// A fault was injected.
    Fault(String),
    /// A command finished (its control field).
    Done([u8; 2]),
    /// An APDU crossed the link (for the live console; describe it with
    /// [`crate::zvtlog::describe`], never print it raw).
    Apdu(crate::zvtlog::Direction, zvt::Apdu),
    /// A link NAK: `sent` by the terminal (bad frame from the ECR) or received from the ECR.
    Nak {
        /// True when the terminal sent it.
        sent: bool,
    },
    /// The ECR did not acknowledge in time (serial: T3; as master: the ACK time-out).
    AckTimeout,
}

/// Shared control of one simulated terminal. Cheap to clone.
#[derive(Debug, Clone)]
pub struct SimControl {
    state: Arc<Mutex<SimState>>,
    events: broadcast::Sender<SimEvent>,
    kick: Arc<Notify>,
    input_ready: Arc<Notify>,
    interactive: bool,
    wire: Arc<[AtomicU64; 2]>,
    /// While true, a payment waits at "insert card" (the customer has not presented one).
    card_hold: Arc<watch::Sender<bool>>,
}

impl SimControl {
    pub(crate) fn new(state: SimState, interactive: bool) -> Self {
        let (events, _) = broadcast::channel(1024);
        Self {
            state: Arc::new(Mutex::new(state)),
            events,
            kick: Arc::new(Notify::new()),
            input_ready: Arc::new(Notify::new()),
            interactive,
            wire: Arc::new([AtomicU64::new(0), AtomicU64::new(0)]),
            card_hold: Arc::new(watch::Sender::new(false)),
        }
    }

    /// The customer takes their time: payments wait at "insert card" (repeating the prompt,
    /// as real terminals do) until [`SimControl::present_card`].
    pub fn hold_card(&self) {
        self.card_hold.send_replace(true);
    }

    /// The customer presents their card: held payments go on.
    pub fn present_card(&self) {
        self.card_hold.send_replace(false);
    }

    pub(crate) fn card_hold(&self) -> watch::Receiver<bool> {
        self.card_hold.subscribe()
    }

    /// Locks the state. A poisoned lock is taken over: the state is plain data.
    pub(crate) fn lock(&self) -> MutexGuard<'_, SimState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn emit(&self, event: SimEvent) {
        // No subscriber is fine: events are for whoever listens.
        let _ = self.events.send(event);
    }

    pub(crate) fn kicked(&self) -> &Notify {
        &self.kick
    }

    pub(crate) fn input_ready(&self) -> &Notify {
        &self.input_ready
    }

    pub(crate) fn interactive(&self) -> bool {
        self.interactive
    }

    pub(crate) fn count_wire(&self, received: usize, sent: usize) {
        self.wire[0].fetch_add(received as u64, Ordering::Relaxed);
        self.wire[1].fetch_add(sent as u64, Ordering::Relaxed);
    }

    /// Bytes on the wire so far: (received from the ECR, sent to the ECR), framing included.
    pub fn wire_bytes(&self) -> (u64, u64) {
        (
            self.wire[0].load(Ordering::Relaxed),
            self.wire[1].load(Ordering::Relaxed),
        )
    }

    /// Subscribes to events from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<SimEvent> {
        self.events.subscribe()
    }

    /// Forces the outcome of the next financial command.
    pub fn set_next_outcome(&self, outcome: Outcome) {
        self.lock().set_next_outcome(outcome);
    }

    /// Queues a fault for the next command.
    pub fn inject(&self, fault: Fault) {
        self.lock().inject(fault);
    }

    /// Appends a scripted step.
    pub fn push_step(&self, step: Step) {
        self.lock().push_step(step);
    }

    /// Answers the pending (or next) numeric-input prompt; `None` = cancel.
    pub fn type_input(&self, input: Option<String>) {
        self.lock().type_input(input);
        self.input_ready.notify_one();
    }

    /// Presents a card whose track the next Read Card returns.
    pub fn present_track(&self, track: impl Into<String>) {
        self.lock().present_track(track.into());
    }

    /// Drops the link now (TCP: closes the connection; pty: replaces the pty, like an unplug).
    pub fn drop_link(&self) {
        self.kick.notify_one();
    }

    /// Reboots now: the link drops and the registration is lost; the journal is kept.
    pub fn reboot(&self) {
        self.lock().reboot();
        self.emit(SimEvent::Rebooted);
        self.kick.notify_one();
    }

    /// A copy of the journal of transactions.
    pub fn journal(&self) -> Vec<JournalEntry> {
        self.lock().journal.clone()
    }

    /// Approved charges (payments, reservations, bookings) not reversed: what the customer
    /// paid. A test asserting "never twice" compares this with what it expects.
    pub fn charges(&self) -> Vec<JournalEntry> {
        self.lock()
            .journal
            .iter()
            .filter(|e| e.approved() && e.kind.is_charge() && !e.reversed)
            .cloned()
            .collect()
    }

    /// Number of approved authorizations (06 01) in the journal, reversed or not.
    pub fn approved_payments(&self) -> usize {
        self.lock()
            .journal
            .iter()
            .filter(|e| e.approved() && e.kind == TxKind::Payment)
            .count()
    }

    /// Texts displayed so far.
    pub fn displays(&self) -> Vec<Vec<String>> {
        self.lock().displays.clone()
    }

    /// True while an ECR is registered.
    pub fn is_registered(&self) -> bool {
        self.lock().registered
    }

    /// The currency (ISO 4217 numeric) the ECR registered in; EUR before any registration.
    pub fn currency(&self) -> u16 {
        self.lock().currency
    }

    /// Approved refunds (06 31) in the journal.
    pub fn refunds(&self) -> Vec<JournalEntry> {
        self.lock()
            .journal
            .iter()
            .filter(|e| e.approved() && e.kind == TxKind::Refund)
            .cloned()
            .collect()
    }
}
