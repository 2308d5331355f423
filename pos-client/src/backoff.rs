//! The project's one backoff policy (`reliability.md` P6.1, `style.md` §2 item 8).
//!
//! Capped exponential backoff with *full jitter* by default: the n-th delay (n from 0) is drawn
//! uniformly from `[0, min(cap, base·2ⁿ)]`. Retries stop after `max_attempts` delays or once
//! the sum of delays would exceed the optional time budget. A server's `Retry-After` raises a
//! delay (never above the cap). Jitter can be switched off for tests.
//!
//! ```
//! use std::time::Duration;
//! use pos_client::backoff::Backoff;
//!
//! let b = Backoff::try_new(Duration::from_secs(1), Duration::from_secs(8), 5)
//!     .unwrap()
//!     .without_jitter();
//! let delays: Vec<u64> = b.delays().map(|d| d.as_secs()).collect();
//! assert_eq!(delays, [1, 2, 4, 8, 8]);
//! ```

use std::future::Future;
use std::time::{Duration, SystemTime};

use rand::Rng;

/// Invalid backoff parameters.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BackoffError {
    /// `base` must be greater than zero.
    #[error("backoff base must be greater than zero")]
    ZeroBase,
    /// `cap` must be at least `base`.
    #[error("backoff cap {cap:?} is below base {base:?}")]
    CapBelowBase {
        /// The base given.
        base: Duration,
        /// The cap given.
        cap: Duration,
    },
    /// `max_attempts` must be at least one.
    #[error("backoff max_attempts must be at least 1")]
    ZeroAttempts,
    /// A time budget must be greater than zero.
    #[error("backoff budget must be greater than zero")]
    ZeroBudget,
}

/// A validated backoff policy. Cheap to clone; create one [`Delays`] per operation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Backoff {
    base: Duration,
    cap: Duration,
    max_attempts: u32,
    budget: Option<Duration>,
    jitter: bool,
}

impl Backoff {
    /// A policy with full jitter and at most `max_attempts` retries.
    pub fn try_new(base: Duration, cap: Duration, max_attempts: u32) -> Result<Self, BackoffError> {
        if base.is_zero() {
            return Err(BackoffError::ZeroBase);
        }
        if cap < base {
            return Err(BackoffError::CapBelowBase { base, cap });
        }
        if max_attempts == 0 {
            return Err(BackoffError::ZeroAttempts);
        }
        Ok(Backoff {
            base,
            cap,
            max_attempts,
            budget: None,
            jitter: true,
        })
    }

    /// Also stop once the sum of delays would exceed `budget`.
    pub fn with_budget(mut self, budget: Duration) -> Result<Self, BackoffError> {
        if budget.is_zero() {
            return Err(BackoffError::ZeroBudget);
        }
        self.budget = Some(budget);
        Ok(self)
    }

    /// Deterministic delays `min(cap, base·2ⁿ)`: for tests only; fleets need the jitter.
    pub fn without_jitter(mut self) -> Self {
        self.jitter = false;
        self
    }

    /// The base delay.
    pub fn base(&self) -> Duration {
        self.base
    }

    /// The largest single delay.
    pub fn cap(&self) -> Duration {
        self.cap
    }

    /// The maximum number of delays (retries).
    pub fn max_attempts(&self) -> u32 {
        self.max_attempts
    }

    /// The upper bound of the n-th delay (n from 0): `min(cap, base·2ⁿ)`.
    pub fn ceiling(&self, n: u32) -> Duration {
        let factor = 1u32.checked_shl(n.min(31)).unwrap_or(u32::MAX);
        self.base
            .checked_mul(factor)
            .map_or(self.cap, |d| d.min(self.cap))
    }

    /// A fresh sequence of delays for one operation.
    pub fn delays(&self) -> Delays {
        Delays {
            policy: self.clone(),
            attempt: 0,
            spent: Duration::ZERO,
        }
    }

    /// Runs `op` until it succeeds, `decide` says stop, or the policy is exhausted, sleeping
    /// with `tokio::time::sleep` between attempts. Returns the last error when giving up.
    pub async fn retry<T, E, F, Fut>(
        &self,
        mut op: F,
        mut decide: impl FnMut(&E) -> RetryDecision,
    ) -> Result<T, E>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, E>>,
    {
        let mut delays = self.delays();
        loop {
            let err = match op().await {
                Ok(v) => return Ok(v),
                Err(e) => e,
            };
            let hint = match decide(&err) {
                RetryDecision::Stop => return Err(err),
                RetryDecision::Retry => None,
                RetryDecision::RetryAfter(d) => Some(d),
            };
            match delays.next_with_hint(hint) {
                Some(d) => tokio::time::sleep(d).await,
                None => return Err(err),
            }
        }
    }
}

/// What to do after a failed attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RetryDecision {
    /// Give up now (permanent error, or an outcome that must not be re-sent).
    Stop,
    /// Retry after the policy's next delay.
    Retry,
    /// Retry after at least this long (a server's `Retry-After`), capped by the policy.
    RetryAfter(Duration),
}

/// The delays of one operation; `None` once the attempts or the budget are used up.
#[derive(Debug, Clone)]
pub struct Delays {
    policy: Backoff,
    attempt: u32,
    spent: Duration,
}

impl Delays {
    /// How many delays were handed out so far.
    pub fn attempts(&self) -> u32 {
        self.attempt
    }

    /// The next delay, raised to `hint` (capped at the policy's cap) when given.
    pub fn next_with_hint(&mut self, hint: Option<Duration>) -> Option<Duration> {
        if self.attempt >= self.policy.max_attempts {
            return None;
        }
        let ceiling = self.policy.ceiling(self.attempt);
        let mut delay = if self.policy.jitter {
            let nanos = u64::try_from(ceiling.as_nanos()).unwrap_or(u64::MAX);
            Duration::from_nanos(rand::rng().random_range(0..=nanos))
        } else {
            ceiling
        };
        if let Some(h) = hint {
            delay = delay.max(h.min(self.policy.cap));
        }
        if let Some(budget) = self.policy.budget
            && self.spent.saturating_add(delay) > budget
        {
            self.attempt = self.policy.max_attempts;
            return None;
        }
        self.attempt += 1;
        self.spent += delay;
        Some(delay)
    }
}

impl Iterator for Delays {
    type Item = Duration;
    fn next(&mut self) -> Option<Duration> {
        self.next_with_hint(None)
    }
}

/// Parses a `Retry-After` header value: delta-seconds or an HTTP-date (RFC 9110 §10.2.3).
/// A date in the past gives zero; garbage gives `None`.
pub fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let v = value.trim();
    if !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit()) {
        return v.parse::<u64>().ok().map(Duration::from_secs);
    }
    let at = httpdate::parse_http_date(v).ok()?;
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secs(s: u64) -> Duration {
        Duration::from_secs(s)
    }

    #[test]
    fn rejects_invalid_parameters() {
        assert_eq!(
            Backoff::try_new(Duration::ZERO, secs(1), 3),
            Err(BackoffError::ZeroBase)
        );
        assert!(matches!(
            Backoff::try_new(secs(2), secs(1), 3),
            Err(BackoffError::CapBelowBase { .. })
        ));
        assert_eq!(
            Backoff::try_new(secs(1), secs(1), 0),
            Err(BackoffError::ZeroAttempts)
        );
        assert_eq!(
            Backoff::try_new(secs(1), secs(2), 1)
                .unwrap()
                .with_budget(Duration::ZERO),
            Err(BackoffError::ZeroBudget)
        );
    }

    #[test]
    fn jittered_delays_stay_within_the_ceiling() {
        let b = Backoff::try_new(Duration::from_millis(100), secs(5), 40).unwrap();
        for _ in 0..200 {
            for (n, d) in b.delays().enumerate() {
                let ceiling = Duration::from_millis(100)
                    .saturating_mul(1u32 << n.min(20))
                    .min(secs(5));
                assert!(d <= ceiling, "delay {n} = {d:?} > {ceiling:?}");
            }
        }
    }

    #[test]
    fn jitter_actually_varies() {
        let b = Backoff::try_new(secs(1), secs(60), 10).unwrap();
        let a: Vec<_> = b.delays().collect();
        let c: Vec<_> = b.delays().collect();
        assert_ne!(a, c);
    }

    #[test]
    fn stops_at_the_time_budget() {
        let b = Backoff::try_new(secs(1), secs(100), 100)
            .unwrap()
            .without_jitter()
            .with_budget(secs(20))
            .unwrap();
        // 1 + 2 + 4 + 8 = 15; the next (16) would exceed 20.
        let d: Vec<_> = b.delays().map(|d| d.as_secs()).collect();
        assert_eq!(d, [1, 2, 4, 8]);
    }

    #[test]
    fn ceiling_saturates() {
        let b = Backoff::try_new(secs(1), secs(300), u32::MAX).unwrap();
        assert_eq!(b.ceiling(64), secs(300));
        assert_eq!(b.ceiling(u32::MAX), secs(300));
    }

    #[test]
    fn retry_after_hint_raises_but_is_capped() {
        let b = Backoff::try_new(secs(1), secs(10), 5)
            .unwrap()
            .without_jitter();
        let mut d = b.delays();
        assert_eq!(d.next_with_hint(Some(secs(7))), Some(secs(7)));
        assert_eq!(d.next_with_hint(Some(secs(700))), Some(secs(10)));
        assert_eq!(d.next_with_hint(None), Some(secs(4)));
    }

    #[test]
    fn parses_retry_after_forms() {
        let now = SystemTime::UNIX_EPOCH + secs(784_111_777); // Sun, 06 Nov 1994 08:49:37 GMT
        assert_eq!(parse_retry_after("120", now), Some(secs(120)));
        assert_eq!(
            parse_retry_after("Sun, 06 Nov 1994 08:50:37 GMT", now),
            Some(secs(60))
        );
        assert_eq!(
            parse_retry_after("Sun, 06 Nov 1994 08:00:00 GMT", now),
            Some(Duration::ZERO)
        );
        assert_eq!(parse_retry_after("soon", now), None);
        assert_eq!(parse_retry_after("-5", now), None);
    }

    /// T6.2 in virtual time: an always-failing operation is retried with delays inside
    /// `[0, min(cap, base·2ⁿ)]` and stops at the budget; no real time passes.
    #[tokio::test(start_paused = true)]
    async fn retry_in_virtual_time_respects_ceiling_and_budget() {
        use std::sync::{Arc, Mutex};
        let base = Duration::from_millis(500);
        let cap = secs(8);
        let b = Backoff::try_new(base, cap, 50)
            .unwrap()
            .with_budget(secs(60))
            .unwrap();
        let started = std::time::Instant::now();
        let calls: Arc<Mutex<Vec<tokio::time::Instant>>> = Arc::default();
        let c2 = calls.clone();
        let res: Result<(), &str> = b
            .retry(
                || {
                    c2.lock().unwrap().push(tokio::time::Instant::now());
                    async { Err("503") }
                },
                |_| RetryDecision::Retry,
            )
            .await;
        assert_eq!(res, Err("503"));
        let calls = calls.lock().unwrap();
        assert!(calls.len() >= 2, "retried at least once");
        let mut total = Duration::ZERO;
        for (n, w) in calls.windows(2).enumerate() {
            let d = w[1] - w[0];
            assert!(d <= b.ceiling(n as u32), "delay {n} {d:?}");
            total += d;
        }
        assert!(total <= secs(60));
        assert!(calls.len() <= 51);
        assert!(started.elapsed() < secs(5), "virtual time, not wall time");
    }

    #[tokio::test(start_paused = true)]
    async fn retry_stops_on_permanent_errors_and_counts_attempts() {
        let b = Backoff::try_new(secs(1), secs(4), 3)
            .unwrap()
            .without_jitter();
        let mut n = 0;
        let res: Result<(), u32> = b
            .retry(
                || {
                    n += 1;
                    let k = n;
                    async move { Err(k) }
                },
                |_| RetryDecision::Retry,
            )
            .await;
        assert_eq!(res, Err(4), "one try plus three retries");
        let t0 = tokio::time::Instant::now();
        let res: Result<(), &str> = b
            .retry(|| async { Err("declined") }, |_| RetryDecision::Stop)
            .await;
        assert_eq!(res, Err("declined"));
        assert_eq!(
            tokio::time::Instant::now(),
            t0,
            "no delay on a permanent error"
        );
    }
}
