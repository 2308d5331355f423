//! The PT's side of the link layer (PA00P016 rev. 04): on serial, ACK/NAK every frame and
//! repeat our own frames on NAK or after T3 (at most 3 transmissions); on TCP, plain APDUs.
//! Link faults (NAK storms, bad CRCs, byte gaps, stray bytes) are applied here.

use std::time::Duration;

use bytes::{Bytes, BytesMut};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use zvt::{
    Apdu,
    frame::{
        serial::{self, ACK, NAK, SerialDecoder, SerialItem},
        tcp::{self, TcpDecoder},
    },
};

use super::{
    control::{SimControl, SimEvent},
    fault::Fault,
};
use crate::zvtlog::Direction;

/// How APDUs travel on this link.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Framing {
    /// DLE/STX frames with CRC and ACK/NAK.
    Serial,
    /// Plain APDUs.
    Tcp,
}

/// Why the link stopped.
#[derive(Debug)]
pub(crate) enum LinkError {
    /// The peer closed the connection.
    Closed,
    /// An I/O error.
    Io(std::io::Error),
    /// Our frame was not acknowledged after 3 transmissions.
    NoAck,
    /// The peer sent something that cannot be decoded and the stream cannot resync (TCP).
    Broken,
}

impl From<std::io::Error> for LinkError {
    fn from(e: std::io::Error) -> Self {
        Self::Io(e)
    }
}

/// The spec's limit: a frame is transmitted at most this many times.
const MAX_TRANSMISSIONS: u32 = 3;

/// Link faults pending; kept in the shared state so that an injection reaches the very
/// next frame, including the command frame itself.
#[derive(Debug, Default)]
pub(crate) struct LinkFaults {
    nak: u32,
    bad_crc: u32,
    gap: Option<Duration>,
    garbage: Option<Vec<u8>>,
}

impl LinkFaults {
    /// Arms a link-level fault; returns false for command-level faults.
    pub(crate) fn arm(&mut self, fault: &Fault) -> bool {
        match fault {
            Fault::Nak(n) => self.nak += n,
            Fault::BadCrc(n) => self.bad_crc += n,
            Fault::ByteGap(d) => self.gap = Some(*d),
            Fault::Garbage(g) => self.garbage = Some(g.clone()),
            _ => return false,
        }
        true
    }
}

/// One side of a ZVT link as the PT sees it.
pub(crate) struct PtLink<S> {
    io: S,
    framing: Framing,
    rx: BytesMut,
    serial: SerialDecoder,
    tcp: TcpDecoder,
    t3: Duration,
    inter_byte: Duration,
    control: SimControl,
}

impl<S: AsyncRead + AsyncWrite + Unpin> PtLink<S> {
    pub(crate) fn new(
        io: S,
        framing: Framing,
        t3: Duration,
        inter_byte: Duration,
        control: SimControl,
    ) -> Self {
        Self {
            io,
            framing,
            rx: BytesMut::with_capacity(512),
            serial: SerialDecoder::new(),
            tcp: TcpDecoder::new(),
            t3,
            inter_byte,
            control,
        }
    }

    /// The link's framing.
    pub(crate) fn framing(&self) -> Framing {
        self.framing
    }

    /// Writes raw bytes (a banner).
    pub(crate) async fn write_raw(&mut self, bytes: &[u8]) -> Result<(), LinkError> {
        self.io.write_all(bytes).await?;
        self.io.flush().await?;
        self.control.count_wire(0, bytes.len());
        Ok(())
    }

    fn take_nak(&self) -> bool {
        let mut s = self.control.lock();
        if s.link_faults.nak == 0 {
            return false;
        }
        s.link_faults.nak -= 1;
        tracing::info!(left = s.link_faults.nak, "Fault: NAK instead of ACK.");
        true
    }

    async fn fill(&mut self) -> Result<(), LinkError> {
        let n = self.io.read_buf(&mut self.rx).await?;
        if n == 0 {
            return Err(LinkError::Closed);
        }
        self.control.count_wire(n, 0);
        Ok(())
    }

    /// Receives the next APDU from the ECR, link-acknowledging it on serial. Stray ACK/NAK
    /// bytes are ignored here.
    pub(crate) async fn recv(&mut self) -> Result<Apdu, LinkError> {
        let apdu = self.recv_apdu().await?;
        self.control
            .emit(SimEvent::Apdu(Direction::EcrToPt, apdu.clone()));
        Ok(apdu)
    }

    async fn nak(&mut self) -> Result<(), LinkError> {
        self.control.emit(SimEvent::Nak { sent: true });
        self.write_raw(&[NAK]).await
    }

    async fn recv_apdu(&mut self) -> Result<Apdu, LinkError> {
        loop {
            match self.framing {
                Framing::Tcp => match self.tcp.decode(&mut self.rx) {
                    Ok(Some(bytes)) => match Apdu::decode(&bytes) {
                        Ok(apdu) => return Ok(apdu),
                        Err(error) => {
                            tracing::warn!(%error, "Undecodable APDU dropped.");
                            continue;
                        }
                    },
                    Ok(None) => self.fill().await?,
                    Err(error) => {
                        tracing::warn!(%error, "TCP stream broken.");
                        return Err(LinkError::Broken);
                    }
                },
                Framing::Serial => match self.serial.decode(&mut self.rx) {
                    Ok(Some(SerialItem::Frame(bytes))) => {
                        if self.take_nak() {
                            self.nak().await?;
                            continue;
                        }
                        self.write_raw(&[ACK]).await?;
                        match Apdu::decode(&bytes) {
                            Ok(apdu) => return Ok(apdu),
                            Err(error) => {
                                tracing::warn!(%error, "Undecodable APDU dropped.");
                                continue;
                            }
                        }
                    }
                    Ok(Some(SerialItem::Ack | SerialItem::Nak)) => continue,
                    Ok(None) => {
                        if self.serial.in_frame() {
                            // A gap inside a frame beyond the limit breaks the frame.
                            match tokio::time::timeout(self.inter_byte, self.fill()).await {
                                Ok(r) => r?,
                                Err(_) => {
                                    tracing::warn!("Inter-byte gap exceeded; frame dropped.");
                                    self.serial.reset();
                                    self.nak().await?;
                                }
                            }
                        } else {
                            self.fill().await?;
                        }
                    }
                    Err(error) => {
                        tracing::warn!(%error, "Bad frame; NAK.");
                        self.nak().await?;
                    }
                },
            }
        }
    }

    /// Sends one APDU; on serial waits for the ECR's ACK and repeats the frame on NAK or
    /// after T3, at most 3 transmissions.
    pub(crate) async fn send(&mut self, apdu: &Apdu) -> Result<(), LinkError> {
        self.control
            .emit(SimEvent::Apdu(Direction::PtToEcr, apdu.clone()));
        let garbage = self.control.lock().link_faults.garbage.take();
        if let Some(g) = garbage {
            tracing::info!(len = g.len(), "Fault: stray bytes before the frame.");
            self.write_raw(&g).await?;
        }
        match self.framing {
            Framing::Tcp => {
                let mut out = BytesMut::new();
                tcp::encode_apdu(apdu, &mut out);
                self.write_raw(&out).await
            }
            Framing::Serial => {
                let mut frame = BytesMut::new();
                serial::encode_apdu(apdu, &mut frame);
                let frame = frame.freeze();
                for attempt in 1..=MAX_TRANSMISSIONS {
                    self.write_frame(&frame).await?;
                    match self.await_link_ack().await? {
                        Some(true) => return Ok(()),
                        Some(false) => {
                            self.control.emit(SimEvent::Nak { sent: false });
                            tracing::debug!(attempt, "NAK; repeating the frame.")
                        }
                        None => {
                            self.control.emit(SimEvent::AckTimeout);
                            tracing::debug!(attempt, "No ACK within T3; repeating.")
                        }
                    }
                }
                Err(LinkError::NoAck)
            }
        }
    }

    async fn write_frame(&mut self, frame: &Bytes) -> Result<(), LinkError> {
        let mut bytes = frame.to_vec();
        let (bad_crc, gap) = {
            let mut s = self.control.lock();
            let f = &mut s.link_faults;
            let bad = f.bad_crc > 0;
            f.bad_crc = f.bad_crc.saturating_sub(1);
            (bad, f.gap.take())
        };
        if bad_crc {
            tracing::info!("Fault: corrupting the CRC.");
            let n = bytes.len();
            bytes[n - 1] ^= 0xA5;
        }
        if let Some(gap) = gap {
            tracing::info!(
                gap_ms = gap.as_millis() as u64,
                "Fault: gap inside the frame."
            );
            let half = bytes.len() / 2;
            self.write_raw(&bytes[..half]).await?;
            tokio::time::sleep(gap).await;
            return self.write_raw(&bytes[half..]).await;
        }
        self.write_raw(&bytes).await
    }

    /// Waits up to T3 for ACK (`Some(true)`) or NAK (`Some(false)`). Frames arriving
    /// meanwhile are dropped: the ECR is not master now and will repeat them.
    async fn await_link_ack(&mut self) -> Result<Option<bool>, LinkError> {
        let deadline = tokio::time::Instant::now() + self.t3;
        loop {
            match self.serial.decode(&mut self.rx) {
                Ok(Some(SerialItem::Ack)) => return Ok(Some(true)),
                Ok(Some(SerialItem::Nak)) => return Ok(Some(false)),
                Ok(Some(SerialItem::Frame(_))) | Err(_) => continue,
                Ok(None) => {}
            }
            match tokio::time::timeout_at(deadline, self.fill()).await {
                Ok(r) => r?,
                Err(_) => return Ok(None),
            }
        }
    }
}
