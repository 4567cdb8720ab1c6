//! TUF 1.0 metadata: the four top-level roles, delegated targets roles, and the signed envelope.
//!
//! Documents are read from strict JSON (duplicate keys, depth and size bounded by
//! custody-formats) into typed values; signatures are checked over the OLPC canonical JSON of
//! the `signed` value as parsed, so fields this crate does not know are covered too.

use std::collections::{BTreeMap, BTreeSet};

use custody_crypto::Signer;
use serde_json::{Map, Value, json};

use crate::error::Error;
use crate::keys::TufKey;
use crate::{cjson, expiry};

/// The specification version this crate writes.
pub const SPEC_VERSION: &str = "1.0.31";

/// A role's authorized keys and threshold.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RoleKeys {
    /// Key ids, in document order, without repetition.
    pub keyids: Vec<String>,
    /// How many distinct keys must sign.
    pub threshold: usize,
}

impl RoleKeys {
    fn parse(v: &Value, what: &str) -> Result<Self, String> {
        let obj = v
            .as_object()
            .ok_or_else(|| format!("{what} is not an object"))?;
        let keyids = str_array(obj.get("keyids"), &format!("{what}.keyids"))?;
        let threshold = u64_field(obj, "threshold", what)?;
        if threshold < 1 {
            return Err(format!("{what}.threshold must be at least 1"));
        }
        let mut seen = BTreeSet::new();
        for k in &keyids {
            if !seen.insert(k) {
                return Err(format!("{what}.keyids repeats '{k}'"));
            }
        }
        Ok(Self {
            keyids,
            threshold: usize::try_from(threshold).map_err(|_| "threshold too large")?,
        })
    }

    fn write(&self, obj: &mut Map<String, Value>) {
        obj.insert("keyids".into(), json!(self.keyids));
        obj.insert("threshold".into(), json!(self.threshold));
    }
}

/// The root role.
#[derive(Clone, Debug)]
pub struct Root {
    /// The version.
    pub version: u64,
    /// Expiry, Unix seconds.
    pub expires: i64,
    /// Whether metadata and targets are published as consistent snapshots.
    pub consistent_snapshot: bool,
    /// Keys by key id.
    pub keys: BTreeMap<String, TufKey>,
    /// `root`, `timestamp`, `snapshot` and `targets`.
    pub roles: BTreeMap<String, RoleKeys>,
}

/// What a snapshot or timestamp says about another metadata file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MetaFile {
    /// The file's version.
    pub version: u64,
    /// Its length in bytes, when signed.
    pub length: Option<u64>,
    /// Its hashes (algorithm to lowercase hex), when signed.
    pub hashes: Option<BTreeMap<String, String>>,
}

/// The timestamp role.
#[derive(Clone, Debug)]
pub struct Timestamp {
    /// The version.
    pub version: u64,
    /// Expiry, Unix seconds.
    pub expires: i64,
    /// `snapshot.json`.
    pub snapshot: MetaFile,
}

/// The snapshot role.
#[derive(Clone, Debug)]
pub struct Snapshot {
    /// The version.
    pub version: u64,
    /// Expiry, Unix seconds.
    pub expires: i64,
    /// Every targets metadata file (`targets.json`, `<role>.json`).
    pub meta: BTreeMap<String, MetaFile>,
}

/// One target file as a targets role describes it.
#[derive(Clone, Debug, PartialEq)]
pub struct TargetFile {
    /// Length in bytes.
    pub length: u64,
    /// Hashes, algorithm to lowercase hex; always includes `sha256` when written by this crate.
    pub hashes: BTreeMap<String, String>,
    /// The `custom` object, if any.
    pub custom: Option<Value>,
}

/// What a delegated role may sign for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PathSpec {
    /// Shell-style patterns (`*` does not cross `/`).
    Paths(Vec<String>),
    /// Prefixes of the hex SHA-256 of the target path.
    HashPrefixes(Vec<String>),
}

/// One entry of `delegations.roles`.
#[derive(Clone, Debug)]
pub struct DelegatedRole {
    /// The role's name.
    pub name: String,
    /// Its keys and threshold.
    pub keys: RoleKeys,
    /// Whether the search stops at this role when it matches.
    pub terminating: bool,
    /// The targets it may sign for.
    pub paths: PathSpec,
}

/// TAP 15 succinct hashed bins: `2^bit_length` roles named `<name_prefix>-<hex>`.
#[derive(Clone, Debug)]
pub struct SuccinctRoles {
    /// Keys and threshold shared by all bins.
    pub keys: RoleKeys,
    /// Number of leading bits of SHA-256(target path) that select the bin (1 to 32).
    pub bit_length: u32,
    /// The bins' name prefix.
    pub name_prefix: String,
}

impl SuccinctRoles {
    /// The number of bins.
    pub fn bin_count(&self) -> u64 {
        1u64 << self.bit_length
    }

    /// The bin number of a target path.
    pub fn bin_of(&self, target_path: &str) -> u64 {
        let d = custody_crypto::sha256(target_path.as_bytes());
        let b = d.as_bytes();
        let word = u32::from_be_bytes([b[0], b[1], b[2], b[3]]);
        u64::from(word) >> (32 - self.bit_length)
    }

    /// The name of bin `n`: the prefix, `-`, and `n` in hex, zero-padded to the width of the
    /// largest bin number.
    pub fn bin_name(&self, n: u64) -> String {
        let width = format!("{:x}", self.bin_count() - 1).len();
        format!("{}-{:0width$x}", self.name_prefix, n)
    }

    /// Whether `name` is one of these bins.
    pub fn is_bin(&self, name: &str) -> bool {
        let width = format!("{:x}", self.bin_count() - 1).len();
        name.strip_prefix(&self.name_prefix)
            .and_then(|r| r.strip_prefix('-'))
            .filter(|h| {
                h.len() == width && h.bytes().all(|c| matches!(c, b'0'..=b'9' | b'a'..=b'f'))
            })
            .and_then(|h| u64::from_str_radix(h, 16).ok())
            .is_some_and(|n| n < self.bin_count())
    }
}

/// Delegated roles: either a list, or succinct hashed bins.
#[derive(Clone, Debug)]
pub enum DelegatedRoles {
    /// An ordered list of roles.
    Roles(Vec<DelegatedRole>),
    /// TAP 15 succinct hashed bins.
    Succinct(SuccinctRoles),
}

/// The `delegations` object of a targets role.
#[derive(Clone, Debug)]
pub struct Delegations {
    /// Keys by key id.
    pub keys: BTreeMap<String, TufKey>,
    /// The roles.
    pub roles: DelegatedRoles,
}

/// A targets role (top-level or delegated).
#[derive(Clone, Debug)]
pub struct Targets {
    /// The version.
    pub version: u64,
    /// Expiry, Unix seconds.
    pub expires: i64,
    /// Target files by path.
    pub targets: BTreeMap<String, TargetFile>,
    /// Delegations, if any.
    pub delegations: Option<Delegations>,
}

/// A signed document as read: the `signed` value and its signatures.
#[derive(Clone, Debug)]
pub struct Envelope {
    pub(crate) signed: Value,
    pub(crate) signatures: Vec<(String, String)>,
    canonical: Vec<u8>,
}

impl Envelope {
    /// Parses a metadata file. `role` names it in errors.
    pub fn parse(bytes: &[u8], role: &str) -> Result<Self, Error> {
        let mut limits = custody_formats::Limits::default();
        limits.max_document_bytes = 64 * 1024 * 1024;
        let doc = custody_formats::json::parse_strict(bytes, &limits)
            .map_err(|e| Error::malformed(role, e.to_string()))?;
        let Value::Object(mut obj) = doc else {
            return Err(Error::malformed(role, "not a JSON object"));
        };
        let signed = obj
            .remove("signed")
            .filter(Value::is_object)
            .ok_or_else(|| Error::malformed(role, "no 'signed' object"))?;
        let sigs = obj
            .remove("signatures")
            .ok_or_else(|| Error::malformed(role, "no 'signatures'"))?;
        if let Some(k) = obj.keys().next() {
            return Err(Error::malformed(
                role,
                format!("unknown top-level field '{k}'"),
            ));
        }
        let Value::Array(sigs) = sigs else {
            return Err(Error::malformed(role, "'signatures' is not an array"));
        };
        let mut signatures = Vec::with_capacity(sigs.len());
        for s in sigs {
            let o = s
                .as_object()
                .ok_or_else(|| Error::malformed(role, "signature is not an object"))?;
            let keyid = o.get("keyid").and_then(Value::as_str);
            let sig = o.get("sig").and_then(Value::as_str);
            match (keyid, sig) {
                // The specification: a keyid MUST be unique in the signatures array.
                (Some(k), Some(_)) if signatures.iter().any(|(seen, _)| seen == k) => {
                    return Err(Error::malformed(role, format!("two signatures by key {k}")));
                }
                (Some(k), Some(s)) => signatures.push((k.to_owned(), s.to_owned())),
                _ => return Err(Error::malformed(role, "signature needs 'keyid' and 'sig'")),
            }
        }
        let canonical = cjson::encode(&signed)
            .ok_or_else(|| Error::malformed(role, "'signed' holds a non-integer number"))?;
        Ok(Self {
            signed,
            signatures,
            canonical,
        })
    }

    /// The `_type` field.
    pub(crate) fn type_name(&self) -> Option<&str> {
        self.signed.get("_type").and_then(Value::as_str)
    }

    /// Checks that at least `threshold` distinct keys of `keyids` (looked up in `keys`) signed.
    /// A key that signed several times counts once.
    pub fn verify(
        &self,
        role: &str,
        keys: &BTreeMap<String, TufKey>,
        authorized: &RoleKeys,
    ) -> Result<(), Error> {
        // Distinct keys, not key ids: the same key listed twice (under two key objects that
        // differ only in an extra field, so under two key ids) counts once.
        let mut valid: BTreeSet<custody_crypto::KeyId> = BTreeSet::new();
        for (keyid, sig) in &self.signatures {
            if !authorized.keyids.contains(keyid) {
                continue;
            }
            let (Some(key), Ok(sig)) = (keys.get(keyid), hex::decode(sig)) else {
                continue;
            };
            if let Some(id) = key.verifying_key_id(&self.canonical, &sig) {
                valid.insert(id);
            }
        }
        if valid.len() >= authorized.threshold {
            Ok(())
        } else {
            Err(Error::ThresholdNotMet {
                role: role.to_owned(),
                valid: valid.len(),
                threshold: authorized.threshold,
            })
        }
    }

    /// Key ids of the signatures present (whether or not they verify).
    pub fn signature_keyids(&self) -> Vec<String> {
        self.signatures.iter().map(|(k, _)| k.clone()).collect()
    }
}

/// The canonical bytes of a snapshot's `signed` value, written directly (the snapshot of a
/// large repository lists every bin, and this is the hot path of adding a target).
pub(crate) fn snapshot_canonical(s: &Snapshot) -> Vec<u8> {
    let mut out = Vec::with_capacity(64 + 48 * s.meta.len());
    out.extend_from_slice(b"{\"_type\":\"snapshot\",\"expires\":");
    cjson::write_string(&expiry::format(s.expires), &mut out);
    out.extend_from_slice(b",\"meta\":{");
    // BTreeMap<String, _> iterates in byte order, which is the canonical order.
    for (i, (name, m)) in s.meta.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        cjson::write_string(name, &mut out);
        out.extend_from_slice(b":{");
        if let Some(h) = &m.hashes {
            out.extend_from_slice(b"\"hashes\":{");
            for (j, (alg, hex)) in h.iter().enumerate() {
                if j > 0 {
                    out.push(b',');
                }
                cjson::write_string(alg, &mut out);
                out.push(b':');
                cjson::write_string(hex, &mut out);
            }
            out.extend_from_slice(b"},");
        }
        if let Some(l) = m.length {
            out.extend_from_slice(format!("\"length\":{l},").as_bytes());
        }
        out.extend_from_slice(format!("\"version\":{}}}", m.version).as_bytes());
    }
    out.extend_from_slice(b"},\"spec_version\":");
    cjson::write_string(SPEC_VERSION, &mut out);
    out.extend_from_slice(format!(",\"version\":{}}}", s.version).as_bytes());
    out
}

/// Signs canonical bytes that contain no control characters (so they are valid JSON as they
/// are) and returns the file bytes.
pub(crate) fn sign_canonical(
    role: &str,
    canonical: &[u8],
    signers: &[&dyn Signer],
) -> Result<Vec<u8>, Error> {
    let mut out = Vec::with_capacity(canonical.len() + 200 * signers.len() + 32);
    out.extend_from_slice(b"{\"signatures\":[");
    let mut sigs = BTreeMap::new();
    for s in signers {
        let keyid = TufKey::from_public_key(s.public_key()).key_id();
        let sig = s.sign(canonical).map_err(|e| Error::Signing {
            role: role.to_owned(),
            reason: e.to_string(),
        })?;
        sigs.insert(keyid, hex::encode(sig));
    }
    for (i, (k, s)) in sigs.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.extend_from_slice(b"{\"keyid\":");
        cjson::write_string(k, &mut out);
        out.extend_from_slice(b",\"sig\":");
        cjson::write_string(s, &mut out);
        out.push(b'}');
    }
    out.extend_from_slice(b"],\"signed\":");
    out.extend_from_slice(canonical);
    out.push(b'}');
    Ok(out)
}

/// Signs the OLPC canonical form of `signed` with every signer (keeping `existing`
/// signatures) and returns the file bytes `{"signatures":[...],"signed":...}`.
pub fn sign_document(
    role: &str,
    signed: &Value,
    signers: &[&dyn Signer],
    existing: &[(String, String)],
) -> Result<Vec<u8>, Error> {
    let canonical = cjson::encode(signed)
        .ok_or_else(|| Error::InvalidRequest(format!("{role} holds a non-integer number")))?;
    let mut sigs: BTreeMap<String, String> = existing.iter().cloned().collect();
    for s in signers {
        let keyid = TufKey::from_public_key(s.public_key()).key_id();
        let sig = s.sign(&canonical).map_err(|e| Error::Signing {
            role: role.to_owned(),
            reason: e.to_string(),
        })?;
        sigs.insert(keyid, hex::encode(sig));
    }
    // The file is ordinary JSON (a PEM's newlines are escaped here); only the signature is
    // over the canonical form, which the reader recomputes from the parsed `signed` value.
    let mut out = Vec::with_capacity(canonical.len() + 200 * sigs.len() + 32);
    out.extend_from_slice(b"{\"signatures\":[");
    for (i, (k, s)) in sigs.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        let sig = json!({"keyid": k, "sig": s});
        serde_json::to_writer(&mut out, &sig)
            .map_err(|e| Error::InvalidRequest(format!("cannot serialize {role}: {e}")))?;
    }
    out.extend_from_slice(b"],\"signed\":");
    if canonical.iter().any(|&b| b < 0x20) {
        serde_json::to_writer(&mut out, signed)
            .map_err(|e| Error::InvalidRequest(format!("cannot serialize {role}: {e}")))?;
    } else {
        // Without control characters, canonical JSON is also valid JSON.
        out.extend_from_slice(&canonical);
    }
    out.push(b'}');
    Ok(out)
}

// ---- field helpers ----

fn u64_field(obj: &Map<String, Value>, name: &str, what: &str) -> Result<u64, String> {
    obj.get(name)
        .and_then(Value::as_u64)
        .ok_or_else(|| format!("{what}.{name} is not a non-negative integer"))
}

fn str_array(v: Option<&Value>, what: &str) -> Result<Vec<String>, String> {
    v.and_then(Value::as_array)
        .ok_or_else(|| format!("{what} is not an array"))?
        .iter()
        .map(|s| {
            s.as_str()
                .map(str::to_owned)
                .ok_or_else(|| format!("{what} holds a non-string"))
        })
        .collect()
}

/// The common header: `_type`, `spec_version`, `version`, `expires`.
fn header(signed: &Value, expected_type: &str) -> Result<(u64, i64), String> {
    let obj = signed.as_object().ok_or("'signed' is not an object")?;
    let ty = obj
        .get("_type")
        .and_then(Value::as_str)
        .ok_or("no '_type'")?;
    if ty != expected_type {
        return Err(format!("_type is '{ty}', expected '{expected_type}'"));
    }
    let spec = obj
        .get("spec_version")
        .and_then(Value::as_str)
        .ok_or("no 'spec_version'")?;
    let parts: Vec<&str> = spec.split('.').collect();
    if parts[0] != "1" || !(2..=3).contains(&parts.len()) {
        return Err(format!("unsupported spec_version '{spec}'"));
    }
    let version = u64_field(obj, "version", "signed")?;
    if version < 1 {
        return Err("version must be at least 1".into());
    }
    let expires = obj
        .get("expires")
        .and_then(Value::as_str)
        .ok_or("no 'expires'")?;
    let expires = expiry::parse(expires).ok_or_else(|| format!("bad 'expires' '{expires}'"))?;
    Ok((version, expires))
}

fn header_value(ty: &str, version: u64, expires: i64) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("_type".into(), json!(ty));
    m.insert("spec_version".into(), json!(SPEC_VERSION));
    m.insert("version".into(), json!(version));
    m.insert("expires".into(), json!(expiry::format(expires)));
    m
}

fn parse_keys(v: Option<&Value>, what: &str) -> Result<BTreeMap<String, TufKey>, String> {
    let obj = v
        .and_then(Value::as_object)
        .ok_or_else(|| format!("{what} is not an object"))?;
    let mut keys = BTreeMap::new();
    for (id, kv) in obj {
        let key = TufKey::from_value(kv).map_err(|e| format!("{what}.{id}: {e}"))?;
        if key.key_id() != *id {
            return Err(format!("{what}.{id}: key id is not the hash of the key"));
        }
        keys.insert(id.clone(), key);
    }
    Ok(keys)
}

fn keys_value(keys: &BTreeMap<String, TufKey>) -> Value {
    Value::Object(
        keys.iter()
            .map(|(k, v)| (k.clone(), v.to_value()))
            .collect(),
    )
}

fn parse_hashes(v: &Value, what: &str) -> Result<BTreeMap<String, String>, String> {
    let obj = v
        .as_object()
        .ok_or_else(|| format!("{what} is not an object"))?;
    if obj.is_empty() {
        return Err(format!("{what} is empty"));
    }
    let mut out = BTreeMap::new();
    for (alg, h) in obj {
        let h = h
            .as_str()
            .filter(|h| !h.is_empty() && h.bytes().all(|c| c.is_ascii_hexdigit()))
            .ok_or_else(|| format!("{what}.{alg} is not hex"))?;
        out.insert(alg.clone(), h.to_ascii_lowercase());
    }
    Ok(out)
}

impl MetaFile {
    fn parse(v: &Value, what: &str) -> Result<Self, String> {
        let obj = v
            .as_object()
            .ok_or_else(|| format!("{what} is not an object"))?;
        let version = u64_field(obj, "version", what)?;
        if version < 1 {
            return Err(format!("{what}.version must be at least 1"));
        }
        let length = match obj.get("length") {
            None => None,
            Some(l) => Some(
                l.as_u64()
                    .ok_or_else(|| format!("{what}.length is invalid"))?,
            ),
        };
        let hashes = match obj.get("hashes") {
            None => None,
            Some(h) => Some(parse_hashes(h, &format!("{what}.hashes"))?),
        };
        Ok(Self {
            version,
            length,
            hashes,
        })
    }

    fn to_value(&self) -> Value {
        let mut m = Map::new();
        m.insert("version".into(), json!(self.version));
        if let Some(l) = self.length {
            m.insert("length".into(), json!(l));
        }
        if let Some(h) = &self.hashes {
            m.insert("hashes".into(), json!(h));
        }
        Value::Object(m)
    }
}

impl Root {
    /// Reads the `signed` part of a root document.
    pub fn from_envelope(env: &Envelope) -> Result<Self, Error> {
        Self::parse(&env.signed).map_err(|e| Error::malformed("root", e))
    }

    fn parse(signed: &Value) -> Result<Self, String> {
        let (version, expires) = header(signed, "root")?;
        let obj = signed.as_object().ok_or("not an object")?;
        let consistent_snapshot = obj
            .get("consistent_snapshot")
            .map(|v| v.as_bool().ok_or("consistent_snapshot is not a boolean"))
            .transpose()?
            .unwrap_or(false);
        let keys = parse_keys(obj.get("keys"), "keys")?;
        let roles_obj = obj
            .get("roles")
            .and_then(Value::as_object)
            .ok_or("roles is not an object")?;
        let mut roles = BTreeMap::new();
        for name in ["root", "timestamp", "snapshot", "targets"] {
            let r = roles_obj
                .get(name)
                .ok_or_else(|| format!("roles.{name} is missing"))?;
            roles.insert(
                name.to_owned(),
                RoleKeys::parse(r, &format!("roles.{name}"))?,
            );
        }
        Ok(Self {
            version,
            expires,
            consistent_snapshot,
            keys,
            roles,
        })
    }

    /// The `signed` value.
    pub fn to_value(&self) -> Value {
        let mut m = header_value("root", self.version, self.expires);
        m.insert(
            "consistent_snapshot".into(),
            json!(self.consistent_snapshot),
        );
        m.insert("keys".into(), keys_value(&self.keys));
        let mut roles = Map::new();
        for (n, r) in &self.roles {
            let mut o = Map::new();
            r.write(&mut o);
            roles.insert(n.clone(), Value::Object(o));
        }
        m.insert("roles".into(), Value::Object(roles));
        Value::Object(m)
    }

    /// The keys and threshold of a top-level role.
    pub fn role(&self, name: &str) -> Result<&RoleKeys, Error> {
        self.roles
            .get(name)
            .ok_or_else(|| Error::malformed("root", format!("no role '{name}'")))
    }
}

impl Timestamp {
    /// Reads the `signed` part of a timestamp document.
    pub fn from_envelope(env: &Envelope) -> Result<Self, Error> {
        Self::parse(&env.signed).map_err(|e| Error::malformed("timestamp", e))
    }

    fn parse(signed: &Value) -> Result<Self, String> {
        let (version, expires) = header(signed, "timestamp")?;
        let meta = signed
            .get("meta")
            .and_then(Value::as_object)
            .ok_or("meta is not an object")?;
        if meta.len() != 1 {
            return Err("meta must hold exactly snapshot.json".into());
        }
        let snapshot = MetaFile::parse(
            meta.get("snapshot.json")
                .ok_or("meta has no snapshot.json")?,
            "meta.snapshot.json",
        )?;
        Ok(Self {
            version,
            expires,
            snapshot,
        })
    }

    /// The `signed` value.
    pub fn to_value(&self) -> Value {
        let mut m = header_value("timestamp", self.version, self.expires);
        m.insert(
            "meta".into(),
            json!({"snapshot.json": self.snapshot.to_value()}),
        );
        Value::Object(m)
    }
}

impl Snapshot {
    /// Reads the `signed` part of a snapshot document.
    pub fn from_envelope(env: &Envelope) -> Result<Self, Error> {
        Self::parse(&env.signed).map_err(|e| Error::malformed("snapshot", e))
    }

    fn parse(signed: &Value) -> Result<Self, String> {
        let (version, expires) = header(signed, "snapshot")?;
        let meta_obj = signed
            .get("meta")
            .and_then(Value::as_object)
            .ok_or("meta is not an object")?;
        let mut meta = BTreeMap::new();
        for (name, v) in meta_obj {
            meta.insert(name.clone(), MetaFile::parse(v, &format!("meta.{name}"))?);
        }
        if !meta.contains_key("targets.json") {
            return Err("meta has no targets.json".into());
        }
        Ok(Self {
            version,
            expires,
            meta,
        })
    }

    /// The `signed` value.
    pub fn to_value(&self) -> Value {
        let mut m = header_value("snapshot", self.version, self.expires);
        let meta: Map<String, Value> = self
            .meta
            .iter()
            .map(|(k, v)| (k.clone(), v.to_value()))
            .collect();
        m.insert("meta".into(), Value::Object(meta));
        Value::Object(m)
    }
}

impl TargetFile {
    pub(crate) fn parse(v: &Value, what: &str) -> Result<Self, String> {
        let obj = v
            .as_object()
            .ok_or_else(|| format!("{what} is not an object"))?;
        let length = u64_field(obj, "length", what)?;
        let hashes = parse_hashes(
            obj.get("hashes")
                .ok_or_else(|| format!("{what}.hashes is missing"))?,
            &format!("{what}.hashes"),
        )?;
        let custom = obj.get("custom").cloned();
        Ok(Self {
            length,
            hashes,
            custom,
        })
    }

    pub(crate) fn to_value(&self) -> Value {
        let mut m = Map::new();
        m.insert("length".into(), json!(self.length));
        m.insert("hashes".into(), json!(self.hashes));
        if let Some(c) = &self.custom {
            m.insert("custom".into(), c.clone());
        }
        Value::Object(m)
    }
}

impl Targets {
    /// Reads the `signed` part of a targets document; `role` names it in errors.
    pub fn from_envelope(env: &Envelope, role: &str) -> Result<Self, Error> {
        Self::parse(&env.signed).map_err(|e| Error::malformed(role, e))
    }

    fn parse(signed: &Value) -> Result<Self, String> {
        let (version, expires) = header(signed, "targets")?;
        let obj = signed.as_object().ok_or("not an object")?;
        let tobj = obj
            .get("targets")
            .and_then(Value::as_object)
            .ok_or("targets is not an object")?;
        let mut targets = BTreeMap::new();
        for (path, v) in tobj {
            targets.insert(
                path.clone(),
                TargetFile::parse(v, &format!("targets.{path}"))?,
            );
        }
        let delegations = match obj.get("delegations") {
            None => None,
            Some(d) => Some(Delegations::parse(d)?),
        };
        Ok(Self {
            version,
            expires,
            targets,
            delegations,
        })
    }

    /// The `signed` value.
    pub fn to_value(&self) -> Value {
        let mut m = header_value("targets", self.version, self.expires);
        let t: Map<String, Value> = self
            .targets
            .iter()
            .map(|(k, v)| (k.clone(), v.to_value()))
            .collect();
        m.insert("targets".into(), Value::Object(t));
        if let Some(d) = &self.delegations {
            m.insert("delegations".into(), d.to_value());
        }
        Value::Object(m)
    }
}

impl Delegations {
    fn parse(v: &Value) -> Result<Self, String> {
        let obj = v.as_object().ok_or("delegations is not an object")?;
        let keys = parse_keys(obj.get("keys"), "delegations.keys")?;
        let roles = match (obj.get("roles"), obj.get("succinct_roles")) {
            (Some(r), None) => {
                let arr = r.as_array().ok_or("delegations.roles is not an array")?;
                let mut roles = Vec::with_capacity(arr.len());
                let mut names = BTreeSet::new();
                for (i, r) in arr.iter().enumerate() {
                    let role = DelegatedRole::parse(r, i)?;
                    if !names.insert(role.name.clone()) {
                        return Err(format!("delegated role '{}' appears twice", role.name));
                    }
                    roles.push(role);
                }
                DelegatedRoles::Roles(roles)
            }
            (None, Some(s)) => {
                let so = s.as_object().ok_or("succinct_roles is not an object")?;
                let keys = RoleKeys::parse(s, "succinct_roles")?;
                let bit_length = u64_field(so, "bit_length", "succinct_roles")?;
                if !(1..=32).contains(&bit_length) {
                    return Err("succinct_roles.bit_length must be 1 to 32".into());
                }
                let name_prefix = so
                    .get("name_prefix")
                    .and_then(Value::as_str)
                    .ok_or("succinct_roles.name_prefix is not a string")?
                    .to_owned();
                DelegatedRoles::Succinct(SuccinctRoles {
                    keys,
                    bit_length: u32::try_from(bit_length).map_err(|_| "bit_length")?,
                    name_prefix,
                })
            }
            _ => return Err("delegations needs exactly one of roles and succinct_roles".into()),
        };
        Ok(Self { keys, roles })
    }

    fn to_value(&self) -> Value {
        let mut m = Map::new();
        m.insert("keys".into(), keys_value(&self.keys));
        match &self.roles {
            DelegatedRoles::Roles(roles) => {
                let arr: Vec<Value> = roles.iter().map(DelegatedRole::to_value).collect();
                m.insert("roles".into(), Value::Array(arr));
            }
            DelegatedRoles::Succinct(s) => {
                let mut o = Map::new();
                s.keys.write(&mut o);
                o.insert("bit_length".into(), json!(s.bit_length));
                o.insert("name_prefix".into(), json!(s.name_prefix));
                m.insert("succinct_roles".into(), Value::Object(o));
            }
        }
        Value::Object(m)
    }
}

impl DelegatedRole {
    fn parse(v: &Value, i: usize) -> Result<Self, String> {
        let what = format!("delegations.roles[{i}]");
        let obj = v
            .as_object()
            .ok_or_else(|| format!("{what} is not an object"))?;
        let name = obj
            .get("name")
            .and_then(Value::as_str)
            .ok_or_else(|| format!("{what}.name is not a string"))?
            .to_owned();
        if matches!(name.as_str(), "root" | "timestamp" | "snapshot" | "targets") || name.is_empty()
        {
            return Err(format!("{what}.name '{name}' is reserved"));
        }
        let keys = RoleKeys::parse(v, &what)?;
        let terminating = obj
            .get("terminating")
            .and_then(Value::as_bool)
            .ok_or_else(|| format!("{what}.terminating is not a boolean"))?;
        let paths = match (obj.get("paths"), obj.get("path_hash_prefixes")) {
            (Some(p), None) => PathSpec::Paths(str_array(Some(p), &format!("{what}.paths"))?),
            (None, Some(p)) => {
                PathSpec::HashPrefixes(str_array(Some(p), &format!("{what}.path_hash_prefixes"))?)
            }
            _ => {
                return Err(format!(
                    "{what} needs exactly one of paths and path_hash_prefixes"
                ));
            }
        };
        Ok(Self {
            name,
            keys,
            terminating,
            paths,
        })
    }

    fn to_value(&self) -> Value {
        let mut o = Map::new();
        o.insert("name".into(), json!(self.name));
        self.keys.write(&mut o);
        o.insert("terminating".into(), json!(self.terminating));
        match &self.paths {
            PathSpec::Paths(p) => o.insert("paths".into(), json!(p)),
            PathSpec::HashPrefixes(p) => o.insert("path_hash_prefixes".into(), json!(p)),
        };
        Value::Object(o)
    }

    /// Whether this role may sign for `target_path`.
    pub fn matches(&self, target_path: &str) -> bool {
        match &self.paths {
            PathSpec::Paths(patterns) => patterns.iter().any(|p| path_matches(p, target_path)),
            PathSpec::HashPrefixes(prefixes) => {
                let h = custody_crypto::sha256(target_path.as_bytes()).hex();
                prefixes.iter().any(|p| h.starts_with(p.as_str()))
            }
        }
    }
}

/// Shell-style matching, component by component: both must have as many `/`-separated parts,
/// and each part matches with `*` (any run), `?` (one character) and `[...]`/`[!...]` classes.
pub fn path_matches(pattern: &str, path: &str) -> bool {
    let pp: Vec<&str> = pattern.split('/').collect();
    let tp: Vec<&str> = path.split('/').collect();
    pp.len() == tp.len()
        && pp.iter().zip(&tp).all(|(p, t)| {
            let p: Vec<char> = p.chars().collect();
            let t: Vec<char> = t.chars().collect();
            glob(&p, &t)
        })
}

fn glob(p: &[char], t: &[char]) -> bool {
    // Iterative matcher with backtracking to the last `*`.
    let (mut pi, mut ti) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() {
            match p[pi] {
                '*' => {
                    star = Some((pi, ti));
                    pi += 1;
                    continue;
                }
                '?' => {
                    pi += 1;
                    ti += 1;
                    continue;
                }
                '[' => {
                    if let Some((matched, next)) = class(&p[pi..], t[ti]) {
                        if matched {
                            pi += next;
                            ti += 1;
                            continue;
                        }
                    } else if t[ti] == '[' {
                        pi += 1;
                        ti += 1;
                        continue;
                    }
                }
                c if c == t[ti] => {
                    pi += 1;
                    ti += 1;
                    continue;
                }
                _ => {}
            }
        }
        match star {
            Some((sp, st)) => {
                pi = sp + 1;
                ti = st + 1;
                star = Some((sp, st + 1));
            }
            None => return false,
        }
    }
    p[pi..].iter().all(|&c| c == '*')
}

/// Matches `c` against the class at the start of `p` (`[...]`); `None` if unterminated.
fn class(p: &[char], c: char) -> Option<(bool, usize)> {
    let mut i = 1;
    let negate = p.get(i) == Some(&'!');
    if negate {
        i += 1;
    }
    let mut matched = false;
    let mut first = true;
    while i < p.len() {
        if p[i] == ']' && !first {
            return Some((matched != negate, i + 1));
        }
        first = false;
        if i + 2 < p.len() && p[i + 1] == '-' && p[i + 2] != ']' {
            if p[i] <= c && c <= p[i + 2] {
                matched = true;
            }
            i += 3;
        } else {
            if p[i] == c {
                matched = true;
            }
            i += 1;
        }
    }
    None
}

/// Adds signatures by `signers` to an existing metadata file, keeping the signatures it has and
/// the `signed` value exactly as it is.
pub fn add_signatures(bytes: &[u8], role: &str, signers: &[&dyn Signer]) -> Result<Vec<u8>, Error> {
    let env = Envelope::parse(bytes, role)?;
    sign_document(role, &env.signed, signers, &env.signatures)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::{MetaFile, Snapshot, snapshot_canonical};

    #[test]
    fn direct_snapshot_encoding_equals_the_generic_one() {
        let s = Snapshot {
            version: 7,
            expires: 1_900_000_000,
            meta: BTreeMap::from([
                (
                    "targets.json".to_owned(),
                    MetaFile {
                        version: 2,
                        length: Some(99),
                        hashes: Some(BTreeMap::from([
                            ("sha256".to_owned(), "ab".to_owned()),
                            ("sha512".to_owned(), "cd".to_owned()),
                        ])),
                    },
                ),
                (
                    "bins-0.json".to_owned(),
                    MetaFile {
                        version: 1,
                        length: None,
                        hashes: None,
                    },
                ),
                (
                    "a\"b.json".to_owned(),
                    MetaFile {
                        version: 3,
                        length: Some(5),
                        hashes: None,
                    },
                ),
            ]),
        };
        assert_eq!(
            snapshot_canonical(&s),
            crate::cjson::encode(&s.to_value()).unwrap()
        );
    }
}
