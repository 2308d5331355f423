//! Where configuration text and secret files come from, behind a trait so that tests
//! of loading and validation need no real files.

use std::collections::BTreeMap;
use std::io;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use secrecy::SecretString;

/// Reads the config file and the secret files it names.
pub trait ConfigSource {
    /// The text of the config file at `path`.
    fn read_text(&self, path: &Path) -> io::Result<String>;
    /// A secret file's contents and its permission bits.
    fn read_secret(&self, path: &Path) -> io::Result<SecretFile>;
}

/// A secret file as read: contents (still with any trailing newline) and mode bits.
pub struct SecretFile {
    /// The raw contents.
    pub contents: SecretString,
    /// Permission bits (`st_mode & 0o7777`).
    pub mode: u32,
}

/// The real file system.
#[derive(Debug, Clone, Copy, Default)]
pub struct FileSystem;

impl ConfigSource for FileSystem {
    fn read_text(&self, path: &Path) -> io::Result<String> {
        std::fs::read_to_string(path)
    }

    fn read_secret(&self, path: &Path) -> io::Result<SecretFile> {
        let file = std::fs::File::open(path)?;
        let mode = file.metadata()?.permissions().mode() & 0o7777;
        let contents = io::read_to_string(file)?;
        Ok(SecretFile {
            contents: SecretString::from(contents),
            mode,
        })
    }
}

/// Files held in memory, for tests.
#[derive(Debug, Clone, Default)]
pub struct MemorySource {
    files: BTreeMap<PathBuf, (String, u32)>,
}

impl MemorySource {
    /// An empty source: every read fails with `NotFound`.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a file with mode 0600.
    pub fn with_file(self, path: impl Into<PathBuf>, contents: impl Into<String>) -> Self {
        self.with_mode(path, contents, 0o600)
    }

    /// Adds a file with the given mode bits.
    pub fn with_mode(
        mut self,
        path: impl Into<PathBuf>,
        contents: impl Into<String>,
        mode: u32,
    ) -> Self {
        self.files.insert(path.into(), (contents.into(), mode));
        self
    }

    fn get(&self, path: &Path) -> io::Result<&(String, u32)> {
        self.files
            .get(path)
            .ok_or_else(|| io::Error::from(io::ErrorKind::NotFound))
    }
}

impl ConfigSource for MemorySource {
    fn read_text(&self, path: &Path) -> io::Result<String> {
        Ok(self.get(path)?.0.clone())
    }

    fn read_secret(&self, path: &Path) -> io::Result<SecretFile> {
        let (contents, mode) = self.get(path)?;
        Ok(SecretFile {
            contents: SecretString::from(contents.clone()),
            mode: *mode,
        })
    }
}
