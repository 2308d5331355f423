//! The customer receipt as text lines (`GET /v1/sales/{id}/receipt`): a pure builder over
//! what the journal holds, so it can be tested without a lane.
//!
//! Card data never reaches a receipt beyond the last four: every code and PAN is re-masked
//! here whatever the store or the terminal handed over, and any long digit run in the
//! terminal's own print lines is masked the same way (a terminal prints masked PANs; this is
//! the second belt).

use crate::domain::payment::Method;
use crate::domain::sale::{LineRecord, Totals};
use crate::domain::{Money, PaymentState, SaleState};
use crate::store::refunds::RefundState;

/// Width of a receipt line in characters.
pub const WIDTH: usize = 40;

/// One tender on the receipt.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ReceiptTender {
    /// Method.
    pub method: Option<Method>,
    /// State (only tenders that took money are printed).
    pub state: Option<PaymentState>,
    /// Amount.
    pub amount: Money,
    /// Gift-card code (masked again here).
    pub code: Option<String>,
    /// Card PAN as the terminal masked it (masked again here).
    pub masked_pan: Option<String>,
    /// Card brand.
    pub card_name: Option<String>,
    /// Gift-card balance left, when known.
    pub balance: Option<Money>,
    /// `refNo` of the tender.
    pub ref_no: String,
    /// The terminal's own print lines for this payment (ZVT 06 D1 / 06 D3).
    pub terminal_lines: Vec<String>,
}

/// One refund on the receipt.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReceiptRefund {
    /// Method.
    pub method: Method,
    /// State.
    pub state: RefundState,
    /// Amount.
    pub amount: Money,
    /// Gift-card code (masked again here).
    pub code: Option<String>,
    /// Gift-card balance after the ADD, when known.
    pub balance: Option<Money>,
    /// `refNo`.
    pub ref_no: String,
}

/// Everything a receipt shows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReceiptInput {
    /// `lane.store_code`.
    pub store_code: String,
    /// `lane.register_code`.
    pub register_code: String,
    /// Local time of the sale.
    pub time: String,
    /// POS `transactionId`.
    pub transaction_id: String,
    /// Sale state (a receipt of an open or cancelled sale says so).
    pub state: SaleState,
    /// Lines.
    pub lines: Vec<LineRecord>,
    /// Totals.
    pub totals: Totals,
    /// Paid so far.
    pub paid: Money,
    /// Given back so far.
    pub refunded: Money,
    /// Still due (negative: owed to the customer).
    pub due: Money,
    /// Tenders in payment order.
    pub tenders: Vec<ReceiptTender>,
    /// Refunds in order.
    pub refunds: Vec<ReceiptRefund>,
}

/// `****` and the last four letters or digits of `s`.
pub fn last4(s: &str) -> String {
    let tail: Vec<char> = s.chars().filter(char::is_ascii_alphanumeric).collect();
    let keep = tail.len().min(4);
    let last: String = tail[tail.len() - keep..].iter().collect();
    format!("****{last}")
}

/// Masks every run of 8 or more digits (spaces inside allowed) to its last four.
pub fn scrub(line: &str) -> String {
    let chars: Vec<char> = line.chars().collect();
    let mut out = String::with_capacity(line.len());
    let mut i = 0;
    while i < chars.len() {
        if chars[i].is_ascii_digit() {
            let mut j = i;
            let mut digits = String::new();
            while j < chars.len() && (chars[j].is_ascii_digit() || chars[j] == ' ') {
                if chars[j].is_ascii_digit() {
                    digits.push(chars[j]);
                }
                j += 1;
            }
            // Trailing spaces belong to the text, not the number.
            while j > i && chars[j - 1] == ' ' {
                j -= 1;
            }
            if digits.len() >= 8 {
                out.push_str(&last4(&digits));
            } else {
                out.extend(&chars[i..j]);
            }
            i = j;
        } else {
            out.push(chars[i]);
            i += 1;
        }
    }
    out
}

fn row(left: &str, right: &str) -> String {
    let room = WIDTH.saturating_sub(right.chars().count() + 1);
    let left: String = left.chars().take(room).collect();
    format!("{left:<room$} {right}")
}

fn amt(m: Money) -> String {
    format!("{:.2}", m.round2().0)
}

fn neg(m: Money) -> String {
    amt(Money(-m.0))
}

fn method_name(m: Method) -> &'static str {
    match m {
        Method::Giftcard => "GIFT CARD",
        Method::Card => "CARD",
        Method::Cash => "CASH",
    }
}

/// Builds the receipt's lines.
pub fn build(r: &ReceiptInput) -> Vec<String> {
    let rule = "-".repeat(WIDTH);
    let mut out = vec![
        row(
            &format!("STORE {}", r.store_code),
            &format!("LANE {}", r.register_code),
        ),
        r.time.replace('T', " "),
        format!("TRANS {}", r.transaction_id),
    ];
    match r.state {
        SaleState::Cancelled | SaleState::Cancelling => out.push("*** CANCELLED ***".into()),
        SaleState::Open | SaleState::Completing => out.push("*** NOT COMPLETED ***".into()),
        SaleState::Completed => {}
    }
    out.push(rule.clone());
    for l in &r.lines {
        let qty = l.quantity.0.abs().normalize();
        let what = if l.is_refund() {
            format!("RETURN {} {qty} x {}", l.sku, l.unit_price)
        } else {
            format!("{} {qty} x {}", l.sku, l.unit_price)
        };
        out.push(row(&what, &amt(l.ext_price)));
        let disc = l.item_discount + l.sale_discount;
        if disc != Money::ZERO {
            out.push(row("  DISCOUNT", &amt(Money(-disc.0))));
        }
    }
    out.push(rule.clone());
    out.push(row("SUBTOTAL", &amt(r.totals.subtotal)));
    let disc = r.totals.item_discount + r.totals.sale_discount;
    if disc != Money::ZERO {
        out.push(row("DISCOUNTS", &amt(Money(-disc.0))));
    }
    out.push(row("TAX", &amt(r.totals.tax)));
    out.push(row("TOTAL", &amt(r.totals.total)));
    out.push(rule.clone());
    for t in &r.tenders {
        if !t
            .state
            .is_some_and(|s| s.counts_as_paid() || matches!(s, PaymentState::Captured))
        {
            continue;
        }
        let Some(m) = t.method else { continue };
        let mut what = method_name(m).to_owned();
        if let Some(n) = &t.card_name {
            what.push(' ');
            what.push_str(&scrub(n));
        }
        if let Some(c) = t.code.as_deref().or(t.masked_pan.as_deref()) {
            what.push(' ');
            what.push_str(&last4(c));
        }
        out.push(row(&what, &amt(t.amount)));
        if t.state == Some(PaymentState::OfflineApproved) {
            out.push("  (OFFLINE)".into());
        }
        if let Some(b) = t.balance {
            out.push(row("  BALANCE LEFT", &amt(b)));
        }
        out.push(format!("  REF {}", t.ref_no));
        if !t.terminal_lines.is_empty() {
            out.extend(t.terminal_lines.iter().map(|l| scrub(l)));
        }
    }
    for f in &r.refunds {
        let note = match f.state {
            RefundState::Declined | RefundState::Running => continue,
            RefundState::Queued => " (OFFLINE)",
            RefundState::Reversed => " (TAKEN BACK)",
            RefundState::InDoubt | RefundState::ForwardDeclined | RefundState::ReversalFailed => {
                " (CHECK)"
            }
            _ => "",
        };
        let mut what = format!("REFUND {}", method_name(f.method));
        if let Some(c) = &f.code {
            what.push(' ');
            what.push_str(&last4(c));
        }
        out.push(row(&what, &neg(f.amount)));
        if !note.is_empty() {
            out.push(format!(" {note}"));
        }
        if let Some(b) = f.balance {
            out.push(row("  BALANCE NOW", &amt(b)));
        }
        out.push(format!("  REF {}", f.ref_no));
    }
    out.push(rule);
    out.push(row("PAID", &amt(r.paid)));
    if r.refunded != Money::ZERO || r.totals.total.0.is_sign_negative() {
        out.push(row("REFUNDED", &amt(r.refunded)));
    }
    if r.due != Money::ZERO {
        out.push(row("DUE", &amt(r.due)));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(s: &str) -> Money {
        s.parse().unwrap()
    }

    fn input() -> ReceiptInput {
        let (lines, totals) = crate::domain::sale::compute(
            &[
                crate::domain::sale::LineInput {
                    sku: "ITEM-001".into(),
                    quantity: m("2"),
                    unit_price: m("5.00"),
                    uom: "EA".into(),
                    item_discount: Money::ZERO,
                    sale_discount: Money::ZERO,
                },
                crate::domain::sale::LineInput {
                    sku: "ITEM-002".into(),
                    quantity: m("-1"),
                    unit_price: m("3.00"),
                    uom: "EA".into(),
                    item_discount: Money::ZERO,
                    sale_discount: Money::ZERO,
                },
            ],
            Money::ZERO,
        )
        .unwrap();
        ReceiptInput {
            store_code: "DALLAS".into(),
            register_code: "LANE01".into(),
            time: "2026-12-04T10:00:00".into(),
            transaction_id: "DALLAS-LANE01-00000007".into(),
            state: SaleState::Completed,
            lines,
            totals,
            paid: m("7.00"),
            refunded: Money::ZERO,
            due: Money::ZERO,
            tenders: vec![
                ReceiptTender {
                    method: Some(Method::Giftcard),
                    state: Some(PaymentState::Captured),
                    amount: m("4.00"),
                    code: Some("6006491000000001".into()),
                    balance: Some(m("21.00")),
                    ref_no: "R1".into(),
                    ..Default::default()
                },
                ReceiptTender {
                    method: Some(Method::Card),
                    state: Some(PaymentState::Approved),
                    amount: m("3.00"),
                    masked_pan: Some("############1111".into()),
                    card_name: Some("VISA".into()),
                    ref_no: "R2".into(),
                    terminal_lines: vec![
                        "KARTE 4111 1111 1111 1111".into(),
                        "BETRAG EUR 3,00".into(),
                    ],
                    ..Default::default()
                },
                ReceiptTender {
                    method: Some(Method::Cash),
                    state: Some(PaymentState::Declined),
                    amount: m("9.00"),
                    ref_no: "R3".into(),
                    ..Default::default()
                },
            ],
            refunds: vec![],
        }
    }

    #[test]
    fn a_split_tender_receipt_shows_every_tender_masked_and_the_terminal_lines() {
        let lines = build(&input());
        let text = lines.join("\n");
        assert!(lines.iter().all(|l| l.chars().count() <= WIDTH), "{text}");
        assert!(text.contains("STORE DALLAS"), "{text}");
        assert!(text.contains("LANE LANE01"), "{text}");
        assert!(text.contains("TRANS DALLAS-LANE01-00000007"), "{text}");
        assert!(text.contains("RETURN ITEM-002 1 x 3.00"), "{text}");
        assert!(text.contains("-3.00"), "{text}");
        assert!(text.contains("GIFT CARD ****0001"), "{text}");
        assert!(text.contains("BALANCE LEFT"), "{text}");
        assert!(text.contains("CARD VISA ****1111"), "{text}");
        assert!(text.contains("KARTE ****1111"), "{text}");
        assert!(text.contains("BETRAG EUR 3,00"), "{text}");
        assert!(!text.contains("6006491000000001"), "{text}");
        assert!(!text.contains("4111 1111"), "{text}");
        assert!(
            !text.contains("R3"),
            "a declined tender is not printed: {text}"
        );
        assert!(!text.contains("DUE"), "{text}");
    }

    #[test]
    fn refunds_are_printed_negative_with_their_state() {
        let mut i = input();
        i.tenders.clear();
        i.state = SaleState::Open;
        i.refunded = m("3.00");
        i.refunds = vec![
            ReceiptRefund {
                method: Method::Giftcard,
                state: RefundState::Queued,
                amount: m("2.00"),
                code: Some("6006491000000002".into()),
                balance: None,
                ref_no: "F1".into(),
            },
            ReceiptRefund {
                method: Method::Cash,
                state: RefundState::Approved,
                amount: m("1.00"),
                code: None,
                balance: None,
                ref_no: "F2".into(),
            },
            ReceiptRefund {
                method: Method::Card,
                state: RefundState::Declined,
                amount: m("5.00"),
                code: None,
                balance: None,
                ref_no: "F3".into(),
            },
        ];
        let text = build(&i).join("\n");
        assert!(text.contains("NOT COMPLETED"), "{text}");
        assert!(text.contains("REFUND GIFT CARD ****0002"), "{text}");
        assert!(text.contains("(OFFLINE)"), "{text}");
        assert!(
            text.contains("TAX                                 0.00"),
            "{text}"
        );
        assert!(text.contains("REFUND CASH"), "{text}");
        assert!(text.contains("-1.00"), "{text}");
        assert!(!text.contains("F3"), "{text}");
        assert!(text.contains("REFUNDED"), "{text}");
    }

    #[test]
    fn masking_keeps_only_the_last_four() {
        assert_eq!(last4("6006491000000001"), "****0001");
        assert_eq!(last4("****0001"), "****0001");
        assert_eq!(last4("12"), "****12");
        assert_eq!(scrub("PAN 4111111111111111 OK"), "PAN ****1111 OK");
        assert_eq!(scrub("TRACE 1234 AMT 12,50"), "TRACE 1234 AMT 12,50");
        assert_eq!(scrub("4111 1111 1111 1111 "), "****1111 ");
    }
}
