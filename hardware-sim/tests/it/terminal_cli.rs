//! The `hardware-sim terminal` binary per interfaces.md §4: unattended runs approve every
//! payment and answer prompts with `--default-input` (cancel by default); `--script` files
//! apply; the example scripts in `config/` stay valid.

use std::{
    io::{BufRead, BufReader},
    process::{Child, Command, Stdio},
    time::Duration,
};

use hardware_sim::terminal::SimTerminalConfig;
use rust_decimal::Decimal;
use zvt::{
    command::PaymentRequest,
    transport::{NoEvents, NoRetry, Terminal, TransportConfig, TxResult},
};

struct Sim(Child);

impl Drop for Sim {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts the binary unattended (stdin is not a terminal) and returns it with its address.
fn start(extra: &[&str]) -> (Sim, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_hardware-sim"))
        .args(["terminal", "--tcp", "127.0.0.1:0"])
        .args(extra)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut line = String::new();
    BufReader::new(stdout).read_line(&mut line).unwrap();
    let addr = line
        .trim()
        .strip_prefix("ZVT terminal listening on ")
        .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
        .to_owned();
    (Sim(child), addr)
}

async fn connect(addr: &str) -> Terminal {
    let cfg = crate::support::terminal::fast(TransportConfig::tcp(addr));
    tokio::time::timeout(Duration::from_secs(10), Terminal::connect(cfg, NoRetry))
        .await
        .unwrap()
        .unwrap()
}

#[tokio::test]
async fn unattended_terminal_approves_and_cancels_prompts() {
    let (_sim, addr) = start(&[]);
    let mut pt = connect(&addr).await;
    let out = pt
        .authorize(PaymentRequest::new(Decimal::new(99_999, 2)), NoEvents)
        .await
        .unwrap();
    assert_eq!(out.result, TxResult::Approved);
    assert_eq!(pt.numeric_input(&["Code?"], 1, 8).await.unwrap(), None);
    pt.display_text(&["Thank you"], 3).await.unwrap();
}

#[tokio::test]
async fn default_input_answers_prompts() {
    let (_sim, addr) = start(&["--default-input", "4711"]);
    let mut pt = connect(&addr).await;
    assert_eq!(
        pt.numeric_input(&["Code?"], 1, 8).await.unwrap().as_deref(),
        Some("4711")
    );
}

#[tokio::test]
async fn script_steps_apply_in_order() {
    let root = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../config/terminal-faults.toml"
    );
    let (_sim, addr) = start(&["--script", root]);
    let mut pt = connect(&addr).await;
    let a = pt
        .authorize(PaymentRequest::new(Decimal::ONE), NoEvents)
        .await
        .unwrap();
    assert!(a.is_approved());
    // The second step's faults are serial-only: over TCP they are ignored.
    let b = pt
        .authorize(PaymentRequest::new(Decimal::TWO), NoEvents)
        .await
        .unwrap();
    assert!(b.is_approved());
    let intent = pt.intent(Decimal::TEN);
    let c = pt
        .authorize(PaymentRequest::new(Decimal::TEN), NoEvents)
        .await
        .unwrap_err();
    assert!(c.is_outcome_unknown(), "{c}");
    let verdict = pt.recover_last(&intent).await.unwrap();
    assert!(
        matches!(verdict, zvt::recovery::Verdict::Approved { .. }),
        "{verdict:?}"
    );
    let d = pt
        .authorize(PaymentRequest::new(Decimal::ONE), NoEvents)
        .await
        .unwrap();
    assert_eq!(d.result, TxResult::Declined { code: 0x05 });
    assert_eq!(
        pt.numeric_input(&["Code?"], 1, 8).await.unwrap().as_deref(),
        Some("1234")
    );
    let card = pt.read_card(10).await.unwrap().unwrap();
    assert_eq!(card.expose_track2(), Some("6280009999000000017=4912"));
}

#[test]
fn example_scripts_are_valid() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../config");
    let mut n = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if name.starts_with("terminal-") && name.ends_with(".toml") {
            SimTerminalConfig::from_file(&path).unwrap_or_else(|e| panic!("{name}: {e}"));
            n += 1;
        }
    }
    assert!(n >= 2, "example scripts found: {n}");
}

/// Starts the binary with its stdout read line by line on a thread.
fn start_live(extra: &[&str]) -> (Sim, String, std::sync::mpsc::Receiver<String>) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_hardware-sim"))
        .args(["terminal", "--tcp", "127.0.0.1:0"])
        .args(extra)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut first = String::new();
    stdout.read_line(&mut first).unwrap();
    let addr = first
        .trim()
        .strip_prefix("ZVT terminal listening on ")
        .unwrap_or_else(|| panic!("unexpected first line {first:?}"))
        .to_owned();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in stdout.lines() {
            let Ok(line) = line else { return };
            if tx.send(line).is_err() {
                return;
            }
        }
    });
    (Sim(child), addr, rx)
}

/// Collects lines until one contains `want` (bounded); returns everything read so far.
fn until(rx: &std::sync::mpsc::Receiver<String>, seen: &mut Vec<String>, want: &str) {
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while !seen.iter().any(|l| l.contains(want)) {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        match rx.recv_timeout(left) {
            Ok(l) => seen.push(l),
            Err(_) => panic!("no line with {want:?} in:\n{}", seen.join("\n")),
        }
    }
}

#[tokio::test]
async fn live_console_tells_the_conversation_in_words() {
    let (_sim, addr, rx) = start_live(&["--default-input", "4711"]);
    let mut pt = connect(&addr).await;
    let out = pt
        .authorize(PaymentRequest::new(Decimal::new(1234, 2)), NoEvents)
        .await
        .unwrap();
    assert!(out.is_approved());
    assert_eq!(
        pt.numeric_input(&["PIN?"], 4, 4).await.unwrap().as_deref(),
        Some("4711")
    );
    let mut seen = Vec::new();
    for want in [
        "link up",
        "ECR→PT 06 00 Registration, config",
        "PT→ECR 80 00 00 ack",
        "PT→ECR 06 0F completion",
        "ECR→PT 80 00 00 ack",
        "ECR→PT 06 01 Authorization 12.34 EUR",
        "PT→ECR 04 FF intermediate status 0A",
        "PT→ECR 04 0F approved, 12.34 EUR, receipt 1, trace 1, card ****0019, girocard",
        "journal: receipt 1 trace 1 Payment 12.34 EUR approved card ****0019",
        "ECR→PT 06 E2 Numeric input \"PIN?\", 4-4 digits",
        "PT→ECR 06 0F completion, 4 digits entered",
    ] {
        until(&rx, &mut seen, want);
    }
    // Lines start with the time of day, then the words.
    let auth = seen
        .iter()
        .find(|l| l.contains("06 01 Authorization"))
        .unwrap();
    assert!(
        auth.as_bytes()[2] == b':' && auth.as_bytes()[8] == b'.',
        "{auth}"
    );
    // The order is the conversation's order.
    let pos = |w: &str| seen.iter().position(|l| l.contains(w)).unwrap();
    assert!(pos("ECR→PT 06 01") < pos("PT→ECR 04 0F approved"));
    assert!(!seen.iter().any(|l| l.contains("4711")), "{seen:#?}");
}

#[tokio::test]
async fn live_console_json_and_quiet() {
    let (_sim, addr, rx) = start_live(&["--json"]);
    let mut pt = connect(&addr).await;
    pt.authorize(PaymentRequest::new(Decimal::new(500, 2)), NoEvents)
        .await
        .unwrap();
    let mut seen = Vec::new();
    until(&rx, &mut seen, "\"control\":\"06 01\"");
    let auth: serde_json::Value = serde_json::from_str(
        seen.iter()
            .find(|l| l.contains("\"control\":\"06 01\""))
            .unwrap(),
    )
    .unwrap();
    assert_eq!(auth["event"], "apdu");
    assert_eq!(auth["dir"], "ecr_to_pt");
    assert_eq!(auth["text"], "ECR→PT 06 01 Authorization 5.00 EUR");
    assert!(auth["ts"].as_str().unwrap().ends_with('Z'));
    for l in &seen {
        serde_json::from_str::<serde_json::Value>(l).unwrap_or_else(|e| panic!("{l}: {e}"));
    }

    let (mut sim, addr, rx) = start_live(&["--quiet"]);
    let mut pt = connect(&addr).await;
    pt.authorize(PaymentRequest::new(Decimal::new(500, 2)), NoEvents)
        .await
        .unwrap();
    sim.0.kill().unwrap();
    sim.0.wait().unwrap();
    // The reader thread ends at EOF: everything the quiet terminal printed is here.
    let rest: Vec<String> = rx.iter().collect();
    assert!(rest.is_empty(), "{rest:#?}");
}

#[tokio::test]
async fn live_console_shows_faults_and_naks_on_serial() {
    let dir = tempfile::tempdir().unwrap();
    let link = dir.path().join("pt");
    let script = dir.path().join("nak.toml");
    std::fs::write(
        &script,
        "[[steps]]\non = \"payment\"\noutcome = \"approve\"\nfaults = [\"nak:1\"]\n",
    )
    .unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_hardware-sim"))
        .args(["terminal", "--pty"])
        .arg(&link)
        .arg("--script")
        .arg(&script)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let _sim = Sim(child);
    let mut first = String::new();
    stdout.read_line(&mut first).unwrap();
    assert!(first.starts_with("ZVT terminal on pty"), "{first}");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in stdout.lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                return;
            }
        }
    });
    let cfg = crate::support::terminal::fast(TransportConfig::serial(&link));
    let mut pt = tokio::time::timeout(Duration::from_secs(10), Terminal::connect(cfg, NoRetry))
        .await
        .unwrap()
        .unwrap();
    let out = pt
        .authorize(PaymentRequest::new(Decimal::new(700, 2)), NoEvents)
        .await
        .unwrap();
    assert!(out.is_approved());
    let mut seen = Vec::new();
    for want in [
        "fault injected: Nak(1)",
        "NAK sent: bad frame from the ECR",
        "ECR→PT 06 01 Authorization 7.00 EUR",
        "PT→ECR 04 0F approved, 7.00 EUR",
    ] {
        until(&rx, &mut seen, want);
    }
}
