//! The build runner's error type.

use std::fmt;

/// What went wrong, so that the application can map it to a stable code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorKind {
    /// A request the caller can fix: an environment variable name, a builder id, a command.
    Usage,
    /// The source tree is unusable: not a git work tree, no commit, uncommitted changes.
    Source,
    /// A lockfile could not be read as one.
    Lockfile,
    /// The sandbox could not be set up or a helper program (git, bwrap, prlimit) is missing.
    Environment,
    /// An OSV advisory could not be read or evaluated.
    Advisory,
    /// An SBOM could not be read as a CycloneDX JSON document.
    Sbom,
}

/// A build runner error: a kind and a one-line cause.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct Error {
    kind: ErrorKind,
    message: String,
}

impl Error {
    /// A new error.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
        }
    }

    /// What went wrong.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// The cause, one line.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}
