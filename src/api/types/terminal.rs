//! `POST /v1/terminal/end-of-day`: the terminal's end of day (ZVT 06 50) and its totals.

use serde::{Deserialize, Serialize};

/// `ok` when the terminal completed the end of day, else `failed`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EndOfDayStatus {
    /// The terminal closed its period; `totals` holds what it reported.
    Ok,
    /// The terminal refused, aborted or was not reached; `reason` says which.
    Failed,
}

/// The totals the terminal reported (empty fields when it sent none).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EndOfDayTotalsView {
    /// ISO 4217 letters of the lane's currency.
    #[serde(default)]
    pub currency: String,
    /// Total turnover since the last end of day, a decimal string.
    pub total: Option<String>,
    /// Transactions counted.
    pub count: Option<u32>,
    /// First receipt number of the period.
    pub receipt_from: Option<u16>,
    /// Last receipt number of the period.
    pub receipt_to: Option<u16>,
}

/// The answer of `POST /v1/terminal/end-of-day`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EndOfDayResult {
    /// `ok` or `failed`.
    pub status: EndOfDayStatus,
    /// The terminal's totals.
    pub totals: EndOfDayTotalsView,
    /// Why it failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The terminal's printed end-of-day receipt.
    #[serde(default)]
    pub receipt_lines: Vec<String>,
}
