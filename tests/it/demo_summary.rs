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

/// The README's "Trying the API by hand" block, as written.
fn readme_tour() -> String {
    let readme = include_str!("../../README.md");
    let from = readme
        .find("#### Trying the API by hand")
        .expect("README has the tour");
    let block = &readme[from..];
    let start = block.find("```sh\n").expect("tour block") + "```sh\n".len();
    let len = block[start..].find("```").expect("tour block ends");
    block[start..start + len].to_owned()
}

/// Runs the README's tour against `demo --keep-running`: every `curl` must succeed (an HTTP
/// error fails it), the event stream is cut after 2 s, and the answers are what the text
/// says (the PIN card approved, both sales completed, the metrics served).
#[test]
fn the_readme_tour_runs_as_written() {
    use std::io::{BufRead, BufReader};

    let mut child = Command::new(env!("CARGO_BIN_EXE_lane-agent"))
        .args(["demo", "--keep-running"])
        .env_remove("RUST_LOG")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let pid = child.id();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Some(rest) = line.split("API: ").nth(1) {
                let url = rest
                    .split_whitespace()
                    .next()
                    .unwrap_or_default()
                    .to_owned();
                let _ = tx.send(url);
            }
        }
    });
    let url = match rx.recv_timeout(LIMIT) {
        Ok(url) => url,
        Err(_) => {
            let _ = child.kill();
            panic!("demo --keep-running never printed its API address");
        }
    };
    let tour = readme_tour().replace("http://127.0.0.1:PORT", &url);
    assert!(
        tour.contains(&url),
        "the tour sets API from the demo's address"
    );
    // Every curl fails on an HTTP error; the endless event stream is cut after 2 s.
    let script = format!(
        "set -e\n\
         curl() {{\n\
           case \" $* \" in\n\
             *' -N '*) command curl -sS --fail-with-body --max-time 2 \"$@\" || [ $? -eq 28 ] ;;\n\
             *) command curl -sS --fail-with-body --max-time 30 \"$@\" ;;\n\
           esac\n\
           echo\n\
         }}\n{tour}"
    );
    let out = Command::new("bash").args(["-c", &script]).output().unwrap();
    let _ = Command::new("kill")
        .args(["-INT", &pid.to_string()])
        .status();
    let _ = child.wait();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "the tour failed:\n{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for expected in [
        r#""payment_id":"try-1-p1""#,
        r#""status":"approved""#,
        r#""state":"completed""#,
        "lane_sales_total",
    ] {
        assert!(text.contains(expected), "missing {expected} in:\n{text}");
    }
    assert!(
        text.matches(r#""state":"completed""#).count() >= 2,
        "both sales completed:\n{text}"
    );
}
