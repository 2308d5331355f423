//! Where the simulated terminal listens: a TCP socket, or a pseudo-terminal published as a
//! symlink that the agent opens like a USB serial port.

use std::{
    io,
    net::SocketAddr,
    path::{Path, PathBuf},
};

use tokio::net::TcpListener;
use tokio_serial::{SerialPort, SerialStream};

use super::{
    control::{SimControl, SimEvent},
    session::{self, Framing},
};

/// Serves ECR connections on `listener`, one at a time: a new connection replaces the old one,
/// as a real terminal's single ECR socket does when the ECR reconnects after a half-open link.
pub(crate) async fn serve_tcp(listener: TcpListener, control: SimControl) {
    // Aborts the current session when the accept loop itself is aborted (simulator stopped).
    struct Current(Option<tokio::task::JoinHandle<()>>);
    impl Drop for Current {
        fn drop(&mut self) {
            if let Some(t) = self.0.take() {
                t.abort();
            }
        }
    }
    let mut current = Current(None);
    loop {
        let (stream, peer) = match listener.accept().await {
            Ok(s) => s,
            Err(error) => {
                tracing::warn!(%error, "Accept failed.");
                continue;
            }
        };
        if let Some(old) = current.0.take() {
            old.abort();
        }
        let _ = stream.set_nodelay(true);
        tracing::info!(%peer, "ECR connected.");
        control.emit(SimEvent::LinkUp);
        let control = control.clone();
        current.0 = Some(tokio::spawn(async move {
            let end = session::serve(stream, Framing::Tcp, &control).await;
            tracing::info!(%peer, ?end, "ECR connection ended.");
        }));
    }
}

/// Binds a TCP listener.
pub(crate) async fn bind_tcp(addr: SocketAddr) -> io::Result<TcpListener> {
    TcpListener::bind(addr).await
}

/// A pty pair whose slave path is published at `link`.
pub(crate) struct Pty {
    pub(crate) master: SerialStream,
    // Kept open so that reads on the master do not fail while no ECR has the port open.
    pub(crate) slave: SerialStream,
}

/// Creates a pty pair and points the symlink `link` at its slave, atomically.
pub(crate) fn open_pty(link: &Path) -> io::Result<Pty> {
    let (master, slave) = SerialStream::pair().map_err(io::Error::other)?;
    let target = slave
        .name()
        .ok_or_else(|| io::Error::other("pty slave has no name"))?;
    publish_link(Path::new(&target), link)?;
    tracing::info!(link = %link.display(), pty = %target, "Pseudo-terminal published.");
    Ok(Pty { master, slave })
}

fn publish_link(target: &Path, link: &Path) -> io::Result<()> {
    let mut tmp = link.as_os_str().to_owned();
    tmp.push(format!(".{}.tmp", std::process::id()));
    let tmp = PathBuf::from(tmp);
    let _ = std::fs::remove_file(&tmp);
    std::os::unix::fs::symlink(target, &tmp)?;
    std::fs::rename(&tmp, link)
}

/// Serves the ECR on a pty published at `link`. A dropped link (fault or console) replaces
/// the pty, which the ECR sees as an unplugged port; it must reopen `link`.
pub(crate) async fn serve_pty(mut pty: Pty, link: PathBuf, control: SimControl) {
    loop {
        control.emit(SimEvent::LinkUp);
        let end = session::serve(&mut pty.master, Framing::Serial, &control).await;
        tracing::info!(?end, "Serial session ended.");
        // Unplug: the old pty dies with its master; a new one takes the link's place.
        loop {
            match open_pty(&link) {
                Ok(p) => {
                    pty = p;
                    break;
                }
                Err(error) => {
                    tracing::error!(%error, "Cannot recreate the pseudo-terminal.");
                    // Not a synchronisation sleep: a pause before retrying a failed syscall.
                    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
                }
            }
        }
    }
}
