//! Refunds after the request: start-up recovery, the take-back at cancel, and forwarding a
//! gift-card refund queued offline (see [`super::refund`] for the rules).

use crate::domain::payment::Method;
use crate::domain::{OutboxKind, OutboxState};
use crate::store::outbox::{self, OutboxItem};
use crate::store::refunds::{self, RefundRecord, RefundState, RefundUpdate};

use super::giftcard::card;
use super::ports::{GiftcardTransRequest, HostError};
use super::refund::Returns;
use super::refund::{REFUND_IN_DOUBT, REFUND_REVERSAL_FAILED, RefundPayload};
use super::{EngineError, EngineEvent};

impl Returns {
    /// At start-up: a refund found `running` never showed the register an approval. A cash
    /// one paid nothing out (declined); an ADD or a terminal refund may have run (in doubt,
    /// exception). A take-back found `reversing` may have run: `reversal_failed`, exception.
    /// Returns how many went in doubt.
    pub(crate) async fn recover_refunds(&self) -> Result<usize, EngineError> {
        let (running, reversing, queued) = self
            .journal
            .store()
            .read(|c, _| {
                let mut lost = Vec::new();
                // A queued ADD whose send was cut by the restart: its item went in doubt.
                for r in refunds::in_state(c, RefundState::Queued)? {
                    if refund_item(c, &r.refund_id)?
                        .is_some_and(|i| i.state == OutboxState::InDoubt)
                    {
                        lost.push(r);
                    }
                }
                Ok((
                    refunds::in_state(c, RefundState::Running)?,
                    refunds::in_state(c, RefundState::Reversing)?,
                    lost,
                ))
            })
            .await?;
        let mut in_doubt = 0;
        for r in queued {
            in_doubt += 1;
            self.move_refund(
                &r.refund_id,
                RefundState::InDoubt,
                RefundUpdate {
                    reason: Some("forward interrupted".into()),
                    keep_code: true,
                    ..Default::default()
                },
                Some((
                    REFUND_IN_DOUBT,
                    "the queued ADD was being sent when the agent stopped; check the card's history, then `outbox resolve --recorded|--resend`".into(),
                )),
            )
            .await?;
        }
        for r in running {
            if r.method == Method::Cash {
                self.move_refund(
                    &r.refund_id,
                    RefundState::Declined,
                    RefundUpdate {
                        reason: Some("interrupted".into()),
                        ..Default::default()
                    },
                    None,
                )
                .await?;
            } else {
                in_doubt += 1;
                self.move_refund(
                    &r.refund_id,
                    RefundState::InDoubt,
                    RefundUpdate {
                        reason: Some("interrupted".into()),
                        ..Default::default()
                    },
                    Some((REFUND_IN_DOUBT, "interrupted by a restart".into())),
                )
                .await?;
            }
        }
        for r in reversing {
            in_doubt += 1;
            self.move_refund(
                &r.refund_id,
                RefundState::ReversalFailed,
                RefundUpdate {
                    reason: Some("reversal interrupted".into()),
                    ..Default::default()
                },
                Some((
                    REFUND_REVERSAL_FAILED,
                    "the take-back USE was interrupted by a restart; check the card's history"
                        .into(),
                )),
            )
            .await?;
        }
        Ok(in_doubt)
    }

    /// At cancel (under the sale lock): takes back every refund of the sale. See the module
    /// overview.
    pub(crate) async fn reverse_refunds(&self, sale_id: &str) -> Result<(), EngineError> {
        for r in self.refunds_reversible(sale_id).await? {
            match (r.method, r.state) {
                (Method::Cash, RefundState::Approved) => {
                    self.move_refund(
                        &r.refund_id,
                        RefundState::Reversed,
                        RefundUpdate {
                            reason: Some("cash taken back at cancel".into()),
                            ..Default::default()
                        },
                        None,
                    )
                    .await?;
                }
                (Method::Giftcard, RefundState::Queued) => self.drop_queued_refund(&r).await?,
                (Method::Giftcard, RefundState::Approved) => self.take_back_giftcard(&r).await?,
                _ => {}
            }
        }
        Ok(())
    }

    /// Refuses a cancel (409) while a refund of the sale is in doubt or went to a card;
    /// returns the sale's refunds otherwise.
    pub(crate) async fn refunds_reversible(
        &self,
        sale_id: &str,
    ) -> Result<Vec<RefundRecord>, EngineError> {
        let id = sale_id.to_owned();
        let rs = self
            .journal
            .store()
            .read(move |c, _| refunds::for_sale(c, &id))
            .await?;
        if let Some(r) = rs.iter().find(|r| r.state == RefundState::InDoubt) {
            return Err(EngineError::InvalidState(format!(
                "refund {} is in doubt; resolve its exception first",
                r.refund_id
            )));
        }
        if rs
            .iter()
            .any(|r| r.method == Method::Card && r.state == RefundState::Approved)
        {
            return Err(EngineError::InvalidState(
                "a card refund cannot be taken back at the lane; complete the sale instead".into(),
            ));
        }
        Ok(rs)
    }

    async fn drop_queued_refund(&self, r: &RefundRecord) -> Result<(), EngineError> {
        let rid = r.refund_id.clone();
        let dropped = self
            .journal
            .store()
            .write(move |c, _| {
                let item = refund_item(c, &rid)?;
                match item {
                    Some(i) if matches!(i.state, OutboxState::New | OutboxState::Held) => {
                        outbox::transition(c, i.id, OutboxState::Dropped, Some("sale cancelled"))?;
                        refunds::transition(
                            c,
                            &rid,
                            RefundState::Reversed,
                            RefundUpdate {
                                reason: Some("queued ADD dropped at cancel".into()),
                                ..Default::default()
                            },
                        )?;
                        Ok(Some(i))
                    }
                    _ => Ok(None),
                }
            })
            .await?;
        match dropped {
            Some(i) => {
                self.journal.emit(EngineEvent::Outbox {
                    id: i.id,
                    kind: i.kind,
                    state: OutboxState::Dropped,
                });
                Ok(())
            }
            None => Err(EngineError::InvalidState(format!(
                "refund {} is being forwarded; cancel again once it is",
                r.refund_id
            ))),
        }
    }

    async fn take_back_giftcard(&self, r: &RefundRecord) -> Result<(), EngineError> {
        let (sc, rc, rid) = (
            self.journal.lane().store_code.clone(),
            self.journal.lane().register_code.clone(),
            r.refund_id.clone(),
        );
        let (r, code) = self
            .journal
            .store()
            .write(move |c, s| {
                let r = refunds::begin_reversal(c, &sc, &rc, &rid)?;
                Ok((r, refunds::sealed_code(c, s, &rid)?))
            })
            .await?;
        let Some(code) = code else {
            self.move_refund(
                &r.refund_id,
                RefundState::ReversalFailed,
                RefundUpdate::default(),
                Some((
                    REFUND_REVERSAL_FAILED,
                    "the card's code is no longer stored".into(),
                )),
            )
            .await?;
            return Ok(());
        };
        let req = GiftcardTransRequest {
            card: card(&code, None),
            amount: r.amount,
            ref_no: r.reversal_ref_no.clone().unwrap_or_default(),
            source_id: self.journal.lane().register_code.clone(),
        };
        match self.giftcards.host.use_now(&req).await {
            Ok(t) => {
                self.link.up();
                self.move_refund(
                    &r.refund_id,
                    RefundState::Reversed,
                    RefundUpdate {
                        balance: t.balance,
                        reason: Some("taken back at cancel".into()),
                        ..Default::default()
                    },
                    None,
                )
                .await?;
                Ok(())
            }
            Err(HostError::NotSent(m)) => {
                // Nothing left: back to approved (code kept); the cancel is retried later.
                self.link.down();
                self.move_refund(
                    &r.refund_id,
                    RefundState::Approved,
                    RefundUpdate {
                        keep_code: true,
                        ..Default::default()
                    },
                    None,
                )
                .await?;
                Err(HostError::NotSent(m).into())
            }
            Err(e) => {
                let why = match &e {
                    HostError::OutcomeUnknown(_) => {
                        "the POS's answer to the take-back USE was lost; check the card's history"
                            .to_owned()
                    }
                    other => format!("the take-back USE was refused: {other}"),
                };
                self.move_refund(
                    &r.refund_id,
                    RefundState::ReversalFailed,
                    RefundUpdate {
                        reason: Some(e.to_string()),
                        ..Default::default()
                    },
                    Some((REFUND_REVERSAL_FAILED, why)),
                )
                .await?;
                Ok(())
            }
        }
    }
}

/// `outbox resolve ID --recorded` on a queued gift-card refund's item: the POS holds the ADD,
/// so the refund is approved (its sealed code erased). Other items are left alone.
pub(super) fn recorded_by_operator(
    c: &rusqlite::Connection,
    item: &OutboxItem,
) -> Result<(), crate::store::StoreError> {
    if item.kind != OutboxKind::GiftcardRefund {
        return Ok(());
    }
    let Ok(p) = serde_json::from_str::<RefundPayload>(&item.payload) else {
        return Ok(());
    };
    match refunds::find(c, &p.refund_id)? {
        Some(r) if matches!(r.state, RefundState::Queued | RefundState::InDoubt) => {
            refunds::transition(
                c,
                &r.refund_id,
                RefundState::Approved,
                RefundUpdate {
                    reason: Some("resolved by operator: recorded".into()),
                    ..Default::default()
                },
            )?;
            Ok(())
        }
        _ => Ok(()),
    }
}

/// The outbox item of a queued gift-card refund.
fn refund_item(
    c: &rusqlite::Connection,
    refund_id: &str,
) -> Result<Option<OutboxItem>, crate::store::StoreError> {
    Ok(outbox::list(c, None)?.into_iter().find(|i| {
        i.kind == OutboxKind::GiftcardRefund
            && serde_json::from_str::<RefundPayload>(&i.payload)
                .is_ok_and(|p| p.refund_id == refund_id)
    }))
}
