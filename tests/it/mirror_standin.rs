//! Mirror against the POS stand-in (`hardware_sim::pos::PosSim`) through the real POS client:
//! items changing between pages, an outage mid-walk, lookups online and offline, sale history
//! and gift-card code replacement.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Duration;

use async_trait::async_trait;
use chrono::NaiveDate;
use hardware_sim::pos::{PosSim, Seed, SeedItem, SimControl, generated_item};
use lane_agent::mirror::pos::online_outcome;
use lane_agent::mirror::source::SkipPage;
use lane_agent::mirror::sync::Entity;
use lane_agent::mirror::{
    AnswerSource, CatalogSource, GiftcardMaintenanceError, Mirror, MirrorOptions, SaleFilter,
    SincePage, SourceError, SyncOutcome, mirror_path, replace_physical_code, sales_history,
    sync_once,
};
use pos_client::{
    CodeType, GiftCode, InventoryQuery, Item, ItemSerialLot, ItemWarehouse, Location, PosClient,
    PosConfig, Product, ProductBanner, ProductGroup, ProductNotice, ProductQuery, ProductSection,
    ProductSortOption,
};
use rust_decimal::Decimal;
use secrecy::SecretString;

async fn sim(generate: u32) -> PosSim {
    let mut seed = Seed::example();
    seed.generate_items = generate;
    PosSim::start("127.0.0.1:0".parse().unwrap(), seed)
        .await
        .unwrap()
}

fn client(sim: &PosSim, id: &str, secret: &str) -> PosClient {
    PosClient::new(PosConfig {
        graphql_url: sim.graphql_url(),
        issuer_url: sim.issuer_url(),
        client_id: id.into(),
        client_secret: SecretString::from(secret.to_owned()),
        request_timeout: Duration::from_secs(10),
        connect_timeout: Duration::from_secs(2),
        max_response_bytes: pos_client::DEFAULT_MAX_RESPONSE_BYTES,
    })
    .unwrap()
}

fn lane_client(sim: &PosSim) -> PosClient {
    client(sim, "lane-agent", "lane-agent-sim-secret-0123456789")
}

async fn open(dir: &tempfile::TempDir) -> Mirror {
    Mirror::open(MirrorOptions::new(mirror_path(
        &dir.path().join("agent.db"),
    )))
    .await
    .unwrap()
}

/// The POS client, plus changes to the stand-in's items after every item page and an optional
/// outage after the n-th item page. Tracks what the stand-in holds for the final comparison.
struct Churning {
    pos: PosClient,
    ctl: SimControl,
    per_page: u32,
    offline_after: Option<u64>,
    state: Mutex<(u64, BTreeMap<String, SeedItem>)>,
}

impl Churning {
    fn new(pos: PosClient, ctl: SimControl, items: Vec<SeedItem>, per_page: u32) -> Churning {
        let expected = items.into_iter().map(|i| (i.sku.clone(), i)).collect();
        Churning {
            pos,
            ctl,
            per_page,
            offline_after: None,
            state: Mutex::new((0, expected)),
        }
    }

    fn expected(&self) -> BTreeMap<String, SeedItem> {
        self.state.lock().unwrap().1.clone()
    }
}

#[async_trait]
impl CatalogSource for Churning {
    async fn items_since(&self, since: &str, first: u32) -> Result<SincePage<Item>, SourceError> {
        let page = CatalogSource::items_since(&self.pos, since, first).await?;
        let (n, changes) = {
            let mut g = self.state.lock().unwrap();
            g.0 += 1;
            let n = g.0;
            let mut changes = Vec::new();
            for k in 0..self.per_page {
                // Generated items 1..=N; some already synced, some not yet.
                let idx = ((n as u32) * 389 + k * 97) % 3000 + 1;
                let mut item = generated_item(idx);
                item.name = Some(format!("Changed {idx} at page {n}"));
                item.warehouses[0].base_price =
                    Some(Decimal::new(i64::from(n as u32 * 100 + k), 2));
                g.1.insert(item.sku.clone(), item.clone());
                changes.push(item);
            }
            (n, changes)
        };
        for item in changes {
            self.ctl.upsert_item(item);
        }
        if self.offline_after == Some(n) {
            self.ctl.set_online(false).await;
        }
        Ok(page)
    }
    async fn item_warehouses_since(
        &self,
        s: &str,
        f: u32,
    ) -> Result<SincePage<ItemWarehouse>, SourceError> {
        CatalogSource::item_warehouses_since(&self.pos, s, f).await
    }
    async fn item_serial_lots_since(
        &self,
        s: &str,
        f: u32,
    ) -> Result<SincePage<ItemSerialLot>, SourceError> {
        CatalogSource::item_serial_lots_since(&self.pos, s, f).await
    }
    async fn products_since(&self, s: &str, f: u32) -> Result<SincePage<Product>, SourceError> {
        CatalogSource::products_since(&self.pos, s, f).await
    }
    async fn product_banners(
        &self,
        s: u32,
        f: u32,
    ) -> Result<SkipPage<ProductBanner>, SourceError> {
        self.pos.product_banners(s, f).await
    }
    async fn product_groups(&self, s: u32, f: u32) -> Result<SkipPage<ProductGroup>, SourceError> {
        self.pos.product_groups(s, f).await
    }
    async fn product_notices(
        &self,
        s: u32,
        f: u32,
    ) -> Result<SkipPage<ProductNotice>, SourceError> {
        self.pos.product_notices(s, f).await
    }
    async fn product_sections(
        &self,
        s: u32,
        f: u32,
    ) -> Result<SkipPage<ProductSection>, SourceError> {
        self.pos.product_sections(s, f).await
    }
    async fn product_sort_options(
        &self,
        s: u32,
        f: u32,
    ) -> Result<SkipPage<ProductSortOption>, SourceError> {
        self.pos.product_sort_options(s, f).await
    }
    async fn locations(&self, s: u32, f: u32) -> Result<SkipPage<Location>, SourceError> {
        self.pos.locations(s, f).await
    }
}

async fn assert_mirror_matches(m: &Mirror, expected: &BTreeMap<String, SeedItem>) {
    assert_eq!(
        m.row_count(Entity::Item).await.unwrap(),
        expected.len() as u64
    );
    for (sku, item) in expected {
        let v = m.item_by_sku(sku, "MAIN").await.unwrap().expect(sku).value;
        let w = item.warehouses.iter().find(|w| w.warehouse_code == "MAIN");
        assert_eq!(v.name, item.name, "{sku}");
        assert_eq!(v.base_price, w.and_then(|w| w.base_price), "{sku}");
        assert_eq!(
            v.quantity_available,
            w.and_then(|w| w.quantity_available),
            "{sku}"
        );
    }
}

#[tokio::test]
async fn items_changing_between_pages_at_the_stand_in_end_up_exactly_mirrored() {
    let sim = sim(3000).await;
    let seed_items = {
        let mut s = Seed::example();
        s.generate_items = 3000;
        s.all_items()
    };
    let src = Churning::new(lane_client(&sim), sim.control(), seed_items, 50);
    let dir = tempfile::tempdir().unwrap();
    let m = open(&dir).await;

    let r = sync_once(&m, &src, 250, None).await.unwrap();
    assert!(r.all_caught_up(), "{r:?}");
    assert!(m.is_complete(Entity::Item).await.unwrap());
    let first = m.entity_state(Entity::Item).await.unwrap();
    assert!(
        first.rows > 3004,
        "rows changed during the walk were served again: {}",
        first.rows
    );

    // Changes made after the last page are picked up incrementally; then nothing is left.
    let r = sync_once(&m, &src, 250, None).await.unwrap();
    assert!(r.all_caught_up());
    // The churn after the second pass's last page: exactly those 50 rows, then nothing.
    let src_quiet = Churning::new(lane_client(&sim), sim.control(), vec![], 0);
    let r = sync_once(&m, &src_quiet, 250, None).await.unwrap();
    assert_eq!(
        r.outcome(Entity::Item),
        Some(&SyncOutcome::CaughtUp { pages: 1, rows: 50 })
    );
    let r = sync_once(&m, &src_quiet, 250, None).await.unwrap();
    assert_eq!(
        r.outcome(Entity::Item),
        Some(&SyncOutcome::CaughtUp { pages: 1, rows: 0 }),
        "nothing left to fetch"
    );
    assert_mirror_matches(&m, &src.expected()).await;
    // The stand-in's catalog arrived too.
    assert_eq!(m.row_count(Entity::Location).await.unwrap(), 2);
    assert_eq!(m.row_count(Entity::ItemSerialLot).await.unwrap(), 2);
    assert_eq!(m.row_count(Entity::ProductSortOption).await.unwrap(), 2);
    sim.shutdown().await;
}

#[tokio::test]
async fn an_outage_mid_sync_stops_cleanly_and_resumes_from_the_persisted_until() {
    let sim = sim(3000).await;
    let seed_items = {
        let mut s = Seed::example();
        s.generate_items = 3000;
        s.all_items()
    };
    let mut src = Churning::new(lane_client(&sim), sim.control(), seed_items, 20);
    src.offline_after = Some(4);
    let dir = tempfile::tempdir().unwrap();
    let m = open(&dir).await;

    let r = sync_once(&m, &src, 250, None).await.unwrap();
    assert!(
        matches!(
            r.outcome(Entity::Item),
            Some(SyncOutcome::Failed {
                pages: 4,
                error: SourceError::Unavailable(_),
                ..
            })
        ),
        "{r:?}"
    );
    assert_eq!(r.outcome(Entity::Product), Some(&SyncOutcome::Skipped));
    let st = m.entity_state(Entity::Item).await.unwrap();
    assert_eq!((st.pages, st.rows, st.complete), (4, 1000, false));

    sim.control().set_online(true).await;
    let r = sync_once(&m, &src, 250, None).await.unwrap();
    assert!(r.all_caught_up(), "{r:?}");
    let src_quiet = Churning::new(lane_client(&sim), sim.control(), vec![], 0);
    sync_once(&m, &src_quiet, 250, None).await.unwrap();
    assert_mirror_matches(&m, &src.expected()).await;
    sim.shutdown().await;
}

#[tokio::test]
async fn lookups_answer_online_then_from_the_mirror_while_the_stand_in_is_down() {
    let sim = sim(0).await;
    let pos = lane_client(&sim);
    let dir = tempfile::tempdir().unwrap();
    let m = open(&dir).await;
    assert!(
        sync_once(&m, &pos, 100, None)
            .await
            .unwrap()
            .all_caught_up()
    );

    let item = |pos: &PosClient| {
        let pos = pos.clone();
        async move {
            let q = InventoryQuery {
                sku: Some("1000001".into()),
                ..Default::default()
            };
            online_outcome(pos.item(&q).await.map(|p| p.results.into_iter().next()))
        }
    };
    let product = |pos: &PosClient| {
        let pos = pos.clone();
        async move {
            let q = ProductQuery {
                sku: Some("1000001".into()),
                ..Default::default()
            };
            online_outcome(pos.product(&q).await.map(|p| p.results.into_iter().next()))
        }
    };
    let member = |pos: &PosClient| {
        let pos = pos.clone();
        async move { online_outcome(pos.customer_by_member_id("000010049").await) }
    };

    let on = m
        .item_online_first("1000001", "MAIN", item(&pos).await)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(on.source, AnswerSource::Online);
    let p_on = m
        .product_online_first("1000001", product(&pos).await)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(p_on.source, AnswerSource::Online);
    let mem_on = m
        .member_online_first("000010049", member(&pos).await)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(mem_on.source, AnswerSource::Online);

    sim.control().set_online(false).await;
    let off = m
        .item_online_first("1000001", "MAIN", item(&pos).await)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(off.source, AnswerSource::Mirror);
    assert_eq!(off.value, on.value, "the mirror gives the same view");
    assert_eq!(off.value.base_price, Some(Decimal::new(999, 2)));
    assert_eq!(off.value.quantity_available, Some(Decimal::from(42)));
    assert_eq!(off.value.uom.as_deref(), Some("EA"));

    let p_off = m
        .product_online_first("1000001", product(&pos).await)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(p_off.source, AnswerSource::Mirror);
    assert_eq!(p_off.value, p_on.value);
    assert_eq!(p_off.value.groups[0].name.as_deref(), Some("Kitchen"));
    assert_eq!(
        p_off.value.notices[0].text.as_deref(),
        Some("Handle with care.")
    );

    let mem_off = m
        .member_online_first("000010049", member(&pos).await)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(mem_off.source, AnswerSource::Mirror);
    assert_eq!(mem_off.value, mem_on.value);
    assert_eq!(mem_off.value.name.as_deref(), Some("D*** E******"));

    // SKU validation works offline: the mirror is complete, so an unknown SKU is refused.
    assert!(
        m.check_skus(&["1000001", "1000003"])
            .await
            .unwrap()
            .is_empty()
    );
    assert!(m.check_skus(&["NOPE"]).await.is_err());
    sim.shutdown().await;
}

#[tokio::test]
async fn sale_history_by_date_range_and_customer() {
    let sim = sim(0).await;
    let reports = client(&sim, "reports", "reports-sim-secret-0123456789");
    let d = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
    let all = SaleFilter {
        from_date: Some(d("2026-11-20")),
        to_date: Some(d("2026-11-22")),
        customer_id: None,
    };
    let h = sales_history(&reports, &all, 1, 100).await.unwrap();
    let ids: Vec<&str> = h.sales.iter().map(|s| s.id.as_str()).collect();
    assert_eq!((ids, h.truncated), (vec!["500001", "500002"], false));
    let first_day = SaleFilter {
        to_date: Some(d("2026-11-21")),
        ..all.clone()
    };
    assert_eq!(
        sales_history(&reports, &first_day, 10, 100)
            .await
            .unwrap()
            .sales
            .len(),
        1
    );
    let by_customer = SaleFilter {
        customer_id: Some("00000000000000000001".into()),
        ..all.clone()
    };
    let h = sales_history(&reports, &by_customer, 10, 100)
        .await
        .unwrap();
    assert_eq!(h.sales.len(), 1);
    assert_eq!(h.sales[0].id, "500001");
    let capped = sales_history(&reports, &all, 1, 1).await.unwrap();
    assert_eq!((capped.sales.len(), capped.truncated), (1, true));
    // The lane's own client lacks ViewSales: a clear refusal, not an outage.
    let lane = lane_client(&sim);
    assert!(matches!(
        sales_history(&lane, &all, 10, 100).await,
        Err(SourceError::Refused(_))
    ));
    sim.shutdown().await;
}

#[tokio::test]
async fn a_manager_replaces_a_lost_cards_physical_code_only_when_permitted() {
    let sim = sim(0).await;
    let admin = client(&sim, "admin", "admin-sim-secret-0123456789");
    let edits = || {
        sim.control()
            .ledger()
            .requests
            .iter()
            .filter(|r| r.operations.iter().any(|o| o == "giftcardEdit"))
            .count()
    };
    let refused = replace_physical_code(
        false,
        &admin,
        "1006",
        GiftCode::new("6006491000009999"),
        None,
    )
    .await;
    assert!(matches!(
        refused,
        Err(GiftcardMaintenanceError::NotPermitted)
    ));
    let bad = replace_physical_code(true, &admin, "1006", GiftCode::new("1 2"), None).await;
    assert!(matches!(bad, Err(GiftcardMaintenanceError::BadInput(_))));
    assert_eq!(edits(), 0, "nothing was sent");

    let card = replace_physical_code(
        true,
        &admin,
        "1006",
        GiftCode::new("6006491000009999"),
        Some(SecretString::from("4321".to_owned())),
    )
    .await
    .unwrap();
    assert_eq!(card.id, "1006");
    assert_eq!(edits(), 1);
    let found = admin
        .giftcard_by_code("6006491000009999", Some(CodeType::Physical))
        .await
        .unwrap();
    assert_eq!(found.map(|c| c.id).as_deref(), Some("1006"));
    let old = admin
        .giftcard_by_code("6006491000000006", Some(CodeType::Physical))
        .await;
    assert!(
        !matches!(old, Ok(Some(_))),
        "the old code no longer finds the card"
    );
    sim.shutdown().await;
}
