//! Card payments on a processor terminal that the POS drives (`terminalPayment`,
//! pos-api.md §5.10): the US lane with `terminal.protocol = "pos"` and no ZVT terminal.
//!
//! ```text
//! payment  intent row (refNo minted) ─► start ─► continuation ─► token journaled ─► wait
//!          waitMs ─► continue … ─► payment: AUTHORIZED (amount = approved, maybe partial)
//!                                  │        DECLINED (reason) / error: nothing charged
//!          lost start answer ──────► terminalPayments(refNo:) ─► resume (never start again)
//! complete capturing ─► capture ─► captured        (lost / outage: terminal_capture item)
//! cancel   cancelling ─► void ─► cancelled          (lost / outage: terminal_void item)
//! restart  authorizing / in_doubt ─► resume on an engine-owned movement: the journaled
//!          token, else the lookup by refNo; an empty lookup is proof nothing started
//! ```
//!
//! The link must be up: offline, the tender is refused at once (`link_offline`), never after
//! a timeout, so the register can offer another tender. While the customer is at the
//! terminal the engine emits [`EngineEvent::PaymentProgress`] (waiting for card, approved,
//! declined, cancelled). Capture and void are idempotent at the POS, so an outbox item may
//! send them again; the capture item is queued before the sale's purchase.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use async_trait::async_trait;

use crate::domain::payment::TerminalRef;
use crate::domain::{Money, OutboxKind, OutboxState, PaymentState};
use crate::store::exceptions::{self, NewException};
use crate::store::outbox;
use crate::store::payments::{self, NewPayment, PaymentRecord, PaymentUpdate};

pub use pos_client::{
    TerminalContinuation, TerminalErrorCode, TerminalPayment, TerminalPaymentOutcome,
    TerminalPaymentStartRequest, TerminalPaymentStatus, TerminalPaymentType,
};

use super::in_doubt::PAYMENT_IN_DOUBT;
use super::journal::Journal;
use super::link::Link;
use super::ports::HostError;
use super::{BackoffFactory, Engine, EngineError, EngineEvent, Fault, PaymentAnswer};

/// The reason a card tender gets while the POS link is down.
pub const LINK_OFFLINE: &str = "link_offline";

/// How often a lost `continue` / lookup is asked again before the payment goes in doubt
/// (the in-doubt loop keeps asking after that).
const ASK_ATTEMPTS: usize = 5;

/// The POS's terminal payments, as the engine needs them.
#[cfg_attr(test, mockall::automock)]
#[async_trait]
pub trait TerminalPaymentHost: Send + Sync {
    /// `terminalPayment.start`. Not deduplicated by `refNo`: never call twice for one intent.
    async fn start(
        &self,
        req: &TerminalPaymentStartRequest,
    ) -> Result<TerminalPaymentOutcome, HostError>;
    /// `terminalPayment.continue` (idempotent for one token).
    async fn continue_payment(&self, token: &str) -> Result<TerminalPaymentOutcome, HostError>;
    /// `terminalPayment.capture` (idempotent).
    async fn capture(
        &self,
        id: &str,
        amount: Option<Money>,
    ) -> Result<TerminalPaymentOutcome, HostError>;
    /// `terminalPayment.void` (idempotent).
    async fn void(&self, id: &str) -> Result<TerminalPaymentOutcome, HostError>;
    /// `terminalPayments(refNo:)`.
    async fn lookup(&self, ref_no: &str) -> Result<Vec<TerminalPayment>, HostError>;
}

/// This lane's processor terminal behind the POS.
#[derive(Clone)]
pub struct PosTerminalLane {
    /// The POS's terminal payments.
    pub host: Arc<dyn TerminalPaymentHost>,
    /// `terminal.terminal_id`: the processor's terminal id.
    pub terminal_id: String,
}

/// What the register's cashier sees while the customer is at the terminal.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Progress {
    /// Started; the customer is presenting the card.
    WaitingForCard,
    /// Approved (perhaps partially: see the amount).
    Approved,
    /// Declined (processor, busy, offline, timed out).
    Declined,
    /// Cancelled at the terminal.
    Cancelled,
}

impl Progress {
    /// The SSE spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Progress::WaitingForCard => "waiting_for_card",
            Progress::Approved => "approved",
            Progress::Declined => "declined",
            Progress::Cancelled => "cancelled",
        }
    }
}

/// A plain reason for an `error` answer (nothing was charged).
pub(crate) fn error_reason(code: &TerminalErrorCode, message: Option<&str>) -> String {
    match code {
        TerminalErrorCode::TerminalBusy => "terminal_busy".into(),
        TerminalErrorCode::TerminalOffline => "terminal_offline".into(),
        TerminalErrorCode::Cancelled => "cancelled_at_terminal".into(),
        TerminalErrorCode::TimedOut => "terminal_timed_out".into(),
        TerminalErrorCode::TerminalNotFound => "terminal_not_found".into(),
        other => match message {
            Some(m) if !m.is_empty() => format!("{}: {m}", other.as_str().to_lowercase()),
            _ => other.as_str().to_lowercase(),
        },
    }
}

/// Where the drive loop stands.
enum Step {
    /// An answer from start / continue / the lookup.
    Outcome(TerminalPaymentOutcome),
    /// Ask `terminalPayments(refNo:)` where the payment stands.
    Lookup,
}

/// The card tender on a processor terminal that the POS drives; it takes cards only once
/// the lane's terminal is set ([`PosTerminalTender::set_lane`]).
pub(crate) struct PosTerminalTender {
    pub(super) journal: Journal,
    pub(super) link: Arc<Link>,
    lane: OnceLock<PosTerminalLane>,
    /// Delays between asking again for an answer that was lost.
    retry: BackoffFactory,
    /// Negative-control switch of the crash harness; `None` in production.
    fault: Option<Fault>,
}

impl PosTerminalTender {
    pub(crate) fn new(
        journal: Journal,
        link: Arc<Link>,
        retry: BackoffFactory,
        fault: Option<Fault>,
    ) -> PosTerminalTender {
        PosTerminalTender {
            journal,
            link,
            lane: OnceLock::new(),
            retry,
            fault,
        }
    }

    /// The lane's POS-driven terminal, when `terminal.protocol = "pos"`.
    pub(crate) fn lane(&self) -> Option<&PosTerminalLane> {
        self.lane.get()
    }

    /// Makes this lane take cards on a processor terminal through the POS (wiring, once).
    pub(crate) fn set_lane(&self, lane: PosTerminalLane) {
        if self.lane.set(lane).is_err() {
            tracing::warn!("POS terminal already set; keeping the first.");
        }
    }

    pub(crate) fn progress(&self, p: &PaymentRecord, state: Progress) {
        self.journal.emit(EngineEvent::PaymentProgress {
            sale_id: p.sale_id.clone(),
            payment_id: p.payment_id.clone(),
            amount: p.amount,
            state: state.as_str().into(),
        });
    }

    /// The tender: intent, `start`, continuations, outcome (see the module overview).
    pub(crate) async fn pay(&self, new: NewPayment) -> Result<PaymentAnswer, EngineError> {
        let Some(lane) = self.lane().cloned() else {
            return Err(EngineError::Invalid(
                "this lane has no POS-driven terminal".into(),
            ));
        };
        if !self.link.is_online() {
            return self.journal.record_declined(new, LINK_OFFLINE.into()).await;
        }
        let (sale, _) = self.journal.load(&new.sale_id).await?;
        let p = self.journal.insert_payment(&new).await?;
        self.progress(&p, Progress::WaitingForCard);
        let req = TerminalPaymentStartRequest {
            terminal_id: lane.terminal_id.clone(),
            store_code: self.journal.lane().store_code.clone(),
            trans_type: TerminalPaymentType::Authorize,
            amount: p.amount.0,
            ref_no: p.ref_no.clone(),
            transaction_id: Some(sale.transaction_id),
            original_id: None,
        };
        let step = match lane.host.start(&req).await {
            Ok(o) => {
                self.link.up();
                Step::Outcome(o)
            }
            Err(HostError::NotSent(m)) => {
                self.link.down();
                tracing::warn!(payment_id = %p.payment_id, error = %m, "Terminal payment not started: POS unreachable.");
                let p = self.terminal_declined(&p, LINK_OFFLINE).await?;
                return self.journal.answer(&p).await;
            }
            Err(HostError::NotAuthorized(m)) => {
                tracing::error!(payment_id = %p.payment_id, error = %m,
                    "The POS client lacks permission MakeSaleTerminalPayment; add it to the client's roles.");
                let p = self
                    .terminal_declined(
                        &p,
                        "pos_not_authorized: the POS client lacks permission MakeSaleTerminalPayment",
                    )
                    .await?;
                return self.journal.answer(&p).await;
            }
            Err(HostError::OutcomeUnknown(m)) => {
                // The POS may have started it: ask where it stands, never start again.
                tracing::warn!(payment_id = %p.payment_id, ref_no = %p.ref_no, error = %m, "Terminal payment start answer lost; looking it up by refNo.");
                Step::Lookup
            }
            Err(e) => {
                let p = self.terminal_declined(&p, &e.to_string()).await?;
                return self.journal.answer(&p).await;
            }
        };
        let p = self.drive(p, step).await?;
        self.journal.answer(&p).await
    }

    /// Resumes a payment found `authorizing` or `in_doubt`: the journaled token if there
    /// is one, otherwise the lookup by `refNo`.
    pub(crate) async fn resume(&self, payment_id: &str) -> Result<PaymentRecord, EngineError> {
        let pid = payment_id.to_owned();
        let (p, token) = self
            .journal
            .store()
            .read(move |c, _| Ok((payments::get(c, &pid)?, payments::continuation(c, &pid)?)))
            .await?;
        if !matches!(p.state, PaymentState::Authorizing | PaymentState::InDoubt) {
            return Ok(p);
        }
        tracing::info!(payment_id = %p.payment_id, ref_no = %p.ref_no, with_token = token.is_some(), "Resuming a terminal payment.");
        let token = if self.fault == Some(Fault::ResendPosStart) {
            // Negative control only: start again, blind, as a naive recovery would.
            let (sale, _) = self.journal.load(&p.sale_id).await?;
            let host = self.pos_host()?;
            let terminal_id = self
                .lane()
                .map(|l| l.terminal_id.clone())
                .unwrap_or_default();
            let req = TerminalPaymentStartRequest {
                terminal_id,
                store_code: self.journal.lane().store_code.clone(),
                trans_type: TerminalPaymentType::Authorize,
                amount: p.amount.0,
                ref_no: p.ref_no.clone(),
                transaction_id: Some(sale.transaction_id),
                original_id: None,
            };
            let first = host.start(&req).await.map_err(EngineError::Host)?;
            let p = self.drive(p, Step::Outcome(first)).await?;
            return Ok(p);
        } else {
            token
        };
        let step = match token {
            Some(token) => {
                Step::Outcome(TerminalPaymentOutcome::Continuation(TerminalContinuation {
                    token,
                    wait_ms: 0,
                }))
            }
            None => Step::Lookup,
        };
        let p = self.drive(p, step).await?;
        // The register cancelled the sale while this payment was still at the terminal
        // (its cancel answered 409 and left the sale `cancelling`): give the hold back now.
        let (sale, _) = self.journal.load(&p.sale_id).await?;
        if sale.state == crate::domain::SaleState::Cancelling
            && matches!(p.state, PaymentState::Authorized | PaymentState::Approved)
        {
            self.void(&p).await?;
        }
        Ok(p)
    }

    /// Follows continuations (and lookups) until the payment ends or must go in doubt.
    async fn drive(&self, p: PaymentRecord, first: Step) -> Result<PaymentRecord, EngineError> {
        let host = match self.lane() {
            Some(l) => l.host.clone(),
            None => return Err(EngineError::Invalid("no POS-driven terminal".into())),
        };
        let mut step = first;
        let mut journaled: Option<String> = None;
        let mut relooked = false;
        loop {
            step = match step {
                Step::Lookup => match self.ask(|| host.lookup(&p.ref_no)).await {
                    Ok(found) => match found.into_iter().find(|t| t.ref_no == p.ref_no) {
                        // Proof that start never accepted it: nothing charged.
                        None => return self.terminal_declined(&p, "not_started").await,
                        Some(tp) => Step::Outcome(TerminalPaymentOutcome::Payment(Box::new(tp))),
                    },
                    Err(m) => return self.terminal_in_doubt(&p, &m).await,
                },
                Step::Outcome(TerminalPaymentOutcome::Continuation(c)) => {
                    if journaled.as_deref() != Some(c.token.as_str()) {
                        let (pid, token) = (p.payment_id.clone(), c.token.clone());
                        self.journal
                            .journal_outcome(move |conn, _| {
                                payments::set_continuation(conn, &pid, Some(&token))
                            })
                            .await?;
                        journaled = Some(c.token.clone());
                    }
                    // The POS's own poll interval, not a synchronisation.
                    tokio::time::sleep(Duration::from_millis(u64::from(c.wait_ms).min(10_000)))
                        .await;
                    match self.ask(|| host.continue_payment(&c.token)).await {
                        Ok(o) => Step::Outcome(o),
                        Err(m) => return self.terminal_in_doubt(&p, &m).await,
                    }
                }
                Step::Outcome(TerminalPaymentOutcome::Error { code, message }) => {
                    if code != TerminalErrorCode::UnknownContinuation {
                        return self
                            .terminal_declined(&p, &error_reason(&code, message.as_deref()))
                            .await;
                    }
                    // An expired or unknown token: the lookup says where it stands (once;
                    // the lookup's own token failing too is left to the in-doubt loop).
                    if relooked {
                        return self
                            .terminal_in_doubt(&p, "continuation unknown after the lookup")
                            .await;
                    }
                    relooked = true;
                    Step::Lookup
                }
                Step::Outcome(TerminalPaymentOutcome::Payment(tp)) => match tp.status {
                    TerminalPaymentStatus::Pending => match tp.continuation.clone() {
                        Some(c) => Step::Outcome(TerminalPaymentOutcome::Continuation(c)),
                        None => {
                            return self
                                .terminal_in_doubt(&p, "pending payment without continuation")
                                .await;
                        }
                    },
                    _ => return self.settle_terminal(&p, &tp).await,
                },
            };
        }
    }

    /// Asks an idempotent question (continue, lookup) again on the shared backoff while the
    /// answer is lost or the POS unreachable; any other failure ends the asking.
    pub(crate) async fn ask<T, F, Fut>(&self, call: F) -> Result<T, String>
    where
        F: Fn() -> Fut,
        Fut: std::future::Future<Output = Result<T, HostError>>,
    {
        let mut delays = (self.retry)();
        let mut last = String::new();
        for _ in 0..ASK_ATTEMPTS {
            match call().await {
                Ok(v) => {
                    self.link.up();
                    return Ok(v);
                }
                Err(e @ (HostError::NotSent(_) | HostError::OutcomeUnknown(_))) => {
                    self.link.note(&e);
                    last = e.to_string();
                    let wait = delays.next().unwrap_or(Duration::from_secs(5));
                    tokio::time::sleep(wait.min(Duration::from_secs(2))).await;
                }
                Err(e) => return Err(e.to_string()),
            }
        }
        Err(last)
    }

    /// Journals what the POS says about a finished payment.
    async fn settle_terminal(
        &self,
        p: &PaymentRecord,
        tp: &TerminalPayment,
    ) -> Result<PaymentRecord, EngineError> {
        let approved = Money(tp.approved_amount);
        let to = match tp.status {
            TerminalPaymentStatus::Authorized | TerminalPaymentStatus::Captured => {
                PaymentState::Authorized
            }
            TerminalPaymentStatus::Approved => PaymentState::Approved,
            TerminalPaymentStatus::Declined => {
                let reason = tp.decline_reason.as_deref().unwrap_or("declined");
                return self
                    .terminal_declined(p, &format!("declined: {reason}"))
                    .await;
            }
            TerminalPaymentStatus::Failed => {
                let code = tp
                    .error_code
                    .clone()
                    .unwrap_or(TerminalErrorCode::Cancelled);
                return self.terminal_declined(p, &error_reason(&code, None)).await;
            }
            TerminalPaymentStatus::Voided => return self.terminal_declined(p, "voided").await,
            TerminalPaymentStatus::Pending | TerminalPaymentStatus::Other(_) => {
                return self
                    .terminal_in_doubt(p, &format!("unexpected status {:?}", tp.status))
                    .await;
            }
        };
        if !approved.is_positive() {
            return self
                .terminal_declined(p, "declined: nothing approved")
                .await;
        }
        let partial = approved < p.amount;
        let upd = PaymentUpdate {
            amount: Some(approved),
            pos_trans_id: Some(tp.id.clone()),
            terminal: Some(TerminalRef {
                masked_pan: tp.last4.as_ref().map(|l| format!("****{l}")),
                card_name: tp.card_brand.clone(),
                ..Default::default()
            }),
            reason: partial.then(|| "partial_approval".to_owned()),
            ..Default::default()
        };
        let was_in_doubt = p.state == PaymentState::InDoubt;
        let p = self.journal.move_payment(&p.payment_id, to, upd).await?;
        if was_in_doubt {
            self.journal
                .settle_exceptions(&p.payment_id, PAYMENT_IN_DOUBT, "approved")
                .await?;
        }
        tracing::info!(payment_id = %p.payment_id, pos_id = %tp.id, amount = %approved, partial, "Terminal payment authorized.");
        self.progress(&p, Progress::Approved);
        Ok(p)
    }

    async fn terminal_declined(
        &self,
        p: &PaymentRecord,
        reason: &str,
    ) -> Result<PaymentRecord, EngineError> {
        let was_in_doubt = p.state == PaymentState::InDoubt;
        let upd = PaymentUpdate {
            reason: Some(reason.to_owned()),
            ..Default::default()
        };
        let p = self
            .journal
            .move_payment(&p.payment_id, PaymentState::Declined, upd)
            .await?;
        if was_in_doubt {
            self.journal
                .settle_exceptions(&p.payment_id, PAYMENT_IN_DOUBT, "not_executed")
                .await?;
        }
        tracing::info!(payment_id = %p.payment_id, reason, "Terminal payment declined.");
        self.progress(
            &p,
            if reason == "cancelled_at_terminal" {
                Progress::Cancelled
            } else {
                Progress::Declined
            },
        );
        Ok(p)
    }

    async fn terminal_in_doubt(
        &self,
        p: &PaymentRecord,
        why: &str,
    ) -> Result<PaymentRecord, EngineError> {
        tracing::warn!(payment_id = %p.payment_id, ref_no = %p.ref_no, error = %why, "Terminal payment in doubt; the lookup is asked again.");
        let upd = PaymentUpdate {
            reason: Some("terminal_payment_unknown".into()),
            ..Default::default()
        };
        self.journal
            .move_payment(&p.payment_id, PaymentState::InDoubt, upd)
            .await
    }

    /// At completion: captures an authorized payment; an outage or lost answer leaves a
    /// `terminal_capture` item (queued before the sale's purchase).
    pub(crate) async fn capture(&self, p: &PaymentRecord) -> Result<(), EngineError> {
        let p = match p.state {
            PaymentState::Authorized => {
                self.journal
                    .move_payment(
                        &p.payment_id,
                        PaymentState::Capturing,
                        PaymentUpdate::default(),
                    )
                    .await?
            }
            PaymentState::Capturing => {
                return self
                    .journal
                    .ensure_item(p, OutboxKind::TerminalCapture)
                    .await;
            }
            _ => return Ok(()),
        };
        if let Some(upd) = self.capture_now(&p).await? {
            self.journal
                .move_payment(&p.payment_id, PaymentState::Captured, upd)
                .await?;
        }
        Ok(())
    }

    /// Captures a terminal payment in `capturing` through the POS. Returns the update that
    /// goes with its `captured` state (the caller journals it), or `None` when a
    /// `terminal_capture` item will finish it.
    pub(crate) async fn capture_now(
        &self,
        p: &PaymentRecord,
    ) -> Result<Option<PaymentUpdate>, EngineError> {
        let host = self.pos_host()?;
        let id = p.pos_trans_id.clone().unwrap_or_default();
        match host.capture(&id, Some(p.amount)).await {
            Ok(TerminalPaymentOutcome::Payment(tp))
                if tp.status == TerminalPaymentStatus::Captured =>
            {
                self.link.up();
                Ok(Some(PaymentUpdate::default()))
            }
            other => {
                if let Err(e) = &other {
                    self.link.note(e);
                }
                tracing::warn!(payment_id = %p.payment_id, answer = ?other.as_ref().map(|_| "unexpected"), "Terminal capture deferred to the outbox.");
                self.journal
                    .ensure_item(p, OutboxKind::TerminalCapture)
                    .await?;
                Ok(None)
            }
        }
    }

    /// At cancel: voids an authorized (or approved) payment; an outage or lost answer leaves
    /// a `terminal_void` item.
    pub(crate) async fn void(&self, p: &PaymentRecord) -> Result<(), EngineError> {
        let p = match p.state {
            PaymentState::Authorized | PaymentState::Approved => {
                self.journal
                    .move_payment(
                        &p.payment_id,
                        PaymentState::Cancelling,
                        PaymentUpdate::default(),
                    )
                    .await?
            }
            PaymentState::Cancelling => {
                return self.journal.ensure_item(p, OutboxKind::TerminalVoid).await;
            }
            PaymentState::Authorizing => {
                return Err(EngineError::InvalidState(format!(
                    "payment {} is still at the terminal",
                    p.payment_id
                )));
            }
            _ => return Ok(()),
        };
        let host = self.pos_host()?;
        let id = p.pos_trans_id.clone().unwrap_or_default();
        match host.void(&id).await {
            Ok(TerminalPaymentOutcome::Payment(tp))
                if tp.status == TerminalPaymentStatus::Voided =>
            {
                self.link.up();
                self.journal
                    .move_payment(
                        &p.payment_id,
                        PaymentState::Cancelled,
                        PaymentUpdate::default(),
                    )
                    .await?;
                tracing::info!(payment_id = %p.payment_id, pos_id = %id, "Terminal payment voided.");
                Ok(())
            }
            other => {
                if let Err(e) = &other {
                    self.link.note(e);
                }
                tracing::warn!(payment_id = %p.payment_id, "Terminal void deferred to the outbox.");
                self.journal.ensure_item(&p, OutboxKind::TerminalVoid).await
            }
        }
    }

    fn pos_host(&self) -> Result<Arc<dyn TerminalPaymentHost>, EngineError> {
        self.lane()
            .map(|l| l.host.clone())
            .ok_or_else(|| EngineError::Invalid("this lane has no POS-driven terminal".into()))
    }

    /// The forwarder's send of a `terminal_capture` / `terminal_void` item (idempotent at
    /// the POS): done → item confirmed with the payment; unreachable or lost → retry; a
    /// definitive refusal → rejected with an exception for the operator.
    pub(crate) async fn send_item(
        &self,
        item: crate::domain::outbox::OutboxItem,
    ) -> Result<super::forwarder::Step, EngineError> {
        use super::forwarder::Step;
        let pid = item.payment_id.clone().unwrap_or_default();
        let p = self.journal.payment(&pid).await?;
        let capture = item.kind == OutboxKind::TerminalCapture;
        let host = self.pos_host()?;
        let id = p.pos_trans_id.clone().unwrap_or_default();
        let answer = if capture {
            host.capture(&id, Some(p.amount)).await
        } else {
            host.void(&id).await
        };
        let (done, want) = if capture {
            (PaymentState::Captured, TerminalPaymentStatus::Captured)
        } else {
            (PaymentState::Cancelled, TerminalPaymentStatus::Voided)
        };
        let (item_to, pay_to, failure) = match answer {
            Ok(TerminalPaymentOutcome::Payment(tp)) if tp.status == want => {
                (OutboxState::Confirmed, Some(done), None)
            }
            Ok(TerminalPaymentOutcome::Continuation(_)) => (
                OutboxState::Rejected,
                None,
                Some("unexpected continuation".to_owned()),
            ),
            Ok(TerminalPaymentOutcome::Payment(tp)) => (
                OutboxState::Rejected,
                None,
                Some(format!("payment is {:?}", tp.status)),
            ),
            Ok(TerminalPaymentOutcome::Error { code, message }) => (
                OutboxState::Rejected,
                None,
                Some(error_reason(&code, message.as_deref())),
            ),
            Err(e @ (HostError::NotSent(_) | HostError::OutcomeUnknown(_))) => {
                self.link.note(&e);
                tracing::warn!(outbox_id = item.id, kind = %item.kind, error = %e, "Terminal capture/void not done; will retry.");
                let it = self
                    .journal
                    .store()
                    .write({
                        let m = e.to_string();
                        move |c, _| outbox::transition(c, item.id, OutboxState::New, Some(&m))
                    })
                    .await?;
                self.journal.emit(EngineEvent::Outbox {
                    id: it.id,
                    kind: it.kind,
                    state: it.state,
                });
                return Ok(Step::Retry(item.id, None));
            }
            Err(e) => (OutboxState::Rejected, None, Some(e.to_string())),
        };
        let kind = if capture {
            "terminal_capture_failed"
        } else {
            "terminal_void_failed"
        };
        let (iid, f) = (item.id, failure.clone());
        let (p, exc) = self
            .journal
            .journal_outcome(move |c, _| {
                outbox::transition(c, iid, item_to, f.as_deref())?;
                let p = match pay_to {
                    Some(to) => payments::transition(c, &pid, to, PaymentUpdate::default())?,
                    None => payments::get(c, &pid)?,
                };
                let exc = match &f {
                    Some(reason) => Some(exceptions::raise(
                        c,
                        &NewException {
                            kind: kind.into(),
                            sale_id: Some(p.sale_id.clone()),
                            payment_id: Some(pid.clone()),
                            outbox_id: Some(iid),
                            amount: Some(p.amount),
                            code_masked: None,
                            reason: reason.clone(),
                        },
                    )?),
                    None => None,
                };
                Ok((p, exc))
            })
            .await?;
        self.link.up();
        self.journal.emit(EngineEvent::Outbox {
            id: item.id,
            kind: item.kind,
            state: item_to,
        });
        self.journal.payment_event(&p);
        if let (Some(id), Some(reason)) = (exc, failure) {
            tracing::error!(outbox_id = item.id, exception_id = id, reason = %reason, "Terminal capture/void refused by the POS; exception raised.");
            self.journal.exception_event(id, kind, &reason);
        }
        Ok(Step::Done(item.id, item_to))
    }
}

impl Engine {
    /// The card tender on a processor terminal that the POS drives.
    pub(crate) fn pos_terminal(&self) -> &PosTerminalTender {
        &self.inner.pos_terminal
    }

    /// Makes this lane take cards on a processor terminal through the POS (wiring, once).
    pub fn set_pos_terminal(&self, lane: PosTerminalLane) {
        self.pos_terminal().set_lane(lane);
    }

    /// Runs [`PosTerminalTender::resume`] on an engine-owned movement under the payment's
    /// key (a register retrying the payment waits on it), without waiting for it here.
    pub(crate) fn spawn_resume_pos_terminal(&self, payment_id: &str) {
        let key = format!("payment:{payment_id}");
        if self.inner.movements.is_running(&key) {
            return;
        }
        let (engine, pid) = (self.clone(), payment_id.to_owned());
        tokio::spawn(async move {
            let res = engine
                .submit(key, move |e| {
                    let pid = pid.clone();
                    async move { e.pos_terminal().resume(&pid).await }
                })
                .await;
            if let Err(e) = res {
                tracing::warn!(error = %e, "Terminal payment could not be resumed yet.");
            }
        });
    }
}
