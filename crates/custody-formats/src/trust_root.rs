//! custody's trust root: the signed list of keys custody trusts, each with one role and a
//! validity window.
//!
//! Wire format (JSON):
//!
//! ```json
//! { "signed": { "_type": "https://custody.dev/trust-root/v1", "version": 1,
//!               "expires": "2027-11-22T00:00:00Z", "rootThreshold": 1,
//!               "keys": [ { "keyId": "<64 hex>", "role": "root", "algorithm": "ed25519",
//!                           "publicKey": "-----BEGIN PUBLIC KEY-----\n…",
//!                           "validFrom": "2026-11-22T00:00:00Z",
//!                           "validUntil": "2027-11-22T00:00:00Z",
//!                           "revokedAt": "2027-01-01T00:00:00Z",
//!                           "owner": "alice@example.com" } ] },
//!   "signatures": [ { "keyId": "<64 hex>", "sig": "<standard base64>" } ] }
//! ```
//!
//! Signatures are over the RFC 8785 canonical form of the `signed` value *as parsed* from the
//! document (which the strict reader guarantees is unambiguous), never over a re-serialization
//! of the typed body. Fields not listed above (nor `name`, a log's or witness's signed-note key
//! name, nor `witnessThreshold`) are rejected; the optional ones (`validUntil`, `revokedAt`,
//! `name`, `owner`: the person or system controlling the key) are written only when set, so a
//! document without them keeps its bytes and signatures. `keyId` must be the key id of
//! `publicKey` and `algorithm` its algorithm. Timestamps are RFC 3339 UTC with whole seconds.
//!
//! Verification follows the TUF root rules: a root is trusted when enough of its own root keys
//! signed it ([`SignedTrustRoot::verify`]); a successor also needs enough of its predecessor's
//! root keys and the next version number ([`SignedTrustRoot::verify_successor`]).

use std::collections::BTreeSet;
use std::fmt;
use std::str::FromStr;

use custody_crypto::{KeyId, PublicKey, Signer, Verifier as _};
use serde::Serialize;
use serde_json::{Map, Value};
use time::OffsetDateTime;

use crate::fields::{Nulls, Obj};
use crate::{Error, Limits, Verified, b64, json, rfc3339};

/// The `_type` of a custody trust root, version 1.
pub const TRUST_ROOT_TYPE_V1: &str = "https://custody.dev/trust-root/v1";

/// The largest version number: versions must stay exact in RFC 8785 canonical JSON.
const MAX_VERSION: u64 = (1 << 53) - 1;

/// Whether a trust root's own `expires` is enforced.
///
/// Only the newest version of a chain must be current; older versions are checked only for
/// their signatures and versions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Expiry {
    /// Refuse an expired trust root ([`Error::TrustRootExpired`]): the default.
    Enforce,
    /// Accept an expired trust root because a newer version in the same chain follows it.
    IntermediateOfChain,
}

/// What a trusted key may be used for. Each key has exactly one role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Role {
    /// Signs trust roots.
    Root,
    /// Signs build provenance.
    Build,
    /// Signs releases.
    Release,
    /// Signs transparency-log checkpoints.
    Log,
    /// Signs timestamps.
    Timestamp,
    /// Cosigns transparency-log checkpoints.
    Witness,
    /// Signs approvals (reviews, sign-offs).
    Approver,
    /// Signs independent rebuild results.
    Rebuilder,
}

impl Role {
    /// Every role, in declaration order.
    pub const ALL: [Self; 8] = [
        Self::Root,
        Self::Build,
        Self::Release,
        Self::Log,
        Self::Timestamp,
        Self::Witness,
        Self::Approver,
        Self::Rebuilder,
    ];

    /// The lowercase name used in documents and on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Self::Root => "root",
            Self::Build => "build",
            Self::Release => "release",
            Self::Log => "log",
            Self::Timestamp => "timestamp",
            Self::Witness => "witness",
            Self::Approver => "approver",
            Self::Rebuilder => "rebuilder",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Role {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Error> {
        Self::ALL
            .into_iter()
            .find(|r| r.name() == s)
            .ok_or_else(|| {
                Error::invalid(
                    "role",
                    format!("unknown role '{}'", crate::error::truncate(s)),
                )
            })
    }
}

/// A key in the trust root, with its role and validity window.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrustedKey {
    key: PublicKey,
    role: Role,
    valid_from: OffsetDateTime,
    valid_until: Option<OffsetDateTime>,
    revoked_at: Option<OffsetDateTime>,
    name: Option<String>,
    owner: Option<String>,
}

/// The longest `owner`, in characters.
pub const MAX_OWNER_CHARS: usize = 256;

impl TrustedKey {
    /// A trusted key. Times are converted to UTC and truncated to whole seconds, as the
    /// document stores them.
    ///
    /// Errors: a year outside 0000–9999, or `valid_until` not after `valid_from`
    /// ([`Error::InvalidField`]).
    pub fn new(
        key: PublicKey,
        role: Role,
        valid_from: OffsetDateTime,
        valid_until: Option<OffsetDateTime>,
        revoked_at: Option<OffsetDateTime>,
    ) -> Result<Self, Error> {
        let valid_from = normalize(valid_from, "validFrom")?;
        let valid_until = valid_until
            .map(|t| normalize(t, "validUntil"))
            .transpose()?;
        let revoked_at = revoked_at.map(|t| normalize(t, "revokedAt")).transpose()?;
        if valid_until.is_some_and(|until| until <= valid_from) {
            return Err(Error::invalid("validUntil", "must be after validFrom"));
        }
        Ok(Self {
            key,
            role,
            valid_from,
            valid_until,
            revoked_at,
            name: None,
            owner: None,
        })
    }

    /// The same key with a signed-note key name (C2SP signed-note): the name a transparency
    /// log's or a witness's key signs checkpoints under. 1 to 256 printable characters, no
    /// whitespace and no `+`.
    pub fn with_name(self, name: &str) -> Result<Self, Error> {
        let valid = !name.is_empty()
            && name.len() <= 256
            && name.chars().all(|c| c.is_ascii_graphic() && c != '+');
        if !valid {
            return Err(Error::invalid(
                "name",
                "must be 1 to 256 printable characters without spaces or '+'",
            ));
        }
        Ok(Self {
            name: Some(name.to_owned()),
            ..self
        })
    }

    /// The signed-note key name, for log and witness keys.
    pub fn name(&self) -> Option<&str> {
        self.name.as_deref()
    }

    /// The same key with an owner: the person or system controlling it (e.g.
    /// `alice@example.com`). 1 to 256 characters, no control characters, no leading or
    /// trailing whitespace ([`Error::InvalidField`] on `owner`).
    pub fn with_owner(self, owner: &str) -> Result<Self, Error> {
        check_owner(owner)?;
        Ok(Self {
            owner: Some(owner.to_owned()),
            ..self
        })
    }

    /// The person or system controlling the key, if the trust root names one.
    pub fn owner(&self) -> Option<&str> {
        self.owner.as_deref()
    }

    /// The signer's identity, as policy counts it: the owner if set, else `key:<keyid>`.
    /// Two keys with the same owner are one identity (e.g. one approver, however many keys).
    pub fn identity(&self) -> String {
        match &self.owner {
            Some(owner) => owner.clone(),
            None => format!("key:{}", self.key_id()),
        }
    }

    /// The same key, revoked from `at` on.
    pub fn revoked(self, at: OffsetDateTime) -> Result<Self, Error> {
        Ok(Self {
            revoked_at: Some(normalize(at, "revokedAt")?),
            ..self
        })
    }

    /// The public key.
    pub fn key(&self) -> &PublicKey {
        &self.key
    }

    /// The key's id.
    pub fn key_id(&self) -> KeyId {
        self.key.key_id()
    }

    /// The key's role.
    pub fn role(&self) -> Role {
        self.role
    }

    /// The start of the key's validity.
    pub fn valid_from(&self) -> OffsetDateTime {
        self.valid_from
    }

    /// The end of the key's validity (exclusive), if it has one.
    pub fn valid_until(&self) -> Option<OffsetDateTime> {
        self.valid_until
    }

    /// When the key was revoked, if it was; it is unusable from then on.
    pub fn revoked_at(&self) -> Option<OffsetDateTime> {
        self.revoked_at
    }

    /// Checks that the key may be used at `at`: not revoked ([`Error::KeyRevoked`]), already
    /// valid ([`Error::KeyNotYetValid`]) and not yet expired ([`Error::KeyExpired`]).
    pub fn check_usable_at(&self, at: OffsetDateTime) -> Result<(), Error> {
        let key_id = self.key_id();
        if let Some(revoked_at) = self.revoked_at
            && at >= revoked_at
        {
            return Err(Error::KeyRevoked { key_id, revoked_at });
        }
        if at < self.valid_from {
            return Err(Error::KeyNotYetValid {
                key_id,
                valid_from: self.valid_from,
            });
        }
        if let Some(valid_until) = self.valid_until
            && at >= valid_until
        {
            return Err(Error::KeyExpired {
                key_id,
                valid_until,
            });
        }
        Ok(())
    }

    fn to_value(&self) -> Value {
        let mut out = Map::new();
        out.insert("keyId".into(), self.key_id().to_string().into());
        out.insert("role".into(), self.role.name().into());
        out.insert("algorithm".into(), self.key.algorithm().name().into());
        out.insert("publicKey".into(), self.key.to_pem().into());
        if let Some(name) = &self.name {
            out.insert("name".into(), name.clone().into());
        }
        if let Some(owner) = &self.owner {
            out.insert("owner".into(), owner.clone().into());
        }
        out.insert("validFrom".into(), format_time(self.valid_from).into());
        if let Some(t) = self.valid_until {
            out.insert("validUntil".into(), format_time(t).into());
        }
        if let Some(t) = self.revoked_at {
            out.insert("revokedAt".into(), format_time(t).into());
        }
        Value::Object(out)
    }
}

/// The `signed` part of a trust root.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrustRootBody {
    version: u64,
    expires: OffsetDateTime,
    root_threshold: u32,
    keys: Vec<TrustedKey>,
    witness_threshold: u32,
}

impl TrustRootBody {
    /// A trust-root body, checked: `version` at least 1 (and at most 2^53 − 1),
    /// `root_threshold` at least 1 and no more than the number of root keys, each key listed
    /// once ([`Error::DuplicateTrustRootKey`]). `expires` is converted to UTC whole seconds.
    pub fn new(
        version: u64,
        expires: OffsetDateTime,
        root_threshold: u32,
        keys: Vec<TrustedKey>,
    ) -> Result<Self, Error> {
        if !(1..=MAX_VERSION).contains(&version) {
            return Err(Error::invalid(
                "signed.version",
                format!("must be between 1 and {MAX_VERSION}"),
            ));
        }
        if root_threshold == 0 {
            return Err(Error::invalid("signed.rootThreshold", "must be at least 1"));
        }
        let expires = normalize(expires, "signed.expires")?;
        let mut seen = BTreeSet::new();
        for key in &keys {
            if !seen.insert(key.key_id()) {
                return Err(Error::DuplicateTrustRootKey {
                    key_id: key.key_id(),
                });
            }
        }
        let root_keys = keys.iter().filter(|k| k.role == Role::Root).count();
        if root_keys < root_threshold as usize {
            return Err(Error::invalid(
                "signed.rootThreshold",
                format!(
                    "{root_threshold} root signatures are required, but only {root_keys} root keys are listed"
                ),
            ));
        }
        Ok(Self {
            version,
            expires,
            root_threshold,
            keys,
            witness_threshold: 0,
        })
    }

    /// Requires `threshold` distinct witnesses (keys of role `witness` with a name) to have
    /// cosigned a log checkpoint before a signature logged under it is accepted. Zero (the
    /// default) requires none and is not written to the document.
    pub fn with_witness_threshold(self, threshold: u32) -> Result<Self, Error> {
        let witnesses = self
            .keys
            .iter()
            .filter(|k| k.role == Role::Witness && k.name.is_some())
            .count();
        if witnesses < threshold as usize {
            return Err(Error::invalid(
                "signed.witnessThreshold",
                format!(
                    "{threshold} witness cosignatures are required, but only {witnesses} named witness keys are listed"
                ),
            ));
        }
        Ok(Self {
            witness_threshold: threshold,
            ..self
        })
    }

    /// How many distinct witnesses must have cosigned a log checkpoint (0: none).
    pub fn witness_threshold(&self) -> u32 {
        self.witness_threshold
    }

    /// The version number; each successor has the next one.
    pub fn version(&self) -> u64 {
        self.version
    }

    /// When this trust root stops being acceptable.
    pub fn expires(&self) -> OffsetDateTime {
        self.expires
    }

    /// How many distinct root keys must sign.
    pub fn root_threshold(&self) -> u32 {
        self.root_threshold
    }

    /// The keys, in document order.
    pub fn keys(&self) -> &[TrustedKey] {
        &self.keys
    }

    /// The entry for a key id, if the key is listed.
    pub fn key(&self, key_id: &KeyId) -> Option<&TrustedKey> {
        self.keys.iter().find(|k| k.key_id() == *key_id)
    }

    fn to_value(&self) -> Value {
        let mut out = Map::new();
        out.insert("_type".into(), TRUST_ROOT_TYPE_V1.into());
        out.insert("version".into(), self.version.into());
        out.insert("expires".into(), format_time(self.expires).into());
        out.insert("rootThreshold".into(), self.root_threshold.into());
        if self.witness_threshold > 0 {
            out.insert("witnessThreshold".into(), self.witness_threshold.into());
        }
        out.insert(
            "keys".into(),
            Value::Array(self.keys.iter().map(TrustedKey::to_value).collect()),
        );
        Value::Object(out)
    }

    /// Distinct root keys of this body, usable at `now`, with a valid signature over `message`.
    fn count_root_signers(
        &self,
        message: &[u8],
        signatures: &[(KeyId, Vec<u8>)],
        now: OffsetDateTime,
    ) -> usize {
        let mut signers = BTreeSet::new();
        for (key_id, sig) in signatures {
            let Some(key) = self.key(key_id) else {
                continue;
            };
            if key.role == Role::Root
                && key.check_usable_at(now).is_ok()
                && key.key.verify(message, sig).is_ok()
            {
                signers.insert(*key_id);
            }
        }
        signers.len()
    }

    fn check_threshold(
        &self,
        message: &[u8],
        signatures: &[(KeyId, Vec<u8>)],
        now: OffsetDateTime,
    ) -> Result<(), Error> {
        let needed = self.root_threshold as usize;
        match self.count_root_signers(message, signatures, now) {
            0 => Err(Error::NoValidSignature),
            found if found < needed => Err(Error::ThresholdNotMet { needed, found }),
            _ => Ok(()),
        }
    }
}

/// A trust root with its signatures, as read from or written to a document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedTrustRoot {
    body: TrustRootBody,
    /// The `signed` value as parsed (or as built by [`SignedTrustRoot::new`]).
    signed: Value,
    /// RFC 8785 canonical bytes of `signed`: what the signatures cover.
    canonical: Vec<u8>,
    signatures: Vec<(KeyId, Vec<u8>)>,
}

impl SignedTrustRoot {
    /// An unsigned trust root for `body`.
    pub fn new(body: TrustRootBody) -> Self {
        let signed = body.to_value();
        // The body holds strings and integers below 2^53 only, which always canonicalize;
        // should that ever fail, the empty message makes every signature check fail (closed).
        let canonical = json::canonicalize(&signed).unwrap_or_default();
        Self {
            body,
            signed,
            canonical,
            signatures: Vec::new(),
        }
    }

    /// Signs with `signer`, which must be a root key of this body ([`Error::UnknownKey`],
    /// [`Error::WrongRole`]). A signature by the same key replaces the previous one.
    pub fn sign(&mut self, signer: &dyn Signer) -> Result<(), Error> {
        let key_id = signer.public_key().key_id();
        let trusted = self.body.key(&key_id).ok_or(Error::UnknownKey { key_id })?;
        if trusted.role != Role::Root {
            return Err(Error::WrongRole {
                key_id,
                role: trusted.role,
                required: Role::Root,
            });
        }
        let sig = signer
            .sign(&self.canonical)
            .map_err(|e| Error::SigningFailed {
                reason: e.to_string(),
            })?;
        match self.signatures.iter_mut().find(|(id, _)| *id == key_id) {
            Some(existing) => existing.1 = sig,
            None => self.signatures.push((key_id, sig)),
        }
        Ok(())
    }

    /// Reads a trust root, strictly (see [`json::parse_strict`]); unknown fields are rejected.
    pub fn from_json(bytes: &[u8], limits: &Limits) -> Result<Self, Error> {
        let document = json::parse_strict(bytes, limits)?;
        let top = Obj::new(&document, "", Nulls::Reject)?;
        top.deny_unknown(&["signed", "signatures"])?;
        let signed_value = top.get("signed").ok_or_else(|| Error::missing("signed"))?;
        let body = read_body(&top.req_obj("signed")?)?;

        let items = top.req_array("signatures")?;
        if items.len() > limits.max_signatures {
            return Err(Error::TooManySignatures {
                limit: limits.max_signatures,
                found: items.len(),
            });
        }
        let mut signatures: Vec<(KeyId, Vec<u8>)> = Vec::with_capacity(items.len());
        for entry in top.objects_in("signatures", items)? {
            entry.deny_unknown(&["keyId", "sig"])?;
            let key_id: KeyId =
                entry
                    .req_str("keyId")?
                    .parse()
                    .map_err(|e: custody_crypto::KeyError| {
                        Error::invalid(entry.path("keyId"), e.to_string())
                    })?;
            if signatures.iter().any(|(id, _)| *id == key_id) {
                return Err(Error::invalid(
                    entry.path("keyId"),
                    format!("key {key_id} signed twice"),
                ));
            }
            let sig = b64::decode_strict(entry.req_str("sig")?, &entry.path("sig"))?;
            signatures.push((key_id, sig));
        }
        Ok(Self {
            body,
            canonical: json::canonicalize(signed_value)?,
            signed: signed_value.clone(),
            signatures,
        })
    }

    /// The document as pretty-printed JSON with a trailing newline.
    pub fn to_json(&self) -> Vec<u8> {
        #[derive(Serialize)]
        struct WireSignature {
            #[serde(rename = "keyId")]
            key_id: String,
            sig: String,
        }
        #[derive(Serialize)]
        struct Wire<'a> {
            signed: &'a Value,
            signatures: Vec<WireSignature>,
        }
        let wire = Wire {
            signed: &self.signed,
            signatures: self
                .signatures
                .iter()
                .map(|(key_id, sig)| WireSignature {
                    key_id: key_id.to_string(),
                    sig: b64::encode(sig),
                })
                .collect(),
        };
        // Serializing strings and a `Value` cannot fail.
        let mut out = serde_json::to_vec_pretty(&wire).unwrap_or_default();
        out.push(b'\n');
        out
    }

    /// The body (not yet verified).
    pub fn body(&self) -> &TrustRootBody {
        &self.body
    }

    /// The signatures: key id and signature bytes, in document order.
    pub fn signatures(&self) -> &[(KeyId, Vec<u8>)] {
        &self.signatures
    }

    /// The RFC 8785 canonical bytes of `signed`, which the signatures cover.
    pub fn signed_bytes(&self) -> &[u8] {
        &self.canonical
    }

    /// Verifies a trust root on its own (the first one, or one pinned out of band): at least
    /// `rootThreshold` distinct root keys of this body, usable at `now`, signed it
    /// ([`Error::NoValidSignature`], [`Error::ThresholdNotMet`]), and it has not expired
    /// ([`Error::TrustRootExpired`]).
    pub fn verify(&self, now: OffsetDateTime) -> Result<Verified<TrustRoot>, Error> {
        self.verify_with(now, Expiry::Enforce)
    }

    /// [`Self::verify`], with the expiry check chosen by the caller: the first version of a
    /// chain may have expired as long as a later version is current.
    pub fn verify_with(
        &self,
        now: OffsetDateTime,
        expiry: Expiry,
    ) -> Result<Verified<TrustRoot>, Error> {
        self.body
            .check_threshold(&self.canonical, &self.signatures, now)?;
        self.check_expiry(now, expiry)?;
        Ok(Verified::new(TrustRoot {
            body: self.body.clone(),
        }))
    }

    /// Verifies a trust root that replaces `previous` (TUF root rotation, in the TUF order):
    /// 1. `previous.rootThreshold` of `previous`'s root keys, usable at `now`, signed it;
    /// 2. its own `rootThreshold` of its own root keys signed it;
    /// 3. its version is exactly `previous.version + 1` ([`Error::TrustRootVersion`]);
    /// 4. it has not expired.
    pub fn verify_successor(
        &self,
        previous: &Verified<TrustRoot>,
        now: OffsetDateTime,
    ) -> Result<Verified<TrustRoot>, Error> {
        self.verify_successor_with(previous, now, Expiry::Enforce)
    }

    /// [`Self::verify_successor`], with the expiry check chosen by the caller (an intermediate
    /// version of a chain may have expired; TUF 1.0 §5.3.10 checks only the newest).
    pub fn verify_successor_with(
        &self,
        previous: &Verified<TrustRoot>,
        now: OffsetDateTime,
        expiry: Expiry,
    ) -> Result<Verified<TrustRoot>, Error> {
        previous
            .body
            .check_threshold(&self.canonical, &self.signatures, now)?;
        self.body
            .check_threshold(&self.canonical, &self.signatures, now)?;
        let expected = previous
            .body
            .version
            .checked_add(1)
            .ok_or(Error::TrustRootVersion {
                previous: previous.body.version,
                expected: u64::MAX,
                found: self.body.version,
            })?;
        if self.body.version != expected {
            return Err(Error::TrustRootVersion {
                previous: previous.body.version,
                expected,
                found: self.body.version,
            });
        }
        self.check_expiry(now, expiry)?;
        Ok(Verified::new(TrustRoot {
            body: self.body.clone(),
        }))
    }

    fn check_expiry(&self, now: OffsetDateTime, expiry: Expiry) -> Result<(), Error> {
        if expiry == Expiry::Enforce && now >= self.body.expires {
            return Err(Error::TrustRootExpired {
                expires: self.body.expires,
            });
        }
        Ok(())
    }
}

/// A trust root whose signatures were verified; reach it through [`Verified<TrustRoot>`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrustRoot {
    body: TrustRootBody,
}

impl TrustRoot {
    /// The key `key_id` if it may act as `role` at time `at`.
    ///
    /// Errors, in the order checked: [`Error::UnknownKey`], [`Error::WrongRole`],
    /// [`Error::KeyRevoked`] (`at` ≥ `revokedAt`), [`Error::KeyNotYetValid`],
    /// [`Error::KeyExpired`] (`at` ≥ `validUntil`).
    pub fn key_for_role(
        &self,
        key_id: &KeyId,
        role: Role,
        at: OffsetDateTime,
    ) -> Result<&TrustedKey, Error> {
        let key = self
            .body
            .key(key_id)
            .ok_or(Error::UnknownKey { key_id: *key_id })?;
        if key.role != role {
            return Err(Error::WrongRole {
                key_id: *key_id,
                role: key.role,
                required: role,
            });
        }
        key.check_usable_at(at)?;
        Ok(key)
    }

    /// Every key, in document order.
    pub fn keys(&self) -> &[TrustedKey] {
        &self.body.keys
    }

    /// The entry for a key id, if the key is listed (whatever its role and validity; use
    /// [`Self::key_for_role`] to check a signer).
    pub fn key(&self, key_id: &KeyId) -> Option<&TrustedKey> {
        self.body.key(key_id)
    }

    /// The keys of one role.
    pub fn keys_with_role(&self, role: Role) -> impl Iterator<Item = &TrustedKey> {
        self.body.keys.iter().filter(move |k| k.role == role)
    }

    /// The version number.
    pub fn version(&self) -> u64 {
        self.body.version
    }

    /// When this trust root stops being acceptable.
    pub fn expires(&self) -> OffsetDateTime {
        self.body.expires
    }

    /// How many distinct root keys must sign this trust root's successor.
    pub fn root_threshold(&self) -> u32 {
        self.body.root_threshold
    }

    /// How many distinct witnesses must have cosigned a log checkpoint (0: none).
    pub fn witness_threshold(&self) -> u32 {
        self.body.witness_threshold
    }

    /// The whole body.
    pub fn body(&self) -> &TrustRootBody {
        &self.body
    }
}

fn read_body(signed: &Obj<'_>) -> Result<TrustRootBody, Error> {
    signed.deny_unknown(&[
        "_type",
        "version",
        "expires",
        "rootThreshold",
        "witnessThreshold",
        "keys",
    ])?;
    let root_type = signed.req_str("_type")?;
    if root_type != TRUST_ROOT_TYPE_V1 {
        return Err(Error::invalid(
            signed.path("_type"),
            format!(
                "expected '{TRUST_ROOT_TYPE_V1}', found '{}'",
                crate::error::truncate(root_type)
            ),
        ));
    }
    let version = signed.req_u64("version")?;
    let expires =
        rfc3339::parse_whole_seconds(signed.req_str("expires")?, &signed.path("expires"))?;
    let root_threshold = u32::try_from(signed.req_u64("rootThreshold")?)
        .map_err(|_| Error::invalid(signed.path("rootThreshold"), "too large"))?;
    let items = signed.req_array("keys")?;
    let keys = signed
        .objects_in("keys", items)?
        .iter()
        .map(read_key)
        .collect::<Result<Vec<_>, Error>>()?;
    let witness_threshold = match signed.get("witnessThreshold") {
        None => 0,
        Some(_) => match u32::try_from(signed.req_u64("witnessThreshold")?) {
            // Zero is written by omission, so an explicit 0 is not canonical for us: refuse it.
            Ok(0) | Err(_) => {
                return Err(Error::invalid(
                    signed.path("witnessThreshold"),
                    "must be 1 or more when present",
                ));
            }
            Ok(n) => n,
        },
    };
    TrustRootBody::new(version, expires, root_threshold, keys)?
        .with_witness_threshold(witness_threshold)
}

fn read_key(entry: &Obj<'_>) -> Result<TrustedKey, Error> {
    entry.deny_unknown(&[
        "keyId",
        "role",
        "algorithm",
        "publicKey",
        "validFrom",
        "validUntil",
        "revokedAt",
        "name",
        "owner",
    ])?;
    let pem = entry.req_str("publicKey")?;
    let key = PublicKey::from_pem(pem)
        .map_err(|e| Error::invalid(entry.path("publicKey"), e.to_string()))?;
    let declared = entry.req_str("keyId")?;
    if declared != key.key_id().to_string() {
        return Err(Error::TrustRootKeyIdMismatch {
            declared: crate::error::truncate(declared),
            computed: key.key_id(),
        });
    }
    let algorithm = entry.req_str("algorithm")?;
    if algorithm != key.algorithm().name() {
        return Err(Error::invalid(
            entry.path("algorithm"),
            format!(
                "the key is {}, not '{}'",
                key.algorithm(),
                crate::error::truncate(algorithm)
            ),
        ));
    }
    let role: Role = entry.req_str("role")?.parse().map_err(|e: Error| match e {
        Error::InvalidField { reason, .. } => Error::invalid(entry.path("role"), reason),
        other => other,
    })?;
    let time = |key: &str| -> Result<Option<OffsetDateTime>, Error> {
        entry
            .opt_str(key)?
            .map(|t| rfc3339::parse_whole_seconds(t, &entry.path(key)))
            .transpose()
    };
    let valid_from = time("validFrom")?.ok_or_else(|| Error::missing(entry.path("validFrom")))?;
    let name = entry.opt_str("name")?;
    let owner = entry.opt_str("owner")?;
    TrustedKey::new(
        key,
        role,
        valid_from,
        time("validUntil")?,
        time("revokedAt")?,
    )
    .and_then(|k| match name {
        Some(n) => k.with_name(n),
        None => Ok(k),
    })
    .and_then(|k| match owner {
        Some(o) => k.with_owner(o),
        None => Ok(k),
    })
    .map_err(|e| match e {
        Error::InvalidField { field, reason } => Error::invalid(entry.path(&field), reason),
        other => other,
    })
}

/// Checks a key owner: 1 to [`MAX_OWNER_CHARS`] characters, no control characters, no
/// leading or trailing whitespace.
fn check_owner(owner: &str) -> Result<(), Error> {
    let chars = owner.chars().count();
    if chars == 0 || chars > MAX_OWNER_CHARS {
        return Err(Error::invalid(
            "owner",
            format!("must be 1 to {MAX_OWNER_CHARS} characters"),
        ));
    }
    if owner.chars().any(char::is_control) {
        return Err(Error::invalid(
            "owner",
            "must not contain control characters",
        ));
    }
    if owner.trim() != owner {
        return Err(Error::invalid(
            "owner",
            "must not start or end with whitespace",
        ));
    }
    Ok(())
}

/// Converts to UTC whole seconds, the form the document stores; rejects unwritable years.
fn normalize(time: OffsetDateTime, field: &str) -> Result<OffsetDateTime, Error> {
    let unwritable = || Error::invalid(field, "the year must be between 0 and 9999");
    let utc = time
        .checked_to_offset(time::UtcOffset::UTC)
        .ok_or_else(unwritable)?
        .replace_nanosecond(0)
        .map_err(|_| unwritable())?;
    if rfc3339::format(utc).is_none() {
        return Err(unwritable());
    }
    Ok(utc)
}

/// Formats a normalized time (always writable, see [`normalize`]).
fn format_time(time: OffsetDateTime) -> String {
    rfc3339::format(time).unwrap_or_default()
}

#[cfg(test)]
mod tests;
