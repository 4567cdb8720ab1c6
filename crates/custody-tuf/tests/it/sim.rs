//! A repository simulator: hand-built metadata signed with test keys, served from memory.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;

/// Test keys are shared between roles and tests.
pub(crate) type Key = Rc<SigningKey>;

use custody_crypto::{KeyAlgorithm, PublicKey, Signer, SigningKey};
use custody_tuf::TufKey;
use custody_tuf::client::{Client, ClientLimits, FetchError, Fetcher, MemoryCache};
use custody_tuf::metadata::{
    DelegatedRole, DelegatedRoles, Delegations, MetaFile, PathSpec, RoleKeys, Root, Snapshot,
    TargetFile, Targets, Timestamp, sign_document,
};
use serde_json::Value;
use time::OffsetDateTime;

pub(crate) const DAY: i64 = 86_400;

/// The time the simulated repository is signed at.
pub(crate) fn t0() -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(1_900_000_000).unwrap()
}

pub(crate) fn key() -> Key {
    Rc::new(SigningKey::generate(KeyAlgorithm::Ed25519).unwrap())
}

pub(crate) fn keyid(k: &PublicKey) -> String {
    TufKey::from_public_key(k).key_id()
}

pub(crate) fn role_keys(keys: &[&SigningKey], threshold: usize) -> RoleKeys {
    RoleKeys {
        keyids: keys.iter().map(|k| keyid(k.public_key())).collect(),
        threshold,
    }
}

pub(crate) fn key_map(keys: &[&SigningKey]) -> BTreeMap<String, TufKey> {
    keys.iter()
        .map(|k| {
            (
                keyid(k.public_key()),
                TufKey::from_public_key(k.public_key()),
            )
        })
        .collect()
}

pub(crate) fn target_file(content: &[u8]) -> TargetFile {
    TargetFile {
        length: content.len() as u64,
        hashes: BTreeMap::from([("sha256".to_owned(), custody_crypto::sha256(content).hex())]),
        custom: None,
    }
}

pub(crate) type Files = Rc<RefCell<BTreeMap<String, Vec<u8>>>>;

/// Serves metadata from a shared map; missing files are "not found".
pub(crate) struct MapFetcher(pub(crate) Files, pub(crate) Vec<String>);

impl Fetcher for MapFetcher {
    fn fetch_metadata(&mut self, file_name: &str, max_length: u64) -> Result<Vec<u8>, FetchError> {
        self.1.push(file_name.to_owned());
        let files = self.0.borrow();
        let bytes = files.get(file_name).ok_or(FetchError::NotFound)?;
        let cap = usize::try_from(max_length + 1).unwrap_or(usize::MAX);
        Ok(bytes[..bytes.len().min(cap)].to_vec())
    }
}

/// A delegated role of the simulator.
pub(crate) struct SimRole {
    pub(crate) targets: Targets,
    pub(crate) signers: Vec<Key>,
}

pub(crate) struct Sim {
    pub(crate) root: Root,
    pub(crate) root_signers: Vec<Key>,
    pub(crate) targets_key: Key,
    pub(crate) snapshot_key: Key,
    pub(crate) timestamp_key: Key,
    pub(crate) targets: Targets,
    pub(crate) roles: BTreeMap<String, SimRole>,
    pub(crate) snapshot: Snapshot,
    pub(crate) timestamp: Timestamp,
    pub(crate) files: Files,
    pub(crate) now: i64,
}

impl Sim {
    pub(crate) fn new() -> Self {
        let root_key = key();
        let targets_key = key();
        let snapshot_key = key();
        let timestamp_key = key();
        let now = t0().unix_timestamp();
        let root = Root {
            version: 1,
            expires: now + 365 * DAY,
            consistent_snapshot: true,
            keys: key_map(&[&*root_key, &*targets_key, &*snapshot_key, &*timestamp_key]),
            roles: BTreeMap::from([
                ("root".to_owned(), role_keys(&[&*root_key], 1)),
                ("targets".to_owned(), role_keys(&[&*targets_key], 1)),
                ("snapshot".to_owned(), role_keys(&[&*snapshot_key], 1)),
                ("timestamp".to_owned(), role_keys(&[&*timestamp_key], 1)),
            ]),
        };
        let mut sim = Self {
            root,
            root_signers: vec![root_key],
            targets_key,
            snapshot_key,
            timestamp_key,
            targets: Targets {
                version: 0,
                expires: now + 365 * DAY,
                targets: BTreeMap::new(),
                delegations: None,
            },
            roles: BTreeMap::new(),
            snapshot: Snapshot {
                version: 0,
                expires: now + 7 * DAY,
                meta: BTreeMap::new(),
            },
            timestamp: Timestamp {
                version: 0,
                expires: now + DAY,
                snapshot: MetaFile {
                    version: 0,
                    length: None,
                    hashes: None,
                },
            },
            files: Rc::new(RefCell::new(BTreeMap::new())),
            now,
        };
        sim.publish_root();
        sim.publish();
        sim
    }

    pub(crate) fn root_bytes(&self, version: u64) -> Vec<u8> {
        self.files.borrow()[&format!("{version}.root.json")].clone()
    }

    pub(crate) fn put(&self, name: &str, bytes: Vec<u8>) {
        self.files.borrow_mut().insert(name.to_owned(), bytes);
    }

    pub(crate) fn get(&self, name: &str) -> Vec<u8> {
        self.files.borrow()[name].clone()
    }

    /// Signs the current root with `signers` and publishes it as `N.root.json`.
    pub(crate) fn publish_root_with(&self, signers: &[&SigningKey]) {
        let s: Vec<&dyn Signer> = signers.iter().map(|k| *k as &dyn Signer).collect();
        let bytes = sign_document("root", &self.root.to_value(), &s, &[]).unwrap();
        self.put(&format!("{}.root.json", self.root.version), bytes);
    }

    pub(crate) fn publish_root(&self) {
        let signers: Vec<&SigningKey> = self.root_signers.iter().map(|k| &**k).collect();
        self.publish_root_with(&signers);
    }

    /// Bumps and re-signs targets, every delegated role, the snapshot and the timestamp.
    pub(crate) fn publish(&mut self) {
        self.targets.version += 1;
        let bytes = sign(&self.targets.to_value(), &[&*self.targets_key]);
        self.snapshot.meta.insert(
            "targets.json".into(),
            MetaFile {
                version: self.targets.version,
                length: Some(bytes.len() as u64),
                hashes: None,
            },
        );
        self.put(&format!("{}.targets.json", self.targets.version), bytes);
        for (name, role) in &mut self.roles {
            role.targets.version += 1;
            let signers: Vec<&SigningKey> = role.signers.iter().map(|k| &**k).collect();
            let bytes = sign(&role.targets.to_value(), &signers);
            self.snapshot.meta.insert(
                format!("{name}.json"),
                MetaFile {
                    version: role.targets.version,
                    length: Some(bytes.len() as u64),
                    hashes: None,
                },
            );
            self.files
                .borrow_mut()
                .insert(format!("{}.{name}.json", role.targets.version), bytes);
        }
        self.publish_snapshot();
    }

    /// Bumps and re-signs the snapshot and the timestamp.
    pub(crate) fn publish_snapshot(&mut self) {
        self.snapshot.version += 1;
        let bytes = sign(&self.snapshot.to_value(), &[&*self.snapshot_key]);
        self.timestamp.snapshot = MetaFile {
            version: self.snapshot.version,
            length: Some(bytes.len() as u64),
            hashes: Some(BTreeMap::from([(
                "sha256".to_owned(),
                custody_crypto::sha256(&bytes).hex(),
            )])),
        };
        self.put(&format!("{}.snapshot.json", self.snapshot.version), bytes);
        self.publish_timestamp();
    }

    pub(crate) fn publish_timestamp(&mut self) {
        self.timestamp.version += 1;
        let bytes = sign(&self.timestamp.to_value(), &[&*self.timestamp_key]);
        self.put("timestamp.json", bytes);
    }

    /// Adds a delegation from `parent` ("targets" or a simulated role) to a new role `name`.
    pub(crate) fn delegate(
        &mut self,
        parent: &str,
        name: &str,
        paths: &[&str],
        terminating: bool,
        signer: Key,
    ) {
        let role = DelegatedRole {
            name: name.to_owned(),
            keys: role_keys(&[&*signer], 1),
            terminating,
            paths: PathSpec::Paths(paths.iter().map(|s| (*s).to_owned()).collect()),
        };
        let keys = key_map(&[&*signer]);
        let parent_targets = if parent == "targets" {
            &mut self.targets
        } else {
            &mut self.roles.get_mut(parent).unwrap().targets
        };
        let d = parent_targets.delegations.get_or_insert(Delegations {
            keys: BTreeMap::new(),
            roles: DelegatedRoles::Roles(Vec::new()),
        });
        d.keys.extend(keys);
        if let DelegatedRoles::Roles(list) = &mut d.roles {
            list.push(role);
        }
        self.roles.entry(name.to_owned()).or_insert(SimRole {
            targets: Targets {
                version: 0,
                expires: self.now + 30 * DAY,
                targets: BTreeMap::new(),
                delegations: None,
            },
            signers: vec![signer],
        });
    }

    pub(crate) fn add_target(&mut self, role: &str, path: &str, content: &[u8]) {
        let t = if role == "targets" {
            &mut self.targets
        } else {
            &mut self.roles.get_mut(role).unwrap().targets
        };
        t.targets.insert(path.to_owned(), target_file(content));
    }

    pub(crate) fn client_at(
        &self,
        cache: MemoryCache,
        at: OffsetDateTime,
    ) -> Result<Client<MapFetcher, MemoryCache>, custody_tuf::Error> {
        Client::new(
            &self.root_bytes(1),
            MapFetcher(self.files.clone(), Vec::new()),
            cache,
            at,
            ClientLimits::default(),
        )
    }

    pub(crate) fn client(&self) -> Client<MapFetcher, MemoryCache> {
        self.client_at(MemoryCache::default(), t0()).unwrap()
    }
}

pub(crate) fn sign(value: &Value, signers: &[&SigningKey]) -> Vec<u8> {
    let s: Vec<&dyn Signer> = signers.iter().map(|k| *k as &dyn Signer).collect();
    sign_document("test", value, &s, &[]).unwrap()
}
