//! The simulator's configuration and scenario script (`--script FILE`, TOML).
//!
//! A script has three parts, all optional:
//!
//! ```toml
//! [terminal]                       # how the simulated PT behaves
//! password = "000000"              # registration / admin password (6 digits)
//! terminal_id = "52500001"         # BMP 29 (8 digits)
//! default_input = "cancel"         # numeric input answer: "cancel" or digits
//! gift_track = "6280001234567890123=4912"   # track 2 returned by Read Card (06 C0)
//! banner = "VENDOR-PT v1.0\r\n"     # bytes sent once on every new connection
//! wait_for_input = false           # keep prompts open for typed input or an ECR abort
//! t3_ms = 5000                     # PT side: wait for the ECR's ACK before repeating
//! inter_byte_ms = 1000             # PT side: gap that breaks a frame being received
//!
//! [rules]                          # approve or decline when no step decides
//! decline_over = "500.00"          # amounts above this are declined (result 0x05)
//! approve_up_to = "200.00"         # partial approval: approve at most this amount
//!
//! [[cards]]                        # the card the customer presents (first = default)
//! pan = "6799998900000000019"      # invented test numbers only; sent masked
//! name = "girocard"
//! card_type = 5
//! decline_code = 0x33              # optional: this card is always declined
//!
//! [[steps]]                        # consumed in order by the next matching command
//! on = "payment"                   # payment | reservation | booking | reversal | input | card | any
//! outcome = "approve"              # approve | decline | partial
//! decline_code = 0x05
//! amount = "10.00"                 # for "partial": the approved amount
//! card = 1                         # index into [[cards]]
//! input = "1234"                   # for "input": the digits typed (absent = cancel)
//! track = "6280009999000000017=4912"  # for "card": the track returned
//! faults = ["nak:3", "bad-crc:1", "byte-gap:1500", "silence", "drop-after-approval", "reboot"]
//! ```

use std::{path::Path, time::Duration};

use rust_decimal::Decimal;
use serde::Deserialize;

use super::fault::Fault;

/// Errors reading or validating a script.
#[derive(Debug, thiserror::Error)]
pub enum ScriptError {
    /// The file could not be read.
    #[error("cannot read script {path}: {source}")]
    Read {
        /// The script's path.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The TOML is malformed or has unknown keys.
    #[error("script syntax: {0}")]
    Syntax(#[from] toml::de::Error),
    /// One or more values are invalid; every problem is listed with its key path.
    #[error("invalid script: {}", .0.join("; "))]
    Invalid(Vec<String>),
}

/// What the PT does with a financial command when no step decides.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Approve the full amount.
    Approve,
    /// Decline with this result code (BMP 27 / 06 1E byte).
    Decline {
        /// ZVT result code, e.g. 0x05 "declined".
        code: u8,
    },
    /// Approve only part of the amount.
    Partial {
        /// The approved amount.
        amount: Decimal,
    },
}

/// The command kinds a [`Step`] can be bound to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum StepOn {
    /// Any command that the PT runs.
    #[default]
    Any,
    /// Authorization 06 01.
    Payment,
    /// Reservation 06 22.
    Reservation,
    /// Book total 06 24, partial reversal 06 23, pre-auth reversal 06 25.
    Booking,
    /// Reversal 06 30.
    Reversal,
    /// Refund 06 31.
    Refund,
    /// Display text with numeric input 06 E2.
    Input,
    /// Read card 06 C0.
    Card,
    /// End of day 06 50.
    EndOfDay,
}

/// A test card the simulated customer presents.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TestCard {
    /// The card number (invented test numbers only); only sent masked.
    pub pan: String,
    /// Card name (BMP 8B).
    pub name: String,
    /// ZVT card type (BMP 8A).
    pub card_type: u8,
    /// When set, this card is always declined with this code.
    pub decline_code: Option<u8>,
}

impl Default for TestCard {
    fn default() -> Self {
        Self {
            pan: "6799998900000000019".into(),
            name: "girocard".into(),
            card_type: 5,
            decline_code: None,
        }
    }
}

/// One scripted step, consumed by the next command matching `on`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Step {
    /// Which command consumes the step.
    pub on: StepOn,
    /// Outcome for a financial command; `None` = use the rules.
    pub outcome: Option<Outcome>,
    /// Index into the card list.
    pub card: Option<usize>,
    /// Numeric input typed by the customer; `None` = cancel.
    pub input: Option<String>,
    /// Track returned by Read Card.
    pub track: Option<String>,
    /// Faults injected while this command runs.
    pub faults: Vec<Fault>,
}

/// Amount rules used when no step or console override decides.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Rules {
    /// Amounts strictly above this are declined with 0x05.
    pub decline_over: Option<Decimal>,
    /// Amounts above this are partially approved up to it.
    pub approve_up_to: Option<Decimal>,
}

impl Rules {
    /// The outcome for `amount` presented with `card`.
    pub fn decide(&self, amount: Decimal, card: &TestCard) -> Outcome {
        if let Some(code) = card.decline_code {
            return Outcome::Decline { code };
        }
        if self.decline_over.is_some_and(|max| amount > max) {
            return Outcome::Decline { code: 0x05 };
        }
        match self.approve_up_to {
            Some(cap) if amount > cap => Outcome::Partial { amount: cap },
            _ => Outcome::Approve,
        }
    }
}

/// How the PT answers a numeric-input prompt when nobody decides.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum DefaultInput {
    /// The customer presses cancel (the default, so unattended runs never hang).
    #[default]
    Cancel,
    /// The customer types these digits.
    Digits(String),
}

impl std::str::FromStr for DefaultInput {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.eq_ignore_ascii_case("cancel") {
            Ok(Self::Cancel)
        } else if !s.is_empty() && s.len() <= 20 && s.bytes().all(|b| b.is_ascii_digit()) {
            Ok(Self::Digits(s.to_owned()))
        } else {
            Err(format!("expected \"cancel\" or 1-20 digits, got {s:?}"))
        }
    }
}

/// The simulated terminal's settings.
#[derive(Debug, Clone)]
pub struct SimTerminalConfig {
    /// Registration and admin password, 6 digits.
    pub password: String,
    /// Terminal id (BMP 29), 8 digits.
    pub terminal_id: String,
    /// Answer to numeric input when no step or technician answers.
    pub default_input: DefaultInput,
    /// Track 2 returned by Read Card when no step or technician gives one.
    pub gift_track: String,
    /// Bytes sent once on every new connection (a vendor banner).
    pub banner: Option<Vec<u8>>,
    /// How long the PT waits for the ECR's link ACK before repeating a frame.
    pub t3: Duration,
    /// A gap longer than this inside a frame being received breaks the frame.
    pub inter_byte: Duration,
    /// How long the PT waits for the ECR's `80 00 00` before giving up a command.
    pub ack_timeout: Duration,
    /// Keep numeric-input prompts open (up to their duration, default 60 s) for
    /// [`super::SimControl::type_input`] or an ECR abort, as with a console attached.
    pub wait_for_input: bool,
    /// Amount rules.
    pub rules: Rules,
    /// The cards the customer may present; never empty.
    pub cards: Vec<TestCard>,
    /// Scripted steps, consumed in order.
    pub steps: Vec<Step>,
}

impl Default for SimTerminalConfig {
    fn default() -> Self {
        Self {
            password: "000000".into(),
            terminal_id: "52500001".into(),
            default_input: DefaultInput::Cancel,
            gift_track: "6280001234567890123=4912".into(),
            banner: None,
            t3: Duration::from_secs(5),
            inter_byte: Duration::from_secs(1),
            ack_timeout: Duration::from_secs(5),
            wait_for_input: false,
            rules: Rules::default(),
            cards: vec![TestCard::default()],
            steps: Vec::new(),
        }
    }
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawScript {
    #[serde(default)]
    terminal: RawTerminal,
    #[serde(default)]
    rules: RawRules,
    #[serde(default)]
    cards: Vec<RawCard>,
    #[serde(default)]
    steps: Vec<RawStep>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawTerminal {
    password: Option<String>,
    terminal_id: Option<String>,
    default_input: Option<String>,
    gift_track: Option<String>,
    banner: Option<String>,
    t3_ms: Option<u64>,
    inter_byte_ms: Option<u64>,
    ack_timeout_ms: Option<u64>,
    wait_for_input: Option<bool>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawRules {
    decline_over: Option<String>,
    approve_up_to: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCard {
    pan: String,
    name: Option<String>,
    card_type: Option<u8>,
    decline_code: Option<u8>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawStep {
    #[serde(default)]
    on: StepOn,
    outcome: Option<String>,
    decline_code: Option<u8>,
    amount: Option<String>,
    card: Option<usize>,
    input: Option<String>,
    track: Option<String>,
    #[serde(default)]
    faults: Vec<String>,
}

fn digits(s: &str, len: usize) -> bool {
    s.len() == len && s.bytes().all(|b| b.is_ascii_digit())
}

fn amount(key: &str, s: &str, problems: &mut Vec<String>) -> Option<Decimal> {
    match s.parse::<Decimal>() {
        Ok(d) if d >= Decimal::ZERO && d.scale() <= 2 => Some(d),
        _ => {
            problems.push(format!(
                "{key}: expected a decimal amount like \"12.34\", got {s:?}"
            ));
            None
        }
    }
}

impl SimTerminalConfig {
    /// Reads and validates a script file.
    pub fn from_file(path: &Path) -> Result<Self, ScriptError> {
        let text = std::fs::read_to_string(path).map_err(|source| ScriptError::Read {
            path: path.display().to_string(),
            source,
        })?;
        Self::from_toml(&text)
    }

    /// Parses and validates a script; every problem is reported with its key path.
    pub fn from_toml(text: &str) -> Result<Self, ScriptError> {
        let raw: RawScript = toml::from_str(text)?;
        let mut cfg = Self::default();
        let mut problems = Vec::new();
        let t = raw.terminal;
        if let Some(p) = t.password {
            if digits(&p, 6) {
                cfg.password = p;
            } else {
                problems.push("terminal.password: expected 6 digits".into());
            }
        }
        if let Some(id) = t.terminal_id {
            if digits(&id, 8) {
                cfg.terminal_id = id;
            } else {
                problems.push("terminal.terminal_id: expected 8 digits".into());
            }
        }
        if let Some(d) = t.default_input {
            match d.parse() {
                Ok(d) => cfg.default_input = d,
                Err(e) => problems.push(format!("terminal.default_input: {e}")),
            }
        }
        if let Some(g) = t.gift_track {
            cfg.gift_track = g;
        }
        cfg.banner = t.banner.map(String::into_bytes);
        if let Some(ms) = t.t3_ms {
            cfg.t3 = Duration::from_millis(ms);
        }
        if let Some(ms) = t.inter_byte_ms {
            cfg.inter_byte = Duration::from_millis(ms);
        }
        if let Some(ms) = t.ack_timeout_ms {
            cfg.ack_timeout = Duration::from_millis(ms);
        }
        if let Some(w) = t.wait_for_input {
            cfg.wait_for_input = w;
        }
        if let Some(a) = raw.rules.decline_over {
            cfg.rules.decline_over = amount("rules.decline_over", &a, &mut problems);
        }
        if let Some(a) = raw.rules.approve_up_to {
            cfg.rules.approve_up_to = amount("rules.approve_up_to", &a, &mut problems);
        }
        if !raw.cards.is_empty() {
            cfg.cards.clear();
        }
        for (i, c) in raw.cards.into_iter().enumerate() {
            if !(12..=19).contains(&c.pan.len()) || !c.pan.bytes().all(|b| b.is_ascii_digit()) {
                problems.push(format!("cards[{i}].pan: expected 12-19 digits"));
            }
            cfg.cards.push(TestCard {
                pan: c.pan,
                name: c.name.unwrap_or_else(|| "card".into()),
                card_type: c.card_type.unwrap_or(5),
                decline_code: c.decline_code,
            });
        }
        for (i, s) in raw.steps.into_iter().enumerate() {
            let key = format!("steps[{i}]");
            let outcome = match s.outcome.as_deref() {
                None => None,
                Some("approve") => Some(Outcome::Approve),
                Some("decline") => Some(Outcome::Decline {
                    code: s.decline_code.unwrap_or(0x05),
                }),
                Some("partial") => match s.amount.as_deref() {
                    Some(a) => amount(&format!("{key}.amount"), a, &mut problems)
                        .map(|amount| Outcome::Partial { amount }),
                    None => {
                        problems.push(format!("{key}.amount: required with outcome \"partial\""));
                        None
                    }
                },
                Some(other) => {
                    problems.push(format!(
                        "{key}.outcome: expected approve|decline|partial, got {other:?}"
                    ));
                    None
                }
            };
            if let Some(c) = s.card
                && c >= cfg.cards.len()
            {
                problems.push(format!("{key}.card: no card with index {c}"));
            }
            if let Some(input) = &s.input
                && (input.is_empty() || !input.bytes().all(|b| b.is_ascii_digit()))
            {
                problems.push(format!("{key}.input: expected digits"));
            }
            let mut faults = Vec::new();
            for (j, f) in s.faults.iter().enumerate() {
                match f.parse::<Fault>() {
                    Ok(f) => faults.push(f),
                    Err(e) => problems.push(format!("{key}.faults[{j}]: {e}")),
                }
            }
            cfg.steps.push(Step {
                on: s.on,
                outcome,
                card: s.card,
                input: s.input,
                track: s.track,
                faults,
            });
        }
        if problems.is_empty() {
            Ok(cfg)
        } else {
            Err(ScriptError::Invalid(problems))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_full_script() {
        let cfg = SimTerminalConfig::from_toml(
            r#"
            [terminal]
            password = "123456"
            default_input = "4711"
            [rules]
            decline_over = "500.00"
            [[cards]]
            pan = "6799998900000000019"
            [[steps]]
            on = "payment"
            outcome = "decline"
            decline_code = 0x33
            faults = ["nak:2", "drop-after-approval"]
            "#,
        )
        .unwrap();
        assert_eq!(cfg.password, "123456");
        assert_eq!(cfg.default_input, DefaultInput::Digits("4711".into()));
        assert_eq!(cfg.steps[0].outcome, Some(Outcome::Decline { code: 0x33 }));
        assert_eq!(
            cfg.steps[0].faults,
            vec![Fault::Nak(2), Fault::DropAfterApproval]
        );
    }

    #[test]
    fn reports_every_problem_with_its_key() {
        let err = SimTerminalConfig::from_toml(
            r#"
            [terminal]
            password = "12"
            [[steps]]
            outcome = "maybe"
            faults = ["explode"]
            "#,
        )
        .unwrap_err();
        let ScriptError::Invalid(problems) = err else {
            panic!("{err}")
        };
        assert_eq!(problems.len(), 3, "{problems:?}");
        assert!(problems[0].starts_with("terminal.password"));
        assert!(problems[1].starts_with("steps[0].outcome"));
        assert!(problems[2].starts_with("steps[0].faults[0]"));
    }

    #[test]
    fn rules_decide_by_amount_and_card() {
        let rules = Rules {
            decline_over: Some("100".parse().unwrap()),
            approve_up_to: Some("50".parse().unwrap()),
        };
        let card = TestCard::default();
        assert_eq!(rules.decide("10".parse().unwrap(), &card), Outcome::Approve);
        assert_eq!(
            rules.decide("60".parse().unwrap(), &card),
            Outcome::Partial {
                amount: "50".parse().unwrap()
            }
        );
        assert_eq!(
            rules.decide("101".parse().unwrap(), &card),
            Outcome::Decline { code: 5 }
        );
        let bad = TestCard {
            decline_code: Some(0x78),
            ..TestCard::default()
        };
        assert_eq!(
            rules.decide("1".parse().unwrap(), &bad),
            Outcome::Decline { code: 0x78 }
        );
    }
}
