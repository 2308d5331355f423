//! The ZVT side of issue 12 through the real `lane-agent` binary and `hardware-sim`'s
//! terminal: a USD lane end to end (registration and amounts in USD, over-precise amounts
//! refused), the terminal's receipt lines kept per payment, the end of day by route, by CLI
//! (agent running and stopped) and by schedule, and the report beside the journal's card
//! totals. Plus the engine's terminal port: refund, and a refund whose answer is lost.

use std::path::Path;
use std::time::Duration;

use crate::support::agent::{Api, WAIT, cli, json_of, stop_gracefully};
use crate::support::lane::TestLane;
use hardware_sim::terminal::{Fault, SimEvent, SimTerminal, SimTerminalConfig, TxKind};
use lane_agent::agent::{ZvtTerminal, transport_config};
use lane_agent::engine::ports::TerminalRequest;
use lane_agent::engine::ports::{PaymentTerminal, Recovered, RecoveryIntent, TerminalError};
use rusqlite::{Connection, OpenFlags};
use serde_json::{Value, json};

const TOKEN: &str = "terminal-day-token-0123456789";

/// A lane in `currency`, with extra `[terminal]` lines.
async fn lane(currency: &str, terminal_lines: &str) -> TestLane {
    TestLane::zvt()
        .token(TOKEN)
        .lane_lines(&format!("currency = \"{currency}\"\n"))
        .terminal_lines(terminal_lines)
        .build()
        .await
}

/// The journal, read-only beside the running agent.
fn journal(dir: &Path) -> Connection {
    let c = Connection::open_with_flags(
        dir.join("agent.db"),
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .unwrap();
    c.busy_timeout(Duration::from_secs(5)).unwrap();
    c
}

fn end_of_day_rows(dir: &Path) -> Vec<(String, String, Option<String>)> {
    let c = journal(dir);
    let mut st = c
        .prepare("SELECT trigger, status, total FROM terminal_end_of_day ORDER BY id")
        .unwrap();
    st.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

async fn sale_paid_by_card(api: &Api, sale: &str, amount: &str) -> Value {
    let (st, v) = api
        .post(
            "/v1/sales",
            json!({"sale_id": sale, "lines": [{"sku": "ITEM-001", "quantity": "1", "unit_price": amount}]}),
        )
        .await;
    assert_eq!(st, 201, "{v}");
    let (st, v) = api
        .post(
            &format!("/v1/sales/{sale}/payments"),
            json!({"method": "card", "amount": amount, "payment_id": format!("{sale}-card")}),
        )
        .await;
    assert_eq!(st, 201, "{v}");
    assert_eq!(v["status"], "approved", "{v}");
    v
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_usd_lane_pays_keeps_receipt_lines_and_ends_the_day_by_route_and_cli() {
    let l = lane("USD", "").await;
    let (terminal, api, config, dir) = (l.terminal(), &l.api, &l.config, l.dir.path());
    let (child, notify) = l.start().await;

    // The terminal is registered in USD and the payment runs in USD.
    sale_paid_by_card(api, "usd-1", "12.34").await;
    assert_eq!(terminal.control().currency(), 840, "registered in USD");
    let tx = terminal.control().journal();
    assert_eq!(tx.len(), 1);
    assert_eq!(
        (tx[0].kind, tx[0].amount),
        (TxKind::Payment, "12.34".parse().unwrap())
    );
    let (st, v) = api.post("/v1/sales/usd-1/complete", json!({})).await;
    assert_eq!(st, 200, "{v}");

    // A cent fraction is no USD amount: 400 before anything moves.
    let (st, v) = api
        .post(
            "/v1/sales",
            json!({"sale_id": "usd-2", "lines": [{"sku": "ITEM-001", "quantity": "1", "unit_price": "5.00"}]}),
        )
        .await;
    assert_eq!(st, 201, "{v}");
    let (st, v) = api
        .post(
            "/v1/sales/usd-2/payments",
            json!({"method": "card", "amount": "1.005"}),
        )
        .await;
    assert_eq!(st, 400, "{v}");
    assert_eq!(v["error"]["code"], "amount_precision", "{v}");
    assert!(
        v["error"]["message"].as_str().unwrap().contains("USD"),
        "{v}"
    );
    assert_eq!(
        terminal.control().journal().len(),
        1,
        "nothing reached the terminal"
    );

    // The terminal's own receipt, kept with the payment, its card number masked.
    let lines = lane_agent::store::receipts::receipt_lines(&journal(dir), "usd-1-card").unwrap();
    assert!(lines.contains(&"USD 12.34".to_owned()), "{lines:?}");
    assert!(lines.contains(&"APPROVED".to_owned()), "{lines:?}");
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("Card ") && l.ends_with("0019")),
        "{lines:?}"
    );
    assert!(
        !lines.iter().any(|l| cardreader::pan::contains_luhn_run(l)),
        "{lines:?}"
    );

    // End of day by route: the terminal's totals, journaled.
    let (st, v) = api.post("/v1/terminal/end-of-day", json!({})).await;
    assert_eq!(st, 200, "{v}");
    assert_eq!(v["status"], "ok", "{v}");
    assert_eq!(v["totals"]["total"], "12.34", "{v}");
    assert_eq!(v["totals"]["count"], 1, "{v}");
    assert_eq!(v["totals"]["currency"], "USD", "{v}");

    // By CLI while the agent runs (through its API): the new period is empty.
    let v = json_of(&cli(config, &["terminal", "end-of-day", "--json"]));
    assert_eq!(v["status"], "ok", "{v}");
    assert_eq!(v["totals"]["count"], 0, "{v}");

    // The report puts the terminal's totals beside the journal's card tenders: they agree.
    let out = cli(config, &["report"]);
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "{text}");
    assert!(text.contains("Terminal:   end of day"), "{text}");
    assert!(!text.contains("DIFFERENCE"), "{text}");
    let v = json_of(&cli(config, &["report", "--json"]));
    assert_eq!(v["terminal"]["total"], "12.34", "{v}");
    assert_eq!(v["terminal"]["journal_card_total"], "12.34", "{v}");
    assert_eq!(v["terminal"]["mismatch"], false, "{v}");
    stop_gracefully(child, notify).await;

    // A payment at the terminal that the lane's journal never saw (another ECR, USD).
    let mut other = zvt::transport::TransportConfig::tcp(terminal.addr().unwrap().to_string());
    other.currency = 840;
    let mut other = zvt::transport::Terminal::new(other, zvt::transport::NoRetry).unwrap();
    let o = other
        .authorize(
            zvt::command::PaymentRequest::new("5.00".parse().unwrap()),
            zvt::transport::NoEvents,
        )
        .await
        .unwrap();
    assert!(o.is_approved());
    drop(other);

    // By CLI on a stopped agent: on its store and terminal directly.
    let out = cli(config, &["terminal", "end-of-day"]);
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains("End of day: ok"), "{text}");
    let rows = end_of_day_rows(dir);
    let triggers: Vec<&str> = rows.iter().map(|r| r.0.as_str()).collect();
    assert_eq!(triggers, ["api", "api", "cli"], "{rows:?}");
    assert!(rows.iter().all(|r| r.1 == "ok"), "{rows:?}");
    assert_eq!(rows[0].2.as_deref(), Some("12.34"));
    assert_eq!(rows[2].2.as_deref(), Some("5.00"));

    // The report flags the difference: the terminal took 17.34, the journal 12.34 by card.
    let out = cli(config, &["report"]);
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "{text}");
    assert!(
        text.contains("DIFFERENCE: terminal and journal card totals differ by 5.00"),
        "{text}"
    );
    let v = json_of(&cli(config, &["report", "--json"]));
    assert_eq!(v["terminal"]["mismatch"], true, "{v}");
    assert_eq!(v["terminal"]["total"], "17.34", "{v}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_scheduled_end_of_day_runs_unattended() {
    // A few seconds ahead (local time): the test waits on the terminal's event, not a clock.
    let at = (chrono::Local::now() + chrono::Duration::seconds(8)).format("%H:%M:%S");
    let extra = format!("end_of_day_at = \"{at}\"\n");
    let l = lane("EUR", &extra).await;
    let mut events = l.terminal().control().subscribe();
    let (child, notify) = l.start().await;
    tokio::time::timeout(WAIT, async {
        loop {
            match events.recv().await {
                Ok(SimEvent::Done([0x06, 0x50])) => break,
                Ok(_) => continue,
                Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => continue,
                Err(e) => panic!("{e}"),
            }
        }
    })
    .await
    .expect("the scheduled end of day reached the terminal");
    // The run is journaled once its answer is in: wait for the row, bounded.
    let rows = tokio::time::timeout(WAIT, async {
        loop {
            let rows = end_of_day_rows(l.dir.path());
            if !rows.is_empty() {
                return rows;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await
    .expect("the scheduled end of day journaled");
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!((rows[0].0.as_str(), rows[0].1.as_str()), ("schedule", "ok"));
    stop_gracefully(child, notify).await;
}

/// The engine's terminal port: Refund (06 31) approves and shows in the terminal's journal;
/// a refund whose answer is lost is settled by the terminal's evidence and never sent again.
#[tokio::test]
async fn the_terminal_port_refunds_and_recovers_a_lost_refund() {
    let terminal =
        SimTerminal::start_tcp("127.0.0.1:0".parse().unwrap(), SimTerminalConfig::default())
            .await
            .unwrap();
    let port = port_for(&terminal, "USD");
    let req = |amount: &str| TerminalRequest {
        amount: amount.parse().unwrap(),
        reference: "r-1".into(),
    };
    let o = port.refund(&req("7.50")).await.unwrap();
    assert!(o.approved, "{o:?}");
    assert_eq!(o.amount, "7.50".parse().unwrap());
    assert!(o.receipt_lines.contains(&"REFUND".to_owned()), "{o:?}");
    assert!(o.receipt_lines.contains(&"USD 7.50".to_owned()), "{o:?}");
    let refunds = terminal.control().refunds();
    assert_eq!(refunds.len(), 1);
    assert_eq!(refunds[0].receipt, o.receipt_no.unwrap() as u16);

    // The answer is lost after the terminal approved: recovered from its evidence.
    let intent = RecoveryIntent {
        amount: "4.20".parse().unwrap(),
        trace_before: port.last_trace().await,
    };
    terminal.control().inject(Fault::DropAfterApproval);
    match port.refund(&req("4.20")).await {
        Err(TerminalError::OutcomeUnknown(_)) => {}
        other => panic!("expected an unknown outcome, got {other:?}"),
    }
    match port.recover(&intent).await.unwrap() {
        Recovered::Approved(o) => {
            assert_eq!(
                o.receipt_no,
                Some(u32::from(terminal.control().refunds()[1].receipt))
            );
        }
        other => panic!("expected approved, got {other:?}"),
    }
    assert_eq!(
        terminal.control().refunds().len(),
        2,
        "never refunded twice"
    );
    assert!(port.supports_end_of_day());
}

/// The terminal port for a lane in `currency` against `terminal`.
fn port_for(terminal: &SimTerminal, currency: &str) -> ZvtTerminal {
    let raw = format!(
        r#"[lane]
store_code = "S"
register_code = "L"
currency = "{currency}"
[pos]
graphql_url = "http://127.0.0.1:1/graphql"
issuer_url = "http://127.0.0.1:1/"
client_id = "c"
client_secret_file = "/run/secret"
[api]
listen = "127.0.0.1:0"
token_file = "/run/token"
[store]
path = "/tmp/x.db"
[terminal]
protocol = "zvt"
transport = "tcp"
address = "{}"
password = "000000"
"#,
        terminal.addr().unwrap()
    );
    let cfg = lane_agent::config::Config::validate(lane_agent::config::parse(&raw).unwrap())
        .expect("valid config");
    ZvtTerminal::new(transport_config(&cfg.terminal), None).unwrap()
}

/// A yen lane: no minor unit, so 1200 yen reach BMP 04 as the digits 1200; the register's
/// amounts and the terminal's answers stay in yen.
#[tokio::test]
async fn a_yen_lane_puts_yen_on_the_wire() {
    let terminal =
        SimTerminal::start_tcp("127.0.0.1:0".parse().unwrap(), SimTerminalConfig::default())
            .await
            .unwrap();
    let port = port_for(&terminal, "JPY");
    let o = port
        .authorize(&TerminalRequest {
            amount: "1200".parse().unwrap(),
            reference: "r-jpy".into(),
        })
        .await
        .unwrap();
    assert!(o.approved, "{o:?}");
    assert_eq!(o.amount.to_string(), "1200");
    assert_eq!(terminal.control().currency(), 392);
    // The codec reads BMP 04 as hundredths: the terminal's 12.00 is 1200 minor units.
    assert_eq!(
        terminal.control().journal()[0].amount,
        "12.00".parse().unwrap()
    );
    assert!(o.receipt_lines.contains(&"JPY 1200".to_owned()), "{o:?}");
    let t = port.end_of_day(true).await.unwrap();
    assert_eq!((t.ok, t.currency.as_str()), (true, "JPY"));
    assert_eq!(t.total.map(|m| m.to_string()).as_deref(), Some("1200"));
}
