//! The `giftcard` query and the gift-card mutations.

use async_graphql::{Context, Object, Result};

use super::types::*;
use super::{caller, state};
use crate::pos::cards::{CardAdd, CardEdit, TransAdd, may_use};
use crate::pos::db::{Caller, Card};
use crate::pos::ledger::GiftcardTransRecord;
use crate::pos::paging::page;
use crate::pos::seed::{CodeType, mask};

/// The `giftcard` query.
#[derive(Default)]
pub struct GiftcardQuery;

/// Gift-card mutations.
#[derive(Default)]
pub struct GiftcardMutation;

/// A card as this caller may see it, and whether permissions hid a code.
fn view(card: &Card, caller: &Caller) -> (Giftcard, bool) {
    let unmasked = caller.has("ViewUnmaskedGiftCardCodes");
    let mut limited = false;
    let codes = card
        .codes
        .iter()
        .filter(|c| {
            let ok = may_use(caller, c.code_type);
            limited |= !ok;
            ok
        })
        .map(|c| {
            // Physical codes are printed on the card; only digital codes are masked.
            let masked = c.code_type != CodeType::Physical && !unmasked;
            GiftcardCode {
                id: c.id.clone(),
                code_type: c.code_type.into(),
                code: if masked {
                    mask(&c.code)
                } else {
                    c.code.clone()
                },
                expires_on: c.expires_on.map(|d| d.format("%Y-%m-%d").to_string()),
                is_masked: masked,
            }
        })
        .collect();
    (
        Giftcard {
            id: card.id.clone(),
            member_id: card.member_id.clone(),
            balance: Dec(card.balance),
            codes,
        },
        limited,
    )
}

fn trans_view(t: GiftcardTransRecord) -> GiftcardTrans {
    GiftcardTrans {
        id: t.id,
        giftcard_id: t.giftcard_id,
        balance: Dec(t.balance),
        status: t.status.into(),
        amount: Dec(t.amount),
    }
}

#[Object]
impl GiftcardQuery {
    /// Look a card up by code (permission FindGiftCardByCode) or by internal id.
    async fn giftcard(
        &self,
        ctx: &Context<'_>,
        code: Option<String>,
        code_type: Option<GqlCodeType>,
        id: Option<String>,
        skip: Option<i32>,
        first: Option<i32>,
    ) -> Result<Option<GiftcardResults>> {
        let caller = caller(ctx);
        let db = state(ctx).db();
        let cards: Vec<&Card> = match &code {
            Some(code) => {
                caller.require("FindGiftCardByCode")?;
                let code_type = code_type.map(CodeType::from);
                if let Some(p) = code_type.and_then(crate::pos::cards::code_type_permission) {
                    caller.require(p)?;
                }
                db.find_by_code(caller, code_type, code)
                    .into_iter()
                    .filter(|(card, _)| id.as_ref().is_none_or(|i| i == card))
                    .filter_map(|(card, _)| db.cards.get(&card))
                    .collect()
            }
            None => {
                caller.require("ListGiftCards")?;
                db.cards
                    .values()
                    .filter(|c| id.as_ref().is_none_or(|i| *i == c.id))
                    .collect()
            }
        };
        let mut limited = false;
        let views = cards.into_iter().map(|c| {
            let (v, l) = view(c, caller);
            limited |= l;
            v
        });
        let p = page(views, skip, first)?;
        Ok(Some(GiftcardResults {
            has_more_results: p.has_more,
            limited_by_permission: limited,
            results: p.results,
        }))
    }
}

#[Object]
impl GiftcardMutation {
    async fn giftcard_add(
        &self,
        ctx: &Context<'_>,
        giftcard: GiftcardAddInput,
    ) -> Result<Option<Giftcard>> {
        let caller = caller(ctx);
        let card = state(ctx).db().giftcard_add(
            caller,
            CardAdd {
                physical_code: giftcard.physical_code,
                physical_pin: giftcard.physical_pin,
                add_personal_code: giftcard.add_personal_code.unwrap_or(false),
                member_id: giftcard.member_id,
            },
        )?;
        tracing::info!(client = %caller.client_id, giftcard_id = %card.id, "Gift card created.");
        Ok(Some(view(&card, caller).0))
    }

    async fn giftcard_edit(
        &self,
        ctx: &Context<'_>,
        giftcard: GiftcardEditInput,
    ) -> Result<Option<Giftcard>> {
        let caller = caller(ctx);
        let card = state(ctx).db().giftcard_edit(
            caller,
            CardEdit {
                id: giftcard.id,
                member_id: giftcard.member_id,
                add_personal_code: giftcard.add_personal_code.unwrap_or(false),
                revoke_physical_code: giftcard.revoke_physical_code.unwrap_or(false),
                revoke_personal_code: giftcard.revoke_personal_code.unwrap_or(false),
                physical_code: giftcard.physical_code,
                physical_pin: giftcard.physical_pin,
            },
        )?;
        tracing::info!(client = %caller.client_id, giftcard_id = %card.id, "Gift card edited.");
        Ok(Some(view(&card, caller).0))
    }

    /// Immediate transaction, or with authorize: true an AUTHORIZED one to capture or cancel later.
    async fn giftcard_trans_add(
        &self,
        ctx: &Context<'_>,
        trans: GiftcardTransAddInput,
    ) -> Result<Option<GiftcardTrans>> {
        let caller = caller(ctx);
        let st = state(ctx);
        let masked = mask(&trans.code);
        let result = st.db().trans_add(
            caller,
            TransAdd {
                code_type: trans.code_type.map(CodeType::from),
                code: trans.code,
                pin: trans.pin,
                trans_type: trans.trans_type.into(),
                amount: trans.amount.0,
                source_id: trans.source_id,
                ref_no: trans.ref_no,
                authorize: trans.authorize.unwrap_or(false),
            },
            st.now(),
        );
        match result {
            Ok(t) => {
                tracing::info!(client = %caller.client_id, code = %masked, id = %t.id,
                    status = ?t.status, amount = %t.amount, "Gift-card transaction added.");
                Ok(Some(trans_view(t)))
            }
            Err(e) => {
                tracing::info!(client = %caller.client_id, code = %masked, error = ?e,
                    "Gift-card transaction declined.");
                Err(e.into())
            }
        }
    }

    /// PINNED arguments: capture (cancel: false) or cancel (cancel: true) an AUTHORIZED transaction.
    async fn giftcard_trans_capture(
        &self,
        ctx: &Context<'_>,
        trans: GiftcardTransCaptureInput,
    ) -> Result<Option<GiftcardTrans>> {
        let caller = caller(ctx);
        let st = state(ctx);
        let cancel = trans.cancel.unwrap_or(false);
        let t = st.db().trans_capture(caller, &trans.id, cancel, st.now())?;
        tracing::info!(client = %caller.client_id, id = %t.id, status = ?t.status,
            "Gift-card transaction settled.");
        Ok(Some(trans_view(t)))
    }
}
