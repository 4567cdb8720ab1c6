//! Public and private keys, their PEM encodings, and key ids.

use std::fmt;
use std::str::FromStr;

use ed25519_dalek::pkcs8::{DecodePrivateKey as _, DecodePublicKey as _, EncodePublicKey as _};
use pkcs8::der::pem::LineEnding;
use pkcs8::{EncodePrivateKey as _, ObjectIdentifier, SecretDocument};
use secrecy::{ExposeSecret as _, SecretString};
use zeroize::Zeroizing;

use crate::digest::{DigestAlgorithm, sha256};
use crate::error::KeyError;

/// `id-Ed25519` (RFC 8410).
const OID_ED25519: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.101.112");
/// `id-ecPublicKey` (RFC 5480).
const OID_EC_PUBLIC_KEY: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.2.1");
/// `secp256r1` / `prime256v1` (RFC 5480).
const OID_P256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.3.1.7");

/// The DER prefix of an RFC 8410 Ed25519 `PrivateKeyInfo` (version 1, no public key), followed
/// by the 32-byte seed: SEQUENCE { INTEGER 0, SEQUENCE { OID 1.3.101.112 }, OCTET STRING {
/// OCTET STRING (32 bytes) } }.
const ED25519_PKCS8_V1_PREFIX: [u8; 16] = [
    0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20,
];

/// scrypt cost for encrypted key files: N = 2^14, r = 8, p = 1 (16 MiB, the most that
/// OpenSSL 3's default scrypt memory limit accepts, so `openssl pkey` can read our keys).
const SCRYPT_LOG_N: u8 = 14;

/// A supported signature algorithm.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum KeyAlgorithm {
    /// Ed25519 (RFC 8032). Messages are signed as pure Ed25519, pre-hashes as Ed25519ph.
    Ed25519,
    /// ECDSA over NIST P-256 with SHA-256 (FIPS 186-5); signatures are ASN.1 DER.
    EcdsaP256,
}

impl KeyAlgorithm {
    /// The name used on the command line and in custody documents.
    pub fn name(self) -> &'static str {
        match self {
            Self::Ed25519 => "ed25519",
            Self::EcdsaP256 => "ecdsa-p256",
        }
    }

    /// The digest algorithm this key signs when given a pre-hash
    /// (SHA-512 for Ed25519ph, SHA-256 for ECDSA P-256).
    pub fn prehash_algorithm(self) -> DigestAlgorithm {
        match self {
            Self::Ed25519 => DigestAlgorithm::Sha512,
            Self::EcdsaP256 => DigestAlgorithm::Sha256,
        }
    }
}

impl fmt::Display for KeyAlgorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for KeyAlgorithm {
    type Err = KeyError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "ed25519" => Ok(Self::Ed25519),
            "ecdsa-p256" => Ok(Self::EcdsaP256),
            other => Err(KeyError::UnsupportedAlgorithm(
                other.chars().take(40).collect(),
            )),
        }
    }
}

/// A key id: the SHA-256 of the key's canonical SubjectPublicKeyInfo DER encoding.
///
/// Text form: 64 lowercase hex characters.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct KeyId([u8; 32]);

impl KeyId {
    /// The raw 32 bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

impl fmt::Display for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex::encode(self.0))
    }
}

impl fmt::Debug for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "KeyId({self})")
    }
}

impl FromStr for KeyId {
    type Err = KeyError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || KeyError::MalformedKeyId(s.chars().take(80).collect());
        if s.len() != 64 || !s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
            return Err(bad());
        }
        let mut out = [0u8; 32];
        hex::decode_to_slice(s, &mut out).map_err(|_| bad())?;
        Ok(Self(out))
    }
}

#[derive(Clone)]
pub(crate) enum PublicInner {
    Ed25519(ed25519_dalek::VerifyingKey),
    /// The key, and the same key parsed by AWS-LC, which verifies P-256 signatures.
    P256(
        p256::ecdsa::VerifyingKey,
        aws_lc_rs::signature::ParsedPublicKey,
    ),
}

/// A public key of a supported algorithm.
///
/// Two public keys are equal when their canonical SPKI encodings are equal.
#[derive(Clone)]
pub struct PublicKey {
    pub(crate) inner: PublicInner,
    spki_der: Vec<u8>,
    id: KeyId,
}

impl PublicKey {
    fn from_inner(inner: PublicInner) -> Result<Self, KeyError> {
        let doc = match &inner {
            PublicInner::Ed25519(k) => k.to_public_key_der(),
            PublicInner::P256(k, _) => k.to_public_key_der(),
        }
        .map_err(|e| KeyError::Internal(e.to_string()))?;
        let spki_der = doc.into_vec();
        let id = KeyId(
            sha256(&spki_der)
                .as_bytes()
                .try_into()
                .map_err(|_| KeyError::Internal("sha256 output is not 32 bytes".to_owned()))?,
        );
        Ok(Self {
            inner,
            spki_der,
            id,
        })
    }

    /// Decodes a DER SubjectPublicKeyInfo (RFC 5280 §4.1.2.7).
    ///
    /// Ed25519 (RFC 8410) and EC keys on P-256 (RFC 5480) are accepted; anything else is an error.
    pub fn from_spki_der(der: &[u8]) -> Result<Self, KeyError> {
        let malformed = |e: &dyn fmt::Display| KeyError::MalformedPublicKey(e.to_string());
        let info = spki::SubjectPublicKeyInfoRef::try_from(der).map_err(|e| malformed(&e))?;
        let inner = match info.algorithm.oid {
            OID_ED25519 => PublicInner::Ed25519(
                ed25519_dalek::VerifyingKey::from_public_key_der(der).map_err(|e| malformed(&e))?,
            ),
            OID_EC_PUBLIC_KEY => {
                require_p256(&info.algorithm).map_err(|e| malformed(&e))?;
                p256_inner(
                    p256::ecdsa::VerifyingKey::from_public_key_der(der)
                        .map_err(|e| malformed(&e))?,
                )?
            }
            other => return Err(malformed(&format!("algorithm {other} is not supported"))),
        };
        Self::from_inner(inner)
    }

    /// Decodes a `-----BEGIN PUBLIC KEY-----` PEM document.
    pub fn from_pem(pem: &str) -> Result<Self, KeyError> {
        let (label, doc) = pkcs8::Document::from_pem(pem)
            .map_err(|e| KeyError::MalformedPublicKey(e.to_string()))?;
        if label != "PUBLIC KEY" {
            return Err(KeyError::MalformedPublicKey(format!(
                "PEM label is '{label}', expected 'PUBLIC KEY'"
            )));
        }
        Self::from_spki_der(doc.as_bytes())
    }

    /// Decodes an Ed25519 public key from its 32 raw bytes (RFC 8032 encoding).
    pub fn from_ed25519_bytes(bytes: &[u8]) -> Result<Self, KeyError> {
        let bytes: &[u8; 32] = bytes.try_into().map_err(|_| {
            KeyError::MalformedPublicKey(format!("ed25519 keys are 32 bytes, not {}", bytes.len()))
        })?;
        let key = ed25519_dalek::VerifyingKey::from_bytes(bytes)
            .map_err(|e| KeyError::MalformedPublicKey(e.to_string()))?;
        Self::from_inner(PublicInner::Ed25519(key))
    }

    /// The canonical SPKI DER encoding (P-256 points are uncompressed).
    pub fn spki_der(&self) -> &[u8] {
        &self.spki_der
    }

    /// The `-----BEGIN PUBLIC KEY-----` PEM encoding, with a trailing newline.
    pub fn to_pem(&self) -> String {
        pem_encode("PUBLIC KEY", &self.spki_der)
    }

    /// The key's algorithm.
    pub fn algorithm(&self) -> KeyAlgorithm {
        match self.inner {
            PublicInner::Ed25519(_) => KeyAlgorithm::Ed25519,
            PublicInner::P256(..) => KeyAlgorithm::EcdsaP256,
        }
    }

    /// The key id: SHA-256 of [`Self::spki_der`].
    pub fn key_id(&self) -> KeyId {
        self.id
    }

    /// The 32 raw bytes of an Ed25519 key (as used by signed notes and TUF); `None` for P-256.
    pub fn ed25519_bytes(&self) -> Option<[u8; 32]> {
        match &self.inner {
            PublicInner::Ed25519(k) => Some(k.to_bytes()),
            PublicInner::P256(..) => None,
        }
    }
}

impl PartialEq for PublicKey {
    fn eq(&self, other: &Self) -> bool {
        self.spki_der == other.spki_der
    }
}

impl Eq for PublicKey {}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PublicKey({} {})", self.algorithm(), self.id)
    }
}

/// An `id-ecPublicKey` algorithm identifier must name the P-256 curve (RFC 5480).
fn require_p256(algorithm: &spki::AlgorithmIdentifierRef<'_>) -> Result<(), String> {
    match algorithm.parameters_oid() {
        Ok(OID_P256) => Ok(()),
        Ok(curve) => Err(format!("EC curve {curve} is not P-256")),
        Err(_) => Err("EC key without a named curve".to_owned()),
    }
}

/// Pairs a P-256 key with its AWS-LC parse (from the canonical SPKI encoding).
fn p256_inner(key: p256::ecdsa::VerifyingKey) -> Result<PublicInner, KeyError> {
    let der = key
        .to_public_key_der()
        .map_err(|e| KeyError::Internal(e.to_string()))?;
    let parsed = aws_lc_rs::signature::ParsedPublicKey::new(
        &aws_lc_rs::signature::ECDSA_P256_SHA256_ASN1,
        der.as_bytes(),
    )
    .map_err(|e| KeyError::MalformedPublicKey(format!("AWS-LC rejected the P-256 key: {e}")))?;
    Ok(PublicInner::P256(key, parsed))
}

fn pem_encode(label: &str, der: &[u8]) -> String {
    // Encoding a byte slice we hold cannot fail except on allocation, which aborts anyway;
    // fall back to an empty string so this stays infallible without a panic path.
    pkcs8::der::pem::encode_string(label, LineEnding::LF, der).unwrap_or_default()
}

/// How a private key is protected when it is written out.
///
/// Encryption is the default everywhere; writing a plaintext key must be asked for by name.
#[derive(Clone, Copy)]
#[non_exhaustive]
pub enum KeyProtection<'a> {
    /// PKCS#8 `EncryptedPrivateKeyInfo`: PBES2 with scrypt and AES-256-CBC (RFC 8018, RFC 7914).
    Passphrase(&'a SecretString),
    /// Plain PKCS#8 `PrivateKeyInfo`, for keys held by a secrets manager or a test.
    Unencrypted,
}

pub(crate) enum SecretInner {
    Ed25519(ed25519_dalek::SigningKey),
    P256(p256::ecdsa::SigningKey),
}

/// A private signing key held in memory.
///
/// It has no `Debug` or `Display`, and its memory is zeroed on drop.
pub struct SigningKey {
    pub(crate) inner: SecretInner,
    public: PublicKey,
}

impl SigningKey {
    fn from_inner(inner: SecretInner) -> Result<Self, KeyError> {
        let public = PublicKey::from_inner(match &inner {
            SecretInner::Ed25519(k) => PublicInner::Ed25519(k.verifying_key()),
            SecretInner::P256(k) => p256_inner(*k.verifying_key())?,
        })?;
        Ok(Self { inner, public })
    }

    /// Generates a new key from the operating system's random number generator.
    pub fn generate(algorithm: KeyAlgorithm) -> Result<Self, KeyError> {
        let mut seed = Zeroizing::new([0u8; 32]);
        let inner = match algorithm {
            KeyAlgorithm::Ed25519 => {
                getrandom::fill(seed.as_mut()).map_err(|_| KeyError::RandomUnavailable)?;
                SecretInner::Ed25519(ed25519_dalek::SigningKey::from_bytes(&seed))
            }
            KeyAlgorithm::EcdsaP256 => loop {
                // Rejection sampling: a scalar of zero or ≥ n is rejected (probability < 2^-32).
                getrandom::fill(seed.as_mut()).map_err(|_| KeyError::RandomUnavailable)?;
                let bytes = p256::FieldBytes::from(*seed);
                if let Ok(k) = p256::ecdsa::SigningKey::from_bytes(&bytes) {
                    break SecretInner::P256(k);
                }
            },
        };
        Self::from_inner(inner)
    }

    /// Decodes a PKCS#8 PEM private key (RFC 5958), encrypted (`ENCRYPTED PRIVATE KEY`) or not
    /// (`PRIVATE KEY`).
    pub fn from_pkcs8_pem(pem: &str, passphrase: Option<&SecretString>) -> Result<Self, KeyError> {
        let malformed = |e: &dyn fmt::Display| KeyError::MalformedPrivateKey(e.to_string());
        let (label, doc) = SecretDocument::from_pem(pem).map_err(|e| malformed(&e))?;
        let plain: SecretDocument = match label {
            "PRIVATE KEY" => doc,
            "ENCRYPTED PRIVATE KEY" => {
                let passphrase = passphrase.ok_or(KeyError::PassphraseRequired)?;
                let encrypted = pkcs8::EncryptedPrivateKeyInfoRef::try_from(doc.as_bytes())
                    .map_err(|e| malformed(&e))?;
                encrypted
                    .decrypt(passphrase.expose_secret().as_bytes())
                    .map_err(|_| KeyError::WrongPassphrase)?
            }
            "EC PRIVATE KEY" => {
                return Err(malformed(
                    &"SEC1 'EC PRIVATE KEY' files are not PKCS#8; convert with 'openssl pkcs8 -topk8'",
                ));
            }
            other => {
                return Err(malformed(&format!(
                    "PEM label '{other}' is not a private key"
                )));
            }
        };
        Self::from_pkcs8_der(plain.as_bytes())
    }

    fn from_pkcs8_der(der: &[u8]) -> Result<Self, KeyError> {
        let malformed = |e: &dyn fmt::Display| KeyError::MalformedPrivateKey(e.to_string());
        let info = pkcs8::PrivateKeyInfoRef::try_from(der).map_err(|e| malformed(&e))?;
        let inner = match info.algorithm.oid {
            OID_ED25519 => SecretInner::Ed25519(
                ed25519_dalek::SigningKey::from_pkcs8_der(der).map_err(|e| malformed(&e))?,
            ),
            OID_EC_PUBLIC_KEY => {
                require_p256(&info.algorithm).map_err(|e| malformed(&e))?;
                SecretInner::P256(
                    p256::ecdsa::SigningKey::from_pkcs8_der(der).map_err(|e| malformed(&e))?,
                )
            }
            other => return Err(malformed(&format!("algorithm {other} is not supported"))),
        };
        Self::from_inner(inner)
    }

    /// Encodes the key as PKCS#8 PEM, encrypted unless [`KeyProtection::Unencrypted`] is given.
    pub fn to_pkcs8_pem(
        &self,
        protection: KeyProtection<'_>,
    ) -> Result<Zeroizing<String>, KeyError> {
        let internal = |e: &dyn fmt::Display| KeyError::Internal(e.to_string());
        let plain = match &self.inner {
            SecretInner::Ed25519(k) => {
                // RFC 8410 §7: a version-1 PrivateKeyInfo without the optional public key, the
                // form OpenSSL writes and reads (OpenSSL 3.0 rejects ed25519-dalek's v2 form).
                let mut der = Zeroizing::new(Vec::with_capacity(48));
                der.extend_from_slice(&ED25519_PKCS8_V1_PREFIX);
                der.extend_from_slice(k.as_bytes());
                SecretDocument::try_from(der.as_slice()).map_err(|e| internal(&e))?
            }
            SecretInner::P256(k) => k.to_pkcs8_der().map_err(|e| internal(&e))?,
        };
        let (label, doc) = match protection {
            KeyProtection::Unencrypted => ("PRIVATE KEY", plain),
            KeyProtection::Passphrase(passphrase) => {
                let mut salt = [0u8; 16];
                let mut iv = [0u8; 16];
                getrandom::fill(&mut salt).map_err(|_| KeyError::RandomUnavailable)?;
                getrandom::fill(&mut iv).map_err(|_| KeyError::RandomUnavailable)?;
                let scrypt = pkcs8::pkcs5::scrypt::Params::new(SCRYPT_LOG_N, 8, 1)
                    .map_err(|e| internal(&e))?;
                let params =
                    pkcs8::pkcs5::pbes2::Parameters::generate_scrypt_aes256cbc(scrypt, &salt, iv)
                        .map_err(|e| internal(&e))?;
                let info = pkcs8::PrivateKeyInfoRef::try_from(plain.as_bytes())
                    .map_err(|e| internal(&e))?;
                let encrypted = info
                    .encrypt_with_params(params, passphrase.expose_secret().as_bytes())
                    .map_err(|e| internal(&e))?;
                ("ENCRYPTED PRIVATE KEY", encrypted)
            }
        };
        doc.to_pem(label, LineEnding::LF).map_err(|e| internal(&e))
    }

    /// The matching public key.
    pub fn public_key(&self) -> &PublicKey {
        &self.public
    }
}
