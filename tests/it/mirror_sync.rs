//! Mirror sync against the in-memory fake source: full load, changes between pages, a crash
//! between pages, outages, small-catalog replacement, the schedule, lookups and SKU rules.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use lane_agent::mirror::fake::{FakeCatalog, FakeData, FakeFault, generated_item};
use lane_agent::mirror::sync::Entity;
use lane_agent::mirror::{
    AnswerSource, Mirror, MirrorOptions, OnlineOutcome, SkuWarning, SourceError, SyncOutcome,
    SyncSchedule, SyncStatus, UnknownSku, mirror_path, run_schedule, sync_once,
};
use pos_client::{
    Customer, ItemSerialLot, ItemWarehouse, Location, Product, ProductGroup, ProductNotice,
};
use rust_decimal::Decimal;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

const WAIT: Duration = Duration::from_secs(30);

async fn open(dir: &tempfile::TempDir) -> Mirror {
    let path = mirror_path(&dir.path().join("agent.db"));
    Mirror::open(MirrorOptions::new(path)).await.unwrap()
}

/// Every item and warehouse row of the source is in the mirror with the same values, and the
/// mirror has no other rows.
async fn assert_mirror_equals(m: &Mirror, src: &FakeData) {
    assert_eq!(
        m.row_count(Entity::Item).await.unwrap(),
        src.items.len() as u64
    );
    assert_eq!(
        m.row_count(Entity::ItemWarehouse).await.unwrap(),
        src.warehouses.len() as u64
    );
    for (sku, item) in src.items.values() {
        let got = m.item_by_sku(sku, "MAIN").await.unwrap().expect(sku).value;
        let w = item.warehouses.iter().find(|w| w.warehouse_code == "MAIN");
        assert_eq!(got.name, item.name, "{sku}");
        assert_eq!(got.base_price, w.and_then(|w| w.base_price), "{sku}");
        assert_eq!(
            got.quantity_available,
            w.and_then(|w| w.quantity_available),
            "{sku}"
        );
    }
}

fn caught_up(o: Option<&SyncOutcome>) -> bool {
    matches!(o, Some(SyncOutcome::CaughtUp { .. }))
}

#[tokio::test]
async fn thousands_of_items_changing_between_pages_are_neither_skipped_nor_repeated() {
    let dir = tempfile::tempdir().unwrap();
    let m = open(&dir).await;
    let src = FakeCatalog::with_items(3000);
    // After every item page, 60 items change (some already synced, some not yet): 3,000 rows
    // in 15 pages → about 900 changes during the first walk.
    let mut version = 0u32;
    src.set_after_page(move |e, page, d| {
        if e == Entity::Item && page <= 15 {
            version += 1;
            for k in 0..60 {
                let n = (page as u32 * 197 + k * 31) % 3000;
                d.upsert_item(generated_item(n, version));
            }
        }
    });
    let r = sync_once(&m, &src, 200, None).await.unwrap();
    assert!(r.all_caught_up(), "{r:?}");
    assert!(m.is_complete(Entity::Item).await.unwrap());
    // Every served row was applied exactly once, and the cursor is where the source stopped.
    let st = m.entity_state(Entity::Item).await.unwrap();
    assert_eq!(st.rows, src.served_rows(Entity::Item));
    assert!(st.rows > 3000, "changed rows were re-served: {}", st.rows);

    // Changes made after the walk caught up arrive with the next incremental pass only.
    src.clear_after_page();
    let before = src.requests().len();
    let r = sync_once(&m, &src, 200, None).await.unwrap();
    assert!(r.all_caught_up());
    let item_reqs: Vec<_> = src.requests()[before..]
        .iter()
        .filter(|(e, _)| *e == Entity::Item)
        .cloned()
        .collect();
    assert_eq!(
        item_reqs[0].1,
        st.until.clone().unwrap(),
        "resumes at the stored until"
    );
    assert_mirror_equals(&m, &src.snapshot()).await;
}

#[tokio::test]
async fn a_crash_between_pages_resumes_after_the_last_applied_page() {
    let dir = tempfile::tempdir().unwrap();
    let src = FakeCatalog::with_items(2000);
    src.set_after_page(|e, page, d| {
        if e == Entity::Item {
            for k in 0..40u32 {
                d.upsert_item(generated_item(
                    (page as u32 * 53 + k * 7) % 2000,
                    page as u32,
                ));
            }
        }
    });
    // The 8th item request never answers: the process "dies" while waiting for it.
    src.fault_at(Entity::Item, 7, FakeFault::Hang);
    let m = open(&dir).await;
    let task = {
        let (m, src) = (m.clone(), src.clone());
        tokio::spawn(async move { sync_once(&m, &src, 100, None).await })
    };
    tokio::time::timeout(WAIT, src.wait_hung()).await.unwrap();
    task.abort();
    let _ = task.await;
    drop(m);

    let m = open(&dir).await;
    let st = m.entity_state(Entity::Item).await.unwrap();
    assert_eq!(st.pages, 7, "exactly the seven answered pages were applied");
    assert_eq!(st.rows, src.served_rows(Entity::Item));
    assert!(!st.complete);
    let stored_until = st.until.clone().unwrap();

    let before = src.requests().len();
    let r = sync_once(&m, &src, 100, None).await.unwrap();
    assert!(r.all_caught_up(), "{r:?}");
    let first_item_req = src.requests()[before..]
        .iter()
        .find(|(e, _)| *e == Entity::Item)
        .cloned()
        .unwrap();
    assert_eq!(
        first_item_req.1, stored_until,
        "the walk resumes exactly after page 7"
    );
    let st = m.entity_state(Entity::Item).await.unwrap();
    assert_eq!(
        st.rows,
        src.served_rows(Entity::Item),
        "no page applied twice"
    );
    src.clear_after_page();
    sync_once(&m, &src, 100, None).await.unwrap();
    assert_mirror_equals(&m, &src.snapshot()).await;
}

#[tokio::test]
async fn an_outage_mid_walk_keeps_applied_pages_and_skips_the_rest_of_the_pass() {
    let dir = tempfile::tempdir().unwrap();
    let m = open(&dir).await;
    let src = FakeCatalog::with_items(1000);
    src.fault_at(
        Entity::Item,
        3,
        FakeFault::Fail(SourceError::Unavailable("connection refused".into())),
    );
    let r = sync_once(&m, &src, 100, None).await.unwrap();
    assert!(matches!(
        r.outcome(Entity::Item),
        Some(SyncOutcome::Failed {
            pages: 3,
            rows: 300,
            error: SourceError::Unavailable(_)
        })
    ));
    assert_eq!(r.outcome(Entity::Location), Some(&SyncOutcome::Skipped));
    assert_eq!(m.row_count(Entity::Item).await.unwrap(), 300);
    assert!(!m.is_complete(Entity::Item).await.unwrap());

    let r = sync_once(&m, &src, 100, None).await.unwrap();
    assert!(r.all_caught_up());
    assert_eq!(m.entity_state(Entity::Item).await.unwrap().rows, 1000);
    assert_mirror_equals(&m, &src.snapshot()).await;
}

#[tokio::test]
async fn a_refused_entity_does_not_stop_the_others() {
    let dir = tempfile::tempdir().unwrap();
    let m = open(&dir).await;
    let src = FakeCatalog::with_items(10);
    src.fault_at(
        Entity::Product,
        0,
        FakeFault::Fail(SourceError::Refused("NOT_AUTHORIZED".into())),
    );
    src.edit(|d| d.locations.push(loc("DALLAS")));
    let r = sync_once(&m, &src, 100, None).await.unwrap();
    assert!(matches!(
        r.outcome(Entity::Product),
        Some(SyncOutcome::Failed { .. })
    ));
    assert!(caught_up(r.outcome(Entity::Location)));
    assert_eq!(m.row_count(Entity::Location).await.unwrap(), 1);
}

fn loc(code: &str) -> Location {
    Location {
        code: code.into(),
        name: Some(format!("{code} store")),
        email: None,
        phone: None,
    }
}

fn group(code: &str, name: &str) -> ProductGroup {
    ProductGroup {
        code: code.into(),
        name: Some(name.into()),
        display_order: Some(1),
        banner_code: None,
        section_codes: vec!["HOME".into()],
    }
}

#[tokio::test]
async fn small_catalogs_are_replaced_whole_or_not_at_all() {
    let dir = tempfile::tempdir().unwrap();
    let m = open(&dir).await;
    let src = FakeCatalog::default();
    src.edit(|d| {
        d.groups = (0..5).map(|i| group(&format!("G{i}"), "old")).collect();
        d.locations = vec![loc("DALLAS"), loc("AUSTIN")];
    });
    assert!(sync_once(&m, &src, 2, None).await.unwrap().all_caught_up());
    assert_eq!(m.row_count(Entity::ProductGroup).await.unwrap(), 5);
    assert!(m.is_complete(Entity::Location).await.unwrap());

    // Two groups deleted, the rest renamed; the second page fails: nothing changes.
    src.edit(|d| d.groups = (0..3).map(|i| group(&format!("G{i}"), "new")).collect());
    let n = src
        .requests()
        .iter()
        .filter(|(e, _)| *e == Entity::ProductGroup)
        .count() as u64;
    src.fault_at(
        Entity::ProductGroup,
        n + 1,
        FakeFault::Fail(SourceError::Unavailable("reset".into())),
    );
    let r = sync_once(&m, &src, 2, None).await.unwrap();
    assert!(matches!(
        r.outcome(Entity::ProductGroup),
        Some(SyncOutcome::Failed { .. })
    ));
    assert_eq!(m.row_count(Entity::ProductGroup).await.unwrap(), 5);

    assert!(sync_once(&m, &src, 2, None).await.unwrap().all_caught_up());
    assert_eq!(m.row_count(Entity::ProductGroup).await.unwrap(), 3);
}

#[tokio::test]
async fn warehouse_and_serial_lot_rows_follow_their_own_streams() {
    let dir = tempfile::tempdir().unwrap();
    let m = open(&dir).await;
    let src = FakeCatalog::with_items(50);
    src.edit(|d| {
        d.upsert_serial_lot(ItemSerialLot {
            sku: "SKU-000001".into(),
            warehouse_code: "MAIN".into(),
            serial_lot_number: "SN-1".into(),
            quantity_available: Some(Decimal::ONE),
        })
    });
    sync_once(&m, &src, 20, None).await.unwrap();
    assert_eq!(m.row_count(Entity::ItemSerialLot).await.unwrap(), 1);
    // A price change touches only the warehouse stream.
    src.edit(|d| {
        d.upsert_warehouse(ItemWarehouse {
            warehouse_code: "MAIN".into(),
            sku: "SKU-000007".into(),
            base_price: Some(Decimal::new(12345, 2)),
            quantity_available: Some(Decimal::from(3)),
        })
    });
    let items_before = m.entity_state(Entity::Item).await.unwrap().rows;
    sync_once(&m, &src, 20, None).await.unwrap();
    let v = m.item_by_sku("SKU-000007", "MAIN").await.unwrap().unwrap();
    assert_eq!(v.value.base_price, Some(Decimal::new(12345, 2)));
    assert_eq!(v.source, AnswerSource::Mirror);
    assert_eq!(
        m.entity_state(Entity::Item).await.unwrap().rows,
        items_before
    );
    assert_eq!(
        m.entity_state(Entity::ItemWarehouse).await.unwrap().rows,
        51
    );
}

#[tokio::test]
async fn products_come_with_their_groups_and_notices() {
    let dir = tempfile::tempdir().unwrap();
    let m = open(&dir).await;
    let src = FakeCatalog::default();
    src.edit(|d| {
        d.groups = vec![group("KITCHEN", "Kitchen")];
        d.notices = vec![ProductNotice {
            code: "FRAGILE".into(),
            text: Some("Handle with care.".into()),
        }];
        d.upsert_product(Product {
            sku: "1000001".into(),
            name: Some("Coffee Mug".into()),
            long_name: None,
            description: Some("A sturdy mug.".into()),
            base_price: Some(Decimal::new(999, 2)),
            group_codes: vec!["KITCHEN".into(), "GONE".into()],
            notice_codes: vec!["FRAGILE".into()],
        });
    });
    sync_once(&m, &src, 10, None).await.unwrap();
    let p = m.product_by_sku("1000001").await.unwrap().unwrap();
    assert_eq!(p.source, AnswerSource::Mirror);
    assert!(p.mirror_age_secs.is_some());
    assert_eq!(p.value.groups.len(), 2);
    assert_eq!(p.value.groups[0].name.as_deref(), Some("Kitchen"));
    assert_eq!(
        p.value.groups[1].name, None,
        "a group missing from the mirror is still listed"
    );
    assert_eq!(
        p.value.notices[0].text.as_deref(),
        Some("Handle with care.")
    );
    assert!(m.product_by_sku("nope").await.unwrap().is_none());
}

#[tokio::test]
async fn unknown_skus_are_warnings_while_loading_and_errors_once_complete() {
    let dir = tempfile::tempdir().unwrap();
    let m = open(&dir).await;
    let src = FakeCatalog::with_items(300);
    src.fault_at(
        Entity::Item,
        1,
        FakeFault::Fail(SourceError::Unavailable("down".into())),
    );
    sync_once(&m, &src, 100, None).await.unwrap();
    // SKU-000150 exists at the POS but is not loaded yet.
    let w = m.check_skus(&["SKU-000001", "SKU-000150"]).await.unwrap();
    assert_eq!(
        w,
        vec![SkuWarning::MirrorLoading {
            sku: "SKU-000150".into()
        }]
    );

    sync_once(&m, &src, 100, None).await.unwrap();
    assert_eq!(
        m.check_skus(&["SKU-000001", "SKU-000150"]).await.unwrap(),
        vec![]
    );
    assert_eq!(
        m.check_skus(&["SKU-000001", "BOGUS", "BOGUS", "ALSO-BAD"])
            .await,
        Err(UnknownSku {
            skus: vec!["ALSO-BAD".into(), "BOGUS".into()]
        })
    );
}

#[tokio::test]
async fn lookups_prefer_online_and_fall_back_to_the_mirror() {
    let dir = tempfile::tempdir().unwrap();
    let m = open(&dir).await;
    let src = FakeCatalog::with_items(5);
    sync_once(&m, &src, 10, None).await.unwrap();
    let mut online_item = generated_item(2, 9);
    online_item.name = Some("Fresh from the POS".into());
    let a = m
        .item_online_first("SKU-000002", "MAIN", OnlineOutcome::Found(online_item))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (a.source, a.value.name.as_deref()),
        (AnswerSource::Online, Some("Fresh from the POS"))
    );
    let a = m
        .item_online_first("SKU-000002", "MAIN", OnlineOutcome::Unavailable)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (a.source, a.value.name.as_deref()),
        (AnswerSource::Mirror, Some("Item 2 v0"))
    );
    assert!(a.mirror_age_secs.is_some());
    assert!(
        m.item_online_first("SKU-000002", "MAIN", OnlineOutcome::NotFound)
            .await
            .unwrap()
            .is_none()
    );
    // Another warehouse: the item is known, its price there is not.
    let other = m
        .item_by_sku("SKU-000002", "DALLAS")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(other.value.base_price, None);
}

#[tokio::test]
async fn members_are_cached_online_and_answered_offline_with_masked_names() {
    let dir = tempfile::tempdir().unwrap();
    let m = open(&dir).await;
    let cust = Customer {
        id: "00000000000000000001".into(),
        member_id: Some("000010049".into()),
        status: Some("Active".into()),
        full_name: Some("Dana Example".into()),
        email: None,
        phone: None,
    };
    assert!(
        m.member_online_first("000010049", OnlineOutcome::Unavailable)
            .await
            .unwrap()
            .is_none()
    );
    let a = m
        .member_online_first("000010049", OnlineOutcome::Found(cust))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(a.source, AnswerSource::Online);
    assert_eq!(a.value.name.as_deref(), Some("D*** E******"));
    drop(m);
    let m = open(&dir).await;
    let off = m
        .member_online_first("000010049", OnlineOutcome::Unavailable)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(off.source, AnswerSource::Mirror);
    assert_eq!(off.value.customer_id, "00000000000000000001");
    assert_eq!(off.value.name.as_deref(), Some("D*** E******"));
    // The POS saying "no such member" drops the cached entry.
    assert!(
        m.member_online_first("000010049", OnlineOutcome::NotFound)
            .await
            .unwrap()
            .is_none()
    );
    assert!(m.cached_member("000010049").await.unwrap().is_none());
}

#[tokio::test]
async fn the_mirror_file_uses_wal_and_normal_sync() {
    let dir = tempfile::tempdir().unwrap();
    let m = open(&dir).await;
    let p = m.pragmas().await.unwrap();
    assert_eq!(
        (p.journal_mode.as_str(), p.synchronous, p.user_version),
        ("wal", 1, 1)
    );
}

async fn wait_status(
    rx: &mut watch::Receiver<SyncStatus>,
    f: impl FnMut(&SyncStatus) -> bool,
) -> SyncStatus {
    tokio::time::timeout(WAIT, rx.wait_for(f))
        .await
        .unwrap()
        .unwrap()
        .clone()
}

#[tokio::test]
async fn the_schedule_pauses_offline_and_resumes_from_the_stored_until() {
    let dir = tempfile::tempdir().unwrap();
    let m = open(&dir).await;
    let src = FakeCatalog::with_items(500);
    let (online_tx, online_rx) = watch::channel(false);
    let (status_tx, mut status_rx) = watch::channel(SyncStatus::default());
    let stop = CancellationToken::new();
    let schedule = SyncSchedule {
        interval: Duration::from_millis(20),
        jitter: 0.2,
        page_size: 100,
    };
    // Going offline after the second item page.
    let tx = online_tx.clone();
    src.set_after_page(move |e, page, _| {
        if e == Entity::Item && page == 2 {
            tx.send_replace(false);
        }
    });
    let task = tokio::spawn(run_schedule(
        m.clone(),
        Arc::new(src.clone()),
        schedule,
        online_rx,
        status_tx,
        stop.clone(),
    ));
    wait_status(&mut status_rx, |s| s.paused).await;
    assert!(
        src.requests().is_empty(),
        "nothing is fetched while offline"
    );

    online_tx.send_replace(true);
    let s = wait_status(&mut status_rx, |s| s.passes >= 1 && s.paused).await;
    assert!(matches!(
        s.last.as_ref().unwrap().outcome(Entity::Item),
        Some(SyncOutcome::Paused { pages: 2, .. })
    ));
    assert_eq!(m.row_count(Entity::Item).await.unwrap(), 200);

    src.clear_after_page();
    online_tx.send_replace(true);
    let s = wait_status(&mut status_rx, |s| {
        s.last.as_ref().is_some_and(|r| r.all_caught_up())
    })
    .await;
    assert!(!s.paused);
    let item_sinces: Vec<String> = src
        .requests()
        .into_iter()
        .filter(|(e, _)| *e == Entity::Item)
        .map(|(_, s)| s)
        .collect();
    // Five pages: two before the pause, three after it, each `since` asked for once.
    let first_walk = &item_sinces[..5];
    let unique: BTreeSet<&String> = first_walk.iter().collect();
    assert_eq!(unique.len(), 5, "{first_walk:?}");
    assert_eq!(first_walk[0], "");
    assert_eq!(m.row_count(Entity::Item).await.unwrap(), 500);
    assert!(m.is_complete(Entity::Item).await.unwrap());
    stop.cancel();
    tokio::time::timeout(WAIT, task).await.unwrap().unwrap();
}

#[tokio::test]
async fn a_page_fetched_before_another_sync_moved_the_cursor_is_not_applied() {
    let dir = tempfile::tempdir().unwrap();
    let src = FakeCatalog::with_items(300);
    let gate = Arc::new(tokio::sync::Notify::new());
    src.fault_at(Entity::Item, 0, FakeFault::Gate(gate.clone()));
    // Two handles on one file, as two careless owners would have.
    let a = open(&dir).await;
    let b = open(&dir).await;
    let slow = {
        let (a, src) = (a.clone(), src.clone());
        tokio::spawn(async move { sync_once(&a, &src, 100, None).await })
    };
    tokio::time::timeout(WAIT, src.wait_hung()).await.unwrap();
    assert!(
        sync_once(&b, &src, 100, None)
            .await
            .unwrap()
            .all_caught_up()
    );
    let before = b.entity_state(Entity::Item).await.unwrap();
    // Some items change, then the stale first page (fetched from `since: ""`) arrives.
    src.edit(|d| d.upsert_item(generated_item(5, 1)));
    gate.notify_one();
    let r = tokio::time::timeout(WAIT, slow).await.unwrap().unwrap();
    assert!(
        matches!(
            r,
            Err(lane_agent::mirror::MirrorError::SyncConflict("item"))
        ),
        "{r:?}"
    );
    assert_eq!(
        b.entity_state(Entity::Item).await.unwrap(),
        before,
        "cursor untouched"
    );
}
