//! The forwarder's drain: purchases of different sales in flight together within a bounded
//! window, one durable commit per answer, and the commit overlapping the requests in flight.
//!
//! Every request still leaves only after its item is durably `sending` (the store's
//! contract): a commit records the answers that came back *and* claims the next items, and
//! only items a finished commit returned are sent. One claimed item beyond the window waits
//! ready, so the next request leaves the moment an answer frees a slot while the commit of
//! that answer (with the next claim) runs beside it. The price is at most one item more in
//! `sending` at a crash: it is then in doubt like the ones in flight, never re-sent.
//!
//! Order ([`outbox::claim_window`]): items are claimed in id order; a purchase waits while a
//! purchase of its own sale is busy; every other kind goes out alone, with nothing else in
//! flight, so a card's offline redemptions keep their order and a purchase follows its sale's
//! captures and cancels. An item that could not be sent stops the drain: nothing more leaves,
//! the answers in flight are recorded, the ready item is given back, and the forwarder waits.

use std::collections::{HashMap, VecDeque};
use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::domain::{OutboxKind, OutboxState};
use crate::store::StoreError;
use crate::store::outbox::{self, OutboxItem};

use super::super::ports::{PurchaseInput, SinkError};
use super::super::{EngineError, EngineEvent, Fault};
use super::{Forwarder, Step};

/// How a drain ended.
#[derive(Debug)]
pub(crate) enum End {
    /// Nothing left that may be claimed now.
    Idle,
    /// An item could not be sent (link down, 429): wait `after`, or the backoff.
    Stopped(Option<Duration>),
    /// The store failed.
    Failed(EngineError),
    /// The shutdown token fired; what was in flight is recorded.
    Shutdown,
}

/// What [`Forwarder::drain_outbox`] did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Drained {
    /// Items that reached a state (confirmed, rejected, in doubt).
    pub done: usize,
    /// Whether it stopped on an item that could not be sent (it is `new` again).
    pub stopped: bool,
}

/// An answer to be committed.
#[derive(Clone, Debug)]
struct Outcome {
    id: i64,
    kind: OutboxKind,
    to: OutboxState,
    error: Option<String>,
}

struct Answer {
    item: OutboxItem,
    transaction_id: String,
    result: Result<String, SinkError>,
}

/// What one commit did.
struct Committed {
    claimed: Vec<OutboxItem>,
    asked: usize,
}

type CommitFuture = Pin<Box<dyn Future<Output = Result<Committed, StoreError>> + Send>>;

/// The drain's bookkeeping between awaits.
#[derive(Default)]
struct Lanes {
    /// Purchases whose request is out: task id → (item id, sale).
    flight: HashMap<tokio::task::Id, (i64, Option<String>)>,
    /// Claimed (durably `sending`), not sent yet.
    ready: VecDeque<OutboxItem>,
    /// A non-purchase item, claimed; it goes out once nothing else is busy.
    alone: Option<OutboxItem>,
    /// Answers not committed yet.
    outcomes: Vec<Outcome>,
    /// How many of `outcomes` the running commit carries.
    committing: usize,
    /// Ready items the running commit gives back.
    releasing: Vec<i64>,
}

impl Lanes {
    fn busy_sales(&self) -> Vec<String> {
        self.flight
            .values()
            .filter_map(|(_, s)| s.clone())
            .chain(self.ready.iter().filter_map(|i| i.sale_id.clone()))
            .collect()
    }
}

impl Forwarder {
    /// How many purchases the forwarder keeps in flight at once (`[pos] forward_window`).
    pub fn window(&self) -> usize {
        self.window.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Sets the forwarder's window; 1 sends one item after the other, in id order.
    pub fn set_window(&self, window: usize) {
        self.window
            .store(window.max(1), std::sync::atomic::Ordering::Relaxed);
    }

    /// Sends everything that can be sent now, within the window, and returns when the
    /// outbox has nothing more to claim or an item could not be sent (for benches, tests
    /// and tools; the service runs [`Forwarder::run`]).
    pub async fn drain_outbox(&self) -> Result<Drained, EngineError> {
        let (done, end) = self.drain(&CancellationToken::new(), &|| {}).await;
        match end {
            End::Failed(e) => Err(e),
            End::Stopped(_) => Ok(Drained {
                done,
                stopped: true,
            }),
            End::Idle | End::Shutdown => Ok(Drained {
                done,
                stopped: false,
            }),
        }
    }

    /// One drain; returns how many items reached a state and why it ended. `beat` is called
    /// after every answer and every commit.
    pub(crate) async fn drain(
        &self,
        shutdown: &CancellationToken,
        beat: &(dyn Fn() + Send + Sync),
    ) -> (usize, End) {
        let window = self.window();
        let mut tasks: JoinSet<Answer> = JoinSet::new();
        let mut lanes = Lanes::default();
        let mut commit: Option<CommitFuture> = None;
        let mut exhausted = false;
        let mut stop: Option<Option<Duration>> = None;
        let mut failure: Option<EngineError> = None;
        let mut retry_at: Option<tokio::time::Instant> = None;
        let mut delays = (self.backoff)();
        let mut done = 0usize;
        // Answers and wake-ups seen so far, and at the start of the running commit: a claim
        // that came back short only means "nothing more" if nothing changed meanwhile.
        let (mut answers, mut answers_at_commit) = (0u64, 0u64);
        loop {
            let stopping = shutdown.is_cancelled() || stop.is_some();
            if !stopping {
                // Ready items are durably `sending` already: they may leave even while a
                // later commit is being retried.
                while tasks.len() < window {
                    let Some(item) = lanes.ready.pop_front() else {
                        break;
                    };
                    self.launch(&mut tasks, &mut lanes, item);
                }
            }
            let quiet = commit.is_none()
                && tasks.is_empty()
                && lanes.ready.is_empty()
                && lanes.outcomes.is_empty();
            if quiet && let Some(item) = lanes.alone.take() {
                if stopping {
                    lanes.ready.push_back(item);
                } else {
                    exhausted = false;
                    match self.send_item(item).await {
                        Ok(Step::Done(..)) => done += 1,
                        Ok(Step::Idle) => {}
                        Ok(Step::Retry(_, after)) => stop = Some(after),
                        Err(e) => return (done, End::Failed(e)),
                    }
                    beat();
                    continue;
                }
            }
            let may_commit = retry_at.is_none_or(|at| tokio::time::Instant::now() >= at);
            if commit.is_none() && may_commit {
                let claim = if stopping || exhausted || lanes.alone.is_some() {
                    0
                } else {
                    (window + 1).saturating_sub(tasks.len() + lanes.ready.len())
                };
                if stopping && tasks.is_empty() {
                    lanes.releasing = lanes.ready.iter().map(|i| i.id).collect();
                }
                if !lanes.outcomes.is_empty() || claim > 0 || !lanes.releasing.is_empty() {
                    lanes.committing = lanes.outcomes.len();
                    answers_at_commit = answers;
                    let alone = tasks.is_empty() && lanes.ready.is_empty();
                    commit = Some(self.commit(
                        lanes.outcomes.clone(),
                        lanes.releasing.clone(),
                        claim,
                        lanes.busy_sales(),
                        alone,
                    ));
                }
            }
            if commit.is_none()
                && tasks.is_empty()
                && lanes.ready.is_empty()
                && lanes.alone.is_none()
                && lanes.outcomes.is_empty()
            {
                let end = if let Some(e) = failure {
                    End::Failed(e)
                } else if shutdown.is_cancelled() {
                    End::Shutdown
                } else if let Some(after) = stop {
                    End::Stopped(after)
                } else {
                    End::Idle
                };
                return (done, end);
            }
            if commit.is_none() && tasks.is_empty() && failure.is_some() && shutdown.is_cancelled()
            {
                // The store keeps failing and the agent is stopping: what is `sending` is
                // in doubt at the next start, never sent again.
                return (done, End::Shutdown);
            }
            tokio::select! {
                Some(joined) = tasks.join_next_with_id(), if !tasks.is_empty() => {
                    match joined {
                        Ok((task, answer)) => {
                            lanes.flight.remove(&task);
                            answers += 1;
                            let outcome = self.classify(answer, &mut stop);
                            lanes.outcomes.push(outcome);
                            // A slot, a sale or the queue's head may be free now.
                            exhausted = false;
                        }
                        Err(e) => {
                            let (id, _) = lanes.flight.remove(&e.id()).unwrap_or((0, None));
                            answers += 1;
                            exhausted = false;
                            // It stays `sending`: in doubt at the next start, never re-sent.
                            tracing::error!(outbox_id = id, error = %e, "Purchase request task failed; the item stays sending.");
                        }
                    }
                    beat();
                }
                result = async { commit.as_mut().expect("guarded").await }, if commit.is_some() => {
                    commit = None;
                    match result {
                        Ok(c) => {
                            failure = None;
                            retry_at = None;
                            delays = (self.backoff)();
                            let recorded: Vec<Outcome> =
                                lanes.outcomes.drain(..lanes.committing).collect();
                            lanes.committing = 0;
                            done += recorded.iter().filter(|o| o.to != OutboxState::New).count();
                            for o in recorded {
                                self.journal.emit(EngineEvent::Outbox { id: o.id, kind: o.kind, state: o.to });
                            }
                            let released = std::mem::take(&mut lanes.releasing);
                            lanes.ready.retain(|i| !released.contains(&i.id));
                            if c.claimed.len() < c.asked && answers == answers_at_commit {
                                exhausted = true;
                            }
                            for item in c.claimed {
                                self.journal.emit(EngineEvent::Outbox { id: item.id, kind: item.kind, state: item.state });
                                if item.kind == OutboxKind::Purchase {
                                    lanes.ready.push_back(item);
                                } else {
                                    lanes.alone = Some(item);
                                }
                            }
                        }
                        Err(e) => {
                            tracing::error!(error = %e, "Outbox forwarding failed on the store; retrying the commit.");
                            let wait = delays.next().unwrap_or(Duration::from_secs(60));
                            retry_at = Some(tokio::time::Instant::now() + wait);
                            failure = Some(e.into());
                            lanes.committing = 0;
                        }
                    }
                    beat();
                }
                _ = self.journal.outbox_wake.notified() => {
                    // A new item may have landed after the running commit's claim looked.
                    answers += 1;
                    exhausted = false;
                }
                _ = shutdown.cancelled(), if !shutdown.is_cancelled() => {}
                _ = sleep_until(retry_at), if retry_at.is_some() && commit.is_none() => retry_at = None,
            }
        }
    }

    /// Sends one claimed purchase on its own task, or rejects a payload that cannot be read.
    fn launch(&self, tasks: &mut JoinSet<Answer>, lanes: &mut Lanes, item: OutboxItem) {
        let input: PurchaseInput = match serde_json::from_str(&item.payload) {
            Ok(i) => i,
            Err(e) => {
                lanes.outcomes.push(Outcome {
                    id: item.id,
                    kind: item.kind,
                    to: OutboxState::Rejected,
                    error: Some(format!("bad payload: {e}")),
                });
                return;
            }
        };
        let sink = self.purchases.clone();
        let (id, sale) = (item.id, item.sale_id.clone());
        let handle = tasks.spawn(async move {
            let result = sink.purchase_add(&input).await;
            Answer {
                item,
                transaction_id: input.transaction_id,
                result,
            }
        });
        lanes.flight.insert(handle.id(), (id, sale));
    }

    /// Classifies a purchase answer (reliability.md §2 rule 3) into the state to commit; an
    /// answer that says "not sent" stops the drain.
    fn classify(&self, a: Answer, stop: &mut Option<Option<Duration>>) -> Outcome {
        let (id, kind, tid) = (a.item.id, a.item.kind, a.transaction_id);
        let (to, error) = match a.result {
            Ok(pos_id) => {
                self.link.up();
                tracing::info!(outbox_id = id, transaction_id = %tid, pos_id = %pos_id, "Purchase recorded.");
                (OutboxState::Confirmed, None)
            }
            Err(SinkError::NotSent {
                message,
                retry_after,
            }) => {
                if retry_after.is_none() {
                    self.link.down();
                }
                tracing::warn!(outbox_id = id, kind = %kind, error = %message, "Outbox item not sent; will retry.");
                stop.get_or_insert(retry_after);
                (OutboxState::New, Some(message))
            }
            Err(SinkError::Rejected(m)) => {
                self.link.up();
                tracing::error!(outbox_id = id, transaction_id = %tid, error = %m, "Purchase rejected by the POS; operator action needed.");
                (OutboxState::Rejected, Some(m))
            }
            Err(SinkError::OutcomeUnknown(m)) => {
                if self.fault == Some(Fault::ResendInDoubt) {
                    // Negative control only: a blind resend.
                    stop.get_or_insert(Some(Duration::ZERO));
                    (OutboxState::New, Some(m))
                } else {
                    tracing::error!(outbox_id = id, transaction_id = %tid, error = %m, "Purchase outcome unknown; in doubt until an operator resolves it.");
                    (OutboxState::InDoubt, Some(m))
                }
            }
        };
        Outcome {
            id,
            kind,
            to,
            error,
        }
    }

    /// One transaction: the answers, the ready items given back, and up to `claim` new
    /// claims (which leave only once this has committed).
    fn commit(
        &self,
        outcomes: Vec<Outcome>,
        release: Vec<i64>,
        claim: usize,
        busy: Vec<String>,
        alone: bool,
    ) -> CommitFuture {
        let journal = self.journal.clone();
        Box::pin(async move {
            journal
                .store()
                .write(move |c, _| {
                    for o in &outcomes {
                        outbox::finish(c, o.id, o.to, o.error.as_deref())?;
                    }
                    for id in &release {
                        outbox::unclaim(c, *id)?;
                    }
                    let claimed = outbox::claim_window(c, claim, &busy, alone)?;
                    Ok(Committed {
                        claimed,
                        asked: claim,
                    })
                })
                .await
        })
    }
}

async fn sleep_until(at: Option<tokio::time::Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}
