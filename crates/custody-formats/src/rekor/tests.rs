use custody_crypto::{KeyAlgorithm, Signer, SigningKey, sha256, sha512};

use super::*;

fn record(alg: KeyAlgorithm) -> (SigningKey, HashedRekord) {
    let key = SigningKey::generate(alg).unwrap();
    let digest = match alg {
        KeyAlgorithm::EcdsaP256 => sha256(b"artifact"),
        _ => sha512(b"artifact"),
    };
    let sig = key.sign_prehashed(&digest).unwrap();
    let rec = HashedRekord::new(digest, sig, key.public_key().clone()).unwrap();
    (key, rec)
}

#[test]
fn request_round_trip_and_verify() {
    for alg in [KeyAlgorithm::Ed25519, KeyAlgorithm::EcdsaP256] {
        let (_, rec) = record(alg);
        let parsed =
            HashedRekord::from_request_json(&rec.to_request_json(), &Limits::default()).unwrap();
        assert_eq!(parsed, rec);
        parsed.verify().unwrap();
        let entry = rec.canonical_entry().unwrap();
        let text = String::from_utf8(entry.clone()).unwrap();
        assert!(
            text.starts_with("{\"apiVersion\":\"0.0.2\",\"kind\":\"hashedrekord\",\"spec\":"),
            "{text}"
        );
        assert_eq!(
            HashedRekord::from_canonical_entry(&entry, &Limits::default()).unwrap(),
            rec
        );
    }
}

#[test]
fn forged_signature_is_refused() {
    let (_, rec) = record(KeyAlgorithm::Ed25519);
    let mut sig = rec.signature().to_vec();
    sig[10] ^= 1;
    let forged = HashedRekord::new(*rec.digest(), sig, rec.key().clone()).unwrap();
    assert_eq!(
        forged.verify().unwrap_err().kind(),
        crate::ErrorKind::SignatureInvalid
    );
    // A valid signature presented with another key.
    let (other, _) = record(KeyAlgorithm::Ed25519);
    let swapped = HashedRekord::new(
        *rec.digest(),
        rec.signature().to_vec(),
        other.public_key().clone(),
    )
    .unwrap();
    assert!(swapped.verify().is_err());
}

#[test]
fn malformed_requests_are_refused() {
    let (_, rec) = record(KeyAlgorithm::EcdsaP256);
    let good = String::from_utf8(rec.to_request_json()).unwrap();
    let cases = [
        good.replace("PKIX_ECDSA_P256_SHA_256", "PKIX_ED25519_PH"),
        good.replace("hashedRekordRequestV002", "dsseRequestV002"),
        good.replacen("{", "{\"extra\":1,", 1),
        good.replacen("\"digest\":\"", "\"digest\":\"AAAA", 1),
        "{}".to_owned(),
        "not json".to_owned(),
    ];
    for case in cases {
        assert!(
            HashedRekord::from_request_json(case.as_bytes(), &Limits::default()).is_err(),
            "{case}"
        );
    }
    let huge = vec![b' '; MAX_REQUEST_BYTES + 1];
    assert_eq!(
        HashedRekord::from_request_json(&huge, &Limits::default())
            .unwrap_err()
            .kind(),
        crate::ErrorKind::TooLarge
    );
}

#[test]
fn non_canonical_entries_are_refused() {
    let (_, rec) = record(KeyAlgorithm::EcdsaP256);
    let entry = String::from_utf8(rec.canonical_entry().unwrap()).unwrap();
    let spaced = entry.replacen(":", ": ", 1);
    assert!(HashedRekord::from_canonical_entry(spaced.as_bytes(), &Limits::default()).is_err());
}

fn dsse_record(alg: KeyAlgorithm) -> (SigningKey, DsseRecord) {
    let key = SigningKey::generate(alg).unwrap();
    let envelope = crate::dsse::Envelope::sign(
        "application/vnd.in-toto+json",
        br#"{"_type":"https://in-toto.io/Statement/v1"}"#.to_vec(),
        &[&key],
    )
    .unwrap();
    let rec = DsseRecord::new(envelope, &[key.public_key().clone()]).unwrap();
    (key, rec)
}

#[test]
fn dsse_request_round_trip_and_entry() {
    for alg in [KeyAlgorithm::Ed25519, KeyAlgorithm::EcdsaP256] {
        let (key, rec) = dsse_record(alg);
        let request = rec.to_request_json().unwrap();
        let parsed = Record::from_request_json(&request, &Limits::default()).unwrap();
        assert_eq!(parsed, Record::Dsse(rec.clone()));
        assert_eq!(parsed.kind(), "dsse");
        parsed.verify().unwrap();
        let entry = parsed.canonical_entry().unwrap();
        let text = String::from_utf8(entry.clone()).unwrap();
        assert!(
            text.starts_with("{\"apiVersion\":\"0.0.2\",\"kind\":\"dsse\",\"spec\":{\"dsseV002\":"),
            "{text}"
        );
        let expected_details = if alg == KeyAlgorithm::Ed25519 {
            "\"keyDetails\":\"PKIX_ED25519\""
        } else {
            "\"keyDetails\":\"PKIX_ECDSA_P256_SHA_256\""
        };
        assert!(text.contains(expected_details), "{text}");
        // The payload hash is the SHA-256 of the payload (not of the PAE).
        assert_eq!(
            rec.payload_hash(),
            &sha256(br#"{"_type":"https://in-toto.io/Statement/v1"}"#)
        );
        let back = Record::from_canonical_entry(&entry, &Limits::default()).unwrap();
        assert_eq!(back.canonical_entry().unwrap(), entry);
        assert_eq!(back.keys(), vec![key.public_key()]);
        // Read back from the log there is no envelope: it cannot be re-verified or resubmitted.
        assert!(back.verify().is_err());
        assert!(back.to_request_json().is_err());
    }
}

#[test]
fn dsse_requests_with_bad_signatures_or_keys_are_refused() {
    let (_, rec) = dsse_record(KeyAlgorithm::Ed25519);
    let request = String::from_utf8(rec.to_request_json().unwrap()).unwrap();
    // Another key as verifier: the envelope's signature does not verify under it.
    let other = SigningKey::generate(KeyAlgorithm::Ed25519).unwrap();
    let envelope = crate::dsse::Envelope::from_value(
        &serde_json::from_str::<Value>(&request).unwrap()["dsseRequestV002"]["envelope"],
    )
    .unwrap();
    assert_eq!(
        DsseRecord::new(envelope, &[other.public_key().clone()])
            .unwrap_err()
            .kind(),
        crate::ErrorKind::SignatureInvalid
    );
    // A payload changed after signing.
    let mut v: Value = serde_json::from_str(&request).unwrap();
    v["dsseRequestV002"]["envelope"]["payload"] = Value::String(b64::encode(b"{}"));
    assert_eq!(
        Record::from_request_json(v.to_string().as_bytes(), &Limits::default())
            .unwrap_err()
            .kind(),
        crate::ErrorKind::SignatureInvalid
    );
    // The pre-hash key details of hashedrekord are not DSSE's.
    let bad = request.replace("PKIX_ED25519", "PKIX_ED25519_PH");
    assert!(Record::from_request_json(bad.as_bytes(), &Limits::default()).is_err());
    // Unknown fields, two requests at once, no verifiers.
    let mut v: Value = serde_json::from_str(&request).unwrap();
    v["dsseRequestV002"]["extra"] = Value::Bool(true);
    assert!(Record::from_request_json(v.to_string().as_bytes(), &Limits::default()).is_err());
    let mut v: Value = serde_json::from_str(&request).unwrap();
    v["hashedRekordRequestV002"] = serde_json::json!({});
    assert!(Record::from_request_json(v.to_string().as_bytes(), &Limits::default()).is_err());
    let mut v: Value = serde_json::from_str(&request).unwrap();
    v["dsseRequestV002"]["verifiers"] = serde_json::json!([]);
    assert!(Record::from_request_json(v.to_string().as_bytes(), &Limits::default()).is_err());
    // Oversize.
    let huge = vec![b' '; MAX_DSSE_REQUEST_BYTES + 1];
    assert_eq!(
        Record::from_request_json(&huge, &Limits::default())
            .unwrap_err()
            .kind(),
        crate::ErrorKind::TooLarge
    );
}

#[test]
fn record_dispatches_hashedrekord_too() {
    let (_, rec) = record(KeyAlgorithm::EcdsaP256);
    let parsed = Record::from_request_json(&rec.to_request_json(), &Limits::default()).unwrap();
    assert_eq!(parsed, Record::HashedRekord(rec.clone()));
    let entry = parsed.canonical_entry().unwrap();
    assert_eq!(
        Record::from_canonical_entry(&entry, &Limits::default()).unwrap(),
        Record::HashedRekord(rec)
    );
}

#[test]
fn direct_canonical_entry_equals_the_general_canonicaliser() {
    for alg in [KeyAlgorithm::Ed25519, KeyAlgorithm::EcdsaP256] {
        for _ in 0..20 {
            let (_, rec) = record(alg);
            assert_eq!(
                rec.canonical_entry().unwrap(),
                rec.canonical_entry_general().unwrap()
            );
        }
    }
}
