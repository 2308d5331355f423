//! Server-sent events, graceful shutdown with a stream open, and the Prometheus endpoint;
//! the last test reads the real stream of the running binary.

use std::time::Duration;

use crate::support::api::{TOKEN, TestApi};
use crate::support::sse::{event_where, next_event, next_frame};
use lane_agent::api::types::{ApiEvent, DeviceState};
use lane_agent::metrics::{SaleOutcome, TenderMethod, TenderResult};
use serde_json::json;
use tokio::time::timeout;

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
    // A gauge set between scrapes is overwritten by the backend's status at the scrape.
    api.metrics.set_outbox_depth("in_doubt", 2);
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
        "lane_outbox_depth{state=\"in_doubt\"} 0",
        "lane_link_online 1",
        "lane_device_state{device=\"terminal\",state=\"ready\"} 1",
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

/// The running agent's `/v1/events`, fed by the real engine, device supervisors and link:
/// device (with the reader's own kind), sale, scan (item and member; the member joins the
/// open sale and reaches `purchaseAdd` as `memberId`), outbox, exception (a card payment in
/// doubt) and link events.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_running_agent_streams_every_kind_of_event() {
    use crate::support::lane::TestLane;
    use hardware_sim::reader::{SimReader, SimReaderConfig};
    use hardware_sim::terminal::Fault;

    const AGENT_TOKEN: &str = "events-token-0123456789abcdef";
    let dir = tempfile::tempdir().unwrap();
    let link = dir.path().join("scanner");
    let mut scanner = SimReader::start(&link, SimReaderConfig::default())
        .await
        .unwrap();
    let lane = TestLane::zvt()
        .token(AGENT_TOKEN)
        .request_timeout_ms(2000)
        .in_dir(dir)
        .terminal_lines(&format!(
            "[[reader]]\nname = \"scanner\"\nkind = \"serial-scanner\"\ndevice = \"{}\"\n\
             [member]\npattern = '^M(?P<id>\\d{{9}})$'\n",
            link.display()
        ))
        .build()
        .await;
    let (pos, terminal, api) = (&lane.pos, lane.terminal(), &lane.api);
    let (child, notify) = lane.start().await;
    let mut resp = api
        .http
        .get(format!("{}/v1/events", api.base))
        .bearer_auth(AGENT_TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let mut buf = String::new();

    // Device: the scanner unplugged, then back, with its configured kind. READY does not wait
    // for the readers: once subscribed, wait until the scanner is up (its `ready` may still be
    // on the way), so that the unplug is what it reports next.
    let status = api.get("/v1/status").await;
    let scanner_up = status["devices"].as_array().is_some_and(|ds| {
        ds.iter()
            .any(|d| d["name"] == "scanner" && d["state"] == "ready")
    });
    if !scanner_up {
        event_where(&mut resp, &mut buf, "device", |d| {
            d["name"] == "scanner" && d["state"] == "ready"
        })
        .await;
    }
    scanner.unplug().await.unwrap();
    let down = event_where(&mut resp, &mut buf, "device", |d| {
        d["name"] == "scanner" && d["state"] != "ready"
    })
    .await;
    assert_eq!(down["kind"], "serial-scanner", "{down}");
    assert_eq!(down["state"], "disconnected", "{down}");
    scanner.replug().await.unwrap();
    event_where(&mut resp, &mut buf, "device", |d| {
        d["name"] == "scanner" && d["state"] == "ready"
    })
    .await;

    // Sale, then the scans: an item barcode and a member card.
    let (st, v) = api
        .post(
            "/v1/sales",
            json!({"sale_id": "ev-live-1", "lines": [{"sku": "ITEM-001", "quantity": "1", "unit_price": "4.00"}]}),
        )
        .await;
    assert_eq!(st, 201, "{v}");
    let sale = event_where(&mut resp, &mut buf, "sale", |d| d["sale_id"] == "ev-live-1").await;
    assert_eq!(sale["state"], "open", "{sale}");
    scanner.scan("4006381333931").await.unwrap();
    let item = event_where(&mut resp, &mut buf, "scan", |_| true).await;
    assert_eq!(
        item,
        json!({"type": "scan", "reader": "scanner", "kind": "item", "value": "4006381333931"})
    );
    scanner.scan("M000010049").await.unwrap();
    // The member joins the sale on its own task, so its sale event and the scan event come
    // in either order: wait for both.
    let (mut member, mut joined) = (None, false);
    timeout(crate::support::agent::WAIT, async {
        while member.is_none() || !joined {
            match next_frame(&mut resp, &mut buf).await {
                (event, data) if event == "scan" => member = Some(data),
                (event, data) if event == "sale" && data["sale_id"] == "ev-live-1" => {
                    joined = true;
                }
                _ => {}
            }
        }
    })
    .await
    .expect("the member scan and the sale it joined, as events");
    assert_eq!(
        member.unwrap(),
        json!({"type": "scan", "reader": "scanner", "kind": "member", "value": "000010049"})
    );
    assert_eq!(
        api.get("/v1/sales/ev-live-1").await["member_id"],
        "000010049"
    );

    // Paid in cash and completed: the purchase is queued (outbox event) and recorded with
    // the member.
    let (st, v) = api
        .post(
            "/v1/sales/ev-live-1/payments",
            json!({"method": "cash", "amount": "4.00"}),
        )
        .await;
    assert_eq!(st, 201, "{v}");
    let (st, v) = api.post("/v1/sales/ev-live-1/complete", json!({})).await;
    assert_eq!(st, 200, "{v}");
    event_where(&mut resp, &mut buf, "outbox", |d| d["kind"] == "purchase").await;
    event_where(&mut resp, &mut buf, "outbox", |d| d["state"] == "confirmed").await;
    let ledger = pos.control().ledger();
    let sale = api.get("/v1/sales/ev-live-1").await;
    let recorded = ledger.purchases_with(sale["transaction_id"].as_str().unwrap());
    assert_eq!(recorded.len(), 1, "one purchase");
    let purchase = recorded[0];
    assert_eq!(purchase.member_id.as_deref(), Some("000010049"));

    // Exception: the first card payment's answer is lost and nothing settles it.
    api.post(
        "/v1/sales",
        json!({"sale_id": "ev-live-2", "lines": [{"sku": "ITEM-001", "quantity": "1", "unit_price": "6.00"}]}),
    )
    .await;
    terminal.control().inject(Fault::DropBeforeStatus);
    let (st, v) = api
        .post(
            "/v1/sales/ev-live-2/payments",
            json!({"method": "card", "amount": "6.00", "payment_id": "ev-live-2-c"}),
        )
        .await;
    assert_eq!(v["status"], "in_doubt", "{st} {v}");
    let exception = event_where(&mut resp, &mut buf, "exception", |_| true).await;
    assert_eq!(exception["kind"], "payment_in_doubt", "{exception}");

    // Link: the POS goes away; the next call that needs it finds out.
    pos.control().set_online(false).await;
    let balance = api
        .http
        .get(format!(
            "{}/v1/giftcards/balance?code=6006491000000001",
            api.base
        ))
        .bearer_auth(AGENT_TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(balance.status(), 503);
    let offline = event_where(&mut resp, &mut buf, "link", |_| true).await;
    assert_eq!(offline["link"], "offline", "{offline}");

    crate::support::agent::stop_gracefully(child, notify).await;
}
