//! What a read is: gift card, member card, payment card or unknown.
//!
//! Order of the rules (payments-practice.md, reliability.md P3.1):
//! 1. a gift card whose number starts with a configured issuer prefix (closed-loop ranges
//!    often overlap open-loop BINs, so a configured prefix wins);
//! 2. a payment card: any 13–19 digit, Luhn-valid number in a BIN range. Its data is
//!    dropped (and zeroed) at once; only [`BANK_CARD_NOTICE`] is reported;
//! 3. a gift card by pattern alone (no prefix list configured);
//! 4. a member card by pattern;
//! 5. from a scanner only, an item barcode ([`is_item_code`]: a short run of letters, digits,
//!    `-` and `.`); a swipe never is one, as track data is not an item;
//! 6. unknown, with nothing kept.

use regex::Regex;
use zeroize::Zeroizing;

use crate::pan::{BinRange, BinRangeError, is_payment_pan};
use crate::scanner::ScannedCode;
use crate::secret::{GiftCardCode, MemberId};
use crate::track::Swipe;

/// What the cashier is told when a bank card is swiped or scanned.
pub const BANK_CARD_NOTICE: &str = "use the terminal for bank cards";

/// Shortest all-digit gift prefix accepted: shorter ones would swallow whole card networks.
pub const MIN_DIGIT_PREFIX_LEN: usize = 4;

/// Rules for classifying reads.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(default, deny_unknown_fields))]
pub struct ClassifierConfig {
    /// Issuer prefixes of the store's gift cards (e.g. `"603600"`). A read whose number starts
    /// with one is a gift card even if it is Luhn-valid in a BIN range.
    pub gift_prefixes: Vec<String>,
    /// A regex with a named group `code` that extracts the gift-card code from the track data
    /// or scanned code (e.g. `^(?P<code>\d{16})`). With prefixes, both must match.
    pub gift_pattern: Option<String>,
    /// A regex that recognises member cards; the named group `id`, if any, is the member id,
    /// otherwise the whole match.
    pub member_pattern: Option<String>,
    /// Payment-card BIN ranges; defaults to [`BinRange::defaults`].
    pub bin_ranges: Vec<BinRange>,
}

impl Default for ClassifierConfig {
    fn default() -> Self {
        Self {
            gift_prefixes: Vec::new(),
            gift_pattern: None,
            member_pattern: None,
            bin_ranges: BinRange::defaults(),
        }
    }
}

/// A [`ClassifierConfig`] that cannot be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ClassifierConfigError {
    /// `gift_pattern` or `member_pattern` is not a valid regex.
    #[error("{field} is not a valid regex: {source}")]
    InvalidPattern {
        /// Which key.
        field: &'static str,
        /// The regex error.
        source: regex::Error,
    },
    /// `gift_pattern` lacks the named group `code`.
    #[error("gift_pattern needs a named group `code`, e.g. (?P<code>...)")]
    MissingCodeGroup,
    /// A gift prefix is empty or an all-digit prefix shorter than [`MIN_DIGIT_PREFIX_LEN`].
    #[error("gift prefix {prefix:?} is too short (all-digit prefixes need at least 4 digits)")]
    PrefixTooShort {
        /// The rejected prefix.
        prefix: String,
    },
    /// A BIN range is malformed.
    #[error(transparent)]
    BinRange(#[from] BinRangeError),
}

/// Where a read came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "kebab-case"))]
pub enum ReadSource {
    /// A magnetic-stripe swipe.
    Swipe,
    /// A barcode scan or a keyboard-wedge line.
    Scan,
}

/// A read before classification. Dropping it zeroes its data.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RawRead {
    /// Tracks from an MSR.
    Swipe(Swipe),
    /// A code from a scanner or wedge.
    Scan(ScannedCode),
}

/// A classified read: the only form in which reads leave the driver.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ClassifiedRead {
    /// A store gift card.
    GiftCard {
        /// The code (secret; masked in `Debug`/`Display`).
        code: GiftCardCode,
        /// Swipe or scan.
        source: ReadSource,
    },
    /// A member card.
    MemberCard {
        /// The member id (masked in `Debug`/`Display`).
        id: MemberId,
        /// Swipe or scan.
        source: ReadSource,
    },
    /// An item barcode from a scanner (not secret: products are printed on the shelf).
    ItemCode {
        /// The barcode as scanned.
        code: String,
    },
    /// A bank card: discarded; tell the cashier [`BANK_CARD_NOTICE`].
    PaymentCard {
        /// Swipe or scan.
        source: ReadSource,
    },
    /// Not recognised; nothing of it is kept.
    Unknown {
        /// Swipe or scan.
        source: ReadSource,
    },
}

impl ClassifiedRead {
    /// A short label: `gift-card`, `member-card`, `item-code`, `payment-card` or `unknown`.
    #[must_use]
    pub fn kind(&self) -> &'static str {
        match self {
            Self::GiftCard { .. } => "gift-card",
            Self::MemberCard { .. } => "member-card",
            Self::ItemCode { .. } => "item-code",
            Self::PaymentCard { .. } => "payment-card",
            Self::Unknown { .. } => "unknown",
        }
    }

    /// Swipe or scan.
    #[must_use]
    pub fn source(&self) -> ReadSource {
        match self {
            Self::ItemCode { .. } => ReadSource::Scan,
            Self::GiftCard { source, .. }
            | Self::MemberCard { source, .. }
            | Self::PaymentCard { source }
            | Self::Unknown { source } => *source,
        }
    }

    /// What to tell the cashier, if anything: [`BANK_CARD_NOTICE`] for payment cards.
    #[must_use]
    pub fn notice(&self) -> Option<&'static str> {
        matches!(self, Self::PaymentCard { .. }).then_some(BANK_CARD_NOTICE)
    }
}

/// Longest item barcode passed on (GS1-128 carries at most 48 data characters).
pub const MAX_ITEM_CODE_LEN: usize = 48;

/// Whether a scanned line is an item barcode: 1 to [`MAX_ITEM_CODE_LEN`] letters, digits,
/// `-` and `.`, starting with a letter or digit. A 13–19 digit number in a payment BIN range
/// is never passed on, even when its Luhn check fails (a misread PAN is still card data),
/// unless it is a GTIN-13/14 with a valid check digit (EAN-13 of German goods start with 40–44,
/// inside the Visa range).
#[must_use]
pub fn is_item_code(data: &str, bin_ranges: &[BinRange]) -> bool {
    let shaped = (1..=MAX_ITEM_CODE_LEN).contains(&data.len())
        && data.starts_with(|c: char| c.is_ascii_alphanumeric())
        && data
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.'));
    let pan_like = (13..=19).contains(&data.len())
        && data.bytes().all(|b| b.is_ascii_digit())
        && bin_ranges.iter().any(|r| r.contains(data));
    shaped && (!pan_like || (matches!(data.len(), 13 | 14) && gtin_check_digit_valid(data)))
}

/// The GS1 check digit: weights 3 and 1 alternating from the right, the last digit excluded.
fn gtin_check_digit_valid(digits: &str) -> bool {
    let d: Vec<u32> = digits.bytes().map(|b| u32::from(b - b'0')).collect();
    let Some((check, body)) = d.split_last() else {
        return false;
    };
    let sum: u32 = body
        .iter()
        .rev()
        .enumerate()
        .map(|(i, v)| if i % 2 == 0 { v * 3 } else { *v })
        .sum();
    (10 - sum % 10) % 10 == *check
}

/// A validated rule set.
#[derive(Debug, Clone)]
pub struct Classifier {
    gift_prefixes: Vec<String>,
    gift_pattern: Option<Regex>,
    member_pattern: Option<Regex>,
    bin_ranges: Vec<BinRange>,
}

/// One place a code may be: the number field and the whole data of a track or scan.
struct Candidate<'a> {
    number: &'a str,
    data: &'a str,
}

impl Classifier {
    /// Validates `config`.
    ///
    /// # Errors
    /// [`ClassifierConfigError`] for bad regexes, a missing `code` group, too short prefixes
    /// or malformed BIN ranges.
    pub fn new(config: ClassifierConfig) -> Result<Self, ClassifierConfigError> {
        for prefix in &config.gift_prefixes {
            let all_digits = prefix.bytes().all(|b| b.is_ascii_digit());
            if prefix.is_empty() || (all_digits && prefix.len() < MIN_DIGIT_PREFIX_LEN) {
                return Err(ClassifierConfigError::PrefixTooShort {
                    prefix: prefix.clone(),
                });
            }
        }
        let compile = |field: &'static str, pattern: &Option<String>| {
            pattern
                .as_deref()
                .map(Regex::new)
                .transpose()
                .map_err(|source| ClassifierConfigError::InvalidPattern { field, source })
        };
        let gift_pattern = compile("gift_pattern", &config.gift_pattern)?;
        if let Some(pattern) = &gift_pattern
            && !pattern.capture_names().flatten().any(|name| name == "code")
        {
            return Err(ClassifierConfigError::MissingCodeGroup);
        }
        let member_pattern = compile("member_pattern", &config.member_pattern)?;
        for range in &config.bin_ranges {
            range.validate()?;
        }
        Ok(Self {
            gift_prefixes: config.gift_prefixes,
            gift_pattern,
            member_pattern,
            bin_ranges: config.bin_ranges,
        })
    }

    /// Classifies `read`, consuming it so that its data is zeroed when this returns.
    #[must_use]
    pub fn classify(&self, read: RawRead) -> ClassifiedRead {
        let (source, candidates): (_, Vec<Candidate<'_>>) = match &read {
            RawRead::Swipe(swipe) => (
                ReadSource::Swipe,
                swipe
                    .tracks()
                    .iter()
                    .map(|t| Candidate {
                        number: t.primary_number(),
                        data: t.expose_str(),
                    })
                    .collect(),
            ),
            RawRead::Scan(code) => (
                ReadSource::Scan,
                vec![Candidate {
                    number: code.expose_str(),
                    data: code.expose_str(),
                }],
            ),
        };
        let classified = self.classify_candidates(source, &candidates);
        drop(candidates);
        drop(read);
        classified
    }

    fn classify_candidates(
        &self,
        source: ReadSource,
        candidates: &[Candidate<'_>],
    ) -> ClassifiedRead {
        if !self.gift_prefixes.is_empty() {
            for candidate in candidates {
                if self
                    .gift_prefixes
                    .iter()
                    .any(|p| candidate.number.starts_with(p.as_str()))
                    && let Some(code) = self.gift_code(candidate)
                {
                    return ClassifiedRead::GiftCard { code, source };
                }
            }
        }
        let payment = candidates.iter().any(|c| {
            // Printed PANs group digits with spaces or dashes; join them before looking.
            let joined: Zeroizing<String> = Zeroizing::new(
                c.data
                    .chars()
                    .filter(|ch| !matches!(ch, ' ' | '-'))
                    .collect(),
            );
            is_payment_pan(c.number, &self.bin_ranges)
                || joined
                    .split(|ch: char| !ch.is_ascii_digit())
                    .any(|run| is_payment_pan(run, &self.bin_ranges))
        });
        if payment {
            return ClassifiedRead::PaymentCard { source };
        }
        if self.gift_prefixes.is_empty() && self.gift_pattern.is_some() {
            for candidate in candidates {
                if let Some(code) = self.gift_code(candidate) {
                    return ClassifiedRead::GiftCard { code, source };
                }
            }
        }
        if let Some(pattern) = &self.member_pattern {
            for candidate in candidates {
                if let Some(captures) = pattern.captures(candidate.data) {
                    let id = captures
                        .name("id")
                        .or_else(|| captures.get(0))
                        .map(|m| m.as_str())
                        .unwrap_or_default();
                    if !id.is_empty() {
                        return ClassifiedRead::MemberCard {
                            id: MemberId::new(id.to_owned()),
                            source,
                        };
                    }
                }
            }
        }
        if source == ReadSource::Scan
            && let [candidate] = candidates
            && is_item_code(candidate.data, &self.bin_ranges)
        {
            return ClassifiedRead::ItemCode {
                code: candidate.data.to_owned(),
            };
        }
        ClassifiedRead::Unknown { source }
    }

    /// Whether a code keyed at the register (not read by a reader) is a payment-card number,
    /// by the same rule as reads: a configured gift prefix wins, otherwise any 13–19 digit,
    /// Luhn-valid run in a BIN range (spaces and dashes between digits ignored) is a PAN.
    /// Nothing of `code` is kept.
    #[must_use]
    pub fn is_payment_card_number(&self, code: &str) -> bool {
        if self
            .gift_prefixes
            .iter()
            .any(|p| code.starts_with(p.as_str()))
        {
            return false;
        }
        let joined: Zeroizing<String> =
            Zeroizing::new(code.chars().filter(|ch| !matches!(ch, ' ' | '-')).collect());
        joined
            .split(|ch: char| !ch.is_ascii_digit())
            .any(|run| is_payment_pan(run, &self.bin_ranges))
    }

    fn gift_code(&self, candidate: &Candidate<'_>) -> Option<GiftCardCode> {
        let code = match &self.gift_pattern {
            Some(pattern) => pattern.captures(candidate.data)?.name("code")?.as_str(),
            None => candidate.number,
        };
        (!code.is_empty()).then(|| GiftCardCode::new(code.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keyed_bank_card_numbers_are_payment_cards_unless_a_gift_prefix_wins() {
        let plain = Classifier::new(ClassifierConfig::default()).unwrap();
        assert!(plain.is_payment_card_number("4931735702461002"));
        assert!(plain.is_payment_card_number("4931-7357-0246-1002"));
        assert!(plain.is_payment_card_number("4931 7357 0246 1002"));
        assert!(
            !plain.is_payment_card_number("4931735702461003"),
            "Luhn fails"
        );
        assert!(!plain.is_payment_card_number("9931735702461002"), "no BIN");
        assert!(!plain.is_payment_card_number("AB12"));
        assert!(plain.is_payment_card_number("6006491000000002"));
        let store = Classifier::new(ClassifierConfig {
            gift_prefixes: vec!["600649".into()],
            ..ClassifierConfig::default()
        })
        .unwrap();
        assert!(!store.is_payment_card_number("6006491000000002"));
        assert!(store.is_payment_card_number("4931735702461002"));
    }
}
