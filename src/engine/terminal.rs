//! Card tenders on the lane terminal, and cash.

use crate::store::PaymentState;
use crate::store::payments::{
    self, NewPayment, PaymentRecord, PaymentUpdate, TerminalMode, TerminalRef,
};

use super::ports::{TerminalError, TerminalOutcome, TerminalRequest};
use super::{Engine, EngineError, PaymentAnswer};

fn refs(o: &TerminalOutcome) -> TerminalRef {
    TerminalRef {
        receipt_no: o.receipt_no,
        trace_no: o.trace_no,
        masked_pan: o.masked_pan.as_deref().map(crate::store::mask),
        card_name: o.card_name.clone(),
    }
}

impl Engine {
    /// Cash: recorded and approved in one transaction (change is the register's business).
    pub(crate) async fn pay_cash(&self, new: NewPayment) -> Result<PaymentAnswer, EngineError> {
        let (sc, rc) = (
            self.inner.cfg.store_code.clone(),
            self.inner.cfg.register_code.clone(),
        );
        let p = self
            .inner
            .store
            .write(move |c, s| {
                let p = payments::insert(c, s, &sc, &rc, &new)?.into_inner();
                payments::transition(
                    c,
                    &p.payment_id,
                    PaymentState::Approved,
                    PaymentUpdate::default(),
                )
            })
            .await?;
        self.payment_event(&p);
        self.answer(&p).await
    }

    /// Card: the intent is journaled, then the terminal authorizes (or reserves). A lost
    /// answer is recovered with `recover_last`, never by asking again.
    pub(crate) async fn pay_card(&self, new: NewPayment) -> Result<PaymentAnswer, EngineError> {
        let (sc, rc) = (
            self.inner.cfg.store_code.clone(),
            self.inner.cfg.register_code.clone(),
        );
        let n = new.clone();
        let p = self
            .inner
            .store
            .write(move |c, s| payments::insert(c, s, &sc, &rc, &n))
            .await?
            .into_inner();
        self.payment_event(&p);
        let req = TerminalRequest {
            amount: p.amount,
            reference: p.ref_no.clone(),
        };
        let reserve = p.terminal_mode == Some(TerminalMode::Reserve);
        let t = &self.inner.ports.terminal;
        let res = if reserve {
            t.reserve(&req).await
        } else {
            t.authorize(&req).await
        };
        let p = self.settle_card(&p, res).await?;
        self.answer(&p).await
    }

    /// Applies a terminal answer (or its recovery) to a payment in `authorizing`.
    pub(crate) async fn settle_card(
        &self,
        p: &PaymentRecord,
        res: Result<TerminalOutcome, TerminalError>,
    ) -> Result<PaymentRecord, EngineError> {
        let res = match res {
            Err(TerminalError::OutcomeUnknown(m)) => {
                tracing::warn!(payment_id = %p.payment_id, error = %m, "Terminal answer lost; recovering the last result.");
                match self.inner.ports.terminal.recover_last().await {
                    Ok(Some(o))
                        if o.amount == p.amount
                            && self.receipt_unused(&o, &p.payment_id).await? =>
                    {
                        Ok(o)
                    }
                    Ok(_) => Err(TerminalError::NotSent(
                        "not processed by the terminal".into(),
                    )),
                    Err(e) => Err(TerminalError::OutcomeUnknown(e.to_string())),
                }
            }
            other => other,
        };
        let reserve = p.terminal_mode == Some(TerminalMode::Reserve);
        let (to, upd) = match res {
            Ok(o) if o.approved => (
                if reserve {
                    PaymentState::Authorized
                } else {
                    PaymentState::Approved
                },
                PaymentUpdate {
                    amount: Some(o.amount),
                    terminal: Some(refs(&o)),
                    ..Default::default()
                },
            ),
            Ok(o) => (
                PaymentState::Declined,
                PaymentUpdate {
                    terminal: Some(refs(&o)),
                    reason: Some(
                        o.result_text
                            .unwrap_or_else(|| "declined by terminal".into()),
                    ),
                    ..Default::default()
                },
            ),
            Err(TerminalError::OutcomeUnknown(m)) => (
                PaymentState::InDoubt,
                PaymentUpdate {
                    reason: Some(format!("terminal outcome unknown: {m}")),
                    ..Default::default()
                },
            ),
            Err(e) => (
                PaymentState::Declined,
                PaymentUpdate {
                    reason: Some(e.to_string()),
                    ..Default::default()
                },
            ),
        };
        self.move_payment(&p.payment_id, to, upd).await
    }

    async fn receipt_unused(
        &self,
        o: &TerminalOutcome,
        payment_id: &str,
    ) -> Result<bool, EngineError> {
        let Some(receipt) = o.receipt_no else {
            return Ok(true);
        };
        let pid = payment_id.to_owned();
        Ok(self
            .inner
            .store
            .read(move |c, _| {
                let n: i64 = c.query_row(
                    "SELECT COUNT(*) FROM payments WHERE method = 'card' AND receipt_no = ?1 AND payment_id <> ?2",
                    rusqlite::params![receipt, pid],
                    |r| r.get(0),
                )?;
                Ok(n == 0)
            })
            .await?)
    }

    /// Books the total of a reservation at completion.
    pub(crate) async fn book_card(&self, p: &PaymentRecord) -> Result<(), EngineError> {
        let p = if p.state == PaymentState::Authorized {
            self.move_payment(
                &p.payment_id,
                PaymentState::Capturing,
                PaymentUpdate::default(),
            )
            .await?
        } else {
            p.clone()
        };
        let receipt = p
            .terminal
            .receipt_no
            .ok_or_else(|| EngineError::InvalidState("reservation without receipt".into()))?;
        let o = self
            .inner
            .ports
            .terminal
            .book_total(receipt, p.amount)
            .await?;
        if !o.approved {
            return Err(EngineError::Terminal(TerminalError::Other(
                o.result_text.unwrap_or_else(|| "book total refused".into()),
            )));
        }
        self.move_payment(
            &p.payment_id,
            PaymentState::Captured,
            PaymentUpdate {
                terminal: Some(refs(&o)),
                ..Default::default()
            },
        )
        .await?;
        Ok(())
    }

    /// Reverses an approved card payment or releases a reservation.
    pub(crate) async fn reverse_card(&self, p: &PaymentRecord) -> Result<(), EngineError> {
        let p = if p.state == PaymentState::Cancelling {
            p.clone()
        } else {
            self.move_payment(
                &p.payment_id,
                PaymentState::Cancelling,
                PaymentUpdate::default(),
            )
            .await?
        };
        let receipt = p
            .terminal
            .receipt_no
            .ok_or_else(|| EngineError::InvalidState("card payment without receipt".into()))?;
        let o = self.inner.ports.terminal.reverse(receipt).await?;
        if !o.approved {
            return Err(EngineError::Terminal(TerminalError::Other(
                o.result_text.unwrap_or_else(|| "reversal refused".into()),
            )));
        }
        self.move_payment(
            &p.payment_id,
            PaymentState::Cancelled,
            PaymentUpdate::default(),
        )
        .await?;
        Ok(())
    }
}
