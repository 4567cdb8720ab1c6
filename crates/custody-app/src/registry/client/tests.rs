use super::*;

fn parse(text: &str) -> Result<Reference> {
    text.parse()
}

#[test]
fn references_parse_with_tags_digests_and_schemes() {
    let r = parse("127.0.0.1:8080/team/app:v1").unwrap();
    assert_eq!(r.base, "http://127.0.0.1:8080");
    assert_eq!(r.repository, "team/app");
    assert_eq!(r.tag.as_deref(), Some("v1"));
    assert_eq!(r.manifest_reference().as_deref(), Some("v1"));

    let digest = sha256(b"x");
    let r = parse(&format!("registry.example.com/app@{digest}")).unwrap();
    assert_eq!(r.base, "https://registry.example.com");
    assert_eq!(r.tag, None);
    assert_eq!(r.digest, Some(digest));
    assert_eq!(r.manifest_reference(), Some(digest.to_string()));

    let r = parse(&format!("http://reg.test:5000/a/b:t@{digest}")).unwrap();
    assert_eq!(r.base, "http://reg.test:5000");
    assert_eq!(r.tag.as_deref(), Some("t"));
    // The digest wins over the tag.
    assert_eq!(r.manifest_reference(), Some(digest.to_string()));

    let r = parse("localhost/app").unwrap();
    assert_eq!(r.base, "http://localhost");
    assert_eq!(r.manifest_reference(), None);
}

#[test]
fn bad_references_are_refused_with_a_code() {
    for bad in [
        "no-repository",
        "ftp://host/app:v1",
        "host/App:v1",
        "host/../etc:v1",
        "host/a//b:v1",
        "host/app:-bad",
        "host/app@sha256:short",
        "ho st/app:v1",
        "/app:v1",
    ] {
        let err = parse(bad).expect_err(bad);
        assert_eq!(err.code(), Code::ReferenceInvalid, "{bad}: {err}");
    }
}

#[test]
fn registry_refusals_keep_the_custody_code_and_hint() {
    let body = br#"{"errors":[{"code":"DENIED","message":"no signature","detail":{"custody_code":"CUSTODY-E1050","hint":"sign it"}}]}"#;
    let err = refused("http://r/v2/x", 403, body);
    assert_eq!(err.code(), Code::SignatureMissing);
    assert_eq!(err.hint(), "sign it");
    assert!(err.message().contains("no signature"));
    let err = refused("http://r/v2/x", 502, b"<html>bad gateway</html>");
    assert_eq!(err.code(), Code::RegistryUnavailable);
}

#[test]
fn single_layer_requires_an_image_manifest_with_one_layer() {
    let d = sha256(b"f");
    let one = json!({"mediaType": IMAGE_MANIFEST, "layers": [{"mediaType": "x", "digest": d.to_string(), "size": 1}]});
    assert_eq!(single_layer(one.to_string().as_bytes()).unwrap().digest, d);
    let two = json!({"mediaType": IMAGE_MANIFEST, "layers": [
        {"mediaType": "x", "digest": d.to_string(), "size": 1},
        {"mediaType": "x", "digest": d.to_string(), "size": 1}]});
    assert!(single_layer(two.to_string().as_bytes()).is_none());
    let index = json!({"mediaType": IMAGE_INDEX, "layers": []});
    assert!(single_layer(index.to_string().as_bytes()).is_none());
}

/// A signed in-toto statement about `b"artifact"`, as a Sigstore bundle v0.3 and as the bare
/// DSSE envelope inside it.
fn signed_statement() -> (Vec<u8>, Vec<u8>) {
    let dir = tempfile::tempdir().unwrap();
    let key = custody_crypto::SigningKey::generate(custody_crypto::KeyAlgorithm::Ed25519).unwrap();
    let digest = sha256(b"artifact");
    let statement = Statement::new(
        vec![Subject::new("artifact", &[digest])],
        "https://example.com/predicate/v1",
        json!({"ok": true}),
    )
    .unwrap();
    let signed =
        sign_statement(&statement, &key, digest, &dir.path().join("b.json"), None).unwrap();
    let custody_formats::bundle::Content::Dsse(envelope) = signed.bundle.content() else {
        panic!("not a DSSE bundle");
    };
    (signed.bundle.to_json(), envelope.to_json())
}

#[test]
fn attachable_bundles_are_checked_and_v0_3_is_kept_byte_for_byte() {
    let (bundle, envelope) = signed_statement();
    assert_eq!(attachable_bundle(&bundle).unwrap(), bundle);

    // A bare DSSE envelope is pushed as the v0.3 bundle referrers are labelled with.
    let rewritten = attachable_bundle(&envelope).unwrap();
    let parsed =
        custody_formats::bundle::Bundle::from_json(&rewritten, &Limits::default()).unwrap();
    assert_eq!(parsed.media_type(), custody_formats::bundle::MEDIA_TYPE_V03);

    assert_eq!(
        attachable_bundle(br#"{"mediaType": "application/x"}"#)
            .unwrap_err()
            .code(),
        Code::BundleUnsupported
    );
    for bad in [&b"not json"[..], b"{}", b"[]", br#"{"mediaType": 1}"#] {
        assert_eq!(
            attachable_bundle(bad).unwrap_err().code(),
            Code::BundleMalformed,
            "{}",
            String::from_utf8_lossy(bad)
        );
    }
    let huge = vec![b' '; SMALL_LIMIT as usize + 1];
    assert_eq!(
        attachable_bundle(&huge).unwrap_err().code(),
        Code::BundleMalformed
    );
}

#[test]
fn bundle_files_are_read_with_a_limit_and_errors_name_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let (bundle, _) = signed_statement();
    let good = dir.path().join("good.json");
    std::fs::write(&good, &bundle).unwrap();
    assert_eq!(read_attachable_bundle(&good).unwrap(), bundle);

    let bad = dir.path().join("bad.json");
    std::fs::write(&bad, b"{\"mediaType\": 1}").unwrap();
    let err = read_attachable_bundle(&bad).unwrap_err();
    assert_eq!(err.code(), Code::BundleMalformed);
    assert!(err.message().contains("bad.json"), "{}", err.message());

    let big = dir.path().join("big.json");
    std::fs::write(&big, vec![b' '; SMALL_LIMIT as usize + 1]).unwrap();
    let err = read_attachable_bundle(&big).unwrap_err();
    assert_eq!(err.code(), Code::BundleMalformed);
    assert!(err.message().contains("big.json"), "{}", err.message());

    let missing = read_attachable_bundle(&dir.path().join("missing.json")).unwrap_err();
    assert_eq!(missing.code().exit_status(), 3, "{}", missing.message());
}
