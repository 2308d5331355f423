//! Items, products and members for the API: the POS first, the lane's mirror when the POS
//! cannot answer (`mirror::*_online_first` decide; this module only translates).

use pos_client::{GiftCode, InventoryQuery, PosClient, PosError, ProductQuery};
use secrecy::SecretString;

use crate::api::backend::{BackendError, Resource};
use crate::api::types::{
    GiftCardCodeReplaced, GiftCardReplaceCodeRequest, Item, MaskedName, Member, MemberId, Product,
    ProductGroup, ProductNotice, Source,
};
use crate::mirror::pos::online_outcome;
use crate::mirror::validate::SkuWarning;
use crate::mirror::{AnswerSource, GiftcardMaintenanceError, Mirror, replace_physical_code};

/// The catalog lookups of one lane: the POS client, the mirror and the lane's warehouse.
#[derive(Clone)]
pub struct Catalog {
    client: PosClient,
    mirror: Mirror,
    warehouse: String,
    /// `api.permissions.giftcard_replace_code`: checked again here, not only by the API.
    replace_code_permitted: bool,
}

impl std::fmt::Debug for Catalog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Catalog")
            .field("warehouse", &self.warehouse)
            .finish_non_exhaustive()
    }
}

fn source(s: AnswerSource) -> Source {
    match s {
        AnswerSource::Online => Source::Online,
        AnswerSource::Mirror => Source::Mirror,
    }
}

/// Maps a refused or failed code replacement; messages never hold the code or PIN (the POS
/// client scrubs its messages, and none of ours repeat them).
fn maintenance_error(e: GiftcardMaintenanceError) -> BackendError {
    match e {
        GiftcardMaintenanceError::NotPermitted => BackendError::Forbidden {
            code: "permission_denied",
            message: "Gift-card code replacement is not permitted on this lane.".into(),
        },
        GiftcardMaintenanceError::BadInput(why) => {
            BackendError::invalid("invalid_code", format!("Bad request: {why}."))
        }
        GiftcardMaintenanceError::Pos(e) => pos_edit_error(e),
    }
}

fn pos_edit_error(e: PosError) -> BackendError {
    match e {
        PosError::NotAuthorized { .. } => BackendError::Forbidden {
            code: "pos_not_authorized",
            message: "The POS client lacks the EditGiftCard permission.".into(),
        },
        PosError::Validation {
            ref validation_type,
            ..
        } if validation_type == "GiftCardNotFound" => BackendError::NotFound(Resource::GiftCard),
        PosError::Validation {
            ref validation_type,
            ..
        } if validation_type == "CodeAlreadyExists" => BackendError::conflict(
            "code_taken",
            "Another gift card already has this physical code.",
        ),
        PosError::Validation {
            validation_type,
            property,
            ..
        } => BackendError::invalid(
            "pos_rejected",
            format!("The POS rejected the change ({validation_type} on {property})."),
        ),
        PosError::OutcomeUnknown { .. } | PosError::Fusion { .. } => {
            tracing::warn!(error = %e, "Gift-card code replacement outcome unknown.");
            BackendError::Unavailable {
                code: "pos_outcome_unknown",
                message: "The POS did not confirm the change; sending it again is safe.".into(),
            }
        }
        other => {
            tracing::warn!(error = %other, "Gift-card code replacement failed at the POS.");
            BackendError::Unavailable {
                code: "pos_unreachable",
                message: "The POS is unavailable; the code was not replaced.".into(),
            }
        }
    }
}

fn mirror_failed(e: &crate::mirror::MirrorError) -> BackendError {
    BackendError::Internal {
        message: format!("mirror lookup failed: {e}"),
    }
}

impl Catalog {
    /// Lookups through `client` with `mirror` as the fallback; `warehouse` is the lane's
    /// POS warehouse (`lane.warehouse_code`), whose price and stock items show.
    pub fn new(client: PosClient, mirror: Mirror, warehouse: impl Into<String>) -> Self {
        Self {
            client,
            mirror,
            warehouse: warehouse.into(),
            replace_code_permitted: false,
        }
    }

    /// Allows gift-card code replacement (`api.permissions.giftcard_replace_code`).
    #[must_use]
    pub fn with_code_replacement(mut self, permitted: bool) -> Self {
        self.replace_code_permitted = permitted;
        self
    }

    /// `POST /v1/giftcards/replace-code`: `giftcardEdit` with the new physical code and PIN.
    pub async fn replace_code(
        &self,
        req: GiftCardReplaceCodeRequest,
    ) -> Result<GiftCardCodeReplaced, BackendError> {
        let masked = req.new_code.masked();
        let code = GiftCode::new(req.new_code.expose());
        let pin = req
            .new_pin
            .map(|p| SecretString::from(p.expose().to_owned()));
        let card = replace_physical_code(
            self.replace_code_permitted,
            &self.client,
            &req.card_id,
            code,
            pin,
        )
        .await
        .map_err(maintenance_error)?;
        Ok(GiftCardCodeReplaced {
            card_id: card.id,
            code: masked,
        })
    }

    /// The answer when no catalog is configured.
    pub fn unavailable() -> BackendError {
        BackendError::Unavailable {
            code: "catalog_unavailable",
            message: "Item and member lookups are not available on this lane.".into(),
        }
    }

    /// The SKU check of `POST /v1/sales` (see [`check_sale_skus`]).
    pub async fn check_sale_skus<S: AsRef<str>>(
        &self,
        skus: &[S],
    ) -> Result<Vec<SkuWarning>, BackendError> {
        check_sale_skus(&self.mirror, skus).await
    }

    /// `GET /v1/items/{sku}`.
    pub async fn item(&self, sku: &str) -> Result<Item, BackendError> {
        let online = self
            .client
            .item(&InventoryQuery {
                sku: Some(sku.to_owned()),
                // Not filtered by warehouse: an item the lane's warehouse does not stock
                // still exists (shown without price or stock), it is not a 404.
                ..Default::default()
            })
            .await
            .map(|p| p.results.into_iter().find(|i| i.sku == sku));
        let a = self
            .mirror
            .item_online_first(sku, &self.warehouse, online_outcome(online))
            .await
            .map_err(|e| mirror_failed(&e))?
            .ok_or(BackendError::NotFound(Resource::Item))?;
        Ok(Item {
            sku: a.value.sku,
            name: a.value.name,
            uom: a.value.uom,
            base_price: a.value.base_price,
            quantity_available: a.value.quantity_available,
            source: source(a.source),
            mirror_age_secs: a.mirror_age_secs,
        })
    }

    /// `GET /v1/products/{sku}`.
    pub async fn product(&self, sku: &str) -> Result<Product, BackendError> {
        let online = self
            .client
            .product(&ProductQuery {
                sku: Some(sku.to_owned()),
                ..Default::default()
            })
            .await
            .map(|p| p.results.into_iter().find(|i| i.sku == sku));
        let a = self
            .mirror
            .product_online_first(sku, online_outcome(online))
            .await
            .map_err(|e| mirror_failed(&e))?
            .ok_or(BackendError::NotFound(Resource::Product))?;
        Ok(Product {
            sku: a.value.sku,
            name: a.value.name,
            long_name: a.value.long_name,
            description: a.value.description,
            base_price: a.value.base_price,
            groups: a
                .value
                .groups
                .into_iter()
                .map(|g| ProductGroup {
                    code: g.code,
                    name: g.name,
                })
                .collect(),
            notices: a
                .value
                .notices
                .into_iter()
                .map(|n| ProductNotice {
                    code: n.code,
                    text: n.text,
                })
                .collect(),
            source: source(a.source),
            mirror_age_secs: a.mirror_age_secs,
        })
    }

    /// `GET /v1/members/{member_id}`.
    pub async fn member(&self, member_id: &MemberId) -> Result<Member, BackendError> {
        let online = self.client.customer_by_member_id(member_id.as_str()).await;
        let a = self
            .mirror
            .member_online_first(member_id.as_str(), online_outcome(online))
            .await
            .map_err(|e| mirror_failed(&e))?
            .ok_or(BackendError::NotFound(Resource::Member))?;
        Ok(Member {
            member_id: member_id.clone(),
            customer_id: a.value.customer_id,
            name: MaskedName::from_full(a.value.name.as_deref().unwrap_or("")),
            source: source(a.source),
        })
    }
}

/// Checks a new sale's SKUs against the lane's item mirror: an unknown SKU is a 422
/// `unknown_sku` once the item mirror is complete; while its first load is still running (or
/// the mirror cannot be read) the sale is allowed and each reservation is logged and returned.
/// The POS is not asked: a sale must open at the speed of the lane, online or not.
pub async fn check_sale_skus<S: AsRef<str>>(
    mirror: &Mirror,
    skus: &[S],
) -> Result<Vec<SkuWarning>, BackendError> {
    match mirror.check_skus(skus).await {
        Ok(warnings) => {
            for w in &warnings {
                match w {
                    SkuWarning::MirrorLoading { sku } => tracing::warn!(
                        sku = %sku,
                        "Sale allowed with an SKU the item mirror does not know yet: it is still loading."
                    ),
                    SkuWarning::MirrorUnavailable { reason } => tracing::warn!(
                        reason = %reason,
                        "Sale allowed without an SKU check: the item mirror cannot be read."
                    ),
                }
            }
            Ok(warnings)
        }
        Err(unknown) => Err(BackendError::invalid(
            "unknown_sku",
            format!(
                "Unknown SKU: {}. The item is not in the store catalog.",
                unknown.skus.join(", ")
            ),
        )),
    }
}

#[cfg(test)]
mod replace_code_tests {
    use super::*;

    fn validation(kind: &str) -> PosError {
        PosError::Validation {
            operation: "GiftcardEdit",
            validation_type: kind.to_owned(),
            property: "Id".to_owned(),
            message: "x".to_owned(),
        }
    }

    #[test]
    fn pos_refusals_keep_their_meaning() {
        let missing_role = PosError::NotAuthorized {
            operation: "GiftcardEdit",
            message: "EditGiftCard".to_owned(),
        };
        assert!(matches!(
            pos_edit_error(missing_role),
            BackendError::Forbidden {
                code: "pos_not_authorized",
                ..
            }
        ));
        assert_eq!(
            pos_edit_error(validation("GiftCardNotFound")),
            BackendError::NotFound(Resource::GiftCard)
        );
        assert!(matches!(
            pos_edit_error(validation("CodeAlreadyExists")),
            BackendError::Conflict {
                code: "code_taken",
                ..
            }
        ));
        assert!(matches!(
            maintenance_error(GiftcardMaintenanceError::NotPermitted),
            BackendError::Forbidden {
                code: "permission_denied",
                ..
            }
        ));
        let unsent = PosError::NotSent {
            operation: "GiftcardEdit",
            reason: "refused".to_owned(),
        };
        assert!(matches!(
            pos_edit_error(unsent),
            BackendError::Unavailable {
                code: "pos_unreachable",
                ..
            }
        ));
    }
}
