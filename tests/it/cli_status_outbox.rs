//! `lane-agent status` and `lane-agent outbox …` with the real binary: through the running
//! agent's API (hold, show, flush), then on the store directly once it has stopped (hold,
//! flush with progress), against the POS stand-in's ledger.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::support::agent::{WAIT, cli, json_of, start_quiet, stop_gracefully};
use crate::support::lane::TestLane;
use serde_json::{Value, json};

const TOKEN: &str = "cli-status-token-0123456789";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_and_outbox_through_the_api_then_on_the_stopped_store() {
    let TestLane {
        dir,
        pos,
        config,
        addr,
        ..
    } = TestLane::without_terminal()
        .token(TOKEN)
        .request_timeout_ms(2000)
        .build()
        .await;
    // The POS is down all day: the purchase stays queued.
    pos.control().set_online(false).await;

    let (child, notify) = start_quiet(&config, dir.path()).await;

    let http = reqwest::Client::new();
    let base = format!("http://{addr}");
    let post = |path: &str, body: Value| {
        http.post(format!("{base}{path}"))
            .bearer_auth(TOKEN)
            .json(&body)
            .send()
    };
    let r = post("/v1/sales", json!({"sale_id": "cli-1", "lines": [{"sku": "ITEM-001", "quantity": "1", "unit_price": "4.20"}]}))
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let r = post(
        "/v1/sales/cli-1/payments",
        json!({"method": "cash", "amount": "4.20"}),
    )
    .await
    .unwrap();
    assert!(r.status().is_success());
    let r = post("/v1/sales/cli-1/complete", json!({})).await.unwrap();
    assert!(r.status().is_success());

    // Agent running: the CLI asks its API.
    let (cfg, st) = {
        let c = config.clone();
        let out = tokio::task::spawn_blocking(move || cli(&c, &["status", "--json"]))
            .await
            .unwrap();
        (config.clone(), json_of(&out))
    };
    assert_eq!(st["agent"]["running"], true, "{st}");
    assert_eq!(st["outbox"]["pending"], 1, "{st}");
    let human = tokio::task::spawn_blocking({
        let c = cfg.clone();
        move || cli(&c, &["status"])
    })
    .await
    .unwrap();
    let text = String::from_utf8_lossy(&human.stdout);
    assert!(text.contains("agent:       running"), "{text}");
    assert!(
        text.contains("outbox:      pending 1, in doubt 0, failed 0, held 0"),
        "{text}"
    );

    let list = json_of(
        &tokio::task::spawn_blocking({
            let c = cfg.clone();
            move || cli(&c, &["outbox", "list", "--json"])
        })
        .await
        .unwrap(),
    );
    let items = list["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{list}");
    assert_eq!(items[0]["kind"], "purchase");
    let id = items[0]["id"].as_str().unwrap().to_owned();

    // The forwarder has tried once and found the POS down.
    let deadline = Instant::now() + WAIT;
    let mut ticks = tokio::time::interval(Duration::from_millis(50));
    loop {
        let st: Value = http
            .get(format!("{base}/v1/status"))
            .bearer_auth(TOKEN)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if st["link"] == "offline" {
            break;
        }
        assert!(Instant::now() < deadline, "never offline: {st}");
        ticks.tick().await;
    }

    // Operator commands go through the running agent's operator routes.
    let held = json_of(
        &tokio::task::spawn_blocking({
            let (c, id) = (cfg.clone(), id.clone());
            move || cli(&c, &["outbox", "hold", &id, "--json"])
        })
        .await
        .unwrap(),
    );
    assert_eq!(
        (&held["id"], &held["state"]),
        (&json!(id), &json!("held")),
        "{held}"
    );
    let shown = json_of(
        &tokio::task::spawn_blocking({
            let (c, id) = (cfg.clone(), id.clone());
            move || cli(&c, &["outbox", "show", &id, "--json"])
        })
        .await
        .unwrap(),
    );
    assert_eq!(shown["state"], "held", "{shown}");
    let again = tokio::task::spawn_blocking({
        let (c, id) = (cfg.clone(), id.clone());
        move || cli(&c, &["outbox", "hold", &id])
    })
    .await
    .unwrap();
    assert!(!again.status.success());
    let err = String::from_utf8_lossy(&again.stderr);
    assert!(err.contains("outbox_item_not_holdable"), "{err}");
    let st = json_of(
        &tokio::task::spawn_blocking({
            let c = cfg.clone();
            move || cli(&c, &["status", "--json"])
        })
        .await
        .unwrap(),
    );
    assert_eq!(st["outbox"]["held"], 1, "{st}");

    // Flush through the agent releases the held item; with the POS down it stays pending
    // and the CLI says so instead of following for minutes.
    let flush = tokio::task::spawn_blocking({
        let c = cfg.clone();
        move || cli(&c, &["outbox", "flush"])
    })
    .await
    .unwrap();
    let text = String::from_utf8_lossy(&flush.stdout);
    assert!(
        flush.status.success(),
        "{text}\n{}",
        String::from_utf8_lossy(&flush.stderr)
    );
    assert!(text.contains("0 delivered, 1 still pending."), "{text}");
    assert!(text.contains("1 held items released"), "{text}");
    assert!(text.contains("the POS link is down"), "{text}");
    let st: Value = http
        .get(format!("{base}/v1/status"))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        (&st["outbox"]["held"], &st["outbox"]["pending"]),
        (&json!(0), &json!(1)),
        "{st}"
    );
    assert_eq!(pos.control().ledger().purchases.len(), 0);

    // Stop the agent; the CLI now works on the store.
    stop_gracefully(child, notify).await;

    let held = json_of(
        &tokio::task::spawn_blocking({
            let (c, id) = (cfg.clone(), id.clone());
            move || cli(&c, &["outbox", "hold", &id, "--json"])
        })
        .await
        .unwrap(),
    );
    assert_eq!(held["state"], "held", "{held}");
    let st = json_of(
        &tokio::task::spawn_blocking({
            let c = cfg.clone();
            move || cli(&c, &["status", "--json"])
        })
        .await
        .unwrap(),
    );
    assert_eq!(st["agent"]["running"], false, "{st}");
    assert_eq!(st["outbox"]["held"], 1, "{st}");
    assert_eq!(pos.control().ledger().purchases.len(), 0);

    // The POS is back: flush releases the held item and delivers it, with progress.
    pos.control().set_online(true).await;
    let flush = tokio::task::spawn_blocking({
        let c = cfg.clone();
        move || cli(&c, &["outbox", "flush"])
    })
    .await
    .unwrap();
    let text = String::from_utf8_lossy(&flush.stdout);
    assert!(
        flush.status.success(),
        "{text}\n{}",
        String::from_utf8_lossy(&flush.stderr)
    );
    assert!(text.contains("flushing ["), "{text}");
    assert!(text.contains("1 delivered, 0 still pending."), "{text}");
    assert!(text.contains("1 held items released"), "{text}");
    let ledger = pos.control().ledger();
    assert_eq!(ledger.purchases.len(), 1);
    assert_eq!(ledger.purchases[0].pay_amount.to_string(), "4.20");

    let shown = json_of(
        &tokio::task::spawn_blocking({
            let (c, id) = (cfg.clone(), id.clone());
            move || cli(&c, &["outbox", "show", &id, "--json"])
        })
        .await
        .unwrap(),
    );
    assert_eq!(shown["state"], "confirmed", "{shown}");
    pos.shutdown().await;
}

/// `lane-agent doctor` runs the checks through the binary: with the POS stand-in down the
/// POS checks fail and the exit code says "service unreachable" (69); the local checks pass.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn doctor_through_the_binary_reports_an_unreachable_pos_with_exit_69() {
    let TestLane {
        dir: _dir,
        pos,
        config,
        ..
    } = TestLane::without_terminal()
        .token(TOKEN)
        .request_timeout_ms(2000)
        .build()
        .await;
    pos.control().set_online(false).await;
    let out = tokio::task::spawn_blocking(move || {
        Command::new(env!("CARGO_BIN_EXE_lane-agent"))
            .args(["doctor", "--config"])
            .arg(&config)
            .stdin(Stdio::null())
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(69), "{text}");
    assert!(text.contains("PASS"), "{text}");
    assert!(text.contains("FAIL"), "{text}");
    assert!(!text.contains("lane-agent-sim-secret"), "{text}");
    pos.shutdown().await;
}
