//! The crate's one error type, and the coarse [`ErrorKind`] that callers map to stable codes.

use custody_crypto::{Digest, DigestAlgorithm, KeyAlgorithm, KeyId};
use time::OffsetDateTime;

use crate::trust_root::Role;

/// Everything that can go wrong while parsing, verifying or producing a document.
///
/// Variants are named by what happened and carry the context needed to explain it.
/// They fall in three groups, as [`ErrorKind`] shows:
/// - the input is malformed or hostile (most variants);
/// - the caller misused the API ([`Error::ApiMisuse`]);
/// - something that should not happen did ([`Error::Internal`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The bytes are not one well-formed JSON value (syntax error, invalid UTF-8, trailing data).
    #[error("malformed JSON: {reason}")]
    MalformedJson {
        /// What the parser reported, with the position when known.
        reason: String,
    },
    /// A JSON object has the same key twice; the document is ambiguous and rejected.
    #[error("duplicate JSON object key '{key}'")]
    DuplicateKey {
        /// The repeated key (after unescaping).
        key: String,
    },
    /// The document is larger than [`crate::Limits::max_document_bytes`].
    #[error("document of {actual} bytes exceeds the limit of {limit} bytes")]
    TooLarge {
        /// The limit in force.
        limit: usize,
        /// The size of the document.
        actual: usize,
    },
    /// JSON arrays and objects are nested deeper than [`crate::Limits::max_depth`].
    #[error("JSON nesting exceeds the limit of {limit} levels")]
    TooDeep {
        /// The limit in force.
        limit: usize,
    },
    /// More signatures than [`crate::Limits::max_signatures`].
    #[error("{found} signatures exceed the limit of {limit}")]
    TooManySignatures {
        /// The limit in force.
        limit: usize,
        /// How many signatures the document has.
        found: usize,
    },
    /// A field that must hold base64 does not.
    #[error("field '{field}' is not valid base64")]
    InvalidBase64 {
        /// The path of the field, for example `signatures[0].sig`.
        field: String,
    },
    /// A required field is absent.
    #[error("required field '{field}' is missing")]
    MissingField {
        /// The path of the field.
        field: String,
    },
    /// A field is present but its value is not acceptable.
    #[error("field '{field}' is invalid: {reason}")]
    InvalidField {
        /// The path of the field.
        field: String,
        /// Why the value was rejected.
        reason: String,
    },
    /// A field that the format does not define, in a format that fails closed on them.
    #[error("unknown field '{field}'")]
    UnknownField {
        /// The path of the field.
        field: String,
    },
    /// A Sigstore bundle declares a media type this crate does not read.
    #[error("unsupported bundle media type '{media_type}'")]
    UnsupportedMediaType {
        /// The declared media type (truncated when long).
        media_type: String,
    },
    /// A DSSE envelope carries a payload type other than the one required.
    #[error("unsupported DSSE payload type '{payload_type}'")]
    UnsupportedPayloadType {
        /// The declared payload type (truncated when long).
        payload_type: String,
    },
    /// A digest algorithm that custody cannot compute or compare (for example `SHA2_384`).
    #[error("unsupported digest algorithm '{algorithm}'")]
    UnsupportedDigestAlgorithm {
        /// The algorithm as named in the document.
        algorithm: String,
    },
    /// A signature from the named key does not verify.
    #[error("signature by key {key_id} does not verify")]
    SignatureInvalid {
        /// The key that was expected to have signed.
        key_id: KeyId,
    },
    /// None of the signatures verifies under any of the given keys.
    #[error("no signature verifies under the given keys")]
    NoValidSignature,
    /// Some, but too few, distinct keys signed.
    #[error("{found} distinct keys signed, {needed} are required")]
    ThresholdNotMet {
        /// How many distinct keys must sign.
        needed: usize,
        /// How many distinct keys did.
        found: usize,
    },
    /// The signed artifact digest differs from the artifact being verified.
    #[error("the signature covers artifact {expected}, but the artifact is {actual}")]
    ArtifactDigestMismatch {
        /// The digest that was signed (boxed to keep `Error` small).
        expected: Box<Digest>,
        /// The digest of the artifact at hand.
        actual: Box<Digest>,
    },
    /// The caller did not supply the artifact digest of the algorithm the signature covers.
    #[error("no {algorithm} digest of the artifact was given")]
    ArtifactDigestMissing {
        /// The algorithm needed (see `Bundle::digest_algorithms_needed`).
        algorithm: DigestAlgorithm,
    },
    /// No subject of the signed statement matches the artifact (a signature over another artifact).
    #[error("no subject of the statement matches the artifact")]
    SubjectMismatch,
    /// The key signs pre-hashes of another algorithm than the signed message digest.
    #[error(
        "a {key_algorithm} key signs {expected} pre-hashes, but the message digest is {actual}"
    )]
    PrehashMismatch {
        /// The key's algorithm.
        key_algorithm: KeyAlgorithm,
        /// The digest algorithm that key signs.
        expected: DigestAlgorithm,
        /// The digest algorithm in the document.
        actual: DigestAlgorithm,
    },
    /// The key is not in the trust root.
    #[error("key {key_id} is not in the trust root")]
    UnknownKey {
        /// The key.
        key_id: KeyId,
    },
    /// The key is in the trust root, but for another role.
    #[error("key {key_id} has role '{role}', but '{required}' is required")]
    WrongRole {
        /// The key.
        key_id: KeyId,
        /// The key's role in the trust root.
        role: Role,
        /// The role the operation requires.
        required: Role,
    },
    /// The key's validity starts after the time of use.
    #[error("key {key_id} is not valid before {valid_from}")]
    KeyNotYetValid {
        /// The key.
        key_id: KeyId,
        /// When its validity starts.
        valid_from: OffsetDateTime,
    },
    /// The key's validity ended at or before the time of use.
    #[error("key {key_id} expired at {valid_until}")]
    KeyExpired {
        /// The key.
        key_id: KeyId,
        /// When its validity ended.
        valid_until: OffsetDateTime,
    },
    /// The key was revoked at or before the time of use.
    #[error("key {key_id} was revoked at {revoked_at}")]
    KeyRevoked {
        /// The key.
        key_id: KeyId,
        /// When it was revoked.
        revoked_at: OffsetDateTime,
    },
    /// The trust root's `expires` time has passed.
    #[error("the trust root expired at {expires}")]
    TrustRootExpired {
        /// When it expired.
        expires: OffsetDateTime,
    },
    /// A successor trust root does not have the next version number (rollback or skip).
    #[error("trust root version {found} follows version {previous}, expected {expected}")]
    TrustRootVersion {
        /// The version of the trust root it claims to succeed.
        previous: u64,
        /// The only acceptable version.
        expected: u64,
        /// The version in the document.
        found: u64,
    },
    /// A trust-root key entry's `keyId` is not the key id of its `publicKey`.
    #[error("trust root key '{declared}' has key id {computed}")]
    TrustRootKeyIdMismatch {
        /// The `keyId` written in the document (truncated when long).
        declared: String,
        /// The key id computed from the public key.
        computed: KeyId,
    },
    /// A key appears twice in a trust root (a key has exactly one role).
    #[error("key {key_id} appears more than once in the trust root")]
    DuplicateTrustRootKey {
        /// The repeated key.
        key_id: KeyId,
    },
    /// A signer failed to produce a signature.
    #[error("signing failed: {reason}")]
    SigningFailed {
        /// What the signer reported.
        reason: String,
    },
    /// A JSON value cannot be put in RFC 8785 canonical form.
    #[error("JSON value cannot be canonicalized: {reason}")]
    NotCanonicalizable {
        /// Why (for example, an integer beyond 2^53 - 1).
        reason: String,
    },
    /// The caller used the API in a way that can never succeed (a programming error).
    #[error("API misuse: {reason}")]
    ApiMisuse {
        /// What was wrong.
        reason: &'static str,
    },
    /// An internal invariant did not hold; this is a bug in custody.
    #[error("internal error: {reason}")]
    Internal {
        /// What went wrong.
        reason: &'static str,
    },
}

/// The category of an [`Error`], one per variant, for mapping to stable error codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
#[allow(
    missing_docs,
    reason = "each variant is documented on the Error variant of the same name"
)]
pub enum ErrorKind {
    MalformedJson,
    DuplicateKey,
    TooLarge,
    TooDeep,
    TooManySignatures,
    InvalidBase64,
    MissingField,
    InvalidField,
    UnknownField,
    UnsupportedMediaType,
    UnsupportedPayloadType,
    UnsupportedDigestAlgorithm,
    SignatureInvalid,
    NoValidSignature,
    ThresholdNotMet,
    ArtifactDigestMismatch,
    ArtifactDigestMissing,
    SubjectMismatch,
    PrehashMismatch,
    UnknownKey,
    WrongRole,
    KeyNotYetValid,
    KeyExpired,
    KeyRevoked,
    TrustRootExpired,
    TrustRootVersion,
    TrustRootKeyIdMismatch,
    DuplicateTrustRootKey,
    SigningFailed,
    NotCanonicalizable,
    ApiMisuse,
    Internal,
}

impl Error {
    /// The category of this error.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Self::MalformedJson { .. } => ErrorKind::MalformedJson,
            Self::DuplicateKey { .. } => ErrorKind::DuplicateKey,
            Self::TooLarge { .. } => ErrorKind::TooLarge,
            Self::TooDeep { .. } => ErrorKind::TooDeep,
            Self::TooManySignatures { .. } => ErrorKind::TooManySignatures,
            Self::InvalidBase64 { .. } => ErrorKind::InvalidBase64,
            Self::MissingField { .. } => ErrorKind::MissingField,
            Self::InvalidField { .. } => ErrorKind::InvalidField,
            Self::UnknownField { .. } => ErrorKind::UnknownField,
            Self::UnsupportedMediaType { .. } => ErrorKind::UnsupportedMediaType,
            Self::UnsupportedPayloadType { .. } => ErrorKind::UnsupportedPayloadType,
            Self::UnsupportedDigestAlgorithm { .. } => ErrorKind::UnsupportedDigestAlgorithm,
            Self::SignatureInvalid { .. } => ErrorKind::SignatureInvalid,
            Self::NoValidSignature => ErrorKind::NoValidSignature,
            Self::ThresholdNotMet { .. } => ErrorKind::ThresholdNotMet,
            Self::ArtifactDigestMismatch { .. } => ErrorKind::ArtifactDigestMismatch,
            Self::ArtifactDigestMissing { .. } => ErrorKind::ArtifactDigestMissing,
            Self::SubjectMismatch => ErrorKind::SubjectMismatch,
            Self::PrehashMismatch { .. } => ErrorKind::PrehashMismatch,
            Self::UnknownKey { .. } => ErrorKind::UnknownKey,
            Self::WrongRole { .. } => ErrorKind::WrongRole,
            Self::KeyNotYetValid { .. } => ErrorKind::KeyNotYetValid,
            Self::KeyExpired { .. } => ErrorKind::KeyExpired,
            Self::KeyRevoked { .. } => ErrorKind::KeyRevoked,
            Self::TrustRootExpired { .. } => ErrorKind::TrustRootExpired,
            Self::TrustRootVersion { .. } => ErrorKind::TrustRootVersion,
            Self::TrustRootKeyIdMismatch { .. } => ErrorKind::TrustRootKeyIdMismatch,
            Self::DuplicateTrustRootKey { .. } => ErrorKind::DuplicateTrustRootKey,
            Self::SigningFailed { .. } => ErrorKind::SigningFailed,
            Self::NotCanonicalizable { .. } => ErrorKind::NotCanonicalizable,
            Self::ApiMisuse { .. } => ErrorKind::ApiMisuse,
            Self::Internal { .. } => ErrorKind::Internal,
        }
    }

    pub(crate) fn missing(field: impl Into<String>) -> Self {
        Self::MissingField {
            field: field.into(),
        }
    }

    pub(crate) fn invalid(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Self::InvalidField {
            field: field.into(),
            reason: reason.into(),
        }
    }
}

/// Shortens attacker-supplied text before it is put in an error message.
pub(crate) fn truncate(s: &str) -> String {
    const MAX: usize = 80;
    if s.len() <= MAX {
        return s.to_owned();
    }
    let mut end = MAX;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &s[..end])
}
