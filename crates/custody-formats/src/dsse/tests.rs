use custody_crypto::{KeyAlgorithm, SigningKey};
use serde_json::json;

use super::{Envelope, EnvelopeSignature, pae};
use crate::{Error, ErrorKind, Limits};

fn key(algorithm: KeyAlgorithm) -> SigningKey {
    SigningKey::generate(algorithm).unwrap()
}

fn parse(value: &serde_json::Value) -> Result<Envelope, Error> {
    Envelope::from_json(value.to_string().as_bytes(), &Limits::default())
}

#[test]
fn pae_matches_protocol_md() {
    assert_eq!(
        pae("http://example.com/HelloWorld", b"hello world"),
        b"DSSEv1 29 http://example.com/HelloWorld 11 hello world"
    );
    assert_eq!(pae("", b""), b"DSSEv1 0  0 ");
}

#[test]
fn pae_lengths_count_bytes_not_characters() {
    assert_eq!(pae("é", "ü".as_bytes()), "DSSEv1 2 é 2 ü".as_bytes());
}

#[test]
fn every_base64_flavour_the_spec_allows_is_read() {
    // "hi?>" is aGk/Pg== in standard and aGk_Pg== in URL-safe base64.
    for payload in ["aGk/Pg==", "aGk/Pg", "aGk_Pg==", "aGk_Pg"] {
        let envelope = parse(&json!({
            "payload": payload, "payloadType": "t", "signatures": [{"sig": "AA"}]
        }))
        .unwrap();
        assert_eq!(envelope.payload(), b"hi?>", "{payload}");
        assert_eq!(envelope.signatures()[0].sig, vec![0]);
    }
}

#[test]
fn malformed_base64_is_rejected_with_the_field() {
    for (payload, sig, field) in [
        ("aGk/Pg=", "AA==", "payload"),
        ("aGk/_g==", "AA==", "payload"),
        ("aGk/ Pg==", "AA==", "payload"),
        ("aGk=", "A", "signatures[0].sig"),
        ("aGk=", "AB==", "signatures[0].sig"),
    ] {
        let err = parse(&json!({
            "payload": payload, "payloadType": "t", "signatures": [{"sig": sig}]
        }))
        .unwrap_err();
        assert_eq!(
            err,
            Error::InvalidBase64 {
                field: field.to_owned()
            },
            "{payload} {sig}"
        );
    }
}

#[test]
fn required_fields_must_be_present_and_typed() {
    let cases = [
        (
            json!({"payloadType": "t", "signatures": []}),
            ErrorKind::MissingField,
        ),
        (
            json!({"payload": "", "signatures": []}),
            ErrorKind::MissingField,
        ),
        (
            json!({"payload": "", "payloadType": "t"}),
            ErrorKind::MissingField,
        ),
        (
            json!({"payload": "", "payloadType": "t", "signatures": [{}]}),
            ErrorKind::MissingField,
        ),
        (
            json!({"payload": 1, "payloadType": "t", "signatures": []}),
            ErrorKind::InvalidField,
        ),
        (
            json!({"payload": "", "payloadType": null, "signatures": []}),
            ErrorKind::InvalidField,
        ),
        (
            json!({"payload": "", "payloadType": "t", "signatures": {}}),
            ErrorKind::InvalidField,
        ),
        (
            json!({"payload": "", "payloadType": "t", "signatures": [1]}),
            ErrorKind::InvalidField,
        ),
        (
            json!({"payload": "", "payloadType": "t", "signatures": [{"sig": "", "keyid": 7}]}),
            ErrorKind::InvalidField,
        ),
        (json!([]), ErrorKind::InvalidField),
    ];
    for (value, kind) in cases {
        assert_eq!(parse(&value).unwrap_err().kind(), kind, "{value}");
    }
}

#[test]
fn empty_values_and_unknown_fields_are_accepted() {
    // envelope.md: required fields may be empty; consumers ignore unrecognized fields.
    let envelope = parse(&json!({
        "payload": "", "payloadType": "", "signatures": [{"sig": "", "ext": {}}], "extension": 1
    }))
    .unwrap();
    assert_eq!(envelope.payload(), b"");
    assert_eq!(envelope.payload_type(), "");
    assert_eq!(envelope.signatures(), &[EnvelopeSignature::new("", vec![])]);
}

#[test]
fn too_many_signatures_are_rejected_before_verification() {
    let limits = Limits {
        max_signatures: 2,
        ..Limits::default()
    };
    let value = json!({"payload": "", "payloadType": "t", "signatures": [{"sig": ""}, {"sig": ""}, {"sig": ""}]});
    let err = Envelope::from_json(value.to_string().as_bytes(), &limits).unwrap_err();
    assert_eq!(err, Error::TooManySignatures { limit: 2, found: 3 });
}

#[test]
fn written_json_is_standard_padded_base64_with_keyid() {
    let signer = key(KeyAlgorithm::Ed25519);
    let envelope = Envelope::sign("text/plain", b"hi?>".to_vec(), &[&signer]).unwrap();
    let written: serde_json::Value = serde_json::from_slice(&envelope.to_json()).unwrap();
    assert_eq!(written["payload"], "aGk/Pg==");
    assert_eq!(written["payloadType"], "text/plain");
    assert_eq!(
        written["signatures"][0]["keyid"],
        signer.public_key().key_id().to_string()
    );
    assert_eq!(envelope.to_value(), written);
}

#[test]
fn signing_needs_a_signer_and_verifying_a_positive_threshold() {
    assert_eq!(
        Envelope::sign("t", vec![], &[]).unwrap_err().kind(),
        ErrorKind::ApiMisuse
    );
    let signer = key(KeyAlgorithm::EcdsaP256);
    let envelope = Envelope::sign("t", vec![1], &[&signer]).unwrap();
    assert_eq!(
        envelope
            .verify(&[signer.public_key().clone()], 0)
            .unwrap_err()
            .kind(),
        ErrorKind::ApiMisuse
    );
}

#[test]
fn a_key_listed_twice_counts_once() {
    let signer = key(KeyAlgorithm::Ed25519);
    let envelope = Envelope::sign("t", vec![1], &[&signer]).unwrap();
    let public = signer.public_key().clone();
    assert_eq!(
        envelope.verify(&[public.clone(), public], 2).unwrap_err(),
        Error::ThresholdNotMet {
            needed: 2,
            found: 1
        }
    );
}

#[test]
fn a_wrong_keyid_hint_does_not_stop_verification() {
    let signer = key(KeyAlgorithm::Ed25519);
    let mut envelope = Envelope::sign("t", vec![1], &[&signer]).unwrap();
    envelope.signatures[0].keyid = "not-the-key".to_owned();
    assert!(envelope.verify(&[signer.public_key().clone()], 1).is_ok());
    envelope.signatures[0].keyid = String::new();
    assert!(envelope.verify(&[signer.public_key().clone()], 1).is_ok());
}

#[test]
fn no_keys_means_no_valid_signature() {
    let signer = key(KeyAlgorithm::Ed25519);
    let envelope = Envelope::sign("t", vec![1], &[&signer]).unwrap();
    assert_eq!(
        envelope.verify(&[], 1).unwrap_err(),
        Error::NoValidSignature
    );
}
