//! What the cashier reads on the terminal's display during a gift-card tender: the amount
//! being redeemed, the result (balance, what is still due) and a plain-words decline reason.
//!
//! ZVT displays are small, so every screen is at most [`MAX_LINES`] lines of at most
//! [`MAX_WIDTH`] characters. Only the last four characters of a gift-card code are ever shown.

use std::sync::Arc;

use rust_decimal::Decimal;

use crate::domain::Money;
use crate::engine::{PaymentAnswer, PaymentStatus};

use super::terminal::ZvtTerminal;

/// Widest line the terminal displays shows in full.
pub const MAX_WIDTH: usize = 20;
/// Most lines a screen holds.
pub const MAX_LINES: usize = 4;

/// The screen while a gift-card tender of `amount` is processed; `code` is the card's code
/// (only its last four characters are shown).
pub fn processing(amount: Money, code: Option<&str>) -> Vec<String> {
    let first = match code {
        Some(c) => format!("Gift card {}", masked(c)),
        None => "Gift card".to_owned(),
    };
    screen(vec![first, format!("Amount {}", amount_text(amount.get()))])
}

/// The screen for the engine's answer to a gift-card tender.
pub fn result(answer: &PaymentAnswer) -> Vec<String> {
    let mut lines = match answer.status {
        PaymentStatus::Pending => return screen(vec!["Please wait".to_owned()]),
        PaymentStatus::InDoubt => {
            return screen(vec![
                "Result unknown".to_owned(),
                "Call a supervisor".to_owned(),
            ]);
        }
        PaymentStatus::Declined => {
            return screen(vec![
                "Declined".to_owned(),
                decline_text(answer.reason.as_deref()).to_owned(),
            ]);
        }
        PaymentStatus::Approved => vec![format!(
            "Approved {}",
            amount_text(answer.approved_amount.get())
        )],
        PaymentStatus::OfflineApproved => vec![
            "Approved OFFLINE".to_owned(),
            format!("Amount {}", amount_text(answer.approved_amount.get())),
        ],
    };
    if let Some(b) = answer.balance {
        lines.push(format!("Balance {}", amount_text(b.get())));
    }
    if answer.due.get() > Decimal::ZERO {
        lines.push(format!("Still due {}", amount_text(answer.due.get())));
    }
    screen(lines)
}

/// The cashier's words for an engine decline reason (`insufficient_balance`,
/// `offline_count_cap`, ...); anything unknown is a plain "Declined".
pub fn decline_text(reason: Option<&str>) -> &'static str {
    let Some(r) = reason else { return "Declined" };
    // Host declines may arrive as their error text, "declined: <reason>".
    let r = r.strip_prefix("declined: ").unwrap_or(r);
    match r {
        "insufficient_balance" => "Insufficient balance",
        "code_not_found" | "unknown_card" => "Card not found",
        "code_expired" => "Card expired",
        "invalid_pin" => "Wrong PIN",
        "pin_cancelled" => "PIN cancelled",
        "offline_pin_card" => "PIN card: go online",
        "offline_disabled"
        | "offline_transaction_cap"
        | "offline_total_cap"
        | "offline_count_cap"
        | "offline_age_cap"
        | "unknown_card_limit" => "Over offline limit",
        _ => "Declined",
    }
}

/// The last four characters of a code behind asterisks; a code below eight characters shows
/// none of them (the agent's one rule, [`cardreader::mask_last4`]).
pub fn masked(code: &str) -> String {
    cardreader::mask_last4(code)
}

/// Shows `lines` on the terminal without holding up the caller: the display runs in its own
/// task, and a failure is only logged (the payment's answer never depends on the display).
/// Must run inside a tokio runtime.
///
/// The exchange is never cut short from outside: a display dropped midway would leave half
/// an answer on the link for the next payment to read. The transport's own timers (T3, T4)
/// bound it.
pub fn show(terminal: Arc<ZvtTerminal>, lines: Vec<String>) {
    tokio::spawn(async move {
        let refs: Vec<&str> = lines.iter().map(String::as_str).collect();
        if let Err(e) = terminal.display(&refs).await {
            tracing::debug!(error = %e, "Cashier display failed.");
        }
    });
}

/// An amount with two decimals, as the cashier knows it.
fn amount_text(d: Decimal) -> String {
    let mut d = d.round_dp(2);
    d.rescale(2);
    d.to_string()
}

/// Keeps a screen within the display's size (a very large amount is cut, never wrapped).
fn screen(lines: Vec<String>) -> Vec<String> {
    lines
        .into_iter()
        .take(MAX_LINES)
        .map(|l| l.chars().take(MAX_WIDTH).collect())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal::dec;

    fn answer(
        status: PaymentStatus,
        approved: Decimal,
        balance: Option<Decimal>,
        due: Decimal,
    ) -> PaymentAnswer {
        PaymentAnswer {
            payment_id: "p-1".into(),
            status,
            approved_amount: Money::from(approved),
            balance: balance.map(Money::from),
            reason: None,
            due: Money::from(due),
        }
    }

    fn fits(lines: &[String]) {
        assert!(!lines.is_empty() && lines.len() <= MAX_LINES, "{lines:?}");
        for l in lines {
            assert!(l.chars().count() <= MAX_WIDTH, "too wide: {l:?}");
        }
    }

    #[test]
    fn processing_shows_amount_and_only_the_last_four() {
        let s = processing(Money::from(dec!(12)), Some("GC-9876543210-4321"));
        assert_eq!(s, vec!["Gift card ****4321", "Amount 12.00"]);
        assert!(!s.concat().contains("9876"));
        fits(&s);
        assert_eq!(
            processing(Money::from(dec!(5.5)), None),
            vec!["Gift card", "Amount 5.50"]
        );
    }

    #[test]
    fn short_codes_are_not_shown_at_all() {
        assert_eq!(masked("1234"), "****");
        assert_eq!(masked(""), "****");
        assert_eq!(masked("ABCDE"), "****");
        assert_eq!(masked("ABCDEFGH"), "****EFGH");
    }

    #[test]
    fn approved_in_full_shows_balance() {
        let s = result(&answer(
            PaymentStatus::Approved,
            dec!(12),
            Some(dec!(38)),
            dec!(0),
        ));
        assert_eq!(s, vec!["Approved 12.00", "Balance 38.00"]);
        fits(&s);
    }

    #[test]
    fn partial_approval_shows_what_is_still_due() {
        let s = result(&answer(
            PaymentStatus::Approved,
            dec!(12),
            Some(dec!(0)),
            dec!(18),
        ));
        assert_eq!(s, vec!["Approved 12.00", "Balance 0.00", "Still due 18.00"]);
        fits(&s);
    }

    #[test]
    fn offline_approval_says_offline() {
        let s = result(&answer(
            PaymentStatus::OfflineApproved,
            dec!(20),
            None,
            dec!(5),
        ));
        assert_eq!(
            s,
            vec!["Approved OFFLINE", "Amount 20.00", "Still due 5.00"]
        );
        fits(&s);
    }

    #[test]
    fn each_decline_reason_has_clear_words() {
        let cases = [
            ("insufficient_balance", "Insufficient balance"),
            ("declined: insufficient_balance", "Insufficient balance"),
            ("code_not_found", "Card not found"),
            ("code_expired", "Card expired"),
            ("invalid_pin", "Wrong PIN"),
            ("offline_transaction_cap", "Over offline limit"),
            ("offline_total_cap", "Over offline limit"),
            ("offline_count_cap", "Over offline limit"),
            ("offline_age_cap", "Over offline limit"),
            ("amount_sign", "Declined"),
            ("something_new", "Declined"),
        ];
        for (reason, text) in cases {
            let mut a = answer(PaymentStatus::Declined, dec!(0), None, dec!(30));
            a.reason = Some(reason.into());
            let s = result(&a);
            assert_eq!(s, vec!["Declined".to_owned(), text.to_owned()], "{reason}");
            fits(&s);
        }
        assert_eq!(decline_text(None), "Declined");
    }

    #[test]
    fn huge_amounts_are_cut_to_the_display_width() {
        let s = result(&answer(
            PaymentStatus::Approved,
            dec!(123456789012345.678),
            Some(dec!(1)),
            dec!(987654321098765),
        ));
        fits(&s);
        assert!(s[0].starts_with("Approved 12345"));
    }
}
