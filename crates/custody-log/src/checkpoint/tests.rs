use custody_crypto::SigningKey;
use proptest::prelude::*;

use super::*;
use crate::hash::{EMPTY_TREE_HASH, leaf_hash};
use crate::note::{KeyName, signing_key_from_seed};

/// The body of the spec's example checkpoint ("Transparency Log Checkpoints").
const SPEC_BODY: &str =
    "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n";

fn log_key(name: &str, seed: u8) -> NoteSigner<SigningKey> {
    NoteSigner::new(
        KeyName::new(name).unwrap(),
        signing_key_from_seed(&[seed; 32]).unwrap(),
    )
    .unwrap()
}

fn checkpoint(size: u64) -> Checkpoint {
    Checkpoint::new(
        "example.com/log",
        TreeSize::new(size),
        leaf_hash(&size.to_be_bytes()),
    )
    .unwrap()
}

#[test]
fn the_spec_example_body_parses_and_re_encodes() {
    let parsed = Checkpoint::parse(SPEC_BODY).unwrap();
    assert_eq!(parsed.origin(), "example.com/behind-the-sofa");
    assert_eq!(parsed.size(), TreeSize::new(20_852_163));
    assert_eq!(
        parsed.root().to_string(),
        "0ac5186a91863e8e1d90c808014aa89bf5da8e3ee1d9f07630f0378f68f1ab62"
    );
    assert!(parsed.extensions().is_empty());
    assert_eq!(parsed.to_text(), SPEC_BODY);
}

#[test]
fn extension_lines() {
    let text = format!("{SPEC_BODY}ext one\nsecond-extension\n");
    let parsed = Checkpoint::parse(&text).unwrap();
    assert_eq!(parsed.extensions(), ["ext one", "second-extension"]);
    assert_eq!(parsed.to_text(), text);
    let built = Checkpoint::parse(SPEC_BODY)
        .unwrap()
        .with_extensions(vec!["ext one".into(), "second-extension".into()])
        .unwrap();
    assert_eq!(built, parsed);
    assert!(checkpoint(1).with_extensions(vec![String::new()]).is_err());
    assert!(checkpoint(1).with_extensions(vec!["a\nb".into()]).is_err());
}

fn check_malformed(text: &str, want_line: usize) {
    match Checkpoint::parse(text) {
        Err(Error::Malformed { line, .. }) => assert_eq!(line, want_line, "{text:?}"),
        other => panic!("{text:?}: {other:?}"),
    }
}

#[test]
fn malformed_bodies_are_rejected() {
    let root = "CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=";
    check_malformed("", 1);
    check_malformed("origin", 1);
    check_malformed("\n1\nAA==\n", 1);
    check_malformed("origin\n", 2);
    check_malformed("origin\n1\n", 3);
    for size in [
        "",
        "01",
        "00",
        "-1",
        "+1",
        "1.0",
        " 1",
        "1 ",
        "0x10",
        "18446744073709551616",
    ] {
        check_malformed(&format!("origin\n{size}\n{root}\n"), 2);
    }
    for bad_root in [
        "",
        "CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I",
        "CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2J=",
        "CsUYapGGPo4dkMgIAUqom_Xajj7h2fB2MPA3j2jxq2I=",
        "AAAA",
        "0ac5186a91863e8e1d90c808014aa89bf5da8e3ee1d9f07630f0378f68f1ab62",
    ] {
        check_malformed(&format!("origin\n1\n{bad_root}\n"), 3);
    }
    check_malformed(&format!("origin\n1\n{root}\n\n"), 4);
    check_malformed(&format!("origin\n1\n{root}\next\n\n"), 5);
    check_malformed(&format!("origin\n1\n{root}"), 1);
    check_malformed(&format!("origin\r\n1\n{root}\n"), 1);
    // The largest size parses.
    assert!(Checkpoint::parse(&format!("origin\n18446744073709551615\n{root}\n")).is_ok());
    assert!(Checkpoint::parse(&format!("origin\n0\n{root}\n")).is_ok());
}

#[test]
fn invalid_origins_are_rejected() {
    for origin in ["", "a\nb", "a\u{0}"] {
        assert!(
            matches!(
                Checkpoint::new(origin, TreeSize::new(0), EMPTY_TREE_HASH),
                Err(Error::InvalidField { .. })
            ),
            "{origin:?}"
        );
    }
    // Spaces and plus signs are allowed in origins (clients "MUST NOT assume" the URL form).
    assert!(Checkpoint::new("a b+c", TreeSize::new(0), EMPTY_TREE_HASH).is_ok());
}

#[test]
fn sign_and_verify() {
    let key = log_key("example.com/log", 1);
    let signed = checkpoint(10).sign(&key).unwrap();
    let bytes = signed.to_bytes();
    let parsed = SignedCheckpoint::parse(&bytes).unwrap();
    assert_eq!(parsed, signed);
    assert_eq!(parsed.origin(), "example.com/log");
    let verified = parsed.verify(key.verifier()).unwrap();
    assert_eq!(verified.checkpoint(), &checkpoint(10));
    assert_eq!(
        verified.tree_head(),
        TreeHead::new(TreeSize::new(10), checkpoint(10).root())
    );
    assert_eq!(verified.log_keys().collect::<Vec<_>>(), [key.verifier()]);
    assert_eq!(verified.to_bytes(), bytes);
}

#[test]
fn the_log_key_must_be_named_after_the_origin() {
    let other = log_key("example.com/other-log", 1);
    assert!(matches!(
        checkpoint(1).sign(&other),
        Err(Error::OriginMismatch { .. })
    ));
    // A checkpoint signed by a key named differently from its origin (as another
    // implementation may do) does not verify under that key.
    let note = note::Note::new(checkpoint(1).to_text())
        .unwrap()
        .sign(&other)
        .unwrap();
    let parsed = SignedCheckpoint::parse(&note.to_bytes()).unwrap();
    assert!(matches!(
        parsed.verify(other.verifier()),
        Err(Error::OriginMismatch { .. })
    ));
}

#[test]
fn verification_failures() {
    let key = log_key("example.com/log", 1);
    let rotated = log_key("example.com/log", 2);
    let signed = checkpoint(10).sign(&key).unwrap();

    // Another key of the same log did not sign it.
    assert!(matches!(
        signed.verify(rotated.verifier()),
        Err(Error::Note(note::Error::NoVerifiedSignature { .. }))
    ));
    // During a rotation either key is accepted.
    let both = [rotated.verifier().clone(), key.verifier().clone()];
    assert!(signed.verify_any(&both).is_ok());

    // A changed size is caught by the signature.
    let text = String::from_utf8(signed.to_bytes()).unwrap();
    let tampered = text.replacen("\n10\n", "\n11\n", 1);
    let parsed = SignedCheckpoint::parse(tampered.as_bytes()).unwrap();
    assert!(matches!(
        parsed.verify(key.verifier()),
        Err(Error::Note(note::Error::InvalidSignature { .. }))
    ));
}

#[test]
fn other_signatures_are_ignored_and_kept() {
    let key = log_key("example.com/log", 1);
    let witness = log_key("witness.example/w1", 2);
    let mut signed = checkpoint(3).sign(&key).unwrap();
    let mut note = signed.note().clone();
    note.sign(&witness).unwrap();
    let line = note.signatures()[1].clone();
    signed.add_signature(line.clone());
    signed.add_signature(line.clone());
    assert_eq!(signed.note().signatures().len(), 2);

    let mut verified = signed.verify(key.verifier()).unwrap();
    assert_eq!(verified.log_keys().count(), 1);
    assert_eq!(verified.note().signatures().len(), 2);
    verified.add_signature(line);
    assert_eq!(verified.note().signatures().len(), 2);
}

#[test]
fn a_note_that_is_not_a_checkpoint_is_rejected() {
    let key = log_key("example.com/log", 1);
    let note = note::Note::new("example.com/log\nnot a size\n")
        .unwrap()
        .sign(&key)
        .unwrap();
    assert!(matches!(
        SignedCheckpoint::parse(&note.to_bytes()),
        Err(Error::Malformed { line: 2, .. })
    ));
}

proptest! {
    #[test]
    fn text_round_trip(
        origin in "[!-~]{1,40}",
        size in any::<u64>(),
        root in any::<[u8; 32]>(),
        extensions in proptest::collection::vec("[ -~]{1,20}", 0..4),
    ) {
        let checkpoint = Checkpoint::new(origin, TreeSize::new(size), Hash::from_bytes(root))
            .unwrap()
            .with_extensions(extensions)
            .unwrap();
        let text = checkpoint.to_text();
        prop_assert_eq!(Checkpoint::parse(&text).unwrap(), checkpoint);
    }

    #[test]
    fn parsing_arbitrary_text_never_panics(text in "(?s).{0,200}") {
        let _ = Checkpoint::parse(&text);
        let _ = SignedCheckpoint::parse(text.as_bytes());
    }
}
