//! Issue 13 item 11: a rebuilt database (files lost, lane re-installed) must not mint the
//! `transactionId`s and `refNo`s the old one already sent: the POS deduplicates neither.

use lane_agent::store::payments::{self, Method, NewPayment};
use lane_agent::store::sales::{self, EPOCH_SPAN, LineInput, NewSale, journal_id};
use lane_agent::store::{Db, Money, StoreOptions};

fn m(s: &str) -> Money {
    s.parse().unwrap()
}

/// Opens a fresh database in `dir` and records one sale with one payment: their ids.
fn ids_of_a_fresh_database(dir: &std::path::Path) -> (String, String) {
    let mut db = Db::open(&StoreOptions::new(dir.join("agent.db"))).unwrap();
    db.write(|c, s| {
        let sale = sales::insert(
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
        )?
        .into_inner();
        let pay = payments::insert(
            c,
            s,
            "DALLAS",
            "LANE01",
            &NewPayment {
                payment_id: "P1".into(),
                sale_id: "S1".into(),
                method: Method::Cash,
                requested_amount: m("5.00"),
                amount: m("5.00"),
                code: None,
                entry_mode: None,
                terminal_mode: None,
                pin_given: false,
                trace_before: None,
            },
        )?
        .into_inner();
        Ok((sale.transaction_id, pay.ref_no))
    })
    .unwrap()
}

#[test]
fn a_rebuilt_database_never_repeats_transaction_ids_or_ref_nos() {
    let dir = tempfile::tempdir().unwrap();
    let (tid1, ref1) = ids_of_a_fresh_database(dir.path());
    // The rebuild: database, WAL and key gone, the same lane starts over.
    for entry in std::fs::read_dir(dir.path()).unwrap() {
        std::fs::remove_file(entry.unwrap().path()).unwrap();
    }
    let (tid2, ref2) = ids_of_a_fresh_database(dir.path());
    assert_ne!(tid1, tid2);
    assert_ne!(ref1, ref2);
    for id in [&tid1, &tid2, &ref1, &ref2] {
        assert!(id.starts_with("DALLAS-LANE01-"), "{id}");
        // store (<=32) + register (<=16) + epoch (<=9) + number (8) + dashes.
        assert!(id.len() <= 32 + 16 + 9 + 8 + 3, "{id}");
    }
    // Same epoch within one database, consecutive numbers.
    let epoch = |id: &str| id.split('-').nth(2).unwrap().to_owned();
    assert_eq!(epoch(&tid1), epoch(&ref1));
    assert_ne!(epoch(&tid1), epoch(&tid2));
}

#[test]
fn ids_print_epoch_and_number_and_old_journals_keep_their_form() {
    assert_eq!(journal_id("D", "L", 7), "D-L-00000007");
    assert_eq!(
        journal_id("D", "L", 482_913_077 * EPOCH_SPAN + 12),
        "D-L-482913077-00000012"
    );
}
