//! The store's open path: pragmas read back, migrations, refusal of bad files, illegal
//! transitions, and reopen after drop — all on real SQLite files.

use lane_agent::store::payments::{self, Method, NewPayment, PaymentUpdate};
use lane_agent::store::sales::{self, LineInput, NewSale};
use lane_agent::store::{
    Db, Money, OutboxKind, OutboxState, PaymentState, SaleState, Store, StoreError, StoreOptions,
    outbox, schema,
};

fn m(s: &str) -> Money {
    s.parse().unwrap()
}

fn new_sale(id: &str) -> NewSale {
    NewSale {
        sale_id: id.into(),
        lines: vec![LineInput {
            sku: "A".into(),
            quantity: m("2"),
            unit_price: m("1.25"),
            uom: "EA".into(),
            item_discount: m("0.50"),
            sale_discount: Money::ZERO,
        }],
        tax: m("0.16"),
        member_id: None,
        purchased_on: "2026-11-28T10:00:00".into(),
    }
}

#[test]
fn open_reads_back_wal_full_and_busy_timeout() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(&StoreOptions::new(dir.path().join("a.db"))).unwrap();
    let p = db.pragmas().unwrap();
    assert_eq!(p.journal_mode, "wal");
    assert_eq!(p.synchronous, 2);
    assert!(p.busy_timeout_ms >= 5000);
    assert_eq!(p.user_version, schema::latest());
}

#[test]
fn a_file_from_a_newer_version_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a.db");
    drop(Db::open(&StoreOptions::new(&path)).unwrap());
    let c = rusqlite::Connection::open(&path).unwrap();
    c.pragma_update(None, "user_version", schema::latest() + 1)
        .unwrap();
    drop(c);
    assert!(matches!(
        Db::open(&StoreOptions::new(&path)),
        Err(StoreError::TooNew { .. })
    ));
}

#[test]
fn a_damaged_file_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a.db");
    std::fs::write(
        &path,
        b"this is not a database, just garbage bytes that look nothing like SQLite",
    )
    .unwrap();
    assert!(Db::open(&StoreOptions::new(&path)).is_err());
}

#[test]
fn migrations_are_idempotent_and_keep_data() {
    let dir = tempfile::tempdir().unwrap();
    let opts = StoreOptions::new(dir.path().join("a.db"));
    let mut db = Db::open(&opts).unwrap();
    let sale = db
        .write(|c, s| sales::insert(c, s, "DALLAS", "LANE01", &new_sale("S1")))
        .unwrap()
        .into_inner();
    // Store, register, the journal's random epoch, then the number within it.
    assert!(
        sale.transaction_id.starts_with("DALLAS-LANE01-")
            && sale.transaction_id.ends_with("-00000001"),
        "{}",
        sale.transaction_id
    );
    assert_eq!(sale.totals.subtotal, m("2.50"));
    assert_eq!(sale.totals.total, m("2.16"));
    drop(db);
    let mut db = Db::open(&opts).unwrap();
    assert_eq!(db.pragmas().unwrap().user_version, schema::latest());
    let again = db
        .write(|c, s| sales::insert(c, s, "DALLAS", "LANE01", &new_sale("S1")))
        .unwrap();
    assert!(
        matches!(again, sales::Inserted::Existing(ref s) if s.transaction_id == sale.transaction_id)
    );
    let mut other = new_sale("S1");
    other.tax = m("0.17");
    assert!(matches!(
        db.write(|c, s| sales::insert(c, s, "DALLAS", "LANE01", &other)),
        Err(StoreError::Conflict(_))
    ));
    let s2 = db
        .write(|c, s| sales::insert(c, s, "DALLAS", "LANE01", &new_sale("S2")))
        .unwrap()
        .into_inner();
    assert_eq!(
        s2.transaction_id,
        sale.transaction_id.replace("-00000001", "-00000002")
    );
}

#[test]
fn illegal_transitions_are_errors_and_change_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let mut db = Db::open(&StoreOptions::new(dir.path().join("a.db"))).unwrap();
    db.write(|c, s| sales::insert(c, s, "D", "L", &new_sale("S1")))
        .unwrap();
    db.write(|c, _| sales::set_state(c, "S1", SaleState::Completing))
        .unwrap();
    db.write(|c, _| sales::set_state(c, "S1", SaleState::Completed))
        .unwrap();
    let err = db
        .write(|c, _| sales::set_state(c, "S1", SaleState::Cancelling))
        .unwrap_err();
    assert!(matches!(err, StoreError::IllegalTransition { .. }), "{err}");
    assert_eq!(
        db.read(|c, _| sales::get(c, "S1")).unwrap().state,
        SaleState::Completed
    );

    let pay = NewPayment {
        payment_id: "P1".into(),
        sale_id: "S1".into(),
        method: Method::Giftcard,
        requested_amount: m("2"),
        amount: m("2"),
        code: Some(zeroize::Zeroizing::new("6001999988887777".to_owned())),
        entry_mode: None,
        terminal_mode: None,
        pin_given: false,
        trace_before: None,
    };
    let p = db
        .write(|c, s| payments::insert(c, s, "D", "L", &pay))
        .unwrap()
        .into_inner();
    assert_eq!(p.state, PaymentState::Authorizing);
    assert_eq!(p.code_masked.as_deref(), Some("****7777"));
    assert!(p.has_sealed_code);
    let err = db.write(|c, _| {
        payments::transition(c, "P1", PaymentState::Captured, PaymentUpdate::default())
    });
    // authorizing -> captured is legal only for a re-authorization; declined -> anything is not.
    assert!(err.is_ok());
    let err = db.write(|c, _| {
        payments::transition(c, "P1", PaymentState::Authorized, PaymentUpdate::default())
    });
    assert!(matches!(err, Err(StoreError::IllegalTransition { .. })));
    let p = db.read(|c, _| payments::get(c, "P1")).unwrap();
    assert_eq!(p.state, PaymentState::Captured);
    assert!(!p.has_sealed_code, "final state erases the sealed code");

    let id = db
        .write(|c, _| {
            outbox::enqueue(
                c,
                &outbox::NewItem {
                    kind: OutboxKind::Purchase,
                    sale_id: Some("S1".into()),
                    payment_id: None,
                    amount: None,
                    code_hash: None,
                    payload: "{}".into(),
                },
            )
        })
        .unwrap();
    db.write(|c, _| outbox::transition(c, id, OutboxState::Sending, None))
        .unwrap();
    db.write(|c, _| outbox::transition(c, id, OutboxState::InDoubt, Some("timeout")))
        .unwrap();
    let err = db.write(|c, _| outbox::transition(c, id, OutboxState::Sending, None));
    assert!(
        matches!(err, Err(StoreError::IllegalTransition { .. })),
        "in doubt is never sent again blind"
    );
    let item = db.read(|c, _| outbox::get(c, id)).unwrap();
    assert_eq!(
        (item.state, item.attempt, item.last_error.as_deref()),
        (OutboxState::InDoubt, 1, Some("timeout"))
    );
}

#[test]
fn a_failed_write_rolls_back_everything_in_it() {
    let dir = tempfile::tempdir().unwrap();
    let mut db = Db::open(&StoreOptions::new(dir.path().join("a.db"))).unwrap();
    let r: Result<(), StoreError> = db.write(|c, s| {
        sales::insert(c, s, "D", "L", &new_sale("S1"))?;
        sales::set_state(c, "S1", SaleState::Completed)?; // illegal: open -> completed
        Ok(())
    });
    assert!(r.is_err());
    assert!(db.read(|c, _| sales::find(c, "S1")).unwrap().is_none());
}

#[tokio::test]
async fn async_handle_commits_survive_drop_and_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let opts = StoreOptions::new(dir.path().join("a.db"));
    let store = Store::open(opts.clone()).await.unwrap();
    for i in 0..20 {
        let id = format!("S{i}");
        store
            .write(move |c, s| sales::insert(c, s, "D", "L", &new_sale(&id)))
            .await
            .unwrap();
    }
    let p = store.pragmas().await.unwrap();
    assert_eq!((p.journal_mode.as_str(), p.synchronous), ("wal", 2));
    drop(store);
    let store = Store::open(opts).await.unwrap();
    let n: i64 = store
        .read(|c, _| Ok(c.query_row("SELECT COUNT(*) FROM sales", [], |r| r.get(0))?))
        .await
        .unwrap();
    assert_eq!(n, 20);
    let tid = store
        .read(|c, _| sales::get(c, "S19"))
        .await
        .unwrap()
        .transaction_id;
    assert!(
        tid.starts_with("D-L-") && tid.ends_with("-00000020"),
        "{tid}"
    );
}

#[test]
fn no_clear_code_in_the_database_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a.db");
    let mut db = Db::open(&StoreOptions::new(&path)).unwrap();
    db.write(|c, s| sales::insert(c, s, "D", "L", &new_sale("S1")))
        .unwrap();
    let pay = NewPayment {
        payment_id: "P1".into(),
        sale_id: "S1".into(),
        method: Method::Giftcard,
        requested_amount: m("2"),
        amount: m("2"),
        code: Some(zeroize::Zeroizing::new("SENTINEL9182736455".to_owned())),
        entry_mode: None,
        terminal_mode: None,
        pin_given: true,
        trace_before: None,
    };
    db.write(|c, s| payments::insert(c, s, "D", "L", &pay))
        .unwrap();
    db.checkpoint().unwrap();
    drop(db);
    for f in ["a.db", "a.db-wal"] {
        if let Ok(bytes) = std::fs::read(dir.path().join(f)) {
            let hay = String::from_utf8_lossy(&bytes);
            assert!(
                !hay.contains("SENTINEL9182736455"),
                "{f} holds the clear code"
            );
        }
    }
}

/// A lane's journal from the previous schema (version 6) with offline redemptions still to
/// send: after the step to version 7 the offline policy sees the same usage (read through
/// the new index of open offline items), and nothing else changed.
#[test]
fn a_version_6_journal_keeps_its_offline_usage() {
    use lane_agent::store::exceptions;

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a.db");
    let mut c = rusqlite::Connection::open(&path).unwrap();
    c.pragma_update(None, "journal_mode", "wal").unwrap();
    for step in &schema::MIGRATIONS[..6] {
        let tx = c.transaction().unwrap();
        tx.execute_batch(step).unwrap();
        tx.commit().unwrap();
    }
    c.pragma_update(None, "user_version", 6).unwrap();
    c.execute_batch(
        "INSERT INTO outbox (kind, state, amount, code_hash, payload, created_at, updated_at)
         VALUES ('giftcard_redeem', 'new', '4.00', 'card-a', '{}', '2026-12-01T10:00:00Z', 't'),
                ('giftcard_redeem', 'in_doubt', '1.50', 'card-a', '{}', '2026-12-01T09:00:00Z', 't'),
                ('giftcard_redeem', 'confirmed', '9.00', 'card-a', '{}', '2026-12-01T08:00:00Z', 't'),
                ('giftcard_refund', 'held', '2.00', 'card-b', '{}', '2026-12-01T11:00:00Z', 't'),
                ('purchase', 'new', '30.00', NULL, '{}', '2026-12-01T07:00:00Z', 't');",
    )
    .unwrap();
    drop(c);

    let db = Db::open(&StoreOptions::new(&path)).unwrap();
    assert_eq!(db.pragmas().unwrap().user_version, schema::latest());
    let (usage, taken) = db
        .read(|c, _| exceptions::offline_usage_and_taken(c, "card-a"))
        .unwrap();
    assert_eq!(usage.count, 3);
    assert_eq!(usage.total, m("7.50"));
    assert_eq!(usage.oldest.as_deref(), Some("2026-12-01T09:00:00Z"));
    assert_eq!(taken, m("5.50"));
    let items = db.read(|c, _| outbox::list(c, None)).unwrap();
    assert_eq!(items.len(), 5);
}
