//! The idempotency journal of mutating requests that have no row of their own (gift-card
//! activation and reload; refunds later): one row per `(kind, request_id)`, its `refNo`
//! minted in the same transaction, before the request leaves.
//!
//! A row is `running` from before the first byte leaves until its outcome is journaled
//! (`done` with the answer, or `in_doubt`). A retry with the same id and body reads the row:
//! the answer, "pending" or "in doubt"; with another body it is a conflict.

use rusqlite::{Connection, OptionalExtension, params};

use super::sales::{journal_id, next_seq};
use super::{Money, StoreError, now_utc};

/// Where a request stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RequestState {
    /// Journaled; its outcome is not (yet) known.
    Running,
    /// Finished; `answer` holds what the register was told.
    Done,
    /// The request may have taken effect but its answer was lost; an exception is open.
    InDoubt,
}

impl RequestState {
    fn as_str(self) -> &'static str {
        match self {
            RequestState::Running => "running",
            RequestState::Done => "done",
            RequestState::InDoubt => "in_doubt",
        }
    }

    fn parse(s: &str) -> Option<Self> {
        match s {
            "running" => Some(RequestState::Running),
            "done" => Some(RequestState::Done),
            "in_doubt" => Some(RequestState::InDoubt),
            _ => None,
        }
    }
}

/// A journaled request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RequestRecord {
    /// What it does, e.g. "giftcard_reload".
    pub kind: String,
    /// The register's id.
    pub request_id: String,
    /// The `refNo` minted for it.
    pub ref_no: String,
    /// State.
    pub state: RequestState,
    /// The answer as JSON, once done.
    pub answer: Option<String>,
    /// Masked card code, if any.
    pub code_masked: Option<String>,
    /// Amount, if any.
    pub amount: Option<Money>,
}

/// The outcome of [`claim`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Claim {
    /// First time: the caller runs the request.
    New(RequestRecord),
    /// Seen before with the same body.
    Existing(RequestRecord),
}

/// What the caller journals with a new request.
#[derive(Clone, Debug)]
pub struct NewRequest<'a> {
    /// Kind.
    pub kind: &'a str,
    /// Register's id.
    pub request_id: &'a str,
    /// Keyed fingerprint of the body (never the body itself: it may hold a code).
    pub fingerprint: &'a str,
    /// Masked card code.
    pub code_masked: Option<&'a str>,
    /// Amount.
    pub amount: Option<Money>,
}

fn from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<RequestRecord> {
    let state: String = r.get(3)?;
    Ok(RequestRecord {
        kind: r.get(0)?,
        request_id: r.get(1)?,
        ref_no: r.get(2)?,
        state: RequestState::parse(&state).ok_or_else(|| {
            rusqlite::Error::FromSqlConversionFailure(
                3,
                rusqlite::types::Type::Text,
                format!("unknown request state {state:?}").into(),
            )
        })?,
        answer: r.get(4)?,
        code_masked: r.get(5)?,
        amount: r.get(6)?,
    })
}

const COLS: &str = "kind, request_id, ref_no, state, answer, code_masked, amount";

/// Reads a request.
pub fn get(
    c: &Connection,
    kind: &str,
    request_id: &str,
) -> Result<Option<RequestRecord>, StoreError> {
    Ok(c.prepare_cached(&format!(
        "SELECT {COLS} FROM requests WHERE kind = ?1 AND request_id = ?2"
    ))?
    .query_row(params![kind, request_id], from_row)
    .optional()?)
}

/// Journals a request before it leaves, or returns the first one with the same id and body;
/// the same id with another body is a conflict.
pub fn claim(
    c: &Connection,
    store_code: &str,
    register_code: &str,
    new: &NewRequest<'_>,
) -> Result<Claim, StoreError> {
    let existing: Option<String> = c
        .prepare_cached("SELECT request_hash FROM requests WHERE kind = ?1 AND request_id = ?2")?
        .query_row(params![new.kind, new.request_id], |r| r.get(0))
        .optional()?;
    match existing {
        Some(h) if h == new.fingerprint => {
            return get(c, new.kind, new.request_id)?
                .map(Claim::Existing)
                .ok_or_else(|| StoreError::NotFound(format!("request {}", new.request_id)));
        }
        Some(_) => {
            return Err(StoreError::Conflict(format!("request {}", new.request_id)));
        }
        None => {}
    }
    let ref_no = journal_id(store_code, register_code, next_seq(c, "journal")?);
    let now = now_utc();
    c.prepare_cached(
        "INSERT INTO requests(kind, request_id, request_hash, ref_no, state, code_masked, amount,
            created_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?8)",
    )?
    .execute(params![
        new.kind,
        new.request_id,
        new.fingerprint,
        ref_no,
        RequestState::Running.as_str(),
        new.code_masked,
        new.amount,
        now
    ])?;
    get(c, new.kind, new.request_id)?
        .map(Claim::New)
        .ok_or_else(|| StoreError::NotFound(format!("request {}", new.request_id)))
}

/// Journals a request's outcome. Only a running request changes; a finished one is final.
pub fn finish(
    c: &Connection,
    kind: &str,
    request_id: &str,
    state: RequestState,
    answer: Option<&str>,
) -> Result<(), StoreError> {
    let n = c
        .prepare_cached(
            "UPDATE requests SET state = ?3, answer = ?4, updated_at = ?5
         WHERE kind = ?1 AND request_id = ?2 AND state = 'running'",
        )?
        .execute(params![kind, request_id, state.as_str(), answer, now_utc()])?;
    if n == 0 {
        return Err(StoreError::IllegalTransition {
            entity: "request",
            id: request_id.to_owned(),
            from: "finished".into(),
            to: state.as_str().into(),
        });
    }
    Ok(())
}

/// Requests still running (found at start-up: their outcome was never journaled).
pub fn running(c: &Connection) -> Result<Vec<RequestRecord>, StoreError> {
    let mut st = c.prepare_cached(&format!(
        "SELECT {COLS} FROM requests WHERE state = 'running' ORDER BY created_at"
    ))?;
    Ok(st.query_map([], from_row)?.collect::<Result<_, _>>()?)
}

/// Removes a running request that moved nothing (not sent, or refused), so that a retry
/// with the same id may run again.
pub fn forget(c: &Connection, kind: &str, request_id: &str) -> Result<(), StoreError> {
    c.prepare_cached(
        "DELETE FROM requests WHERE kind = ?1 AND request_id = ?2 AND state = 'running'",
    )?
    .execute(params![kind, request_id])?;
    Ok(())
}
