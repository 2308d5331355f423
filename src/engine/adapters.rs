//! Adapters from the shared crates to the engine's ports: `pos_client::PosClient` as
//! [`GiftcardHost`], [`PurchaseSink`] and the POS-driven terminal's host, the terminal port of
//! a lane without a ZVT terminal ([`NoZvtTerminal`]), and `pos_client::backoff::Backoff` as a
//! [`BackoffFactory`]. (The ZVT terminal's port is `crate::agent::ZvtTerminal`, in
//! `src/agent/terminal.rs`.)

use std::sync::Arc;

use async_trait::async_trait;
use pos_client::backoff::Backoff;
use pos_client::{
    CodeType, DeclineReason, ErrorClass, GiftCode, GiftcardAddRequest, PosClient, PosError,
    TransType,
};
use secrecy::ExposeSecret;

use super::BackoffFactory;
use super::ports::{
    CardSecret, Decline, GiftcardBalance, GiftcardHost, GiftcardTrans, GiftcardTransRequest,
    HostError, PurchaseInput, PurchaseSink, SinkError,
};
use crate::domain::Money;

/// The POS client seen through the engine's ports.
#[derive(Clone)]
pub struct PosPorts {
    client: PosClient,
    code_type: Option<CodeType>,
}

impl PosPorts {
    /// Wraps a client. `code_type` is sent with every code (codes are unique only within a
    /// type; lane cards are usually `PHYSICAL`).
    pub fn new(client: PosClient, code_type: Option<CodeType>) -> Self {
        PosPorts { client, code_type }
    }
}

/// The shared backoff policy as the engine's delay source.
pub fn backoff_factory(policy: Backoff) -> BackoffFactory {
    Arc::new(move || Box::new(policy.delays()))
}

fn decline(r: &DeclineReason) -> Decline {
    match r {
        DeclineReason::InsufficientBalance => Decline::InsufficientBalance,
        DeclineReason::CodeNotFound => Decline::CodeNotFound,
        DeclineReason::CodeExpired => Decline::CodeExpired,
        DeclineReason::InvalidPin => Decline::InvalidPin,
        DeclineReason::AmountSign => Decline::AmountSign,
        DeclineReason::TransactionNotAuthorized => Decline::TransactionNotAuthorized,
        DeclineReason::Other(s) => Decline::Other(s.clone()),
    }
}

/// Maps a POS error onto the gift-card host classes. A configuration failure (no token,
/// `invalid_client`) means nothing was applied, so it is `NotSent`: the lane goes offline and
/// the client's own alert tells the operator why.
pub fn host_error(e: &PosError) -> HostError {
    if let Some(r) = e.decline_reason() {
        return HostError::Declined(decline(r));
    }
    // Every gift-card mutation is a gift-card request: a VALIDATION answer outside the
    // decline list (giftcardAdd's "CodeAlreadyExists", say) is still a definitive refusal
    // that applied nothing (pos-api.md §3), not an internal failure.
    if let PosError::Validation {
        validation_type, ..
    } = e
    {
        return HostError::Declined(Decline::Other(validation_type.clone()));
    }
    match e.class() {
        ErrorClass::NotSent | ErrorClass::Configuration => HostError::NotSent(e.to_string()),
        ErrorClass::Transient | ErrorClass::OutcomeUnknown => {
            HostError::OutcomeUnknown(e.to_string())
        }
        _ if matches!(e, PosError::NotAuthorized { .. }) => HostError::NotAuthorized(e.to_string()),
        _ => HostError::Other(e.to_string()),
    }
}

/// Maps a `purchaseAdd` error per reliability.md §2 rule 3 (the client has already refreshed
/// the token once on 401).
pub fn sink_error(e: &PosError) -> SinkError {
    match e.class() {
        ErrorClass::NotSent | ErrorClass::Configuration => SinkError::NotSent {
            message: e.to_string(),
            retry_after: e.retry_after(),
        },
        ErrorClass::Transient | ErrorClass::OutcomeUnknown => {
            SinkError::OutcomeUnknown(e.to_string())
        }
        _ => SinkError::Rejected(e.to_string()),
    }
}

impl PosPorts {
    fn trans(
        &self,
        req: &GiftcardTransRequest,
        trans_type: TransType,
        signed: Money,
        authorize: bool,
    ) -> pos_client::GiftcardTransRequest {
        pos_client::GiftcardTransRequest {
            code_type: self.code_type.clone(),
            code: GiftCode::new(req.card.code.expose_secret()),
            pin: req.card.pin.clone(),
            trans_type,
            amount: signed.0,
            source_id: Some(req.source_id.clone()),
            ref_no: Some(req.ref_no.clone()),
            authorize,
        }
    }

    async fn run_trans(
        &self,
        t: pos_client::GiftcardTransRequest,
    ) -> Result<GiftcardTrans, HostError> {
        let r = self
            .client
            .giftcard_trans_add(&t)
            .await
            .map_err(|e| host_error(&e))?;
        Ok(GiftcardTrans {
            id: r.id,
            balance: Some(Money(r.balance)),
        })
    }
}

#[async_trait]
impl GiftcardHost for PosPorts {
    async fn balance(&self, card: &CardSecret) -> Result<GiftcardBalance, HostError> {
        match self
            .client
            .giftcard_by_code(card.code.expose_secret(), self.code_type.clone())
            .await
        {
            Ok(Some(g)) => Ok(GiftcardBalance {
                balance: Money(g.balance),
            }),
            Ok(None) => Err(HostError::Declined(Decline::CodeNotFound)),
            Err(e) => Err(host_error(&e)),
        }
    }

    async fn authorize_use(&self, req: &GiftcardTransRequest) -> Result<GiftcardTrans, HostError> {
        self.run_trans(self.trans(req, TransType::Use, Money(-req.amount.0), true))
            .await
    }

    async fn use_now(&self, req: &GiftcardTransRequest) -> Result<GiftcardTrans, HostError> {
        self.run_trans(self.trans(req, TransType::Use, Money(-req.amount.0), false))
            .await
    }

    async fn capture(&self, pos_trans_id: &str) -> Result<GiftcardTrans, HostError> {
        let r = self
            .client
            .giftcard_trans_capture(pos_trans_id, false)
            .await
            .map_err(|e| host_error(&e))?;
        Ok(GiftcardTrans {
            id: r.id,
            balance: Some(Money(r.balance)),
        })
    }

    async fn cancel(&self, pos_trans_id: &str) -> Result<GiftcardTrans, HostError> {
        let r = self
            .client
            .giftcard_trans_capture(pos_trans_id, true)
            .await
            .map_err(|e| host_error(&e))?;
        Ok(GiftcardTrans {
            id: r.id,
            balance: Some(Money(r.balance)),
        })
    }

    async fn create(&self, card: &CardSecret) -> Result<String, HostError> {
        let req = GiftcardAddRequest {
            physical_code: Some(GiftCode::new(card.code.expose_secret())),
            physical_pin: card.pin.clone(),
            ..Default::default()
        };
        let g = self
            .client
            .giftcard_add(&req)
            .await
            .map_err(|e| host_error(&e))?;
        Ok(g.id)
    }

    async fn add(&self, req: &GiftcardTransRequest) -> Result<GiftcardTrans, HostError> {
        self.run_trans(self.trans(req, TransType::Add, req.amount, false))
            .await
    }

    async fn environment(&self) -> Result<(), HostError> {
        self.client
            .environment()
            .await
            .map(|_| ())
            .map_err(|e| host_error(&e))
    }
}

#[async_trait]
impl PurchaseSink for PosPorts {
    async fn purchase_add(&self, p: &PurchaseInput) -> Result<String, SinkError> {
        self.client
            .purchase_add(p)
            .await
            .map(|id| id.0)
            .map_err(|e| sink_error(&e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_classes_map_onto_the_ports() {
        let not_sent = PosError::NotSent {
            operation: "purchaseAdd",
            reason: "refused".into(),
        };
        assert!(matches!(sink_error(&not_sent), SinkError::NotSent { .. }));
        let unknown = PosError::OutcomeUnknown {
            operation: "purchaseAdd",
            mutation: true,
            reason: "reset".into(),
        };
        assert!(matches!(sink_error(&unknown), SinkError::OutcomeUnknown(_)));
        let five = PosError::HttpStatus {
            operation: "purchaseAdd",
            mutation: true,
            status: 502,
            retry_after: None,
        };
        assert!(matches!(sink_error(&five), SinkError::OutcomeUnknown(_)));
        let busy = PosError::HttpStatus {
            operation: "purchaseAdd",
            mutation: true,
            status: 429,
            retry_after: Some(std::time::Duration::from_secs(3)),
        };
        assert_eq!(
            sink_error(&busy),
            SinkError::NotSent {
                message: busy.to_string(),
                retry_after: Some(std::time::Duration::from_secs(3))
            }
        );
        let forbidden = PosError::NotAuthorized {
            operation: "purchaseAdd",
            message: "x".into(),
        };
        assert!(matches!(sink_error(&forbidden), SinkError::Rejected(_)));
        assert!(matches!(
            host_error(&forbidden),
            HostError::NotAuthorized(_)
        ));
        let declined = PosError::Declined {
            operation: "giftcardTransAdd",
            reason: DeclineReason::InvalidPin,
            property: String::new(),
            message: "pin".into(),
        };
        assert_eq!(
            host_error(&declined),
            HostError::Declined(Decline::InvalidPin)
        );
        assert!(matches!(
            host_error(&PosError::InvalidClient),
            HostError::NotSent(_)
        ));
        let fusion = PosError::Fusion {
            operation: "giftcardTransAdd",
            mutation: true,
            message: "boom".into(),
        };
        assert!(matches!(host_error(&fusion), HostError::OutcomeUnknown(_)));
    }

    #[test]
    fn shared_backoff_feeds_the_forwarder() {
        let policy = Backoff::try_new(
            std::time::Duration::from_millis(10),
            std::time::Duration::from_millis(40),
            3,
        )
        .unwrap()
        .without_jitter();
        let delays: Vec<_> = (backoff_factory(policy))().collect();
        assert_eq!(delays.len(), 3);
        assert_eq!(delays[2], std::time::Duration::from_millis(40));
    }
}

/// Maps a POS error of a terminal-payment call: a missing permission stays visible as
/// such (the register is told plainly), a lost answer is `OutcomeUnknown`.
pub fn terminal_host_error(e: &PosError) -> HostError {
    match e.class() {
        ErrorClass::NotSent | ErrorClass::Configuration => HostError::NotSent(e.to_string()),
        ErrorClass::Transient | ErrorClass::OutcomeUnknown => {
            HostError::OutcomeUnknown(e.to_string())
        }
        _ if matches!(e, PosError::NotAuthorized { .. }) => HostError::NotAuthorized(e.to_string()),
        _ => HostError::Other(e.to_string()),
    }
}

#[async_trait]
impl super::pos_terminal::TerminalPaymentHost for PosPorts {
    async fn start(
        &self,
        req: &pos_client::TerminalPaymentStartRequest,
    ) -> Result<pos_client::TerminalPaymentOutcome, HostError> {
        self.client
            .terminal_payment_start(req)
            .await
            .map_err(|e| terminal_host_error(&e))
    }

    async fn continue_payment(
        &self,
        token: &str,
    ) -> Result<pos_client::TerminalPaymentOutcome, HostError> {
        self.client
            .terminal_payment_continue(token)
            .await
            .map_err(|e| terminal_host_error(&e))
    }

    async fn capture(
        &self,
        id: &str,
        amount: Option<Money>,
    ) -> Result<pos_client::TerminalPaymentOutcome, HostError> {
        self.client
            .terminal_payment_capture(id, amount.map(|m| m.0))
            .await
            .map_err(|e| terminal_host_error(&e))
    }

    async fn void(&self, id: &str) -> Result<pos_client::TerminalPaymentOutcome, HostError> {
        self.client
            .terminal_payment_void(id)
            .await
            .map_err(|e| terminal_host_error(&e))
    }

    async fn lookup(&self, ref_no: &str) -> Result<Vec<pos_client::TerminalPayment>, HostError> {
        self.client
            .terminal_payments(Some(ref_no), None)
            .await
            .map_err(|e| terminal_host_error(&e))
    }
}

/// The terminal port of a lane with `terminal.protocol = "pos"`: there is no ZVT terminal,
/// so nothing is ever sent to one (no display, no PIN prompt); every command is refused as
/// not sent.
#[derive(Clone, Copy, Debug, Default)]
pub struct NoZvtTerminal;

const NO_ZVT: &str = "this lane has no ZVT terminal (terminal.protocol = \"pos\")";

#[async_trait]
impl super::ports::PaymentTerminal for NoZvtTerminal {
    async fn authorize(
        &self,
        _: &super::ports::TerminalRequest,
    ) -> Result<super::ports::TerminalOutcome, super::ports::TerminalError> {
        Err(super::ports::TerminalError::NotSent(NO_ZVT.into()))
    }
    async fn reserve(
        &self,
        _: &super::ports::TerminalRequest,
    ) -> Result<super::ports::TerminalOutcome, super::ports::TerminalError> {
        Err(super::ports::TerminalError::NotSent(NO_ZVT.into()))
    }
    async fn book_total(
        &self,
        _: u32,
        _: Money,
    ) -> Result<super::ports::TerminalOutcome, super::ports::TerminalError> {
        Err(super::ports::TerminalError::NotSent(NO_ZVT.into()))
    }
    async fn reverse(
        &self,
        _: u32,
        _: bool,
    ) -> Result<super::ports::TerminalOutcome, super::ports::TerminalError> {
        Err(super::ports::TerminalError::NotSent(NO_ZVT.into()))
    }
    async fn last_trace(&self) -> Option<u32> {
        None
    }
    async fn recover(
        &self,
        _: &super::ports::RecoveryIntent,
    ) -> Result<super::ports::Recovered, super::ports::TerminalError> {
        Err(super::ports::TerminalError::NotSent(NO_ZVT.into()))
    }
    async fn numeric_input(
        &self,
        _: &str,
        _: u8,
    ) -> Result<Option<secrecy::SecretString>, super::ports::TerminalError> {
        Err(super::ports::TerminalError::NotSent(NO_ZVT.into()))
    }
}
