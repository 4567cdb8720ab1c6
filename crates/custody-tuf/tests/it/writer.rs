//! The repository writer, read back by the client.

use std::collections::BTreeMap;

use custody_crypto::{KeyAlgorithm, Signer, SigningKey};
use custody_tuf::client::{Client, ClientLimits, MemoryCache};
use custody_tuf::metadata::{Envelope, Snapshot, SuccinctRoles};
use custody_tuf::writer::{Expiries, MetadataSource, RepoConfig, Repository};
use custody_tuf::{Error, ErrorKind};

use crate::sim::{Files, MapFetcher, role_keys, t0, target_file};

struct Source(Files);

impl MetadataSource for Source {
    fn read(&self, file_name: &str) -> Result<Option<Vec<u8>>, String> {
        Ok(self.0.borrow().get(file_name).cloned())
    }
}

struct Keys {
    root: SigningKey,
    targets: SigningKey,
    snapshot: SigningKey,
    timestamp: SigningKey,
}

fn keys(alg: KeyAlgorithm) -> Keys {
    let g = || SigningKey::generate(alg).unwrap();
    Keys {
        root: g(),
        targets: g(),
        snapshot: g(),
        timestamp: g(),
    }
}

fn config(k: &Keys, bit_length: u32) -> RepoConfig {
    RepoConfig {
        root_keys: vec![k.root.public_key().clone()],
        root_threshold: 1,
        targets_key: k.targets.public_key().clone(),
        snapshot_key: k.snapshot.public_key().clone(),
        timestamp_key: k.timestamp.public_key().clone(),
        bins_key: k.snapshot.public_key().clone(),
        bit_length,
        name_prefix: "bins".into(),
    }
}

fn write(files: &Files, out: Vec<custody_tuf::writer::MetaOut>) -> Vec<String> {
    let mut names = Vec::new();
    for f in out {
        names.push(f.name.clone());
        files.borrow_mut().insert(f.name, f.bytes);
    }
    names
}

fn all(k: &Keys) -> Vec<&dyn Signer> {
    vec![&k.root, &k.targets, &k.snapshot, &k.timestamp]
}

fn online(k: &Keys) -> Vec<&dyn Signer> {
    vec![&k.snapshot, &k.timestamp]
}

fn client(files: &Files) -> Client<MapFetcher, MemoryCache> {
    let root = files.borrow()["1.root.json"].clone();
    Client::new(
        &root,
        MapFetcher(files.clone(), Vec::new()),
        MemoryCache::default(),
        t0(),
        ClientLimits::default(),
    )
    .unwrap()
}

#[test]
fn bin_names_are_zero_padded_hex() {
    let bins = |bit_length| SuccinctRoles {
        keys: custody_tuf::metadata::RoleKeys {
            keyids: vec![],
            threshold: 1,
        },
        bit_length,
        name_prefix: "bins".into(),
    };
    assert_eq!(bins(14).bin_name(0), "bins-0000");
    assert_eq!(bins(14).bin_name(16_383), "bins-3fff");
    assert_eq!(bins(4).bin_name(15), "bins-f");
    assert_eq!(bins(5).bin_name(3), "bins-03");
    assert_eq!(bins(1).bin_name(1), "bins-1");
    assert!(bins(14).is_bin("bins-3fff"));
    assert!(!bins(14).is_bin("bins-4000"));
    assert!(!bins(14).is_bin("bins-fff"));
    // The bin is the leading bits of SHA-256(path): sha256("") starts with e3b0c442.
    assert_eq!(bins(8).bin_of(""), 0xe3);
    assert_eq!(bins(14).bin_of(""), 0xe3b0 >> 2);
}

#[test]
fn every_bin_exists_and_client_reads_the_repository() {
    for alg in [KeyAlgorithm::Ed25519, KeyAlgorithm::EcdsaP256] {
        let k = keys(alg);
        let files = Files::default();
        let src = Source(files.clone());
        let mut repo = Repository::create(&config(&k, 4), Expiries::default()).unwrap();
        repo.add_target(&src, "dir/a.txt", target_file(b"hello"))
            .unwrap();
        let names = write(&files, repo.commit(&all(&k), t0()).unwrap());
        for n in 0..16 {
            assert!(names.contains(&format!("1.bins-{n:x}.json")), "{names:?}");
        }
        let snap = Snapshot::from_envelope(
            &Envelope::parse(&files.borrow()["1.snapshot.json"], "s").unwrap(),
        )
        .unwrap();
        assert_eq!(snap.meta.len(), 17);
        let mut c = client(&files);
        let info = c.target_info("dir/a.txt").unwrap();
        assert_eq!(info.file.length, 5);
        assert_eq!(
            c.target_info("missing").unwrap_err().kind(),
            ErrorKind::NotFound
        );
    }
}

#[test]
fn adding_one_target_rewrites_one_bin_the_snapshot_and_the_timestamp() {
    let k = keys(KeyAlgorithm::Ed25519);
    let files = Files::default();
    let src = Source(files.clone());
    let mut repo = Repository::create(&config(&k, 6), Expiries::default()).unwrap();
    write(&files, repo.commit(&all(&k), t0()).unwrap());

    let mut repo = Repository::open(&src, Expiries::default()).unwrap();
    repo.add_target(&src, "x/y", target_file(b"y")).unwrap();
    let names = write(&files, repo.commit(&online(&k), t0()).unwrap());
    let bin = repo.bins().bin_name(repo.bins().bin_of("x/y"));
    assert_eq!(
        names,
        vec![
            format!("2.{bin}.json"),
            "2.snapshot.json".to_owned(),
            "timestamp.json".to_owned()
        ]
    );
    let mut c = client(&files);
    assert_eq!(c.target_info("x/y").unwrap().file, target_file(b"y"));
    // The offline keys were not needed, and without the online ones nothing is written.
    let mut repo = Repository::open(&src, Expiries::default()).unwrap();
    repo.add_target(&src, "x/z", target_file(b"z")).unwrap();
    let only_snapshot: Vec<&dyn Signer> = vec![&k.snapshot];
    assert!(matches!(
        repo.commit(&only_snapshot, t0()),
        Err(Error::MissingSigner { ref role, .. }) if role == "timestamp"
    ));
}

#[test]
fn root_rotation_keeps_every_root_and_clients_follow() {
    let k = keys(KeyAlgorithm::Ed25519);
    let files = Files::default();
    let src = Source(files.clone());
    let mut repo = Repository::create(&config(&k, 2), Expiries::default()).unwrap();
    write(&files, repo.commit(&all(&k), t0()).unwrap());
    let mut c = client(&files);
    c.refresh().unwrap();
    let (_, cache) = c.into_parts();

    let new_root = SigningKey::generate(KeyAlgorithm::EcdsaP256).unwrap();
    let mut repo = Repository::open(&src, Expiries::default()).unwrap();
    repo.rotate_root(&[new_root.public_key().clone()], 1)
        .unwrap();
    // The old root key alone is not enough, nor the new one alone.
    let old_only: Vec<&dyn Signer> = vec![&k.root, &k.snapshot, &k.timestamp];
    assert!(repo.commit(&old_only, t0()).is_err());
    let new_only: Vec<&dyn Signer> = vec![&new_root, &k.snapshot, &k.timestamp];
    assert!(repo.commit(&new_only, t0()).is_err());
    let both: Vec<&dyn Signer> = vec![&k.root, &new_root, &k.snapshot, &k.timestamp];
    let names = write(&files, repo.commit(&both, t0()).unwrap());
    assert!(names.contains(&"2.root.json".to_owned()));
    assert!(files.borrow().contains_key("1.root.json"));

    let mut c = Client::new(
        &files.borrow()["1.root.json"].clone(),
        MapFetcher(files.clone(), Vec::new()),
        cache,
        t0(),
        ClientLimits::default(),
    )
    .unwrap();
    c.refresh().unwrap();
    assert_eq!(c.root().version, 2);
    assert_eq!(c.root().roles["root"], role_keys(&[&new_root], 1));
}

#[test]
fn snapshot_of_16384_bins_stays_under_python_tufs_cap() {
    let k = keys(KeyAlgorithm::Ed25519);
    let mut repo = Repository::create(&config(&k, 14), Expiries::default()).unwrap();
    let out = repo.commit(&all(&k), t0()).unwrap();
    let snap = out.iter().find(|f| f.name == "1.snapshot.json").unwrap();
    assert!(snap.bytes.len() < 2_000_000, "{}", snap.bytes.len());
    let bins = out.iter().filter(|f| f.name.contains(".bins-")).count();
    assert_eq!(bins, 16_384);
}

#[test]
fn bad_target_paths_are_refused() {
    let k = keys(KeyAlgorithm::Ed25519);
    let src = Source(Files::default());
    let mut repo = Repository::create(&config(&k, 2), Expiries::default()).unwrap();
    for p in ["", "/etc/passwd", "a/../b", "a//b", "./a", "a\\b"] {
        assert!(
            matches!(
                repo.add_target(&src, p, target_file(b"x")),
                Err(Error::InvalidTargetPath { .. })
            ),
            "{p}"
        );
    }
    let mut no_sha = target_file(b"x");
    no_sha.hashes = BTreeMap::from([("sha512".into(), "00".into())]);
    assert!(repo.add_target(&src, "ok", no_sha).is_err());
}

#[test]
fn added_signature_keeps_signed_bytes() {
    let k = keys(KeyAlgorithm::Ed25519);
    let mut repo = Repository::create(&config(&k, 1), Expiries::default()).unwrap();
    let out = repo.commit(&all(&k), t0()).unwrap();
    let root = &out.iter().find(|f| f.name == "1.root.json").unwrap().bytes;
    let extra = SigningKey::generate(KeyAlgorithm::Ed25519).unwrap();
    let signers: Vec<&dyn Signer> = vec![&extra];
    let more = custody_tuf::metadata::add_signatures(root, "root", &signers).unwrap();
    let a = Envelope::parse(root, "root").unwrap();
    let b = Envelope::parse(&more, "root").unwrap();
    assert_eq!(b.signature_keyids().len(), a.signature_keyids().len() + 1);
    let r = custody_tuf::metadata::Root::from_envelope(&b).unwrap();
    b.verify("root", &r.keys, r.role("root").unwrap()).unwrap();
}

#[test]
fn commit_without_changes_resigns_only_the_online_roles() {
    let k = keys(KeyAlgorithm::Ed25519);
    let files = Files::default();
    let src = Source(files.clone());
    let mut repo = Repository::create(&config(&k, 3), Expiries::default()).unwrap();
    write(&files, repo.commit(&all(&k), t0()).unwrap());
    let mut repo = Repository::open(&src, Expiries::default()).unwrap();
    let later = t0() + time::Duration::days(2);
    let names = write(&files, repo.commit(&online(&k), later).unwrap());
    assert_eq!(names, ["2.snapshot.json", "timestamp.json"]);
    // The timestamp signed at t0 expired after a day; the re-signed one is valid.
    let root = files.borrow()["1.root.json"].clone();
    let mut c = Client::new(
        &root,
        MapFetcher(files, Vec::new()),
        MemoryCache::default(),
        later,
        ClientLimits::default(),
    )
    .unwrap();
    c.refresh().unwrap();
    assert_eq!(c.timestamp().unwrap().version, 2);
}
