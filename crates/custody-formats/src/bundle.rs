//! Sigstore bundles (sigstore/protobuf-specs, `sigstore_bundle.proto`), in the protobuf JSON
//! mapping: `int64` as decimal strings (numbers are accepted too), `bytes` as base64 (standard
//! or URL-safe, padded or not, on input; standard padded on output), `null` as unset.
//!
//! Versions 0.1, 0.2 and 0.3 are read; version 0.3 is written. Fields the schema does not
//! define are rejected, as the protobuf JSON parsers do by default; so are the original
//! snake_case proto field names, which no Sigstore client writes (the DSSE envelope inside
//! follows DSSE's own rule and ignores unknown fields).
//!
//! [`Bundle::verify`] checks the signature with a key the caller already trusts. It does not
//! check certificate chains, transparency-log entries or timestamps: those belong to the
//! caller's trust policy (the entries are exposed as data for that purpose).

use custody_crypto::{Digest, DigestAlgorithm, PublicKey, Verifier as _};
use serde::Serialize;
use serde_json::Value;

use crate::dsse::{Envelope, PAYLOAD_TYPE_IN_TOTO};
use crate::fields::{Nulls, Obj};
use crate::intoto::Statement;
use crate::{Error, Limits, Verified, b64, json};

/// The media type of a version 0.3 bundle, the version this crate writes.
pub const MEDIA_TYPE_V03: &str = "application/vnd.dev.sigstore.bundle.v0.3+json";

/// The media types this crate reads (`sigstore_bundle.proto`, `Bundle.media_type`).
const MEDIA_TYPES_READ: [&str; 4] = [
    "application/vnd.dev.sigstore.bundle+json;version=0.1",
    "application/vnd.dev.sigstore.bundle+json;version=0.2",
    "application/vnd.dev.sigstore.bundle+json;version=0.3",
    MEDIA_TYPE_V03,
];

/// What the bundle signs.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Content {
    /// A signature over an artifact's digest (`messageSignature`).
    MessageSignature {
        /// The artifact digest that was signed (`messageDigest`).
        digest: Digest,
        /// The signature over that digest, as a pre-hash.
        signature: Vec<u8>,
    },
    /// A DSSE envelope (`dsseEnvelope`), usually over an in-toto statement.
    Dsse(Envelope),
}

/// How the verifier finds the signing key (`verificationMaterial.content`).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum KeyMaterial {
    /// An unauthenticated hint naming a key the verifier already has (`publicKey.hint`).
    PublicKeyHint(String),
    /// A single leaf certificate, DER (`certificate`, v0.3).
    Certificate(Vec<u8>),
    /// A leaf certificate followed by its issuers, DER (`x509CertificateChain`, v0.1 and v0.2).
    CertificateChain(Vec<Vec<u8>>),
}

/// A transparency-log entry (`TransparencyLogEntry` in `sigstore_rekor.proto`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlogEntry {
    /// The entry's index in the log.
    pub log_index: u64,
    /// The log's id: the SHA-256 of its public key (`logId.keyId`).
    pub log_id: Vec<u8>,
    /// The entry's kind, for example `hashedrekord` or `dsse`.
    pub kind: String,
    /// The version of the entry's kind.
    pub version: String,
    /// When the log integrated the entry, in Unix seconds, when it says.
    pub integrated_time: Option<i64>,
    /// The log's signed entry timestamp (`inclusionPromise.signedEntryTimestamp`).
    pub inclusion_promise: Option<Vec<u8>>,
    /// The proof that the entry is in the log.
    pub inclusion_proof: Option<InclusionProof>,
    /// The entry body as the log canonicalized it.
    pub canonicalized_body: Vec<u8>,
}

impl TlogEntry {
    /// The entry as `TransparencyLogEntry` JSON (protobuf JSON mapping), as a log returns it.
    pub fn to_json(&self) -> Vec<u8> {
        serde_json::to_vec(&wire_tlog_entry(self)).unwrap_or_default()
    }

    /// Parses one `TransparencyLogEntry` JSON document (a log's answer to a submission).
    pub fn from_json(bytes: &[u8], limits: &Limits) -> Result<Self, Error> {
        let value = json::parse_strict(bytes, limits)?;
        let wrapper = serde_json::json!({ "tlogEntries": [value] });
        let material = Obj::new(&wrapper, "", Nulls::AreAbsent)?;
        read_tlog_entries(&material)?
            .pop()
            .ok_or_else(|| Error::missing("tlogEntries[0]"))
    }
}

/// A Merkle inclusion proof with the checkpoint it is relative to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InclusionProof {
    /// The entry's index in the log.
    pub log_index: u64,
    /// The tree root the proof leads to.
    pub root_hash: Vec<u8>,
    /// The size of that tree.
    pub tree_size: u64,
    /// The audit path, from the leaf up.
    pub hashes: Vec<Vec<u8>>,
    /// The signed checkpoint (note) for that tree, as text; empty when absent.
    pub checkpoint: String,
}

/// A Sigstore bundle: signed content, how to find the key, and log and timestamp evidence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bundle {
    media_type: String,
    key_material: KeyMaterial,
    tlog_entries: Vec<TlogEntry>,
    rfc3161_timestamps: Vec<Vec<u8>>,
    content: Content,
}

/// What [`Bundle::verify`] vouches for.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum VerifiedContent {
    /// The key signed this artifact digest.
    Message {
        /// The artifact digest.
        digest: Digest,
    },
    /// The key signed this in-toto statement, and one of its subjects is the artifact.
    Statement(Statement),
}

impl Bundle {
    /// A version 0.3 bundle with no log entries or timestamps yet.
    pub fn new(content: Content, key_material: KeyMaterial) -> Self {
        Self {
            media_type: MEDIA_TYPE_V03.to_owned(),
            key_material,
            tlog_entries: Vec::new(),
            rfc3161_timestamps: Vec::new(),
            content,
        }
    }

    /// Reads a bundle, strictly (see [`json::parse_strict`]).
    pub fn from_json(bytes: &[u8], limits: &Limits) -> Result<Self, Error> {
        let value = json::parse_strict(bytes, limits)?;
        let top = Obj::new(&value, "", Nulls::AreAbsent)?;
        top.deny_unknown(&[
            "mediaType",
            "verificationMaterial",
            "messageSignature",
            "dsseEnvelope",
        ])?;
        let media_type = top.req_str("mediaType")?;
        if !MEDIA_TYPES_READ.contains(&media_type) {
            return Err(Error::UnsupportedMediaType {
                media_type: crate::error::truncate(media_type),
            });
        }
        let material = top.req_obj("verificationMaterial")?;
        material.deny_unknown(&[
            "publicKey",
            "x509CertificateChain",
            "certificate",
            "tlogEntries",
            "timestampVerificationData",
        ])?;
        Ok(Self {
            media_type: media_type.to_owned(),
            key_material: read_key_material(&material)?,
            tlog_entries: read_tlog_entries(&material)?,
            rfc3161_timestamps: read_timestamps(&material)?,
            content: read_content(&top, limits)?,
        })
    }

    /// The bundle as version 0.3 JSON: pretty-printed with two-space indentation and a
    /// trailing newline.
    pub fn to_json(&self) -> Vec<u8> {
        let wire = self.to_wire();
        // Serializing strings, integers and `Value`s cannot fail.
        let mut out = serde_json::to_vec_pretty(&wire).unwrap_or_default();
        out.push(b'\n');
        out
    }

    /// The media type the bundle was read with ([`MEDIA_TYPE_V03`] for a new bundle).
    pub fn media_type(&self) -> &str {
        &self.media_type
    }

    /// The signed content.
    pub fn content(&self) -> &Content {
        &self.content
    }

    /// How to find the signing key.
    pub fn key_material(&self) -> &KeyMaterial {
        &self.key_material
    }

    /// The transparency-log entries.
    pub fn tlog_entries(&self) -> &[TlogEntry] {
        &self.tlog_entries
    }

    /// The RFC 3161 signed timestamps, DER.
    pub fn rfc3161_timestamps(&self) -> &[Vec<u8>] {
        &self.rfc3161_timestamps
    }

    /// Adds a transparency-log entry.
    pub fn add_tlog_entry(&mut self, entry: TlogEntry) {
        self.tlog_entries.push(entry);
    }

    /// Adds an RFC 3161 signed timestamp (DER).
    pub fn add_rfc3161_timestamp(&mut self, der: Vec<u8>) {
        self.rfc3161_timestamps.push(der);
    }

    /// The artifact digests [`Bundle::verify`] needs: for a message signature, its digest's
    /// algorithm; for a DSSE in-toto statement, the supported algorithms among its subjects'
    /// digests; otherwise none.
    pub fn digest_algorithms_needed(&self) -> Vec<DigestAlgorithm> {
        match &self.content {
            Content::MessageSignature { digest, .. } => vec![digest.algorithm()],
            Content::Dsse(envelope) => {
                if envelope.payload_type() != PAYLOAD_TYPE_IN_TOTO {
                    return Vec::new();
                }
                let Ok(statement) = Statement::from_json(envelope.payload(), &Limits::default())
                else {
                    return Vec::new();
                };
                [DigestAlgorithm::Sha256, DigestAlgorithm::Sha512]
                    .into_iter()
                    .filter(|alg| {
                        statement
                            .subjects()
                            .iter()
                            .any(|s| s.digests().contains_key(alg.name()))
                    })
                    .collect()
            }
        }
    }

    /// Verifies the bundle's signature with `key`, for the artifact whose digests are
    /// `artifact`.
    ///
    /// Message signature, in order: the artifact's digest of the signed digest's algorithm
    /// must equal it ([`Error::ArtifactDigestMissing`], [`Error::ArtifactDigestMismatch`]);
    /// the key must sign pre-hashes of that algorithm ([`Error::PrehashMismatch`]); the
    /// signature must verify ([`Error::SignatureInvalid`]).
    ///
    /// DSSE: the envelope must have exactly one signature (`sigstore_bundle.proto`), whose key
    /// id hint equals the bundle's public-key hint if that is set; the signature must verify
    /// under `key`; the payload must be an in-toto statement
    /// ([`Error::UnsupportedPayloadType`]) with a subject matching one of `artifact`
    /// ([`Error::SubjectMismatch`]).
    ///
    /// The key is the caller's to choose: certificates in the bundle are not examined here.
    pub fn verify(
        &self,
        key: &PublicKey,
        artifact: &[Digest],
    ) -> Result<Verified<VerifiedContent>, Error> {
        match &self.content {
            Content::MessageSignature { digest, signature } => {
                let algorithm = digest.algorithm();
                let actual = artifact
                    .iter()
                    .find(|d| d.algorithm() == algorithm)
                    .ok_or(Error::ArtifactDigestMissing { algorithm })?;
                if actual != digest {
                    return Err(Error::ArtifactDigestMismatch {
                        expected: Box::new(*digest),
                        actual: Box::new(*actual),
                    });
                }
                let expected = key.algorithm().prehash_algorithm();
                if expected != algorithm {
                    return Err(Error::PrehashMismatch {
                        key_algorithm: key.algorithm(),
                        expected,
                        actual: algorithm,
                    });
                }
                key.verify_prehashed(digest, signature)
                    .map_err(|_| Error::SignatureInvalid {
                        key_id: key.key_id(),
                    })?;
                Ok(Verified::new(VerifiedContent::Message { digest: *digest }))
            }
            Content::Dsse(envelope) => {
                let [signature] = envelope.signatures() else {
                    return Err(Error::invalid(
                        "dsseEnvelope.signatures",
                        format!(
                            "a bundle's envelope has exactly one signature, found {}",
                            envelope.signatures().len()
                        ),
                    ));
                };
                // An empty hint is an unset one (proto3), so there is nothing to compare.
                if let KeyMaterial::PublicKeyHint(hint) = &self.key_material
                    && !hint.is_empty()
                    && signature.keyid != *hint
                {
                    return Err(Error::invalid(
                        "dsseEnvelope.signatures[0].keyid",
                        "differs from the bundle's public key hint",
                    ));
                }
                let verified = envelope.verify(std::slice::from_ref(key), 1)?;
                if verified.payload_type() != PAYLOAD_TYPE_IN_TOTO {
                    return Err(Error::UnsupportedPayloadType {
                        payload_type: crate::error::truncate(verified.payload_type()),
                    });
                }
                let statement = Statement::from_json(verified.payload(), &Limits::default())?;
                if statement.subject_matching(artifact).is_none() {
                    return Err(Error::SubjectMismatch);
                }
                Ok(Verified::new(VerifiedContent::Statement(statement)))
            }
        }
    }

    fn to_wire(&self) -> WireBundle<'_> {
        let (public_key, chain, certificate) = match &self.key_material {
            KeyMaterial::PublicKeyHint(hint) => (Some(WireHint { hint }), None, None),
            KeyMaterial::CertificateChain(certs) => (
                None,
                Some(WireChain {
                    certificates: certs
                        .iter()
                        .map(|c| WireCertificate {
                            raw_bytes: b64::encode(c),
                        })
                        .collect(),
                }),
                None,
            ),
            KeyMaterial::Certificate(cert) => (
                None,
                None,
                Some(WireCertificate {
                    raw_bytes: b64::encode(cert),
                }),
            ),
        };
        let (message_signature, dsse_envelope) = match &self.content {
            Content::MessageSignature { digest, signature } => (
                Some(WireMessageSignature {
                    message_digest: WireHashOutput {
                        algorithm: match digest {
                            Digest::Sha256(_) => "SHA2_256",
                            Digest::Sha512(_) => "SHA2_512",
                        },
                        digest: b64::encode(digest.as_bytes()),
                    },
                    signature: b64::encode(signature),
                }),
                None,
            ),
            Content::Dsse(envelope) => (None, Some(envelope.to_value())),
        };
        WireBundle {
            media_type: MEDIA_TYPE_V03,
            verification_material: WireMaterial {
                public_key,
                x509_certificate_chain: chain,
                certificate,
                tlog_entries: self.tlog_entries.iter().map(wire_tlog_entry).collect(),
                timestamp_verification_data: (!self.rfc3161_timestamps.is_empty()).then(|| {
                    WireTimestamps {
                        rfc3161_timestamps: self
                            .rfc3161_timestamps
                            .iter()
                            .map(|t| WireSignedTimestamp {
                                signed_timestamp: b64::encode(t),
                            })
                            .collect(),
                    }
                }),
            },
            message_signature,
            dsse_envelope,
        }
    }
}

fn read_key_material(material: &Obj<'_>) -> Result<KeyMaterial, Error> {
    let present = ["publicKey", "x509CertificateChain", "certificate"]
        .into_iter()
        .filter(|k| material.has(k))
        .count();
    if present > 1 {
        return Err(Error::invalid(
            material.path("content"),
            "publicKey, x509CertificateChain and certificate are mutually exclusive",
        ));
    }
    if let Some(hint) = material.opt_obj("publicKey")? {
        hint.deny_unknown(&["hint"])?;
        return Ok(KeyMaterial::PublicKeyHint(
            hint.opt_str("hint")?.unwrap_or_default().to_owned(),
        ));
    }
    if let Some(chain) = material.opt_obj("x509CertificateChain")? {
        chain.deny_unknown(&["certificates"])?;
        let items = chain.opt_array("certificates")?.unwrap_or_default();
        if items.is_empty() {
            return Err(Error::invalid(
                chain.path("certificates"),
                "a certificate chain starts with the leaf certificate",
            ));
        }
        let certificates = chain
            .objects_in("certificates", items)?
            .iter()
            .map(read_certificate)
            .collect::<Result<_, Error>>()?;
        return Ok(KeyMaterial::CertificateChain(certificates));
    }
    if let Some(certificate) = material.opt_obj("certificate")? {
        return Ok(KeyMaterial::Certificate(read_certificate(&certificate)?));
    }
    Err(Error::missing(
        material.path("publicKey|x509CertificateChain|certificate"),
    ))
}

fn read_certificate(certificate: &Obj<'_>) -> Result<Vec<u8>, Error> {
    certificate.deny_unknown(&["rawBytes"])?;
    let der = certificate.req_bytes_lenient("rawBytes")?;
    if der.is_empty() {
        return Err(Error::invalid(
            certificate.path("rawBytes"),
            "empty certificate",
        ));
    }
    Ok(der)
}

fn read_tlog_entries(material: &Obj<'_>) -> Result<Vec<TlogEntry>, Error> {
    let items = material.opt_array("tlogEntries")?.unwrap_or_default();
    material
        .objects_in("tlogEntries", items)?
        .iter()
        .map(|entry| {
            entry.deny_unknown(&[
                "logIndex",
                "logId",
                "kindVersion",
                "integratedTime",
                "inclusionPromise",
                "inclusionProof",
                "canonicalizedBody",
            ])?;
            let log_id = entry.req_obj("logId")?;
            log_id.deny_unknown(&["keyId"])?;
            let kind_version = entry.req_obj("kindVersion")?;
            kind_version.deny_unknown(&["kind", "version"])?;
            let inclusion_promise = entry
                .opt_obj("inclusionPromise")?
                .map(|p| {
                    p.deny_unknown(&["signedEntryTimestamp"])?;
                    p.req_bytes_lenient("signedEntryTimestamp")
                })
                .transpose()?;
            let inclusion_proof = entry
                .opt_obj("inclusionProof")?
                .map(|p| read_inclusion_proof(&p))
                .transpose()?;
            Ok(TlogEntry {
                log_index: entry.pb_uint("logIndex")?,
                log_id: log_id.req_bytes_lenient("keyId")?,
                kind: kind_version.req_str("kind")?.to_owned(),
                version: kind_version.req_str("version")?.to_owned(),
                integrated_time: entry.pb_int64("integratedTime")?,
                inclusion_promise,
                inclusion_proof,
                canonicalized_body: entry
                    .opt_bytes_lenient("canonicalizedBody")?
                    .unwrap_or_default(),
            })
        })
        .collect()
}

fn read_inclusion_proof(proof: &Obj<'_>) -> Result<InclusionProof, Error> {
    proof.deny_unknown(&["logIndex", "rootHash", "treeSize", "hashes", "checkpoint"])?;
    let hashes = proof
        .opt_array("hashes")?
        .unwrap_or_default()
        .iter()
        .enumerate()
        .map(|(i, h)| {
            let path = format!("{}[{i}]", proof.path("hashes"));
            match h {
                Value::String(s) => b64::decode_lenient(s, &path),
                _ => Err(Error::invalid(path, "expected a base64 string")),
            }
        })
        .collect::<Result<_, Error>>()?;
    let checkpoint = match proof.opt_obj("checkpoint")? {
        Some(c) => {
            c.deny_unknown(&["envelope"])?;
            c.opt_str("envelope")?.unwrap_or_default().to_owned()
        }
        None => String::new(),
    };
    Ok(InclusionProof {
        log_index: proof.pb_uint("logIndex")?,
        root_hash: proof.req_bytes_lenient("rootHash")?,
        tree_size: proof.pb_uint("treeSize")?,
        hashes,
        checkpoint,
    })
}

fn read_timestamps(material: &Obj<'_>) -> Result<Vec<Vec<u8>>, Error> {
    let Some(data) = material.opt_obj("timestampVerificationData")? else {
        return Ok(Vec::new());
    };
    data.deny_unknown(&["rfc3161Timestamps"])?;
    let items = data.opt_array("rfc3161Timestamps")?.unwrap_or_default();
    data.objects_in("rfc3161Timestamps", items)?
        .iter()
        .map(|t| {
            t.deny_unknown(&["signedTimestamp"])?;
            t.req_bytes_lenient("signedTimestamp")
        })
        .collect()
}

fn read_content(top: &Obj<'_>, limits: &Limits) -> Result<Content, Error> {
    match (top.opt_obj("messageSignature")?, top.get("dsseEnvelope")) {
        (Some(_), Some(_)) => Err(Error::invalid(
            "content",
            "messageSignature and dsseEnvelope are mutually exclusive",
        )),
        (None, None) => Err(Error::missing("messageSignature|dsseEnvelope")),
        (None, Some(envelope)) => Ok(Content::Dsse(Envelope::read(
            envelope,
            "dsseEnvelope",
            limits,
        )?)),
        (Some(message), None) => {
            message.deny_unknown(&["messageDigest", "signature"])?;
            let hash = message.req_obj("messageDigest")?;
            hash.deny_unknown(&["algorithm", "digest"])?;
            let algorithm = match hash.get("algorithm") {
                Some(Value::String(s)) if s == "SHA2_256" => DigestAlgorithm::Sha256,
                Some(Value::String(s)) if s == "SHA2_512" => DigestAlgorithm::Sha512,
                // The protobuf JSON mapping also allows an enum's number.
                Some(Value::Number(n)) if n.as_u64() == Some(1) => DigestAlgorithm::Sha256,
                Some(Value::Number(n)) if n.as_u64() == Some(3) => DigestAlgorithm::Sha512,
                Some(other) => {
                    return Err(Error::UnsupportedDigestAlgorithm {
                        algorithm: crate::error::truncate(&match other {
                            Value::String(s) => s.clone(),
                            v => v.to_string(),
                        }),
                    });
                }
                None => {
                    return Err(Error::UnsupportedDigestAlgorithm {
                        algorithm: "HASH_ALGORITHM_UNSPECIFIED".to_owned(),
                    });
                }
            };
            let bytes = hash.req_bytes_lenient("digest")?;
            let digest = Digest::from_bytes(algorithm, &bytes)
                .map_err(|e| Error::invalid(hash.path("digest"), e.to_string()))?;
            Ok(Content::MessageSignature {
                digest,
                signature: message.req_bytes_lenient("signature")?,
            })
        }
    }
}

fn wire_tlog_entry(entry: &TlogEntry) -> WireTlogEntry<'_> {
    WireTlogEntry {
        log_index: entry.log_index.to_string(),
        log_id: WireLogId {
            key_id: b64::encode(&entry.log_id),
        },
        kind_version: WireKindVersion {
            kind: &entry.kind,
            version: &entry.version,
        },
        integrated_time: entry.integrated_time.map(|t| t.to_string()),
        inclusion_promise: entry.inclusion_promise.as_ref().map(|p| WirePromise {
            signed_entry_timestamp: b64::encode(p),
        }),
        inclusion_proof: entry.inclusion_proof.as_ref().map(|p| WireProof {
            log_index: p.log_index.to_string(),
            root_hash: b64::encode(&p.root_hash),
            tree_size: p.tree_size.to_string(),
            hashes: p.hashes.iter().map(|h| b64::encode(h)).collect(),
            checkpoint: (!p.checkpoint.is_empty()).then_some(WireCheckpoint {
                envelope: &p.checkpoint,
            }),
        }),
        canonicalized_body: b64::encode(&entry.canonicalized_body),
    }
}

// The wire structs below fix the field order of the JSON this crate writes.

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct WireBundle<'a> {
    media_type: &'a str,
    verification_material: WireMaterial<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    message_signature: Option<WireMessageSignature>,
    #[serde(skip_serializing_if = "Option::is_none")]
    dsse_envelope: Option<Value>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct WireMaterial<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    public_key: Option<WireHint<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    x509_certificate_chain: Option<WireChain>,
    #[serde(skip_serializing_if = "Option::is_none")]
    certificate: Option<WireCertificate>,
    tlog_entries: Vec<WireTlogEntry<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    timestamp_verification_data: Option<WireTimestamps>,
}

#[derive(Serialize)]
struct WireHint<'a> {
    hint: &'a str,
}

#[derive(Serialize)]
struct WireChain {
    certificates: Vec<WireCertificate>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct WireCertificate {
    raw_bytes: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct WireTimestamps {
    rfc3161_timestamps: Vec<WireSignedTimestamp>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct WireSignedTimestamp {
    signed_timestamp: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct WireTlogEntry<'a> {
    log_index: String,
    log_id: WireLogId,
    kind_version: WireKindVersion<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    integrated_time: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    inclusion_promise: Option<WirePromise>,
    #[serde(skip_serializing_if = "Option::is_none")]
    inclusion_proof: Option<WireProof<'a>>,
    canonicalized_body: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct WireLogId {
    key_id: String,
}

#[derive(Serialize)]
struct WireKindVersion<'a> {
    kind: &'a str,
    version: &'a str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct WirePromise {
    signed_entry_timestamp: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct WireProof<'a> {
    log_index: String,
    root_hash: String,
    tree_size: String,
    hashes: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    checkpoint: Option<WireCheckpoint<'a>>,
}

#[derive(Serialize)]
struct WireCheckpoint<'a> {
    envelope: &'a str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct WireMessageSignature {
    message_digest: WireHashOutput,
    signature: String,
}

#[derive(Serialize)]
struct WireHashOutput {
    algorithm: &'static str,
    digest: String,
}

#[cfg(test)]
mod tests;
