//! Start-up recovery: every sale and payment resumes from its journal state.
//!
//! | found at start-up | action |
//! |---|---|
//! | outbox `sending` | idempotent kinds → `new`; purchase / redemption → `in_doubt` |
//! | gift-card payment `authorizing` | `in_doubt` + exception (an authorize cannot be looked up) |
//! | card payment `authorizing` | the terminal's evidence (status enquiry, repeat receipt) against the journaled intent through `zvt::recovery::decide`: approved with our amount and an unused receipt → approved/authorized, positive evidence of no execution → declined, anything else → in doubt + exception |
//! | card payment `in_doubt` | the evidence loop keeps asking ([`super::in_doubt`]) |
//! | refund `running` / `reversing` | cash: declined (no approval was shown); otherwise `in_doubt` / `reversal_failed` + exception ([`super::refund`]) |
//! | refund `queued` whose ADD was being sent | `in_doubt` + exception (its item went in doubt above) |
//! | activation / reload `running` | `in_doubt` + exception (an ADD cannot be looked up) |
//! | payment `capturing` / `cancelling` (gift card) | make sure its outbox item exists |
//! | sale `completing` | resume completion (captures, then purchase) |
//! | sale `cancelling` | resume cancel |
//! | sale `open` | stays open for the register; its holds stay until complete/cancel |

use serde::{Deserialize, Serialize};

use crate::domain::{PaymentState, SaleState};
use crate::store::payments;
use crate::store::{outbox, sales};

use super::tender::tender;
use super::{Engine, EngineError, EngineEvent};

/// What recovery did.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecoveryReport {
    /// Outbox items found in `sending`.
    pub outbox_interrupted: usize,
    /// Payments moved to `in_doubt`.
    pub payments_in_doubt: usize,
    /// Card payments settled through the terminal.
    pub card_recovered: usize,
    /// Capture/cancel items (re)created.
    pub holds_queued: usize,
    /// Sales whose completion resumed.
    pub completions_resumed: usize,
    /// Sales whose cancel resumed.
    pub cancels_resumed: usize,
    /// Errors left for the operator (sale id and message).
    pub errors: Vec<String>,
}

impl Engine {
    /// Runs recovery. Call once at start-up, before serving the register.
    pub async fn recover(&self) -> Result<RecoveryReport, EngineError> {
        let _guard = self.inner.sale_lock.lock().await;
        let mut rep = RecoveryReport::default();
        let items = self
            .store()
            .write(|c, _| outbox::recover_sending(c))
            .await?;
        rep.outbox_interrupted = items.len();
        for i in &items {
            self.journal().emit(EngineEvent::Outbox {
                id: i.id,
                kind: i.kind,
                state: i.state,
            });
        }
        // Every payment found mid-flight goes through its tender's own recovery.
        let mid_flight = self
            .store()
            .read(|c, _| {
                let mut ps = Vec::new();
                for state in [
                    PaymentState::Authorizing,
                    PaymentState::Capturing,
                    PaymentState::Cancelling,
                ] {
                    ps.extend(payments::in_state(c, state)?);
                }
                Ok(ps)
            })
            .await?;
        for p in mid_flight {
            let after = tender(p.method).recover(self, &p).await?;
            match (p.state, after) {
                (_, PaymentState::InDoubt) => rep.payments_in_doubt += 1,
                (PaymentState::Authorizing, PaymentState::Authorizing) => {}
                (PaymentState::Authorizing, _) => rep.card_recovered += 1,
                _ => rep.holds_queued += 1,
            }
        }
        rep.payments_in_doubt += self.returns().recover_refunds().await?;
        let completing = self
            .store()
            .read(|c, _| sales::ids_in_states(c, &[SaleState::Completing]))
            .await?;
        for id in completing {
            match self.complete_locked(&id).await {
                Ok(_) => rep.completions_resumed += 1,
                Err(e) => rep.errors.push(format!("{id}: {e}")),
            }
        }
        let cancelling = self
            .store()
            .read(|c, _| sales::ids_in_states(c, &[SaleState::Cancelling]))
            .await?;
        for id in cancelling {
            match self.cancel_locked(&id).await {
                Ok(_) => rep.cancels_resumed += 1,
                Err(e) => rep.errors.push(format!("{id}: {e}")),
            }
        }
        rep.payments_in_doubt += self.giftcards().recover_requests().await?;
        tracing::info!(
            outbox_interrupted = rep.outbox_interrupted,
            payments_in_doubt = rep.payments_in_doubt,
            card_recovered = rep.card_recovered,
            completions_resumed = rep.completions_resumed,
            cancels_resumed = rep.cancels_resumed,
            "Recovery finished."
        );
        self.journal().outbox_wake.notify_one();
        Ok(rep)
    }
}
