//! `hardware-sim terminal --replay FILE`: plays the terminal side of a capture recorded by
//! `hardware-sim tap` against a cash register (TCP). Each ECR→PT record is waited for (the
//! ECR's command or acknowledgement, compared with the capture), each PT→ECR record is sent
//! as recorded (secrets stay masked). Differences are reported, not fatal: the point is to
//! show a technician where a cash register leaves the recorded conversation. A capture of
//! several connections is played one recorded connection per connection, each dropped at
//! its end as it was in the field (a lost completion stays lost, and the cash register's
//! recovery meets the recorded recovery).

use std::{io::Write, net::SocketAddr, sync::Arc};

use bytes::BytesMut;
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::{TcpListener, TcpStream},
};
use zvt::{Apdu, frame::tcp::TcpDecoder, transport::redact};

use crate::{
    tap::CaptureRecord,
    zvtlog::{self, Direction},
};

/// A running replay.
#[derive(Debug)]
pub struct Replay {
    addr: SocketAddr,
    task: tokio::task::JoinHandle<()>,
}

impl Replay {
    /// Listens on `addr` and plays `records` to every cash register that connects, one
    /// connection at a time. `quiet` hides the conversation.
    pub async fn start(
        addr: SocketAddr,
        records: Vec<CaptureRecord>,
        quiet: bool,
    ) -> std::io::Result<Self> {
        let listener = TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let sessions = Arc::new(sessions(records));
        let task = tokio::spawn(async move {
            let mut next = 0;
            loop {
                let Ok((ecr, _)) = listener.accept().await else {
                    continue;
                };
                let _ = ecr.set_nodelay(true);
                // Each recorded connection to one connection; the last one again after that.
                let session = &sessions[next.min(sessions.len() - 1)];
                next += 1;
                let outcome = play(ecr, session, quiet).await;
                say(quiet, &format!("replay ended: {outcome}"));
            }
        });
        Ok(Self { addr, task })
    }

    /// The address cash registers connect to.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }
}

impl Drop for Replay {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn say(quiet: bool, line: &str) {
    if quiet {
        return;
    }
    let mut out = std::io::stdout().lock();
    let _ = writeln!(
        out,
        "{} {line}",
        chrono::Local::now().format("%H:%M:%S%.3f")
    );
    let _ = out.flush();
}

async fn next_apdu(
    ecr: &mut TcpStream,
    rx: &mut BytesMut,
    decoder: &mut TcpDecoder,
) -> Result<Vec<u8>, String> {
    loop {
        match decoder.decode(rx) {
            Ok(Some(a)) => return Ok(a.to_vec()),
            Ok(None) => {}
            Err(e) => return Err(format!("undecodable stream from the ECR: {e}")),
        }
        let n = ecr
            .read_buf(rx)
            .await
            .map_err(|e| format!("read failed: {e}"))?;
        if n == 0 {
            return Err("the ECR closed the connection".into());
        }
    }
}

/// Plays the capture on one connection; returns how it ended, in words.
/// The records cut into the tap's connections, in order (never empty).
fn sessions(records: Vec<CaptureRecord>) -> Vec<Vec<CaptureRecord>> {
    let mut out: Vec<Vec<CaptureRecord>> = Vec::new();
    for r in records {
        match out.last_mut() {
            Some(s) if s.last().is_some_and(|l| l.conn == r.conn) => s.push(r),
            _ => out.push(vec![r]),
        }
    }
    if out.is_empty() {
        out.push(Vec::new());
    }
    out
}

async fn play(mut ecr: TcpStream, records: &[CaptureRecord], quiet: bool) -> String {
    let mut rx = BytesMut::new();
    let mut decoder = TcpDecoder::new();
    let mut differences = 0;
    for (i, rec) in records.iter().enumerate() {
        let want = match rec.bytes() {
            Ok(b) => b,
            Err(e) => return format!("record {}: {e}", i + 1),
        };
        match rec.dir {
            Direction::PtToEcr => {
                if let Err(e) = ecr.write_all(&want).await {
                    return format!("write failed: {e}");
                }
                say(quiet, &rec.text);
            }
            Direction::EcrToPt => {
                let got = match next_apdu(&mut ecr, &mut rx, &mut decoder).await {
                    Ok(g) => g,
                    Err(e) => return format!("{e} at record {}", i + 1),
                };
                let text = match Apdu::decode(&got) {
                    Ok(a) => zvtlog::describe(Direction::EcrToPt, &a),
                    Err(e) => format!("ECR→PT undecodable: {e}"),
                };
                say(quiet, &text);
                if redact::masked(&got) != want {
                    differences += 1;
                    say(
                        quiet,
                        &format!("differs from the capture, which had: {}", rec.text),
                    );
                }
            }
        }
    }
    format!(
        "all {} records played, {differences} differences",
        records.len()
    )
}
