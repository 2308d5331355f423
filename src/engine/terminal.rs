//! The card tender on the lane's own terminal.
//!
//! Every terminal command is journaled before it is sent, with the recovery evidence it needs
//! (the amount and the terminal's last trace number known before it): a payment row in
//! `authorizing`, a reservation's booking in `capturing`, a reversal in `cancelling`. A lost
//! answer is settled through [`PaymentTerminal::recover`](super::ports::PaymentTerminal::recover)
//! and `zvt::recovery::decide`: approved or not executed only on positive evidence, otherwise
//! the payment is **in doubt** (an exception is raised and the evidence is asked again), and a
//! booking or reversal stays where it is. Nothing is ever sent twice blind.

use std::sync::Arc;

use crate::domain::PaymentState;
use crate::domain::payment::{TerminalMode, TerminalRef};
use crate::store::payments::{self, NewPayment, PaymentRecord, PaymentUpdate};

use super::in_doubt::PAYMENT_IN_DOUBT;
use super::journal::Journal;
use super::ports::PaymentTerminal;
use super::ports::{Recovered, RecoveryIntent, TerminalError, TerminalOutcome, TerminalRequest};
use super::{EngineError, Fault, PaymentAnswer};

fn refs(o: &TerminalOutcome) -> TerminalRef {
    TerminalRef {
        receipt_no: o.receipt_no,
        trace_no: o.trace_no,
        masked_pan: o.masked_pan.as_deref().map(crate::store::mask),
        card_name: o.card_name.clone(),
    }
}

fn intent(p: &PaymentRecord) -> RecoveryIntent {
    RecoveryIntent {
        amount: p.amount,
        trace_before: p.trace_before,
    }
}

/// How a follow-up command (book total, reversal) stands after its recovery.
enum FollowUp {
    /// The terminal did it.
    Done(TerminalOutcome),
    /// The terminal did not do it: it may be sent (again).
    NotDone,
}

/// The card tender on the lane's own terminal (ZVT): authorize or reserve at payment time,
/// book the total at completion, reverse on cancel, and settle a lost answer from the
/// terminal's evidence.
#[derive(Clone)]
pub struct CardTender {
    pub(super) journal: Journal,
    pub(super) terminal: Arc<dyn PaymentTerminal>,
    /// Negative-control switch of the crash harness; `None` in production.
    fault: Option<Fault>,
}

impl CardTender {
    pub(crate) fn new(
        journal: Journal,
        terminal: Arc<dyn PaymentTerminal>,
        fault: Option<Fault>,
    ) -> CardTender {
        CardTender {
            journal,
            terminal,
            fault,
        }
    }

    /// The terminal's last trace number before a command: the terminal client's, else the
    /// journal's latest.
    async fn trace_before(&self) -> Result<Option<u32>, EngineError> {
        if let Some(t) = self.terminal.last_trace().await {
            return Ok(Some(t));
        }
        Ok(self
            .journal
            .store()
            .read(|c, _| payments::last_trace(c))
            .await?)
    }

    /// Card: the intent (with its recovery evidence) is journaled, then the terminal
    /// authorizes (or reserves). A lost answer is recovered, never asked again.
    pub(crate) async fn pay(&self, new: NewPayment) -> Result<PaymentAnswer, EngineError> {
        let lane = self.journal.lane();
        let (sc, rc) = (lane.store_code.clone(), lane.register_code.clone());
        let mut n = new.clone();
        n.trace_before = self.trace_before().await?;
        let p = self
            .journal
            .store()
            .write(move |c, s| payments::insert(c, s, &sc, &rc, &n))
            .await?
            .into_inner();
        self.journal.payment_event(&p);
        let req = TerminalRequest {
            amount: p.amount,
            reference: p.ref_no.clone(),
        };
        let t = &self.terminal;
        let res = if p.terminal_mode == Some(TerminalMode::Reserve) {
            t.reserve(&req).await
        } else {
            t.authorize(&req).await
        };
        let p = self.settle(&p, res).await?;
        self.journal.answer(&p).await
    }

    /// Applies a terminal answer to a payment in `authorizing`; a lost answer goes through
    /// [`CardTender::recover`].
    pub(crate) async fn settle(
        &self,
        p: &PaymentRecord,
        res: Result<TerminalOutcome, TerminalError>,
    ) -> Result<PaymentRecord, EngineError> {
        if let Ok(o) = &res {
            self.keep_receipt_lines(&p.payment_id, &o.receipt_lines)
                .await?;
        }
        match res {
            Ok(o) if o.approved => self.card_approved(p, &o).await,
            Ok(o) => {
                let reason = o
                    .result_text
                    .clone()
                    .unwrap_or_else(|| "declined by terminal".into());
                let upd = PaymentUpdate {
                    terminal: Some(refs(&o)),
                    reason: Some(reason),
                    ..Default::default()
                };
                self.journal
                    .move_payment(&p.payment_id, PaymentState::Declined, upd)
                    .await
            }
            Err(TerminalError::OutcomeUnknown(m)) => {
                tracing::warn!(payment_id = %p.payment_id, error = %m, "Terminal answer lost; recovering from the terminal's evidence.");
                self.recover(p).await
            }
            // Nothing reached the terminal, or it refused the command before running it.
            Err(e) => {
                let upd = PaymentUpdate {
                    reason: Some(e.to_string()),
                    ..Default::default()
                };
                self.journal
                    .move_payment(&p.payment_id, PaymentState::Declined, upd)
                    .await
            }
        }
    }

    /// Journals the terminal's own receipt lines of a command for the payment (masked again
    /// by the store), before its state moves: the customer receipt shows them.
    pub(crate) async fn keep_receipt_lines(
        &self,
        payment_id: &str,
        lines: &[String],
    ) -> Result<(), EngineError> {
        if lines.is_empty() {
            return Ok(());
        }
        let (id, lines) = (payment_id.to_owned(), lines.to_vec());
        self.journal
            .journal_outcome(move |c, _| crate::store::receipts::append(c, &id, &lines))
            .await
    }

    async fn card_approved(
        &self,
        p: &PaymentRecord,
        o: &TerminalOutcome,
    ) -> Result<PaymentRecord, EngineError> {
        let to = if p.terminal_mode == Some(TerminalMode::Reserve) {
            PaymentState::Authorized
        } else {
            PaymentState::Approved
        };
        let upd = PaymentUpdate {
            amount: Some(o.amount),
            terminal: Some(refs(o)),
            ..Default::default()
        };
        self.journal.move_payment(&p.payment_id, to, upd).await
    }

    /// Settles a card payment in `authorizing` or `in_doubt` from the terminal's evidence:
    /// approved (our amount, a receipt no other payment holds) or declined only on positive
    /// evidence; otherwise in doubt, with an exception open.
    pub(crate) async fn recover(&self, p: &PaymentRecord) -> Result<PaymentRecord, EngineError> {
        if self.fault == Some(Fault::ResendCard) && p.state == PaymentState::Authorizing {
            return self.resend_card_blind(p).await;
        }
        let verdict = match self.terminal.recover(&intent(p)).await {
            Ok(Recovered::Approved(o)) => match o.receipt_no {
                Some(r) if self.receipt_used(r, &p.payment_id).await? => Recovered::Unknown(
                    "the terminal's last receipt belongs to another payment".into(),
                ),
                _ => Recovered::Approved(o),
            },
            Ok(other) => other,
            Err(e) => Recovered::Unknown(e.to_string()),
        };
        match verdict {
            Recovered::Approved(o) => {
                tracing::info!(payment_id = %p.payment_id, "Lost card payment recovered as approved.");
                let p = self.card_approved(p, &o).await?;
                self.journal
                    .settle_exceptions(&p.payment_id, PAYMENT_IN_DOUBT, "evidence: approved")
                    .await?;
                Ok(p)
            }
            Recovered::NotExecuted(reason) => {
                tracing::info!(payment_id = %p.payment_id, reason, "Lost card payment was not executed.");
                let upd = PaymentUpdate {
                    reason: Some(format!("not executed by the terminal: {reason}")),
                    ..Default::default()
                };
                let p = self
                    .journal
                    .move_payment(&p.payment_id, PaymentState::Declined, upd)
                    .await?;
                self.journal
                    .settle_exceptions(&p.payment_id, PAYMENT_IN_DOUBT, "evidence: not executed")
                    .await?;
                Ok(p)
            }
            Recovered::Unknown(reason) if p.state == PaymentState::InDoubt => {
                tracing::debug!(payment_id = %p.payment_id, reason, "Card payment still in doubt.");
                Ok(p.clone())
            }
            Recovered::Unknown(reason) => {
                tracing::warn!(payment_id = %p.payment_id, reason, "Card payment in doubt.");
                let upd = PaymentUpdate {
                    reason: Some(format!("terminal outcome unknown: {reason}")),
                    ..Default::default()
                };
                self.journal
                    .move_payment(&p.payment_id, PaymentState::InDoubt, upd)
                    .await
            }
        }
    }

    /// Negative control only ([`Fault::ResendCard`]): the broken recovery the crash
    /// harness must catch, sending the payment again as if the first never left.
    async fn resend_card_blind(&self, p: &PaymentRecord) -> Result<PaymentRecord, EngineError> {
        tracing::warn!(payment_id = %p.payment_id, "Fault injection: card payment sent again blind.");
        let req = TerminalRequest {
            amount: p.amount,
            reference: p.ref_no.clone(),
        };
        let t = &self.terminal;
        let res = if p.terminal_mode == Some(TerminalMode::Reserve) {
            t.reserve(&req).await
        } else {
            t.authorize(&req).await
        };
        match res {
            Ok(o) if o.approved => self.card_approved(p, &o).await,
            _ => {
                let upd = PaymentUpdate {
                    reason: Some("fault injection: resend failed".into()),
                    ..Default::default()
                };
                self.journal
                    .move_payment(&p.payment_id, PaymentState::Declined, upd)
                    .await
            }
        }
    }

    async fn receipt_used(&self, receipt: u32, payment_id: &str) -> Result<bool, EngineError> {
        let pid = payment_id.to_owned();
        Ok(self
            .journal
            .store()
            .read(move |c, _| payments::receipt_used_by_other(c, receipt, &pid))
            .await?)
    }

    /// Enters `to` (capturing / cancelling) with the evidence for the follow-up command
    /// journaled; a payment already there had its command sent (or maybe sent) before, so it
    /// is recovered first.
    async fn follow_up(
        &self,
        p: &PaymentRecord,
        to: PaymentState,
        what: &'static str,
        send: impl AsyncFnOnce(u32) -> Result<TerminalOutcome, TerminalError>,
    ) -> Result<TerminalOutcome, EngineError> {
        let receipt = p.terminal.receipt_no.ok_or_else(|| {
            EngineError::InvalidState(format!("card payment without receipt ({what})"))
        })?;
        if p.state == to {
            match self.recover_follow_up(p, what).await? {
                FollowUp::Done(o) => return Ok(o),
                FollowUp::NotDone => {}
            }
        }
        let trace_before = self.trace_before().await?;
        let pid = p.payment_id.clone();
        let moving = p.state != to;
        let p = self
            .journal
            .store()
            .write(move |c, _| {
                payments::set_trace_before(c, &pid, trace_before)?;
                if moving {
                    payments::transition(c, &pid, to, PaymentUpdate::default())
                } else {
                    payments::get(c, &pid)
                }
            })
            .await?;
        self.journal.payment_event(&p);
        match send(receipt).await {
            Ok(o) if o.approved => Ok(o),
            Ok(o) => Err(EngineError::Terminal(TerminalError::Other(
                o.result_text.unwrap_or_else(|| format!("{what} refused")),
            ))),
            Err(TerminalError::OutcomeUnknown(m)) => {
                tracing::warn!(payment_id = %p.payment_id, error = %m, what, "Terminal answer lost; recovering from the terminal's evidence.");
                match self.recover_follow_up(&p, what).await? {
                    FollowUp::Done(o) => Ok(o),
                    FollowUp::NotDone => Err(EngineError::Terminal(TerminalError::NotSent(
                        format!("{what} not executed by the terminal"),
                    ))),
                }
            }
            Err(e) => Err(e.into()),
        }
    }

    async fn recover_follow_up(
        &self,
        p: &PaymentRecord,
        what: &'static str,
    ) -> Result<FollowUp, EngineError> {
        match self.terminal.recover(&intent(p)).await? {
            Recovered::Approved(o) => Ok(FollowUp::Done(o)),
            Recovered::NotExecuted(_) => Ok(FollowUp::NotDone),
            Recovered::Unknown(reason) => {
                let reason = format!("{what} for payment {}: {reason}", p.payment_id);
                self.journal
                    .raise_once(p, super::in_doubt::FOLLOW_UP_IN_DOUBT, &reason)
                    .await?;
                Err(EngineError::Terminal(TerminalError::OutcomeUnknown(reason)))
            }
        }
    }

    /// Journals a follow-up command the terminal did (or whose evidence says it did), and
    /// closes the exception an earlier lost answer of it raised.
    async fn follow_up_done(
        &self,
        p: &PaymentRecord,
        to: PaymentState,
        upd: PaymentUpdate,
    ) -> Result<(), EngineError> {
        self.journal.move_payment(&p.payment_id, to, upd).await?;
        self.journal
            .settle_exceptions(
                &p.payment_id,
                super::in_doubt::FOLLOW_UP_IN_DOUBT,
                "evidence: done",
            )
            .await
    }

    /// Books the total of a reservation at completion.
    pub(crate) async fn book(&self, p: &PaymentRecord) -> Result<(), EngineError> {
        let t = std::sync::Arc::clone(&self.terminal);
        let amount = p.amount;
        let o = self
            .follow_up(p, PaymentState::Capturing, "book total", async move |r| {
                t.book_total(r, amount).await
            })
            .await?;
        self.keep_receipt_lines(&p.payment_id, &o.receipt_lines)
            .await?;
        self.follow_up_done(
            p,
            PaymentState::Captured,
            PaymentUpdate {
                // A recovered booking carries no card data: keep the reservation's.
                terminal: Some(TerminalRef {
                    receipt_no: o.receipt_no.or(p.terminal.receipt_no),
                    trace_no: o.trace_no.or(p.terminal.trace_no),
                    masked_pan: o
                        .masked_pan
                        .as_deref()
                        .map(crate::store::mask)
                        .or_else(|| p.terminal.masked_pan.clone()),
                    card_name: o.card_name.clone().or_else(|| p.terminal.card_name.clone()),
                }),
                ..Default::default()
            },
        )
        .await
    }

    /// Reverses an approved card payment (06 30) or releases a reservation (06 25), as the
    /// payment's journaled mode says.
    pub(crate) async fn reverse(&self, p: &PaymentRecord) -> Result<(), EngineError> {
        let t = std::sync::Arc::clone(&self.terminal);
        let reservation = p.terminal_mode == Some(TerminalMode::Reserve);
        let o = self
            .follow_up(p, PaymentState::Cancelling, "reversal", async move |r| {
                t.reverse(r, reservation).await
            })
            .await?;
        self.keep_receipt_lines(&p.payment_id, &o.receipt_lines)
            .await?;
        // The reversal's trace is the terminal's latest transaction: after a restart it is the
        // `trace_before` of the next card payment (`payments::last_trace`). Without it a lost
        // payment of the same amount would be matched to this reversal and taken as approved.
        self.follow_up_done(
            p,
            PaymentState::Cancelled,
            PaymentUpdate {
                terminal: Some(TerminalRef {
                    trace_no: o.trace_no.or(p.terminal.trace_no),
                    ..p.terminal.clone()
                }),
                ..Default::default()
            },
        )
        .await
    }
}
