//! Shared by the `api_*` tests: the fake backend and a server on a real loopback socket.

pub mod fake;

use std::sync::Arc;
use std::time::Duration;

use lane_agent::api::{self, ApiOptions, ApiState};
use lane_agent::metrics::Metrics;
use serde_json::Value;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub use fake::FakeBackend;

/// The bearer token the test servers accept.
pub const TOKEN: &str = "lane-test-token-6a1f0c";

/// An API server on 127.0.0.1 with a fake backend.
pub struct TestApi {
    pub base: String,
    pub client: reqwest::Client,
    pub backend: Arc<FakeBackend>,
    pub metrics: Metrics,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<std::io::Result<()>>>,
}

/// A decoded answer.
pub struct Answer {
    pub status: u16,
    pub body: Value,
}

impl Answer {
    /// The error code of an error answer.
    pub fn code(&self) -> &str {
        self.body["error"]["code"]
            .as_str()
            .unwrap_or_else(|| panic!("not an error answer: {}", self.body))
    }
}

impl TestApi {
    pub async fn start() -> Self {
        Self::start_with(ApiOptions::default()).await
    }

    pub async fn start_with(options: ApiOptions) -> Self {
        let backend = Arc::new(FakeBackend::new());
        let metrics = Metrics::new();
        let state = ApiState::new(
            Arc::clone(&backend),
            TOKEN.to_owned().into(),
            metrics.clone(),
        )
        .with_options(options);
        let listener = api::bind("127.0.0.1:0".parse().unwrap())
            .await
            .expect("bind loopback");
        let base = format!("http://{}", listener.local_addr().unwrap());
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(api::serve(listener, state, async move {
            let _ = stopped.await;
        }));
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()
            .unwrap();
        Self {
            base,
            client,
            backend,
            metrics,
            stop: Some(stop),
            task: Some(task),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    async fn answer(resp: reqwest::Response) -> Answer {
        let status = resp.status().as_u16();
        let text = resp.text().await.expect("body");
        let body =
            serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON ({status}): {text}"));
        Answer { status, body }
    }

    pub async fn get(&self, path: &str) -> Answer {
        Self::answer(
            self.client
                .get(self.url(path))
                .bearer_auth(TOKEN)
                .send()
                .await
                .unwrap(),
        )
        .await
    }

    pub async fn post(&self, path: &str, body: Value) -> Answer {
        self.post_raw(path, body.to_string()).await
    }

    pub async fn post_raw(&self, path: &str, body: impl Into<reqwest::Body>) -> Answer {
        let resp = self
            .client
            .post(self.url(path))
            .bearer_auth(TOKEN)
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap();
        Self::answer(resp).await
    }

    /// Opens a sale and returns its id.
    pub async fn open_sale(&self, body: Value) -> String {
        let a = self.post("/v1/sales", body).await;
        assert_eq!(a.status, 201, "{}", a.body);
        a.body["sale_id"].as_str().unwrap().to_owned()
    }

    /// Asks the server to stop and waits until it has.
    pub async fn stop(mut self) -> std::io::Result<()> {
        let _ = self.stop.take().unwrap().send(());
        tokio::time::timeout(Duration::from_secs(10), self.task.take().unwrap())
            .await
            .expect("server stops in time")
            .expect("server task")
    }
}
