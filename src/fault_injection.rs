//! Test-only switch for the crash harness's negative controls (`tests/crash_*.rs`).
//!
//! Compiled only with the `fault-injection` cargo feature, which test and example builds of
//! this package turn on through a self dev-dependency; a plain `cargo build` (and so every
//! release or package build) has no such code and ignores `LANE_AGENT_FAULT` entirely.

use crate::engine::Fault;

/// The environment variable the harness sets on the agent's process.
pub const ENV: &str = "LANE_AGENT_FAULT";

/// The fault named by `LANE_AGENT_FAULT` (`answer-before-commit`, `resend-in-doubt` or
/// `resend-card`).
///
/// # Panics
/// On any other non-empty value: a control run with a misspelt switch must not silently
/// run the correct build and "pass".
pub fn from_env() -> Option<Fault> {
    let value = std::env::var(ENV).ok()?;
    let fault = parse(&value).unwrap_or_else(|| panic!("{ENV}={value:?} is not a known fault"));
    if let Some(f) = fault {
        tracing::warn!(fault = ?f, "Fault injection switched on; test builds only.");
    }
    fault
}

fn parse(value: &str) -> Option<Option<Fault>> {
    match value.trim() {
        "" => Some(None),
        "answer-before-commit" => Some(Some(Fault::AnswerBeforeCommit)),
        "resend-in-doubt" => Some(Some(Fault::ResendInDoubt)),
        "resend-card" => Some(Some(Fault::ResendCard)),
        "resend-pos-start" => Some(Some(Fault::ResendPosStart)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_map_to_the_engine_switches() {
        assert_eq!(
            parse("answer-before-commit"),
            Some(Some(Fault::AnswerBeforeCommit))
        );
        assert_eq!(parse("resend-in-doubt"), Some(Some(Fault::ResendInDoubt)));
        assert_eq!(parse("resend-card"), Some(Some(Fault::ResendCard)));
        assert_eq!(parse(""), Some(None));
        assert_eq!(parse("resend"), None);
    }
}
