use thiserror::Error;

/// A digest string or digest bytes could not be accepted.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum DigestError {
    /// The text is not of the form `algorithm:hex`.
    #[error("digest '{0}' is not of the form 'algorithm:hex'")]
    MissingSeparator(String),
    /// The algorithm is not one custody accepts (sha256, sha512).
    #[error("digest algorithm '{0}' is not supported (use sha256 or sha512)")]
    UnsupportedAlgorithm(String),
    /// The encoded part is not lowercase hex of the algorithm's length.
    #[error("digest '{value}' must have {expected} lowercase hex characters after '{algorithm}:'")]
    BadEncoding {
        /// The rejected text (truncated when long).
        value: String,
        /// The algorithm named in the text.
        algorithm: &'static str,
        /// How many hex characters the algorithm needs.
        expected: usize,
    },
    /// Raw digest bytes have the wrong length for the algorithm.
    #[error("a {algorithm} digest has {expected} bytes, got {actual}")]
    WrongLength {
        /// The algorithm.
        algorithm: &'static str,
        /// The required length in bytes.
        expected: usize,
        /// The length that was given.
        actual: usize,
    },
}

/// A key could not be generated, decoded or encoded.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum KeyError {
    /// The key algorithm name is not one custody supports.
    #[error("key algorithm '{0}' is not supported (use ed25519 or ecdsa-p256)")]
    UnsupportedAlgorithm(String),
    /// The PEM text is not a public key (`PUBLIC KEY`) of a supported algorithm.
    #[error("not a supported SPKI public key: {0}")]
    MalformedPublicKey(String),
    /// The PEM text is not a PKCS#8 private key of a supported algorithm.
    #[error("not a supported PKCS#8 private key: {0}")]
    MalformedPrivateKey(String),
    /// The private key is encrypted and no passphrase was given.
    #[error("the private key is encrypted and no passphrase was given")]
    PassphraseRequired,
    /// Decryption failed: the passphrase is wrong or the file is damaged.
    #[error("the passphrase is wrong or the encrypted key is damaged")]
    WrongPassphrase,
    /// A key id is not 64 lowercase hex characters.
    #[error("key id '{0}' is not 64 lowercase hex characters")]
    MalformedKeyId(String),
    /// The operating system's random number generator failed.
    #[error("the system random number generator failed")]
    RandomUnavailable,
    /// Encoding the key failed; this is a bug in custody or a dependency.
    #[error("internal error while encoding a key: {0}")]
    Internal(String),
}

/// A signature could not be made or did not verify.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SignatureError {
    /// The signature bytes are not a well-formed signature for the key's algorithm.
    #[error("the signature is not a well-formed {0} signature")]
    Malformed(&'static str),
    /// The signature is well formed but does not verify under the key.
    #[error("the signature does not verify under key {0}")]
    Invalid(String),
    /// A pre-hashed operation was given a digest of the wrong algorithm.
    #[error("{key_algorithm} signs {expected} pre-hashes, not {actual}")]
    WrongPrehash {
        /// The key's algorithm.
        key_algorithm: &'static str,
        /// The digest algorithm the key requires.
        expected: &'static str,
        /// The digest algorithm that was given.
        actual: &'static str,
    },
    /// The signer could not produce a signature (for example, a hardware token failed).
    #[error("signing failed: {0}")]
    SignerFailed(String),
}
