//! The systemd unit: its contract keys are present, the stop grace fits in
//! TimeoutStopSec, and `scripts/check-systemd.sh` (verify + the 2.0 security gate +
//! sysusers/tmpfiles) passes, while a weakened unit fails the gate.

use std::path::Path;
use std::process::{Command, Output};
use std::time::Duration;

const UNIT: &str = include_str!("../../systemd/lane-agent.service");

fn values(key: &str) -> Vec<&'static str> {
    UNIT.lines()
        .filter_map(|l| l.trim().strip_prefix(key)?.strip_prefix('='))
        .collect()
}

fn value(key: &str) -> &'static str {
    match values(key).as_slice() {
        [one] => one,
        other => panic!("{key}: expected one value, found {other:?}"),
    }
}

fn seconds(v: &str) -> Duration {
    Duration::from_secs(v.strip_suffix('s').unwrap_or(v).parse().expect("seconds"))
}

fn have_systemd_analyze() -> bool {
    let found = Command::new("systemd-analyze")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    // CI installs systemd (scripts/test.sh); a developer machine without it skips.
    assert!(
        found || std::env::var_os("CI").is_none(),
        "systemd-analyze is missing in CI"
    );
    found
}

fn check_script(unit: Option<&Path>) -> Output {
    let root = env!("CARGO_MANIFEST_DIR");
    let mut cmd = Command::new(Path::new(root).join("scripts/check-systemd.sh"));
    cmd.arg(env!("CARGO_BIN_EXE_lane-agent"));
    if let Some(unit) = unit {
        cmd.env("UNIT", unit);
    }
    cmd.output().unwrap()
}

fn exposure(out: &Output) -> f64 {
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text
        .lines()
        .find(|l| l.contains("Overall exposure level"))
        .unwrap_or_else(|| panic!("no exposure line in:\n{text}"));
    line.rsplit(':')
        .next()
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("cannot parse {line:?}"))
}

#[test]
fn the_unit_has_the_contract_settings() {
    assert_eq!(value("Type"), "notify");
    assert_eq!(value("NotifyAccess"), "main");
    assert_eq!(value("WatchdogSec"), "30s");
    assert_eq!(value("Restart"), "on-failure");
    assert_eq!(value("RestartPreventExitStatus"), "64");
    assert_eq!(value("DynamicUser"), "yes");
    assert_eq!(value("StateDirectory"), "lane-agent");
    assert_eq!(value("SupplementaryGroups"), "lane-agent");
    assert!(values("Group").is_empty(), "Group= breaks DynamicUser=");
    assert!(
        value("ExecStartPre").contains("check-config --config /etc/lane-agent/lane-agent.toml")
    );
    assert!(value("ExecStart").contains(" run --config /etc/lane-agent/lane-agent.toml"));
    assert!(
        values("LoadCredential").contains(&"pos-client-secret:/etc/lane-agent/pos-client-secret")
    );
    assert!(
        values("PrivateDevices").is_empty(),
        "PrivateDevices hides the serial ports"
    );
    // The example config reads the secrets where LoadCredential puts them.
    let example = include_str!("../../config/lane-agent.toml");
    assert!(example.contains("/run/credentials/lane-agent.service/pos-client-secret"));
    assert!(example.contains("/run/credentials/lane-agent.service/api-token"));
    // Issue 13 item 7: the ZVT password is a credential too, not a conffile value.
    assert!(values("LoadCredential").contains(&"zvt-password:/etc/lane-agent/zvt-password"));
    assert!(
        example.contains("password_file = \"/run/credentials/lane-agent.service/zvt-password\"")
    );
    assert!(
        !example
            .lines()
            .any(|l| l.trim_start().starts_with("password ="))
    );
}

#[test]
fn the_grace_period_ends_before_systemd_kills() {
    let stop = seconds(value("TimeoutStopSec"));
    assert!(lane_agent::service::DEFAULT_GRACE_PERIOD + Duration::from_secs(2) <= stop);
}

#[test]
fn the_udev_rule_group_is_the_one_the_service_joins() {
    let rule = Path::new(env!("CARGO_MANIFEST_DIR")).join("systemd/99-lane-agent.rules");
    let sysusers = include_str!("../../systemd/lane-agent.sysusers.conf");
    assert!(
        sysusers
            .lines()
            .any(|l| l.split_whitespace().take(2).eq(["g", "lane-agent"]))
    );
    // The rule is written by the devices work; once it exists it must use our group.
    if let Ok(text) = std::fs::read_to_string(rule) {
        assert!(
            text.contains("GROUP=\"lane-agent\""),
            "udev rule uses another group:\n{text}"
        );
    }
}

#[test]
fn the_security_gate_passes_at_or_below_2_0() {
    if !have_systemd_analyze() {
        return;
    }
    let out = check_script(None);
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let score = exposure(&out);
    assert!(score <= 2.0, "exposure {score} > 2.0");
}

#[test]
fn a_weakened_unit_fails_the_gate() {
    if !have_systemd_analyze() {
        return;
    }
    let weakened: String = UNIT
        .lines()
        .filter(|l| {
            ![
                "Protect",
                "Restrict",
                "CapabilityBoundingSet",
                "SystemCall",
                "Private",
                "DevicePolicy",
            ]
            .iter()
            .any(|k| l.starts_with(k))
        })
        .map(|l| format!("{l}\n"))
        .collect();
    let dir = tempfile::tempdir().unwrap();
    let unit = dir.path().join("lane-agent.service");
    std::fs::write(&unit, weakened).unwrap();
    let out = check_script(Some(&unit));
    assert!(!out.status.success(), "a weakened unit passed the gate");
    assert!(exposure(&out) > 2.0);
}

/// Issue 13 item 13: installing the package applies the udev rule to readers already plugged
/// in, keyboard-wedge readers (`input`) as well as serial devices (`tty`).
#[test]
fn postinst_triggers_udev_for_serial_and_wedge_readers() {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("debian/postinst");
    let syntax = Command::new("sh").arg("-n").arg(&script).output().unwrap();
    assert!(syntax.status.success(), "{syntax:?}");
    let text = std::fs::read_to_string(&script).unwrap();
    let triggers: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| l.starts_with("udevadm trigger"))
        .collect();
    for subsystem in ["tty", "input"] {
        assert!(
            triggers.iter().any(|l| l
                .split_whitespace()
                .any(|w| w == format!("--subsystem-match={subsystem}"))),
            "no udevadm trigger for {subsystem}: {triggers:?}"
        );
    }
}
