//! `lane-agent doctor` against the in-process POS stand-in, a simulated ZVT terminal on TCP
//! and a simulated reader on a pseudo-terminal: all pass on a good setup, and each broken
//! part is named with the exit code of its kind.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use hardware_sim::pos::{PosSim, Seed};
use hardware_sim::reader::{SimReader, SimReaderConfig};
use hardware_sim::terminal::{SimTerminal, SimTerminalConfig};
use lane_agent::doctor::{self, DoctorReport, Status};
use lane_agent::store::{Db, StoreOptions};

const EXAMPLE: &str = include_str!("../../config/lane-agent.toml");
const CLIENT_SECRET: &str = "lane-agent-sim-secret-0123456789";
const API_TOKEN: &str = "doctor-test-api-token-0123";

struct Setup {
    dir: tempfile::TempDir,
    pos: PosSim,
    _terminal: SimTerminal,
    _reader: SimReader,
    config: PathBuf,
    secret_file: PathBuf,
    db: PathBuf,
}

impl Setup {
    async fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let pos = PosSim::start("127.0.0.1:0".parse().unwrap(), Seed::example())
            .await
            .unwrap();
        let terminal =
            SimTerminal::start_tcp("127.0.0.1:0".parse().unwrap(), SimTerminalConfig::default())
                .await
                .unwrap();
        let reader_link = dir.path().join("msr");
        let reader = SimReader::start(&reader_link, SimReaderConfig::default())
            .await
            .unwrap();
        let secret_file = private(
            dir.path(),
            "pos-client-secret",
            &format!("{CLIENT_SECRET}\n"),
        );
        let token_file = private(dir.path(), "api-token", &format!("{API_TOKEN}\n"));
        let db = dir.path().join("agent.db");
        let text = EXAMPLE
            .replace("https://pos.example.com/api/graphql", &pos.graphql_url())
            .replace("https://pos.example.com/", &pos.issuer_url())
            .replace(
                "/run/credentials/lane-agent.service/pos-client-secret",
                secret_file.to_str().unwrap(),
            )
            .replace(
                "/run/credentials/lane-agent.service/api-token",
                token_file.to_str().unwrap(),
            )
            // These tests edit the inline password; the credential file has its own tests.
            .replace(
                "password_file = \"/run/credentials/lane-agent.service/zvt-password\"",
                "password = \"000000\"",
            )
            .replace("/var/lib/lane-agent/agent.db", db.to_str().unwrap())
            .replace("127.0.0.1:20007", &terminal.addr().unwrap().to_string())
            .replace("/dev/lane/msr", reader_link.to_str().unwrap());
        let config = dir.path().join("lane-agent.toml");
        fs::write(&config, text).unwrap();
        Self {
            dir,
            pos,
            _terminal: terminal,
            _reader: reader,
            config,
            secret_file,
            db,
        }
    }

    fn edit_config(&self, from: &str, to: &str) {
        let text = fs::read_to_string(&self.config).unwrap();
        assert!(text.contains(from), "config has no {from:?}");
        fs::write(&self.config, text.replace(from, to)).unwrap();
    }

    async fn doctor(&self) -> (DoctorReport, String) {
        let mut out = Vec::new();
        let report = doctor::run(&self.config, false, &mut out).await.unwrap();
        (report, String::from_utf8(out).unwrap())
    }
}

fn private(dir: &Path, name: &str, contents: &str) -> PathBuf {
    let path = dir.join(name);
    fs::write(&path, contents).unwrap();
    fs::set_permissions(&path, fs::Permissions::from_mode(0o600)).unwrap();
    path
}

fn failures(report: &DoctorReport) -> Vec<String> {
    report
        .checks
        .iter()
        .filter(|c| c.status == Status::Fail)
        .map(|c| format!("{} {}: {}", c.area, c.name, c.reason))
        .collect()
}

fn find<'a>(report: &'a DoctorReport, area: &str, name: &str) -> &'a doctor::Check {
    report
        .checks
        .iter()
        .find(|c| c.area == area && c.name == name)
        .unwrap_or_else(|| panic!("no check {area} {name} in {:#?}", report.checks))
}

#[tokio::test]
async fn a_good_setup_passes_every_check() {
    let s = Setup::new().await;
    // A real journal, created the way the agent creates it.
    drop(Db::open(&StoreOptions::new(&s.db)).unwrap());
    let (report, text) = s.doctor().await;
    assert_eq!(failures(&report), Vec::<String>::new(), "{text}");
    assert_eq!(report.exit_code(), 0);
    assert_eq!(
        find(&report, "store", "integrity_check").status,
        Status::Pass
    );
    assert!(
        find(&report, "store", "journal_mode")
            .reason
            .starts_with("wal")
    );
    assert_eq!(
        find(&report, "terminal", "registration").status,
        Status::Pass
    );
    assert!(
        find(&report, "terminal", "status")
            .reason
            .contains("PT ready")
    );
    assert_eq!(find(&report, "reader", "reader msr").status, Status::Pass);
    assert_eq!(find(&report, "oidc", "token").status, Status::Pass);
    assert_eq!(
        find(&report, "pos", "environment").reason,
        "hardware-sim sim-1"
    );
    assert!(
        find(&report, "pos", "location")
            .reason
            .starts_with("DALLAS exists")
    );
    assert_eq!(find(&report, "schema", "operations").status, Status::Pass);
    // The stand-in serves plain HTTP: a warning, not a failure.
    assert!(
        report
            .checks
            .iter()
            .any(|c| c.status == Status::Warn && c.reason == "plain HTTP (test setups only)")
    );
    assert!(
        text.contains("PASS  store     integrity_check: ok"),
        "{text}"
    );
    assert!(!text.contains(CLIENT_SECRET) && !text.contains(API_TOKEN));

    let mut json = Vec::new();
    report.render(true, &mut json).unwrap();
    let parsed: serde_json::Value = serde_json::from_slice(&json).unwrap();
    let rows = parsed.as_array().unwrap();
    assert_eq!(rows.len(), report.checks.len());
    assert!(rows.iter().all(|r| r["status"] != "fail"));
    assert!(
        rows.iter()
            .any(|r| r["area"] == "schema" && r["status"] == "pass")
    );
    assert!(!String::from_utf8(json).unwrap().contains(CLIENT_SECRET));
    s.pos.shutdown().await;
}

#[tokio::test]
async fn a_wrong_client_secret_fails_the_token_check() {
    let s = Setup::new().await;
    fs::write(&s.secret_file, "not-the-secret\n").unwrap();
    let (report, text) = s.doctor().await;
    let token = find(&report, "oidc", "token");
    assert_eq!(token.status, Status::Fail, "{text}");
    assert!(
        token
            .reason
            .contains("invalid_client: check client id/secret"),
        "{text}"
    );
    assert_eq!(find(&report, "pos", "environment").status, Status::Skip);
    assert_eq!(report.exit_code(), 64);
    assert!(!text.contains("not-the-secret"));
    s.pos.shutdown().await;
}

#[tokio::test]
async fn a_secret_readable_by_others_fails() {
    let s = Setup::new().await;
    fs::set_permissions(&s.secret_file, fs::Permissions::from_mode(0o644)).unwrap();
    let (report, _) = s.doctor().await;
    let check = find(&report, "secrets", "pos.client_secret_file");
    assert_eq!(check.status, Status::Fail);
    assert!(check.reason.contains("mode 0644"), "{}", check.reason);
    assert_eq!(find(&report, "oidc", "token").status, Status::Skip);
    assert_eq!(report.exit_code(), 64);
    s.pos.shutdown().await;
}

#[tokio::test]
async fn the_pos_offline_fails_with_exit_69() {
    let s = Setup::new().await;
    s.pos.control().set_online(false).await;
    let (report, text) = s.doctor().await;
    let tcp = format!("tcp {}", s.pos.addr());
    assert_eq!(find(&report, "pos", &tcp).status, Status::Fail, "{text}");
    assert_eq!(find(&report, "oidc", "token").status, Status::Skip);
    assert_eq!(report.exit_code(), 69, "{text}");
    s.pos.shutdown().await;
}

#[tokio::test]
async fn a_corrupt_store_fails_with_exit_74() {
    let s = Setup::new().await;
    fs::write(&s.db, vec![0x5a; 8192]).unwrap();
    let (report, text) = s.doctor().await;
    assert_eq!(
        find(&report, "store", "integrity_check").status,
        Status::Fail,
        "{text}"
    );
    assert_eq!(report.exit_code(), 74, "{text}");
    s.pos.shutdown().await;
}

#[tokio::test]
async fn a_missing_reader_fails() {
    let s = Setup::new().await;
    let gone = s.dir.path().join("no-such-msr");
    s.edit_config(s._reader.link().to_str().unwrap(), gone.to_str().unwrap());
    let (report, text) = s.doctor().await;
    let reader = find(&report, "reader", "reader msr");
    assert_eq!(reader.status, Status::Fail, "{text}");
    assert!(
        reader.reason.contains("does not exist"),
        "{}",
        reader.reason
    );
    assert_eq!(report.exit_code(), 69);
    s.pos.shutdown().await;
}

#[tokio::test]
async fn an_unreachable_terminal_fails_and_skips_registration() {
    let s = Setup::new().await;
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let closed_addr = closed.local_addr().unwrap().to_string();
    drop(closed);
    s.edit_config(&s._terminal.addr().unwrap().to_string(), &closed_addr);
    let (report, text) = s.doctor().await;
    assert_eq!(
        find(&report, "terminal", "connect").status,
        Status::Fail,
        "{text}"
    );
    assert_eq!(
        find(&report, "terminal", "registration").status,
        Status::Skip
    );
    assert_eq!(report.exit_code(), 69);
    // The POS checks still ran.
    assert_eq!(find(&report, "schema", "operations").status, Status::Pass);
    s.pos.shutdown().await;
}

#[tokio::test]
async fn a_wrong_terminal_password_is_named() {
    let s = Setup::new().await;
    s.edit_config("password = \"000000\"", "password = \"123456\"");
    let (report, text) = s.doctor().await;
    let reg = find(&report, "terminal", "registration");
    assert_eq!(reg.status, Status::Fail, "{text}");
    assert!(
        reg.reason.contains("check terminal.password"),
        "{}",
        reg.reason
    );
    assert_eq!(report.exit_code(), 64);
    s.pos.shutdown().await;
}

#[tokio::test]
async fn a_serial_terminal_on_a_pty_passes() {
    let s = Setup::new().await;
    let link = s.dir.path().join("terminal");
    let _pt = SimTerminal::start_pty(&link, SimTerminalConfig::default())
        .await
        .unwrap();
    s.edit_config(
        &format!(
            "transport = \"tcp\"                # or \"serial\"\naddress = \"{}\"",
            s._terminal.addr().unwrap()
        ),
        &format!(
            "transport = \"serial\"\ndevice = \"{}\"\nbaud = 9600",
            link.display()
        ),
    );
    let (report, text) = s.doctor().await;
    assert_eq!(
        find(&report, "terminal", "device").status,
        Status::Pass,
        "{text}"
    );
    assert_eq!(
        find(&report, "terminal", "registration").status,
        Status::Pass,
        "{text}"
    );
    assert!(
        find(&report, "terminal", "status")
            .reason
            .contains("PT ready"),
        "{text}"
    );
    assert_eq!(report.exit_code(), 0, "{text}");
    s.pos.shutdown().await;
}

#[tokio::test]
async fn https_to_a_server_without_tls_fails_the_handshake() {
    let s = Setup::new().await;
    let http = s.pos.graphql_url();
    s.edit_config(
        &format!("graphql_url = \"{http}\""),
        &format!(
            "graphql_url = \"{}\"",
            http.replacen("http://", "https://", 1)
        ),
    );
    let (report, text) = s.doctor().await;
    let tls = find(&report, "pos", &format!("tls {}", s.pos.addr()));
    assert_eq!(tls.status, Status::Fail, "{text}");
    assert_eq!(find(&report, "oidc", "token").status, Status::Skip);
    assert_eq!(report.exit_code(), 69);
    s.pos.shutdown().await;
}

#[tokio::test]
async fn an_issuer_with_another_trailing_slash_fails_discovery() {
    let s = Setup::new().await;
    let issuer = s.pos.issuer_url();
    s.edit_config(
        &format!("issuer_url = \"{issuer}\""),
        &format!("issuer_url = \"{issuer}/\""),
    );
    let (report, text) = s.doctor().await;
    let disc = find(&report, "oidc", "discovery");
    assert_eq!(disc.status, Status::Fail, "{text}");
    assert!(
        disc.reason.contains("must match exactly"),
        "{}",
        disc.reason
    );
    assert_eq!(find(&report, "oidc", "token").status, Status::Skip);
    assert_eq!(report.exit_code(), 64);
    s.pos.shutdown().await;
}

#[tokio::test]
async fn an_unknown_store_code_fails_the_location_check() {
    let s = Setup::new().await;
    s.edit_config("store_code = \"DALLAS\"", "store_code = \"NOWHERE\"");
    let (report, text) = s.doctor().await;
    let loc = find(&report, "pos", "location");
    assert_eq!(loc.status, Status::Fail, "{text}");
    assert!(loc.reason.contains("NOWHERE"));
    assert_eq!(report.exit_code(), 64);
    s.pos.shutdown().await;
}

#[tokio::test]
async fn an_invalid_config_lists_every_problem_with_its_key_path() {
    let s = Setup::new().await;
    s.edit_config("request_timeout_ms = 10000", "request_timeout_ms = -1");
    s.edit_config("register_code = \"LANE01\"", "register_code = \"\"");
    let (report, text) = s.doctor().await;
    let names: Vec<&str> = report
        .in_area("config")
        .filter(|c| c.status == Status::Fail)
        .map(|c| c.name.as_str())
        .collect();
    assert!(names.contains(&"pos.request_timeout_ms"), "{text}");
    assert!(names.contains(&"lane.register_code"), "{text}");
    assert_eq!(find(&report, "store", "all").status, Status::Skip);
    assert_eq!(report.exit_code(), 64);
    s.pos.shutdown().await;
}
