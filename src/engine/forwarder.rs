//! The outbox forwarder and the operator's outbox operations.
//!
//! `new → sending` is committed before a request leaves; the answer is classified
//! (reliability.md §2 rule 3) and committed. The service drains the outbox with up to
//! `[pos] forward_window` purchases of different sales in flight ([`drain`]); every other kind
//! goes out alone, in id order. An item that could not be sent stops the drain and the
//! forwarder waits the backoff or a wake-up. [`Forwarder::forward_once`] is one item, alone.

mod drain;
#[cfg(test)]
mod drain_tests;

pub use drain::Drained;

use std::sync::Arc;
use std::sync::atomic::AtomicUsize;

use tokio_util::sync::CancellationToken;

use crate::domain::{OutboxKind, OutboxState, PaymentState};
use crate::store::outbox::{self, OutboxItem};
use crate::store::payments::{self, PaymentUpdate};

use super::giftcard::Giftcards;
use super::journal::Journal;
use super::link::Link;
use super::ports::{PurchaseInput, SinkError};
use super::pos_terminal::PosTerminalTender;
use super::{BackoffFactory, Engine, EngineError, EngineEvent, Fault, PurchaseSink, Resolution};

/// What one forwarding step did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Step {
    /// Nothing to send.
    Idle,
    /// An item reached a state (confirmed, rejected, in doubt).
    Done(i64, OutboxState),
    /// The item could not be sent; it is `new` again and the queue waits.
    Retry(i64, Option<std::time::Duration>),
}

/// The outbox's forwarder and the operator's outbox operations: it sends purchases itself
/// and hands the other kinds to their tender (gift-card items, the POS-driven terminal's
/// capture and void).
#[derive(Clone)]
pub struct Forwarder {
    journal: Journal,
    link: Arc<Link>,
    purchases: Arc<dyn PurchaseSink>,
    giftcards: Giftcards,
    pos_terminal: Arc<PosTerminalTender>,
    /// Delays between forwarding attempts while the POS is unreachable.
    backoff: BackoffFactory,
    /// Negative-control switch of the crash harness; `None` in production.
    fault: Option<Fault>,
    /// Purchases kept in flight at once (1: one item after the other).
    window: Arc<AtomicUsize>,
}

impl Forwarder {
    pub(crate) fn new(
        journal: Journal,
        link: Arc<Link>,
        purchases: Arc<dyn PurchaseSink>,
        giftcards: Giftcards,
        pos_terminal: Arc<PosTerminalTender>,
        backoff: BackoffFactory,
        fault: Option<Fault>,
    ) -> Forwarder {
        Forwarder {
            journal,
            link,
            purchases,
            giftcards,
            pos_terminal,
            backoff,
            fault,
            window: Arc::new(AtomicUsize::new(1)),
        }
    }

    /// Drains the outbox until `shutdown`. Waits on wake-ups (new item, link back, flush)
    /// instead of polling.
    pub async fn run(&self, shutdown: CancellationToken) {
        self.run_beating(shutdown, &|| {}, std::time::Duration::from_secs(3600))
            .await;
    }

    /// [`Forwarder::run`] that calls `beat` after every answer and commit and every
    /// `every` while it waits, never while it only waits on requests in flight: a forwarder
    /// stuck on its items stops beating, so the service withholds the watchdog ping (issue
    /// 13 item 9).
    pub async fn run_beating(
        &self,
        shutdown: CancellationToken,
        beat: &(dyn Fn() + Send + Sync),
        every: std::time::Duration,
    ) {
        let mut delays = (self.backoff)();
        loop {
            if shutdown.is_cancelled() {
                return;
            }
            beat();
            let (done, end) = self.drain(&shutdown, beat).await;
            if done > 0 {
                delays = (self.backoff)();
            }
            let wait = match end {
                drain::End::Shutdown => return,
                drain::End::Idle => None,
                drain::End::Stopped(after) => Some(
                    after
                        .or_else(|| delays.next())
                        .unwrap_or(std::time::Duration::from_secs(60)),
                ),
                drain::End::Failed(e) => {
                    tracing::error!(error = %e, "Outbox forwarding failed on the store.");
                    Some(delays.next().unwrap_or(std::time::Duration::from_secs(60)))
                }
            };
            let until = wait.map(|d| tokio::time::Instant::now() + d);
            loop {
                let next_beat = tokio::time::sleep(every);
                match until {
                    None => tokio::select! {
                        _ = shutdown.cancelled() => return,
                        _ = self.journal.outbox_wake.notified() => break,
                        _ = next_beat => beat(),
                    },
                    Some(at) => tokio::select! {
                        _ = shutdown.cancelled() => return,
                        _ = self.journal.outbox_wake.notified() => { delays = (self.backoff)(); break; }
                        _ = tokio::time::sleep_until(at) => break,
                        _ = next_beat => beat(),
                    },
                }
            }
        }
    }

    /// Sends the next `new` item, if any, and records the outcome.
    pub async fn forward_once(&self) -> Result<Step, EngineError> {
        let Some(item) = self
            .journal
            .store()
            .write(|c, _| outbox::claim_next(c))
            .await?
        else {
            return Ok(Step::Idle);
        };
        self.journal.emit(EngineEvent::Outbox {
            id: item.id,
            kind: item.kind,
            state: item.state,
        });
        self.send_item(item).await
    }

    /// Sends one claimed (`sending`) item and records its outcome.
    async fn send_item(&self, item: OutboxItem) -> Result<Step, EngineError> {
        match item.kind {
            OutboxKind::Purchase => self.send_purchase(item).await,
            OutboxKind::GiftcardRedeem => self.giftcards.send_redeem(item).await,
            OutboxKind::GiftcardCapture => self.giftcards.send_capture(item).await,
            OutboxKind::GiftcardCancel => self.giftcards.send_cancel(item).await,
            OutboxKind::TerminalCapture | OutboxKind::TerminalVoid => {
                self.pos_terminal.send_item(item).await
            }
            OutboxKind::GiftcardRefund => self.giftcards.send_refund(item).await,
        }
    }

    async fn send_purchase(&self, item: OutboxItem) -> Result<Step, EngineError> {
        let input: PurchaseInput = match serde_json::from_str(&item.payload) {
            Ok(i) => i,
            Err(e) => {
                self.journal
                    .move_item(
                        item.id,
                        OutboxState::Rejected,
                        Some(format!("bad payload: {e}")),
                    )
                    .await?;
                return Ok(Step::Done(item.id, OutboxState::Rejected));
            }
        };
        match self.purchases.purchase_add(&input).await {
            Ok(pos_id) => {
                self.link.up();
                tracing::info!(outbox_id = item.id, transaction_id = %input.transaction_id, pos_id = %pos_id, "Purchase recorded.");
                self.journal
                    .move_item(item.id, OutboxState::Confirmed, None)
                    .await?;
                Ok(Step::Done(item.id, OutboxState::Confirmed))
            }
            Err(SinkError::NotSent {
                message,
                retry_after,
            }) => {
                if retry_after.is_none() {
                    self.link.down();
                }
                self.journal.retry(&item, message, retry_after).await
            }
            Err(SinkError::Rejected(m)) => {
                self.link.up();
                tracing::error!(outbox_id = item.id, transaction_id = %input.transaction_id, error = %m, "Purchase rejected by the POS; operator action needed.");
                self.journal
                    .move_item(item.id, OutboxState::Rejected, Some(m))
                    .await?;
                Ok(Step::Done(item.id, OutboxState::Rejected))
            }
            Err(SinkError::OutcomeUnknown(m)) => {
                if self.fault == Some(Fault::ResendInDoubt) {
                    // Negative control only: a blind resend.
                    return self
                        .journal
                        .retry(&item, m, Some(std::time::Duration::ZERO))
                        .await;
                }
                tracing::error!(outbox_id = item.id, transaction_id = %input.transaction_id, error = %m, "Purchase outcome unknown; in doubt until an operator resolves it.");
                self.journal
                    .move_item(item.id, OutboxState::InDoubt, Some(m))
                    .await?;
                Ok(Step::Done(item.id, OutboxState::InDoubt))
            }
        }
    }

    /// `outbox list`: items, optionally only one state.
    pub async fn list(&self, state: Option<OutboxState>) -> Result<Vec<OutboxItem>, EngineError> {
        Ok(self
            .journal
            .store()
            .read(move |c, _| outbox::list(c, state))
            .await?)
    }

    /// `outbox show ID`.
    pub async fn show(&self, id: i64) -> Result<OutboxItem, EngineError> {
        Ok(self
            .journal
            .store()
            .read(move |c, _| outbox::get(c, id))
            .await?)
    }

    /// `outbox hold ID`: the forwarder skips it until flushed.
    pub async fn hold(&self, id: i64) -> Result<OutboxItem, EngineError> {
        self.journal.move_item(id, OutboxState::Held, None).await
    }

    /// `outbox flush`: releases held items and sends now (resets the backoff). Returns how
    /// many items were released.
    pub async fn flush(&self) -> Result<usize, EngineError> {
        let released = self
            .journal
            .store()
            .write(|c, _| {
                let held = outbox::list(c, Some(OutboxState::Held))?;
                for i in &held {
                    outbox::transition(c, i.id, OutboxState::New, Some("flushed by operator"))?;
                }
                Ok(held.len())
            })
            .await?;
        self.journal.outbox_wake.notify_one();
        Ok(released)
    }

    /// `outbox resolve ID --recorded|--resend` for an in-doubt (or rejected) item.
    /// `Recorded` marks it confirmed (and an offline redemption's payment captured);
    /// `Resend` queues it again.
    pub async fn resolve(&self, id: i64, how: Resolution) -> Result<OutboxItem, EngineError> {
        let item = self
            .journal
            .store()
            .write(move |c, _| {
                let item = outbox::get(c, id)?;
                if !matches!(item.state, OutboxState::InDoubt | OutboxState::Rejected) {
                    return Err(crate::store::StoreError::IllegalTransition {
                        entity: "outbox item",
                        id: id.to_string(),
                        from: item.state.to_string(),
                        to: "resolved".into(),
                    });
                }
                match how {
                    Resolution::Recorded => {
                        let item = outbox::transition(
                            c,
                            id,
                            OutboxState::Confirmed,
                            Some("resolved: recorded"),
                        )?;
                        if let Some(pid) = &item.payment_id {
                            let p = payments::get(c, pid)?;
                            let to = match (item.kind, p.state) {
                                (
                                    OutboxKind::GiftcardCancel | OutboxKind::TerminalVoid,
                                    PaymentState::Cancelling,
                                ) => Some(PaymentState::Cancelled),
                                (_, PaymentState::OfflineApproved | PaymentState::Capturing) => {
                                    Some(PaymentState::Captured)
                                }
                                _ => None,
                            };
                            if let Some(to) = to {
                                payments::transition(
                                    c,
                                    pid,
                                    to,
                                    PaymentUpdate {
                                        erase_code: true,
                                        ..Default::default()
                                    },
                                )?;
                            }
                        }
                        super::refund_back::recorded_by_operator(c, &item)?;
                        Ok(item)
                    }
                    Resolution::Resend => {
                        outbox::transition(c, id, OutboxState::New, Some("resolved: resend"))
                    }
                }
            })
            .await?;
        tracing::info!(outbox_id = id, resolution = ?how, "Outbox item resolved by operator.");
        self.journal.emit(EngineEvent::Outbox {
            id,
            kind: item.kind,
            state: item.state,
        });
        self.journal.outbox_wake.notify_one();
        Ok(item)
    }
}

impl Engine {
    /// The outbox's forwarder and its operator operations.
    pub fn forwarder(&self) -> &Forwarder {
        &self.inner.forwarder
    }
}
