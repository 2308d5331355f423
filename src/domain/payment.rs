//! How a payment is taken: method, entry mode, terminal mode, and the terminal's references.

use serde::{Deserialize, Serialize};

/// How the customer pays.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Method {
    /// A closed-loop gift card against the POS.
    Giftcard,
    /// A bank card on the lane's terminal.
    Card,
    /// Cash.
    Cash,
}

impl Method {
    /// The stored (and JSON) spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Giftcard => "giftcard",
            Method::Card => "card",
            Method::Cash => "cash",
        }
    }
    /// Parses the stored spelling.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "giftcard" => Some(Method::Giftcard),
            "card" => Some(Method::Card),
            "cash" => Some(Method::Cash),
            _ => None,
        }
    }
}

/// How a gift-card code reached the lane (decides whether a PIN may be asked).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EntryMode {
    /// Typed or sent by the register: a PIN may be required.
    Keyed,
    /// Read by a magnetic-stripe reader.
    Swiped,
    /// Read by a barcode scanner.
    Scanned,
}

impl EntryMode {
    /// The stored (and JSON) spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            EntryMode::Keyed => "keyed",
            EntryMode::Swiped => "swiped",
            EntryMode::Scanned => "scanned",
        }
    }
    /// Parses the stored spelling.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "keyed" => Some(EntryMode::Keyed),
            "swiped" => Some(EntryMode::Swiped),
            "scanned" => Some(EntryMode::Scanned),
            _ => None,
        }
    }
}

/// How a terminal payment is taken.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TerminalMode {
    /// One authorization for the amount.
    #[default]
    Authorize,
    /// A reservation, booked with the final total at completion.
    Reserve,
    /// A processor terminal the POS drives (`terminalPayment`): AUTHORIZE at payment time,
    /// captured at completion, voided at cancel (lanes with `terminal.protocol = "pos"`).
    Pos,
}

impl TerminalMode {
    /// The stored spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            TerminalMode::Authorize => "authorize",
            TerminalMode::Reserve => "reserve",
            TerminalMode::Pos => "pos",
        }
    }
    /// Parses the stored spelling.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "authorize" => Some(TerminalMode::Authorize),
            "reserve" => Some(TerminalMode::Reserve),
            "pos" => Some(TerminalMode::Pos),
            _ => None,
        }
    }
}

/// Terminal facts journaled for a card payment (never a full PAN).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TerminalRef {
    /// Receipt number.
    pub receipt_no: Option<u32>,
    /// Trace number.
    pub trace_no: Option<u32>,
    /// PAN masked to the last four.
    pub masked_pan: Option<String>,
    /// Card brand name.
    pub card_name: Option<String>,
}
