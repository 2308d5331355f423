//! Wire-level types shared by the generated operations.

use std::fmt;

use serde::de::{self, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The schema's `Decimal` scalar: always a JSON string on the wire.
///
/// A JSON number is rejected on purpose: it would have passed through a float, and money is
/// never a float. `rust_decimal`'s own `Deserialize` accepts numbers, so this newtype is stricter.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Decimal(pub rust_decimal::Decimal);

impl Serialize for Decimal {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Decimal {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Decimal;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a decimal number as a string")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Decimal, E> {
                v.parse::<rust_decimal::Decimal>()
                    .map(Decimal)
                    .map_err(|_| {
                        E::invalid_value(de::Unexpected::Other("malformed decimal"), &self)
                    })
            }
        }
        d.deserialize_str(V)
    }
}

impl From<rust_decimal::Decimal> for Decimal {
    fn from(d: rust_decimal::Decimal) -> Self {
        Decimal(d)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros_shim::dec;

    mod rust_decimal_macros_shim {
        macro_rules! dec {
            ($s:literal) => {
                $s.parse::<rust_decimal::Decimal>().unwrap()
            };
        }
        pub(crate) use dec;
    }

    #[test]
    fn serializes_as_string() {
        let v = serde_json::to_string(&Decimal(dec!("-6.49"))).unwrap();
        assert_eq!(v, "\"-6.49\"");
    }

    #[test]
    fn parses_strings_and_rejects_numbers() {
        let d: Decimal = serde_json::from_str("\"1.99\"").unwrap();
        assert_eq!(d.0, dec!("1.99"));
        assert!(serde_json::from_str::<Decimal>("1.99").is_err());
        assert!(serde_json::from_str::<Decimal>("\"abc\"").is_err());
    }
}
