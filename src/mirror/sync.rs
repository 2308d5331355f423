//! One sync pass over every mirrored entity.
//!
//! Since-capable entities walk from their stored `until`; each page is applied together with its
//! `until` in one transaction, which also checks that the stored `until` is still the `since`
//! the page was fetched with (so two walks on one mirror can never interleave pages). Small
//! catalogs are read whole and replace their table in one transaction.

use std::fmt;
use std::future::Future;
use std::pin::Pin;

use pos_client::{
    Item, ItemSerialLot, ItemWarehouse, Location, Product, ProductBanner, ProductGroup,
    ProductNotice, ProductSection, ProductSortOption,
};
use rusqlite::{Connection, OptionalExtension, params};
use rust_decimal::Decimal;
use tokio::sync::watch;

use super::db::now_secs;
use super::source::{CatalogSource, SincePage, SkipPage, SourceError};
use super::{Mirror, MirrorError};

/// A mirrored entity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Entity {
    /// `item` (since-capable).
    Item,
    /// `itemWarehouse` (since-capable).
    ItemWarehouse,
    /// `itemSerialLot` (since-capable).
    ItemSerialLot,
    /// `product` (since-capable).
    Product,
    /// `productBanner`.
    ProductBanner,
    /// `productGroup`.
    ProductGroup,
    /// `productNotice`.
    ProductNotice,
    /// `productSection`.
    ProductSection,
    /// `productSortOption`.
    ProductSortOption,
    /// `location`.
    Location,
}

impl Entity {
    /// Every entity, in sync order (items first: they gate SKU validation).
    pub const ALL: [Entity; 10] = [
        Entity::Item,
        Entity::ItemWarehouse,
        Entity::ItemSerialLot,
        Entity::Product,
        Entity::ProductBanner,
        Entity::ProductGroup,
        Entity::ProductNotice,
        Entity::ProductSection,
        Entity::ProductSortOption,
        Entity::Location,
    ];

    /// The GraphQL query name, also the key in `sync_state`.
    pub fn as_str(self) -> &'static str {
        match self {
            Entity::Item => "item",
            Entity::ItemWarehouse => "itemWarehouse",
            Entity::ItemSerialLot => "itemSerialLot",
            Entity::Product => "product",
            Entity::ProductBanner => "productBanner",
            Entity::ProductGroup => "productGroup",
            Entity::ProductNotice => "productNotice",
            Entity::ProductSection => "productSection",
            Entity::ProductSortOption => "productSortOption",
            Entity::Location => "location",
        }
    }

    /// Whether the POS offers Since & Until for it.
    pub fn has_since(self) -> bool {
        matches!(
            self,
            Entity::Item | Entity::ItemWarehouse | Entity::ItemSerialLot | Entity::Product
        )
    }
}

impl fmt::Display for Entity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An entity's sync bookkeeping.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntityState {
    /// Which entity.
    pub entity: Entity,
    /// The stored `until` (since-capable entities), the next walk's `since`.
    pub until: Option<String>,
    /// The first full load finished (`mirror_complete`).
    pub complete: bool,
    /// Pages applied so far (a replace counts as one).
    pub pages: u64,
    /// Rows applied so far.
    pub rows: u64,
    /// When the entity last caught up (Unix seconds).
    pub caught_up_at: Option<i64>,
}

/// How one entity's part of a pass ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SyncOutcome {
    /// Caught up (or replaced) after applying `pages` pages with `rows` rows.
    CaughtUp {
        /// Pages applied in this pass.
        pages: u64,
        /// Rows applied in this pass.
        rows: u64,
    },
    /// The link went offline; what was applied stays, the walk resumes from the stored `until`.
    Paused {
        /// Pages applied in this pass.
        pages: u64,
        /// Rows applied in this pass.
        rows: u64,
    },
    /// The source failed; what was applied stays.
    Failed {
        /// Pages applied in this pass.
        pages: u64,
        /// Rows applied in this pass.
        rows: u64,
        /// Why.
        error: SourceError,
    },
    /// Not attempted: an earlier entity found the POS unavailable or the link offline.
    Skipped,
}

/// What one pass did, per entity in sync order.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SyncReport {
    /// Per entity.
    pub entities: Vec<(Entity, SyncOutcome)>,
}

impl SyncReport {
    /// True when every entity caught up.
    pub fn all_caught_up(&self) -> bool {
        self.entities
            .iter()
            .all(|(_, o)| matches!(o, SyncOutcome::CaughtUp { .. }))
    }

    /// Rows applied in this pass, over all entities.
    pub fn rows(&self) -> u64 {
        self.entities
            .iter()
            .map(|(_, o)| match o {
                SyncOutcome::CaughtUp { rows, .. }
                | SyncOutcome::Paused { rows, .. }
                | SyncOutcome::Failed { rows, .. } => *rows,
                SyncOutcome::Skipped => 0,
            })
            .sum()
    }

    /// The outcome for one entity.
    pub fn outcome(&self, entity: Entity) -> Option<&SyncOutcome> {
        self.entities
            .iter()
            .find(|(e, _)| *e == entity)
            .map(|(_, o)| o)
    }
}

type Fetch<'a, T> = Pin<Box<dyn Future<Output = Result<T, SourceError>> + Send + 'a>>;

/// A row type walked with Since & Until.
trait SinceRow: Sized + Send + 'static {
    const ENTITY: Entity;
    fn fetch<'a>(
        src: &'a dyn CatalogSource,
        since: &'a str,
        first: u32,
    ) -> Fetch<'a, SincePage<Self>>;
    fn upsert(c: &Connection, rows: &[Self]) -> rusqlite::Result<()>;
}

/// A small catalog row type, replaced whole.
trait SmallRow: Sized + Send + 'static {
    const ENTITY: Entity;
    const TABLE: &'static str;
    fn fetch<'a>(src: &'a dyn CatalogSource, skip: u32, first: u32) -> Fetch<'a, SkipPage<Self>>;
    fn insert(c: &Connection, rows: &[Self]) -> rusqlite::Result<()>;
}

fn dec(d: &Option<Decimal>) -> Option<String> {
    d.map(|d| d.to_string())
}

fn json_list(v: &[String]) -> String {
    serde_json::Value::from(v.to_vec()).to_string()
}

fn upsert_warehouses(c: &Connection, rows: &[ItemWarehouse]) -> rusqlite::Result<()> {
    let mut st = c.prepare_cached(
        "INSERT INTO item_warehouse (sku, warehouse_code, base_price, quantity_available)
         VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (sku, warehouse_code) DO UPDATE SET
           base_price = excluded.base_price, quantity_available = excluded.quantity_available",
    )?;
    for w in rows {
        st.execute(params![
            w.sku,
            w.warehouse_code,
            dec(&w.base_price),
            dec(&w.quantity_available)
        ])?;
    }
    Ok(())
}

impl SinceRow for Item {
    const ENTITY: Entity = Entity::Item;
    fn fetch<'a>(
        src: &'a dyn CatalogSource,
        since: &'a str,
        first: u32,
    ) -> Fetch<'a, SincePage<Self>> {
        src.items_since(since, first)
    }
    fn upsert(c: &Connection, rows: &[Self]) -> rusqlite::Result<()> {
        let mut st = c.prepare_cached(
            "INSERT INTO item (sku, name, long_name, sale_uom, stock_uom) VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT (sku) DO UPDATE SET name = excluded.name, long_name = excluded.long_name,
               sale_uom = excluded.sale_uom, stock_uom = excluded.stock_uom",
        )?;
        for i in rows {
            st.execute(params![i.sku, i.name, i.long_name, i.sale_uom, i.stock_uom])?;
            // The item answer carries its warehouse rows as of now; taking them makes the
            // mirror useful as soon as the item walk is done.
            upsert_warehouses(c, &i.warehouses)?;
        }
        Ok(())
    }
}

impl SinceRow for ItemWarehouse {
    const ENTITY: Entity = Entity::ItemWarehouse;
    fn fetch<'a>(
        src: &'a dyn CatalogSource,
        since: &'a str,
        first: u32,
    ) -> Fetch<'a, SincePage<Self>> {
        src.item_warehouses_since(since, first)
    }
    fn upsert(c: &Connection, rows: &[Self]) -> rusqlite::Result<()> {
        upsert_warehouses(c, rows)
    }
}

impl SinceRow for ItemSerialLot {
    const ENTITY: Entity = Entity::ItemSerialLot;
    fn fetch<'a>(
        src: &'a dyn CatalogSource,
        since: &'a str,
        first: u32,
    ) -> Fetch<'a, SincePage<Self>> {
        src.item_serial_lots_since(since, first)
    }
    fn upsert(c: &Connection, rows: &[Self]) -> rusqlite::Result<()> {
        let mut st = c.prepare_cached(
            "INSERT INTO item_serial_lot (sku, warehouse_code, serial_lot_number, quantity_available)
             VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (sku, warehouse_code, serial_lot_number) DO UPDATE SET
               quantity_available = excluded.quantity_available",
        )?;
        for s in rows {
            st.execute(params![
                s.sku,
                s.warehouse_code,
                s.serial_lot_number,
                dec(&s.quantity_available)
            ])?;
        }
        Ok(())
    }
}

impl SinceRow for Product {
    const ENTITY: Entity = Entity::Product;
    fn fetch<'a>(
        src: &'a dyn CatalogSource,
        since: &'a str,
        first: u32,
    ) -> Fetch<'a, SincePage<Self>> {
        src.products_since(since, first)
    }
    fn upsert(c: &Connection, rows: &[Self]) -> rusqlite::Result<()> {
        let mut st = c.prepare_cached(
            "INSERT INTO product (sku, name, long_name, description, base_price, group_codes, notice_codes)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
             ON CONFLICT (sku) DO UPDATE SET name = excluded.name, long_name = excluded.long_name,
               description = excluded.description, base_price = excluded.base_price,
               group_codes = excluded.group_codes, notice_codes = excluded.notice_codes",
        )?;
        for p in rows {
            st.execute(params![
                p.sku,
                p.name,
                p.long_name,
                p.description,
                dec(&p.base_price),
                json_list(&p.group_codes),
                json_list(&p.notice_codes)
            ])?;
        }
        Ok(())
    }
}

macro_rules! small_row {
    ($ty:ty, $entity:expr, $table:literal, $method:ident, $sql:literal, |$r:ident| $params:expr) => {
        impl SmallRow for $ty {
            const ENTITY: Entity = $entity;
            const TABLE: &'static str = $table;
            fn fetch<'a>(
                src: &'a dyn CatalogSource,
                skip: u32,
                first: u32,
            ) -> Fetch<'a, SkipPage<Self>> {
                src.$method(skip, first)
            }
            fn insert(c: &Connection, rows: &[Self]) -> rusqlite::Result<()> {
                let mut st = c.prepare_cached($sql)?;
                for $r in rows {
                    st.execute($params)?;
                }
                Ok(())
            }
        }
    };
}

small_row!(
    ProductBanner,
    Entity::ProductBanner,
    "product_banner",
    product_banners,
    "INSERT OR REPLACE INTO product_banner (code, text, url) VALUES (?1, ?2, ?3)",
    |r| params![r.code, r.text, r.url]
);
small_row!(
    ProductGroup,
    Entity::ProductGroup,
    "product_group",
    product_groups,
    "INSERT OR REPLACE INTO product_group (code, name, display_order, banner_code, section_codes)
     VALUES (?1, ?2, ?3, ?4, ?5)",
    |r| params![
        r.code,
        r.name,
        r.display_order,
        r.banner_code,
        json_list(&r.section_codes)
    ]
);
small_row!(
    ProductNotice,
    Entity::ProductNotice,
    "product_notice",
    product_notices,
    "INSERT OR REPLACE INTO product_notice (code, text) VALUES (?1, ?2)",
    |r| params![r.code, r.text]
);
small_row!(
    ProductSection,
    Entity::ProductSection,
    "product_section",
    product_sections,
    "INSERT OR REPLACE INTO product_section (code, name, display_order, banner_code)
     VALUES (?1, ?2, ?3, ?4)",
    |r| params![r.code, r.name, r.display_order, r.banner_code]
);
small_row!(
    ProductSortOption,
    Entity::ProductSortOption,
    "product_sort_option",
    product_sort_options,
    "INSERT OR REPLACE INTO product_sort_option (code, name) VALUES (?1, ?2)",
    |r| params![r.code, r.name]
);
small_row!(
    Location,
    Entity::Location,
    "location",
    locations,
    "INSERT OR REPLACE INTO location (code, name, email, phone) VALUES (?1, ?2, ?3, ?4)",
    |r| params![r.code, r.name, r.email, r.phone]
);

/// Upper bound on pages of one small catalog, so a server that keeps saying "more" cannot hold
/// the pass (and its memory) forever.
const MAX_SMALL_PAGES: u32 = 1000;

pub(crate) fn read_state(c: &Connection, entity: Entity) -> Result<EntityState, MirrorError> {
    let row = c
        .prepare_cached(
            "SELECT until, complete, pages, rows, caught_up_at FROM sync_state WHERE entity = ?1",
        )?
        .query_row([entity.as_str()], |r| {
            Ok(EntityState {
                entity,
                until: r.get(0)?,
                complete: r.get::<_, i64>(1)? != 0,
                pages: r.get::<_, i64>(2)? as u64,
                rows: r.get::<_, i64>(3)? as u64,
                caught_up_at: r.get(4)?,
            })
        })
        .optional()?;
    Ok(row.unwrap_or(EntityState {
        entity,
        until: None,
        complete: false,
        pages: 0,
        rows: 0,
        caught_up_at: None,
    }))
}

fn record_page(
    c: &Connection,
    entity: Entity,
    until: Option<&str>,
    rows: usize,
    caught_up: bool,
) -> rusqlite::Result<()> {
    let at = caught_up.then(now_secs);
    c.prepare_cached(
        "INSERT INTO sync_state (entity, until, complete, pages, rows, caught_up_at)
         VALUES (?1, ?2, ?3, 1, ?4, ?5)
         ON CONFLICT (entity) DO UPDATE SET
           until = excluded.until,
           complete = MAX(complete, excluded.complete),
           pages = pages + 1,
           rows = rows + excluded.rows,
           caught_up_at = COALESCE(excluded.caught_up_at, caught_up_at)",
    )?
    .execute(params![
        entity.as_str(),
        until,
        i64::from(caught_up),
        rows as i64,
        at
    ])?;
    Ok(())
}

impl Mirror {
    /// The sync bookkeeping of one entity.
    pub async fn entity_state(&self, entity: Entity) -> Result<EntityState, MirrorError> {
        self.read(move |c| read_state(c, entity)).await
    }

    /// Rows of `entity` currently in the mirror.
    pub async fn row_count(&self, entity: Entity) -> Result<u64, MirrorError> {
        let table = match entity {
            Entity::Item => "item",
            Entity::ItemWarehouse => "item_warehouse",
            Entity::ItemSerialLot => "item_serial_lot",
            Entity::Product => "product",
            Entity::ProductBanner => "product_banner",
            Entity::ProductGroup => "product_group",
            Entity::ProductNotice => "product_notice",
            Entity::ProductSection => "product_section",
            Entity::ProductSortOption => "product_sort_option",
            Entity::Location => "location",
        };
        self.read(move |c| {
            let n: i64 = c.query_row(&format!("SELECT count(*) FROM {table}"), [], |r| r.get(0))?;
            Ok(n as u64)
        })
        .await
    }

    /// Whether the first full load of `entity` finished (`mirror_complete`).
    pub async fn is_complete(&self, entity: Entity) -> Result<bool, MirrorError> {
        Ok(self.entity_state(entity).await?.complete)
    }

    /// Applies one since page and its `until` atomically, if the stored `until` is still
    /// `since`.
    async fn apply_since_page<T: SinceRow>(
        &self,
        since: String,
        rows: Vec<T>,
        until: String,
        caught_up: bool,
    ) -> Result<(), MirrorError> {
        self.write(move |c| {
            let stored = read_state(c, T::ENTITY)?.until.unwrap_or_default();
            if stored != since {
                return Err(MirrorError::SyncConflict(T::ENTITY.as_str()));
            }
            T::upsert(c, &rows)?;
            record_page(c, T::ENTITY, Some(&until), rows.len(), caught_up)?;
            Ok(())
        })
        .await
    }

    async fn replace_small<T: SmallRow>(&self, rows: Vec<T>) -> Result<(), MirrorError> {
        self.write(move |c| {
            c.execute(&format!("DELETE FROM {}", T::TABLE), [])?;
            T::insert(c, &rows)?;
            record_page(c, T::ENTITY, None, rows.len(), true)?;
            Ok(())
        })
        .await
    }
}

fn offline(online: Option<&watch::Receiver<bool>>) -> bool {
    online.is_some_and(|rx| !*rx.borrow())
}

enum Walk {
    Done(SyncOutcome),
    /// Stop the pass: the POS or the link is gone.
    Stop(SyncOutcome),
}

async fn walk_since<T: SinceRow>(
    mirror: &Mirror,
    src: &dyn CatalogSource,
    page_size: u32,
    online: Option<&watch::Receiver<bool>>,
) -> Result<Walk, MirrorError> {
    let mut since = mirror
        .entity_state(T::ENTITY)
        .await?
        .until
        .unwrap_or_default();
    let (mut pages, mut rows) = (0u64, 0u64);
    loop {
        if offline(online) {
            return Ok(Walk::Stop(SyncOutcome::Paused { pages, rows }));
        }
        let page = match T::fetch(src, &since, page_size).await {
            Ok(p) => p,
            Err(error) => {
                let stop = matches!(error, SourceError::Unavailable(_));
                tracing::warn!(entity = %T::ENTITY, %error, pages, "Mirror page fetch failed.");
                let out = SyncOutcome::Failed { pages, rows, error };
                return Ok(if stop {
                    Walk::Stop(out)
                } else {
                    Walk::Done(out)
                });
            }
        };
        let until = match page.until {
            Some(u) => u,
            // Nothing changed and nothing more: the cursor stays.
            None if !page.has_more && page.items.is_empty() => since.clone(),
            None => {
                let error = SourceError::Refused(format!("{} page without `until`", T::ENTITY));
                return Ok(Walk::Done(SyncOutcome::Failed { pages, rows, error }));
            }
        };
        if page.has_more && page.items.is_empty() && until == since {
            let error = SourceError::Refused(format!("{} `until` did not advance", T::ENTITY));
            return Ok(Walk::Done(SyncOutcome::Failed { pages, rows, error }));
        }
        let n = page.items.len() as u64;
        let caught_up = !page.has_more;
        mirror
            .apply_since_page::<T>(since, page.items, until.clone(), caught_up)
            .await?;
        pages += 1;
        rows += n;
        since = until;
        if caught_up {
            return Ok(Walk::Done(SyncOutcome::CaughtUp { pages, rows }));
        }
    }
}

async fn replace_small<T: SmallRow>(
    mirror: &Mirror,
    src: &dyn CatalogSource,
    page_size: u32,
    online: Option<&watch::Receiver<bool>>,
) -> Result<Walk, MirrorError> {
    let mut all = Vec::new();
    for n in 0..MAX_SMALL_PAGES {
        if offline(online) {
            return Ok(Walk::Stop(SyncOutcome::Paused { pages: 0, rows: 0 }));
        }
        let skip = u32::try_from(all.len()).unwrap_or(u32::MAX);
        let page = match T::fetch(src, skip, page_size).await {
            Ok(p) => p,
            Err(error) => {
                let stop = matches!(error, SourceError::Unavailable(_));
                tracing::warn!(entity = %T::ENTITY, %error, "Mirror catalog fetch failed.");
                let out = SyncOutcome::Failed {
                    pages: 0,
                    rows: 0,
                    error,
                };
                return Ok(if stop {
                    Walk::Stop(out)
                } else {
                    Walk::Done(out)
                });
            }
        };
        let more = page.has_more && !page.items.is_empty();
        all.extend(page.items);
        if !more {
            let rows = all.len() as u64;
            mirror.replace_small::<T>(all).await?;
            return Ok(Walk::Done(SyncOutcome::CaughtUp { pages: 1, rows }));
        }
        tracing::debug!(entity = %T::ENTITY, page = n, "Mirror catalog page read.");
    }
    let error = SourceError::Refused(format!(
        "{} has more than {MAX_SMALL_PAGES} pages",
        T::ENTITY
    ));
    Ok(Walk::Done(SyncOutcome::Failed {
        pages: 0,
        rows: 0,
        error,
    }))
}

/// One pass over every entity, in [`Entity::ALL`] order. Stops early (the rest `Skipped`) when
/// the POS is unavailable or `online` says the link is down; an entity the POS refuses is
/// reported and the pass goes on. `Err` only for mirror-file failures; whatever was applied
/// before stays applied.
pub async fn sync_once(
    mirror: &Mirror,
    source: &dyn CatalogSource,
    page_size: u32,
    online: Option<&watch::Receiver<bool>>,
) -> Result<SyncReport, MirrorError> {
    let page_size = page_size.max(1);
    let mut report = SyncReport::default();
    let mut stopped = false;
    for entity in Entity::ALL {
        if stopped {
            report.entities.push((entity, SyncOutcome::Skipped));
            continue;
        }
        let (m, s, p, o) = (mirror, source, page_size, online);
        let walk = match entity {
            Entity::Item => walk_since::<Item>(m, s, p, o).await?,
            Entity::ItemWarehouse => walk_since::<ItemWarehouse>(m, s, p, o).await?,
            Entity::ItemSerialLot => walk_since::<ItemSerialLot>(m, s, p, o).await?,
            Entity::Product => walk_since::<Product>(m, s, p, o).await?,
            Entity::ProductBanner => replace_small::<ProductBanner>(m, s, p, o).await?,
            Entity::ProductGroup => replace_small::<ProductGroup>(m, s, p, o).await?,
            Entity::ProductNotice => replace_small::<ProductNotice>(m, s, p, o).await?,
            Entity::ProductSection => replace_small::<ProductSection>(m, s, p, o).await?,
            Entity::ProductSortOption => replace_small::<ProductSortOption>(m, s, p, o).await?,
            Entity::Location => replace_small::<Location>(m, s, p, o).await?,
        };
        let outcome = match walk {
            Walk::Done(o) => o,
            Walk::Stop(o) => {
                stopped = true;
                o
            }
        };
        report.entities.push((entity, outcome));
    }
    tracing::info!(
        rows = report.rows(),
        caught_up = report.all_caught_up(),
        "Mirror sync pass finished."
    );
    Ok(report)
}
