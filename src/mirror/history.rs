//! History for a technician: POS sales by date range and customer, and a daily reconciliation
//! report of this lane's own journal (sales, tenders, purchases forwarded, in doubt, declined
//! after forward).

use std::collections::{BTreeMap, HashSet};

use async_trait::async_trait;
use chrono::NaiveDate;
use pos_client::Sale;
use rust_decimal::Decimal;
use serde::Serialize;

use crate::domain::payment::Method;
use crate::domain::{OutboxKind, OutboxState, PaymentState, SaleState};
use crate::store::outbox::{self, OutboxItem};
use crate::store::payments::{self, PaymentRecord};
use crate::store::sales::{self, SaleRecord};
use crate::store::{Store, StoreError};

use super::source::{SaleFilter, SalesSource, SourceError};

/// POS sales matching `filter`, read page by page; at most `max` (`truncated` says whether
/// more existed).
pub async fn sales_history(
    source: &dyn SalesSource,
    filter: &SaleFilter,
    page_size: u32,
    max: usize,
) -> Result<SalesHistory, SourceError> {
    let page_size = page_size.max(1);
    let mut sales = Vec::new();
    loop {
        let skip = u32::try_from(sales.len()).unwrap_or(u32::MAX);
        let page = source.sales(filter, skip, page_size).await?;
        let more = page.has_more && !page.items.is_empty();
        sales.extend(page.items);
        if sales.len() >= max {
            let truncated = more || sales.len() > max;
            sales.truncate(max);
            return Ok(SalesHistory { sales, truncated });
        }
        if !more {
            return Ok(SalesHistory {
                sales,
                truncated: false,
            });
        }
    }
}

/// The answer of [`sales_history`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SalesHistory {
    /// The sales, in the POS's order.
    pub sales: Vec<Sale>,
    /// More matched than were read.
    pub truncated: bool,
}

/// One local day of this lane's journal, as read for the report.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct JournalDay {
    /// Sales whose `purchased_on` falls on the day.
    pub sales: Vec<SaleRecord>,
    /// Their payments.
    pub payments: Vec<PaymentRecord>,
    /// Their outbox items.
    pub outbox: Vec<OutboxItem>,
    /// The terminal's end-of-day runs journaled on the day (oldest first).
    pub end_of_day: Vec<crate::store::end_of_day::EndOfDayRecord>,
}

/// Read-only access to a day of the journal.
#[async_trait]
pub trait JournalReader: Send + Sync {
    /// Sales (by local `purchased_on` date), their payments and outbox items.
    async fn journal_day(&self, day: NaiveDate) -> Result<JournalDay, StoreError>;
}

const ALL_SALE_STATES: [SaleState; 5] = [
    SaleState::Open,
    SaleState::Completing,
    SaleState::Completed,
    SaleState::Cancelling,
    SaleState::Cancelled,
];

/// A day of the journal read on `c` (the store's connection or a read-only one). It walks
/// every sale id (the journal has no date index), which is fine once a day.
pub fn journal_day_on(c: &rusqlite::Connection, day: NaiveDate) -> Result<JournalDay, StoreError> {
    let prefix = day.format("%Y-%m-%d").to_string();
    let mut out = JournalDay::default();
    for id in sales::ids_in_states(c, &ALL_SALE_STATES)? {
        let sale = sales::get(c, &id)?;
        if sale.purchased_on.starts_with(&prefix) {
            out.payments.extend(payments::for_sale(c, &id)?);
            out.sales.push(sale);
        }
    }
    let ids: HashSet<&str> = out.sales.iter().map(|s| s.sale_id.as_str()).collect();
    let items: Vec<OutboxItem> = outbox::list(c, None)?
        .into_iter()
        .filter(|i| i.sale_id.as_deref().is_some_and(|s| ids.contains(s)))
        .collect();
    out.outbox = items;
    let (from, to) = local_day_bounds(day);
    out.end_of_day = crate::store::end_of_day::between(c, &from, &to)?;
    Ok(out)
}

/// The UTC bounds `[from, to)` of a local day, in the journal's timestamp format.
fn local_day_bounds(day: NaiveDate) -> (String, String) {
    use chrono::TimeZone;
    let at = |d: NaiveDate| {
        let midnight = d.and_hms_opt(0, 0, 0).unwrap_or_default();
        chrono::Local
            .from_local_datetime(&midnight)
            .earliest()
            .map(|t| t.with_timezone(&chrono::Utc))
            .unwrap_or_else(|| midnight.and_utc())
            .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
    };
    (at(day), at(day.succ_opt().unwrap_or(day)))
}

/// The terminal's end-of-day totals beside the journal's card tenders of the day.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct TerminalTotals {
    /// When the last successful (else the last) end of day of the day ran (UTC).
    pub at: String,
    /// `ok` when an end of day succeeded that day, else `failed`.
    pub status: String,
    /// The terminal's total turnover: the sum of the day's successful runs.
    pub total: Option<Decimal>,
    /// The terminal's transaction count, summed likewise.
    pub count: Option<u32>,
    /// The journal's card tenders of the day.
    pub journal_card_total: Decimal,
    /// Their number.
    pub journal_card_count: u64,
    /// Terminal total minus journal card total, when the terminal sent a total.
    pub difference: Option<Decimal>,
    /// True when the terminal's total (and count, when sent) differ from the journal's.
    pub mismatch: bool,
    /// Why the end of day failed.
    pub reason: Option<String>,
}

/// Reads through the journal's public queries, on the store's connection, without writing.
#[async_trait]
impl JournalReader for Store {
    async fn journal_day(&self, day: NaiveDate) -> Result<JournalDay, StoreError> {
        self.read(move |c, _| journal_day_on(c, day)).await
    }
}

/// Count and amount of one tender method.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct TenderTotal {
    /// Payments counted.
    pub count: u64,
    /// Their amounts.
    pub amount: Decimal,
}

/// The daily reconciliation report of this lane.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ReconciliationReport {
    /// The local day.
    pub day: String,
    /// Sales completed.
    pub sales_completed: u64,
    /// Their total.
    pub sales_total: Decimal,
    /// Sales cancelled.
    pub sales_cancelled: u64,
    /// Sales still open, completing or cancelling.
    pub sales_unfinished: u64,
    /// Paid tenders (authorized, approved, offline-approved, capturing, captured) by method.
    pub tenders: BTreeMap<String, TenderTotal>,
    /// Purchases the POS confirmed (`purchaseAdd`).
    pub purchases_forwarded: u64,
    /// Purchases not sent yet (new, sending, held).
    pub purchases_pending: u64,
    /// Outbox items whose outcome is unknown (any kind), by id.
    pub outbox_in_doubt: Vec<i64>,
    /// Payments whose outcome is unknown, by id.
    pub payments_in_doubt: Vec<String>,
    /// Offline-approved payments the POS declined when forwarded, by id.
    pub declined_after_forward: Vec<String>,
    /// Their amounts.
    pub declined_after_forward_amount: Decimal,
    /// Outbox items the POS rejected for good, by id.
    pub outbox_rejected: Vec<i64>,
    /// The terminal's end of day of the day beside the journal's card totals; `None` when
    /// no end of day ran that day.
    pub terminal: Option<TerminalTotals>,
}

fn method_name(m: Method) -> String {
    serde_json::to_value(m)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_else(|| format!("{m:?}"))
}

impl ReconciliationReport {
    /// Builds the report from a day of the journal.
    pub fn build(day: NaiveDate, j: &JournalDay) -> ReconciliationReport {
        let mut r = ReconciliationReport {
            day: day.format("%Y-%m-%d").to_string(),
            ..Default::default()
        };
        for s in &j.sales {
            match s.state {
                SaleState::Completed => {
                    r.sales_completed += 1;
                    r.sales_total += s.totals.total.get();
                }
                SaleState::Cancelled => r.sales_cancelled += 1,
                SaleState::Open | SaleState::Completing | SaleState::Cancelling => {
                    r.sales_unfinished += 1
                }
            }
        }
        for p in &j.payments {
            if p.state.counts_as_paid() {
                let t = r.tenders.entry(method_name(p.method)).or_default();
                t.count += 1;
                t.amount += p.amount.get();
            }
            match p.state {
                PaymentState::InDoubt => r.payments_in_doubt.push(p.payment_id.clone()),
                PaymentState::ForwardDeclined => {
                    r.declined_after_forward.push(p.payment_id.clone());
                    r.declined_after_forward_amount += p.amount.get();
                }
                _ => {}
            }
        }
        for i in &j.outbox {
            match (i.kind, i.state) {
                (OutboxKind::Purchase, OutboxState::Confirmed) => r.purchases_forwarded += 1,
                (
                    OutboxKind::Purchase,
                    OutboxState::New | OutboxState::Sending | OutboxState::Held,
                ) => r.purchases_pending += 1,
                _ => {}
            }
            match i.state {
                OutboxState::InDoubt => r.outbox_in_doubt.push(i.id),
                OutboxState::Rejected => r.outbox_rejected.push(i.id),
                _ => {}
            }
        }
        // Each end of day covers the terminal's period since the one before, so the day's
        // terminal totals are the sum of its successful runs.
        let ok: Vec<_> = j.end_of_day.iter().filter(|e| e.status == "ok").collect();
        if let Some(last) = ok.last().copied().or(j.end_of_day.last()) {
            let card = r.tenders.get("card").cloned().unwrap_or_default();
            let total = ok
                .iter()
                .try_fold(Decimal::ZERO, |acc, e| e.total.map(|t| acc + t.get()))
                .filter(|_| !ok.is_empty());
            let count = ok
                .iter()
                .try_fold(0u32, |acc, e| e.count.map(|n| acc + n))
                .filter(|_| !ok.is_empty());
            let difference = total.map(|t| t - card.amount);
            let count_differs = count.is_some_and(|n| u64::from(n) != card.count);
            r.terminal = Some(TerminalTotals {
                at: last.at.clone(),
                status: last.status.clone(),
                total,
                count,
                journal_card_total: card.amount,
                journal_card_count: card.count,
                difference,
                mismatch: !ok.is_empty()
                    && (difference.is_some_and(|d| !d.is_zero()) || count_differs),
                reason: last.reason.clone(),
            });
        }
        r
    }

    /// Reads the day through `journal` and builds the report.
    pub async fn for_day(
        journal: &dyn JournalReader,
        day: NaiveDate,
    ) -> Result<ReconciliationReport, StoreError> {
        Ok(Self::build(day, &journal.journal_day(day).await?))
    }
}

#[cfg(test)]
mod terminal_totals_tests {
    use super::*;
    use crate::store::end_of_day::EndOfDayRecord;

    fn run(status: &str, total: Option<&str>, count: Option<u32>) -> EndOfDayRecord {
        EndOfDayRecord {
            id: 1,
            trigger: "api".into(),
            status: status.into(),
            total: total.map(|t| t.parse().unwrap()),
            count,
            totals: "{}".into(),
            reason: (status != "ok").then(|| "terminal not reached".into()),
            at: "2026-12-04T21:00:00.000Z".into(),
        }
    }

    fn report(runs: Vec<EndOfDayRecord>) -> Option<TerminalTotals> {
        let day = NaiveDate::from_ymd_opt(2026, 12, 4).unwrap();
        let j = JournalDay {
            end_of_day: runs,
            ..JournalDay::default()
        };
        ReconciliationReport::build(day, &j).terminal
    }

    #[test]
    fn terminal_totals_sum_the_days_runs_and_flag_a_difference() {
        assert_eq!(report(vec![]), None);
        // No card tenders in the journal, but the terminal took 12.34: flagged.
        let t = report(vec![run("ok", Some("12.34"), Some(1))]).unwrap();
        assert!(t.mismatch, "{t:?}");
        assert_eq!(t.difference, Some(Decimal::new(1234, 2)));
        // Nothing on either side: no difference; a failed run does not count.
        let t = report(vec![
            run("ok", Some("0"), Some(0)),
            run("failed", None, None),
        ])
        .unwrap();
        assert!(!t.mismatch, "{t:?}");
        assert_eq!(t.status, "ok");
        let t = report(vec![run("failed", None, None)]).unwrap();
        assert_eq!(t.status, "failed");
        assert!(!t.mismatch);
        assert_eq!(t.total, None);
        // Two runs on one day add up.
        let t = report(vec![
            run("ok", Some("5.00"), Some(1)),
            run("ok", Some("7.34"), Some(2)),
        ])
        .unwrap();
        assert_eq!(t.total, Some(Decimal::new(1234, 2)));
        assert_eq!(t.count, Some(3));
    }
}
