//! The lifecycle with a recording notifier: stage order, the grace deadline, the
//! watchdog withheld for a silent heart, and a failing task's exit kind.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::*;
use crate::config::{self, MemorySource};

#[derive(Default)]
struct Recorder {
    notices: Mutex<Vec<Notice>>,
    watchdog: Option<Duration>,
}

impl Recorder {
    fn with_watchdog(interval: Duration) -> Arc<Self> {
        Arc::new(Self {
            watchdog: Some(interval),
            ..Self::default()
        })
    }

    fn notices(&self) -> Vec<Notice> {
        self.notices.lock().unwrap().clone()
    }

    fn pings(&self) -> usize {
        self.notices()
            .iter()
            .filter(|n| **n == Notice::Watchdog)
            .count()
    }
}

impl Notifier for Recorder {
    fn notify(&self, notices: &[Notice]) {
        self.notices.lock().unwrap().extend_from_slice(notices);
    }
    fn watchdog_interval(&self) -> Option<Duration> {
        self.watchdog
    }
}

fn loaded() -> LoadedConfig {
    let text = include_str!("../../config/lane-agent.toml")
        .replace("listen = \"127.0.0.1:7311\"", "listen = \"127.0.0.1:0\"");
    let src = MemorySource::new()
        .with_file("/c.toml", text)
        .with_file("/run/credentials/lane-agent.service/pos-client-secret", "s")
        .with_file(
            "/run/credentials/lane-agent.service/api-token",
            "0123456789abcdef",
        )
        .with_file("/run/credentials/lane-agent.service/zvt-password", "000000");
    config::load(&src, "/c.toml".as_ref()).expect("valid")
}

#[tokio::test]
async fn stages_stop_in_order_after_ready() {
    let order = Arc::new(Mutex::new(Vec::new()));
    let recorder = Arc::new(Recorder::default());
    let mut service = Service::builder(loaded()).notifier(recorder.clone());
    // Added in an order different from the stop order on purpose.
    for (stage, name) in [
        (Stage::Devices, "devices"),
        (Stage::Engine, "engine"),
        (Stage::Forwarder, "forwarder"),
    ] {
        let order = Arc::clone(&order);
        service = service.task(stage, name, move |ctx: TaskContext| async move {
            ctx.stop.cancelled().await;
            order.lock().unwrap().push(name);
            Ok(())
        });
    }
    let api_order = Arc::clone(&order);
    service = service.api(move |listener, ctx| async move {
        ctx.stop.cancelled().await;
        api_order.lock().unwrap().push("api");
        drop(listener);
        Ok(())
    });
    let running = service.start().await.expect("start");
    assert_eq!(recorder.notices()[0], Notice::Ready);
    assert_ne!(running.local_addr().port(), 0);
    running.shutdown_token().cancel();
    running.wait().await.expect("graceful stop");
    assert_eq!(
        *order.lock().unwrap(),
        ["api", "engine", "forwarder", "devices"]
    );
    assert!(recorder.notices().contains(&Notice::Stopping));
}

#[tokio::test(start_paused = true)]
async fn a_task_ignoring_stop_is_aborted_at_the_grace_deadline() {
    let service = Service::builder(loaded())
        .notifier(Arc::new(Recorder::default()))
        .grace_period(Duration::from_secs(5))
        .task(Stage::Engine, "stubborn", |_ctx| async {
            std::future::pending::<()>().await;
            Ok(())
        })
        .task(Stage::Devices, "devices", |ctx| async move {
            ctx.stop.cancelled().await;
            Ok(())
        });
    let running = service.start().await.unwrap();
    running.shutdown_token().cancel();
    let started = tokio::time::Instant::now();
    let err = running.wait().await.unwrap_err();
    assert!(
        matches!(&err, ServiceError::StopTimeout { tasks, .. } if tasks.contains(&"stubborn")),
        "{err}"
    );
    assert_eq!(err.kind().exit_code(), 1);
    assert_eq!(started.elapsed(), Duration::from_secs(5));
}

#[tokio::test(start_paused = true)]
async fn the_watchdog_is_withheld_while_a_heart_is_silent() {
    let recorder = Recorder::with_watchdog(Duration::from_secs(10));
    let service = Service::builder(loaded()).notifier(recorder.clone());
    let heart = service.liveness().register("engine");
    let running = service.start().await.unwrap();
    let token = running.shutdown_token();
    let supervisor = tokio::spawn(running.wait());

    // Beating every 2.5 s keeps the pings (every 5 s) coming.
    for _ in 0..8 {
        tokio::time::sleep(heart.interval()).await;
        heart.beat();
    }
    let while_alive = recorder.pings();
    assert!(while_alive >= 3, "only {while_alive} pings while alive");

    // Silent for well over the watchdog interval: no further pings.
    tokio::time::sleep(Duration::from_secs(11)).await;
    let at_silence = recorder.pings();
    tokio::time::sleep(Duration::from_secs(30)).await;
    assert_eq!(recorder.pings(), at_silence, "pinged for a silent heart");

    // It resumes once the heart beats again.
    heart.beat();
    tokio::time::sleep(Duration::from_secs(6)).await;
    assert!(recorder.pings() > at_silence);

    token.cancel();
    supervisor.await.unwrap().unwrap();
}

#[tokio::test]
async fn a_failing_task_stops_the_service_with_its_kind() {
    let recorder = Arc::new(Recorder::default());
    let service = Service::builder(loaded())
        .notifier(recorder.clone())
        .task(Stage::Engine, "engine", |_ctx| async {
            Err(ServiceError::storage("journal write", "disk I/O error").into())
        })
        .task(Stage::Devices, "devices", |ctx| async move {
            ctx.stop.cancelled().await;
            Ok(())
        });
    let err = service.start().await.unwrap().wait().await.unwrap_err();
    assert!(
        matches!(err, ServiceError::Task { task: "engine", .. }),
        "{err}"
    );
    assert_eq!(err.kind(), ErrorKind::Storage);
    assert!(recorder.notices().contains(&Notice::Stopping));
}

#[tokio::test]
async fn a_task_ending_on_its_own_is_a_failure() {
    let service = Service::builder(loaded())
        .notifier(Arc::new(Recorder::default()))
        .task(Stage::Forwarder, "forwarder", |_ctx| async { Ok(()) });
    let err = service.start().await.unwrap().wait().await.unwrap_err();
    assert!(
        matches!(err, ServiceError::TaskEnded { task: "forwarder" }),
        "{err}"
    );
}
