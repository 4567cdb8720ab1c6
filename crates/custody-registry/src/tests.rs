use custody_crypto::sha256;

use crate::manifest::{self, DOCKER_LIST, DOCKER_MANIFEST, OCI_INDEX, OCI_MANIFEST};
use crate::range::{ByteRange, RangeError, parse_content_range, parse_range};
use crate::referrers::{Referrer, referrers_index};
use crate::tags::{TagPage, finish_page};
use crate::{OciCode, Reference, error_body, validate_repository, validate_tag};

#[test]
fn repository_names_follow_the_spec_grammar() {
    for ok in [
        "a",
        "library/ubuntu",
        "a.b_c__d---e/f0",
        "x/y/z",
        &"a".repeat(255),
    ] {
        assert!(validate_repository(ok).is_ok(), "{ok}");
    }
    for bad in [
        "",
        "A",
        "a/",
        "/a",
        "a//b",
        "..",
        "a/../b",
        "a/./b",
        "a___b",
        "a.-b",
        "-a",
        "a-",
        "a b",
        "a%2fb",
        &"a".repeat(256),
    ] {
        let e = validate_repository(bad).unwrap_err();
        assert_eq!(e.code, OciCode::NameInvalid, "{bad}");
    }
}

#[test]
fn tags_and_references_parse() {
    assert!(validate_tag("v1.0_rc-1").is_ok());
    assert!(validate_tag("_x").is_ok());
    assert!(validate_tag(&"t".repeat(128)).is_ok());
    for bad in ["", ".x", "-x", "a/b", "a:b", &"t".repeat(129)] {
        assert!(validate_tag(bad).is_err(), "{bad}");
    }
    let d = sha256(b"x");
    assert_eq!(
        Reference::parse(&d.to_string()).unwrap(),
        Reference::Digest(d)
    );
    assert_eq!(
        Reference::parse("latest").unwrap(),
        Reference::Tag("latest".into())
    );
    assert_eq!(
        Reference::parse("sha256:abc").unwrap_err().code,
        OciCode::DigestInvalid
    );
    assert_eq!(
        Reference::parse("md5:d41d8cd98f00b204e9800998ecf8427e")
            .unwrap_err()
            .code,
        OciCode::DigestInvalid
    );
}

#[test]
fn content_ranges_parse() {
    assert_eq!(parse_content_range("0-99").unwrap(), (0, 99));
    assert_eq!(parse_content_range("bytes 100-199/*").unwrap(), (100, 199));
    for bad in ["", "5", "9-1", "a-b", "-1", "1-"] {
        assert_eq!(
            parse_content_range(bad).unwrap_err().code,
            OciCode::BlobUploadInvalid,
            "{bad}"
        );
    }
}

#[test]
fn read_ranges_parse() {
    assert_eq!(
        parse_range("bytes=0-9", 100),
        Ok(ByteRange { start: 0, end: 9 })
    );
    assert_eq!(
        parse_range("bytes=90-", 100),
        Ok(ByteRange { start: 90, end: 99 })
    );
    assert_eq!(
        parse_range("bytes=-10", 100),
        Ok(ByteRange { start: 90, end: 99 })
    );
    assert_eq!(
        parse_range("bytes=50-500", 100),
        Ok(ByteRange { start: 50, end: 99 })
    );
    assert_eq!(
        parse_range("bytes=100-", 100),
        Err(RangeError::Unsatisfiable)
    );
    assert_eq!(parse_range("bytes=0-1,5-6", 100), Err(RangeError::Ignore));
    assert_eq!(parse_range("items=0-1", 100), Err(RangeError::Ignore));
    assert_eq!(parse_range("bytes=5-1", 100), Err(RangeError::Ignore));
}

#[test]
fn tag_pages_are_exclusive_and_link_to_the_next() {
    let page = TagPage::from_query(Some("2"), Some("b")).unwrap();
    assert_eq!(page.last.as_deref(), Some("b"));
    let (tags, link) = finish_page("r/x", &page, vec!["c".into(), "d".into(), "e".into()]);
    assert_eq!(tags, ["c", "d"]);
    assert_eq!(
        link.unwrap(),
        "</v2/r/x/tags/list?n=2&last=d>; rel=\"next\""
    );
    let (tags, link) = finish_page("r/x", &page, vec!["c".into(), "d".into()]);
    assert_eq!(tags, ["c", "d"]);
    assert!(link.is_none());
    let zero = TagPage::from_query(Some("0"), None).unwrap();
    let (tags, link) = finish_page("r", &zero, vec!["a".into()]);
    assert!(tags.is_empty() && link.is_none());
    assert!(TagPage::from_query(Some("-1"), None).is_err());
}

fn desc(media: &str, data: &[u8]) -> serde_json::Value {
    serde_json::json!({"mediaType": media, "digest": sha256(data).to_string(), "size": data.len()})
}

#[test]
fn image_manifests_parse_with_artifact_type_fallback_and_subject() {
    let subject = desc(OCI_MANIFEST, b"subject");
    let m = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": desc("application/vnd.example.config+json", b"{}"),
        "layers": [desc("application/octet-stream", b"layer")],
        "subject": subject,
        "annotations": {"k": "v"},
    });
    let parsed = manifest::parse(m.to_string().as_bytes(), Some(OCI_MANIFEST)).unwrap();
    assert_eq!(parsed.media_type, OCI_MANIFEST);
    assert_eq!(
        parsed.artifact_type.as_deref(),
        Some("application/vnd.example.config+json")
    );
    assert_eq!(parsed.subject.unwrap().digest, sha256(b"subject"));
    assert_eq!(parsed.blobs.len(), 2);
    assert_eq!(parsed.annotations["k"], "v");
    let mut with_type = m;
    with_type["artifactType"] = "application/x-sig".into();
    let parsed = manifest::parse(with_type.to_string().as_bytes(), None).unwrap();
    assert_eq!(parsed.artifact_type.as_deref(), Some("application/x-sig"));
    assert_eq!(parsed.first_layer().unwrap().digest, sha256(b"layer"));
}

#[test]
fn docker_manifests_and_indexes_parse() {
    let docker = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": DOCKER_MANIFEST,
        "config": desc("application/vnd.docker.container.image.v1+json", b"c"),
        "layers": [desc("application/vnd.docker.image.rootfs.diff.tar.gzip", b"l")],
    });
    let parsed = manifest::parse(docker.to_string().as_bytes(), Some(DOCKER_MANIFEST)).unwrap();
    assert_eq!(parsed.media_type, DOCKER_MANIFEST);
    assert!(!parsed.is_index());
    let list = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": DOCKER_LIST,
        "manifests": [desc(DOCKER_MANIFEST, b"m1"), desc(DOCKER_MANIFEST, b"m2")],
    });
    let parsed = manifest::parse(list.to_string().as_bytes(), None).unwrap();
    assert!(parsed.is_index());
    assert_eq!(parsed.children.len(), 2);
    assert!(parsed.first_layer().is_none());
    let index = serde_json::json!({
        "schemaVersion": 2,
        "manifests": [desc(OCI_MANIFEST, b"m1")],
    });
    let parsed = manifest::parse(index.to_string().as_bytes(), Some(OCI_INDEX)).unwrap();
    assert_eq!(parsed.media_type, OCI_INDEX);
    assert!(parsed.artifact_type.is_none());
}

#[test]
fn bad_manifests_are_refused() {
    let cases: Vec<(Vec<u8>, Option<&str>, OciCode)> = vec![
        (b"not json".to_vec(), None, OciCode::ManifestInvalid),
        (
            br#"{"schemaVersion":2,"schemaVersion":2,"config":{}}"#.to_vec(),
            None,
            OciCode::ManifestInvalid,
        ),
        (
            br#"{"schemaVersion":1}"#.to_vec(),
            None,
            OciCode::ManifestInvalid,
        ),
        (
            serde_json::json!({"schemaVersion":2,"mediaType":OCI_INDEX,"manifests":[]})
                .to_string()
                .into_bytes(),
            Some(OCI_MANIFEST),
            OciCode::ManifestInvalid,
        ),
        (
            serde_json::json!({"schemaVersion":2,"mediaType":"text/plain"})
                .to_string()
                .into_bytes(),
            None,
            OciCode::ManifestInvalid,
        ),
        (
            serde_json::json!({"schemaVersion":2,"config":{"mediaType":"a","digest":"sha256:00","size":1}})
                .to_string()
                .into_bytes(),
            None,
            OciCode::ManifestInvalid,
        ),
        (
            vec![b' '; manifest::MAX_MANIFEST_BYTES + 1],
            None,
            OciCode::SizeInvalid,
        ),
    ];
    for (bytes, ct, code) in cases {
        let e = manifest::parse(&bytes, ct).unwrap_err();
        assert_eq!(
            e.code,
            code,
            "{}",
            String::from_utf8_lossy(&bytes[..bytes.len().min(80)])
        );
    }
}

#[test]
fn referrers_index_filters_by_artifact_type() {
    let r = |n: &[u8], t: &str| Referrer {
        digest: sha256(n),
        media_type: OCI_MANIFEST.into(),
        size: 10,
        artifact_type: Some(t.into()),
        annotations: [("a".to_owned(), "b".to_owned())].into(),
        first_layer: None,
    };
    let all = [r(b"1", "x/sig"), r(b"2", "x/sbom")];
    let (json, filtered) = referrers_index(&all, None);
    assert!(!filtered);
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["mediaType"], OCI_INDEX);
    assert_eq!(v["manifests"].as_array().unwrap().len(), 2);
    let (json, filtered) = referrers_index(&all, Some("x/sbom"));
    assert!(filtered);
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["manifests"].as_array().unwrap().len(), 1);
    assert_eq!(v["manifests"][0]["artifactType"], "x/sbom");
    assert_eq!(v["manifests"][0]["annotations"]["a"], "b");
    let (json, _) = referrers_index(&[], Some("none"));
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["manifests"], serde_json::json!([]));
}

#[test]
fn error_bodies_have_the_spec_shape() {
    let body = error_body(
        OciCode::Denied,
        "no",
        Some(serde_json::json!({"custody_code": "CUSTODY-E1040"})),
    );
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["errors"][0]["code"], "DENIED");
    assert_eq!(v["errors"][0]["message"], "no");
    assert_eq!(v["errors"][0]["detail"]["custody_code"], "CUSTODY-E1040");
    assert_eq!(OciCode::BlobUnknown.status(), 404);
}
