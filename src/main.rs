//! `lane-agent`: the service and its operator CLI.

fn main() -> std::process::ExitCode {
    lane_agent::cli::main()
}
