//! Cryptographic primitives for custody: digests, keys, key ids, signing and verification.
//!
//! This crate is pure: it does no file, network or clock I/O.
//! Callers feed it bytes (or stream bytes into a [`Hasher`]) and get typed values back.
//!
//! What it is:
//! - [`Digest`]: a SHA-256 or SHA-512 digest with the OCI `algorithm:hex` text form.
//! - [`Hasher`]: a streaming hasher (SHA-NI / AVX2 backends are selected at run time by `sha2`).
//! - [`PublicKey`] and [`SigningKey`]: Ed25519 and ECDSA P-256 keys, read from and written to
//!   SPKI and PKCS#8 PEM (encrypted with scrypt + AES-256-CBC by default).
//! - [`KeyId`]: the SHA-256 of the key's SubjectPublicKeyInfo DER encoding.
//! - [`Signer`] and [`Verifier`]: the traits that a hardware-backed key implements too.
//!
//! What it is not: a format library (DSSE, in-toto and bundles live in `custody-formats`), nor a
//! key store (reading and writing key files is the application's job).
//!
//! ```
//! use custody_crypto::{DigestAlgorithm, Hasher, KeyAlgorithm, Signer, SigningKey, Verifier};
//!
//! let key = SigningKey::generate(KeyAlgorithm::Ed25519).unwrap();
//! let signature = key.sign(b"hello").unwrap();
//! key.public_key().verify(b"hello", &signature).unwrap();
//!
//! let mut hasher = Hasher::new(DigestAlgorithm::Sha256);
//! hasher.update(b"hello");
//! assert_eq!(
//!     hasher.finalize().to_string(),
//!     "sha256:2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"
//! );
//! ```

mod digest;
mod error;
mod keys;
mod sign;

pub use crate::digest::{Digest, DigestAlgorithm, Hasher, sha256, sha512};
pub use crate::error::{DigestError, KeyError, SignatureError};
pub use crate::keys::{KeyAlgorithm, KeyId, KeyProtection, PublicKey, SigningKey};
pub use crate::sign::{Signer, Verifier};

/// `N` bytes from the operating system's random number generator (for token secrets, salts).
pub fn random_bytes<const N: usize>() -> Result<[u8; N], KeyError> {
    let mut out = [0u8; N];
    getrandom::fill(&mut out).map_err(|_| KeyError::RandomUnavailable)?;
    Ok(out)
}

/// Compares two byte strings in time that depends only on their lengths.
///
/// Use it wherever a secret (a token, a MAC) is compared with attacker-supplied bytes.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    use subtle::ConstantTimeEq;
    a.len() == b.len() && bool::from(a.ct_eq(b))
}

#[cfg(test)]
mod tests;
