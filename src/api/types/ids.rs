//! Identifiers chosen by the register (or by the agent when the register leaves them out).

use std::fmt;

use serde::{Deserialize, Serialize};

/// Longest identifier accepted.
pub const MAX_ID_LEN: usize = 64;

/// The rule for register-chosen ids: 1 to 64 characters from `A-Z a-z 0-9 . _ : -`.
pub const ID_RULE: &str = "1 to 64 characters from A-Z a-z 0-9 . _ : -";

/// Whether `s` satisfies [`ID_RULE`].
pub fn is_valid_id(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= MAX_ID_LEN
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b':' | b'-'))
}

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            /// Checks `s` against [`ID_RULE`].
            pub fn parse(s: &str) -> Option<Self> {
                is_valid_id(s).then(|| Self(s.to_owned()))
            }

            /// The id as text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl TryFrom<String> for $name {
            type Error = String;
            fn try_from(s: String) -> Result<Self, String> {
                if is_valid_id(&s) {
                    Ok(Self(s))
                } else {
                    Err(format!("expected {ID_RULE}"))
                }
            }
        }

        impl From<$name> for String {
            fn from(id: $name) -> String {
                id.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

id_type!(
    /// A sale's id: given by the register to make `POST /v1/sales` retry-safe, or assigned.
    SaleId
);
id_type!(
    /// A payment's id: given by the register to make a payment retry-safe, or assigned.
    PaymentId
);
id_type!(
    /// A loyalty member id as printed on the card (e.g. `"000010049"`).
    MemberId
);

/// Longest SKU accepted.
pub const MAX_SKU_LEN: usize = 64;

/// Whether `s` is a plausible SKU: 1 to 64 printable ASCII characters, no leading or
/// trailing space.
pub fn is_valid_sku(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= MAX_SKU_LEN
        && s.trim() == s
        && s.bytes().all(|b| (0x20..0x7f).contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn id_rule() {
        assert!(SaleId::parse("LANE01-0001").is_some());
        assert!(SaleId::parse("a.b_c:d-e").is_some());
        assert!(SaleId::parse("").is_none());
        assert!(SaleId::parse("has space").is_none());
        assert!(SaleId::parse("ü").is_none());
        assert!(SaleId::parse(&"x".repeat(65)).is_none());
        assert!(serde_json::from_str::<PaymentId>("\"p/1\"").is_err());
    }

    #[test]
    fn sku_rule() {
        assert!(is_valid_sku("ABC-123"));
        assert!(is_valid_sku("BOX 12"));
        assert!(!is_valid_sku(" X"));
        assert!(!is_valid_sku("a\nb"));
        assert!(!is_valid_sku(""));
    }
}
