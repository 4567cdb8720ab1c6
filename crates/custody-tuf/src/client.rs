//! The TUF 1.0 client workflow (specification §5), over a [`Fetcher`] and a [`MetadataCache`].
//!
//! Phases, as the specification numbers them:
//! - 5.2 load the trusted root: the newer of the cached `root.json` and the bootstrap root,
//!   each checked against its own root keys;
//! - 5.3 walk the root chain: fetch `N+1.root.json` until "not found"; each version must be
//!   signed by a threshold of the trusted root's root keys AND of its own, and carry exactly
//!   version N+1; then the final root must not be expired;
//! - 5.4 timestamp: signed by the root's timestamp keys, never older than the trusted one (nor
//!   its snapshot version), not expired. A cached timestamp that the current root's keys do not
//!   verify is discarded, which recovers from a fast-forward attack after a key rotation;
//! - 5.5 snapshot: the version and (if signed) length and hashes the timestamp names, signed by
//!   the snapshot keys, no role's version lower than in the trusted snapshot, not expired;
//! - 5.6 top-level targets, then 5.7 a pre-order depth-first search of delegations, where each
//!   role is verified with the keys of the delegator that led to it, a matching terminating
//!   delegation ends the search of its siblings and of the roles still waiting, and at most
//!   [`ClientLimits::max_delegations`] roles are visited.
//!
//! Every file is fetched with a size cap, and every accepted file is stored in the cache
//! exactly as received, so that the next run starts from it (rollback protection across runs).

use std::collections::{BTreeMap, BTreeSet};

use custody_crypto::{DigestAlgorithm, Hasher};
use time::OffsetDateTime;

use crate::error::Error;
use crate::expiry;
use crate::keys::TufKey;
use crate::metadata::{
    DelegatedRoles, Envelope, MetaFile, RoleKeys, Root, Snapshot, TargetFile, Targets, Timestamp,
};

/// Why a fetch failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FetchError {
    /// The file does not exist (HTTP 404 or 403). Ends the root-chain walk.
    NotFound,
    /// Any other failure.
    Failed(String),
}

/// Fetches metadata files from a repository.
pub trait Fetcher {
    /// Fetches `file_name` (for example `2.root.json`, `timestamp.json`) from the metadata
    /// directory. Must not return more than `max_length + 1` bytes: the client treats a longer
    /// answer as too large.
    fn fetch_metadata(&mut self, file_name: &str, max_length: u64) -> Result<Vec<u8>, FetchError>;
}

/// A store of trusted metadata between runs, keyed by file name (`root.json`, `timestamp.json`,
/// `snapshot.json`, `targets.json`, `<role>.json` with the role name percent-encoded).
pub trait MetadataCache {
    /// The stored bytes, if any.
    fn load(&self, file_name: &str) -> Option<Vec<u8>>;
    /// Stores bytes atomically, replacing what was there.
    fn store(&mut self, file_name: &str, bytes: &[u8]) -> Result<(), String>;
}

/// A [`MetadataCache`] in memory.
#[derive(Debug, Default, Clone)]
pub struct MemoryCache {
    /// The stored files.
    pub files: BTreeMap<String, Vec<u8>>,
}

impl MetadataCache for MemoryCache {
    fn load(&self, file_name: &str) -> Option<Vec<u8>> {
        self.files.get(file_name).cloned()
    }

    fn store(&mut self, file_name: &str, bytes: &[u8]) -> Result<(), String> {
        self.files.insert(file_name.to_owned(), bytes.to_vec());
        Ok(())
    }
}

/// Size caps and search bounds, with python-tuf's defaults.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ClientLimits {
    /// Largest root file (512,000 B).
    pub root_max_length: u64,
    /// Largest timestamp file (16,384 B).
    pub timestamp_max_length: u64,
    /// Largest snapshot file when the timestamp signs no length (2,000,000 B).
    pub snapshot_max_length: u64,
    /// Largest targets file when the snapshot signs no length (5,000,000 B).
    pub targets_max_length: u64,
    /// Most root versions fetched in one refresh (256).
    pub max_root_rotations: u64,
    /// Most targets roles visited in one search (32).
    pub max_delegations: usize,
}

impl Default for ClientLimits {
    fn default() -> Self {
        Self {
            root_max_length: 512_000,
            timestamp_max_length: 16_384,
            snapshot_max_length: 2_000_000,
            targets_max_length: 5_000_000,
            max_root_rotations: 256,
            max_delegations: 32,
        }
    }
}

/// A target as trusted metadata describes it.
#[derive(Debug, Clone, PartialEq)]
pub struct TargetInfo {
    /// The target path.
    pub path: String,
    /// What the signing role says about it.
    pub file: TargetFile,
}

impl TargetInfo {
    /// The path to download under the targets directory: with consistent snapshots
    /// `<dir>/<sha256>.<basename>` (the first hash when there is no SHA-256), else the path.
    pub fn download_path(&self, consistent_snapshot: bool) -> String {
        if !consistent_snapshot {
            return self.path.clone();
        }
        let hash = self
            .file
            .hashes
            .get("sha256")
            .or_else(|| self.file.hashes.values().next())
            .cloned()
            .unwrap_or_default();
        match self.path.rsplit_once('/') {
            Some((dir, base)) => format!("{dir}/{hash}.{base}"),
            None => format!("{hash}.{}", self.path),
        }
    }

    /// A streaming checker of the target's length and every listed hash.
    pub fn verifier(&self) -> TargetVerifier {
        TargetVerifier::new(&self.path, self.file.length, Some(&self.file.hashes))
    }
}

/// Checks a download against a trusted length and hashes while it streams.
pub struct TargetVerifier {
    what: String,
    length: Option<u64>,
    seen: u64,
    hashers: Vec<(String, Option<Hasher>, String)>,
}

impl TargetVerifier {
    fn new(
        what: &str,
        length: impl Into<Option<u64>>,
        hashes: Option<&BTreeMap<String, String>>,
    ) -> Self {
        let hashers = hashes
            .into_iter()
            .flatten()
            .map(|(alg, hex)| {
                let hasher = match alg.as_str() {
                    "sha256" => Some(Hasher::new(DigestAlgorithm::Sha256)),
                    "sha512" => Some(Hasher::new(DigestAlgorithm::Sha512)),
                    _ => None,
                };
                (alg.clone(), hasher, hex.clone())
            })
            .collect();
        Self {
            what: what.to_owned(),
            length: length.into(),
            seen: 0,
            hashers,
        }
    }

    /// Feeds the next bytes; fails as soon as more bytes arrive than the trusted length.
    pub fn update(&mut self, data: &[u8]) -> Result<(), Error> {
        self.seen += data.len() as u64;
        if let Some(l) = self.length
            && self.seen > l
        {
            return Err(Error::LengthOrHashMismatch {
                what: self.what.clone(),
                reason: format!("more than the trusted {l} bytes"),
            });
        }
        for (_, h, _) in &mut self.hashers {
            if let Some(h) = h {
                h.update(data);
            }
        }
        Ok(())
    }

    /// Checks the total length and every hash.
    pub fn finish(self) -> Result<(), Error> {
        let mismatch = |reason: String| Error::LengthOrHashMismatch {
            what: self.what.clone(),
            reason,
        };
        if let Some(l) = self.length
            && self.seen != l
        {
            return Err(mismatch(format!("{} bytes, trusted length {l}", self.seen)));
        }
        for (alg, h, want) in &self.hashers {
            let Some(h) = h else {
                return Err(mismatch(format!("unsupported hash algorithm '{alg}'")));
            };
            let got = h.clone().finalize().hex();
            if !custody_crypto::constant_time_eq(got.as_bytes(), want.as_bytes()) {
                return Err(mismatch(format!("{alg} differs")));
            }
        }
        Ok(())
    }
}

fn check_meta_bytes(what: &str, bytes: &[u8], meta: &MetaFile) -> Result<(), Error> {
    let mut v = TargetVerifier::new(what, meta.length, meta.hashes.as_ref());
    v.update(bytes)?;
    v.finish()
}

/// Percent-encodes a role name for a file name (everything but `A-Za-z0-9_.-~`).
pub fn quote_role(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for b in name.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

struct LoadedRole {
    targets: Targets,
    envelope: Envelope,
    verified_by: Option<String>,
}

/// A TUF client: trusted state, a transport and a cache.
pub struct Client<F: Fetcher, C: MetadataCache> {
    fetcher: F,
    cache: C,
    now: i64,
    limits: ClientLimits,
    root: Root,
    timestamp: Option<Timestamp>,
    snapshot: Option<Snapshot>,
    roles: BTreeMap<String, LoadedRole>,
    refreshed: bool,
}

fn self_signed_root(bytes: &[u8]) -> Result<Root, Error> {
    let env = Envelope::parse(bytes, "root")?;
    let root = Root::from_envelope(&env)?;
    env.verify("root", &root.keys, root.role("root")?)?;
    Ok(root)
}

impl<F: Fetcher, C: MetadataCache> Client<F, C> {
    /// Starts from the newer of the cached root and `bootstrap_root` (5.2), each of which must
    /// be signed by a threshold of its own root keys. `now` is the time expiry is judged at.
    pub fn new(
        bootstrap_root: &[u8],
        fetcher: F,
        mut cache: C,
        now: OffsetDateTime,
        limits: ClientLimits,
    ) -> Result<Self, Error> {
        let boot = self_signed_root(bootstrap_root)?;
        let cached = cache
            .load("root.json")
            .and_then(|b| self_signed_root(&b).ok());
        let root = match cached {
            Some(c) if c.version >= boot.version => c,
            _ => {
                store(&mut cache, "root.json", bootstrap_root)?;
                boot
            }
        };
        Ok(Self {
            fetcher,
            cache,
            now: now.unix_timestamp(),
            limits,
            root,
            timestamp: None,
            snapshot: None,
            roles: BTreeMap::new(),
            refreshed: false,
        })
    }

    /// The trusted root.
    pub fn root(&self) -> &Root {
        &self.root
    }

    /// The trusted timestamp, after [`Self::refresh`].
    pub fn timestamp(&self) -> Option<&Timestamp> {
        self.timestamp.as_ref()
    }

    /// The trusted snapshot, after [`Self::refresh`].
    pub fn snapshot(&self) -> Option<&Snapshot> {
        self.snapshot.as_ref()
    }

    /// Gives back the transport and the cache.
    pub fn into_parts(self) -> (F, C) {
        (self.fetcher, self.cache)
    }

    fn fetch(&mut self, file: &str, max: u64) -> Result<Vec<u8>, Error> {
        let bytes = self
            .fetcher
            .fetch_metadata(file, max)
            .map_err(|e| Error::Fetch {
                file: file.to_owned(),
                reason: match e {
                    FetchError::NotFound => "not found".to_owned(),
                    FetchError::Failed(r) => r,
                },
            })?;
        if bytes.len() as u64 > max {
            return Err(Error::TooLarge {
                what: file.to_owned(),
                limit: max,
            });
        }
        Ok(bytes)
    }

    fn expired(&self, role: &str, expires: i64) -> Result<(), Error> {
        if expires <= self.now {
            Err(Error::ExpiredMetadata {
                role: role.to_owned(),
                expires: expiry::format(expires),
            })
        } else {
            Ok(())
        }
    }

    /// Runs 5.3 to 5.6: root chain, timestamp, snapshot and top-level targets.
    pub fn refresh(&mut self) -> Result<(), Error> {
        self.update_root()?;
        self.update_timestamp()?;
        self.update_snapshot()?;
        self.roles.clear();
        self.load_role("targets", None)?;
        self.refreshed = true;
        Ok(())
    }

    fn update_root(&mut self) -> Result<(), Error> {
        for _ in 0..self.limits.max_root_rotations {
            let Some(next) = self.root.version.checked_add(1) else {
                break;
            };
            let file = format!("{next}.root.json");
            let bytes = match self
                .fetcher
                .fetch_metadata(&file, self.limits.root_max_length)
            {
                Ok(b) => b,
                Err(FetchError::NotFound) => break,
                Err(FetchError::Failed(reason)) => return Err(Error::Fetch { file, reason }),
            };
            if bytes.len() as u64 > self.limits.root_max_length {
                return Err(Error::TooLarge {
                    what: file,
                    limit: self.limits.root_max_length,
                });
            }
            let env = Envelope::parse(&bytes, "root")?;
            if env.type_name() != Some("root") {
                return Err(Error::malformed("root", "_type is not 'root'"));
            }
            // 5.3.5: a threshold of the trusted root's root keys...
            env.verify("root", &self.root.keys, self.root.role("root")?)?;
            let new = Root::from_envelope(&env)?;
            // ...and of the new root's own.
            env.verify("root", &new.keys, new.role("root")?)?;
            if new.version != next {
                return Err(Error::BadVersion {
                    role: "root".into(),
                    expected: next.to_string(),
                    found: new.version,
                });
            }
            store(&mut self.cache, "root.json", &bytes)?;
            self.root = new;
        }
        self.expired("root", self.root.expires)
    }

    fn update_timestamp(&mut self) -> Result<(), Error> {
        let trusted = self.cache.load("timestamp.json").and_then(|b| {
            let env = Envelope::parse(&b, "timestamp").ok()?;
            env.verify(
                "timestamp",
                &self.root.keys,
                self.root.role("timestamp").ok()?,
            )
            .ok()?;
            Timestamp::from_envelope(&env).ok()
        });
        let bytes = self.fetch("timestamp.json", self.limits.timestamp_max_length)?;
        let env = Envelope::parse(&bytes, "timestamp")?;
        env.verify("timestamp", &self.root.keys, self.root.role("timestamp")?)?;
        let new = Timestamp::from_envelope(&env)?;
        if let Some(old) = trusted {
            if new.version < old.version {
                return Err(Error::BadVersion {
                    role: "timestamp".into(),
                    expected: format!(">= {}", old.version),
                    found: new.version,
                });
            }
            if new.version == old.version {
                self.expired("timestamp", old.expires)?;
                self.timestamp = Some(old);
                return Ok(());
            }
            if new.snapshot.version < old.snapshot.version {
                return Err(Error::BadVersion {
                    role: "snapshot".into(),
                    expected: format!(">= {}", old.snapshot.version),
                    found: new.snapshot.version,
                });
            }
        }
        self.expired("timestamp", new.expires)?;
        store(&mut self.cache, "timestamp.json", &bytes)?;
        self.timestamp = Some(new);
        Ok(())
    }

    fn update_snapshot(&mut self) -> Result<(), Error> {
        let want = self
            .timestamp
            .as_ref()
            .map(|t| t.snapshot.clone())
            .ok_or_else(|| Error::InvalidRequest("no trusted timestamp".into()))?;
        let snapshot_keys = self.root.role("snapshot")?.clone();
        let cached = self.cache.load("snapshot.json").and_then(|b| {
            let env = Envelope::parse(&b, "snapshot").ok()?;
            env.verify("snapshot", &self.root.keys, &snapshot_keys)
                .ok()?;
            Some((Snapshot::from_envelope(&env).ok()?, b))
        });
        if let Some((old, bytes)) = &cached
            && old.version == want.version
            && check_meta_bytes("snapshot", bytes, &want).is_ok()
        {
            self.expired("snapshot", old.expires)?;
            self.snapshot = Some(old.clone());
            return Ok(());
        }
        let file = if self.root.consistent_snapshot {
            format!("{}.snapshot.json", want.version)
        } else {
            "snapshot.json".to_owned()
        };
        let bytes = self.fetch(
            &file,
            want.length.unwrap_or(self.limits.snapshot_max_length),
        )?;
        check_meta_bytes("snapshot", &bytes, &want)?;
        let env = Envelope::parse(&bytes, "snapshot")?;
        env.verify("snapshot", &self.root.keys, &snapshot_keys)?;
        let new = Snapshot::from_envelope(&env)?;
        if new.version != want.version {
            return Err(Error::BadVersion {
                role: "snapshot".into(),
                expected: want.version.to_string(),
                found: new.version,
            });
        }
        if let Some((old, _)) = &cached {
            for (name, m) in &old.meta {
                let Some(n) = new.meta.get(name) else {
                    return Err(Error::RoleRemoved { role: name.clone() });
                };
                if n.version < m.version {
                    return Err(Error::BadVersion {
                        role: name.trim_end_matches(".json").to_owned(),
                        expected: format!(">= {}", m.version),
                        found: n.version,
                    });
                }
            }
        }
        self.expired("snapshot", new.expires)?;
        store(&mut self.cache, "snapshot.json", &bytes)?;
        self.snapshot = Some(new);
        Ok(())
    }

    /// Loads and verifies a targets role, with the keys `delegator` gives it (the root for
    /// `targets`).
    fn load_role(&mut self, role: &str, delegator: Option<&str>) -> Result<(), Error> {
        if let Some(l) = self.roles.get(role)
            && l.verified_by.as_deref() == delegator
        {
            return Ok(());
        }
        let (keys, authorized) = self.authorizing_keys(role, delegator)?;
        if let Some(l) = self.roles.get_mut(role) {
            // Already loaded through another delegator: it must satisfy this one too.
            l.envelope.verify(role, &keys, &authorized)?;
            l.verified_by = delegator.map(str::to_owned);
            return Ok(());
        }
        let meta_name = format!("{role}.json");
        let meta = self
            .snapshot
            .as_ref()
            .and_then(|s| s.meta.get(&meta_name))
            .cloned()
            .ok_or_else(|| Error::malformed("snapshot", format!("does not list {meta_name}")))?;
        let cache_name = format!("{}.json", quote_role(role));
        let check = |bytes: &[u8], this: &Self| -> Result<(Targets, Envelope), Error> {
            check_meta_bytes(role, bytes, &meta)?;
            let env = Envelope::parse(bytes, role)?;
            if env.type_name() != Some("targets") {
                return Err(Error::malformed(role, "_type is not 'targets'"));
            }
            env.verify(role, &keys, &authorized)?;
            let t = Targets::from_envelope(&env, role)?;
            if t.version != meta.version {
                return Err(Error::BadVersion {
                    role: role.to_owned(),
                    expected: meta.version.to_string(),
                    found: t.version,
                });
            }
            this.expired(role, t.expires)?;
            Ok((t, env))
        };
        let local = self
            .cache
            .load(&cache_name)
            .and_then(|b| check(&b, self).ok());
        let (targets, envelope) = match local {
            Some(x) => x,
            None => {
                let file = if self.root.consistent_snapshot {
                    format!("{}.{}.json", meta.version, quote_role(role))
                } else {
                    cache_name.clone()
                };
                let bytes =
                    self.fetch(&file, meta.length.unwrap_or(self.limits.targets_max_length))?;
                let x = check(&bytes, self)?;
                store(&mut self.cache, &cache_name, &bytes)?;
                x
            }
        };
        self.roles.insert(
            role.to_owned(),
            LoadedRole {
                targets,
                envelope,
                verified_by: delegator.map(str::to_owned),
            },
        );
        Ok(())
    }

    fn authorizing_keys(
        &self,
        role: &str,
        delegator: Option<&str>,
    ) -> Result<(BTreeMap<String, TufKey>, RoleKeys), Error> {
        let Some(parent) = delegator else {
            return Ok((self.root.keys.clone(), self.root.role("targets")?.clone()));
        };
        let not_delegated = || Error::malformed(parent, format!("does not delegate to '{role}'"));
        let d = self
            .roles
            .get(parent)
            .and_then(|p| p.targets.delegations.as_ref())
            .ok_or_else(not_delegated)?;
        let authorized = match &d.roles {
            DelegatedRoles::Roles(list) => {
                list.iter().find(|r| r.name == role).map(|r| r.keys.clone())
            }
            DelegatedRoles::Succinct(s) => s.is_bin(role).then(|| s.keys.clone()),
        }
        .ok_or_else(not_delegated)?;
        Ok((d.keys.clone(), authorized))
    }

    /// Finds the trusted description of `target_path` (5.7), refreshing first if needed.
    pub fn target_info(&mut self, target_path: &str) -> Result<TargetInfo, Error> {
        if !self.refreshed {
            self.refresh()?;
        }
        let mut stack: Vec<(String, Option<String>)> = vec![("targets".to_owned(), None)];
        let mut visited: BTreeSet<(String, Option<String>)> = BTreeSet::new();
        let mut budget = self.limits.max_delegations;
        while budget > 0 {
            let Some((role, parent)) = stack.pop() else {
                break;
            };
            if visited.contains(&(role.clone(), parent.clone())) {
                continue;
            }
            self.load_role(&role, parent.as_deref())?;
            let loaded = &self.roles[&role];
            if let Some(file) = loaded.targets.targets.get(target_path) {
                return Ok(TargetInfo {
                    path: target_path.to_owned(),
                    file: file.clone(),
                });
            }
            visited.insert((role.clone(), parent));
            budget -= 1;
            let Some(d) = &loaded.targets.delegations else {
                continue;
            };
            let mut children = Vec::new();
            match &d.roles {
                DelegatedRoles::Roles(list) => {
                    for r in list.iter().filter(|r| r.matches(target_path)) {
                        children.push(r.name.clone());
                        if r.terminating {
                            stack.clear();
                            break;
                        }
                    }
                }
                DelegatedRoles::Succinct(s) => {
                    // Every target has exactly one bin, and the search ends there.
                    stack.clear();
                    children.push(s.bin_name(s.bin_of(target_path)));
                }
            }
            stack.extend(children.into_iter().rev().map(|c| (c, Some(role.clone()))));
        }
        Err(Error::TargetNotFound {
            path: target_path.to_owned(),
        })
    }
}

fn store<C: MetadataCache>(cache: &mut C, file: &str, bytes: &[u8]) -> Result<(), Error> {
    cache.store(file, bytes).map_err(|reason| Error::Cache {
        file: file.to_owned(),
        reason,
    })
}
