//! The POS client as a [`CatalogSource`], [`SalesSource`] and [`GiftcardEditor`].

use async_trait::async_trait;
use pos_client::{
    CodeQuery, ErrorClass, Giftcard, GiftcardEditRequest, InventoryQuery, Item, ItemSerialLot,
    ItemWarehouse, Location, Page, PosClient, PosError, Product, ProductBanner, ProductGroup,
    ProductNotice, ProductQuery, ProductSection, ProductSortOption, Sale, SaleQuery,
};

use super::giftcard::GiftcardEditor;
use super::source::{CatalogSource, SaleFilter, SalesSource, SincePage, SkipPage, SourceError};

impl From<PosError> for SourceError {
    fn from(e: PosError) -> Self {
        match e.class() {
            ErrorClass::NotSent | ErrorClass::Transient | ErrorClass::OutcomeUnknown => {
                SourceError::Unavailable(e.to_string())
            }
            _ => SourceError::Refused(e.to_string()),
        }
    }
}

fn since_page<T>(p: Page<T>) -> SincePage<T> {
    SincePage {
        items: p.results,
        until: p.until,
        has_more: p.has_more_results,
    }
}

fn skip_page<T>(p: Page<T>) -> SkipPage<T> {
    SkipPage {
        items: p.results,
        has_more: p.has_more_results,
    }
}

fn inventory(since: &str, first: u32) -> InventoryQuery {
    InventoryQuery {
        first: Some(i64::from(first)),
        since: Some(since.to_owned()),
        ..Default::default()
    }
}

fn codes(skip: u32, first: u32) -> CodeQuery {
    CodeQuery {
        code: None,
        skip: Some(i64::from(skip)),
        first: Some(i64::from(first)),
    }
}

#[async_trait]
impl CatalogSource for PosClient {
    async fn items_since(&self, since: &str, first: u32) -> Result<SincePage<Item>, SourceError> {
        Ok(since_page(self.item(&inventory(since, first)).await?))
    }

    async fn item_warehouses_since(
        &self,
        since: &str,
        first: u32,
    ) -> Result<SincePage<ItemWarehouse>, SourceError> {
        Ok(since_page(
            self.item_warehouse(&inventory(since, first)).await?,
        ))
    }

    async fn item_serial_lots_since(
        &self,
        since: &str,
        first: u32,
    ) -> Result<SincePage<ItemSerialLot>, SourceError> {
        Ok(since_page(
            self.item_serial_lot(&inventory(since, first)).await?,
        ))
    }

    async fn products_since(
        &self,
        since: &str,
        first: u32,
    ) -> Result<SincePage<Product>, SourceError> {
        let q = ProductQuery {
            first: Some(i64::from(first)),
            since: Some(since.to_owned()),
            ..Default::default()
        };
        Ok(since_page(self.product(&q).await?))
    }

    async fn product_banners(
        &self,
        skip: u32,
        first: u32,
    ) -> Result<SkipPage<ProductBanner>, SourceError> {
        Ok(skip_page(self.product_banner(&codes(skip, first)).await?))
    }

    async fn product_groups(
        &self,
        skip: u32,
        first: u32,
    ) -> Result<SkipPage<ProductGroup>, SourceError> {
        Ok(skip_page(self.product_group(&codes(skip, first)).await?))
    }

    async fn product_notices(
        &self,
        skip: u32,
        first: u32,
    ) -> Result<SkipPage<ProductNotice>, SourceError> {
        Ok(skip_page(self.product_notice(&codes(skip, first)).await?))
    }

    async fn product_sections(
        &self,
        skip: u32,
        first: u32,
    ) -> Result<SkipPage<ProductSection>, SourceError> {
        Ok(skip_page(self.product_section(&codes(skip, first)).await?))
    }

    async fn product_sort_options(
        &self,
        skip: u32,
        first: u32,
    ) -> Result<SkipPage<ProductSortOption>, SourceError> {
        Ok(skip_page(
            self.product_sort_option(&codes(skip, first)).await?,
        ))
    }

    async fn locations(&self, skip: u32, first: u32) -> Result<SkipPage<Location>, SourceError> {
        Ok(skip_page(self.location(&codes(skip, first)).await?))
    }
}

#[async_trait]
impl SalesSource for PosClient {
    async fn sales(
        &self,
        filter: &SaleFilter,
        skip: u32,
        first: u32,
    ) -> Result<SkipPage<Sale>, SourceError> {
        let q = SaleQuery {
            customer_id: filter.customer_id.clone(),
            from_date: filter.from_date.map(|d| d.format("%Y-%m-%d").to_string()),
            to_date: filter.to_date.map(|d| d.format("%Y-%m-%d").to_string()),
            skip: Some(i64::from(skip)),
            first: Some(i64::from(first)),
            ..Default::default()
        };
        Ok(skip_page(self.sale(&q).await?))
    }
}

#[async_trait]
impl GiftcardEditor for PosClient {
    async fn giftcard_edit(&self, req: &GiftcardEditRequest) -> Result<Giftcard, PosError> {
        PosClient::giftcard_edit(self, req).await
    }
}

/// Turns an online lookup's result into the input of the online-first decision: an answer is
/// found or not found; any error (link down, timeout, permission) lets the mirror answer.
pub fn online_outcome<T>(result: Result<Option<T>, PosError>) -> super::OnlineOutcome<T> {
    match result {
        Ok(Some(v)) => super::OnlineOutcome::Found(v),
        Ok(None) => super::OnlineOutcome::NotFound,
        Err(e) => {
            tracing::info!(error = %e, "POS lookup failed; answering from the mirror.");
            super::OnlineOutcome::Unavailable
        }
    }
}
