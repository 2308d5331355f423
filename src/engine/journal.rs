//! What every part of the engine records through: the durable store, the events that the
//! register (SSE) and the metrics see, and the wake-ups of the loops that act on what was
//! just journaled (the forwarder on a new outbox item, the evidence loop on a payment in
//! doubt). A tender, the sale desk and the forwarder each hold a clone; none of them reaches
//! the store, the event channel or those loops another way.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use rusqlite::Connection;
use tokio::sync::{Notify, broadcast};

use crate::domain::{OutboxKind, OutboxState, PaymentState, SaleState};
use crate::metrics::Metrics;
use crate::store::exceptions::{self, NewException};
use crate::store::outbox::{self, NewItem, OutboxItem};
use crate::store::payments::{self, NewPayment, PaymentRecord, PaymentUpdate};
use crate::store::sales::{self, SaleRecord};
use crate::store::{Secrets, Store, StoreError};

use super::forwarder::Step;
use super::sale::{answer_for, answer_in, load_in, paid_and_due};
use super::{BackoffFactory, EngineError, EngineEvent, PaymentAnswer};

/// The engine's journal: cheap to clone, every clone the same store, channel and wake-ups.
#[derive(Clone)]
pub(crate) struct Journal {
    store: Store,
    events: broadcast::Sender<EngineEvent>,
    /// Counters of the running service; unset in tools and tests that build an engine.
    metrics: Arc<OnceLock<Metrics>>,
    /// Wakes the forwarder: a new outbox item, the link back, a flush.
    pub(crate) outbox_wake: Arc<Notify>,
    /// Wakes the in-doubt evidence loop: a payment went in doubt.
    pub(crate) in_doubt_wake: Arc<Notify>,
    /// Delays between attempts to journal an outcome while the disk refuses writes.
    retry: BackoffFactory,
    /// The lane's ids, which every journaled id (`transactionId`, `refNo`) carries.
    lane: Arc<LaneIds>,
}

/// `lane.store_code` and `lane.register_code` (also the POS's `sourceId` of this lane).
#[derive(Debug)]
pub(crate) struct LaneIds {
    pub(crate) store_code: String,
    pub(crate) register_code: String,
}

impl Journal {
    pub(crate) fn new(store: Store, lane: LaneIds, retry: BackoffFactory) -> Journal {
        let (events, _) = broadcast::channel(1024);
        Journal {
            store,
            events,
            metrics: Arc::new(OnceLock::new()),
            outbox_wake: Arc::new(Notify::new()),
            in_doubt_wake: Arc::new(Notify::new()),
            retry,
            lane: Arc::new(lane),
        }
    }

    pub(crate) fn lane(&self) -> &LaneIds {
        &self.lane
    }

    pub(crate) fn store(&self) -> &Store {
        &self.store
    }

    /// The channel the link reports its changes on too.
    pub(crate) fn events(&self) -> broadcast::Sender<EngineEvent> {
        self.events.clone()
    }

    pub(crate) fn subscribe(&self) -> broadcast::Receiver<EngineEvent> {
        self.events.subscribe()
    }

    /// Only the first call takes effect.
    pub(crate) fn attach_metrics(&self, metrics: Metrics) {
        let _ = self.metrics.set(metrics);
    }

    pub(crate) async fn load(
        &self,
        sale_id: &str,
    ) -> Result<(SaleRecord, Vec<PaymentRecord>), EngineError> {
        let id = sale_id.to_owned();
        Ok(self.store.read(move |c, _| load_in(c, &id)).await?)
    }

    /// A payment as journaled now.
    pub(crate) async fn payment(&self, payment_id: &str) -> Result<PaymentRecord, EngineError> {
        let id = payment_id.to_owned();
        Ok(self.store.read(move |c, _| payments::get(c, &id)).await?)
    }

    pub(crate) fn payment_event(&self, p: &PaymentRecord) {
        self.emit(EngineEvent::Payment {
            sale_id: p.sale_id.clone(),
            payment_id: p.payment_id.clone(),
            state: p.state,
            amount: p.amount,
        });
    }

    pub(crate) async fn move_payment(
        &self,
        payment_id: &str,
        to: PaymentState,
        upd: PaymentUpdate,
    ) -> Result<PaymentRecord, EngineError> {
        Ok(self
            .move_payment_then(payment_id, to, upd, |_, _| Ok(()))
            .await?
            .0)
    }

    /// The last move of a tender: the register's answer is read in the same transaction.
    pub(crate) async fn settle_payment(
        &self,
        payment_id: &str,
        to: PaymentState,
        upd: PaymentUpdate,
    ) -> Result<(PaymentRecord, PaymentAnswer), EngineError> {
        self.move_payment_then(payment_id, to, upd, answer_in).await
    }

    /// Journals a payment's move and runs `then` on the moved record in the same
    /// transaction.
    pub(crate) async fn move_payment_then<T: Send + 'static>(
        &self,
        payment_id: &str,
        to: PaymentState,
        upd: PaymentUpdate,
        then: fn(&Connection, &PaymentRecord) -> Result<T, StoreError>,
    ) -> Result<(PaymentRecord, T), EngineError> {
        let id = payment_id.to_owned();
        if to == PaymentState::InDoubt {
            let (p, raised, t) = self
                .journal_outcome(move |c, _| {
                    let (p, raised) = super::in_doubt::enter(c, &id, upd.clone())?;
                    let t = then(c, &p)?;
                    Ok((p, raised, t))
                })
                .await?;
            self.payment_event(&p);
            if let Some(eid) = raised {
                self.exception_event(
                    eid,
                    super::in_doubt::PAYMENT_IN_DOUBT,
                    p.reason.as_deref().unwrap_or("outcome unknown"),
                );
                self.in_doubt_wake.notify_one();
            }
            return Ok((p, t));
        }
        let (p, t) = self
            .journal_outcome(move |c, _| {
                let p = payments::transition(c, &id, to, upd.clone())?;
                let t = then(c, &p)?;
                Ok((p, t))
            })
            .await?;
        self.payment_event(&p);
        Ok((p, t))
    }

    pub(crate) async fn answer(&self, p: &PaymentRecord) -> Result<PaymentAnswer, EngineError> {
        let (sale, pays) = self.load(&p.sale_id).await?;
        Ok(answer_for(p, paid_and_due(&sale, &pays).1))
    }

    pub(crate) async fn set_sale(&self, sale_id: &str, to: SaleState) -> Result<(), EngineError> {
        let id = sale_id.to_owned();
        self.store
            .write(move |c, _| sales::set_state(c, &id, to))
            .await?;
        self.emit(EngineEvent::Sale {
            sale_id: sale_id.to_owned(),
            state: to,
        });
        Ok(())
    }

    /// Makes sure an open outbox item of `kind` exists for a payment (capture/cancel that
    /// could not be sent inline, or was interrupted by a crash).
    pub(crate) async fn ensure_item(
        &self,
        p: &PaymentRecord,
        kind: OutboxKind,
    ) -> Result<(), EngineError> {
        let pid = p.payment_id.clone();
        let sale_id = p.sale_id.clone();
        let payload =
            serde_json::json!({ "pos_trans_id": p.pos_trans_id, "ref_no": p.ref_no, "amount": p.amount }).to_string();
        let amount = p.amount;
        let created = self
            .store
            .write(move |c, _| {
                let open = outbox::for_payment(c, &pid)?.into_iter().any(|i| {
                    i.kind == kind
                        && !matches!(
                            i.state,
                            OutboxState::Confirmed | OutboxState::Dropped | OutboxState::Rejected
                        )
                });
                if open {
                    return Ok(None);
                }
                outbox::enqueue(
                    c,
                    &NewItem {
                        kind,
                        sale_id: Some(sale_id),
                        payment_id: Some(pid),
                        amount: Some(amount),
                        code_hash: None,
                        payload,
                    },
                )
                .map(Some)
            })
            .await?;
        if let Some(id) = created {
            self.emit(EngineEvent::Outbox {
                id,
                kind,
                state: OutboxState::New,
            });
            self.outbox_wake.notify_one();
        }
        Ok(())
    }

    pub(crate) fn exception_event(&self, id: i64, kind: &str, reason: &str) {
        self.emit(EngineEvent::Exception {
            id,
            kind: kind.to_owned(),
            reason: reason.to_owned(),
        });
    }

    /// Journals a movement's outcome. The money may already have moved, so a storage fault
    /// (full disk, I/O error) is not an answer: the write is retried on the shared backoff
    /// until it lands, and nothing is acknowledged before it has (the register sees
    /// "pending"; the fault shows in `/v1/status`). Other errors are returned.
    pub(crate) async fn journal_outcome<T, F>(&self, f: F) -> Result<T, EngineError>
    where
        T: Send + 'static,
        F: Fn(&rusqlite::Connection, &Secrets) -> Result<T, StoreError> + Clone + Send + 'static,
    {
        let mut delays = None;
        loop {
            match self.store.write(f.clone()).await {
                Err(e) if e.is_storage_fault() => {
                    let wait = delays
                        .get_or_insert_with(|| (self.retry)())
                        .next()
                        .unwrap_or(Duration::from_secs(5));
                    tracing::warn!(error = %e, retry_in_ms = wait.as_millis() as u64, "Outcome not journaled yet; retrying.");
                    tokio::time::sleep(wait).await;
                }
                other => return Ok(other?),
            }
        }
    }

    pub(crate) fn count(&self, f: impl FnOnce(&crate::metrics::Metrics)) {
        if let Some(m) = self.metrics.get() {
            f(m);
        }
    }

    pub(crate) fn emit(&self, e: EngineEvent) {
        let _ = self.events.send(e);
    }

    /// Journals a new payment in `authorizing`, its `refNo` minted in the same commit.
    pub(crate) async fn insert_payment(
        &self,
        new: &NewPayment,
    ) -> Result<PaymentRecord, EngineError> {
        let (sc, rc) = (
            self.lane.store_code.clone(),
            self.lane.register_code.clone(),
        );
        let n = new.clone();
        let p = self
            .store()
            .write(move |c, s| payments::insert(c, s, &sc, &rc, &n))
            .await?
            .into_inner();
        self.payment_event(&p);
        Ok(p)
    }

    /// Journals a payment refused before anything left the lane, with the register's answer.
    pub(crate) async fn record_declined(
        &self,
        new: NewPayment,
        reason: String,
    ) -> Result<PaymentAnswer, EngineError> {
        let (sc, rc) = (
            self.lane.store_code.clone(),
            self.lane.register_code.clone(),
        );
        let (p, answer) = self
            .store()
            .write(move |c, s| {
                let p = payments::insert(c, s, &sc, &rc, &new)?.into_inner();
                let p = payments::transition(
                    c,
                    &p.payment_id,
                    PaymentState::Declined,
                    PaymentUpdate {
                        reason: Some(reason),
                        ..Default::default()
                    },
                )?;
                let answer = answer_in(c, &p)?;
                Ok((p, answer))
            })
            .await?;
        self.payment_event(&p);
        Ok(answer)
    }

    /// Settles a payment as declined for `reason`, with the register's answer.
    pub(crate) async fn decline(
        &self,
        p: &PaymentRecord,
        reason: &str,
    ) -> Result<PaymentAnswer, EngineError> {
        let upd = PaymentUpdate {
            reason: Some(reason.to_owned()),
            ..Default::default()
        };
        let (p, answer) = self
            .settle_payment(&p.payment_id, PaymentState::Declined, upd)
            .await?;
        tracing::info!(payment_id = %p.payment_id, reason, "Payment declined.");
        Ok(answer)
    }

    /// Closes the open exceptions of `kind` of a payment that evidence settled.
    pub(crate) async fn settle_exceptions(
        &self,
        payment_id: &str,
        kind: &'static str,
        resolution: &'static str,
    ) -> Result<(), EngineError> {
        let pid = payment_id.to_owned();
        let closed = self
            .store
            .write(move |c, _| {
                let mut closed = Vec::new();
                for e in exceptions::open_for_payment(c, &pid, kind)? {
                    closed.push(exceptions::acknowledge(c, e.id, None, Some(resolution))?);
                }
                Ok(closed)
            })
            .await?;
        for e in closed {
            tracing::info!(
                exception_id = e.id,
                payment_id,
                resolution,
                "Exception settled by evidence."
            );
        }
        Ok(())
    }

    /// Raises an exception of `kind` for a payment unless one is open already.
    pub(crate) async fn raise_once(
        &self,
        p: &PaymentRecord,
        kind: &'static str,
        reason: &str,
    ) -> Result<(), EngineError> {
        let (pid, sale, amount, reason_owned) = (
            p.payment_id.clone(),
            p.sale_id.clone(),
            p.amount,
            reason.to_owned(),
        );
        let raised = self
            .store
            .write(move |c, _| {
                if !exceptions::open_for_payment(c, &pid, kind)?.is_empty() {
                    return Ok(None);
                }
                exceptions::raise(
                    c,
                    &NewException {
                        kind: kind.into(),
                        sale_id: Some(sale),
                        payment_id: Some(pid),
                        outbox_id: None,
                        amount: Some(amount),
                        code_masked: None,
                        reason: reason_owned,
                    },
                )
                .map(Some)
            })
            .await?;
        if let Some(id) = raised {
            self.exception_event(id, kind, reason);
            self.in_doubt_wake.notify_one();
        }
        Ok(())
    }

    /// Moves an outbox item and tells the register.
    pub(crate) async fn move_item(
        &self,
        id: i64,
        to: OutboxState,
        err: Option<String>,
    ) -> Result<OutboxItem, EngineError> {
        let item = self
            .store
            .write(move |c, _| outbox::transition(c, id, to, err.as_deref()))
            .await?;
        self.emit(EngineEvent::Outbox {
            id,
            kind: item.kind,
            state: to,
        });
        Ok(item)
    }

    /// Puts an item that could not be sent back to `new`; the queue waits.
    pub(crate) async fn retry(
        &self,
        item: &OutboxItem,
        err: String,
        after: Option<std::time::Duration>,
    ) -> Result<Step, EngineError> {
        tracing::warn!(outbox_id = item.id, kind = %item.kind, error = %err, "Outbox item not sent; will retry.");
        self.move_item(item.id, OutboxState::New, Some(err)).await?;
        Ok(Step::Retry(item.id, after))
    }
}
