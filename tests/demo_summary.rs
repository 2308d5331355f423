//! `lane-agent demo` as a newcomer runs it: the real binary, every step of the scripted day
//! in the summary, and a reconciliation with nothing lost and nothing duplicated.

use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// Bound on the whole demo (it normally takes a few seconds).
const LIMIT: Duration = Duration::from_secs(90);

fn run_demo() -> (Option<i32>, String, String) {
    let child = Command::new(env!("CARGO_BIN_EXE_lane-agent"))
        .arg("demo")
        .env_remove("RUST_LOG")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let out = child.wait_with_output().unwrap();
        let _ = tx.send((
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        ));
    });
    match rx.recv_timeout(LIMIT) {
        Ok(r) => r,
        Err(_) => {
            let _ = Command::new("kill")
                .args(["-KILL", &pid.to_string()])
                .status();
            panic!("lane-agent demo did not finish within {LIMIT:?}");
        }
    }
}

#[test]
fn demo_plays_the_day_and_reconciles_with_nothing_lost_or_duplicated() {
    let (code, out, err) = run_demo();
    assert_eq!(code, Some(0), "stdout:\n{out}\nstderr:\n{err}");

    for step in [
        "[1] Gift-card sale, code keyed at the register",
        "[2] Gift-card sale with a PIN entered on the terminal",
        "[3] Gift-card sale, card swiped on the reader",
        "[4] Split tender: gift card (partial approval) + card",
        "[5] Card payment on the terminal",
        "[6] Outage: offline gift-card sales within the caps",
        "[7] Offline: a gift card beyond the offline cap is refused",
        "[8] The link comes back and the outbox drains",
        "[9] Reconciliation: journal vs POS ledger",
    ] {
        assert!(out.contains(step), "missing {step:?} in:\n{out}");
    }
    // What each step shows.
    assert!(
        out.contains("gift card ****0001 keyed: approved 12.00 (card balance 38.00)"),
        "{out}"
    );
    assert!(
        out.contains("(PIN asked on the terminal): approved 8.00"),
        "{out}"
    );
    assert!(
        out.contains("gift card from the reader: approved 5.00"),
        "{out}"
    );
    assert!(
        out.contains("gift card ****0004 for 30.00: approved 3.50 (card balance 0.00), due 26.50"),
        "{out}"
    );
    assert!(
        out.contains("card on the terminal for 26.50: approved 26.50, due 0.00"),
        "{out}"
    );
    assert_eq!(out.matches("offline_approved").count(), 2, "{out}");
    assert!(out.contains("reason: offline_total_cap"), "{out}");
    assert!(out.contains("terminal display: OFFLINE / "), "{out}");
    assert!(
        out.contains("status: link online, outbox pending 0, in doubt 0"),
        "{out}"
    );
    // The reconciliation: every completed sale exactly once in the ledger.
    assert_eq!(
        out.matches("purchases in the ledger: 1").count(),
        8,
        "{out}"
    );
    assert!(
        out.contains("journal: 8 completed sales; ledger: 8 recorded; lost: 0; duplicates: 0"),
        "{out}"
    );
    assert!(out.contains("balance at the POS: 8.00"), "{out}");
    // Card data never shows: only masked codes and PANs.
    for secret in ["6006491000000001", "6006491000000002", "4111111111111111"] {
        assert!(
            !out.contains(secret) && !err.contains(secret),
            "{secret} leaked"
        );
    }
}
