//! What a reader is and where to find it: the config-facing types of device supervision.

use std::path::{Path, PathBuf};
use std::str::FromStr;

use cardreader::{LrcMode, ScannerFormat};

/// The kind of a lane device, as shown in health snapshots and `status`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DeviceKind {
    /// A serial magnetic-stripe reader (`serial-msr`).
    SerialMsr,
    /// A serial barcode scanner (`serial-scanner`).
    SerialScanner,
    /// A USB HID keyboard-wedge reader or scanner on evdev (`hid-wedge`).
    HidWedge,
    /// The payment terminal (reported by its driver through a [`super::DeviceReporter`]).
    Terminal,
}

impl DeviceKind {
    /// The config/status spelling: `serial-msr`, `serial-scanner`, `hid-wedge`, `terminal`.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::SerialMsr => "serial-msr",
            Self::SerialScanner => "serial-scanner",
            Self::HidWedge => "hid-wedge",
            Self::Terminal => "terminal",
        }
    }
}

impl std::fmt::Display for DeviceKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The kind of a reader (`[[reader]] kind`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ReaderKind {
    /// `serial-msr`: one line per swipe, ISO 7813 tracks.
    SerialMsr,
    /// `serial-scanner`: one line per scanned code.
    SerialScanner,
    /// `hid-wedge`: an evdev keyboard device, grabbed exclusively.
    HidWedge,
}

impl From<ReaderKind> for DeviceKind {
    fn from(kind: ReaderKind) -> Self {
        match kind {
            ReaderKind::SerialMsr => Self::SerialMsr,
            ReaderKind::SerialScanner => Self::SerialScanner,
            ReaderKind::HidWedge => Self::HidWedge,
        }
    }
}

/// A `kind` string that is not one of the three reader kinds.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unknown reader kind {0:?} (expected serial-msr, serial-scanner or hid-wedge)")]
pub struct UnknownReaderKind(pub String);

impl FromStr for ReaderKind {
    type Err = UnknownReaderKind;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "serial-msr" => Ok(Self::SerialMsr),
            "serial-scanner" => Ok(Self::SerialScanner),
            "hid-wedge" => Ok(Self::HidWedge),
            other => Err(UnknownReaderKind(other.to_owned())),
        }
    }
}

/// Where a device is: a stable path, or a USB identity resolved at every (re)open.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DeviceLocator {
    /// A stable path: `/dev/serial/by-id/…`, `/dev/input/by-id/…` or a udev symlink such as
    /// `/dev/lane/msr`. Symlinks are followed at every open, so a replug that renames
    /// `ttyUSB0` to `ttyUSB1` is followed.
    Path(PathBuf),
    /// A USB serial device by vendor id, product id and (optionally) serial number, found
    /// through sysfs enumeration (serial readers only).
    Usb {
        /// USB vendor id.
        vendor_id: u16,
        /// USB product id.
        product_id: u16,
        /// USB serial number; required when two devices share vendor and product id.
        serial_number: Option<String>,
    },
}

/// A `device` string that cannot be parsed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("device {0:?} is neither an absolute path nor usb:VID:PID[:SERIAL] (hex ids)")]
pub struct BadLocator(pub String);

impl FromStr for DeviceLocator {
    type Err = BadLocator;

    /// `"/dev/lane/msr"` → [`DeviceLocator::Path`]; `"usb:0801:0002"` or
    /// `"usb:0801:0002:SN123"` → [`DeviceLocator::Usb`] (ids in hex).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if let Some(rest) = s.strip_prefix("usb:") {
            let mut parts = rest.splitn(3, ':');
            let hex = |part: Option<&str>| {
                part.filter(|p| !p.is_empty() && p.len() <= 4)
                    .and_then(|p| u16::from_str_radix(p, 16).ok())
                    .ok_or_else(|| BadLocator(s.to_owned()))
            };
            let vendor_id = hex(parts.next())?;
            let product_id = hex(parts.next())?;
            let serial_number = parts.next().filter(|p| !p.is_empty()).map(str::to_owned);
            return Ok(Self::Usb {
                vendor_id,
                product_id,
                serial_number,
            });
        }
        if Path::new(s).is_absolute() {
            Ok(Self::Path(PathBuf::from(s)))
        } else {
            Err(BadLocator(s.to_owned()))
        }
    }
}

impl std::fmt::Display for DeviceLocator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Path(path) => write!(f, "{}", path.display()),
            Self::Usb {
                vendor_id,
                product_id,
                serial_number: None,
            } => write!(f, "usb:{vendor_id:04x}:{product_id:04x}"),
            Self::Usb {
                vendor_id,
                product_id,
                serial_number: Some(serial),
            } => {
                write!(f, "usb:{vendor_id:04x}:{product_id:04x}:{serial}")
            }
        }
    }
}

/// One reader to supervise. The config maps each `[[reader]]` table onto this.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReaderSpec {
    /// Unique name (`[[reader]] name`), used in events, health and logs.
    pub name: String,
    /// What it is (`[[reader]] kind`).
    pub kind: ReaderKind,
    /// Where it is (`[[reader]] device`).
    pub device: DeviceLocator,
    /// Serial speed; ignored for `hid-wedge`. Default 9600.
    pub baud: u32,
    /// Prefix/suffix of scanned codes (scanners and wedges).
    pub scanner: ScannerFormat,
    /// Whether the MSR sends an LRC after each track.
    pub lrc: LrcMode,
}

impl ReaderSpec {
    /// A spec with the defaults: 9600 baud, no scanner prefix/suffix, LRC auto-detected.
    #[must_use]
    pub fn new(name: impl Into<String>, kind: ReaderKind, device: DeviceLocator) -> Self {
        Self {
            name: name.into(),
            kind,
            device,
            baud: 9600,
            scanner: ScannerFormat::default(),
            lrc: LrcMode::Auto,
        }
    }
}

/// Why a locator does not lead to a device right now.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum LocateError {
    /// The path does not exist (unplugged, or the udev rule did not fire).
    #[error("{0} does not exist")]
    Missing(PathBuf),
    /// No USB serial port with this identity is attached.
    #[error("no USB serial port {0} is attached")]
    NoUsbMatch(String),
    /// More than one port matches; configure the serial number.
    #[error("{count} USB serial ports match {locator}; add the serial number")]
    Ambiguous {
        /// The locator.
        locator: String,
        /// How many matched.
        count: usize,
    },
    /// Enumerating serial ports failed.
    #[error("enumerating serial ports failed: {0}")]
    Enumerate(String),
}

impl DeviceLocator {
    /// The device node this locator leads to now, with symlinks resolved.
    ///
    /// # Errors
    /// [`LocateError`] when nothing (or more than one port) matches.
    pub fn resolve(&self) -> Result<PathBuf, LocateError> {
        match self {
            Self::Path(path) => {
                std::fs::canonicalize(path).map_err(|_| LocateError::Missing(path.clone()))
            }
            Self::Usb {
                vendor_id,
                product_id,
                serial_number,
            } => {
                let ports = serialport::available_ports()
                    .map_err(|e| LocateError::Enumerate(e.to_string()))?;
                let port = pick_usb_port(
                    &ports,
                    *vendor_id,
                    *product_id,
                    serial_number.as_deref(),
                    &self.to_string(),
                )?;
                std::fs::canonicalize(&port).map_err(|_| LocateError::Missing(port))
            }
        }
    }
}

/// Chooses the port matching a USB identity from an enumeration.
///
/// # Errors
/// [`LocateError::NoUsbMatch`] or [`LocateError::Ambiguous`].
pub fn pick_usb_port(
    ports: &[serialport::SerialPortInfo],
    vendor_id: u16,
    product_id: u16,
    serial_number: Option<&str>,
    locator: &str,
) -> Result<PathBuf, LocateError> {
    let matches: Vec<&serialport::SerialPortInfo> = ports
        .iter()
        .filter(|port| match &port.port_type {
            serialport::SerialPortType::UsbPort(usb) => {
                usb.vid == vendor_id
                    && usb.pid == product_id
                    && serial_number.is_none_or(|want| usb.serial_number.as_deref() == Some(want))
            }
            _ => false,
        })
        .collect();
    match matches.as_slice() {
        [] => Err(LocateError::NoUsbMatch(locator.to_owned())),
        [port] => Ok(PathBuf::from(&port.port_name)),
        many => Err(LocateError::Ambiguous {
            locator: locator.to_owned(),
            count: many.len(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use serialport::{SerialPortInfo, SerialPortType, UsbPortInfo};

    use super::*;

    fn usb(name: &str, vid: u16, pid: u16, serial: Option<&str>) -> SerialPortInfo {
        SerialPortInfo {
            port_name: name.to_owned(),
            port_type: SerialPortType::UsbPort(UsbPortInfo {
                vid,
                pid,
                serial_number: serial.map(str::to_owned),
                manufacturer: None,
                product: None,
            }),
        }
    }

    #[test]
    fn locators_parse_and_print() {
        assert_eq!(
            "/dev/lane/msr".parse(),
            Ok(DeviceLocator::Path("/dev/lane/msr".into()))
        );
        let usb: DeviceLocator = "usb:0801:0002:SN1".parse().unwrap();
        assert_eq!(
            usb,
            DeviceLocator::Usb {
                vendor_id: 0x0801,
                product_id: 0x0002,
                serial_number: Some("SN1".into())
            }
        );
        assert_eq!(usb.to_string(), "usb:0801:0002:SN1");
        assert!("usb:xyz:1".parse::<DeviceLocator>().is_err());
        assert!("usb:0801".parse::<DeviceLocator>().is_err());
        assert!("ttyUSB0".parse::<DeviceLocator>().is_err());
        assert_eq!("hid-wedge".parse(), Ok(ReaderKind::HidWedge));
        assert!("keyboard".parse::<ReaderKind>().is_err());
    }

    #[test]
    fn usb_identity_picks_one_port() {
        let ports = vec![
            usb("/dev/ttyUSB0", 0x0801, 0x0002, Some("A")),
            usb("/dev/ttyUSB1", 0x0801, 0x0002, Some("B")),
            usb("/dev/ttyACM0", 0x1234, 0x5678, None),
            SerialPortInfo {
                port_name: "/dev/ttyS0".into(),
                port_type: SerialPortType::Unknown,
            },
        ];
        assert_eq!(
            pick_usb_port(&ports, 0x0801, 0x0002, Some("B"), "x"),
            Ok("/dev/ttyUSB1".into())
        );
        assert_eq!(
            pick_usb_port(&ports, 0x1234, 0x5678, None, "x"),
            Ok("/dev/ttyACM0".into())
        );
        assert_eq!(
            pick_usb_port(&ports, 0x0801, 0x0002, None, "x"),
            Err(LocateError::Ambiguous {
                locator: "x".into(),
                count: 2
            })
        );
        assert_eq!(
            pick_usb_port(&ports, 0x0801, 0x0003, None, "x"),
            Err(LocateError::NoUsbMatch("x".into()))
        );
    }
}
