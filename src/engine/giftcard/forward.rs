//! The gift-card items of the outbox, as the forwarder sends them: a redemption taken
//! offline (one immediate USE with its journaled `refNo`), a capture or cancel of a hold that
//! could not be sent inline, and a refund queued offline (one ADD). Each outcome is journaled
//! with its item in one transaction; a post-forward failure raises an exception.

use secrecy::SecretString;

use crate::domain::{Money, OutboxKind, OutboxState, PaymentState};
use crate::store::exceptions::{self, NewException};
use crate::store::outbox::{self, OutboxItem};
use crate::store::payments::{self, PaymentRecord, PaymentUpdate};
use crate::store::refunds::{self, RefundState, RefundUpdate};

use super::{Giftcards, card};
use crate::engine::forwarder::Step;
use crate::engine::ports::{CardSecret, Decline, GiftcardTransRequest, HostError};
use crate::engine::refund::{REFUND_FORWARD_DECLINED, REFUND_IN_DOUBT, RefundPayload};
use crate::engine::{EngineError, EngineEvent};

#[derive(serde::Deserialize)]
struct HoldPayload {
    pos_trans_id: Option<String>,
}

impl Giftcards {
    /// The immediate USE that `item` sends (its payment's amount and `refNo`, the sealed
    /// code), or the item rejected as `failure` when the code is no longer stored.
    async fn use_request(
        &self,
        item: &OutboxItem,
        failure: &str,
    ) -> Result<Result<(GiftcardTransRequest, PaymentRecord), Step>, EngineError> {
        let pid = item.payment_id.clone().unwrap_or_default();
        let (code, p) = self
            .journal
            .store()
            .read(move |c, s| Ok((payments::sealed_code(c, s, &pid)?, payments::get(c, &pid)?)))
            .await?;
        let Some(code) = code else {
            let rejected = self
                .gift_failure(
                    item,
                    OutboxState::Rejected,
                    Some(PaymentState::ForwardDeclined),
                    failure,
                    "code no longer stored".into(),
                )
                .await?;
            return Ok(Err(rejected));
        };
        let req = GiftcardTransRequest {
            card: CardSecret {
                code: SecretString::from(code.as_str()),
                pin: None,
            },
            amount: p.amount,
            ref_no: p.ref_no.clone(),
            source_id: self.journal.lane().register_code.clone(),
        };
        Ok(Ok((req, p)))
    }

    /// Records a post-forward failure on a gift-card payment: item, payment and exception in
    /// one transaction.
    async fn gift_failure(
        &self,
        item: &OutboxItem,
        item_to: OutboxState,
        pay_to: Option<PaymentState>,
        kind: &str,
        reason: String,
    ) -> Result<Step, EngineError> {
        let (id, pid, k, r) = (
            item.id,
            item.payment_id.clone().unwrap_or_default(),
            kind.to_owned(),
            reason.clone(),
        );
        let exc = self
            .journal
            .store()
            .write(move |c, _| {
                outbox::transition(c, id, item_to, Some(&r))?;
                let p = payments::get(c, &pid)?;
                if let Some(to) = pay_to {
                    payments::transition(
                        c,
                        &pid,
                        to,
                        PaymentUpdate {
                            reason: Some(r.clone()),
                            erase_code: true,
                            ..Default::default()
                        },
                    )?;
                }
                exceptions::raise(
                    c,
                    &NewException {
                        kind: k,
                        sale_id: Some(p.sale_id),
                        payment_id: Some(pid.clone()),
                        outbox_id: Some(id),
                        amount: Some(p.amount),
                        code_masked: p.code_masked,
                        reason: r,
                    },
                )
            })
            .await?;
        tracing::error!(outbox_id = item.id, exception_id = exc, kind, reason = %reason, "Gift-card forward failed; exception raised.");
        self.journal.emit(EngineEvent::Outbox {
            id: item.id,
            kind: item.kind,
            state: item_to,
        });
        self.journal.emit(EngineEvent::Exception {
            id: exc,
            kind: kind.to_owned(),
            reason,
        });
        Ok(Step::Done(item.id, item_to))
    }

    async fn gift_success(
        &self,
        item: &OutboxItem,
        balance: Option<crate::domain::Money>,
    ) -> Result<Step, EngineError> {
        let (id, pid) = (item.id, item.payment_id.clone().unwrap_or_default());
        let kind = item.kind;
        let p = self
            .journal
            .store()
            .write(move |c, _| {
                outbox::transition(c, id, OutboxState::Confirmed, None)?;
                let to = if kind == OutboxKind::GiftcardCancel {
                    PaymentState::Cancelled
                } else {
                    PaymentState::Captured
                };
                let p = payments::transition(
                    c,
                    &pid,
                    to,
                    PaymentUpdate {
                        balance,
                        erase_code: true,
                        ..Default::default()
                    },
                )?;
                if let (Some(b), Some(h), Some(m)) =
                    (balance, p.code_hash.as_deref(), p.code_masked.as_deref())
                {
                    exceptions::cache_balance(c, h, m, b)?;
                }
                Ok(p)
            })
            .await?;
        self.link.up();
        self.journal.emit(EngineEvent::Outbox {
            id: item.id,
            kind: item.kind,
            state: OutboxState::Confirmed,
        });
        self.journal.payment_event(&p);
        Ok(Step::Done(item.id, OutboxState::Confirmed))
    }

    pub(crate) async fn send_redeem(&self, item: OutboxItem) -> Result<Step, EngineError> {
        let (req, _) = match self.use_request(&item, "forward_failed").await? {
            Ok(found) => found,
            Err(rejected) => return Ok(rejected),
        };
        match self.host.use_now(&req).await {
            Ok(t) => self.gift_success(&item, t.balance).await,
            Err(HostError::NotSent(m)) => {
                self.link.down();
                self.journal.retry(&item, m, None).await
            }
            Err(HostError::Declined(d)) => {
                self.link.up();
                self.gift_failure(
                    &item,
                    OutboxState::Rejected,
                    Some(PaymentState::ForwardDeclined),
                    "forward_declined",
                    d.reason(),
                )
                .await
            }
            Err(HostError::NotAuthorized(m)) => {
                self.gift_failure(
                    &item,
                    OutboxState::Rejected,
                    Some(PaymentState::ForwardDeclined),
                    "forward_failed",
                    format!("not authorized: {m}"),
                )
                .await
            }
            Err(HostError::OutcomeUnknown(m) | HostError::Other(m)) => {
                self.gift_failure(&item, OutboxState::InDoubt, None, "forward_in_doubt", m)
                    .await
            }
        }
    }

    pub(crate) async fn send_capture(&self, item: OutboxItem) -> Result<Step, EngineError> {
        let pid = item.payment_id.clone().unwrap_or_default();
        let p = self.journal.payment(&pid).await?;
        if p.state == PaymentState::Authorizing {
            // A re-authorization was under way when we stopped: its outcome is unknown.
            return self
                .gift_failure(
                    &item,
                    OutboxState::InDoubt,
                    Some(PaymentState::InDoubt),
                    "reauthorize_in_doubt",
                    "interrupted re-authorization".into(),
                )
                .await;
        }
        let hold: HoldPayload =
            serde_json::from_str(&item.payload).unwrap_or(HoldPayload { pos_trans_id: None });
        let trans_id = p
            .pos_trans_id
            .clone()
            .or(hold.pos_trans_id)
            .unwrap_or_default();
        match self.host.capture(&trans_id).await {
            Ok(t) => self.gift_success(&item, t.balance).await,
            Err(HostError::Declined(Decline::TransactionNotAuthorized)) => {
                self.reauthorize(item).await
            }
            Err(HostError::Declined(d)) => {
                self.gift_failure(
                    &item,
                    OutboxState::Rejected,
                    None,
                    "capture_declined",
                    d.reason(),
                )
                .await
            }
            Err(HostError::NotAuthorized(m)) => {
                self.gift_failure(&item, OutboxState::Rejected, None, "capture_failed", m)
                    .await
            }
            Err(
                e @ (HostError::NotSent(_) | HostError::OutcomeUnknown(_) | HostError::Other(_)),
            ) => {
                self.link.note(&e);
                self.journal.retry(&item, e.to_string(), None).await
            }
        }
    }

    /// The POS auto-cancelled the hold (Delay Period) before our capture: take the money
    /// again as one immediate USE with the same `refNo`, so no second hold can dangle.
    async fn reauthorize(&self, item: OutboxItem) -> Result<Step, EngineError> {
        let (req, p) = match self.use_request(&item, "reauthorize_failed").await? {
            Ok(found) => found,
            Err(rejected) => return Ok(rejected),
        };
        let p = self
            .journal
            .move_payment(
                &p.payment_id,
                PaymentState::Authorizing,
                PaymentUpdate::default(),
            )
            .await?;
        match self.host.use_now(&req).await {
            Ok(t) => self.gift_success(&item, t.balance).await,
            Err(HostError::NotSent(m)) => {
                // Nothing left: back to capturing so a later attempt tries again.
                self.link.down();
                self.journal
                    .move_payment(
                        &p.payment_id,
                        PaymentState::Authorized,
                        PaymentUpdate::default(),
                    )
                    .await
                    .ok();
                self.journal
                    .move_payment(
                        &p.payment_id,
                        PaymentState::Capturing,
                        PaymentUpdate::default(),
                    )
                    .await
                    .ok();
                self.journal.retry(&item, m, None).await
            }
            Err(HostError::Declined(d)) => {
                self.gift_failure(
                    &item,
                    OutboxState::Rejected,
                    Some(PaymentState::ForwardDeclined),
                    "reauthorize_declined",
                    d.reason(),
                )
                .await
            }
            Err(e) => {
                self.gift_failure(
                    &item,
                    OutboxState::InDoubt,
                    Some(PaymentState::InDoubt),
                    "reauthorize_in_doubt",
                    e.to_string(),
                )
                .await
            }
        }
    }

    pub(crate) async fn send_cancel(&self, item: OutboxItem) -> Result<Step, EngineError> {
        let pid = item.payment_id.clone().unwrap_or_default();
        let p = self.journal.payment(&pid).await?;
        match self
            .host
            .cancel(p.pos_trans_id.as_deref().unwrap_or_default())
            .await
        {
            Ok(_) => self.gift_success(&item, None).await,
            Err(HostError::Declined(d)) => {
                self.gift_failure(
                    &item,
                    OutboxState::Rejected,
                    None,
                    "cancel_declined",
                    d.reason(),
                )
                .await
            }
            Err(HostError::NotAuthorized(m)) => {
                self.gift_failure(&item, OutboxState::Rejected, None, "cancel_failed", m)
                    .await
            }
            Err(e) => {
                self.link.note(&e);
                self.journal.retry(&item, e.to_string(), None).await
            }
        }
    }

    /// Forwards a gift-card refund queued offline: one ADD with its journaled `refNo`.
    pub(crate) async fn send_refund(&self, item: OutboxItem) -> Result<Step, EngineError> {
        let rid = serde_json::from_str::<RefundPayload>(&item.payload)
            .map(|p| p.refund_id)
            .unwrap_or_default();
        let r2 = rid.clone();
        let (r, code) = self
            .journal
            .store()
            .read(move |c, s| Ok((refunds::find(c, &r2)?, refunds::sealed_code(c, s, &r2)?)))
            .await?;
        let (Some(r), Some(code)) = (r, code) else {
            return self
                .refund_forwarded(
                    &item,
                    OutboxState::Rejected,
                    RefundState::ForwardDeclined,
                    None,
                    Some("code no longer stored".into()),
                )
                .await;
        };
        let add = GiftcardTransRequest {
            card: card(&code, None),
            amount: r.amount,
            ref_no: r.ref_no.clone(),
            source_id: self.journal.lane().register_code.clone(),
        };
        match self.host.add(&add).await {
            Ok(t) => {
                self.link.up();
                let step = self
                    .refund_forwarded(
                        &item,
                        OutboxState::Confirmed,
                        RefundState::Approved,
                        t.balance,
                        None,
                    )
                    .await?;
                if let Some(b) = t.balance
                    && let Err(e) = self.cache_balance(&code, b).await
                {
                    tracing::warn!(refund_id = %r.refund_id, error = %e, "Balance cache not updated.");
                }
                Ok(step)
            }
            Err(HostError::NotSent(m)) => {
                self.link.down();
                tracing::warn!(outbox_id = item.id, error = %m, "Refund ADD not sent; will retry.");
                let id = item.id;
                self.journal
                    .store()
                    .write(move |c, _| outbox::transition(c, id, OutboxState::New, Some(&m)))
                    .await?;
                Ok(Step::Retry(item.id, None))
            }
            Err(HostError::OutcomeUnknown(m)) => {
                self.refund_forwarded(
                    &item,
                    OutboxState::InDoubt,
                    RefundState::InDoubt,
                    None,
                    Some(m),
                )
                .await
            }
            Err(e) => {
                self.link.up();
                self.refund_forwarded(
                    &item,
                    OutboxState::Rejected,
                    RefundState::ForwardDeclined,
                    None,
                    Some(e.to_string()),
                )
                .await
            }
        }
    }

    /// Journals a forwarded refund's outcome: item, refund and (on a failure) an exception
    /// in one transaction.
    async fn refund_forwarded(
        &self,
        item: &OutboxItem,
        item_to: OutboxState,
        refund_to: RefundState,
        balance: Option<Money>,
        failure: Option<String>,
    ) -> Result<Step, EngineError> {
        let rid = serde_json::from_str::<RefundPayload>(&item.payload)
            .map(|p| p.refund_id)
            .unwrap_or_default();
        let (id, f) = (item.id, failure.clone());
        let kind = if refund_to == RefundState::InDoubt {
            REFUND_IN_DOUBT
        } else {
            REFUND_FORWARD_DECLINED
        };
        let raised = self.journal
            .journal_outcome(move |c, _| {
                outbox::transition(c, id, item_to, f.as_deref())?;
                if refunds::find(c, &rid)?.is_none() {
                    return Ok(None);
                }
                let r = refunds::transition(
                    c,
                    &rid,
                    refund_to,
                    RefundUpdate {
                        balance,
                        reason: f.clone(),
                        // An operator may still resend an ADD in doubt.
                        keep_code: refund_to == RefundState::InDoubt,
                    },
                )?;
                match &f {
                    None => Ok(None),
                    Some(reason) => exceptions::raise(
                        c,
                        &NewException {
                            kind: kind.into(),
                            sale_id: Some(r.sale_id.clone()),
                            payment_id: None,
                            outbox_id: Some(id),
                            amount: Some(r.amount),
                            code_masked: r.code_masked.clone(),
                            reason: format!(
                                "refund {} (refNo {}) queued offline: {reason}; the customer is owed {}",
                                r.refund_id, r.ref_no, r.amount
                            ),
                        },
                    )
                    .map(Some),
                }
            })
            .await?;
        self.journal.emit(EngineEvent::Outbox {
            id: item.id,
            kind: item.kind,
            state: item_to,
        });
        if let (Some(eid), Some(reason)) = (raised, failure) {
            tracing::error!(outbox_id = item.id, exception_id = eid, reason = %reason, "Queued gift-card refund failed when forwarded.");
            self.journal.exception_event(eid, kind, &reason);
        }
        Ok(Step::Done(item.id, item_to))
    }
}
