//! `lane-agent outbox resolve` with the real binary: purchases whose answers the POS
//! stand-in dropped after recording them are in doubt and never re-sent by the agent; the
//! operator resolves one as recorded through the running agent and the other on the stopped
//! store; the ledger keeps exactly one purchase per sale.

use std::time::{Duration, Instant};

use crate::support::agent::{WAIT, cli, json_of, start_quiet, stop_gracefully};
use crate::support::lane::TestLane;
use hardware_sim::pos::{Fault, FaultKind, FaultTarget};
use serde_json::{Value, json};

const TOKEN: &str = "outbox-cli-token-0123456789";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_in_doubt_purchase_waits_for_the_operator_and_is_resolved_as_recorded() {
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
    pos.control().inject(Fault {
        target: FaultTarget::Operation("purchaseAdd".into()),
        kind: FaultKind::ApplyThenDrop,
        times: Some(2),
    });

    let (child, notify) = start_quiet(&config, dir.path()).await;

    let http = reqwest::Client::new();
    let base = format!("http://{addr}");
    let steps = ["doubt-1", "doubt-2"].into_iter().flat_map(|sale| {
        [
            (
                "/v1/sales".to_owned(),
                json!({"sale_id": sale, "lines": [{"sku": "ITEM-001", "quantity": "1", "unit_price": "6.60"}]}),
            ),
            (
                format!("/v1/sales/{sale}/payments"),
                json!({"method": "cash", "amount": "6.60"}),
            ),
            (format!("/v1/sales/{sale}/complete"), json!({})),
        ]
    });
    for (path, body) in steps {
        let r = http
            .post(format!("{base}{path}"))
            .bearer_auth(TOKEN)
            .json(&body)
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success(), "{path}: {}", r.status());
    }

    // The forwarder sends each once; the answers are lost; the items go in doubt.
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
        if st["outbox"]["in_doubt"] == 2 {
            break;
        }
        assert!(Instant::now() < deadline, "never in doubt: {st}");
        ticks.tick().await;
    }
    assert_eq!(pos.control().ledger().purchases.len(), 2);

    let cfg = config.clone();
    let run = |args: Vec<&'static str>, id: Option<String>| {
        let c = cfg.clone();
        tokio::task::spawn_blocking(move || {
            let mut a: Vec<String> = args.iter().map(|s| (*s).to_owned()).collect();
            if let Some(id) = id {
                a.insert(2, id);
            }
            let refs: Vec<&str> = a.iter().map(String::as_str).collect();
            cli(&c, &refs)
        })
    };
    let list = json_of(&run(vec!["outbox", "list", "--json"], None).await.unwrap());
    let id_of = |sale: &str| {
        let item = list["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i["sale_id"] == sale)
            .unwrap_or_else(|| panic!("no item for {sale}: {list}"));
        assert_eq!(item["state"], "in_doubt", "{list}");
        item["id"].as_str().unwrap().to_owned()
    };
    let (first, second) = (id_of("doubt-1"), id_of("doubt-2"));

    // The agent runs: the CLI resolves through its operator route.
    let resolved = json_of(
        &run(
            vec!["outbox", "resolve", "--recorded", "--json"],
            Some(first.clone()),
        )
        .await
        .unwrap(),
    );
    assert_eq!(resolved["state"], "confirmed", "{resolved}");
    let st = json_of(&run(vec!["status", "--json"], None).await.unwrap());
    assert_eq!(st["agent"]["running"], true, "{st}");
    assert_eq!(st["outbox"]["in_doubt"], 1, "{st}");
    // Waking the forwarder sends nothing: the recorded item is done, the other in doubt.
    let flush = run(vec!["outbox", "flush"], None).await.unwrap();
    let text = String::from_utf8_lossy(&flush.stdout);
    assert!(flush.status.success(), "{text}");
    assert!(text.contains("0 delivered, 0 still pending."), "{text}");
    // A confirmed item cannot be resolved again (nothing is re-sent).
    let again = run(vec!["outbox", "resolve", "--resend"], Some(first.clone()))
        .await
        .unwrap();
    assert!(!again.status.success());
    let err = String::from_utf8_lossy(&again.stderr);
    assert!(err.contains("outbox_item_not_resolvable"), "{err}");
    let shown = json_of(
        &run(vec!["outbox", "show", "--json"], Some(first.clone()))
            .await
            .unwrap(),
    );
    assert_eq!(shown["state"], "confirmed", "{shown}");
    assert_eq!(pos.control().ledger().purchases.len(), 2);

    stop_gracefully(child, notify).await;

    // The agent is stopped: the CLI resolves on the store.
    let resolved = json_of(
        &run(
            vec!["outbox", "resolve", "--recorded", "--json"],
            Some(second.clone()),
        )
        .await
        .unwrap(),
    );
    assert_eq!(resolved["state"], "confirmed", "{resolved}");
    let st = json_of(&run(vec!["status", "--json"], None).await.unwrap());
    assert_eq!(st["agent"]["running"], false, "{st}");
    assert_eq!(st["outbox"]["in_doubt"], 0, "{st}");
    let again = run(vec!["outbox", "resolve", "--resend"], Some(second))
        .await
        .unwrap();
    assert!(!again.status.success());
    assert_eq!(pos.control().ledger().purchases.len(), 2);
    pos.shutdown().await;
}
