//! Runs the transparency-dev Merkle proof vectors imported into `testdata/merkle/`
//! (see its README for the source and commit).
//!
//! Each vector is checked three ways:
//!
//! 1. Its outcome through the typed API must be the expected category: hashes that are not
//!    32 bytes are `Malformed`; otherwise the first failing check in the order index/sizes,
//!    proof length (compared with a proof generated for the same shape), hashes.
//!    So a vector that fails for the wrong reason is caught, not just one that passes.
//! 2. It verifies exactly when `wantErr` is false, except for the listed [`DIFFERENCES`].
//! 3. Vectors with placeholder hashes are run again with 32-byte stand-ins, so that the size,
//!    index and length checks behind them still run.

use std::fmt;
use std::path::{Path, PathBuf};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use custody_log::{Error, Hash, LeafIndex, MemoryTree, TreeSize, leaf_hash, proof, root_hash};
use serde_json::Value;

/// What happened when a vector was run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Outcome {
    /// The proof verified.
    Verified,
    /// A hash in the vector is not 32 bytes, so it cannot become a [`Hash`].
    Malformed,
    ConsistencyFromEmptyTree,
    IndexOutOfRange,
    RootMismatch,
    SizeDecreased,
    WrongProofLength,
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}

fn outcome(result: Result<(), Error>) -> Outcome {
    match result {
        Ok(()) => Outcome::Verified,
        Err(Error::ConsistencyFromEmptyTree) => Outcome::ConsistencyFromEmptyTree,
        Err(Error::IndexOutOfRange { .. }) => Outcome::IndexOutOfRange,
        Err(Error::RootMismatch { .. }) => Outcome::RootMismatch,
        Err(Error::SizeDecreased { .. }) => Outcome::SizeDecreased,
        Err(Error::WrongProofLength { .. }) => Outcome::WrongProofLength,
        Err(other) => panic!("verification returned an unexpected error kind: {other}"),
    }
}

fn testdata() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/merkle")
}

/// Every `.json` file under `dir`, sorted.
fn json_files(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
            let path = entry.expect("directory entry").path();
            if path.is_dir() {
                pending.push(path);
            } else if path.extension().is_some_and(|ext| ext == "json") {
                files.push(path);
            }
        }
    }
    files.sort();
    files
}

struct Vector {
    /// The path below `testdata/merkle/`, for messages and exceptions.
    name: String,
    json: Value,
    want_err: bool,
}

fn load(kind: &str) -> Vec<Vector> {
    let root = testdata();
    json_files(&root.join(kind))
        .into_iter()
        .map(|path| {
            let text = std::fs::read_to_string(&path).expect("vector file");
            let json: Value = serde_json::from_str(&text).expect("vector is JSON");
            let want_err = json["wantErr"].as_bool().expect("wantErr is a bool");
            let name = path
                .strip_prefix(&root)
                .expect("under testdata")
                .to_string_lossy()
                .replace('\\', "/");
            Vector {
                name,
                json,
                want_err,
            }
        })
        .collect()
}

fn number(json: &Value, field: &str) -> u64 {
    json[field]
        .as_u64()
        .unwrap_or_else(|| panic!("{field} is not a u64"))
}

/// How to turn vector bytes into a [`Hash`].
#[derive(Clone, Copy, PartialEq, Eq)]
enum Decode {
    /// As an API client would: bytes that are not 32 long are rejected.
    Strict,
    /// Bytes that are not 32 long are replaced by a 32-byte stand-in (their leaf hash), so that
    /// the size and length checks of vectors with placeholder hashes still run.
    StandIn,
}

/// A vector decoded into the crate's types.
enum Claim {
    Inclusion {
        leaf_hash: Hash,
        leaf_index: LeafIndex,
        tree_size: TreeSize,
        path: Vec<Hash>,
        root: Hash,
    },
    Consistency {
        first: TreeSize,
        second: TreeSize,
        first_hash: Hash,
        second_hash: Hash,
        path: Vec<Hash>,
    },
}

fn base64(value: &Value) -> Vec<u8> {
    let text = value.as_str().expect("hash is a string");
    STANDARD.decode(text).expect("hash is base64")
}

/// Decodes one hash; `None` when strict decoding rejects it.
fn to_hash(bytes: &[u8], decode: Decode) -> Option<Hash> {
    match (Hash::try_from(bytes), decode) {
        (Ok(hash), _) => Some(hash),
        (Err(_), Decode::Strict) => None,
        (Err(_), Decode::StandIn) => Some(leaf_hash(bytes)),
    }
}

/// Decodes the proof (`null` is empty).
fn to_path(json: &Value, decode: Decode) -> Option<Vec<Hash>> {
    match &json["proof"] {
        Value::Null => Some(Vec::new()),
        Value::Array(items) => items
            .iter()
            .map(|item| to_hash(&base64(item), decode))
            .collect(),
        other => panic!("proof is neither null nor an array: {other}"),
    }
}

/// Decodes a vector; `None` when strict decoding rejects one of its hashes.
fn decode(kind: Kind, json: &Value, decode: Decode) -> Option<Claim> {
    let hash = |field: &str| to_hash(&base64(&json[field]), decode);
    Some(match kind {
        Kind::Inclusion => Claim::Inclusion {
            leaf_hash: hash("leafHash")?,
            leaf_index: LeafIndex::new(number(json, "leafIdx")),
            tree_size: TreeSize::new(number(json, "treeSize")),
            path: to_path(json, decode)?,
            root: hash("root")?,
        },
        Kind::Consistency => Claim::Consistency {
            first: TreeSize::new(number(json, "size1")),
            second: TreeSize::new(number(json, "size2")),
            first_hash: hash("root1")?,
            second_hash: hash("root2")?,
            path: to_path(json, decode)?,
        },
    })
}

fn verify(claim: &Claim) -> Outcome {
    outcome(match claim {
        Claim::Inclusion {
            leaf_hash,
            leaf_index,
            tree_size,
            path,
            root,
        } => proof::verify_inclusion(leaf_hash, *leaf_index, *tree_size, path, root),
        Claim::Consistency {
            first,
            second,
            first_hash,
            second_hash,
            path,
        } => proof::verify_consistency(*first, *second, first_hash, second_hash, path),
    })
}

/// The outcome a correct verifier must give: the first check that a claim fails, in the
/// order sizes and index, then proof length, then hashes.
///
/// The proof length a claim needs comes from generating a proof of the same shape over a tree
/// of placeholder leaves (generation and verification are separate code).
/// Whether the hashes match is what the vector's `wantErr` says.
fn expected(claim: &Claim, want_err: bool) -> Outcome {
    let needed_len = match *claim {
        Claim::Inclusion {
            leaf_index,
            tree_size,
            ref path,
            ..
        } => {
            if !tree_size.contains(leaf_index) {
                return Outcome::IndexOutOfRange;
            }
            let tree = placeholder_tree(tree_size);
            let needed = proof::inclusion_proof(&tree, leaf_index, tree_size)
                .expect("proof of a leaf inside the tree")
                .len();
            (needed, path.len())
        }
        Claim::Consistency {
            first,
            second,
            ref path,
            ..
        } => {
            if second < first {
                return Outcome::SizeDecreased;
            }
            if first.get() == 0 {
                return Outcome::ConsistencyFromEmptyTree;
            }
            let tree = placeholder_tree(second);
            let needed = proof::consistency_proof(&tree, first, second)
                .expect("proof between sizes 0 < first <= second")
                .len();
            (needed, path.len())
        }
    };
    match (needed_len, want_err) {
        ((needed, actual), _) if needed != actual => Outcome::WrongProofLength,
        (_, true) => Outcome::RootMismatch,
        (_, false) => Outcome::Verified,
    }
}

fn placeholder_tree(size: TreeSize) -> MemoryTree {
    assert!(
        size.get() <= 1 << 16,
        "vector tree size {size} is unexpectedly large"
    );
    MemoryTree::from_leaf_hashes((0..size.get()).map(|i| leaf_hash(&i.to_be_bytes())))
}

#[derive(Clone, Copy)]
enum Kind {
    Inclusion,
    Consistency,
}

/// Upstream vectors whose `wantErr` custody deliberately does not follow: the name, the
/// outcome through the typed API, the outcome with stand-in hashes, and the reason.
/// Each entry must still apply, so the list cannot go stale.
const DIFFERENCES: &[(&str, Outcome, Outcome, &str)] = &[(
    "consistency/additional/sizes-are-equal-one-and-proof-is-empty.json",
    Outcome::Malformed,
    Outcome::Verified,
    "its roots are 12-byte placeholders; a custody Hash is always 32 bytes, so such input is \
     rejected when decoded; with stand-ins, equal roots at equal sizes verify",
)];

/// Runs every vector of one kind and returns how many there were.
fn check_all(kind: Kind, dir: &str) -> usize {
    let vectors = load(dir);
    let mut failures = Vec::new();
    for vector in &vectors {
        let strict = decode(kind, &vector.json, Decode::Strict);
        let stand_in = decode(kind, &vector.json, Decode::StandIn).expect("stand-ins decode");

        // 1. As a client of the typed API sees it.
        let (got, want) = match &strict {
            Some(claim) => (verify(claim), expected(claim, vector.want_err)),
            None => (Outcome::Malformed, Outcome::Malformed),
        };
        if got != want {
            failures.push(format!("{}: got {got}, want {want}", vector.name));
        }

        // 2. The upstream verdict: verified exactly when wantErr is false.
        let difference = DIFFERENCES.iter().find(|(name, ..)| *name == vector.name);
        match difference {
            Some((_, outcome, _, _)) if got != *outcome => failures.push(format!(
                "{}: listed as a difference with outcome {outcome}, but got {got}",
                vector.name
            )),
            Some(_) => {}
            None if (got == Outcome::Verified) == vector.want_err => failures.push(format!(
                "{}: wantErr is {} but the outcome is {got}",
                vector.name, vector.want_err
            )),
            None => {}
        }

        // 3. With stand-ins for placeholder hashes, the size, index and length checks still
        // give the expected outcome. Whether placeholder hashes "match" says nothing (upstream
        // rejects them for their length), so at the hash stage either verdict is accepted,
        // unless the vector is a listed difference.
        if strict.is_none() {
            let got = verify(&stand_in);
            let want = match difference {
                Some((_, _, stand_in_outcome, _)) => *stand_in_outcome,
                None => expected(&stand_in, vector.want_err),
            };
            let hash_stage = |o: Outcome| matches!(o, Outcome::Verified | Outcome::RootMismatch);
            let agrees = if difference.is_none() && hash_stage(want) {
                hash_stage(got)
            } else {
                got == want
            };
            if !agrees {
                failures.push(format!(
                    "{} (with stand-in hashes): got {got}, want {want}",
                    vector.name
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} {dir} vectors failed:\n{}",
        failures.len(),
        vectors.len(),
        failures.join("\n")
    );
    vectors.len()
}

#[test]
fn inclusion_vectors() {
    assert_eq!(check_all(Kind::Inclusion, "inclusion"), 98);
}

#[test]
fn consistency_vectors() {
    assert_eq!(check_all(Kind::Consistency, "consistency"), 98);
}

#[test]
fn differences_name_existing_vectors() {
    let names: Vec<String> = load("consistency")
        .into_iter()
        .chain(load("inclusion"))
        .map(|vector| vector.name)
        .collect();
    for (name, _, _, reason) in DIFFERENCES {
        assert!(!reason.is_empty());
        assert!(names.iter().any(|n| n == name), "{name} is not a vector");
    }
}

/// The roots of the first 1 to 8 leaves of the RFC 6962 test tree that the vectors use
/// (inclusion/1 is the 8-leaf tree), computed from the leaves.
#[test]
fn vector_roots_match_the_rfc6962_test_tree() {
    let vector = load("inclusion")
        .into_iter()
        .find(|vector| vector.name == "inclusion/1/happy-path.json")
        .expect("inclusion/1/happy-path.json");
    let root = to_hash(&base64(&vector.json["root"]), Decode::Strict).expect("32-byte root");
    let tree = MemoryTree::from_leaf_hashes(RFC6962_LEAVES.iter().map(|leaf| leaf_hash(leaf)));
    assert_eq!(tree.root(), root);
    assert_eq!(root_hash(&tree, TreeSize::new(8)).expect("root of 8"), root);
}

/// The leaves of the test tree used throughout Certificate Transparency implementations.
const RFC6962_LEAVES: [&[u8]; 8] = [
    b"",
    b"\x00",
    b"\x10",
    b"\x20\x21",
    b"\x30\x31",
    b"\x40\x41\x42\x43",
    b"\x50\x51\x52\x53\x54\x55\x56\x57",
    b"\x60\x61\x62\x63\x64\x65\x66\x67\x68\x69\x6a\x6b\x6c\x6d\x6e\x6f",
];
