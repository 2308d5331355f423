//! Gift cards outside a sale: balance, activation and reload.

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::Source;
use super::ids::PaymentId;
use super::money::{dec, dec_opt};
use super::secret::{GiftCardCode, MaskedCode, Pin};

/// Query of `GET /v1/giftcards/balance?code=…`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BalanceQuery {
    /// The full code.
    pub code: GiftCardCode,
}

/// Answer of `GET /v1/giftcards/balance`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GiftCardBalance {
    /// The balance.
    #[serde(with = "dec")]
    pub balance: Decimal,
    /// The code, masked.
    pub code: MaskedCode,
    /// `online`, or `cached` when the POS is unreachable and the last known balance is shown.
    pub source: Source,
}

/// Body of `POST /v1/giftcards/activate` and `POST /v1/giftcards/reload`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GiftCardFundRequest {
    /// The code; without it the card is read from the reader or the terminal.
    #[serde(default)]
    pub code: Option<GiftCardCode>,
    /// The amount to load onto the card.
    #[serde(with = "dec")]
    pub amount: Decimal,
    /// The register's id for this load; the same id with the same body returns the first
    /// answer (an extension of the contract for retry safety).
    #[serde(default)]
    pub request_id: Option<PaymentId>,
}

/// Where a load stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LoadStatus {
    /// Recorded at the POS.
    Loaded,
    /// Still running; send the same `request_id` again for the final answer.
    Pending,
    /// The POS's answer was lost; an exception is open. Do not load again before an operator
    /// checked the card.
    InDoubt,
}

/// Answer of activation (status 201) and reload (status 200).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GiftCardFunded {
    /// Where the load stands.
    pub status: LoadStatus,
    /// The card, masked.
    pub code: MaskedCode,
    /// The amount loaded.
    #[serde(with = "dec")]
    pub amount: Decimal,
    /// The balance after loading, when the POS reports it.
    #[serde(default, with = "dec_opt")]
    pub balance: Option<Decimal>,
}

/// Body of `POST /v1/giftcards/replace-code`: a manager replaces a lost card's physical code
/// (and PIN) on the POS; the balance stays on the card.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GiftCardReplaceCodeRequest {
    /// The POS id of the card (`Giftcard.id`), not its code.
    pub card_id: String,
    /// The code of the replacement card.
    pub new_code: GiftCardCode,
    /// The PIN of the replacement card, if it has one.
    #[serde(default)]
    pub new_pin: Option<Pin>,
}

/// Answer of `POST /v1/giftcards/replace-code`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GiftCardCodeReplaced {
    /// The POS id of the card.
    pub card_id: String,
    /// The new code, masked.
    pub code: MaskedCode,
}
