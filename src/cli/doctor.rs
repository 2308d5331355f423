//! `lane-agent doctor --config FILE [--json]`: see [`crate::doctor`].

use std::process::ExitCode;

use super::DoctorArgs;

/// Runs every install-time check, prints the report and exits with the code of the first
/// failure (0 when all pass).
pub fn run(args: &DoctorArgs) -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => return super::exit::report(&e.into()),
    };
    let mut out = std::io::stdout();
    match runtime.block_on(crate::doctor::run(&args.config.config, args.json, &mut out)) {
        Ok(report) => ExitCode::from(report.exit_code()),
        Err(e) => super::exit::report(&e.into()),
    }
}
