//! The terminal's end-of-day runs (ZVT 06 50): one row per run, with the totals the terminal
//! reported (or why it failed), so the daily report can put them beside the journal's.

use rusqlite::{Connection, OptionalExtension, Row, params};

use super::{Money, StoreError, now_utc};

/// What started an end of day.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Trigger {
    /// `POST /v1/terminal/end-of-day`.
    Api,
    /// `lane-agent terminal end-of-day`.
    Cli,
    /// `[terminal] end_of_day_at`.
    Schedule,
}

impl Trigger {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Trigger::Api => "api",
            Trigger::Cli => "cli",
            Trigger::Schedule => "schedule",
        }
    }
}

/// One end-of-day run as journaled.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EndOfDayRecord {
    /// Row id.
    pub id: i64,
    /// `api`, `cli` or `schedule`.
    pub trigger: String,
    /// `ok` or `failed`.
    pub status: String,
    /// The terminal's total turnover (BMP 04), when it sent one.
    pub total: Option<Money>,
    /// Number of transactions in the totals (BMP 60), when it sent them.
    pub count: Option<u32>,
    /// The totals as JSON (what the API answered).
    pub totals: String,
    /// Why it failed.
    pub reason: Option<String>,
    /// When it finished (UTC, RFC 3339).
    pub at: String,
}

/// What to journal about one run.
#[derive(Clone, Debug)]
pub struct NewEndOfDay {
    /// What started it.
    pub trigger: Trigger,
    /// Whether the terminal completed it.
    pub ok: bool,
    /// BMP 04.
    pub total: Option<Money>,
    /// Transactions counted.
    pub count: Option<u32>,
    /// The totals as JSON.
    pub totals: serde_json::Value,
    /// Why it failed.
    pub reason: Option<String>,
}

const COLS: &str = "id, trigger, status, total, count, totals, reason, created_at";

fn from_row(r: &Row<'_>) -> rusqlite::Result<EndOfDayRecord> {
    Ok(EndOfDayRecord {
        id: r.get(0)?,
        trigger: r.get(1)?,
        status: r.get(2)?,
        total: r.get(3)?,
        count: r.get(4)?,
        totals: r.get(5)?,
        reason: r.get(6)?,
        at: r.get(7)?,
    })
}

/// Journals a finished run; returns it.
pub fn insert(c: &Connection, e: &NewEndOfDay) -> Result<EndOfDayRecord, StoreError> {
    c.prepare_cached("INSERT INTO terminal_end_of_day (trigger, status, total, count, totals, reason, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)")?.execute(params![
            e.trigger.as_str(),
            if e.ok { "ok" } else { "failed" },
            e.total,
            e.count,
            e.totals.to_string(),
            e.reason,
            now_utc()
        ],
    )?;
    let id = c.last_insert_rowid();
    Ok(c.prepare_cached(&format!(
        "SELECT {COLS} FROM terminal_end_of_day WHERE id = ?1"
    ))?
    .query_row(params![id], from_row)?)
}

/// Runs journaled on the local day whose UTC bounds are `[from, to)` (RFC 3339), oldest
/// first.
pub fn between(c: &Connection, from: &str, to: &str) -> Result<Vec<EndOfDayRecord>, StoreError> {
    let mut stmt = c.prepare_cached(&format!(
        "SELECT {COLS} FROM terminal_end_of_day WHERE created_at >= ?1 AND created_at < ?2 ORDER BY id"
    ))?;
    let rows = stmt.query_map(params![from, to], from_row)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// The latest successful run, if any.
pub fn last_ok(c: &Connection) -> Result<Option<EndOfDayRecord>, StoreError> {
    Ok(c.prepare_cached(&format!(
        "SELECT {COLS} FROM terminal_end_of_day WHERE status = 'ok' ORDER BY id DESC LIMIT 1"
    ))?
    .query_row([], from_row)
    .optional()?)
}
