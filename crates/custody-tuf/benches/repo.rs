//! Generating a repository of 1,000,000 targets in 16,384 succinct bins, then adding one.
//!
//! `cargo bench -p custody-tuf --bench repo` prints the times and the peak RSS; it asserts
//! nothing. `BENCH_TUF_TARGETS` changes the number of targets.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;
use std::time::Instant;

use custody_crypto::{KeyAlgorithm, Signer, SigningKey};
use custody_tuf::metadata::TargetFile;
use custody_tuf::writer::{Expiries, MetaOut, MetadataSource, RepoConfig, Repository};

struct Dir<'a>(&'a Path);

impl MetadataSource for Dir<'_> {
    fn read(&self, file_name: &str) -> Result<Option<Vec<u8>>, String> {
        match std::fs::read(self.0.join(file_name)) {
            Ok(b) => Ok(Some(b)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e.to_string()),
        }
    }
}

fn write_all(dir: &Path, files: &[MetaOut]) {
    for f in files {
        let tmp = dir.join(format!(".{}.tmp", f.name));
        let mut w = std::fs::File::create(&tmp).unwrap();
        w.write_all(&f.bytes).unwrap();
        std::fs::rename(&tmp, dir.join(&f.name)).unwrap();
    }
}

fn peak_rss() -> String {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .map(|l| l.trim_start_matches("VmHWM:").trim().to_owned())
        })
        .unwrap_or_else(|| "unknown".into())
}

fn target(i: u64) -> TargetFile {
    let d = custody_crypto::sha256(&i.to_be_bytes());
    TargetFile {
        length: 1000 + i,
        hashes: BTreeMap::from([("sha256".to_owned(), d.hex())]),
        custom: None,
    }
}

fn main() {
    let n: u64 = std::env::var("BENCH_TUF_TARGETS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let keys: Vec<SigningKey> = (0..4)
        .map(|_| SigningKey::generate(KeyAlgorithm::Ed25519).unwrap())
        .collect();
    let config = RepoConfig {
        root_keys: vec![keys[0].public_key().clone()],
        root_threshold: 1,
        targets_key: keys[1].public_key().clone(),
        snapshot_key: keys[2].public_key().clone(),
        timestamp_key: keys[3].public_key().clone(),
        bins_key: keys[2].public_key().clone(),
        bit_length: 14,
        name_prefix: "bins".into(),
    };
    let signers: Vec<&dyn Signer> = keys.iter().map(|k| k as &dyn Signer).collect();
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let now = time::OffsetDateTime::now_utc();

    let start = Instant::now();
    let mut repo = Repository::create(&config, Expiries::default()).unwrap();
    let src = Dir(dir);
    for i in 0..n {
        repo.add_target(
            &src,
            &format!("packages/p{i}/release-{i}.tar.gz"),
            target(i),
        )
        .unwrap();
    }
    let mut count = 0;
    let mut snapshot_len = 0;
    repo.commit_to(&signers, now, &mut |f| {
        count += 1;
        if f.name.ends_with(".snapshot.json") {
            snapshot_len = f.bytes.len();
        }
        write_all(dir, std::slice::from_ref(&f));
        Ok(())
    })
    .unwrap();
    let generate = start.elapsed();
    drop(repo);

    let online: Vec<&dyn Signer> = vec![&keys[2], &keys[3]];
    let start = Instant::now();
    let mut repo = Repository::open(&src, Expiries::default()).unwrap();
    let opened = start.elapsed();
    repo.add_target(&src, "packages/new/release.tar.gz", target(n + 1))
        .unwrap();
    let files = repo.commit(&online, now).unwrap();
    let signed = start.elapsed();
    write_all(dir, &files);
    let add = start.elapsed();

    println!("tuf repo: {n} targets in 16384 succinct bins");
    println!(
        "  generate + sign + write: {:.2} s ({count} metadata files, snapshot {snapshot_len} B)",
        generate.as_secs_f64()
    );
    println!(
        "  add one target (open, 1 bin + snapshot + timestamp, write): {:.1} ms",
        add.as_secs_f64() * 1000.0
    );
    println!(
        "    of which open {:.1} ms, add + sign {:.1} ms, write {:.1} ms",
        opened.as_secs_f64() * 1000.0,
        (signed - opened).as_secs_f64() * 1000.0,
        (add - signed).as_secs_f64() * 1000.0
    );
    println!("  peak RSS (VmHWM): {}", peak_rss());
    python_tuf_comparison(&signers, &config);
}

/// With `CUSTODY_INTEROP_PYTHON` (the interop venv, which has python-tuf), times python-tuf
/// generating the same shape of repository with 200,000 targets, beside custody-tuf.
fn python_tuf_comparison(signers: &[&dyn Signer], config: &RepoConfig) {
    let Some(python) = std::env::var_os("CUSTODY_INTEROP_PYTHON") else {
        println!("  (set CUSTODY_INTEROP_PYTHON to compare with python-tuf)");
        return;
    };
    let n = 200_000;
    let tmp = tempfile::tempdir().unwrap();
    let start = Instant::now();
    let mut repo = Repository::create(config, Expiries::default()).unwrap();
    let src = Dir(tmp.path());
    for i in 0..n {
        repo.add_target(
            &src,
            &format!("packages/p{i}/release-{i}.tar.gz"),
            target(i),
        )
        .unwrap();
    }
    repo.commit_to(signers, time::OffsetDateTime::now_utc(), &mut |f| {
        write_all(tmp.path(), std::slice::from_ref(&f));
        Ok(())
    })
    .unwrap();
    let ours = start.elapsed();
    let py_dir = tempfile::tempdir().unwrap();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/python_tuf_repo.py");
    let out = std::process::Command::new(python)
        .arg(script)
        .arg(n.to_string())
        .arg(py_dir.path())
        .output()
        .unwrap();
    let theirs = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    if out.status.success() {
        println!(
            "  {n} targets in 16384 bins: custody-tuf {:.2} s, python-tuf 7.0.1 {theirs} s (wall clock)",
            ours.as_secs_f64()
        );
    } else {
        println!(
            "  python-tuf run failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}
