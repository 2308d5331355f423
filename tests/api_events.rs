//! Server-sent events, graceful shutdown with a stream open, and the Prometheus endpoint.

mod api_support;

use std::time::Duration;

use api_support::{TOKEN, TestApi};
use lane_agent::api::types::{ApiEvent, DeviceState};
use lane_agent::metrics::{SaleOutcome, TenderMethod, TenderResult};
use serde_json::{Value, json};
use tokio::time::timeout;

/// Reads the next SSE frame that carries an event (keep-alive comments are skipped).
async fn next_frame(resp: &mut reqwest::Response, buf: &mut String) -> (String, Value) {
    loop {
        while let Some(end) = buf.find("\n\n") {
            let frame: String = buf.drain(..end + 2).collect();
            let Some(event) = frame.lines().find_map(|l| l.strip_prefix("event: ")) else {
                continue;
            };
            let data: String = frame
                .lines()
                .filter_map(|l| l.strip_prefix("data: "))
                .collect();
            return (
                event.to_owned(),
                serde_json::from_str(&data).expect("event data is JSON"),
            );
        }
        let chunk = resp
            .chunk()
            .await
            .expect("stream readable")
            .expect("stream still open");
        buf.push_str(std::str::from_utf8(&chunk).expect("utf-8"));
    }
}

/// Reads SSE frames until one named `name` arrives, and returns its data.
async fn next_event(resp: &mut reqwest::Response, buf: &mut String, name: &str) -> Value {
    loop {
        let (event, data) = next_frame(resp, buf).await;
        if event == name {
            return data;
        }
    }
}

#[tokio::test]
async fn events_stream_sale_and_device_changes() {
    let api = TestApi::start().await;
    let mut resp = api
        .client
        .get(api.url("/v1/events"))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["content-type"], "text/event-stream");
    // The handler subscribed before the headers were sent, so nothing below can be missed.
    let mut buf = String::new();
    api.open_sale(
        json!({"sale_id": "ev-1", "lines": [{"sku": "A", "quantity": "3", "unit_price": "0.99"}]}),
    )
    .await;
    let sale = timeout(
        Duration::from_secs(5),
        next_event(&mut resp, &mut buf, "sale"),
    )
    .await
    .expect("sale event");
    assert_eq!(
        sale,
        json!({"type": "sale", "sale_id": "ev-1", "state": "open", "total": "2.97", "due": "2.97"})
    );

    api.backend.emit(ApiEvent::Device {
        name: "terminal".into(),
        kind: "zvt".into(),
        state: DeviceState::Busy,
    });
    let dev = timeout(
        Duration::from_secs(5),
        next_event(&mut resp, &mut buf, "device"),
    )
    .await
    .expect("device event");
    assert_eq!(dev["state"], "busy");
    api.stop().await.unwrap();
}

#[tokio::test]
async fn a_client_that_falls_behind_is_told_how_many_events_it_missed() {
    let api = TestApi::start().await;
    let mut resp = api
        .client
        .get(api.url("/v1/events"))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    // The fake's channel keeps 64 events. This test's runtime is single-threaded and the
    // loop does not yield, so the server cannot read any of the 100 before the loop ends.
    for i in 0..100 {
        api.backend.emit(ApiEvent::Device {
            name: format!("d{i}"),
            kind: "serial-msr".into(),
            state: DeviceState::Ready,
        });
    }
    let mut buf = String::new();
    let first = timeout(Duration::from_secs(5), next_frame(&mut resp, &mut buf))
        .await
        .expect("frame");
    assert_eq!(first, ("lagged".to_owned(), json!({"missed": 36})));
    let next = timeout(Duration::from_secs(5), next_frame(&mut resp, &mut buf))
        .await
        .expect("frame");
    assert_eq!(
        (next.0.as_str(), &next.1["name"]),
        ("device", &json!("d36"))
    );
    api.stop().await.unwrap();
}

#[tokio::test]
async fn shutdown_ends_open_event_streams() {
    let api = TestApi::start().await;
    let mut resp = api
        .client
        .get(api.url("/v1/events"))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    // `stop` fails the test if serve does not return within its timeout.
    api.stop().await.unwrap();
    let end = timeout(Duration::from_secs(5), async {
        loop {
            match resp.chunk().await {
                Ok(Some(_)) => continue,
                other => return other.map(|_| ()),
            }
        }
    })
    .await
    .expect("stream ends");
    assert!(end.is_ok(), "stream ended cleanly: {end:?}");
}

#[tokio::test]
async fn metrics_expose_the_agent_series() {
    let api = TestApi::start().await;
    api.metrics.record_sale(SaleOutcome::Completed);
    api.metrics
        .record_tender(TenderMethod::Card, TenderResult::Declined);
    api.metrics.set_outbox_depth("in_doubt", 2);
    api.metrics.set_link(true);
    api.metrics.set_device_state("msr", "disconnected");
    api.metrics
        .observe_pos_call("giftcardTransAdd", Duration::from_millis(40));
    api.get("/v1/items/MILK-1L").await;
    api.get("/v1/items/NOPE").await;

    let r = api
        .client
        .get(api.url("/metrics"))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(
        r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain")
    );
    let text = r.text().await.unwrap();
    for series in [
        "lane_sales_total{outcome=\"completed\"} 1",
        "lane_tenders_total{method=\"card\",result=\"declined\"} 1",
        "lane_outbox_depth{state=\"in_doubt\"} 2",
        "lane_link_online 1",
        "lane_device_state{device=\"msr\",state=\"disconnected\"} 1",
        "lane_pos_call_duration_seconds_bucket{operation=\"giftcardTransAdd\",le=\"0.05\"} 1",
        "lane_pos_call_duration_seconds_count{operation=\"giftcardTransAdd\"} 1",
        "lane_api_requests_total{route=\"/v1/items/{sku}\",status=\"200\"} 1",
        "lane_api_requests_total{route=\"/v1/items/{sku}\",status=\"404\"} 1",
        "# TYPE lane_pos_call_duration_seconds histogram",
    ] {
        assert!(text.contains(series), "missing {series} in\n{text}");
    }
    let unauth = api.client.get(api.url("/metrics")).send().await.unwrap();
    assert_eq!(unauth.status(), 401);
    api.stop().await.unwrap();
}
