//! Shared set-up for the driver ↔ simulated terminal tests: a real TCP socket or a real
//! pseudo-terminal between `zvt::transport::Terminal` and `hardware_sim::terminal`.

use std::{path::PathBuf, time::Duration};

use hardware_sim::terminal::{SimEvent, SimTerminal, SimTerminalConfig};
use tokio::sync::broadcast;
use zvt::transport::{Terminal, TransportConfig};

/// Which link a test runs over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Via {
    Tcp,
    Pty,
}

/// A simulator and a driver connected to it.
pub struct Rig {
    pub sim: SimTerminal,
    pub config: TransportConfig,
    _dir: Option<tempfile::TempDir>,
}

/// Short timers so that fault tests finish quickly; behaviour, not synchronisation.
pub fn fast(mut c: TransportConfig) -> TransportConfig {
    c.t3 = Duration::from_millis(400);
    c.t4 = Duration::from_secs(3);
    c.inter_byte = Duration::from_millis(200);
    c.connect_timeout = Duration::from_secs(2);
    c
}

pub fn sim_config() -> SimTerminalConfig {
    SimTerminalConfig {
        password: "123456".into(),
        t3: Duration::from_millis(400),
        ack_timeout: Duration::from_secs(2),
        inter_byte: Duration::from_millis(200),
        ..SimTerminalConfig::default()
    }
}

pub async fn rig(via: Via, sim_cfg: SimTerminalConfig) -> Rig {
    match via {
        Via::Tcp => {
            let sim = SimTerminal::start_tcp("127.0.0.1:0".parse().unwrap(), sim_cfg)
                .await
                .unwrap();
            let mut config = fast(TransportConfig::tcp(sim.addr().unwrap().to_string()));
            config.password = "123456".into();
            Rig {
                sim,
                config,
                _dir: None,
            }
        }
        Via::Pty => {
            let dir = tempfile::tempdir().unwrap();
            let link: PathBuf = dir.path().join("terminal");
            let sim = SimTerminal::start_pty(&link, sim_cfg).await.unwrap();
            let mut config = fast(TransportConfig::serial(&link));
            config.password = "123456".into();
            Rig {
                sim,
                config,
                _dir: Some(dir),
            }
        }
    }
}

impl Rig {
    /// A driver with a small reconnect schedule (3 quick attempts).
    pub async fn terminal(&self) -> Terminal {
        let policy = || std::iter::repeat_n(Duration::from_millis(50), 3);
        Terminal::connect(self.config.clone(), policy)
            .await
            .expect("connect and register")
    }
}

/// Waits (bounded) for an event matching `pred`.
pub async fn wait_for(
    rx: &mut broadcast::Receiver<SimEvent>,
    pred: impl Fn(&SimEvent) -> bool,
) -> SimEvent {
    tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            match rx.recv().await {
                Ok(e) if pred(&e) => return e,
                Ok(_) | Err(broadcast::error::RecvError::Lagged(_)) => continue,
                Err(e) => panic!("event channel closed: {e}"),
            }
        }
    })
    .await
    .expect("event within 10 s")
}
