//! Opening the byte link to the terminal: a TCP connection or a serial port (USB-CDC,
//! RS-232 or a pseudo-terminal), each with its framing.

use std::{io, path::PathBuf, pin::Pin, task, time::Duration};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio_serial::{SerialPort, SerialPortBuilderExt, SerialStream};

/// Where the terminal is and how to reach it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Endpoint {
    /// ZVT over TCP (PA00P016 ch. 3): plain APDUs, acknowledged with `80 00 00`.
    Tcp {
        /// `host:port`; the usual port is 20007.
        addr: String,
    },
    /// ZVT over a serial line (PA00P016 ch. 2): DLE/STX framing, CRC, ACK/NAK; 8N2.
    Serial {
        /// Device path, e.g. `/dev/lane/terminal` (a stable udev symlink) or a pty link.
        path: PathBuf,
        /// Line speed; 9600 unless the terminal was reconfigured.
        baud: u32,
    },
}

impl Endpoint {
    /// True for a serial endpoint (which needs link-level ACK/NAK framing).
    pub fn is_serial(&self) -> bool {
        matches!(self, Self::Serial { .. })
    }
}

impl std::fmt::Display for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Tcp { addr } => write!(f, "tcp://{addr}"),
            Self::Serial { path, baud } => write!(f, "serial://{}@{baud}", path.display()),
        }
    }
}

/// An open link: either kind of stream behind one type.
#[derive(Debug)]
pub enum Link {
    /// A TCP connection.
    Tcp(tokio::net::TcpStream),
    /// A serial port or pty.
    Serial(SerialStream),
}

/// Opens the link, bounded by `timeout`.
pub async fn open(endpoint: &Endpoint, timeout: Duration) -> io::Result<Link> {
    let fut = async {
        match endpoint {
            Endpoint::Tcp { addr } => {
                let stream = tokio::net::TcpStream::connect(addr.as_str()).await?;
                // ZVT messages are small and latency matters more than batching.
                stream.set_nodelay(true)?;
                Ok(Link::Tcp(stream))
            }
            Endpoint::Serial { path, baud } => {
                let path = path.to_string_lossy().into_owned();
                // 8N2 without flow control, as terminals expect (ecrterm, zvtlib).
                let mut port = tokio_serial::new(path, *baud)
                    .data_bits(tokio_serial::DataBits::Eight)
                    .parity(tokio_serial::Parity::None)
                    .stop_bits(tokio_serial::StopBits::Two)
                    .flow_control(tokio_serial::FlowControl::None)
                    .open_native_async()
                    .map_err(io::Error::from)?;
                // Modem lines do not exist on a pty; a failure here is harmless there.
                if let Err(error) = port.write_data_terminal_ready(true) {
                    tracing::debug!(%error, "Cannot raise DTR.");
                }
                if let Err(error) = port.write_request_to_send(true) {
                    tracing::debug!(%error, "Cannot raise RTS.");
                }
                // Bytes left from before we opened the port belong to nobody's exchange.
                let _ = port.clear(tokio_serial::ClearBuffer::Input);
                Ok(Link::Serial(port))
            }
        }
    };
    match tokio::time::timeout(timeout, fut).await {
        Ok(r) => r,
        Err(_) => Err(io::Error::new(io::ErrorKind::TimedOut, "connect timed out")),
    }
}

impl AsyncRead for Link {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut task::Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> task::Poll<io::Result<()>> {
        match self.get_mut() {
            Self::Tcp(s) => Pin::new(s).poll_read(cx, buf),
            Self::Serial(s) => Pin::new(s).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Link {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut task::Context<'_>,
        buf: &[u8],
    ) -> task::Poll<io::Result<usize>> {
        match self.get_mut() {
            Self::Tcp(s) => Pin::new(s).poll_write(cx, buf),
            Self::Serial(s) => Pin::new(s).poll_write(cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut task::Context<'_>) -> task::Poll<io::Result<()>> {
        match self.get_mut() {
            Self::Tcp(s) => Pin::new(s).poll_flush(cx),
            Self::Serial(s) => Pin::new(s).poll_flush(cx),
        }
    }

    fn poll_shutdown(
        self: Pin<&mut Self>,
        cx: &mut task::Context<'_>,
    ) -> task::Poll<io::Result<()>> {
        match self.get_mut() {
            Self::Tcp(s) => Pin::new(s).poll_shutdown(cx),
            Self::Serial(s) => Pin::new(s).poll_shutdown(cx),
        }
    }
}
