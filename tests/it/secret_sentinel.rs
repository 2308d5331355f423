//! Issue 13, the sentinel: through the real binary at `RUST_LOG=trace`, card data and secrets
//! go through every route (a bank card swiped on the reader pty and keyed at the register,
//! its track data, a gift card swiped, a terminal PIN `4711` typed on the simulated
//! terminal, the ZVT password, full gift codes and PINs on every gift-card route); then the
//! log, the database files (db, -wal, -shm), every HTTP answer, the SSE stream and the
//! metrics are scanned. Zero hits.

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::support::agent::{Api, WAIT, expect, expect_async, private};
use crate::support::lane::TestLane;
use hardware_sim::reader::{SimReader, SimReaderConfig, cards};
use hardware_sim::terminal::{DefaultInput, SimTerminalConfig};
use serde_json::{Value, json};

const TOKEN: &str = "sentinel-token-0123456789";
const ZVT_PASSWORD: &str = "918273";
const TERMINAL_PIN: &str = "4711";
/// Gift codes used in full on the routes (the card with PIN 0000 is read by the terminal).
const GIFT_CODES: &[&str] = &[
    "6006491000000001",
    "6006491000000004",
    "6006491000000006",
    "6006492999999999",
];
/// Long needles: any occurrence is a leak.
const NEEDLES: &[&str] = &[
    "4111111111111111",
    "4111 1111 1111 1111",
    "30121010000000000",
    "TEST/CARD",
    "4931735702461002",
    "4931-7357-0246-1002",
    ZVT_PASSWORD,
    "6006491000000001",
    "6006491000000004",
    "6006491000000006",
    "6006492999999999",
];

/// Every leak in `text`: the long needles, and `4711` standing alone (not inside a longer
/// hex or decimal run such as a port number or a hex dump of other bytes).
fn leaks(text: &str) -> Vec<String> {
    let mut out: Vec<String> = NEEDLES
        .iter()
        .filter(|n| text.contains(*n))
        .map(|n| (*n).to_owned())
        .collect();
    let b = text.as_bytes();
    let mut from = 0;
    while let Some(i) = text[from..].find(TERMINAL_PIN) {
        let at = from + i;
        let before = at.checked_sub(1).map(|j| b[j]);
        let after = b.get(at + TERMINAL_PIN.len()).copied();
        let hexish = |c: Option<u8>| c.is_some_and(|c| c.is_ascii_hexdigit());
        if !hexish(before) && !hexish(after) {
            let s = at.saturating_sub(60);
            let e = (at + 60).min(text.len());
            out.push(format!("PIN in …{}…", text.get(s..e).unwrap_or("?")));
            break;
        }
        from = at + 1;
    }
    out
}

fn scan_dir(dir: &Path) -> Vec<String> {
    let mut hits = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        // The test's own inputs: the config names the password file, which holds it.
        if !path.is_file() || name == "zvt-password" || name.ends_with(".toml") {
            continue;
        }
        let text = String::from_utf8_lossy(&std::fs::read(&path).unwrap()).into_owned();
        hits.extend(leaks(&text).into_iter().map(|l| format!("{name}: {l}")));
    }
    hits
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_card_data_or_secret_anywhere() {
    let dir = tempfile::tempdir().unwrap();
    let msr = dir.path().join("msr");
    let mut reader = SimReader::start(&msr, SimReaderConfig::default())
        .await
        .unwrap();
    let zvt = private(dir.path(), "zvt-password", &format!("{ZVT_PASSWORD}\n"));
    let lane = TestLane::zvt_with(SimTerminalConfig {
        password: ZVT_PASSWORD.into(),
        default_input: DefaultInput::Digits(TERMINAL_PIN.into()),
        gift_track: "6006491000000006=4912".into(),
        ..SimTerminalConfig::default()
    })
    .token(TOKEN)
    .any_port()
    .in_dir(dir)
    .terminal_lines("t3_ms = 1500\nt4_ms = 5000\n")
    .sections(&format!(
        "[giftcard]\nprefixes = [\"600649\"]\n[api.permissions]\ngiftcard_edit = true\n\
         giftcard_replace_code = true\n[[reader]]\nname = \"msr\"\nkind = \"serial-msr\"\n\
         device = \"{}\"\n",
        msr.display()
    ))
    .build()
    .await;
    // The password comes from its file, never from the config.
    let text = std::fs::read_to_string(&lane.config).unwrap().replace(
        "password = \"000000\"",
        &format!("password_file = \"{}\"", zvt.display()),
    );
    std::fs::write(&lane.config, text).unwrap();
    let (dir, config) = (lane.dir.path(), &lane.config);

    let notify_path = dir.join("notify.sock");
    let notify = Arc::new(std::os::unix::net::UnixDatagram::bind(&notify_path).unwrap());
    let log_path = dir.join("agent.log");
    let mut child = std::process::Command::new(crate::support::agent::agent_bin())
        .args(["run", "--config"])
        .arg(config)
        .env("NOTIFY_SOCKET", &notify_path)
        .env_remove("WATCHDOG_USEC")
        .env("RUST_LOG", "trace")
        .env("RUST_BACKTRACE", "1")
        .stdin(std::process::Stdio::null())
        .stdout(std::fs::File::create(dir.join("agent.out")).unwrap())
        .stderr(std::fs::File::create(&log_path).unwrap())
        .spawn()
        .unwrap();
    let ready = expect_async(&notify, "READY=1").await;
    let addr = ready
        .lines()
        .find_map(|l| l.strip_prefix("STATUS=Serving on "))
        .and_then(|a| a.strip_suffix('.'))
        .unwrap_or_else(|| panic!("no address in {ready:?}"))
        .to_owned();
    let api = Api::new(&addr, TOKEN);

    // The event stream, collected for the whole run.
    let sse = Arc::new(Mutex::new(Vec::<u8>::new()));
    let sse_task = {
        let sse = Arc::clone(&sse);
        let mut resp = reqwest::Client::new()
            .get(format!("{}/v1/events", api.base))
            .bearer_auth(TOKEN)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200);
        tokio::spawn(async move {
            while let Ok(Some(chunk)) = resp.chunk().await {
                sse.lock().unwrap().extend_from_slice(&chunk);
            }
        })
    };

    let answers: Mutex<Vec<Value>> = Mutex::new(Vec::new());
    let post = async |path: &str, body: Value| {
        let (st, v) = api.post(path, body).await;
        answers
            .lock()
            .unwrap()
            .push(json!({"path": path, "status": st, "body": v}));
        v
    };

    // Swipes on the reader: a bank card (discarded) and a gift card.
    reader.swipe(&cards::bank_card_tracks()).await.unwrap();
    reader
        .swipe(&cards::gift_card_tracks("6006491000000004"))
        .await
        .unwrap();

    // A sale paid by: a keyed bank card (refused), gift codes with PINs, a gift card read
    // on the terminal whose PIN the customer types there, and a bank card on the terminal.
    post(
        "/v1/sales",
        json!({"sale_id": "sen-1", "lines": [{"sku": "ITEM-001", "quantity": "3", "unit_price": "20.00"}]}),
    )
    .await;
    for code in [
        "4931735702461002",
        "4931-7357-0246-1002",
        "4111111111111111",
    ] {
        post(
            "/v1/sales/sen-1/payments",
            json!({"method": "giftcard", "amount": "1.00", "code": code, "pin": TERMINAL_PIN}),
        )
        .await;
    }
    post(
        "/v1/sales/sen-1/payments",
        json!({"method": "giftcard", "amount": "5.00", "code": GIFT_CODES[0], "pin": TERMINAL_PIN}),
    )
    .await;
    post(
        "/v1/sales/sen-1/payments",
        json!({"method": "giftcard", "amount": "5.00", "code": GIFT_CODES[1]}),
    )
    .await;
    post(
        "/v1/sales/sen-1/payments",
        json!({"method": "giftcard", "amount": "5.00"}),
    )
    .await;
    post(
        "/v1/sales/sen-1/payments",
        json!({"method": "card", "amount": "5.00"}),
    )
    .await;
    post("/v1/sales/sen-1/cancel", json!({})).await;
    // Every gift-card route with full codes.
    for code in GIFT_CODES.iter().chain(["4931735702461002"].iter()) {
        let r = api
            .http
            .get(format!("{}/v1/giftcards/balance?code={code}", api.base))
            .bearer_auth(TOKEN)
            .send()
            .await
            .unwrap();
        let st = r.status().as_u16();
        let body: Value = r.json().await.unwrap_or(Value::Null);
        answers
            .lock()
            .unwrap()
            .push(json!({"path": "balance", "status": st, "body": body}));
    }
    post(
        "/v1/giftcards/activate",
        json!({"code": GIFT_CODES[3], "amount": "10.00"}),
    )
    .await;
    post(
        "/v1/giftcards/reload",
        json!({"code": GIFT_CODES[1], "amount": "10.00"}),
    )
    .await;
    post(
        "/v1/giftcards/replace-code",
        json!({"card_id": "GC1", "new_code": "6006491999999998", "new_pin": TERMINAL_PIN}),
    )
    .await;

    // The reads reached the agent (it logs the masked gift code), so they count.
    let deadline = Instant::now() + WAIT;
    while !std::fs::read_to_string(&log_path)
        .unwrap()
        .contains("Gift card read.")
    {
        assert!(
            Instant::now() < deadline,
            "the gift-card swipe never arrived"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let metrics = api
        .http
        .get(format!("{}/metrics", api.base))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(metrics.contains("# TYPE"), "{metrics}");
    let status = api.get("/v1/status").await;
    let sale = api.get("/v1/sales/sen-1").await;

    // Stop (STOPPING=1), then scan everything.
    assert!(
        std::process::Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status()
            .unwrap()
            .success()
    );
    let n2 = Arc::clone(&notify);
    let status_code = tokio::task::spawn_blocking(move || {
        expect(&n2, "STOPPING=1");
        child.wait().unwrap()
    })
    .await
    .unwrap();
    assert!(status_code.success());
    sse_task.abort();

    let log = std::fs::read_to_string(&log_path).unwrap();
    assert!(log.contains("TRACE"), "the agent logged at trace level");
    assert!(!log.contains("panicked"), "a panic: {log}");
    let sse = String::from_utf8_lossy(&sse.lock().unwrap()).into_owned();
    assert!(
        sse.contains("data:"),
        "the event stream carried events: {sse}"
    );
    let answers = answers.into_inner().unwrap();
    let refused = answers
        .iter()
        .filter(|a| a["body"]["error"]["code"] == "bank_card_not_accepted")
        .count();
    assert_eq!(refused, 4, "{answers:#?}");
    let paid = answers
        .iter()
        .filter(|a| a["path"] == "/v1/sales/sen-1/payments" && a["status"] == 201)
        .count();
    assert_eq!(
        paid, 4,
        "code, code, terminal-read gift card, bank card: {answers:#?}"
    );
    let mut hits = Vec::new();
    for (what, text) in [
        ("log", log),
        ("answers", serde_json::to_string(&answers).unwrap()),
        ("status", status.to_string()),
        ("sale", sale.to_string()),
        ("sse", sse),
        ("metrics", metrics),
    ] {
        hits.extend(leaks(&text).into_iter().map(|l| format!("{what}: {l}")));
    }
    hits.extend(scan_dir(dir));
    assert!(hits.is_empty(), "{hits:#?}");
}
