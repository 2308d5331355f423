//! Items, products and members for the API: the POS first, the lane's mirror when the POS
//! cannot answer (`mirror::*_online_first` decide; this module only translates).

use pos_client::{InventoryQuery, PosClient, ProductQuery};

use crate::api::backend::{BackendError, Resource};
use crate::api::types::{
    Item, MaskedName, Member, MemberId, Product, ProductGroup, ProductNotice, Source,
};
use crate::mirror::pos::online_outcome;
use crate::mirror::validate::SkuWarning;
use crate::mirror::{AnswerSource, Mirror};

/// The catalog lookups of one lane: the POS client, the mirror and the lane's warehouse.
#[derive(Clone)]
pub struct Catalog {
    client: PosClient,
    mirror: Mirror,
    warehouse: String,
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
        }
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
