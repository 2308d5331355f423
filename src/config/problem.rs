//! What can be wrong with a configuration, each problem tied to a key path.

use std::fmt;
use std::path::PathBuf;

use serde::Serialize;

/// One thing wrong (or worth a warning) in the configuration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ConfigProblem {
    /// Dotted key path, e.g. `pos.request_timeout_ms` or `reader[1].kind`; empty for the
    /// whole file.
    pub path: String,
    /// What is wrong and, where possible, what to write instead.
    pub message: String,
    /// 1-based line and column in the file, when the problem has a position there.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub location: Option<Location>,
}

/// A position in the configuration file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Location {
    /// 1-based line.
    pub line: usize,
    /// 1-based column, counted in characters.
    pub column: usize,
}

impl ConfigProblem {
    /// A problem at `path` without a file position.
    pub fn new(path: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            path: path.into(),
            message: message.into(),
            location: None,
        }
    }

    /// Attaches the file position of byte `offset` in `text`.
    pub fn at_offset(mut self, text: &str, offset: usize) -> Self {
        self.location = Some(Location::of_offset(text, offset));
        self
    }
}

impl Location {
    /// Line and column of byte `offset` in `text` (clamped to the text's end).
    pub fn of_offset(text: &str, offset: usize) -> Self {
        let mut offset = offset.min(text.len());
        while !text.is_char_boundary(offset) {
            offset -= 1;
        }
        let before = &text[..offset];
        let line = before.matches('\n').count() + 1;
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        let column = before[line_start..].chars().count() + 1;
        Self { line, column }
    }
}

impl fmt::Display for ConfigProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let path = if self.path.is_empty() {
            "(file)"
        } else {
            &self.path
        };
        match self.location {
            Some(Location { line, column }) => {
                write!(f, "{path} (line {line}, column {column}): {}", self.message)
            }
            None => write!(f, "{path}: {}", self.message),
        }
    }
}

/// Why a configuration could not be used. Every variant maps to exit code 64.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read at all.
    #[error("cannot read config file {}: {source}", path.display())]
    Unreadable {
        /// The file that was asked for.
        path: PathBuf,
        /// Why reading failed.
        #[source]
        source: std::io::Error,
    },
    /// The file was read, and these problems were found in it (all of them).
    #[error("{} problem(s) in config file {}", problems.len(), path.display())]
    Invalid {
        /// The file that was checked.
        path: PathBuf,
        /// Every problem found, in file order where known.
        problems: Vec<ConfigProblem>,
    },
}

impl ConfigError {
    /// The problems to print, one per line; an unreadable file is one problem.
    pub fn problems(&self) -> Vec<ConfigProblem> {
        match self {
            Self::Unreadable { source, .. } => {
                vec![ConfigProblem::new(
                    "",
                    format!("cannot read the file: {source}"),
                )]
            }
            Self::Invalid { problems, .. } => problems.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_map_to_one_based_lines_and_columns() {
        let text = "a = 1\nbé = 2\n";
        assert_eq!(
            Location::of_offset(text, 0),
            Location { line: 1, column: 1 }
        );
        assert_eq!(
            Location::of_offset(text, 6),
            Location { line: 2, column: 1 }
        );
        // "é" is two bytes but one column.
        assert_eq!(
            Location::of_offset(text, 9),
            Location { line: 2, column: 3 }
        );
        assert_eq!(
            Location::of_offset(text, 999),
            Location { line: 3, column: 1 }
        );
    }
}
