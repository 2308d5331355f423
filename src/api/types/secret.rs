//! Card secrets as types that cannot leak: a gift-card code or PIN read from a request has no
//! `Serialize`, and its `Debug`/`Display` show at most the last four characters.

use std::fmt;

use serde::{Deserialize, Serialize};

/// Masks all but the last four characters; codes shorter than eight show nothing. The
/// agent's one masking rule, [`cardreader::mask_last4`].
pub use cardreader::mask_last4;

/// A full gift-card code as sent by the register. Only [`GiftCardCode::expose`] reveals it.
#[derive(Clone, PartialEq, Eq, Hash, Deserialize)]
#[serde(transparent)]
pub struct GiftCardCode(String);

impl GiftCardCode {
    /// Wraps a code (the engine uses this for codes read from a reader or the terminal).
    pub fn new(code: impl Into<String>) -> Self {
        Self(code.into())
    }

    /// The full code, for the POS call and nothing else.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The code masked to its last four characters.
    pub fn masked(&self) -> MaskedCode {
        MaskedCode(mask_last4(&self.0))
    }
}

impl Drop for GiftCardCode {
    fn drop(&mut self) {
        zeroize::Zeroize::zeroize(&mut self.0);
    }
}

impl zeroize::ZeroizeOnDrop for GiftCardCode {}

impl Drop for Pin {
    fn drop(&mut self) {
        zeroize::Zeroize::zeroize(&mut self.0);
    }
}

impl zeroize::ZeroizeOnDrop for Pin {}

impl fmt::Debug for GiftCardCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "GiftCardCode({})", mask_last4(&self.0))
    }
}

impl fmt::Display for GiftCardCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&mask_last4(&self.0))
    }
}

/// A gift-card PIN as sent by the register. Never shown, not even in part.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(transparent)]
pub struct Pin(String);

impl Pin {
    /// Wraps a PIN (the engine uses this for a PIN entered on the terminal).
    pub fn new(pin: impl Into<String>) -> Self {
        Self(pin.into())
    }

    /// The PIN, for the POS call and nothing else.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Pin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Pin(****)")
    }
}

/// A gift-card code already masked for display, e.g. `"****1234"`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct MaskedCode(String);

impl MaskedCode {
    /// Masks a full code given as text (for codes the engine holds as plain strings).
    pub fn from_full(code: &str) -> Self {
        Self(mask_last4(code))
    }

    /// The masked text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl From<&GiftCardCode> for MaskedCode {
    fn from(code: &GiftCardCode) -> Self {
        code.masked()
    }
}

/// A person's name masked for display: each word keeps its first letter, e.g. `"J*** D***"`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct MaskedName(String);

impl MaskedName {
    /// Masks a full name.
    pub fn from_full(name: &str) -> Self {
        let masked: Vec<String> = name
            .split_whitespace()
            .map(|w| {
                w.chars()
                    .next()
                    .map(|c| format!("{c}***"))
                    .unwrap_or_default()
            })
            .collect();
        Self(masked.join(" "))
    }

    /// The masked text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_show_only_the_last_four() {
        let code = GiftCardCode::new("6006491234567890");
        assert_eq!(code.masked().as_str(), "****7890");
        assert_eq!(format!("{code:?}"), "GiftCardCode(****7890)");
        assert_eq!(code.to_string(), "****7890");
        assert_eq!(mask_last4("1234567"), "****");
        assert_eq!(mask_last4(""), "****");
    }

    #[test]
    fn pins_never_show() {
        let pin: Pin = serde_json::from_str("\"4711\"").unwrap();
        assert_eq!(format!("{pin:?}"), "Pin(****)");
        assert_eq!(pin.expose(), "4711");
    }

    #[test]
    fn names_keep_initials() {
        assert_eq!(MaskedName::from_full("Jane  Doe").as_str(), "J*** D***");
        assert_eq!(MaskedName::from_full("").as_str(), "");
    }
}
