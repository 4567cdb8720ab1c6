//! The application error: a stable [`Code`], a one-line cause, and a remediation hint.
//!
//! Library errors are mapped to codes here and nowhere else.

use std::fmt;
use std::path::Path;

use custody_crypto::{KeyError, SignatureError};
use custody_formats::ErrorKind;

use crate::codes::Code;

/// An error with a stable code, a cause and a hint.
#[derive(Debug, Clone)]
pub struct Error {
    code: Code,
    message: String,
    hint: Option<String>,
}

/// What a document was, so that a format error maps to the right code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Document {
    /// A Sigstore bundle or bare DSSE envelope presented for verification.
    Bundle,
    /// A trust root.
    TrustRoot,
    /// A predicate or statement the user supplied to be signed.
    Predicate,
}

impl Error {
    /// A new error with the code's default hint.
    pub fn new(code: Code, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            hint: None,
        }
    }

    /// Replaces the code's default hint with a more specific one.
    #[must_use]
    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    /// The stable code.
    pub fn code(&self) -> Code {
        self.code
    }

    /// The one-line cause.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// What to do about it.
    pub fn hint(&self) -> &str {
        self.hint.as_deref().unwrap_or(self.code.remediation())
    }

    /// The process exit status (1, 2 or 3).
    pub fn exit_status(&self) -> u8 {
        self.code.exit_status()
    }

    /// Maps an I/O error while reading `path`.
    pub fn read(path: &Path, err: &std::io::Error) -> Self {
        Self::new(
            Code::ReadFailed,
            format!("cannot read '{}': {err}", path.display()),
        )
    }

    /// Maps an I/O error while writing `path`.
    pub fn write(path: &Path, err: &std::io::Error) -> Self {
        Self::new(
            Code::WriteFailed,
            format!("cannot write '{}': {err}", path.display()),
        )
    }

    /// Maps a key decoding error for the key file at `path`.
    pub fn key(path: &Path, err: &KeyError) -> Self {
        let code = match err {
            KeyError::WrongPassphrase => Code::WrongPassphrase,
            KeyError::PassphraseRequired => Code::PassphraseRequired,
            KeyError::RandomUnavailable | KeyError::Internal(_) => Code::Internal,
            _ => Code::KeyFileMalformed,
        };
        Self::new(code, format!("key '{}': {err}", path.display()))
    }

    /// Maps a signing failure (a signer backend failed).
    pub fn signing(err: &SignatureError) -> Self {
        Self::new(Code::Internal, format!("signing failed: {err}"))
    }

    /// Maps a build runner error.
    pub fn build(err: &custody_build::Error) -> Self {
        let code = match err.kind() {
            custody_build::ErrorKind::Usage | custody_build::ErrorKind::Lockfile => {
                Code::BuildRequestInvalid
            }
            custody_build::ErrorKind::Source => Code::BuildSourceInvalid,
            _ => Code::SandboxUnavailable,
        };
        Self::new(code, err.message().to_owned())
    }

    /// Maps a TUF error.
    pub fn tuf(err: &custody_tuf::Error) -> Self {
        use custody_tuf::ErrorKind as K;
        let code = match err.kind() {
            K::Malformed | K::Threshold => Code::TufMetadataRejected,
            K::Expired => Code::TufMetadataExpired,
            K::Version => Code::TufRollback,
            K::Integrity => Code::TufTargetMismatch,
            K::NotFound => Code::TufTargetNotFound,
            K::Transport => Code::TufFetchFailed,
            K::Cache => Code::WriteFailed,
            K::Signing => Code::Internal,
            _ => Code::TufRequestInvalid,
        };
        Self::new(code, err.to_string())
    }

    /// Maps a format-layer error about `document`.
    pub fn format(document: Document, err: &custody_formats::Error) -> Self {
        let malformed = match document {
            Document::Bundle => Code::BundleMalformed,
            Document::TrustRoot => Code::TrustRootMalformed,
            Document::Predicate => Code::PredicateMalformed,
        };
        let code = match err.kind() {
            ErrorKind::ArtifactDigestMismatch => Code::ArtifactDigestMismatch,
            // For a trust root, a missing or invalid root signature means its threshold is not met.
            ErrorKind::SignatureInvalid | ErrorKind::NoValidSignature
                if document == Document::TrustRoot =>
            {
                Code::ThresholdNotMet
            }
            ErrorKind::SignatureInvalid | ErrorKind::NoValidSignature => Code::SignatureInvalid,
            ErrorKind::SubjectMismatch => Code::SubjectMismatch,
            ErrorKind::ThresholdNotMet => Code::ThresholdNotMet,
            ErrorKind::UnknownKey => Code::UnknownKey,
            ErrorKind::WrongRole => Code::WrongRole,
            ErrorKind::KeyExpired => Code::KeyExpired,
            ErrorKind::KeyNotYetValid => Code::KeyNotYetValid,
            ErrorKind::KeyRevoked => Code::KeyRevoked,
            ErrorKind::TrustRootExpired => Code::TrustRootExpired,
            ErrorKind::TrustRootVersion => Code::TrustRootChainBroken,
            ErrorKind::UnsupportedMediaType
            | ErrorKind::UnsupportedPayloadType
            | ErrorKind::UnsupportedDigestAlgorithm
            | ErrorKind::ArtifactDigestMissing
            | ErrorKind::PrehashMismatch => match document {
                Document::Bundle => Code::BundleUnsupported,
                _ => malformed,
            },
            ErrorKind::ApiMisuse | ErrorKind::Internal | ErrorKind::SigningFailed => Code::Internal,
            _ => malformed,
        };
        Self::new(code, err.to_string())
    }
}

/// Maps a deployment-domain error (predicates, names, history steps).
pub(crate) fn from_deploy(err: &custody_deploy::DeployError) -> Error {
    use custody_deploy::DeployError as E;
    let code = match err {
        E::InvalidEnvironment(_) => Code::EnvironmentNameInvalid,
        E::InvalidRepository(_) => Code::RegistryNameInvalid,
        E::Conflict { .. } | E::PreviousMismatch { .. } => Code::PromotionConflict,
        E::NotARollbackCandidate { .. } => Code::RollbackTargetInvalid,
        E::Storage(_) => Code::EnvironmentStoreFailed,
        _ => Code::DeployRecordInvalid,
    };
    Error::new(code, err.to_string())
}

/// Maps an environment store error.
pub(crate) fn from_store(err: &custody_deploy::StoreError) -> Error {
    let code = match err {
        custody_deploy::StoreError::Conflict { .. } => Code::PromotionConflict,
        _ => Code::EnvironmentStoreFailed,
    };
    Error::new(code, err.to_string())
}

impl From<custody_deploy::DeployError> for Error {
    fn from(err: custody_deploy::DeployError) -> Self {
        from_deploy(&err)
    }
}

impl From<custody_deploy::StoreError> for Error {
    fn from(err: custody_deploy::StoreError) -> Self {
        from_store(&err)
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

impl std::error::Error for Error {}

/// The result type of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests;
