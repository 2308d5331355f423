//! Opening, paying, completing and cancelling sales.

use crate::domain::payment::Method;
use crate::domain::{Money, OutboxKind, OutboxState, PaymentState, SaleState};
use crate::store::StoreError;
use crate::store::outbox::{self, NewItem};
use crate::store::payments::{self, NewPayment, PaymentRecord, PaymentUpdate};
use crate::store::sales::{self, NewSale, SaleRecord};
use rusqlite::Connection;

use super::tender::tender;
use super::{
    CompleteAnswer, Engine, EngineError, EngineEvent, Fault, OpenSale, PaymentAnswer,
    PaymentRequest, PaymentStatus, PaymentView, PurchaseStatus, SaleView, purchase,
};
use crate::metrics::{SaleOutcome, TenderMethod, TenderResult};

/// How long the [`Fault::AnswerBeforeCommit`] build waits, after acknowledging a completion,
/// before it starts writing it: wide enough that a kill right after the answer lands inside.
const ANSWER_BEFORE_COMMIT_WINDOW: std::time::Duration = std::time::Duration::from_millis(200);

/// Paid and due for a sale. `due` is negative while money is owed to the customer (a
/// return, an exchange that nets out below zero) and shrinks towards zero with each refund
/// (`sale.refunded`); it never crosses zero the other way.
pub fn paid_and_due(sale: &SaleRecord, pays: &[PaymentRecord]) -> (Money, Money) {
    let paid: Money = pays
        .iter()
        .filter(|p| p.state.counts_as_paid())
        .map(|p| p.amount)
        .sum();
    let mut due = sale.totals.total - paid;
    if sale.refunded != Money::ZERO {
        due += sale.refunded;
    }
    let owed_to_customer = sale.totals.total < Money::ZERO;
    let crossed = if owed_to_customer {
        due > Money::ZERO
    } else {
        due.0.is_sign_negative()
    };
    (paid, if crossed { Money::ZERO } else { due })
}

/// The register's view of a payment, derived from its stored state (so a retry with the
/// same id gets the same answer).
pub fn answer_for(p: &PaymentRecord, due: Money) -> PaymentAnswer {
    use PaymentState::*;
    let (status, approved) = match p.state {
        Authorized | Approved | Capturing | Captured => (PaymentStatus::Approved, p.amount),
        OfflineApproved => (PaymentStatus::OfflineApproved, p.amount),
        Authorizing => (PaymentStatus::Pending, Money::ZERO),
        InDoubt => (PaymentStatus::InDoubt, Money::ZERO),
        Declined | Cancelling | Cancelled | ForwardDeclined => {
            (PaymentStatus::Declined, Money::ZERO)
        }
    };
    PaymentAnswer {
        payment_id: p.payment_id.clone(),
        status,
        approved_amount: approved,
        balance: p.balance,
        reason: p.reason.clone(),
        due,
    }
}

fn now_local() -> String {
    chrono::Local::now()
        .naive_local()
        .format("%Y-%m-%dT%H:%M:%S")
        .to_string()
}

/// The sale and its payments, read in the caller's transaction.
pub(crate) fn load_in(
    c: &Connection,
    sale_id: &str,
) -> Result<(SaleRecord, Vec<PaymentRecord>), StoreError> {
    Ok((sales::get(c, sale_id)?, payments::for_sale(c, sale_id)?))
}

/// A sale as a payment decision needs it: totals, refunds and payments, without the lines.
fn load_for_money_in(
    c: &Connection,
    sale_id: &str,
) -> Result<(SaleRecord, Vec<PaymentRecord>), StoreError> {
    let sale = sales::find_without_lines(c, sale_id)?
        .ok_or_else(|| StoreError::NotFound(format!("sale {sale_id}")))?;
    Ok((sale, payments::for_sale(c, sale_id)?))
}

/// A payment's answer, read in the transaction that wrote the payment: the answer costs no
/// second trip to the store.
pub(crate) fn answer_in(c: &Connection, p: &PaymentRecord) -> Result<PaymentAnswer, StoreError> {
    let (sale, pays) = load_for_money_in(c, &p.sale_id)?;
    Ok(answer_for(p, paid_and_due(&sale, &pays).1))
}

/// The register's view of a sale and its payments.
fn sale_view(sale: SaleRecord, pays: Vec<PaymentRecord>) -> SaleView {
    let (paid, due) = paid_and_due(&sale, &pays);
    SaleView {
        sale_id: sale.sale_id,
        transaction_id: sale.transaction_id,
        state: sale.state,
        total: sale.totals.total,
        totals: sale.totals,
        paid,
        due,
        member_id: sale.member_id,
        lines: sale.lines,
        payments: pays.iter().map(PaymentView::from).collect(),
    }
}

/// Whether completing the sale still has to capture this payment's hold (every tender's
/// `capture` acts on these states only).
fn needs_capture(p: &PaymentRecord) -> bool {
    matches!(p.state, PaymentState::Authorized | PaymentState::Capturing)
}

/// A tender decided on the lane, in the commit that checks the sale.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum LocalTender {
    /// Cash: approved as it is recorded.
    Cash,
    /// A gift card while the POS link is down: the offline policy decides.
    Offline,
}

/// What the commit of a local tender did.
enum PaidLocally {
    /// Decided and journaled now.
    Now(Box<super::giftcard::LocallyDecided>),
    /// The same payment was made before: its first answer.
    Before(PaymentAnswer),
    /// The sale cannot take it; nothing was written.
    Refused(EngineError),
}

/// What the first commit of a completion found and did.
enum CompletionStart {
    /// Completed before: the answer comes from its purchase item.
    AlreadyCompleted,
    /// Negative control ([`Fault::AnswerBeforeCommit`]): acknowledged with nothing written.
    AnswerFirst,
    /// Refused; a `completing` sale with money due again is `open` again (`reopened`).
    Refused { error: EngineError, reopened: bool },
    /// Nothing to capture: completed, its purchase queued (this outbox id), in that commit.
    Completed(i64),
    /// `completing`, with these payments; the POS holds in `marked` (gift cards, terminal
    /// payments through the POS) went `capturing` in the same commit and are captured next.
    Capture {
        pays: Vec<PaymentRecord>,
        marked: Vec<String>,
    },
}

/// The first commit of a completion (see [`Engine::complete_sale`]).
fn start_completion(
    c: &Connection,
    store_code: &str,
    sale_id: &str,
    answer_first: bool,
) -> Result<CompletionStart, StoreError> {
    let (sale, pays) = load_in(c, sale_id)?;
    let refused = |error| {
        Ok(CompletionStart::Refused {
            error,
            reopened: false,
        })
    };
    match sale.state {
        SaleState::Completed => return Ok(CompletionStart::AlreadyCompleted),
        SaleState::Open | SaleState::Completing => {}
        SaleState::Cancelled | SaleState::Cancelling => {
            return refused(EngineError::SaleCancelled(sale_id.into()));
        }
    }
    if let Err(e) = Engine::refuse_in_doubt(&pays) {
        return refused(e);
    }
    let due = paid_and_due(&sale, &pays).1;
    if due != Money::ZERO {
        let reopened = sale.state == SaleState::Completing;
        if reopened {
            sales::set_state(c, sale_id, SaleState::Open)?;
        }
        return Ok(CompletionStart::Refused {
            error: EngineError::Due { due },
            reopened,
        });
    }
    if sale.state == SaleState::Open && answer_first {
        return Ok(CompletionStart::AnswerFirst);
    }
    if sale.state == SaleState::Open {
        sales::set_state(c, sale_id, SaleState::Completing)?;
    }
    if !pays.iter().any(needs_capture) {
        return finish_completion(c, store_code, sale_id).map(CompletionStart::Completed);
    }
    let mut marked = Vec::new();
    let mut out = Vec::with_capacity(pays.len());
    for p in pays {
        // Holds captured at the POS (gift cards, terminals the POS drives); a ZVT
        // reservation is booked at the terminal by its own tender.
        let hold = p.state == PaymentState::Authorized
            && (p.method == Method::Giftcard
                || p.terminal_mode == Some(crate::domain::payment::TerminalMode::Pos));
        out.push(if hold {
            marked.push(p.payment_id.clone());
            payments::transition(
                c,
                &p.payment_id,
                PaymentState::Capturing,
                PaymentUpdate::default(),
            )?
        } else {
            p
        });
    }
    Ok(CompletionStart::Capture { pays: out, marked })
}

/// The last write of a completion: the purchase built from the sale as journaled now, the
/// sale `completed`, its sealed codes erased, the purchase queued. Returns the outbox id.
fn finish_completion(c: &Connection, store_code: &str, sale_id: &str) -> Result<i64, StoreError> {
    let (sale, pays) = load_in(c, sale_id)?;
    let input = purchase::build(store_code, &sale, &pays);
    let payload = serde_json::to_string(&input).map_err(|e| StoreError::Data(e.to_string()))?;
    sales::set_state(c, sale_id, SaleState::Completed)?;
    crate::store::refunds::erase_codes(c, sale_id)?;
    outbox::enqueue(
        c,
        &NewItem {
            kind: OutboxKind::Purchase,
            sale_id: Some(sale_id.to_owned()),
            payment_id: None,
            amount: Some(sale.totals.total),
            code_hash: None,
            payload,
        },
    )
}

impl Engine {
    /// Opens a sale (`POST /v1/sales`). The same `sale_id` with the same body returns the
    /// first sale; with another body, `Conflict`.
    pub async fn open_sale(&self, req: OpenSale) -> Result<SaleView, EngineError> {
        self.open_sale_with(req, None).await
    }

    /// [`Engine::open_sale`] for a return that names the sale its items were bought in
    /// (`original_sale_id`, kept with the sale in the same transaction; see
    /// [`super::refund`]).
    pub async fn open_sale_with(
        &self,
        req: OpenSale,
        original_sale_id: Option<String>,
    ) -> Result<SaleView, EngineError> {
        let new = NewSale {
            sale_id: req
                .sale_id
                .clone()
                .unwrap_or_else(|| uuid::Uuid::now_v7().to_string()),
            lines: req.lines,
            tax: req.tax.unwrap_or(Money::ZERO),
            member_id: req.member_id,
            purchased_on: now_local(),
        };
        if new.sale_id.trim().is_empty() {
            return Err(EngineError::Invalid("sale_id is empty".into()));
        }
        sales::compute(&new.lines, new.tax).map_err(EngineError::Invalid)?;
        if let Some(o) = original_sale_id.clone() {
            let known = self
                .store()
                .read(move |c, _| Ok(sales::find(c, &o)?.is_some()))
                .await?;
            if !known {
                return Err(EngineError::Invalid(
                    "original_sale_id names no sale on this lane".into(),
                ));
            }
        }
        let (sc, rc) = (
            self.inner.cfg.store_code.clone(),
            self.inner.cfg.register_code.clone(),
        );
        // The view is read in the commit that opened the sale: one trip to the store.
        let (is_new, sale, pays) = self
            .store()
            .write(move |c, s| {
                let ins = sales::insert(c, s, &sc, &rc, &new)?;
                let is_new = matches!(ins, sales::Inserted::New(_));
                if is_new && original_sale_id.is_none() {
                    // As inserted: nothing is paid on a sale that did not exist a moment ago.
                    return Ok((true, ins.into_inner(), Vec::new()));
                }
                crate::store::refunds::set_original(
                    c,
                    &new.sale_id,
                    original_sale_id.as_deref(),
                    is_new,
                )?;
                let (sale, pays) = load_in(c, &new.sale_id)?;
                Ok((is_new, sale, pays))
            })
            .await?;
        if is_new {
            tracing::info!(sale_id = %sale.sale_id, transaction_id = %sale.transaction_id, total = %sale.totals.total, "Sale opened.");
            self.journal().count(|m| m.record_sale(SaleOutcome::Opened));
            self.journal().emit(EngineEvent::Sale {
                sale_id: sale.sale_id.clone(),
                state: sale.state,
            });
        }
        Ok(sale_view(sale, pays))
    }

    /// The sale, its payments and what is due (`GET /v1/sales/{id}`).
    pub async fn sale(&self, sale_id: &str) -> Result<SaleView, EngineError> {
        let id = sale_id.to_owned();
        let (sale, pays) = self.store().read(move |c, _| load_in(c, &id)).await?;
        Ok(sale_view(sale, pays))
    }

    /// Adds a tender (`POST /v1/sales/{id}/payments`). The same `payment_id` with the same
    /// body returns the first answer; with another body, `Conflict`. The tender runs on an
    /// engine-owned task ([`super::movement`]): when it outlasts the wait, the answer is
    /// `pending` and the tender carries on to its journaled outcome.
    pub async fn add_payment(
        &self,
        sale_id: &str,
        mut req: PaymentRequest,
    ) -> Result<PaymentAnswer, EngineError> {
        let payment_id = req
            .payment_id
            .get_or_insert_with(|| uuid::Uuid::now_v7().to_string())
            .clone();
        let sale = sale_id.to_owned();
        let submitted = self
            .submit(format!("payment:{payment_id}"), move |e| {
                let (sale, req) = (sale.clone(), req.clone());
                async move { e.add_payment_now(&sale, req).await }
            })
            .await?;
        match submitted {
            super::movement::Submitted::Finished(r) => r,
            super::movement::Submitted::Pending => self.pending_answer(sale_id, &payment_id).await,
        }
    }

    /// The answer for a payment still running.
    async fn pending_answer(
        &self,
        sale_id: &str,
        payment_id: &str,
    ) -> Result<PaymentAnswer, EngineError> {
        let (sale, pays) = self.journal().load(sale_id).await?;
        Ok(PaymentAnswer {
            payment_id: payment_id.to_owned(),
            status: PaymentStatus::Pending,
            approved_amount: Money::ZERO,
            balance: None,
            reason: None,
            due: paid_and_due(&sale, &pays).1,
        })
    }

    /// The first answer of a payment already made under `payment_id` on this sale, if any
    /// (a retried code-less gift-card payment must not wait for a new swipe).
    pub async fn existing_payment(
        &self,
        sale_id: &str,
        payment_id: &str,
    ) -> Result<Option<PaymentAnswer>, EngineError> {
        let (sale, pays) = self.journal().load(sale_id).await?;
        let Some(p) = pays.iter().find(|p| p.payment_id == payment_id) else {
            let other = payment_id.to_owned();
            let elsewhere = self
                .store()
                .read(move |c, _| match payments::get(c, &other) {
                    Ok(_) => Ok(true),
                    Err(crate::store::StoreError::NotFound(_)) => Ok(false),
                    Err(e) => Err(e),
                })
                .await?;
            if elsewhere {
                return Err(EngineError::Conflict(format!("payment {payment_id}")));
            }
            return Ok(None);
        };
        if p.state == PaymentState::Authorizing
            && self
                .inner
                .movements
                .is_running(&format!("payment:{payment_id}"))
        {
            return Ok(Some(self.pending_answer(sale_id, payment_id).await?));
        }
        Ok(Some(answer_for(p, paid_and_due(&sale, &pays).1)))
    }

    async fn add_payment_now(
        &self,
        sale_id: &str,
        req: PaymentRequest,
    ) -> Result<PaymentAnswer, EngineError> {
        let _guard = self.inner.sale_lock.lock().await;
        let code = req.code.as_ref().map(|c| {
            zeroize::Zeroizing::new(secrecy::ExposeSecret::expose_secret(c).trim().to_owned())
        });
        let new = NewPayment {
            payment_id: req
                .payment_id
                .clone()
                .unwrap_or_else(|| uuid::Uuid::now_v7().to_string()),
            sale_id: sale_id.to_owned(),
            method: req.method,
            requested_amount: req.amount,
            amount: req.amount,
            code,
            entry_mode: (req.method == Method::Giftcard).then_some(req.entry_mode),
            // A lane whose card terminal the POS drives takes every card that way.
            terminal_mode: (req.method == Method::Card).then_some(
                if self.pos_terminal().lane().is_some() {
                    crate::domain::payment::TerminalMode::Pos
                } else {
                    req.terminal_mode
                },
            ),
            pin_given: req.pin.is_some(),
            trace_before: None,
        };
        let method = req.method;
        if let Some(local) = self.local_tender(&req) {
            return self.pay_locally(local, new).await;
        }
        let (probe, id) = (new.clone(), sale_id.to_owned());
        let (sale, pays, first) = self
            .store()
            .read(move |c, s| {
                let (sale, pays) = load_for_money_in(c, &id)?;
                Ok((sale, pays, payments::find_same(c, s, &probe)?))
            })
            .await?;
        if let Some(first) = first {
            // `authorizing` with no movement running: its recovery has not settled it yet.
            return Ok(answer_for(&first, paid_and_due(&sale, &pays).1));
        }
        let due = Self::payable(&sale, &pays, req.amount)?;
        let mut new = new;
        new.amount = req.amount.min(due);
        let asked = new.amount;
        let answer = tender(method).start(self, new, req.pin).await;
        self.journal()
            .count(|m| m.record_tender(tender_method(method), tender_result(&answer, asked)));
        answer
    }

    /// What is due on a sale that may take `amount` now; refuses a sale with a payment in
    /// doubt, a sale that is not open, a non-positive amount and a sale with nothing due.
    fn payable(
        sale: &SaleRecord,
        pays: &[PaymentRecord],
        amount: Money,
    ) -> Result<Money, EngineError> {
        Self::refuse_in_doubt(pays)?;
        Self::open_for_money(sale, amount)?;
        let due = paid_and_due(sale, pays).1;
        if !due.is_positive() {
            return Err(EngineError::NothingDue(sale.sale_id.clone()));
        }
        Ok(due)
    }

    /// A tender the lane decides by itself: cash, and a gift card while the POS link is down
    /// (without a PIN, which could not be forwarded: that one is refused on the usual path).
    fn local_tender(&self, req: &PaymentRequest) -> Option<LocalTender> {
        match req.method {
            Method::Cash => Some(LocalTender::Cash),
            Method::Giftcard if !self.inner.link.is_online() && req.pin.is_none() => {
                Some(LocalTender::Offline)
            }
            _ => None,
        }
    }

    /// A local tender in one commit: the sale's checks, the payment and its outcome (an
    /// offline decision with its redemption item) and the answer.
    pub(crate) async fn pay_locally(
        &self,
        local: LocalTender,
        new: NewPayment,
    ) -> Result<PaymentAnswer, EngineError> {
        let (sc, rc) = (
            self.inner.cfg.store_code.clone(),
            self.inner.cfg.register_code.clone(),
        );
        let policy = self.inner.cfg.offline.clone();
        let paid = self
            .store()
            .write(move |c, s| {
                let (sale, pays) = load_for_money_in(c, &new.sale_id)?;
                if let Some(first) = payments::find_same_among(c, s, &new, &pays)? {
                    let answer = answer_for(&first, paid_and_due(&sale, &pays).1);
                    return Ok(PaidLocally::Before(answer));
                }
                let due = match Self::payable(&sale, &pays, new.amount) {
                    Ok(due) => due,
                    Err(e) => return Ok(PaidLocally::Refused(e)),
                };
                let mut new = new;
                new.amount = new.amount.min(due);
                // No payment of this sale has the id (another sale's is refused by the
                // insert), and the lane decides it here: it goes in as decided.
                let lane = (sc.as_str(), rc.as_str());
                let (payment, item) = match local {
                    LocalTender::Cash => {
                        let to = PaymentState::Approved;
                        let p = payments::insert_settled(c, s, lane, &new, to, new.amount, None)?;
                        (p, None)
                    }
                    LocalTender::Offline => {
                        super::giftcard::offline_insert_in(c, s, lane, &policy, &new)?
                    }
                };
                // What is due follows from the sale as read above and this payment.
                let mut now_paid = pays;
                now_paid.push(payment.clone());
                let answer = answer_for(&payment, paid_and_due(&sale, &now_paid).1);
                Ok(PaidLocally::Now(Box::new(
                    super::giftcard::LocallyDecided {
                        payment,
                        item,
                        answer,
                    },
                )))
            })
            .await?;
        let d = match paid {
            PaidLocally::Now(d) => *d,
            PaidLocally::Before(answer) => return Ok(answer),
            PaidLocally::Refused(e) => return Err(e),
        };
        // The amount was trimmed to what is due, which is no partial approval.
        let (method, asked) = (d.payment.method, d.payment.amount);
        let answer = if local == LocalTender::Cash {
            self.journal().payment_event(&d.payment);
            d.answer
        } else {
            self.giftcards().offline_decided(d)
        };
        let answer = Ok(answer);
        self.journal()
            .count(|m| m.record_tender(tender_method(method), tender_result(&answer, asked)));
        answer
    }

    /// Refuses money on a sale that is not open, and an amount that is not positive (a
    /// payment or a refund alike).
    pub(crate) fn open_for_money(sale: &SaleRecord, amount: Money) -> Result<(), EngineError> {
        match sale.state {
            SaleState::Open => {}
            SaleState::Cancelled | SaleState::Cancelling => {
                return Err(EngineError::SaleCancelled(sale.sale_id.clone()));
            }
            SaleState::Completed | SaleState::Completing => {
                return Err(EngineError::SaleCompleted(sale.sale_id.clone()));
            }
        }
        if !amount.is_positive() {
            return Err(EngineError::Invalid("amount must be positive".into()));
        }
        Ok(())
    }

    /// Completes a sale (`POST /v1/sales/{id}/complete`): captures every hold, then commits
    /// the completion together with its `purchaseAdd` outbox item. Refuses while due > 0.
    pub async fn complete_sale(&self, sale_id: &str) -> Result<CompleteAnswer, EngineError> {
        let submitted = self
            .submit_sale_step(sale_id, |e, id| async move { e.complete_locked(&id).await })
            .await?;
        match submitted {
            super::movement::Submitted::Finished(r) => r,
            // Captures still running: the sale is `completing` and finishes on its own.
            super::movement::Submitted::Pending => Ok(CompleteAnswer {
                state: SaleState::Completing,
                purchase: PurchaseStatus::Queued,
                outbox_id: 0,
            }),
        }
    }

    pub(crate) async fn complete_locked(
        &self,
        sale_id: &str,
    ) -> Result<CompleteAnswer, EngineError> {
        let answer_first = self.inner.cfg.fault == Some(Fault::AnswerBeforeCommit);
        self.complete_with(sale_id, answer_first).await
    }

    /// The completion itself, never answering first (the deferred half of the negative
    /// control).
    async fn complete_now(&self, sale_id: &str) -> Result<CompleteAnswer, EngineError> {
        self.complete_with(sale_id, false).await
    }

    /// A completion in at most two commits: the first checks the sale and, when nothing is
    /// left to capture, completes it and queues its purchase right there; otherwise it marks
    /// the sale `completing` and its POS holds `capturing` together, the holds are captured,
    /// and the second commit journals the captures with the completion. A crash between the
    /// POS's capture and that commit leaves the hold `capturing`, which recovery hands to the
    /// outbox (a capture is idempotent).
    async fn complete_with(
        &self,
        sale_id: &str,
        answer_first: bool,
    ) -> Result<CompleteAnswer, EngineError> {
        let (id, store_code) = (sale_id.to_owned(), self.inner.cfg.store_code.clone());
        let start = self
            .store()
            .write(move |c, _| start_completion(c, &store_code, &id, answer_first))
            .await?;
        let (pays, marked) = match start {
            CompletionStart::AlreadyCompleted => return self.completed_answer(sale_id).await,
            CompletionStart::AnswerFirst => return Ok(self.answer_then_commit(sale_id)),
            CompletionStart::Refused { error, reopened } => {
                if reopened {
                    self.journal().emit(EngineEvent::Sale {
                        sale_id: sale_id.to_owned(),
                        state: SaleState::Open,
                    });
                }
                return Err(error);
            }
            CompletionStart::Completed(outbox_id) => return Ok(self.completed(sale_id, outbox_id)),
            CompletionStart::Capture { pays, marked } => (pays, marked),
        };
        self.journal().emit(EngineEvent::Sale {
            sale_id: sale_id.to_owned(),
            state: SaleState::Completing,
        });
        let mut captured: Vec<(String, PaymentUpdate)> = Vec::new();
        for p in &pays {
            if !marked.contains(&p.payment_id) {
                tender(p.method).capture(self, p).await?;
                continue;
            }
            self.journal().payment_event(p);
            let done = if p.method == Method::Giftcard {
                self.giftcards().capture_hold_now(p).await?
            } else {
                self.pos_terminal().capture_now(p).await?
            };
            if let Some(upd) = done {
                captured.push((p.payment_id.clone(), upd));
            }
        }
        let (id, store_code) = (sale_id.to_owned(), self.inner.cfg.store_code.clone());
        let (outbox_id, moved) = self
            .journal()
            .journal_outcome(move |c, _| {
                let mut moved = Vec::with_capacity(captured.len());
                for (pid, upd) in &captured {
                    moved.push(payments::transition(
                        c,
                        pid,
                        PaymentState::Captured,
                        upd.clone(),
                    )?);
                }
                Ok((finish_completion(c, &store_code, &id)?, moved))
            })
            .await?;
        for p in &moved {
            self.journal().payment_event(p);
        }
        Ok(self.completed(sale_id, outbox_id))
    }

    /// After the commit that completed a sale: the log line, the metric, the events, and a
    /// nudge for the forwarder.
    fn completed(&self, sale_id: &str, outbox_id: i64) -> CompleteAnswer {
        tracing::info!(sale_id, outbox_id, "Sale completed; purchase queued.");
        self.journal()
            .count(|m| m.record_sale(SaleOutcome::Completed));
        self.journal().emit(EngineEvent::Sale {
            sale_id: sale_id.to_owned(),
            state: SaleState::Completed,
        });
        self.journal().emit(EngineEvent::Outbox {
            id: outbox_id,
            kind: OutboxKind::Purchase,
            state: OutboxState::New,
        });
        self.journal().outbox_wake.notify_one();
        CompleteAnswer {
            state: SaleState::Completed,
            purchase: PurchaseStatus::Queued,
            outbox_id,
        }
    }

    /// Negative control only ([`Fault::AnswerBeforeCommit`]): acknowledges the completion
    /// with nothing written, and runs the whole completion (the `completing` mark, the
    /// captures, the commit with its outbox item) only after [`ANSWER_BEFORE_COMMIT_WINDOW`].
    /// A kill inside that window loses a sale the register saw completed, which is exactly
    /// what the crash harness must be able to report.
    fn answer_then_commit(&self, sale_id: &str) -> CompleteAnswer {
        let engine = self.clone();
        let id = sale_id.to_owned();
        tokio::spawn(async move {
            // The window is the fault being injected, not a synchronisation.
            tokio::time::sleep(ANSWER_BEFORE_COMMIT_WINDOW).await;
            let _guard = engine.inner.sale_lock.lock().await;
            if let Err(e) = engine.complete_now(&id).await {
                tracing::warn!(sale_id = %id, error = %e, "Deferred completion failed.");
            }
        });
        tracing::info!(
            sale_id,
            "Sale acknowledged before its completion was committed."
        );
        CompleteAnswer {
            state: SaleState::Completed,
            purchase: PurchaseStatus::Queued,
            outbox_id: 0,
        }
    }

    async fn completed_answer(&self, sale_id: &str) -> Result<CompleteAnswer, EngineError> {
        let id = sale_id.to_owned();
        let item = self
            .store()
            .read(move |c, _| {
                Ok(outbox::list(c, None)?.into_iter().find(|i| {
                    i.kind == OutboxKind::Purchase && i.sale_id.as_deref() == Some(id.as_str())
                }))
            })
            .await?;
        let (purchase, outbox_id) = match item {
            Some(i) if i.state == OutboxState::Confirmed => (PurchaseStatus::Recorded, i.id),
            Some(i) => (PurchaseStatus::Queued, i.id),
            None => (PurchaseStatus::Queued, 0),
        };
        Ok(CompleteAnswer {
            state: SaleState::Completed,
            purchase,
            outbox_id,
        })
    }

    /// Runs a whole-sale step (complete, cancel) as an engine-owned movement keyed by the
    /// sale, under the sale lock.
    async fn submit_sale_step<T, F>(
        &self,
        sale_id: &str,
        step: impl Fn(Engine, String) -> F,
    ) -> Result<super::movement::Submitted<T>, EngineError>
    where
        T: Send + 'static,
        F: std::future::Future<Output = Result<T, EngineError>> + Send + 'static,
    {
        let id = sale_id.to_owned();
        self.submit(format!("sale:{sale_id}"), move |e| {
            let fut = step(e.clone(), id.clone());
            async move {
                let _guard = e.inner.sale_lock.lock().await;
                fut.await
            }
        })
        .await
    }

    /// Cancels a sale (`POST /v1/sales/{id}/cancel`): every hold is cancelled or reversed,
    /// inline or through the outbox. Refuses a completed sale.
    pub async fn cancel_sale(&self, sale_id: &str) -> Result<SaleView, EngineError> {
        let submitted = self
            .submit_sale_step(sale_id, |e, id| async move { e.cancel_locked(&id).await })
            .await?;
        if let super::movement::Submitted::Finished(r) = submitted {
            r?;
        }
        // Still running: the view shows `cancelling` until the releases are journaled.
        self.sale(sale_id).await
    }

    pub(crate) async fn cancel_locked(&self, sale_id: &str) -> Result<(), EngineError> {
        let (sale, pays) = self.journal().load(sale_id).await?;
        if sale.state != SaleState::Cancelled {
            Self::refuse_in_doubt(&pays)?;
            self.returns().refunds_reversible(sale_id).await?;
        }
        match sale.state {
            SaleState::Cancelled => return Ok(()),
            SaleState::Open => {
                self.journal()
                    .set_sale(sale_id, SaleState::Cancelling)
                    .await?
            }
            SaleState::Cancelling => {}
            SaleState::Completed | SaleState::Completing => {
                return Err(EngineError::SaleCompleted(sale_id.into()));
            }
        }
        self.returns().reverse_refunds(sale_id).await?;
        for p in &pays {
            tender(p.method).release(self, p).await?;
        }
        self.journal()
            .set_sale(sale_id, SaleState::Cancelled)
            .await?;
        tracing::info!(sale_id, "Sale cancelled.");
        self.journal()
            .count(|m| m.record_sale(SaleOutcome::Cancelled));
        Ok(())
    }

    /// Cancels open sales created more than `max_age` ago (a register that never came back,
    /// e.g. after a crash), releasing their holds well before the POS's Delay Period would.
    /// Returns the ids cancelled; a sale whose cancel fails stays `cancelling` for recovery.
    pub async fn cancel_stale_open_sales(
        &self,
        max_age: std::time::Duration,
    ) -> Result<Vec<String>, EngineError> {
        let _guard = self.inner.sale_lock.lock().await;
        let cutoff = chrono::Utc::now()
            - chrono::Duration::from_std(max_age).unwrap_or(chrono::Duration::MAX);
        let cutoff = cutoff.to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
        let stale = self
            .store()
            .read(move |c, _| {
                let mut out = Vec::new();
                for id in sales::ids_in_states(c, &[SaleState::Open])? {
                    if sales::get(c, &id)?.created_at <= cutoff {
                        out.push(id);
                    }
                }
                Ok(out)
            })
            .await?;
        let mut done = Vec::new();
        for id in stale {
            if self.returns().has_refunds(&id).await? {
                // Money already went back to the customer: a person decides, not a timer.
                tracing::warn!(sale_id = %id, "Stale sale with refunds left open for the register.");
                continue;
            }
            match self.cancel_locked(&id).await {
                Ok(()) => done.push(id),
                Err(e) => {
                    tracing::warn!(sale_id = %id, error = %e, "Stale sale could not be cancelled yet.")
                }
            }
        }
        Ok(done)
    }
}

fn tender_method(m: Method) -> TenderMethod {
    match m {
        Method::Giftcard => TenderMethod::GiftCard,
        Method::Card => TenderMethod::Card,
        Method::Cash => TenderMethod::Cash,
    }
}

/// A tender's result as `lane_tenders_total` counts it; `asked` is the amount tendered.
fn tender_result(answer: &Result<PaymentAnswer, EngineError>, asked: Money) -> TenderResult {
    match answer {
        Ok(a) => match a.status {
            PaymentStatus::Approved if a.approved_amount < asked => TenderResult::PartiallyApproved,
            PaymentStatus::Approved => TenderResult::Approved,
            PaymentStatus::OfflineApproved => TenderResult::OfflineApproved,
            PaymentStatus::Declined => TenderResult::Declined,
            // A tender's start returns once settled or in doubt; `pending` is only a waiting
            // register's view of a movement still running.
            PaymentStatus::InDoubt | PaymentStatus::Pending => TenderResult::InDoubt,
        },
        Err(_) => TenderResult::Failed,
    }
}
