//! `purchaseAdd`: recorded every time, never deduplicated (pos-api.md §5.9).

use async_graphql::{Context, Object, Result};

use super::types::{Purchase, PurchaseAddInput};
use super::{caller, state};
use crate::pos::error::PosError;
use crate::pos::ledger::PurchaseRecord;

/// The purchase mutation.
#[derive(Default)]
pub struct PurchaseMutation;

fn not_empty(value: &str, property: &'static str) -> Result<(), PosError> {
    if value.trim().is_empty() {
        Err(PosError::validation(
            "NotEmptyValidator",
            property,
            format!("'{property}' must not be empty."),
        ))
    } else {
        Ok(())
    }
}

fn validate(add: &PurchaseAddInput) -> Result<(), PosError> {
    not_empty(&add.transaction_id, "TransactionId")?;
    not_empty(&add.store_code, "StoreCode")?;
    // Local date-time without an offset: anything else is rejected like a bad format.
    if chrono::NaiveDateTime::parse_from_str(&add.purchased_on, "%Y-%m-%dT%H:%M:%S%.f").is_err() {
        return Err(PosError::validation(
            "DateTimeValidator",
            "PurchasedOn",
            "purchasedOn must be a local date-time without offset, e.g. 2021-09-15T04:50:00",
        ));
    }
    if add.line_items.is_empty() {
        return Err(PosError::validation(
            "NotEmptyValidator",
            "LineItems",
            "'LineItems' must not be empty.",
        ));
    }
    for line in &add.line_items {
        if line.line_number < 1 {
            return Err(PosError::validation(
                "GreaterThanValidator",
                "LineNumber",
                "'LineNumber' must be greater than 0.",
            ));
        }
        not_empty(&line.sku, "Sku")?;
        not_empty(&line.uom, "Uom")?;
    }
    Ok(())
}

#[Object]
impl PurchaseMutation {
    /// Does NOT deduplicate transactionId (DOCUMENTED): the caller must never send one purchase twice.
    async fn purchase_add(
        &self,
        ctx: &Context<'_>,
        add: PurchaseAddInput,
    ) -> Result<Option<Purchase>> {
        let caller = caller(ctx);
        caller.require("AddPurchase")?;
        validate(&add)?;
        let st = state(ctx);
        let now = st.now();
        let input = serde_json::to_value(&add)
            .map_err(|e| PosError::Fusion(format!("cannot record purchase: {e}")))?;
        let mut db = st.db();
        if !db.locations.iter().any(|l| l.code == add.store_code) {
            return Err(PosError::validation(
                "LocationNotFound",
                "StoreCode",
                "no POS location has this store code",
            )
            .into());
        }
        let id = db.new_id();
        let duplicates = db
            .purchases
            .iter()
            .filter(|p| p.transaction_id == add.transaction_id)
            .count();
        db.purchases.push(PurchaseRecord {
            id: id.clone(),
            transaction_id: add.transaction_id.clone(),
            store_code: add.store_code.clone(),
            pay_amount: add.pay_amount.0,
            member_id: add.member_id.clone(),
            client_id: caller.client_id.clone(),
            recorded_at: now,
            input,
        });
        drop(db);
        if duplicates > 0 {
            tracing::warn!(transaction_id = %add.transaction_id, id = %id, earlier = duplicates,
                "Purchase recorded again under a transactionId already held.");
        } else {
            tracing::info!(transaction_id = %add.transaction_id, id = %id, "Purchase recorded.");
        }
        Ok(Some(Purchase { id }))
    }
}
