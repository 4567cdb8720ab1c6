//! Offline verification of an artifact against a bundle (or a bare DSSE envelope), with either a
//! single public key or a trust root and a required role.

use std::path::Path;

use custody_crypto::{Digest, KeyAlgorithm, KeyId, PublicKey};
use custody_formats::bundle::{Bundle, Content, KeyMaterial, VerifiedContent};
use custody_formats::dsse::Envelope;
use custody_formats::trust_root::{Role, TrustRoot};
use custody_formats::{Limits, Verified, json};
use time::OffsetDateTime;

use crate::codes::Code;
use crate::error::{Document, Error, Result};
use crate::fs::{digest_file, read_limited};

/// Bundles larger than this are refused before parsing.
pub const BUNDLE_LIMIT: u64 = 32 * 1024 * 1024;

/// What the signer's key is checked against.
pub enum Trust<'a> {
    /// Exactly this public key.
    Key(&'a PublicKey),
    /// Any key of `role` in a verified trust root, valid at the time of verification.
    TrustRoot {
        /// The verified trust root.
        root: &'a Verified<TrustRoot>,
        /// The role the signer must hold.
        role: Role,
    },
}

/// What was proven about the artifact.
#[derive(Debug, Clone)]
pub struct Verification {
    /// The artifact digests computed while verifying (one per algorithm the bundle uses).
    pub digests: Vec<Digest>,
    /// The key that signed.
    pub key_id: KeyId,
    /// Its algorithm.
    pub algorithm: KeyAlgorithm,
    /// The role it holds in the trust root, when a trust root was used.
    pub role: Option<Role>,
    /// `None` for a plain signature; the predicate type for an attestation.
    pub predicate_type: Option<String>,
    /// The verified in-toto statement, for an attestation.
    pub statement: Option<custody_formats::intoto::Statement>,
    /// The index of the transparency-log entry whose inclusion was proven, when the trust root
    /// names a log.
    pub log_index: Option<u64>,
    /// Parts of the bundle that this version does not check (they add no trust when ignored).
    pub unchecked: Vec<String>,
}

/// Reads a bundle file: a Sigstore bundle, or a bare DSSE envelope (as in-toto tools write).
pub fn read_bundle(path: &Path) -> Result<Bundle> {
    let bytes = read_limited(path, BUNDLE_LIMIT).map_err(|e| {
        if e.code() == Code::InvalidArgument {
            Error::new(Code::BundleMalformed, e.message().to_owned())
        } else {
            e
        }
    })?;
    parse_bundle(&bytes)
}

/// Parses a bundle's bytes (at most [`BUNDLE_LIMIT`]): a Sigstore bundle, or a bare DSSE
/// envelope.
pub fn parse_bundle(bytes: &[u8]) -> Result<Bundle> {
    let limits = Limits::default();
    let value =
        json::parse_strict(bytes, &limits).map_err(|e| Error::format(Document::Bundle, &e))?;
    let is_envelope = value.get("payloadType").is_some() && value.get("mediaType").is_none();
    if is_envelope {
        let envelope =
            Envelope::from_value(&value).map_err(|e| Error::format(Document::Bundle, &e))?;
        let hint = envelope
            .signatures()
            .first()
            .map(|s| s.keyid.clone())
            .unwrap_or_default();
        Ok(Bundle::new(
            Content::Dsse(envelope),
            KeyMaterial::PublicKeyHint(hint),
        ))
    } else {
        Bundle::from_json(bytes, &limits).map_err(|e| Error::format(Document::Bundle, &e))
    }
}

/// Verifies `file` against the bundle at `bundle_path`.
///
/// Order: parse the bundle, find the signer's key, stream the artifact, check the signature and
/// the artifact binding, then the key's role and validity window at `now`.
pub fn verify_file(
    file: &Path,
    bundle_path: &Path,
    trust: &Trust<'_>,
    now: OffsetDateTime,
) -> Result<Verification> {
    let bundle = read_bundle(bundle_path)?;
    verify_bundle(file, &bundle, trust, now)
}

/// Verifies `file` against an already-parsed bundle.
pub fn verify_bundle(
    file: &Path,
    bundle: &Bundle,
    trust: &Trust<'_>,
    now: OffsetDateTime,
) -> Result<Verification> {
    let key = signer_key(bundle, trust)?;
    let algorithms = bundle.digest_algorithms_needed();
    if algorithms.is_empty() {
        return Err(Error::new(
            Code::BundleUnsupported,
            "the bundle binds no artifact digest custody can check (no sha256 or sha512 subject)",
        ));
    }
    let digests = digest_file(file, &algorithms)?;
    verify_with_key(bundle, &key, digests, trust, now)
}

/// Verifies a bundle for an artifact known only by its digests (for example an OCI manifest
/// named by its digest): the same checks as [`verify_bundle`], without reading a file.
pub fn verify_bundle_digests(
    bundle: &Bundle,
    digests: &[Digest],
    trust: &Trust<'_>,
    now: OffsetDateTime,
) -> Result<Verification> {
    let key = signer_key(bundle, trust)?;
    verify_with_key(bundle, &key, digests.to_vec(), trust, now)
}

/// The key that must have signed the bundle: the given one, or the trust root's key named by
/// the bundle's hints.
fn signer_key(bundle: &Bundle, trust: &Trust<'_>) -> Result<PublicKey> {
    let hints = key_hints(bundle)?;
    match trust {
        Trust::Key(key) => Ok((*key).clone()),
        Trust::TrustRoot { root, .. } => find_trusted_key(root, &hints),
    }
}

fn verify_with_key(
    bundle: &Bundle,
    key: &PublicKey,
    digests: Vec<Digest>,
    trust: &Trust<'_>,
    now: OffsetDateTime,
) -> Result<Verification> {
    let hints = key_hints(bundle)?;
    let verified = bundle.verify(key, &digests).map_err(|e| {
        let err = Error::format(Document::Bundle, &e);
        match (trust, err.code()) {
            (Trust::Key(given), Code::SignatureInvalid) => {
                match hints.iter().find(|h| !h.is_empty()) {
                    Some(hint) if *hint != given.key_id().to_string() => Error::new(
                        Code::KeyMismatch,
                        format!(
                            "the bundle names key {hint}, but verification used key {}",
                            given.key_id()
                        ),
                    ),
                    _ => err,
                }
            }
            _ => err,
        }
    })?;

    let role = match trust {
        Trust::Key(_) => None,
        Trust::TrustRoot { root, role } => {
            root.key_for_role(&key.key_id(), *role, now)
                .map_err(|e| Error::format(Document::Bundle, &e))?;
            Some(*role)
        }
    };
    let log_index = match trust {
        Trust::TrustRoot { root, .. } => crate::tlog::check_inclusion(bundle, root, key, now)?,
        Trust::Key(_) => None,
    };

    let statement = match verified.into_inner() {
        VerifiedContent::Statement(statement) => Some(statement),
        _ => None,
    };
    let predicate_type = statement.as_ref().map(|s| s.predicate_type().to_owned());
    let mut unchecked = Vec::new();
    if log_index.is_none() && !bundle.tlog_entries().is_empty() {
        unchecked.push(format!(
            "{} transparency log entries",
            bundle.tlog_entries().len()
        ));
    }
    if !bundle.rfc3161_timestamps().is_empty() {
        unchecked.push(format!(
            "{} RFC 3161 timestamps",
            bundle.rfc3161_timestamps().len()
        ));
    }
    Ok(Verification {
        digests,
        key_id: key.key_id(),
        algorithm: key.algorithm(),
        role,
        predicate_type,
        statement,
        log_index,
        unchecked,
    })
}

/// The key ids the bundle says signed it (unauthenticated hints).
fn key_hints(bundle: &Bundle) -> Result<Vec<String>> {
    let mut hints = Vec::new();
    match bundle.key_material() {
        KeyMaterial::PublicKeyHint(h) => hints.push(h.clone()),
        _ => {
            return Err(Error::new(
                Code::BundleUnsupported,
                "the bundle carries an X.509 certificate; custody verifies bundles signed with keys",
            )
            .with_hint("Verify certificate-based (keyless) bundles with a Sigstore client, or sign with a custody key."));
        }
    }
    if let Content::Dsse(envelope) = bundle.content() {
        hints.extend(envelope.signatures().iter().map(|s| s.keyid.clone()));
    }
    Ok(hints)
}

fn find_trusted_key(root: &Verified<TrustRoot>, hints: &[String]) -> Result<PublicKey> {
    let ids: Vec<KeyId> = hints.iter().filter_map(|h| h.parse().ok()).collect();
    for id in &ids {
        if let Some(k) = root.keys().iter().find(|k| k.key().key_id() == *id) {
            return Ok(k.key().clone());
        }
    }
    let shown = hints
        .iter()
        .find(|h| !h.is_empty())
        .map(String::as_str)
        .unwrap_or("(none)");
    Err(Error::new(
        Code::UnknownKey,
        format!(
            "key {shown} is not in trust root version {}",
            root.version()
        ),
    ))
}
