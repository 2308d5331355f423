//! [`Transport`]: one open byte stream running the sans-IO [`Exchange`] with real timers.
//!
//! Time comes from `tokio::time`, so tests can pause and advance it; the exchange's
//! `std::time::Instant`s are tokio instants converted with `into_std`/`from_std`.

use std::{io, time::Duration};

use bytes::{Bytes, BytesMut};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use tokio::io::{AsyncRead, AsyncWrite};

use super::{events::EventSink, redact};
use crate::{
    Apdu,
    command::EcrCommand,
    describe::Direction,
    exchange::{Event, Exchange, ExchangeConfig, ExchangeError, Input, LinkKind, Reply},
    frame::{
        serial::{NAK, SerialDecoder, SerialItem},
        tcp::TcpDecoder,
    },
};

/// Why running a command on a [`Transport`] failed. For a financial command the outcome is
/// then unknown.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TransportError {
    /// The exchange gave up (link error, T3 or T4 expiry, malformed final message).
    #[error(transparent)]
    Exchange(ExchangeError),
    /// The link failed (closed, I/O error, undecodable TCP stream).
    #[error("link failed: {0}")]
    Io(io::Error),
    /// The command could not be started (it does not encode).
    #[error("{0}")]
    Start(String),
}

/// Told of every APDU that crosses the link, either way, acknowledgements included (for a
/// decoded live view). Render it with [`crate::describe::describe`], which shows no secret;
/// never log the raw APDU.
pub type ApduTap = std::sync::Arc<dyn Fn(Direction, &Apdu) + Send + Sync>;

fn now() -> std::time::Instant {
    tokio::time::Instant::now().into_std()
}

/// A ZVT link over any byte stream (TCP, serial port, pty, in-memory duplex): decoders,
/// the [`Exchange`] and its timers. The [`super::Terminal`] adds connection management.
pub struct Transport<S> {
    link: S,
    kind: LinkKind,
    rx: BytesMut,
    serial: SerialDecoder,
    tcp: TcpDecoder,
    exchange: Exchange,
    inter_byte: Duration,
    tap: Option<ApduTap>,
    /// Our own serial frames, unframed again for the tap.
    tx_frames: SerialDecoder,
}

impl<S> std::fmt::Debug for Transport<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Transport")
            .field("kind", &self.kind)
            .finish_non_exhaustive()
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> Transport<S> {
    /// Wraps `link`; `inter_byte` is the largest gap allowed inside a serial frame.
    pub fn new(link: S, config: ExchangeConfig, inter_byte: Duration) -> Self {
        Self {
            kind: config.link,
            link,
            rx: BytesMut::with_capacity(1024),
            serial: SerialDecoder::new(),
            tcp: TcpDecoder::new(),
            exchange: Exchange::new(config),
            inter_byte,
            tap: None,
            tx_frames: SerialDecoder::new(),
        }
    }

    /// Reports every APDU to `tap` (see [`ApduTap`]).
    #[must_use]
    pub fn with_tap(mut self, tap: Option<ApduTap>) -> Self {
        self.tap = tap;
        self
    }

    fn tap_tx(&mut self, bytes: &Bytes) {
        let Some(tap) = &self.tap else { return };
        match self.kind {
            LinkKind::Tcp => {
                if let Ok(apdu) = Apdu::decode(bytes) {
                    tap(Direction::EcrToPt, &apdu);
                }
            }
            LinkKind::Serial => {
                let mut buf = BytesMut::from(&bytes[..]);
                while let Ok(Some(item)) = self.tx_frames.decode(&mut buf) {
                    if let SerialItem::Frame(b) = item
                        && let Ok(apdu) = Apdu::decode(&b)
                    {
                        tap(Direction::EcrToPt, &apdu);
                    }
                }
            }
        }
    }

    async fn write(&mut self, bytes: &Bytes) -> io::Result<()> {
        if tracing::enabled!(tracing::Level::TRACE) {
            // Our frames carry the ZVT password (06 00, 06 20, 06 30, 06 50): redacted too.
            let dump = match self.kind {
                LinkKind::Serial => redact::serial(bytes),
                LinkKind::Tcp => redact::apdu(bytes),
            };
            tracing::trace!(bytes = %dump, "TX.");
        }
        self.tap_tx(bytes);
        self.link.write_all(bytes).await?;
        self.link.flush().await
    }

    /// Writes what the exchange wants written.
    async fn flush_transmits(&mut self) -> io::Result<()> {
        while let Some(b) = self.exchange.poll_transmit() {
            self.write(&b).await?;
        }
        Ok(())
    }

    /// Hands events to the sink (each awaited before the ACK that follows it is written),
    /// keeping the final result aside.
    async fn drain_events(
        &mut self,
        sink: &mut impl EventSink,
        finished: &mut Option<Result<Reply, ExchangeError>>,
    ) {
        while let Some(ev) = self.exchange.poll_event() {
            match ev {
                Event::Finished(r) => *finished = Some(r),
                ev => {
                    log_event(&ev);
                    sink.on_event(&ev).await;
                }
            }
        }
    }

    /// Decodes what is buffered and feeds it to the exchange.
    fn decode_buffered(&mut self) -> io::Result<()> {
        loop {
            let input = match self.kind {
                LinkKind::Serial => match self.serial.decode(&mut self.rx) {
                    Ok(None) => return Ok(()),
                    Ok(Some(item)) => Input::from(item),
                    Err(e) => Input::Corrupt(e),
                },
                LinkKind::Tcp => match self.tcp.decode(&mut self.rx) {
                    Ok(None) => return Ok(()),
                    Ok(Some(apdu)) => Input::Apdu(apdu),
                    Err(e) => return Err(io::Error::new(io::ErrorKind::InvalidData, e)),
                },
            };
            if tracing::enabled!(tracing::Level::TRACE) {
                match &input {
                    Input::Apdu(b) => tracing::trace!(apdu = %redact::apdu(b), "RX."),
                    other => tracing::trace!(item = ?other, "RX."),
                }
            }
            if let (Some(tap), Input::Apdu(b)) = (&self.tap, &input)
                && let Ok(apdu) = Apdu::decode(b)
            {
                tap(Direction::PtToEcr, &apdu);
            }
            self.exchange.handle_input(input, now());
        }
    }

    /// Whether the peer closed the link, checked without waiting. Bytes that arrived while
    /// idle (an unsolicited message) are fed to the exchange and answered with the next
    /// command's transmits.
    pub async fn is_closed(&mut self) -> bool {
        match tokio::time::timeout(Duration::ZERO, self.link.read_buf(&mut self.rx)).await {
            Err(_) => false,
            Ok(Ok(0)) | Ok(Err(_)) => true,
            Ok(Ok(_)) => self.decode_buffered().is_err(),
        }
    }

    /// Gives the stream back.
    pub fn into_inner(self) -> S {
        self.link
    }

    /// Runs one command to its end: events go to `sink` (each awaited before its ACK is
    /// written); a notification on `abort` sends 06 B0 once.
    pub async fn run(
        &mut self,
        cmd: &EcrCommand,
        sink: &mut impl EventSink,
        abort: &tokio::sync::Notify,
    ) -> Result<Reply, TransportError> {
        self.exchange
            .start(cmd, now())
            .map_err(|e| TransportError::Start(e.to_string()))?;
        let mut finished = None;
        let mut abort_sent = false;
        let mut last_rx = tokio::time::Instant::now();
        loop {
            self.drain_events(sink, &mut finished).await;
            if let Err(e) = self.flush_transmits().await {
                return match finished {
                    // The reply is known; only the final ACK could not go out.
                    Some(Ok(reply)) => Ok(reply),
                    _ => Err(TransportError::Io(e)),
                };
            }
            if let Some(r) = &finished
                && self.exchange.is_idle()
            {
                return r.clone().map_err(TransportError::Exchange);
            }
            let timer = self
                .exchange
                .poll_timeout()
                .map(tokio::time::Instant::from_std);
            let gap = (self.kind == LinkKind::Serial && self.serial.in_frame())
                .then(|| last_rx + self.inter_byte);
            tokio::select! {
                read = self.link.read_buf(&mut self.rx) => {
                    let result = match read {
                        Ok(0) => Err(io::Error::new(io::ErrorKind::UnexpectedEof, "terminal closed the link")),
                        Ok(_) => {
                            last_rx = tokio::time::Instant::now();
                            self.decode_buffered()
                        }
                        Err(e) => Err(e),
                    };
                    if let Err(e) = result {
                        return match finished {
                            Some(Ok(reply)) => Ok(reply),
                            _ => Err(TransportError::Io(e)),
                        };
                    }
                }
                _ = sleep_opt(timer) => self.exchange.handle_timeout(now()),
                _ = sleep_opt(gap) => {
                    tracing::debug!("Inter-byte gap exceeded; frame dropped, NAK.");
                    self.serial.reset();
                    if let Err(e) = self.write(&Bytes::from_static(&[NAK])).await {
                        return Err(TransportError::Io(e));
                    }
                }
                _ = abort.notified(), if !abort_sent && finished.is_none() => {
                    abort_sent = true;
                    if let Err(e) = self.exchange.abort(now()) {
                        tracing::debug!(error = %e, "Abort not sent.");
                    }
                }
            }
        }
    }
}

async fn sleep_opt(at: Option<tokio::time::Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

fn log_event(ev: &Event) {
    match ev {
        Event::Intermediate(s) => tracing::debug!(status = s.status, "Intermediate status."),
        Event::StatusInformation(si) => tracing::debug!(
            result = ?si.result_code,
            receipt = ?si.receipt,
            trace = ?si.trace,
            "Status information."
        ),
        Event::PrintLine(_) | Event::PrintTextBlock(_) => tracing::trace!("Print."),
        Event::Unsolicited(m) => {
            // The control field only: the message may carry card data or typed digits.
            let control = m
                .to_apdu()
                .map(|a| format!("{:02X} {:02X}", a.control()[0], a.control()[1]))
                .unwrap_or_default();
            tracing::info!(%control, "Unsolicited message acknowledged.")
        }
        Event::Undecodable {
            class,
            instr,
            error,
        } => {
            tracing::warn!(?class, ?instr, %error, "Undecodable message acknowledged.")
        }
        Event::FrameRejected(e) => tracing::debug!(error = %e, "Broken frame rejected (NAK)."),
        Event::LinkFailed { transmissions } => {
            tracing::warn!(transmissions, "Acknowledgement frame not acknowledged.")
        }
        Event::AbortAccepted => tracing::info!("Terminal accepted the abort."),
        Event::AbortRefused(code) => tracing::info!(code, "Terminal refused the abort."),
        Event::Finished(_) => {}
    }
}
