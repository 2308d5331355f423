//! The command line's surface: usage errors exit 64, help and version exit 0, and the
//! subcommands of interfaces.md §1 all parse.

use std::process::{Command, Output};

fn lane_agent(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_lane-agent"))
        .args(args)
        .env_remove("LANE_AGENT_CONFIG")
        .output()
        .unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn usage_errors_exit_64() {
    for args in [
        &[][..],
        &["frobnicate"],
        &["run", "--bogus"],
        &["check-config", "--config"],
        &["outbox"],
        &["outbox", "show"],
        &["outbox", "resolve", "ob-1"],
        &["outbox", "resolve", "ob-1", "--recorded", "--resend"],
        &["demo", "extra"],
    ] {
        let out = lane_agent(args);
        assert_eq!(out.status.code(), Some(64), "{args:?}: {}", stderr(&out));
        assert!(!stderr(&out).is_empty(), "{args:?} printed no reason");
    }
}

#[test]
fn help_and_version_exit_zero() {
    let help = lane_agent(&["--help"]);
    assert_eq!(help.status.code(), Some(0));
    let text = String::from_utf8_lossy(&help.stdout);
    for sub in ["run", "check-config", "demo", "status", "outbox", "doctor"] {
        assert!(text.contains(sub), "help lacks {sub}: {text}");
    }
    let version = lane_agent(&["--version"]);
    assert_eq!(version.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&version.stdout).contains(env!("CARGO_PKG_VERSION")));
    let outbox_help = lane_agent(&["outbox", "resolve", "--help"]);
    let text = String::from_utf8_lossy(&outbox_help.stdout);
    assert!(
        text.contains("--recorded") && text.contains("--resend"),
        "{text}"
    );
}

/// The operator subcommands parse (the config flag anywhere on the line) and then load the
/// config first: a missing one is exit 64, before any store or API is touched.
#[test]
fn operator_subcommands_parse_and_need_a_config() {
    for args in [
        &["status", "--json", "--config", "/nonexistent/x.toml"][..],
        &["status", "--config", "/nonexistent/x.toml"],
        &[
            "outbox",
            "list",
            "--json",
            "--config",
            "/nonexistent/x.toml",
        ],
        &["outbox", "--config", "/nonexistent/x.toml", "show", "ob-1"],
        &["outbox", "flush", "--config", "/nonexistent/x.toml"],
        &["outbox", "hold", "ob-1", "--config", "/nonexistent/x.toml"],
        &[
            "outbox",
            "resolve",
            "ob-1",
            "--recorded",
            "--config",
            "/nonexistent/x.toml",
        ],
        &[
            "outbox",
            "resolve",
            "ob-1",
            "--resend",
            "--json",
            "--config",
            "/nonexistent/x.toml",
        ],
    ] {
        let out = lane_agent(args);
        assert_eq!(out.status.code(), Some(64), "{args:?}: {}", stderr(&out));
        assert!(
            stderr(&out).contains("cannot read"),
            "{args:?}: {}",
            stderr(&out)
        );
    }
}

#[test]
fn run_with_a_bad_config_exits_64() {
    let out = lane_agent(&["run", "--config", "/nonexistent/lane-agent.toml"]);
    assert_eq!(out.status.code(), Some(64), "{}", stderr(&out));
    assert!(stderr(&out).contains("cannot read"), "{}", stderr(&out));
}
