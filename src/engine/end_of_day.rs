//! Terminal end of day (ZVT 06 50): run on demand (API, CLI) or daily at
//! `[terminal] end_of_day_at`, its totals journaled for the daily report.
//!
//! The scheduled run never waits behind a running payment: when the terminal is busy (or
//! not reachable) it tries again after [`RETRY_EVERY`], so a lane that is selling at the
//! scheduled minute settles as soon as the payment is done.

use std::time::Duration;

use chrono::{DateTime, Local, NaiveTime, TimeZone};
use tokio_util::sync::CancellationToken;

use super::EngineError;
use super::ports::{EndOfDayTotals, TerminalError};
use super::terminal::CardTender;
use crate::store::end_of_day::{self, NewEndOfDay, Trigger};

/// How long the scheduler waits before it tries again after a busy or unreachable terminal.
pub const RETRY_EVERY: Duration = Duration::from_secs(60);
/// How often the scheduler tries on one day before it gives up until the next.
pub const MAX_TRIES: u32 = 60;

/// The answer of one end of day, as journaled.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EndOfDayAnswer {
    /// The journal row.
    pub id: i64,
    /// The terminal completed it.
    pub ok: bool,
    /// What the terminal reported.
    pub totals: EndOfDayTotals,
    /// Why it failed.
    pub reason: Option<String>,
}

impl CardTender {
    /// Whether the lane's terminal settles at the lane (ZVT) at all.
    pub fn settles_here(&self) -> bool {
        self.terminal.supports_end_of_day()
    }

    /// Runs the terminal's end of day and journals its totals (or why it failed).
    ///
    /// With `wait` false a terminal busy with another command (or not reachable) is
    /// [`EngineError::Terminal`] with [`TerminalError::NotSent`] and nothing is journaled:
    /// the caller tries again later.
    pub async fn end_of_day(
        &self,
        trigger: Trigger,
        wait: bool,
    ) -> Result<EndOfDayAnswer, EngineError> {
        let res = self.terminal.end_of_day(wait).await;
        let (totals, reason) = match res {
            Ok(t) => {
                let reason = t.reason.clone();
                (t, reason)
            }
            Err(e @ TerminalError::NotSent(_)) if !wait => return Err(e.into()),
            Err(e) => (EndOfDayTotals::default(), Some(e.to_string())),
        };
        let ok = totals.ok;
        let new = NewEndOfDay {
            trigger,
            ok,
            total: totals.total,
            count: totals.count,
            totals: serde_json::to_value(&totals).unwrap_or_default(),
            reason: reason.clone(),
        };
        let row = self
            .journal
            .journal_outcome(move |c, _| end_of_day::insert(c, &new))
            .await?;
        if ok {
            tracing::info!(trigger = trigger.as_str(), total = ?totals.total, count = ?totals.count, "Terminal end of day done.");
        } else {
            tracing::warn!(trigger = trigger.as_str(), reason = ?reason, "Terminal end of day failed.");
        }
        Ok(EndOfDayAnswer {
            id: row.id,
            ok,
            totals,
            reason,
        })
    }

    /// Runs the end of day every day at `at` (local time) until `stop`; a busy or
    /// unreachable terminal is tried again every `retry` (at most [`MAX_TRIES`] times a day).
    pub async fn run_end_of_day_schedule(
        &self,
        at: NaiveTime,
        retry: Duration,
        stop: CancellationToken,
    ) {
        loop {
            let wait = until_next(Local::now(), at);
            tracing::info!(in_secs = wait.as_secs(), at = %at, "Next terminal end of day scheduled.");
            tokio::select! {
                () = stop.cancelled() => return,
                () = tokio::time::sleep(wait) => {}
            }
            for attempt in 1..=MAX_TRIES {
                match self.end_of_day(Trigger::Schedule, false).await {
                    Ok(_) => break,
                    Err(e) => {
                        tracing::info!(attempt, error = %e, retry_in_secs = retry.as_secs(), "Scheduled end of day postponed.");
                        tokio::select! {
                            () = stop.cancelled() => return,
                            () = tokio::time::sleep(retry) => {}
                        }
                    }
                }
            }
            // Never twice in the same minute: the next run is tomorrow's.
            tokio::select! {
                () = stop.cancelled() => return,
                () = tokio::time::sleep(Duration::from_secs(1)) => {}
            }
        }
    }
}

/// Time from `now` to the next local `at` (today if still ahead, else tomorrow). A local
/// time skipped by a DST change runs an hour later; a repeated one runs at its first.
pub fn until_next<Tz: TimeZone>(now: DateTime<Tz>, at: NaiveTime) -> Duration {
    let tz = now.timezone();
    let mut day = now.date_naive();
    for _ in 0..3 {
        let mut naive = day.and_time(at);
        let mut local = tz.from_local_datetime(&naive).earliest();
        if local.is_none() {
            naive += chrono::Duration::hours(1);
            local = tz.from_local_datetime(&naive).earliest();
        }
        if let Some(t) = local
            && t > now
        {
            return (t - now.clone()).to_std().unwrap_or_default();
        }
        day = day.succ_opt().unwrap_or(day);
    }
    Duration::from_secs(24 * 3600)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{FixedOffset, Utc};

    #[test]
    fn the_next_run_is_today_when_ahead_else_tomorrow() {
        let tz = FixedOffset::east_opt(3600).unwrap();
        let now = tz.with_ymd_and_hms(2026, 12, 4, 21, 59, 30).unwrap();
        let at = NaiveTime::from_hms_opt(22, 0, 0).unwrap();
        assert_eq!(until_next(now, at), Duration::from_secs(30));
        let at = NaiveTime::from_hms_opt(21, 59, 30).unwrap();
        assert_eq!(until_next(now, at), Duration::from_secs(24 * 3600));
        let at = NaiveTime::from_hms_opt(6, 0, 0).unwrap();
        assert_eq!(until_next(now, at), Duration::from_secs(8 * 3600 + 30));
        let utc = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
        assert_eq!(
            until_next(utc, NaiveTime::from_hms_opt(0, 0, 1).unwrap()),
            Duration::from_secs(1)
        );
    }
}
