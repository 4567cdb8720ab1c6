use std::sync::Arc;

use custody_crypto::{KeyAlgorithm, SigningKey};
use custody_log::note::{KeyName, NoteSigner, NoteVerifier};
use custody_log::{LeafIndex, TreeSize, leaf_hash, proof};

use super::*;

const ORIGIN: &str = "log.custody.test/one";

fn signer(key: &SigningKey) -> Box<dyn CheckpointSigner> {
    let pem = key
        .to_pkcs8_pem(custody_crypto::KeyProtection::Unencrypted)
        .unwrap();
    let copy = SigningKey::from_pkcs8_pem(&pem, None).unwrap();
    Box::new(NoteSigner::new(KeyName::new(ORIGIN).unwrap(), copy).unwrap())
}

fn verifier(key: &SigningKey) -> NoteVerifier {
    NoteVerifier::ed25519(KeyName::new(ORIGIN).unwrap(), key.public_key().clone()).unwrap()
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
}

/// Checks a receipt the way an offline verifier does: the checkpoint's signature, then the
/// inclusion proof against the checkpoint's root and size.
fn check_receipt(receipt: &Receipt, entry: &[u8], key: &SigningKey) {
    let note = custody_log::note::open(receipt.checkpoint.as_bytes(), &[verifier(key)]).unwrap();
    let body = checkpoint_body(ORIGIN, receipt.tree_size, &receipt.root);
    assert_eq!(note.text(), body);
    proof::verify_inclusion(
        &leaf_hash(entry),
        receipt.index,
        receipt.tree_size,
        &receipt.proof,
        &receipt.root,
    )
    .unwrap();
}

#[test]
fn concurrent_submissions_are_logged_once_with_valid_proofs() {
    let dir = tempfile::tempdir().unwrap();
    let key = SigningKey::generate(KeyAlgorithm::Ed25519).unwrap();
    let log = Arc::new(
        Log::open(
            &dir.path().join("log.db"),
            signer(&key),
            SequencerConfig::default(),
        )
        .unwrap(),
    );
    assert_eq!(log.published().size, TreeSize::new(0));
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .unwrap();
    let receipts = rt.block_on(async {
        let mut tasks = Vec::new();
        for i in 0..600u32 {
            let log = Arc::clone(&log);
            tasks.push(tokio::spawn(async move {
                let entry = format!("entry {i}").into_bytes();
                (entry.clone(), log.submit(entry).await.unwrap())
            }));
        }
        let mut out = Vec::new();
        for t in tasks {
            out.push(t.await.unwrap());
        }
        out
    });
    let mut indexes: Vec<u64> = receipts.iter().map(|(_, r)| r.index.get()).collect();
    indexes.sort_unstable();
    assert_eq!(
        indexes,
        (0..600).collect::<Vec<_>>(),
        "every entry gets its own index"
    );
    for (entry, receipt) in &receipts {
        assert!(!receipt.duplicate);
        check_receipt(receipt, entry, &key);
    }
    assert_eq!(log.published().size, TreeSize::new(600));

    // A duplicate gets the existing index and a fresh proof.
    let again = rt.block_on(log.submit(b"entry 7".to_vec())).unwrap();
    assert!(again.duplicate);
    let first = receipts.iter().find(|(e, _)| e == b"entry 7").unwrap();
    assert_eq!(again.index, first.1.index);
    check_receipt(&again, b"entry 7", &key);
    assert_eq!(log.published().size, TreeSize::new(600));

    // Tiles and bundles are served up to the published size only.
    assert_eq!(log.tile(0, 0, 256).unwrap().unwrap().len(), 256 * 32);
    assert_eq!(log.tile(0, 2, 88).unwrap().unwrap().len(), 88 * 32);
    assert!(log.tile(0, 2, 89).unwrap().is_none());
    assert!(log.tile(1, 0, 3).unwrap().is_none());
    let bundle = log.bundle(2, 88).unwrap().unwrap();
    assert_eq!(split_bundle(&bundle).unwrap().len(), 88);
    assert!(log.bundle(2, 89).unwrap().is_none());
    // Second reads come from the in-memory cache of immutable full tiles and bundles, and
    // must equal the first, at every width.
    let first = log.tile(0, 1, 256).unwrap().unwrap();
    assert_eq!(log.tile(0, 1, 256).unwrap().unwrap(), first);
    assert_eq!(
        log.tile(0, 1, 10).unwrap().unwrap(),
        first[..10 * 32].to_vec()
    );
    let full = log.bundle(1, 256).unwrap().unwrap();
    assert_eq!(log.bundle(1, 256).unwrap().unwrap(), full);
    let cut = log.bundle(1, 3).unwrap().unwrap();
    assert_eq!(
        split_bundle(&cut).unwrap(),
        split_bundle(&full).unwrap()[..3].to_vec()
    );
    // The cache never serves beyond the published tree.
    assert!(log.tile(0, 3, 1).unwrap().is_none());
}

#[test]
fn a_reopened_log_continues_consistently() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("log.db");
    let key = SigningKey::generate(KeyAlgorithm::Ed25519).unwrap();
    let rt = runtime();
    let (old_size, old_root) = {
        let log = Log::open(&path, signer(&key), SequencerConfig::default()).unwrap();
        for i in 0..300u32 {
            rt.block_on(log.submit(format!("a{i}").into_bytes()))
                .unwrap();
        }
        let p = log.published();
        (p.size, p.root)
    };
    let log = Log::open(&path, signer(&key), SequencerConfig::default()).unwrap();
    assert_eq!(log.published().size, old_size);
    assert_eq!(log.published().root, old_root);
    let mut last = None;
    for i in 0..50u32 {
        let entry = format!("b{i}").into_bytes();
        let r = rt.block_on(log.submit(entry.clone())).unwrap();
        check_receipt(&r, &entry, &key);
        last = Some(r);
    }
    let last = last.unwrap();
    assert_eq!(last.index, LeafIndex::new(349));
    // The new tree extends the old one.
    let tiles = SqliteLogStore::open_read_only(&path).unwrap();
    let tree = custody_log::integrate::TiledTree::new(&tiles, last.tree_size);
    let path_hashes = proof::consistency_proof(&tree, old_size, last.tree_size).unwrap();
    proof::verify_consistency(
        old_size,
        last.tree_size,
        &old_root,
        &last.root,
        &path_hashes,
    )
    .unwrap();
    // Entries logged before the restart are still duplicates.
    assert!(rt.block_on(log.submit(b"a5".to_vec())).unwrap().duplicate);
}
