//! Fault injection: what can go wrong between the lane and the POS cloud.
//!
//! Faults are armed from tests ([`SimControl::inject`](super::SimControl::inject)), from a
//! `--script` file or through `POST /_sim/faults`. Each request takes at most one fault:
//! the first armed fault whose target matches. A fault with `times` is used up after that
//! many requests; without it, it stays until cleared.

use std::sync::Mutex;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// One armed fault.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Fault {
    /// Which requests it hits.
    pub target: FaultTarget,
    /// What happens to them.
    pub kind: FaultKind,
    /// How many requests it hits; `None` = until cleared.
    #[serde(default)]
    pub times: Option<u32>,
}

/// Which requests a fault hits.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FaultTarget {
    /// Every GraphQL request (not the token endpoint).
    Any,
    /// GraphQL requests with this root field (e.g. `"purchaseAdd"`) or `operationName`.
    Operation(String),
    /// The token endpoint (`POST /connect/token`).
    Token,
}

/// What a fault does to a request it hits.
///
/// | kind | GraphQL request | token request |
/// |---|---|---|
/// | `Latency(d)` | waits `d`, then runs normally (a client that timed out sees a late commit) | same |
/// | `HttpStatus(s)`, `s` ≥ 500 | **runs the operation**, then answers status `s` | answers `s` without issuing |
/// | `HttpStatus(s)`, `s` < 500 | answers status `s`, nothing applied | same |
/// | `Refuse` | closes the connection (reset) before anything runs | same |
/// | `FusionError` | HTTP 200, `FUSION_ERROR`, nothing applied | HTTP 500 `server_error` |
/// | `NotAuthenticated` | HTTP 200, `NOT_AUTHENTICATED`, nothing applied | HTTP 401 `invalid_client` |
/// | `ApplyThenDrop` | **runs the operation**, then resets the connection without answering | issues a token, then resets |
///
/// A refused TCP *connect* (nothing listening) is [`SimControl::set_online`](super::SimControl::set_online)
/// (`false`), or an `[[outage]]` in a script.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FaultKind {
    /// Delay before handling (serialised as milliseconds: `{"latency_ms": 1500}`).
    #[serde(rename = "latency_ms", with = "millis")]
    Latency(Duration),
    /// Answer with this HTTP status.
    HttpStatus(u16),
    /// Reset the connection before handling.
    Refuse,
    /// Answer `FUSION_ERROR`.
    FusionError,
    /// Answer `NOT_AUTHENTICATED` whatever the token.
    NotAuthenticated,
    /// Apply the operation, then reset the connection instead of answering.
    ApplyThenDrop,
}

mod millis {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        u64::deserialize(d).map(Duration::from_millis)
    }
}

/// What a request looks like to the fault matcher.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Hit<'a> {
    /// A GraphQL request with these root fields and `operationName`.
    Graphql {
        operations: &'a [String],
        operation_name: Option<&'a str>,
    },
    /// A token request.
    Token,
}

impl FaultTarget {
    fn matches(&self, hit: Hit<'_>) -> bool {
        match (self, hit) {
            (FaultTarget::Any, Hit::Graphql { .. }) => true,
            (FaultTarget::Token, Hit::Token) => true,
            (
                FaultTarget::Operation(name),
                Hit::Graphql {
                    operations,
                    operation_name,
                },
            ) => operations.iter().any(|o| o == name) || operation_name == Some(name.as_str()),
            _ => false,
        }
    }
}

/// The armed faults.
#[derive(Debug, Default)]
pub(crate) struct FaultTable {
    armed: Mutex<Vec<Fault>>,
}

impl FaultTable {
    pub(crate) fn inject(&self, fault: Fault) {
        if fault.times == Some(0) {
            return;
        }
        self.lock().push(fault);
    }

    pub(crate) fn clear(&self) {
        self.lock().clear();
    }

    pub(crate) fn list(&self) -> Vec<Fault> {
        self.lock().clone()
    }

    /// Takes the first fault matching `hit`, using up one of its `times`.
    pub(crate) fn take(&self, hit: Hit<'_>) -> Option<FaultKind> {
        let mut armed = self.lock();
        let index = armed.iter().position(|f| f.target.matches(hit))?;
        let kind = armed[index].kind.clone();
        if let Some(times) = &mut armed[index].times {
            *times -= 1;
            if *times == 0 {
                armed.remove(index);
            }
        }
        Some(kind)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Fault>> {
        // A panic while holding this lock leaves a plain Vec behind, which is still usable.
        self.armed.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// A `--script` file: faults armed at start and timed outages.
///
/// ```toml
/// [[fault]]
/// target = { operation = "purchaseAdd" }
/// kind = "apply_then_drop"
/// times = 2
///
/// [[fault]]
/// target = "any"
/// kind = { latency_ms = 1500 }
///
/// [[outage]]          # connections refused from 30 s after start, for 10 s
/// after_secs = 30
/// for_secs = 10
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Script {
    /// Faults armed at start.
    #[serde(default, rename = "fault")]
    pub faults: Vec<Fault>,
    /// Periods with the listener down.
    #[serde(default, rename = "outage")]
    pub outages: Vec<Outage>,
    /// What the cardholders do at the processor terminals, in order per terminal.
    #[serde(default, rename = "terminal_step")]
    pub terminal_steps: Vec<super::terminals::TerminalStep>,
}

/// A period during which the simulator refuses connections.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Outage {
    /// Seconds after start when it begins.
    pub after_secs: u64,
    /// How long it lasts.
    pub for_secs: u64,
}

impl Script {
    /// Parses a script.
    pub fn from_toml_str(text: &str) -> Result<Script, toml::de::Error> {
        toml::from_str(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ops(names: &[&str]) -> Vec<String> {
        names.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn times_are_used_up_and_targets_respected() {
        let table = FaultTable::default();
        table.inject(Fault {
            target: FaultTarget::Operation("purchaseAdd".into()),
            kind: FaultKind::FusionError,
            times: Some(2),
        });
        let purchase = ops(&["purchaseAdd"]);
        let env = ops(&["environment"]);
        let p = Hit::Graphql {
            operations: &purchase,
            operation_name: None,
        };
        let e = Hit::Graphql {
            operations: &env,
            operation_name: None,
        };
        assert_eq!(table.take(e), None);
        assert_eq!(table.take(Hit::Token), None);
        assert_eq!(table.take(p), Some(FaultKind::FusionError));
        assert_eq!(table.take(p), Some(FaultKind::FusionError));
        assert_eq!(table.take(p), None);
    }

    #[test]
    fn script_round_trips_through_toml_and_json() {
        let script = Script::from_toml_str(
            r#"
[[fault]]
target = { operation = "purchaseAdd" }
kind = "apply_then_drop"
times = 2
[[fault]]
target = "token"
kind = { latency_ms = 1500 }
[[fault]]
target = "any"
kind = { http_status = 503 }
[[outage]]
after_secs = 3
for_secs = 4
"#,
        )
        .unwrap();
        assert_eq!(
            script.faults[1].kind,
            FaultKind::Latency(Duration::from_millis(1500))
        );
        assert_eq!(script.faults[2].kind, FaultKind::HttpStatus(503));
        assert_eq!(script.outages.len(), 1);
        let json = serde_json::to_string(&script.faults[0]).unwrap();
        assert_eq!(
            json,
            r#"{"target":{"operation":"purchaseAdd"},"kind":"apply_then_drop","times":2}"#
        );
        let back: Fault = serde_json::from_str(&json).unwrap();
        assert_eq!(back, script.faults[0]);
    }
}
