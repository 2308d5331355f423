//! Benchmark: each register step through the local API, as a register sees it (one
//! keep-alive HTTP connection, the agent wired as `lane-agent run` wires it), next to its
//! floor measured in the same run, interleaved with the steps so both see the same machine:
//!
//! - one bare SQLite insert+commit (WAL, synchronous=FULL, BEGIN IMMEDIATE) on the same disk,
//! - one keep-alive HTTP round trip to the agent (`GET /v1/health`) on the same connection,
//! - for steps that must talk to the POS, the bare `PosClient` call they make (a gift-card
//!   authorize, a capture) to the same stand-in.
//!
//! A step's floor is one commit plus one round trip plus the POS calls it must make; the bench
//! prints each step's median, its floor and the ratio (goal: at most 1.3). The offline
//! gift-card approval runs with the POS stand-in switched off, once the agent reports the
//! link offline.
//!
//! The stand-ins run on a runtime of their own (in production they are other machines), the
//! agent on the multi-thread runtime `lane-agent run` builds, the client on this thread.
//!
//! Run: `cargo run --release -p lane-agent --example register_steps_bench [N]` (N = 300,
//! after a warm-up of N/10, at least 20). The files go to `$TMPDIR`: run it on the disk the
//! agent will use.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::time::{Duration, Instant};

use hardware_sim::pos::{CodeType as SeedCodeType, PosSim, Seed, SeedGiftcard, SeedGiftcardCode};
use hardware_sim::terminal::{SimTerminal, SimTerminalConfig};
use pos_client::{CodeType, GiftCode, GiftcardTransRequest, PosClient, PosConfig, TransType};
use reqwest::StatusCode;
use secrecy::SecretString;
use serde_json::{Value, json};

const TOKEN: &str = "register-steps-bench-token-0123456789";
/// The register's card and the floor's card: separate, so the floor's holds never change
/// what the agent sees. Large balances: every iteration holds and captures 10.00.
const AGENT_CARD: &str = "6006499000000001";
const FLOOR_CARD: &str = "6006499000000002";

fn card(id: &str, code: &str) -> SeedGiftcard {
    SeedGiftcard {
        id: id.into(),
        member_id: None,
        balance: "100000000.00".parse().expect("decimal"),
        codes: vec![SeedGiftcardCode {
            code_type: SeedCodeType::Physical,
            code: code.into(),
            pin: None,
            expires_on: None,
        }],
    }
}

fn private(dir: &Path, name: &str, contents: &str) -> String {
    let path = dir.join(name);
    fs::write(&path, contents).expect("write secret");
    fs::set_permissions(&path, fs::Permissions::from_mode(0o600)).expect("chmod");
    path.display().to_string()
}

fn config(dir: &Path, pos: &PosSim, terminal: &str) -> std::path::PathBuf {
    let secret = private(
        dir,
        "pos-client-secret",
        "lane-agent-sim-secret-0123456789\n",
    );
    let token = private(dir, "api-token", &format!("{TOKEN}\n"));
    let text = format!(
        r#"[lane]
store_code = "DALLAS"
register_code = "LANE01"
currency = "USD"

[pos]
graphql_url = "{graphql}"
issuer_url = "{issuer}"
client_id = "lane-agent"
client_secret_file = "{secret}"
request_timeout_ms = 3000

[api]
listen = "127.0.0.1:0"
token_file = "{token}"

[store]
path = "{store}"

[terminal]
protocol = "zvt"
transport = "tcp"
address = "{terminal}"
password = "000000"

[offline]
enabled = true
max_transaction_amount = "50.00"
max_total_amount = "500.00"
max_count = 100
max_age_hours = 24

[giftcard]
prefixes = ["600649"]
"#,
        graphql = pos.graphql_url(),
        issuer = pos.issuer_url(),
        store = dir.join("agent.db").display(),
    );
    let path = dir.join("lane-agent.toml");
    fs::write(&path, text).expect("write config");
    path
}

fn pos_client(pos: &PosSim) -> PosClient {
    PosClient::new(PosConfig {
        graphql_url: pos.graphql_url(),
        issuer_url: pos.issuer_url(),
        client_id: "lane-agent".into(),
        client_secret: SecretString::from("lane-agent-sim-secret-0123456789".to_owned()),
        request_timeout: Duration::from_secs(10),
        connect_timeout: Duration::from_secs(2),
        max_response_bytes: pos_client::DEFAULT_MAX_RESPONSE_BYTES,
    })
    .expect("client")
}

fn p50(d: &mut [Duration]) -> Duration {
    d.sort();
    d[(d.len() - 1) / 2]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// The register: one keep-alive connection to the agent's API.
struct Register {
    http: reqwest::Client,
    base: String,
}

impl Register {
    async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let mut req = self
            .http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(TOKEN);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let res = req.send().await.expect("request");
        let status = res.status();
        let v: Value = res.json().await.expect("json body");
        assert!(
            status == StatusCode::OK || status == StatusCode::CREATED,
            "{path}: {status} {v}"
        );
        v
    }

    async fn open(&self, sale_id: &str) -> Value {
        let body = json!({
            "sale_id": sale_id,
            "lines": [{"sku": "ITEM-001", "quantity": "1", "unit_price": "10.00"}],
        });
        self.call(reqwest::Method::POST, "/v1/sales", Some(body))
            .await
    }

    async fn pay(&self, sale_id: &str, body: Value) -> Value {
        self.call(
            reqwest::Method::POST,
            &format!("/v1/sales/{sale_id}/payments"),
            Some(body),
        )
        .await
    }

    async fn complete(&self, sale_id: &str) -> Value {
        self.call(
            reqwest::Method::POST,
            &format!("/v1/sales/{sale_id}/complete"),
            None,
        )
        .await
    }

    async fn health(&self) {
        self.call(reqwest::Method::GET, "/v1/health", None).await;
    }

    async fn link(&self) -> String {
        let v = self.call(reqwest::Method::GET, "/v1/status", None).await;
        v["link"].as_str().unwrap_or_default().to_owned()
    }
}

/// One bare durable commit with the store's settings.
struct BareCommit(rusqlite::Connection, u64);

impl BareCommit {
    fn open(dir: &Path) -> Self {
        let c = rusqlite::Connection::open(dir.join("bare.db")).expect("open");
        c.pragma_update(None, "journal_mode", "wal").expect("wal");
        c.pragma_update(None, "synchronous", "FULL").expect("full");
        c.execute_batch("CREATE TABLE t (id INTEGER PRIMARY KEY, a TEXT, b TEXT)")
            .expect("table");
        BareCommit(c, 0)
    }

    fn time(&mut self) -> Duration {
        self.1 += 1;
        let t = Instant::now();
        self.0.execute_batch("BEGIN IMMEDIATE").expect("begin");
        self.0
            .execute(
                "INSERT INTO t(a, b) VALUES (?1, ?2)",
                rusqlite::params![self.1.to_string(), "10.00"],
            )
            .expect("insert");
        self.0.execute_batch("COMMIT").expect("commit");
        t.elapsed()
    }
}

#[derive(Default)]
struct Samples {
    open: Vec<Duration>,
    cash_pay: Vec<Duration>,
    cash_complete: Vec<Duration>,
    gift_pay: Vec<Duration>,
    gift_complete: Vec<Duration>,
    gift_sale: Vec<Duration>,
    offline_pay: Vec<Duration>,
    commit: Vec<Duration>,
    health: Vec<Duration>,
    pos_auth: Vec<Duration>,
    pos_capture: Vec<Duration>,
}

fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(300);
    let warm = (n / 10).max(20);

    let sims = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("stand-in runtime");
    let mut seed = Seed::example();
    seed.giftcards.push(card("9001", AGENT_CARD));
    seed.giftcards.push(card("9002", FLOOR_CARD));
    let (pos, terminal) = sims.block_on(async {
        let pos = PosSim::start("127.0.0.1:0".parse().expect("addr"), seed)
            .await
            .expect("POS stand-in");
        let terminal = SimTerminal::start_tcp(
            "127.0.0.1:0".parse().expect("addr"),
            SimTerminalConfig::default(),
        )
        .await
        .expect("simulated terminal");
        (pos, terminal)
    });
    let dir = tempfile::tempdir().expect("tempdir");
    let config = config(
        dir.path(),
        &pos,
        &terminal.addr().expect("terminal address").to_string(),
    );

    // The agent, as `lane-agent run` builds it.
    let agent = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("lane-agent")
        .build()
        .expect("agent runtime");
    let (addr, stop, running) = agent.block_on(async {
        let loaded = lane_agent::config::load_file(&config).expect("config");
        // Quick link probing, so that each offline batch below starts soon after the
        // stand-in comes back; capped at 1 s so that, while it is away, the forwarder's
        // retries do not crowd the steps being measured (a lane's own cap is 30 s).
        let fast = pos_client::backoff::Backoff::try_new(
            Duration::from_millis(20),
            Duration::from_secs(1),
            u32::MAX,
        )
        .expect("backoff")
        .without_jitter();
        let service = lane_agent::service::wiring::wire_with(
            loaded,
            lane_agent::service::wiring::WireOptions {
                backoff: Some(fast),
            },
        )
        .await
        .expect("wire");
        let running = service.start().await.expect("start");
        let addr = running.local_addr();
        let stop = running.shutdown_token();
        (addr, stop, tokio::spawn(running.wait()))
    });

    let client = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("client runtime");
    let s = client.block_on(async {
        let reg = Register {
            http: reqwest::Client::builder()
                .pool_max_idle_per_host(1)
                .build()
                .expect("http client"),
            base: format!("http://{addr}"),
        };
        let bare_pos = pos_client(&pos);
        let mut bare = BareCommit::open(dir.path());
        let mut s = Samples::default();
        for i in 0..warm + n {
            let keep = i >= warm;
            // A cash sale, step by step.
            let sid = format!("C{i}");
            let t = Instant::now();
            reg.open(&sid).await;
            let open = t.elapsed();
            let t = Instant::now();
            let a = reg
                .pay(&sid, json!({"method": "cash", "amount": "10.00"}))
                .await;
            let cash_pay = t.elapsed();
            assert_eq!(a["status"], "approved", "{a}");
            let t = Instant::now();
            reg.complete(&sid).await;
            let cash_complete = t.elapsed();

            // An online gift-card sale.
            let sid = format!("G{i}");
            let t0 = Instant::now();
            reg.open(&sid).await;
            let t1 = Instant::now();
            let a = reg
                .pay(
                    &sid,
                    json!({"method": "giftcard", "amount": "10.00", "code": AGENT_CARD}),
                )
                .await;
            let t2 = Instant::now();
            assert_eq!(a["status"], "approved", "{a}");
            reg.complete(&sid).await;
            let t3 = Instant::now();

            // The floors.
            let t = Instant::now();
            reg.health().await;
            let health = t.elapsed();
            let commit = bare.time();
            let t = Instant::now();
            let hold = bare_pos
                .giftcard_trans_add(&GiftcardTransRequest {
                    code_type: Some(CodeType::Physical),
                    code: GiftCode::new(FLOOR_CARD),
                    pin: None,
                    trans_type: TransType::Use,
                    amount: "-10.00".parse().expect("decimal"),
                    source_id: Some("BENCH".into()),
                    ref_no: Some(format!("FLOOR-{i}")),
                    authorize: true,
                })
                .await
                .expect("bare authorize");
            let pos_auth = t.elapsed();
            let t = Instant::now();
            bare_pos
                .giftcard_trans_capture(&hold.id, false)
                .await
                .expect("bare capture");
            let pos_capture = t.elapsed();

            if keep {
                s.open.push(open);
                s.cash_pay.push(cash_pay);
                s.cash_complete.push(cash_complete);
                s.gift_pay.push(t2 - t1);
                s.gift_complete.push(t3 - t2);
                s.gift_sale.push(t3 - t0);
                s.health.push(health);
                s.commit.push(commit);
                s.pos_auth.push(pos_auth);
                s.pos_capture.push(pos_capture);
            }
        }

        // Offline: the stand-in goes away; once the agent says so, gift-card payments are
        // approved from the cached balance under the offline policy. In batches that stay
        // inside the policy's caps (100 approvals, 500.00): between batches the stand-in
        // comes back and the agent forwards what it took, as a lane does.
        let mut i = 0usize;
        let mut w = 0u64;
        while i < warm + n {
            let control = pos.control();
            sims.spawn(async move { control.set_online(false).await })
                .await
                .expect("stand-in off");
            let deadline = Instant::now() + Duration::from_secs(30);
            while reg.link().await != "offline" {
                // A payment is what makes the agent notice a dead link, as at a real lane.
                w += 1;
                let sid = format!("W{w}");
                reg.open(&sid).await;
                reg.pay(
                    &sid,
                    json!({"method": "giftcard", "amount": "1.00", "code": AGENT_CARD}),
                )
                .await;
                assert!(
                    Instant::now() < deadline,
                    "the agent never saw the link go down"
                );
            }
            for _ in 0..40 {
                let sid = format!("O{i}");
                reg.open(&sid).await;
                let t = Instant::now();
                let a = reg
                    .pay(
                        &sid,
                        json!({"method": "giftcard", "amount": "10.00", "code": AGENT_CARD}),
                    )
                    .await;
                let offline_pay = t.elapsed();
                assert_eq!(a["status"], "offline_approved", "{a}");
                let t = Instant::now();
                reg.health().await;
                let health = t.elapsed();
                let commit = bare.time();
                if i >= warm {
                    s.offline_pay.push(offline_pay);
                    s.health.push(health);
                    s.commit.push(commit);
                }
                i += 1;
            }
            let control = pos.control();
            sims.spawn(async move { control.set_online(true).await })
                .await
                .expect("stand-in on");
            let deadline = Instant::now() + Duration::from_secs(60);
            loop {
                let st = reg.call(reqwest::Method::GET, "/v1/status", None).await;
                if st["link"] == "online" && st["outbox"]["pending"] == 0 {
                    break;
                }
                assert!(
                    Instant::now() < deadline,
                    "the backlog was not forwarded: {st}"
                );
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
        s
    });

    stop.cancel();
    agent
        .block_on(running)
        .expect("agent task")
        .expect("agent stopped cleanly");
    sims.block_on(pos.shutdown());

    report(n, warm, dir.path(), s);
}

fn report(n: usize, warm: usize, dir: &Path, mut s: Samples) {
    let commit = p50(&mut s.commit);
    let health = p50(&mut s.health);
    let pos_auth = p50(&mut s.pos_auth);
    let pos_capture = p50(&mut s.pos_capture);
    // A step's floor: the commits it must make (a money movement at the POS journals its
    // intent before the request leaves, then its outcome), one round trip, its POS calls.
    let floor = |commits: u32, trips: u32, pos: Duration| commit * commits + health * trips + pos;
    println!(
        "register steps through the local API against hardware-sim pos: medians of {n} after {warm} warm-up, files in {}",
        dir.display()
    );
    println!(
        "floor parts: commit {:.3} ms, GET /v1/health {:.3} ms, POS authorize {:.3} ms, POS capture {:.3} ms",
        ms(commit),
        ms(health),
        ms(pos_auth),
        ms(pos_capture)
    );
    println!(
        "{:<34} {:>9} {:>9} {:>7}  floor is",
        "step", "p50 ms", "floor ms", "ratio"
    );
    let rows: [(&str, &mut Vec<Duration>, Duration, &str); 7] = [
        (
            "open a sale",
            &mut s.open,
            floor(1, 1, Duration::ZERO),
            "1 commit + 1 trip",
        ),
        (
            "cash payment",
            &mut s.cash_pay,
            floor(1, 1, Duration::ZERO),
            "1 commit + 1 trip",
        ),
        (
            "complete (cash)",
            &mut s.cash_complete,
            floor(1, 1, Duration::ZERO),
            "1 commit + 1 trip",
        ),
        (
            "gift-card payment (online)",
            &mut s.gift_pay,
            floor(2, 1, pos_auth),
            "2 commits + 1 trip + authorize",
        ),
        (
            "complete (gift card, capture)",
            &mut s.gift_complete,
            floor(2, 1, pos_capture),
            "2 commits + 1 trip + capture",
        ),
        (
            "whole online gift-card sale",
            &mut s.gift_sale,
            floor(5, 3, pos_auth + pos_capture),
            "5 commits + 3 trips + 2 POS calls",
        ),
        (
            "gift-card payment (offline)",
            &mut s.offline_pay,
            floor(1, 1, Duration::ZERO),
            "1 commit + 1 trip",
        ),
    ];
    for (name, d, f, what) in rows {
        let m = p50(d);
        println!(
            "{name:<34} {:>9.3} {:>9.3} {:>6.2}x  {what}",
            ms(m),
            ms(f),
            m.as_secs_f64() / f.as_secs_f64()
        );
    }
}
