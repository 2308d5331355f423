//! Secret wrappers for card data and the masking helper.
//!
//! Track data, scanned lines and gift-card codes are bearer secrets (reliability.md P3.2):
//! their `Debug` and `Display` never show the content, and their memory is zeroed on drop.

use std::fmt;

use zeroize::Zeroize;

/// The marker printed in place of secret content.
pub const REDACTED: &str = "[redacted]";

/// Masks `value` to its last four characters, e.g. `****1234`.
///
/// Values shorter than eight characters are masked completely (`****`), because their last
/// four would give away too much of them. The output length does not depend on the input
/// length, so the mask does not leak it either.
#[must_use]
pub fn mask_last4(value: &str) -> String {
    let count = value.chars().count();
    if count < 8 {
        return "****".to_owned();
    }
    let tail: String = value.chars().skip(count - 4).collect();
    format!("****{tail}")
}

/// Raw bytes from a reader: one line, one track or one scanned code.
///
/// Zeroed on drop; `Debug` prints only [`REDACTED`]. Never log [`TrackData::expose`].
#[derive(Clone, Default, PartialEq, Eq)]
pub struct TrackData(Vec<u8>);

impl TrackData {
    /// Wraps `bytes`, taking ownership so that no unzeroed copy is left behind.
    #[must_use]
    pub fn new(bytes: Vec<u8>) -> Self {
        Self(bytes)
    }

    /// The secret bytes. Do not log, store or put them in an error.
    #[must_use]
    pub fn expose(&self) -> &[u8] {
        &self.0
    }

    /// The secret bytes as text, if they are UTF-8.
    #[must_use]
    pub fn expose_str(&self) -> Option<&str> {
        std::str::from_utf8(&self.0).ok()
    }

    /// Number of bytes held.
    #[must_use]
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether no bytes are held.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl Drop for TrackData {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

impl zeroize::ZeroizeOnDrop for TrackData {}

impl From<&[u8]> for TrackData {
    fn from(bytes: &[u8]) -> Self {
        Self(bytes.to_vec())
    }
}

impl From<&str> for TrackData {
    fn from(text: &str) -> Self {
        Self(text.as_bytes().to_vec())
    }
}

impl fmt::Debug for TrackData {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TrackData({REDACTED})")
    }
}

impl fmt::Display for TrackData {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(REDACTED)
    }
}

macro_rules! masked_secret {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, PartialEq, Eq)]
        pub struct $name(String);

        impl $name {
            /// Wraps `value`, taking ownership so that no unzeroed copy is left behind.
            #[must_use]
            pub fn new(value: String) -> Self {
                Self(value)
            }

            /// The full secret value. Only for the call that needs it (e.g. the POS
            /// request); never log, store in plain columns or put in an error.
            #[must_use]
            pub fn expose_secret(&self) -> &str {
                &self.0
            }

            /// The value masked to its last four characters (see [`mask_last4`]).
            #[must_use]
            pub fn masked(&self) -> String {
                mask_last4(&self.0)
            }
        }

        impl Drop for $name {
            fn drop(&mut self) {
                self.0.zeroize();
            }
        }

        impl zeroize::ZeroizeOnDrop for $name {}

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, concat!(stringify!($name), "({} {})"), REDACTED, self.masked())
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.masked())
            }
        }
    };
}

masked_secret!(
    /// A gift-card code: a bearer secret. `Debug`/`Display` show only the masked form.
    GiftCardCode
);

masked_secret!(
    /// A member (loyalty) card id. Treated like a secret so that it is masked by default.
    MemberId
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mask_keeps_last_four_only() {
        assert_eq!(mask_last4("6036001234567890"), "****7890");
        assert_eq!(mask_last4("12345678"), "****5678");
        assert_eq!(mask_last4("1234567"), "****");
        assert_eq!(mask_last4(""), "****");
    }

    #[test]
    fn secrets_never_print_their_content() {
        let code = GiftCardCode::new("GIFT-SENTINEL-98765".to_owned());
        let track = TrackData::from("%B4111111111111111^X^3012?");
        for shown in [
            format!("{code:?}"),
            format!("{code}"),
            format!("{track:?}"),
            format!("{track}"),
            format!("{:?}", MemberId::new("MEMBER12345".to_owned())),
        ] {
            assert!(!shown.contains("SENTINEL"), "{shown}");
            assert!(!shown.contains("4111"), "{shown}");
            assert!(!shown.contains("MEMBER1"), "{shown}");
        }
        assert!(format!("{code:?}").contains(REDACTED));
        assert_eq!(code.expose_secret(), "GIFT-SENTINEL-98765");
    }
}
