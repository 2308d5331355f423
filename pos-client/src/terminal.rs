//! Terminal payments (`terminalPayment.start / .continue / .capture / .void` and the lookup
//! `terminalPayments`, pos-api.md §5.10): plain types and the conversion from the generated
//! operations. Every mutation answers exactly one of payment / continuation / error, so the
//! answer is one enum, never three nullable fields.

use rust_decimal::Decimal;

use crate::classify::OpMeta;
use crate::error::PosError;
use crate::ops;

/// `TerminalPaymentType`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TerminalPaymentType {
    /// Charged at once.
    Sale,
    /// Held, to capture or void later.
    Authorize,
    /// Money back to the card (permission `MakeRefundTerminalPayment`).
    Refund,
}

/// `TerminalPaymentStatus`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum TerminalPaymentStatus {
    /// At the terminal.
    Pending,
    /// Charged (SALE, REFUND).
    Approved,
    /// Held (AUTHORIZE), to capture or void.
    Authorized,
    /// Captured.
    Captured,
    /// Declined by the processor (see `decline_reason`).
    Declined,
    /// Voided.
    Voided,
    /// Ended at the terminal without a charge (see `error_code`).
    Failed,
    /// A value this client does not know (newer server).
    Other(String),
}

/// `TerminalPaymentErrorCode`: why nothing was charged.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum TerminalErrorCode {
    /// Bad input.
    Validation,
    /// No such terminal for this store.
    TerminalNotFound,
    /// The terminal runs another payment; nothing started.
    TerminalBusy,
    /// The processor cannot reach the terminal; nothing started.
    TerminalOffline,
    /// Cancelled at the terminal; nothing charged.
    Cancelled,
    /// No card presented in time; nothing charged.
    TimedOut,
    /// The continuation token is unknown or expired.
    UnknownContinuation,
    /// Capture/void of a payment whose state does not allow it.
    NotCapturable,
    /// Capture/void of an unknown id.
    NotFound,
    /// A value this client does not know (newer server).
    Other(String),
}

impl TerminalErrorCode {
    /// The schema's spelling.
    pub fn as_str(&self) -> &str {
        match self {
            Self::Validation => "VALIDATION",
            Self::TerminalNotFound => "TERMINAL_NOT_FOUND",
            Self::TerminalBusy => "TERMINAL_BUSY",
            Self::TerminalOffline => "TERMINAL_OFFLINE",
            Self::Cancelled => "CANCELLED",
            Self::TimedOut => "TIMED_OUT",
            Self::UnknownContinuation => "UNKNOWN_CONTINUATION",
            Self::NotCapturable => "NOT_CAPTURABLE",
            Self::NotFound => "NOT_FOUND",
            Self::Other(s) => s,
        }
    }
}

/// How to ask again: call `continue` with `token` after `wait_ms`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TerminalContinuation {
    /// Opaque; valid at least 10 minutes.
    pub token: String,
    /// The POS's poll interval.
    pub wait_ms: u32,
}

/// A terminal payment as it now stands. Only the last four digits of a card ever appear.
#[derive(Debug, Clone, PartialEq)]
pub struct TerminalPayment {
    /// POS id (capture/void key).
    pub id: String,
    /// The caller's reference.
    pub ref_no: String,
    /// The purchase transactionId it belongs to.
    pub transaction_id: Option<String>,
    /// The processor's terminal id.
    pub terminal_id: String,
    /// Type.
    pub trans_type: TerminalPaymentType,
    /// Status.
    pub status: TerminalPaymentStatus,
    /// What was asked.
    pub amount: Decimal,
    /// What was approved (less than `amount` on a partial approval).
    pub approved_amount: Decimal,
    /// What was captured / charged.
    pub captured_amount: Option<Decimal>,
    /// Processor text for a decline.
    pub decline_reason: Option<String>,
    /// FAILED only: why nothing was charged.
    pub error_code: Option<TerminalErrorCode>,
    /// PENDING only: how to ask again.
    pub continuation: Option<TerminalContinuation>,
    /// REFUND only: the payment refunded.
    pub original_id: Option<String>,
    /// Card brand.
    pub card_brand: Option<String>,
    /// Last four digits.
    pub last4: Option<String>,
    /// Authorization code.
    pub auth_code: Option<String>,
    /// Creation time as the POS reports it.
    pub created_on: String,
}

/// The answer of every terminal-payment mutation: exactly one of three.
#[derive(Debug, Clone, PartialEq)]
pub enum TerminalPaymentOutcome {
    /// The payment as it now stands.
    Payment(Box<TerminalPayment>),
    /// Still at the terminal: ask again after `wait_ms`.
    Continuation(TerminalContinuation),
    /// Nothing was charged.
    Error {
        /// Why.
        code: TerminalErrorCode,
        /// Server text (informational).
        message: Option<String>,
    },
}

/// Input of `terminalPayment.start`.
#[derive(Debug, Clone, PartialEq)]
pub struct TerminalPaymentStartRequest {
    /// The processor's terminal id.
    pub terminal_id: String,
    /// POS location code.
    pub store_code: String,
    /// SALE, AUTHORIZE or REFUND.
    pub trans_type: TerminalPaymentType,
    /// Positive amount.
    pub amount: Decimal,
    /// The caller's reference for this one attempt (≤ 64 characters), journaled before.
    pub ref_no: String,
    /// The purchase transactionId.
    pub transaction_id: Option<String>,
    /// REFUND only: the payment being refunded.
    pub original_id: Option<String>,
}

/// Generated enums exist once per operation module; these macros map each of them.
macro_rules! map_enums {
    ($m:ident, $status:ident, $code:ident, $ttype:ident) => {
        fn $status(s: ops::$m::TerminalPaymentStatus) -> TerminalPaymentStatus {
            use ops::$m::TerminalPaymentStatus as S;
            match s {
                S::PENDING => TerminalPaymentStatus::Pending,
                S::APPROVED => TerminalPaymentStatus::Approved,
                S::AUTHORIZED => TerminalPaymentStatus::Authorized,
                S::CAPTURED => TerminalPaymentStatus::Captured,
                S::DECLINED => TerminalPaymentStatus::Declined,
                S::VOIDED => TerminalPaymentStatus::Voided,
                S::FAILED => TerminalPaymentStatus::Failed,
                S::Other(o) => TerminalPaymentStatus::Other(o),
            }
        }
        fn $code(c: ops::$m::TerminalPaymentErrorCode) -> TerminalErrorCode {
            use ops::$m::TerminalPaymentErrorCode as C;
            match c {
                C::VALIDATION => TerminalErrorCode::Validation,
                C::TERMINAL_NOT_FOUND => TerminalErrorCode::TerminalNotFound,
                C::TERMINAL_BUSY => TerminalErrorCode::TerminalBusy,
                C::TERMINAL_OFFLINE => TerminalErrorCode::TerminalOffline,
                C::CANCELLED => TerminalErrorCode::Cancelled,
                C::TIMED_OUT => TerminalErrorCode::TimedOut,
                C::UNKNOWN_CONTINUATION => TerminalErrorCode::UnknownContinuation,
                C::NOT_CAPTURABLE => TerminalErrorCode::NotCapturable,
                C::NOT_FOUND => TerminalErrorCode::NotFound,
                C::Other(o) => TerminalErrorCode::Other(o),
            }
        }
        fn $ttype(
            t: ops::$m::TerminalPaymentType,
            op: &OpMeta,
        ) -> Result<TerminalPaymentType, PosError> {
            use ops::$m::TerminalPaymentType as T;
            match t {
                T::SALE => Ok(TerminalPaymentType::Sale),
                T::AUTHORIZE => Ok(TerminalPaymentType::Authorize),
                T::REFUND => Ok(TerminalPaymentType::Refund),
                T::Other(o) => Err(bad(op, format!("unknown transType {o}"))),
            }
        }
    };
}

/// The payment fields are the same in every operation; only the generated type differs.
macro_rules! payment_from {
    ($p:expr, $status:ident, $code:ident, $ttype:ident, $op:expr) => {{
        let p = $p;
        TerminalPayment {
            id: p.id,
            ref_no: p.ref_no,
            transaction_id: p.transaction_id,
            terminal_id: p.terminal_id,
            trans_type: $ttype(p.trans_type, $op)?,
            status: $status(p.status),
            amount: p.amount.0,
            approved_amount: p.approved_amount.0,
            captured_amount: p.captured_amount.map(|d| d.0),
            decline_reason: p.decline_reason,
            error_code: p.error_code.map($code),
            continuation: p.continuation.map(|c| TerminalContinuation {
                token: c.token,
                wait_ms: u32::try_from(c.wait_ms).unwrap_or(0),
            }),
            original_id: p.original_id,
            card_brand: p.card_brand,
            last4: p.last4,
            auth_code: p.auth_code,
            created_on: p.created_on,
        }
    }};
}

/// One result (payment / continuation / error) to the enum; anything but exactly one set
/// field is a bad answer (for a mutation: outcome unknown).
macro_rules! outcome_from {
    ($r:expr, $status:ident, $code:ident, $ttype:ident, $op:expr) => {{
        let r = $r;
        match (r.payment, r.continuation, r.error) {
            (Some(p), None, None) => Ok(TerminalPaymentOutcome::Payment(Box::new(payment_from!(
                p, $status, $code, $ttype, $op
            )))),
            (None, Some(c), None) => {
                Ok(TerminalPaymentOutcome::Continuation(TerminalContinuation {
                    token: c.token,
                    wait_ms: u32::try_from(c.wait_ms).unwrap_or(0),
                }))
            }
            (None, None, Some(e)) => Ok(TerminalPaymentOutcome::Error {
                code: $code(e.code),
                message: e.message,
            }),
            _ => Err(bad(
                $op,
                "terminal payment result without exactly one of payment, continuation, error"
                    .into(),
            )),
        }
    }};
}

map_enums!(terminal_payment_start, status_s, code_s, ttype_s);
map_enums!(terminal_payment_continue, status_c, code_c, ttype_c);
map_enums!(terminal_payment_capture, status_k, code_k, ttype_k);
map_enums!(terminal_payment_void, status_v, code_v, ttype_v);
map_enums!(terminal_payments, status_q, code_q, ttype_q);

fn bad(op: &OpMeta, reason: String) -> PosError {
    PosError::BadResponse {
        operation: op.name,
        mutation: op.mutation,
        reason,
    }
}

pub(crate) fn start_input(
    r: &TerminalPaymentStartRequest,
) -> ops::terminal_payment_start::TerminalPaymentStartInput {
    use ops::terminal_payment_start::TerminalPaymentType as T;
    ops::terminal_payment_start::TerminalPaymentStartInput {
        terminal_id: r.terminal_id.clone(),
        store_code: r.store_code.clone(),
        trans_type: match r.trans_type {
            TerminalPaymentType::Sale => T::SALE,
            TerminalPaymentType::Authorize => T::AUTHORIZE,
            TerminalPaymentType::Refund => T::REFUND,
        },
        amount: r.amount.into(),
        ref_no: r.ref_no.clone(),
        transaction_id: r.transaction_id.clone(),
        original_id: r.original_id.clone(),
    }
}

pub(crate) fn start_out(
    d: ops::terminal_payment_start::ResponseData,
    op: &OpMeta,
) -> Result<TerminalPaymentOutcome, PosError> {
    let r = d
        .terminal_payment
        .and_then(|t| t.start)
        .ok_or_else(|| crate::convert::null_field(op))?;
    outcome_from!(r, status_s, code_s, ttype_s, op)
}

pub(crate) fn continue_out(
    d: ops::terminal_payment_continue::ResponseData,
    op: &OpMeta,
) -> Result<TerminalPaymentOutcome, PosError> {
    let r = d
        .terminal_payment
        .and_then(|t| t.continue_)
        .ok_or_else(|| crate::convert::null_field(op))?;
    outcome_from!(r, status_c, code_c, ttype_c, op)
}

pub(crate) fn capture_out(
    d: ops::terminal_payment_capture::ResponseData,
    op: &OpMeta,
) -> Result<TerminalPaymentOutcome, PosError> {
    let r = d
        .terminal_payment
        .and_then(|t| t.capture)
        .ok_or_else(|| crate::convert::null_field(op))?;
    outcome_from!(r, status_k, code_k, ttype_k, op)
}

pub(crate) fn void_out(
    d: ops::terminal_payment_void::ResponseData,
    op: &OpMeta,
) -> Result<TerminalPaymentOutcome, PosError> {
    let r = d
        .terminal_payment
        .and_then(|t| t.void)
        .ok_or_else(|| crate::convert::null_field(op))?;
    outcome_from!(r, status_v, code_v, ttype_v, op)
}

pub(crate) fn lookup_out(
    d: ops::terminal_payments::ResponseData,
    op: &OpMeta,
) -> Result<Vec<TerminalPayment>, PosError> {
    let r = d
        .terminal_payments
        .ok_or_else(|| crate::convert::null_field(op))?;
    r.results
        .into_iter()
        .map(|p| Ok(payment_from!(p, status_q, code_q, ttype_q, op)))
        .collect()
}
