//! The reader's command language, shared by `--script FILE` and the interactive console.
//!
//! One command per line; `#` starts a comment:
//!
//! | command | effect |
//! |---|---|
//! | `swipe TRACKS` | send TRACKS as one swipe (e.g. `swipe ;6036001234567890=4912?`) |
//! | `gift DIGITS` | swipe a store gift card (tracks 1 and 2) |
//! | `bank` | swipe the bank test card 4111 1111 1111 1111 |
//! | `scan CODE` | scan CODE (with the configured prefix/suffix) |
//! | `member ID` | scan a member card `ID` |
//! | `half [TRACKS]` | a half read of TRACKS (default: a gift card) |
//! | `garbage N` / `flood N` | N garbage bytes, then a line end |
//! | `raw HEX` | send bytes given in hex (`raw 3b31323f0d0a`) |
//! | `unplug` / `replug` | pull the cable / plug it in again (new pty, link moved) |
//! | `wait MS` | pause (scripts only pace a demo; tests wait on events) |
//! | `quit` | stop the simulator |

use std::time::Duration;

use super::{SimReader, cards};

/// One parsed command.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Command {
    /// Swipe these tracks.
    Swipe(String),
    /// Swipe a gift card with this number.
    Gift(String),
    /// Swipe the bank test card.
    Bank,
    /// Scan this code.
    Scan(String),
    /// Scan a member card.
    Member(String),
    /// Half a swipe of these tracks.
    Half(String),
    /// This many garbage bytes.
    Garbage(usize),
    /// These bytes.
    Raw(Vec<u8>),
    /// Pull the cable.
    Unplug,
    /// Plug it in again.
    Replug,
    /// Pause.
    Wait(Duration),
    /// Stop.
    Quit,
}

/// A line that is not a command.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("line {line}: {reason}")]
pub struct ScriptError {
    /// 1-based line number.
    pub line: usize,
    /// What is wrong.
    pub reason: String,
}

/// Parses one line; `Ok(None)` for blank lines and comments.
///
/// # Errors
/// [`ScriptError`] naming the line for unknown commands or bad arguments.
pub fn parse_line(text: &str, line: usize) -> Result<Option<Command>, ScriptError> {
    let text = text.split('#').next().unwrap_or_default().trim();
    if text.is_empty() {
        return Ok(None);
    }
    let (word, rest) = text
        .split_once(char::is_whitespace)
        .map_or((text, ""), |(w, r)| (w, r.trim()));
    let error = |reason: &str| ScriptError {
        line,
        reason: reason.to_owned(),
    };
    let needs = |what: &str| {
        if rest.is_empty() {
            Err(error(&format!("`{word}` needs {what}")))
        } else {
            Ok(rest.to_owned())
        }
    };
    let number = || {
        rest.parse::<usize>()
            .map_err(|_| error(&format!("`{word}` needs a number")))
    };
    let command = match word {
        "swipe" => Command::Swipe(needs("tracks")?),
        "gift" => {
            let code = needs("a card number")?;
            if !code.bytes().all(|b| b.is_ascii_digit()) || code.len() > 19 {
                return Err(error("a gift card number is 1-19 digits"));
            }
            Command::Gift(code)
        }
        "bank" => Command::Bank,
        "scan" => Command::Scan(needs("a code")?),
        "member" => Command::Member(needs("an id")?),
        "half" => Command::Half(if rest.is_empty() {
            cards::gift_card_tracks("6036001234567890")
        } else {
            rest.to_owned()
        }),
        "garbage" | "flood" => Command::Garbage(number()?),
        "raw" => {
            let hex: String = rest.chars().filter(|c| !c.is_whitespace()).collect();
            if hex.is_empty() || !hex.len().is_multiple_of(2) {
                return Err(error("`raw` needs an even number of hex digits"));
            }
            let bytes = (0..hex.len())
                .step_by(2)
                .map(|i| u8::from_str_radix(&hex[i..i + 2], 16))
                .collect::<Result<Vec<_>, _>>()
                .map_err(|_| error("`raw` needs hex digits"))?;
            Command::Raw(bytes)
        }
        "unplug" => Command::Unplug,
        "replug" => Command::Replug,
        "wait" => Command::Wait(Duration::from_millis(number()? as u64)),
        "quit" | "exit" => Command::Quit,
        other => return Err(error(&format!("unknown command `{other}`"))),
    };
    Ok(Some(command))
}

/// `****` and the last 4 characters; `****` alone below 8 characters (a short code would
/// otherwise be shown whole).
fn masked(code: &str) -> String {
    let n = code.chars().count();
    if n < 8 {
        return "****".into();
    }
    format!("****{}", code.chars().skip(n - 4).collect::<String>())
}

/// The command in words for the live console. Card numbers, gift codes and member ids are
/// masked; track data is shown by length only.
pub fn describe(command: &Command) -> String {
    match command {
        Command::Swipe(tracks) => format!("swipe, {} bytes of track data", tracks.len()),
        Command::Gift(code) => format!("swipe gift card {}", masked(code)),
        Command::Bank => "swipe the bank test card (the agent must discard it)".into(),
        Command::Scan(code) => format!("scan item {code}"),
        Command::Member(id) => format!("scan member card {}", masked(id)),
        Command::Half(_) => "half a swipe (broken read)".into(),
        Command::Garbage(n) => format!("{n} garbage bytes"),
        Command::Raw(bytes) => format!("{} raw bytes", bytes.len()),
        Command::Unplug => "unplugged: link removed".into(),
        Command::Replug => "plugged in again: link moved to a new pty".into(),
        Command::Wait(d) => format!("wait {} ms", d.as_millis()),
        Command::Quit => "quit".into(),
    }
}

/// Parses a whole script, reporting every bad line.
///
/// # Errors
/// All [`ScriptError`]s found.
pub fn parse_script(text: &str) -> Result<Vec<Command>, Vec<ScriptError>> {
    let mut commands = Vec::new();
    let mut errors = Vec::new();
    for (index, line) in text.lines().enumerate() {
        match parse_line(line, index + 1) {
            Ok(Some(command)) => commands.push(command),
            Ok(None) => {}
            Err(error) => errors.push(error),
        }
    }
    if errors.is_empty() {
        Ok(commands)
    } else {
        Err(errors)
    }
}

/// Runs one command against `reader`. Returns `false` for [`Command::Quit`].
///
/// # Errors
/// The reader's I/O error (e.g. swiping while unplugged).
pub async fn execute(
    reader: &mut SimReader,
    command: &Command,
    seed: &mut u64,
) -> std::io::Result<bool> {
    match command {
        Command::Swipe(tracks) => reader.swipe(tracks).await?,
        Command::Gift(code) => reader.swipe(&cards::gift_card_tracks(code)).await?,
        Command::Bank => reader.swipe_bank_card().await?,
        Command::Scan(code) | Command::Member(code) => reader.scan(code).await?,
        Command::Half(tracks) => reader.swipe(&cards::half_swipe(tracks)).await?,
        Command::Garbage(len) => {
            *seed = seed.wrapping_add(1);
            reader.flood(*len, *seed).await?;
        }
        Command::Raw(bytes) => reader.send_raw(bytes).await?,
        Command::Unplug => reader.unplug().await?,
        Command::Replug => reader.replug().await?,
        Command::Wait(duration) => tokio::time::sleep(*duration).await,
        Command::Quit => return Ok(false),
    }
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_commands_and_reports_every_bad_line() {
        let script = "# demo\ngift 6036001234567890\nbank\nscan GC-1 # trailing comment\nraw 3b0d0a\nflood 100\nwait 5\n";
        let commands = parse_script(script).unwrap();
        assert_eq!(commands.len(), 6);
        assert_eq!(commands[3], Command::Raw(vec![0x3b, 0x0d, 0x0a]));
        let errors = parse_script("gift ABC\nfly\nraw 3\nbank\n").unwrap_err();
        assert_eq!(
            errors.iter().map(|e| e.line).collect::<Vec<_>>(),
            vec![1, 2, 3]
        );
    }

    #[test]
    fn descriptions_mask_codes() {
        assert_eq!(
            describe(&Command::Gift("6036001234567890".into())),
            "swipe gift card ****7890"
        );
        assert_eq!(
            describe(&Command::Member("AB12".into())),
            "scan member card ****"
        );
        let d = describe(&Command::Swipe(";6036001234567890=4912?".into()));
        assert!(!d.contains("60360012"), "{d}");
    }
}
