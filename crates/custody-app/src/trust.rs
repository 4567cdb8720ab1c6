//! Trust roots on disk: create, co-sign, and verify a chain of versions.

use std::path::Path;

use custody_crypto::{PublicKey, Signer};
use custody_formats::trust_root::{
    Expiry, Role, SignedTrustRoot, TrustRoot, TrustRootBody, TrustedKey,
};
use custody_formats::{Limits, Verified};
use time::{Duration, OffsetDateTime};

use crate::codes::Code;
use crate::error::{Document, Error, Result};
use crate::fs::{Overwrite, Visibility, read_limited, write_atomic};

/// Trust roots larger than this are refused before parsing.
pub const TRUST_ROOT_LIMIT: u64 = 4 * 1024 * 1024;

/// Reads and parses a trust root without verifying it.
pub fn read_trust_root(path: &Path) -> Result<SignedTrustRoot> {
    let bytes = read_limited(path, TRUST_ROOT_LIMIT).map_err(|e| {
        if e.code() == Code::InvalidArgument {
            Error::new(Code::TrustRootMalformed, e.message().to_owned())
        } else {
            e
        }
    })?;
    SignedTrustRoot::from_json(&bytes, &Limits::default())
        .map_err(|e| Error::format(Document::TrustRoot, &e))
}

/// Loads a trust root and verifies it on its own (its root keys signed it to their threshold,
/// and it has not expired). This file is the caller's anchor of trust.
pub fn load_trust_root(path: &Path, now: OffsetDateTime) -> Result<Verified<TrustRoot>> {
    read_trust_root(path)?
        .verify(now)
        .map_err(|e| Error::format(Document::TrustRoot, &e))
}

/// Verifies a chain of versions, oldest first: the first is the anchor (verified on its own),
/// each later one must be its predecessor's signed successor.
pub fn verify_chain(paths: &[&Path], now: OffsetDateTime) -> Result<Verified<TrustRoot>> {
    let (first, rest) = paths
        .split_first()
        .ok_or_else(|| Error::new(Code::Usage, "no trust root given"))?;
    // TUF 1.0 §5.3.10: only the newest version must be unexpired.
    let expiry_for = |is_newest: bool| {
        if is_newest {
            Expiry::Enforce
        } else {
            Expiry::IntermediateOfChain
        }
    };
    let mut current = read_trust_root(first)?
        .verify_with(now, expiry_for(rest.is_empty()))
        .map_err(|e| Error::format(Document::TrustRoot, &e))?;
    for (i, path) in rest.iter().enumerate() {
        let next = read_trust_root(path)?;
        current = next
            .verify_successor_with(&current, now, expiry_for(i + 1 == rest.len()))
            .map_err(|e| {
                Error::format(Document::TrustRoot, &e).with_hint(format!(
                    "'{}' must be version {} signed by the root keys of the version before it",
                    path.display(),
                    current.version() + 1
                ))
            })?;
    }
    Ok(current)
}

/// A key to put into a new trust root.
pub struct NewKey {
    /// The public key.
    pub key: PublicKey,
    /// Its single role.
    pub role: Role,
    /// Optional end of its validity window.
    pub valid_until: Option<OffsetDateTime>,
    /// Its signed-note key name (log and witness keys).
    pub name: Option<String>,
    /// The person or system controlling it (e.g. `alice@example.com`): its identity in policy.
    pub owner: Option<String>,
}

/// The settings of a new trust root version.
pub struct NewTrustRoot {
    /// Keys to list (for a successor, in addition to those carried over).
    pub keys: Vec<NewKey>,
    /// Root signature threshold; `None` keeps the previous one (or 1 for a first version).
    pub root_threshold: Option<u32>,
    /// How long the new version is valid.
    pub valid_for: Duration,
    /// Witness cosignatures required on log checkpoints; `None` keeps the previous value (or 0).
    pub witness_threshold: Option<u32>,
}

/// Builds a new, unsigned trust root: version 1, or the successor of `previous` (its keys
/// carried over as they are, with their names and owners, minus `remove`, plus
/// `settings.keys`).
pub fn build_trust_root(
    previous: Option<&SignedTrustRoot>,
    settings: NewTrustRoot,
    remove: &[custody_crypto::KeyId],
    revoke: &[custody_crypto::KeyId],
    now: OffsetDateTime,
) -> Result<SignedTrustRoot> {
    let now = now.replace_nanosecond(0).unwrap_or(now);
    let mut keys: Vec<TrustedKey> = Vec::new();
    let (version, threshold) = match previous {
        Some(prev) => {
            for id in remove.iter().chain(revoke) {
                if !prev.body().keys().iter().any(|k| k.key().key_id() == *id) {
                    return Err(Error::new(
                        Code::InvalidArgument,
                        format!("key {id} is not in the previous trust root"),
                    ));
                }
            }
            for k in prev.body().keys() {
                let id = k.key().key_id();
                if remove.contains(&id) {
                    continue;
                }
                let mut k = k.clone();
                if revoke.contains(&id) && k.revoked_at().is_none() {
                    k = k
                        .revoked(now)
                        .map_err(|e| Error::new(Code::InvalidArgument, e.to_string()))?;
                }
                keys.push(k);
            }
            (
                prev.body().version() + 1,
                settings
                    .root_threshold
                    .unwrap_or(prev.body().root_threshold()),
            )
        }
        None => (1, settings.root_threshold.unwrap_or(1)),
    };
    for k in settings.keys {
        let key = TrustedKey::new(k.key, k.role, now, k.valid_until, None)
            .and_then(|key| match &k.name {
                Some(name) => key.with_name(name),
                None => Ok(key),
            })
            .and_then(|key| match &k.owner {
                Some(owner) => key.with_owner(owner),
                None => Ok(key),
            });
        keys.push(key.map_err(|e| Error::new(Code::InvalidArgument, e.to_string()))?);
    }
    let witness_threshold = settings
        .witness_threshold
        .unwrap_or_else(|| previous.map_or(0, |p| p.body().witness_threshold()));
    let body = TrustRootBody::new(version, now + settings.valid_for, threshold, keys)
        .and_then(|b| b.with_witness_threshold(witness_threshold))
        .map_err(|e| Error::new(Code::InvalidArgument, e.to_string()))?;
    Ok(SignedTrustRoot::new(body))
}

/// Adds `signer`'s signature to the trust root at `path` (in place, atomically).
pub fn sign_trust_root_file(path: &Path, signer: &dyn Signer) -> Result<SignedTrustRoot> {
    let mut root = read_trust_root(path)?;
    root.sign(signer).map_err(|e| {
        Error::new(Code::InvalidArgument, e.to_string()).with_hint(
            "Sign with the private key of a root key that this trust root version lists.",
        )
    })?;
    write_trust_root(path, &root, Overwrite::Replace)?;
    Ok(root)
}

/// Writes a trust root atomically.
pub fn write_trust_root(path: &Path, root: &SignedTrustRoot, overwrite: Overwrite) -> Result<()> {
    write_atomic(path, &root.to_json(), overwrite, Visibility::Public)
}
