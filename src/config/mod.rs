//! Configuration: read, checked up front, and then trusted.
//!
//! Loading happens in two stages. [`parse`] turns TOML text into a [`RawConfig`] (the
//! file's shape: unknown keys and wrong types are problems), and [`Config::validate`]
//! turns that into a typed [`Config`], collecting *every* problem with its key path
//! instead of stopping at the first. [`load`] runs both and reads the two secret files
//! ([`Secrets`]), so `lane-agent check-config` and `lane-agent run` report the same
//! problems and both exit 64 on them.
//!
//! Sources go through [`ConfigSource`], so tests use [`MemorySource`] instead of files.

mod model;
mod parse;
mod problem;
mod raw;
mod secrets;
mod source;
mod validate;

use std::path::{Path, PathBuf};

use secrecy::ExposeSecret;

pub use model::*;
pub use parse::parse;
pub use problem::{ConfigError, ConfigProblem, Location};
pub use raw::*;
pub use secrets::{MIN_API_TOKEN_LEN, Secrets, read_secret};
pub use source::{ConfigSource, FileSystem, MemorySource, SecretFile};

/// Where `run` and `check-config` look when no `--config` is given.
pub const DEFAULT_CONFIG_PATH: &str = "/etc/lane-agent/lane-agent.toml";

/// A configuration ready to run with: validated, secrets loaded.
#[derive(Debug, Clone)]
pub struct LoadedConfig {
    /// The file it came from.
    pub path: PathBuf,
    /// The validated settings.
    pub config: Config,
    /// The secrets it names.
    pub secrets: Secrets,
    /// Valid settings an operator should know about.
    pub warnings: Vec<ConfigProblem>,
}

/// Reads, parses and validates the config at `path` and loads its secrets, reporting
/// every problem found in any of those steps.
pub fn load(source: &dyn ConfigSource, path: &Path) -> Result<LoadedConfig, ConfigError> {
    let text = source
        .read_text(path)
        .map_err(|source| ConfigError::Unreadable {
            path: path.to_owned(),
            source,
        })?;
    let invalid = |problems| ConfigError::Invalid {
        path: path.to_owned(),
        problems,
    };
    let parse::Lenient {
        raw,
        mut problems,
        failed,
    } = parse::parse_lenient(&text).map_err(invalid)?;

    // Secret files are checked even when other keys are wrong, so one run of
    // check-config shows everything to fix.
    let secret_paths = [
        (
            "pos.client_secret_file",
            raw.pos.as_ref().and_then(|p| p.client_secret_file.clone()),
            1,
        ),
        (
            "api.token_file",
            raw.api.as_ref().and_then(|a| a.token_file.clone()),
            MIN_API_TOKEN_LEN,
        ),
        (
            "terminal.password_file",
            raw.terminal.as_ref().and_then(|t| t.password_file.clone()),
            6,
        ),
    ];
    // Validate the well-formed sections too, so one run shows everything; a section
    // that failed to parse would only add a misleading "is required" here.
    let shape_ok = problems.is_empty();
    let validated = Config::validate(raw)
        .map_err(|p| {
            let in_failed = |path: &str| {
                failed.iter().any(|f| {
                    path == f
                        || path
                            .strip_prefix(f.as_str())
                            .is_some_and(|rest| rest.starts_with(['.', '[']))
                })
            };
            problems.extend(p.into_iter().filter(|p| !in_failed(&p.path)));
        })
        .and_then(|config| if shape_ok { Ok(config) } else { Err(()) });
    let mut validated = validated;
    if let Ok(config) = &mut validated
        && let Err(p) = load_terminal_password(config, source)
    {
        problems.push(p);
    }
    let secrets = match &validated {
        Ok(config) => Secrets::load(config, source).map_err(|mut p| problems.append(&mut p)),
        Err(()) => {
            for (key, file, min_len) in secret_paths {
                if let Some(file) = file.filter(|f| Path::new(f).is_absolute())
                    && let Err(p) = read_secret(source, key, Path::new(&file), min_len)
                {
                    problems.push(p);
                }
            }
            Err(())
        }
    };
    match (validated, secrets) {
        (Ok(config), Ok(secrets)) if problems.is_empty() => Ok(LoadedConfig {
            path: path.to_owned(),
            warnings: config.warnings(),
            config,
            secrets,
        }),
        _ => {
            for p in &mut problems {
                if p.location.is_none()
                    && let Some(offset) = parse::locate(&text, &p.path)
                {
                    *p = p.clone().at_offset(&text, offset);
                }
            }
            // Keep the order of keys in the file; problems without a position last.
            problems.sort_by_key(|p| p.location.map_or((usize::MAX, 0), |l| (l.line, l.column)));
            Err(invalid(problems))
        }
    }
}

/// Reads `terminal.password_file` into `config.terminal.password`: private, six digits.
fn load_terminal_password(
    config: &mut Config,
    source: &dyn ConfigSource,
) -> Result<(), ConfigProblem> {
    let Some(path) = config.terminal_password_file.clone() else {
        return Ok(());
    };
    let secret = read_secret(source, "terminal.password_file", &path, 6)?;
    let digits = secret.expose_secret();
    if digits.len() != 6 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        // Never echo the value: it is a credential.
        return Err(ConfigProblem::new(
            "terminal.password_file",
            format!("{} must hold exactly 6 digits", path.display()),
        ));
    }
    config.terminal.password = model::TerminalPassword::new(digits.to_owned());
    Ok(())
}

/// [`load`] from the real file system.
pub fn load_file(path: &Path) -> Result<LoadedConfig, ConfigError> {
    load(&FileSystem, path)
}
