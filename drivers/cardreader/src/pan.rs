//! Payment-card detection: ISO/IEC 7812 length, Luhn check digit and BIN ranges.
//!
//! A read that looks like a payment card is discarded by the classifier; this module only
//! answers "is this a PAN?" and never keeps what it is asked about.

/// Shortest and longest PAN (ISO/IEC 7812-1).
pub const PAN_LENGTHS: std::ops::RangeInclusive<usize> = 13..=19;

/// Whether `digits` (ASCII digits only) passes the Luhn check (ISO/IEC 7812-1 Annex B).
///
/// Returns `false` for empty input or any non-digit character.
#[must_use]
pub fn luhn_valid(digits: &str) -> bool {
    if digits.is_empty() {
        return false;
    }
    let mut sum = 0u32;
    for (index, byte) in digits.bytes().rev().enumerate() {
        if !byte.is_ascii_digit() {
            return false;
        }
        let mut value = u32::from(byte - b'0');
        if index % 2 == 1 {
            value *= 2;
            if value > 9 {
                value -= 9;
            }
        }
        sum += value;
    }
    sum.is_multiple_of(10)
}

/// An inclusive range of issuer identification number prefixes, e.g. `2221`–`2720`.
///
/// Both ends have the same number of digits; a PAN is in the range when its first that many
/// digits, read as a number, lie between them.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct BinRange {
    /// First prefix in the range (digits).
    pub low: String,
    /// Last prefix in the range (digits, same length as `low`).
    pub high: String,
}

/// A [`BinRange`] that is not two equally long digit strings with `low <= high`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "BIN range {low}-{high} must be two digit strings of equal length (1-8 digits), low <= high"
)]
pub struct BinRangeError {
    /// The rejected low end.
    pub low: String,
    /// The rejected high end.
    pub high: String,
}

impl BinRange {
    /// A validated range.
    ///
    /// # Errors
    /// [`BinRangeError`] unless both ends are 1–8 digits of equal length with `low <= high`.
    pub fn new(low: &str, high: &str) -> Result<Self, BinRangeError> {
        let range = Self {
            low: low.to_owned(),
            high: high.to_owned(),
        };
        range.validate()?;
        Ok(range)
    }

    /// Checks the invariants of [`BinRange::new`] (for ranges built from config).
    ///
    /// # Errors
    /// [`BinRangeError`] as for [`BinRange::new`].
    pub fn validate(&self) -> Result<(), BinRangeError> {
        let digits =
            |s: &str| !s.is_empty() && s.len() <= 8 && s.bytes().all(|b| b.is_ascii_digit());
        if digits(&self.low)
            && digits(&self.high)
            && self.low.len() == self.high.len()
            && self.low <= self.high
        {
            Ok(())
        } else {
            Err(BinRangeError {
                low: self.low.clone(),
                high: self.high.clone(),
            })
        }
    }

    /// Whether `pan` (digits) starts with a prefix in this range.
    #[must_use]
    pub fn contains(&self, pan: &str) -> bool {
        let width = self.low.len();
        match pan.get(..width) {
            // Equal-width digit strings compare like the numbers they spell.
            Some(prefix) => self.low.as_str() <= prefix && prefix <= self.high.as_str(),
            None => false,
        }
    }

    /// The default ranges: the open-loop networks a lane may see (Visa, Mastercard, Maestro,
    /// American Express, Diners, Discover, JCB, UnionPay, RuPay, Mir, Verve). Deliberately
    /// broad: a false "bank card" only sends the cashier to the terminal.
    #[must_use]
    pub fn defaults() -> Vec<Self> {
        [
            ("4", "4"),       // Visa
            ("51", "55"),     // Mastercard
            ("2221", "2720"), // Mastercard 2-series
            ("2200", "2204"), // Mir
            ("34", "34"),     // American Express
            ("37", "37"),     // American Express
            ("300", "305"),   // Diners Club
            ("36", "36"),     // Diners Club
            ("38", "39"),     // Diners Club
            ("6011", "6011"), // Discover
            ("644", "649"),   // Discover
            ("65", "65"),     // Discover / RuPay
            ("3528", "3589"), // JCB
            ("62", "62"),     // UnionPay
            ("60", "60"),     // RuPay
            ("81", "82"),     // RuPay
            ("50", "50"),     // Maestro / Verve
            ("56", "58"),     // Maestro
            ("63", "63"),     // Maestro
            ("67", "67"),     // Maestro
        ]
        .into_iter()
        .map(|(low, high)| Self {
            low: low.to_owned(),
            high: high.to_owned(),
        })
        .collect()
    }
}

/// Whether `candidate` looks like a payment-card PAN: 13–19 digits, Luhn-valid and in one of
/// `ranges`.
#[must_use]
pub fn is_payment_pan(candidate: &str, ranges: &[BinRange]) -> bool {
    PAN_LENGTHS.contains(&candidate.len())
        && luhn_valid(candidate)
        && ranges.iter().any(|range| range.contains(candidate))
}

/// Whether `text` contains a run of 13–19 digits (spaces and dashes between digits allowed)
/// that has a Luhn-valid window of PAN length. For leak scanners over logs and files.
#[must_use]
pub fn contains_luhn_run(text: &str) -> bool {
    let mut run = String::new();
    let check = |run: &str| {
        PAN_LENGTHS.clone().any(|len| {
            run.len() >= len
                && (0..=run.len() - len).any(|start| luhn_valid(&run[start..start + len]))
        })
    };
    let mut last_sep = false;
    for ch in text.chars() {
        if ch.is_ascii_digit() {
            run.push(ch);
            last_sep = false;
        } else if (ch == ' ' || ch == '-') && !run.is_empty() && !last_sep {
            last_sep = true;
        } else {
            if check(&run) {
                return true;
            }
            run.clear();
            last_sep = false;
        }
    }
    check(&run)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn luhn_known_values() {
        assert!(luhn_valid("4111111111111111"));
        assert!(luhn_valid("5555555555554444"));
        assert!(luhn_valid("378282246310005"));
        assert!(!luhn_valid("4111111111111112"));
        assert!(!luhn_valid(""));
        assert!(!luhn_valid("41111111111a1111"));
    }

    #[test]
    fn payment_pan_needs_length_luhn_and_bin() {
        let ranges = BinRange::defaults();
        assert!(is_payment_pan("4111111111111111", &ranges));
        assert!(is_payment_pan("2223000048400011", &ranges));
        assert!(!is_payment_pan("4111111111111112", &ranges), "Luhn");
        assert!(!is_payment_pan("411111111111", &ranges), "too short");
        // Luhn-valid but outside every default range.
        assert!(luhn_valid("9999999999999995"));
        assert!(!is_payment_pan("9999999999999995", &ranges));
    }

    #[test]
    fn bin_ranges_validate() {
        assert!(BinRange::new("2221", "2720").is_ok());
        assert!(BinRange::new("2720", "2221").is_err());
        assert!(BinRange::new("22", "2720").is_err());
        assert!(BinRange::new("", "").is_err());
        assert!(BinRange::new("4a", "4b").is_err());
    }

    #[test]
    fn luhn_runs_are_found_with_separators() {
        assert!(contains_luhn_run("pan=4111 1111 1111 1111 end"));
        assert!(contains_luhn_run("x4111-1111-1111-1111"));
        assert!(contains_luhn_run("aa;4111111111111111=3012?"));
        assert!(!contains_luhn_run("order 12345 total 12.34"));
    }
}
