//! Payments in doubt and their exits.
//!
//! A payment whose answer was lost is never shown as approved nor as declined: it moves to
//! `in_doubt` and, in the same transaction, an exception of kind [`PAYMENT_IN_DOUBT`] is
//! raised. From there it leaves by
//!
//! - **evidence**: [`Engine::run_in_doubt_evidence`] asks the terminal again (status enquiry,
//!   repeat receipt) on the shared backoff until its evidence settles the payment; the
//!   exception is then closed with the evidence as its resolution;
//! - **an operator**: [`Engine::resolve_exception`] with `approved` or `not_approved`.
//!
//! Until then the sale answers 409 `payment_in_doubt` to `complete`, `cancel` and new
//! payments, so nothing is charged twice and no hold is left behind unseen. A gift-card
//! authorization cannot be looked up at the POS (pos-api.md §5.8): it waits for the operator,
//! and a stray hold lapses at the POS's Delay Period.

use serde::{Deserialize, Serialize};
use tokio_util::sync::CancellationToken;

use crate::domain::PaymentState;
use crate::domain::exception::ExceptionRecord;
use crate::domain::payment::{Method, TerminalMode};
use crate::store::StoreError;
use crate::store::exceptions::{self, NewException};
use crate::store::payments::{self, PaymentRecord, PaymentUpdate};

use super::{Engine, EngineError};

/// The exception kind of a payment in doubt.
pub const PAYMENT_IN_DOUBT: &str = "payment_in_doubt";

/// The exception kind of a card booking (06 24) or reversal (06 30 / 06 25) whose answer was
/// lost and that the terminal's evidence does not settle: the sale stays `completing` or
/// `cancelling` until the evidence (asked again) or an operator says it was done.
pub const FOLLOW_UP_IN_DOUBT: &str = "terminal_follow_up_in_doubt";

/// An operator's decision on a payment in doubt.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PaymentResolution {
    /// The money was taken (e.g. the terminal's receipt shows the approval).
    Approved,
    /// No money was taken.
    NotApproved,
}

impl PaymentResolution {
    fn as_str(self) -> &'static str {
        match self {
            PaymentResolution::Approved => "approved",
            PaymentResolution::NotApproved => "not_approved",
        }
    }
}

/// Moves a payment to `in_doubt` and raises its exception, in the caller's transaction.
pub(crate) fn enter(
    c: &rusqlite::Connection,
    payment_id: &str,
    upd: PaymentUpdate,
) -> Result<(PaymentRecord, Option<i64>), StoreError> {
    let before = payments::get(c, payment_id)?;
    let p = payments::transition(c, payment_id, PaymentState::InDoubt, upd)?;
    if before.state == PaymentState::InDoubt {
        return Ok((p, None));
    }
    let id = exceptions::raise(
        c,
        &NewException {
            kind: PAYMENT_IN_DOUBT.into(),
            sale_id: Some(p.sale_id.clone()),
            payment_id: Some(p.payment_id.clone()),
            outbox_id: None,
            amount: Some(p.amount),
            code_masked: p.code_masked.clone(),
            reason: p.reason.clone().unwrap_or_else(|| "outcome unknown".into()),
        },
    )?;
    Ok((p, Some(id)))
}

impl Engine {
    /// The sale's payment in doubt, if any, as the 409 that blocks the next step.
    pub(crate) fn refuse_in_doubt(pays: &[PaymentRecord]) -> Result<(), EngineError> {
        match pays.iter().find(|p| p.state == PaymentState::InDoubt) {
            Some(p) => Err(EngineError::PaymentInDoubt(p.payment_id.clone())),
            None => Ok(()),
        }
    }

    /// Acknowledges exception `id` with an optional note. A payment in doubt needs a
    /// `resolution`: `approved` counts it as paid (a card reservation as authorized),
    /// `not_approved` as declined. Returns the closed exception.
    pub async fn resolve_exception(
        &self,
        id: i64,
        note: Option<String>,
        resolution: Option<PaymentResolution>,
    ) -> Result<ExceptionRecord, EngineError> {
        let _guard = self.inner.sale_lock.lock().await;
        let (exc, payment) = self
            .store()
            .write(move |c, _| {
                let e = exceptions::get(c, id)?;
                if e.acknowledged_at.is_some() {
                    return Err(StoreError::NotFound(format!("open exception {id}")));
                }
                let mut moved = None;
                if e.kind == FOLLOW_UP_IN_DOUBT
                    && let Some(pid) = &e.payment_id
                {
                    let p = payments::get(c, pid)?;
                    let to = match (resolution, p.state) {
                        (Some(PaymentResolution::Approved), PaymentState::Capturing) => {
                            Some(PaymentState::Captured)
                        }
                        (Some(PaymentResolution::Approved), PaymentState::Cancelling) => {
                            Some(PaymentState::Cancelled)
                        }
                        (Some(PaymentResolution::NotApproved), _) => {
                            return Err(StoreError::Conflict(
                                "a booking or reversal is only ever sent again after the terminal's own evidence says it was not done; retry complete or cancel once the terminal answers"
                                    .into(),
                            ));
                        }
                        _ => None,
                    };
                    if let Some(to) = to {
                        let upd = PaymentUpdate {
                            reason: Some("resolved by operator: done at the terminal".into()),
                            ..Default::default()
                        };
                        moved = Some(payments::transition(c, pid, to, upd)?);
                    }
                }
                if e.kind == PAYMENT_IN_DOUBT
                    && let Some(pid) = &e.payment_id
                {
                    let p = payments::get(c, pid)?;
                    if p.state == PaymentState::InDoubt {
                        let r = resolution.ok_or_else(|| {
                            StoreError::Conflict(
                                "a payment in doubt needs a resolution: approved or not_approved"
                                    .into(),
                            )
                        })?;
                        let to = match (r, p.method, p.terminal_mode) {
                            (PaymentResolution::NotApproved, ..) => PaymentState::Declined,
                            (PaymentResolution::Approved, Method::Card, Some(TerminalMode::Reserve)) => {
                                PaymentState::Authorized
                            }
                            (PaymentResolution::Approved, Method::Card, _) => PaymentState::Approved,
                            (PaymentResolution::Approved, ..) => {
                                return Err(StoreError::Conflict(
                                    "a gift-card authorization in doubt cannot be captured (its hold lapses at the POS); resolve it not_approved"
                                        .into(),
                                ));
                            }
                        };
                        let upd = PaymentUpdate {
                            reason: Some(format!("resolved by operator: {}", r.as_str())),
                            ..Default::default()
                        };
                        moved = Some(payments::transition(c, pid, to, upd)?);
                    }
                }
                let e = exceptions::acknowledge(
                    c,
                    id,
                    note.as_deref(),
                    resolution.map(PaymentResolution::as_str),
                )?;
                Ok((e, moved))
            })
            .await
            .map_err(|e| match e {
                StoreError::Conflict(m) => EngineError::InvalidState(m),
                other => other.into(),
            })?;
        if let Some(p) = &payment {
            tracing::info!(exception_id = id, payment_id = %p.payment_id, state = %p.state, "Payment in doubt resolved by an operator.");
            self.journal().payment_event(p);
        }
        Ok(exc)
    }

    /// Asks the terminal again about every card payment in doubt, on the shared backoff,
    /// until its evidence settles each one (or an operator does). Ends with `shutdown`.
    pub async fn run_in_doubt_evidence(self, shutdown: CancellationToken) {
        let mut delays = (self.inner.cfg.probe_backoff)();
        loop {
            let open = match self.evidence_round().await {
                Ok(n) => n,
                Err(e) => {
                    tracing::warn!(error = %e, "In-doubt evidence round failed.");
                    1
                }
            };
            if open == 0 {
                delays = (self.inner.cfg.probe_backoff)();
            }
            let wait = if open == 0 {
                std::time::Duration::from_secs(3600)
            } else {
                delays.next().unwrap_or(std::time::Duration::from_secs(60))
            };
            tokio::select! {
                () = shutdown.cancelled() => return,
                () = self.journal().in_doubt_wake.notified() => {}
                () = tokio::time::sleep(wait) => {}
            }
        }
    }

    /// One pass over the payments in doubt whose tender can ask for evidence; returns how
    /// many remain.
    async fn evidence_round(&self) -> Result<usize, EngineError> {
        let _guard = self.inner.sale_lock.lock().await;
        let pays = self
            .store()
            .read(|c, _| payments::in_state(c, PaymentState::InDoubt))
            .await?;
        let mut open = 0;
        for p in &pays {
            let t = super::tender::tender(p.method);
            if t.has_evidence() && t.recover(self, p).await? == PaymentState::InDoubt {
                open += 1;
            }
        }
        // Sales whose booking or reversal is in doubt resume once the evidence settles it.
        let stuck = self
            .store()
            .read(|c, _| {
                let mut ids = Vec::new();
                for e in exceptions::list(c, true)? {
                    if e.kind == FOLLOW_UP_IN_DOUBT
                        && let Some(s) = e.sale_id
                        && !ids.contains(&s)
                    {
                        ids.push(s);
                    }
                }
                Ok(ids)
            })
            .await?;
        for sale_id in stuck {
            let (sale, _) = self.journal().load(&sale_id).await?;
            let res = match sale.state {
                crate::domain::SaleState::Completing => {
                    self.complete_locked(&sale_id).await.map(|_| ())
                }
                crate::domain::SaleState::Cancelling => self.cancel_locked(&sale_id).await,
                _ => Ok(()),
            };
            if res.is_err() {
                open += 1;
            }
        }
        Ok(open)
    }
}
