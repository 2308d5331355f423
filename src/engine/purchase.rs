//! Builds the `purchaseAdd` input from a completed sale and its tenders.

use crate::domain::Money;
use crate::domain::payment::Method;
use crate::store::payments::PaymentRecord;
use crate::store::sales::SaleRecord;

use super::ports::{PurchaseInput, PurchaseLine};

/// The purchase for a sale: totals from the stored lines, `payMethod` from the tenders that
/// paid (distinct methods in payment order, joined by `+`), `memberId` when given.
pub fn build(store_code: &str, sale: &SaleRecord, payments: &[PaymentRecord]) -> PurchaseInput {
    let paying: Vec<&PaymentRecord> = payments
        .iter()
        .filter(|p| p.state.counts_as_paid())
        .collect();
    let mut methods: Vec<&'static str> = Vec::new();
    for p in &paying {
        let m = match p.method {
            Method::Giftcard => "GIFTCARD",
            Method::Card => "CARD",
            Method::Cash => "CASH",
        };
        if !methods.contains(&m) {
            methods.push(m);
        }
    }
    PurchaseInput {
        transaction_id: sale.transaction_id.clone(),
        store_code: store_code.to_owned(),
        purchased_on: sale.purchased_on.clone(),
        pay_amount: sale.totals.total,
        sale_discount_amount: sale.totals.sale_discount,
        item_discount_amount: sale.totals.item_discount,
        sub_total: sale.totals.subtotal,
        refund_amount: Money::ZERO,
        tax_amount: sale.totals.tax,
        line_items: sale
            .lines
            .iter()
            .map(|l| PurchaseLine {
                line_number: l.line_no,
                sku: l.sku.clone(),
                is_refund: false,
                unit_price: l.unit_price,
                ext_price: l.ext_price,
                item_discount_amount: l.item_discount,
                sale_discount_amount: l.sale_discount,
                quantity: l.quantity,
                uom: l.uom.clone(),
            })
            .collect(),
        member_id: sale.member_id.clone(),
        pay_method: if methods.is_empty() {
            "NONE".into()
        } else {
            methods.join("+")
        },
    }
}
