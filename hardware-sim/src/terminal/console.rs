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
//! help [CMD]              this text, or one command in detail
//! ```
//!
//! Unless `--quiet`, every event is shown as one line as it happens (connection, each APDU
//! in words, NAKs, time-outs, faults), or as one JSON object per line with `--json`.

use std::io::Write;

use rust_decimal::Decimal;
use tokio::io::{AsyncBufReadExt, BufReader};

use super::{
    control::{SimControl, SimEvent},
    fault::Fault,
    script::Outcome,
};
use crate::zvtlog;

/// The console's help text.
pub const HELP: &str = "\
approve | decline [CODE] | partial AMOUNT | input DIGITS | cancel | card TRACK |
fault nak:N|bad-crc:N|byte-gap:MS|garbage:TEXT|silence|drop-after-approval|
      drop-before-status|reboot |
drop | reboot | journal | status | help [CMD]";

/// Detailed help per command, for `help CMD`.
const DETAILS: &[(&str, &str)] = &[
    (
        "approve",
        "approve: the next payment, reservation or booking is approved whatever the rules say.",
    ),
    (
        "decline",
        "decline [CODE]: the next financial command is declined with CODE (hex, default 05);\n  the ECR sees 04 0F with BMP 27 = CODE, then 06 1E.",
    ),
    (
        "partial",
        "partial AMOUNT: the next payment is approved for AMOUNT only (e.g. partial 5.00).",
    ),
    (
        "input",
        "input DIGITS: answers the pending numeric-input prompt (06 E2), or the next one, with\n  DIGITS; the ECR gets them in BMP 3C of the 06 0F. The console never echoes them.",
    ),
    (
        "cancel",
        "cancel: the customer cancels the pending (or next) prompt; the ECR gets 06 1E 6C.",
    ),
    (
        "card",
        "card TRACK: the next Read Card (06 C0) returns TRACK as track 2, e.g.\n  card 6280009999000000017=4912",
    ),
    (
        "fault",
        "fault SPEC: the next command meets a fault. SPEC is one of\n  nak:N (NAK the next N frames, serial), bad-crc:N (corrupt our next N CRCs, serial),\n  byte-gap:MS (pause MS inside our next frame, serial), garbage:TEXT (stray bytes first),\n  silence (no answer), drop-after-approval, drop-before-status, reboot.",
    ),
    (
        "drop",
        "drop: drops the link now (TCP: closes the socket; pty: replaces the pty).",
    ),
    (
        "reboot",
        "reboot: reboots now; the journal is kept, the ECR must register again.",
    ),
    (
        "journal",
        "journal: lists every transaction with receipt, trace, amount and result.",
    ),
    (
        "status",
        "status: registration state, number of transactions and approved payments.",
    ),
    (
        "help",
        "help [CMD]: the command list, or one command in detail.",
    ),
];

/// The detailed help of one command.
pub fn help_on(cmd: &str) -> String {
    DETAILS
        .iter()
        .find(|(name, _)| *name == cmd)
        .map(|(_, text)| (*text).to_owned())
        .unwrap_or_else(|| format!("no command {cmd:?}; {HELP}"))
}

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
    /// Print one command's help.
    HelpOn(String),
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
            ("help", Some(c)) => Self::HelpOn(c.to_owned()),
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
        ConsoleCommand::HelpOn(c) => help_on(&c),
    }
}

/// One event in words, or `None` for events another line already tells.
pub fn event_words(control: &SimControl, event: &SimEvent) -> Option<String> {
    Some(match event {
        SimEvent::LinkUp => "link up: ECR connected / pty ready".into(),
        SimEvent::LinkDropped => "link dropped".into(),
        SimEvent::Rebooted => "terminal rebooted: registration lost".into(),
        SimEvent::Command(_) | SimEvent::Done(_) => return None,
        SimEvent::Registered => "ECR registered".into(),
        SimEvent::Refused(c, code) => {
            format!("refused {:02X} {:02X} with code {code:02X}", c[0], c[1])
        }
        SimEvent::Transaction(i) => {
            let e = control.journal().get(*i).cloned()?;
            format!(
                "journal: receipt {} trace {} {:?} {} {} {} card {}",
                e.receipt,
                e.trace,
                e.kind,
                e.amount,
                zvt::apdu::currency::label(control.currency()),
                if e.approved() {
                    "approved".to_owned()
                } else {
                    format!("declined {:02X}", e.result)
                },
                last4(&e.masked_pan)
            )
        }
        SimEvent::Display(lines) => format!("display \"{}\"", lines.join(" / ")),
        SimEvent::InputPrompt => "waiting for numeric input (input DIGITS | cancel)".into(),
        SimEvent::Fault(f) => format!("fault injected: {f}"),
        SimEvent::Apdu(dir, apdu) => zvtlog::describe(*dir, apdu),
        SimEvent::Nak { sent: true } => "NAK sent: bad frame from the ECR".into(),
        SimEvent::Nak { sent: false } => "NAK received from the ECR: repeating the frame".into(),
        SimEvent::AckTimeout => "timeout: no acknowledgement from the ECR".into(),
    })
}

/// `****` and the last 4 digits, whatever the length of the card number.
fn last4(pan: &str) -> String {
    let n = pan.chars().count();
    format!(
        "****{}",
        pan.chars().skip(n.saturating_sub(4)).collect::<String>()
    )
}

fn event_kind(event: &SimEvent) -> &'static str {
    match event {
        SimEvent::LinkUp => "link_up",
        SimEvent::LinkDropped => "link_dropped",
        SimEvent::Rebooted => "rebooted",
        SimEvent::Command(_) => "command",
        SimEvent::Done(_) => "done",
        SimEvent::Registered => "registered",
        SimEvent::Refused(..) => "refused",
        SimEvent::Transaction(_) => "transaction",
        SimEvent::Display(_) => "display",
        SimEvent::InputPrompt => "input_prompt",
        SimEvent::Fault(_) => "fault",
        SimEvent::Apdu(..) => "apdu",
        SimEvent::Nak { .. } => "nak",
        SimEvent::AckTimeout => "ack_timeout",
    }
}

/// One event as a JSON object (`ts`, `event`, `text`; APDUs add `dir` and `control`).
pub fn event_json(control: &SimControl, event: &SimEvent) -> Option<serde_json::Value> {
    let text = event_words(control, event)?;
    let mut v = serde_json::json!({
        "ts": chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        "event": event_kind(event),
        "text": text,
    });
    if let SimEvent::Apdu(dir, apdu) = event {
        let [c, i] = apdu.control();
        v["dir"] = serde_json::to_value(dir).ok()?;
        v["control"] = format!("{c:02X} {i:02X}").into();
    }
    Some(v)
}

/// Prints events as they happen until the terminal stops: one line each, or JSON lines.
/// Write errors (a closed stdout) are ignored: the terminal keeps serving.
pub async fn print_events(
    control: SimControl,
    mut events: tokio::sync::broadcast::Receiver<SimEvent>,
    json: bool,
) {
    use tokio::sync::broadcast::error::RecvError;
    loop {
        let event = match events.recv().await {
            Ok(e) => e,
            Err(RecvError::Lagged(n)) => {
                let _ = writeln!(std::io::stdout().lock(), "({n} events not shown)");
                continue;
            }
            Err(RecvError::Closed) => return,
        };
        let line = if json {
            event_json(&control, &event).map(|v| v.to_string())
        } else {
            event_words(&control, &event)
                .map(|w| format!("{} {w}", chrono::Local::now().format("%H:%M:%S%.3f")))
        };
        if let Some(line) = line {
            let mut out = std::io::stdout().lock();
            let _ = writeln!(out, "{line}");
            let _ = out.flush();
        }
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
        assert_eq!(
            "help fault".parse(),
            Ok(ConsoleCommand::HelpOn("fault".into()))
        );
        assert!(help_on("fault").contains("nak:N"));
        assert!(help_on("input").contains("BMP 3C"));
        assert!(help_on("nope").contains("no command"));
        for (name, _) in DETAILS {
            assert!(HELP.contains(name), "{name} missing from the command list");
        }
    }
}
