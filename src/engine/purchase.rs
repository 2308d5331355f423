//! Builds the `purchaseAdd` input from a completed sale and its tenders.

use crate::domain::payment::Method;
use crate::store::payments::PaymentRecord;
use crate::store::sales::SaleRecord;

use super::ports::{PurchaseInput, PurchaseLine};

/// The purchase for a sale: totals from the stored lines, `payMethod` from the tenders that
/// paid or paid back (distinct methods in order, joined by `+`), `memberId` when given.
///
/// Returned lines carry `isRefund: true` with their quantity as a positive number and their
/// extended price (and discounts) negative, so `subTotal` is the sum of `extPrice`.
/// `refundAmount` is the money given back (`sale.refunded`), `payAmount` the money taken
/// (`total + refunded`: the total for a plain sale, zero for a return or an exchange that
/// nets out below zero).
pub fn build(store_code: &str, sale: &SaleRecord, payments: &[PaymentRecord]) -> PurchaseInput {
    let paying: Vec<Method> = payments
        .iter()
        .filter(|p| p.state.counts_as_paid())
        .map(|p| p.method)
        .chain(refund_methods(sale))
        .collect();
    let mut methods: Vec<&'static str> = Vec::new();
    for p in &paying {
        let m = match p {
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
        pay_amount: (sale.totals.total + sale.refunded).get(),
        sale_discount_amount: sale.totals.sale_discount.get(),
        item_discount_amount: sale.totals.item_discount.get(),
        sub_total: sale.totals.subtotal.get(),
        refund_amount: sale.refunded.get(),
        tax_amount: sale.totals.tax.get(),
        line_items: sale
            .lines
            .iter()
            .map(|l| PurchaseLine {
                line_number: l.line_no,
                sku: l.sku.clone(),
                is_refund: l.is_refund(),
                unit_price: l.unit_price.get(),
                ext_price: l.ext_price.get(),
                item_discount_amount: l.item_discount.get(),
                sale_discount_amount: l.sale_discount.get(),
                quantity: l.quantity.get().abs(),
                uom: l.uom.clone(),
            })
            .collect(),
        channel: None,
        member_id: sale.member_id.clone(),
        order_type: None,
        pay_method: Some(if methods.is_empty() {
            "NONE".into()
        } else {
            methods.join("+")
        }),
        customer_id: None,
        email: None,
    }
}

fn refund_methods(sale: &SaleRecord) -> Vec<Method> {
    sale.refund_methods.clone()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Outbox payloads written before the record was declared once (by the POS client) still
    /// read, and a record writes back in the same shape: camelCase, amounts as strings.
    #[test]
    fn outbox_payloads_keep_their_shape() {
        let stored = r#"{"transactionId":"DALLAS-LANE01-7","storeCode":"DALLAS",
            "purchasedOn":"2026-11-28T10:00:00","payAmount":"4.20","saleDiscountAmount":"0",
            "itemDiscountAmount":"0","subTotal":"4.20","refundAmount":"0","taxAmount":"0",
            "lineItems":[{"lineNumber":1,"sku":"ITEM-001","isRefund":false,"unitPrice":"4.20",
            "extPrice":"4.20","itemDiscountAmount":"0","saleDiscountAmount":"0","quantity":"1",
            "uom":"EA"}],"payMethod":"CASH"}"#;
        let p: PurchaseInput = serde_json::from_str(stored).unwrap();
        assert_eq!(p.pay_amount.to_string(), "4.20");
        assert_eq!(p.pay_method.as_deref(), Some("CASH"));
        assert_eq!(p.member_id, None);
        let back = serde_json::to_value(&p).unwrap();
        assert_eq!(back["payAmount"], "4.20");
        assert_eq!(back["lineItems"][0]["unitPrice"], "4.20");
        assert!(back.get("channel").is_none(), "{back}");
    }
}
