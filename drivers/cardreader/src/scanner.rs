//! Barcode scanner lines: an optional configured prefix and suffix around the code.

use crate::secret::TrackData;

/// How a scanner frames its codes (besides the CR/LF that [`crate::line`] strips).
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(default, deny_unknown_fields))]
pub struct ScannerFormat {
    /// Text the scanner sends before each code (empty: none).
    pub prefix: String,
    /// Text the scanner sends after each code (empty: none).
    pub suffix: String,
    /// Longest code accepted.
    pub max_len: usize,
}

impl Default for ScannerFormat {
    fn default() -> Self {
        Self {
            prefix: String::new(),
            suffix: String::new(),
            max_len: 128,
        }
    }
}

/// A scanned line that is not a code. Holds no data from the line.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ScanError {
    /// Nothing left after removing prefix, suffix and surrounding blanks.
    #[error("empty scan")]
    Empty,
    /// The configured prefix is missing.
    #[error("scan lacks the configured prefix")]
    MissingPrefix,
    /// The configured suffix is missing.
    #[error("scan lacks the configured suffix")]
    MissingSuffix,
    /// A byte that is not printable ASCII.
    #[error("non-printable byte at offset {offset}")]
    InvalidCharacter {
        /// Offset within the code.
        offset: usize,
    },
    /// The code is longer than the configured maximum.
    #[error("scan longer than {max} characters")]
    TooLong {
        /// The configured limit.
        max: usize,
    },
}

/// A scanned code: printable ASCII, prefix and suffix removed. A secret like any read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScannedCode(TrackData);

impl ScannedCode {
    /// The code (secret: do not log it).
    #[must_use]
    pub fn expose_str(&self) -> &str {
        self.0.expose_str().unwrap_or_default()
    }
}

/// Parses one scanner line (without CR/LF).
///
/// # Errors
/// [`ScanError`] when the framing is wrong or the code is empty, too long or not printable.
///
/// # Example
/// ```
/// use cardreader::scanner::{parse_scan, ScannerFormat};
/// let format = ScannerFormat { prefix: "]C1".into(), ..ScannerFormat::default() };
/// let code = parse_scan(b"]C1GC-0001-2345", &format).unwrap();
/// assert_eq!(code.expose_str(), "GC-0001-2345");
/// ```
pub fn parse_scan(line: &[u8], format: &ScannerFormat) -> Result<ScannedCode, ScanError> {
    let line = line.trim_ascii();
    let line = line
        .strip_prefix(format.prefix.as_bytes())
        .ok_or(ScanError::MissingPrefix)?;
    let line = line
        .strip_suffix(format.suffix.as_bytes())
        .ok_or(ScanError::MissingSuffix)?;
    let code = line.trim_ascii();
    if code.is_empty() {
        return Err(ScanError::Empty);
    }
    if let Some(offset) = code.iter().position(|b| !(0x20..=0x7E).contains(b)) {
        return Err(ScanError::InvalidCharacter { offset });
    }
    if code.len() > format.max_len {
        return Err(ScanError::TooLong {
            max: format.max_len,
        });
    }
    Ok(ScannedCode(TrackData::from(code)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefix_and_suffix_are_enforced() {
        let format = ScannerFormat {
            prefix: "<".into(),
            suffix: ">".into(),
            max_len: 10,
        };
        assert_eq!(parse_scan(b" <ABC> ", &format).unwrap().expose_str(), "ABC");
        assert_eq!(parse_scan(b"ABC>", &format), Err(ScanError::MissingPrefix));
        assert_eq!(parse_scan(b"<ABC", &format), Err(ScanError::MissingSuffix));
        assert_eq!(parse_scan(b"<>", &format), Err(ScanError::Empty));
        assert_eq!(
            parse_scan(b"<A\x01B>", &format),
            Err(ScanError::InvalidCharacter { offset: 1 })
        );
        assert_eq!(
            parse_scan(b"<ABCDEFGHIJK>", &format),
            Err(ScanError::TooLong { max: 10 })
        );
    }

    #[test]
    fn no_framing_by_default() {
        let code = parse_scan(b"1234567890123", &ScannerFormat::default()).unwrap();
        assert_eq!(code.expose_str(), "1234567890123");
    }
}
