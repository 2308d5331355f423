//! `lane-agent demo [--keep-running]`: see [`crate::demo`].

#[cfg(feature = "demo")]
use tracing_subscriber::EnvFilter;

use super::DemoArgs;

/// Without the `demo` feature (the lane's package): a usage error (exit 64) that says so.
#[cfg(not(feature = "demo"))]
pub fn run(_: &DemoArgs) -> anyhow::Result<()> {
    Err(super::exit::UsageError(
        "this build has no demo: the lane's package leaves the simulators out; run it from a \
         source checkout with `cargo run -p lane-agent -- demo`"
            .into(),
    )
    .into())
}

/// Runs the demo on a fresh runtime; fails (exit 1) when the reconciliation finds a lost
/// or duplicated purchase.
#[cfg(feature = "demo")]
pub fn run(args: &DemoArgs) -> anyhow::Result<()> {
    // The summary is the demo's output; logs stay quiet unless RUST_LOG asks for more.
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("warn"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("lane-agent-demo")
        .build()?;
    let mut stdout = std::io::stdout();
    let report = runtime.block_on(async {
        if args.terminal == "pos" {
            crate::demo::us_lane::run(args.keep_running, &mut stdout).await
        } else {
            crate::demo::run(args.keep_running, &mut stdout).await
        }
    });
    runtime.shutdown_timeout(std::time::Duration::from_secs(1));
    let report = report?;
    if report.lost > 0 || report.duplicates > 0 {
        anyhow::bail!(
            "reconciliation failed: {} lost, {} duplicated purchases",
            report.lost,
            report.duplicates
        );
    }
    Ok(())
}
