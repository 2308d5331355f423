//! The two secrets the agent needs, read from files and never logged.

use std::path::Path;

use secrecy::{ExposeSecret, SecretString};

use super::model::Config;
use super::problem::ConfigProblem;
use super::source::ConfigSource;

/// Shortest API token accepted; a bearer token must not be guessable.
pub const MIN_API_TOKEN_LEN: usize = 16;

/// Secrets loaded from `pos.client_secret_file` and `api.token_file`. `Debug` prints
/// only redaction markers.
#[derive(Debug, Clone)]
pub struct Secrets {
    /// The OIDC client secret.
    pub pos_client_secret: SecretString,
    /// The bearer token the register sends.
    pub api_token: SecretString,
}

impl Secrets {
    /// Reads both secret files named in `config`, reporting every problem.
    pub fn load(config: &Config, source: &dyn ConfigSource) -> Result<Secrets, Vec<ConfigProblem>> {
        let pos = read_secret(
            source,
            "pos.client_secret_file",
            &config.pos.client_secret_file,
            1,
        );
        let api = read_secret(
            source,
            "api.token_file",
            &config.api.token_file,
            MIN_API_TOKEN_LEN,
        );
        match (pos, api) {
            (Ok(pos_client_secret), Ok(api_token)) => Ok(Secrets {
                pos_client_secret,
                api_token,
            }),
            (pos, api) => Err([pos.err(), api.err()].into_iter().flatten().collect()),
        }
    }
}

/// Reads one secret file: it must exist, be private to its owner (no group or other
/// permission bits), and hold at least `min_len` characters after trimming the
/// trailing newline. Messages never include the contents.
pub fn read_secret(
    source: &dyn ConfigSource,
    key: &str,
    path: &Path,
    min_len: usize,
) -> Result<SecretString, ConfigProblem> {
    let file = source.read_secret(path).map_err(|e| {
        ConfigProblem::new(
            key,
            format!("cannot read secret file {}: {e}", path.display()),
        )
    })?;
    if file.mode & 0o077 != 0 {
        return Err(ConfigProblem::new(
            key,
            format!(
                "secret file {} is accessible by group or others (mode {:04o}); \
                 run `chmod 600` on it or deliver it with LoadCredential=",
                path.display(),
                file.mode
            ),
        ));
    }
    let value = file.contents.expose_secret().trim_end_matches(['\n', '\r']);
    if value.chars().count() < min_len {
        let need = if min_len <= 1 {
            "must not be empty".to_owned()
        } else {
            format!("must hold at least {min_len} characters")
        };
        return Err(ConfigProblem::new(
            key,
            format!("secret file {} {need}", path.display()),
        ));
    }
    Ok(SecretString::from(value.to_owned()))
}
