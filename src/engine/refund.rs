//! Refunds: paying back what a sale owes the customer (`POST /v1/sales/{id}/refunds`).
//!
//! A refund is a money movement like a payment: it runs on an engine-owned task under the
//! key `refund:{refund_id}` ([`super::movement`]), its row and `refNo` are committed
//! (`store::refunds`) before anything leaves the lane, and its outcome is committed before
//! the register sees it. The same `refund_id` with the same body returns the first answer
//! (`pending` while it runs); another body is a conflict.
//!
//! | method | online | offline |
//! |---|---|---|
//! | cash | journaled as approved in the transaction that records it | the same |
//! | gift card | an immediate ADD of the amount to the named card (`refNo` journaled first); a lost answer is **in doubt** with an exception, never sent again | within the `[offline]` caps (shared with offline redemptions): `offline_approved`, queued as an ADD in the outbox and forwarded once, in order |
//! | card | the terminal's refund through the terminal port ([`Returns::terminal_refund`]) | refused at once: `declined`, reason `link_offline` |
//!
//! A refund never exceeds what the sale owes (`-due`). A sale that names
//! `original_sale_id` limits refunds to card or gift card to what that sale took on that
//! tender (for a gift card: on that card), less what returns naming it already gave back.
//!
//! **Cancel** takes back what was refunded so far, in the journal first: cash is journaled
//! `reversed` (the cashier takes the cash back); a gift-card ADD is matched by an immediate
//! USE of the same amount under its own journaled `refNo` (pos-api.md §5.8 has no void of a
//! completed ADD); a USE refused (the card was spent meanwhile) or lost leaves the refund
//! `reversal_failed` with an exception, and the cancel goes on. A gift-card ADD still queued
//! offline is dropped from the outbox instead. A refund in doubt blocks the cancel (409), and
//! a card refund cannot be taken back by the lane (409: complete the sale instead).

use std::sync::Arc;

use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use tokio::sync::Mutex;

use crate::domain::payment::Method;
use crate::domain::{Money, OutboxKind, PaymentState};
use crate::store::exceptions::{self, NewException};
use crate::store::outbox::{self, NewItem};
use crate::store::refunds::{self, Claim, NewRefund, RefundRecord, RefundState, RefundUpdate};
use crate::store::sales::SaleRecord;

use super::giftcard::{Giftcards, card};
use super::journal::Journal;
use super::link::Link;
use super::movement::Submitted;
use super::ports::{
    GiftcardTransRequest, HostError, Recovered, RecoveryIntent, TerminalError, TerminalOutcome,
    TerminalRequest,
};
use super::pos_terminal::PosTerminalTender;
use super::sale::paid_and_due;
use super::terminal::CardTender;
use super::{Engine, EngineError, OfflinePolicy};

/// Exception kinds raised by refunds.
pub const REFUND_IN_DOUBT: &str = "refund_in_doubt";
/// A queued gift-card refund the POS refused when forwarded.
pub const REFUND_FORWARD_DECLINED: &str = "refund_forward_declined";
/// A take-back at cancel that was refused or whose answer was lost.
pub const REFUND_REVERSAL_FAILED: &str = "refund_reversal_failed";

/// Why a card refund is declined on a lane whose terminal port has no refund yet.
pub const CARD_REFUND_UNAVAILABLE: &str = "card_refund_unavailable";

/// `POST /v1/sales/{id}/refunds` body. `Debug` redacts the code.
#[derive(Clone, Debug)]
pub struct RefundRequest {
    /// Register-given id (retries return the first answer).
    pub refund_id: Option<String>,
    /// How the money goes back.
    pub method: Method,
    /// Amount (positive).
    pub amount: Money,
    /// Gift card to load (required for gift cards).
    pub code: Option<SecretString>,
}

/// Where a refund stands, as the register sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RefundStatus {
    /// Paid back.
    Approved,
    /// Not paid back; `reason` says why.
    Declined,
    /// A gift-card ADD accepted offline within the caps; forwarded when the link is back.
    OfflineApproved,
    /// Still running: ask again with the same `refund_id`.
    Pending,
    /// The ADD's answer was lost; counted as paid back (never paid twice), exception open.
    InDoubt,
}

/// A refund answer (the same for the first call and for retries).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefundAnswer {
    /// Id.
    pub refund_id: String,
    /// Status.
    pub status: RefundStatus,
    /// Amount paid back (asked for, while pending or in doubt; zero when declined).
    pub amount: Money,
    /// Gift-card balance after the ADD, when reported.
    pub balance: Option<Money>,
    /// Why declined.
    pub reason: Option<String>,
    /// What the sale still owes the customer (negative) or is owed (positive) now.
    pub due: Money,
}

/// A refund as shown in a sale view and on the receipt (masked values only).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefundView {
    /// Id.
    pub refund_id: String,
    /// Method.
    pub method: Method,
    /// State.
    pub state: RefundState,
    /// Amount.
    pub amount: Money,
    /// `refNo`.
    pub ref_no: String,
    /// Masked gift-card code.
    pub code: Option<String>,
    /// Gift-card balance after, when known.
    pub balance: Option<Money>,
    /// Reason.
    pub reason: Option<String>,
}

impl From<&RefundRecord> for RefundView {
    fn from(r: &RefundRecord) -> Self {
        RefundView {
            refund_id: r.refund_id.clone(),
            method: r.method,
            state: r.state,
            amount: r.amount,
            ref_no: r.ref_no.clone(),
            code: r.code_masked.clone(),
            balance: r.balance,
            reason: r.reason.clone(),
        }
    }
}

/// The register's answer for a stored refund.
pub fn answer_for(r: &RefundRecord, due: Money) -> RefundAnswer {
    use RefundState::*;
    let status = match r.state {
        Running => RefundStatus::Pending,
        Approved | Reversing | Reversed | ReversalFailed => RefundStatus::Approved,
        Queued | ForwardDeclined => RefundStatus::OfflineApproved,
        Declined => RefundStatus::Declined,
        InDoubt => RefundStatus::InDoubt,
    };
    RefundAnswer {
        refund_id: r.refund_id.clone(),
        status,
        amount: if status == RefundStatus::Declined {
            Money::ZERO
        } else {
            r.amount
        },
        balance: r.balance,
        reason: r.reason.clone(),
        due,
    }
}

#[derive(Deserialize)]
pub(super) struct RefundPayload {
    pub(super) refund_id: String,
}

/// Returns and exchanges within the original sale: a refund to cash, a gift card or the
/// card, its recovery at start-up and the take-back when the sale is cancelled.
#[derive(Clone)]
pub struct Returns {
    pub(super) journal: Journal,
    pub(super) link: Arc<Link>,
    pub(super) giftcards: Giftcards,
    pub(super) cards: CardTender,
    pub(super) pos_terminal: Arc<PosTerminalTender>,
    pub(super) offline: OfflinePolicy,
    /// The engine's sale lock: a refund and a tender never race for what is due.
    pub(super) sale_lock: Arc<Mutex<()>>,
}

impl Returns {
    /// Whether a sale has paid anything back (the stale-sale sweeper leaves such a sale
    /// alone: taking a refund back is for a person to decide).
    pub(crate) async fn has_refunds(&self, sale_id: &str) -> Result<bool, EngineError> {
        let id = sale_id.to_owned();
        Ok(self
            .journal
            .store()
            .read(move |c, _| refunds::for_sale(c, &id))
            .await?
            .iter()
            .any(|r| r.state.counts_as_refunded()))
    }

    /// A sale's refunds.
    pub async fn refunds(&self, sale_id: &str) -> Result<Vec<RefundView>, EngineError> {
        let id = sale_id.to_owned();
        let rs = self
            .journal
            .store()
            .read(move |c, _| refunds::for_sale(c, &id))
            .await?;
        Ok(rs.iter().map(RefundView::from).collect())
    }

    pub(super) async fn refund_now(
        &self,
        sale_id: &str,
        req: RefundRequest,
    ) -> Result<RefundAnswer, EngineError> {
        let _guard = self.sale_lock.lock().await;
        let (sale, pays) = self.journal.load(sale_id).await?;
        let new = NewRefund {
            refund_id: req.refund_id.clone().unwrap_or_default(),
            sale_id: sale_id.to_owned(),
            method: req.method,
            amount: req.amount,
            code: req
                .code
                .as_ref()
                .map(|c| zeroize::Zeroizing::new(c.expose_secret().trim().to_owned()))
                .filter(|c| !c.is_empty()),
        };
        let probe = new.clone();
        if let Some(first) = self
            .journal
            .store()
            .read(move |c, s| refunds::find_same(c, s, &probe))
            .await?
        {
            return Ok(answer_for(&first, paid_and_due(&sale, &pays).1));
        }
        Engine::refuse_in_doubt(&pays)?;
        Engine::open_for_money(&sale, req.amount)?;
        let owed = Money::ZERO - paid_and_due(&sale, &pays).1;
        if !owed.is_positive() {
            return Err(EngineError::Invalid(format!(
                "nothing is owed to the customer on sale {sale_id}"
            )));
        }
        if req.amount > owed {
            return Err(EngineError::Invalid(format!(
                "a refund of {} exceeds what is owed to the customer ({owed})",
                req.amount
            )));
        }
        if req.method == Method::Giftcard && new.code.is_none() {
            return Err(EngineError::Invalid(
                "a gift-card refund needs a code".into(),
            ));
        }
        self.check_original(&sale, &new).await?;
        match req.method {
            Method::Cash => self.refund_cash(new).await,
            Method::Giftcard => self.refund_giftcard(new).await,
            Method::Card => self.refund_card(new).await,
        }
    }

    /// A return naming its original sale: card and gift-card refunds are limited to what
    /// that sale took on that tender, less what other returns naming it already gave back.
    async fn check_original(&self, sale: &SaleRecord, new: &NewRefund) -> Result<(), EngineError> {
        let Some(orig) = sale.original_sale_id.clone() else {
            return Ok(());
        };
        if new.method == Method::Cash {
            return Ok(());
        }
        let new2 = new.clone();
        let (took, given) = self
            .journal
            .store()
            .read(move |c, s| {
                let code_hash = new2.code.as_deref().map(|k| s.keyed_hash(k));
                let took: Money = crate::store::payments::for_sale(c, &orig)?
                    .iter()
                    .filter(|p| {
                        p.method == new2.method
                            && matches!(
                                p.state,
                                PaymentState::Captured
                                    | PaymentState::Approved
                                    | PaymentState::OfflineApproved
                            )
                            && (code_hash.is_none() || p.code_hash == code_hash)
                    })
                    .map(|p| p.amount)
                    .sum();
                let given = refunds::refunded_against(
                    c,
                    &orig,
                    new2.method,
                    code_hash.as_deref(),
                    &new2.refund_id,
                )?;
                Ok((took, given))
            })
            .await?;
        let left = took - given;
        if new.amount > left {
            return Err(EngineError::Invalid(format!(
                "a {} refund of {} exceeds what the original sale took on that tender ({} left)",
                new.method.as_str(),
                new.amount,
                if left.0.is_sign_negative() {
                    Money::ZERO
                } else {
                    left
                }
            )));
        }
        Ok(())
    }

    async fn refund_answer(&self, r: &RefundRecord) -> Result<RefundAnswer, EngineError> {
        let (sale, pays) = self.journal.load(&r.sale_id).await?;
        Ok(answer_for(r, paid_and_due(&sale, &pays).1))
    }

    /// Logs a refund's journaled state (no card data: the code is masked in the row).
    pub(super) fn refund_logged(&self, r: &RefundRecord) {
        tracing::info!(refund_id = %r.refund_id, sale_id = %r.sale_id, method = r.method.as_str(),
            state = r.state.as_str(), amount = %r.amount, "Refund journaled.");
    }

    /// Journals a new refund (`running`) and, in the same transaction, its outcome when it
    /// needs no I/O (`decide`). Returns the row, or the first answer for a repeated id.
    async fn claim_refund(
        &self,
        new: NewRefund,
        decide: impl Fn(
            &rusqlite::Connection,
            &RefundRecord,
        ) -> Result<Option<RefundRecord>, crate::store::StoreError>
        + Clone
        + Send
        + 'static,
    ) -> Result<Result<RefundRecord, RefundAnswer>, EngineError> {
        let (sc, rc) = (
            self.journal.lane().store_code.clone(),
            self.journal.lane().register_code.clone(),
        );
        let claim = self
            .journal
            .store()
            .write(move |c, s| match refunds::claim(c, s, &sc, &rc, &new)? {
                Claim::Existing(r) => Ok(Claim::Existing(r)),
                Claim::New(r) => Ok(Claim::New(decide(c, &r)?.unwrap_or(r))),
            })
            .await?;
        match claim {
            Claim::Existing(r) => Ok(Err(self.refund_answer(&r).await?)),
            Claim::New(r) => {
                self.refund_logged(&r);
                Ok(Ok(r))
            }
        }
    }

    async fn refund_cash(&self, new: NewRefund) -> Result<RefundAnswer, EngineError> {
        let r = match self
            .claim_refund(new, |c, r| {
                refunds::transition(
                    c,
                    &r.refund_id,
                    RefundState::Approved,
                    RefundUpdate::default(),
                )
                .map(Some)
            })
            .await?
        {
            Ok(r) => r,
            Err(first) => return Ok(first),
        };
        self.refund_answer(&r).await
    }

    /// Journals an outcome (retried on a storage fault: the money may have moved).
    pub(super) async fn move_refund(
        &self,
        refund_id: &str,
        to: RefundState,
        upd: RefundUpdate,
        exception: Option<(&'static str, String)>,
    ) -> Result<RefundRecord, EngineError> {
        let id = refund_id.to_owned();
        let exc = exception.clone();
        let (r, raised) = self
            .journal
            .journal_outcome(move |c, _| {
                let r = refunds::transition(c, &id, to, upd.clone())?;
                let raised = match &exc {
                    Some((kind, reason)) => Some(exceptions::raise(
                        c,
                        &NewException {
                            kind: (*kind).into(),
                            sale_id: Some(r.sale_id.clone()),
                            payment_id: None,
                            outbox_id: None,
                            amount: Some(r.amount),
                            code_masked: r.code_masked.clone(),
                            reason: format!(
                                "refund {} (refNo {}): {reason}",
                                r.refund_id, r.ref_no
                            ),
                        },
                    )?),
                    None => None,
                };
                Ok((r, raised))
            })
            .await?;
        if let (Some(id), Some((kind, reason))) = (raised, exception) {
            self.journal.exception_event(id, kind, &reason);
        }
        self.refund_logged(&r);
        Ok(r)
    }

    async fn refund_giftcard(&self, new: NewRefund) -> Result<RefundAnswer, EngineError> {
        if !self.link.is_online() {
            return self.refund_giftcard_offline(new).await;
        }
        let code = new.code.clone().unwrap_or_default();
        let r = match self.claim_refund(new.clone(), |_, _| Ok(None)).await? {
            Ok(r) => r,
            Err(first) => return Ok(first),
        };
        let add = GiftcardTransRequest {
            card: card(&code, None),
            amount: r.amount,
            ref_no: r.ref_no.clone(),
            source_id: self.journal.lane().register_code.clone(),
        };
        // Kept sealed until the sale completes: a cancel takes the ADD back with a USE.
        let keep = RefundUpdate {
            keep_code: true,
            ..Default::default()
        };
        let r = match self.giftcards.host.add(&add).await {
            Ok(t) => {
                self.link.up();
                let r = self
                    .move_refund(
                        &r.refund_id,
                        RefundState::Approved,
                        RefundUpdate {
                            balance: t.balance,
                            ..keep
                        },
                        None,
                    )
                    .await?;
                if let Some(b) = t.balance
                    && let Err(e) = self.giftcards.cache_balance(&code, b).await
                {
                    tracing::warn!(refund_id = %r.refund_id, error = %e, "Balance cache not updated.");
                }
                r
            }
            Err(HostError::NotSent(_)) => {
                // Nothing left the lane: the refund goes the offline way, within the caps.
                self.link.down();
                let id = r.refund_id.clone();
                self.journal
                    .store()
                    .write(move |c, _| refunds::forget(c, &id))
                    .await?;
                return self.refund_giftcard_offline(new).await;
            }
            Err(HostError::OutcomeUnknown(m)) => {
                tracing::warn!(refund_id = %r.refund_id, error = %m, "Gift-card refund outcome unknown; in doubt.");
                self.move_refund(
                    &r.refund_id,
                    RefundState::InDoubt,
                    RefundUpdate {
                        reason: Some("outcome_unknown".into()),
                        ..Default::default()
                    },
                    Some((
                        REFUND_IN_DOUBT,
                        "the POS's answer to the ADD was lost; check the card's history before refunding again".into(),
                    )),
                )
                .await?
            }
            Err(HostError::Declined(d)) => {
                self.link.up();
                self.move_refund(
                    &r.refund_id,
                    RefundState::Declined,
                    RefundUpdate {
                        reason: Some(d.reason()),
                        ..Default::default()
                    },
                    None,
                )
                .await?
            }
            Err(e) => {
                self.move_refund(
                    &r.refund_id,
                    RefundState::Declined,
                    RefundUpdate {
                        reason: Some(e.to_string()),
                        ..Default::default()
                    },
                    None,
                )
                .await?
            }
        };
        self.refund_answer(&r).await
    }

    /// Offline: the ADD is queued within the `[offline]` caps, decided in the transaction
    /// that journals it; above the caps it is declined with the cap as the reason.
    async fn refund_giftcard_offline(&self, new: NewRefund) -> Result<RefundAnswer, EngineError> {
        let policy = self.offline.clone();
        let amount = new.amount;
        let r = match self
            .claim_refund(new, move |c, r| {
                let usage = exceptions::offline_usage(c)?;
                // An ADD needs no balance: only the lane's caps apply.
                let decision = super::offline::decide(
                    &policy,
                    &usage,
                    amount,
                    Some(amount),
                    Money::ZERO,
                    chrono::Utc::now(),
                );
                match decision {
                    Err(refusal) => refunds::transition(
                        c,
                        &r.refund_id,
                        RefundState::Declined,
                        RefundUpdate {
                            reason: Some(refusal.to_string()),
                            ..Default::default()
                        },
                    )
                    .map(Some),
                    Ok(_) => {
                        let q = refunds::transition(
                            c,
                            &r.refund_id,
                            RefundState::Queued,
                            RefundUpdate {
                                keep_code: true,
                                ..Default::default()
                            },
                        )?;
                        outbox::enqueue(
                            c,
                            &NewItem {
                                kind: OutboxKind::GiftcardRefund,
                                sale_id: Some(q.sale_id.clone()),
                                payment_id: None,
                                amount: Some(q.amount),
                                code_hash: q.code_hash.clone(),
                                payload: serde_json::json!({
                                    "refund_id": q.refund_id, "ref_no": q.ref_no, "amount": q.amount
                                })
                                .to_string(),
                            },
                        )?;
                        Ok(Some(q))
                    }
                }
            })
            .await?
        {
            Ok(r) => r,
            Err(first) => return Ok(first),
        };
        if r.state == RefundState::Queued {
            self.journal.outbox_wake.notify_one();
        }
        self.refund_answer(&r).await
    }

    /// Whether this lane's terminal can refund to a card (ZVT 06 31, or a processor terminal
    /// behind the POS); otherwise card refunds are declined with [`CARD_REFUND_UNAVAILABLE`].
    fn card_refunds_available(&self) -> bool {
        self.pos_terminal.lane().is_some() || self.cards.terminal.supports_refund()
    }

    /// The terminal's refund for `req`. A lost answer is settled at once from the terminal's
    /// evidence (status enquiry + repeat receipt against the trace number known before the
    /// command), never by sending the refund again; only evidence that settles nothing leaves
    /// it `OutcomeUnknown`.
    async fn terminal_refund(
        &self,
        req: &TerminalRequest,
    ) -> Result<TerminalOutcome, TerminalError> {
        if self.pos_terminal.lane().is_some() {
            // A processor terminal behind the POS: `transType: REFUND`, the lost answer
            // looked up by the refund's `refNo`.
            return self
                .pos_terminal
                .refund(&req.reference, req.amount, None)
                .await;
        }
        let terminal = &self.cards.terminal;
        let intent = RecoveryIntent {
            amount: req.amount,
            trace_before: terminal.last_trace().await,
        };
        match terminal.refund(req).await {
            Err(TerminalError::OutcomeUnknown(lost)) => match terminal.recover(&intent).await {
                Ok(Recovered::Approved(o)) => Ok(o),
                Ok(Recovered::NotExecuted(why)) => Err(TerminalError::NotSent(format!(
                    "the terminal's evidence shows the refund did not run ({lost}; {why})"
                ))),
                Ok(Recovered::Unknown(why)) => Err(TerminalError::OutcomeUnknown(format!(
                    "{lost}; the terminal's evidence settles nothing: {why}"
                ))),
                Err(e) => Err(TerminalError::OutcomeUnknown(format!(
                    "{lost}; the terminal could not be asked: {e}"
                ))),
            },
            other => other,
        }
    }

    async fn refund_card(&self, new: NewRefund) -> Result<RefundAnswer, EngineError> {
        let refused = if !self.link.is_online() {
            Some("link_offline")
        } else if !self.card_refunds_available() {
            Some(CARD_REFUND_UNAVAILABLE)
        } else {
            None
        };
        if let Some(reason) = refused {
            let r = match self
                .claim_refund(new, move |c, r| {
                    refunds::transition(
                        c,
                        &r.refund_id,
                        RefundState::Declined,
                        RefundUpdate {
                            reason: Some(reason.into()),
                            ..Default::default()
                        },
                    )
                    .map(Some)
                })
                .await?
            {
                Ok(r) => r,
                Err(first) => return Ok(first),
            };
            return self.refund_answer(&r).await;
        }
        let r = match self.claim_refund(new, |_, _| Ok(None)).await? {
            Ok(r) => r,
            Err(first) => return Ok(first),
        };
        let req = TerminalRequest {
            amount: r.amount,
            reference: r.ref_no.clone(),
        };
        let r = match self.terminal_refund(&req).await {
            Ok(o) if o.approved => {
                self.move_refund(
                    &r.refund_id,
                    RefundState::Approved,
                    RefundUpdate::default(),
                    None,
                )
                .await?
            }
            Ok(o) => {
                self.move_refund(
                    &r.refund_id,
                    RefundState::Declined,
                    RefundUpdate {
                        reason: Some(o.result_text.unwrap_or_else(|| "declined".into())),
                        ..Default::default()
                    },
                    None,
                )
                .await?
            }
            Err(TerminalError::NotSent(m)) => {
                self.move_refund(
                    &r.refund_id,
                    RefundState::Declined,
                    RefundUpdate {
                        reason: Some(format!("terminal_unavailable: {m}")),
                        ..Default::default()
                    },
                    None,
                )
                .await?
            }
            Err(e) => {
                self.move_refund(
                    &r.refund_id,
                    RefundState::InDoubt,
                    RefundUpdate {
                        reason: Some("outcome_unknown".into()),
                        ..Default::default()
                    },
                    Some((
                        REFUND_IN_DOUBT,
                        format!("the terminal's answer was lost: {e}"),
                    )),
                )
                .await?
            }
        };
        self.refund_answer(&r).await
    }
}

impl Engine {
    /// Returns and exchanges.
    pub fn returns(&self) -> &Returns {
        &self.inner.returns
    }

    /// Pays back part or all of what a sale owes the customer. See the module overview.
    pub async fn refund(
        &self,
        sale_id: &str,
        mut req: RefundRequest,
    ) -> Result<RefundAnswer, EngineError> {
        let refund_id = req
            .refund_id
            .get_or_insert_with(|| uuid::Uuid::now_v7().to_string())
            .clone();
        let sale = sale_id.to_owned();
        let submitted = self
            .submit(format!("refund:{refund_id}"), move |e| {
                let (sale, req) = (sale.clone(), req.clone());
                async move { e.returns().refund_now(&sale, req).await }
            })
            .await?;
        match submitted {
            Submitted::Finished(r) => r,
            Submitted::Pending => {
                let (sale, pays) = self.journal().load(sale_id).await?;
                Ok(RefundAnswer {
                    refund_id,
                    status: RefundStatus::Pending,
                    amount: Money::ZERO,
                    balance: None,
                    reason: None,
                    due: paid_and_due(&sale, &pays).1,
                })
            }
        }
    }
}
