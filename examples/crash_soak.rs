//! The long crash run: `cargo run --example crash_soak -- --kills 2000 [--seed N]
//! [--fault answer-before-commit|resend-in-doubt|resend-card] [--drop-purchases N] [--acks-only]
//! [--one-cpu] [--no-card-kills] [--card-kills-only] [--verbose]`.
//! Prints the reconciliation (POS ledger and simulated terminal journal: kills, sales, lost,
//! duplicates, double charges at the terminal, card payments in doubt) and exits non-zero
//! unless it is clean.
//!
//! It runs `target/debug/lane-agent`, which `cargo run --example` does not build: build it
//! first with `cargo build -p lane-agent --bin lane-agent` (add `--features fault-injection`
//! for a `--fault` control run; a binary without the feature ignores the switch).

#[path = "../tests/crash_support/mod.rs"]
mod crash_support;

use crash_support::{Options, run, seed_from_env};

fn main() -> anyhow::Result<()> {
    let mut opts = Options::new(2000, seed_from_env());
    // target/debug/examples/crash_soak → target/debug/lane-agent
    let exe = std::env::current_exe()?;
    opts.agent_bin = exe
        .parent()
        .and_then(|p| p.parent())
        .map(|p| p.join("lane-agent"))
        .ok_or_else(|| anyhow::anyhow!("no target dir above {}", exe.display()))?;
    anyhow::ensure!(
        opts.agent_bin.exists(),
        "{} missing: cargo build -p lane-agent --bin lane-agent",
        opts.agent_bin.display()
    );
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut value = || {
            args.next()
                .ok_or_else(|| anyhow::anyhow!("{a} needs a value"))
        };
        match a.as_str() {
            "--kills" => opts.kills = value()?.parse()?,
            "--seed" => opts.seed = value()?.parse()?,
            "--drop-purchases" => opts.drop_purchases = value()?.parse()?,
            "--fault" => {
                opts.agent_fault = Some(match value()?.as_str() {
                    "answer-before-commit" => "answer-before-commit",
                    "resend-in-doubt" => "resend-in-doubt",
                    "resend-card" => "resend-card",
                    other => anyhow::bail!("unknown fault {other}"),
                })
            }
            "--verbose" => opts.verbose = true,
            "--acks-only" => opts.kill_at_acks_only = true,
            "--one-cpu" => opts.one_cpu = true,
            "--no-card-kills" => opts.card_kills = false,
            "--card-kills-only" => opts.card_kills_only = true,
            other => anyhow::bail!("unknown argument {other}"),
        }
    }
    let report = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?
        .block_on(run(opts));
    println!("{}", report.summary());
    for (what, list) in [
        ("lost", &report.lost),
        ("double captures", &report.double_captures),
        ("balance mismatches", &report.balance_mismatches),
        ("capture mismatches", &report.capture_mismatches),
        ("card lost", &report.card_lost),
        ("double charges at the terminal", &report.double_charges),
    ] {
        if !list.is_empty() {
            println!("{what}: {list:?}");
        }
    }
    if !report.duplicates.is_empty() {
        println!("duplicates: {:?}", report.duplicates);
    }
    anyhow::ensure!(report.clean(), "the crash run is not clean");
    Ok(())
}
