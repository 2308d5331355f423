//! The processor terminals behind `terminalPayment` (pos-api.md §5.10), one per lane in the
//! seed: a cardholder who takes a while, approvals, declines with a reason, partial
//! approvals, busy and offline terminals, cancels at the terminal, time-outs, continuation
//! waits and expiring tokens. Lost answers are the ordinary faults, targeted at
//! `terminalPayment.start` / `.continue` / `.capture` / `.void`.
//!
//! Each terminal plays the next [`TerminalStep`] queued for it (from tests, `--script`,
//! `POST /_sim/terminals/{id}/steps` or the console), otherwise its seed's default: approve
//! after `card_delay_ms`. A payment exists from the moment `start` accepts it (`PENDING`,
//! with a token that stays the same until it ends); it settles when `continue` (or `start`
//! itself) is asked at or after its ready time. `refNo` is NOT deduplicated.

use std::collections::{HashMap, VecDeque};

use chrono::{DateTime, TimeDelta, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

/// A processor terminal in the seed (`[[terminal]]`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeedTerminal {
    /// The processor's terminal id (Fortis `terminal_id`), e.g. `FORTIS-T-0042`.
    pub id: String,
    /// The POS location it belongs to.
    pub store_code: String,
    /// The lane (register code) it stands at; informational.
    #[serde(default)]
    pub lane: Option<String>,
    /// How long the cardholder takes by default.
    #[serde(default = "default_card_delay")]
    pub card_delay_ms: u64,
    /// `waitMs` of every continuation (the POS's Fortis Poll Interval).
    #[serde(default = "default_poll")]
    pub poll_ms: u64,
    /// How long a continuation token stays valid.
    #[serde(default = "default_token_ttl")]
    pub token_ttl_secs: u64,
}

fn default_card_delay() -> u64 {
    300
}
fn default_poll() -> u64 {
    100
}
fn default_token_ttl() -> u64 {
    600
}

/// What the cardholder (or the terminal) does with the next payment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "outcome")]
pub enum TerminalOutcome {
    /// Approved for the whole amount.
    Approve,
    /// Declined by the processor with this reason.
    Decline {
        /// e.g. "Insufficient funds".
        reason: String,
    },
    /// Approved for at most `amount`.
    Partial {
        /// The most the processor approves.
        amount: Decimal,
    },
    /// `start` answers `TERMINAL_BUSY`; nothing starts.
    Busy,
    /// `start` answers `TERMINAL_OFFLINE`; nothing starts.
    Offline,
    /// Cancelled at the terminal: FAILED / `CANCELLED`.
    Cancel,
    /// No card presented: FAILED / `TIMED_OUT`.
    Timeout,
}

/// One queued step: an outcome and, optionally, how long the cardholder takes.
// No `deny_unknown_fields`: serde cannot combine it with the flattened outcome.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TerminalStep {
    /// The terminal it applies to.
    pub terminal: String,
    /// What happens.
    #[serde(flatten)]
    pub outcome: TerminalOutcome,
    /// Cardholder delay for this payment (default: the terminal's `card_delay_ms`).
    #[serde(default)]
    pub delay_ms: Option<u64>,
}

/// `TerminalPaymentType`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum TpType {
    /// Charged at once.
    Sale,
    /// Held.
    Authorize,
    /// Money back.
    Refund,
}

/// `TerminalPaymentStatus`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum TpStatus {
    /// At the terminal.
    Pending,
    /// Charged.
    Approved,
    /// Held.
    Authorized,
    /// Captured.
    Captured,
    /// Declined.
    Declined,
    /// Voided.
    Voided,
    /// Ended without a charge.
    Failed,
}

/// `TerminalPaymentErrorCode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum TpError {
    /// Bad input.
    Validation,
    /// Unknown terminal for this store.
    TerminalNotFound,
    /// Another payment runs on it.
    TerminalBusy,
    /// Unreachable.
    TerminalOffline,
    /// Cancelled at the terminal.
    Cancelled,
    /// No card in time.
    TimedOut,
    /// Unknown or expired token.
    UnknownContinuation,
    /// State does not allow it.
    NotCapturable,
    /// Unknown id.
    NotFound,
}

/// One terminal payment as the ledger shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TerminalPaymentRecord {
    /// POS id.
    pub id: String,
    /// The caller's reference.
    pub ref_no: String,
    /// The purchase it belongs to.
    pub transaction_id: Option<String>,
    /// Terminal.
    pub terminal_id: String,
    /// Store.
    pub store_code: String,
    /// Type.
    pub trans_type: TpType,
    /// Status.
    pub status: TpStatus,
    /// Asked.
    pub amount: Decimal,
    /// Approved.
    pub approved_amount: Decimal,
    /// Captured (or charged at once).
    pub captured_amount: Option<Decimal>,
    /// Processor decline text.
    pub decline_reason: Option<String>,
    /// FAILED: why.
    pub error_code: Option<TpError>,
    /// REFUND: the payment refunded.
    pub original_id: Option<String>,
    /// Card brand.
    pub card_brand: Option<String>,
    /// Last four digits.
    pub last4: Option<String>,
    /// Authorization code.
    pub auth_code: Option<String>,
    /// Created (simulated clock).
    pub created: DateTime<Utc>,
    /// How many captures changed it (a repeated capture of a CAPTURED payment does not).
    pub captures: u32,
    /// How many voids changed it.
    pub voids: u32,
    /// The client that started it.
    pub client_id: String,
    #[serde(skip)]
    pub(crate) token: Option<(String, DateTime<Utc>)>,
    #[serde(skip)]
    ready_at: Option<DateTime<Utc>>,
    #[serde(skip)]
    outcome: Option<TerminalOutcome>,
}

/// What the GraphQL layer answers.
#[derive(Debug, Clone)]
pub(crate) enum TpAnswer {
    Payment(Box<TerminalPaymentRecord>),
    Continuation { token: String, wait_ms: u64 },
    Error { code: TpError, message: String },
}

/// A `start` input.
#[derive(Debug, Clone)]
pub(crate) struct TpStart {
    pub terminal_id: String,
    pub store_code: String,
    pub trans_type: TpType,
    pub amount: Decimal,
    pub ref_no: String,
    pub transaction_id: Option<String>,
    pub original_id: Option<String>,
}

struct Terminal {
    seed: SeedTerminal,
    online: bool,
    steps: VecDeque<TerminalStep>,
}

/// Every terminal and every terminal payment.
#[derive(Default)]
pub(crate) struct TerminalBook {
    terminals: HashMap<String, Terminal>,
    pub payments: Vec<TerminalPaymentRecord>,
    next: u64,
}

fn err(code: TpError, message: impl Into<String>) -> TpAnswer {
    TpAnswer::Error {
        code,
        message: message.into(),
    }
}

impl TerminalBook {
    pub(crate) fn from_seed(terminals: &[SeedTerminal]) -> TerminalBook {
        TerminalBook {
            terminals: terminals
                .iter()
                .map(|t| {
                    (
                        t.id.clone(),
                        Terminal {
                            seed: t.clone(),
                            online: true,
                            steps: VecDeque::new(),
                        },
                    )
                })
                .collect(),
            payments: Vec::new(),
            next: 7001,
        }
    }

    /// Queues a step; `false` when the terminal is unknown.
    pub(crate) fn push_step(&mut self, step: TerminalStep) -> bool {
        match self.terminals.get_mut(&step.terminal) {
            Some(t) => {
                t.steps.push_back(step);
                true
            }
            None => false,
        }
    }

    /// Takes a terminal on or off line; `false` when unknown.
    pub(crate) fn set_online(&mut self, id: &str, online: bool) -> bool {
        match self.terminals.get_mut(id) {
            Some(t) => {
                t.online = online;
                true
            }
            None => false,
        }
    }

    /// Expires every token issued so far (tests of `UNKNOWN_CONTINUATION`).
    pub(crate) fn expire_tokens(&mut self) {
        for p in &mut self.payments {
            if let Some((_, exp)) = &mut p.token {
                *exp = DateTime::<Utc>::MIN_UTC;
            }
        }
    }

    pub(crate) fn start(
        &mut self,
        s: TpStart,
        client_id: &str,
        now: DateTime<Utc>,
        store_known: bool,
    ) -> TpAnswer {
        if s.amount <= Decimal::ZERO || s.amount.scale() > 2 {
            return err(
                TpError::Validation,
                "amount must be positive with two decimals",
            );
        }
        if s.ref_no.is_empty() || s.ref_no.chars().count() > 64 {
            return err(TpError::Validation, "refNo must have 1 to 64 characters");
        }
        if !store_known {
            return err(TpError::Validation, "unknown storeCode");
        }
        if s.trans_type == TpType::Refund
            && let Some(orig) = &s.original_id
        {
            let Some(o) = self.payments.iter().find(|p| &p.id == orig) else {
                return err(TpError::NotFound, "originalId not found");
            };
            let refunded: Decimal = self
                .payments
                .iter()
                .filter(|p| {
                    p.original_id.as_deref() == Some(orig.as_str())
                        && p.status == TpStatus::Approved
                })
                .map(|p| p.approved_amount)
                .sum();
            if s.amount > o.captured_amount.unwrap_or_default() - refunded {
                return err(
                    TpError::Validation,
                    "refund exceeds what the payment captured",
                );
            }
        }
        let Some(t) = self
            .terminals
            .get_mut(&s.terminal_id)
            .filter(|t| t.seed.store_code == s.store_code)
        else {
            return err(TpError::TerminalNotFound, "no such terminal for this store");
        };
        if !t.online {
            return err(TpError::TerminalOffline, "the terminal cannot be reached");
        }
        // Busy while a cardholder is still at it; a payment whose time has come but that
        // nobody asked about yet no longer holds the terminal.
        if self.payments.iter().any(|p| {
            p.terminal_id == s.terminal_id
                && p.status == TpStatus::Pending
                && p.ready_at.is_some_and(|r| r > now)
        }) {
            return err(TpError::TerminalBusy, "the terminal runs another payment");
        }
        let step = t.steps.pop_front();
        let (outcome, delay) = match step {
            Some(st) => (st.outcome, st.delay_ms.unwrap_or(t.seed.card_delay_ms)),
            None => (TerminalOutcome::Approve, t.seed.card_delay_ms),
        };
        match outcome {
            TerminalOutcome::Busy => {
                return err(TpError::TerminalBusy, "the terminal runs another payment");
            }
            TerminalOutcome::Offline => {
                return err(TpError::TerminalOffline, "the terminal cannot be reached");
            }
            _ => {}
        }
        let ttl = TimeDelta::seconds(i64::try_from(t.seed.token_ttl_secs).unwrap_or(600));
        let id = self.next.to_string();
        self.next += 1;
        let token = format!("tpc-{id}-{}", hex(&rand::random::<[u8; 8]>()));
        self.payments.push(TerminalPaymentRecord {
            id,
            ref_no: s.ref_no,
            transaction_id: s.transaction_id,
            terminal_id: s.terminal_id,
            store_code: s.store_code,
            trans_type: s.trans_type,
            status: TpStatus::Pending,
            amount: s.amount,
            approved_amount: Decimal::ZERO,
            captured_amount: None,
            decline_reason: None,
            error_code: None,
            original_id: s.original_id,
            card_brand: None,
            last4: None,
            auth_code: None,
            created: now,
            captures: 0,
            voids: 0,
            client_id: client_id.to_owned(),
            token: Some((token, now + ttl)),
            ready_at: Some(now + TimeDelta::milliseconds(i64::try_from(delay).unwrap_or(0))),
            outcome: Some(outcome),
        });
        let i = self.payments.len() - 1;
        self.advance(i, now)
    }

    pub(crate) fn continue_(&mut self, token: &str, now: DateTime<Utc>) -> TpAnswer {
        let Some(i) = self
            .payments
            .iter()
            .position(|p| p.token.as_ref().is_some_and(|(t, _)| t == token))
        else {
            return err(TpError::UnknownContinuation, "unknown continuation token");
        };
        if self.payments[i]
            .token
            .as_ref()
            .is_some_and(|(_, exp)| *exp < now)
        {
            return err(TpError::UnknownContinuation, "the continuation expired");
        }
        self.advance(i, now)
    }

    /// Settles payment `i` if its time has come and answers for it.
    fn advance(&mut self, i: usize, now: DateTime<Utc>) -> TpAnswer {
        let poll = self
            .terminals
            .get(&self.payments[i].terminal_id)
            .map(|t| t.seed.poll_ms)
            .unwrap_or(100);
        let p = &mut self.payments[i];
        if p.status == TpStatus::Pending {
            if p.ready_at.is_some_and(|r| r > now) {
                let token = p.token.as_ref().map(|(t, _)| t.clone()).unwrap_or_default();
                return TpAnswer::Continuation {
                    token,
                    wait_ms: poll,
                };
            }
            p.ready_at = None;
            match p.outcome.take().unwrap_or(TerminalOutcome::Approve) {
                TerminalOutcome::Approve => approve(p, p.amount),
                TerminalOutcome::Partial { amount } => approve(p, amount.min(p.amount)),
                TerminalOutcome::Decline { reason } => {
                    p.status = TpStatus::Declined;
                    p.decline_reason = Some(reason);
                }
                TerminalOutcome::Cancel | TerminalOutcome::Busy | TerminalOutcome::Offline => {
                    p.status = TpStatus::Failed;
                    p.error_code = Some(TpError::Cancelled);
                }
                TerminalOutcome::Timeout => {
                    p.status = TpStatus::Failed;
                    p.error_code = Some(TpError::TimedOut);
                }
            }
        }
        match (p.status, p.error_code) {
            (TpStatus::Failed, Some(code)) => err(
                code,
                match code {
                    TpError::TimedOut => "no card was presented in time",
                    _ => "cancelled at the terminal",
                },
            ),
            _ => TpAnswer::Payment(Box::new(p.clone())),
        }
    }

    pub(crate) fn capture(&mut self, id: &str, amount: Option<Decimal>) -> TpAnswer {
        let Some(p) = self.payments.iter_mut().find(|p| p.id == id) else {
            return err(TpError::NotFound, "no such payment");
        };
        match p.status {
            TpStatus::Captured => TpAnswer::Payment(Box::new(p.clone())),
            TpStatus::Authorized => {
                let amount = amount.unwrap_or(p.approved_amount);
                if amount <= Decimal::ZERO || amount > p.approved_amount {
                    return err(
                        TpError::Validation,
                        "capture amount must be positive and at most the approved amount",
                    );
                }
                p.status = TpStatus::Captured;
                p.captured_amount = Some(amount);
                p.captures += 1;
                TpAnswer::Payment(Box::new(p.clone()))
            }
            _ => err(TpError::NotCapturable, "the payment is not authorized"),
        }
    }

    pub(crate) fn void(&mut self, id: &str) -> TpAnswer {
        let Some(p) = self.payments.iter_mut().find(|p| p.id == id) else {
            return err(TpError::NotFound, "no such payment");
        };
        match p.status {
            TpStatus::Voided => TpAnswer::Payment(Box::new(p.clone())),
            TpStatus::Authorized | TpStatus::Approved | TpStatus::Captured => {
                p.status = TpStatus::Voided;
                p.voids += 1;
                TpAnswer::Payment(Box::new(p.clone()))
            }
            _ => err(TpError::NotCapturable, "the payment cannot be voided"),
        }
    }

    /// Settles every payment whose cardholder is done: the processor finishes a payment
    /// whether or not anyone asks (the lookup and the ledger show its end state).
    pub(crate) fn settle_due(&mut self, now: DateTime<Utc>) {
        for i in 0..self.payments.len() {
            let p = &self.payments[i];
            if p.status == TpStatus::Pending && p.ready_at.is_some_and(|r| r <= now) {
                let _ = self.advance(i, now);
            }
        }
    }

    /// `terminalPayments(refNo:, id:)`.
    pub(crate) fn find(
        &self,
        ref_no: Option<&str>,
        id: Option<&str>,
    ) -> Vec<TerminalPaymentRecord> {
        self.payments
            .iter()
            .filter(|p| ref_no.is_none_or(|r| r == p.ref_no))
            .filter(|p| id.is_none_or(|i| i == p.id))
            .cloned()
            .collect()
    }

    /// The trans type of a payment (permission checks), if it exists.
    pub(crate) fn type_of(&self, id: &str) -> Option<TpType> {
        self.payments
            .iter()
            .find(|p| p.id == id)
            .map(|p| p.trans_type)
    }

    /// The trans type behind a token, if it is known.
    pub(crate) fn type_of_token(&self, token: &str) -> Option<TpType> {
        self.payments
            .iter()
            .find(|p| p.token.as_ref().is_some_and(|(t, _)| t == token))
            .map(|p| p.trans_type)
    }

    /// The token of a PENDING payment, as its record shows it.
    pub(crate) fn pending_token(p: &TerminalPaymentRecord) -> Option<&str> {
        (p.status == TpStatus::Pending)
            .then(|| p.token.as_ref().map(|(t, _)| t.as_str()))
            .flatten()
    }

    pub(crate) fn poll_ms(&self, terminal: &str) -> u64 {
        self.terminals
            .get(terminal)
            .map(|t| t.seed.poll_ms)
            .unwrap_or(100)
    }
}

fn approve(p: &mut TerminalPaymentRecord, amount: Decimal) {
    p.approved_amount = amount;
    p.status = match p.trans_type {
        TpType::Authorize => TpStatus::Authorized,
        TpType::Sale | TpType::Refund => {
            p.captured_amount = Some(amount);
            TpStatus::Approved
        }
    };
    p.card_brand = Some("VISA".into());
    p.last4 = Some("4242".into());
    p.auth_code = Some(format!(
        "A{:05}",
        p.id.parse::<u64>().unwrap_or(0) % 100_000
    ));
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn book() -> TerminalBook {
        TerminalBook::from_seed(&[SeedTerminal {
            id: "T1".into(),
            store_code: "DALLAS".into(),
            lane: None,
            card_delay_ms: 0,
            poll_ms: 50,
            token_ttl_secs: 600,
        }])
    }

    fn start(b: &mut TerminalBook, amount: &str) -> TpAnswer {
        b.start(
            TpStart {
                terminal_id: "T1".into(),
                store_code: "DALLAS".into(),
                trans_type: TpType::Authorize,
                amount: amount.parse().unwrap(),
                ref_no: "R1".into(),
                transaction_id: None,
                original_id: None,
            },
            "c",
            Utc::now(),
            true,
        )
    }

    #[test]
    fn partial_approval_then_capture_is_idempotent() {
        let mut b = book();
        b.push_step(TerminalStep {
            terminal: "T1".into(),
            outcome: TerminalOutcome::Partial {
                amount: "4.00".parse().unwrap(),
            },
            delay_ms: Some(0),
        });
        let TpAnswer::Payment(p) = start(&mut b, "10.00") else {
            panic!("payment expected")
        };
        assert_eq!(p.status, TpStatus::Authorized);
        assert_eq!(p.approved_amount, "4.00".parse::<Decimal>().unwrap());
        assert!(matches!(b.capture(&p.id, None), TpAnswer::Payment(_)));
        assert!(matches!(b.capture(&p.id, None), TpAnswer::Payment(_)));
        assert_eq!(b.payments[0].captures, 1);
        assert!(matches!(
            b.void(&p.id),
            TpAnswer::Payment(p) if p.status == TpStatus::Voided
        ));
    }

    #[test]
    fn pending_payment_makes_the_terminal_busy_and_cancel_fails_it() {
        let mut b = book();
        b.push_step(TerminalStep {
            terminal: "T1".into(),
            outcome: TerminalOutcome::Cancel,
            delay_ms: Some(60_000),
        });
        let TpAnswer::Continuation { token, .. } = start(&mut b, "5.00") else {
            panic!("continuation expected")
        };
        assert!(matches!(
            start(&mut b, "5.00"),
            TpAnswer::Error {
                code: TpError::TerminalBusy,
                ..
            }
        ));
        let later = Utc::now() + TimeDelta::seconds(61);
        assert!(matches!(
            b.continue_(&token, later),
            TpAnswer::Error {
                code: TpError::Cancelled,
                ..
            }
        ));
        assert_eq!(b.find(Some("R1"), None)[0].status, TpStatus::Failed);
        b.expire_tokens();
        assert!(matches!(
            b.continue_(&token, later),
            TpAnswer::Error {
                code: TpError::UnknownContinuation,
                ..
            }
        ));
    }
}
