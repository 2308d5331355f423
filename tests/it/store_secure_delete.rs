//! Issue 13 item 4: an erased gift-card code is gone from the raw files. The store turns on
//! `secure_delete` (freed cells are zeroed, not left in free space) and a checkpoint
//! truncates the WAL, so neither the database nor its `-wal` holds the sealed bytes after
//! the payment reached a final state.

use std::path::Path;

use lane_agent::store::payments::{self, Method, NewPayment, PaymentUpdate};
use lane_agent::store::sales::{self, LineInput, NewSale};
use lane_agent::store::{Db, Money, PaymentState, StoreOptions};

const CODE: &str = "SENTINEL-6006-4999-0001";

fn m(s: &str) -> Money {
    s.parse().unwrap()
}

fn files_holding(dir: &Path, needle: &[u8]) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            std::fs::read(p)
                .map(|b| b.windows(needle.len()).any(|w| w == needle))
                .unwrap_or(false)
        })
        .map(|p| p.display().to_string())
        .collect()
}

#[test]
fn an_erased_code_is_in_neither_the_database_nor_the_wal() {
    let dir = tempfile::tempdir().unwrap();
    let mut db = Db::open(&StoreOptions::new(dir.path().join("agent.db"))).unwrap();
    let secure: i64 = db
        .conn
        .pragma_query_value(None, "secure_delete", |r| r.get(0))
        .unwrap();
    assert_eq!(secure, 1, "secure_delete is on");
    db.write(|c, s| {
        sales::insert(
            c,
            s,
            "DALLAS",
            "LANE01",
            &NewSale {
                sale_id: "S1".into(),
                lines: vec![LineInput {
                    sku: "ITEM-001".into(),
                    quantity: m("1"),
                    unit_price: m("5.00"),
                    uom: "EA".into(),
                    item_discount: m("0"),
                    sale_discount: m("0"),
                }],
                tax: m("0"),
                member_id: None,
                purchased_on: "2026-12-04T12:00:00".into(),
            },
        )?;
        // Neighbours on the same page, so the erased cell's bytes would stay in its free
        // space rather than vanish with a rewritten page.
        for id in ["P0", "P1", "P2", "P3"] {
            payments::insert(
                c,
                s,
                "DALLAS",
                "LANE01",
                &NewPayment {
                    payment_id: id.into(),
                    sale_id: "S1".into(),
                    method: Method::Giftcard,
                    requested_amount: m("1.00"),
                    amount: m("1.00"),
                    code: Some(zeroize::Zeroizing::new(format!("{CODE}-{id}"))),
                    entry_mode: None,
                    terminal_mode: None,
                    pin_given: false,
                    trace_before: None,
                },
            )?;
        }
        Ok(())
    })
    .unwrap();
    db.checkpoint().unwrap();
    let sealed: Vec<u8> = db
        .conn
        .query_row(
            "SELECT code_sealed FROM payments WHERE payment_id = 'P1'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    // The ciphertext (past the nonce) is what would make the code recoverable with the key.
    let needle = &sealed[24..];
    assert!(
        !files_holding(dir.path(), needle).is_empty(),
        "the sealed code is on disk before the erase (the scan works)"
    );

    db.write(|c, _| {
        payments::transition(c, "P1", PaymentState::Declined, PaymentUpdate::default())
    })
    .unwrap();
    db.checkpoint().unwrap();
    let hits = files_holding(dir.path(), needle);
    assert!(hits.is_empty(), "sealed code still in {hits:?}");
    assert!(files_holding(dir.path(), CODE.as_bytes()).is_empty());
    // The neighbours' codes are still sealed (only P1 was erased).
    let left: i64 = db
        .conn
        .query_row(
            "SELECT COUNT(*) FROM payments WHERE code_sealed IS NOT NULL",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(left, 3);
    drop(db);
    let hits = files_holding(dir.path(), needle);
    assert!(hits.is_empty(), "sealed code in {hits:?} after close");
}
