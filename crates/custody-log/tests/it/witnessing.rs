//! A log, three witnesses and a client, end to end, through the encoded bodies only:
//! the log grows, asks the witnesses to cosign over `add-checkpoint` request bodies, collects
//! their response bodies, and the client accepts an inclusion proof only under a checkpoint
//! that two of the three witnesses cosigned.
//! A log that forks or rolls back its history is refused with the spec's status codes.

use std::collections::HashMap;

use custody_crypto::{KeyAlgorithm, SigningKey};
use custody_log::checkpoint::{Checkpoint, SignedCheckpoint, TreeHead};
use custody_log::cosignature::{Cosigner, Timestamp, WitnessPolicy};
use custody_log::note::{KeyName, NoteSigner, NoteVerifier};
use custody_log::witness::{self, AddCheckpointRequest};
use custody_log::{LeafIndex, MemoryTree, TreeSize, leaf_hash, proof, root_hash};

const ORIGIN: &str = "log.example/custody";

fn ed25519() -> SigningKey {
    SigningKey::generate(KeyAlgorithm::Ed25519).unwrap()
}

/// A witness: its key, the log keys it trusts and its record of the latest cosigned tree
/// head per origin.
struct Witness {
    cosigner: Cosigner<SigningKey>,
    log_keys: Vec<NoteVerifier>,
    records: HashMap<String, TreeHead>,
}

impl Witness {
    fn new(name: &str, log_key: &NoteVerifier) -> Self {
        Self {
            cosigner: Cosigner::new(KeyName::new(name).unwrap(), ed25519()).unwrap(),
            log_keys: vec![log_key.clone()],
            records: HashMap::new(),
        }
    }

    /// Handles an `add-checkpoint` body: the status code and the response body.
    fn add_checkpoint(&mut self, body: &[u8], now: u64) -> (u16, String) {
        let records = &self.records;
        match witness::process_add_checkpoint(body, &self.log_keys, |origin| {
            records.get(origin).copied()
        }) {
            Ok(accepted) => {
                self.records.insert(
                    accepted.checkpoint().origin().to_owned(),
                    accepted.tree_head(),
                );
                let cosignature = self
                    .cosigner
                    .cosign(
                        accepted.checkpoint(),
                        Timestamp::from_unix_seconds(now).unwrap(),
                    )
                    .unwrap();
                (accepted.status(), witness::response_body(&[cosignature]))
            }
            Err(rejection) => (rejection.status(), rejection.body().unwrap_or_default()),
        }
    }
}

/// A log: its tree, its key, and what it believes each witness last cosigned.
struct Log {
    tree: MemoryTree,
    key: NoteSigner<SigningKey>,
    witnessed: HashMap<usize, TreeSize>,
}

impl Log {
    fn append(&mut self, count: u64) {
        let start = self.tree.size().get();
        for i in start..start + count {
            self.tree.append(leaf_hash(format!("entry {i}").as_bytes()));
        }
    }

    fn checkpoint(&self) -> SignedCheckpoint {
        Checkpoint::new(ORIGIN, self.tree.size(), self.tree.root())
            .unwrap()
            .sign(&self.key)
            .unwrap()
    }

    fn request(&self, old: TreeSize, checkpoint: SignedCheckpoint) -> Vec<u8> {
        let proof = if old.get() == 0 {
            Vec::new()
        } else {
            proof::consistency_proof(&self.tree, old, checkpoint.unverified_checkpoint().size())
                .unwrap()
        };
        AddCheckpointRequest::new(old, proof, checkpoint)
            .unwrap()
            .to_bytes()
    }

    /// Asks every witness to cosign the current checkpoint, retrying once with the size a
    /// witness reports on 409, and returns the checkpoint with the cosignatures it got.
    fn publish(&mut self, witnesses: &mut [Witness], now: u64) -> Vec<u8> {
        let mut checkpoint = self.checkpoint();
        for (i, witness) in witnesses.iter_mut().enumerate() {
            let old = self.witnessed.get(&i).copied().unwrap_or_default();
            let (mut status, mut body) =
                witness.add_checkpoint(&self.request(old, self.checkpoint()), now);
            if status == 409 {
                let old = witness::parse_conflict_body(body.as_bytes()).unwrap();
                (status, body) = witness.add_checkpoint(&self.request(old, self.checkpoint()), now);
            }
            assert_eq!(status, 200, "witness {i}: {body}");
            self.witnessed.insert(i, self.tree.size());
            for line in witness::parse_response(body.as_bytes()).unwrap() {
                checkpoint.add_signature(line);
            }
        }
        checkpoint.to_bytes()
    }
}

#[test]
fn a_client_trusts_only_witnessed_checkpoints() {
    let mut log = Log {
        tree: MemoryTree::new(),
        key: NoteSigner::new(KeyName::new(ORIGIN).unwrap(), ed25519()).unwrap(),
        witnessed: HashMap::new(),
    };
    let log_vkey: NoteVerifier = log.key.verifier().to_string().parse().unwrap();
    let mut witnesses: Vec<Witness> = (1..=3)
        .map(|i| Witness::new(&format!("witness.example/w{i}"), &log_vkey))
        .collect();
    let policy = WitnessPolicy::new(
        witnesses
            .iter()
            .map(|w| w.cosigner.verifier().to_string().parse().unwrap())
            .collect(),
        2,
    )
    .unwrap();

    let mut published = Vec::new();
    for (round, grow) in [1u64, 99, 150, 0, 750].into_iter().enumerate() {
        log.append(grow);
        // One witness restarts with an empty record before round 3: the log learns its size
        // from the 409 response and tries again.
        if round == 3 {
            witnesses[1].records.clear();
        }
        published.push(log.publish(&mut witnesses, 1_700_000_000 + round as u64));
    }

    // The client verifies the latest checkpoint and its cosignatures.
    let latest = published.last().unwrap();
    let checkpoint = SignedCheckpoint::parse(latest)
        .unwrap()
        .verify(&log_vkey)
        .unwrap();
    assert_eq!(checkpoint.size(), TreeSize::new(1000));
    let witnessed = policy.check(&checkpoint).unwrap();
    assert_eq!(witnessed.cosignatures().len(), 3);
    assert!(
        witnessed
            .cosignatures()
            .iter()
            .all(|c| c.timestamp().unix_seconds() == 1_700_000_004)
    );

    // An inclusion proof under the witnessed checkpoint.
    let index = LeafIndex::new(640);
    let path = proof::inclusion_proof(&log.tree, index, checkpoint.size()).unwrap();
    proof::verify_inclusion(
        &leaf_hash(b"entry 640"),
        index,
        witnessed.checkpoint().size(),
        &path,
        &witnessed.checkpoint().root(),
    )
    .unwrap();

    // A checkpoint with a single cosignature does not meet the policy.
    let mut thin = log.checkpoint();
    let one = witnesses[0]
        .cosigner
        .cosign(&checkpoint, Timestamp::from_unix_seconds(1).unwrap())
        .unwrap();
    thin.add_signature(one.to_note_signature());
    let thin = thin.verify(&log_vkey).unwrap();
    assert!(matches!(
        policy.check(&thin),
        Err(custody_log::cosignature::Error::ThresholdNotMet { verified: 1, .. })
    ));
}

#[test]
fn witnesses_refuse_forks_and_rollbacks() {
    let key = NoteSigner::new(KeyName::new(ORIGIN).unwrap(), ed25519()).unwrap();
    let mut witness = Witness::new("witness.example/w1", key.verifier());
    let honest = MemoryTree::from_leaf_hashes((0..100u32).map(|i| leaf_hash(&i.to_be_bytes())));
    let sign = |size: u64, root| {
        Checkpoint::new(ORIGIN, TreeSize::new(size), root)
            .unwrap()
            .sign(&key)
            .unwrap()
    };
    let request = |old: u64, proof: Vec<_>, checkpoint| {
        AddCheckpointRequest::new(TreeSize::new(old), proof, checkpoint)
            .unwrap()
            .to_bytes()
    };
    let root_at = |size| root_hash(&honest, TreeSize::new(size)).unwrap();

    // The witness cosigns size 60.
    let (status, _) = witness.add_checkpoint(&request(0, Vec::new(), sign(60, root_at(60))), 1);
    assert_eq!(status, 200);

    // A fork: size 60 with another history (tlog-witness: 409 Conflict).
    let fork = MemoryTree::from_leaf_hashes((0..60u32).map(|i| leaf_hash(&(i + 1).to_be_bytes())));
    assert_eq!(
        witness
            .add_checkpoint(&request(60, Vec::new(), sign(60, fork.root())), 2)
            .0,
        409
    );
    // A fork that grows: the proof cannot connect it to what the witness cosigned.
    let bigger_fork =
        MemoryTree::from_leaf_hashes((0..80u32).map(|i| leaf_hash(&(i + 1).to_be_bytes())));
    let proof =
        proof::consistency_proof(&bigger_fork, TreeSize::new(60), TreeSize::new(80)).unwrap();
    assert_eq!(
        witness
            .add_checkpoint(&request(60, proof, sign(80, bigger_fork.root())), 3)
            .0,
        422
    );
    // A rollback to size 40, claiming the witness's size as the old size.
    assert_eq!(
        witness
            .add_checkpoint(&request(60, Vec::new(), sign(40, root_at(40))), 4)
            .0,
        400
    );
    // A rollback that pretends the witness never saw the log.
    let (status, body) = witness.add_checkpoint(&request(0, Vec::new(), sign(40, root_at(40))), 5);
    assert_eq!((status, body.as_str()), (409, "60\n"));
    // None of that moved the witness's record.
    assert_eq!(witness.records[ORIGIN].size(), TreeSize::new(60));

    // The honest extension is cosigned.
    let proof = proof::consistency_proof(&honest, TreeSize::new(60), TreeSize::new(100)).unwrap();
    assert_eq!(
        witness
            .add_checkpoint(&request(60, proof, sign(100, root_at(100))), 6)
            .0,
        200
    );
}
