//! Heartbeats for the parts that do not loop on their own: the local API (a real request to
//! its own listener) and the reader supervisors (their progress ticks). Each beats only when
//! its part answered, so a wedged API or a stuck reader task withholds `WATCHDOG=1`.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_util::sync::CancellationToken;

use super::liveness::Heartbeat;
use crate::devices::DeviceRegistry;

/// A reader task that has not ticked for this long is stuck (it ticks at least every
/// `path_check` while its device is up and every poll while it is away).
const DEVICE_STALL: Duration = Duration::from_secs(10);

/// Asks the API at `addr` for `GET /v1/health` every beat interval and beats when it answers
/// 200 within that interval.
pub(super) async fn api(addr: SocketAddr, heartbeat: Heartbeat, stop: CancellationToken) {
    let every = heartbeat.interval();
    let mut tick = tokio::time::interval(every);
    loop {
        tokio::select! {
            () = stop.cancelled() => return,
            _ = tick.tick() => {}
        }
        match tokio::time::timeout(every, health(addr)).await {
            Ok(Ok(())) => heartbeat.beat(),
            Ok(Err(e)) => {
                tracing::warn!(error = %e, "The local API did not answer its health probe.")
            }
            Err(_) => tracing::warn!("The local API's health probe timed out."),
        }
    }
}

async fn health(addr: SocketAddr) -> std::io::Result<()> {
    let mut stream = tokio::net::TcpStream::connect(addr).await?;
    stream
        .write_all(b"GET /v1/health HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        .await?;
    let mut head = [0u8; 12];
    stream.read_exact(&mut head).await?;
    if head.starts_with(b"HTTP/1.1 200") {
        Ok(())
    } else {
        Err(std::io::Error::other(format!(
            "answered {}",
            String::from_utf8_lossy(&head)
        )))
    }
}

/// Beats while every reader supervisor makes progress; names the stuck ones otherwise.
pub(super) async fn devices(
    devices: Arc<DeviceRegistry>,
    heartbeat: Heartbeat,
    stop: CancellationToken,
) {
    let mut tick = tokio::time::interval(heartbeat.interval());
    loop {
        tokio::select! {
            () = stop.cancelled() => return,
            _ = tick.tick() => {}
        }
        let stalled = devices.stalled(DEVICE_STALL);
        if stalled.is_empty() {
            heartbeat.beat();
        } else {
            tracing::warn!(readers = ?stalled, "Reader supervisors are stuck; withholding the watchdog.");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::liveness::Liveness;
    use super::*;

    /// A listener that accepts and answers `reply` (or nothing) to every connection.
    async fn server(reply: Option<&'static [u8]>) -> SocketAddr {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            let mut held = Vec::new();
            loop {
                let (mut s, _) = listener.accept().await.unwrap();
                let mut buf = [0u8; 512];
                let _ = s.read(&mut buf).await;
                match reply {
                    Some(r) => {
                        let _ = s.write_all(r).await;
                    }
                    // A wedged API: the connection is held, nothing is answered.
                    None => held.push(s),
                }
            }
        });
        addr
    }

    #[tokio::test]
    async fn health_needs_a_200() {
        let ok = server(Some(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n")).await;
        assert!(health(ok).await.is_ok());
        let bad = server(Some(b"HTTP/1.1 503 Service Unavailable\r\n\r\n")).await;
        assert!(health(bad).await.is_err());
    }

    #[tokio::test(start_paused = true)]
    async fn a_wedged_api_withholds_its_beat() {
        let liveness = Liveness::new(Duration::from_millis(400));
        let wedged = server(None).await;
        let stop = CancellationToken::new();
        let probe = tokio::spawn(api(wedged, liveness.register("api"), stop.clone()));
        tokio::time::sleep(Duration::from_secs(1)).await;
        assert_eq!(liveness.stale(tokio::time::Instant::now()), ["api"]);
        stop.cancel();
        probe.await.unwrap();
    }

    #[tokio::test(start_paused = true)]
    async fn an_answering_api_keeps_beating() {
        let liveness = Liveness::new(Duration::from_millis(400));
        let ok = server(Some(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n")).await;
        let stop = CancellationToken::new();
        let probe = tokio::spawn(api(ok, liveness.register("api"), stop.clone()));
        tokio::time::sleep(Duration::from_secs(1)).await;
        assert!(liveness.stale(tokio::time::Instant::now()).is_empty());
        stop.cancel();
        probe.await.unwrap();
    }
}
