//! Stage two: the validated configuration the rest of the agent reads.
//!
//! Everything here has been checked by [`Config::validate`](super::Config::validate):
//! URLs parse, paths are absolute, amounts are exact decimals within their caps. Code
//! that receives a `Config` never re-checks it.

use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use regex::Regex;
use rust_decimal::Decimal;
use secrecy::{ExposeSecret, SecretString};
use url::Url;

/// The agent's validated configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// `[lane]`.
    pub lane: LaneConfig,
    /// `[pos]`.
    pub pos: PosConfig,
    /// `[api]`.
    pub api: ApiConfig,
    /// `[store]`.
    pub store: StoreConfig,
    /// `[terminal]`.
    pub terminal: TerminalConfig,
    /// `[[reader]]`, in file order, names unique.
    pub readers: Vec<ReaderConfig>,
    /// `[offline]`.
    pub offline: OfflineConfig,
    /// `[giftcard]`.
    pub giftcard: GiftcardConfig,
    /// `[member]`.
    pub member: MemberConfig,
    /// `[terminal] password_file`: where [`super::load`] read `terminal.password` from. `None`
    /// when the deprecated inline `password` was used.
    pub terminal_password_file: Option<PathBuf>,
}

/// `[lane]`.
#[derive(Debug, Clone)]
pub struct LaneConfig {
    /// `purchaseAdd` storeCode.
    pub store_code: String,
    /// This lane's code: 1–16 of `A-Z a-z 0-9 - _`, part of every transactionId / refNo.
    pub register_code: String,
    /// The POS warehouse whose `basePrice` / `quantityAvailable` the lane's item lookups show:
    /// 1–32 of `A-Z a-z 0-9 - _`, default `MAIN`. Warehouse codes are not store codes.
    pub warehouse_code: String,
    /// `lane.currency`: the terminal is registered in it and every amount is in it
    /// (default EUR, so configs written before the key keep working).
    pub currency: Currency,
}

/// An ISO 4217 currency: letters, number and minor units.
pub use zvt::apdu::currency::Currency;

/// `[pos]`.
#[derive(Debug, Clone)]
pub struct PosConfig {
    /// The GraphQL endpoint (https, or http on a loopback host for simulators).
    pub graphql_url: Url,
    /// The OIDC issuer exactly as written in the file. It is not normalised: the issuer
    /// in the discovery document must match it byte for byte, trailing slash included,
    /// so `https://idp.example/` and `https://idp.example` are different issuers.
    pub issuer_url: String,
    /// OAuth client id.
    pub client_id: String,
    /// Absolute path of the client secret (a systemd credential in production).
    pub client_secret_file: PathBuf,
    /// Timeout of each POS request.
    pub request_timeout: Duration,
    /// Purchases of different sales the outbox forwarder keeps in flight at once
    /// (`forward_window`, 1..=64); 1 sends one item after the other.
    pub forward_window: usize,
}

impl PosConfig {
    /// The OIDC discovery URL: the issuer with `/.well-known/openid-configuration`
    /// appended, without doubling a trailing slash.
    pub fn discovery_url(&self) -> String {
        format!(
            "{}/.well-known/openid-configuration",
            self.issuer_url.trim_end_matches('/')
        )
    }
}

/// `[api]`.
#[derive(Debug, Clone)]
pub struct ApiConfig {
    /// Address to listen on; loopback unless `allow_remote`.
    pub listen: SocketAddr,
    /// Absolute path of the bearer token file.
    pub token_file: PathBuf,
    /// Whether a non-loopback `listen` was explicitly allowed.
    pub allow_remote: bool,
    /// Largest request body accepted, in bytes.
    pub max_body_bytes: usize,
    /// `[api.permissions]`.
    pub permissions: ApiPermissions,
}

/// `[api.permissions]`: routes a lane may be denied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ApiPermissions {
    /// `POST /v1/giftcards/activate` and `/reload` (default true).
    pub giftcard_edit: bool,
    /// `POST /v1/giftcards/replace-code`: a manager replaces a lost card's physical code
    /// (`giftcardEdit`, needs `EditGiftCard` on the POS client; default false).
    pub giftcard_replace_code: bool,
}

/// `[store]`.
#[derive(Debug, Clone)]
pub struct StoreConfig {
    /// Absolute path of the SQLite database.
    pub path: PathBuf,
}

/// `[terminal]`: a ZVT terminal on the lane's line, or (`protocol = "pos"`) a processor
/// terminal the POS drives ([`TerminalTransport::Pos`]; the ZVT settings are then unused).
#[derive(Debug, Clone)]
pub struct TerminalConfig {
    /// How the terminal is reached.
    pub transport: TerminalTransport,
    /// The six-digit terminal password.
    pub password: TerminalPassword,
    /// ZVT T3: wait for ACK/NAK after sending a frame.
    pub t3: Duration,
    /// ZVT T4: wait for the final answer; restarted on every intermediate message.
    pub t4: Duration,
    /// The lane's currency (ISO 4217 numeric), copied from `lane.currency`: the terminal is
    /// registered in it.
    pub currency: u16,
    /// `terminal.end_of_day_at`: the local time of the daily unattended end of day.
    pub end_of_day_at: Option<chrono::NaiveTime>,
}

/// How the payment terminal is connected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TerminalTransport {
    /// ZVT over TCP (`host:port`).
    Tcp {
        /// `host:port`, host a name or an IP literal.
        address: String,
    },
    /// ZVT over a serial line.
    Serial {
        /// Absolute device path, normally the udev symlink `/dev/lane/terminal`.
        device: PathBuf,
        /// Line speed.
        baud: u32,
    },
    /// `protocol = "pos"`: no terminal on the lane's line; card payments go through the
    /// POS's `terminalPayment` to the processor terminal with this id.
    Pos {
        /// The processor's terminal id (Fortis `terminal_id`), at most 64 characters.
        terminal_id: String,
    },
}

impl TerminalTransport {
    /// The processor terminal id of a `protocol = "pos"` lane.
    pub fn pos_terminal_id(&self) -> Option<&str> {
        match self {
            TerminalTransport::Pos { terminal_id } => Some(terminal_id),
            _ => None,
        }
    }
}

/// The terminal password: six digits, redacted in `Debug`.
#[derive(Clone)]
pub struct TerminalPassword(SecretString);

// The inner `SecretString` wipes itself on drop.
impl secrecy::zeroize::ZeroizeOnDrop for TerminalPassword {}

impl TerminalPassword {
    pub(crate) fn new(digits: String) -> Self {
        Self(SecretString::from(digits))
    }

    /// The password as the 3 packed BCD bytes that ZVT sends.
    pub fn bcd(&self) -> [u8; 3] {
        let d: Vec<u8> = self
            .0
            .expose_secret()
            .bytes()
            .map(|b| b.wrapping_sub(b'0') & 0x0f)
            .collect();
        // Validation guarantees six digits; anything else packs as zeros.
        if d.len() != 6 {
            return [0; 3];
        }
        [d[0] << 4 | d[1], d[2] << 4 | d[3], d[4] << 4 | d[5]]
    }
}

impl fmt::Debug for TerminalPassword {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TerminalPassword([REDACTED])")
    }
}

/// One `[[reader]]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReaderConfig {
    /// Unique name.
    pub name: String,
    /// What kind of device it is.
    pub kind: ReaderKind,
    /// Where it is: an absolute device path, or `usb:VID:PID[:SERIAL]` (serial kinds only),
    /// resolved at start and again at every replug.
    pub device: crate::devices::DeviceLocator,
    /// Line speed for serial kinds (default 9600); unused for `hid-wedge`.
    pub baud: u32,
}

/// Kinds of card reader.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReaderKind {
    /// Magnetic-stripe reader on a serial port.
    SerialMsr,
    /// Barcode / QR scanner on a serial port.
    SerialScanner,
    /// A reader that types like a keyboard (evdev device).
    HidWedge,
}

impl ReaderKind {
    /// The name used in the config file and the API.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::SerialMsr => "serial-msr",
            Self::SerialScanner => "serial-scanner",
            Self::HidWedge => "hid-wedge",
        }
    }

    /// Whether the device is a serial port (has a baud rate).
    pub fn is_serial(self) -> bool {
        !matches!(self, Self::HidWedge)
    }
}

/// `[offline]`: store-and-forward limits. When disabled, every cap is zero.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OfflineConfig {
    /// Whether offline sales are allowed.
    pub enabled: bool,
    /// Cap per offline tender.
    pub max_transaction_amount: Decimal,
    /// Cap on all pending offline tenders together.
    pub max_total_amount: Decimal,
    /// Cap on the number of pending offline tenders.
    pub max_count: u32,
    /// Oldest a pending offline tender may get (1–72 hours).
    pub max_age: Duration,
    /// What to do offline with a gift card never seen online.
    pub unknown_card: UnknownCardPolicy,
}

/// Offline handling of gift cards without a cached balance.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnknownCardPolicy {
    /// Decline them (default).
    Refuse,
    /// Accept up to `max_amount` per tender, at the merchant's risk.
    Limit {
        /// Cap per tender, at most `max_transaction_amount`.
        max_amount: Decimal,
    },
}

/// `[member]`: how a reader's input is recognised as a member card (its `scan` event, and
/// the open sale's `member_id`). No pattern: member cards are not recognised.
#[derive(Debug, Clone, Default)]
pub struct MemberConfig {
    /// A regex whose named group `id` (or whole match) is the member id.
    pub pattern: Option<Regex>,
}

/// `[giftcard]`: how reader or register input is recognised as a gift card.
#[derive(Debug, Clone, Default)]
pub struct GiftcardConfig {
    /// Code prefixes that mark a gift card; empty means any code.
    pub prefixes: Vec<String>,
    /// A regex whose named group `code` extracts the code from raw input.
    pub pattern: Option<Regex>,
}

impl GiftcardConfig {
    /// The gift-card code in `input`, if it is one: extracted by `pattern` (when set,
    /// else the trimmed input) and accepted when it starts with one of `prefixes`.
    pub fn extract<'a>(&self, input: &'a str) -> Option<&'a str> {
        let code = match &self.pattern {
            Some(re) => re.captures(input)?.name("code")?.as_str(),
            None => input.trim(),
        };
        if code.is_empty() {
            return None;
        }
        if self.prefixes.is_empty() || self.prefixes.iter().any(|p| code.starts_with(p)) {
            Some(code)
        } else {
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn password_packs_as_bcd_and_debug_is_redacted() {
        let p = TerminalPassword::new("123456".into());
        assert_eq!(p.bcd(), [0x12, 0x34, 0x56]);
        assert!(!format!("{p:?}").contains("123456"));
    }

    #[test]
    fn giftcard_extraction_applies_pattern_then_prefixes() {
        let g = GiftcardConfig {
            prefixes: vec!["6036".into()],
            pattern: Some(Regex::new(r"^;(?<code>\d+)=").unwrap()),
        };
        assert_eq!(g.extract(";6036123=99?"), Some("6036123"));
        assert_eq!(g.extract(";5036123=99?"), None);
        assert_eq!(g.extract("6036123"), None);
        assert_eq!(GiftcardConfig::default().extract(" 77 \n"), Some("77"));
    }

    #[test]
    fn discovery_url_does_not_double_the_slash() {
        let mut pos = PosConfig {
            graphql_url: Url::parse("https://p.example/api").unwrap(),
            issuer_url: "https://p.example/".into(),
            client_id: "c".into(),
            client_secret_file: "/s".into(),
            request_timeout: Duration::from_secs(1),
            forward_window: 1,
        };
        assert_eq!(
            pos.discovery_url(),
            "https://p.example/.well-known/openid-configuration"
        );
        pos.issuer_url = "https://p.example/realm".into();
        assert_eq!(
            pos.discovery_url(),
            "https://p.example/realm/.well-known/openid-configuration"
        );
    }
}
