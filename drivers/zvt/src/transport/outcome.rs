//! Typed results of the terminal commands.

use rust_decimal::Decimal;

use crate::{
    apdu::card::CardNumber,
    command::{PrintLine, StatusInformation},
    exchange::{Event, Reply},
};

use super::events::EventSink;

/// How a financial command ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TxResult {
    /// 06 0F Completion: the terminal approved (possibly for less, see the amount).
    Approved,
    /// 06 1E Abort: declined, cancelled or failed, with the result code (PA00P015 ch. 10).
    Declined {
        /// The result code.
        code: u8,
    },
    /// `84 xx 00`: the terminal refused to run the command; nothing happened.
    Refused {
        /// The result code.
        code: u8,
    },
}

/// The outcome of a financial command (06 01, 06 22, 06 23, 06 24, 06 25, 06 30).
#[derive(Debug, Clone, PartialEq)]
pub struct TxOutcome {
    /// Approved, declined or refused.
    pub result: TxResult,
    /// BMP 04 of the last status information: the amount the terminal processed.
    pub amount: Option<Decimal>,
    /// BMP 87 receipt number (needed for reversal, booking, pre-auth reversal).
    pub receipt: Option<u16>,
    /// BMP 0B trace number.
    pub trace: Option<u32>,
    /// BMP 22 card number as the terminal sent it (masked; `Debug` shows the last 4 only).
    pub card_number: Option<CardNumber>,
    /// BMP 8A card type.
    pub card_type: Option<u8>,
    /// BMP 8B card name.
    pub card_name: Option<String>,
    /// BMP 29 terminal id.
    pub terminal_id: Option<u32>,
    /// Every 04 0F of the command, in order.
    pub status: Vec<StatusInformation>,
    /// Receipt lines printed through the ECR (06 D1 / 06 D3), in order.
    pub receipt_lines: Vec<String>,
}

impl TxOutcome {
    /// True when approved.
    pub fn is_approved(&self) -> bool {
        self.result == TxResult::Approved
    }

    pub(crate) fn from_reply(reply: Reply, receipt_lines: Vec<String>) -> Option<Self> {
        let (result, status, tid) = match reply {
            Reply::Completed { completion, status } => {
                let result = match completion.result_code {
                    None | Some(0) => TxResult::Approved,
                    Some(code) => TxResult::Declined { code },
                };
                (result, status, completion.terminal_id)
            }
            Reply::Aborted { abort, status } => {
                let mut o = Self::build(
                    TxResult::Declined {
                        code: abort.result_code,
                    },
                    status,
                    None,
                    receipt_lines,
                );
                if o.receipt.is_none() {
                    o.receipt = abort.receipt;
                }
                return Some(o);
            }
            Reply::Refused { code } => (TxResult::Refused { code }, Vec::new(), None),
            Reply::Accepted | Reply::CardRead(_) => return None,
        };
        Some(Self::build(result, status, tid, receipt_lines))
    }

    fn build(
        result: TxResult,
        status: Vec<StatusInformation>,
        tid: Option<u32>,
        receipt_lines: Vec<String>,
    ) -> Self {
        // The last status information that carries transaction data describes the result.
        let last = status
            .iter()
            .rev()
            .find(|s| s.receipt.is_some() || s.trace.is_some() || s.amount.is_some());
        Self {
            result,
            amount: last.and_then(|s| s.amount),
            receipt: last.and_then(|s| s.receipt),
            trace: last.and_then(|s| s.trace),
            card_number: last.and_then(|s| s.card_number.clone()),
            card_type: last.and_then(|s| s.card_type),
            card_name: last.and_then(|s| s.card_name.clone()),
            terminal_id: tid.or_else(|| last.and_then(|s| s.terminal_id)),
            status,
            receipt_lines,
        }
    }
}

/// The answer to a Status Enquiry (05 01, PA00P015 13.07 ch. 2.55).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TerminalStatus {
    /// The terminal's software version.
    pub sw_version: Option<String>,
    /// Terminal status byte: 00 = ready (see `apdu::codes::TerminalStatusCode`).
    pub status: Option<u8>,
    /// BMP 29 terminal id.
    pub terminal_id: Option<u32>,
}

/// The result of End of Day (06 50).
#[derive(Debug, Clone, PartialEq)]
pub struct EndOfDayReport {
    /// Approved (06 0F) or not.
    pub result: TxResult,
    /// BMP 04: the day's total, if the terminal sent one.
    pub total: Option<Decimal>,
    /// BMP 60 individual totals, raw.
    pub totals: Option<Vec<u8>>,
    /// Every 04 0F.
    pub status: Vec<StatusInformation>,
    /// Printed lines.
    pub receipt_lines: Vec<String>,
}

/// Card data read by Read Card (06 C0). Secret: `Debug` shows at most the last 4 digits.
#[derive(Clone, PartialEq, Eq)]
pub struct CardData {
    /// BMP 22 card number.
    pub card_number: Option<CardNumber>,
    /// Track 2 decoded to text (digits, `=` separator).
    track2: Option<String>,
    /// BMP 8A card type.
    pub card_type: Option<u8>,
}

impl std::fmt::Debug for CardData {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CardData")
            .field("card_number", &self.card_number)
            .field("track2", &self.track2.as_ref().map(|_| "<redacted>"))
            .field("card_type", &self.card_type)
            .finish()
    }
}

impl CardData {
    pub(crate) fn from_status(si: &StatusInformation) -> Self {
        Self {
            card_number: si.card_number.clone(),
            track2: si.track2.as_ref().and_then(|t| track2_text(t.expose())),
            card_type: si.card_type,
        }
    }

    /// Track 2 as text, e.g. `6280001234567890123=4912`. Secret: use in memory, never log.
    pub fn expose_track2(&self) -> Option<&str> {
        self.track2.as_deref()
    }

    /// The card number part of track 2 (before `=`), or BMP 22 when it is unmasked.
    /// Secret: use in memory, never log.
    pub fn expose_number(&self) -> Option<String> {
        self.track2
            .as_deref()
            .map(|t| t.split('=').next().unwrap_or(t).to_owned())
            .or_else(|| self.card_number.as_ref().and_then(|c| c.expose_digits()))
    }
}

/// Decodes track 2 packed BCD: digits, `D` = separator `=`, `F` = padding at the end.
fn track2_text(bytes: &[u8]) -> Option<String> {
    let mut out = String::with_capacity(bytes.len() * 2);
    let n = bytes.len() * 2;
    for i in 0..n {
        let nib = if i % 2 == 0 {
            bytes[i / 2] >> 4
        } else {
            bytes[i / 2] & 0x0F
        };
        match nib {
            0..=9 => out.push(char::from(b'0' + nib)),
            0x0D => out.push('='),
            0x0F if i == n - 1 => {}
            _ => return None,
        }
    }
    Some(out)
}

/// Wraps a sink and keeps the printed lines.
pub(crate) struct Collect<S> {
    pub(crate) inner: S,
    pub(crate) lines: Vec<String>,
    /// The last trace number seen in a 04 0F.
    pub(crate) seen_trace: Option<u32>,
    /// The last receipt number seen in a 04 0F.
    pub(crate) seen_receipt: Option<u16>,
}

impl<S> Collect<S> {
    pub(crate) fn new(inner: S) -> Self {
        Self {
            inner,
            lines: Vec::new(),
            seen_trace: None,
            seen_receipt: None,
        }
    }
}

impl<S: EventSink> EventSink for Collect<S> {
    async fn on_event(&mut self, event: &Event) {
        match event {
            Event::PrintLine(PrintLine { text, .. }) => self.lines.push(text.clone()),
            Event::PrintTextBlock(b) => self.lines.extend(b.lines()),
            Event::StatusInformation(si) => {
                self.seen_trace = si.trace.or(self.seen_trace);
                self.seen_receipt = si.receipt.or(self.seen_receipt);
            }
            _ => {}
        }
        self.inner.on_event(event).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn track2_decodes_separator_and_padding() {
        assert_eq!(
            track2_text(&[0x12, 0x34, 0xD5, 0x6F]).as_deref(),
            Some("1234=56")
        );
        assert_eq!(track2_text(&[0x1F, 0x23]), None);
    }

    #[test]
    fn card_data_debug_is_redacted() {
        let c = CardData {
            card_number: None,
            track2: Some("6280001234567890123=4912".into()),
            card_type: Some(5),
        };
        let dbg = format!("{c:?}");
        assert!(!dbg.contains("628000"), "{dbg}");
        assert_eq!(c.expose_number().as_deref(), Some("6280001234567890123"));
    }
}
