//! Sans-IO classification of a GraphQL answer: success only when the requested data field is
//! non-null; otherwise one typed [`PosError`]. Total: any bytes give a result, never a panic.

use std::time::Duration;

use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use crate::error::{DeclineReason, PosError};
use crate::secret::Redactor;

/// What the classifier needs to know about the operation.
#[derive(Debug, Clone, Copy)]
pub(crate) struct OpMeta {
    /// The operation's name, e.g. `giftcardTransAdd`.
    pub(crate) name: &'static str,
    /// The root data field the operation asks for.
    pub(crate) field: &'static str,
    /// Mutations can have applied even when the answer is lost.
    pub(crate) mutation: bool,
    /// `VALIDATION` on this operation is a gift-card decline.
    pub(crate) declines: bool,
}

/// Classifies one HTTP answer. `PosError::NotAuthenticated` is returned for HTTP 401 and
/// `NOT_AUTHENTICATED`; the caller turns it into one refresh and one retry.
pub(crate) fn classify<D: DeserializeOwned>(
    op: &OpMeta,
    status: u16,
    retry_after: Option<Duration>,
    body: &[u8],
    redactor: &Redactor,
) -> Result<D, PosError> {
    if status == 401 {
        return Err(PosError::NotAuthenticated { operation: op.name });
    }
    let envelope = parse_envelope(body);
    if status != 200 {
        // Pinned: errors come as 200. A 4xx with a GraphQL error body is still read for its
        // codes; anything else is judged by the status alone.
        if (400..500).contains(&status)
            && let Ok((_, errors)) = &envelope
            && let Some(e) = pick_error(op, errors)
        {
            return Err(error_from(op, e, redactor));
        }
        return Err(PosError::HttpStatus {
            operation: op.name,
            mutation: op.mutation,
            status,
            retry_after,
        });
    }
    let (data, errors) = envelope.map_err(|reason| bad(op, reason))?;
    let field_present = data
        .as_ref()
        .and_then(|d| d.get(op.field))
        .is_some_and(|v| !v.is_null());
    if field_present {
        if !errors.is_empty() {
            let codes: Vec<String> = errors
                .iter()
                .filter_map(|e| code_of(e).map(str::to_owned))
                .collect();
            tracing::warn!(
                operation = op.name,
                errors = errors.len(),
                codes = ?codes,
                "POS answered with data and nested errors; treating the call as successful."
            );
        }
        let data = Value::Object(data.unwrap_or_default());
        return serde_json::from_value::<D>(data).map_err(|e| {
            bad(
                op,
                format!("unexpected data shape: {}", redactor.scrub(&e.to_string())),
            )
        });
    }
    if let Some(e) = pick_error(op, &errors) {
        return Err(error_from(op, e, redactor));
    }
    if data.is_none() && errors.is_empty() {
        return Err(bad(op, "neither data nor errors".to_owned()));
    }
    Err(PosError::OutcomeUnknown {
        operation: op.name,
        mutation: op.mutation,
        reason: format!("data.{} is null without errors", op.field),
    })
}

type Envelope = (Option<Map<String, Value>>, Vec<Value>);

fn parse_envelope(body: &[u8]) -> Result<Envelope, String> {
    let v: Value = serde_json::from_slice(body).map_err(|e| {
        let looks_html = body.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'<');
        if looks_html {
            "HTML instead of JSON".to_owned()
        } else {
            format!("not JSON ({})", e.classify_name())
        }
    })?;
    let Value::Object(mut obj) = v else {
        return Err("JSON body is not an object".to_owned());
    };
    let data = match obj.remove("data") {
        None | Some(Value::Null) => None,
        Some(Value::Object(m)) => Some(m),
        Some(_) => return Err("`data` is not an object".to_owned()),
    };
    let errors = match obj.remove("errors") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(a)) => a,
        Some(_) => return Err("`errors` is not a list".to_owned()),
    };
    Ok((data, errors))
}

trait ClassifyName {
    fn classify_name(&self) -> &'static str;
}

impl ClassifyName for serde_json::Error {
    fn classify_name(&self) -> &'static str {
        match self.classify() {
            serde_json::error::Category::Io => "io",
            serde_json::error::Category::Syntax => "syntax error",
            serde_json::error::Category::Data => "data error",
            serde_json::error::Category::Eof => "truncated",
        }
    }
}

fn bad(op: &OpMeta, reason: String) -> PosError {
    PosError::BadResponse {
        operation: op.name,
        mutation: op.mutation,
        reason,
    }
}

fn code_of(e: &Value) -> Option<&str> {
    e.get("extensions")?.get("code")?.as_str()
}

/// The error that explains a null field: one whose `path` starts at the field, else the
/// first. `NOT_AUTHENTICATED` wins wherever it is, since a retry with a new token may fix all.
fn pick_error<'a>(op: &OpMeta, errors: &'a [Value]) -> Option<&'a Value> {
    if let Some(e) = errors
        .iter()
        .find(|e| code_of(e) == Some("NOT_AUTHENTICATED"))
    {
        return Some(e);
    }
    errors
        .iter()
        .find(|e| {
            e.get("path")
                .and_then(Value::as_array)
                .and_then(|p| p.first())
                .and_then(Value::as_str)
                == Some(op.field)
        })
        .or_else(|| errors.first())
}

fn error_from(op: &OpMeta, e: &Value, redactor: &Redactor) -> PosError {
    let message = redactor.scrub(e.get("message").and_then(Value::as_str).unwrap_or(""));
    match code_of(e) {
        Some("NOT_AUTHENTICATED") => PosError::NotAuthenticated { operation: op.name },
        Some("NOT_AUTHORIZED") => PosError::NotAuthorized {
            operation: op.name,
            message,
        },
        Some("FUSION_ERROR") => PosError::Fusion {
            operation: op.name,
            mutation: op.mutation,
            message,
        },
        Some("VALIDATION") => {
            let data = e.get("extensions").and_then(|x| x.get("data"));
            let field = |pascal: &str, camel: &str| {
                data.and_then(|d| d.get(pascal).or_else(|| d.get(camel)))
                    .and_then(Value::as_str)
                    .map(|s| redactor.scrub(s))
                    .unwrap_or_default()
            };
            let validation_type = field("ValidationType", "validationType");
            let property = field("Property", "property");
            if op.declines {
                let reason = DeclineReason::from_validation_type(&validation_type);
                if let DeclineReason::Other(t) = &reason {
                    tracing::warn!(
                        operation = op.name,
                        validation_type = %t,
                        message = %message,
                        "POS declined with an unlisted validation type."
                    );
                }
                PosError::Declined {
                    operation: op.name,
                    reason,
                    property,
                    message,
                }
            } else {
                PosError::Validation {
                    operation: op.name,
                    validation_type,
                    property,
                    message,
                }
            }
        }
        other => PosError::Graphql {
            operation: op.name,
            mutation: op.mutation,
            code: other.map(|c| redactor.scrub(c)),
            message,
        },
    }
}

#[cfg(test)]
mod tests;
