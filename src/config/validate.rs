//! [`RawConfig`] to [`Config`]: every rule checked, every problem collected.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use regex::Regex;
use rust_decimal::Decimal;
use url::Url;

use super::model::*;
use super::problem::ConfigProblem;
use super::raw::*;

const DEFAULT_REQUEST_TIMEOUT_MS: u64 = 10_000;
/// Purchases in flight at once unless `[pos] forward_window` says otherwise.
const DEFAULT_FORWARD_WINDOW: u64 = 8;
/// More would only queue at the POS and hold more items in doubt at a crash.
const MAX_FORWARD_WINDOW: u64 = 64;
const DEFAULT_MAX_BODY_BYTES: u64 = 64 * 1024;
const DEFAULT_T3_MS: u64 = 5_000;
const DEFAULT_T4_MS: u64 = 180_000;
const DEFAULT_BAUD: u32 = 9_600;
const BAUD_RATES: &[u32] = &[1_200, 2_400, 4_800, 9_600, 19_200, 38_400, 57_600, 115_200];
/// Vendors converge on forwarding within 24 h and never later than 72 h.
const MAX_OFFLINE_AGE_HOURS: u32 = 72;

impl Config {
    /// Checks every rule of the configuration and returns either the typed config or
    /// every problem found, each with its key path. Touches no files: secrets are
    /// loaded separately by [`super::Secrets::load`].
    pub fn validate(raw: RawConfig) -> Result<Config, Vec<ConfigProblem>> {
        let mut c = Checker::default();
        let lane = lane(&mut c, raw.lane);
        let pos = pos(&mut c, raw.pos);
        let api = api(&mut c, raw.api);
        let store = store(&mut c, raw.store);
        let mut terminal_password_file = None;
        let terminal = terminal(&mut c, raw.terminal, &mut terminal_password_file);
        let readers = readers(&mut c, raw.reader);
        let offline = offline(&mut c, raw.offline);
        let giftcard = giftcard(&mut c, raw.giftcard);
        // Its problems are in `c`; a bad pattern fails the whole config below.
        let member = member(&mut c, raw.member);
        match (lane, pos, api, store, terminal, offline, giftcard) {
            (
                Some(lane),
                Some(pos),
                Some(api),
                Some(store),
                Some(terminal),
                Some(offline),
                Some(giftcard),
            ) if c.problems.is_empty() => Ok(Config {
                terminal: TerminalConfig {
                    currency: lane.currency.numeric,
                    ..terminal
                },
                lane,
                pos,
                api,
                store,
                readers,
                offline,
                giftcard,
                member,
                terminal_password_file,
            }),
            _ => Err(c.problems),
        }
    }

    /// Settings that are valid but that an operator should know about.
    pub fn warnings(&self) -> Vec<ConfigProblem> {
        let mut w = Vec::new();
        if self.terminal_password_file.is_none()
            && self.terminal.transport.pos_terminal_id().is_none()
        {
            w.push(ConfigProblem::new(
                "terminal.password",
                "the terminal password sits in the config file, which others may read; move it \
                 to a private file or credential and name it in terminal.password_file",
            ));
        }
        if !self.api.listen.ip().is_loopback() {
            w.push(ConfigProblem::new(
                "api.listen",
                format!(
                    "the API listens on {} and is reachable from the network (allow_remote = true)",
                    self.api.listen
                ),
            ));
        }
        if self.pos.graphql_url.scheme() == "http" {
            w.push(ConfigProblem::new(
                "pos.graphql_url",
                "plain http to a loopback host: only for simulators",
            ));
        }
        if let UnknownCardPolicy::Limit { max_amount } = self.offline.unknown_card {
            w.push(ConfigProblem::new(
                "offline.unknown_card",
                format!("unknown gift cards are accepted offline up to {max_amount}, at the merchant's risk"),
            ));
        }
        w
    }
}

#[derive(Default)]
struct Checker {
    problems: Vec<ConfigProblem>,
}

impl Checker {
    fn problem(&mut self, path: &str, message: impl Into<String>) {
        self.problems.push(ConfigProblem::new(path, message));
    }

    fn required<T>(&mut self, path: &str, value: Option<T>) -> Option<T> {
        if value.is_none() {
            self.problem(path, "is required");
        }
        value
    }

    fn section<T: Default>(&mut self, name: &str, value: Option<T>) -> T {
        if value.is_none() {
            self.problem(name, format!("section [{name}] is required"));
        }
        value.unwrap_or_default()
    }

    fn non_empty(&mut self, path: &str, value: Option<String>) -> Option<String> {
        let value = self.required(path, value)?;
        if value.trim().is_empty() {
            self.problem(path, "must not be empty");
            return None;
        }
        Some(value)
    }

    fn absolute_path(&mut self, path: &str, value: Option<String>) -> Option<PathBuf> {
        let value = self.non_empty(path, value)?;
        let p = PathBuf::from(&value);
        if !p.is_absolute() {
            self.problem(path, format!("must be an absolute path, got {value:?}"));
            return None;
        }
        Some(p)
    }

    fn millis(
        &mut self,
        path: &str,
        value: Option<u64>,
        default: u64,
        max: u64,
    ) -> Option<Duration> {
        let ms = value.unwrap_or(default);
        if ms == 0 || ms > max {
            self.problem(
                path,
                format!("must be between 1 and {max} milliseconds, got {ms}"),
            );
            return None;
        }
        Some(Duration::from_millis(ms))
    }

    fn http_url(&mut self, path: &str, value: Option<String>) -> Option<Url> {
        let value = self.non_empty(path, value)?;
        let url = match Url::parse(&value) {
            Ok(url) => url,
            Err(e) => {
                self.problem(path, format!("is not a valid URL ({e}): {value:?}"));
                return None;
            }
        };
        match url.scheme() {
            "https" => {}
            "http" if is_loopback_host(&url) => {}
            "http" => {
                self.problem(
                    path,
                    "must use https (plain http is allowed only to a loopback host)",
                );
                return None;
            }
            other => {
                self.problem(
                    path,
                    format!("must be an http(s) URL, got scheme {other:?}"),
                );
                return None;
            }
        }
        if url.host_str().is_none_or(str::is_empty) {
            self.problem(path, "must name a host");
            return None;
        }
        Some(url)
    }

    fn amount(&mut self, path: &str, value: Option<String>) -> Option<Decimal> {
        let value = self.required(path, value)?;
        match Decimal::from_str(value.trim()) {
            Ok(d) if d <= Decimal::ZERO => {
                self.problem(path, format!("must be greater than zero, got {value:?}"));
                None
            }
            Ok(d) if d.normalize().scale() > 2 => {
                self.problem(
                    path,
                    format!("must have at most 2 decimal places, got {value:?}"),
                );
                None
            }
            Ok(d) => Some(d),
            Err(_) => {
                self.problem(
                    path,
                    format!("must be a decimal amount like \"50.00\", got {value:?}"),
                );
                None
            }
        }
    }
}

fn is_loopback_host(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

fn code(c: &mut Checker, path: &str, value: Option<String>, max_len: usize) -> Option<String> {
    let value = c.non_empty(path, value)?;
    let ok = value.len() <= max_len
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if !ok {
        c.problem(
            path,
            format!("must be 1-{max_len} characters of A-Z, a-z, 0-9, '-' or '_', got {value:?}"),
        );
        return None;
    }
    Some(value)
}

/// The warehouse a lane shows when `lane.warehouse_code` is not set (the POS's main warehouse).
const DEFAULT_WAREHOUSE_CODE: &str = "MAIN";

fn lane(c: &mut Checker, raw: Option<RawLane>) -> Option<LaneConfig> {
    let raw = c.section("lane", raw);
    let store_code = code(c, "lane.store_code", raw.store_code, 32);
    let register_code = code(c, "lane.register_code", raw.register_code, 16);
    let warehouse_code = code(
        c,
        "lane.warehouse_code",
        Some(
            raw.warehouse_code
                .unwrap_or_else(|| DEFAULT_WAREHOUSE_CODE.to_owned()),
        ),
        32,
    );
    let currency = currency(c, raw.currency);
    Some(LaneConfig {
        store_code: store_code?,
        register_code: register_code?,
        warehouse_code: warehouse_code?,
        currency: currency?,
    })
}

/// The lane's currency when `lane.currency` is not set: what every lane used before the key.
const DEFAULT_CURRENCY: &str = "EUR";

fn currency(c: &mut Checker, raw: Option<String>) -> Option<Currency> {
    let value = raw.unwrap_or_else(|| DEFAULT_CURRENCY.to_owned());
    let known = || {
        zvt::apdu::currency::KNOWN
            .iter()
            .map(|c| c.alpha)
            .collect::<Vec<_>>()
            .join(", ")
    };
    match zvt::apdu::currency::by_alpha(&value) {
        None => {
            c.problem(
                "lane.currency",
                format!(
                    "unknown ISO 4217 currency code {value:?}; use one of {}",
                    known()
                ),
            );
            None
        }
        Some(cur) => Some(cur),
    }
}

fn time_of_day(
    c: &mut Checker,
    path: &str,
    raw: Option<String>,
) -> Option<Option<chrono::NaiveTime>> {
    let Some(v) = raw else {
        return Some(None);
    };
    let v_trim = v.trim();
    // "HH:MM" as documented; "HH:MM:SS" is accepted too (tests schedule seconds ahead).
    match chrono::NaiveTime::parse_from_str(v_trim, "%H:%M")
        .or_else(|_| chrono::NaiveTime::parse_from_str(v_trim, "%H:%M:%S"))
    {
        Ok(t) => Some(Some(t)),
        Err(_) => {
            c.problem(
                path,
                format!("must be a local time \"HH:MM\" (24 h), got {v:?}"),
            );
            None
        }
    }
}

fn pos(c: &mut Checker, raw: Option<RawPos>) -> Option<PosConfig> {
    let raw = c.section("pos", raw);
    let graphql_url = c.http_url("pos.graphql_url", raw.graphql_url);
    let issuer_raw = raw.issuer_url.clone();
    let issuer_url = c
        .http_url("pos.issuer_url", raw.issuer_url)
        .and_then(|url| {
            if url.query().is_some() || url.fragment().is_some() {
                c.problem("pos.issuer_url", "an OIDC issuer has no query or fragment");
                return None;
            }
            // Kept verbatim: the discovery document's issuer must match it exactly.
            issuer_raw
        });
    let client_id = c.non_empty("pos.client_id", raw.client_id);
    let client_secret_file = c.absolute_path("pos.client_secret_file", raw.client_secret_file);
    let request_timeout = c.millis(
        "pos.request_timeout_ms",
        raw.request_timeout_ms,
        DEFAULT_REQUEST_TIMEOUT_MS,
        300_000,
    );
    let window = raw.forward_window.unwrap_or(DEFAULT_FORWARD_WINDOW);
    let forward_window = if (1..=MAX_FORWARD_WINDOW).contains(&window) {
        usize::try_from(window).ok()
    } else {
        c.problem(
            "pos.forward_window",
            format!(
                "must be between 1 (one purchase after the other) and {MAX_FORWARD_WINDOW}, got {window}"
            ),
        );
        None
    };
    Some(PosConfig {
        graphql_url: graphql_url?,
        issuer_url: issuer_url?,
        client_id: client_id?,
        client_secret_file: client_secret_file?,
        request_timeout: request_timeout?,
        forward_window: forward_window?,
    })
}

fn api(c: &mut Checker, raw: Option<RawApi>) -> Option<ApiConfig> {
    let raw = c.section("api", raw);
    let allow_remote = raw.allow_remote.unwrap_or(false);
    let listen = c.non_empty("api.listen", raw.listen).and_then(|s| {
        match SocketAddr::from_str(s.trim()) {
            Ok(addr) if !addr.ip().is_loopback() && !allow_remote => {
                c.problem(
                    "api.listen",
                    format!("{addr} is not a loopback address; set api.allow_remote = true to listen on the network"),
                );
                None
            }
            Ok(addr) => Some(addr),
            Err(_) => {
                c.problem("api.listen", format!("must be an IP socket address like \"127.0.0.1:7311\", got {s:?}"));
                None
            }
        }
    });
    let token_file = c.absolute_path("api.token_file", raw.token_file);
    let max_body = raw.max_body_bytes.unwrap_or(DEFAULT_MAX_BODY_BYTES);
    let max_body_bytes = if (1_024..=16 * 1024 * 1024).contains(&max_body) {
        usize::try_from(max_body).ok()
    } else {
        c.problem(
            "api.max_body_bytes",
            format!("must be between 1024 and 16777216, got {max_body}"),
        );
        None
    };
    let perms = raw.permissions.unwrap_or_default();
    Some(ApiConfig {
        listen: listen?,
        token_file: token_file?,
        allow_remote,
        max_body_bytes: max_body_bytes?,
        permissions: ApiPermissions {
            giftcard_edit: perms.giftcard_edit.unwrap_or(true),
            giftcard_replace_code: perms.giftcard_replace_code.unwrap_or(false),
        },
    })
}

fn store(c: &mut Checker, raw: Option<RawStore>) -> Option<StoreConfig> {
    let raw = c.section("store", raw);
    Some(StoreConfig {
        path: c.absolute_path("store.path", raw.path)?,
    })
}

fn baud(c: &mut Checker, path: &str, value: Option<u32>) -> Option<u32> {
    let baud = value.unwrap_or(DEFAULT_BAUD);
    if !BAUD_RATES.contains(&baud) {
        c.problem(path, format!("must be one of {BAUD_RATES:?}, got {baud}"));
        return None;
    }
    Some(baud)
}

fn terminal(
    c: &mut Checker,
    raw: Option<RawTerminal>,
    password_file: &mut Option<PathBuf>,
) -> Option<TerminalConfig> {
    let raw = c.section("terminal", raw);
    let protocol_ok = match c.required("terminal.protocol", raw.protocol.clone()) {
        Some(p) if p == "zvt" => true,
        Some(p) if p == "pos" => return pos_terminal(c, raw),
        Some(p) => {
            c.problem(
                "terminal.protocol",
                format!("must be \"zvt\" or \"pos\", got {p:?}"),
            );
            false
        }
        None => false,
    };
    if raw.terminal_id.is_some() {
        c.problem(
            "terminal.terminal_id",
            "is only used with protocol = \"pos\"",
        );
    }
    let transport = match c.required("terminal.transport", raw.transport).as_deref() {
        Some("tcp") => {
            for (key, set) in [
                ("device", raw.device.is_some()),
                ("baud", raw.baud.is_some()),
            ] {
                if set {
                    c.problem(
                        &format!("terminal.{key}"),
                        "is only used with transport = \"serial\"",
                    );
                }
            }
            c.non_empty("terminal.address", raw.address).and_then(|a| {
                if host_port(&a) {
                    Some(TerminalTransport::Tcp { address: a })
                } else {
                    c.problem(
                        "terminal.address",
                        format!("must be host:port like \"192.168.1.20:20007\", got {a:?}"),
                    );
                    None
                }
            })
        }
        Some("serial") => {
            if raw.address.is_some() {
                c.problem("terminal.address", "is only used with transport = \"tcp\"");
            }
            let device = c.absolute_path("terminal.device", raw.device);
            let baud = baud(c, "terminal.baud", raw.baud);
            Some(TerminalTransport::Serial {
                device: device?,
                baud: baud?,
            })
        }
        Some(other) => {
            c.problem(
                "terminal.transport",
                format!("must be \"tcp\" or \"serial\", got {other:?}"),
            );
            None
        }
        None => None,
    };
    let password = match (raw.password, raw.password_file) {
        (Some(_), Some(_)) => {
            c.problem(
                "terminal.password_file",
                "give either terminal.password_file or the deprecated terminal.password, not both",
            );
            None
        }
        (None, Some(file)) => {
            *password_file = c.absolute_path("terminal.password_file", Some(file));
            // Filled in by `config::load` from the file; never used as it is.
            password_file
                .is_some()
                .then(|| TerminalPassword::new(String::new()))
        }
        (Some(p), None) => {
            if p.len() == 6 && p.bytes().all(|b| b.is_ascii_digit()) {
                Some(TerminalPassword::new(p))
            } else {
                // Never echo the value: it is a credential.
                c.problem("terminal.password", "must be exactly 6 digits");
                None
            }
        }
        (None, None) => {
            c.problem(
                "terminal.password_file",
                "is required (a private file holding the six-digit terminal password)",
            );
            None
        }
    };
    let t3 = c.millis("terminal.t3_ms", raw.t3_ms, DEFAULT_T3_MS, 60_000);
    let t4 = c.millis("terminal.t4_ms", raw.t4_ms, DEFAULT_T4_MS, 600_000);
    if let (Some(t3), Some(t4)) = (t3, t4)
        && t4 <= t3
    {
        c.problem("terminal.t4_ms", "must be longer than terminal.t3_ms");
    }
    let end_of_day_at = time_of_day(c, "terminal.end_of_day_at", raw.end_of_day_at);
    protocol_ok.then_some(())?;
    Some(TerminalConfig {
        transport: transport?,
        password: password?,
        t3: t3?,
        t4: t4?,
        currency: zvt::command::EUR,
        end_of_day_at: end_of_day_at?,
    })
}

/// `protocol = "pos"`: only `terminal_id`; the ZVT keys have no meaning there.
fn pos_terminal(c: &mut Checker, raw: RawTerminal) -> Option<TerminalConfig> {
    for (key, set) in [
        ("transport", raw.transport.is_some()),
        ("address", raw.address.is_some()),
        ("device", raw.device.is_some()),
        ("baud", raw.baud.is_some()),
        ("password", raw.password.is_some()),
        ("password_file", raw.password_file.is_some()),
        ("t3_ms", raw.t3_ms.is_some()),
        ("t4_ms", raw.t4_ms.is_some()),
        ("end_of_day_at", raw.end_of_day_at.is_some()),
    ] {
        if set {
            c.problem(
                &format!("terminal.{key}"),
                "is only used with protocol = \"zvt\"",
            );
        }
    }
    let id = c.non_empty("terminal.terminal_id", raw.terminal_id)?;
    if id.chars().count() > 64 || id.chars().any(char::is_control) {
        c.problem(
            "terminal.terminal_id",
            "must be at most 64 printable characters",
        );
        return None;
    }
    Some(TerminalConfig {
        transport: TerminalTransport::Pos { terminal_id: id },
        // Unused on a pos lane: nothing is sent to a ZVT terminal.
        password: TerminalPassword::new(String::new()),
        t3: Duration::from_millis(DEFAULT_T3_MS),
        t4: Duration::from_millis(DEFAULT_T4_MS),
        // Set from `[lane] currency` like a ZVT lane's; the processor settles its own day.
        currency: zvt::command::EUR,
        end_of_day_at: None,
    })
}

fn host_port(s: &str) -> bool {
    if SocketAddr::from_str(s).is_ok() {
        return true;
    }
    match s.rsplit_once(':') {
        Some((host, port)) => {
            !host.is_empty()
                && !host.contains(['[', ']', ':', '/', ' '])
                && port.parse::<u16>().is_ok_and(|p| p > 0)
        }
        None => false,
    }
}

fn readers(c: &mut Checker, raw: Vec<RawReader>) -> Vec<ReaderConfig> {
    let mut out: Vec<ReaderConfig> = Vec::new();
    let mut seen: Vec<String> = Vec::new();
    for (i, r) in raw.into_iter().enumerate() {
        let at = |key: &str| format!("reader[{i}].{key}");
        let name = c.non_empty(&at("name"), r.name).and_then(|n| {
            if seen.contains(&n) {
                c.problem(&at("name"), format!("duplicate reader name {n:?}"));
                None
            } else {
                seen.push(n.clone());
                Some(n)
            }
        });
        let kind = match c.required(&at("kind"), r.kind).as_deref() {
            Some("serial-msr") => Some(ReaderKind::SerialMsr),
            Some("serial-scanner") => Some(ReaderKind::SerialScanner),
            Some("hid-wedge") => Some(ReaderKind::HidWedge),
            Some(other) => {
                c.problem(
                    &at("kind"),
                    format!(
                        "must be \"serial-msr\", \"serial-scanner\" or \"hid-wedge\", got {other:?}"
                    ),
                );
                None
            }
            None => None,
        };
        let device = reader_device(c, &at("device"), r.device, kind);
        let baud = match kind {
            Some(ReaderKind::HidWedge) if r.baud.is_some() => {
                c.problem(&at("baud"), "is only used with serial reader kinds");
                None
            }
            _ => baud(c, &at("baud"), r.baud),
        };
        if let (Some(name), Some(kind), Some(device), Some(baud)) = (name, kind, device, baud) {
            out.push(ReaderConfig {
                name,
                kind,
                device,
                baud,
            });
        }
    }
    out
}

/// `[[reader]] device`: an absolute path, or `usb:VID:PID[:SERIAL]` for a serial reader.
fn reader_device(
    c: &mut Checker,
    path: &str,
    raw: Option<String>,
    kind: Option<ReaderKind>,
) -> Option<crate::devices::DeviceLocator> {
    use crate::devices::DeviceLocator;
    let raw = c.required(path, raw)?;
    match raw.parse::<DeviceLocator>() {
        Ok(DeviceLocator::Usb { .. }) if kind == Some(ReaderKind::HidWedge) => {
            c.problem(
                path,
                "a hid-wedge reader needs a path (/dev/input/by-id/… or a udev symlink), not usb:VID:PID",
            );
            None
        }
        Ok(locator) => Some(locator),
        Err(e) => {
            c.problem(path, e.to_string());
            None
        }
    }
}

fn offline(c: &mut Checker, raw: Option<RawOffline>) -> Option<OfflineConfig> {
    let raw = raw.unwrap_or_default();
    let enabled = raw.enabled.unwrap_or(false);
    if !enabled {
        // Disabled: caps may be left out; any that are written must still be valid.
        let all_absent = raw.max_transaction_amount.is_none()
            && raw.max_total_amount.is_none()
            && raw.max_count.is_none()
            && raw.max_age_hours.is_none()
            && raw.unknown_card.is_none()
            && raw.unknown_card_max_amount.is_none();
        if all_absent {
            return Some(OfflineConfig {
                enabled: false,
                max_transaction_amount: Decimal::ZERO,
                max_total_amount: Decimal::ZERO,
                max_count: 0,
                max_age: Duration::ZERO,
                unknown_card: UnknownCardPolicy::Refuse,
            });
        }
    }
    let tx = c.amount("offline.max_transaction_amount", raw.max_transaction_amount);
    let total = c.amount("offline.max_total_amount", raw.max_total_amount);
    if let (Some(tx), Some(total)) = (tx, total)
        && tx > total
    {
        c.problem(
            "offline.max_transaction_amount",
            format!("must not exceed offline.max_total_amount ({tx} > {total})"),
        );
    }
    let count = c
        .required("offline.max_count", raw.max_count)
        .and_then(|n| {
            if n == 0 {
                c.problem("offline.max_count", "must be greater than zero");
                None
            } else {
                Some(n)
            }
        });
    let age = c
        .required("offline.max_age_hours", raw.max_age_hours)
        .and_then(|h| {
            if h == 0 || h > MAX_OFFLINE_AGE_HOURS {
                c.problem(
                    "offline.max_age_hours",
                    format!("must be between 1 and {MAX_OFFLINE_AGE_HOURS} hours, got {h}"),
                );
                None
            } else {
                Some(Duration::from_secs(u64::from(h) * 3600))
            }
        });
    let unknown_card = match raw.unknown_card.as_deref().unwrap_or("refuse") {
        "refuse" => {
            if raw.unknown_card_max_amount.is_some() {
                c.problem(
                    "offline.unknown_card_max_amount",
                    "is only used with unknown_card = \"limit\"",
                );
            }
            Some(UnknownCardPolicy::Refuse)
        }
        "limit" => c
            .amount(
                "offline.unknown_card_max_amount",
                raw.unknown_card_max_amount,
            )
            .and_then(|max_amount| {
                if tx.is_some_and(|tx| max_amount > tx) {
                    c.problem(
                        "offline.unknown_card_max_amount",
                        "must not exceed offline.max_transaction_amount",
                    );
                    return None;
                }
                Some(UnknownCardPolicy::Limit { max_amount })
            }),
        other => {
            c.problem(
                "offline.unknown_card",
                format!("must be \"refuse\" or \"limit\", got {other:?}"),
            );
            None
        }
    };
    Some(OfflineConfig {
        enabled,
        max_transaction_amount: tx?,
        max_total_amount: total?,
        max_count: count?,
        max_age: age?,
        unknown_card: unknown_card?,
    })
}

fn member(c: &mut Checker, raw: Option<RawMember>) -> MemberConfig {
    let pattern = raw
        .and_then(|r| r.pattern)
        .and_then(|src| match Regex::new(&src) {
            Ok(re) => Some(re),
            Err(e) => {
                c.problem("member.pattern", format!("is not a valid regex: {e}"));
                None
            }
        });
    MemberConfig { pattern }
}

fn giftcard(c: &mut Checker, raw: Option<RawGiftcard>) -> Option<GiftcardConfig> {
    let raw = raw.unwrap_or_default();
    let prefixes = raw.prefixes.unwrap_or_default();
    let mut ok = true;
    for (i, p) in prefixes.iter().enumerate() {
        if p.is_empty() || !p.bytes().all(|b| b.is_ascii_alphanumeric()) {
            c.problem(
                &format!("giftcard.prefixes[{i}]"),
                format!("must be non-empty letters or digits, got {p:?}"),
            );
            ok = false;
        }
    }
    let pattern = match raw.pattern {
        None => None,
        Some(src) => match Regex::new(&src) {
            Ok(re) if re.capture_names().any(|n| n == Some("code")) => Some(re),
            Ok(_) => {
                c.problem(
                    "giftcard.pattern",
                    "must have a named group `code`, e.g. (?<code>\\d{16,19})",
                );
                ok = false;
                None
            }
            Err(e) => {
                c.problem("giftcard.pattern", format!("is not a valid regex: {e}"));
                ok = false;
                None
            }
        },
    };
    ok.then_some(GiftcardConfig { prefixes, pattern })
}
