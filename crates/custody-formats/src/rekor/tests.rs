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
