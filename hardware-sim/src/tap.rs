//! `hardware-sim tap`: a TCP man in the middle between a cash register and a ZVT terminal
//! (real or simulated) for technicians. Bytes are forwarded unchanged in both directions;
//! each APDU is shown in words as it passes and recorded in a capture file.
//!
//! Capture file: JSON lines, one per APDU, in the order they crossed the tap:
//! `{"t_ms":12,"ts":"2026-…Z","dir":"ecr_to_pt","apdu":"06 01 07 …","text":"ECR→PT 06 01 …"}`.
//! `apdu` is the APDU with its secrets overwritten the driver's way
//! ([`zvt::transport::redact::masked`]: password, typed digits, card number but the last
//! 4, track data): it still decodes, so `hardware-sim terminal --replay` can play it.

use std::{net::SocketAddr, path::PathBuf, sync::Arc, time::Instant};

use bytes::BytesMut;
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::{
        TcpListener, TcpStream,
        tcp::{OwnedReadHalf, OwnedWriteHalf},
    },
    sync::Mutex,
};
use zvt::{Apdu, frame::tcp::TcpDecoder, transport::redact};

use crate::zvtlog::{self, Direction};

/// Command-line arguments of `hardware-sim tap`.
#[derive(Debug, clap::Args)]
pub struct TapArgs {
    /// Where the cash register connects, e.g. 127.0.0.1:20008.
    #[arg(long, value_name = "ADDR")]
    pub listen: SocketAddr,
    /// The terminal's address, e.g. 192.168.1.50:20007.
    #[arg(long = "to", value_name = "TERMINAL_ADDR")]
    pub to: SocketAddr,
    /// Capture file (JSON lines; appended to). Default: zvt-capture.jsonl.
    #[arg(long, value_name = "FILE", default_value = "zvt-capture.jsonl")]
    pub capture: PathBuf,
    /// Do not show the conversation, only record it.
    #[arg(long)]
    pub quiet: bool,
}

/// One recorded APDU.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct CaptureRecord {
    /// Milliseconds since the tap started.
    pub t_ms: u64,
    /// Wall-clock time, RFC 3339.
    pub ts: String,
    /// Which way it went.
    pub dir: Direction,
    /// The APDU as hex, secrets overwritten.
    pub apdu: String,
    /// The APDU in words.
    pub text: String,
}

impl CaptureRecord {
    /// The recorded (masked) APDU bytes.
    pub fn bytes(&self) -> Result<Vec<u8>, String> {
        self.apdu
            .split_whitespace()
            .map(|h| u8::from_str_radix(h, 16).map_err(|_| format!("bad hex byte {h:?}")))
            .collect()
    }
}

/// Reads a capture file.
pub fn read_capture(path: &std::path::Path) -> Result<Vec<CaptureRecord>, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .enumerate()
        .map(|(i, l)| {
            serde_json::from_str(l).map_err(|e| format!("{} line {}: {e}", path.display(), i + 1))
        })
        .collect()
}

fn hex(b: &[u8]) -> String {
    b.iter()
        .map(|b| format!("{b:02X}"))
        .collect::<Vec<_>>()
        .join(" ")
}

/// Where records go: the capture file and, unless quiet, stdout.
struct Recorder {
    file: std::fs::File,
    start: Instant,
    quiet: bool,
}

impl Recorder {
    fn record(&mut self, dir: Direction, raw: &[u8]) {
        use std::io::Write;
        let text = match Apdu::decode(raw) {
            Ok(a) => zvtlog::describe(dir, &a),
            Err(e) => format!("{} undecodable: {e}", dir.arrow()),
        };
        let rec = CaptureRecord {
            t_ms: self.start.elapsed().as_millis() as u64,
            ts: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            dir,
            apdu: hex(&redact::masked(raw)),
            text,
        };
        if let Ok(line) = serde_json::to_string(&rec)
            && let Err(error) = writeln!(self.file, "{line}").and_then(|_| self.file.flush())
        {
            tracing::warn!(%error, "Cannot write the capture file.");
        }
        if !self.quiet {
            let mut out = std::io::stdout().lock();
            let _ = writeln!(
                out,
                "{} {}",
                chrono::Local::now().format("%H:%M:%S%.3f"),
                rec.text
            );
            let _ = out.flush();
        }
    }
}

/// Copies `from` to `to` unchanged; every complete APDU is recorded as it passes.
async fn pump(
    mut from: OwnedReadHalf,
    mut to: OwnedWriteHalf,
    dir: Direction,
    recorder: Arc<Mutex<Recorder>>,
) -> std::io::Result<()> {
    let mut buf = vec![0u8; 4096];
    let mut pending = BytesMut::new();
    let mut decoder = TcpDecoder::new();
    loop {
        let n = from.read(&mut buf).await?;
        if n == 0 {
            let _ = to.shutdown().await;
            return Ok(());
        }
        // Recorded before it is forwarded, so the answer to it can never be recorded first.
        pending.extend_from_slice(&buf[..n]);
        loop {
            match decoder.decode(&mut pending) {
                Ok(Some(apdu)) => recorder.lock().await.record(dir, &apdu),
                Ok(None) => break,
                Err(error) => {
                    // Still forwarded unchanged; only the decoding view is lost.
                    tracing::warn!(%error, "Undecodable stream; not recorded further.");
                    pending.clear();
                    break;
                }
            }
        }
        to.write_all(&buf[..n]).await?;
    }
}

/// A running tap.
#[derive(Debug)]
pub struct Tap {
    addr: SocketAddr,
    task: tokio::task::JoinHandle<()>,
}

impl Tap {
    /// Starts a tap listening on `listen` (port 0 picks one) that forwards to `to` and
    /// appends to `capture`.
    pub async fn start(
        listen: SocketAddr,
        to: SocketAddr,
        capture: PathBuf,
        quiet: bool,
    ) -> std::io::Result<Self> {
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&capture)?;
        let recorder = Arc::new(Mutex::new(Recorder {
            file,
            start: Instant::now(),
            quiet,
        }));
        let listener = TcpListener::bind(listen).await?;
        let addr = listener.local_addr()?;
        let task = tokio::spawn(async move {
            loop {
                let Ok((ecr, peer)) = listener.accept().await else {
                    continue;
                };
                let pt = match TcpStream::connect(to).await {
                    Ok(pt) => pt,
                    Err(error) => {
                        tracing::warn!(%to, %error, "Terminal unreachable; ECR connection closed.");
                        continue;
                    }
                };
                tracing::info!(%peer, %to, "Tapping a connection.");
                let _ = ecr.set_nodelay(true);
                let _ = pt.set_nodelay(true);
                let (er, ew) = ecr.into_split();
                let (pr, pw) = pt.into_split();
                let r = recorder.clone();
                tokio::spawn(pump(er, pw, Direction::EcrToPt, r));
                let r = recorder.clone();
                tokio::spawn(pump(pr, ew, Direction::PtToEcr, r));
            }
        });
        Ok(Self { addr, task })
    }

    /// The address cash registers connect to.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }
}

impl Drop for Tap {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Runs `hardware-sim tap` until Ctrl-C or SIGTERM.
pub async fn run(args: TapArgs) -> std::io::Result<()> {
    let tap = Tap::start(args.listen, args.to, args.capture.clone(), args.quiet).await?;
    println!(
        "ZVT tap listening on {}, forwarding to {}, capture {}",
        tap.addr(),
        args.to,
        args.capture.display()
    );
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    tokio::select! {
        r = tokio::signal::ctrl_c() => r?,
        _ = term.recv() => {}
    }
    Ok(())
}
