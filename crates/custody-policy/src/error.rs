//! The crate's error: problems found while loading a policy set.

/// A policy set could not be loaded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PolicyError {
    /// A module is not valid Rego.
    #[error("{file}{}: {message}", line.map(|l| format!(":{l}")).unwrap_or_default())]
    Syntax {
        /// The module's file name.
        file: String,
        /// The line of the error, when the engine reports one.
        line: Option<u32>,
        /// The engine's message.
        message: String,
    },
    /// Two modules have the same file name.
    #[error("{file}: two modules have this file name")]
    DuplicateModule {
        /// The repeated file name.
        file: String,
    },
    /// A module declares an environment package whose name is not a valid environment name.
    #[error("{file}: package {package} does not name a valid environment ([a-z][a-z0-9_]{{0,62}})")]
    InvalidPackage {
        /// The module's file name.
        file: String,
        /// The declared package.
        package: String,
    },
    /// An environment name is not `[a-z][a-z0-9_]{0,62}`.
    #[error("invalid environment name {name:?}: use [a-z][a-z0-9_]{{0,62}}")]
    InvalidEnvironment {
        /// The rejected name.
        name: String,
    },
}

impl PolicyError {
    /// A syntax error from the engine's message, which looks like
    /// `--> FILE:LINE:COL` followed by the offending line and `error: MESSAGE`.
    pub(crate) fn parse(file: &str, engine_message: &str) -> Self {
        let line = engine_message
            .lines()
            .find_map(|l| l.trim().strip_prefix("--> "))
            .and_then(|location| location.rsplit(':').nth(1))
            .and_then(|line| line.parse().ok());
        let message = engine_message
            .lines()
            .rev()
            .find(|l| !l.trim().is_empty())
            .unwrap_or(engine_message)
            .trim()
            .to_owned();
        Self::Syntax {
            file: file.to_owned(),
            line,
            message,
        }
    }

    /// The file the error is about, when it is about one.
    pub fn file(&self) -> Option<&str> {
        match self {
            Self::Syntax { file, .. }
            | Self::DuplicateModule { file }
            | Self::InvalidPackage { file, .. } => Some(file),
            Self::InvalidEnvironment { .. } => None,
        }
    }

    /// The line the error is about, when known.
    pub fn line(&self) -> Option<u32> {
        match self {
            Self::Syntax { line, .. } => *line,
            _ => None,
        }
    }
}
