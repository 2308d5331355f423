//! `terminalPayment { start continue capture void }` and `terminalPayments(refNo:, id:)`
//! (pos-schema.graphql, "terminal payments"); the rules live in [`crate::pos::terminals`].

use async_graphql::{Context, Enum, InputObject, Object, Result, SimpleObject};

use super::types::Dec;
use super::{caller, state};
use crate::pos::db::Caller;
use crate::pos::terminals::{TerminalBook, TerminalPaymentRecord, TpAnswer, TpError, TpStart};
use crate::pos::terminals::{TpStatus, TpType};

/// `TerminalPaymentType`.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[graphql(name = "TerminalPaymentType")]
pub enum GqlTpType {
    Sale,
    Authorize,
    Refund,
}

/// `TerminalPaymentStatus`.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[graphql(name = "TerminalPaymentStatus")]
pub enum GqlTpStatus {
    Pending,
    Approved,
    Authorized,
    Captured,
    Declined,
    Voided,
    Failed,
}

/// `TerminalPaymentErrorCode`.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[graphql(name = "TerminalPaymentErrorCode")]
pub enum GqlTpError {
    Validation,
    TerminalNotFound,
    TerminalBusy,
    TerminalOffline,
    Cancelled,
    TimedOut,
    UnknownContinuation,
    NotCapturable,
    NotFound,
}

impl From<GqlTpType> for TpType {
    fn from(t: GqlTpType) -> Self {
        match t {
            GqlTpType::Sale => TpType::Sale,
            GqlTpType::Authorize => TpType::Authorize,
            GqlTpType::Refund => TpType::Refund,
        }
    }
}

impl From<TpType> for GqlTpType {
    fn from(t: TpType) -> Self {
        match t {
            TpType::Sale => GqlTpType::Sale,
            TpType::Authorize => GqlTpType::Authorize,
            TpType::Refund => GqlTpType::Refund,
        }
    }
}

impl From<TpStatus> for GqlTpStatus {
    fn from(s: TpStatus) -> Self {
        match s {
            TpStatus::Pending => GqlTpStatus::Pending,
            TpStatus::Approved => GqlTpStatus::Approved,
            TpStatus::Authorized => GqlTpStatus::Authorized,
            TpStatus::Captured => GqlTpStatus::Captured,
            TpStatus::Declined => GqlTpStatus::Declined,
            TpStatus::Voided => GqlTpStatus::Voided,
            TpStatus::Failed => GqlTpStatus::Failed,
        }
    }
}

impl From<TpError> for GqlTpError {
    fn from(e: TpError) -> Self {
        match e {
            TpError::Validation => GqlTpError::Validation,
            TpError::TerminalNotFound => GqlTpError::TerminalNotFound,
            TpError::TerminalBusy => GqlTpError::TerminalBusy,
            TpError::TerminalOffline => GqlTpError::TerminalOffline,
            TpError::Cancelled => GqlTpError::Cancelled,
            TpError::TimedOut => GqlTpError::TimedOut,
            TpError::UnknownContinuation => GqlTpError::UnknownContinuation,
            TpError::NotCapturable => GqlTpError::NotCapturable,
            TpError::NotFound => GqlTpError::NotFound,
        }
    }
}

#[derive(InputObject)]
#[graphql(name = "TerminalPaymentStartInput")]
pub struct StartInput {
    terminal_id: String,
    store_code: String,
    trans_type: GqlTpType,
    amount: Dec,
    ref_no: String,
    transaction_id: Option<String>,
    original_id: Option<String>,
}

#[derive(InputObject)]
#[graphql(name = "TerminalPaymentContinueInput")]
pub struct ContinueInput {
    token: String,
}

#[derive(InputObject)]
#[graphql(name = "TerminalPaymentCaptureInput")]
pub struct CaptureInput {
    id: String,
    amount: Option<Dec>,
}

#[derive(InputObject)]
#[graphql(name = "TerminalPaymentVoidInput")]
pub struct VoidInput {
    id: String,
}

#[derive(SimpleObject, Clone)]
#[graphql(name = "TerminalPaymentContinuation")]
pub struct Continuation {
    token: String,
    wait_ms: i32,
}

#[derive(SimpleObject)]
#[graphql(name = "TerminalPaymentError")]
pub struct TpErrorOut {
    code: GqlTpError,
    message: Option<String>,
}

#[derive(SimpleObject)]
#[graphql(name = "TerminalPayment")]
pub struct Payment {
    id: String,
    ref_no: String,
    transaction_id: Option<String>,
    terminal_id: String,
    trans_type: GqlTpType,
    status: GqlTpStatus,
    amount: Dec,
    approved_amount: Dec,
    captured_amount: Option<Dec>,
    decline_reason: Option<String>,
    error_code: Option<GqlTpError>,
    continuation: Option<Continuation>,
    original_id: Option<String>,
    card_brand: Option<String>,
    last4: Option<String>,
    auth_code: Option<String>,
    created_on: String,
}

#[derive(SimpleObject, Default)]
#[graphql(name = "TerminalPaymentResult")]
pub struct TpResult {
    payment: Option<Payment>,
    continuation: Option<Continuation>,
    error: Option<TpErrorOut>,
}

#[derive(SimpleObject)]
#[graphql(name = "TerminalPaymentResults")]
pub struct TpResults {
    has_more_results: bool,
    results: Vec<Payment>,
}

fn wait(ms: u64) -> i32 {
    i32::try_from(ms).unwrap_or(i32::MAX)
}

fn payment(p: TerminalPaymentRecord, poll_ms: u64) -> Payment {
    Payment {
        continuation: TerminalBook::pending_token(&p).map(|t| Continuation {
            token: t.to_owned(),
            wait_ms: wait(poll_ms),
        }),
        id: p.id,
        ref_no: p.ref_no,
        transaction_id: p.transaction_id,
        terminal_id: p.terminal_id,
        trans_type: p.trans_type.into(),
        status: p.status.into(),
        amount: Dec(p.amount),
        approved_amount: Dec(p.approved_amount),
        captured_amount: p.captured_amount.map(Dec),
        decline_reason: p.decline_reason,
        error_code: p.error_code.map(Into::into),
        original_id: p.original_id,
        card_brand: p.card_brand,
        last4: p.last4,
        auth_code: p.auth_code,
        created_on: p.created.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
    }
}

fn result(a: TpAnswer, book: &TerminalBook) -> TpResult {
    match a {
        TpAnswer::Payment(p) => {
            let poll = book.poll_ms(&p.terminal_id);
            TpResult {
                payment: Some(payment(*p, poll)),
                ..Default::default()
            }
        }
        TpAnswer::Continuation { token, wait_ms } => TpResult {
            continuation: Some(Continuation {
                token,
                wait_ms: wait(wait_ms),
            }),
            ..Default::default()
        },
        TpAnswer::Error { code, message } => TpResult {
            error: Some(TpErrorOut {
                code: code.into(),
                message: Some(message),
            }),
            ..Default::default()
        },
    }
}

/// SALE/AUTHORIZE need `MakeSaleTerminalPayment`, REFUND `MakeRefundTerminalPayment`.
fn require_for(caller: &Caller, t: Option<TpType>) -> Result<()> {
    match t {
        Some(TpType::Refund) => caller.require("MakeRefundTerminalPayment")?,
        Some(_) => caller.require("MakeSaleTerminalPayment")?,
        None => {
            if !caller.has("MakeRefundTerminalPayment") {
                caller.require("MakeSaleTerminalPayment")?;
            }
        }
    }
    Ok(())
}

/// The `terminalPayment` root field and the lookup.
#[derive(Default)]
pub struct TerminalMutation;

/// The lookup query.
#[derive(Default)]
pub struct TerminalQuery;

/// `TerminalPaymentMutation`.
pub struct TerminalPaymentMutation;

#[Object]
impl TerminalMutation {
    /// Card-present payments on a processor terminal the POS drives.
    async fn terminal_payment(&self) -> Option<TerminalPaymentMutation> {
        Some(TerminalPaymentMutation)
    }
}

#[Object]
impl TerminalQuery {
    /// Find terminal payments by the caller's refNo or by id.
    async fn terminal_payments(
        &self,
        ctx: &Context<'_>,
        ref_no: Option<String>,
        id: Option<String>,
        skip: Option<i32>,
        first: Option<i32>,
    ) -> Result<Option<TpResults>> {
        require_for(caller(ctx), None)?;
        let st = state(ctx);
        let now = st.now();
        let mut db = st.db();
        db.terminals.settle_due(now);
        let found = db.terminals.find(ref_no.as_deref(), id.as_deref());
        let views: Vec<Payment> = found
            .into_iter()
            .map(|p| {
                let poll = db.terminals.poll_ms(&p.terminal_id);
                payment(p, poll)
            })
            .collect();
        let p = crate::pos::paging::page(views.into_iter(), skip, first)?;
        Ok(Some(TpResults {
            has_more_results: p.has_more,
            results: p.results,
        }))
    }
}

#[Object(name = "TerminalPaymentMutation")]
impl TerminalPaymentMutation {
    /// Starts a payment on the terminal (refNo NOT deduplicated).
    async fn start(&self, ctx: &Context<'_>, payment: StartInput) -> Result<Option<TpResult>> {
        let caller = caller(ctx);
        require_for(caller, Some(payment.trans_type.into()))?;
        let st = state(ctx);
        let now = st.now();
        let mut db = st.db();
        let store_known = db.locations.iter().any(|l| l.code == payment.store_code);
        let a = db.terminals.start(
            TpStart {
                terminal_id: payment.terminal_id,
                store_code: payment.store_code,
                trans_type: payment.trans_type.into(),
                amount: payment.amount.0,
                ref_no: payment.ref_no,
                transaction_id: payment.transaction_id,
                original_id: payment.original_id,
            },
            &caller.client_id,
            now,
            store_known,
        );
        live(st, "start", &a);
        Ok(Some(result(a, &db.terminals)))
    }

    /// Asks again after a continuation.
    #[graphql(name = "continue")]
    async fn continue_(
        &self,
        ctx: &Context<'_>,
        continuation: ContinueInput,
    ) -> Result<Option<TpResult>> {
        let st = state(ctx);
        let now = st.now();
        let mut db = st.db();
        require_for(caller(ctx), db.terminals.type_of_token(&continuation.token))?;
        let a = db.terminals.continue_(&continuation.token, now);
        live(st, "continue", &a);
        Ok(Some(result(a, &db.terminals)))
    }

    /// Captures an AUTHORIZED payment.
    async fn capture(&self, ctx: &Context<'_>, capture: CaptureInput) -> Result<Option<TpResult>> {
        let st = state(ctx);
        let mut db = st.db();
        require_for(caller(ctx), db.terminals.type_of(&capture.id))?;
        let a = db
            .terminals
            .capture(&capture.id, capture.amount.map(|d| d.0));
        live(st, "capture", &a);
        Ok(Some(result(a, &db.terminals)))
    }

    /// Voids a payment.
    #[graphql(name = "void")]
    async fn void_(&self, ctx: &Context<'_>, void: VoidInput) -> Result<Option<TpResult>> {
        let st = state(ctx);
        let mut db = st.db();
        require_for(caller(ctx), db.terminals.type_of(&void.id))?;
        let a = db.terminals.void(&void.id);
        live(st, "void", &a);
        Ok(Some(result(a, &db.terminals)))
    }
}

fn live(st: &crate::pos::state::SimState, what: &str, a: &TpAnswer) {
    st.live(match a {
        TpAnswer::Payment(p) => format!(
            "terminal {} {what}: payment {} {:?} {} of {}",
            p.terminal_id, p.id, p.status, p.approved_amount, p.amount
        ),
        TpAnswer::Continuation { .. } => format!("terminal {what}: waiting for the cardholder"),
        TpAnswer::Error { code, .. } => format!("terminal {what}: {code:?}"),
    });
}
