//! An in-memory [`CatalogSource`] with real Since & Until semantics (every change moves a row to
//! the end of the modification order), hooks that change data between pages, and faults. For
//! tests and the mirror benchmark; the agent never uses it.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, MutexGuard};

use async_trait::async_trait;
use pos_client::{
    Item, ItemSerialLot, ItemWarehouse, Location, Product, ProductBanner, ProductGroup,
    ProductNotice, ProductSection, ProductSortOption,
};

use super::source::{CatalogSource, SincePage, SkipPage, SourceError};
use super::sync::Entity;

/// A table ordered by key and by modification number.
#[derive(Debug, Clone)]
pub struct Versioned<K: Ord + Clone, V> {
    rows: BTreeMap<K, (u64, V)>,
    by_seq: BTreeMap<u64, K>,
}

impl<K: Ord + Clone, V: Clone> Default for Versioned<K, V> {
    fn default() -> Self {
        Versioned {
            rows: BTreeMap::new(),
            by_seq: BTreeMap::new(),
        }
    }
}

impl<K: Ord + Clone, V: Clone> Versioned<K, V> {
    fn upsert(&mut self, key: K, value: V, seq: u64) {
        if let Some((old, _)) = self.rows.insert(key.clone(), (seq, value)) {
            self.by_seq.remove(&old);
        }
        self.by_seq.insert(seq, key);
    }

    fn page(&self, since: u64, first: usize) -> (Vec<V>, Option<u64>, bool) {
        let mut it = self.by_seq.range(since + 1..);
        let mut out = Vec::new();
        let mut last = None;
        for (seq, k) in it.by_ref().take(first) {
            out.push(self.rows[k].1.clone());
            last = Some(*seq);
        }
        (out, last, it.next().is_some())
    }

    /// The current rows in key order.
    pub fn values(&self) -> impl Iterator<Item = (&K, &V)> {
        self.rows.iter().map(|(k, (_, v))| (k, v))
    }

    /// Number of rows.
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }
}

/// The fake POS's data.
#[derive(Debug, Clone, Default)]
pub struct FakeData {
    seq: u64,
    /// Items by SKU (with their warehouse rows as of now).
    pub items: Versioned<String, Item>,
    /// Warehouse rows by (SKU, warehouse).
    pub warehouses: Versioned<(String, String), ItemWarehouse>,
    /// Serial/lot rows by (SKU, warehouse, number).
    pub serial_lots: Versioned<(String, String, String), ItemSerialLot>,
    /// Products by SKU.
    pub products: Versioned<String, Product>,
    /// Banners.
    pub banners: Vec<ProductBanner>,
    /// Groups.
    pub groups: Vec<ProductGroup>,
    /// Notices.
    pub notices: Vec<ProductNotice>,
    /// Sections.
    pub sections: Vec<ProductSection>,
    /// Sort options.
    pub sort_options: Vec<ProductSortOption>,
    /// Locations.
    pub locations: Vec<Location>,
}

impl FakeData {
    fn next_seq(&mut self) -> u64 {
        self.seq += 1;
        self.seq
    }

    /// Inserts or changes an item and its warehouse rows; all move to the end.
    pub fn upsert_item(&mut self, item: Item) {
        for w in &item.warehouses {
            self.upsert_warehouse(w.clone());
        }
        let s = self.next_seq();
        self.items.upsert(item.sku.clone(), item, s);
    }

    /// Inserts or changes one warehouse row (the item's nested copy follows).
    pub fn upsert_warehouse(&mut self, w: ItemWarehouse) {
        let s = self.next_seq();
        if let Some((_, item)) = self.items.rows.get_mut(&w.sku) {
            match item
                .warehouses
                .iter_mut()
                .find(|x| x.warehouse_code == w.warehouse_code)
            {
                Some(x) => *x = w.clone(),
                None => item.warehouses.push(w.clone()),
            }
        }
        self.warehouses
            .upsert((w.sku.clone(), w.warehouse_code.clone()), w, s);
    }

    /// Inserts or changes a serial/lot row.
    pub fn upsert_serial_lot(&mut self, l: ItemSerialLot) {
        let s = self.next_seq();
        let key = (
            l.sku.clone(),
            l.warehouse_code.clone(),
            l.serial_lot_number.clone(),
        );
        self.serial_lots.upsert(key, l, s);
    }

    /// Inserts or changes a product.
    pub fn upsert_product(&mut self, p: Product) {
        let s = self.next_seq();
        self.products.upsert(p.sku.clone(), p, s);
    }
}

/// A fault to fire on a request.
#[derive(Debug, Clone)]
pub enum FakeFault {
    /// Answer with this error.
    Fail(SourceError),
    /// Never answer (the caller is dropped mid-walk, as in a crash).
    Hang,
    /// Answer only once the notify fires (its page is cut after the wait); [`FakeCatalog::wait_hung`]
    /// resolves when the request arrives.
    Gate(Arc<tokio::sync::Notify>),
}

type Hook = Box<dyn FnMut(Entity, u64, &mut FakeData) + Send>;

struct Inner {
    data: FakeData,
    /// Called after each since page is cut: (entity, pages served so far for it, data).
    after_page: Option<Hook>,
    /// Fault for the n-th request (0-based, per entity).
    faults: HashMap<(Entity, u64), FakeFault>,
    served: HashMap<Entity, u64>,
    served_rows: HashMap<Entity, u64>,
    requests: Vec<(Entity, String)>,
}

/// The fake source. Cheap to clone; clones share data.
#[derive(Clone)]
pub struct FakeCatalog {
    inner: Arc<Mutex<Inner>>,
    hung: Arc<tokio::sync::Notify>,
}

impl std::fmt::Debug for FakeCatalog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("FakeCatalog")
    }
}

impl Default for FakeCatalog {
    fn default() -> Self {
        Self::new(FakeData::default())
    }
}

fn encode(seq: u64) -> String {
    format!("fake-{seq:x}")
}

fn decode(since: &str) -> Result<u64, SourceError> {
    if since.is_empty() {
        return Ok(0);
    }
    since
        .strip_prefix("fake-")
        .and_then(|h| u64::from_str_radix(h, 16).ok())
        .ok_or_else(|| SourceError::Refused(format!("bad since {since:?}")))
}

/// A generated item `n` with one `MAIN` warehouse row: deterministic, for tests and benches.
pub fn generated_item(n: u32, version: u32) -> Item {
    let sku = format!("SKU-{n:06}");
    Item {
        sku: sku.clone(),
        name: Some(format!("Item {n} v{version}")),
        long_name: None,
        sale_uom: Some("EA".into()),
        stock_uom: Some("EA".into()),
        warehouses: vec![ItemWarehouse {
            warehouse_code: "MAIN".into(),
            sku,
            base_price: Some(rust_decimal::Decimal::new(
                i64::from(n % 10_000) + 99 + i64::from(version),
                2,
            )),
            quantity_available: Some(rust_decimal::Decimal::from(n % 50 + version)),
        }],
    }
}

impl FakeCatalog {
    /// A source serving `data`.
    pub fn new(data: FakeData) -> FakeCatalog {
        FakeCatalog {
            inner: Arc::new(Mutex::new(Inner {
                data,
                after_page: None,
                faults: HashMap::new(),
                served: HashMap::new(),
                served_rows: HashMap::new(),
                requests: Vec::new(),
            })),
            hung: Arc::new(tokio::sync::Notify::new()),
        }
    }

    /// A source with `n` generated items ([`generated_item`] version 0).
    pub fn with_items(n: u32) -> FakeCatalog {
        let mut d = FakeData::default();
        for i in 0..n {
            d.upsert_item(generated_item(i, 0));
        }
        Self::new(d)
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Changes the data.
    pub fn edit<T>(&self, f: impl FnOnce(&mut FakeData) -> T) -> T {
        f(&mut self.lock().data)
    }

    /// A copy of the data as it is now.
    pub fn snapshot(&self) -> FakeData {
        self.lock().data.clone()
    }

    /// Runs `hook` after every since page is cut (to change data between pages).
    pub fn set_after_page(&self, hook: impl FnMut(Entity, u64, &mut FakeData) + Send + 'static) {
        self.lock().after_page = Some(Box::new(hook));
    }

    /// Removes the between-pages hook.
    pub fn clear_after_page(&self) {
        self.lock().after_page = None;
    }

    /// Fires `fault` on the `nth` (0-based) request for `entity` (counting every request).
    pub fn fault_at(&self, entity: Entity, nth: u64, fault: FakeFault) {
        self.lock().faults.insert((entity, nth), fault);
    }

    /// Every request so far: (entity, since or skip).
    pub fn requests(&self) -> Vec<(Entity, String)> {
        self.lock().requests.clone()
    }

    /// Rows answered so far for `entity` (pages that were cut and returned).
    pub fn served_rows(&self, entity: Entity) -> u64 {
        self.lock().served_rows.get(&entity).copied().unwrap_or(0)
    }

    /// Resolves once a request has hit a [`FakeFault::Hang`].
    pub async fn wait_hung(&self) {
        self.hung.notified().await;
    }

    /// Counts the request, records it and returns its fault, if any.
    fn begin(&self, entity: Entity, arg: String) -> Option<FakeFault> {
        let mut g = self.lock();
        let n = g.served.entry(entity).or_insert(0);
        let nth = *n;
        *n += 1;
        g.requests.push((entity, arg));
        g.faults.remove(&(entity, nth))
    }

    async fn since<K: Ord + Clone, T: Clone + Send>(
        &self,
        entity: Entity,
        since: &str,
        first: u32,
        table: impl FnOnce(&FakeData) -> &Versioned<K, T>,
    ) -> Result<SincePage<T>, SourceError> {
        match self.begin(entity, since.to_owned()) {
            Some(FakeFault::Fail(e)) => return Err(e),
            Some(FakeFault::Hang) => {
                self.hung.notify_one();
                std::future::pending::<()>().await
            }
            Some(FakeFault::Gate(gate)) => {
                self.hung.notify_one();
                gate.notified().await
            }
            None => {}
        }
        let from = decode(since)?;
        let mut g = self.lock();
        let (items, last, has_more) = table(&g.data).page(from, first as usize);
        let until = encode(last.unwrap_or(from));
        let served = g.served.get(&entity).copied().unwrap_or(0);
        *g.served_rows.entry(entity).or_insert(0) += items.len() as u64;
        let inner = &mut *g;
        if let Some(h) = inner.after_page.as_mut() {
            h(entity, served, &mut inner.data);
        }
        Ok(SincePage {
            items,
            until: Some(until),
            has_more,
        })
    }

    async fn skip<T: Clone + Send>(
        &self,
        entity: Entity,
        skip: u32,
        first: u32,
        list: impl FnOnce(&FakeData) -> &Vec<T>,
    ) -> Result<SkipPage<T>, SourceError> {
        match self.begin(entity, skip.to_string()) {
            Some(FakeFault::Fail(e)) => return Err(e),
            Some(FakeFault::Hang) => {
                self.hung.notify_one();
                std::future::pending::<()>().await
            }
            Some(FakeFault::Gate(gate)) => {
                self.hung.notify_one();
                gate.notified().await
            }
            None => {}
        }
        let g = self.lock();
        let all = list(&g.data);
        let items: Vec<T> = all
            .iter()
            .skip(skip as usize)
            .take(first as usize)
            .cloned()
            .collect();
        let has_more = (skip as usize).saturating_add(items.len()) < all.len();
        let n = items.len() as u64;
        drop(g);
        *self.lock().served_rows.entry(entity).or_insert(0) += n;
        Ok(SkipPage { items, has_more })
    }
}

#[async_trait]
impl CatalogSource for FakeCatalog {
    async fn items_since(&self, since: &str, first: u32) -> Result<SincePage<Item>, SourceError> {
        self.since(Entity::Item, since, first, |d| &d.items).await
    }
    async fn item_warehouses_since(
        &self,
        since: &str,
        first: u32,
    ) -> Result<SincePage<ItemWarehouse>, SourceError> {
        self.since(Entity::ItemWarehouse, since, first, |d| &d.warehouses)
            .await
    }
    async fn item_serial_lots_since(
        &self,
        since: &str,
        first: u32,
    ) -> Result<SincePage<ItemSerialLot>, SourceError> {
        self.since(Entity::ItemSerialLot, since, first, |d| &d.serial_lots)
            .await
    }
    async fn products_since(
        &self,
        since: &str,
        first: u32,
    ) -> Result<SincePage<Product>, SourceError> {
        self.since(Entity::Product, since, first, |d| &d.products)
            .await
    }
    async fn product_banners(
        &self,
        skip: u32,
        first: u32,
    ) -> Result<SkipPage<ProductBanner>, SourceError> {
        self.skip(Entity::ProductBanner, skip, first, |d| &d.banners)
            .await
    }
    async fn product_groups(
        &self,
        skip: u32,
        first: u32,
    ) -> Result<SkipPage<ProductGroup>, SourceError> {
        self.skip(Entity::ProductGroup, skip, first, |d| &d.groups)
            .await
    }
    async fn product_notices(
        &self,
        skip: u32,
        first: u32,
    ) -> Result<SkipPage<ProductNotice>, SourceError> {
        self.skip(Entity::ProductNotice, skip, first, |d| &d.notices)
            .await
    }
    async fn product_sections(
        &self,
        skip: u32,
        first: u32,
    ) -> Result<SkipPage<ProductSection>, SourceError> {
        self.skip(Entity::ProductSection, skip, first, |d| &d.sections)
            .await
    }
    async fn product_sort_options(
        &self,
        skip: u32,
        first: u32,
    ) -> Result<SkipPage<ProductSortOption>, SourceError> {
        self.skip(Entity::ProductSortOption, skip, first, |d| &d.sort_options)
            .await
    }
    async fn locations(&self, skip: u32, first: u32) -> Result<SkipPage<Location>, SourceError> {
        self.skip(Entity::Location, skip, first, |d| &d.locations)
            .await
    }
}
