//! `hardware-sim pos` as a process: seed file, script file, readiness in the log.

use std::net::SocketAddr;
use std::process::Stdio;
use std::time::Duration;

use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Command;

const SEED: &str = r#"
token_ttl_secs = 60
[environment]
name = "cli-test"
version = "1"
[[client]]
id = "lane"
secret = "s3cret-value"
permissions = ["AddPurchase"]
[[location]]
code = "DALLAS"
"#;

const SCRIPT: &str = r#"
[[fault]]
target = { operation = "environment" }
kind = "fusion_error"
times = 1
"#;

#[tokio::test]
async fn runs_a_seed_file_with_a_script() {
    let dir = tempfile::tempdir().unwrap();
    let seed = dir.path().join("seed.toml");
    let script = dir.path().join("script.toml");
    std::fs::write(&seed, SEED).unwrap();
    std::fs::write(&script, SCRIPT).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_hardware-sim"))
        .args(["pos", "--listen", "127.0.0.1:0", "--seed"])
        .arg(&seed)
        .arg("--script")
        .arg(&script)
        .env("RUST_LOG", "info")
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let addr: SocketAddr = tokio::time::timeout(Duration::from_secs(30), async {
        loop {
            let line = lines
                .next_line()
                .await
                .unwrap()
                .expect("simulator exited early");
            if line.contains("POS simulator ready")
                && let Some(at) = line.find("issuer=http://")
            {
                let rest = &line[at + 14..];
                let end = rest.find(' ').unwrap_or(rest.len());
                return rest[..end].parse().unwrap();
            }
        }
    })
    .await
    .expect("the simulator logs its address");
    // Keep draining the output so the child never blocks on a full pipe; the live lines
    // are kept for the assertions below.
    let (tx, mut live) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Ok(Some(l)) = lines.next_line().await {
            let _ = tx.send(l);
        }
    });

    let base = format!("http://{addr}");
    let http = crate::support::pos::http();
    let token: Value = http
        .post(format!("{base}/connect/token"))
        .basic_auth("lane", Some("s3cret-value"))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(token["expires_in"], 60);
    let token = token["access_token"].as_str().unwrap();
    let ask = || {
        http.post(format!("{base}/api/graphql"))
            .bearer_auth(token)
            .json(&json!({"query": "{ environment { name } }"}))
            .send()
    };
    let first: Value = ask().await.unwrap().json().await.unwrap();
    assert_eq!(crate::support::pos::code(&first), Some("FUSION_ERROR"));
    let second: Value = ask().await.unwrap().json().await.unwrap();
    assert_eq!(second["data"]["environment"]["name"], "cli-test");
    let refused = http
        .post(format!("{base}/connect/token"))
        .basic_auth("lane", Some("wrong"))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 401);

    // The live console told the session in words, in order, without the secret.
    let mut seen: Vec<String> = Vec::new();
    let expected = [
        "POS → token issued to lane",
        "POS ← environment from lane",
        "POS fault injected on environment: FusionError",
        "POS ← environment from lane",
        "POS → environment: ok",
        "POS → token refused to lane: wrong credentials",
    ];
    let mut next = 0;
    tokio::time::timeout(Duration::from_secs(10), async {
        while next < expected.len() {
            let line = live.recv().await.expect("simulator output ended");
            if line.ends_with(expected[next]) {
                next += 1;
            }
            seen.push(line);
        }
    })
    .await
    .unwrap_or_else(|_| panic!("missing {:?} in:\n{}", expected.get(next), seen.join("\n")));
    assert!(!seen.iter().any(|l| l.contains("s3cret-value")));
    child.kill().await.unwrap();
}

#[tokio::test]
async fn a_bad_seed_is_refused_with_every_problem_named() {
    let dir = tempfile::tempdir().unwrap();
    let seed = dir.path().join("seed.toml");
    std::fs::write(
        &seed,
        "[[client]]\nid = \"a\"\nsecret = \"b\"\npermissions = [\"AddPurchases\"]\n",
    )
    .unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_hardware-sim"))
        .args(["pos", "--listen", "127.0.0.1:0", "--seed"])
        .arg(&seed)
        .output()
        .await
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("unknown permission AddPurchases"),
        "{stderr}"
    );
}
