//! The one lane fixture: the POS stand-in and a simulated ZVT terminal on TCP (or the POS's
//! own terminal, or none) in this process, the lane's config and secrets in a temp dir, and
//! the `lane-agent run` process started on them. Tests that need a different config add
//! lines through the builder rather than writing their own.

use std::fs;
use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use hardware_sim::pos::{PosSim, Seed};
use hardware_sim::terminal::{SimTerminal, SimTerminalConfig};
use tempfile::TempDir;

use super::agent::{self, Api, OFFLINE_ENABLED};

/// The terminal id the stand-in's example seed registers for the POS's own terminal.
pub const POS_TERMINAL_ID: &str = "FORTIS-T-0042";

/// The bearer token of a lane whose test names none.
pub const TOKEN: &str = "lane-test-token-0123456789";

/// What the lane pays cards on.
enum Terminal {
    /// A simulated ZVT terminal on TCP, started with this config.
    Zvt(Box<SimTerminalConfig>),
    /// `protocol = "pos"`: the processor terminal the POS drives ([`POS_TERMINAL_ID`]).
    Pos,
    /// A ZVT address with nothing behind it (port 9, discard): cash and gift-card lanes.
    Unreachable,
}

/// How the lane under test is made; [`LaneBuilder::build`] starts its simulators.
pub struct LaneBuilder {
    terminal: Terminal,
    seed: Seed,
    dir: Option<TempDir>,
    token: &'static str,
    any_port: bool,
    request_timeout_ms: u32,
    lane_lines: String,
    terminal_lines: String,
    offline: &'static str,
    sections: String,
}

/// A lane under test: the simulators run until it is dropped, the agent until the test
/// stops or kills the child [`TestLane::start`] returned.
pub struct TestLane {
    pub dir: TempDir,
    pub pos: PosSim,
    terminal: Option<SimTerminal>,
    /// `dir/lane-agent.toml`.
    pub config: PathBuf,
    /// `[api] listen` (`127.0.0.1:0` for [`LaneBuilder::any_port`]: the address then comes
    /// with READY, see [`agent::serving_on`]).
    pub addr: String,
    /// The API at [`TestLane::addr`] with the lane's token.
    pub api: Api,
}

impl TestLane {
    /// A lane paying cards on a simulated ZVT terminal with the default config.
    pub fn zvt() -> LaneBuilder {
        LaneBuilder::new(Terminal::Zvt(Box::default()))
    }

    /// A lane paying cards on a simulated ZVT terminal started with `config`.
    pub fn zvt_with(config: SimTerminalConfig) -> LaneBuilder {
        LaneBuilder::new(Terminal::Zvt(Box::new(config)))
    }

    /// A US lane: cards go through the processor terminal the POS drives.
    pub fn pos_terminal() -> LaneBuilder {
        LaneBuilder::new(Terminal::Pos)
    }

    /// A lane whose terminal address has nothing behind it: for cash, gift cards and the CLI.
    pub fn without_terminal() -> LaneBuilder {
        LaneBuilder::new(Terminal::Unreachable)
    }

    /// The simulated ZVT terminal (a lane built with [`TestLane::zvt`]).
    pub fn terminal(&self) -> &SimTerminal {
        self.terminal
            .as_ref()
            .expect("this lane has no simulated ZVT terminal")
    }

    /// Starts `lane-agent run` quietly (no watchdog, output discarded) and waits for READY.
    pub async fn start(&self) -> (Child, UnixDatagram) {
        agent::start_quiet(&self.config, self.dir.path()).await
    }

    /// `lane-agent run --config …` reporting to `dir/notify.sock`, with no watchdog and no
    /// journal inherited from the test's environment; the caller adds its log level and
    /// output, spawns it and binds the socket first ([`TestLane::notify_path`]).
    pub fn run_command(&self) -> Command {
        let mut cmd = Command::new(agent::agent_bin());
        cmd.args(["run", "--config"])
            .arg(&self.config)
            .env("NOTIFY_SOCKET", self.notify_path())
            .env_remove("WATCHDOG_USEC")
            .env_remove("WATCHDOG_PID")
            .env_remove("JOURNAL_STREAM")
            .stdin(Stdio::null())
            .stdout(Stdio::null());
        cmd
    }

    /// Where [`TestLane::run_command`] reports READY/STOPPING.
    pub fn notify_path(&self) -> PathBuf {
        self.dir.path().join("notify.sock")
    }
}

impl LaneBuilder {
    fn new(terminal: Terminal) -> LaneBuilder {
        LaneBuilder {
            terminal,
            seed: Seed::example(),
            dir: None,
            token: TOKEN,
            any_port: false,
            request_timeout_ms: 3000,
            lane_lines: String::new(),
            terminal_lines: String::new(),
            offline: OFFLINE_ENABLED,
            sections: String::new(),
        }
    }

    /// The stand-in's seed (default: `Seed::example()`).
    pub fn seed(mut self, seed: Seed) -> Self {
        self.seed = seed;
        self
    }

    /// Keeps the lane's state (config, secrets, store) in `dir`, e.g. one a test reuses.
    pub fn in_dir(mut self, dir: TempDir) -> Self {
        self.dir = Some(dir);
        self
    }

    /// The API bearer token (default [`TOKEN`]).
    pub fn token(mut self, token: &'static str) -> Self {
        self.token = token;
        self
    }

    /// `[api] listen = "127.0.0.1:0"`: no port race; the address comes with READY.
    pub fn any_port(mut self) -> Self {
        self.any_port = true;
        self
    }

    /// `[pos] request_timeout_ms` (default 3000).
    pub fn request_timeout_ms(mut self, ms: u32) -> Self {
        self.request_timeout_ms = ms;
        self
    }

    /// Extra `[lane]` lines, each ending in a newline (e.g. `currency = "USD"\n`).
    pub fn lane_lines(mut self, lines: &str) -> Self {
        self.lane_lines.push_str(lines);
        self
    }

    /// Extra `[terminal]` lines of a ZVT lane, each ending in a newline.
    pub fn terminal_lines(mut self, lines: &str) -> Self {
        self.terminal_lines.push_str(lines);
        self
    }

    /// Whole sections after `[offline]` (`[giftcard]`, `[[reader]]`, `[api.permissions]`, …).
    pub fn sections(mut self, text: &str) -> Self {
        self.sections.push_str(text);
        self
    }

    /// Starts the simulators and writes the lane's config and secrets.
    pub async fn build(self) -> TestLane {
        let dir = match self.dir {
            Some(d) => d,
            None => tempfile::tempdir().unwrap(),
        };
        let pos = PosSim::start("127.0.0.1:0".parse().unwrap(), self.seed)
            .await
            .unwrap();
        let (terminal, terminal_section) = match self.terminal {
            Terminal::Zvt(config) => {
                let sim = SimTerminal::start_tcp("127.0.0.1:0".parse().unwrap(), *config)
                    .await
                    .unwrap();
                let section = zvt_section(&sim.addr().unwrap().to_string(), &self.terminal_lines);
                (Some(sim), section)
            }
            Terminal::Unreachable => (None, zvt_section("127.0.0.1:9", &self.terminal_lines)),
            Terminal::Pos => (None, pos_section()),
        };
        let addr = if self.any_port {
            "127.0.0.1:0".to_owned()
        } else {
            format!("127.0.0.1:{}", agent::free_port())
        };
        let config = write_config(
            dir.path(),
            &pos,
            &LaneConfig {
                token: self.token,
                listen: &addr,
                request_timeout_ms: self.request_timeout_ms,
                lane_lines: &self.lane_lines,
                terminal: &terminal_section,
                offline: self.offline,
                sections: &self.sections,
            },
        );
        let api = Api::new(&addr, self.token);
        TestLane {
            dir,
            pos,
            terminal,
            config,
            addr,
            api,
        }
    }
}

/// A `[terminal]` body for a ZVT terminal on TCP at `address`.
pub fn zvt_section(address: &str, extra: &str) -> String {
    format!(
        "protocol = \"zvt\"\ntransport = \"tcp\"\naddress = \"{address}\"\npassword = \"000000\"\n{extra}"
    )
}

/// The `[terminal]` body of a US lane: the processor terminal the POS drives
/// ([`POS_TERMINAL_ID`]).
pub fn pos_section() -> String {
    format!("protocol = \"pos\"\nterminal_id = \"{POS_TERMINAL_ID}\"\n")
}

/// What differs between lane configs; [`write_config`] writes the rest.
pub struct LaneConfig<'a> {
    /// The API bearer token (written to a private token file).
    pub token: &'a str,
    /// `[api] listen`.
    pub listen: &'a str,
    /// `[pos] request_timeout_ms`.
    pub request_timeout_ms: u32,
    /// Extra `[lane]` lines.
    pub lane_lines: &'a str,
    /// The `[terminal]` section body ([`zvt_section`] for ZVT).
    pub terminal: &'a str,
    /// The `[offline]` section body.
    pub offline: &'a str,
    /// Whole sections after `[offline]`.
    pub sections: &'a str,
}

/// Writes the secrets and `lane-agent.toml` into `dir`; the store is `dir/agent.db`.
pub fn write_config(dir: &Path, pos: &PosSim, lane: &LaneConfig<'_>) -> PathBuf {
    let secret = agent::private(
        dir,
        "pos-client-secret",
        "lane-agent-sim-secret-0123456789\n",
    );
    let token = agent::private(dir, "api-token", &format!("{}\n", lane.token));
    let text = format!(
        r#"[lane]
store_code = "DALLAS"
register_code = "LANE01"
{}[pos]
graphql_url = "{}"
issuer_url = "{}"
client_id = "lane-agent"
client_secret_file = "{}"
request_timeout_ms = {}
[api]
listen = "{}"
token_file = "{}"
[store]
path = "{}"
[terminal]
{}[offline]
{}{}"#,
        lane.lane_lines,
        pos.graphql_url(),
        pos.issuer_url(),
        secret.display(),
        lane.request_timeout_ms,
        lane.listen,
        token.display(),
        dir.join("agent.db").display(),
        lane.terminal,
        lane.offline,
        lane.sections,
    );
    let path = dir.join("lane-agent.toml");
    fs::write(&path, text).unwrap();
    path
}
