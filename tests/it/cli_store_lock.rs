//! Issue 13 item 8: the operator CLI never opens the live database. The running service holds
//! the store's lock file; a CLI that cannot reach the API (here: its config names another
//! port) refuses with a clear message instead of opening the store as a second writer. Once
//! the service stopped, the same command opens the store directly.

use crate::support::agent::{cli, free_port, start_quiet, stop_gracefully};
use crate::support::lane::TestLane;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cli_refuses_the_store_while_the_service_holds_it() {
    let TestLane {
        dir,
        pos: _pos,
        config,
        ..
    } = TestLane::without_terminal()
        .token("store-lock-token-0123456789")
        .request_timeout_ms(2000)
        .build()
        .await;
    let (child, notify) = start_quiet(&config, dir.path()).await;
    assert!(lane_agent::store::lock_path(&dir.path().join("agent.db")).exists());

    // The operator's view of the same lane, but the API it names does not answer.
    let text = std::fs::read_to_string(&config).unwrap();
    let listen = text
        .lines()
        .find(|l| l.starts_with("listen = "))
        .unwrap()
        .to_owned();
    let cli_config = dir.path().join("cli.toml");
    std::fs::write(
        &cli_config,
        text.replace(&listen, &format!("listen = \"127.0.0.1:{}\"", free_port())),
    )
    .unwrap();

    for args in [&["status", "--json"][..], &["outbox", "list", "--json"][..]] {
        let c = cli_config.clone();
        let out = tokio::task::spawn_blocking(move || cli(&c, args))
            .await
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{args:?} opened the live store");
        assert!(
            stderr.contains("refusing to open the live database"),
            "{args:?}: {stderr}"
        );
    }

    stop_gracefully(child, notify).await;
    let c = cli_config.clone();
    let out = tokio::task::spawn_blocking(move || cli(&c, &["status", "--json"]))
        .await
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
