//! `lane-agent check-config` as a process: exit 0 for a valid file, exit 64 with every
//! problem and its key path otherwise, human and JSON output.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const EXAMPLE: &str = include_str!("../../config/lane-agent.toml");

/// A valid config in a temp dir: the example with its paths moved there.
struct Fixture {
    dir: tempfile::TempDir,
    config: PathBuf,
}

impl Fixture {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let secret = write_private(dir.path(), "pos-client-secret", "SENTINEL-client\n");
        let token = write_private(dir.path(), "api-token", "0123456789abcdef0123\n");
        let text = EXAMPLE
            .replace(
                "/run/credentials/lane-agent.service/pos-client-secret",
                secret.to_str().unwrap(),
            )
            .replace(
                "/run/credentials/lane-agent.service/api-token",
                token.to_str().unwrap(),
            )
            // These tests edit the inline password; the credential file has its own tests.
            .replace(
                "password_file = \"/run/credentials/lane-agent.service/zvt-password\"",
                "password = \"000000\"",
            )
            .replace(
                "/var/lib/lane-agent/agent.db",
                dir.path().join("agent.db").to_str().unwrap(),
            );
        let config = dir.path().join("lane-agent.toml");
        fs::write(&config, text).unwrap();
        Self { dir, config }
    }

    fn edit(&self, from: &str, to: &str) -> &Self {
        let text = fs::read_to_string(&self.config).unwrap();
        assert!(text.contains(from), "config lacks {from:?}");
        fs::write(&self.config, text.replacen(from, to, 1)).unwrap();
        self
    }

    fn check(&self, extra: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_lane-agent"))
            .arg("check-config")
            .arg("--config")
            .arg(&self.config)
            .args(extra)
            .env_remove("LANE_AGENT_CONFIG")
            .output()
            .unwrap()
    }
}

fn write_private(dir: &Path, name: &str, contents: &str) -> PathBuf {
    let path = dir.join(name);
    fs::write(&path, contents).unwrap();
    fs::set_permissions(&path, fs::Permissions::from_mode(0o600)).unwrap();
    path
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

#[test]
fn a_valid_config_exits_zero() {
    let f = Fixture::new();
    let out = f.check(&[]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        stdout(&out),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout(&out).contains(": OK"), "{}", stdout(&out));
}

#[test]
fn every_problem_is_printed_with_its_key_path_and_exit_is_64() {
    let f = Fixture::new();
    f.edit("request_timeout_ms = 10000", "request_timeout_ms = 0")
        .edit(
            "listen = \"127.0.0.1:7311\"",
            "listen = \"192.168.1.9:7311\"",
        )
        .edit("password = \"000000\"", "password = \"abc\"")
        .edit(
            "max_transaction_amount = \"50.00\"",
            "max_transaction_amount = \"900.00\"",
        )
        .edit("device = \"/dev/lane/msr\"", "device = \"msr\"");
    let out = f.check(&[]);
    assert_eq!(out.status.code(), Some(64));
    let text = stdout(&out);
    assert!(text.contains("5 problem(s)"), "{text}");
    for key in [
        "pos.request_timeout_ms (line ",
        "api.listen (line ",
        "terminal.password (line ",
        "offline.max_transaction_amount (line ",
        "reader[0].device (line ",
    ] {
        assert!(text.contains(key), "missing {key} in:\n{text}");
    }
}

#[test]
fn a_wrongly_typed_key_does_not_hide_its_neighbours() {
    let f = Fixture::new();
    let secret = f.dir.path().join("pos-client-secret");
    f.edit("request_timeout_ms = 10000", "request_timeout_ms = -5")
        .edit(
            "graphql_url = \"https://pos.example.com/api/graphql\"",
            "graphql_url = \"not a url\"",
        );
    fs::remove_file(&secret).unwrap();
    let out = f.check(&[]);
    assert_eq!(out.status.code(), Some(64));
    let text = stdout(&out);
    assert!(text.contains("3 problem(s)"), "{text}");
    for key in [
        "pos.request_timeout_ms (line ",
        "pos.graphql_url (line ",
        "pos.client_secret_file (line ",
    ] {
        assert!(text.contains(key), "missing {key} in:\n{text}");
    }
}

#[test]
fn json_output_lists_problems_with_paths() {
    let f = Fixture::new();
    f.edit("store_code = \"DALLAS\"", "store_code = \"\"")
        .edit("kind = \"serial-msr\"", "kind = \"laser\"");
    let out = f.check(&["--json"]);
    assert_eq!(out.status.code(), Some(64));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(v["valid"], false);
    let paths: Vec<&str> = v["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["path"].as_str().unwrap())
        .collect();
    assert_eq!(paths, ["lane.store_code", "reader[0].kind"]);
    assert!(v["problems"][0]["location"]["line"].as_u64().unwrap() > 1);

    let ok = Fixture::new().check(&["--json"]);
    let v: serde_json::Value = serde_json::from_slice(&ok.stdout).expect("json");
    assert_eq!(
        (ok.status.code(), v["valid"].as_bool()),
        (Some(0), Some(true))
    );
}

#[test]
fn a_world_readable_secret_is_refused() {
    let f = Fixture::new();
    let secret = f.dir.path().join("pos-client-secret");
    fs::set_permissions(&secret, fs::Permissions::from_mode(0o644)).unwrap();
    let out = f.check(&[]);
    assert_eq!(out.status.code(), Some(64));
    let text = stdout(&out);
    assert!(
        text.contains("pos.client_secret_file") && text.contains("0644"),
        "{text}"
    );
    assert!(!text.contains("SENTINEL"), "secret printed: {text}");
}

#[test]
fn a_toml_syntax_error_names_line_and_column() {
    let f = Fixture::new();
    f.edit("max_count = 100", "max_count = 100 100");
    let out = f.check(&[]);
    assert_eq!(out.status.code(), Some(64));
    assert!(
        stdout(&out).contains("offline.max_count (line "),
        "{}",
        stdout(&out)
    );
}

#[test]
fn a_missing_file_exits_64() {
    let out = Command::new(env!("CARGO_BIN_EXE_lane-agent"))
        .args(["check-config", "--config", "/nonexistent/lane-agent.toml"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(64));
    assert!(stdout(&out).contains("cannot read"), "{}", stdout(&out));
}

#[test]
fn the_config_path_can_come_from_the_environment() {
    let f = Fixture::new();
    let out = Command::new(env!("CARGO_BIN_EXE_lane-agent"))
        .arg("check-config")
        .env("LANE_AGENT_CONFIG", &f.config)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    assert!(stdout(&out).contains(f.config.to_str().unwrap()));
}

#[test]
fn a_reader_may_be_named_by_its_usb_identity_but_a_wedge_needs_a_path() {
    let f = Fixture::new();
    f.edit(
        "device = \"/dev/lane/msr\"",
        "device = \"usb:0801:0002:SN123\"",
    );
    let out = f.check(&[]);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));

    f.edit("kind = \"serial-msr\"", "kind = \"hid-wedge\"");
    let out = f.check(&[]);
    assert_eq!(out.status.code(), Some(64));
    let text = stdout(&out);
    assert!(
        text.contains("reader[0].device (line ") && text.contains("needs a path"),
        "{text}"
    );

    let f = Fixture::new();
    f.edit("device = \"/dev/lane/msr\"", "device = \"usb:08x1:0002\"");
    let out = f.check(&[]);
    assert_eq!(out.status.code(), Some(64));
    assert!(stdout(&out).contains("usb:VID:PID"), "{}", stdout(&out));
}
