//! The technician's console: one command per line on stdin.
//!
//! ```text
//! approve                 approve the next payment
//! decline [CODE]          decline the next payment (hex code, default 05)
//! partial AMOUNT          approve only AMOUNT of the next payment
//! input DIGITS | cancel   answer the pending (or next) numeric-input prompt
//! card TRACK              present a card: the next Read Card returns TRACK
//! fault SPEC              inject a fault into the next command (nak:N, bad-crc:N,
//!                         byte-gap:MS, garbage:TEXT, silence, drop-after-approval,
//!                         drop-before-status, reboot)
//! drop                    drop the link now
//! reboot                  reboot now (journal kept, registration lost)
//! journal                 list the transactions
//! status                  registration state and counts
//! help                    this text
//! ```

use rust_decimal::Decimal;
use tokio::io::{AsyncBufReadExt, BufReader};

use super::{control::SimControl, fault::Fault, script::Outcome};

/// The console's help text.
pub const HELP: &str = "\
approve | decline [CODE] | partial AMOUNT | input DIGITS | cancel | card TRACK |
fault nak:N|bad-crc:N|byte-gap:MS|garbage:TEXT|silence|drop-after-approval|
      drop-before-status|reboot |
drop | reboot | journal | status | help";

/// A parsed console command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConsoleCommand {
    /// Force the next financial command's outcome.
    Next(Outcome),
    /// Answer a numeric-input prompt (`None` = cancel).
    Input(Option<String>),
    /// Present a card track for Read Card.
    Card(String),
    /// Inject a fault.
    Fault(Fault),
    /// Drop the link now.
    Drop,
    /// Reboot now.
    Reboot,
    /// Print the journal.
    Journal,
    /// Print the state.
    Status,
    /// Print help.
    Help,
}

impl std::str::FromStr for ConsoleCommand {
    type Err = String;

    fn from_str(line: &str) -> Result<Self, Self::Err> {
        let mut words = line.split_whitespace();
        let cmd = words.next().unwrap_or("");
        let arg = words.next();
        Ok(match (cmd, arg) {
            ("approve", None) => Self::Next(Outcome::Approve),
            ("decline", code) => Self::Next(Outcome::Decline {
                code: match code {
                    None => 0x05,
                    Some(c) => u8::from_str_radix(c.trim_start_matches("0x"), 16)
                        .map_err(|_| format!("decline: {c:?} is not a hex code"))?,
                },
            }),
            ("partial", Some(a)) => Self::Next(Outcome::Partial {
                amount: a
                    .parse::<Decimal>()
                    .ok()
                    .filter(|d| *d >= Decimal::ZERO && d.scale() <= 2)
                    .ok_or_else(|| format!("partial: {a:?} is not an amount"))?,
            }),
            ("input", Some(d)) if d.bytes().all(|b| b.is_ascii_digit()) && d.len() <= 20 => {
                Self::Input(Some(d.to_owned()))
            }
            ("cancel", None) => Self::Input(None),
            ("card", Some(t)) => Self::Card(t.to_owned()),
            ("fault", Some(spec)) => Self::Fault(spec.parse()?),
            ("drop", None) => Self::Drop,
            ("reboot", None) => Self::Reboot,
            ("journal", None) => Self::Journal,
            ("status", None) => Self::Status,
            ("help", None) | ("?", None) => Self::Help,
            _ => return Err(format!("unknown command {line:?}; try help")),
        })
    }
}

/// Applies one command; returns the text to show.
pub fn apply(control: &SimControl, cmd: ConsoleCommand) -> String {
    match cmd {
        ConsoleCommand::Next(o) => {
            control.set_next_outcome(o.clone());
            format!("next outcome: {o:?}")
        }
        ConsoleCommand::Input(i) => {
            let shown = if i.is_some() { "digits" } else { "cancel" };
            control.type_input(i);
            format!("input queued: {shown}")
        }
        ConsoleCommand::Card(t) => {
            control.present_track(t);
            "card presented".into()
        }
        ConsoleCommand::Fault(f) => {
            let s = format!("fault queued: {f:?}");
            control.inject(f);
            s
        }
        ConsoleCommand::Drop => {
            control.drop_link();
            "link dropped".into()
        }
        ConsoleCommand::Reboot => {
            control.reboot();
            "rebooted".into()
        }
        ConsoleCommand::Journal => {
            let j = control.journal();
            if j.is_empty() {
                return "journal empty".into();
            }
            j.iter()
                .map(|e| {
                    format!(
                        "receipt {:04} trace {:06} {:?} {} of {} result {:02X}{}{} card {}",
                        e.receipt,
                        e.trace,
                        e.kind,
                        e.amount,
                        e.requested,
                        e.result,
                        if e.reversed { " REVERSED" } else { "" },
                        if e.closed { " CLOSED" } else { "" },
                        e.masked_pan
                    )
                })
                .collect::<Vec<_>>()
                .join("\n")
        }
        ConsoleCommand::Status => format!(
            "registered: {}, transactions: {}, approved payments: {}",
            control.is_registered(),
            control.journal().len(),
            control.approved_payments()
        ),
        ConsoleCommand::Help => HELP.into(),
    }
}

/// Runs the console on stdin until it closes.
pub async fn run(control: SimControl) {
    let mut lines = BufReader::new(tokio::io::stdin()).lines();
    println!("Simulated terminal console. {HELP}");
    while let Ok(Some(line)) = lines.next_line().await {
        if line.trim().is_empty() {
            continue;
        }
        match line.parse::<ConsoleCommand>() {
            Ok(cmd) => println!("{}", apply(&control, cmd)),
            Err(e) => println!("{e}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_console_commands() {
        assert_eq!(
            "approve".parse(),
            Ok(ConsoleCommand::Next(Outcome::Approve))
        );
        assert_eq!(
            "decline 33".parse(),
            Ok(ConsoleCommand::Next(Outcome::Decline { code: 0x33 }))
        );
        assert_eq!(
            "input 1234".parse(),
            Ok(ConsoleCommand::Input(Some("1234".into())))
        );
        assert_eq!("cancel".parse(), Ok(ConsoleCommand::Input(None)));
        assert_eq!(
            "fault nak:2".parse(),
            Ok(ConsoleCommand::Fault(Fault::Nak(2)))
        );
        assert!("input 12ab".parse::<ConsoleCommand>().is_err());
        assert!("partial -1".parse::<ConsoleCommand>().is_err());
        assert!("frobnicate".parse::<ConsoleCommand>().is_err());
    }
}
