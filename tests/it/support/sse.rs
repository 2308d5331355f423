//! Reading the agent's `GET /v1/events` stream (server-sent events) in tests.

use serde_json::Value;
use tokio::time::timeout;

/// Reads the next SSE frame that carries an event (keep-alive comments are skipped).
pub async fn next_frame(resp: &mut reqwest::Response, buf: &mut String) -> (String, Value) {
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
pub async fn next_event(resp: &mut reqwest::Response, buf: &mut String, name: &str) -> Value {
    loop {
        let (event, data) = next_frame(resp, buf).await;
        if event == name {
            return data;
        }
    }
}

/// Reads SSE frames until one named `name` whose data satisfies `pred` arrives, within
/// [`super::agent::WAIT`].
pub async fn event_where(
    resp: &mut reqwest::Response,
    buf: &mut String,
    name: &str,
    pred: impl Fn(&Value) -> bool,
) -> Value {
    timeout(super::agent::WAIT, async {
        loop {
            let data = next_event(resp, buf, name).await;
            if pred(&data) {
                return data;
            }
        }
    })
    .await
    .unwrap_or_else(|_| panic!("no {name} event as expected"))
}
