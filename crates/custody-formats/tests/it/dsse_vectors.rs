//! The DSSE specification's own test vector (testdata/dsse/protocol.md, "Test Vectors").

use custody_crypto::PublicKey;
use custody_formats::dsse::{Envelope, pae};
use custody_formats::{ErrorKind, Limits};
use serde_json::Value;

use crate::support::{decimal_to_be32, ecdsa_raw_to_der, p256_spki, read};

/// The fenced code blocks of protocol.md's "Test Vectors" section, in order.
fn test_vector_blocks() -> Vec<String> {
    let text = String::from_utf8(read("dsse/protocol.md")).unwrap();
    let section = &text[text.find("## Test Vectors").unwrap()..];
    let mut blocks = Vec::new();
    let mut rest = section;
    while let Some(start) = rest.find("```") {
        let after = &rest[start + 3..];
        let body_start = after.find('\n').unwrap() + 1;
        let end = after[body_start..].find("```").unwrap();
        blocks.push(after[body_start..body_start + end].to_owned());
        rest = &after[body_start + end + 3..];
    }
    blocks
}

struct SpecVector {
    body: Vec<u8>,
    payload_type: String,
    pae: Vec<u8>,
    key: PublicKey,
    envelope: Vec<u8>,
}

fn spec_vector() -> SpecVector {
    let blocks = test_vector_blocks();
    assert_eq!(blocks.len(), 5, "{blocks:?}");
    let line = |block: &str| block.strip_suffix('\n').unwrap().to_owned();
    let parameter = |name: &str| {
        blocks[3]
            .lines()
            .find_map(|l| l.strip_prefix(&format!("{name}: ")))
            .unwrap()
            .to_owned()
    };
    let x = decimal_to_be32(&parameter("X"));
    let y = decimal_to_be32(&parameter("Y"));
    SpecVector {
        body: line(&blocks[0]).into_bytes(),
        payload_type: line(&blocks[1]),
        pae: line(&blocks[2]).into_bytes(),
        key: PublicKey::from_spki_der(&p256_spki(&x, &y)).unwrap(),
        envelope: blocks[4].clone().into_bytes(),
    }
}

#[test]
fn pae_of_the_spec_example_matches() {
    let vector = spec_vector();
    assert_eq!(vector.body, b"hello world");
    assert_eq!(vector.payload_type, "http://example.com/HelloWorld");
    assert_eq!(pae(&vector.payload_type, &vector.body), vector.pae);
}

#[test]
fn spec_envelope_parses_to_the_spec_values() {
    let vector = spec_vector();
    let envelope = Envelope::from_json(&vector.envelope, &Limits::default()).unwrap();
    assert_eq!(envelope.payload(), vector.body);
    assert_eq!(envelope.payload_type(), vector.payload_type);
    assert_eq!(envelope.signatures().len(), 1);
    assert_eq!(
        envelope.signatures()[0].keyid,
        "",
        "an unset keyid reads as empty"
    );
    assert_eq!(envelope.signatures()[0].sig.len(), 64, "raw r || s");
}

#[test]
fn spec_signature_verifies_once_reencoded_as_der() {
    let vector = spec_vector();
    // The spec signs with raw r || s; custody's ECDSA signatures are DER, so the raw form is
    // simply not a valid signature for custody (and is rejected without panicking).
    let raw = Envelope::from_json(&vector.envelope, &Limits::default()).unwrap();
    assert_eq!(
        raw.verify(std::slice::from_ref(&vector.key), 1)
            .unwrap_err()
            .kind(),
        ErrorKind::NoValidSignature
    );

    let mut value: Value = serde_json::from_slice(&vector.envelope).unwrap();
    let der = ecdsa_raw_to_der(&raw.signatures()[0].sig);
    value["signatures"][0]["sig"] = Value::String(base64_standard(&der));
    let envelope = Envelope::from_value(&value).unwrap();
    let verified = envelope
        .verify(std::slice::from_ref(&vector.key), 1)
        .unwrap();
    assert_eq!(verified.payload(), b"hello world");

    // Re-serialized, it reads back the same and still verifies.
    let again = Envelope::from_json(&envelope.to_json(), &Limits::default()).unwrap();
    assert_eq!(again, envelope);
    assert!(again.verify(&[vector.key], 1).is_ok());
}

#[test]
fn spec_signature_does_not_verify_over_another_payload_type() {
    let vector = spec_vector();
    let mut value: Value = serde_json::from_slice(&vector.envelope).unwrap();
    let raw = Envelope::from_value(&value).unwrap();
    value["signatures"][0]["sig"] =
        Value::String(base64_standard(&ecdsa_raw_to_der(&raw.signatures()[0].sig)));
    value["payloadType"] = Value::String("http://example.com/HelloWorlD".to_owned());
    let envelope = Envelope::from_value(&value).unwrap();
    assert_eq!(
        envelope.verify(&[vector.key], 1).unwrap_err().kind(),
        ErrorKind::NoValidSignature
    );
}

fn base64_standard(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}
