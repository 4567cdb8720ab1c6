//! Property tests: signing then verifying succeeds, and any single flipped bit is caught with
//! the right error.

use custody_crypto::{Digest, DigestAlgorithm, KeyAlgorithm, Signer, SigningKey};
use custody_formats::bundle::{Bundle, Content, KeyMaterial};
use custody_formats::dsse::Envelope;
use custody_formats::trust_root::{Role, SignedTrustRoot, TrustRootBody, TrustedKey};
use custody_formats::{Error, ErrorKind, Limits, json};
use proptest::prelude::*;
use serde_json::{Value, json};
use time::macros::datetime;

use crate::support::digest;

fn algorithm() -> impl Strategy<Value = KeyAlgorithm> {
    prop_oneof![Just(KeyAlgorithm::Ed25519), Just(KeyAlgorithm::EcdsaP256)]
}

fn keys(algorithms: &[KeyAlgorithm]) -> Vec<SigningKey> {
    algorithms
        .iter()
        .map(|a| SigningKey::generate(*a).unwrap())
        .collect()
}

fn flip(bytes: &mut [u8], bit: usize) {
    let bit = bit % (bytes.len() * 8);
    bytes[bit / 8] ^= 1 << (bit % 8);
}

fn b64(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn dsse_sign_then_verify_round_trips(
        algorithms in prop::collection::vec(algorithm(), 1..=3),
        payload_type in "[ -~]{0,40}",
        payload in prop::collection::vec(any::<u8>(), 0..512),
    ) {
        let keys = keys(&algorithms);
        let signers: Vec<&dyn Signer> = keys.iter().map(|k| k as &dyn Signer).collect();
        let publics: Vec<_> = keys.iter().map(|k| k.public_key().clone()).collect();
        let envelope = Envelope::sign(&payload_type, payload.clone(), &signers).unwrap();
        let parsed = Envelope::from_json(&envelope.to_json(), &Limits::default()).unwrap();
        prop_assert_eq!(&parsed, &envelope);
        let verified = parsed.verify(&publics, publics.len()).unwrap();
        prop_assert_eq!(verified.payload(), &payload[..]);
        prop_assert_eq!(verified.payload_type(), payload_type.as_str());
        // One key more than signed is one too many.
        let err = parsed.verify(&publics, publics.len() + 1).unwrap_err();
        prop_assert_eq!(err, Error::ThresholdNotMet { needed: publics.len() + 1, found: publics.len() });
    }

    #[test]
    fn dsse_payload_bit_flip_is_rejected(
        alg in algorithm(),
        payload in prop::collection::vec(any::<u8>(), 1..256),
        bit in any::<usize>(),
    ) {
        let key = SigningKey::generate(alg).unwrap();
        let mut value = Envelope::sign("application/x", payload.clone(), &[&key]).unwrap().to_value();
        let mut tampered = payload;
        flip(&mut tampered, bit);
        value["payload"] = json!(b64(&tampered));
        let envelope = Envelope::from_value(&value).unwrap();
        prop_assert_eq!(envelope.verify(&[key.public_key().clone()], 1).unwrap_err(), Error::NoValidSignature);
    }

    #[test]
    fn dsse_payload_type_bit_flip_is_rejected(
        alg in algorithm(),
        payload_type in "[a-z/+.]{1,40}",
        bit in any::<usize>(),
    ) {
        let key = SigningKey::generate(alg).unwrap();
        let mut value = Envelope::sign(&payload_type, b"x".to_vec(), &[&key]).unwrap().to_value();
        let mut tampered = payload_type.into_bytes();
        // Flip one of the low seven bits, so the text stays ASCII.
        let bit = bit % (tampered.len() * 7);
        tampered[bit / 7] ^= 1 << (bit % 7);
        value["payloadType"] = json!(String::from_utf8(tampered).unwrap());
        let envelope = Envelope::from_value(&value).unwrap();
        prop_assert_eq!(envelope.verify(&[key.public_key().clone()], 1).unwrap_err(), Error::NoValidSignature);
    }

    #[test]
    fn dsse_signature_bit_flip_is_rejected(alg in algorithm(), bit in any::<usize>()) {
        let key = SigningKey::generate(alg).unwrap();
        let envelope = Envelope::sign("application/x", b"payload".to_vec(), &[&key]).unwrap();
        let mut sig = envelope.signatures()[0].sig.clone();
        flip(&mut sig, bit);
        let mut value = envelope.to_value();
        value["signatures"][0]["sig"] = json!(b64(&sig));
        let envelope = Envelope::from_value(&value).unwrap();
        prop_assert_eq!(envelope.verify(&[key.public_key().clone()], 1).unwrap_err(), Error::NoValidSignature);
    }

    #[test]
    fn bundle_sign_then_verify_round_trips(
        alg in algorithm(),
        artifact in prop::collection::vec(any::<u8>(), 0..512),
    ) {
        let key = SigningKey::generate(alg).unwrap();
        let signed = digest(alg.prehash_algorithm(), &artifact);
        let bundle = Bundle::new(
            Content::MessageSignature { digest: signed, signature: key.sign_prehashed(&signed).unwrap() },
            KeyMaterial::PublicKeyHint(key.public_key().key_id().to_string()),
        );
        let parsed = Bundle::from_json(&bundle.to_json(), &Limits::default()).unwrap();
        prop_assert_eq!(&parsed, &bundle);
        let artifact_digests: Vec<Digest> = [DigestAlgorithm::Sha256, DigestAlgorithm::Sha512]
            .into_iter()
            .map(|a| digest(a, &artifact))
            .collect();
        prop_assert!(parsed.verify(key.public_key(), &artifact_digests).is_ok());
    }

    #[test]
    fn bundle_artifact_digest_bit_flip_is_rejected(alg in algorithm(), bit in any::<usize>()) {
        let key = SigningKey::generate(alg).unwrap();
        let signed = digest(alg.prehash_algorithm(), b"artifact");
        let bundle = Bundle::new(
            Content::MessageSignature { digest: signed, signature: key.sign_prehashed(&signed).unwrap() },
            KeyMaterial::PublicKeyHint(String::new()),
        );
        let mut bytes = signed.as_bytes().to_vec();
        flip(&mut bytes, bit);
        let other = Digest::from_bytes(signed.algorithm(), &bytes).unwrap();
        prop_assert_eq!(bundle.verify(key.public_key(), &[other]).unwrap_err().kind(), ErrorKind::ArtifactDigestMismatch);
    }

    #[test]
    fn bundle_signature_bit_flip_is_rejected(alg in algorithm(), bit in any::<usize>()) {
        let key = SigningKey::generate(alg).unwrap();
        let signed = digest(alg.prehash_algorithm(), b"artifact");
        let mut signature = key.sign_prehashed(&signed).unwrap();
        flip(&mut signature, bit);
        let bundle = Bundle::new(
            Content::MessageSignature { digest: signed, signature },
            KeyMaterial::PublicKeyHint(String::new()),
        );
        prop_assert_eq!(
            bundle.verify(key.public_key(), &[signed]).unwrap_err(),
            Error::SignatureInvalid { key_id: key.public_key().key_id() }
        );
    }
}

/// A signed trust root with a root key of each algorithm and a build key.
fn signed_root() -> SignedTrustRoot {
    let ed = SigningKey::generate(KeyAlgorithm::Ed25519).unwrap();
    let p256 = SigningKey::generate(KeyAlgorithm::EcdsaP256).unwrap();
    let build = SigningKey::generate(KeyAlgorithm::Ed25519).unwrap();
    let from = datetime!(2026-01-01 00:00:00 UTC);
    let key = |k: &SigningKey, role| {
        TrustedKey::new(k.public_key().clone(), role, from, None, None).unwrap()
    };
    let body = TrustRootBody::new(
        1,
        datetime!(2030-01-01 00:00:00 UTC),
        2,
        vec![
            key(&ed, Role::Root),
            key(&p256, Role::Root),
            key(&build, Role::Build),
        ],
    )
    .unwrap();
    let mut root = SignedTrustRoot::new(body);
    root.sign(&ed).unwrap();
    root.sign(&p256).unwrap();
    root
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn trust_root_canonical_body_bit_flip_is_rejected(bit in any::<usize>()) {
        let now = datetime!(2026-06-01 00:00:00 UTC);
        let root = SIGNED_ROOT.with(Clone::clone);
        prop_assert!(root.verify(now).is_ok());
        let mut canonical = root.signed_bytes().to_vec();
        flip(&mut canonical, bit);
        // Rebuild the document around the flipped body, keeping the signatures.
        let Ok(signed) = json::parse_strict(&canonical, &Limits::default()) else {
            return Ok(()); // The flip broke the JSON itself.
        };
        let mut document: Value = serde_json::from_slice(&root.to_json()).unwrap();
        document["signed"] = signed;
        match SignedTrustRoot::from_json(document.to_string().as_bytes(), &Limits::default()) {
            // The flip made the body invalid (a field name, a key id, a timestamp...).
            Err(_) => {}
            Ok(tampered) => {
                let err = tampered.verify(now).unwrap_err();
                prop_assert!(
                    matches!(err.kind(), ErrorKind::NoValidSignature | ErrorKind::ThresholdNotMet),
                    "{}", err
                );
            }
        }
    }
}

thread_local! {
    static SIGNED_ROOT: SignedTrustRoot = signed_root();
}
