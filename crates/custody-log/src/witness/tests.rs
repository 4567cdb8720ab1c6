use custody_crypto::SigningKey;
use proptest::prelude::*;

use super::*;
use crate::checkpoint::Checkpoint;
use crate::cosignature::{Cosigner, Timestamp};
use crate::hash::leaf_hash;
use crate::note::{KeyName, NoteSigner, signing_key_from_seed};
use crate::tree::{MemoryTree, root_hash};

const ORIGIN: &str = "example.com/log";

fn log_key(seed: u8) -> NoteSigner<SigningKey> {
    NoteSigner::new(
        KeyName::new(ORIGIN).unwrap(),
        signing_key_from_seed(&[seed; 32]).unwrap(),
    )
    .unwrap()
}

fn tree(size: u64) -> MemoryTree {
    MemoryTree::from_leaf_hashes((0..size).map(|i| leaf_hash(&i.to_be_bytes())))
}

fn head(tree: &MemoryTree, size: u64) -> TreeHead {
    TreeHead::new(
        TreeSize::new(size),
        root_hash(tree, TreeSize::new(size)).unwrap(),
    )
}

fn signed(size: u64, root: Hash) -> SignedCheckpoint {
    Checkpoint::new(ORIGIN, TreeSize::new(size), root)
        .unwrap()
        .sign(&log_key(1))
        .unwrap()
}

fn verified(size: u64, root: Hash) -> VerifiedCheckpoint {
    signed(size, root).verify(log_key(1).verifier()).unwrap()
}

fn consistency(tree: &MemoryTree, old: u64, new: u64) -> Vec<Hash> {
    proof::consistency_proof(tree, TreeSize::new(old), TreeSize::new(new)).unwrap()
}

/// Runs [`decide`] and returns the status code and the outcome's name.
fn decision(
    latest: Option<TreeHead>,
    old: u64,
    proof: &[Hash],
    checkpoint: VerifiedCheckpoint,
) -> (u16, String) {
    match decide(latest, TreeSize::new(old), proof, checkpoint) {
        Ok(accepted) => (accepted.status(), "Accept".to_owned()),
        Err(rejection) => {
            let name = format!("{rejection:?}");
            let name = name
                .split([' ', '(', '{'])
                .next()
                .unwrap_or_default()
                .to_owned();
            (rejection.status(), name)
        }
    }
}

#[test]
fn decisions_follow_the_spec_status_codes() {
    let t = tree(20);
    let at = |size| verified(size, head(&t, size).root());
    let rewritten = leaf_hash(b"rewritten history");
    type Case<'a> = (&'a str, (u16, String), (u16, &'a str));
    let cases: Vec<Case<'_>> = vec![
        (
            "first checkpoint, old size 0",
            decision(None, 0, &[], at(8)),
            (200, "Accept"),
        ),
        (
            "growing from the recorded size",
            decision(Some(head(&t, 5)), 5, &consistency(&t, 5, 8), at(8)),
            (200, "Accept"),
        ),
        (
            "same size, same root: cosign again",
            decision(Some(head(&t, 8)), 8, &[], at(8)),
            (200, "Accept"),
        ),
        (
            "empty tree",
            decision(None, 0, &[], verified(0, EMPTY_TREE_HASH)),
            (200, "Accept"),
        ),
        (
            "old size above the checkpoint size",
            decision(Some(head(&t, 8)), 8, &[], at(5)),
            (400, "RollbackRefused"),
        ),
        (
            "old size above the checkpoint size, unrecorded",
            decision(None, 9, &[], at(5)),
            (400, "RollbackRefused"),
        ),
        (
            "old size is not the recorded size",
            decision(Some(head(&t, 5)), 3, &consistency(&t, 3, 8), at(8)),
            (409, "Conflict"),
        ),
        (
            "no record but an old size",
            decision(None, 5, &consistency(&t, 5, 8), at(8)),
            (409, "Conflict"),
        ),
        (
            "a record but old size 0",
            decision(Some(head(&t, 5)), 0, &[], at(8)),
            (409, "Conflict"),
        ),
        (
            "size 0 with another root",
            decision(None, 0, &[], verified(0, rewritten)),
            (422, "EmptyTreeRootMismatch"),
        ),
        (
            "a proof from size 0",
            decision(None, 0, &consistency(&t, 5, 8), at(8)),
            (422, "UnexpectedProof"),
        ),
        (
            "a proof that does not verify",
            decision(Some(head(&t, 5)), 5, &consistency(&t, 4, 8), at(8)),
            (422, "InvalidProof"),
        ),
        (
            "a proof to another root",
            decision(
                Some(head(&t, 5)),
                5,
                &consistency(&t, 5, 8),
                verified(8, rewritten),
            ),
            (422, "InvalidProof"),
        ),
        (
            "no proof",
            decision(Some(head(&t, 5)), 5, &[], at(8)),
            (422, "InvalidProof"),
        ),
        (
            "same size, another root",
            decision(Some(head(&t, 8)), 8, &[], verified(8, rewritten)),
            (409, "RootMismatch"),
        ),
        (
            "same size, a proof",
            decision(Some(head(&t, 8)), 8, &consistency(&t, 5, 8), at(8)),
            (422, "InvalidProof"),
        ),
    ];
    for (case, got, (status, name)) in cases {
        assert_eq!((got.0, got.1.as_str()), (status, name), "{case}");
    }
}

#[test]
fn conflicts_carry_the_recorded_size() {
    let t = tree(8);
    let rejection = decide(
        Some(head(&t, 5)),
        TreeSize::new(3),
        &[],
        verified(8, t.root()),
    )
    .unwrap_err();
    assert!(
        matches!(rejection, Rejection::Conflict { latest_size } if latest_size == TreeSize::new(5))
    );
    assert_eq!(rejection.body().as_deref(), Some("5\n"));
    assert_eq!(parse_conflict_body(b"5\n").unwrap(), TreeSize::new(5));
    for bad in [&b"5"[..], b"05\n", b"five\n", b"5\n\n", b""] {
        assert!(parse_conflict_body(bad).is_err(), "{bad:?}");
    }
    assert_eq!(Rejection::UnexpectedProof { lines: 1 }.body(), None);
}

#[test]
fn accepted_checkpoints_are_recorded_and_cosigned() {
    let t = tree(8);
    let accepted = decide(
        Some(head(&t, 5)),
        TreeSize::new(5),
        &consistency(&t, 5, 8),
        verified(8, t.root()),
    )
    .unwrap();
    assert_eq!(accepted.tree_head(), head(&t, 8));
    let w = Cosigner::new(
        KeyName::new("witness.example/w1").unwrap(),
        signing_key_from_seed(&[7; 32]).unwrap(),
    )
    .unwrap();
    let cosignature = w
        .cosign(
            accepted.checkpoint(),
            Timestamp::from_unix_seconds(99).unwrap(),
        )
        .unwrap();
    let body = response_body(&[cosignature.clone(), cosignature.clone()]);
    assert_eq!(body, format!("{cosignature}\n{cosignature}\n"));
    let lines = parse_response(body.as_bytes()).unwrap();
    assert_eq!(
        lines,
        [
            cosignature.to_note_signature(),
            cosignature.to_note_signature()
        ]
    );
    assert!(parse_response(b"").is_err());
    assert!(parse_response(b"not a signature\n").is_err());
}

#[test]
fn request_bodies_round_trip() {
    let t = tree(8);
    let request =
        AddCheckpointRequest::new(TreeSize::new(5), consistency(&t, 5, 8), signed(8, t.root()))
            .unwrap();
    let body = request.to_bytes();
    let text = String::from_utf8(body.clone()).unwrap();
    assert!(text.starts_with("old 5\n"));
    assert!(text.contains("\n\nexample.com/log\n8\n"));
    let parsed = AddCheckpointRequest::parse(&body).unwrap();
    assert_eq!(parsed, request);
    assert_eq!(parsed.to_bytes(), body);

    let empty =
        AddCheckpointRequest::new(TreeSize::new(0), Vec::new(), signed(8, t.root())).unwrap();
    assert!(
        String::from_utf8(empty.to_bytes())
            .unwrap()
            .starts_with("old 0\n\nexample.com/log\n")
    );
    assert_eq!(
        AddCheckpointRequest::parse(&empty.to_bytes()).unwrap(),
        empty
    );
}

fn malformed_line(body: &str) -> usize {
    match AddCheckpointRequest::parse(body.as_bytes()) {
        Err(Error::Malformed { line, .. }) => line,
        other => panic!("{body:?}: {other:?}"),
    }
}

#[test]
fn malformed_requests_are_rejected() {
    let checkpoint = String::from_utf8(signed(8, tree(8).root()).to_bytes()).unwrap();
    let hash = "PlRNCrwHpqhGrupue0L7gxbjbMiKA9temvuZZDDpkaw=";
    assert!(
        AddCheckpointRequest::parse(format!("old 5\n{hash}\n\n{checkpoint}").as_bytes()).is_ok()
    );
    for old in [
        "old 05", "old  5", "old", "old -1", "Old 5", "old 5 ", "new 5", "",
    ] {
        assert_eq!(
            malformed_line(&format!("{old}\n\n{checkpoint}")),
            1,
            "{old:?}"
        );
    }
    assert_eq!(
        malformed_line(&format!("old 5\n{hash}\nAAAA\n\n{checkpoint}")),
        3
    );
    assert_eq!(
        malformed_line(&format!("old 5\n{}\n\n{checkpoint}", &hash[..43])),
        2
    );
    assert_eq!(
        malformed_line(&format!("old 5\n{hash} \n\n{checkpoint}")),
        2
    );
    assert_eq!(malformed_line(&format!("old 5\r\n\n{checkpoint}")), 1);
    assert_eq!(malformed_line("old 5\n"), 2);
    assert_eq!(malformed_line("old 5"), 1);
    // No blank line before the checkpoint: its origin is taken as a proof line.
    assert_eq!(malformed_line(&format!("old 5\n{checkpoint}")), 2);
    // The checkpoint itself is checked.
    assert!(matches!(
        AddCheckpointRequest::parse(
            format!("old 5\n\n{}", checkpoint.replacen("\n8\n", "\n08\n", 1)).as_bytes()
        ),
        Err(Error::Checkpoint(_))
    ));
}

#[test]
fn at_most_63_proof_lines() {
    let checkpoint = String::from_utf8(signed(8, tree(8).root()).to_bytes()).unwrap();
    let hash = "PlRNCrwHpqhGrupue0L7gxbjbMiKA9temvuZZDDpkaw=\n";
    let body = |lines: usize| format!("old 5\n{}\n{checkpoint}", hash.repeat(lines));
    assert_eq!(
        AddCheckpointRequest::parse(body(63).as_bytes())
            .unwrap()
            .proof()
            .len(),
        63
    );
    assert!(matches!(
        AddCheckpointRequest::parse(body(64).as_bytes()),
        Err(Error::TooManyProofLines)
    ));
    let proof = vec![leaf_hash(b"x"); 64];
    assert!(matches!(
        AddCheckpointRequest::new(TreeSize::new(1), proof, signed(8, tree(8).root())),
        Err(Error::TooManyProofLines)
    ));
    // Oversized bodies are refused before parsing.
    let huge = format!("old 5\n\n{}", "x".repeat(2 << 20));
    assert!(matches!(
        AddCheckpointRequest::parse(huge.as_bytes()),
        Err(Error::TooLarge { .. })
    ));
}

#[test]
fn processing_checks_origin_and_signature_first() {
    let t = tree(8);
    let log = log_key(1);
    let keys = [log.verifier().clone()];
    let body = |checkpoint: SignedCheckpoint| {
        AddCheckpointRequest::new(TreeSize::new(0), Vec::new(), checkpoint)
            .unwrap()
            .to_bytes()
    };
    let status = |body: &[u8]| match process_add_checkpoint(body, &keys, |_| None) {
        Ok(accepted) => accepted.status(),
        Err(rejection) => rejection.status(),
    };

    assert_eq!(status(&body(signed(8, t.root()))), 200);
    assert_eq!(status(b"old 0\n"), 400);

    // Another origin, signed by its own key.
    let other = NoteSigner::new(
        KeyName::new("example.com/other").unwrap(),
        signing_key_from_seed(&[2; 32]).unwrap(),
    )
    .unwrap();
    let foreign = Checkpoint::new("example.com/other", TreeSize::new(8), t.root())
        .unwrap()
        .sign(&other)
        .unwrap();
    assert_eq!(status(&body(foreign)), 404);

    // The right origin, signed by a key the witness does not trust for it.
    let impostor = Checkpoint::new(ORIGIN, TreeSize::new(8), t.root())
        .unwrap()
        .sign(&log_key(3))
        .unwrap();
    assert_eq!(status(&body(impostor)), 403);

    // A tampered checkpoint.
    let text = String::from_utf8(body(signed(8, t.root()))).unwrap();
    assert_eq!(status(text.replacen("\n8\n", "\n9\n", 1).as_bytes()), 403);

    // The witness's record is looked up by origin.
    let mut asked = None;
    let result = process_add_checkpoint(&body(signed(8, t.root())), &keys, |origin| {
        asked = Some(origin.to_owned());
        Some(head(&t, 5))
    });
    assert_eq!(asked.as_deref(), Some(ORIGIN));
    assert!(matches!(result, Err(Rejection::Conflict { .. })));
}

proptest! {
    #[test]
    fn decisions_on_honest_logs_accept(old in 0u64..40, grow in 0u64..40) {
        let new = old + grow;
        let t = tree(new);
        let latest = (old > 0).then(|| head(&t, old));
        let proof = if old == 0 { Vec::new() } else { consistency(&t, old, new) };
        let accepted = decide(latest, TreeSize::new(old), &proof, verified(new, t.root()));
        prop_assert!(accepted.is_ok(), "{:?}", accepted.err());
    }

    #[test]
    fn request_parsing_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
        let _ = AddCheckpointRequest::parse(&bytes);
        let _ = parse_response(&bytes);
        let _ = parse_conflict_body(&bytes);
    }
}
