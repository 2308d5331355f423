//! Issue 13 item 9: a stuck forwarder makes real systemd restart the service.
//!
//! A real systemd user manager (`/lib/systemd/systemd --user`) runs the real `lane-agent`
//! binary as a `Type=notify` unit with the project unit's restart settings and a 3 s
//! watchdog. The POS stand-in holds every `purchaseAdd` for 60 s; a completed cash sale
//! makes the forwarder send one, the agent withholds `WATCHDOG=1`, and systemd kills it
//! (result `watchdog`) and starts it again: a new main PID, `NRestarts=1`, and the
//! restarted agent holds the purchase in doubt instead of sending it twice.
//!
//! The manager is fenced in so it touches nothing of the machine: it runs in its own mount
//! and cgroup namespaces, inside a fresh cgroup2 child of the test's own cgroup (a manager
//! whose cgroup is the root would move every process of the machine into `init.scope`),
//! with `/sys/fs/cgroup` remounted as that cgroup2 subtree (so it never sees the v1
//! controllers), a private `/run` holding `/run/systemd/system` (the "booted with
//! systemd" marker a user manager insists on), `/dev/kmsg` bound to a log file (it logs
//! there; `/dev/console` it would use only if that were a terminal), and
//! `SYSTEMD_UNIT_PATH` naming only the test's units. Teardown kills the cgroup
//! (`cgroup.kill`) and removes it. Where this cannot run (not root, no systemd, no cgroup2,
//! no namespaces) the test prints `NOT RUN: …` and returns.

use std::collections::HashMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::support::agent::{self, Api, OFFLINE_ENABLED};
use crate::support::lane::{LaneConfig, write_config, zvt_section};
use hardware_sim::pos::{Fault, FaultKind, FaultTarget, PosSim, Seed};
use serde_json::json;

const TOKEN: &str = "systemd-watchdog-token-0123456789";
const SERVICE: &str = "lane-agent.service";
/// The test unit's `WatchdogSec=`, in seconds.
const WATCHDOG_S: u64 = 3;
const MANAGER: &str = "/lib/systemd/systemd";
/// The project's unit, whose watchdog and restart settings the test unit mirrors.
const PROJECT_UNIT: &str = include_str!("../../systemd/lane-agent.service");
/// Keys of the project's unit that apply in a user manager. The hardening options,
/// `DynamicUser=` and the credentials need the system manager; the watchdog is shortened.
const MIRRORED: &[&str] = &[
    "Type",
    "NotifyAccess",
    "Restart",
    "RestartSec",
    "TimeoutStartSec",
    "TimeoutStopSec",
    "RestartPreventExitStatus",
    "StartLimitIntervalSec",
    "Environment",
];

fn not_run(why: &str) {
    eprintln!("NOT RUN: a_stuck_forwarder_makes_systemd_restart_the_service needs {why}");
}

/// The cgroup2 mount point and this process's cgroup in it.
fn own_cgroup2() -> Option<PathBuf> {
    let mountinfo = fs::read_to_string("/proc/self/mountinfo").ok()?;
    let mount = mountinfo.lines().find_map(|l| {
        let (left, right) = l.split_once(" - ")?;
        (right.split_whitespace().next()? == "cgroup2").then(|| left.split_whitespace().nth(4))?
    })?;
    let own = fs::read_to_string("/proc/self/cgroup").ok()?;
    let path = own.lines().find_map(|l| l.strip_prefix("0::"))?;
    Some(Path::new(mount).join(path.trim_start_matches('/')))
}

/// Why the fenced-in manager cannot run here, if it cannot.
fn missing() -> Option<String> {
    let uid = fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("Uid:"))
                .and_then(|v| v.split_whitespace().next().map(str::to_owned))
        })
        .unwrap_or_default();
    if uid != "0" {
        return Some("root (mounts, namespaces and cgroups)".into());
    }
    if !Path::new(MANAGER).exists() {
        return Some(format!("{MANAGER} (Debian package systemd)"));
    }
    if Command::new("systemctl").arg("--version").output().is_err() {
        return Some("systemctl (Debian package systemd)".into());
    }
    if own_cgroup2().is_none_or(|p| !p.join("cgroup.procs").exists()) {
        return Some("a cgroup2 hierarchy".into());
    }
    match Command::new("unshare")
        .args(["-C", "-m", "--propagation", "private", "true"])
        .output()
    {
        Ok(o) if o.status.success() => None,
        Ok(o) => Some(format!(
            "mount and cgroup namespaces: unshare: {}",
            String::from_utf8_lossy(&o.stderr).trim()
        )),
        Err(e) => Some(format!("unshare (util-linux): {e}")),
    }
}

/// The test's unit: the project's restart and notify settings, a 3 s watchdog (the agent
/// pings every 1.5 s: slack for a loaded CI machine), the agent
/// binary Cargo built, its output in a file (there is no journald) and no core file from
/// the watchdog's SIGABRT.
fn unit(config: &Path, log: &Path) -> String {
    let bin = agent::agent_bin();
    let mut unit = String::from("[Unit]\nDescription=lane-agent under test\n");
    let mut service = format!(
        "[Service]\nExecStartPre={bin} check-config --config {cfg}\n\
         ExecStart={bin} run --config {cfg}\nWatchdogSec={WATCHDOG_S}s\nLimitCORE=0\n\
         StandardOutput=append:{log}\nStandardError=append:{log}\n",
        cfg = config.display(),
        log = log.display(),
    );
    for line in PROJECT_UNIT.lines() {
        let Some((key, _)) = line.split_once('=') else {
            continue;
        };
        if !MIRRORED.contains(&key.trim()) {
            continue;
        }
        let section = if key == "StartLimitIntervalSec" {
            &mut unit
        } else {
            &mut service
        };
        section.push_str(line);
        section.push('\n');
    }
    format!("{unit}\n{service}")
}

/// A user manager fenced into its own cgroup and namespaces; killed with its cgroup on drop.
struct Manager {
    cgroup: PathBuf,
    runtime: PathBuf,
    manager_log: PathBuf,
    child: Child,
}

impl Manager {
    fn start(dir: &Path, unit_text: &str) -> Manager {
        let units = dir.join("units");
        fs::create_dir_all(&units).unwrap();
        // The targets every service depends on by default; the distro's would pull in
        // sockets and timers the test does not want.
        for target in ["basic.target", "shutdown.target"] {
            fs::write(units.join(target), "[Unit]\nDefaultDependencies=no\n").unwrap();
        }
        fs::write(units.join(SERVICE), unit_text).unwrap();
        let runtime = dir.join("run");
        fs::create_dir_all(&runtime).unwrap();
        let manager_log = dir.join("manager.log");
        fs::write(&manager_log, "").unwrap();

        let cgroup = own_cgroup2()
            .unwrap()
            .join(format!("lane-agent-wd-test-{}", std::process::id()));
        fs::create_dir(&cgroup).unwrap_or_else(|e| panic!("creating {}: {e}", cgroup.display()));
        // The shell moves itself into the fresh cgroup before the namespaces are made, so
        // the manager's cgroup root is that cgroup and nothing above it.
        let script = r#"
set -e
echo $$ > "$1/cgroup.procs"
exec unshare -C -m --propagation private sh -c '
set -e
mount -t cgroup2 none /sys/fs/cgroup
mount -t tmpfs -o mode=0755 tmpfs /run
mkdir -p /run/systemd/system
mount --bind "$0" /dev/kmsg
exec /lib/systemd/systemd --user --unit=lane-agent.service --log-level=info --log-target=kmsg
' "$2"
"#;
        let child = Command::new("sh")
            .args(["-c", script, "sh"])
            .arg(&cgroup)
            .arg(&manager_log)
            .env_clear()
            .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
            .env("HOME", dir)
            .env("XDG_RUNTIME_DIR", &runtime)
            .env("SYSTEMD_UNIT_PATH", &units)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(fs::File::create(dir.join("manager.stderr")).unwrap())
            .spawn()
            .unwrap();
        Manager {
            cgroup,
            runtime,
            manager_log,
            child,
        }
    }

    fn log(&self) -> String {
        fs::read_to_string(&self.manager_log).unwrap_or_default()
    }

    /// The service's properties as `systemctl --user show` reports them.
    fn show(&mut self) -> HashMap<String, String> {
        if let Ok(Some(status)) = self.child.try_wait() {
            panic!("the manager exited ({status}):\n{}", self.log());
        }
        let out = Command::new("systemctl")
            .args(["--user", "--no-pager", "show", SERVICE])
            .args([
                "-p",
                "ActiveState,SubState,MainPID,NRestarts,Result,StatusText",
            ])
            .env("XDG_RUNTIME_DIR", &self.runtime)
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter_map(|l| l.split_once('='))
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect()
    }

    /// Waits (bounded by `within`) until the service's properties satisfy `done`.
    fn wait_for(
        &mut self,
        what: &str,
        within: Duration,
        done: impl Fn(&HashMap<String, String>) -> bool,
    ) -> HashMap<String, String> {
        let deadline = Instant::now() + within;
        loop {
            let props = self.show();
            if done(&props) {
                return props;
            }
            assert!(
                Instant::now() < deadline,
                "{what}: not within {within:?}; last {props:?}\nmanager log:\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Manager {
    fn drop(&mut self) {
        // Everything the manager started lives in this cgroup; kill it all at once.
        let _ = fs::write(self.cgroup.join("cgroup.kill"), "1");
        let _ = self.child.wait();
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            let busy = walk(&self.cgroup)
                .iter()
                .any(|d| fs::read_to_string(d.join("cgroup.procs")).is_ok_and(|p| !p.is_empty()));
            if !busy {
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        for d in walk(&self.cgroup).iter().rev() {
            let _ = fs::remove_dir(d);
        }
    }
}

/// `dir` and every cgroup below it, parents first.
fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = vec![dir.to_owned()];
    let mut i = 0;
    while i < out.len() {
        if let Ok(entries) = fs::read_dir(&out[i]) {
            for e in entries.flatten() {
                if e.file_type().is_ok_and(|t| t.is_dir()) {
                    out.push(e.path());
                }
            }
        }
        i += 1;
    }
    out
}

fn prop<'a>(props: &'a HashMap<String, String>, key: &str) -> &'a str {
    props.get(key).map_or("", String::as_str)
}

fn running(props: &HashMap<String, String>) -> bool {
    prop(props, "ActiveState") == "active" && prop(props, "SubState") == "running"
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stuck_forwarder_makes_systemd_restart_the_service() {
    if let Some(why) = missing() {
        not_run(&why);
        return;
    }
    // The project's unit must restart on a watchdog timeout, or this test proves nothing
    // about the shipped service.
    let restart = PROJECT_UNIT
        .lines()
        .find_map(|l| l.strip_prefix("Restart="))
        .expect("the project's unit sets Restart=");
    assert!(
        ["on-failure", "on-watchdog", "on-abnormal", "always"].contains(&restart),
        "Restart={restart} does not restart on a watchdog timeout"
    );
    assert!(PROJECT_UNIT.lines().any(|l| l.starts_with("WatchdogSec=")));

    let dir = tempfile::tempdir().unwrap();
    let pos = PosSim::start("127.0.0.1:0".parse().unwrap(), Seed::example())
        .await
        .unwrap();
    let listen = format!("127.0.0.1:{}", agent::free_port());
    let config = write_config(
        dir.path(),
        &pos,
        &LaneConfig {
            token: TOKEN,
            listen: &listen,
            request_timeout_ms: 120_000,
            lane_lines: "",
            terminal: &zvt_section("127.0.0.1:9", ""),
            offline: OFFLINE_ENABLED,
            sections: "",
        },
    );
    let agent_log = dir.path().join("agent.log");
    let mut manager = Manager::start(dir.path(), &unit(&config, &agent_log));

    // Up: READY=1 reached systemd (Type=notify: active only after it).
    let up = tokio::task::block_in_place(|| {
        manager.wait_for("the service is running", Duration::from_secs(60), running)
    });
    let first_pid = prop(&up, "MainPID").to_owned();
    assert_ne!(first_pid, "0", "{up:?}");
    assert_eq!(prop(&up, "NRestarts"), "0", "{up:?}");

    // Healthy, it outlives two watchdog intervals: the pings reach systemd. This is an
    // observation window, not a synchronisation: nothing is expected to happen in it.
    let calm = tokio::task::block_in_place(|| {
        let until = Instant::now() + Duration::from_secs(2 * WATCHDOG_S);
        let mut last = manager.show();
        while Instant::now() < until {
            last = manager.show();
            assert!(
                running(&last) && prop(&last, "MainPID") == first_pid,
                "a healthy agent was stopped: {last:?}\n{}",
                manager.log()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        last
    });
    assert_eq!(prop(&calm, "NRestarts"), "0", "{calm:?}");

    // The POS now holds every purchaseAdd for 60 s; a completed cash sale sends one.
    pos.control().inject(Fault {
        target: FaultTarget::Operation("purchaseAdd".into()),
        kind: FaultKind::Latency(Duration::from_secs(60)),
        times: None,
    });
    let api = Api::new(&listen, TOKEN);
    let (st, v) = api
        .post(
            "/v1/sales",
            json!({"sale_id": "wd-sd-1", "lines": [{"sku": "ITEM-001", "quantity": "1", "unit_price": "5.00"}]}),
        )
        .await;
    assert_eq!(st, 201, "{v}");
    let (st, v) = api
        .post(
            "/v1/sales/wd-sd-1/payments",
            json!({"method": "cash", "amount": "5.00"}),
        )
        .await;
    assert_eq!(st, 201, "{v}");
    let (st, v) = api.post("/v1/sales/wd-sd-1/complete", json!({})).await;
    assert_eq!(st, 200, "{v}");

    // systemd's watchdog fires (WatchdogSec of silence after the last ping), kills the agent and,
    // RestartSec later, starts a new one that reaches READY again.
    let restarted = tokio::task::block_in_place(|| {
        manager.wait_for("systemd restarts the agent", Duration::from_secs(60), |p| {
            prop(p, "NRestarts") == "1"
                && running(p)
                && !["0", first_pid.as_str()].contains(&prop(p, "MainPID"))
        })
    });
    let log = manager.log();
    assert!(
        log.contains(&format!("{SERVICE}: Watchdog timeout")),
        "no watchdog timeout in the manager's log:\n{log}"
    );
    assert!(
        log.contains(&format!("{SERVICE}: Failed with result 'watchdog'")),
        "the service did not fail by the watchdog:\n{log}"
    );
    assert!(
        !Path::new(&format!("/proc/{first_pid}")).exists()
            || fs::read_to_string(format!("/proc/{first_pid}/cmdline"))
                .is_ok_and(|c| !c.contains("lane-agent")),
        "the stuck agent {first_pid} is still alive"
    );
    let text = fs::read_to_string(&agent_log).unwrap();
    assert!(
        text.contains("Withholding the watchdog ping") && text.contains("forwarder"),
        "the agent did not say why it withheld the ping:\n{text}"
    );

    // The restarted agent holds the purchase whose answer was lost in doubt (purchaseAdd
    // does not deduplicate): it is not sent again, so the new agent's watchdog stays fed.
    let status = api.get("/v1/status").await;
    assert_eq!(status["outbox"]["in_doubt"], 1, "{status}");
    assert_eq!(status["outbox"]["pending"], 0, "{status}");
    assert_eq!(prop(&restarted, "NRestarts"), "1", "{restarted:?}");
}
