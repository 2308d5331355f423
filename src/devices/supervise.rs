//! One supervisor task per reader: find, open, read, notice the unplug, and start over.
//!
//! States move Down → Up on open, Up ⇄ Degraded on input quality, and back to Down on EOF,
//! a read error or the device path disappearing (checked every `path_check`). While Down the
//! task polls the locator with the shared backoff policy capped at `poll_cap`, so an absent
//! device costs a few stat calls per second and no spinning (reliability.md P5.1).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use cardreader::{ClassifiedRead, Classifier};
use tokio::io::AsyncReadExt;
use tokio::time::{Instant, MissedTickBehavior};
use tokio_util::sync::CancellationToken;
use zeroize::Zeroize;

use super::SupervisorOptions;
use super::health::{DeviceState, HealthTable};
use super::pipeline::{Output, Pipeline};
use super::spec::{DeviceLocator, ReaderKind, ReaderSpec};

/// Why a session with an open device ended.
enum End {
    Shutdown,
    Gone(String),
}

/// Everything a supervisor task needs.
pub(crate) struct Supervisor {
    pub(crate) spec: ReaderSpec,
    pub(crate) table: HealthTable,
    pub(crate) classifier: Arc<Classifier>,
    pub(crate) options: SupervisorOptions,
    pub(crate) cancel: CancellationToken,
}

/// A device opened for reading.
enum Opened {
    Serial(tokio_serial::SerialStream),
    Wedge {
        stream: evdev::raw_stream::EventStream,
        grabbed: Result<(), String>,
    },
}

impl Supervisor {
    pub(crate) async fn run(self) {
        let name = self.spec.name.clone();
        let mut attempt: u32 = 0;
        loop {
            if self.cancel.is_cancelled() {
                return;
            }
            match self.open() {
                Ok((opened, path)) => {
                    let started = Instant::now();
                    match self.session(opened, &path).await {
                        End::Shutdown => return,
                        End::Gone(error) => {
                            self.table.set_state(&name, DeviceState::Down, Some(error))
                        }
                    }
                    // A device that dies right after every open must not be reopened in a
                    // tight loop; one that ran for a while starts the polling afresh.
                    if started.elapsed() > Duration::from_secs(1) {
                        attempt = 0;
                    }
                }
                Err(error) => self.table.attempt_failed(&name, error),
            }
            let delay = self.options.poll.ceiling(attempt);
            attempt = attempt.saturating_add(1);
            tokio::select! {
                () = self.cancel.cancelled() => return,
                () = tokio::time::sleep(delay) => {}
            }
        }
    }

    fn open(&self) -> Result<(Opened, PathBuf), String> {
        let path = self.spec.device.resolve().map_err(|e| e.to_string())?;
        let opened = match self.spec.kind {
            ReaderKind::SerialMsr | ReaderKind::SerialScanner => {
                let builder = tokio_serial::new(path.to_string_lossy(), self.spec.baud);
                let port = tokio_serial::SerialStream::open(&builder)
                    .map_err(|e| format!("open {}: {e}", path.display()))?;
                Opened::Serial(port)
            }
            ReaderKind::HidWedge => {
                let mut device = evdev::raw_stream::RawDevice::open(&path)
                    .map_err(|e| format!("open {}: {e}", path.display()))?;
                // Exclusive, so swipes never reach a focused window (payments-practice.md §4).
                let grabbed = device
                    .grab()
                    .map_err(|e| format!("exclusive grab of {} failed: {e}", path.display()));
                let stream = device
                    .into_event_stream()
                    .map_err(|e| format!("watch {}: {e}", path.display()))?;
                Opened::Wedge { stream, grabbed }
            }
        };
        Ok((opened, path))
    }

    async fn session(&self, opened: Opened, path: &Path) -> End {
        let name = self.spec.name.as_str();
        let mut pipeline = Pipeline::new(&self.spec, Arc::clone(&self.classifier));
        let mut quality = Quality {
            rejected_in_row: 0,
            grab_error: None,
        };
        match &opened {
            Opened::Wedge {
                grabbed: Err(error),
                ..
            } => {
                quality.grab_error = Some(error.clone());
                self.table
                    .set_state(name, DeviceState::Degraded, Some(error.clone()));
            }
            _ => self.table.set_state(name, DeviceState::Up, None),
        }
        tracing::debug!(device = name, path = %path.display(), "Reader opened.");
        let mut check = tokio::time::interval(self.options.path_check);
        check.set_missed_tick_behavior(MissedTickBehavior::Delay);
        let mut idle_deadline: Option<Instant> = None;
        let mut buf = [0u8; 256];
        let (mut serial, mut wedge) = match opened {
            Opened::Serial(port) => (Some(port), None),
            Opened::Wedge { stream, .. } => (None, Some(stream)),
        };
        let end = loop {
            let outputs = tokio::select! {
                () = self.cancel.cancelled() => break End::Shutdown,
                read = read_serial(serial.as_mut(), &mut buf) => match read {
                    Ok(0) => break End::Gone("end of file: the device was closed".to_owned()),
                    Ok(n) => {
                        let outputs = pipeline.push_bytes(&buf[..n]);
                        buf[..n].zeroize();
                        outputs
                    }
                    Err(error) => break End::Gone(format!("read failed: {error}")),
                },
                event = next_wedge_event(wedge.as_mut()) => match event {
                    Ok(event) => pipeline.push_event(&event),
                    Err(error) => break End::Gone(format!("read failed: {error}")),
                },
                _ = check.tick() => {
                    self.table.tick(name);
                    if !still_there(&self.spec.device, path) {
                        break End::Gone(format!("{} disappeared", self.spec.device));
                    }
                    continue;
                }
                () = sleep_until_some(idle_deadline) => {
                    idle_deadline = None;
                    pipeline.flush()
                }
            };
            if pipeline.is_pending() && idle_deadline.is_none() {
                idle_deadline = Some(Instant::now() + self.options.idle_flush);
            }
            self.publish(outputs, &mut quality);
        };
        pipeline.reset();
        end
    }

    fn publish(&self, outputs: Vec<Output>, quality: &mut Quality) {
        let name = self.spec.name.as_str();
        for output in outputs {
            match output {
                Output::Read(read) => {
                    quality.rejected_in_row = 0;
                    log_read(name, &read);
                    self.table.read(name, read);
                    if quality.grab_error.is_none()
                        && self.table.state(name) == Some(DeviceState::Degraded)
                    {
                        self.table.set_state(name, DeviceState::Up, None);
                    }
                }
                Output::Rejected(error) => {
                    quality.rejected_in_row += 1;
                    tracing::debug!(device = name, %error, "Reader input rejected.");
                    self.table.set_error(name, error);
                    if quality.rejected_in_row >= self.options.degraded_after {
                        let reason =
                            format!("{} unreadable reads in a row", quality.rejected_in_row);
                        self.table
                            .set_state(name, DeviceState::Degraded, Some(reason));
                    }
                }
            }
        }
    }
}

struct Quality {
    rejected_in_row: u32,
    grab_error: Option<String>,
}

fn log_read(name: &str, read: &ClassifiedRead) {
    match read {
        ClassifiedRead::GiftCard { code, source } => {
            tracing::info!(device = name, code = %code.masked(), ?source, "Gift card read.");
        }
        ClassifiedRead::MemberCard { id, source } => {
            tracing::info!(device = name, member = %id.masked(), ?source, "Member card read.");
        }
        ClassifiedRead::ItemCode { code } => {
            tracing::info!(device = name, code = %code, "Item barcode scanned.");
        }
        ClassifiedRead::PaymentCard { source } => tracing::warn!(
            device = name,
            ?source,
            "Bank card presented at a reader; its data was discarded and the cashier is told to use the terminal."
        ),
        ClassifiedRead::Unknown { source } => {
            tracing::info!(device = name, ?source, "Unrecognised read; nothing kept.")
        }
    }
}

async fn read_serial(
    port: Option<&mut tokio_serial::SerialStream>,
    buf: &mut [u8],
) -> std::io::Result<usize> {
    match port {
        Some(port) => port.read(buf).await,
        None => std::future::pending().await,
    }
}

async fn next_wedge_event(
    stream: Option<&mut evdev::raw_stream::EventStream>,
) -> std::io::Result<cardreader::wedge::InputEvent> {
    let Some(stream) = stream else {
        return std::future::pending().await;
    };
    let event = stream.next_event().await?;
    let since_epoch = event
        .timestamp()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    Ok(cardreader::wedge::InputEvent {
        seconds: i64::try_from(since_epoch.as_secs()).unwrap_or(i64::MAX),
        micros: i64::from(since_epoch.subsec_micros()),
        kind: event.event_type().0,
        code: event.code(),
        value: event.value(),
    })
}

async fn sleep_until_some(deadline: Option<Instant>) {
    match deadline {
        Some(deadline) => tokio::time::sleep_until(deadline).await,
        None => std::future::pending().await,
    }
}

/// Whether the opened device is still where the locator says: a moved or removed symlink
/// means the device was unplugged (or replugged elsewhere) even if the old fd stays quiet.
fn still_there(locator: &DeviceLocator, opened: &Path) -> bool {
    match locator {
        DeviceLocator::Path(path) => std::fs::canonicalize(path).is_ok_and(|now| now == opened),
        DeviceLocator::Usb { .. } => opened.exists(),
    }
}
