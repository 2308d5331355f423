//! Deciding what happened to a financial command whose outcome was lost (`zvt.md` §9).
//!
//! The rule this module encodes: **never pay again**. After a timeout, a link error or a
//! crash, the agent reconnects, runs [`enquiry_commands`] (05 01 Status Enquiry, then
//! 06 20 Repeat Receipt), collects the answers into [`Evidence`] and asks [`decide`]. The
//! [`Verdict`] is one of
//!
//! - [`Verdict::Approved`]: the PT's last transaction is ours and approved — record it (or,
//!   if the sale was cancelled meanwhile, reverse it with 06 30 and the receipt number);
//! - [`Verdict::NotExecuted`]: the evidence shows ours did not happen or was declined;
//! - [`Verdict::Unknown`]: not enough evidence — mark the payment in doubt, never approved,
//!   and retry the enquiry later with backoff.
//!
//! There is deliberately no "send the payment again" verdict.
//!
//! Matching uses the journaled [`Intent`]: the amount, the trace number of the last
//! transaction known *before* ours was sent, and the trace/receipt numbers of any 04 0F seen
//! during ours. It is conservative: any disagreement gives `Unknown`.

use crate::command::{EcrCommand, RepeatReceipt, StatusEnquiry, StatusInformation};
use crate::exchange::{ExchangeError, Reply};
use rust_decimal::Decimal;

/// The journaled intent of the lost financial command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Intent {
    /// The amount sent (BMP 04).
    pub amount: Decimal,
    /// The trace number (BMP 0B) of the last transaction the agent knew of before sending
    /// ours, if any.
    pub trace_before: Option<u32>,
    /// A trace number seen in a 04 0F during our command.
    pub seen_trace: Option<u32>,
    /// A receipt number (BMP 87) seen in a 04 0F during our command.
    pub seen_receipt: Option<u16>,
}

/// What 05 01 Status Enquiry gave.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EnquiryEvidence {
    /// No usable answer (timeout, link error, refused).
    NoAnswer,
    /// The PT completed the enquiry with this terminal status byte (if it sent one).
    Answered(Option<u8>),
}

/// What 06 20 Repeat Receipt gave.
#[derive(Debug, Clone, PartialEq)]
pub enum ReceiptEvidence {
    /// No usable answer (timeout, link error).
    NoAnswer,
    /// The PT refused or aborted with this result code (for example: no receipt stored).
    Refused(u8),
    /// The PT completed but sent no 04 0F with transaction data.
    NoTransactionData,
    /// The last transaction's data (the last 04 0F of the repeat).
    Transaction(Box<StatusInformation>),
}

/// The answers gathered after reconnecting.
#[derive(Debug, Clone, PartialEq)]
pub struct Evidence {
    /// Status Enquiry.
    pub enquiry: EnquiryEvidence,
    /// Repeat Receipt.
    pub receipt: ReceiptEvidence,
}

impl Evidence {
    /// Builds the evidence from the two commands' results as the exchange reported them.
    pub fn from_replies(
        enquiry: &Result<Reply, ExchangeError>,
        repeat: &Result<Reply, ExchangeError>,
    ) -> Self {
        let enquiry = match enquiry {
            Ok(Reply::Completed { completion, .. }) => {
                EnquiryEvidence::Answered(completion.terminal_status)
            }
            _ => EnquiryEvidence::NoAnswer,
        };
        let receipt = match repeat {
            Ok(Reply::Completed { status, .. }) => status
                .iter()
                .rev()
                .find(|s| s.trace.is_some() || s.receipt.is_some() || s.amount.is_some())
                .map_or(ReceiptEvidence::NoTransactionData, |s| {
                    ReceiptEvidence::Transaction(Box::new(s.clone()))
                }),
            Ok(Reply::Aborted { abort, .. }) => ReceiptEvidence::Refused(abort.result_code),
            Ok(Reply::Refused { code }) => ReceiptEvidence::Refused(*code),
            _ => ReceiptEvidence::NoAnswer,
        };
        Evidence { enquiry, receipt }
    }
}

/// The decision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Our transaction was approved.
    Approved {
        /// BMP 87 receipt number (needed for a reversal).
        receipt: Option<u16>,
        /// BMP 0B trace number.
        trace: Option<u32>,
    },
    /// Our transaction did not happen or was declined.
    NotExecuted {
        /// Why the evidence says so.
        reason: &'static str,
    },
    /// The evidence does not settle it: keep the payment in doubt and enquire again later.
    Unknown {
        /// What is missing or contradictory.
        reason: &'static str,
    },
}

/// The commands to send after reconnecting, in order (neither moves money).
pub fn enquiry_commands(password: u32) -> [EcrCommand; 2] {
    [
        EcrCommand::StatusEnquiry(StatusEnquiry::default()),
        EcrCommand::RepeatReceipt(RepeatReceipt {
            password,
            service_byte: None,
        }),
    ]
}

/// Decides from the intent and the evidence. See the [module docs](self).
pub fn decide(intent: &Intent, evidence: &Evidence) -> Verdict {
    match evidence.enquiry {
        EnquiryEvidence::NoAnswer => {
            return Verdict::Unknown {
                reason: "the terminal did not answer the status enquiry",
            };
        }
        EnquiryEvidence::Answered(Some(0x9C)) => {
            return Verdict::Unknown {
                reason: "the terminal is busy",
            };
        }
        EnquiryEvidence::Answered(_) => {}
    }
    let last = match &evidence.receipt {
        ReceiptEvidence::Transaction(t) => t,
        ReceiptEvidence::NoAnswer => {
            return Verdict::Unknown {
                reason: "the terminal did not repeat the receipt",
            };
        }
        ReceiptEvidence::Refused(_) | ReceiptEvidence::NoTransactionData => {
            return Verdict::Unknown {
                reason: "the terminal gave no data on its last transaction",
            };
        }
    };

    let by_trace = intent.seen_trace.zip(last.trace).map(|(a, b)| a == b);
    let by_receipt = intent.seen_receipt.zip(last.receipt).map(|(a, b)| a == b);
    let matched_by_number = match (by_trace, by_receipt) {
        (Some(false), _) | (_, Some(false)) => {
            // We saw our transaction's numbers and the last one has others.
            return Verdict::Unknown {
                reason: "the last transaction has other numbers than the ones seen for ours",
            };
        }
        (Some(true), _) | (_, Some(true)) => true,
        (None, None) => match (intent.trace_before, last.trace) {
            (Some(before), Some(t)) if before == t => {
                return Verdict::NotExecuted {
                    reason: "the last transaction is the one before ours",
                };
            }
            // Newer than the last transaction we knew of: ours only if the amount matches.
            (Some(_), Some(_)) => false,
            _ => {
                return Verdict::Unknown {
                    reason: "no trace or receipt number to match the last transaction",
                };
            }
        },
    };
    let same_amount = last.amount == Some(intent.amount);
    match last.result_code {
        Some(0) if same_amount => {}
        Some(0) => {
            return Verdict::Unknown {
                reason: "the last transaction's amount differs from ours",
            };
        }
        Some(_) if matched_by_number || same_amount => {
            return Verdict::NotExecuted {
                reason: "our transaction was declined",
            };
        }
        Some(_) => {
            return Verdict::Unknown {
                reason: "the last transaction was declined but may not be ours",
            };
        }
        None => {
            return Verdict::Unknown {
                reason: "the last transaction carries no result code",
            };
        }
    }
    Verdict::Approved {
        receipt: last.receipt,
        trace: last.trace,
    }
}
