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
/// `hashedrekord` write requests are small (a digest, a signature and a key); anything bigger
/// is refused.
pub const MAX_REQUEST_BYTES: usize = 64 * 1024;
/// `dsse` write requests carry the whole envelope (an attestation listing every input of a
/// build can be large), up to this size.
pub const MAX_DSSE_REQUEST_BYTES: usize = 4 << 20;

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
    ///
    /// Written directly: every member name and value here is ASCII that JSON does not escape
    /// (fixed names, base64, enum names), so RFC 8785 reduces to the members in sorted order
    /// with no whitespace. A test checks this against the general canonicaliser.
    pub fn canonical_entry(&self) -> Result<Vec<u8>, Error> {
        let out = format!(
            concat!(
                r#"{{"apiVersion":"{version}","kind":"{kind}","spec":{{"hashedRekordV002":"#,
                r#"{{"data":{{"algorithm":"{algorithm}","digest":"{digest}"}},"#,
                r#""signature":{{"content":"{content}","verifier":{{"keyDetails":"{details}","#,
                r#""publicKey":{{"rawBytes":"{key}"}}}}}}}}}}}}"#
            ),
            version = API_VERSION,
            kind = KIND,
            algorithm = hash_name(self.digest.algorithm()),
            digest = b64::encode(self.digest.as_bytes()),
            content = b64::encode(&self.signature),
            details = key_details(self.key.algorithm()),
            key = b64::encode(self.key.spki_der()),
        );
        Ok(out.into_bytes())
    }

    /// [`Self::canonical_entry`] through the general RFC 8785 canonicaliser (for tests).
    #[cfg(test)]
    pub(crate) fn canonical_entry_general(&self) -> Result<Vec<u8>, Error> {
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
    let (key, details) = read_verifier(&sig.req_obj("verifier")?)?;
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

/// The DSSE entry kind (Rekor v2 `dsse` v0.0.2), for envelopes whose signatures are not over a
/// pre-hash (pure Ed25519 over the PAE cannot be checked from a digest, so `hashedrekord` cannot
/// record it).
pub const DSSE_KIND: &str = "dsse";

/// The Sigstore `PublicKeyDetails` name for a key signing a DSSE PAE directly.
pub fn dsse_key_details(algorithm: KeyAlgorithm) -> &'static str {
    match algorithm {
        KeyAlgorithm::EcdsaP256 => "PKIX_ECDSA_P256_SHA_256",
        _ => "PKIX_ED25519",
    }
}

/// A DSSE envelope's signatures and keys: what a `dsse` v0.0.2 entry records. The log keeps the
/// SHA-256 of the payload, not the payload; the envelope is needed (and kept) only to verify the
/// signatures before logging.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DsseRecord {
    payload_hash: Digest,
    signatures: Vec<(Vec<u8>, PublicKey)>,
    envelope: Option<crate::dsse::Envelope>,
}

impl DsseRecord {
    /// The record of `envelope` signed by `keys`: every signature of the envelope must verify
    /// under one of `keys` (checked by [`Self::verify`]), and is recorded with that key.
    pub fn new(envelope: crate::dsse::Envelope, keys: &[PublicKey]) -> Result<Self, Error> {
        if envelope.signatures().is_empty() {
            return Err(Error::invalid("envelope.signatures", "must not be empty"));
        }
        if keys.is_empty() || keys.len() > 16 {
            return Err(Error::invalid("verifiers", "must list 1 to 16 keys"));
        }
        let message = crate::dsse::pae(envelope.payload_type(), envelope.payload());
        let mut signatures = Vec::with_capacity(envelope.signatures().len());
        for (i, s) in envelope.signatures().iter().enumerate() {
            if s.sig.is_empty() || s.sig.len() > 1024 {
                return Err(Error::invalid(
                    format!("envelope.signatures[{i}].sig"),
                    "must be 1 to 1024 bytes",
                ));
            }
            let key = keys
                .iter()
                .find(|k| k.verify(&message, &s.sig).is_ok())
                .ok_or_else(|| Error::SignatureInvalid {
                    key_id: keys[0].key_id(),
                })?;
            signatures.push((s.sig.clone(), key.clone()));
        }
        Ok(Self {
            payload_hash: custody_crypto::sha256(envelope.payload()),
            signatures,
            envelope: Some(envelope),
        })
    }

    /// The SHA-256 of the envelope's payload.
    pub fn payload_hash(&self) -> &Digest {
        &self.payload_hash
    }

    /// The signatures with the keys that made them, in envelope order.
    pub fn signatures(&self) -> &[(Vec<u8>, PublicKey)] {
        &self.signatures
    }

    /// Parses a `CreateEntryRequest` carrying `dsseRequestV002`.
    pub fn from_request_json(bytes: &[u8], limits: &Limits) -> Result<Self, Error> {
        let value = request_value(bytes, limits)?;
        let top = Obj::new(&value, "", Nulls::AreAbsent)?;
        top.deny_unknown(&["dsseRequestV002"])?;
        Self::read_request(&top.req_obj("dsseRequestV002")?, limits)
    }

    fn read_request(req: &Obj<'_>, limits: &Limits) -> Result<Self, Error> {
        req.deny_unknown(&["envelope", "verifiers"])?;
        let envelope_value = req
            .get("envelope")
            .ok_or_else(|| Error::invalid("dsseRequestV002.envelope", "is required"))?;
        let envelope =
            crate::dsse::Envelope::read(envelope_value, "dsseRequestV002.envelope", limits)?;
        let items = req.req_array("verifiers")?;
        let mut keys = Vec::with_capacity(items.len());
        for verifier in req.objects_in("verifiers", items)? {
            let (key, details) = read_verifier(&verifier)?;
            if details != dsse_key_details(key.algorithm()) {
                return Err(Error::invalid(
                    "verifiers.keyDetails",
                    format!(
                        "'{details}' does not match the {} key (expected {})",
                        key.algorithm(),
                        dsse_key_details(key.algorithm())
                    ),
                ));
            }
            keys.push(key);
        }
        Self::new(envelope, &keys)
    }

    /// The `CreateEntryRequest` JSON for this record (needs the envelope).
    pub fn to_request_json(&self) -> Result<Vec<u8>, Error> {
        let envelope = self.envelope.as_ref().ok_or(Error::ApiMisuse {
            reason: "a DSSE record read from the log has no envelope to submit",
        })?;
        let mut verifiers: Vec<Value> = Vec::new();
        for (_, key) in &self.signatures {
            let v = verifier_value(key, dsse_key_details(key.algorithm()));
            if !verifiers.contains(&v) {
                verifiers.push(v);
            }
        }
        let v = json!({
            "dsseRequestV002": { "envelope": envelope.to_value(), "verifiers": verifiers }
        });
        Ok(v.to_string().into_bytes())
    }

    /// Checks every signature over the envelope's PAE. A record without its envelope (read back
    /// from the log) cannot be verified and is refused.
    pub fn verify(&self) -> Result<Verified<Self>, Error> {
        let envelope = self.envelope.as_ref().ok_or(Error::ApiMisuse {
            reason: "a DSSE record read from the log has no envelope to verify",
        })?;
        let message = crate::dsse::pae(envelope.payload_type(), envelope.payload());
        for (sig, key) in &self.signatures {
            key.verify(&message, sig)
                .map_err(|_| Error::SignatureInvalid {
                    key_id: key.key_id(),
                })?;
        }
        Ok(Verified::new(self.clone()))
    }

    /// The entry's canonical bytes (RFC 8785 JSON of the `Entry` message with `dsseV002`).
    pub fn canonical_entry(&self) -> Result<Vec<u8>, Error> {
        let signatures: Vec<Value> = self
            .signatures
            .iter()
            .map(|(sig, key)| {
                json!({
                    "content": b64::encode(sig),
                    "verifier": verifier_value(key, dsse_key_details(key.algorithm())),
                })
            })
            .collect();
        let entry = json!({
            "kind": DSSE_KIND,
            "apiVersion": API_VERSION,
            "spec": {
                "dsseV002": {
                    "payloadHash": {
                        "algorithm": "SHA2_256",
                        "digest": b64::encode(self.payload_hash.as_bytes()),
                    },
                    "signatures": signatures,
                }
            }
        });
        crate::json::canonicalize(&entry)
    }

    /// Parses a logged `dsse` entry, requiring canonical bytes. The result has no envelope.
    pub fn from_canonical_entry(bytes: &[u8], limits: &Limits) -> Result<Self, Error> {
        let value = crate::json::parse_strict(bytes, limits)?;
        let top = Obj::new(&value, "", Nulls::Reject)?;
        top.deny_unknown(&["kind", "apiVersion", "spec"])?;
        if top.req_str("kind")? != DSSE_KIND || top.req_str("apiVersion")? != API_VERSION {
            return Err(Error::invalid(
                "kind",
                format!("expected a {DSSE_KIND} {API_VERSION} entry"),
            ));
        }
        let spec = top.req_obj("spec")?;
        spec.deny_unknown(&["dsseV002"])?;
        let body = spec.req_obj("dsseV002")?;
        body.deny_unknown(&["payloadHash", "signatures"])?;
        let hash = body.req_obj("payloadHash")?;
        hash.deny_unknown(&["algorithm", "digest"])?;
        if hash.req_str("algorithm")? != "SHA2_256" {
            return Err(Error::invalid("payloadHash.algorithm", "must be SHA2_256"));
        }
        let payload_hash =
            Digest::from_bytes(DigestAlgorithm::Sha256, &hash.req_bytes_lenient("digest")?)
                .map_err(|e| Error::invalid("payloadHash.digest", e.to_string()))?;
        let items = body.req_array("signatures")?;
        if items.is_empty() || items.len() > limits.max_signatures {
            return Err(Error::invalid("signatures", "wrong number of signatures"));
        }
        let mut signatures = Vec::with_capacity(items.len());
        for sig in body.objects_in("signatures", items)? {
            sig.deny_unknown(&["content", "verifier"])?;
            let content = sig.req_bytes_lenient("content")?;
            let (key, details) = read_verifier(&sig.req_obj("verifier")?)?;
            if details != dsse_key_details(key.algorithm()) {
                return Err(Error::invalid(
                    "verifier.keyDetails",
                    "does not match the key",
                ));
            }
            signatures.push((content, key));
        }
        let record = Self {
            payload_hash,
            signatures,
            envelope: None,
        };
        if record.canonical_entry()? != bytes {
            return Err(Error::invalid("entry", "is not in canonical form"));
        }
        Ok(record)
    }
}

/// Any record custody logs: what `POST /api/v2/log/entries` accepts and a leaf holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Record {
    /// A signature over a digest.
    HashedRekord(HashedRekord),
    /// A DSSE envelope's signatures.
    Dsse(DsseRecord),
}

impl Record {
    /// The entry kind (`hashedrekord` or `dsse`).
    pub fn kind(&self) -> &'static str {
        match self {
            Self::HashedRekord(_) => KIND,
            Self::Dsse(_) => DSSE_KIND,
        }
    }

    /// The entry version (`0.0.2`).
    pub fn api_version(&self) -> &'static str {
        API_VERSION
    }

    /// Parses a `CreateEntryRequest` of either kind.
    pub fn from_request_json(bytes: &[u8], limits: &Limits) -> Result<Self, Error> {
        let value = request_value(bytes, limits)?;
        let top = Obj::new(&value, "", Nulls::AreAbsent)?;
        top.deny_unknown(&["hashedRekordRequestV002", "dsseRequestV002"])?;
        if top.has("dsseRequestV002") {
            if top.has("hashedRekordRequestV002") {
                return Err(Error::invalid("(document)", "holds two requests"));
            }
            return Ok(Self::Dsse(DsseRecord::read_request(
                &top.req_obj("dsseRequestV002")?,
                limits,
            )?));
        }
        HashedRekord::from_request_json(bytes, limits).map(Self::HashedRekord)
    }

    /// The `CreateEntryRequest` JSON.
    pub fn to_request_json(&self) -> Result<Vec<u8>, Error> {
        match self {
            Self::HashedRekord(r) => Ok(r.to_request_json()),
            Self::Dsse(r) => r.to_request_json(),
        }
    }

    /// Checks the signatures; only a verified record may be logged.
    pub fn verify(&self) -> Result<Verified<Self>, Error> {
        match self {
            Self::HashedRekord(r) => r.verify().map(|_| Verified::new(self.clone())),
            Self::Dsse(r) => r.verify().map(|_| Verified::new(self.clone())),
        }
    }

    /// The entry's canonical bytes (the log leaf).
    pub fn canonical_entry(&self) -> Result<Vec<u8>, Error> {
        match self {
            Self::HashedRekord(r) => r.canonical_entry(),
            Self::Dsse(r) => r.canonical_entry(),
        }
    }

    /// Parses a logged entry of either kind, requiring canonical bytes.
    pub fn from_canonical_entry(bytes: &[u8], limits: &Limits) -> Result<Self, Error> {
        // The kind is read from a probe parse; the typed parser re-checks everything.
        let value = crate::json::parse_strict(bytes, limits)?;
        match value.get("kind").and_then(Value::as_str) {
            Some(DSSE_KIND) => DsseRecord::from_canonical_entry(bytes, limits).map(Self::Dsse),
            _ => HashedRekord::from_canonical_entry(bytes, limits).map(Self::HashedRekord),
        }
    }

    /// The keys whose signatures the record holds.
    pub fn keys(&self) -> Vec<&PublicKey> {
        match self {
            Self::HashedRekord(r) => vec![r.key()],
            Self::Dsse(r) => r.signatures.iter().map(|(_, k)| k).collect(),
        }
    }
}

fn request_value(bytes: &[u8], limits: &Limits) -> Result<Value, Error> {
    if bytes.len() > MAX_DSSE_REQUEST_BYTES {
        return Err(Error::TooLarge {
            limit: MAX_DSSE_REQUEST_BYTES,
            actual: bytes.len(),
        });
    }
    crate::json::parse_strict(bytes, limits)
}

fn verifier_value(key: &PublicKey, details: &str) -> Value {
    json!({
        "publicKey": { "rawBytes": b64::encode(key.spki_der()) },
        "keyDetails": details,
    })
}

fn read_verifier(verifier: &Obj<'_>) -> Result<(PublicKey, String), Error> {
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
    Ok((key, verifier.req_str("keyDetails")?.to_owned()))
}
