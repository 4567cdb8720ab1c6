use thiserror::Error;

/// A storage failure.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum Error {
    /// The database could not be opened, read or written.
    #[error("database error: {0}")]
    Database(String),
    /// The stored data is not what custody wrote (damaged or edited by hand).
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
}

impl From<rusqlite::Error> for Error {
    fn from(e: rusqlite::Error) -> Self {
        Self::Database(e.to_string())
    }
}
