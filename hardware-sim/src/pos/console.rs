//! The technicians' console of `hardware-sim pos`: one command per line on stdin (offered
//! when stdin is a terminal and no `--script` is given).
//!
//! ```text
//! fault <target> <kind> [times]   arm a fault; target: any | token | <operation>
//!                                 kind: refuse | fusion | noauth | drop | http=<status> | latency=<ms>
//! faults                          list armed faults
//! clear                           disarm every fault
//! offline | online                refuse connections / serve again
//! advance <secs>                  advance the clock (runs the Delay Period task)
//! ledger                          purchases, gift-card and terminal transactions, balances
//! terminal <id> <approve|decline REASON…|partial AMOUNT|busy|offline|cancel|timeout> [delay=MS]
//!                                 what the cardholder does with the next payment there
//! terminal <id> online|down       processor terminal reachable or not (TERMINAL_OFFLINE)
//! help | quit
//! ```

use std::time::Duration;

use super::faults::{Fault, FaultKind, FaultTarget};

/// One console command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// `fault …`: arm a fault.
    Inject(Fault),
    /// `faults`: list armed faults.
    Faults,
    /// `clear`: disarm all faults.
    Clear,
    /// `online` / `offline`.
    Online(bool),
    /// `advance SECS`.
    Advance(Duration),
    /// `ledger`: print what was recorded.
    Ledger,
    /// `terminal ID OUTCOME`: the next cardholder action on a processor terminal.
    TerminalStep(super::terminals::TerminalStep),
    /// `terminal ID online|down`.
    TerminalOnline(String, bool),
    /// `help`.
    Help,
    /// `quit`.
    Quit,
}

/// One-line usage.
pub const HELP: &str = "commands: fault <any|token|OPERATION> <refuse|fusion|noauth|drop|http=STATUS|latency=MS> [times] | faults | clear | offline | online | advance SECS | ledger | terminal ID <approve|decline REASON|partial AMOUNT|busy|offline|cancel|timeout> [delay=MS] | terminal ID online|down | help | quit";

/// Parses one line; the error says what is wrong.
pub fn parse(line: &str) -> Result<Command, String> {
    let words: Vec<&str> = line.split_whitespace().collect();
    match words.as_slice() {
        ["fault", target, kind, rest @ ..] => {
            let target = match *target {
                "any" => FaultTarget::Any,
                "token" => FaultTarget::Token,
                op => FaultTarget::Operation(op.to_owned()),
            };
            let kind = parse_kind(kind)?;
            let times = match rest {
                [] => None,
                [n] => Some(
                    n.parse()
                        .map_err(|_| format!("times must be a number: {n}"))?,
                ),
                _ => return Err("too many words after the fault kind".into()),
            };
            Ok(Command::Inject(Fault {
                target,
                kind,
                times,
            }))
        }
        ["faults"] => Ok(Command::Faults),
        ["clear"] => Ok(Command::Clear),
        ["offline"] => Ok(Command::Online(false)),
        ["online"] => Ok(Command::Online(true)),
        ["advance", secs] => secs
            .parse()
            .map(|s| Command::Advance(Duration::from_secs(s)))
            .map_err(|_| format!("seconds must be a number: {secs}")),
        ["ledger"] => Ok(Command::Ledger),
        ["terminal", id, "online"] => Ok(Command::TerminalOnline((*id).to_owned(), true)),
        ["terminal", id, "down"] => Ok(Command::TerminalOnline((*id).to_owned(), false)),
        ["terminal", id, rest @ ..] => terminal_step(id, rest),
        ["help"] | ["?"] => Ok(Command::Help),
        ["quit"] | ["exit"] => Ok(Command::Quit),
        _ => Err(format!("unknown command; {HELP}")),
    }
}

fn terminal_step(id: &str, words: &[&str]) -> Result<Command, String> {
    use super::terminals::{TerminalOutcome, TerminalStep};
    let (delay_ms, words) = match words.split_last() {
        Some((last, rest)) if last.starts_with("delay=") => (
            Some(
                last["delay=".len()..]
                    .parse::<u64>()
                    .map_err(|_| format!("not a number in {last}"))?,
            ),
            rest,
        ),
        _ => (None, words),
    };
    let outcome = match words {
        ["approve"] => TerminalOutcome::Approve,
        ["decline", reason @ ..] if !reason.is_empty() => TerminalOutcome::Decline {
            reason: reason.join(" "),
        },
        ["partial", amount] => TerminalOutcome::Partial {
            amount: amount
                .parse()
                .map_err(|_| format!("not an amount: {amount}"))?,
        },
        ["busy"] => TerminalOutcome::Busy,
        ["offline"] => TerminalOutcome::Offline,
        ["cancel"] => TerminalOutcome::Cancel,
        ["timeout"] => TerminalOutcome::Timeout,
        _ => return Err(format!("unknown terminal outcome; {HELP}")),
    };
    Ok(Command::TerminalStep(TerminalStep {
        terminal: id.to_owned(),
        outcome,
        delay_ms,
    }))
}

fn parse_kind(word: &str) -> Result<FaultKind, String> {
    let number = |v: &str| {
        v.parse::<u64>()
            .map_err(|_| format!("not a number in {word}"))
    };
    match word.split_once('=') {
        None => match word {
            "refuse" => Ok(FaultKind::Refuse),
            "fusion" => Ok(FaultKind::FusionError),
            "noauth" => Ok(FaultKind::NotAuthenticated),
            "drop" => Ok(FaultKind::ApplyThenDrop),
            _ => Err(format!("unknown fault kind {word}")),
        },
        Some(("http", v)) => {
            let status = number(v)?;
            match u16::try_from(status) {
                Ok(s) if (100..=599).contains(&s) => Ok(FaultKind::HttpStatus(s)),
                _ => Err(format!("not an HTTP status: {v}")),
            }
        }
        Some(("latency", v)) => Ok(FaultKind::Latency(Duration::from_millis(number(v)?))),
        _ => Err(format!("unknown fault kind {word}")),
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        #[test]
        fn parsing_never_panics(line in ".{0,60}") {
            let _ = parse(&line);
        }
    }

    #[test]
    fn commands_parse() {
        assert_eq!(
            parse("fault purchaseAdd drop 2").unwrap(),
            Command::Inject(Fault {
                target: FaultTarget::Operation("purchaseAdd".into()),
                kind: FaultKind::ApplyThenDrop,
                times: Some(2),
            })
        );
        assert_eq!(
            parse(" fault any latency=1500 ").unwrap(),
            Command::Inject(Fault {
                target: FaultTarget::Any,
                kind: FaultKind::Latency(Duration::from_millis(1500)),
                times: None,
            })
        );
        assert_eq!(
            parse("fault token http=503 1").unwrap(),
            Command::Inject(Fault {
                target: FaultTarget::Token,
                kind: FaultKind::HttpStatus(503),
                times: Some(1),
            })
        );
        assert_eq!(parse("offline").unwrap(), Command::Online(false));
        assert_eq!(
            parse("advance 900").unwrap(),
            Command::Advance(Duration::from_secs(900))
        );
    }

    #[test]
    fn bad_lines_are_explained() {
        for bad in [
            "",
            "fault",
            "fault any",
            "fault any boom",
            "fault any http=99",
            "fault any http=x",
            "fault any drop x",
            "fault any drop 1 2",
            "advance soon",
            "launch",
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }
}

#[cfg(test)]
mod terminal_tests {
    use super::*;
    use crate::pos::terminals::{TerminalOutcome, TerminalStep};

    #[test]
    fn terminal_commands_parse() {
        assert_eq!(
            parse("terminal FORTIS-T-0042 decline Insufficient funds delay=500"),
            Ok(Command::TerminalStep(TerminalStep {
                terminal: "FORTIS-T-0042".into(),
                outcome: TerminalOutcome::Decline {
                    reason: "Insufficient funds".into()
                },
                delay_ms: Some(500),
            }))
        );
        assert_eq!(
            parse("terminal T partial 4.00"),
            Ok(Command::TerminalStep(TerminalStep {
                terminal: "T".into(),
                outcome: TerminalOutcome::Partial {
                    amount: "4.00".parse().unwrap()
                },
                delay_ms: None,
            }))
        );
        assert_eq!(
            parse("terminal T down"),
            Ok(Command::TerminalOnline("T".into(), false))
        );
        assert!(parse("terminal T partial x").is_err());
        assert!(parse("terminal T decline").is_err());
    }

    #[test]
    fn scripts_queue_terminal_steps() {
        let s = crate::pos::Script::from_toml_str(
            r#"
[[terminal_step]]
terminal = "FORTIS-T-0042"
outcome = "partial"
amount = "4.00"

[[terminal_step]]
terminal = "FORTIS-T-0042"
outcome = "cancel"
delay_ms = 2000
"#,
        )
        .unwrap();
        assert_eq!(s.terminal_steps.len(), 2);
        assert_eq!(s.terminal_steps[1].outcome, TerminalOutcome::Cancel);
        assert_eq!(s.terminal_steps[1].delay_ms, Some(2000));
    }
}
