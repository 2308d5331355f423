//! A sale's lines and totals: the one place lines are validated and the totals rule lives.

use serde::{Deserialize, Serialize};

use super::Money;

/// One line as the register sends it. A **negative quantity** is an item coming back (the
/// API's `"refund": true` maps to it): its extended price counts against the total, so a
/// return makes the total negative (owed to the customer) and an exchange nets out.
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

impl LineRecord {
    /// Whether this line is an item coming back (`isRefund` in the purchase).
    pub fn is_refund(&self) -> bool {
        self.quantity.0.is_sign_negative()
    }
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

/// Computes lines and totals; rejects empty input and negative amounts. A line with a
/// negative quantity is returned goods: its extended price (and discounts) are negative. Tax
/// may be negative only when a line comes back (the tax refunded), and must not be positive
/// when every line comes back.
pub fn compute(lines: &[LineInput], tax: Money) -> Result<(Vec<LineRecord>, Totals), String> {
    if lines.is_empty() {
        return Err("a sale needs at least one line".into());
    }
    let returns = lines
        .iter()
        .filter(|l| l.quantity.0.is_sign_negative())
        .count();
    if tax.0.is_sign_negative() && returns == 0 {
        return Err("tax must not be negative".into());
    }
    if tax.is_positive() && returns == lines.len() {
        return Err("tax must not be positive when every line is returned".into());
    }
    let mut out = Vec::with_capacity(lines.len());
    for (i, l) in lines.iter().enumerate() {
        if l.sku.trim().is_empty() {
            return Err(format!("lines[{i}].sku is empty"));
        }
        if l.quantity.0.is_zero() {
            return Err(format!("lines[{i}].quantity must not be zero"));
        }
        if l.unit_price.0.is_sign_negative()
            || l.item_discount.0.is_sign_negative()
            || l.sale_discount.0.is_sign_negative()
        {
            return Err(format!("lines[{i}] has a negative amount"));
        }
        let ext = Money(l.quantity.0 * l.unit_price.0).round2();
        if l.item_discount + l.sale_discount > Money(ext.0.abs()) {
            return Err(format!("lines[{i}] discounts exceed the line"));
        }
        // A returned line gives its discounts back too.
        let sign = if l.quantity.0.is_sign_negative() {
            rust_decimal::Decimal::NEGATIVE_ONE
        } else {
            rust_decimal::Decimal::ONE
        };
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
            item_discount: Money(l.item_discount.0 * sign),
            sale_discount: Money(l.sale_discount.0 * sign),
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

#[cfg(test)]
mod tests {
    use super::*;

    fn line(q: &str, p: &str) -> LineInput {
        LineInput {
            sku: "A".into(),
            quantity: q.parse().unwrap(),
            unit_price: p.parse().unwrap(),
            uom: "EA".into(),
            item_discount: Money::ZERO,
            sale_discount: Money::ZERO,
        }
    }

    #[test]
    fn a_return_is_owed_to_the_customer_and_an_exchange_nets_out() {
        let (lines, t) = compute(&[line("-1", "9.99")], "-0.80".parse().unwrap()).unwrap();
        assert!(lines[0].is_refund());
        assert_eq!(lines[0].ext_price.to_string(), "-9.99");
        assert_eq!(t.total.to_string(), "-10.79");
        let (_, t) = compute(&[line("-1", "9.99"), line("2", "3.00")], Money::ZERO).unwrap();
        assert_eq!(t.total.to_string(), "-3.99");
        let (_, t) = compute(&[line("-1", "4.00"), line("1", "4.00")], Money::ZERO).unwrap();
        assert_eq!(t.total, Money::ZERO);
    }

    #[test]
    fn tax_signs_follow_the_lines() {
        assert!(compute(&[line("1", "1")], "-0.01".parse().unwrap()).is_err());
        assert!(compute(&[line("-1", "1")], "0.01".parse().unwrap()).is_err());
        assert!(compute(&[line("0", "1")], Money::ZERO).is_err());
        assert!(compute(&[line("-1", "1"), line("1", "5")], "0.30".parse().unwrap()).is_ok());
    }
}
