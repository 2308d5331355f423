//! Recovery decides Approved / NotExecuted / Unknown from a journaled intent and the
//! answers of Status Enquiry and Repeat Receipt, conservatively.

use rust_decimal::dec;
use zvt::command::{Abort, Completion, EcrCommand, StatusInformation};
use zvt::exchange::{ExchangeError, Reply};
use zvt::recovery::*;

fn intent() -> Intent {
    Intent {
        amount: dec!(12.34),
        trace_before: Some(122),
        seen_trace: None,
        seen_receipt: None,
    }
}

fn last(result: u8, amount: rust_decimal::Decimal, trace: u32, receipt: u16) -> ReceiptEvidence {
    ReceiptEvidence::Transaction(Box::new(StatusInformation {
        result_code: Some(result),
        amount: Some(amount),
        trace: Some(trace),
        receipt: Some(receipt),
        ..Default::default()
    }))
}

fn ready(receipt: ReceiptEvidence) -> Evidence {
    Evidence {
        enquiry: EnquiryEvidence::Answered(Some(0)),
        receipt,
    }
}

#[test]
fn approved_when_newer_transaction_matches_amount() {
    assert_eq!(
        decide(&intent(), &ready(last(0, dec!(12.34), 123, 42))),
        Verdict::Approved {
            receipt: Some(42),
            trace: Some(123)
        }
    );
}

#[test]
fn approved_when_seen_numbers_match() {
    let i = Intent {
        seen_trace: Some(123),
        trace_before: None,
        ..intent()
    };
    assert_eq!(
        decide(&i, &ready(last(0, dec!(12.340), 123, 42))),
        Verdict::Approved {
            receipt: Some(42),
            trace: Some(123)
        }
    );
}

#[test]
fn not_executed_when_last_is_the_previous_one() {
    assert!(matches!(
        decide(&intent(), &ready(last(0, dec!(5), 122, 41))),
        Verdict::NotExecuted { .. }
    ));
}

#[test]
fn not_executed_when_ours_was_declined() {
    let i = Intent {
        seen_receipt: Some(42),
        ..intent()
    };
    assert!(matches!(
        decide(&i, &ready(last(0x05, dec!(12.34), 123, 42))),
        Verdict::NotExecuted { .. }
    ));
}

#[test]
fn unknown_in_every_doubtful_case() {
    let cases = [
        (
            intent(),
            Evidence {
                enquiry: EnquiryEvidence::NoAnswer,
                receipt: last(0, dec!(12.34), 123, 42),
            },
        ),
        (
            intent(),
            Evidence {
                enquiry: EnquiryEvidence::Answered(Some(0x9C)),
                receipt: last(0, dec!(12.34), 123, 42),
            },
        ),
        (intent(), ready(ReceiptEvidence::NoAnswer)),
        (intent(), ready(ReceiptEvidence::Refused(0x83))),
        (intent(), ready(ReceiptEvidence::NoTransactionData)),
        // Newer transaction, other amount.
        (intent(), ready(last(0, dec!(99), 123, 42))),
        // Newer declined transaction with another amount: maybe not ours.
        (intent(), ready(last(0x05, dec!(99), 123, 42))),
        // We saw trace 123, the last one is 124.
        (
            Intent {
                seen_trace: Some(123),
                ..intent()
            },
            ready(last(0, dec!(12.34), 124, 43)),
        ),
        // Nothing to match on.
        (
            Intent {
                trace_before: None,
                ..intent()
            },
            ready(last(0, dec!(12.34), 123, 42)),
        ),
    ];
    for (i, e) in cases {
        assert!(
            matches!(decide(&i, &e), Verdict::Unknown { .. }),
            "{i:?} {e:?}"
        );
    }
}

#[test]
fn evidence_from_exchange_replies() {
    let enquiry = Ok(Reply::Completed {
        completion: Completion {
            sw_version: Some("1.0".into()),
            terminal_status: Some(0),
            ..Default::default()
        },
        status: vec![],
    });
    let si = StatusInformation {
        result_code: Some(0),
        amount: Some(dec!(12.34)),
        trace: Some(123),
        receipt: Some(42),
        ..Default::default()
    };
    let repeat = Ok(Reply::Completed {
        completion: Completion::default(),
        status: vec![si.clone()],
    });
    let e = Evidence::from_replies(&enquiry, &repeat);
    assert_eq!(e.enquiry, EnquiryEvidence::Answered(Some(0)));
    assert_eq!(e.receipt, ReceiptEvidence::Transaction(Box::new(si)));
    assert!(matches!(decide(&intent(), &e), Verdict::Approved { .. }));

    let aborted = Ok(Reply::Aborted {
        abort: Abort::new(0x83),
        status: vec![],
    });
    let e = Evidence::from_replies(&Err(ExchangeError::ReplyTimeout), &aborted);
    assert_eq!(
        e,
        Evidence {
            enquiry: EnquiryEvidence::NoAnswer,
            receipt: ReceiptEvidence::Refused(0x83)
        }
    );
}

#[test]
fn enquiry_never_moves_money() {
    for c in enquiry_commands(123456) {
        assert!(!c.is_financial());
        assert!(matches!(
            c,
            EcrCommand::StatusEnquiry(_) | EcrCommand::RepeatReceipt(_)
        ));
    }
}
