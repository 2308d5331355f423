//! One tender state machine, implemented per method.
//!
//! The engine drives every payment through [`Tender`]: `start` when the register pays,
//! `capture` when the sale completes, `release` when it is cancelled, and `recover` for a
//! payment found mid-flight at start-up (or in doubt). Each method keeps its own protocol —
//! gift cards against the POS (authorize, capture, cancel, or the offline outbox), cards on
//! the ZVT terminal (authorize or reserve, book total, reversal, evidence-based recovery),
//! cash — but the sale, the recovery and the in-doubt loop never branch on the method.
//! New tenders (the POS-driven terminal, refunds) plug in here.

use async_trait::async_trait;
use secrecy::SecretString;

use crate::domain::payment::{Method, TerminalMode};
use crate::domain::{OutboxKind, PaymentState};
use crate::store::payments::{NewPayment, PaymentRecord, PaymentUpdate};

use super::{Engine, EngineError, PaymentAnswer};

/// A payment method's state machine. Every step journals before and after its I/O.
#[async_trait]
pub(crate) trait Tender: Send + Sync {
    /// Takes the payment: the intent is journaled, the host asked, the outcome journaled.
    async fn start(
        &self,
        e: &Engine,
        new: NewPayment,
        pin: Option<SecretString>,
    ) -> Result<PaymentAnswer, EngineError>;

    /// At completion: makes a held payment final (capture, book total). Final payments are
    /// left as they are.
    async fn capture(&self, e: &Engine, p: &PaymentRecord) -> Result<(), EngineError>;

    /// At cancel: gives back what the payment holds (cancel, reversal, dropped redemption).
    async fn release(&self, e: &Engine, p: &PaymentRecord) -> Result<(), EngineError>;

    /// Settles a payment found mid-flight (start-up) or in doubt from the host's evidence;
    /// returns its state afterwards. Never sends a money movement blind.
    async fn recover(&self, e: &Engine, p: &PaymentRecord) -> Result<PaymentState, EngineError>;

    /// Whether asking again can settle a payment in doubt (a terminal can repeat its last
    /// receipt; a gift-card authorization cannot be looked up at the POS).
    fn has_evidence(&self) -> bool {
        false
    }
}

/// The tender of a method.
pub(crate) fn tender(method: Method) -> &'static dyn Tender {
    match method {
        Method::Giftcard => &GiftcardTender,
        Method::Card => &CardTender,
        Method::Cash => &CashTender,
    }
}

/// Gift cards against the POS (or the offline outbox).
struct GiftcardTender;

#[async_trait]
impl Tender for GiftcardTender {
    async fn start(
        &self,
        e: &Engine,
        new: NewPayment,
        pin: Option<SecretString>,
    ) -> Result<PaymentAnswer, EngineError> {
        if new.code.as_deref().is_none_or(|c| c.is_empty()) {
            return Err(EngineError::Invalid(
                "a gift-card payment needs a code".into(),
            ));
        }
        e.giftcards().pay(new, pin).await
    }

    async fn capture(&self, e: &Engine, p: &PaymentRecord) -> Result<(), EngineError> {
        match p.state {
            PaymentState::Authorized => {
                let p = e
                    .journal()
                    .move_payment(
                        &p.payment_id,
                        PaymentState::Capturing,
                        PaymentUpdate::default(),
                    )
                    .await?;
                e.giftcards().capture(&p).await
            }
            PaymentState::Capturing => {
                e.journal()
                    .ensure_item(p, OutboxKind::GiftcardCapture)
                    .await
            }
            _ => Ok(()),
        }
    }

    async fn release(&self, e: &Engine, p: &PaymentRecord) -> Result<(), EngineError> {
        match p.state {
            PaymentState::Authorized => {
                let p = e
                    .journal()
                    .move_payment(
                        &p.payment_id,
                        PaymentState::Cancelling,
                        PaymentUpdate::default(),
                    )
                    .await?;
                e.giftcards().cancel(&p).await
            }
            PaymentState::Cancelling => {
                e.journal().ensure_item(p, OutboxKind::GiftcardCancel).await
            }
            PaymentState::OfflineApproved => e.giftcards().drop_offline(p).await,
            _ => Ok(()),
        }
    }

    async fn recover(&self, e: &Engine, p: &PaymentRecord) -> Result<PaymentState, EngineError> {
        match p.state {
            // A re-authorization (its capture item decides) or an authorize that cannot be
            // looked up at the POS (pos-api.md §5.8): in doubt.
            PaymentState::Authorizing if p.pos_trans_id.is_none() => {
                let upd = PaymentUpdate {
                    reason: Some("interrupted_authorize".into()),
                    ..Default::default()
                };
                Ok(e.journal()
                    .move_payment(&p.payment_id, PaymentState::InDoubt, upd)
                    .await?
                    .state)
            }
            PaymentState::Capturing => {
                e.journal()
                    .ensure_item(p, OutboxKind::GiftcardCapture)
                    .await?;
                Ok(p.state)
            }
            PaymentState::Cancelling => {
                e.journal()
                    .ensure_item(p, OutboxKind::GiftcardCancel)
                    .await?;
                Ok(p.state)
            }
            other => Ok(other),
        }
    }
}

/// Cards on the lane's ZVT terminal, or — on a lane with `terminal.protocol = "pos"` — on
/// the processor terminal the POS drives ([`PosTerminalTender`]); the payment's journaled
/// terminal mode decides, so recovery follows the protocol the payment was taken with.
struct CardTender;

fn via_pos(mode: Option<TerminalMode>) -> bool {
    mode == Some(TerminalMode::Pos)
}

#[async_trait]
impl Tender for CardTender {
    async fn start(
        &self,
        e: &Engine,
        new: NewPayment,
        pin: Option<SecretString>,
    ) -> Result<PaymentAnswer, EngineError> {
        if via_pos(new.terminal_mode) {
            return PosTerminalTender.start(e, new, pin).await;
        }
        e.cards().pay(new).await
    }

    async fn capture(&self, e: &Engine, p: &PaymentRecord) -> Result<(), EngineError> {
        if via_pos(p.terminal_mode) {
            return PosTerminalTender.capture(e, p).await;
        }
        match p.state {
            PaymentState::Authorized | PaymentState::Capturing => e.cards().book(p).await,
            _ => Ok(()),
        }
    }

    async fn release(&self, e: &Engine, p: &PaymentRecord) -> Result<(), EngineError> {
        if via_pos(p.terminal_mode) {
            return PosTerminalTender.release(e, p).await;
        }
        match p.state {
            PaymentState::Approved | PaymentState::Authorized | PaymentState::Cancelling => {
                e.cards().reverse(p).await
            }
            _ => Ok(()),
        }
    }

    fn has_evidence(&self) -> bool {
        true
    }

    async fn recover(&self, e: &Engine, p: &PaymentRecord) -> Result<PaymentState, EngineError> {
        if via_pos(p.terminal_mode) {
            return PosTerminalTender.recover(e, p).await;
        }
        match p.state {
            // The journal cannot tell whether the command left: the terminal's evidence
            // decides, matched against the journaled intent.
            PaymentState::Authorizing | PaymentState::InDoubt => {
                Ok(e.cards().recover(p).await?.state)
            }
            other => Ok(other),
        }
    }
}

/// Cards on a processor terminal the POS drives (`terminalPayment`, see
/// [`super::pos_terminal`]): AUTHORIZE at payment time, capture at completion, void at
/// cancel; a payment found mid-flight resumes from its journaled token or the lookup.
struct PosTerminalTender;

#[async_trait]
impl Tender for PosTerminalTender {
    async fn start(
        &self,
        e: &Engine,
        new: NewPayment,
        _pin: Option<SecretString>,
    ) -> Result<PaymentAnswer, EngineError> {
        e.pos_terminal().pay(new).await
    }

    async fn capture(&self, e: &Engine, p: &PaymentRecord) -> Result<(), EngineError> {
        e.pos_terminal().capture(p).await
    }

    async fn release(&self, e: &Engine, p: &PaymentRecord) -> Result<(), EngineError> {
        e.pos_terminal().void(p).await
    }

    fn has_evidence(&self) -> bool {
        true
    }

    async fn recover(&self, e: &Engine, p: &PaymentRecord) -> Result<PaymentState, EngineError> {
        match p.state {
            // Resumed on an engine-owned movement: the customer may still be at the
            // terminal, and start-up or the in-doubt loop must not wait for them.
            PaymentState::Authorizing | PaymentState::InDoubt => {
                e.spawn_resume_pos_terminal(&p.payment_id);
                Ok(p.state)
            }
            PaymentState::Capturing => {
                e.journal()
                    .ensure_item(p, OutboxKind::TerminalCapture)
                    .await?;
                Ok(p.state)
            }
            PaymentState::Cancelling => {
                e.journal().ensure_item(p, OutboxKind::TerminalVoid).await?;
                Ok(p.state)
            }
            other => Ok(other),
        }
    }
}

/// Cash: approved in the transaction that records it; nothing to capture or recover.
struct CashTender;

#[async_trait]
impl Tender for CashTender {
    async fn start(
        &self,
        e: &Engine,
        new: NewPayment,
        _pin: Option<SecretString>,
    ) -> Result<PaymentAnswer, EngineError> {
        e.pay_locally(super::sale::LocalTender::Cash, new).await
    }

    async fn capture(&self, _: &Engine, _: &PaymentRecord) -> Result<(), EngineError> {
        Ok(())
    }

    async fn release(&self, e: &Engine, p: &PaymentRecord) -> Result<(), EngineError> {
        let p = match p.state {
            PaymentState::Approved => {
                e.journal()
                    .move_payment(
                        &p.payment_id,
                        PaymentState::Cancelling,
                        PaymentUpdate::default(),
                    )
                    .await?
            }
            PaymentState::Cancelling => p.clone(),
            _ => return Ok(()),
        };
        e.journal()
            .move_payment(
                &p.payment_id,
                PaymentState::Cancelled,
                PaymentUpdate::default(),
            )
            .await?;
        Ok(())
    }

    async fn recover(&self, _: &Engine, p: &PaymentRecord) -> Result<PaymentState, EngineError> {
        Ok(p.state)
    }
}
