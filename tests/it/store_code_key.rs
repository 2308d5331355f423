//! Issue 13 item 5: the code key. A missing or wrong key is refused (the real binary exits
//! 74 with a clear message) while payments hold sealed codes, instead of a new key silently
//! making them unreadable; a new key is written atomically (no temp file left); the key may
//! come from a systemd credential, and then nothing is created beside the database.

use crate::support::lane::TestLane;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use crate::support::agent::private;
use lane_agent::store::payments::{self, Method, NewPayment};
use lane_agent::store::sales::{self, LineInput, NewSale};
use lane_agent::store::{Db, Money, StoreError, StoreOptions, key_path};

fn m(s: &str) -> Money {
    s.parse().unwrap()
}

/// A database with one authorizing gift payment, so one sealed code.
fn seed_sealed(opts: &StoreOptions) {
    let mut db = Db::open(opts).unwrap();
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
        payments::insert(
            c,
            s,
            "DALLAS",
            "LANE01",
            &NewPayment {
                payment_id: "P1".into(),
                sale_id: "S1".into(),
                method: Method::Giftcard,
                requested_amount: m("5.00"),
                amount: m("5.00"),
                code: Some(zeroize::Zeroizing::new("CODE-SEALED-0001".to_owned())),
                entry_mode: None,
                terminal_mode: None,
                pin_given: false,
                trace_before: None,
            },
        )
    })
    .unwrap();
}

fn key_error(opts: &StoreOptions) -> String {
    match Db::open(opts) {
        Err(StoreError::KeyFile(m)) => m,
        Err(e) => panic!("another error: {e}"),
        Ok(_) => panic!("opened"),
    }
}

fn entries(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

#[test]
fn a_missing_or_wrong_key_is_refused_while_codes_are_sealed() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("agent.db");
    let opts = StoreOptions::new(&db);
    seed_sealed(&opts);
    let key = key_path(&db);
    let mode = std::fs::metadata(&key).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    assert!(
        entries(dir.path()).iter().all(|n| !n.contains(".tmp")),
        "{:?}",
        entries(dir.path())
    );
    let original = std::fs::read(&key).unwrap();

    std::fs::remove_file(&key).unwrap();
    let msg = key_error(&opts);
    assert!(msg.contains("missing") && msg.contains("sealed"), "{msg}");
    assert!(!key.exists(), "no new key replaced the lost one");

    private(dir.path(), "agent.db.key", &"x".repeat(64));
    let msg = key_error(&opts);
    assert!(msg.contains("wrong key"), "{msg}");

    std::fs::write(&key, &original).unwrap();
    Db::open(&opts).unwrap();
}

#[test]
fn a_new_database_gets_a_new_key_and_a_credential_key_is_used_in_place() {
    let dir = tempfile::tempdir().unwrap();
    let creds = tempfile::tempdir().unwrap();
    let cred = creds.path().join("code-key");
    std::fs::write(&cred, [7u8; 64]).unwrap();
    std::fs::set_permissions(&cred, std::fs::Permissions::from_mode(0o400)).unwrap();
    let db = dir.path().join("agent.db");
    let opts = StoreOptions::new(&db).with_key_file(&cred);
    seed_sealed(&opts);
    assert!(!key_path(&db).exists(), "nothing beside the database");
    // The sealed code needs that credential: without it (no key beside the db), refused.
    let msg = key_error(&StoreOptions::new(&db));
    assert!(msg.contains("missing"), "{msg}");
    // A credential that is absent is never created.
    let missing =
        StoreOptions::new(dir.path().join("other.db")).with_key_file(creds.path().join("nope"));
    assert!(key_error(&missing).contains("does not exist"));
    assert!(!creds.path().join("nope").exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_service_exits_74_when_sealed_codes_lost_their_key() {
    let TestLane {
        dir,
        pos: _pos,
        config,
        ..
    } = TestLane::without_terminal()
        .token("code-key-token-0123456789")
        .any_port()
        .request_timeout_ms(2000)
        .build()
        .await;
    let db = dir.path().join("agent.db");
    seed_sealed(&StoreOptions::new(&db));
    std::fs::remove_file(key_path(&db)).unwrap();
    let out = tokio::task::spawn_blocking(move || {
        std::process::Command::new(crate::support::agent::agent_bin())
            .args(["run", "--config"])
            .arg(&config)
            .env_remove("NOTIFY_SOCKET")
            .env_remove("CREDENTIALS_DIRECTORY")
            .stdin(std::process::Stdio::null())
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(74), "{stderr}");
    assert!(stderr.contains("agent.db.key is missing"), "{stderr}");
    assert!(!key_path(&db).exists());
}
