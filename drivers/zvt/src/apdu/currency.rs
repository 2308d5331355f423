//! ISO 4217 currencies as ZVT carries them: the numeric code as 2 BCD bytes (BMP 49 and the
//! untagged currency of 06 00 Registration, PA00P015 13.07 ch. 2.1 and ch. 9), and the number
//! of minor units an amount has (BMP 04 counts minor units).
//!
//! The table holds the currencies a lane may be configured with; the codec itself accepts any
//! three-digit code.

/// One ISO 4217 currency.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Currency {
    /// Alphabetic code, e.g. `USD`.
    pub alpha: &'static str,
    /// Numeric code, e.g. 840.
    pub numeric: u16,
    /// Decimal places of the currency's minor unit (USD 2, JPY 0).
    pub minor_units: u32,
}

/// The euro, 978 (BCD `09 78`).
pub const EUR: Currency = Currency {
    alpha: "EUR",
    numeric: 978,
    minor_units: 2,
};

/// The US dollar, 840 (BCD `08 40`).
pub const USD: Currency = Currency {
    alpha: "USD",
    numeric: 840,
    minor_units: 2,
};

/// Currencies known by name (ISO 4217, amendment 176).
pub const KNOWN: &[Currency] = &[
    EUR,
    USD,
    Currency {
        alpha: "GBP",
        numeric: 826,
        minor_units: 2,
    },
    Currency {
        alpha: "CHF",
        numeric: 756,
        minor_units: 2,
    },
    Currency {
        alpha: "CAD",
        numeric: 124,
        minor_units: 2,
    },
    Currency {
        alpha: "AUD",
        numeric: 36,
        minor_units: 2,
    },
    Currency {
        alpha: "SEK",
        numeric: 752,
        minor_units: 2,
    },
    Currency {
        alpha: "NOK",
        numeric: 578,
        minor_units: 2,
    },
    Currency {
        alpha: "DKK",
        numeric: 208,
        minor_units: 2,
    },
    Currency {
        alpha: "PLN",
        numeric: 985,
        minor_units: 2,
    },
    Currency {
        alpha: "CZK",
        numeric: 203,
        minor_units: 2,
    },
    Currency {
        alpha: "HUF",
        numeric: 348,
        minor_units: 2,
    },
    Currency {
        alpha: "JPY",
        numeric: 392,
        minor_units: 0,
    },
];

/// The currency with alphabetic code `alpha` (case-insensitive).
pub fn by_alpha(alpha: &str) -> Option<Currency> {
    KNOWN
        .iter()
        .copied()
        .find(|c| c.alpha.eq_ignore_ascii_case(alpha.trim()))
}

/// The currency with numeric code `numeric`.
pub fn by_numeric(numeric: u16) -> Option<Currency> {
    KNOWN.iter().copied().find(|c| c.numeric == numeric)
}

/// An amount read from BMP 04 (which the codec reads as hundredths) in the currency's own
/// units: the BCD digits are minor units, so JPY's `00 00 00 00 12 00` is 1200 yen.
/// Unknown codes are taken as two decimals.
pub fn from_wire(wire: rust_decimal::Decimal, numeric: u16) -> rust_decimal::Decimal {
    let minor = by_numeric(numeric).map(|c| c.minor_units).unwrap_or(2);
    match minor {
        2 => wire,
        m if m < 2 => (wire * rust_decimal::Decimal::from(10u64.pow(2 - m))).round_dp(m),
        m => wire * rust_decimal::Decimal::new(1, m - 2),
    }
}

/// The alphabetic code for `numeric`, or the number itself for a code not in [`KNOWN`].
pub fn label(numeric: u16) -> String {
    by_numeric(numeric)
        .map(|c| c.alpha.to_owned())
        .unwrap_or_else(|| format!("{numeric:03}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_map_both_ways() {
        assert_eq!(by_alpha("usd"), Some(USD));
        assert_eq!(by_alpha("EUR").map(|c| c.numeric), Some(978));
        assert_eq!(by_alpha("GBP").map(|c| c.numeric), Some(826));
        assert_eq!(by_alpha("CHF").map(|c| c.numeric), Some(756));
        assert_eq!(by_alpha("JPY").map(|c| c.minor_units), Some(0));
        assert_eq!(by_alpha("XXX"), None);
        assert_eq!(by_numeric(840), Some(USD));
        assert_eq!(label(840), "USD");
        assert_eq!(label(36), "AUD");
        assert_eq!(label(999), "999");
        for c in KNOWN {
            assert_eq!(by_numeric(c.numeric), Some(*c), "{}", c.alpha);
        }
        let d = |s: &str| s.parse::<rust_decimal::Decimal>().unwrap();
        assert_eq!(from_wire(d("12.00"), 392), d("1200"));
        assert_eq!(from_wire(d("12.34"), 840).to_string(), "12.34");
        assert_eq!(from_wire(d("50.00"), 978).to_string(), "50.00");
        assert_eq!(from_wire(d("12.00"), 392).to_string(), "1200");
    }
}
