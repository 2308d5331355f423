//! Gathers a sale's receipt from the journal for the pure builder in [`super::receipt`].

use crate::store::payments::PaymentRecord;
use crate::store::{payments, refunds, sales};

use super::receipt::{self, ReceiptInput, ReceiptRefund, ReceiptTender};
use super::sale::paid_and_due;
use super::{Engine, EngineError};

/// The receipt answer: the sale and its lines of text.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Receipt {
    /// Sale.
    pub sale_id: String,
    /// The receipt, one string per printed line.
    pub lines: Vec<String>,
}

/// The terminal's own print lines for a card payment (ZVT 06 D1 / 06 D3), as the terminal
/// port journaled them (already masked again). A read failure leaves the receipt without
/// them rather than failing it.
fn terminal_lines(c: &rusqlite::Connection, p: &PaymentRecord) -> Vec<String> {
    crate::store::receipts::receipt_lines(c, &p.payment_id).unwrap_or_else(|e| {
        tracing::warn!(payment_id = %p.payment_id, error = %e, "Terminal receipt lines not read.");
        Vec::new()
    })
}

impl Engine {
    /// The customer receipt of a sale (`GET /v1/sales/{id}/receipt`).
    pub async fn receipt(&self, sale_id: &str) -> Result<Receipt, EngineError> {
        let id = sale_id.to_owned();
        let (sale, pays, rfs, lines) = self
            .store()
            .read(move |c, _| {
                let pays = payments::for_sale(c, &id)?;
                let lines: Vec<Vec<String>> = pays.iter().map(|p| terminal_lines(c, p)).collect();
                Ok((sales::get(c, &id)?, pays, refunds::for_sale(c, &id)?, lines))
            })
            .await?;
        let (paid, due) = paid_and_due(&sale, &pays);
        let input = ReceiptInput {
            store_code: self.inner.cfg.store_code.clone(),
            register_code: self.inner.cfg.register_code.clone(),
            time: sale.purchased_on.clone(),
            transaction_id: sale.transaction_id.clone(),
            state: sale.state,
            totals: sale.totals,
            paid,
            refunded: sale.refunded,
            due,
            tenders: pays
                .iter()
                .zip(lines)
                .map(|(p, terminal_lines)| ReceiptTender {
                    method: Some(p.method),
                    state: Some(p.state),
                    amount: p.amount,
                    code: p.code_masked.clone(),
                    masked_pan: p.terminal.masked_pan.clone(),
                    card_name: p.terminal.card_name.clone(),
                    balance: p.balance,
                    ref_no: p.ref_no.clone(),
                    terminal_lines,
                })
                .collect(),
            refunds: rfs
                .iter()
                .map(|r| ReceiptRefund {
                    method: r.method,
                    state: r.state,
                    amount: r.amount,
                    code: r.code_masked.clone(),
                    balance: r.balance,
                    ref_no: r.ref_no.clone(),
                })
                .collect(),
            lines: sale.lines,
        };
        Ok(Receipt {
            sale_id: sale.sale_id,
            lines: receipt::build(&input),
        })
    }
}
