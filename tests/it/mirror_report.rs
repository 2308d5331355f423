//! The daily reconciliation report over a real journal (the store's SQLite file, written
//! through the store's own public API).

use chrono::NaiveDate;
use lane_agent::mirror::{JournalReader, ReconciliationReport};
use lane_agent::store::outbox::{self, NewItem};
use lane_agent::store::payments::{self, Method, NewPayment, PaymentUpdate};
use lane_agent::store::sales::{self, LineInput, NewSale};
use lane_agent::store::{
    Money, OutboxKind, OutboxState, PaymentState, SaleState, Store, StoreOptions,
};
use rust_decimal::Decimal;

fn money(cents: i64) -> Money {
    Money(Decimal::new(cents, 2))
}

struct Spec {
    id: &'static str,
    day: &'static str,
    price: i64,
    sale_path: &'static [SaleState],
    payment: Option<(Method, &'static [PaymentState])>,
    purchase_path: &'static [OutboxState],
}

async fn record(store: &Store, s: Spec) -> Option<i64> {
    store
        .write(move |c, secrets| {
            let new = NewSale {
                sale_id: s.id.into(),
                lines: vec![LineInput {
                    sku: "1000001".into(),
                    quantity: Money(Decimal::ONE),
                    unit_price: money(s.price),
                    uom: "EA".into(),
                    item_discount: Money::default(),
                    sale_discount: Money::default(),
                }],
                tax: Money::default(),
                member_id: None,
                purchased_on: format!("{}T10:00:00", s.day),
            };
            sales::insert(c, secrets, "DALLAS", "LANE01", &new)?;
            if let Some((method, path)) = s.payment {
                let pid = format!("{}-P", s.id);
                let p = NewPayment {
                    payment_id: pid.clone(),
                    sale_id: s.id.into(),
                    method,
                    requested_amount: money(s.price),
                    amount: money(s.price),
                    code: None,
                    entry_mode: None,
                    terminal_mode: None,
                    pin_given: false,
                    trace_before: None,
                };
                payments::insert(c, secrets, "DALLAS", "LANE01", &p)?;
                for st in path {
                    payments::transition(c, &pid, *st, PaymentUpdate::default())?;
                }
            }
            for st in s.sale_path {
                sales::set_state(c, s.id, *st)?;
            }
            let mut item = None;
            if !s.purchase_path.is_empty() {
                let id = outbox::enqueue(
                    c,
                    &NewItem {
                        kind: OutboxKind::Purchase,
                        sale_id: Some(s.id.into()),
                        payment_id: None,
                        amount: None,
                        code_hash: None,
                        payload: "{}".into(),
                    },
                )?;
                for st in s.purchase_path {
                    outbox::transition(c, id, *st, None)?;
                }
                item = Some(id);
            }
            Ok(item)
        })
        .await
        .unwrap()
}

#[tokio::test]
async fn the_daily_report_counts_sales_tenders_forwarded_in_doubt_and_declined() {
    use OutboxState as O;
    use PaymentState as P;
    use SaleState as S;
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(StoreOptions::new(dir.path().join("agent.db")))
        .await
        .unwrap();
    let day = "2026-11-27";
    record(
        &store,
        Spec {
            id: "S1",
            day,
            price: 10_00,
            sale_path: &[S::Completing, S::Completed],
            payment: Some((Method::Cash, &[P::Approved])),
            purchase_path: &[O::Sending, O::Confirmed],
        },
    )
    .await;
    let in_doubt = record(
        &store,
        Spec {
            id: "S2",
            day,
            price: 20_00,
            sale_path: &[S::Completing, S::Completed],
            payment: Some((Method::Giftcard, &[P::OfflineApproved, P::ForwardDeclined])),
            purchase_path: &[O::Sending, O::InDoubt],
        },
    )
    .await
    .unwrap();
    record(
        &store,
        Spec {
            id: "S3",
            day,
            price: 5_00,
            sale_path: &[],
            payment: Some((Method::Card, &[P::InDoubt])),
            purchase_path: &[],
        },
    )
    .await;
    record(
        &store,
        Spec {
            id: "S4",
            day,
            price: 7_00,
            sale_path: &[S::Cancelling, S::Cancelled],
            payment: None,
            purchase_path: &[],
        },
    )
    .await;
    record(
        &store,
        Spec {
            id: "S5",
            day: "2026-11-26",
            price: 99_00,
            sale_path: &[S::Completing, S::Completed],
            payment: Some((Method::Cash, &[P::Approved])),
            purchase_path: &[O::Sending, O::Confirmed],
        },
    )
    .await;
    record(
        &store,
        Spec {
            id: "S6",
            day,
            price: 3_00,
            sale_path: &[S::Completing, S::Completed],
            payment: Some((Method::Cash, &[P::Approved])),
            purchase_path: &[],
        },
    )
    .await;

    let d = NaiveDate::parse_from_str(day, "%Y-%m-%d").unwrap();
    let journal: &dyn JournalReader = &store;
    let r = ReconciliationReport::for_day(journal, d).await.unwrap();
    assert_eq!(r.day, day);
    assert_eq!(r.sales_completed, 3);
    assert_eq!(r.sales_total, Decimal::new(33_00, 2));
    assert_eq!((r.sales_cancelled, r.sales_unfinished), (1, 1));
    let cash = &r.tenders["cash"];
    assert_eq!((cash.count, cash.amount), (2, Decimal::new(13_00, 2)));
    assert!(
        !r.tenders.contains_key("card"),
        "an in-doubt card payment is not counted as paid"
    );
    assert!(
        !r.tenders.contains_key("giftcard"),
        "a declined-after-forward one neither"
    );
    assert_eq!(r.purchases_forwarded, 1);
    assert_eq!(r.purchases_pending, 0);
    assert_eq!(r.outbox_in_doubt, vec![in_doubt]);
    assert_eq!(r.payments_in_doubt, vec!["S3-P".to_owned()]);
    assert_eq!(r.declined_after_forward, vec!["S2-P".to_owned()]);
    assert_eq!(r.declined_after_forward_amount, Decimal::new(20_00, 2));

    // The other day holds only S5.
    let prev = NaiveDate::parse_from_str("2026-11-26", "%Y-%m-%d").unwrap();
    let r = ReconciliationReport::for_day(journal, prev).await.unwrap();
    assert_eq!((r.sales_completed, r.purchases_forwarded), (1, 1));
    assert_eq!(r.sales_total, Decimal::new(99_00, 2));
}
