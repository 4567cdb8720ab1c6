use std::sync::{Arc, Barrier};

use custody_crypto::{KeyAlgorithm, SigningKey};
use custody_log::checkpoint::{Checkpoint, SignedCheckpoint, TreeHead};
use custody_log::cosignature::{Timestamp, WitnessPolicy};
use custody_log::note::{KeyName, NoteSigner, NoteVerifier};
use custody_log::witness::{AddCheckpointRequest, parse_response};
use custody_log::{MemoryTree, TreeSize, leaf_hash, proof, root_hash};

use super::{Witness, WitnessDir, initialize};
use crate::Code;
use crate::keys::NewKeyProtection;

const ORIGIN: &str = "log.custody.test/witnessed";

struct Fixture {
    _tmp: tempfile::TempDir,
    dir: WitnessDir,
    log: NoteSigner<SigningKey>,
}

fn fixture() -> Fixture {
    let tmp = tempfile::tempdir().unwrap();
    let dir = WitnessDir::new(&tmp.path().join("witness"));
    initialize(
        &dir,
        "witness.custody.test/w1",
        &NewKeyProtection::Unencrypted,
    )
    .unwrap();
    let log = NoteSigner::new(
        KeyName::new(ORIGIN).unwrap(),
        SigningKey::generate(KeyAlgorithm::Ed25519).unwrap(),
    )
    .unwrap();
    Fixture {
        _tmp: tmp,
        dir,
        log,
    }
}

impl Fixture {
    fn open(&self) -> Witness {
        let cosigner = self
            .dir
            .cosigner(&mut || panic!("the key is not encrypted"))
            .unwrap();
        Witness::open(&self.dir, cosigner, vec![self.log.verifier().clone()]).unwrap()
    }

    /// A request for the first `size` leaves of the log `seed` (different seeds fork), with a
    /// proof from `old`.
    fn request(&self, seed: u8, old: u64, size: u64) -> (Vec<u8>, SignedCheckpoint) {
        let tree = MemoryTree::from_leaf_hashes((0..size).map(|i| leaf_hash(&[seed, i as u8])));
        let checkpoint = Checkpoint::new(ORIGIN, tree.size(), tree.root())
            .unwrap()
            .sign(&self.log)
            .unwrap();
        let path = if old == 0 || old > size {
            Vec::new()
        } else {
            proof::consistency_proof(&tree, TreeSize::new(old), tree.size()).unwrap()
        };
        let body = AddCheckpointRequest::new(TreeSize::new(old), path, checkpoint.clone())
            .unwrap()
            .to_bytes();
        (body, checkpoint)
    }
}

fn head(seed: u8, size: u64) -> TreeHead {
    let tree = MemoryTree::from_leaf_hashes((0..size).map(|i| leaf_hash(&[seed, i as u8])));
    TreeHead::new(
        TreeSize::new(size),
        root_hash(&tree, TreeSize::new(size)).unwrap(),
    )
}

fn now() -> Timestamp {
    Timestamp::from_unix_seconds(1_700_000_000).unwrap()
}

fn refused(witness: &Witness, body: &[u8]) -> Code {
    witness
        .add_checkpoint(body, now())
        .unwrap_err()
        .error()
        .code()
}

/// The response verifies as a cosignature by the witness on the checkpoint.
fn assert_cosigned(
    response: &str,
    checkpoint: &SignedCheckpoint,
    log: &NoteVerifier,
    witness: &NoteVerifier,
) {
    let mut verified = checkpoint.verify(log).unwrap();
    for line in parse_response(response.as_bytes()).unwrap() {
        verified.add_signature(line);
    }
    let witnessed = WitnessPolicy::new(vec![witness.clone()], 1)
        .unwrap()
        .check(&verified)
        .unwrap();
    assert_eq!(witnessed.cosignatures()[0].timestamp(), now());
}

#[test]
fn witness_state_persists_across_reopen() {
    let f = fixture();
    let witness = f.open();
    let vkey = f.dir.verifier().unwrap();
    assert_eq!(witness.verifier(), &vkey);
    assert_eq!(witness.latest(ORIGIN).unwrap(), None);

    let (body, checkpoint) = f.request(1, 0, 3);
    let response = witness.add_checkpoint(&body, now()).unwrap();
    assert_cosigned(&response, &checkpoint, f.log.verifier(), &vkey);
    drop(witness);

    // A restarted witness remembers size 3: a log that forgot is told the size.
    let witness = f.open();
    assert_eq!(witness.latest(ORIGIN).unwrap(), Some(head(1, 3)));
    let (body, _) = f.request(1, 0, 5);
    let err = witness.add_checkpoint(&body, now()).unwrap_err();
    assert_eq!(err.error().code(), Code::WitnessConflict);
    assert_eq!(err.conflict_size(), Some(TreeSize::new(3)));

    let (body, checkpoint) = f.request(1, 3, 5);
    let response = witness.add_checkpoint(&body, now()).unwrap();
    assert_cosigned(&response, &checkpoint, f.log.verifier(), &vkey);
    // The same checkpoint again is cosigned again: it is consistent with itself.
    let (body, _) = f.request(1, 5, 5);
    witness.add_checkpoint(&body, now()).unwrap();
    drop(witness);
    assert_eq!(f.open().latest(ORIGIN).unwrap(), Some(head(1, 5)));
}

#[test]
fn witness_refuses_rollback_and_fork() {
    let f = fixture();
    let witness = f.open();
    let (body, _) = f.request(1, 0, 5);
    witness.add_checkpoint(&body, now()).unwrap();

    // Rollback: an old size above the checkpoint's size.
    let (body, _) = f.request(1, 5, 3);
    assert_eq!(refused(&witness, &body), Code::WitnessRequestMalformed);
    // A smaller checkpoint from its own old size is a conflict with the record.
    let (body, _) = f.request(1, 3, 3);
    assert_eq!(refused(&witness, &body), Code::WitnessConflict);
    // A fork of the same size: a conflict (tlog-witness says 409).
    let (body, _) = f.request(2, 5, 5);
    assert_eq!(refused(&witness, &body), Code::WitnessConflict);
    // A fork that grew: its proof from 5 does not lead from the cosigned root.
    let (body, _) = f.request(2, 5, 8);
    assert_eq!(refused(&witness, &body), Code::WitnessProofInvalid);
    // Nothing refused changed the record, also on disk.
    drop(witness);
    let witness = f.open();
    assert_eq!(witness.latest(ORIGIN).unwrap(), Some(head(1, 5)));
    let (body, _) = f.request(1, 5, 8);
    witness.add_checkpoint(&body, now()).unwrap();
}

#[test]
fn witness_refuses_unknown_origin_bad_signature_and_malformed_body() {
    let f = fixture();
    let witness = f.open();
    let other = NoteSigner::new(
        KeyName::new("log.custody.test/other").unwrap(),
        SigningKey::generate(KeyAlgorithm::Ed25519).unwrap(),
    )
    .unwrap();
    let tree = MemoryTree::from_leaf_hashes([leaf_hash(b"x")]);
    let signed = |origin: &str, key: &NoteSigner<SigningKey>| {
        let cp = Checkpoint::new(origin, tree.size(), tree.root())
            .unwrap()
            .sign(key)
            .unwrap();
        AddCheckpointRequest::new(TreeSize::new(0), Vec::new(), cp)
            .unwrap()
            .to_bytes()
    };
    assert_eq!(
        refused(&witness, &signed("log.custody.test/other", &other)),
        Code::WitnessUnknownLog
    );
    // The right origin, signed by an impostor key of the same name.
    let impostor = NoteSigner::new(
        KeyName::new(ORIGIN).unwrap(),
        SigningKey::generate(KeyAlgorithm::Ed25519).unwrap(),
    )
    .unwrap();
    assert_eq!(
        refused(&witness, &signed(ORIGIN, &impostor)),
        Code::WitnessSignatureRejected
    );
    assert_eq!(
        refused(&witness, b"old 0\nnot a checkpoint"),
        Code::WitnessRequestMalformed
    );
    assert_eq!(witness.latest(ORIGIN).unwrap(), None);
}

#[test]
fn witness_refuses_to_cosign_over_a_corrupt_record() {
    let f = fixture();
    let witness = f.open();
    let (body, _) = f.request(1, 0, 2);
    witness.add_checkpoint(&body, now()).unwrap();
    let path = f.dir.state_file(ORIGIN);
    std::fs::write(&path, b"{\"origin\": \"someone else\"}").unwrap();
    let (body, _) = f.request(1, 0, 4);
    assert_eq!(refused(&witness, &body), Code::WitnessStateInvalid);
}

#[test]
fn witness_serializes_concurrent_requests_for_one_log() {
    const THREADS: u64 = 8;
    let f = fixture();
    let witness = Arc::new(f.open());
    let barrier = Arc::new(Barrier::new(THREADS as usize));
    // Every request claims the witness never saw the log; only one may be cosigned.
    let threads: Vec<_> = (1..=THREADS)
        .map(|size| {
            let (body, _) = f.request(1, 0, size);
            let witness = Arc::clone(&witness);
            let barrier = Arc::clone(&barrier);
            std::thread::spawn(move || {
                barrier.wait();
                (size, witness.add_checkpoint(&body, now()))
            })
        })
        .collect();
    let results: Vec<_> = threads.into_iter().map(|t| t.join().unwrap()).collect();
    let accepted: Vec<u64> = results
        .iter()
        .filter(|(_, r)| r.is_ok())
        .map(|(size, _)| *size)
        .collect();
    assert_eq!(accepted.len(), 1, "exactly one is cosigned: {results:?}");
    let winner = TreeSize::new(accepted[0]);
    for (_, result) in &results {
        if let Err(e) = result {
            assert_eq!(e.error().code(), Code::WitnessConflict);
            assert_eq!(e.conflict_size(), Some(winner));
        }
    }
    assert_eq!(witness.latest(ORIGIN).unwrap(), Some(head(1, accepted[0])));
}
