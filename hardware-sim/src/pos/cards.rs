//! Gift-card rules: lookups, declines and the authorize / capture / cancel balance effects
//! of pos-api.md §5.6–5.8.

use chrono::{DateTime, Duration, Utc};
use rand::Rng;
use rust_decimal::Decimal;

use super::db::{Caller, Card, CardCode, Db};
use super::error::PosError;
use super::ledger::{GiftcardTransRecord, TransStatus, TransType};
use super::seed::CodeType;

/// The permission needed to see and use a code type, if any.
pub(crate) fn code_type_permission(code_type: CodeType) -> Option<&'static str> {
    match code_type {
        CodeType::Physical => Some("UsePhysicalGiftCardCodes"),
        CodeType::External => Some("UseExternalGiftCardCodes"),
        CodeType::Personal => None,
    }
}

/// Whether the caller may see and use codes of this type.
pub(crate) fn may_use(caller: &Caller, code_type: CodeType) -> bool {
    code_type_permission(code_type).is_none_or(|p| caller.has(p))
}

/// A `giftcardTransAdd` request.
pub(crate) struct TransAdd {
    pub code_type: Option<CodeType>,
    pub code: String,
    pub pin: Option<String>,
    pub trans_type: TransType,
    pub amount: Decimal,
    pub source_id: Option<String>,
    pub ref_no: Option<String>,
    pub authorize: bool,
}

/// A `giftcardAdd` request.
pub(crate) struct CardAdd {
    pub physical_code: Option<String>,
    pub physical_pin: Option<String>,
    pub add_personal_code: bool,
    pub member_id: Option<String>,
}

/// A `giftcardEdit` request.
pub(crate) struct CardEdit {
    pub id: String,
    pub member_id: Option<String>,
    pub add_personal_code: bool,
    pub revoke_physical_code: bool,
    pub revoke_personal_code: bool,
    pub physical_code: Option<String>,
    pub physical_pin: Option<String>,
}

fn amount_sign_ok(trans_type: TransType, amount: Decimal) -> bool {
    match trans_type {
        TransType::Add => amount > Decimal::ZERO,
        TransType::Use => amount < Decimal::ZERO,
        TransType::Adjust | TransType::External | TransType::Import => !amount.is_zero(),
    }
}

impl Db {
    /// Cards holding `code` among the types the caller may use (or only `code_type`).
    pub(crate) fn find_by_code(
        &self,
        caller: &Caller,
        code_type: Option<CodeType>,
        code: &str,
    ) -> Vec<(String, usize)> {
        self.cards
            .values()
            .filter_map(|card| {
                card.codes
                    .iter()
                    .position(|c| {
                        c.code == code
                            && code_type.is_none_or(|t| t == c.code_type)
                            && may_use(caller, c.code_type)
                    })
                    .map(|i| (card.id.clone(), i))
            })
            .collect()
    }

    fn physical_code_taken(&self, code: &str, except_card: Option<&str>) -> bool {
        self.cards.values().any(|card| {
            Some(card.id.as_str()) != except_card
                && card
                    .codes
                    .iter()
                    .any(|c| c.code_type == CodeType::Physical && c.code == code)
        })
    }

    fn member_exists(&self, member_id: &str) -> bool {
        self.customers
            .iter()
            .any(|c| c.member_id.as_deref() == Some(member_id))
    }

    /// `giftcardTransAdd`: an immediate or authorized transaction.
    pub(crate) fn trans_add(
        &mut self,
        caller: &Caller,
        input: TransAdd,
        now: DateTime<Utc>,
    ) -> Result<GiftcardTransRecord, PosError> {
        caller.require(input.trans_type.permission())?;
        if let Some(t) = input.code_type
            && let Some(p) = code_type_permission(t)
        {
            caller.require(p)?;
        }
        if !amount_sign_ok(input.trans_type, input.amount) {
            return Err(PosError::validation(
                "AmountSign",
                "Amount",
                format!("the amount has the wrong sign for {:?}", input.trans_type),
            ));
        }
        let (card_id, code_index) = match self
            .find_by_code(caller, input.code_type, &input.code)
            .as_slice()
        {
            [one] => one.clone(),
            _ => {
                return Err(PosError::validation(
                    "CodeNotFound",
                    "Code",
                    "no gift card has this code",
                ));
            }
        };
        let card = &self.cards[&card_id];
        let code = &card.codes[code_index];
        if code.expires_on.is_some_and(|d| d < now.date_naive()) {
            return Err(PosError::validation(
                "CodeExpired",
                "Code",
                "the gift-card code has expired",
            ));
        }
        if let Some(pin) = &code.pin
            && input.pin.as_deref() != Some(pin.as_str())
        {
            return Err(PosError::validation(
                "InvalidPin",
                "Pin",
                "the PIN is missing or wrong",
            ));
        }
        if input.amount < Decimal::ZERO && card.balance + input.amount < Decimal::ZERO {
            return Err(PosError::validation(
                "InsufficientBalance",
                "Amount",
                "the gift card's balance is too low",
            ));
        }
        let id = self.new_id();
        let card = self
            .cards
            .get_mut(&card_id)
            .ok_or_else(|| PosError::Fusion("card vanished".into()))?;
        // A debit is reserved at once, also when only authorized; a credit lands at capture.
        let status = if input.authorize {
            if input.amount < Decimal::ZERO {
                card.balance += input.amount;
            }
            TransStatus::Authorized
        } else {
            card.balance += input.amount;
            TransStatus::Completed
        };
        let record = GiftcardTransRecord {
            id,
            giftcard_id: card_id,
            trans_type: input.trans_type,
            amount: input.amount,
            status,
            balance: card.balance,
            ref_no: input.ref_no,
            source_id: input.source_id,
            client_id: caller.client_id.clone(),
            created: now,
            updated: now,
            auto_cancelled: false,
        };
        self.transactions.push(record.clone());
        Ok(record)
    }

    /// `giftcardTransCapture`: capture (`cancel == false`) or cancel an authorization.
    pub(crate) fn trans_capture(
        &mut self,
        caller: &Caller,
        id: &str,
        cancel: bool,
        now: DateTime<Utc>,
    ) -> Result<GiftcardTransRecord, PosError> {
        let index = self
            .transactions
            .iter()
            .position(|t| t.id == id)
            .ok_or_else(|| {
                PosError::validation(
                    "TransactionNotFound",
                    "Id",
                    "no gift-card transaction has this id",
                )
            })?;
        caller.require(self.transactions[index].trans_type.permission())?;
        match (self.transactions[index].status, cancel) {
            (TransStatus::Authorized, _) => Ok(self.settle(index, cancel, now, false)),
            (TransStatus::Completed, false) | (TransStatus::Cancelled, true) => {
                Ok(self.transactions[index].clone())
            }
            (TransStatus::Completed, true) | (TransStatus::Cancelled, false) => {
                Err(PosError::validation(
                    "TransactionNotAuthorized",
                    "Id",
                    "the transaction is not AUTHORIZED",
                ))
            }
        }
    }

    /// Captures or cancels the AUTHORIZED transaction at `index`.
    fn settle(
        &mut self,
        index: usize,
        cancel: bool,
        now: DateTime<Utc>,
        auto: bool,
    ) -> GiftcardTransRecord {
        let trans = &mut self.transactions[index];
        let mut balance = trans.balance;
        if let Some(card) = self.cards.get_mut(&trans.giftcard_id) {
            if cancel && trans.amount < Decimal::ZERO {
                card.balance -= trans.amount;
            }
            if !cancel && trans.amount > Decimal::ZERO {
                card.balance += trans.amount;
            }
            balance = card.balance;
        }
        trans.status = if cancel {
            TransStatus::Cancelled
        } else {
            TransStatus::Completed
        };
        trans.balance = balance;
        trans.updated = now;
        trans.auto_cancelled = auto;
        trans.clone()
    }

    /// The Delay Period task: cancels authorizations older than `delay`. Returns how many.
    pub(crate) fn sweep(&mut self, now: DateTime<Utc>, delay: Duration) -> usize {
        let stale: Vec<usize> = self
            .transactions
            .iter()
            .enumerate()
            .filter(|(_, t)| t.status == TransStatus::Authorized && t.created + delay <= now)
            .map(|(i, _)| i)
            .collect();
        for &index in &stale {
            self.settle(index, true, now, true);
        }
        stale.len()
    }

    fn personal_code(&mut self) -> CardCode {
        let code: String = rand::rng()
            .sample_iter(rand::distr::Alphanumeric)
            .take(24)
            .map(|c| char::from(c).to_ascii_uppercase())
            .collect();
        CardCode {
            id: self.new_id(),
            code_type: CodeType::Personal,
            code,
            pin: None,
            expires_on: None,
        }
    }

    fn check_member(&self, member_id: Option<&str>, needed: bool) -> Result<(), PosError> {
        match member_id {
            None if needed => Err(PosError::validation(
                "NotEmptyValidator",
                "MemberId",
                "a personal code needs a member",
            )),
            Some(m) if !self.member_exists(m) => Err(PosError::validation(
                "MemberNotFound",
                "MemberId",
                "no member has this id",
            )),
            _ => Ok(()),
        }
    }

    /// `giftcardAdd`: a new card with balance zero.
    pub(crate) fn giftcard_add(
        &mut self,
        caller: &Caller,
        input: CardAdd,
    ) -> Result<Card, PosError> {
        caller.require("CreateGiftCard")?;
        let physical = input.physical_code.filter(|c| !c.is_empty());
        if physical.is_none() && !input.add_personal_code {
            return Err(PosError::validation(
                "NotEmptyValidator",
                "PhysicalCode",
                "a new card needs a physical or a personal code",
            ));
        }
        self.check_member(input.member_id.as_deref(), input.add_personal_code)?;
        if let Some(code) = &physical
            && self.physical_code_taken(code, None)
        {
            return Err(PosError::validation(
                "CodeAlreadyExists",
                "PhysicalCode",
                "another card has this physical code",
            ));
        }
        let mut codes = Vec::new();
        if let Some(code) = physical {
            codes.push(CardCode {
                id: self.new_id(),
                code_type: CodeType::Physical,
                code,
                pin: input.physical_pin.filter(|p| !p.is_empty()),
                expires_on: None,
            });
        }
        if input.add_personal_code {
            let code = self.personal_code();
            codes.push(code);
        }
        let card = Card {
            id: self.new_id(),
            member_id: input.member_id,
            // Two decimals, as the POS shows money.
            balance: Decimal::new(0, 2),
            codes,
        };
        self.cards.insert(card.id.clone(), card.clone());
        Ok(card)
    }

    /// `giftcardEdit`: add, revoke or replace codes.
    pub(crate) fn giftcard_edit(
        &mut self,
        caller: &Caller,
        input: CardEdit,
    ) -> Result<Card, PosError> {
        caller.require("EditGiftCard")?;
        let card = self.cards.get(&input.id).ok_or_else(|| {
            PosError::validation("GiftCardNotFound", "Id", "no gift card has this id")
        })?;
        let member = input.member_id.clone().or_else(|| card.member_id.clone());
        if input.add_personal_code {
            if let (Some(given), Some(owner)) = (&input.member_id, &card.member_id)
                && given != owner
            {
                return Err(PosError::validation(
                    "MemberMismatch",
                    "MemberId",
                    "the member does not own this card",
                ));
            }
            self.check_member(member.as_deref(), true)?;
        }
        let new_physical = input.physical_code.clone().filter(|c| !c.is_empty());
        if let Some(code) = &new_physical
            && self.physical_code_taken(code, Some(&input.id))
        {
            return Err(PosError::validation(
                "CodeAlreadyExists",
                "PhysicalCode",
                "another card has this physical code",
            ));
        }
        let has_physical = card.codes.iter().any(|c| c.code_type == CodeType::Physical);
        if input.physical_pin.is_some()
            && new_physical.is_none()
            && (!has_physical || input.revoke_physical_code)
        {
            return Err(PosError::validation(
                "NotEmptyValidator",
                "PhysicalCode",
                "a PIN needs a physical code",
            ));
        }
        let personal = if input.add_personal_code {
            Some(self.personal_code())
        } else {
            None
        };
        let physical = match new_physical {
            Some(code) => Some(CardCode {
                id: self.new_id(),
                code_type: CodeType::Physical,
                code,
                pin: input.physical_pin.clone(),
                expires_on: None,
            }),
            None => None,
        };
        let card = self
            .cards
            .get_mut(&input.id)
            .ok_or_else(|| PosError::Fusion("card vanished".into()))?;
        card.member_id = member;
        if input.revoke_physical_code || physical.is_some() {
            card.codes.retain(|c| c.code_type != CodeType::Physical);
        }
        if input.revoke_personal_code || personal.is_some() {
            card.codes.retain(|c| c.code_type != CodeType::Personal);
        }
        if let Some(p) = physical {
            card.codes.push(p);
        } else if let Some(pin) = input.physical_pin
            && let Some(code) = card
                .codes
                .iter_mut()
                .find(|c| c.code_type == CodeType::Physical)
        {
            code.pin = Some(pin);
        }
        if let Some(p) = personal {
            card.codes.push(p);
        }
        Ok(card.clone())
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use rust_decimal::dec;

    use super::*;
    use crate::pos::seed::Seed;

    fn caller(perms: &[&str]) -> Caller {
        Caller {
            client_id: "t".into(),
            permissions: perms
                .iter()
                .map(|p| (*p).to_owned())
                .collect::<HashSet<_>>(),
        }
    }

    fn agent() -> Caller {
        caller(&[
            "GiftCardTransUse",
            "GiftCardTransAdd",
            "UsePhysicalGiftCardCodes",
            "CreateGiftCard",
        ])
    }

    fn use_of(code: &str, amount: Decimal, authorize: bool) -> TransAdd {
        TransAdd {
            code_type: Some(CodeType::Physical),
            code: code.into(),
            pin: None,
            trans_type: TransType::Use,
            amount,
            source_id: None,
            ref_no: None,
            authorize,
        }
    }

    #[test]
    fn authorize_reserves_a_debit_and_cancel_returns_it() {
        let mut db = Db::from_seed(&Seed::example());
        let now = Utc::now();
        let t = db
            .trans_add(&agent(), use_of("6006491000000001", dec!(-1), true), now)
            .unwrap();
        assert_eq!(t.balance, dec!(49.00));
        let t = db.trans_capture(&agent(), &t.id, true, now).unwrap();
        assert_eq!((t.status, t.balance), (TransStatus::Cancelled, dec!(50.00)));
    }

    #[test]
    fn declines_change_nothing() {
        let mut db = Db::from_seed(&Seed::example());
        let now = Utc::now();
        let before = db.ledger();
        let cases = [
            (
                use_of("6006491000000004", dec!(-3.51), false),
                "InsufficientBalance",
            ),
            (use_of("6006491000000003", dec!(-1), false), "CodeExpired"),
            (use_of("nope", dec!(-1), false), "CodeNotFound"),
            (use_of("6006491000000002", dec!(-1), false), "InvalidPin"),
            (use_of("6006491000000001", dec!(1), false), "AmountSign"),
        ];
        for (input, expected) in cases {
            let err = db.trans_add(&agent(), input, now).unwrap_err();
            assert_eq!(err.validation_type(), Some(expected));
        }
        assert_eq!(db.ledger(), before);
    }
}
