//! `lane-agent doctor`: every check a technician needs at install time, each with a
//! verdict and a reason.
//!
//! The checks run in order and keep going after a failure where the next check still
//! means something; a check that depends on a failed one is reported as `SKIP` with the
//! reason. The exit code is that of the first failure (interfaces.md §1): 64 for config
//! and credentials, 74 for storage, 69 for an unreachable device or service, 1 otherwise.
//!
//! ```text
//! mod.rs     report, ordering, output       local.rs   config, secrets, store, devices
//! pos.rs     DNS/TCP, then through PosClient: TLS, OIDC, probes, introspection
//! schema     pos_client::schema_check: the operations vs. the live schema
//! ```
//!
//! No secret or card data is ever printed: secrets are reported by path, mode and length
//! class only, and the POS answers shown are environment and location names.

mod local;
mod pos;
/// The schema check lives with the client whose documents it checks.
pub use pos_client::schema_check as schema;
pub mod terminal_payments;

use std::io::{self, Write};
use std::path::Path;

use serde::Serialize;

pub use pos::PosProbe;

/// Bad usage or configuration (credentials included).
pub const EXIT_CONFIG: u8 = 64;
/// A required service or device unreachable.
pub const EXIT_UNAVAILABLE: u8 = 69;
/// Storage error.
pub const EXIT_STORAGE: u8 = 74;
/// Anything else.
pub const EXIT_OTHER: u8 = 1;

/// A check's verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Fine.
    Pass,
    /// Works, but worth a look (e.g. plain HTTP to a simulator).
    Warn,
    /// Broken; the agent will not work as configured.
    Fail,
    /// Not run because a check it depends on failed.
    Skip,
}

impl Status {
    fn label(self) -> &'static str {
        match self {
            Self::Pass => "PASS",
            Self::Warn => "WARN",
            Self::Fail => "FAIL",
            Self::Skip => "SKIP",
        }
    }
}

/// One line of the report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Check {
    /// Verdict.
    pub status: Status,
    /// Area: `config`, `secrets`, `store`, `terminal`, `reader`, `pos`, `oidc`, `schema`.
    pub area: &'static str,
    /// What was checked, e.g. `integrity_check` or `reader msr`.
    pub name: String,
    /// Why the verdict, in words a technician can act on.
    pub reason: String,
    /// Exit code this failure stands for (0 unless failed).
    #[serde(skip)]
    pub exit: u8,
}

/// Everything `doctor` found, in check order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DoctorReport {
    /// The checks.
    pub checks: Vec<Check>,
}

impl DoctorReport {
    pub(crate) fn pass(
        &mut self,
        area: &'static str,
        name: impl Into<String>,
        reason: impl Into<String>,
    ) {
        self.push(Status::Pass, area, name, reason, 0);
    }

    pub(crate) fn warn(
        &mut self,
        area: &'static str,
        name: impl Into<String>,
        reason: impl Into<String>,
    ) {
        self.push(Status::Warn, area, name, reason, 0);
    }

    pub(crate) fn fail(
        &mut self,
        exit: u8,
        area: &'static str,
        name: impl Into<String>,
        reason: impl Into<String>,
    ) {
        self.push(Status::Fail, area, name, reason, exit);
    }

    pub(crate) fn skip(
        &mut self,
        area: &'static str,
        name: impl Into<String>,
        reason: impl Into<String>,
    ) {
        self.push(Status::Skip, area, name, reason, 0);
    }

    fn push(
        &mut self,
        status: Status,
        area: &'static str,
        name: impl Into<String>,
        reason: impl Into<String>,
        exit: u8,
    ) {
        self.checks.push(Check {
            status,
            area,
            name: name.into(),
            reason: reason.into(),
            exit,
        });
    }

    /// Whether any check failed.
    pub fn failed(&self) -> bool {
        self.checks.iter().any(|c| c.status == Status::Fail)
    }

    /// The process exit code: 0 when nothing failed, else the first failure's code
    /// (64 config, 69 unreachable, 74 storage, 1 other).
    pub fn exit_code(&self) -> u8 {
        self.checks
            .iter()
            .find(|c| c.status == Status::Fail)
            .map_or(0, |c| if c.exit == 0 { EXIT_OTHER } else { c.exit })
    }

    /// The checks with `area`.
    pub fn in_area<'a>(&'a self, area: &'a str) -> impl Iterator<Item = &'a Check> + 'a {
        self.checks.iter().filter(move |c| c.area == area)
    }

    /// Writes the report: an aligned table (`PASS  store  integrity_check ok`) followed by
    /// a summary line, or with `json` a JSON array of `{status, area, name, reason}`.
    ///
    /// # Errors
    /// Writing to `out` failed.
    pub fn render(&self, json: bool, out: &mut impl Write) -> io::Result<()> {
        if json {
            serde_json::to_writer_pretty(&mut *out, &self.checks).map_err(io::Error::other)?;
            return writeln!(out);
        }
        let width = self.checks.iter().map(|c| c.area.len()).max().unwrap_or(0);
        for c in &self.checks {
            writeln!(
                out,
                "{}  {:width$}  {}: {}",
                c.status.label(),
                c.area,
                c.name,
                c.reason
            )?;
        }
        let count = |s| self.checks.iter().filter(|c| c.status == s).count();
        writeln!(
            out,
            "{} passed, {} warnings, {} failed, {} skipped",
            count(Status::Pass),
            count(Status::Warn),
            count(Status::Fail),
            count(Status::Skip)
        )
    }
}

/// Runs every check for the config at `config_path` and returns the report.
pub async fn check(config_path: &Path) -> DoctorReport {
    let mut report = DoctorReport::default();
    let Some(loaded) = local::config(&mut report, config_path) else {
        for area in [
            "secrets", "store", "terminal", "reader", "pos", "oidc", "schema",
        ] {
            report.skip(area, "all", "the configuration is not valid");
        }
        return report;
    };
    let secret = local::secrets(&mut report, &loaded);
    local::store(&mut report, &loaded);
    local::devices(&mut report, &loaded).await;
    pos::checks(&mut report, &loaded, secret).await;
    report
}

/// `lane-agent doctor --config FILE [--json]`: runs every check, writes the report to
/// `out` and returns it; the caller exits with [`DoctorReport::exit_code`].
///
/// # Errors
/// Writing to `out` failed (the checks themselves never error: they report).
pub async fn run(config_path: &Path, json: bool, out: &mut impl Write) -> io::Result<DoctorReport> {
    let report = check(config_path).await;
    report.render(json, out)?;
    Ok(report)
}
