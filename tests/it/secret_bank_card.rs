//! Issue 13 item 1: a bank card number keyed where a gift-card code belongs is refused at the
//! API boundary on every route (payments, balance, activate, reload, replace-code) with 422
//! `bank_card_not_accepted`: no payment row, no POS request, nothing in the trace log, the
//! database or its WAL. Through the real binary against the POS stand-in.

use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use crate::support::agent::{Api, WAIT, expect, expect_async};
use hardware_sim::pos::PosSim;

use crate::support::lane::TestLane;
use serde_json::json;

const TOKEN: &str = "bank-card-token-0123456789";
// Luhn-valid Visa numbers: the example, and one keyed with dashes.
const PAN: &str = "4931735702461002";
const PAN_DASHED: &str = "4111-1111-1111-1111";
const PAN_DIGITS: &str = "4111111111111111";

fn gift_requests(pos: &PosSim) -> usize {
    pos.control()
        .ledger()
        .requests
        .iter()
        .filter(|r| r.operations.iter().any(|o| o.starts_with("giftcard")))
        .count()
}

fn scan(dir: &Path, needles: &[&str]) -> Vec<String> {
    let mut hits = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if !path.is_file() {
            continue;
        }
        let bytes = std::fs::read(&path).unwrap();
        for n in needles {
            if bytes.windows(n.len()).any(|w| w == n.as_bytes()) {
                hits.push(format!("{} in {}", n, path.display()));
            }
        }
    }
    hits
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bank_card_numbers_are_refused_on_every_code_route() {
    let TestLane {
        dir, pos, config, ..
    } = TestLane::without_terminal()
        .token(TOKEN)
        .any_port()
        .sections(
            "[giftcard]\nprefixes = [\"600649\"]\n[api.permissions]\ngiftcard_edit = true\n\
             giftcard_replace_code = true\n",
        )
        .build()
        .await;

    let notify_path = dir.path().join("notify.sock");
    let notify = Arc::new(std::os::unix::net::UnixDatagram::bind(&notify_path).unwrap());
    let log_path = dir.path().join("agent.log");
    let child = Command::new(crate::support::agent::agent_bin())
        .args(["run", "--config"])
        .arg(&config)
        .env("NOTIFY_SOCKET", &notify_path)
        .env_remove("WATCHDOG_USEC")
        .env("RUST_LOG", "trace")
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(dir.path().join("agent.out")).unwrap())
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

    let (st, v) = api
        .post(
            "/v1/sales",
            json!({"sale_id": "bank-1", "lines": [{"sku": "ITEM-001", "quantity": "1", "unit_price": "5.00"}]}),
        )
        .await;
    assert_eq!(st, 201, "{v}");
    let before = gift_requests(&pos);

    let mut answers = Vec::new();
    for code in [PAN, PAN_DASHED] {
        answers.push(
            api.post(
                "/v1/sales/bank-1/payments",
                json!({"method": "giftcard", "amount": "5.00", "code": code, "pin": "4711"}),
            )
            .await,
        );
        for route in ["/v1/giftcards/activate", "/v1/giftcards/reload"] {
            answers.push(
                api.post(route, json!({"code": code, "amount": "10.00"}))
                    .await,
            );
        }
        answers.push(
            api.post(
                "/v1/giftcards/replace-code",
                json!({"card_id": "GC1", "new_code": code}),
            )
            .await,
        );
        let r = api
            .http
            .get(format!("{}/v1/giftcards/balance?code={code}", api.base))
            .bearer_auth(TOKEN)
            .send()
            .await
            .unwrap();
        answers.push((r.status().as_u16(), r.json().await.unwrap()));
    }
    for (st, v) in &answers {
        assert_eq!(
            (*st, v["error"]["code"].as_str()),
            (422, Some("bank_card_not_accepted")),
            "{v}"
        );
        let body = v.to_string();
        assert!(!body.contains(PAN) && !body.contains(PAN_DIGITS) && !body.contains("4711"));
    }
    assert_eq!(answers.len(), 10);
    assert_eq!(gift_requests(&pos), before, "nothing reached the POS");

    // A store gift code in a BIN range still goes through: the configured prefix wins.
    let (st, v) = api
        .post(
            "/v1/sales/bank-1/payments",
            json!({"method": "giftcard", "amount": "5.00", "code": "6006491000000001"}),
        )
        .await;
    assert_eq!((st, v["status"].as_str()), (201, Some("approved")), "{v}");
    assert!(
        gift_requests(&pos) > before,
        "the gift code reached the POS"
    );
    let sale = api.get("/v1/sales/bank-1").await;
    assert_eq!(sale["payments"].as_array().unwrap().len(), 1, "{sale}");

    // Stop, then nothing of the bank numbers anywhere on disk or in the trace log.
    let mut child = child;
    assert!(
        Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status()
            .unwrap()
            .success()
    );
    let notify2 = Arc::clone(&notify);
    let status = tokio::time::timeout(
        WAIT + Duration::from_secs(5),
        tokio::task::spawn_blocking(move || {
            expect(&notify2, "STOPPING=1");
            child.wait().unwrap()
        }),
    )
    .await
    .unwrap()
    .unwrap();
    assert!(status.success());
    let log = std::fs::read_to_string(&log_path).unwrap();
    assert!(log.contains("TRACE"), "the log ran at trace level");
    let hits = scan(dir.path(), &[PAN, PAN_DIGITS, "4111 1111", PAN_DASHED]);
    assert!(hits.is_empty(), "{hits:?}");
}
