//! A member card read at the lane joins the sale the register has open.

use crate::store::sales;

use super::{Engine, EngineError, EngineEvent};

impl Engine {
    /// Attaches `member_id` to the newest open sale without a member, so that its
    /// `purchaseAdd` carries `memberId`; returns that sale's id, or `None` when no open sale
    /// is waiting for one (the register still gets the scan event and may open a sale with
    /// it).
    pub async fn attach_member(&self, member_id: &str) -> Result<Option<String>, EngineError> {
        let member = member_id.trim().to_owned();
        if member.is_empty() {
            return Err(EngineError::Invalid("member id is empty".into()));
        }
        let _guard = self.inner.sale_lock.lock().await;
        let attached = self
            .store()
            .write(move |c, _| sales::attach_member(c, &member))
            .await?;
        if let Some(sale_id) = &attached {
            tracing::info!(sale_id, "Member card attached to the open sale.");
            let state = crate::domain::SaleState::Open;
            self.journal().emit(EngineEvent::Sale {
                sale_id: sale_id.clone(),
                state,
            });
        }
        Ok(attached)
    }
}
