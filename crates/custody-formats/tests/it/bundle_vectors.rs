//! Published Sigstore bundles (testdata/sigstore-bundle): parsed, round-tripped, and where the
//! signing key is available (the leaf certificate's P-256 key), verified.

use custody_crypto::{Digest, DigestAlgorithm, PublicKey};
use custody_formats::bundle::{Bundle, Content, KeyMaterial, MEDIA_TYPE_V03, VerifiedContent};
use custody_formats::dsse::PAYLOAD_TYPE_IN_TOTO;
use custody_formats::slsa::{PREDICATE_TYPE_V1, Provenance};
use custody_formats::{Error, ErrorKind, Limits, json};

use crate::support::{key_of_certificate, read, sha256, spki_of_certificate};

fn bundle(name: &str) -> Bundle {
    Bundle::from_json(
        &read(&format!("sigstore-bundle/{name}")),
        &Limits::default(),
    )
    .unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn leaf_key(bundle: &Bundle) -> PublicKey {
    match bundle.key_material() {
        KeyMaterial::Certificate(der) => key_of_certificate(der),
        KeyMaterial::CertificateChain(chain) => key_of_certificate(&chain[0]),
        other => panic!("no certificate: {other:?}"),
    }
}

fn message_digest(bundle: &Bundle) -> Digest {
    match bundle.content() {
        Content::MessageSignature { digest, .. } => *digest,
        other => panic!("not a message signature: {other:?}"),
    }
}

/// Writing a bundle and reading it back loses nothing but the media type, which is always
/// written as v0.3.
fn assert_round_trips(original: &Bundle) {
    let written = original.to_json();
    assert!(written.ends_with(b"}\n"));
    let again = Bundle::from_json(&written, &Limits::default()).unwrap();
    assert_eq!(again.media_type(), MEDIA_TYPE_V03);
    assert_eq!(again.content(), original.content());
    assert_eq!(again.key_material(), original.key_material());
    assert_eq!(again.tlog_entries(), original.tlog_entries());
    assert_eq!(again.rfc3161_timestamps(), original.rfc3161_timestamps());
    assert_eq!(again.to_json(), written, "writing is deterministic");
}

#[test]
fn every_imported_bundle_parses_and_round_trips() {
    for name in [
        "sigstore-python/bundle.txt.sigstore",
        "sigstore-python/bundle_v3.txt.sigstore",
        "sigstore-python/bundle_v3_alt.txt.sigstore",
        "sigstore-python/bundle_no_checkpoint.txt.sigstore",
        "sigstore-python/a.dsse.staging-rekor-v2.txt.sigstore.json",
        "sigstore-python/staging-rekor-v2.txt.sigstore.json",
        "sigstore-go/dsse.sigstore.json",
        "sigstore-go/dsse-2sigs.sigstore.json",
        "sigstore-go/public-key-validity.sigstore.json",
        "sigstore-go/othername.sigstore.json",
        "sigstore-go/bundle-publish.json",
    ] {
        assert_round_trips(&bundle(name));
    }
}

#[test]
fn v03_message_signature_verifies_against_its_artifact() {
    for (name, artifact) in [
        (
            "sigstore-python/bundle_v3.txt.sigstore",
            "sigstore-python/bundle_v3.txt",
        ),
        (
            "sigstore-python/bundle_v3_alt.txt.sigstore",
            "sigstore-python/bundle_v3_alt.txt",
        ),
        (
            "sigstore-python/staging-rekor-v2.txt.sigstore.json",
            "sigstore-python/staging-rekor-v2.txt",
        ),
    ] {
        let bundle = bundle(name);
        let artifact = sha256(&read(&format!("sigstore-bundle/{artifact}")));
        assert_eq!(message_digest(&bundle), artifact, "{name}");
        assert!(matches!(bundle.key_material(), KeyMaterial::Certificate(_)));
        assert_eq!(
            bundle.digest_algorithms_needed(),
            vec![DigestAlgorithm::Sha256]
        );
        let verified = bundle.verify(&leaf_key(&bundle), &[artifact]).unwrap();
        assert_eq!(*verified, VerifiedContent::Message { digest: artifact });

        // The same signature over another artifact is refused.
        let err = bundle
            .verify(&leaf_key(&bundle), &[sha256(b"other")])
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::ArtifactDigestMismatch);
    }
}

#[test]
fn v03_bundle_fields_are_read_as_published() {
    let bundle = bundle("sigstore-python/bundle_v3.txt.sigstore");
    assert_eq!(bundle.media_type(), MEDIA_TYPE_V03);
    let [entry] = bundle.tlog_entries() else {
        panic!("one entry expected")
    };
    assert_eq!(entry.kind, "hashedrekord");
    assert_eq!(entry.log_id.len(), 32);
    assert!(entry.integrated_time.is_some());
    let proof = entry.inclusion_proof.as_ref().unwrap();
    assert!(proof.log_index <= entry.log_index);
    assert!(proof.tree_size > proof.log_index);
    assert_eq!(proof.root_hash.len(), 32);
    assert!(proof.hashes.iter().all(|h| h.len() == 32));
    assert!(proof.checkpoint.contains('\n'));
    // The canonicalized body is the log's JSON for the entry, naming the same digest.
    let body = json::parse_strict(&entry.canonicalized_body, &Limits::default()).unwrap();
    assert_eq!(
        body["spec"]["data"]["hash"]["value"],
        message_digest(&bundle).hex()
    );

    let staging = self::bundle("sigstore-python/staging-rekor-v2.txt.sigstore.json");
    assert_eq!(staging.rfc3161_timestamps().len(), 1);
    assert_eq!(staging.rfc3161_timestamps()[0][0], 0x30, "DER SEQUENCE");
}

#[test]
fn v01_and_v02_message_bundles_carry_chains_and_promises() {
    let v01 = bundle("sigstore-python/bundle.txt.sigstore");
    assert_eq!(
        v01.media_type(),
        "application/vnd.dev.sigstore.bundle+json;version=0.1"
    );
    assert_eq!(
        message_digest(&v01),
        sha256(&read("sigstore-bundle/sigstore-python/bundle.txt"))
    );
    assert!(matches!(v01.key_material(), KeyMaterial::CertificateChain(c) if !c.is_empty()));
    assert!(v01.tlog_entries()[0].inclusion_promise.is_some());

    let v02 = bundle("sigstore-python/bundle_no_checkpoint.txt.sigstore");
    assert_eq!(
        v02.media_type(),
        "application/vnd.dev.sigstore.bundle+json;version=0.2"
    );
    assert_eq!(
        message_digest(&v02),
        sha256(&read(
            "sigstore-bundle/sigstore-python/bundle_no_checkpoint.txt"
        ))
    );
    let proof = v02.tlog_entries()[0].inclusion_proof.as_ref().unwrap();
    assert_eq!(
        proof.checkpoint, "",
        "this bundle's proof has no checkpoint"
    );

    // Both were signed with P-384 keys, which custody does not support: the key is refused
    // by custody-crypto, so these bundles cannot be verified here.
    for bundle in [&v01, &v02] {
        let KeyMaterial::CertificateChain(chain) = bundle.key_material() else {
            unreachable!()
        };
        assert!(PublicKey::from_spki_der(spki_of_certificate(&chain[0])).is_err());
    }
}

#[test]
fn v03_dsse_bundle_verifies_its_slsa_v1_statement() {
    let bundle = bundle("sigstore-python/a.dsse.staging-rekor-v2.txt.sigstore.json");
    let Content::Dsse(envelope) = bundle.content() else {
        panic!("DSSE expected")
    };
    assert_eq!(envelope.payload_type(), PAYLOAD_TYPE_IN_TOTO);
    assert_eq!(envelope.signatures()[0].keyid, "");
    assert_eq!(
        bundle.digest_algorithms_needed(),
        vec![DigestAlgorithm::Sha256]
    );

    let subject: Digest = "sha256:a0cfc71271d6e278e57cd332ff957c3f7043fdda354c4cbb190a30d56efa01bf"
        .parse()
        .unwrap();
    let verified = bundle.verify(&leaf_key(&bundle), &[subject]).unwrap();
    let VerifiedContent::Statement(statement) = &*verified else {
        panic!("statement expected")
    };
    assert_eq!(statement.predicate_type(), PREDICATE_TYPE_V1);
    assert_eq!(statement.subjects()[0].name(), "a.txt");

    // This upstream predicate omits `externalParameters`, which SLSA v1 requires.
    assert_eq!(
        Provenance::from_value(statement.predicate()).unwrap_err(),
        Error::MissingField {
            field: "predicate.buildDefinition.externalParameters".to_owned()
        }
    );

    // Subject swap: the same valid signature does not vouch for another artifact.
    assert_eq!(
        bundle
            .verify(&leaf_key(&bundle), &[sha256(b"a.txt")])
            .unwrap_err(),
        Error::SubjectMismatch
    );
}

#[test]
fn v01_dsse_bundle_envelope_verifies_but_its_statement_is_v01() {
    let bundle = bundle("sigstore-go/dsse.sigstore.json");
    let Content::Dsse(envelope) = bundle.content() else {
        panic!("DSSE expected")
    };
    let key = leaf_key(&bundle);
    assert!(envelope.verify(std::slice::from_ref(&key), 1).is_ok());
    assert_eq!(
        bundle.digest_algorithms_needed(),
        Vec::<DigestAlgorithm>::new()
    );
    let subject: Digest = "sha512:bbfd372fc9beeb777fe35d05bb10c0c70a9733d366a75fed7dd18866c7391de3ee7e88ba74dd47abf3e15c845e547fcf0e5c3da80854c751554224d3a6d4e55f".parse().unwrap();
    let err = bundle.verify(&key, &[subject]).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidField);
    assert!(err.to_string().contains("_type"), "{err}");
}

#[test]
fn dsse_bundle_with_two_signatures_is_refused() {
    let bundle = bundle("sigstore-go/dsse-2sigs.sigstore.json");
    let Content::Dsse(envelope) = bundle.content() else {
        panic!("DSSE expected")
    };
    assert_eq!(envelope.signatures().len(), 2);
    let key = leaf_key(&bundle);
    let err = bundle.verify(&key, &[]).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidField);
    assert!(err.to_string().contains("exactly one signature"), "{err}");
    // As a plain envelope: the first signature is good, the second is corrupted.
    assert!(envelope.verify(std::slice::from_ref(&key), 1).is_ok());
}

#[test]
fn othername_v03_message_signature_verifies_against_its_digest() {
    let bundle = bundle("sigstore-go/othername.sigstore.json");
    let digest = message_digest(&bundle);
    assert!(bundle.verify(&leaf_key(&bundle), &[digest]).is_ok());
}

#[test]
fn public_key_hint_bundles_keep_the_hint() {
    let bundle = bundle("sigstore-go/public-key-validity.sigstore.json");
    assert_eq!(
        bundle.key_material(),
        &KeyMaterial::PublicKeyHint("IpekKjxVkmTfB4YqY8q5sGEAeVtF9x3m7jHdhAxpgjQ=".to_owned())
    );
    assert!(bundle.tlog_entries().is_empty());
    assert_eq!(bundle.rfc3161_timestamps().len(), 1);
}

#[test]
fn v01_public_key_dsse_bundle_verifies_with_the_key_from_its_log_entry() {
    // The intoto log entry's body carries the signer's PEM public key.
    let bundle = bundle("sigstore-go/bundle-publish.json");
    let KeyMaterial::PublicKeyHint(hint) = bundle.key_material() else {
        panic!("hint expected")
    };
    assert_eq!(hint, "SHA256:jl3bwswu80PjjokCgh0o2w5c2U4LhQAE57gj9cz1kzA");
    let entry = &bundle.tlog_entries()[0];
    assert!(entry.inclusion_proof.is_none());
    let body = json::parse_strict(&entry.canonicalized_body, &Limits::default()).unwrap();
    let pem_b64 = body["spec"]["content"]["envelope"]["signatures"][0]["publicKey"]
        .as_str()
        .unwrap();
    // The PEM has one long base64 line, which strict RFC 7468 readers refuse: read the DER.
    let der = {
        use base64::Engine as _;
        let engine = base64::engine::general_purpose::STANDARD;
        let pem = String::from_utf8(engine.decode(pem_b64).unwrap()).unwrap();
        let inner: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
        engine.decode(inner).unwrap()
    };
    let key = PublicKey::from_spki_der(&der).unwrap();
    let Content::Dsse(envelope) = bundle.content() else {
        panic!("DSSE expected")
    };
    assert_eq!(envelope.signatures()[0].keyid, *hint);
    assert!(envelope.verify(std::slice::from_ref(&key), 1).is_ok());
    // The hint matches the envelope's keyid, so verification proceeds to the statement (v0.1).
    let err = bundle.verify(&key, &[]).unwrap_err();
    assert!(err.to_string().contains("_type"), "{err}");
}

#[test]
fn unsupported_media_type_is_refused() {
    let err = Bundle::from_json(
        &read("sigstore-bundle/sigstore-python/bundle_invalid_version.txt.sigstore"),
        &Limits::default(),
    )
    .unwrap_err();
    assert_eq!(
        err,
        Error::UnsupportedMediaType {
            media_type: "this is completely wrong".to_owned()
        }
    );
}
