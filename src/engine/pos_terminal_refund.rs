//! Card refunds on a POS-driven processor terminal (`terminalPayment.start` with
//! `transType: REFUND`): the same start / continue / lookup pattern as a payment, for a refund
//! whose `refNo` the caller journaled before this runs. A lost `start` is looked up by `refNo`,
//! never started again.

use std::time::Duration;

use crate::domain::Money;

use super::ports::{HostError, TerminalError, TerminalOutcome};
use super::pos_terminal::{
    LINK_OFFLINE, PosTerminalTender, TerminalErrorCode, TerminalPaymentOutcome,
    TerminalPaymentStartRequest, TerminalPaymentStatus, TerminalPaymentType, error_reason,
};

fn declined(amount: Money, reason: String) -> TerminalOutcome {
    TerminalOutcome {
        approved: false,
        amount,
        receipt_no: None,
        trace_no: None,
        masked_pan: None,
        card_name: None,
        result_text: Some(reason),
        receipt_lines: Vec::new(),
    }
}

impl PosTerminalTender {
    /// Gives `amount` back to the card the customer presents at the lane's processor
    /// terminal. `Err(NotSent)`: nothing was refunded; `Err(OutcomeUnknown)`: the POS's
    /// evidence could not be had (the refund stays in doubt).
    pub(crate) async fn refund(
        &self,
        ref_no: &str,
        amount: Money,
        transaction_id: Option<String>,
    ) -> Result<TerminalOutcome, TerminalError> {
        let Some(lane) = self.lane().cloned() else {
            return Err(TerminalError::NotSent("no POS-driven terminal".into()));
        };
        if !self.link.is_online() {
            return Err(TerminalError::NotSent(LINK_OFFLINE.into()));
        }
        let req = TerminalPaymentStartRequest {
            terminal_id: lane.terminal_id.clone(),
            store_code: self.journal.lane().store_code.clone(),
            trans_type: TerminalPaymentType::Refund,
            amount: amount.0,
            ref_no: ref_no.to_owned(),
            transaction_id,
            original_id: None,
        };
        let mut next = match lane.host.start(&req).await {
            Ok(o) => {
                self.link.up();
                Some(o)
            }
            Err(HostError::NotSent(m)) => {
                self.link.down();
                return Err(TerminalError::NotSent(m));
            }
            Err(HostError::NotAuthorized(_)) => {
                return Ok(declined(
                    amount,
                    "pos_not_authorized: the POS client lacks permission MakeRefundTerminalPayment"
                        .into(),
                ));
            }
            Err(HostError::OutcomeUnknown(m)) => {
                tracing::warn!(ref_no, error = %m, "Terminal refund start answer lost; looking it up by refNo.");
                None
            }
            Err(e) => return Ok(declined(amount, e.to_string())),
        };
        let mut relooked = false;
        loop {
            let outcome = match next.take() {
                Some(o) => o,
                // Where the refund stands: empty is proof that start never accepted it.
                None => match self.ask(|| lane.host.lookup(ref_no)).await {
                    Ok(found) => match found.into_iter().find(|t| t.ref_no == ref_no) {
                        None => {
                            return Err(TerminalError::NotSent(
                                "the POS never started the refund".into(),
                            ));
                        }
                        Some(tp) => TerminalPaymentOutcome::Payment(Box::new(tp)),
                    },
                    Err(m) => return Err(TerminalError::OutcomeUnknown(m)),
                },
            };
            match outcome {
                TerminalPaymentOutcome::Continuation(c) => {
                    // The POS's own poll interval, not a synchronisation.
                    tokio::time::sleep(Duration::from_millis(u64::from(c.wait_ms).min(10_000)))
                        .await;
                    match self.ask(|| lane.host.continue_payment(&c.token)).await {
                        Ok(o) => next = Some(o),
                        Err(m) => return Err(TerminalError::OutcomeUnknown(m)),
                    }
                }
                TerminalPaymentOutcome::Error { code, message } => {
                    if code != TerminalErrorCode::UnknownContinuation {
                        return Ok(declined(amount, error_reason(&code, message.as_deref())));
                    }
                    if relooked {
                        return Err(TerminalError::OutcomeUnknown(
                            "continuation unknown after the lookup".into(),
                        ));
                    }
                    relooked = true;
                }
                TerminalPaymentOutcome::Payment(tp) => match tp.status {
                    TerminalPaymentStatus::Pending => match tp.continuation.clone() {
                        Some(c) => next = Some(TerminalPaymentOutcome::Continuation(c)),
                        None => {
                            return Err(TerminalError::OutcomeUnknown(
                                "pending refund without continuation".into(),
                            ));
                        }
                    },
                    TerminalPaymentStatus::Approved | TerminalPaymentStatus::Captured => {
                        tracing::info!(ref_no, pos_id = %tp.id, amount = %tp.approved_amount, "Terminal refund approved.");
                        return Ok(TerminalOutcome {
                            approved: true,
                            amount: Money(tp.approved_amount),
                            receipt_no: None,
                            trace_no: None,
                            masked_pan: tp.last4.as_ref().map(|l| format!("****{l}")),
                            card_name: tp.card_brand.clone(),
                            result_text: None,
                            receipt_lines: Vec::new(),
                        });
                    }
                    TerminalPaymentStatus::Declined => {
                        let reason = tp.decline_reason.as_deref().unwrap_or("declined");
                        return Ok(declined(amount, format!("declined: {reason}")));
                    }
                    TerminalPaymentStatus::Failed => {
                        let code = tp
                            .error_code
                            .clone()
                            .unwrap_or(TerminalErrorCode::Cancelled);
                        return Ok(declined(amount, error_reason(&code, None)));
                    }
                    TerminalPaymentStatus::Voided => {
                        return Ok(declined(amount, "voided".into()));
                    }
                    other @ (TerminalPaymentStatus::Authorized
                    | TerminalPaymentStatus::Other(_)) => {
                        return Err(TerminalError::OutcomeUnknown(format!(
                            "unexpected refund status {other:?}"
                        )));
                    }
                },
            }
        }
    }
}
