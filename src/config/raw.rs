//! Stage one: the file's shape, exactly as written, before any meaning is checked.
//!
//! Every struct denies unknown fields so a misspelt key is a reported problem rather
//! than a silently ignored setting. Values that need checking (URLs, amounts, paths)
//! stay strings here; [`super::Config::validate`] turns them into typed values.

use serde::Deserialize;

/// The whole configuration file as parsed, unvalidated.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawConfig {
    /// `[lane]`: identity of this lane.
    pub lane: Option<RawLane>,
    /// `[pos]`: the POS cloud and its OIDC issuer.
    pub pos: Option<RawPos>,
    /// `[api]`: the local HTTP API for the register.
    pub api: Option<RawApi>,
    /// `[store]`: the SQLite journal.
    pub store: Option<RawStore>,
    /// `[terminal]`: the payment terminal.
    pub terminal: Option<RawTerminal>,
    /// `[[reader]]`: card readers and scanners.
    #[serde(default)]
    pub reader: Vec<RawReader>,
    /// `[offline]`: store-and-forward limits.
    pub offline: Option<RawOffline>,
    /// `[giftcard]`: how reader input is recognised as a gift card.
    pub giftcard: Option<RawGiftcard>,
    /// `[member]`: how reader input is recognised as a member card.
    pub member: Option<RawMember>,
}

/// `[lane]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawLane {
    /// `purchaseAdd` storeCode.
    pub store_code: Option<String>,
    /// This lane's code, part of every transactionId / refNo.
    pub register_code: Option<String>,
    /// The POS warehouse whose prices and stock this lane shows (default `MAIN`).
    pub warehouse_code: Option<String>,
    /// ISO 4217 alphabetic code of the lane's currency (default `EUR`).
    pub currency: Option<String>,
}

/// `[pos]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawPos {
    /// GraphQL endpoint.
    pub graphql_url: Option<String>,
    /// OIDC issuer (discovery base), kept verbatim.
    pub issuer_url: Option<String>,
    /// OAuth client id.
    pub client_id: Option<String>,
    /// File holding the client secret.
    pub client_secret_file: Option<String>,
    /// Timeout of each POS request.
    pub request_timeout_ms: Option<u64>,
    /// Purchases of different sales the forwarder keeps in flight at once.
    pub forward_window: Option<u64>,
}

/// `[api]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawApi {
    /// Socket address to listen on.
    pub listen: Option<String>,
    /// File holding the bearer token.
    pub token_file: Option<String>,
    /// Allows a non-loopback `listen` address.
    pub allow_remote: Option<bool>,
    /// Largest accepted request body.
    pub max_body_bytes: Option<u64>,
    /// `[api.permissions]`.
    pub permissions: Option<RawApiPermissions>,
}

/// `[api.permissions]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawApiPermissions {
    /// Allows `POST /v1/giftcards/activate` and `/reload`.
    pub giftcard_edit: Option<bool>,
    /// Allows `POST /v1/giftcards/replace-code`.
    pub giftcard_replace_code: Option<bool>,
}

/// `[store]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawStore {
    /// Path of the SQLite database.
    pub path: Option<String>,
}

/// `[terminal]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawTerminal {
    /// `"zvt"` (a terminal on the lane's line) or `"pos"` (a processor terminal the POS drives).
    pub protocol: Option<String>,
    /// `pos`: the processor's terminal id for this lane (Fortis `terminal_id`).
    pub terminal_id: Option<String>,
    /// `"tcp"` or `"serial"`.
    pub transport: Option<String>,
    /// `host:port` for tcp.
    pub address: Option<String>,
    /// Serial device path.
    pub device: Option<String>,
    /// Serial speed.
    pub baud: Option<u32>,
    /// Six-digit terminal password (deprecated: it sits in the world-readable conffile).
    pub password: Option<String>,
    /// A private file (or systemd credential) holding the six-digit terminal password.
    pub password_file: Option<String>,
    /// ZVT T3: wait for ACK/NAK after a frame.
    pub t3_ms: Option<u64>,
    /// ZVT T4: wait for the final answer, restarted on every intermediate message.
    pub t4_ms: Option<u64>,
    /// Daily unattended end of day (06 50) at this local time, `"HH:MM"`.
    pub end_of_day_at: Option<String>,
}

/// One `[[reader]]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawReader {
    /// Unique name, shown in status and events.
    pub name: Option<String>,
    /// `"serial-msr"`, `"serial-scanner"` or `"hid-wedge"`.
    pub kind: Option<String>,
    /// Device path.
    pub device: Option<String>,
    /// Serial speed (serial kinds only).
    pub baud: Option<u32>,
}

/// `[offline]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawOffline {
    /// Whether offline sales are allowed at all.
    pub enabled: Option<bool>,
    /// Cap per offline tender, decimal string.
    pub max_transaction_amount: Option<String>,
    /// Cap on all pending offline tenders, decimal string.
    pub max_total_amount: Option<String>,
    /// Cap on the number of pending offline tenders.
    pub max_count: Option<u32>,
    /// Oldest pending offline tender allowed.
    pub max_age_hours: Option<u32>,
    /// `"refuse"` or `"limit"`: gift cards never seen online.
    pub unknown_card: Option<String>,
    /// Cap for unknown cards when `unknown_card = "limit"`.
    pub unknown_card_max_amount: Option<String>,
}

/// `[member]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawMember {
    /// Regex recognising a member card; its named group `id` (or the whole match) is the id.
    pub pattern: Option<String>,
}

/// `[giftcard]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawGiftcard {
    /// Code prefixes that mark a gift card.
    pub prefixes: Option<Vec<String>>,
    /// Regex with a named group `code` extracting the code from reader input.
    pub pattern: Option<String>,
}
