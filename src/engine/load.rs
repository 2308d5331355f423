//! Gift-card activation and reload: money movements with a register-given `request_id`.
//!
//! The request (its `refNo` and a keyed fingerprint of its body) is journaled in `requests`
//! before the ADD leaves, and its outcome after: the same `request_id` with the same body
//! returns the first answer (or "pending" while it runs), across restarts; another body is a
//! conflict. A lost ADD answer cannot be looked up at the POS, so it is **in doubt** with an
//! exception for the operator, never sent again. A request that moved nothing (not sent,
//! declined) leaves no row, so a retry may try again.

use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};

use crate::domain::Money;
use crate::store::exceptions::{self, NewException};
use crate::store::mask;
use crate::store::requests::{self, Claim, NewRequest, RequestRecord, RequestState};

use super::giftcard::{Giftcards, card};
use super::movement::Submitted;
use super::ports::{GiftcardTransRequest, HostError};
use super::{Engine, EngineError};

/// The exception kind of an activation or reload whose ADD answer was lost.
pub const LOAD_IN_DOUBT: &str = "giftcard_load_in_doubt";

/// Where a load stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LoadStatus {
    /// The ADD is recorded at the POS.
    Loaded,
    /// Still running; ask again with the same `request_id`.
    Pending,
    /// The ADD's answer was lost; an exception is open for the operator.
    InDoubt,
}

/// Activation / reload answer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoadAnswer {
    /// Status.
    pub status: LoadStatus,
    /// Masked code.
    pub code: String,
    /// POS card id (activation only).
    pub card_id: Option<String>,
    /// Amount loaded (asked for, while pending or in doubt).
    pub amount: Money,
    /// Balance after, when reported.
    pub balance: Option<Money>,
    /// `refNo` of the ADD.
    pub ref_no: String,
}

/// What is loaded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum LoadKind {
    Activate,
    Reload,
}

impl LoadKind {
    fn as_str(self) -> &'static str {
        match self {
            LoadKind::Activate => "giftcard_activate",
            LoadKind::Reload => "giftcard_reload",
        }
    }
}

#[derive(Clone)]
struct LoadRequest {
    kind: LoadKind,
    request_id: String,
    code: SecretString,
    pin: Option<SecretString>,
    amount: Money,
}

fn answer_of(r: &RequestRecord) -> LoadAnswer {
    let stored = r
        .answer
        .as_deref()
        .and_then(|a| serde_json::from_str::<LoadAnswer>(a).ok());
    match (r.state, stored) {
        (RequestState::Done, Some(a)) => a,
        (state, _) => LoadAnswer {
            status: if state == RequestState::InDoubt {
                LoadStatus::InDoubt
            } else {
                LoadStatus::Pending
            },
            code: r.code_masked.clone().unwrap_or_default(),
            card_id: None,
            amount: r.amount.unwrap_or(Money::ZERO),
            balance: None,
            ref_no: r.ref_no.clone(),
        },
    }
}

impl Engine {
    /// Activates a new physical card (`giftcardAdd`) and funds it with an ADD.
    pub async fn activate_giftcard(
        &self,
        code: SecretString,
        pin: Option<SecretString>,
        amount: Money,
        request_id: Option<String>,
    ) -> Result<LoadAnswer, EngineError> {
        self.load_giftcard(LoadKind::Activate, code, pin, amount, request_id)
            .await
    }

    /// Reloads an existing card with an ADD.
    pub async fn reload_giftcard(
        &self,
        code: SecretString,
        amount: Money,
        request_id: Option<String>,
    ) -> Result<LoadAnswer, EngineError> {
        self.load_giftcard(LoadKind::Reload, code, None, amount, request_id)
            .await
    }

    async fn load_giftcard(
        &self,
        kind: LoadKind,
        code: SecretString,
        pin: Option<SecretString>,
        amount: Money,
        request_id: Option<String>,
    ) -> Result<LoadAnswer, EngineError> {
        let raw = code.expose_secret().trim().to_owned();
        if raw.is_empty() || !amount.is_positive() {
            return Err(EngineError::Invalid(
                "a gift-card load needs a code and a positive amount".into(),
            ));
        }
        let req = LoadRequest {
            kind,
            request_id: request_id.unwrap_or_else(|| uuid::Uuid::now_v7().to_string()),
            code: SecretString::from(raw.clone()),
            pin,
            amount,
        };
        let key = format!("{}:{}", kind.as_str(), req.request_id);
        let r = req.clone();
        match self
            .submit(key, move |e| {
                let r = r.clone();
                async move { e.giftcards().load_now(r).await }
            })
            .await?
        {
            Submitted::Finished(a) => a,
            Submitted::Pending => Ok(LoadAnswer {
                status: LoadStatus::Pending,
                code: mask(&raw),
                card_id: None,
                amount,
                balance: None,
                ref_no: String::new(),
            }),
        }
    }
}

/// Activation and reload at the POS: the gift-card tender's own operations.
impl Giftcards {
    /// Activates or reloads a card at the POS, journaled under its request id.
    async fn load_now(&self, req: LoadRequest) -> Result<LoadAnswer, EngineError> {
        let raw = req.code.expose_secret().to_owned();
        let lane = self.journal.lane();
        let (sc, rc) = (lane.store_code.clone(), lane.register_code.clone());
        let (kind, rid, amount, pin_given) = (
            req.kind,
            req.request_id.clone(),
            req.amount,
            req.pin.is_some(),
        );
        let code = raw.clone();
        let claim = self
            .journal
            .store()
            .write(move |c, s| {
                let fingerprint = s.keyed_hash(&format!(
                    "{}|{}|{}|{}",
                    kind.as_str(),
                    s.keyed_hash(&code),
                    amount,
                    pin_given
                ));
                let masked = mask(&code);
                requests::claim(
                    c,
                    &sc,
                    &rc,
                    &NewRequest {
                        kind: kind.as_str(),
                        request_id: &rid,
                        fingerprint: &fingerprint,
                        code_masked: Some(&masked),
                        amount: Some(amount),
                    },
                )
            })
            .await?;
        let r = match claim {
            Claim::Existing(r) => return Ok(answer_of(&r)),
            Claim::New(r) => r,
        };
        let c = card(&raw, req.pin.as_ref());
        let card_id = if req.kind == LoadKind::Activate {
            match self.host.create(&c).await {
                Ok(id) => Some(id),
                Err(e) => {
                    self.link.note(&e);
                    self.forget_request(&r).await?;
                    return Err(e.into());
                }
            }
        } else {
            None
        };
        let add = GiftcardTransRequest {
            card: c,
            amount: req.amount,
            ref_no: r.ref_no.clone(),
            source_id: self.journal.lane().register_code.clone(),
        };
        match self.host.add(&add).await {
            Ok(t) => {
                self.link.up();
                let answer = LoadAnswer {
                    status: LoadStatus::Loaded,
                    code: mask(&raw),
                    card_id,
                    amount: req.amount,
                    balance: t.balance,
                    ref_no: r.ref_no.clone(),
                };
                self.finish_request(&r, RequestState::Done, Some(&answer))
                    .await?;
                tracing::info!(code = %answer.code, amount = %req.amount, ref_no = %r.ref_no, "Gift card loaded.");
                if let Some(b) = t.balance
                    && let Err(e) = self.cache_balance(&raw, b).await
                {
                    tracing::warn!(error = %e, "Balance cache not updated.");
                }
                Ok(answer)
            }
            Err(HostError::OutcomeUnknown(m)) => {
                tracing::warn!(ref_no = %r.ref_no, error = %m, "Gift-card load outcome unknown; in doubt.");
                self.finish_request(&r, RequestState::InDoubt, None).await?;
                Ok(answer_of(&RequestRecord {
                    state: RequestState::InDoubt,
                    ..r
                }))
            }
            Err(e) => {
                self.link.note(&e);
                self.forget_request(&r).await?;
                Err(e.into())
            }
        }
    }

    /// Journals a request's outcome; an in-doubt one raises its exception in the same
    /// transaction.
    async fn finish_request(
        &self,
        r: &RequestRecord,
        state: RequestState,
        answer: Option<&LoadAnswer>,
    ) -> Result<(), EngineError> {
        let answer = answer
            .map(serde_json::to_string)
            .transpose()
            .map_err(|e| EngineError::Invalid(e.to_string()))?;
        let r = r.clone();
        let raised = self
            .journal
            .journal_outcome(move |c, _| {
                requests::finish(c, &r.kind, &r.request_id, state, answer.as_deref())?;
                if state != RequestState::InDoubt {
                    return Ok(None);
                }
                exceptions::raise(c, &load_exception(&r)).map(Some)
            })
            .await?;
        if let Some(id) = raised {
            self.journal
                .exception_event(id, LOAD_IN_DOUBT, "gift-card load outcome unknown");
        }
        Ok(())
    }

    /// Removes a request that moved nothing, so that a retry may try again.
    async fn forget_request(&self, r: &RequestRecord) -> Result<(), EngineError> {
        let r = r.clone();
        self.journal
            .store()
            .write(move |c, _| requests::forget(c, &r.kind, &r.request_id))
            .await?;
        Ok(())
    }

    /// At start-up: loads whose outcome was never journaled are in doubt. Returns how many.
    pub(crate) async fn recover_requests(&self) -> Result<usize, EngineError> {
        let raised = self
            .journal
            .store()
            .write(|c, _| {
                let mut raised = Vec::new();
                for r in requests::running(c)? {
                    requests::finish(c, &r.kind, &r.request_id, RequestState::InDoubt, None)?;
                    raised.push(exceptions::raise(c, &load_exception(&r))?);
                }
                Ok(raised)
            })
            .await?;
        for id in &raised {
            self.journal
                .exception_event(*id, LOAD_IN_DOUBT, "interrupted by a restart");
        }
        Ok(raised.len())
    }
}

fn load_exception(r: &RequestRecord) -> NewException {
    NewException {
        kind: LOAD_IN_DOUBT.into(),
        sale_id: None,
        payment_id: None,
        outbox_id: None,
        amount: r.amount,
        code_masked: r.code_masked.clone(),
        reason: format!(
            "{} {} (refNo {}): the POS's answer was lost; check the card's history before loading again",
            r.kind, r.request_id, r.ref_no
        ),
    }
}
