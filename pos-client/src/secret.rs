//! Bearer secrets (gift-card codes and PINs) and masking.

use std::fmt;

use secrecy::{ExposeSecret, SecretString};

/// Masks a secret to its last four characters, e.g. `****1234`. Values below eight
/// characters are fully masked (`****`): their last four would give too much away. The same
/// rule as `cardreader::mask_last4` (the agent's tests check they agree on every input).
pub fn mask_last4(value: &str) -> String {
    let chars: Vec<char> = value.chars().collect();
    if chars.len() < 8 {
        return "****".to_owned();
    }
    let tail: String = chars[chars.len() - 4..].iter().collect();
    format!("****{tail}")
}

/// A gift-card code. Holding the code is holding the money, so `Debug` and `Display` show only
/// the last four characters; call [`GiftCode::expose`] to get the full value for the wire.
#[derive(Clone, PartialEq, Eq)]
pub struct GiftCode(String);

impl GiftCode {
    /// Wraps a code.
    pub fn new(code: impl Into<String>) -> Self {
        GiftCode(code.into())
    }

    /// The full code. Never log it.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The code masked to its last four characters.
    pub fn masked(&self) -> String {
        mask_last4(&self.0)
    }
}

impl From<&str> for GiftCode {
    fn from(s: &str) -> Self {
        GiftCode::new(s)
    }
}

impl From<String> for GiftCode {
    fn from(s: String) -> Self {
        GiftCode(s)
    }
}

// Holding the code is holding the money: wipe it when it goes.
impl Drop for GiftCode {
    fn drop(&mut self) {
        secrecy::zeroize::Zeroize::zeroize(&mut self.0);
    }
}

impl secrecy::zeroize::ZeroizeOnDrop for GiftCode {}

impl fmt::Debug for GiftCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "GiftCode({})", self.masked())
    }
}

impl fmt::Display for GiftCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.masked())
    }
}

/// Removes every given secret from a text that came from outside (a server message), so that
/// an error can never echo a code or PIN back into logs.
#[derive(Default)]
pub(crate) struct Redactor {
    secrets: Vec<String>,
}

impl Redactor {
    pub(crate) fn add(&mut self, secret: &str) {
        // Very short values (a 4-digit PIN) would also blank unrelated digits; that is the
        // price of never echoing them.
        if !secret.is_empty() {
            self.secrets.push(secret.to_owned());
        }
    }

    pub(crate) fn add_code(&mut self, code: &GiftCode) {
        self.add(code.expose());
    }

    pub(crate) fn add_secret(&mut self, s: &SecretString) {
        self.add(s.expose_secret());
    }

    /// Returns `text` with secrets replaced by their masked form, cut to a sane length.
    pub(crate) fn scrub(&self, text: &str) -> String {
        const MAX: usize = 512;
        let mut out = text.to_owned();
        // Longest first, so that a PIN inside a code does not leave the code's tail behind.
        let mut secrets: Vec<&String> = self.secrets.iter().collect();
        secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
        for s in secrets {
            out = out.replace(s.as_str(), &mask_last4(s));
        }
        if out.chars().count() > MAX {
            out = out.chars().take(MAX).collect::<String>() + "…";
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_to_last_four() {
        assert_eq!(mask_last4("6006491234567890"), "****7890");
        assert_eq!(mask_last4("123"), "****");
        assert_eq!(mask_last4("1234"), "****");
        let c = GiftCode::new("6006491234567890");
        assert_eq!(format!("{c:?}"), "GiftCode(****7890)");
        assert_eq!(c.to_string(), "****7890");
        assert!(!format!("{c:?}").contains("600649"));
    }

    #[test]
    fn scrubs_secrets_from_server_text() {
        let mut r = Redactor::default();
        r.add_code(&GiftCode::new("6006491234567890"));
        r.add_secret(&SecretString::from("4711".to_owned()));
        let s = r.scrub("code 6006491234567890 with pin 4711 rejected");
        assert_eq!(s, "code ****7890 with pin **** rejected");
        let long = "x".repeat(2000);
        assert!(r.scrub(&long).chars().count() <= 513);
    }
}
