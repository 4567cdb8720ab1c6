//! The crate's one error type.

/// Everything that can go wrong while reading, verifying or writing TUF metadata.
///
/// Variants are named by what happened. [`Error::kind`] groups them for the application, which
/// maps each group to a stable code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A metadata document is not well-formed TUF metadata of the expected role.
    #[error("malformed {role} metadata: {reason}")]
    MalformedMetadata {
        /// The role (or file) that was being read.
        role: String,
        /// What is wrong.
        reason: String,
    },
    /// Fewer distinct authorized keys signed a role than its threshold requires.
    #[error("{role} metadata is signed by {valid} of the {threshold} required keys")]
    ThresholdNotMet {
        /// The role.
        role: String,
        /// Distinct authorized keys whose signature verified.
        valid: usize,
        /// The threshold.
        threshold: usize,
    },
    /// Metadata is past its `expires` time.
    #[error("{role} metadata expired at {expires}")]
    ExpiredMetadata {
        /// The role.
        role: String,
        /// Its expiry time.
        expires: String,
    },
    /// A version number breaks the rules: a rollback, or a version other than the one expected.
    #[error("{role} metadata has version {found}, expected {expected}")]
    BadVersion {
        /// The role.
        role: String,
        /// The version (or lower bound) that was required.
        expected: String,
        /// The version found.
        found: u64,
    },
    /// A role listed in the trusted snapshot disappeared from a newer snapshot.
    #[error("{role} is missing from the new snapshot")]
    RoleRemoved {
        /// The role that is missing.
        role: String,
    },
    /// A downloaded file's length or hash differs from what trusted metadata says.
    #[error("{what} does not match its trusted length or hashes: {reason}")]
    LengthOrHashMismatch {
        /// The file.
        what: String,
        /// Which check failed.
        reason: String,
    },
    /// A download is larger than its limit.
    #[error("{what} is larger than its limit of {limit} bytes")]
    TooLarge {
        /// The file.
        what: String,
        /// The limit.
        limit: u64,
    },
    /// No trusted targets role lists the target.
    #[error("target '{path}' is not listed by any trusted targets role")]
    TargetNotFound {
        /// The target path.
        path: String,
    },
    /// A remote file could not be fetched (other than "not found" where that is allowed).
    #[error("cannot fetch '{file}': {reason}")]
    Fetch {
        /// The file name.
        file: String,
        /// The transport's reason.
        reason: String,
    },
    /// The local cache of trusted metadata could not be written.
    #[error("cannot store trusted metadata '{file}': {reason}")]
    Cache {
        /// The file name.
        file: String,
        /// The reason.
        reason: String,
    },
    /// A target path is not acceptable (empty, absolute, `..`, or similar).
    #[error("invalid target path '{path}': {reason}")]
    InvalidTargetPath {
        /// The path.
        path: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A repository operation was asked for something its state or arguments do not allow.
    #[error("invalid repository operation: {0}")]
    InvalidRequest(String),
    /// No signer offered for a role holds one of its keys.
    #[error("no signer given for {role}: it needs {threshold} of keys {keyids}")]
    MissingSigner {
        /// The role.
        role: String,
        /// The role's threshold.
        threshold: usize,
        /// The role's key ids, comma separated.
        keyids: String,
    },
    /// A signer failed.
    #[error("signing {role} failed: {reason}")]
    Signing {
        /// The role.
        role: String,
        /// The signer's reason.
        reason: String,
    },
}

/// The coarse category of an [`Error`], which the application maps to stable codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorKind {
    /// Remote metadata is malformed.
    Malformed,
    /// Signatures do not meet a threshold.
    Threshold,
    /// Metadata expired.
    Expired,
    /// A rollback, freeze-by-version or version mismatch.
    Version,
    /// A length, hash or size check failed.
    Integrity,
    /// The target is not listed.
    NotFound,
    /// The transport failed.
    Transport,
    /// The local cache could not be written.
    Cache,
    /// The caller asked for something invalid.
    Usage,
    /// A signer failed.
    Signing,
}

impl Error {
    /// The category of this error.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Self::MalformedMetadata { .. } => ErrorKind::Malformed,
            Self::ThresholdNotMet { .. } => ErrorKind::Threshold,
            Self::ExpiredMetadata { .. } => ErrorKind::Expired,
            Self::BadVersion { .. } | Self::RoleRemoved { .. } => ErrorKind::Version,
            Self::LengthOrHashMismatch { .. } | Self::TooLarge { .. } => ErrorKind::Integrity,
            Self::TargetNotFound { .. } => ErrorKind::NotFound,
            Self::Fetch { .. } => ErrorKind::Transport,
            Self::Cache { .. } => ErrorKind::Cache,
            Self::InvalidTargetPath { .. }
            | Self::InvalidRequest(_)
            | Self::MissingSigner { .. } => ErrorKind::Usage,
            Self::Signing { .. } => ErrorKind::Signing,
        }
    }

    pub(crate) fn malformed(role: &str, reason: impl Into<String>) -> Self {
        Self::MalformedMetadata {
            role: role.to_owned(),
            reason: reason.into(),
        }
    }
}
