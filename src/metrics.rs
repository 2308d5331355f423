//! Operational metrics in the Prometheus text format, served by the local API at `/metrics`.
//!
//! [`Metrics`] owns its own recorder instead of installing a global one, so several agents (or
//! tests) in one process never share counters. Everything the engine, the forwarder and the
//! device supervisors report goes through the small facade below; the series names are part
//! of what operators build dashboards on, so they are listed here:
//!
//! | series | type | labels |
//! |---|---|---|
//! | `lane_sales_total` | counter | `outcome` = opened, completed, cancelled |
//! | `lane_tenders_total` | counter | `method`, `result` |
//! | `lane_outbox_depth` | gauge | `state` |
//! | `lane_link_online` | gauge | 1 online, 0 offline |
//! | `lane_device_state` | gauge | `device`, `state` (1 for the current state, 0 for the others seen) |
//! | `lane_pos_call_duration_seconds` | histogram | `operation` |
//! | `lane_api_requests_total` | counter | `route`, `status` |
//! | `lane_payments_in_doubt` | gauge | payments whose outcome is unknown |
//! | `lane_exceptions_open` | gauge | exceptions awaiting an operator |
//! | `lane_offline_budget_remaining_count` | gauge | offline tenders left before the count cap |
//! | `lane_offline_budget_remaining_amount` | gauge | amount left before the offline total cap |
//! | `lane_storage_writable` | gauge | 1 while the store takes writes |
//!
//! The gauges that mirror `GET /v1/status` are refreshed from it at every scrape
//! ([`Metrics::set_status`]), so they are never older than the scrape itself.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use metrics::{
    Unit, counter, describe_counter, describe_gauge, describe_histogram, gauge, histogram,
};
use metrics_exporter_prometheus::{
    Matcher, PrometheusBuilder, PrometheusHandle, PrometheusRecorder,
};

/// Buckets for POS call latency, in seconds: from a fast LAN answer to the request timeout.
const POS_CALL_BUCKETS_SECS: &[f64] =
    &[0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0];

/// How a sale ended (or began), for `lane_sales_total`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SaleOutcome {
    /// A sale was opened.
    Opened,
    /// A sale was completed and its purchase queued or recorded.
    Completed,
    /// A sale was cancelled.
    Cancelled,
}

impl SaleOutcome {
    fn label(self) -> &'static str {
        match self {
            Self::Opened => "opened",
            Self::Completed => "completed",
            Self::Cancelled => "cancelled",
        }
    }
}

/// The tender method, for `lane_tenders_total`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TenderMethod {
    /// A gift card redeemed against the POS.
    GiftCard,
    /// A payment card through the terminal.
    Card,
    /// Cash.
    Cash,
}

impl TenderMethod {
    fn label(self) -> &'static str {
        match self {
            Self::GiftCard => "giftcard",
            Self::Card => "card",
            Self::Cash => "cash",
        }
    }
}

/// The result of one tender, for `lane_tenders_total`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TenderResult {
    /// Approved for the full amount.
    Approved,
    /// Approved for less than the amount asked.
    PartiallyApproved,
    /// Approved offline under the offline policy.
    OfflineApproved,
    /// Declined by the issuer, the POS or the policy.
    Declined,
    /// The outcome is unknown and is being recovered.
    InDoubt,
    /// Failed before any money moved (device or link error).
    Failed,
}

impl TenderResult {
    fn label(self) -> &'static str {
        match self {
            Self::Approved => "approved",
            Self::PartiallyApproved => "partially_approved",
            Self::OfflineApproved => "offline_approved",
            Self::Declined => "declined",
            Self::InDoubt => "in_doubt",
            Self::Failed => "failed",
        }
    }
}

/// The agent's metrics facade. Cheap to clone; all clones feed the same registry.
#[derive(Clone)]
pub struct Metrics {
    inner: Arc<Inner>,
}

struct Inner {
    recorder: PrometheusRecorder,
    handle: PrometheusHandle,
    /// The last state reported per device, so that the previous state's gauge drops to 0.
    device_states: Mutex<HashMap<String, String>>,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// Creates an empty registry with the series descriptions and histogram buckets set.
    pub fn new() -> Self {
        let recorder = PrometheusBuilder::new()
            .set_buckets_for_metric(
                Matcher::Full("lane_pos_call_duration_seconds".to_owned()),
                POS_CALL_BUCKETS_SECS,
            )
            // The bucket list is a non-empty constant, so this cannot fail.
            .expect("constant histogram buckets are valid")
            .build_recorder();
        let handle = recorder.handle();
        let metrics = Self {
            inner: Arc::new(Inner {
                recorder,
                handle,
                device_states: Mutex::new(HashMap::new()),
            }),
        };
        metrics.with(|| {
            describe_counter!("lane_sales_total", "Sales opened, completed and cancelled.");
            describe_counter!("lane_tenders_total", "Tenders by method and result.");
            describe_gauge!("lane_outbox_depth", "Outbox items by state.");
            describe_gauge!(
                "lane_storage_writable",
                "1 while the store's writes work, 0 during a full disk or I/O error."
            );
            describe_gauge!(
                "lane_link_online",
                "1 while the POS link is online, 0 while offline."
            );
            describe_gauge!(
                "lane_device_state",
                "1 for each device's current state, 0 for others."
            );
            describe_histogram!(
                "lane_pos_call_duration_seconds",
                Unit::Seconds,
                "Latency of calls to the POS cloud by operation."
            );
            describe_counter!(
                "lane_api_requests_total",
                "Local API requests by route and status."
            );
            describe_gauge!(
                "lane_payments_in_doubt",
                "Payments whose outcome is unknown (each with an open exception)."
            );
            describe_gauge!("lane_exceptions_open", "Exceptions awaiting an operator.");
            describe_gauge!(
                "lane_offline_budget_remaining_count",
                "Offline tenders left before the count cap."
            );
            describe_gauge!(
                "lane_offline_budget_remaining_amount",
                "Amount left before the offline total cap, in the lane's currency."
            );
        });
        metrics
    }

    fn with<T>(&self, f: impl FnOnce() -> T) -> T {
        metrics::with_local_recorder(&self.inner.recorder, f)
    }

    /// Counts a sale event.
    pub fn record_sale(&self, outcome: SaleOutcome) {
        self.with(|| counter!("lane_sales_total", "outcome" => outcome.label()).increment(1));
    }

    /// Counts one tender by method and result.
    pub fn record_tender(&self, method: TenderMethod, result: TenderResult) {
        self.with(|| {
            counter!("lane_tenders_total", "method" => method.label(), "result" => result.label())
                .increment(1);
        });
    }

    /// Sets the number of outbox items in `state` (for example pending, in_doubt, failed).
    pub fn set_outbox_depth(&self, state: &str, count: u64) {
        let state = state.to_owned();
        // Outbox depths stay far below 2^53, so the gauge's f64 is exact.
        self.with(|| gauge!("lane_outbox_depth", "state" => state).set(count as f64));
    }

    /// Sets whether the store's writes work (0 while a full disk or I/O error lasts).
    pub fn set_storage_ok(&self, ok: bool) {
        self.with(|| gauge!("lane_storage_writable").set(if ok { 1.0 } else { 0.0 }));
    }

    /// Sets the POS link state.
    pub fn set_link(&self, online: bool) {
        self.with(|| gauge!("lane_link_online").set(if online { 1.0 } else { 0.0 }));
    }

    /// Sets a device's current state; the state it had before drops to 0.
    pub fn set_device_state(&self, device: &str, state: &str) {
        let previous = {
            let mut states = self
                .inner
                .device_states
                .lock()
                .unwrap_or_else(|e| e.into_inner());
            states.insert(device.to_owned(), state.to_owned())
        };
        self.with(|| {
            if let Some(previous) = previous.filter(|p| p != state) {
                gauge!("lane_device_state", "device" => device.to_owned(), "state" => previous)
                    .set(0.0);
            }
            gauge!("lane_device_state", "device" => device.to_owned(), "state" => state.to_owned())
                .set(1.0);
        });
    }

    /// Sets the gauges that mirror the lane's status: link, outbox depth per state, devices
    /// (terminal and readers), payments in doubt, open exceptions, the offline budget and
    /// storage.
    pub fn set_status(&self, status: &crate::api::types::Status) {
        use crate::api::types::LinkState;
        self.set_link(status.link == LinkState::Online);
        let o = status.outbox;
        for (state, n) in [
            ("pending", o.pending),
            ("in_doubt", o.in_doubt),
            ("failed", o.failed),
            ("held", o.held),
        ] {
            self.set_outbox_depth(state, n);
        }
        for d in &status.devices {
            self.set_device_state(&d.name, d.state.as_str());
        }
        self.set_storage_ok(status.storage_error.is_none());
        let budget = &status.offline_budget;
        // A gauge is an f64 by the exposition format; an offline budget (a few hundred in
        // the lane's currency) is far inside its exact range, and no money moves on it.
        let remaining = budget
            .remaining_amount
            .to_string()
            .parse::<f64>()
            .unwrap_or(0.0);
        let (doubt, open, count) = (
            status.payments_in_doubt as f64,
            status.open_exceptions as f64,
            budget.remaining_count as f64,
        );
        self.with(|| {
            gauge!("lane_payments_in_doubt").set(doubt);
            gauge!("lane_exceptions_open").set(open);
            gauge!("lane_offline_budget_remaining_count").set(count);
            gauge!("lane_offline_budget_remaining_amount").set(remaining);
        });
    }

    /// Records the latency of one POS call (`operation` is the GraphQL operation name).
    pub fn observe_pos_call(&self, operation: &str, elapsed: Duration) {
        let operation = operation.to_owned();
        self.with(|| {
            histogram!("lane_pos_call_duration_seconds", "operation" => operation)
                .record(elapsed.as_secs_f64());
        });
    }

    /// Counts one local API request by its route template and status code.
    pub fn record_api_request(&self, route: &str, status: u16) {
        let route = route.to_owned();
        self.with(|| {
            counter!("lane_api_requests_total", "route" => route, "status" => status.to_string())
                .increment(1);
        });
    }

    /// Renders every series in the Prometheus text exposition format.
    pub fn render(&self) -> String {
        self.inner.handle.run_upkeep();
        self.inner.handle.render()
    }

    /// Runs the exporter's upkeep (histogram bucket maintenance) every `period` until the
    /// returned task is aborted. Rendering also runs it, so this matters only when scrapes
    /// are rare.
    pub fn spawn_upkeep(&self, period: Duration) -> tokio::task::JoinHandle<()> {
        let handle = self.inner.handle.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(period);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                handle.run_upkeep();
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn series_appear_with_their_labels() {
        let m = Metrics::new();
        m.record_sale(SaleOutcome::Completed);
        m.record_sale(SaleOutcome::Completed);
        m.record_tender(TenderMethod::GiftCard, TenderResult::PartiallyApproved);
        m.set_outbox_depth("pending", 3);
        m.set_link(false);
        m.observe_pos_call("purchaseAdd", Duration::from_millis(120));
        let text = m.render();
        assert!(
            text.contains("lane_sales_total{outcome=\"completed\"} 2"),
            "{text}"
        );
        assert!(
            text.contains(
                "lane_tenders_total{method=\"giftcard\",result=\"partially_approved\"} 1"
            ),
            "{text}"
        );
        assert!(
            text.contains("lane_outbox_depth{state=\"pending\"} 3"),
            "{text}"
        );
        assert!(text.contains("lane_link_online 0"), "{text}");
        assert!(
            text.contains(
                "lane_pos_call_duration_seconds_bucket{operation=\"purchaseAdd\",le=\"0.25\"} 1"
            ),
            "{text}"
        );
        assert!(
            text.contains(
                "lane_pos_call_duration_seconds_bucket{operation=\"purchaseAdd\",le=\"0.1\"} 0"
            ),
            "{text}"
        );
    }

    #[test]
    fn device_state_moves_the_one() {
        let m = Metrics::new();
        m.set_device_state("terminal", "ready");
        m.set_device_state("terminal", "disconnected");
        let text = m.render();
        assert!(
            text.contains("lane_device_state{device=\"terminal\",state=\"ready\"} 0"),
            "{text}"
        );
        assert!(
            text.contains("lane_device_state{device=\"terminal\",state=\"disconnected\"} 1"),
            "{text}"
        );
    }

    #[test]
    fn registries_are_independent() {
        let a = Metrics::new();
        let b = Metrics::new();
        a.record_sale(SaleOutcome::Opened);
        assert!(!b.render().contains("lane_sales_total{"));
    }
}
