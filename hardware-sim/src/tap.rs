//! `hardware-sim tap`: a man in the middle between a cash register and a ZVT terminal (real or
//! simulated) for technicians, over TCP (`--listen ADDR --to TERMINAL_ADDR`) or between two
//! serial devices (`--pty LINK --to-device /dev/ttyUSB0`: the cash register opens LINK, the
//! tap the terminal's port). Bytes are forwarded unchanged in both directions; each APDU is
//! shown in words as it passes and recorded in a capture file (on serial, the APDU inside each
//! frame; the link's ACK/NAK bytes are forwarded, not recorded).
//!
//! Capture file: JSON lines, one per APDU, in the order they crossed the tap:
//! `{"t_ms":12,"ts":"2026-…Z","dir":"ecr_to_pt","apdu":"06 01 07 …","text":"ECR→PT 06 01 …"}`.
//! `apdu` is the APDU with its secrets overwritten the driver's way
//! ([`zvt::transport::redact::masked`]: password, typed digits, card number but the last
//! 4, track data): it still decodes, so `hardware-sim terminal --replay` can play it.

use std::{net::SocketAddr, path::PathBuf, sync::Arc, time::Instant};

use bytes::BytesMut;
use tokio::{
    io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt},
    net::{TcpListener, TcpStream},
    sync::Mutex,
};
use tokio_serial::SerialPortBuilderExt;
use zvt::{
    Apdu,
    frame::{
        serial::{SerialDecoder, SerialItem},
        tcp::TcpDecoder,
    },
    transport::redact,
};

use crate::zvtlog::{self, Direction};

/// Command-line arguments of `hardware-sim tap`: TCP (`--listen` and `--to`) or serial
/// (`--pty` and `--to-device`).
#[derive(Debug, clap::Args)]
#[command(group(clap::ArgGroup::new("mode").required(true).args(["listen", "pty"])))]
pub struct TapArgs {
    /// TCP: where the cash register connects, e.g. 127.0.0.1:20008.
    #[arg(long, value_name = "ADDR", requires = "to")]
    pub listen: Option<SocketAddr>,
    /// TCP: the terminal's address, e.g. 192.168.1.50:20007.
    #[arg(long = "to", value_name = "TERMINAL_ADDR", requires = "listen")]
    pub to: Option<SocketAddr>,
    /// Serial: the symlink to a pseudo-terminal the cash register opens as its port.
    #[arg(
        long,
        value_name = "LINK",
        requires = "to_device",
        conflicts_with = "listen"
    )]
    pub pty: Option<PathBuf>,
    /// Serial: the terminal's serial device, e.g. /dev/ttyUSB0.
    #[arg(long, value_name = "DEVICE", requires = "pty")]
    pub to_device: Option<PathBuf>,
    /// Serial: the terminal's speed.
    #[arg(long, value_name = "BAUD", default_value_t = 9600)]
    pub baud: u32,
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
    /// Which connection of the tap it crossed (1, 2, …): a replay plays each connection's
    /// records to one connection of the cash register and then drops it, so a link lost in
    /// the field is lost again at the desk. 0 in captures from before the field existed.
    #[serde(default)]
    pub conn: u32,
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
    fn record(&mut self, conn: u32, dir: Direction, raw: &[u8]) {
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
            conn,
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

/// How the bytes on the line are cut into APDUs for the record.
enum Unframer {
    Tcp(TcpDecoder),
    Serial(SerialDecoder),
}

impl Unframer {
    /// The next complete APDU in `pending`; `Err` when the stream cannot be decoded.
    fn next(&mut self, pending: &mut BytesMut) -> Result<Option<bytes::Bytes>, String> {
        match self {
            Self::Tcp(d) => d.decode(pending).map_err(|e| e.to_string()),
            Self::Serial(d) => loop {
                match d.decode(pending) {
                    Ok(Some(SerialItem::Frame(apdu))) => return Ok(Some(apdu)),
                    // Link-level ACK/NAK bytes: forwarded, not APDUs.
                    Ok(Some(SerialItem::Ack | SerialItem::Nak)) => {}
                    Ok(None) => return Ok(None),
                    // A broken frame (bad CRC): the peer NAKs it; skip it in the record.
                    Err(_) => {}
                }
            },
        }
    }
}

/// Copies `from` to `to` unchanged; every complete APDU is recorded as it passes.
async fn pump(
    mut from: impl AsyncRead + Unpin,
    mut to: impl AsyncWrite + Unpin,
    (conn, dir): (u32, Direction),
    mut unframer: Unframer,
    recorder: Arc<Mutex<Recorder>>,
) -> std::io::Result<()> {
    let mut buf = vec![0u8; 4096];
    let mut pending = BytesMut::new();
    loop {
        let n = from.read(&mut buf).await?;
        if n == 0 {
            let _ = to.shutdown().await;
            return Ok(());
        }
        // Recorded before it is forwarded, so the answer to it can never be recorded first.
        pending.extend_from_slice(&buf[..n]);
        loop {
            match unframer.next(&mut pending) {
                Ok(Some(apdu)) => recorder.lock().await.record(conn, dir, &apdu),
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
        to.flush().await?;
    }
}

fn recorder(capture: &std::path::Path, quiet: bool) -> std::io::Result<Arc<Mutex<Recorder>>> {
    let file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(capture)?;
    Ok(Arc::new(Mutex::new(Recorder {
        file,
        start: Instant::now(),
        quiet,
    })))
}

/// A running serial tap: the cash register's pty on one side, the terminal's port on the
/// other.
#[derive(Debug)]
pub struct SerialTap {
    tasks: Vec<tokio::task::JoinHandle<std::io::Result<()>>>,
}

impl SerialTap {
    /// Publishes a pty at `link` for the cash register and opens `device` (the terminal) at
    /// `baud`; forwards between them and appends to `capture`.
    pub fn start(
        link: &std::path::Path,
        device: &std::path::Path,
        baud: u32,
        capture: PathBuf,
        quiet: bool,
    ) -> std::io::Result<Self> {
        let terminal = tokio_serial::new(device.to_string_lossy(), baud)
            .open_native_async()
            .map_err(|e| {
                std::io::Error::other(format!(
                    "cannot open the terminal's port {}: {e}",
                    device.display()
                ))
            })?;
        let recorder = recorder(&capture, quiet)?;
        let pty = crate::terminal::endpoint::open_pty(link)?;
        let (er, ew) = tokio::io::split(pty.master);
        let (pr, pw) = tokio::io::split(terminal);
        // The pty's slave stays open inside `open_pty`'s pair until the tap ends.
        let keep = pty.slave;
        let tasks = vec![
            tokio::spawn(pump(
                er,
                pw,
                (1, Direction::EcrToPt),
                Unframer::Serial(SerialDecoder::new()),
                recorder.clone(),
            )),
            tokio::spawn(async move {
                let r = pump(
                    pr,
                    ew,
                    (1, Direction::PtToEcr),
                    Unframer::Serial(SerialDecoder::new()),
                    recorder,
                )
                .await;
                drop(keep);
                r
            }),
        ];
        Ok(Self { tasks })
    }
}

impl Drop for SerialTap {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
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
        let recorder = recorder(&capture, quiet)?;
        let listener = TcpListener::bind(listen).await?;
        let addr = listener.local_addr()?;
        let task = tokio::spawn(async move {
            let mut conn = 0;
            loop {
                let Ok((ecr, peer)) = listener.accept().await else {
                    continue;
                };
                conn += 1;
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
                let tcp = || Unframer::Tcp(TcpDecoder::new());
                tokio::spawn(pump(er, pw, (conn, Direction::EcrToPt), tcp(), r));
                let r = recorder.clone();
                tokio::spawn(pump(pr, ew, (conn, Direction::PtToEcr), tcp(), r));
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
    // clap's groups guarantee one complete mode.
    let _running: Box<dyn std::fmt::Debug> = match (
        args.listen,
        args.to,
        &args.pty,
        &args.to_device,
    ) {
        (Some(listen), Some(to), _, _) => {
            let tap = Tap::start(listen, to, args.capture.clone(), args.quiet).await?;
            println!(
                "ZVT tap listening on {}, forwarding to {to}, capture {}",
                tap.addr(),
                args.capture.display()
            );
            Box::new(tap)
        }
        (_, _, Some(link), Some(device)) => {
            let tap = SerialTap::start(link, device, args.baud, args.capture.clone(), args.quiet)?;
            println!(
                "ZVT tap on {} (the cash register's port), forwarding to {} at {} baud, capture {}",
                link.display(),
                device.display(),
                args.baud,
                args.capture.display()
            );
            Box::new(tap)
        }
        _ => {
            return Err(std::io::Error::other(
                "give --listen and --to (TCP) or --pty and --to-device (serial)",
            ));
        }
    };
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    tokio::select! {
        r = tokio::signal::ctrl_c() => r?,
        _ = term.recv() => {}
    }
    Ok(())
}
