//! Attacks on the formats, each test named by the attack it stops.

use custody_crypto::{KeyAlgorithm, Signer as _, SigningKey};
use custody_formats::bundle::{Bundle, Content, KeyMaterial};
use custody_formats::dsse::{Envelope, PAYLOAD_TYPE_IN_TOTO, pae};
use custody_formats::intoto::{Statement, Subject};
use custody_formats::trust_root::{Role, SignedTrustRoot, TrustRootBody, TrustedKey};
use custody_formats::{Error, ErrorKind, Limits, json};
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::macros::datetime;

use crate::support::{generate, sha256, sha512};

const NOW: OffsetDateTime = datetime!(2026-06-01 00:00:00 UTC);
const FROM: OffsetDateTime = datetime!(2026-01-01 00:00:00 UTC);
const EXPIRES: OffsetDateTime = datetime!(2027-01-01 00:00:00 UTC);

fn signed_envelope(key: &SigningKey) -> Envelope {
    Envelope::sign("text/plain", b"payload".to_vec(), &[key]).unwrap()
}

fn json_of(envelope: &Envelope) -> String {
    String::from_utf8(envelope.to_json()).unwrap()
}

// ---------------------------------------------------------------------------------------------
// Parser attacks.

#[test]
fn duplicate_payload_key_is_rejected() {
    let key = generate(KeyAlgorithm::Ed25519);
    let text = json_of(&signed_envelope(&key));
    // Two "payload" keys: a lenient reader would verify one and hand out the other.
    let attack = text.replacen("\"payload\":", "\"payload\":\"ZXZpbA==\",\"payload\":", 1);
    assert_eq!(
        Envelope::from_json(attack.as_bytes(), &Limits::default()).unwrap_err(),
        Error::DuplicateKey {
            key: "payload".to_owned()
        }
    );
}

#[test]
fn duplicate_nested_keys_are_rejected_in_every_format() {
    let key = generate(KeyAlgorithm::Ed25519);
    let envelope =
        json_of(&signed_envelope(&key)).replacen("\"sig\":", "\"sig\":\"AA==\",\"sig\":", 1);
    let statement = r#"{"_type":"https://in-toto.io/Statement/v1","subject":[{"digest":{"sha256":"00","sha256":"01"}}],"predicateType":"a:b"}"#;
    let bundle = r#"{"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json","verificationMaterial":{"publicKey":{"hint":"a","hint":"b"}}}"#;
    let root =
        r#"{"signed":{"version":1,"keys":[{"role":"root","role":"build"}]},"signatures":[]}"#;
    let limits = Limits::default();
    let results = [
        Envelope::from_json(envelope.as_bytes(), &limits).map(drop),
        Statement::from_json(statement.as_bytes(), &limits).map(drop),
        Bundle::from_json(bundle.as_bytes(), &limits).map(drop),
        SignedTrustRoot::from_json(root.as_bytes(), &limits).map(drop),
    ];
    for result in results {
        assert_eq!(result.unwrap_err().kind(), ErrorKind::DuplicateKey);
    }
}

/// Runs `f` on a thread with a small stack, so unbounded recursion would crash the test.
fn on_small_stack<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    std::thread::Builder::new()
        .stack_size(512 * 1024)
        .spawn(f)
        .unwrap()
        .join()
        .unwrap()
}

#[test]
fn ten_thousand_nested_arrays_error_without_exhausting_the_stack() {
    let kinds = on_small_stack(|| {
        let deep = "[".repeat(10_000) + &"]".repeat(10_000);
        let inside_a_field =
            format!(r#"{{"payload":"","payloadType":"","signatures":[],"x":{deep}}}"#);
        let objects = r#"{"a":"#.repeat(10_000) + "1" + &"}".repeat(10_000);
        let limits = Limits::default();
        vec![
            json::parse_strict(deep.as_bytes(), &limits).map(drop),
            json::parse_strict(objects.as_bytes(), &limits).map(drop),
            Envelope::from_json(inside_a_field.as_bytes(), &limits).map(drop),
            Statement::from_json(deep.as_bytes(), &limits).map(drop),
            Bundle::from_json(objects.as_bytes(), &limits).map(drop),
            SignedTrustRoot::from_json(deep.as_bytes(), &limits).map(drop),
        ]
    });
    for result in kinds {
        assert_eq!(result.unwrap_err(), Error::TooDeep { limit: 64 });
    }
}

#[test]
fn oversize_documents_are_refused_before_parsing() {
    let limits = Limits::default();
    let big = vec![b' '; limits.max_document_bytes + 1];
    let expected = Error::TooLarge {
        limit: 32 * 1024 * 1024,
        actual: 32 * 1024 * 1024 + 1,
    };
    assert_eq!(json::parse_strict(&big, &limits).unwrap_err(), expected);
    assert_eq!(Envelope::from_json(&big, &limits).unwrap_err(), expected);
    assert_eq!(Statement::from_json(&big, &limits).unwrap_err(), expected);
    assert_eq!(Bundle::from_json(&big, &limits).unwrap_err(), expected);
    assert_eq!(
        SignedTrustRoot::from_json(&big, &limits).unwrap_err(),
        expected
    );
}

#[test]
fn invalid_base64_is_rejected_in_every_format() {
    let key = generate(KeyAlgorithm::Ed25519);
    let mut envelope: Value = serde_json::from_slice(&signed_envelope(&key).to_json()).unwrap();
    envelope["payload"] = json!("cGF5bG9hZA=*");
    assert_eq!(
        Envelope::from_value(&envelope).unwrap_err(),
        Error::InvalidBase64 {
            field: "payload".to_owned()
        }
    );
    let bundle = json!({
        "mediaType": "application/vnd.dev.sigstore.bundle.v0.3+json",
        "verificationMaterial": {"publicKey": {"hint": ""}},
        "dsseEnvelope": {"payload": "", "payloadType": "", "signatures": [{"sig": "%%"}]}
    });
    assert_eq!(
        Bundle::from_json(bundle.to_string().as_bytes(), &Limits::default()).unwrap_err(),
        Error::InvalidBase64 {
            field: "dsseEnvelope.signatures[0].sig".to_owned()
        }
    );
}

// ---------------------------------------------------------------------------------------------
// Signature attacks.

#[test]
fn signature_duplicated_under_two_keyids_is_counted_once() {
    let a = generate(KeyAlgorithm::Ed25519);
    let b = generate(KeyAlgorithm::Ed25519);
    let envelope = signed_envelope(&a);
    let mut value = envelope.to_value();
    let copy = json!({
        "keyid": b.public_key().key_id().to_string(),
        "sig": value["signatures"][0]["sig"].clone()
    });
    value["signatures"].as_array_mut().unwrap().push(copy);
    let doubled = Envelope::from_value(&value).unwrap();
    let keys = [a.public_key().clone(), b.public_key().clone()];
    assert_eq!(
        doubled.verify(&keys, 2).unwrap_err(),
        Error::ThresholdNotMet {
            needed: 2,
            found: 1
        }
    );
    assert!(doubled.verify(&keys, 1).is_ok());
}

#[test]
fn signature_over_a_wrong_pae_length_prefix_is_rejected() {
    let key = generate(KeyAlgorithm::EcdsaP256);
    let payload_type = "http://example.com/HelloWorld";
    for forged in [
        // Off-by-one lengths.
        b"DSSEv1 30 http://example.com/HelloWorld 11 hello world".to_vec(),
        b"DSSEv1 29 http://example.com/HelloWorld 12 hello world".to_vec(),
        // A leading zero.
        b"DSSEv1 029 http://example.com/HelloWorld 11 hello world".to_vec(),
        // No lengths at all.
        b"DSSEv1 http://example.com/HelloWorld hello world".to_vec(),
    ] {
        let sig = key.sign(&forged).unwrap();
        let mut value = Envelope::sign(payload_type, b"hello world".to_vec(), &[&key])
            .unwrap()
            .to_value();
        value["signatures"][0]["sig"] = json!(base64_standard(&sig));
        let envelope = Envelope::from_value(&value).unwrap();
        assert_eq!(
            envelope.verify(&[key.public_key().clone()], 1).unwrap_err(),
            Error::NoValidSignature
        );
    }
}

#[test]
fn moving_bytes_between_payload_type_and_payload_breaks_the_signature() {
    // Without length prefixes, ("x y", "z") and ("x", "y z") would sign the same bytes.
    assert_ne!(pae("x y", b"z"), pae("x", b"y z"));
    let key = generate(KeyAlgorithm::Ed25519);
    let mut value = Envelope::sign("x y", b"z".to_vec(), &[&key])
        .unwrap()
        .to_value();
    value["payloadType"] = json!("x");
    value["payload"] = json!(base64_standard(b"y z"));
    let moved = Envelope::from_value(&value).unwrap();
    assert_eq!(
        moved.verify(&[key.public_key().clone()], 1).unwrap_err(),
        Error::NoValidSignature
    );
}

#[test]
fn subject_swap_is_rejected() {
    // A valid signature over a statement about artifact A, presented for artifact B.
    let key = generate(KeyAlgorithm::Ed25519);
    let statement = Statement::new(
        vec![Subject::new("a", &[sha256(b"artifact A")])],
        "https://slsa.dev/provenance/v1",
        json!({}),
    )
    .unwrap();
    let envelope = Envelope::sign(PAYLOAD_TYPE_IN_TOTO, statement.to_json(), &[&key]).unwrap();
    let bundle = Bundle::new(
        Content::Dsse(envelope),
        KeyMaterial::PublicKeyHint(key.public_key().key_id().to_string()),
    );
    assert!(
        bundle
            .verify(key.public_key(), &[sha256(b"artifact A")])
            .is_ok()
    );
    assert_eq!(
        bundle
            .verify(key.public_key(), &[sha256(b"artifact B")])
            .unwrap_err(),
        Error::SubjectMismatch
    );
}

#[test]
fn message_signature_replayed_for_another_artifact_is_rejected() {
    let key = generate(KeyAlgorithm::Ed25519);
    let digest = sha512(b"artifact A");
    let bundle = Bundle::new(
        Content::MessageSignature {
            digest,
            signature: key.sign_prehashed(&digest).unwrap(),
        },
        KeyMaterial::PublicKeyHint(String::new()),
    );
    let err = bundle
        .verify(key.public_key(), &[sha512(b"artifact B")])
        .unwrap_err();
    assert_eq!(
        err,
        Error::ArtifactDigestMismatch {
            expected: Box::new(digest),
            actual: Box::new(sha512(b"artifact B"))
        }
    );
}

#[test]
fn prehash_algorithm_confusion_is_rejected() {
    // A P-256 key over a SHA-512 digest, or an Ed25519 key over a SHA-256 digest.
    let p256 = generate(KeyAlgorithm::EcdsaP256);
    let digest = sha512(b"artifact");
    let bundle = Bundle::new(
        Content::MessageSignature {
            digest,
            signature: vec![0; 64],
        },
        KeyMaterial::PublicKeyHint(String::new()),
    );
    assert_eq!(
        bundle
            .verify(p256.public_key(), &[digest])
            .unwrap_err()
            .kind(),
        ErrorKind::PrehashMismatch
    );
}

// ---------------------------------------------------------------------------------------------
// Trust-root attacks.

struct Keys {
    root: SigningKey,
    build: SigningKey,
}

fn keys() -> Keys {
    Keys {
        root: generate(KeyAlgorithm::Ed25519),
        build: generate(KeyAlgorithm::EcdsaP256),
    }
}

fn trusted(key: &SigningKey, role: Role) -> TrustedKey {
    TrustedKey::new(key.public_key().clone(), role, FROM, None, None).unwrap()
}

fn root_document(
    version: u64,
    keys: Vec<TrustedKey>,
    threshold: u32,
    signers: &[&SigningKey],
) -> SignedTrustRoot {
    let mut root =
        SignedTrustRoot::new(TrustRootBody::new(version, EXPIRES, threshold, keys).unwrap());
    for signer in signers {
        root.sign(*signer).unwrap();
    }
    root
}

fn reparse(root: &SignedTrustRoot) -> SignedTrustRoot {
    SignedTrustRoot::from_json(&root.to_json(), &Limits::default()).unwrap()
}

#[test]
fn key_in_the_trust_root_under_another_role_is_refused() {
    let k = keys();
    let root = root_document(
        1,
        vec![trusted(&k.root, Role::Root), trusted(&k.build, Role::Build)],
        1,
        &[&k.root],
    );
    let verified = reparse(&root).verify(NOW).unwrap();
    let build_id = k.build.public_key().key_id();
    assert!(verified.key_for_role(&build_id, Role::Build, NOW).is_ok());
    assert_eq!(
        verified
            .key_for_role(&build_id, Role::Release, NOW)
            .unwrap_err(),
        Error::WrongRole {
            key_id: build_id,
            role: Role::Build,
            required: Role::Release
        }
    );
    // The root key cannot sign builds either.
    assert_eq!(
        verified
            .key_for_role(&k.root.public_key().key_id(), Role::Build, NOW)
            .unwrap_err()
            .kind(),
        ErrorKind::WrongRole
    );
}

#[test]
fn trust_root_signed_by_a_non_root_key_is_refused() {
    let k = keys();
    let mut root = root_document(
        1,
        vec![trusted(&k.root, Role::Root), trusted(&k.build, Role::Build)],
        1,
        &[],
    );
    assert_eq!(
        root.sign(&k.build).unwrap_err().kind(),
        ErrorKind::WrongRole
    );
    // Forge the document with the build key's signature filed under its own id.
    let mut value: Value = serde_json::from_slice(&root.to_json()).unwrap();
    let sig = k.build.sign(root.signed_bytes()).unwrap();
    value["signatures"] =
        json!([{"keyId": k.build.public_key().key_id().to_string(), "sig": base64_standard(&sig)}]);
    let forged =
        SignedTrustRoot::from_json(value.to_string().as_bytes(), &Limits::default()).unwrap();
    assert_eq!(forged.verify(NOW).unwrap_err(), Error::NoValidSignature);
    // Or filed under the root key's id.
    value["signatures"][0]["keyId"] = json!(k.root.public_key().key_id().to_string());
    let forged =
        SignedTrustRoot::from_json(value.to_string().as_bytes(), &Limits::default()).unwrap();
    assert_eq!(forged.verify(NOW).unwrap_err(), Error::NoValidSignature);
    root.sign(&k.root).unwrap();
    assert!(reparse(&root).verify(NOW).is_ok());
}

#[test]
fn expired_revoked_and_not_yet_valid_keys_are_refused() {
    let k = keys();
    let expired = generate(KeyAlgorithm::Ed25519);
    let revoked = generate(KeyAlgorithm::Ed25519);
    let future = generate(KeyAlgorithm::Ed25519);
    let until = datetime!(2026-03-01 00:00:00 UTC);
    let revoked_at = datetime!(2026-04-01 00:00:00 UTC);
    let starts = datetime!(2026-07-01 00:00:00 UTC);
    let root = root_document(
        1,
        vec![
            trusted(&k.root, Role::Root),
            TrustedKey::new(
                expired.public_key().clone(),
                Role::Build,
                FROM,
                Some(until),
                None,
            )
            .unwrap(),
            TrustedKey::new(
                revoked.public_key().clone(),
                Role::Build,
                FROM,
                None,
                Some(revoked_at),
            )
            .unwrap(),
            TrustedKey::new(future.public_key().clone(), Role::Build, starts, None, None).unwrap(),
        ],
        1,
        &[&k.root],
    );
    let verified = reparse(&root).verify(NOW).unwrap();
    let check = |key: &SigningKey, at| {
        verified
            .key_for_role(&key.public_key().key_id(), Role::Build, at)
            .map(drop)
    };
    assert_eq!(
        check(&expired, NOW).unwrap_err(),
        Error::KeyExpired {
            key_id: expired.public_key().key_id(),
            valid_until: until
        }
    );
    assert_eq!(
        check(&revoked, NOW).unwrap_err(),
        Error::KeyRevoked {
            key_id: revoked.public_key().key_id(),
            revoked_at
        }
    );
    assert_eq!(
        check(&future, NOW).unwrap_err(),
        Error::KeyNotYetValid {
            key_id: future.public_key().key_id(),
            valid_from: starts
        }
    );
    // Each was usable inside its window: validity is judged at the time of use.
    assert!(check(&expired, datetime!(2026-02-01 00:00:00 UTC)).is_ok());
    assert!(check(&revoked, datetime!(2026-03-31 23:59:59 UTC)).is_ok());
    assert!(check(&future, starts).is_ok());
    // Boundaries: validUntil and revokedAt are exclusive ends.
    assert_eq!(
        check(&expired, until).unwrap_err().kind(),
        ErrorKind::KeyExpired
    );
    assert_eq!(
        check(&revoked, revoked_at).unwrap_err().kind(),
        ErrorKind::KeyRevoked
    );
}

#[test]
fn trust_root_signed_only_by_revoked_or_expired_root_keys_is_refused() {
    let root_key = generate(KeyAlgorithm::Ed25519);
    for key in [
        TrustedKey::new(
            root_key.public_key().clone(),
            Role::Root,
            FROM,
            None,
            Some(FROM),
        )
        .unwrap(),
        TrustedKey::new(
            root_key.public_key().clone(),
            Role::Root,
            FROM,
            Some(NOW),
            None,
        )
        .unwrap(),
        TrustedKey::new(
            root_key.public_key().clone(),
            Role::Root,
            EXPIRES,
            None,
            None,
        )
        .unwrap(),
    ] {
        let root = root_document(1, vec![key], 1, &[&root_key]);
        assert_eq!(
            reparse(&root).verify(NOW).unwrap_err(),
            Error::NoValidSignature
        );
    }
}

#[test]
fn expired_trust_root_is_refused() {
    let k = keys();
    let root = reparse(&root_document(
        1,
        vec![trusted(&k.root, Role::Root)],
        1,
        &[&k.root],
    ));
    assert!(root.verify(datetime!(2026-12-31 23:59:59 UTC)).is_ok());
    assert_eq!(
        root.verify(EXPIRES).unwrap_err(),
        Error::TrustRootExpired { expires: EXPIRES }
    );
}

#[test]
fn trust_root_with_a_tampered_byte_in_signed_is_refused() {
    let k = keys();
    let root = root_document(
        1,
        vec![trusted(&k.root, Role::Root), trusted(&k.build, Role::Build)],
        1,
        &[&k.root],
    );
    let text = String::from_utf8(root.to_json()).unwrap();
    for (from, to) in [
        ("\"role\": \"build\"", "\"role\": \"root\""),
        ("2027-01-01T00:00:00Z", "2028-01-01T00:00:00Z"),
        ("\"version\": 1", "\"version\": 2"),
    ] {
        assert!(text.contains(from), "{from}");
        let tampered = text.replacen(from, to, 1);
        let parsed = SignedTrustRoot::from_json(tampered.as_bytes(), &Limits::default()).unwrap();
        assert_eq!(
            parsed.verify(NOW).unwrap_err(),
            Error::NoValidSignature,
            "{from}"
        );
    }
    // Whitespace and key order are not signed: the canonical form is.
    let reformatted = serde_json::to_vec(&serde_json::from_str::<Value>(&text).unwrap()).unwrap();
    let parsed = SignedTrustRoot::from_json(&reformatted, &Limits::default()).unwrap();
    assert!(parsed.verify(NOW).is_ok());
}

#[test]
fn root_threshold_counts_distinct_root_keys() {
    let a = generate(KeyAlgorithm::Ed25519);
    let b = generate(KeyAlgorithm::EcdsaP256);
    let keys = vec![trusted(&a, Role::Root), trusted(&b, Role::Root)];
    let one = root_document(1, keys.clone(), 2, &[&a]);
    assert_eq!(
        reparse(&one).verify(NOW).unwrap_err(),
        Error::ThresholdNotMet {
            needed: 2,
            found: 1
        }
    );
    let both = root_document(1, keys, 2, &[&a, &b]);
    assert!(reparse(&both).verify(NOW).is_ok());
}

#[test]
fn successor_not_signed_by_the_previous_root_keys_is_refused() {
    let old = generate(KeyAlgorithm::Ed25519);
    let new = generate(KeyAlgorithm::Ed25519);
    let v1 = reparse(&root_document(
        1,
        vec![trusted(&old, Role::Root)],
        1,
        &[&old],
    ))
    .verify(NOW)
    .unwrap();
    // The attacker controls only the new key: the successor is self-consistent but not
    // authorized by version 1.
    let v2 = reparse(&root_document(
        2,
        vec![trusted(&new, Role::Root)],
        1,
        &[&new],
    ));
    assert!(v2.verify(NOW).is_ok());
    assert_eq!(
        v2.verify_successor(&v1, NOW).unwrap_err(),
        Error::NoValidSignature
    );
    // Signed by the old key only, it is not self-consistent.
    let v2 = reparse(&root_document(2, vec![trusted(&new, Role::Root)], 1, &[]));
    let mut v2_signed_by_old: Value = serde_json::from_slice(&v2.to_json()).unwrap();
    v2_signed_by_old["signatures"] = json!([{
        "keyId": old.public_key().key_id().to_string(),
        "sig": base64_standard(&old.sign(v2.signed_bytes()).unwrap())
    }]);
    let v2 =
        SignedTrustRoot::from_json(v2_signed_by_old.to_string().as_bytes(), &Limits::default())
            .unwrap();
    assert_eq!(
        v2.verify_successor(&v1, NOW).unwrap_err(),
        Error::NoValidSignature
    );
    // Signed by both, it is accepted: a key rotation.
    let rotated = root_document(
        2,
        vec![trusted(&old, Role::Root), trusted(&new, Role::Root)],
        1,
        &[&old, &new],
    );
    let v2 = reparse(&rotated).verify_successor(&v1, NOW).unwrap();
    assert_eq!(v2.version(), 2);
}

#[test]
fn trust_root_version_skip_and_rollback_are_refused() {
    let key = generate(KeyAlgorithm::Ed25519);
    let keys = || vec![trusted(&key, Role::Root)];
    let v1 = reparse(&root_document(1, keys(), 1, &[&key]))
        .verify(NOW)
        .unwrap();
    for (version, expected) in [(3, 2), (1, 2), (7, 2)] {
        let next = reparse(&root_document(version, keys(), 1, &[&key]));
        assert_eq!(
            next.verify_successor(&v1, NOW).unwrap_err(),
            Error::TrustRootVersion {
                previous: 1,
                expected,
                found: version
            }
        );
    }
    let v2 = reparse(&root_document(2, keys(), 1, &[&key]));
    assert!(v2.verify_successor(&v1, NOW).is_ok());
}

#[test]
fn successor_that_has_expired_is_refused() {
    let key = generate(KeyAlgorithm::Ed25519);
    let v1 = reparse(&root_document(
        1,
        vec![trusted(&key, Role::Root)],
        1,
        &[&key],
    ))
    .verify(NOW)
    .unwrap();
    let v2 = reparse(&root_document(
        2,
        vec![trusted(&key, Role::Root)],
        1,
        &[&key],
    ));
    assert_eq!(
        v2.verify_successor(&v1, EXPIRES).unwrap_err().kind(),
        ErrorKind::TrustRootExpired
    );
}

fn base64_standard(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}
