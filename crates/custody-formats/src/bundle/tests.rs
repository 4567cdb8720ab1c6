use custody_crypto::{
    Digest, DigestAlgorithm, Hasher, KeyAlgorithm, Signer as _, SigningKey, sha256,
};
use serde_json::{Value, json};

use super::{
    Bundle, Content, InclusionProof, KeyMaterial, MEDIA_TYPE_V03, TlogEntry, VerifiedContent,
};
use crate::dsse::{Envelope, PAYLOAD_TYPE_IN_TOTO};
use crate::intoto::{Statement, Subject};
use crate::{Error, ErrorKind, Limits};

fn sha512(data: &[u8]) -> Digest {
    let mut hasher = Hasher::new(DigestAlgorithm::Sha512);
    hasher.update(data);
    hasher.finalize()
}

fn message_bundle(key: &SigningKey, artifact: &[u8]) -> Bundle {
    let digest = match key.public_key().algorithm().prehash_algorithm() {
        DigestAlgorithm::Sha512 => sha512(artifact),
        _ => sha256(artifact),
    };
    let signature = key.sign_prehashed(&digest).unwrap();
    Bundle::new(
        Content::MessageSignature { digest, signature },
        KeyMaterial::PublicKeyHint(key.public_key().key_id().to_string()),
    )
}

fn entry() -> TlogEntry {
    TlogEntry {
        log_index: 7,
        log_id: vec![1; 32],
        kind: "hashedrekord".to_owned(),
        version: "0.0.1".to_owned(),
        integrated_time: Some(1_700_000_000),
        inclusion_promise: Some(vec![2; 8]),
        inclusion_proof: Some(InclusionProof {
            log_index: 6,
            root_hash: vec![3; 32],
            tree_size: 9,
            hashes: vec![vec![4; 32], vec![5; 32]],
            checkpoint: "log\n9\nAwMD\n".to_owned(),
        }),
        canonicalized_body: b"{}".to_vec(),
    }
}

fn parse(value: &Value) -> Result<Bundle, Error> {
    Bundle::from_json(value.to_string().as_bytes(), &Limits::default())
}

fn written(bundle: &Bundle) -> Value {
    serde_json::from_slice(&bundle.to_json()).unwrap()
}

#[test]
fn a_full_bundle_round_trips_as_v03_with_protobuf_json_conventions() {
    let key = SigningKey::generate(KeyAlgorithm::EcdsaP256).unwrap();
    let mut bundle = message_bundle(&key, b"artifact");
    bundle.add_tlog_entry(entry());
    bundle.add_rfc3161_timestamp(vec![0x30, 0x00]);
    let bytes = bundle.to_json();
    let text = std::str::from_utf8(&bytes).unwrap();
    assert!(
        text.starts_with(
            "{\n  \"mediaType\": \"application/vnd.dev.sigstore.bundle.v0.3+json\",\n"
        )
    );
    assert!(text.ends_with("}\n"));
    let value = written(&bundle);
    let tlog = &value["verificationMaterial"]["tlogEntries"][0];
    assert_eq!(tlog["logIndex"], "7");
    assert_eq!(tlog["integratedTime"], "1700000000");
    assert_eq!(tlog["inclusionProof"]["treeSize"], "9");
    assert_eq!(
        tlog["inclusionProof"]["checkpoint"]["envelope"],
        "log\n9\nAwMD\n"
    );
    assert_eq!(
        value["messageSignature"]["messageDigest"]["algorithm"],
        "SHA2_256"
    );
    assert_eq!(
        value["verificationMaterial"]["timestampVerificationData"]["rfc3161Timestamps"][0]["signedTimestamp"],
        "MAA="
    );
    let parsed = Bundle::from_json(&bytes, &Limits::default()).unwrap();
    assert_eq!(parsed, bundle);
    assert_eq!(parsed.tlog_entries(), &[entry()]);
    assert_eq!(parsed.rfc3161_timestamps(), &[vec![0x30, 0x00]]);
}

#[test]
fn every_key_material_form_round_trips() {
    let key = SigningKey::generate(KeyAlgorithm::Ed25519).unwrap();
    let envelope = Envelope::sign("text/plain", b"x".to_vec(), &[&key]).unwrap();
    for material in [
        KeyMaterial::PublicKeyHint(String::new()),
        KeyMaterial::Certificate(vec![0x30, 0x03, 1, 2, 3]),
        KeyMaterial::CertificateChain(vec![vec![1], vec![2, 3]]),
    ] {
        let bundle = Bundle::new(Content::Dsse(envelope.clone()), material.clone());
        let parsed = Bundle::from_json(&bundle.to_json(), &Limits::default()).unwrap();
        assert_eq!(parsed.key_material(), &material);
        assert_eq!(parsed.content(), &Content::Dsse(envelope.clone()));
        assert_eq!(parsed.media_type(), MEDIA_TYPE_V03);
    }
}

fn minimal() -> Value {
    json!({
        "mediaType": MEDIA_TYPE_V03,
        "verificationMaterial": {"publicKey": {"hint": "k"}},
        "messageSignature": {
            "messageDigest": {"algorithm": "SHA2_256", "digest": crate::b64::encode(sha256(b"a").as_bytes())},
            "signature": "AA=="
        }
    })
}

fn rejects(mutate: impl FnOnce(&mut Value), kind: ErrorKind, field: &str) {
    let mut value = minimal();
    mutate(&mut value);
    let err = parse(&value).unwrap_err();
    assert_eq!(err.kind(), kind, "{err}");
    assert!(err.to_string().contains(field), "{err} should name {field}");
}

#[test]
fn minimal_bundles_parse_and_protobuf_nulls_are_unset() {
    assert!(parse(&minimal()).is_ok());
    let mut value = minimal();
    value["dsseEnvelope"] = Value::Null;
    value["verificationMaterial"]["tlogEntries"] = Value::Null;
    value["verificationMaterial"]["timestampVerificationData"] = Value::Null;
    value["verificationMaterial"]["certificate"] = Value::Null;
    assert!(parse(&value).is_ok());
}

#[test]
fn every_read_media_type_is_accepted_and_others_are_not() {
    for version in ["0.1", "0.2", "0.3"] {
        let mut value = minimal();
        value["mediaType"] = json!(format!(
            "application/vnd.dev.sigstore.bundle+json;version={version}"
        ));
        assert!(parse(&value).is_ok(), "{version}");
    }
    for media_type in [
        "application/vnd.dev.sigstore.bundle.v0.4+json",
        "application/vnd.dev.sigstore.bundle+json;version=0.4",
        "application/json",
        "",
    ] {
        rejects(
            |v| v["mediaType"] = json!(media_type),
            ErrorKind::UnsupportedMediaType,
            media_type,
        );
    }
}

#[test]
fn content_and_key_material_are_each_exactly_one() {
    rejects(
        |v| v["dsseEnvelope"] = json!({"payload": "", "payloadType": "", "signatures": []}),
        ErrorKind::InvalidField,
        "mutually exclusive",
    );
    rejects(
        |v| drop(v.as_object_mut().unwrap().remove("messageSignature")),
        ErrorKind::MissingField,
        "messageSignature|dsseEnvelope",
    );
    rejects(
        |v| v["verificationMaterial"]["certificate"] = json!({"rawBytes": "MA=="}),
        ErrorKind::InvalidField,
        "mutually exclusive",
    );
    rejects(
        |v| v["verificationMaterial"] = json!({}),
        ErrorKind::MissingField,
        "verificationMaterial.publicKey|x509CertificateChain|certificate",
    );
    rejects(
        |v| v["verificationMaterial"] = json!({"x509CertificateChain": {"certificates": []}}),
        ErrorKind::InvalidField,
        "x509CertificateChain.certificates",
    );
    rejects(
        |v| v["verificationMaterial"] = json!({"certificate": {"rawBytes": ""}}),
        ErrorKind::InvalidField,
        "certificate.rawBytes",
    );
}

#[test]
fn unknown_fields_are_rejected() {
    rejects(|v| v["extra"] = json!(1), ErrorKind::UnknownField, "extra");
    rejects(
        |v| v["verificationMaterial"]["publicKey"]["raw_bytes"] = json!("AA=="),
        ErrorKind::UnknownField,
        "verificationMaterial.publicKey.raw_bytes",
    );
    rejects(
        |v| v["messageSignature"]["message_digest"] = json!({}),
        ErrorKind::UnknownField,
        "messageSignature.message_digest",
    );
    rejects(
        |v| v["verificationMaterial"]["tlogEntries"] = json!([{"logIndex": "1", "logId": {"keyId": ""}, "kindVersion": {"kind": "k", "version": "v"}, "extra": 1}]),
        ErrorKind::UnknownField,
        "tlogEntries[0].extra",
    );
}

#[test]
fn message_digest_algorithms_other_than_sha2_256_and_512_are_unsupported() {
    for algorithm in [
        json!("SHA2_384"),
        json!("SHA3_256"),
        json!("HASH_ALGORITHM_UNSPECIFIED"),
        json!(2),
        json!("sha256"),
    ] {
        rejects(
            |v| v["messageSignature"]["messageDigest"]["algorithm"] = algorithm.clone(),
            ErrorKind::UnsupportedDigestAlgorithm,
            "",
        );
    }
    rejects(
        |v| {
            drop(
                v["messageSignature"]["messageDigest"]
                    .as_object_mut()
                    .unwrap()
                    .remove("algorithm"),
            )
        },
        ErrorKind::UnsupportedDigestAlgorithm,
        "UNSPECIFIED",
    );
    // Enum numbers are part of the protobuf JSON mapping.
    let mut value = minimal();
    value["messageSignature"]["messageDigest"]["algorithm"] = json!(1);
    assert!(parse(&value).is_ok());
    rejects(
        |v| v["messageSignature"]["messageDigest"]["algorithm"] = json!("SHA2_512"),
        ErrorKind::InvalidField,
        "messageSignature.messageDigest.digest",
    );
}

#[test]
fn int64_fields_accept_strings_and_numbers_but_not_nonsense() {
    let tlog = |log_index: Value| json!([{"logIndex": log_index, "logId": {"keyId": "AA=="}, "kindVersion": {"kind": "k", "version": "v"}}]);
    for (index, expected) in [(json!("12"), 12), (json!(12), 12)] {
        let mut value = minimal();
        value["verificationMaterial"]["tlogEntries"] = tlog(index);
        assert_eq!(parse(&value).unwrap().tlog_entries()[0].log_index, expected);
    }
    for index in [
        json!("-1"),
        json!("1e3"),
        json!(" 1"),
        json!("+1"),
        json!(""),
        json!("99999999999999999999"),
        json!(-1),
        json!(true),
    ] {
        rejects(
            |v| v["verificationMaterial"]["tlogEntries"] = tlog(index.clone()),
            ErrorKind::InvalidField,
            "tlogEntries[0].logIndex",
        );
    }
    let mut value = minimal();
    value["verificationMaterial"]["tlogEntries"] =
        json!([{"logId": {"keyId": "AA=="}, "kindVersion": {"kind": "k", "version": "v"}}]);
    let parsed = parse(&value).unwrap();
    assert_eq!(parsed.tlog_entries()[0].log_index, 0, "unset int64 is zero");
    assert_eq!(parsed.tlog_entries()[0].integrated_time, None);
}

#[test]
fn bytes_fields_must_be_base64() {
    rejects(
        |v| v["messageSignature"]["signature"] = json!("not base64!"),
        ErrorKind::InvalidBase64,
        "messageSignature.signature",
    );
    rejects(
        |v| v["verificationMaterial"] = json!({"certificate": {"rawBytes": "M A=="}}),
        ErrorKind::InvalidBase64,
        "verificationMaterial.certificate.rawBytes",
    );
}

#[test]
fn message_signatures_verify_for_both_key_algorithms() {
    for algorithm in [KeyAlgorithm::Ed25519, KeyAlgorithm::EcdsaP256] {
        let key = SigningKey::generate(algorithm).unwrap();
        let bundle = message_bundle(&key, b"artifact");
        let needed = bundle.digest_algorithms_needed();
        assert_eq!(needed, vec![algorithm.prehash_algorithm()]);
        let artifact = [sha256(b"artifact"), sha512(b"artifact")];
        let verified = bundle.verify(key.public_key(), &artifact).unwrap();
        assert!(
            matches!(&*verified, VerifiedContent::Message { digest } if digest.algorithm() == needed[0])
        );
    }
}

#[test]
fn message_signature_checks_come_in_order() {
    let ed = SigningKey::generate(KeyAlgorithm::Ed25519).unwrap();
    let p256 = SigningKey::generate(KeyAlgorithm::EcdsaP256).unwrap();
    let bundle = message_bundle(&p256, b"artifact");
    assert_eq!(
        bundle
            .verify(p256.public_key(), &[sha512(b"artifact")])
            .unwrap_err(),
        Error::ArtifactDigestMissing {
            algorithm: DigestAlgorithm::Sha256
        }
    );
    assert_eq!(
        bundle
            .verify(p256.public_key(), &[sha256(b"other")])
            .unwrap_err()
            .kind(),
        ErrorKind::ArtifactDigestMismatch
    );
    assert_eq!(
        bundle
            .verify(ed.public_key(), &[sha256(b"artifact")])
            .unwrap_err(),
        Error::PrehashMismatch {
            key_algorithm: KeyAlgorithm::Ed25519,
            expected: DigestAlgorithm::Sha512,
            actual: DigestAlgorithm::Sha256
        }
    );
    let other = SigningKey::generate(KeyAlgorithm::EcdsaP256).unwrap();
    assert_eq!(
        bundle
            .verify(other.public_key(), &[sha256(b"artifact")])
            .unwrap_err(),
        Error::SignatureInvalid {
            key_id: other.public_key().key_id()
        }
    );
}

fn dsse_bundle(key: &SigningKey, payload_type: &str, payload: Vec<u8>) -> Bundle {
    let envelope = Envelope::sign(payload_type, payload, &[key]).unwrap();
    Bundle::new(
        Content::Dsse(envelope),
        KeyMaterial::PublicKeyHint(key.public_key().key_id().to_string()),
    )
}

#[test]
fn dsse_bundles_verify_statements_about_the_artifact() {
    let key = SigningKey::generate(KeyAlgorithm::Ed25519).unwrap();
    let subject = Subject::new("a", &[sha256(b"a"), sha512(b"a")]);
    let statement = Statement::new(vec![subject], "https://e.com/p", json!({})).unwrap();
    let bundle = dsse_bundle(&key, PAYLOAD_TYPE_IN_TOTO, statement.to_json());
    assert_eq!(
        bundle.digest_algorithms_needed(),
        vec![DigestAlgorithm::Sha256, DigestAlgorithm::Sha512]
    );
    let verified = bundle.verify(key.public_key(), &[sha512(b"a")]).unwrap();
    assert_eq!(*verified, VerifiedContent::Statement(statement));
    assert_eq!(
        bundle
            .verify(key.public_key(), &[sha256(b"b")])
            .unwrap_err(),
        Error::SubjectMismatch
    );
}

#[test]
fn dsse_bundles_need_an_in_toto_payload() {
    let key = SigningKey::generate(KeyAlgorithm::Ed25519).unwrap();
    let bundle = dsse_bundle(&key, "text/plain", b"hello".to_vec());
    assert!(bundle.digest_algorithms_needed().is_empty());
    assert_eq!(
        bundle
            .verify(key.public_key(), &[sha256(b"hello")])
            .unwrap_err()
            .kind(),
        ErrorKind::UnsupportedPayloadType
    );
    let bundle = dsse_bundle(&key, PAYLOAD_TYPE_IN_TOTO, b"{}".to_vec());
    assert!(bundle.digest_algorithms_needed().is_empty());
    assert_eq!(
        bundle
            .verify(key.public_key(), &[sha256(b"hello")])
            .unwrap_err()
            .kind(),
        ErrorKind::MissingField
    );
}

#[test]
fn dsse_bundles_need_exactly_one_signature_matching_the_key_hint() {
    let a = SigningKey::generate(KeyAlgorithm::Ed25519).unwrap();
    let b = SigningKey::generate(KeyAlgorithm::Ed25519).unwrap();
    let statement = Statement::new(
        vec![Subject::new("a", &[sha256(b"a")])],
        "https://e.com/p",
        json!({}),
    )
    .unwrap();
    let two = Envelope::sign(PAYLOAD_TYPE_IN_TOTO, statement.to_json(), &[&a, &b]).unwrap();
    let bundle = Bundle::new(Content::Dsse(two), KeyMaterial::Certificate(vec![1]));
    let err = bundle.verify(a.public_key(), &[sha256(b"a")]).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidField);
    assert!(err.to_string().contains("dsseEnvelope.signatures"), "{err}");

    let mut bundle = dsse_bundle(&a, PAYLOAD_TYPE_IN_TOTO, statement.to_json());
    bundle.key_material = KeyMaterial::PublicKeyHint(b.public_key().key_id().to_string());
    let err = bundle.verify(a.public_key(), &[sha256(b"a")]).unwrap_err();
    assert!(err.to_string().contains("keyid"), "{err}");
    bundle.key_material = KeyMaterial::PublicKeyHint(String::new());
    assert!(
        bundle.verify(a.public_key(), &[sha256(b"a")]).is_ok(),
        "an empty hint is unset"
    );
    bundle.key_material = KeyMaterial::Certificate(vec![1]);
    assert!(bundle.verify(a.public_key(), &[sha256(b"a")]).is_ok());
    assert_eq!(
        bundle.verify(b.public_key(), &[sha256(b"a")]).unwrap_err(),
        Error::NoValidSignature
    );
}
