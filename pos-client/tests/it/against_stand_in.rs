//! The client against the POS stand-in (`hardware_sim::pos::PosSim`) over real HTTP on
//! loopback: every operation, each decline reason, capture/cancel semantics, since/until
//! paging, and each injected fault landing in the right error class.

use std::net::SocketAddr;
use std::time::Duration;

use hardware_sim::pos::{Fault, FaultKind, FaultTarget, PosSim, Seed, SeedItem, SeedItemWarehouse};
use pos_client::*;
use rust_decimal::Decimal;
use secrecy::SecretString;

fn dec(s: &str) -> Decimal {
    s.parse().unwrap()
}

fn any_port() -> SocketAddr {
    "127.0.0.1:0".parse().unwrap()
}

async fn start(seed: Seed) -> PosSim {
    PosSim::start(any_port(), seed).await.unwrap()
}

/// A client logged in as one of the seed's API clients.
fn client_as(sim: &PosSim, seed: &Seed, id: &str) -> PosClient {
    let c = seed
        .clients
        .iter()
        .find(|c| c.id == id)
        .expect("client in seed");
    PosClient::new(PosConfig {
        graphql_url: sim.graphql_url(),
        issuer_url: sim.issuer_url(),
        client_id: c.id.clone(),
        client_secret: SecretString::from(c.secret.clone()),
        request_timeout: Duration::from_secs(5),
        connect_timeout: Duration::from_secs(2),
        max_response_bytes: DEFAULT_MAX_RESPONSE_BYTES,
    })
    .unwrap()
}

async fn lane() -> (PosSim, PosClient) {
    let seed = Seed::example();
    let sim = start(seed.clone()).await;
    let client = client_as(&sim, &seed, "lane-agent");
    (sim, client)
}

fn fault(target: FaultTarget, kind: FaultKind, times: Option<u32>) -> Fault {
    Fault {
        target,
        kind,
        times,
    }
}

fn op(name: &str) -> FaultTarget {
    FaultTarget::Operation(name.to_owned())
}

fn trans(
    code: &str,
    pin: Option<&str>,
    tt: TransType,
    amount: &str,
    authorize: bool,
) -> GiftcardTransRequest {
    GiftcardTransRequest {
        code_type: Some(CodeType::Physical),
        code: GiftCode::new(code),
        pin: pin.map(|p| SecretString::from(p.to_owned())),
        trans_type: tt,
        amount: dec(amount),
        source_id: Some("LANE01".into()),
        ref_no: Some("LANE01-T".into()),
        authorize,
    }
}

fn purchase(txid: &str) -> PurchaseRequest {
    PurchaseRequest {
        transaction_id: txid.to_owned(),
        store_code: "DALLAS".into(),
        purchased_on: "2026-11-28T10:00:00".into(),
        pay_amount: dec("9.99"),
        sale_discount_amount: dec("0"),
        item_discount_amount: dec("0"),
        sub_total: dec("9.99"),
        refund_amount: dec("0"),
        tax_amount: dec("0"),
        line_items: vec![PurchaseLine {
            line_number: 1,
            sku: "1000001".into(),
            is_refund: false,
            unit_price: dec("9.99"),
            ext_price: dec("9.99"),
            item_discount_amount: dec("0"),
            sale_discount_amount: dec("0"),
            quantity: dec("1"),
            uom: "EA".into(),
        }],
        channel: None,
        member_id: Some("000010049".into()),
        order_type: None,
        pay_method: Some("GIFTCARD".into()),
        customer_id: None,
        email: None,
    }
}

#[tokio::test]
async fn every_query() {
    let seed = Seed::example();
    let sim = start(seed.clone()).await;
    let pos = client_as(&sim, &seed, "lane-agent");
    let admin = client_as(&sim, &seed, "admin");
    let reports = client_as(&sim, &seed, "reports");

    let env = pos.environment().await.unwrap();
    assert_eq!(env.name, seed.environment.name);

    let dana = pos
        .customer_by_member_id("000010049")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(dana.full_name.as_deref(), Some("Dana Example"));
    let page = pos
        .customer(&CustomerQuery {
            first: Some(2),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(page.results.len(), 2);

    let card = pos
        .giftcard_by_code("6006491000000001", Some(CodeType::Physical))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(card.balance, dec("50.00"));
    assert!(!format!("{card:?}").contains("6006491000000001"));
    let by_id = admin
        .giftcard(&GiftcardQuery {
            id: Some(card.id.clone()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(by_id.results[0].id, card.id);

    let items = pos
        .item(&InventoryQuery {
            sku: Some("1000002".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(items.results[0].warehouses.len(), 2);
    let wh = pos
        .item_warehouse(&InventoryQuery {
            warehouse_code: Some("DALLAS".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert!(wh.results.iter().all(|w| w.warehouse_code == "DALLAS") && !wh.results.is_empty());
    let lots = pos
        .item_serial_lot(&InventoryQuery::default())
        .await
        .unwrap();
    assert!(
        lots.results
            .iter()
            .any(|l| l.serial_lot_number == "SN-EM-0001")
    );

    let loc = pos
        .location(&CodeQuery {
            code: Some("DALLAS".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(loc.results[0].name.as_deref(), Some("Dallas Store"));
    let products = pos.product(&ProductQuery::default()).await.unwrap();
    assert_eq!(products.results.len(), seed.products.len());
    assert_eq!(
        pos.product_banner(&CodeQuery::default())
            .await
            .unwrap()
            .results
            .len(),
        seed.product_banners.len()
    );
    assert_eq!(
        pos.product_group(&CodeQuery::default())
            .await
            .unwrap()
            .results
            .len(),
        seed.product_groups.len()
    );
    assert_eq!(
        pos.product_notice(&CodeQuery::default())
            .await
            .unwrap()
            .results
            .len(),
        seed.product_notices.len()
    );
    assert_eq!(
        pos.product_section(&CodeQuery::default())
            .await
            .unwrap()
            .results
            .len(),
        seed.product_sections.len()
    );
    assert_eq!(
        pos.product_sort_option(&CodeQuery::default())
            .await
            .unwrap()
            .results
            .len(),
        seed.product_sort_options.len()
    );

    let sales = reports.sale(&SaleQuery::default()).await.unwrap();
    assert_eq!(sales.results.len(), seed.sales.len());
    // The lane's roles do not include ViewSales (pos-api.md §6).
    let err = pos.sale(&SaleQuery::default()).await.unwrap_err();
    assert!(matches!(err, PosError::NotAuthorized { .. }), "{err:?}");
    assert_eq!(err.class(), ErrorClass::Rejected);
}

#[tokio::test]
async fn create_fund_edit_and_spend_a_card() {
    let seed = Seed::example();
    let sim = start(seed.clone()).await;
    let pos = client_as(&sim, &seed, "lane-agent");
    let admin = client_as(&sim, &seed, "admin");

    let card = pos
        .giftcard_add(&GiftcardAddRequest {
            physical_code: Some(GiftCode::new("6006499999990001")),
            physical_pin: Some(SecretString::from("2468".to_owned())),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(card.balance, Decimal::ZERO);
    let fund = pos
        .giftcard_trans_add(&trans(
            "6006499999990001",
            Some("2468"),
            TransType::Add,
            "25.00",
            false,
        ))
        .await
        .unwrap();
    assert_eq!(
        (fund.status, fund.balance),
        (TransStatus::Completed, dec("25.00"))
    );

    let edited = admin
        .giftcard_edit(&GiftcardEditRequest {
            id: card.id.clone(),
            physical_code: Some(GiftCode::new("6006499999990002")),
            physical_pin: Some(SecretString::from("1357".to_owned())),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(edited.balance, dec("25.00"));
    let spend = pos
        .giftcard_trans_add(&trans(
            "6006499999990002",
            Some("1357"),
            TransType::Use,
            "-5.00",
            false,
        ))
        .await
        .unwrap();
    assert_eq!(spend.balance, dec("20.00"));
    assert_eq!(sim.control().ledger().balance(&card.id), Some(dec("20.00")));
    // The lane's client may not edit cards.
    let err = pos
        .giftcard_edit(&GiftcardEditRequest {
            id: card.id.clone(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert!(matches!(err, PosError::NotAuthorized { .. }), "{err:?}");
}

#[tokio::test]
async fn authorize_capture_is_idempotent_and_cancel_returns_funds() {
    let (sim, pos) = lane().await;
    let hold = pos
        .giftcard_trans_add(&trans(
            "6006491000000001",
            None,
            TransType::Use,
            "-6.49",
            true,
        ))
        .await
        .unwrap();
    assert_eq!(
        (hold.status, hold.balance, hold.amount),
        (TransStatus::Authorized, dec("43.51"), dec("-6.49"))
    );

    let cap = pos.giftcard_trans_capture(&hold.id, false).await.unwrap();
    assert_eq!(
        (cap.status, cap.balance),
        (TransStatus::Completed, dec("43.51"))
    );
    let again = pos.giftcard_trans_capture(&hold.id, false).await.unwrap();
    assert_eq!(
        again, cap,
        "capturing a COMPLETED transaction returns it unchanged"
    );
    let err = pos
        .giftcard_trans_capture(&hold.id, true)
        .await
        .unwrap_err();
    assert_eq!(
        err.decline_reason(),
        Some(&DeclineReason::TransactionNotAuthorized)
    );

    let hold2 = pos
        .giftcard_trans_add(&trans(
            "6006491000000001",
            None,
            TransType::Use,
            "-3.00",
            true,
        ))
        .await
        .unwrap();
    assert_eq!(hold2.balance, dec("40.51"));
    let cancelled = pos.giftcard_trans_capture(&hold2.id, true).await.unwrap();
    assert_eq!(
        (cancelled.status, cancelled.balance),
        (TransStatus::Cancelled, dec("43.51"))
    );
    let again = pos.giftcard_trans_capture(&hold2.id, true).await.unwrap();
    assert_eq!(again.status, TransStatus::Cancelled);
    let err = pos
        .giftcard_trans_capture(&hold2.id, false)
        .await
        .unwrap_err();
    assert_eq!(
        err.decline_reason(),
        Some(&DeclineReason::TransactionNotAuthorized)
    );

    let ledger = sim.control().ledger();
    assert_eq!(
        ledger.giftcard_transactions.len(),
        2,
        "retries created nothing new"
    );
    assert_eq!(ledger.balance("1001"), Some(dec("43.51")));
}

#[tokio::test]
async fn delay_period_auto_cancels_a_hold() {
    let seed = Seed::example();
    let sim = start(seed.clone()).await;
    let pos = client_as(&sim, &seed, "lane-agent");
    let hold = pos
        .giftcard_trans_add(&trans(
            "6006491000000001",
            None,
            TransType::Use,
            "-10.00",
            true,
        ))
        .await
        .unwrap();
    sim.control()
        .advance_clock(Duration::from_secs(seed.delay_period_secs + 1));
    let ledger = sim.control().ledger();
    let rec = ledger.transaction(&hold.id).unwrap();
    assert!(rec.auto_cancelled);
    assert_eq!(ledger.balance("1001"), Some(dec("50.00")));
    let err = pos
        .giftcard_trans_capture(&hold.id, false)
        .await
        .unwrap_err();
    assert_eq!(
        err.decline_reason(),
        Some(&DeclineReason::TransactionNotAuthorized)
    );
}

#[tokio::test]
async fn each_decline_reason() {
    let (sim, pos) = lane().await;
    let cases = [
        (
            trans("6006491000000004", None, TransType::Use, "-3.51", false),
            DeclineReason::InsufficientBalance,
        ),
        (
            trans("6006491000000003", None, TransType::Use, "-1", false),
            DeclineReason::CodeExpired,
        ),
        (
            trans("6006491999999999", None, TransType::Use, "-1", false),
            DeclineReason::CodeNotFound,
        ),
        (
            trans("6006491000000002", None, TransType::Use, "-1", false),
            DeclineReason::InvalidPin,
        ),
        (
            trans(
                "6006491000000002",
                Some("9999"),
                TransType::Use,
                "-1",
                false,
            ),
            DeclineReason::InvalidPin,
        ),
        (
            trans("6006491000000001", None, TransType::Use, "1", false),
            DeclineReason::AmountSign,
        ),
    ];
    for (req, reason) in cases {
        let err = pos.giftcard_trans_add(&req).await.unwrap_err();
        assert_eq!(err.decline_reason(), Some(&reason), "{err:?}");
        assert_eq!(err.class(), ErrorClass::Rejected);
        let shown = format!("{err} {err:?}");
        assert!(!shown.contains(req.code.expose()), "{shown}");
    }
    assert!(sim.control().ledger().giftcard_transactions.is_empty());
}

#[tokio::test]
async fn purchase_is_recorded_once() {
    let (sim, pos) = lane().await;
    let id = pos.purchase_add(&purchase("LANE01-000001")).await.unwrap();
    let ledger = sim.control().ledger();
    let recs = ledger.purchases_with("LANE01-000001");
    assert_eq!(recs.len(), 1);
    assert_eq!(recs[0].id, id.0);
    assert_eq!(recs[0].pay_amount, dec("9.99"));
}

#[tokio::test]
async fn since_until_walks_all_pages_and_resumes() {
    let mut seed = Seed::example();
    seed.generate_items = 23;
    let sim = start(seed.clone()).await;
    let pos = client_as(&sim, &seed, "lane-agent");
    let total = seed.all_items().len();

    let q = InventoryQuery {
        first: Some(5),
        ..Default::default()
    };
    let mut pager = pos.items_since(q.clone(), None);
    let mut seen = Vec::new();
    let mut pages = 0;
    let mut stored_until = String::new();
    while let Some(page) = pager.next_page().await.unwrap() {
        pages += 1;
        assert!(page.items.len() <= 5);
        seen.extend(page.items.into_iter().map(|i| i.sku));
        stored_until = page.until; // what the agent would persist
    }
    assert_eq!(seen.len(), total, "every item exactly once");
    seen.sort();
    seen.dedup();
    assert_eq!(seen.len(), total);
    assert!(pages >= total.div_ceil(5));

    // A change after catching up: a fresh pager from the stored `until` sees only it.
    sim.control().upsert_item(SeedItem {
        sku: "1000001".into(),
        name: Some("Coffee Mug v2".into()),
        long_name: None,
        sale_uom: Some("EA".into()),
        stock_uom: Some("EA".into()),
        warehouses: vec![SeedItemWarehouse {
            warehouse_code: "MAIN".into(),
            base_price: Some(dec("10.49")),
            quantity_available: Some(dec("40")),
        }],
        serial_lots: vec![],
    });
    let mut resumed = pos.items_since(q, Some(stored_until));
    let page = resumed.next_page().await.unwrap().unwrap();
    assert_eq!(page.items.len(), 1);
    assert_eq!(page.items[0].name.as_deref(), Some("Coffee Mug v2"));
    assert!(resumed.next_page().await.unwrap().is_none());

    // The other since-paged endpoints walk too.
    let mut n = 0;
    let mut p = pos.products_since(
        ProductQuery {
            first: Some(1),
            ..Default::default()
        },
        None,
    );
    while let Some(page) = p.next_page().await.unwrap() {
        n += page.items.len();
    }
    assert_eq!(n, seed.products.len());
    let mut p = pos.item_warehouses_since(
        InventoryQuery {
            first: Some(7),
            ..Default::default()
        },
        None,
    );
    let mut rows = 0;
    while let Some(page) = p.next_page().await.unwrap() {
        rows += page.items.len();
    }
    assert!(rows >= total);
    let mut p = pos.item_serial_lots_since(InventoryQuery::default(), None);
    assert!(!p.next_page().await.unwrap().unwrap().items.is_empty());
    let reports = client_as(&sim, &seed, "reports");
    let mut p = reports.sales_since(
        SaleQuery {
            first: Some(1),
            ..Default::default()
        },
        None,
    );
    let mut sales = 0;
    while let Some(page) = p.next_page().await.unwrap() {
        sales += page.items.len();
    }
    assert_eq!(sales, seed.sales.len());
}

#[tokio::test]
async fn offline_is_not_sent() {
    let (sim, pos) = lane().await;
    pos.environment().await.unwrap();
    sim.control().set_online(false).await;
    let err = pos.purchase_add(&purchase("LANE01-OFF")).await.unwrap_err();
    assert_eq!(err.class(), ErrorClass::NotSent, "{err:?}");
    sim.control().set_online(true).await;
    assert!(
        sim.control()
            .ledger()
            .purchases_with("LANE01-OFF")
            .is_empty()
    );
    pos.environment().await.unwrap();
}

#[tokio::test]
async fn refuse_before_handling_applies_nothing() {
    let (sim, pos) = lane().await;
    pos.environment().await.unwrap();
    sim.control()
        .inject(fault(op("purchaseAdd"), FaultKind::Refuse, Some(1)));
    let err = pos.purchase_add(&purchase("LANE01-REF")).await.unwrap_err();
    // The stand-in resets the connection after the request was written, which the client
    // cannot tell from a reset after a commit: it must answer "unknown", never "not sent".
    assert_eq!(err.class(), ErrorClass::OutcomeUnknown, "{err:?}");
    assert!(
        sim.control()
            .ledger()
            .purchases_with("LANE01-REF")
            .is_empty()
    );
}

#[tokio::test]
async fn apply_then_drop_is_outcome_unknown_and_applied() {
    let (sim, pos) = lane().await;
    sim.control()
        .inject(fault(op("purchaseAdd"), FaultKind::ApplyThenDrop, Some(1)));
    let err = pos.purchase_add(&purchase("LANE01-ATD")).await.unwrap_err();
    assert!(matches!(err, PosError::OutcomeUnknown { .. }), "{err:?}");
    assert_eq!(err.class(), ErrorClass::OutcomeUnknown);
    assert_eq!(sim.control().ledger().purchases_with("LANE01-ATD").len(), 1);
}

#[tokio::test]
async fn server_error_after_commit_is_outcome_unknown_for_mutations() {
    let (sim, pos) = lane().await;
    sim.control().inject(fault(
        op("purchaseAdd"),
        FaultKind::HttpStatus(500),
        Some(1),
    ));
    let err = pos.purchase_add(&purchase("LANE01-500")).await.unwrap_err();
    assert_eq!(err.class(), ErrorClass::OutcomeUnknown, "{err:?}");
    assert_eq!(sim.control().ledger().purchases_with("LANE01-500").len(), 1);

    sim.control().inject(fault(
        op("environment"),
        FaultKind::HttpStatus(503),
        Some(1),
    ));
    let err = pos.environment().await.unwrap_err();
    assert_eq!(err.class(), ErrorClass::Transient, "{err:?}");
    assert!(err.is_retryable());
}

#[tokio::test]
async fn fusion_error_is_unknown_for_mutations_and_retryable_for_queries() {
    let (sim, pos) = lane().await;
    sim.control().inject(fault(
        op("giftcardTransAdd"),
        FaultKind::FusionError,
        Some(1),
    ));
    let err = pos
        .giftcard_trans_add(&trans(
            "6006491000000001",
            None,
            TransType::Use,
            "-1.00",
            true,
        ))
        .await
        .unwrap_err();
    assert!(
        matches!(err, PosError::Fusion { mutation: true, .. }),
        "{err:?}"
    );
    assert_eq!(err.class(), ErrorClass::OutcomeUnknown);

    sim.control()
        .inject(fault(op("item"), FaultKind::FusionError, Some(1)));
    let err = pos.item(&InventoryQuery::default()).await.unwrap_err();
    assert_eq!(err.class(), ErrorClass::Transient);
    pos.item(&InventoryQuery::default()).await.unwrap();
}

#[tokio::test]
async fn not_authenticated_gets_one_refresh_and_one_retry() {
    let (sim, pos) = lane().await;
    pos.environment().await.unwrap();
    assert_eq!(sim.control().token_requests(), 1);
    sim.control().inject(fault(
        FaultTarget::Any,
        FaultKind::NotAuthenticated,
        Some(1),
    ));
    let id = pos.purchase_add(&purchase("LANE01-NA")).await.unwrap();
    assert_eq!(sim.control().token_requests(), 2);
    let ledger = sim.control().ledger();
    assert_eq!(ledger.purchases_with("LANE01-NA").len(), 1);
    assert_eq!(ledger.purchases_with("LANE01-NA")[0].id, id.0);

    sim.control().inject(fault(
        FaultTarget::Any,
        FaultKind::NotAuthenticated,
        Some(2),
    ));
    let err = pos.environment().await.unwrap_err();
    assert!(matches!(err, PosError::NotAuthenticated { .. }), "{err:?}");
    assert_eq!(
        sim.control().token_requests(),
        3,
        "exactly one more refresh"
    );
}

#[tokio::test]
async fn token_endpoint_faults() {
    let (sim, pos) = lane().await;
    sim.control().inject(fault(
        FaultTarget::Token,
        FaultKind::NotAuthenticated,
        Some(1),
    ));
    let err = pos.environment().await.unwrap_err();
    assert!(matches!(err, PosError::InvalidClient), "{err:?}");
    sim.control().inject(fault(
        FaultTarget::Token,
        FaultKind::HttpStatus(503),
        Some(1),
    ));
    let err = pos.environment().await.unwrap_err();
    assert_eq!(err.class(), ErrorClass::NotSent, "{err:?}");
    pos.environment().await.unwrap();
}

#[tokio::test]
async fn latency_beyond_the_timeout_is_outcome_unknown() {
    let seed = Seed::example();
    let sim = start(seed.clone()).await;
    let c = seed.clients.iter().find(|c| c.id == "lane-agent").unwrap();
    let pos = PosClient::new(PosConfig {
        graphql_url: sim.graphql_url(),
        issuer_url: sim.issuer_url(),
        client_id: c.id.clone(),
        client_secret: SecretString::from(c.secret.clone()),
        request_timeout: Duration::from_millis(500),
        connect_timeout: Duration::from_millis(500),
        max_response_bytes: DEFAULT_MAX_RESPONSE_BYTES,
    })
    .unwrap();
    pos.environment().await.unwrap();
    sim.control().inject(fault(
        op("purchaseAdd"),
        FaultKind::Latency(Duration::from_secs(3)),
        Some(1),
    ));
    let err = pos.purchase_add(&purchase("LANE01-LAT")).await.unwrap_err();
    assert_eq!(err.class(), ErrorClass::OutcomeUnknown, "{err:?}");
}
