//! Rekor v2 `hashedrekord` v0.0.2 log entries: the record a transparency log keeps for a
//! signature over a digest (sigstore/rekor-tiles `rekor/v2/hashedrekord.proto`, `entry.proto`,
//! `verifier.proto`; protobuf JSON mapping).
//!
//! A DSSE envelope signed with ECDSA P-256 is logged the same way, over the SHA-256 of its PAE
//! (Rekor v2 deprecates its separate DSSE entry type in favour of exactly this).
//!
//! - The write request: `{"hashedRekordRequestV002": {"digest", "signature": {"content",
//!   "verifier": {"publicKey": {"rawBytes"}, "keyDetails"}}}}`.
//! - The logged entry (the leaf's bytes): the RFC 8785 canonical JSON of `{"kind":
//!   "hashedrekord", "apiVersion": "0.0.2", "spec": {"hashedRekordV002": {"data": {"algorithm",
//!   "digest"}, "signature": {...}}}}`.

use custody_crypto::{Digest, DigestAlgorithm, KeyAlgorithm, PublicKey, Verifier as _};
use serde_json::{Value, json};

use crate::fields::{Nulls, Obj};
use crate::{Error, Limits, Verified, b64};

/// The entry kind.
pub const KIND: &str = "hashedrekord";
/// The entry version.
pub const API_VERSION: &str = "0.0.2";
/// Write requests are small (a digest, a signature and a key); anything bigger is refused.
pub const MAX_REQUEST_BYTES: usize = 64 * 1024;

/// A signature over a digest, with the key that made it: what one log entry records.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HashedRekord {
    digest: Digest,
    signature: Vec<u8>,
    key: PublicKey,
}

/// The Sigstore `PublicKeyDetails` name for a key (its signature scheme over a digest).
pub fn key_details(algorithm: KeyAlgorithm) -> &'static str {
    match algorithm {
        KeyAlgorithm::EcdsaP256 => "PKIX_ECDSA_P256_SHA_256",
        _ => "PKIX_ED25519_PH",
    }
}

fn hash_name(algorithm: DigestAlgorithm) -> &'static str {
    match algorithm {
        DigestAlgorithm::Sha256 => "SHA2_256",
        _ => "SHA2_512",
    }
}

impl HashedRekord {
    /// A record of `signature` by `key` over `digest`; the digest's algorithm must be the one
    /// the key signs pre-hashes with (SHA-256 for P-256, SHA-512 for Ed25519ph).
    pub fn new(digest: Digest, signature: Vec<u8>, key: PublicKey) -> Result<Self, Error> {
        let expected = key.algorithm().prehash_algorithm();
        if digest.algorithm() != expected {
            return Err(Error::PrehashMismatch {
                key_algorithm: key.algorithm(),
                expected,
                actual: digest.algorithm(),
            });
        }
        if signature.is_empty() || signature.len() > 1024 {
            return Err(Error::invalid(
                "signature.content",
                "must be 1 to 1024 bytes",
            ));
        }
        Ok(Self {
            digest,
            signature,
            key,
        })
    }

    /// The signed digest.
    pub fn digest(&self) -> &Digest {
        &self.digest
    }

    /// The signature bytes.
    pub fn signature(&self) -> &[u8] {
        &self.signature
    }

    /// The signing key.
    pub fn key(&self) -> &PublicKey {
        &self.key
    }

    /// Parses a `CreateEntryRequest` carrying `hashedRekordRequestV002`.
    pub fn from_request_json(bytes: &[u8], limits: &Limits) -> Result<Self, Error> {
        if bytes.len() > MAX_REQUEST_BYTES {
            return Err(Error::TooLarge {
                limit: MAX_REQUEST_BYTES,
                actual: bytes.len(),
            });
        }
        let value = crate::json::parse_strict(bytes, limits)?;
        let top = Obj::new(&value, "", Nulls::AreAbsent)?;
        top.deny_unknown(&["hashedRekordRequestV002"])?;
        let req = top.req_obj("hashedRekordRequestV002")?;
        req.deny_unknown(&["digest", "signature"])?;
        let digest_bytes = req.req_bytes_lenient("digest")?;
        let (signature, key, details) = read_signature(&req.req_obj("signature")?)?;
        let algorithm = details_algorithm(&details, &key)?;
        let digest = Digest::from_bytes(algorithm, &digest_bytes)
            .map_err(|e| Error::invalid("hashedRekordRequestV002.digest", e.to_string()))?;
        Self::new(digest, signature, key)
    }

    /// The `CreateEntryRequest` JSON for this record.
    pub fn to_request_json(&self) -> Vec<u8> {
        let v = json!({
            "hashedRekordRequestV002": {
                "digest": b64::encode(self.digest.as_bytes()),
                "signature": self.signature_value(),
            }
        });
        v.to_string().into_bytes()
    }

    fn signature_value(&self) -> Value {
        json!({
            "content": b64::encode(&self.signature),
            "verifier": {
                "publicKey": { "rawBytes": b64::encode(self.key.spki_der()) },
                "keyDetails": key_details(self.key.algorithm()),
            }
        })
    }

    /// Checks the signature over the digest; only a verified record may be logged.
    pub fn verify(&self) -> Result<Verified<Self>, Error> {
        self.key
            .verify_prehashed(&self.digest, &self.signature)
            .map_err(|_| Error::SignatureInvalid {
                key_id: self.key.key_id(),
            })?;
        Ok(Verified::new(self.clone()))
    }

    /// The entry's canonical bytes: the log leaf (RFC 8785 JSON of the `Entry` message).
    pub fn canonical_entry(&self) -> Result<Vec<u8>, Error> {
        let entry = json!({
            "kind": KIND,
            "apiVersion": API_VERSION,
            "spec": {
                "hashedRekordV002": {
                    "data": {
                        "algorithm": hash_name(self.digest.algorithm()),
                        "digest": b64::encode(self.digest.as_bytes()),
                    },
                    "signature": self.signature_value(),
                }
            }
        });
        crate::json::canonicalize(&entry)
    }

    /// Parses a logged entry (for monitors and offline verifiers), requiring canonical bytes.
    pub fn from_canonical_entry(bytes: &[u8], limits: &Limits) -> Result<Self, Error> {
        let value = crate::json::parse_strict(bytes, limits)?;
        let top = Obj::new(&value, "", Nulls::Reject)?;
        top.deny_unknown(&["kind", "apiVersion", "spec"])?;
        if top.req_str("kind")? != KIND || top.req_str("apiVersion")? != API_VERSION {
            return Err(Error::invalid(
                "kind",
                format!("only {KIND} {API_VERSION} entries are supported"),
            ));
        }
        let spec = top.req_obj("spec")?;
        spec.deny_unknown(&["hashedRekordV002"])?;
        let body = spec.req_obj("hashedRekordV002")?;
        body.deny_unknown(&["data", "signature"])?;
        let data = body.req_obj("data")?;
        data.deny_unknown(&["algorithm", "digest"])?;
        let algorithm = match data.req_str("algorithm")? {
            "SHA2_256" => DigestAlgorithm::Sha256,
            "SHA2_512" => DigestAlgorithm::Sha512,
            other => {
                return Err(Error::invalid(
                    "data.algorithm",
                    format!("'{other}' is not supported"),
                ));
            }
        };
        let digest = Digest::from_bytes(algorithm, &data.req_bytes_lenient("digest")?)
            .map_err(|e| Error::invalid("data.digest", e.to_string()))?;
        let (signature, key, details) = read_signature(&body.req_obj("signature")?)?;
        if details_algorithm(&details, &key)? != algorithm {
            return Err(Error::invalid(
                "signature.verifier.keyDetails",
                "does not match data.algorithm",
            ));
        }
        let record = Self::new(digest, signature, key)?;
        if record.canonical_entry()? != bytes {
            return Err(Error::invalid("entry", "is not in canonical form"));
        }
        Ok(record)
    }
}

fn read_signature(sig: &Obj<'_>) -> Result<(Vec<u8>, PublicKey, String), Error> {
    sig.deny_unknown(&["content", "verifier"])?;
    let content = sig.req_bytes_lenient("content")?;
    let verifier = sig.req_obj("verifier")?;
    verifier.deny_unknown(&["publicKey", "x509Certificate", "keyDetails"])?;
    if verifier.has("x509Certificate") {
        return Err(Error::invalid(
            "verifier.x509Certificate",
            "custody logs key-signed records only",
        ));
    }
    let public = verifier.req_obj("publicKey")?;
    public.deny_unknown(&["rawBytes"])?;
    let key = PublicKey::from_spki_der(&public.req_bytes_lenient("rawBytes")?)
        .map_err(|e| Error::invalid("verifier.publicKey.rawBytes", e.to_string()))?;
    let details = verifier.req_str("keyDetails")?.to_owned();
    Ok((content, key, details))
}

fn details_algorithm(details: &str, key: &PublicKey) -> Result<DigestAlgorithm, Error> {
    if details != key_details(key.algorithm()) {
        return Err(Error::invalid(
            "verifier.keyDetails",
            format!(
                "'{details}' does not match the {} key (expected {})",
                key.algorithm(),
                key_details(key.algorithm())
            ),
        ));
    }
    Ok(key.algorithm().prehash_algorithm())
}

#[cfg(test)]
mod tests;
