//! The simulated serial reader: a pty pair whose slave is published behind a symlink.

use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use tokio::io::AsyncWriteExt;
use tokio_serial::{SerialPort, SerialStream};

use super::cards;

/// How the simulated reader frames its reads.
#[derive(Clone, Debug)]
pub struct SimReaderConfig {
    /// Sent before each scanned code (scanners can be configured with one).
    pub scan_prefix: String,
    /// Sent after each scanned code, before the line end.
    pub scan_suffix: String,
    /// The line end after each read.
    pub line_end: &'static [u8],
}

impl Default for SimReaderConfig {
    fn default() -> Self {
        Self {
            scan_prefix: String::new(),
            scan_suffix: String::new(),
            line_end: b"\r\n",
        }
    }
}

/// A simulated serial MSR / scanner. The agent opens [`SimReader::link`] like a USB serial
/// port; [`SimReader::unplug`] and [`SimReader::replug`] behave like pulling the cable and
/// plugging it into another port (the kernel would give it a new ttyUSB name).
#[derive(Debug)]
pub struct SimReader {
    link: PathBuf,
    config: SimReaderConfig,
    master: Option<SerialStream>,
    slave_path: Option<PathBuf>,
}

impl SimReader {
    /// Creates a pty pair and points `link` at its slave (replacing whatever `link` was).
    ///
    /// # Errors
    /// When the pty cannot be created or the symlink cannot be written.
    pub async fn start(link: impl Into<PathBuf>, config: SimReaderConfig) -> io::Result<Self> {
        let mut reader = Self {
            link: link.into(),
            config,
            master: None,
            slave_path: None,
        };
        reader.plug()?;
        Ok(reader)
    }

    /// The symlink the agent opens.
    #[must_use]
    pub fn link(&self) -> &Path {
        &self.link
    }

    /// The current pty slave (`/dev/pts/N`), while plugged in.
    #[must_use]
    pub fn slave_path(&self) -> Option<&Path> {
        self.slave_path.as_deref()
    }

    /// Whether the reader is plugged in.
    #[must_use]
    pub fn is_plugged(&self) -> bool {
        self.master.is_some()
    }

    /// Swipes a card: `tracks` as the reader sends them (e.g. `%B…?;…?`), then the line end.
    ///
    /// # Errors
    /// `NotConnected` while unplugged, or the pty's write error.
    pub async fn swipe(&mut self, tracks: &str) -> io::Result<()> {
        let mut line = tracks.as_bytes().to_vec();
        line.extend_from_slice(self.config.line_end);
        self.send_raw(&line).await
    }

    /// Swipes the bank test card ([`cards::bank_card_tracks`]).
    ///
    /// # Errors
    /// As [`SimReader::swipe`].
    pub async fn swipe_bank_card(&mut self) -> io::Result<()> {
        self.swipe(&cards::bank_card_tracks()).await
    }

    /// Scans `code` with the configured prefix and suffix.
    ///
    /// # Errors
    /// As [`SimReader::swipe`].
    pub async fn scan(&mut self, code: &str) -> io::Result<()> {
        let line = format!(
            "{}{code}{}",
            self.config.scan_prefix, self.config.scan_suffix
        );
        self.swipe(&line).await
    }

    /// Sends a flood of `len` garbage bytes and then a line end.
    ///
    /// # Errors
    /// As [`SimReader::swipe`].
    pub async fn flood(&mut self, len: usize, seed: u64) -> io::Result<()> {
        let mut bytes = cards::garbage(len, seed);
        bytes.extend_from_slice(self.config.line_end);
        self.send_raw(&bytes).await
    }

    /// Sends `bytes` exactly as given.
    ///
    /// # Errors
    /// `NotConnected` while unplugged, or the pty's write error.
    pub async fn send_raw(&mut self, bytes: &[u8]) -> io::Result<()> {
        let master = self
            .master
            .as_mut()
            .ok_or_else(|| io::Error::new(io::ErrorKind::NotConnected, "reader is unplugged"))?;
        master.write_all(bytes).await?;
        master.flush().await
    }

    /// Pulls the cable: closes the pty (the agent's reads fail with EIO) and removes the link.
    ///
    /// # Errors
    /// When the link cannot be removed.
    pub async fn unplug(&mut self) -> io::Result<()> {
        self.master = None;
        self.slave_path = None;
        match tokio::fs::remove_file(&self.link).await {
            Err(error) if error.kind() != io::ErrorKind::NotFound => Err(error),
            _ => Ok(()),
        }
    }

    /// Plugs the reader back in: a new pty (a new `/dev/pts/N`) and the link moved to it.
    ///
    /// # Errors
    /// When the pty cannot be created or the link cannot be written.
    pub async fn replug(&mut self) -> io::Result<()> {
        self.unplug().await?;
        self.plug()
    }

    fn plug(&mut self) -> io::Result<()> {
        let (master, slave) = SerialStream::pair().map_err(io::Error::other)?;
        let slave_path = slave
            .name()
            .map(PathBuf::from)
            .ok_or_else(|| io::Error::other("pty slave has no name"))?;
        // The agent opens the slave by path; our copy would only hold it open.
        drop(slave);
        publish_link(&slave_path, &self.link)?;
        self.master = Some(master);
        self.slave_path = Some(slave_path);
        Ok(())
    }
}

impl Drop for SimReader {
    fn drop(&mut self) {
        if self.master.is_some() {
            let _ = std::fs::remove_file(&self.link);
        }
    }
}

/// Points `link` at `target` atomically (symlink beside it, then rename), so an opener never
/// sees a missing or half-written link.
fn publish_link(target: &Path, link: &Path) -> io::Result<()> {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let name = link
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("reader");
    let temp = link.with_file_name(format!(
        ".{name}.{}.{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    ));
    std::os::unix::fs::symlink(target, &temp)?;
    std::fs::rename(&temp, link).inspect_err(|_| {
        let _ = std::fs::remove_file(&temp);
    })
}
