//! Glue between the engine's event channel, the API's and the metrics.

use tokio::sync::broadcast::{self, error::RecvError};
use tokio::task::JoinHandle;

use super::types::ApiEvent;
use crate::metrics::Metrics;

/// Forwards every event of `source` that `map` turns into an [`ApiEvent`] onto a new
/// channel of `capacity`, whose sender is returned (a backend's `subscribe_events` calls
/// `subscribe()` on it). The task ends when `source` closes.
pub fn bridge_events<E, F>(
    mut source: broadcast::Receiver<E>,
    capacity: usize,
    map: F,
) -> (broadcast::Sender<ApiEvent>, JoinHandle<()>)
where
    E: Clone + Send + 'static,
    F: Fn(E) -> Option<ApiEvent> + Send + 'static,
{
    let (tx, _) = broadcast::channel(capacity.max(1));
    let out = tx.clone();
    let task = tokio::spawn(async move {
        loop {
            match source.recv().await {
                Ok(event) => {
                    if let Some(event) = map(event) {
                        // No subscriber is not an error: nobody is watching right now.
                        let _ = out.send(event);
                    }
                }
                Err(RecvError::Lagged(missed)) => {
                    tracing::warn!(missed, "Event bridge fell behind; events were skipped.");
                }
                Err(RecvError::Closed) => break,
            }
        }
    });
    (tx, task)
}

/// Applies one event to the gauges it determines: link state, device state, outbox depth.
///
/// Counters (sales, tenders) are not derived from events, because a state may be announced
/// more than once (recovery, retries); the engine calls the [`Metrics`] facade for those.
pub fn record_event(metrics: &Metrics, event: &ApiEvent) {
    match event {
        ApiEvent::Link { link, .. } => {
            metrics.set_link(*link == super::types::LinkState::Online);
        }
        ApiEvent::Device { name, state, .. } => metrics.set_device_state(name, state.as_str()),
        ApiEvent::Outbox {
            counts: Some(c), ..
        } => {
            metrics.set_outbox_depth("pending", c.pending);
            metrics.set_outbox_depth("in_doubt", c.in_doubt);
            metrics.set_outbox_depth("failed", c.failed);
            metrics.set_outbox_depth("held", c.held);
        }
        _ => {}
    }
}

/// Keeps the gauges of [`record_event`] up to date from `events` until the channel closes.
pub fn follow_events(
    metrics: Metrics,
    mut events: broadcast::Receiver<ApiEvent>,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            match events.recv().await {
                Ok(event) => record_event(&metrics, &event),
                // Gauges are overwritten by the next event, so skipping some is harmless.
                Err(RecvError::Lagged(_)) => {}
                Err(RecvError::Closed) => break,
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::types::{DeviceState, LinkState, OutboxCounts, OutboxState};

    #[tokio::test]
    async fn engine_events_reach_subscribers_and_gauges() {
        let (engine_tx, engine_rx) = broadcast::channel::<(bool, u8)>(16);
        let (api_tx, bridge) = bridge_events(engine_rx, 16, |(keep, n)| {
            keep.then(|| ApiEvent::Outbox {
                id: n.to_string(),
                kind: None,
                state: OutboxState::Pending,
                counts: Some(OutboxCounts {
                    pending: u64::from(n),
                    ..Default::default()
                }),
            })
        });
        let metrics = Metrics::new();
        let follower = follow_events(metrics.clone(), api_tx.subscribe());
        let mut sse = api_tx.subscribe();
        drop(api_tx);
        engine_tx.send((false, 1)).unwrap();
        engine_tx.send((true, 2)).unwrap();
        drop(engine_tx);
        bridge.await.unwrap();
        follower.await.unwrap();
        match sse.recv().await.unwrap() {
            ApiEvent::Outbox { id, .. } => assert_eq!(id, "2"),
            other => panic!("unexpected {other:?}"),
        }
        assert!(
            sse.recv().await.is_err(),
            "the dropped event was not forwarded"
        );
        let text = metrics.render();
        assert!(
            text.contains("lane_outbox_depth{state=\"pending\"} 2"),
            "{text}"
        );
    }

    #[test]
    fn link_and_device_events_set_gauges() {
        let metrics = Metrics::new();
        record_event(
            &metrics,
            &ApiEvent::Link {
                link: LinkState::Offline,
                offline_since: None,
            },
        );
        record_event(
            &metrics,
            &ApiEvent::Device {
                name: "msr".into(),
                kind: "serial-msr".into(),
                state: DeviceState::Ready,
            },
        );
        let text = metrics.render();
        assert!(text.contains("lane_link_online 0"), "{text}");
        assert!(
            text.contains("lane_device_state{device=\"msr\",state=\"ready\"} 1"),
            "{text}"
        );
    }
}
