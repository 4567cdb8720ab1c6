//! Interoperability with Go's reference implementation of signed notes and tiled logs
//! (`golang.org/x/mod/sumdb/note` and `sumdb/tlog`), through the program in
//! `interop/go-tlog/` (see its README).
//!
//! Each test builds that program into `target/go-tlog/` (GOPATH mode, against Debian's
//! `golang-golang-x-mod-dev`), writes custody's output as files in a temporary directory and
//! runs the program on them, or runs it to sign a note that custody then verifies.
//! Without Go the tests fail: they are never skipped.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Instant;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use custody_crypto::{KeyAlgorithm, SigningKey};
use custody_log::checkpoint::{Checkpoint, SignedCheckpoint};
use custody_log::cosignature::{Cosigner, Timestamp, WitnessPolicy};
use custody_log::note::{self, KeyName, Note, NoteSigner, NoteVerifier};
use custody_log::tile::tiles_for_size;
use custody_log::{
    Hash, LeafIndex, MemoryTree, SubtreeHashes, TreeSize, leaf_hash, proof, root_hash,
};

const INSTALL_HINT: &str = "install golang-go golang-golang-x-mod-dev (`.ci/run` does)";

/// Debian's GOPATH holding golang.org/x/mod.
const GOPATH: &str = "/usr/share/gocode";

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The Cargo target directory: the test binary is `<target>/<profile>/deps/it-…`.
fn target_dir() -> PathBuf {
    std::env::current_exe()
        .ok()
        .and_then(|exe| Some(exe.parent()?.parent()?.parent()?.to_path_buf()))
        .filter(|dir| dir.is_dir())
        .unwrap_or_else(|| workspace().join("target"))
}

/// Builds `interop/go-tlog` into `target/go-tlog/go-tlog` and returns its path.
///
/// Every test process builds it (Go's build cache, kept under `target/go-tlog/cache`, makes
/// that quick) into a file of its own, then renames it into place, so concurrent test
/// processes never run a half-written binary.
fn go_tlog() -> PathBuf {
    let version = Command::new("go").arg("version").output();
    match &version {
        Ok(output) if output.status.success() => {}
        _ => panic!("the Go toolchain is not available ({version:?}): {INSTALL_HINT}"),
    }
    let x_mod = Path::new(GOPATH).join("src/golang.org/x/mod/sumdb/tlog");
    assert!(
        x_mod.is_dir(),
        "{} is missing: {INSTALL_HINT}",
        x_mod.display()
    );

    let out_dir = target_dir().join("go-tlog");
    std::fs::create_dir_all(&out_dir).unwrap();
    let binary = out_dir.join("go-tlog");
    let partial = out_dir.join(format!("go-tlog.{}.partial", std::process::id()));
    let started = Instant::now();
    let output = Command::new("go")
        .args(["build", "-o"])
        .arg(&partial)
        .arg("./interop/go-tlog")
        .current_dir(workspace())
        .env("GO111MODULE", "off")
        .env("GOPATH", GOPATH)
        .env("GOCACHE", out_dir.join("cache"))
        .env("GOPROXY", "off")
        .env("CGO_ENABLED", "0")
        .env_remove("GOFLAGS")
        .output()
        .unwrap_or_else(|e| panic!("running go build: {e}: {INSTALL_HINT}"));
    assert!(
        output.status.success(),
        "go build ./interop/go-tlog failed ({INSTALL_HINT}):\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    std::fs::rename(&partial, &binary).unwrap();
    eprintln!("built {} in {:?}", binary.display(), started.elapsed());
    binary
}

fn run(binary: &Path, args: &[&dyn AsRef<std::ffi::OsStr>]) -> Output {
    let mut command = Command::new(binary);
    for arg in args {
        command.arg(arg);
    }
    command.output().unwrap()
}

fn describe(output: &Output) -> String {
    format!(
        "exit {:?}\nstdout:\n{}\nstderr:\n{}",
        output.status.code(),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

#[track_caller]
fn assert_passes(output: &Output) {
    assert!(
        output.status.success(),
        "Go rejected it: {}",
        describe(output)
    );
}

/// Go ran and reported a failed check (exit status 1), not a usage or I/O error.
#[track_caller]
fn assert_check_fails(output: &Output, reason: &str) {
    assert_eq!(output.status.code(), Some(1), "{}", describe(output));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains(reason),
        "expected '{reason}': {}",
        describe(output)
    );
}

fn write(dir: &Path, name: &str, contents: impl AsRef<[u8]>) -> PathBuf {
    let path = dir.join(name);
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).unwrap();
    }
    std::fs::write(&path, contents).unwrap();
    path
}

/// A proof file: one base64 hash per line.
fn proof_file(hashes: &[Hash]) -> String {
    hashes
        .iter()
        .map(|hash| format!("{}\n", STANDARD.encode(hash.as_bytes())))
        .collect()
}

fn entry(i: u64) -> Vec<u8> {
    format!("custody entry {i}\n").into_bytes()
}

/// A log of `size` entries, its key, and its signed checkpoint, written as files.
struct LogFiles {
    tree: MemoryTree,
    key: NoteSigner<SigningKey>,
    checkpoint: SignedCheckpoint,
    dir: tempfile::TempDir,
    vkey: PathBuf,
    checkpoint_file: PathBuf,
}

fn log_files(size: u64) -> LogFiles {
    let tree = MemoryTree::from_leaf_hashes((0..size).map(|i| leaf_hash(&entry(i))));
    let key = NoteSigner::new(
        KeyName::new("custody.example/interop-log").unwrap(),
        SigningKey::generate(KeyAlgorithm::Ed25519).unwrap(),
    )
    .unwrap();
    let checkpoint = Checkpoint::new(key.name().as_str(), tree.size(), tree.root())
        .unwrap()
        .sign(&key)
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let vkey = write(dir.path(), "log.vkey", format!("{}\n", key.verifier()));
    let checkpoint_file = write(dir.path(), "checkpoint", checkpoint.to_bytes());
    LogFiles {
        tree,
        key,
        checkpoint,
        dir,
        vkey,
        checkpoint_file,
    }
}

const INCLUSION_INDICES: [u64; 9] = [0, 1, 2, 255, 256, 511, 512, 767, 999];
const CONSISTENCY_SIZES: [u64; 10] = [1, 2, 3, 255, 256, 257, 511, 512, 999, 1000];

#[test]
fn go_verifies_custody_checkpoints_and_proofs() {
    let go = go_tlog();
    let log = log_files(1000);
    let dir = log.dir.path();

    let output = run(
        &go,
        &[&"verify-checkpoint", &log.vkey, &log.checkpoint_file],
    );
    assert_passes(&output);
    let root = STANDARD.encode(log.tree.root().as_bytes());
    assert_eq!(
        String::from_utf8_lossy(&output.stdout),
        format!("ok custody.example/interop-log 1000 {root}\n")
    );

    for index in INCLUSION_INDICES {
        let path =
            proof::inclusion_proof(&log.tree, LeafIndex::new(index), log.tree.size()).unwrap();
        let leaf = write(dir, &format!("leaf-{index}"), entry(index));
        let proof = write(dir, &format!("inclusion-{index}"), proof_file(&path));
        let index_text = index.to_string();
        let output = run(
            &go,
            &[
                &"check-inclusion",
                &log.vkey,
                &log.checkpoint_file,
                &index_text,
                &leaf,
                &proof,
            ],
        );
        assert_passes(&output);
    }

    for old in CONSISTENCY_SIZES {
        let path =
            proof::consistency_proof(&log.tree, TreeSize::new(old), log.tree.size()).unwrap();
        let old_root =
            STANDARD.encode(root_hash(&log.tree, TreeSize::new(old)).unwrap().as_bytes());
        let proof = write(dir, &format!("consistency-{old}"), proof_file(&path));
        let old_text = old.to_string();
        let output = run(
            &go,
            &[
                &"check-consistency",
                &log.vkey,
                &log.checkpoint_file,
                &old_text,
                &old_root,
                &proof,
            ],
        );
        assert_passes(&output);
    }
}

/// Writes every tile of the log (C2SP tlog-tiles: concatenated 32-byte hashes) and the
/// proof cases, and returns the tile directory and the cases file.
fn write_tiles_and_cases(log: &LogFiles) -> (PathBuf, PathBuf) {
    let dir = log.dir.path();
    let tiles = dir.join("tiles");
    let mut written = Vec::new();
    for tile in tiles_for_size(log.tree.size()) {
        let subtrees: Vec<_> = tile.subtrees().collect();
        let hashes = log.tree.subtree_hashes(&subtrees).unwrap();
        assert_eq!(hashes.len(), usize::from(tile.width()));
        let bytes: Vec<u8> = hashes.iter().flat_map(|h| h.to_bytes()).collect();
        write(&tiles, &tile.to_string(), bytes);
        written.push(tile.to_string());
    }
    assert_eq!(
        written,
        [
            "tile/0/000",
            "tile/0/001",
            "tile/0/002",
            "tile/0/003.p/232",
            "tile/1/000.p/3"
        ]
    );

    let mut cases = String::new();
    for index in INCLUSION_INDICES {
        let path =
            proof::inclusion_proof(&log.tree, LeafIndex::new(index), log.tree.size()).unwrap();
        write(dir, &format!("cases/inclusion-{index}"), proof_file(&path));
        write(dir, &format!("cases/leaf-{index}"), entry(index));
        cases.push_str(&format!(
            "inclusion {index} leaf-{index} inclusion-{index}\n"
        ));
    }
    for old in CONSISTENCY_SIZES {
        let path =
            proof::consistency_proof(&log.tree, TreeSize::new(old), log.tree.size()).unwrap();
        let old_root =
            STANDARD.encode(root_hash(&log.tree, TreeSize::new(old)).unwrap().as_bytes());
        write(dir, &format!("cases/consistency-{old}"), proof_file(&path));
        cases.push_str(&format!("consistency {old} {old_root} consistency-{old}\n"));
    }
    let cases_file = write(dir, "cases/cases", cases);
    (tiles, cases_file)
}

#[test]
fn go_computes_the_same_proofs_from_custody_tiles() {
    let go = go_tlog();
    let log = log_files(1000);
    let (tiles, cases) = write_tiles_and_cases(&log);

    let output = run(
        &go,
        &[
            &"check-tiles",
            &log.vkey,
            &log.checkpoint_file,
            &tiles,
            &cases,
        ],
    );
    assert_passes(&output);
    assert_eq!(
        String::from_utf8_lossy(&output.stdout),
        format!(
            "ok {} proofs match\n",
            INCLUSION_INDICES.len() + CONSISTENCY_SIZES.len()
        )
    );

    // A changed byte in a tile on the right edge of the tree no longer matches the signed
    // root; in another tile it yields a proof that does not verify.
    let flip = |path: &str| {
        let tile = tiles.join(path);
        let mut bytes = std::fs::read(&tile).unwrap();
        bytes[100] ^= 1;
        std::fs::write(&tile, bytes).unwrap();
    };
    flip("tile/0/003.p/232");
    let output = run(
        &go,
        &[
            &"check-tiles",
            &log.vkey,
            &log.checkpoint_file,
            &tiles,
            &cases,
        ],
    );
    assert_check_fails(&output, "tlog.TreeHash from tiles");
    flip("tile/0/003.p/232");
    assert_passes(&run(
        &go,
        &[
            &"check-tiles",
            &log.vkey,
            &log.checkpoint_file,
            &tiles,
            &cases,
        ],
    ));
    flip("tile/0/001");
    let output = run(
        &go,
        &[
            &"check-tiles",
            &log.vkey,
            &log.checkpoint_file,
            &tiles,
            &cases,
        ],
    );
    assert_check_fails(
        &output,
        "tlog.CheckRecord on the proof of 256 computed from the tiles",
    );
}

#[test]
fn go_rejects_tampered_checkpoints_and_proofs() {
    let go = go_tlog();
    let log = log_files(1000);
    let dir = log.dir.path();
    let text = String::from_utf8(log.checkpoint.to_bytes()).unwrap();

    // A changed size, a changed root, a flipped signature bit.
    let bigger = write(dir, "bigger", text.replacen("\n1000\n", "\n1001\n", 1));
    let output = run(&go, &[&"verify-checkpoint", &log.vkey, &bigger]);
    assert_check_fails(&output, "invalid signature");
    let root = STANDARD.encode(log.tree.root().as_bytes());
    let other_root = STANDARD.encode(leaf_hash(b"other").as_bytes());
    let rerooted = write(dir, "rerooted", text.replacen(&root, &other_root, 1));
    assert_check_fails(
        &run(&go, &[&"verify-checkpoint", &log.vkey, &rerooted]),
        "invalid signature",
    );
    let mut flipped = log.checkpoint.note().clone();
    let line = flipped.signatures()[0].clone();
    let mut signature = line.signature().to_vec();
    signature[10] ^= 0x40;
    let mut tampered = SignedCheckpoint::parse(
        format!(
            "{}\n{}\n",
            flipped.text(),
            note::NoteSignature::new(line.name().clone(), line.key_hash(), signature).unwrap()
        )
        .as_bytes(),
    )
    .unwrap();
    let flipped_file = write(dir, "flipped", tampered.to_bytes());
    assert_check_fails(
        &run(&go, &[&"verify-checkpoint", &log.vkey, &flipped_file]),
        "invalid signature",
    );

    // Signed by another key with the log's name: unknown to Go, so no verifiable signature.
    let impostor = NoteSigner::new(
        log.key.name().clone(),
        SigningKey::generate(KeyAlgorithm::Ed25519).unwrap(),
    )
    .unwrap();
    let forged = write(
        dir,
        "forged",
        log.checkpoint
            .unverified_checkpoint()
            .sign(&impostor)
            .unwrap()
            .to_bytes(),
    );
    assert_check_fails(
        &run(&go, &[&"verify-checkpoint", &log.vkey, &forged]),
        "no verifiable signatures",
    );

    // Adding an unknown signature line does not matter; it is ignored by Go as by custody.
    flipped.sign(&impostor).unwrap();
    tampered = SignedCheckpoint::parse(&log.checkpoint.to_bytes()).unwrap();
    tampered.add_signature(flipped.signatures()[1].clone());
    let extra = write(dir, "extra", tampered.to_bytes());
    assert_passes(&run(&go, &[&"verify-checkpoint", &log.vkey, &extra]));

    // A proof with one changed hash.
    let index = LeafIndex::new(300);
    let mut path = proof::inclusion_proof(&log.tree, index, log.tree.size()).unwrap();
    path[2] = leaf_hash(b"mallory");
    let leaf = write(dir, "leaf", entry(300));
    let proof = write(dir, "bad-proof", proof_file(&path));
    let output = run(
        &go,
        &[
            &"check-inclusion",
            &log.vkey,
            &log.checkpoint_file,
            &"300",
            &leaf,
            &proof,
        ],
    );
    assert_check_fails(&output, "tlog.CheckRecord");
    // The right proof for another leaf.
    let path = proof::inclusion_proof(&log.tree, index, log.tree.size()).unwrap();
    let proof = write(dir, "good-proof", proof_file(&path));
    let other_leaf = write(dir, "other-leaf", entry(301));
    let output = run(
        &go,
        &[
            &"check-inclusion",
            &log.vkey,
            &log.checkpoint_file,
            &"300",
            &other_leaf,
            &proof,
        ],
    );
    assert_check_fails(&output, "tlog.CheckRecord");
}

#[test]
fn custody_verifies_go_signed_notes() {
    let go = go_tlog();
    let dir = tempfile::tempdir().unwrap();
    let text = "Notes signed by Go,\nverified by custody.\n";
    let text_file = write(dir.path(), "text", text);
    assert_passes(&run(
        &go,
        &[&"sign-note", &"go.example/signer", &text_file, &dir.path()],
    ));

    let read = |name: &str| std::fs::read_to_string(dir.path().join(name)).unwrap();
    let vkey: NoteVerifier = read("vkey").trim_end().parse().unwrap();
    assert_eq!(vkey.name().as_str(), "go.example/signer");
    let go_note = read("note");
    let verified = note::open(go_note.as_bytes(), std::slice::from_ref(&vkey)).unwrap();
    assert_eq!(verified.text(), text);
    assert_eq!(verified.note().to_bytes(), go_note.as_bytes());

    // Custody reads Go's signer key and signs the same bytes (Ed25519 is deterministic).
    let signer = NoteSigner::from_signer_key(read("skey").trim_end()).unwrap();
    assert_eq!(signer.verifier(), &vkey);
    let ours = Note::new(text).unwrap().sign(&signer).unwrap();
    assert_eq!(ours.to_bytes(), go_note.as_bytes());

    // A tampered Go note is rejected.
    let tampered = go_note.replacen("custody", "kustody", 1);
    assert!(matches!(
        note::open(tampered.as_bytes(), &[vkey]),
        Err(note::Error::InvalidSignature { .. })
    ));
}

#[test]
fn custody_verifies_go_signed_checkpoints() {
    let go = go_tlog();
    let dir = tempfile::tempdir().unwrap();
    let tree = MemoryTree::from_leaf_hashes((0..77u64).map(|i| leaf_hash(&entry(i))));
    let body = Checkpoint::new("go.example/log", tree.size(), tree.root()).unwrap();
    let text_file = write(dir.path(), "text", body.to_text());
    assert_passes(&run(
        &go,
        &[&"sign-note", &"go.example/log", &text_file, &dir.path()],
    ));

    let vkey: NoteVerifier = std::fs::read_to_string(dir.path().join("vkey"))
        .unwrap()
        .trim_end()
        .parse()
        .unwrap();
    let bytes = std::fs::read(dir.path().join("note")).unwrap();
    let verified = SignedCheckpoint::parse(&bytes)
        .unwrap()
        .verify(&vkey)
        .unwrap();
    assert_eq!(verified.checkpoint(), &body);
    // Go checks custody's proofs against it too.
    let path = proof::consistency_proof(&tree, TreeSize::new(50), tree.size()).unwrap();
    let old_root = STANDARD.encode(root_hash(&tree, TreeSize::new(50)).unwrap().as_bytes());
    let proof = write(dir.path(), "proof", proof_file(&path));
    assert_passes(&run(
        &go,
        &[
            &"check-consistency",
            &dir.path().join("vkey"),
            &dir.path().join("note"),
            &"50",
            &old_root,
            &proof,
        ],
    ));
}

#[test]
fn go_verifies_custody_cosignatures() {
    let go = go_tlog();
    let log = log_files(300);
    let dir = log.dir.path();
    let witness = Cosigner::new(
        KeyName::new("witness.example/interop").unwrap(),
        SigningKey::generate(KeyAlgorithm::Ed25519).unwrap(),
    )
    .unwrap();
    let witness_vkey = write(dir, "witness.vkey", format!("{}\n", witness.verifier()));

    let mut checkpoint = log.checkpoint.verify(log.key.verifier()).unwrap();
    let cosignature = witness
        .cosign(
            &checkpoint,
            Timestamp::from_unix_seconds(1_712_345_678).unwrap(),
        )
        .unwrap();
    checkpoint.add_signature(cosignature.to_note_signature());
    let cosigned = write(dir, "cosigned", checkpoint.to_bytes());

    let output = run(
        &go,
        &[&"verify-cosignature", &log.vkey, &witness_vkey, &cosigned],
    );
    assert_passes(&output);
    assert_eq!(
        String::from_utf8_lossy(&output.stdout),
        "cosigned by witness.example/interop at 1712345678\n"
    );
    // Custody agrees.
    let policy = WitnessPolicy::new(vec![witness.verifier().clone()], 1).unwrap();
    assert_eq!(policy.check(&checkpoint).unwrap().cosignatures().len(), 1);

    // Moving the timestamp breaks the signature, for Go as for custody.
    let line = cosignature.to_note_signature();
    let mut bytes = line.signature().to_vec();
    bytes[7] ^= 1;
    let moved = note::NoteSignature::new(line.name().clone(), line.key_hash(), bytes).unwrap();
    let mut tampered = log.checkpoint.clone();
    tampered.add_signature(moved);
    let tampered_file = write(dir, "moved", tampered.to_bytes());
    let output = run(
        &go,
        &[
            &"verify-cosignature",
            &log.vkey,
            &witness_vkey,
            &tampered_file,
        ],
    );
    assert_check_fails(&output, "invalid signature");
    let tampered = tampered.verify(log.key.verifier()).unwrap();
    assert!(policy.check(&tampered).is_err());

    // Without the cosignature Go reports the missing witness.
    let output = run(
        &go,
        &[
            &"verify-cosignature",
            &log.vkey,
            &witness_vkey,
            &log.checkpoint_file,
        ],
    );
    assert_check_fails(&output, "no verified signature by witness.example/interop");
}
