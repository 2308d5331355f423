//! What the simulated terminal remembers: registration, counters, open reservations and the
//! journal of transactions. It lives outside any connection, so a link drop or a simulated
//! reboot keeps the last transaction for Repeat Receipt.

use std::collections::VecDeque;

use rust_decimal::Decimal;

use super::{
    fault::Fault,
    link::LinkFaults,
    script::{Outcome, SimTerminalConfig, Step, StepOn, TestCard},
};

/// The kind of a journalled transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TxKind {
    /// Authorization 06 01.
    Payment,
    /// Reservation 06 22.
    Reservation,
    /// Book total 06 24 (captures a reservation).
    BookTotal,
    /// Partial reversal 06 23.
    PartialReversal,
    /// Pre-auth reversal 06 25.
    PreAuthReversal,
    /// Reversal 06 30.
    Reversal,
    /// Refund 06 31: money back to the card.
    Refund,
}

impl TxKind {
    /// True for kinds that move money towards the merchant.
    pub fn is_charge(self) -> bool {
        matches!(self, Self::Payment | Self::Reservation | Self::BookTotal)
    }
}

/// One transaction the simulated terminal ran, approved or not.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JournalEntry {
    /// What ran.
    pub kind: TxKind,
    /// The amount requested by the ECR.
    pub requested: Decimal,
    /// The amount approved (zero when declined).
    pub amount: Decimal,
    /// Result code: 0 = approved.
    pub result: u8,
    /// Receipt number (BMP 87), 1–9999.
    pub receipt: u16,
    /// Trace number (BMP 0B), 1–999999.
    pub trace: u32,
    /// The receipt number this transaction refers to (booking, reversals).
    pub refers_to: Option<u16>,
    /// Masked card number as sent on the wire (`E` digits shown as `*`).
    pub masked_pan: String,
    /// Card type (BMP 8A).
    pub card_type: u8,
    /// Card name (BMP 8B).
    pub card_name: String,
    /// Set when a later reversal voided this transaction.
    pub reversed: bool,
    /// For reservations: set once booked or reversed.
    pub closed: bool,
}

impl JournalEntry {
    /// True if approved.
    pub fn approved(&self) -> bool {
        self.result == 0
    }
}

/// The simulated terminal's memory; survives link drops and reboots.
#[derive(Debug)]
pub struct SimState {
    /// The configuration (rules, cards, defaults).
    pub config: SimTerminalConfig,
    /// Registered by an ECR since the last reboot.
    pub registered: bool,
    /// The ECR asked for print lines (config byte bit 0x02/0x04 at registration).
    pub ecr_prints: bool,
    /// The ECR wants intermediate status (config byte bit 0x08).
    pub intermediate_status: bool,
    /// The currency the ECR registered in (ISO 4217 numeric; EUR until told otherwise).
    pub currency: u16,
    next_receipt: u16,
    next_trace: u32,
    /// Every transaction run, in order.
    pub journal: Vec<JournalEntry>,
    /// Display texts shown (06 E0 / 06 E2 prompts), in order.
    pub displays: Vec<Vec<String>>,
    steps: VecDeque<Step>,
    next_outcome: Option<Outcome>,
    pending_faults: Vec<Fault>,
    /// Link-level faults waiting for the next frames.
    pub(crate) link_faults: LinkFaults,
    typed_inputs: VecDeque<Option<String>>,
    presented_tracks: VecDeque<String>,
    /// Count and turnover of approved charges (not reversed) since the last end of day;
    /// refunds are journalled but not part of these totals.
    pub totals: (u32, Decimal),
}

/// Everything a command needs to know about how to behave, taken once when it starts.
#[derive(Debug, Clone, Default)]
pub struct Plan {
    /// The outcome forced by a step or the console, if any.
    pub outcome: Option<Outcome>,
    /// The card presented.
    pub card: TestCard,
    /// Input typed by the customer, if a step decided it (Some(None) = cancel).
    pub input: Option<Option<String>>,
    /// Track presented, if a step decided it.
    pub track: Option<String>,
    /// Faults to inject during this command.
    pub faults: Vec<Fault>,
}

impl SimState {
    /// A fresh terminal: not registered, empty journal.
    pub fn new(mut config: SimTerminalConfig) -> Self {
        if config.cards.is_empty() {
            config.cards.push(TestCard::default());
        }
        let steps = config.steps.drain(..).collect();
        Self {
            config,
            registered: false,
            ecr_prints: false,
            intermediate_status: true,
            currency: zvt::command::EUR,
            next_receipt: 1,
            next_trace: 1,
            journal: Vec::new(),
            displays: Vec::new(),
            steps,
            next_outcome: None,
            pending_faults: Vec::new(),
            link_faults: LinkFaults::default(),
            typed_inputs: VecDeque::new(),
            presented_tracks: VecDeque::new(),
            totals: (0, Decimal::ZERO),
        }
    }

    /// Takes the plan for the next command of kind `on`: the first matching scripted step,
    /// console overrides and queued faults.
    pub fn plan(&mut self, on: StepOn) -> Plan {
        let mut plan = Plan {
            card: self.config.cards[0].clone(),
            ..Plan::default()
        };
        if let Some(i) = self
            .steps
            .iter()
            .position(|s| s.on == on || s.on == StepOn::Any)
            && let Some(step) = self.steps.remove(i)
        {
            plan.outcome = step.outcome;
            if let Some(c) = step.card.and_then(|c| self.config.cards.get(c)) {
                plan.card = c.clone();
            }
            if on == StepOn::Input {
                plan.input = Some(step.input);
            }
            plan.track = step.track;
            plan.faults = step.faults;
        }
        if matches!(
            on,
            StepOn::Payment
                | StepOn::Reservation
                | StepOn::Booking
                | StepOn::Reversal
                | StepOn::Refund
        ) && let Some(o) = self.next_outcome.take()
        {
            plan.outcome = Some(o);
        }
        plan.faults.append(&mut self.pending_faults);
        if on == StepOn::Input && plan.input.is_none() {
            plan.input = self.typed_inputs.pop_front();
        }
        if on == StepOn::Card && plan.track.is_none() {
            plan.track = self.presented_tracks.pop_front();
        }
        plan
    }

    /// Forces the outcome of the next financial command.
    pub fn set_next_outcome(&mut self, outcome: Outcome) {
        self.next_outcome = Some(outcome);
    }

    /// Injects a fault: link faults hit the next frames, the others the next command.
    pub fn inject(&mut self, fault: Fault) {
        if !self.link_faults.arm(&fault) {
            self.pending_faults.push(fault);
        }
    }

    /// Appends a scripted step.
    pub fn push_step(&mut self, step: Step) {
        self.steps.push_back(step);
    }

    /// Queues the customer's answer to the next numeric-input prompt (`None` = cancel).
    pub fn type_input(&mut self, input: Option<String>) {
        self.typed_inputs.push_back(input);
    }

    /// Takes a queued answer, if the technician typed one.
    pub fn take_typed_input(&mut self) -> Option<Option<String>> {
        self.typed_inputs.pop_front()
    }

    /// Queues the track the next Read Card returns.
    pub fn present_track(&mut self, track: String) {
        self.presented_tracks.push_back(track);
    }

    /// Allocates the next receipt and trace numbers.
    pub fn next_numbers(&mut self) -> (u16, u32) {
        let r = self.next_receipt;
        let t = self.next_trace;
        self.next_receipt = if r >= 9999 { 1 } else { r + 1 };
        self.next_trace = if t >= 999_999 { 1 } else { t + 1 };
        (r, t)
    }

    /// The last transaction, for Repeat Receipt.
    pub fn last(&self) -> Option<&JournalEntry> {
        self.journal.last()
    }

    /// Finds an approved, not reversed transaction by receipt number.
    pub fn find_mut(&mut self, receipt: u16) -> Option<&mut JournalEntry> {
        self.journal
            .iter_mut()
            .rev()
            .find(|e| e.receipt == receipt && e.approved())
    }

    /// Reboots: the registration is lost, the journal is kept.
    pub fn reboot(&mut self) {
        self.registered = false;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_are_consumed_by_matching_commands_only() {
        let mut cfg = SimTerminalConfig::default();
        cfg.steps.push(Step {
            on: StepOn::Input,
            input: Some("42".into()),
            ..Step::default()
        });
        cfg.steps.push(Step {
            on: StepOn::Payment,
            outcome: Some(Outcome::Decline { code: 5 }),
            ..Step::default()
        });
        let mut s = SimState::new(cfg);
        assert_eq!(
            s.plan(StepOn::Payment).outcome,
            Some(Outcome::Decline { code: 5 })
        );
        assert_eq!(s.plan(StepOn::Payment).outcome, None);
        assert_eq!(s.plan(StepOn::Input).input, Some(Some("42".into())));
    }

    #[test]
    fn numbers_wrap_within_their_fields() {
        let mut s = SimState::new(SimTerminalConfig::default());
        s.next_receipt = 9999;
        s.next_trace = 999_999;
        assert_eq!(s.next_numbers(), (9999, 999_999));
        assert_eq!(s.next_numbers(), (1, 1));
    }
}
