use custody_crypto::SigningKey;
use proptest::prelude::*;

use super::*;
use crate::checkpoint::SignedCheckpoint;
use crate::hash::leaf_hash;
use crate::note::{NoteSigner, signing_key_from_seed};
use crate::tree::TreeSize;

const ORIGIN: &str = "example.com/log";

fn key(seed: u8) -> SigningKey {
    signing_key_from_seed(&[seed; 32]).unwrap()
}

fn log() -> NoteSigner<SigningKey> {
    NoteSigner::new(KeyName::new(ORIGIN).unwrap(), key(100)).unwrap()
}

fn witness(name: &str, seed: u8) -> Cosigner<SigningKey> {
    Cosigner::new(KeyName::new(name).unwrap(), key(seed)).unwrap()
}

fn verified(size: u64) -> VerifiedCheckpoint {
    let log = log();
    Checkpoint::new(ORIGIN, TreeSize::new(size), leaf_hash(&size.to_be_bytes()))
        .unwrap()
        .sign(&log)
        .unwrap()
        .verify(log.verifier())
        .unwrap()
}

fn time(seconds: u64) -> Timestamp {
    Timestamp::from_unix_seconds(seconds).unwrap()
}

#[test]
fn the_signed_message_follows_the_spec_example() {
    // The spec's "Ed25519 signed message" example.
    let checkpoint = Checkpoint::parse(
        "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n",
    )
    .unwrap();
    assert_eq!(
        signed_message(&checkpoint, time(1_679_315_147)),
        b"cosignature/v1\ntime 1679315147\nexample.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n"
    );
    // Extension lines are signed too; a zero timestamp is "0".
    let extended = checkpoint.with_extensions(vec!["ext".into()]).unwrap();
    assert!(signed_message(&extended, time(0)).starts_with(b"cosignature/v1\ntime 0\n"));
    assert!(signed_message(&extended, time(0)).ends_with(b"\next\n"));
}

#[test]
fn timestamps_stop_at_2_63_minus_1() {
    assert_eq!(Timestamp::MAX.unix_seconds(), (1 << 63) - 1);
    assert!(Timestamp::from_unix_seconds((1 << 63) - 1).is_ok());
    assert!(matches!(
        Timestamp::from_unix_seconds(1 << 63),
        Err(Error::TimestampOutOfRange(_))
    ));
}

#[test]
fn cosigner_keys_use_type_0x04() {
    let w = witness("witness.example/w1", 1);
    let verifier = w.verifier();
    assert_eq!(verifier.signature_type(), SignatureType::CosignatureV1);
    let vkey = verifier.to_string();
    let material = base64_decode(vkey.rsplit('+').next().unwrap());
    assert_eq!(material[0], 0x04);
    assert_eq!(vkey.parse::<NoteVerifier>().unwrap(), *verifier);
    // The same key for plain notes has another key ID.
    let plain = NoteSigner::new(KeyName::new("witness.example/w1").unwrap(), key(1)).unwrap();
    assert_ne!(plain.key_hash(), verifier.key_hash());
}

fn base64_decode(text: &str) -> Vec<u8> {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD
        .decode(text)
        .unwrap()
}

#[test]
fn cosign_and_verify() {
    let w = witness("witness.example/w1", 1);
    let checkpoint = verified(5);
    let cosignature = w.cosign(&checkpoint, time(1_700_000_000)).unwrap();
    assert_eq!(cosignature.timestamp(), time(1_700_000_000));
    cosignature
        .verify(w.verifier(), checkpoint.checkpoint())
        .unwrap();

    // The line carries key ID, timestamp and signature: 4 + 8 + 64 bytes.
    let line = cosignature.to_note_signature();
    assert_eq!(line.signature().len(), 72);
    assert_eq!(&line.signature()[..8], &1_700_000_000u64.to_be_bytes());
    assert_eq!(
        Cosignature::from_note_signature(&line).unwrap(),
        cosignature
    );
    assert_eq!(
        NoteSignature::parse_line(&cosignature.to_string()).unwrap(),
        line
    );

    // Against another checkpoint, or with the timestamp changed, it fails.
    assert!(matches!(
        cosignature.verify(w.verifier(), verified(6).checkpoint()),
        Err(Error::InvalidCosignature { .. })
    ));
    let mut bytes = line.signature().to_vec();
    bytes[7] ^= 1;
    let moved = NoteSignature::new(line.name().clone(), line.key_hash(), bytes).unwrap();
    assert!(matches!(
        Cosignature::from_note_signature(&moved)
            .unwrap()
            .verify(w.verifier(), checkpoint.checkpoint()),
        Err(Error::InvalidCosignature { .. })
    ));
    // A plain Ed25519 key is not a witness key.
    let plain = NoteVerifier::ed25519(
        KeyName::new("witness.example/w1").unwrap(),
        w.verifier().public_key().clone(),
    )
    .unwrap();
    assert!(matches!(
        cosignature.verify(&plain, checkpoint.checkpoint()),
        Err(Error::NotCosignatureKey { .. })
    ));
}

#[test]
fn the_note_layer_verifies_cosignatures_too() {
    let w = witness("witness.example/w1", 1);
    let mut checkpoint = verified(5);
    let cosignature = w.cosign(&checkpoint, time(42)).unwrap();
    checkpoint.add_signature(cosignature.to_note_signature());
    let opened = note::open(&checkpoint.to_bytes(), &[w.verifier().clone()]).unwrap();
    assert_eq!(opened.verified()[0].timestamp(), Some(time(42)));
}

#[test]
fn malformed_cosignature_lines() {
    let name = KeyName::new("w").unwrap();
    for length in [1, 71, 73, 64] {
        let line = NoteSignature::new(name.clone(), KeyHash::new(1), vec![0; length]).unwrap();
        assert!(matches!(
            Cosignature::from_note_signature(&line),
            Err(Error::MalformedCosignature { .. })
        ));
    }
    let mut bytes = vec![0xff; 8];
    bytes.extend([0; 64]);
    let line = NoteSignature::new(name, KeyHash::new(1), bytes).unwrap();
    assert!(matches!(
        Cosignature::from_note_signature(&line),
        Err(Error::TimestampOutOfRange(u64::MAX))
    ));
}

fn cosigned(
    checkpoint: &VerifiedCheckpoint,
    witnesses: &[(&Cosigner<SigningKey>, u64)],
) -> VerifiedCheckpoint {
    let mut checkpoint = checkpoint.clone();
    for (witness, seconds) in witnesses {
        let cosignature = witness.cosign(&checkpoint, time(*seconds)).unwrap();
        checkpoint.add_signature(cosignature.to_note_signature());
    }
    checkpoint
}

#[test]
fn witness_policy_thresholds() {
    let w1 = witness("witness.example/w1", 1);
    let w2 = witness("witness.example/w2", 2);
    let w3 = witness("witness.example/w3", 3);
    let keys = vec![
        w1.verifier().clone(),
        w2.verifier().clone(),
        w3.verifier().clone(),
    ];
    let two_of_three = WitnessPolicy::new(keys.clone(), 2).unwrap();
    let checkpoint = verified(9);

    let one = cosigned(&checkpoint, &[(&w1, 10)]);
    assert!(matches!(
        two_of_three.check(&one),
        Err(Error::ThresholdNotMet {
            threshold: 2,
            verified: 1
        })
    ));

    let two = cosigned(&checkpoint, &[(&w1, 10), (&w3, 30)]);
    let witnessed = two_of_three.check(&two).unwrap();
    let got: Vec<(&str, u64)> = witnessed
        .cosignatures()
        .iter()
        .map(|c| (c.witness().name().as_str(), c.timestamp().unix_seconds()))
        .collect();
    assert_eq!(
        got,
        [("witness.example/w1", 10), ("witness.example/w3", 30)]
    );
    assert_eq!(witnessed.checkpoint().to_bytes(), two.to_bytes());

    // The same witness twice (identical lines, or two timestamps) counts once; the latest
    // timestamp is kept.
    let repeated = cosigned(&checkpoint, &[(&w1, 10), (&w1, 10), (&w1, 20)]);
    assert!(matches!(
        two_of_three.check(&repeated),
        Err(Error::ThresholdNotMet { verified: 1, .. })
    ));
    let one_of_three = WitnessPolicy::new(keys, 1).unwrap();
    let witnessed = one_of_three.check(&repeated).unwrap();
    assert_eq!(witnessed.cosignatures().len(), 1);
    assert_eq!(witnessed.cosignatures()[0].timestamp(), time(20));
}

#[test]
fn unknown_witnesses_are_ignored_and_known_ones_must_verify() {
    let w1 = witness("witness.example/w1", 1);
    let stranger = witness("witness.example/stranger", 9);
    let policy = WitnessPolicy::new(vec![w1.verifier().clone()], 1).unwrap();
    let checkpoint = verified(9);

    let with_stranger = cosigned(&checkpoint, &[(&stranger, 5), (&w1, 6)]);
    assert_eq!(
        policy.check(&with_stranger).unwrap().cosignatures().len(),
        1
    );

    // A cosignature by w1 over another checkpoint, attached to this one.
    let other = w1.cosign(&verified(10), time(6)).unwrap();
    let mut forged = checkpoint.clone();
    forged.add_signature(other.to_note_signature());
    assert!(matches!(
        policy.check(&forged),
        Err(Error::InvalidCosignature { .. })
    ));
    // Even when another valid cosignature by w1 is present.
    let mut both = cosigned(&checkpoint, &[(&w1, 7)]);
    both.add_signature(other.to_note_signature());
    assert!(matches!(
        policy.check(&both),
        Err(Error::InvalidCosignature { .. })
    ));
}

#[test]
fn future_timestamps_can_be_refused() {
    let w1 = witness("witness.example/w1", 1);
    let policy = WitnessPolicy::new(vec![w1.verifier().clone()], 1).unwrap();
    let checkpoint = cosigned(&verified(9), &[(&w1, 1_000)]);
    assert!(policy.check_not_after(&checkpoint, time(1_000)).is_ok());
    assert!(matches!(
        policy.check_not_after(&checkpoint, time(999)),
        Err(Error::FutureTimestamp { .. })
    ));
}

#[test]
fn witnesses_are_counted_by_public_key() {
    // One operator's key listed under two names is one witness: the v1 message does not
    // commit to the name.
    let w1 = witness("witness.example/w1", 1);
    let alias = witness("witness.example/alias", 1);
    assert!(matches!(
        WitnessPolicy::new(vec![w1.verifier().clone(), alias.verifier().clone()], 2),
        Err(Error::InvalidThreshold {
            threshold: 2,
            witnesses: 1
        })
    ));
    let policy =
        WitnessPolicy::new(vec![w1.verifier().clone(), alias.verifier().clone()], 1).unwrap();
    let checkpoint = cosigned(&verified(9), &[(&w1, 1), (&alias, 2)]);
    assert_eq!(policy.check(&checkpoint).unwrap().cosignatures().len(), 1);
}

#[test]
fn invalid_policies() {
    let w1 = witness("witness.example/w1", 1);
    assert!(matches!(
        WitnessPolicy::new(vec![w1.verifier().clone()], 0),
        Err(Error::InvalidThreshold { threshold: 0, .. })
    ));
    assert!(matches!(
        WitnessPolicy::new(Vec::new(), 1),
        Err(Error::InvalidThreshold { witnesses: 0, .. })
    ));
    assert!(matches!(
        WitnessPolicy::new(vec![log().verifier().clone()], 1),
        Err(Error::NotCosignatureKey { .. })
    ));
}

#[test]
fn the_log_signature_does_not_count_as_a_cosignature() {
    // A log key reused as a witness key has another key ID, so the log's own line is unknown
    // to the policy.
    let log_as_witness = Cosigner::new(KeyName::new(ORIGIN).unwrap(), key(100)).unwrap();
    let policy = WitnessPolicy::new(vec![log_as_witness.verifier().clone()], 1).unwrap();
    assert!(matches!(
        policy.check(&verified(9)),
        Err(Error::ThresholdNotMet { verified: 0, .. })
    ));
}

#[test]
fn parsed_cosigned_checkpoints_check_the_same() {
    let w1 = witness("witness.example/w1", 1);
    let policy = WitnessPolicy::new(vec![w1.verifier().clone()], 1).unwrap();
    let bytes = cosigned(&verified(9), &[(&w1, 3)]).to_bytes();
    let parsed = SignedCheckpoint::parse(&bytes)
        .unwrap()
        .verify(log().verifier())
        .unwrap();
    assert_eq!(
        policy.check(&parsed).unwrap().cosignatures()[0].timestamp(),
        time(3)
    );
}

proptest! {
    #[test]
    fn cosign_verify_round_trip(size in any::<u64>(), seconds in 0..=i64::MAX as u64, seed in any::<u8>()) {
        let w = witness("witness.example/prop", seed);
        let checkpoint = verified(size);
        let cosignature = w.cosign(&checkpoint, time(seconds)).unwrap();
        let line = NoteSignature::parse_line(&cosignature.to_string()).unwrap();
        let parsed = Cosignature::from_note_signature(&line).unwrap();
        prop_assert_eq!(parsed.timestamp().unix_seconds(), seconds);
        prop_assert!(parsed.verify(w.verifier(), checkpoint.checkpoint()).is_ok());
    }
}
