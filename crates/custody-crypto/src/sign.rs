//! The [`Signer`] and [`Verifier`] traits and their software implementations.

use ed25519_dalek::Signer as _;
use p256::ecdsa::signature::hazmat::PrehashSigner as _;
use sha2::digest::{FixedOutput, HashMarker, Output, OutputSizeUser, Update, consts::U64};

use crate::digest::Digest;
use crate::error::SignatureError;
use crate::keys::{KeyAlgorithm, PublicInner, PublicKey, SecretInner, SigningKey};

/// Something that can sign: a key in memory, or a hardware-backed key.
pub trait Signer {
    /// The public half, which also names the key (its [`crate::KeyId`]).
    fn public_key(&self) -> &PublicKey;

    /// Signs `message` (pure Ed25519, or ECDSA P-256 over SHA-256(message)).
    ///
    /// ECDSA signatures are ASN.1 DER; Ed25519 signatures are 64 bytes.
    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, SignatureError>;

    /// Signs a pre-computed digest: Ed25519ph over a SHA-512 digest (RFC 8032 §5.1, no context),
    /// or ECDSA P-256 over a SHA-256 digest. Large artifacts are signed this way, streamed once.
    fn sign_prehashed(&self, digest: &Digest) -> Result<Vec<u8>, SignatureError>;
}

/// Something that can check signatures made by a [`Signer`].
pub trait Verifier {
    /// Checks a signature over `message`.
    fn verify(&self, message: &[u8], signature: &[u8]) -> Result<(), SignatureError>;

    /// Checks a signature over a pre-computed digest (see [`Signer::sign_prehashed`]).
    fn verify_prehashed(&self, digest: &Digest, signature: &[u8]) -> Result<(), SignatureError>;
}

fn check_prehash(algorithm: KeyAlgorithm, digest: &Digest) -> Result<(), SignatureError> {
    let expected = algorithm.prehash_algorithm();
    if digest.algorithm() == expected {
        Ok(())
    } else {
        Err(SignatureError::WrongPrehash {
            key_algorithm: algorithm.name(),
            expected: expected.name(),
            actual: digest.algorithm().name(),
        })
    }
}

/// A finished SHA-512 value presented through the `digest` traits, because `ed25519-dalek`
/// takes Ed25519ph pre-hashes as an unfinished hasher.
///
/// `update` is never called by ed25519-dalek on a pre-hash (it only finalizes), and this type
/// is private to the module.
struct FinishedSha512([u8; 64]);

impl Default for FinishedSha512 {
    fn default() -> Self {
        Self([0u8; 64])
    }
}

impl HashMarker for FinishedSha512 {}

impl OutputSizeUser for FinishedSha512 {
    type OutputSize = U64;
}

impl Update for FinishedSha512 {
    fn update(&mut self, _data: &[u8]) {}
}

impl FixedOutput for FinishedSha512 {
    fn finalize_into(self, out: &mut Output<Self>) {
        out.copy_from_slice(&self.0);
    }
}

fn finished_sha512(digest: &Digest) -> Result<FinishedSha512, SignatureError> {
    check_prehash(KeyAlgorithm::Ed25519, digest)?;
    let mut bytes = [0u8; 64];
    bytes.copy_from_slice(digest.as_bytes());
    Ok(FinishedSha512(bytes))
}

impl Signer for SigningKey {
    fn public_key(&self) -> &PublicKey {
        Self::public_key(self)
    }

    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, SignatureError> {
        Ok(match &self.inner {
            SecretInner::Ed25519(k) => k.sign(message).to_bytes().to_vec(),
            SecretInner::P256(k) => {
                let sig: p256::ecdsa::Signature =
                    p256::ecdsa::signature::Signer::try_sign(k, message)
                        .map_err(|e| SignatureError::SignerFailed(e.to_string()))?;
                sig.to_der().as_bytes().to_vec()
            }
        })
    }

    fn sign_prehashed(&self, digest: &Digest) -> Result<Vec<u8>, SignatureError> {
        Ok(match &self.inner {
            SecretInner::Ed25519(k) => k
                .sign_prehashed(finished_sha512(digest)?, None)
                .map_err(|e| SignatureError::SignerFailed(e.to_string()))?
                .to_bytes()
                .to_vec(),
            SecretInner::P256(k) => {
                check_prehash(KeyAlgorithm::EcdsaP256, digest)?;
                let sig: p256::ecdsa::Signature = k
                    .sign_prehash(digest.as_bytes())
                    .map_err(|e| SignatureError::SignerFailed(e.to_string()))?;
                sig.to_der().as_bytes().to_vec()
            }
        })
    }
}

fn ed25519_signature(bytes: &[u8]) -> Result<ed25519_dalek::Signature, SignatureError> {
    ed25519_dalek::Signature::from_slice(bytes).map_err(|_| SignatureError::Malformed("ed25519"))
}

fn p256_signature(bytes: &[u8]) -> Result<p256::ecdsa::Signature, SignatureError> {
    p256::ecdsa::Signature::from_der(bytes).map_err(|_| SignatureError::Malformed("ecdsa-p256 DER"))
}

/// ECDSA P-256 over a SHA-256 digest, by AWS-LC: whether the signature verifies. A signature
/// that is not strict DER is an error (checked first, so it is reported as malformed).
fn p256_verify_digest(
    key: &aws_lc_rs::signature::ParsedPublicKey,
    digest: &Digest,
    signature: &[u8],
) -> Result<bool, SignatureError> {
    p256_signature(signature)?;
    // The caller checked that `digest` is SHA-256, so the import cannot fail on its length.
    Ok(
        aws_lc_rs::digest::Digest::import_less_safe(digest.as_bytes(), &aws_lc_rs::digest::SHA256)
            .is_ok_and(|d| key.verify_digest_sig(&d, signature).is_ok()),
    )
}

impl Verifier for PublicKey {
    fn verify(&self, message: &[u8], signature: &[u8]) -> Result<(), SignatureError> {
        let invalid = || SignatureError::Invalid(self.key_id().to_string());
        match &self.inner {
            // verify_strict rejects small-order keys and non-canonical R (RFC 8032 §5.1.7).
            PublicInner::Ed25519(k) => k
                .verify_strict(message, &ed25519_signature(signature)?)
                .map_err(|_| invalid()),
            PublicInner::P256(_, parsed) => {
                p256_verify_digest(parsed, &crate::digest::sha256(message), signature)?
                    .then_some(())
                    .ok_or_else(invalid)
            }
        }
    }

    fn verify_prehashed(&self, digest: &Digest, signature: &[u8]) -> Result<(), SignatureError> {
        let invalid = || SignatureError::Invalid(self.key_id().to_string());
        match &self.inner {
            PublicInner::Ed25519(k) => {
                let signature = ed25519_signature(signature)?;
                k.verify_prehashed_strict(finished_sha512(digest)?, None, &signature)
                    .map_err(|_| invalid())
            }
            PublicInner::P256(_, parsed) => {
                check_prehash(KeyAlgorithm::EcdsaP256, digest)?;
                p256_verify_digest(parsed, digest, signature)?
                    .then_some(())
                    .ok_or_else(invalid)
            }
        }
    }
}
