//! Read-only queries: environment, customers, inventory, locations, catalog, sales.

use async_graphql::{Context, Object, Result};

use super::types::*;
use super::{caller, state};
use crate::pos::db::{SerialLotRow, WarehouseRow};
use crate::pos::error::PosError;
use crate::pos::paging::{Page, decode_since, page, page_since};
use crate::pos::seed::{SeedItem, SeedProduct, SeedSale};

/// Queries other than `giftcard`.
#[derive(Default)]
pub struct CatalogQuery;

fn matches(filter: &Option<String>, value: &str) -> bool {
    filter.as_deref().is_none_or(|f| f == value)
}

fn matches_opt(filter: &Option<String>, value: &Option<String>) -> bool {
    filter.is_none() || filter == value
}

fn warehouse(row: &WarehouseRow) -> ItemWarehouse {
    ItemWarehouse {
        warehouse_code: row.row.warehouse_code.clone(),
        sku: row.sku.clone(),
        base_price: row.row.base_price.map(Dec),
        quantity_available: row.row.quantity_available.map(Dec),
    }
}

fn serial_lot(row: &SerialLotRow) -> ItemSerialLot {
    ItemSerialLot {
        sku: row.sku.clone(),
        warehouse_code: row.row.warehouse_code.clone(),
        serial_lot_number: row.row.serial_lot_number.clone(),
        quantity_available: row.row.quantity_available.map(Dec),
    }
}

fn product(p: &SeedProduct) -> Product {
    Product {
        sku: p.sku.clone(),
        name: p.name.clone(),
        long_name: p.long_name.clone(),
        description: p.description.clone(),
        base_price: p.base_price.map(Dec),
        group_codes: p.group_codes.clone(),
        notice_codes: p.notice_codes.clone(),
    }
}

fn sale(s: &SeedSale) -> Sale {
    Sale {
        id: s.id.clone(),
        register_code: s.register_code.clone(),
        tran_no: s.tran_no.clone(),
        customer_id: s.customer_id.clone(),
        sale_date: s.sale_date.clone(),
    }
}

fn check_date(value: &Option<String>, property: &'static str) -> Result<(), PosError> {
    match value {
        Some(d) if chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d").is_err() => Err(
            PosError::validation("DateValidator", property, "dates are YYYY-MM-DD"),
        ),
        _ => Ok(()),
    }
}

/// Runs skip/first or, with `since`, Since & Until.
fn paged<K: Ord + Clone, V, T>(
    table: &crate::pos::paging::Versioned<K, V>,
    since: Option<&str>,
    skip: Option<i32>,
    first: Option<i32>,
    keep: impl Fn(&V) -> bool,
    map: impl Fn(&V) -> T,
) -> Result<Page<T>, PosError> {
    match since {
        Some(since) => {
            let since = decode_since(since)?;
            page_since(
                table
                    .changed_after(since)
                    .filter(|(_, _, v)| keep(v))
                    .map(|(seq, _, v)| (seq, map(v))),
                since,
                skip,
                first,
            )
        }
        None => page(
            table.by_key().filter(|(_, v)| keep(v)).map(|(_, v)| map(v)),
            skip,
            first,
        ),
    }
}

#[Object]
impl CatalogQuery {
    /// PINNED shape: a cheap read-only call, used as the link probe.
    async fn environment(&self, ctx: &Context<'_>) -> Result<Option<Environment>> {
        let env = &state(ctx).environment;
        Ok(Some(Environment {
            name: env.name.clone(),
            version: env.version.clone(),
        }))
    }

    async fn customer(
        &self,
        ctx: &Context<'_>,
        id: Option<String>,
        member_id: Option<String>,
        skip: Option<i32>,
        first: Option<i32>,
    ) -> Result<Option<CustomerResults>> {
        caller(ctx).require("ViewCustomers")?;
        let db = state(ctx).db();
        let rows = db
            .customers
            .iter()
            .filter(|c| matches(&id, &c.id) && matches_opt(&member_id, &c.member_id))
            .map(|c| Customer {
                id: c.id.clone(),
                member_id: c.member_id.clone(),
                status: c.status.clone(),
                full_name: c.full_name.clone(),
                email: c.email.clone(),
                phone: c.phone.as_ref().map(|raw| Phone {
                    raw: Some(raw.clone()),
                    normalized: Some(raw.chars().filter(char::is_ascii_digit).collect()),
                }),
            });
        let p = page(rows, skip, first)?;
        Ok(Some(CustomerResults {
            has_more_results: p.has_more,
            limited_by_permission: false,
            results: p.results,
        }))
    }

    /// Inventory. With `since`, results are ordered by modification date (see Since & Until).
    async fn item(
        &self,
        ctx: &Context<'_>,
        sku: Option<String>,
        warehouse_code: Option<String>,
        skip: Option<i32>,
        first: Option<i32>,
        since: Option<String>,
    ) -> Result<Option<ItemResults>> {
        caller(ctx).require("ViewInventory")?;
        let db = state(ctx).db();
        let rows_of = |item: &SeedItem| -> Vec<ItemWarehouse> {
            db.warehouses_of(&item.sku)
                .iter()
                .filter(|w| matches(&warehouse_code, &w.row.warehouse_code))
                .map(warehouse)
                .collect()
        };
        let p = paged(
            &db.items,
            since.as_deref(),
            skip,
            first,
            |item| {
                matches(&sku, &item.sku) && (warehouse_code.is_none() || !rows_of(item).is_empty())
            },
            |item| Item {
                sku: item.sku.clone(),
                name: item.name.clone(),
                long_name: item.long_name.clone(),
                sale_uom: item.sale_uom.clone(),
                stock_uom: item.stock_uom.clone(),
                warehouses: rows_of(item),
            },
        )?;
        Ok(Some(ItemResults {
            has_more_results: p.has_more,
            until: p.until,
            results: p.results,
        }))
    }

    async fn item_warehouse(
        &self,
        ctx: &Context<'_>,
        sku: Option<String>,
        warehouse_code: Option<String>,
        skip: Option<i32>,
        first: Option<i32>,
        since: Option<String>,
    ) -> Result<Option<ItemWarehouseResults>> {
        caller(ctx).require("ViewInventory")?;
        let db = state(ctx).db();
        let p = paged(
            &db.warehouses,
            since.as_deref(),
            skip,
            first,
            |w| matches(&sku, &w.sku) && matches(&warehouse_code, &w.row.warehouse_code),
            warehouse,
        )?;
        Ok(Some(ItemWarehouseResults {
            has_more_results: p.has_more,
            until: p.until,
            results: p.results,
        }))
    }

    async fn item_serial_lot(
        &self,
        ctx: &Context<'_>,
        sku: Option<String>,
        warehouse_code: Option<String>,
        skip: Option<i32>,
        first: Option<i32>,
        since: Option<String>,
    ) -> Result<Option<ItemSerialLotResults>> {
        caller(ctx).require("ViewInventory")?;
        let db = state(ctx).db();
        let p = paged(
            &db.serial_lots,
            since.as_deref(),
            skip,
            first,
            |l| matches(&sku, &l.sku) && matches(&warehouse_code, &l.row.warehouse_code),
            serial_lot,
        )?;
        Ok(Some(ItemSerialLotResults {
            has_more_results: p.has_more,
            until: p.until,
            results: p.results,
        }))
    }

    async fn location(
        &self,
        ctx: &Context<'_>,
        code: Option<String>,
        skip: Option<i32>,
        first: Option<i32>,
    ) -> Result<Option<LocationResults>> {
        let db = state(ctx).db();
        let rows = db
            .locations
            .iter()
            .filter(|l| matches(&code, &l.code))
            .map(|l| Location {
                code: l.code.clone(),
                name: l.name.clone(),
                email: l.email.clone(),
                phone: l.phone.clone(),
            });
        let p = page(rows, skip, first)?;
        Ok(Some(LocationResults {
            has_more_results: p.has_more,
            results: p.results,
        }))
    }

    async fn product(
        &self,
        ctx: &Context<'_>,
        sku: Option<String>,
        skip: Option<i32>,
        first: Option<i32>,
        since: Option<String>,
    ) -> Result<Option<ProductResults>> {
        let db = state(ctx).db();
        let p = paged(
            &db.products,
            since.as_deref(),
            skip,
            first,
            |p| matches(&sku, &p.sku),
            product,
        )?;
        Ok(Some(ProductResults {
            has_more_results: p.has_more,
            until: p.until,
            results: p.results,
        }))
    }

    async fn product_banner(
        &self,
        ctx: &Context<'_>,
        code: Option<String>,
        skip: Option<i32>,
        first: Option<i32>,
    ) -> Result<Option<ProductBannerResults>> {
        let db = state(ctx).db();
        let rows = db
            .product_banners
            .iter()
            .filter(|b| matches(&code, &b.code))
            .map(|b| ProductBanner {
                code: b.code.clone(),
                text: b.text.clone(),
                url: b.url.clone(),
            });
        let p = page(rows, skip, first)?;
        Ok(Some(ProductBannerResults {
            has_more_results: p.has_more,
            results: p.results,
        }))
    }

    async fn product_group(
        &self,
        ctx: &Context<'_>,
        code: Option<String>,
        skip: Option<i32>,
        first: Option<i32>,
    ) -> Result<Option<ProductGroupResults>> {
        let db = state(ctx).db();
        let rows = db
            .product_groups
            .iter()
            .filter(|g| matches(&code, &g.code))
            .map(|g| ProductGroup {
                code: g.code.clone(),
                name: g.name.clone(),
                display_order: g.display_order,
                banner_code: g.banner_code.clone(),
                section_codes: g.section_codes.clone(),
            });
        let p = page(rows, skip, first)?;
        Ok(Some(ProductGroupResults {
            has_more_results: p.has_more,
            results: p.results,
        }))
    }

    async fn product_notice(
        &self,
        ctx: &Context<'_>,
        code: Option<String>,
        skip: Option<i32>,
        first: Option<i32>,
    ) -> Result<Option<ProductNoticeResults>> {
        let db = state(ctx).db();
        let rows = db
            .product_notices
            .iter()
            .filter(|n| matches(&code, &n.code))
            .map(|n| ProductNotice {
                code: n.code.clone(),
                text: n.text.clone(),
            });
        let p = page(rows, skip, first)?;
        Ok(Some(ProductNoticeResults {
            has_more_results: p.has_more,
            results: p.results,
        }))
    }

    async fn product_section(
        &self,
        ctx: &Context<'_>,
        code: Option<String>,
        skip: Option<i32>,
        first: Option<i32>,
    ) -> Result<Option<ProductSectionResults>> {
        let db = state(ctx).db();
        let rows = db
            .product_sections
            .iter()
            .filter(|s| matches(&code, &s.code))
            .map(|s| ProductSection {
                code: s.code.clone(),
                name: s.name.clone(),
                display_order: s.display_order,
                banner_code: s.banner_code.clone(),
            });
        let p = page(rows, skip, first)?;
        Ok(Some(ProductSectionResults {
            has_more_results: p.has_more,
            results: p.results,
        }))
    }

    async fn product_sort_option(
        &self,
        ctx: &Context<'_>,
        skip: Option<i32>,
        first: Option<i32>,
    ) -> Result<Option<ProductSortOptionResults>> {
        let db = state(ctx).db();
        let rows = db.product_sort_options.iter().map(|o| ProductSortOption {
            code: o.code.clone(),
            name: o.name.clone(),
        });
        let p = page(rows, skip, first)?;
        Ok(Some(ProductSortOptionResults {
            has_more_results: p.has_more,
            results: p.results,
        }))
    }

    /// fromDate is inclusive, toDate exclusive (DOCUMENTED), both YYYY-MM-DD.
    #[allow(clippy::too_many_arguments)]
    async fn sale(
        &self,
        ctx: &Context<'_>,
        id: Option<String>,
        customer_id: Option<String>,
        from_date: Option<String>,
        to_date: Option<String>,
        skip: Option<i32>,
        first: Option<i32>,
        since: Option<String>,
    ) -> Result<Option<SaleResults>> {
        caller(ctx).require("ViewSales")?;
        check_date(&from_date, "FromDate")?;
        check_date(&to_date, "ToDate")?;
        let db = state(ctx).db();
        let in_range = |s: &SeedSale| {
            let day = s.sale_date.as_deref().map(|d| d.get(..10).unwrap_or(d));
            let after = from_date
                .as_deref()
                .is_none_or(|f| day.is_some_and(|d| d >= f));
            let before = to_date
                .as_deref()
                .is_none_or(|t| day.is_some_and(|d| d < t));
            after && before
        };
        let p = paged(
            &db.sales,
            since.as_deref(),
            skip,
            first,
            |s| matches(&id, &s.id) && matches_opt(&customer_id, &s.customer_id) && in_range(s),
            sale,
        )?;
        Ok(Some(SaleResults {
            has_more_results: p.has_more,
            until: p.until,
            results: p.results,
        }))
    }
}
