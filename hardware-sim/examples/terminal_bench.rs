//! Benchmark: one authorization round trip (06 01 → 04 FF ×2, 04 0F, 6 × 06 D1, 06 0F,
//! every ACK) between `zvt::transport::Terminal` and the simulated terminal, over TCP
//! loopback and over a pseudo-terminal, compared with the time the same serial bytes need
//! on a real 9600 baud 8N2 line (11 bits per byte).
//!
//! `cargo run --release -p hardware-sim --example terminal_bench [-- ROUNDS]`

use std::time::{Duration, Instant};

use hardware_sim::terminal::{SimTerminal, SimTerminalConfig};
use rust_decimal::Decimal;
use zvt::{
    command::PaymentRequest,
    transport::{NoEvents, NoRetry, Terminal, TransportConfig},
};

fn stats(mut d: Vec<Duration>) -> (Duration, Duration) {
    d.sort();
    let mean = d.iter().sum::<Duration>() / d.len() as u32;
    let p99 = d[((d.len() as f64 * 0.99).ceil() as usize).saturating_sub(1)];
    (mean, p99)
}

async fn run(pt: &mut Terminal, rounds: usize) -> Vec<Duration> {
    let mut out = Vec::with_capacity(rounds);
    for i in 0..rounds {
        let amount = Decimal::new(100 + i as i64, 2);
        let t = Instant::now();
        let r = pt
            .authorize(PaymentRequest::new(amount), NoEvents)
            .await
            .expect("authorize");
        out.push(t.elapsed());
        assert!(r.is_approved());
    }
    out
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let rounds: usize = std::env::args()
        .nth(1)
        .map(|a| a.parse())
        .transpose()?
        .unwrap_or(500);

    let sim = SimTerminal::start_tcp("127.0.0.1:0".parse()?, SimTerminalConfig::default()).await?;
    let cfg = TransportConfig::tcp(sim.addr().expect("tcp").to_string());
    let mut pt = Terminal::connect(cfg, NoRetry).await?;
    run(&mut pt, 20).await;
    let (mean, p99) = stats(run(&mut pt, rounds).await);
    println!("tcp loopback: {rounds} authorizations, mean {mean:?}, p99 {p99:?}");

    let dir = tempfile::tempdir()?;
    let link = dir.path().join("terminal");
    let sim = SimTerminal::start_pty(&link, SimTerminalConfig::default()).await?;
    let mut pt = Terminal::connect(TransportConfig::serial(&link), NoRetry).await?;
    run(&mut pt, 20).await;
    let before = sim.control().wire_bytes();
    let (mean, p99) = stats(run(&mut pt, rounds).await);
    let after = sim.control().wire_bytes();
    let per_round = ((after.0 - before.0) + (after.1 - before.1)) as f64 / rounds as f64;
    println!("pty (serial framing): {rounds} authorizations, mean {mean:?}, p99 {p99:?}");
    // 8N2: start bit + 8 data bits + 2 stop bits.
    let wire = Duration::from_secs_f64(per_round * 11.0 / 9600.0);
    println!(
        "serial bytes per authorization: {per_round:.0}; wire time at 9600 baud 8N2: {wire:?} \
         (the pty has no baud rate, so its figure is pure software overhead)"
    );
    Ok(())
}
