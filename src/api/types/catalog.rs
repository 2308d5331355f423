//! Items, products and members, answered from the POS or from the agent's mirror.

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::Source;
use super::ids::MemberId;
use super::money::dec_opt;
use super::secret::MaskedName;

/// Answer of `GET /v1/items/{sku}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Item {
    /// The SKU.
    pub sku: String,
    /// The item's name.
    pub name: Option<String>,
    /// The sale unit of measure.
    pub uom: Option<String>,
    /// The base price at this store's warehouse.
    #[serde(default, with = "dec_opt")]
    pub base_price: Option<Decimal>,
    /// Stock at this store's warehouse.
    #[serde(default, with = "dec_opt")]
    pub quantity_available: Option<Decimal>,
    /// `online` or `mirror`.
    pub source: Source,
    /// Age of the mirror's copy, when answered from the mirror.
    pub mirror_age_secs: Option<u64>,
}

/// A product group in [`Product`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProductGroup {
    /// The group's code.
    pub code: String,
    /// The group's name.
    pub name: Option<String>,
}

/// A product notice in [`Product`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProductNotice {
    /// The notice's code.
    pub code: String,
    /// The notice's text.
    pub text: Option<String>,
}

/// Answer of `GET /v1/products/{sku}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Product {
    /// The SKU.
    pub sku: String,
    /// The product's name.
    pub name: Option<String>,
    /// The long name.
    pub long_name: Option<String>,
    /// The description.
    pub description: Option<String>,
    /// The base price.
    #[serde(default, with = "dec_opt")]
    pub base_price: Option<Decimal>,
    /// The groups the product belongs to.
    pub groups: Vec<ProductGroup>,
    /// The notices shown with the product.
    pub notices: Vec<ProductNotice>,
    /// `online` or `mirror`.
    pub source: Source,
    /// Age of the mirror's copy, when answered from the mirror.
    pub mirror_age_secs: Option<u64>,
}

/// Answer of `GET /v1/members/{member_id}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Member {
    /// The member id.
    pub member_id: MemberId,
    /// The POS customer id.
    pub customer_id: String,
    /// The member's name, masked.
    pub name: MaskedName,
    /// `online` or `mirror`/`cached`.
    pub source: Source,
}
