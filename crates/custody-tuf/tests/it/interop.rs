//! python-tuf's `ngclient.Updater` (PyPI `tuf`, pinned in interop/requirements.txt) against a
//! repository written by custody-tuf, served over loopback HTTP by the Python driver.
//!
//! A missing interpreter fails the test with instructions; nothing is skipped silently.

use std::path::{Path, PathBuf};
use std::process::Command;

use custody_crypto::{KeyAlgorithm, Signer, SigningKey};
use custody_tuf::metadata::{Envelope, MetaFile, Timestamp, sign_document};
use custody_tuf::writer::{Expiries, MetaOut, MetadataSource, RepoConfig, Repository};
use time::OffsetDateTime;

use crate::sim::target_file;

struct Dir(PathBuf);

impl MetadataSource for Dir {
    fn read(&self, file_name: &str) -> Result<Option<Vec<u8>>, String> {
        match std::fs::read(self.0.join(file_name)) {
            Ok(b) => Ok(Some(b)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e.to_string()),
        }
    }
}

fn write(dir: &Path, files: Vec<MetaOut>) {
    for f in files {
        std::fs::write(dir.join(f.name), f.bytes).unwrap();
    }
}

fn publish_target(repo_dir: &Path, path: &str, content: &[u8]) {
    let (dir, base) = path.rsplit_once('/').unwrap_or(("", path));
    let d = repo_dir.join("targets").join(dir);
    std::fs::create_dir_all(&d).unwrap();
    let name = format!("{}.{base}", custody_crypto::sha256(content).hex());
    std::fs::write(d.join(name), content).unwrap();
}

fn ngclient(repo: &Path, cache: &Path, target: &str, expect: &str) {
    let python = std::env::var_os("CUSTODY_INTEROP_PYTHON").expect(
        "CUSTODY_INTEROP_PYTHON is not set: run the test suite with `cargo xtask test`, which creates the interop venv",
    );
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/it/tuf_interop.py");
    let out = Command::new(python)
        .arg(script)
        .arg(repo)
        .arg(cache)
        .arg(repo.join("metadata/1.root.json"))
        .arg(target)
        .arg(expect)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "ngclient {target} expecting {expect}:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn python_tuf_ngclient_reads_a_custody_repository() {
    let tmp = tempfile::tempdir().unwrap();
    let repo_dir = tmp.path().join("repo");
    let meta = repo_dir.join("metadata");
    std::fs::create_dir_all(&meta).unwrap();
    let src = Dir(meta.clone());
    let g = |alg| SigningKey::generate(alg).unwrap();
    let (root, targets, snapshot, timestamp) = (
        g(KeyAlgorithm::Ed25519),
        g(KeyAlgorithm::EcdsaP256),
        g(KeyAlgorithm::Ed25519),
        g(KeyAlgorithm::EcdsaP256),
    );
    let config = RepoConfig {
        root_keys: vec![root.public_key().clone()],
        root_threshold: 1,
        targets_key: targets.public_key().clone(),
        snapshot_key: snapshot.public_key().clone(),
        timestamp_key: timestamp.public_key().clone(),
        bins_key: snapshot.public_key().clone(),
        bit_length: 6,
        name_prefix: "bins".into(),
    };
    let now = OffsetDateTime::now_utc();
    let online: Vec<&dyn Signer> = vec![&snapshot, &timestamp];
    let mut repo = Repository::create(&config, Expiries::default()).unwrap();
    let v1 = b"release one\n";
    repo.add_target(&src, "apps/hello.txt", target_file(v1))
        .unwrap();
    publish_target(&repo_dir, "apps/hello.txt", v1);
    let all: Vec<&dyn Signer> = vec![&root, &targets, &snapshot, &timestamp];
    write(&meta, repo.commit(&all, now).unwrap());

    let cache = tmp.path().join("cache");
    ngclient(
        &repo_dir,
        &cache,
        "apps/hello.txt",
        &format!("ok:{}:1", hex(v1)),
    );

    // Root rotation to a new P-256 root key, and a second target.
    let new_root = g(KeyAlgorithm::EcdsaP256);
    let mut repo = Repository::open(&src, Expiries::default()).unwrap();
    repo.rotate_root(&[new_root.public_key().clone()], 1)
        .unwrap();
    let v2 = b"release two\n";
    repo.add_target(&src, "apps/two.txt", target_file(v2))
        .unwrap();
    publish_target(&repo_dir, "apps/two.txt", v2);
    let rotate: Vec<&dyn Signer> = vec![&root, &new_root, &snapshot, &timestamp];
    write(&meta, repo.commit(&rotate, now).unwrap());
    ngclient(
        &repo_dir,
        &cache,
        "apps/two.txt",
        &format!("ok:{}:2", hex(v2)),
    );
    let good_timestamp = std::fs::read(meta.join("timestamp.json")).unwrap();

    // A tampered target of the same length.
    let v3 = b"release 333\n";
    let mut repo = Repository::open(&src, Expiries::default()).unwrap();
    repo.add_target(&src, "apps/three.txt", target_file(v3))
        .unwrap();
    publish_target(&repo_dir, "apps/three.txt", b"release EVIL");
    let dir = repo_dir.join("targets/apps");
    let name = format!("{}.three.txt", custody_crypto::sha256(v3).hex());
    write(&meta, repo.commit(&online, now).unwrap());
    std::fs::rename(
        dir.join(format!(
            "{}.three.txt",
            custody_crypto::sha256(b"release EVIL").hex()
        )),
        dir.join(&name),
    )
    .unwrap();
    ngclient(
        &repo_dir,
        &cache,
        "apps/three.txt",
        "LengthOrHashMismatchError",
    );
    std::fs::write(dir.join(&name), v3).unwrap();
    ngclient(
        &repo_dir,
        &cache,
        "apps/three.txt",
        &format!("ok:{}", hex(v3)),
    );

    // A replayed older timestamp and snapshot, after the client saw newer ones.
    let latest = std::fs::read(meta.join("timestamp.json")).unwrap();
    std::fs::write(meta.join("timestamp.json"), &good_timestamp).unwrap();
    ngclient(&repo_dir, &cache, "apps/two.txt", "BadVersionNumberError");
    std::fs::write(meta.join("timestamp.json"), &latest).unwrap();

    // A newer timestamp (signed with the real key) that names the older snapshot 1.
    let env = Envelope::parse(&latest, "timestamp").unwrap();
    let mut ts = Timestamp::from_envelope(&env).unwrap();
    ts.version += 1;
    let old_snapshot = std::fs::read(meta.join("1.snapshot.json")).unwrap();
    ts.snapshot = MetaFile {
        version: 1,
        length: Some(old_snapshot.len() as u64),
        hashes: Some(
            [(
                "sha256".to_owned(),
                custody_crypto::sha256(&old_snapshot).hex(),
            )]
            .into(),
        ),
    };
    let ts_signer: Vec<&dyn Signer> = vec![&timestamp];
    let forged = sign_document("timestamp", &ts.to_value(), &ts_signer, &[]).unwrap();
    std::fs::write(meta.join("timestamp.json"), forged).unwrap();
    ngclient(&repo_dir, &cache, "apps/two.txt", "BadVersionNumberError");
    std::fs::write(meta.join("timestamp.json"), &latest).unwrap();

    // An expired timestamp.
    let mut expiries = Expiries::default();
    expiries.timestamp = -60;
    let mut repo = Repository::open(&src, expiries).unwrap();
    repo.add_target(&src, "apps/four.txt", target_file(b"4"))
        .unwrap();
    write(&meta, repo.commit(&online, now).unwrap());
    ngclient(&repo_dir, &cache, "apps/two.txt", "ExpiredMetadataError");
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}
