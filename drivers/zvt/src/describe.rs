//! ZVT messages in words for the live consoles and the tap: `ECR→PT 06 01 Authorization
//! 12.34 EUR`, `PT→ECR 04 0F approved, 12.34 EUR, receipt 17, card ****0019`.
//!
//! Never shows a secret: no password, no typed digits (BMP 3C), no track data, card
//! numbers masked to their last 4.

use crate::{
    Apdu,
    apdu::codes::{IntermediateStatusCode, ResultCode},
    command::{EcrCommand, EcrMessage, PtMessage, ReceiptSelector, StatusInformation},
};

/// Which way a message went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
pub enum Direction {
    /// From the cash register to the terminal.
    EcrToPt,
    /// From the terminal to the cash register.
    PtToEcr,
}

impl Direction {
    /// `ECR→PT` or `PT→ECR`.
    pub fn arrow(self) -> &'static str {
        match self {
            Self::EcrToPt => "ECR→PT",
            Self::PtToEcr => "PT→ECR",
        }
    }
}

fn code(c: u8) -> String {
    match ResultCode::from_u8(c) {
        Some(r) => format!("{c:02X} ({})", r.text()),
        None => format!("{c:02X}"),
    }
}

/// The currency's ISO 4217 letters; no BMP 49 means the registered currency, EUR by
/// default.
fn eur(currency: Option<u16>) -> String {
    crate::apdu::currency::label(currency.unwrap_or(crate::command::EUR))
}

fn lines(l: &[String]) -> String {
    format!("\"{}\"", l.join(" / "))
}

fn command(cmd: &EcrCommand) -> String {
    match cmd {
        EcrCommand::Registration(r) => match r.currency {
            Some(c) => format!("Registration, config {:02X}, {}", r.config, eur(Some(c))),
            None => format!("Registration, config {:02X}", r.config),
        },
        EcrCommand::Authorization(p) => format!("Authorization {} {}", p.amount, eur(p.currency)),
        EcrCommand::Reservation(p) => format!("Reservation {} {}", p.amount, eur(p.currency)),
        EcrCommand::PartialReversal(p) => match p.receipt {
            ReceiptSelector::AllOpen => "Partial reversal: list open reservations".into(),
            ReceiptSelector::Number(n) => match p.amount {
                Some(a) => format!("Partial reversal of receipt {n}, {a} EUR"),
                None => format!("Partial reversal of receipt {n}"),
            },
        },
        EcrCommand::BookTotal(b) => match b.amount {
            Some(a) => format!("Book total of receipt {}, {a} EUR", b.receipt),
            None => format!("Book total of receipt {}", b.receipt),
        },
        EcrCommand::PreAuthReversal(p) => format!("Pre-auth reversal of receipt {}", p.receipt),
        EcrCommand::Reversal(r) => format!("Reversal of receipt {}", r.receipt),
        EcrCommand::Refund(r) => format!("Refund {} {}", r.amount, eur(r.currency)),
        EcrCommand::Abort => "Abort".into(),
        EcrCommand::StatusEnquiry(_) => "Status enquiry".into(),
        EcrCommand::EndOfDay(_) => "End of day".into(),
        EcrCommand::RepeatReceipt(_) => "Repeat receipt".into(),
        EcrCommand::DisplayText(d) => format!("Display text {}", lines(&d.lines)),
        EcrCommand::NumericInput(n) => format!(
            "Numeric input {}, {}-{} digits",
            lines(&n.lines),
            n.min_len.unwrap_or(0),
            n.max_len.unwrap_or(20)
        ),
        EcrCommand::ReadCard(r) => format!("Read card, time-out {} s", r.timeout_s),
    }
}

fn status_information(si: &StatusInformation) -> String {
    let mut parts = Vec::new();
    match si.result_code {
        Some(0) => parts.push("approved".to_owned()),
        Some(c) => parts.push(format!("declined {}", code(c))),
        None => {}
    }
    if let Some(a) = si.amount {
        parts.push(format!("{a} {}", eur(si.currency)));
    }
    if let Some(r) = si.receipt {
        parts.push(format!("receipt {r}"));
    }
    if let Some(t) = si.trace {
        parts.push(format!("trace {t}"));
    }
    if let Some(c) = &si.card_number {
        parts.push(format!("card ****{}", c.last4()));
    }
    if si.track1.is_some() || si.track2.is_some() || si.track3.is_some() {
        parts.push("card data read (redacted)".into());
    }
    if let Some(n) = &si.card_name {
        parts.push(n.clone());
    }
    if si.totals.is_some() {
        parts.push("day totals".into());
    }
    if parts.is_empty() {
        parts.push("status information".into());
    }
    parts.join(", ")
}

fn pt_message(m: &PtMessage) -> String {
    match m {
        PtMessage::Ack => "ack".into(),
        PtMessage::Nack(c) => format!("refused {}", code(*c)),
        PtMessage::Completion(c) => {
            let mut s = "completion".to_owned();
            if let (Some(v), Some(st)) = (&c.sw_version, c.terminal_status) {
                s.push_str(&format!(", software {v}, terminal status {st:02X}"));
            }
            if let Some(t) = &c.additional_text {
                s.push_str(&format!(", {} digits entered", t.chars().count()));
            }
            s
        }
        PtMessage::Abort(a) => match a.receipt {
            Some(r) => format!("abort {}, receipt {r}", code(a.result_code)),
            None => format!("abort {}", code(a.result_code)),
        },
        PtMessage::StatusInformation(si) => status_information(si),
        PtMessage::IntermediateStatus(s) => match IntermediateStatusCode::from_u8(s.status) {
            Some(c) => format!("intermediate status {:02X} ({})", s.status, c.text()),
            None => format!("intermediate status {:02X}", s.status),
        },
        PtMessage::PrintLine(p) => format!("print \"{}\"", mask_long_digit_runs(&p.text)),
        PtMessage::PrintTextBlock(b) => format!("print block, {} lines", b.lines().len()),
        PtMessage::Other(a) => format!("{} data bytes", a.data().len()),
    }
}

/// A terminal prints card numbers masked; should one arrive whole, any run of 13 or more
/// digits keeps only its last 4 here.
fn mask_long_digit_runs(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut run = String::new();
    let flush = |run: &mut String, out: &mut String| {
        if run.len() >= 13 {
            out.extend(std::iter::repeat_n('*', run.len() - 4));
            out.push_str(&run[run.len() - 4..]);
        } else {
            out.push_str(run);
        }
        run.clear();
    };
    for c in text.chars() {
        if c.is_ascii_digit() {
            run.push(c);
        } else {
            flush(&mut run, &mut out);
            out.push(c);
        }
    }
    flush(&mut run, &mut out);
    out
}

/// One APDU in words, with its direction and control field first.
pub fn describe(dir: Direction, apdu: &Apdu) -> String {
    let [class, instr] = apdu.control();
    let words = match dir {
        Direction::EcrToPt => match EcrMessage::from_apdu(apdu) {
            Ok(EcrMessage::Command(c)) => command(&c),
            Ok(EcrMessage::Ack) => "ack".into(),
            Ok(EcrMessage::Nack(c)) => format!("refused {}", code(c)),
            Ok(EcrMessage::Other(a)) => format!("unknown command, {} data bytes", a.data().len()),
            Err(e) => format!("undecodable: {e}"),
        },
        Direction::PtToEcr => match PtMessage::from_apdu(apdu) {
            Ok(m) => pt_message(&m),
            Err(e) => format!("undecodable: {e}"),
        },
    };
    if matches!(class, 0x80 | 0x84) && apdu.data().is_empty() {
        // Acknowledgements are known by all three bytes.
        return format!("{} {class:02X} {instr:02X} 00 {words}", dir.arrow());
    }
    format!("{} {class:02X} {instr:02X} {words}", dir.arrow())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn apdu(b: &[u8]) -> Apdu {
        Apdu::decode(b).unwrap()
    }

    #[test]
    fn words_without_secrets() {
        assert_eq!(
            describe(
                Direction::EcrToPt,
                &apdu(&[0x06, 0x01, 0x07, 0x04, 0, 0, 0, 0, 0x12, 0x34])
            ),
            "ECR→PT 06 01 Authorization 12.34 EUR"
        );
        let reg = describe(
            Direction::EcrToPt,
            &apdu(&[0x06, 0x00, 0x06, 0x31, 0x41, 0x59, 0xBA, 0x09, 0x78]),
        );
        assert_eq!(reg, "ECR→PT 06 00 Registration, config BA, EUR");
        assert_eq!(
            describe(
                Direction::EcrToPt,
                &apdu(&[
                    0x06, 0x01, 0x0A, 0x04, 0, 0, 0, 0, 0x12, 0x34, 0x49, 0x08, 0x40
                ])
            ),
            "ECR→PT 06 01 Authorization 12.34 USD"
        );
        assert_eq!(
            describe(Direction::PtToEcr, &apdu(&[0x84, 0x6B, 0x00])),
            "PT→ECR 84 6B 00 refused 6B (function deactivated (PT not registered))"
        );
        let typed = describe(
            Direction::PtToEcr,
            &apdu(&[
                0x06, 0x0F, 0x08, 0x3C, 0xF0, 0xF0, 0xF4, 0x34, 0x37, 0x31, 0x31,
            ]),
        );
        assert_eq!(typed, "PT→ECR 06 0F completion, 4 digits entered");
        let si = describe(
            Direction::PtToEcr,
            &apdu(&[
                0x04, 0x0F, 0x10, 0x27, 0x00, 0x87, 0x00, 0x17, 0x22, 0xF0, 0xF8, 0x67, 0x99, 0xEE,
                0xEE, 0xEE, 0xEE, 0x00, 0x19,
            ]),
        );
        assert_eq!(si, "PT→ECR 04 0F approved, receipt 17, card ****0019");
    }
}
