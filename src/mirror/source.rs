//! Where mirrored data comes from: small traits with page-fetch methods returning plain domain
//! types (`pos_client`'s), so sync can run against the POS, the stand-in or a fake.

use async_trait::async_trait;
use pos_client::{
    Item, ItemSerialLot, ItemWarehouse, Location, Product, ProductBanner, ProductGroup,
    ProductNotice, ProductSection, ProductSortOption, Sale,
};

/// Why a fetch failed. The mirror keeps what it had either way.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SourceError {
    /// The POS could not be reached or failed for now (link down, timeout, 5xx, token):
    /// try again on the next cycle.
    #[error("POS unavailable: {0}")]
    Unavailable(String),
    /// The POS refused the query for good (permission, validation, bad answer): needs a person.
    #[error("POS refused the query: {0}")]
    Refused(String),
}

/// One page of a Since & Until walk.
#[derive(Debug, Clone, PartialEq)]
pub struct SincePage<T> {
    /// Rows changed since the `since` asked for, in modification order.
    pub items: Vec<T>,
    /// Opaque value to pass as the next `since` (never parsed).
    pub until: Option<String>,
    /// `false` once the walk has caught up for now.
    pub has_more: bool,
}

/// One page of a skip/first read.
#[derive(Debug, Clone, PartialEq)]
pub struct SkipPage<T> {
    /// The rows.
    pub items: Vec<T>,
    /// Whether more rows appear to exist.
    pub has_more: bool,
}

/// Catalog, inventory and locations, page by page. `first` is the page size asked for; a source
/// may return fewer rows.
#[async_trait]
pub trait CatalogSource: Send + Sync {
    /// `item(since:, first:)`.
    async fn items_since(&self, since: &str, first: u32) -> Result<SincePage<Item>, SourceError>;
    /// `itemWarehouse(since:, first:)`.
    async fn item_warehouses_since(
        &self,
        since: &str,
        first: u32,
    ) -> Result<SincePage<ItemWarehouse>, SourceError>;
    /// `itemSerialLot(since:, first:)`.
    async fn item_serial_lots_since(
        &self,
        since: &str,
        first: u32,
    ) -> Result<SincePage<ItemSerialLot>, SourceError>;
    /// `product(since:, first:)`.
    async fn products_since(
        &self,
        since: &str,
        first: u32,
    ) -> Result<SincePage<Product>, SourceError>;
    /// `productBanner(skip:, first:)`.
    async fn product_banners(
        &self,
        skip: u32,
        first: u32,
    ) -> Result<SkipPage<ProductBanner>, SourceError>;
    /// `productGroup(skip:, first:)`.
    async fn product_groups(
        &self,
        skip: u32,
        first: u32,
    ) -> Result<SkipPage<ProductGroup>, SourceError>;
    /// `productNotice(skip:, first:)`.
    async fn product_notices(
        &self,
        skip: u32,
        first: u32,
    ) -> Result<SkipPage<ProductNotice>, SourceError>;
    /// `productSection(skip:, first:)`.
    async fn product_sections(
        &self,
        skip: u32,
        first: u32,
    ) -> Result<SkipPage<ProductSection>, SourceError>;
    /// `productSortOption(skip:, first:)`.
    async fn product_sort_options(
        &self,
        skip: u32,
        first: u32,
    ) -> Result<SkipPage<ProductSortOption>, SourceError>;
    /// `location(skip:, first:)`.
    async fn locations(&self, skip: u32, first: u32) -> Result<SkipPage<Location>, SourceError>;
}

/// Filter for a technician's sale history (`sale` query).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SaleFilter {
    /// First day, inclusive.
    pub from_date: Option<chrono::NaiveDate>,
    /// Last day, exclusive (as the POS defines it).
    pub to_date: Option<chrono::NaiveDate>,
    /// Only this customer's sales.
    pub customer_id: Option<String>,
}

/// POS sales by date range and customer (permission `ViewSales`).
#[async_trait]
pub trait SalesSource: Send + Sync {
    /// `sale(fromDate:, toDate:, customerId:, skip:, first:)`.
    async fn sales(
        &self,
        filter: &SaleFilter,
        skip: u32,
        first: u32,
    ) -> Result<SkipPage<Sale>, SourceError>;
}
