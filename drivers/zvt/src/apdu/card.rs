//! Card data that must stay secret: card numbers (BMP 22) and track data (BMP 23/24/2D).
//!
//! `Debug` and `Display` never show more than the last four digits. The full number is only
//! reachable through [`CardNumber::expose_digits`], which callers use in memory (for example
//! to redeem a closed-loop gift card) and never log.

use super::CodecError;
use std::fmt;

/// Marker nibble for a masked digit (PA00P015 13.07 ch. 9, BMP 22: "'E' used to indicate
/// masked numeric digit").
const MASKED: u8 = 0x0E;

/// A card number from BMP 22, digit by digit; masked digits stay masked.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct CardNumber {
    // Each entry is 0–9 or MASKED.
    nibbles: Vec<u8>,
}

impl CardNumber {
    /// Decodes BMP 22's packed BCD: digits 0–9, `E` for a masked digit, and an `F` pad
    /// nibble only in the very last position.
    pub fn from_bcd(bytes: &[u8]) -> Result<Self, CodecError> {
        let mut nibbles = Vec::with_capacity(bytes.len() * 2);
        let n = bytes.len() * 2;
        for i in 0..n {
            let b = bytes[i / 2];
            let nib = if i % 2 == 0 { b >> 4 } else { b & 0x0F };
            match nib {
                0..=9 | MASKED => nibbles.push(nib),
                0x0F if i == n - 1 => {}
                _ => {
                    return Err(CodecError::BadBcd {
                        what: "card number",
                    });
                }
            }
        }
        Ok(CardNumber { nibbles })
    }

    /// Builds a card number from text: `0`–`9` are digits, `*`, `E` or `e` are masked digits.
    pub fn from_digits(text: &str) -> Result<Self, CodecError> {
        let nibbles = text
            .bytes()
            .map(|c| match c {
                b'0'..=b'9' => Ok(c - b'0'),
                b'*' | b'E' | b'e' => Ok(MASKED),
                _ => Err(CodecError::BadBcd {
                    what: "card number",
                }),
            })
            .collect::<Result<Vec<_>, _>>()?;
        if nibbles.len() > 198 {
            return Err(CodecError::OutOfRange {
                what: "card number",
            });
        }
        Ok(CardNumber { nibbles })
    }

    /// Packed BCD for BMP 22, padded with `F` to whole bytes.
    pub fn to_bcd(&self) -> Vec<u8> {
        self.nibbles
            .chunks(2)
            .map(|c| (c[0] << 4) | c.get(1).copied().unwrap_or(0x0F))
            .collect()
    }

    /// Number of digits, masked ones included.
    pub fn len(&self) -> usize {
        self.nibbles.len()
    }

    /// Whether there are no digits.
    pub fn is_empty(&self) -> bool {
        self.nibbles.is_empty()
    }

    /// Whether the PT masked any digit.
    pub fn is_masked(&self) -> bool {
        self.nibbles.contains(&MASKED)
    }

    /// The last four digits (masked digits as `*`).
    pub fn last4(&self) -> String {
        let start = self.nibbles.len().saturating_sub(4);
        self.nibbles[start..]
            .iter()
            .map(|&n| nibble_char(n))
            .collect()
    }

    /// The number masked to its last four digits: `************1234`.
    pub fn masked(&self) -> String {
        let keep = self.nibbles.len().saturating_sub(4);
        let mut s = "*".repeat(keep);
        s.push_str(&self.last4());
        s
    }

    /// The full digits, or `None` if the PT masked any. Secret: keep in memory, never log.
    pub fn expose_digits(&self) -> Option<String> {
        if self.is_masked() {
            return None;
        }
        Some(self.nibbles.iter().map(|&n| nibble_char(n)).collect())
    }
}

fn nibble_char(n: u8) -> char {
    if n <= 9 { char::from(b'0' + n) } else { '*' }
}

impl fmt::Debug for CardNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CardNumber({})", self.masked())
    }
}

impl fmt::Display for CardNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.masked())
    }
}

/// Masks a card number given as text to its last four characters: `************1234`.
pub fn mask_pan(pan: &str) -> String {
    let n = pan.chars().count();
    let keep = n.saturating_sub(4);
    let mut s = "*".repeat(keep);
    s.extend(pan.chars().skip(keep));
    s
}

/// Bytes that may hold card data (track data, unparsed fields). `Debug` shows the length
/// only.
#[derive(Clone, PartialEq, Eq, Hash, Default)]
pub struct SecretBytes(Vec<u8>);

impl SecretBytes {
    /// Wraps `bytes`.
    pub fn new(bytes: impl Into<Vec<u8>>) -> Self {
        SecretBytes(bytes.into())
    }

    /// The bytes. Secret: never log them.
    pub fn expose(&self) -> &[u8] {
        &self.0
    }

    /// Number of bytes.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there are no bytes.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for SecretBytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SecretBytes(<{} bytes>)", self.0.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masking() {
        let c =
            CardNumber::from_bcd(&[0x67, 0x99, 0x99, 0xEE, 0xEE, 0xEE, 0x12, 0x34, 0x5F]).unwrap();
        assert_eq!(c.len(), 17);
        assert!(c.is_masked());
        assert_eq!(c.last4(), "2345");
        assert_eq!(c.masked(), "*************2345");
        assert_eq!(format!("{c:?}"), "CardNumber(*************2345)");
        assert_eq!(c.expose_digits(), None);
        assert_eq!(
            c.to_bcd(),
            vec![0x67, 0x99, 0x99, 0xEE, 0xEE, 0xEE, 0x12, 0x34, 0x5F]
        );
        let g = CardNumber::from_digits("9999000011112222").unwrap();
        assert_eq!(g.expose_digits().unwrap(), "9999000011112222");
        assert_eq!(g.to_string(), "************2222");
        assert!(CardNumber::from_bcd(&[0xF1]).is_err());
        assert_eq!(mask_pan("123"), "123");
        assert_eq!(mask_pan("12345678"), "****5678");
        assert_eq!(
            format!("{:?}", SecretBytes::new([1, 2, 3])),
            "SecretBytes(<3 bytes>)"
        );
    }
}
