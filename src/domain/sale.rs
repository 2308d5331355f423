//! A sale's lines and totals: the one place lines are validated and the totals rule lives.

use serde::{Deserialize, Serialize};

use super::Money;

/// One line as the register sends it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LineInput {
    /// Item SKU.
    pub sku: String,
    /// Quantity (decimal, may be fractional for weighed goods).
    pub quantity: Money,
    /// Price per unit.
    pub unit_price: Money,
    /// Unit of measure; "EA" when absent.
    #[serde(default = "default_uom")]
    pub uom: String,
    /// Discount on this line.
    #[serde(default)]
    pub item_discount: Money,
    /// This line's share of a sale-level discount.
    #[serde(default)]
    pub sale_discount: Money,
}

fn default_uom() -> String {
    "EA".into()
}

/// A stored line with its extended price.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LineRecord {
    /// 1-based line number.
    pub line_no: i64,
    /// Item SKU.
    pub sku: String,
    /// Quantity.
    pub quantity: Money,
    /// Price per unit.
    pub unit_price: Money,
    /// Unit of measure.
    pub uom: String,
    /// Line discount.
    pub item_discount: Money,
    /// Share of the sale discount.
    pub sale_discount: Money,
    /// `quantity * unit_price`, rounded to cents.
    pub ext_price: Money,
}

/// Totals derived from the lines and the tax.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Totals {
    /// Sum of extended prices.
    pub subtotal: Money,
    /// Sum of line discounts.
    pub item_discount: Money,
    /// Sum of sale-discount shares.
    pub sale_discount: Money,
    /// Tax.
    pub tax: Money,
    /// What the customer pays: subtotal - discounts + tax.
    pub total: Money,
}

/// Computes lines and totals; rejects negative or empty input.
pub fn compute(lines: &[LineInput], tax: Money) -> Result<(Vec<LineRecord>, Totals), String> {
    if lines.is_empty() {
        return Err("a sale needs at least one line".into());
    }
    if tax.0.is_sign_negative() {
        return Err("tax must not be negative".into());
    }
    let mut out = Vec::with_capacity(lines.len());
    for (i, l) in lines.iter().enumerate() {
        if l.sku.trim().is_empty() {
            return Err(format!("lines[{i}].sku is empty"));
        }
        if !l.quantity.is_positive() {
            return Err(format!("lines[{i}].quantity must be positive"));
        }
        if l.unit_price.0.is_sign_negative()
            || l.item_discount.0.is_sign_negative()
            || l.sale_discount.0.is_sign_negative()
        {
            return Err(format!("lines[{i}] has a negative amount"));
        }
        let ext = Money(l.quantity.0 * l.unit_price.0).round2();
        if l.item_discount + l.sale_discount > ext {
            return Err(format!("lines[{i}] discounts exceed the line"));
        }
        out.push(LineRecord {
            line_no: i as i64 + 1,
            sku: l.sku.clone(),
            quantity: l.quantity,
            unit_price: l.unit_price,
            uom: if l.uom.is_empty() {
                "EA".into()
            } else {
                l.uom.clone()
            },
            item_discount: l.item_discount,
            sale_discount: l.sale_discount,
            ext_price: ext,
        });
    }
    let subtotal: Money = out.iter().map(|l| l.ext_price).sum();
    let item_discount: Money = out.iter().map(|l| l.item_discount).sum();
    let sale_discount: Money = out.iter().map(|l| l.sale_discount).sum();
    let total = subtotal - item_discount - sale_discount + tax;
    Ok((
        out,
        Totals {
            subtotal,
            item_discount,
            sale_discount,
            tax,
            total,
        },
    ))
}
