//! `lane-agent check-config`: every problem with its key path, exit 64 if any.

use std::process::ExitCode;

use serde::Serialize;

use super::CheckConfigArgs;
use super::exit::USAGE;
use crate::config::{self, ConfigProblem};

#[derive(Serialize)]
struct Report<'a> {
    path: &'a std::path::Path,
    valid: bool,
    problems: Vec<ConfigProblem>,
    warnings: Vec<ConfigProblem>,
}

/// Loads and validates the config (secrets included) and prints the result to stdout.
pub fn run(args: &CheckConfigArgs) -> ExitCode {
    let path = args.config.config.as_path();
    let report = match config::load_file(path) {
        Ok(loaded) => Report {
            path,
            valid: true,
            problems: Vec::new(),
            warnings: loaded.warnings,
        },
        Err(err) => Report {
            path,
            valid: false,
            problems: err.problems(),
            warnings: Vec::new(),
        },
    };
    if args.json {
        match serde_json::to_string_pretty(&report) {
            Ok(json) => println!("{json}"),
            Err(e) => eprintln!("lane-agent: cannot encode the report: {e}"),
        }
    } else if report.valid {
        println!("{}: OK", path.display());
        for w in &report.warnings {
            println!("  warning: {w}");
        }
    } else {
        println!("{}: {} problem(s)", path.display(), report.problems.len());
        for p in &report.problems {
            println!("  {p}");
        }
    }
    if report.valid {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(USAGE)
    }
}
