//! Offline checks of transparency-log evidence in a bundle, against a trust root's log keys.

use custody_crypto::{PublicKey, sha256};
use custody_formats::bundle::{Bundle, Content, TlogEntry};
use custody_formats::dsse::pae;
use custody_formats::rekor::{API_VERSION, DsseRecord, HashedRekord, Record};
use custody_formats::trust_root::{Role, TrustRoot};
use custody_formats::{Limits, Verified};
use custody_log::checkpoint::SignedCheckpoint;
use custody_log::cosignature::WitnessPolicy;
use custody_log::note::{KeyName, NoteVerifier, SignatureType};
use custody_log::{Hash, LeafIndex, TreeSize, leaf_hash, proof};
use time::OffsetDateTime;

use crate::codes::Code;
use crate::error::{Error, Result};

/// The log records a bundle's signature may be logged as, the one custody submits first.
///
/// A message signature is a `hashedrekord`. A DSSE envelope signed with ECDSA P-256 is a
/// `hashedrekord` over the SHA-256 of its PAE (what Rekor v2 recommends), or a `dsse` entry;
/// one signed with Ed25519 (a pure signature over the PAE, which no digest can stand for) is a
/// `dsse` entry.
pub fn expected_records(bundle: &Bundle, key: &PublicKey) -> Result<Vec<Record>> {
    let unsupported = |why: &str| Error::new(Code::LogInclusionMissing, why.to_owned());
    let rejected = |e: custody_formats::Error| Error::new(Code::BundleUnsupported, e.to_string());
    match bundle.content() {
        Content::MessageSignature { digest, signature } => Ok(vec![Record::HashedRekord(
            HashedRekord::new(*digest, signature.clone(), key.clone()).map_err(rejected)?,
        )]),
        Content::Dsse(envelope) => {
            let sig = envelope
                .signatures()
                .first()
                .ok_or_else(|| unsupported("the envelope has no signature"))?;
            let dsse = Record::Dsse(
                DsseRecord::new(envelope.clone(), std::slice::from_ref(key)).map_err(rejected)?,
            );
            if key.algorithm() == custody_crypto::KeyAlgorithm::EcdsaP256 {
                let hashed = HashedRekord::new(
                    sha256(&pae(envelope.payload_type(), envelope.payload())),
                    sig.sig.clone(),
                    key.clone(),
                )
                .map_err(rejected)?;
                Ok(vec![Record::HashedRekord(hashed), dsse])
            } else {
                Ok(vec![dsse])
            }
        }
        _ => Err(unsupported("this bundle content cannot be logged")),
    }
}

/// The record custody submits to a log for a bundle's signature (the first of
/// [`expected_records`]).
pub fn expected_record(bundle: &Bundle, key: &PublicKey) -> Result<Record> {
    expected_records(bundle, key)?
        .into_iter()
        .next()
        .ok_or_else(|| Error::new(Code::Internal, "no log record for this bundle"))
}

/// The trust root's usable log keys, as note verifiers.
fn log_verifiers(root: &Verified<TrustRoot>, now: OffsetDateTime) -> Vec<NoteVerifier> {
    root.keys_with_role(Role::Log)
        .filter(|k| k.check_usable_at(now).is_ok())
        .filter_map(|k| {
            let name = KeyName::new(k.name()?).ok()?;
            NoteVerifier::ed25519(name, k.key().clone()).ok()
        })
        .collect()
}

/// The trust root's usable witness keys, as cosignature verifiers.
fn witness_verifiers(root: &Verified<TrustRoot>, now: OffsetDateTime) -> Vec<NoteVerifier> {
    root.keys_with_role(Role::Witness)
        .filter(|k| k.check_usable_at(now).is_ok())
        .filter_map(|k| {
            let name = KeyName::new(k.name()?).ok()?;
            NoteVerifier::new(name, SignatureType::CosignatureV1, k.key().clone()).ok()
        })
        .collect()
}

/// When the trust root names a log, the bundle must prove the signature is in it: returns the
/// entry's index. When it names none, returns `None` (nothing to check).
pub fn check_inclusion(
    bundle: &Bundle,
    root: &Verified<TrustRoot>,
    key: &PublicKey,
    now: OffsetDateTime,
) -> Result<Option<u64>> {
    let verifiers = log_verifiers(root, now);
    if verifiers.is_empty() {
        return Ok(None);
    }
    if bundle.tlog_entries().is_empty() {
        return Err(Error::new(
            Code::LogInclusionMissing,
            "the bundle has no transparency-log entry",
        ));
    }
    let expected = expected_records(bundle, key)?
        .iter()
        .map(|r| {
            r.canonical_entry()
                .map(|body| (r.kind(), body))
                .map_err(|e| Error::new(Code::Internal, e.to_string()))
        })
        .collect::<Result<Vec<_>>>()?;
    let witnesses = match root.witness_threshold() {
        0 => None,
        n => Some(
            WitnessPolicy::new(witness_verifiers(root, now), n as usize).map_err(|e| {
                Error::new(
                    Code::WitnessQuorumMissing,
                    format!("the trust root's witness policy is unusable: {e}"),
                )
            })?,
        ),
    };
    let mut last = None;
    for entry in bundle.tlog_entries() {
        match check_entry(entry, &expected, &verifiers, witnesses.as_ref()) {
            Ok(index) => return Ok(Some(index)),
            Err(e) => last = Some(e),
        }
    }
    Err(last.unwrap_or_else(|| Error::new(Code::LogInclusionMissing, "no transparency-log entry")))
}

fn check_entry(
    entry: &TlogEntry,
    expected: &[(&str, Vec<u8>)],
    verifiers: &[NoteVerifier],
    witnesses: Option<&WitnessPolicy>,
) -> Result<u64> {
    let invalid = |why: String| Error::new(Code::LogProofInvalid, why);
    let Some((_, body)) = expected.iter().find(|(kind, _)| entry.kind == *kind) else {
        return Err(invalid(format!(
            "a log entry of kind {} does not record this bundle's signature",
            entry.kind
        )));
    };
    if entry.version != API_VERSION {
        return Err(invalid(format!(
            "entry version {} is not {API_VERSION}",
            entry.version
        )));
    }
    if entry.canonicalized_body != *body {
        return Err(invalid(
            "the log entry records a different signature, key or digest".into(),
        ));
    }
    Record::from_canonical_entry(&entry.canonicalized_body, &Limits::default())
        .map_err(|e| invalid(format!("the log entry is malformed: {e}")))?;
    let p = entry.inclusion_proof.as_ref().ok_or_else(|| {
        Error::new(
            Code::LogInclusionMissing,
            "the log entry has no inclusion proof",
        )
    })?;
    let checkpoint = SignedCheckpoint::parse(p.checkpoint.as_bytes())
        .map_err(|e| invalid(format!("the checkpoint is malformed: {e}")))?
        .verify_any(verifiers)
        .map_err(|e| {
            invalid(format!(
                "the checkpoint is not signed by the trust root's log key: {e}"
            ))
        })?;
    if let Some(policy) = witnesses {
        policy.check(&checkpoint).map_err(|e| {
            Error::new(
                Code::WitnessQuorumMissing,
                format!(
                    "the checkpoint of size {} is not cosigned by enough witnesses: {e}",
                    checkpoint.size()
                ),
            )
        })?;
    }
    let root =
        Hash::try_from(p.root_hash.as_slice()).map_err(|_| invalid("bad root hash".into()))?;
    // The size and root come from the signed checkpoint; the proof's copies must agree.
    if checkpoint.size() != TreeSize::new(p.tree_size) || checkpoint.root() != root {
        return Err(invalid(
            "the proof's tree size or root differs from the signed checkpoint".into(),
        ));
    }
    let hashes = p
        .hashes
        .iter()
        .map(|h| Hash::try_from(h.as_slice()))
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(|_| invalid("bad proof hash".into()))?;
    if p.log_index != entry.log_index {
        return Err(invalid("the proof is for another index".into()));
    }
    proof::verify_inclusion(
        &leaf_hash(body),
        LeafIndex::new(p.log_index),
        checkpoint.size(),
        &hashes,
        &checkpoint.root(),
    )
    .map_err(|e| invalid(format!("the inclusion proof does not verify: {e}")))?;
    Ok(p.log_index)
}
