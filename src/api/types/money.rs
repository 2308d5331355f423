//! Decimal strings on the wire: money and quantities are `"12.34"`, never JSON numbers, so
//! no value ever passes through a binary float.

use std::fmt;
use std::str::FromStr;

use rust_decimal::Decimal;
use serde::de::{self, Deserializer, Visitor};
use serde::ser::Serializer;

const EXPECTING: &str = "a decimal string such as \"12.34\"";

/// Longest decimal string accepted; longer input is refused before parsing.
const MAX_LEN: usize = 32;

/// Parses a plain decimal string: an optional `-`, digits, and an optional `.` with digits.
///
/// Unlike `Decimal::from_str` this refuses `+`, `_`, exponents, whitespace and a bare `.`,
/// so what the register sent is exactly what is parsed.
pub fn parse_decimal(s: &str) -> Option<Decimal> {
    if s.is_empty() || s.len() > MAX_LEN {
        return None;
    }
    let unsigned = s.strip_prefix('-').unwrap_or(s);
    let (int, frac) = match unsigned.split_once('.') {
        Some((i, f)) => (i, Some(f)),
        None => (unsigned, None),
    };
    let digits = |p: &str| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit());
    if !digits(int) || frac.is_some_and(|f| !digits(f)) {
        return None;
    }
    Decimal::from_str(s).ok()
}

struct DecimalVisitor;

impl Visitor<'_> for DecimalVisitor {
    type Value = Decimal;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(EXPECTING)
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Decimal, E> {
        // The value itself is left out of the error: it may be anything the register sent.
        parse_decimal(v).ok_or_else(|| E::custom(format_args!("expected {EXPECTING}")))
    }
}

/// `#[serde(with = "dec")]` for a required decimal field.
pub mod dec {
    use super::*;

    /// Writes the decimal as a string, keeping its scale (`"5.00"` stays `"5.00"`).
    pub fn serialize<S: Serializer>(v: &Decimal, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(v)
    }

    /// Reads a decimal from a string only; JSON numbers are refused.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Decimal, D::Error> {
        d.deserialize_str(DecimalVisitor)
    }
}

/// `#[serde(with = "dec_opt", default)]` for an optional decimal field.
pub mod dec_opt {
    use super::*;

    /// Writes the decimal as a string, or `null`.
    pub fn serialize<S: Serializer>(v: &Option<Decimal>, s: S) -> Result<S::Ok, S::Error> {
        match v {
            Some(v) => s.collect_str(v),
            None => s.serialize_none(),
        }
    }

    /// Reads an optional decimal string; `null` or a missing field is `None`.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Decimal>, D::Error> {
        struct OptVisitor;
        impl<'de> Visitor<'de> for OptVisitor {
            type Value = Option<Decimal>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(EXPECTING)
            }
            fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(None)
            }
            fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(None)
            }
            fn visit_some<D2: Deserializer<'de>>(self, d: D2) -> Result<Self::Value, D2::Error> {
                d.deserialize_str(DecimalVisitor).map(Some)
            }
        }
        d.deserialize_option(OptVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal::dec;

    #[test]
    fn plain_decimal_strings_parse() {
        assert_eq!(parse_decimal("12.34"), Some(dec!(12.34)));
        assert_eq!(parse_decimal("0.5"), Some(dec!(0.5)));
        assert_eq!(parse_decimal("-1"), Some(dec!(-1)));
        assert_eq!(
            parse_decimal("5.00").map(|d| d.to_string()),
            Some("5.00".into())
        );
    }

    #[test]
    fn everything_else_is_refused() {
        for s in [
            "", ".", "1.", ".5", "+1", "1_000", "1e3", " 1", "1 ", "abc", "--1", "1.2.3", "NaN",
        ] {
            assert_eq!(parse_decimal(s), None, "{s:?}");
        }
        assert_eq!(parse_decimal(&"9".repeat(40)), None);
    }

    #[test]
    fn json_numbers_are_refused() {
        #[derive(serde::Deserialize, Debug)]
        struct T {
            #[serde(with = "dec")]
            #[allow(dead_code)]
            a: Decimal,
        }
        assert!(serde_json::from_str::<T>(r#"{"a":12.34}"#).is_err());
        assert!(serde_json::from_str::<T>(r#"{"a":"12.34"}"#).is_ok());
    }
}

#[cfg(test)]
mod proptests {
    use proptest::prelude::*;

    use super::parse_decimal;

    proptest! {
        #[test]
        fn parsing_is_total(s in "\\PC{0,40}") {
            let _ = parse_decimal(&s);
        }

        /// A plain decimal string parses to a value that prints back as the same string.
        #[test]
        fn plain_strings_round_trip(int in "[1-9][0-9]{0,10}", frac in "[0-9]{0,6}", neg in any::<bool>()) {
            let s = format!("{}{int}{}{frac}", if neg { "-" } else { "" }, if frac.is_empty() { "" } else { "." });
            let d = parse_decimal(&s).expect("plain decimal");
            prop_assert_eq!(d.to_string(), s);
        }
    }
}
