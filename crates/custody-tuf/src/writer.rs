//! The repository writer: root, top-level targets delegating to TAP 15 succinct hashed bins,
//! snapshot and timestamp, published as consistent snapshots.
//!
//! Layout (file names under the metadata directory):
//! - `N.root.json` for every root version, and `root.json` (the latest);
//! - `V.targets.json`, `V.<prefix>-<hex>.json` for every bin (all exist from the start);
//! - `V.snapshot.json`, listing `targets.json` and every bin with its version and length;
//! - `timestamp.json`, naming the snapshot's version, length and SHA-256.
//!
//! The snapshot signs lengths but not hashes of the targets files: a versioned file name is
//! already immutable, and 16,384 SHA-256 values would push the snapshot past python-tuf's
//! 2,000,000-byte cap at about 2.3 MB; with lengths only it is about 0.75 MB.
//!
//! Only what changes is loaded and rewritten: [`Repository::open`] reads the timestamp, the
//! snapshot, the root and the top-level targets; [`Repository::add_target`] reads one bin; and
//! [`Repository::commit`] signs the changed bins, a new snapshot and a new timestamp.

use std::collections::{BTreeMap, BTreeSet};

use custody_crypto::{PublicKey, Signer};
use time::OffsetDateTime;

use crate::error::Error;
use crate::keys::TufKey;
use crate::metadata::{
    DelegatedRoles, Delegations, Envelope, MetaFile, RoleKeys, Root, Snapshot, SuccinctRoles,
    TargetFile, Targets, Timestamp, sign_canonical, sign_document, snapshot_canonical,
};

/// How long each role's metadata stays valid after it is signed, in seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Expiries {
    /// Root (default 365 days).
    pub root: i64,
    /// Top-level targets (default 365 days).
    pub targets: i64,
    /// Each bin (default 90 days).
    pub bins: i64,
    /// Snapshot (default 7 days).
    pub snapshot: i64,
    /// Timestamp (default 1 day).
    pub timestamp: i64,
}

impl Default for Expiries {
    fn default() -> Self {
        const DAY: i64 = 86_400;
        Self {
            root: 365 * DAY,
            targets: 365 * DAY,
            bins: 90 * DAY,
            snapshot: 7 * DAY,
            timestamp: DAY,
        }
    }
}

/// The keys and shape of a new repository.
#[derive(Debug, Clone)]
pub struct RepoConfig {
    /// Root keys.
    pub root_keys: Vec<PublicKey>,
    /// How many root keys must sign a root.
    pub root_threshold: usize,
    /// The (offline) top-level targets key.
    pub targets_key: PublicKey,
    /// The (online) snapshot key.
    pub snapshot_key: PublicKey,
    /// The (online) timestamp key.
    pub timestamp_key: PublicKey,
    /// The (online) key of every bin.
    pub bins_key: PublicKey,
    /// log2 of the number of bins (1 to 32; 14 gives 16,384 bins).
    pub bit_length: u32,
    /// The bins' name prefix (`bins`).
    pub name_prefix: String,
}

/// Reads the repository's own metadata files (by file name under the metadata directory).
pub trait MetadataSource {
    /// The file's bytes, `None` if it does not exist.
    fn read(&self, file_name: &str) -> Result<Option<Vec<u8>>, String>;
}

/// A metadata file to write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetaOut {
    /// File name under the metadata directory.
    pub name: String,
    /// Its bytes.
    pub bytes: Vec<u8>,
}

/// A repository being edited.
#[derive(Debug)]
pub struct Repository {
    root: Root,
    previous_root: Option<Root>,
    root_dirty: bool,
    targets: Targets,
    targets_dirty: bool,
    succinct: SuccinctRoles,
    snapshot: Snapshot,
    timestamp: Timestamp,
    bins: BTreeMap<u64, Bin>,
    dirty_bins: BTreeSet<u64>,
    fresh: bool,
    expiries: Expiries,
}

fn key_map(keys: &[&PublicKey]) -> BTreeMap<String, TufKey> {
    keys.iter()
        .map(|k| {
            let t = TufKey::from_public_key(k);
            (t.key_id(), t)
        })
        .collect()
}

fn role_keys(keys: &[&PublicKey], threshold: usize) -> RoleKeys {
    let mut keyids: Vec<String> = Vec::new();
    for k in keys {
        let id = TufKey::from_public_key(k).key_id();
        if !keyids.contains(&id) {
            keyids.push(id);
        }
    }
    RoleKeys { keyids, threshold }
}

/// Checks that a target path is safe to publish and to write under a targets directory.
pub fn check_target_path(path: &str) -> Result<(), Error> {
    let bad = |reason: &str| Error::InvalidTargetPath {
        path: path.to_owned(),
        reason: reason.to_owned(),
    };
    if path.is_empty() {
        return Err(bad("empty"));
    }
    if path.starts_with('/') {
        return Err(bad("absolute"));
    }
    if path.chars().any(|c| c.is_control() || c == '\\') {
        return Err(bad("control character or backslash"));
    }
    if path
        .split('/')
        .any(|c| c.is_empty() || c == "." || c == "..")
    {
        return Err(bad("empty, '.' or '..' component"));
    }
    Ok(())
}

fn read_required(source: &dyn MetadataSource, name: &str) -> Result<Vec<u8>, Error> {
    source
        .read(name)
        .map_err(|e| Error::InvalidRequest(format!("cannot read {name}: {e}")))?
        .ok_or_else(|| Error::InvalidRequest(format!("{name} is missing from the repository")))
}

/// Picks the signers whose keys `role` authorizes; fails unless they reach its threshold.
fn signers_for<'a>(
    role: &str,
    keys: &RoleKeys,
    signers: &[&'a dyn Signer],
) -> Result<Vec<&'a dyn Signer>, Error> {
    let mut chosen: Vec<&dyn Signer> = Vec::new();
    let mut ids = BTreeSet::new();
    for s in signers {
        let id = TufKey::from_public_key(s.public_key()).key_id();
        if keys.keyids.contains(&id) && ids.insert(id) {
            chosen.push(*s);
        }
    }
    if chosen.len() < keys.threshold {
        return Err(Error::MissingSigner {
            role: role.to_owned(),
            threshold: keys.threshold,
            keyids: keys.keyids.join(","),
        });
    }
    Ok(chosen)
}

impl Repository {
    /// A new repository, in memory: root 1, targets 1 delegating to `2^bit_length` empty bins,
    /// snapshot 1 and timestamp 1. Nothing is signed until [`Self::commit`].
    pub fn create(config: &RepoConfig, expiries: Expiries) -> Result<Self, Error> {
        if !(1..=32).contains(&config.bit_length) {
            return Err(Error::InvalidRequest(
                "bin bit length must be 1 to 32".into(),
            ));
        }
        if config.bit_length > 20 {
            return Err(Error::InvalidRequest(
                "more than 2^20 bins would make the snapshot too large".into(),
            ));
        }
        if config.root_threshold < 1 || config.root_threshold > config.root_keys.len() {
            return Err(Error::InvalidRequest(format!(
                "root threshold {} with {} root keys",
                config.root_threshold,
                config.root_keys.len()
            )));
        }
        if config.name_prefix.is_empty() || config.name_prefix.contains(['/', '%']) {
            return Err(Error::InvalidRequest("bad bin name prefix".into()));
        }
        let mut all: Vec<&PublicKey> = config.root_keys.iter().collect();
        all.extend([
            &config.targets_key,
            &config.snapshot_key,
            &config.timestamp_key,
        ]);
        let root_refs: Vec<&PublicKey> = config.root_keys.iter().collect();
        let mut roles = BTreeMap::new();
        roles.insert(
            "root".to_owned(),
            role_keys(&root_refs, config.root_threshold),
        );
        roles.insert("targets".to_owned(), role_keys(&[&config.targets_key], 1));
        roles.insert("snapshot".to_owned(), role_keys(&[&config.snapshot_key], 1));
        roles.insert(
            "timestamp".to_owned(),
            role_keys(&[&config.timestamp_key], 1),
        );
        let root = Root {
            version: 1,
            expires: 0,
            consistent_snapshot: true,
            keys: key_map(&all),
            roles,
        };
        let succinct = SuccinctRoles {
            keys: role_keys(&[&config.bins_key], 1),
            bit_length: config.bit_length,
            name_prefix: config.name_prefix.clone(),
        };
        let targets = Targets {
            version: 1,
            expires: 0,
            targets: BTreeMap::new(),
            delegations: Some(Delegations {
                keys: key_map(&[&config.bins_key]),
                roles: DelegatedRoles::Succinct(succinct.clone()),
            }),
        };
        let bins: BTreeMap<u64, Bin> = (0..succinct.bin_count())
            .map(|n| {
                (
                    n,
                    Bin {
                        version: 1,
                        expires: 0,
                        entries: BTreeMap::new(),
                    },
                )
            })
            .collect();
        let dirty_bins = bins.keys().copied().collect();
        Ok(Self {
            root,
            previous_root: None,
            root_dirty: true,
            targets,
            targets_dirty: true,
            succinct,
            snapshot: Snapshot {
                version: 0,
                expires: 0,
                meta: BTreeMap::new(),
            },
            timestamp: Timestamp {
                version: 0,
                expires: 0,
                snapshot: MetaFile {
                    version: 0,
                    length: None,
                    hashes: None,
                },
            },
            bins,
            dirty_bins,
            fresh: true,
            expiries,
        })
    }

    /// Opens a repository written by [`Self::commit`]: reads `timestamp.json`, the snapshot it
    /// names, `root.json` and the top-level targets. Bins are read when needed.
    pub fn open(source: &dyn MetadataSource, expiries: Expiries) -> Result<Self, Error> {
        let ts_env = Envelope::parse(&read_required(source, "timestamp.json")?, "timestamp")?;
        let timestamp = Timestamp::from_envelope(&ts_env)?;
        let snap_name = format!("{}.snapshot.json", timestamp.snapshot.version);
        let snapshot = own_snapshot(&read_required(source, &snap_name)?)?;
        let root = Root::from_envelope(&Envelope::parse(
            &read_required(source, "root.json")?,
            "root",
        )?)?;
        let tmeta = snapshot
            .meta
            .get("targets.json")
            .ok_or_else(|| Error::malformed("snapshot", "no targets.json"))?;
        let tname = format!("{}.targets.json", tmeta.version);
        let targets = Targets::from_envelope(
            &Envelope::parse(&read_required(source, &tname)?, "targets")?,
            "targets",
        )?;
        let succinct = match targets.delegations.as_ref().map(|d| &d.roles) {
            Some(DelegatedRoles::Succinct(s)) => s.clone(),
            _ => {
                return Err(Error::InvalidRequest(
                    "targets does not delegate to succinct hashed bins".into(),
                ));
            }
        };
        Ok(Self {
            root,
            previous_root: None,
            root_dirty: false,
            targets,
            targets_dirty: false,
            succinct,
            snapshot,
            timestamp,
            bins: BTreeMap::new(),
            dirty_bins: BTreeSet::new(),
            fresh: false,
            expiries,
        })
    }

    /// The current root.
    pub fn root(&self) -> &Root {
        &self.root
    }

    /// The succinct bins delegation.
    pub fn bins(&self) -> &SuccinctRoles {
        &self.succinct
    }

    /// The current snapshot (version 0 before the first commit).
    pub fn snapshot(&self) -> &Snapshot {
        &self.snapshot
    }

    /// Bin `n` as the current snapshot lists it, read through `source`: its name and targets.
    fn read_bin(&self, source: &dyn MetadataSource, n: u64) -> Result<(String, Targets), Error> {
        let name = self.succinct.bin_name(n);
        let meta = self
            .snapshot
            .meta
            .get(&format!("{name}.json"))
            .ok_or_else(|| Error::malformed("snapshot", format!("does not list {name}")))?;
        let file = format!("{}.{name}.json", meta.version);
        let t = Targets::from_envelope(
            &Envelope::parse(&read_required(source, &file)?, &name)?,
            &name,
        )?;
        Ok((name, t))
    }

    fn bin_mut(&mut self, source: &dyn MetadataSource, n: u64) -> Result<&mut Bin, Error> {
        if !self.bins.contains_key(&n) {
            let (name, t) = self.read_bin(source, n)?;
            self.bins.insert(n, Bin::from_targets(&name, t)?);
        }
        self.bins
            .get_mut(&n)
            .ok_or_else(|| Error::InvalidRequest("bin vanished".into()))
    }

    /// Every bin's expiry (Unix seconds), bin by bin: each bin the snapshot lists is read
    /// through `source` (its signed contents are not checked again, and it is not kept).
    pub fn bin_expiries(&self, source: &dyn MetadataSource) -> Result<Vec<(u64, i64)>, Error> {
        (0..self.succinct.bin_count())
            .map(|n| {
                if let Some(bin) = self.bins.get(&n) {
                    return Ok((n, bin.expires));
                }
                Ok((n, self.read_bin(source, n)?.1.expires))
            })
            .collect()
    }

    /// Marks bin `n` for re-signing by the next [`Self::commit`] (a new version with a fresh
    /// expiry and the same targets); the bin is read through `source` if needed.
    pub fn touch_bin(&mut self, source: &dyn MetadataSource, n: u64) -> Result<(), Error> {
        if n >= self.succinct.bin_count() {
            return Err(Error::InvalidRequest(format!("there is no bin {n}")));
        }
        self.bin_mut(source, n)?;
        self.dirty_bins.insert(n);
        Ok(())
    }

    /// Adds (or replaces) a target in its bin; the bin is read through `source` if needed.
    pub fn add_target(
        &mut self,
        source: &dyn MetadataSource,
        path: &str,
        file: TargetFile,
    ) -> Result<(), Error> {
        check_target_path(path)?;
        if !file.hashes.contains_key("sha256") {
            return Err(Error::InvalidRequest("a target needs a sha256 hash".into()));
        }
        let entry = Bin::entry(path, &file)?;
        let n = self.succinct.bin_of(path);
        self.bin_mut(source, n)?
            .entries
            .insert(path.to_owned(), entry);
        self.dirty_bins.insert(n);
        Ok(())
    }

    /// The target's description, if a bin lists it.
    pub fn target(
        &mut self,
        source: &dyn MetadataSource,
        path: &str,
    ) -> Result<Option<TargetFile>, Error> {
        check_target_path(path)?;
        let n = self.succinct.bin_of(path);
        self.bin_mut(source, n)?
            .entries
            .get(path)
            .map(|e| {
                let v: serde_json::Value = serde_json::from_slice(e)
                    .map_err(|e| Error::InvalidRequest(format!("bin entry: {e}")))?;
                TargetFile::parse(&v, path).map_err(Error::InvalidRequest)
            })
            .transpose()
    }

    /// Starts a new root version with `root_keys` and `threshold` as its root role; the old
    /// root keys must sign it too (checked by [`Self::commit`]).
    pub fn rotate_root(&mut self, root_keys: &[PublicKey], threshold: usize) -> Result<(), Error> {
        if threshold < 1 || threshold > root_keys.len() {
            return Err(Error::InvalidRequest(format!(
                "root threshold {threshold} with {} root keys",
                root_keys.len()
            )));
        }
        if self.previous_root.is_none() && !self.fresh {
            self.previous_root = Some(self.root.clone());
        }
        let refs: Vec<&PublicKey> = root_keys.iter().collect();
        self.root
            .roles
            .insert("root".into(), role_keys(&refs, threshold));
        self.root.keys.extend(key_map(&refs));
        let used: BTreeSet<String> = self
            .root
            .roles
            .values()
            .flat_map(|r| r.keyids.iter().cloned())
            .collect();
        self.root.keys.retain(|id, _| used.contains(id));
        if !self.root_dirty {
            self.root.version += 1;
        }
        self.root_dirty = true;
        Ok(())
    }

    /// Marks the top-level targets for re-signing (a new version with a fresh expiry).
    pub fn touch_targets(&mut self) {
        self.targets_dirty = true;
    }

    /// Signs everything that changed, a new snapshot and a new timestamp, and returns the files
    /// to write (see [`Self::commit_to`]).
    pub fn commit(
        &mut self,
        signers: &[&dyn Signer],
        now: OffsetDateTime,
    ) -> Result<Vec<MetaOut>, Error> {
        let mut out = Vec::with_capacity(self.dirty_bins.len() + 5);
        self.commit_to(signers, now, &mut |f| {
            out.push(f);
            Ok(())
        })?;
        Ok(out)
    }

    /// Signs everything that changed, a new snapshot and a new timestamp, handing each file to
    /// `sink` as soon as it is signed, the timestamp last (so memory does not hold every bin of
    /// a new repository twice). Each role needs a threshold of its keys among `signers`; a new
    /// root version also needs a threshold of the previous root's root keys. Signers are chosen
    /// before anything is signed; after any other error the repository must be discarded.
    /// Signed bins are dropped from memory: later additions read them back through the source.
    pub fn commit_to(
        &mut self,
        signers: &[&dyn Signer],
        now: OffsetDateTime,
        sink: &mut dyn FnMut(MetaOut) -> Result<(), String>,
    ) -> Result<(), Error> {
        let now = now.unix_timestamp();
        let mut emit = |f: MetaOut| {
            let file = f.name.clone();
            sink(f).map_err(|reason| Error::Cache { file, reason })
        };
        // Choose every signer first, so that a missing key changes nothing.
        let root_signers = if self.root_dirty {
            let mut s = signers_for("root", self.root.role("root")?, signers)?;
            if let Some(prev) = &self.previous_root {
                for extra in signers_for("root (previous keys)", prev.role("root")?, signers)? {
                    s.push(extra);
                }
            }
            s
        } else {
            Vec::new()
        };
        let targets_signers = if self.targets_dirty {
            signers_for("targets", self.root.role("targets")?, signers)?
        } else {
            Vec::new()
        };
        let bin_signers = if self.dirty_bins.is_empty() {
            Vec::new()
        } else {
            signers_for("bins", &self.succinct.keys, signers)?
        };
        let snapshot_signers = signers_for("snapshot", self.root.role("snapshot")?, signers)?;
        let timestamp_signers = signers_for("timestamp", self.root.role("timestamp")?, signers)?;

        if self.root_dirty {
            self.root.expires = now + self.expiries.root;
            let bytes = sign_document("root", &self.root.to_value(), &dedup(&root_signers), &[])?;
            emit(MetaOut {
                name: format!("{}.root.json", self.root.version),
                bytes: bytes.clone(),
            })?;
            emit(MetaOut {
                name: "root.json".into(),
                bytes,
            })?;
        }
        if self.targets_dirty {
            if !self.fresh {
                self.targets.version += 1;
            }
            self.targets.expires = now + self.expiries.targets;
            let bytes = sign_document("targets", &self.targets.to_value(), &targets_signers, &[])?;
            self.snapshot.meta.insert(
                "targets.json".into(),
                MetaFile {
                    version: self.targets.version,
                    length: Some(bytes.len() as u64),
                    hashes: None,
                },
            );
            emit(MetaOut {
                name: format!("{}.targets.json", self.targets.version),
                bytes,
            })?;
        }
        for n in std::mem::take(&mut self.dirty_bins) {
            let name = self.succinct.bin_name(n);
            let mut bin = self
                .bins
                .remove(&n)
                .ok_or_else(|| Error::InvalidRequest("dirty bin not loaded".into()))?;
            if !self.fresh {
                bin.version += 1;
            }
            bin.expires = now + self.expiries.bins;
            let bytes = sign_canonical(&name, &bin.canonical(), &bin_signers)?;
            self.snapshot.meta.insert(
                format!("{name}.json"),
                MetaFile {
                    version: bin.version,
                    length: Some(bytes.len() as u64),
                    hashes: None,
                },
            );
            emit(MetaOut {
                name: format!("{}.{name}.json", bin.version),
                bytes,
            })?;
        }
        self.snapshot.version += 1;
        self.snapshot.expires = now + self.expiries.snapshot;
        let canonical = snapshot_canonical(&self.snapshot);
        let snap = if canonical.iter().any(|&b| b < 0x20) {
            sign_document(
                "snapshot",
                &self.snapshot.to_value(),
                &snapshot_signers,
                &[],
            )?
        } else {
            sign_canonical("snapshot", &canonical, &snapshot_signers)?
        };
        self.timestamp.version += 1;
        self.timestamp.expires = now + self.expiries.timestamp;
        self.timestamp.snapshot = MetaFile {
            version: self.snapshot.version,
            length: Some(snap.len() as u64),
            hashes: Some(BTreeMap::from([(
                "sha256".to_owned(),
                custody_crypto::sha256(&snap).hex(),
            )])),
        };
        emit(MetaOut {
            name: format!("{}.snapshot.json", self.snapshot.version),
            bytes: snap,
        })?;
        let ts = sign_document(
            "timestamp",
            &self.timestamp.to_value(),
            &timestamp_signers,
            &[],
        )?;
        emit(MetaOut {
            name: "timestamp.json".into(),
            bytes: ts,
        })?;
        self.root_dirty = false;
        self.targets_dirty = false;
        self.previous_root = None;
        self.fresh = false;
        Ok(())
    }
}

fn dedup<'a>(signers: &[&'a dyn Signer]) -> Vec<&'a dyn Signer> {
    let mut seen = BTreeSet::new();
    signers
        .iter()
        .filter(|s| seen.insert(s.public_key().key_id()))
        .copied()
        .collect()
}

/// Reads the repository's own snapshot straight into typed values (it is the largest file the
/// writer reads, on every addition). Clients read snapshots with the strict reader instead.
fn own_snapshot(bytes: &[u8]) -> Result<Snapshot, Error> {
    #[derive(serde::Deserialize)]
    struct File {
        signed: Signed,
    }
    #[derive(serde::Deserialize)]
    struct Signed {
        #[serde(rename = "_type")]
        kind: String,
        version: u64,
        expires: String,
        meta: BTreeMap<String, Meta>,
    }
    #[derive(serde::Deserialize)]
    struct Meta {
        version: u64,
        length: Option<u64>,
        hashes: Option<BTreeMap<String, String>>,
    }
    let f: File =
        serde_json::from_slice(bytes).map_err(|e| Error::malformed("snapshot", e.to_string()))?;
    if f.signed.kind != "snapshot" {
        return Err(Error::malformed("snapshot", "_type is not 'snapshot'"));
    }
    let expires = crate::expiry::parse(&f.signed.expires)
        .ok_or_else(|| Error::malformed("snapshot", "bad 'expires'"))?;
    Ok(Snapshot {
        version: f.signed.version,
        expires,
        meta: f
            .signed
            .meta
            .into_iter()
            .map(|(k, m)| {
                (
                    k,
                    MetaFile {
                        version: m.version,
                        length: m.length,
                        hashes: m.hashes,
                    },
                )
            })
            .collect(),
    })
}

/// A bin as the writer holds it: each target's canonical JSON, ready to be concatenated, so
/// that a million targets cost a few hundred bytes each and a bin is encoded without building
/// a JSON tree.
#[derive(Debug)]
struct Bin {
    version: u64,
    expires: i64,
    entries: BTreeMap<String, Box<[u8]>>,
}

impl Bin {
    /// The canonical JSON of a target's description; refused if it holds control characters
    /// (canonical JSON writes them raw, and the bin's file would not be valid JSON).
    fn entry(path: &str, file: &TargetFile) -> Result<Box<[u8]>, Error> {
        let bytes = crate::cjson::encode(&file.to_value())
            .ok_or_else(|| Error::InvalidRequest(format!("{path}: non-integer number")))?;
        if bytes.iter().any(|&b| b < 0x20) {
            return Err(Error::InvalidRequest(format!(
                "{path}: control characters in target metadata"
            )));
        }
        Ok(bytes.into_boxed_slice())
    }

    fn from_targets(name: &str, t: Targets) -> Result<Self, Error> {
        if t.delegations.is_some() {
            return Err(Error::InvalidRequest(format!("bin {name} has delegations")));
        }
        let mut entries = BTreeMap::new();
        for (path, file) in &t.targets {
            entries.insert(path.clone(), Self::entry(path, file)?);
        }
        Ok(Self {
            version: t.version,
            expires: t.expires,
            entries,
        })
    }

    /// `{"_type":"targets","expires":...,"spec_version":...,"targets":{...},"version":N}`:
    /// keys in byte order, and the targets map in byte order (a `BTreeMap<String, _>`).
    fn canonical(&self) -> Vec<u8> {
        let size: usize = self
            .entries
            .iter()
            .map(|(k, v)| k.len() + v.len() + 4)
            .sum();
        let mut out = Vec::with_capacity(size + 128);
        out.extend_from_slice(b"{\"_type\":\"targets\",\"expires\":");
        crate::cjson::write_string(&crate::expiry::format(self.expires), &mut out);
        out.extend_from_slice(b",\"spec_version\":");
        crate::cjson::write_string(crate::metadata::SPEC_VERSION, &mut out);
        out.extend_from_slice(b",\"targets\":{");
        for (i, (path, entry)) in self.entries.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            crate::cjson::write_string(path, &mut out);
            out.push(b':');
            out.extend_from_slice(entry);
        }
        out.extend_from_slice(format!("}},\"version\":{}}}", self.version).as_bytes());
        out
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use serde_json::json;

    use super::Bin;
    use crate::metadata::{TargetFile, Targets};

    #[test]
    fn direct_bin_encoding_equals_the_generic_one() {
        let file = |n: u64, custom| TargetFile {
            length: n,
            hashes: BTreeMap::from([
                ("sha256".to_owned(), format!("{n:064x}")),
                ("sha512".to_owned(), "ab".to_owned()),
            ]),
            custom,
        };
        let t = Targets {
            version: 3,
            expires: 1_900_000_000,
            targets: BTreeMap::from([
                ("b/x.tgz".to_owned(), file(1, None)),
                (
                    "a\"q\\z".to_owned(),
                    file(2, Some(json!({"oci": {"digest": "sha256:00"}}))),
                ),
                ("\u{e9}t\u{e9}".to_owned(), file(3, None)),
            ]),
            delegations: None,
        };
        let bin = Bin::from_targets("bins-0", t.clone()).unwrap();
        assert_eq!(
            bin.canonical(),
            crate::cjson::encode(&t.to_value()).unwrap()
        );
    }
}
