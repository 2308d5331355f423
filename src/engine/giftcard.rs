//! Gift-card tenders, balance, activation and reload.

mod forward;

use std::sync::Arc;

use secrecy::SecretString;

use crate::domain::payment::EntryMode;
use crate::domain::{Money, OutboxKind, OutboxState, PaymentState};
use crate::store::exceptions::{self, NewException};
use crate::store::mask;
use crate::store::outbox::{self, NewItem};
use crate::store::payments::{self, NewPayment, PaymentRecord, PaymentUpdate};

use super::journal::Journal;
use super::link::Link;
use super::offline;
use super::ports::{CardSecret, Decline, GiftcardTransRequest, HostError};
use super::ports::{GiftcardHost, PaymentTerminal};
use super::sale::answer_in;
use super::{BalanceAnswer, BalanceSource, EngineError, EngineEvent, OfflinePolicy, PaymentAnswer};

pub(crate) fn card(code: &str, pin: Option<&SecretString>) -> CardSecret {
    CardSecret {
        code: SecretString::from(code.to_owned()),
        pin: pin.cloned(),
    }
}

/// The gift-card tender: a hold at the POS for what is due (partial when the card holds
/// less), acceptance within the offline policy while the link is down, capture at completion
/// and cancel with the sale; the card's balance and its cache for offline use.
#[derive(Clone)]
pub(crate) struct Giftcards {
    pub(super) journal: Journal,
    pub(super) link: Arc<Link>,
    pub(super) host: Arc<dyn GiftcardHost>,
    /// The cashier's terminal, which asks the customer for a PIN when the POS wants one.
    pin_pad: Arc<dyn PaymentTerminal>,
    offline: OfflinePolicy,
}

impl Giftcards {
    pub(crate) fn new(
        journal: Journal,
        link: Arc<Link>,
        host: Arc<dyn GiftcardHost>,
        pin_pad: Arc<dyn PaymentTerminal>,
        offline: OfflinePolicy,
    ) -> Giftcards {
        Giftcards {
            journal,
            link,
            host,
            pin_pad,
            offline,
        }
    }

    /// The gift-card tender state machine (see the module overview).
    pub(crate) async fn pay(
        &self,
        new: NewPayment,
        pin: Option<SecretString>,
    ) -> Result<PaymentAnswer, EngineError> {
        let code = new.code.clone().unwrap_or_default();
        let mut pin = pin;
        if !self.link.is_online() {
            return self.pay_offline_checked(new, pin.is_some()).await;
        }
        // Authorize first for what is due: its answer carries the balance, so the common
        // case is one POS round trip. Only a card that cannot cover it is asked its balance
        // (below), and then authorized for what it holds.
        let p = self.journal.insert_payment(&new).await?;
        let mut asked_pin = false;
        let mut reread = false;
        let mut amount = new.amount;
        loop {
            let req = GiftcardTransRequest {
                card: card(&code, pin.as_ref()),
                amount,
                ref_no: p.ref_no.clone(),
                source_id: self.journal.lane().register_code.clone(),
            };
            match self.host.authorize_use(&req).await {
                Ok(t) => {
                    self.link.up();
                    let upd = PaymentUpdate {
                        amount: Some(amount),
                        pos_trans_id: Some(t.id),
                        balance: t.balance,
                        ..Default::default()
                    };
                    // The hold is journaled first, with the balance it left in the cache
                    // for offline use and the register's answer, in one commit.
                    let code = code.clone();
                    let (p, answer) = self
                        .journal
                        .journal_outcome(move |c, s| {
                            let p = payments::transition(
                                c,
                                &p.payment_id,
                                PaymentState::Authorized,
                                upd.clone(),
                            )?;
                            if let Some(b) = upd.balance {
                                exceptions::cache_balance(
                                    c,
                                    &s.keyed_hash(&code),
                                    &mask(&code),
                                    b,
                                )?;
                            }
                            let answer = answer_in(c, &p)?;
                            Ok((p, answer))
                        })
                        .await?;
                    self.journal.payment_event(&p);
                    tracing::info!(payment_id = %p.payment_id, code = %p.code_masked.as_deref().unwrap_or(""), amount = %amount, "Gift card authorized.");
                    return Ok(answer);
                }
                Err(HostError::Declined(Decline::InvalidPin))
                    if new.entry_mode == Some(EntryMode::Keyed) && pin.is_none() && !asked_pin =>
                {
                    asked_pin = true;
                    match self.pin_pad.numeric_input("Gift card PIN", 8).await {
                        Ok(Some(p)) => pin = Some(p),
                        Ok(None) => return self.journal.decline(&p, "pin_cancelled").await,
                        Err(e) => {
                            return self
                                .journal
                                .decline(&p, &format!("pin_entry_failed: {e}"))
                                .await;
                        }
                    }
                }
                Err(HostError::Declined(Decline::InsufficientBalance)) if !reread => {
                    // Definitive for this amount: read the balance once and authorize what the
                    // card holds (a partial approval); a second refusal is final.
                    self.link.up();
                    reread = true;
                    match self.host.balance(&card(&code, pin.as_ref())).await {
                        Ok(b) => {
                            self.cache_balance(&code, b.balance).await?;
                            amount = amount.min(b.balance);
                            if !amount.is_positive() {
                                return self
                                    .journal
                                    .decline(&p, &Decline::InsufficientBalance.reason())
                                    .await;
                            }
                        }
                        Err(e) => {
                            self.link.note(&e);
                            return self
                                .journal
                                .decline(&p, &Decline::InsufficientBalance.reason())
                                .await;
                        }
                    }
                }
                Err(HostError::Declined(d)) => {
                    self.link.up();
                    return self.journal.decline(&p, &d.reason()).await;
                }
                Err(HostError::NotSent(_)) => {
                    self.link.down();
                    if pin.is_some() {
                        return self.journal.decline(&p, "offline_pin_card").await;
                    }
                    return self.offline_existing(p, new.amount).await;
                }
                Err(HostError::OutcomeUnknown(m)) => {
                    // pos-api.md §5.8: an authorize cannot be looked up; a stray hold ends at
                    // the Delay Period. Never shown approved.
                    tracing::warn!(payment_id = %p.payment_id, error = %m, "Gift-card authorize outcome unknown; payment in doubt.");
                    let upd = PaymentUpdate {
                        reason: Some("outcome_unknown".into()),
                        ..Default::default()
                    };
                    return Ok(self
                        .journal
                        .settle_payment(&p.payment_id, PaymentState::InDoubt, upd)
                        .await?
                        .1);
                }
                Err(e) => return self.journal.decline(&p, &e.to_string()).await,
            }
        }
    }

    pub(crate) async fn cache_balance(
        &self,
        code: &str,
        balance: Money,
    ) -> Result<(), EngineError> {
        let code = code.to_owned();
        self.journal
            .store()
            .write(move |c, s| {
                exceptions::cache_balance(c, &s.keyed_hash(&code), &mask(&code), balance)
            })
            .await?;
        Ok(())
    }

    /// PINs are never stored, so a card that needs one could not be forwarded later: such a
    /// tender (a PIN came with it) is refused offline rather than accepted and declined later.
    async fn pay_offline_checked(
        &self,
        new: NewPayment,
        pin_given: bool,
    ) -> Result<PaymentAnswer, EngineError> {
        if pin_given && self.offline.enabled {
            return self
                .journal
                .record_declined(new, "offline_pin_card".into())
                .await;
        }
        self.pay_offline(new).await
    }

    async fn pay_offline(&self, new: NewPayment) -> Result<PaymentAnswer, EngineError> {
        let (pid, amount) = (new.payment_id.clone(), new.amount);
        self.offline_decide(pid, Some(new), amount).await
    }

    async fn offline_existing(
        &self,
        p: PaymentRecord,
        amount: Money,
    ) -> Result<PaymentAnswer, EngineError> {
        self.offline_decide(p.payment_id, None, amount).await
    }

    /// Decides and records an offline tender in one transaction (inserting the payment too
    /// when `insert` is given): the policy sees every earlier offline redemption, so two
    /// tenders cannot both slip under a cap, and the approval is durable before it shows.
    async fn offline_decide(
        &self,
        pid: String,
        insert: Option<NewPayment>,
        amount: Money,
    ) -> Result<PaymentAnswer, EngineError> {
        let policy = self.offline.clone();
        let lane = self.journal.lane();
        let (sc, rc) = (lane.store_code.clone(), lane.register_code.clone());
        let decided = self
            .journal
            .store()
            .write(move |c, s| {
                let p = match &insert {
                    Some(n) => payments::insert(c, s, &sc, &rc, n)?.into_inner(),
                    None => payments::get(c, &pid)?,
                };
                let (payment, item) = offline_decide_in(c, &policy, p, amount)?;
                let answer = answer_in(c, &payment)?;
                Ok(LocallyDecided {
                    payment,
                    item,
                    answer,
                })
            })
            .await?;
        Ok(self.offline_decided(decided))
    }

    /// After the commit of an offline decision: the events and the log line.
    pub(crate) fn offline_decided(&self, d: LocallyDecided) -> PaymentAnswer {
        self.journal.payment_event(&d.payment);
        if let Some(id) = d.item {
            tracing::info!(payment_id = %d.payment.payment_id, amount = %d.payment.amount, "Gift card accepted offline.");
            self.journal.emit(EngineEvent::Outbox {
                id,
                kind: OutboxKind::GiftcardRedeem,
                state: OutboxState::New,
            });
        }
        d.answer
    }

    /// Captures a hold in `capturing`; when it cannot be done now, an outbox item finishes it.
    pub(crate) async fn capture(&self, p: &PaymentRecord) -> Result<(), EngineError> {
        if let Some(upd) = self.capture_hold_now(p).await? {
            self.journal
                .move_payment(&p.payment_id, PaymentState::Captured, upd)
                .await?;
        }
        Ok(())
    }

    /// Captures a hold in `capturing` at the POS. Returns the update that goes with its
    /// `captured` state (the caller journals it), or `None` when an outbox item will finish
    /// the capture.
    pub(crate) async fn capture_hold_now(
        &self,
        p: &PaymentRecord,
    ) -> Result<Option<PaymentUpdate>, EngineError> {
        let id = p.pos_trans_id.clone().unwrap_or_default();
        match self.host.capture(&id).await {
            Ok(t) => {
                self.link.up();
                Ok(Some(PaymentUpdate {
                    balance: t.balance.or(p.balance),
                    ..Default::default()
                }))
            }
            Err(e) => {
                self.link.note(&e);
                tracing::warn!(payment_id = %p.payment_id, error = %e, "Gift-card capture deferred to the outbox.");
                self.journal
                    .ensure_item(p, OutboxKind::GiftcardCapture)
                    .await?;
                Ok(None)
            }
        }
    }

    /// Cancels a hold in `cancelling`; when it cannot be done now, an outbox item finishes it.
    pub(crate) async fn cancel(&self, p: &PaymentRecord) -> Result<(), EngineError> {
        let id = p.pos_trans_id.clone().unwrap_or_default();
        match self.host.cancel(&id).await {
            Ok(_) => {
                self.link.up();
                self.journal
                    .move_payment(
                        &p.payment_id,
                        PaymentState::Cancelled,
                        PaymentUpdate::default(),
                    )
                    .await?;
                Ok(())
            }
            Err(e) => {
                self.link.note(&e);
                tracing::warn!(payment_id = %p.payment_id, error = %e, "Gift-card cancel deferred to the outbox.");
                self.journal
                    .ensure_item(p, OutboxKind::GiftcardCancel)
                    .await
            }
        }
    }

    /// Cancel of an offline-approved tender: drop its redemption if not yet sent; otherwise
    /// the card was (or may have been) debited and an operator must refund it.
    pub(crate) async fn drop_offline(&self, p: &PaymentRecord) -> Result<(), EngineError> {
        let pid = p.payment_id.clone();
        let (dropped, exc) = self
            .journal
            .store()
            .write(move |c, _| {
                let item = outbox::for_payment(c, &pid)?
                    .into_iter()
                    .find(|i| i.kind == OutboxKind::GiftcardRedeem);
                match item {
                    Some(i) if matches!(i.state, OutboxState::New | OutboxState::Held) => {
                        outbox::transition(c, i.id, OutboxState::Dropped, Some("sale cancelled"))?;
                        let p = payments::transition(
                            c,
                            &pid,
                            PaymentState::Cancelled,
                            PaymentUpdate::default(),
                        )?;
                        Ok((Some((i.id, p)), None))
                    }
                    other => {
                        let p = payments::get(c, &pid)?;
                        let e = exceptions::raise(
                            c,
                            &NewException {
                                kind: "refund_needed".into(),
                                sale_id: Some(p.sale_id.clone()),
                                payment_id: Some(pid.clone()),
                                outbox_id: other.map(|i| i.id),
                                amount: Some(p.amount),
                                code_masked: p.code_masked.clone(),
                                reason: "sale cancelled after its offline redemption was forwarded"
                                    .into(),
                            },
                        )?;
                        Ok((None, Some(e)))
                    }
                }
            })
            .await?;
        if let Some((id, p)) = dropped {
            self.journal.emit(EngineEvent::Outbox {
                id,
                kind: OutboxKind::GiftcardRedeem,
                state: OutboxState::Dropped,
            });
            self.journal.payment_event(&p);
        }
        if let Some(id) = exc {
            self.journal.emit(EngineEvent::Exception {
                id,
                kind: "refund_needed".into(),
                reason: "sale cancelled".into(),
            });
        }
        Ok(())
    }

    /// Card balance (`GET /v1/giftcards/balance`): online when reachable, else the last known
    /// balance minus what this lane took offline since.
    pub(crate) async fn balance(&self, code: SecretString) -> Result<BalanceAnswer, EngineError> {
        let raw = secrecy::ExposeSecret::expose_secret(&code)
            .trim()
            .to_owned();
        if raw.is_empty() {
            return Err(EngineError::Invalid("code is empty".into()));
        }
        if self.link.is_online() {
            match self.host.balance(&card(&raw, None)).await {
                Ok(b) => {
                    self.link.up();
                    self.cache_balance(&raw, b.balance).await?;
                    return Ok(BalanceAnswer {
                        balance: b.balance,
                        code: mask(&raw),
                        source: BalanceSource::Online,
                    });
                }
                Err(e @ (HostError::NotSent(_) | HostError::OutcomeUnknown(_))) => {
                    self.link.note(&e);
                    self.link.down();
                }
                Err(e) => {
                    self.link.note(&e);
                    return Err(e.into());
                }
            }
        }
        let r = raw.clone();
        let cached = self
            .journal
            .store()
            .read(move |c, s| {
                let h = s.keyed_hash(&r);
                Ok(exceptions::cached_balance(c, &h)?
                    .map(|(b, _)| b)
                    .map(|b| (b, exceptions::offline_taken_for_card(c, &h))))
            })
            .await?;
        match cached {
            Some((b, taken)) => Ok(BalanceAnswer {
                balance: b - taken?,
                code: mask(&raw),
                source: BalanceSource::Cached,
            }),
            None => Err(EngineError::Host(HostError::NotSent(
                "POS unreachable and card unknown".into(),
            ))),
        }
    }
}

/// A payment decided on the lane (cash, an offline decision) as committed: the payment, its
/// redemption item when approved offline, the register's answer.
pub(crate) struct LocallyDecided {
    pub(crate) payment: PaymentRecord,
    pub(crate) item: Option<i64>,
    pub(crate) answer: PaymentAnswer,
}

/// The offline policy's verdict on `amount` from the card `hash`, from what the journal
/// holds: read in the caller's transaction, so two tenders cannot both slip under a cap.
fn offline_verdict_in(
    c: &rusqlite::Connection,
    policy: &super::OfflinePolicy,
    hash: &str,
    amount: Money,
) -> Result<Result<Money, offline::OfflineRefusal>, crate::store::StoreError> {
    let (usage, taken) = exceptions::offline_usage_and_taken(c, hash)?;
    let known = exceptions::cached_balance(c, hash)?.map(|(b, _)| b);
    Ok(offline::decide(
        policy,
        &usage,
        amount,
        known,
        taken,
        chrono::Utc::now(),
    ))
}

/// Queues the redemption of `p`, approved offline, for the POS.
fn queue_redemption_in(
    c: &rusqlite::Connection,
    p: &PaymentRecord,
) -> Result<i64, crate::store::StoreError> {
    let payload = serde_json::json!({ "ref_no": p.ref_no, "amount": p.amount }).to_string();
    outbox::enqueue(
        c,
        &NewItem {
            kind: OutboxKind::GiftcardRedeem,
            sale_id: Some(p.sale_id.clone()),
            payment_id: Some(p.payment_id.clone()),
            amount: Some(p.amount),
            code_hash: Some(p.code_hash.clone().unwrap_or_default()),
            payload,
        },
    )
}

/// The offline policy's decision on payment `p` (as read in the caller's transaction),
/// journaled in that transaction: approved with its redemption item, or declined with the
/// refusal.
pub(crate) fn offline_decide_in(
    c: &rusqlite::Connection,
    policy: &super::OfflinePolicy,
    p: PaymentRecord,
    amount: Money,
) -> Result<(PaymentRecord, Option<i64>), crate::store::StoreError> {
    let hash = p.code_hash.clone().unwrap_or_default();
    match offline_verdict_in(c, policy, &hash, amount)? {
        Ok(approved) => {
            let upd = PaymentUpdate {
                amount: Some(approved),
                ..Default::default()
            };
            let p = payments::transition_from(c, p, PaymentState::OfflineApproved, upd)?;
            let item = queue_redemption_in(c, &p)?;
            Ok((p, Some(item)))
        }
        Err(refusal) => {
            let upd = PaymentUpdate {
                reason: Some(refusal.to_string()),
                ..Default::default()
            };
            let p = payments::transition_from(c, p, PaymentState::Declined, upd)?;
            Ok((p, None))
        }
    }
}

/// [`offline_decide_in`] for a payment not yet written: decided first, then inserted as
/// decided (one statement for the payment, not an insert and a move).
pub(crate) fn offline_insert_in(
    c: &rusqlite::Connection,
    s: &crate::store::Secrets,
    lane: (&str, &str),
    policy: &super::OfflinePolicy,
    new: &NewPayment,
) -> Result<(PaymentRecord, Option<i64>), crate::store::StoreError> {
    let hash = new
        .code
        .as_deref()
        .map(|code| s.keyed_hash(code))
        .unwrap_or_default();
    match offline_verdict_in(c, policy, &hash, new.amount)? {
        Ok(approved) => {
            let to = PaymentState::OfflineApproved;
            let p = payments::insert_settled(c, s, lane, new, to, approved, None)?;
            let item = queue_redemption_in(c, &p)?;
            Ok((p, Some(item)))
        }
        Err(refusal) => {
            let (to, reason) = (PaymentState::Declined, Some(refusal.to_string()));
            let p = payments::insert_settled(c, s, lane, new, to, new.amount, reason)?;
            Ok((p, None))
        }
    }
}
