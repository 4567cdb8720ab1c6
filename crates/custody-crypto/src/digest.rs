//! Digests with the OCI `algorithm:encoded` grammar, restricted to the registered algorithms.

use std::fmt;
use std::str::FromStr;

use sha2::Digest as _;

use crate::error::DigestError;

/// A supported digest algorithm.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum DigestAlgorithm {
    /// SHA-256 (FIPS 180-4), the OCI default.
    Sha256,
    /// SHA-512 (FIPS 180-4).
    Sha512,
}

impl DigestAlgorithm {
    /// The OCI registered name: `sha256` or `sha512`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Sha256 => "sha256",
            Self::Sha512 => "sha512",
        }
    }

    /// The digest length in bytes.
    pub fn len(self) -> usize {
        match self {
            Self::Sha256 => 32,
            Self::Sha512 => 64,
        }
    }

    /// Always false: every algorithm has a non-empty output (for clippy's `len` convention).
    pub fn is_empty(self) -> bool {
        false
    }
}

impl fmt::Display for DigestAlgorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for DigestAlgorithm {
    type Err = DigestError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "sha256" => Ok(Self::Sha256),
            "sha512" => Ok(Self::Sha512),
            other => Err(DigestError::UnsupportedAlgorithm(truncate(other))),
        }
    }
}

/// A digest value: an algorithm and its output bytes.
///
/// The text form is the OCI digest grammar restricted to the registered algorithms:
/// `sha256:` followed by 64 lowercase hex characters, or `sha512:` followed by 128.
/// Equality is constant-time, so a digest can be compared with attacker-chosen bytes.
#[derive(Clone, Copy)]
pub enum Digest {
    /// A SHA-256 digest.
    Sha256([u8; 32]),
    /// A SHA-512 digest.
    Sha512([u8; 64]),
}

impl Digest {
    /// Builds a digest from raw bytes, checking the length against the algorithm.
    pub fn from_bytes(algorithm: DigestAlgorithm, bytes: &[u8]) -> Result<Self, DigestError> {
        let wrong = || DigestError::WrongLength {
            algorithm: algorithm.name(),
            expected: algorithm.len(),
            actual: bytes.len(),
        };
        Ok(match algorithm {
            DigestAlgorithm::Sha256 => Self::Sha256(bytes.try_into().map_err(|_| wrong())?),
            DigestAlgorithm::Sha512 => Self::Sha512(bytes.try_into().map_err(|_| wrong())?),
        })
    }

    /// The algorithm that produced this digest.
    pub fn algorithm(&self) -> DigestAlgorithm {
        match self {
            Self::Sha256(_) => DigestAlgorithm::Sha256,
            Self::Sha512(_) => DigestAlgorithm::Sha512,
        }
    }

    /// The raw digest bytes.
    pub fn as_bytes(&self) -> &[u8] {
        match self {
            Self::Sha256(b) => b,
            Self::Sha512(b) => b,
        }
    }

    /// The lowercase hex encoding of the bytes, without the algorithm prefix.
    pub fn hex(&self) -> String {
        hex::encode(self.as_bytes())
    }
}

impl PartialEq for Digest {
    fn eq(&self, other: &Self) -> bool {
        self.algorithm() == other.algorithm()
            && crate::constant_time_eq(self.as_bytes(), other.as_bytes())
    }
}

impl Eq for Digest {}

impl std::hash::Hash for Digest {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.algorithm().hash(state);
        self.as_bytes().hash(state);
    }
}

impl fmt::Display for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.algorithm(), self.hex())
    }
}

impl fmt::Debug for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Digest({self})")
    }
}

impl FromStr for Digest {
    type Err = DigestError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (alg, encoded) = s
            .split_once(':')
            .ok_or_else(|| DigestError::MissingSeparator(truncate(s)))?;
        let algorithm: DigestAlgorithm = alg.parse()?;
        let bad = || DigestError::BadEncoding {
            value: truncate(s),
            algorithm: algorithm.name(),
            expected: algorithm.len() * 2,
        };
        // OCI image-spec: registered algorithms use lowercase hex only.
        if encoded.len() != algorithm.len() * 2
            || !encoded
                .bytes()
                .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
        {
            return Err(bad());
        }
        let bytes = hex::decode(encoded).map_err(|_| bad())?;
        Self::from_bytes(algorithm, &bytes)
    }
}

fn truncate(s: &str) -> String {
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

/// A streaming hasher for one [`DigestAlgorithm`].
///
/// Feed it any number of chunks; memory use does not depend on the input size.
#[derive(Clone)]
pub struct Hasher(HasherInner);

/// SHA-256 comes from `sha2` (SHA-NI when the CPU has it, as fast as OpenSSL); SHA-512 from
/// AWS-LC, whose AVX2 assembly is about 1.5x faster than `sha2`'s on x86-64.
#[derive(Clone)]
enum HasherInner {
    Sha256(sha2::Sha256),
    Sha512(aws_lc_rs::digest::Context),
}

impl Hasher {
    /// Starts a new hash computation.
    pub fn new(algorithm: DigestAlgorithm) -> Self {
        Self(match algorithm {
            DigestAlgorithm::Sha256 => HasherInner::Sha256(sha2::Sha256::new()),
            DigestAlgorithm::Sha512 => {
                HasherInner::Sha512(aws_lc_rs::digest::Context::new(&aws_lc_rs::digest::SHA512))
            }
        })
    }

    /// The algorithm this hasher computes.
    pub fn algorithm(&self) -> DigestAlgorithm {
        match self.0 {
            HasherInner::Sha256(_) => DigestAlgorithm::Sha256,
            HasherInner::Sha512(_) => DigestAlgorithm::Sha512,
        }
    }

    /// Adds bytes to the computation.
    pub fn update(&mut self, data: &[u8]) {
        match &mut self.0 {
            HasherInner::Sha256(h) => h.update(data),
            HasherInner::Sha512(h) => h.update(data),
        }
    }

    /// Finishes the computation.
    pub fn finalize(self) -> Digest {
        match self.0 {
            HasherInner::Sha256(h) => Digest::Sha256(h.finalize().into()),
            HasherInner::Sha512(h) => {
                let out = h.finish();
                let mut bytes = [0u8; 64];
                // SHA-512 output is always 64 bytes.
                bytes.copy_from_slice(&out.as_ref()[..64]);
                Digest::Sha512(bytes)
            }
        }
    }
}

/// The SHA-256 digest of `data`.
pub fn sha256(data: &[u8]) -> Digest {
    Digest::Sha256(sha2::Sha256::digest(data).into())
}

/// The SHA-512 digest of `data`.
pub fn sha512(data: &[u8]) -> Digest {
    Digest::Sha512(sha2::Sha512::digest(data).into())
}
