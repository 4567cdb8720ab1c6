use super::is_absolute;

#[test]
fn absolute_uris_are_accepted() {
    for uri in [
        "https://slsa.dev/provenance/v1",
        "pkg:npm/sigstore@1.0.0",
        "git+https://github.com/a/b@refs/heads/main",
        "urn:uuid:6e8bc430-9c3a-11d9-9669-0800200c9a66",
    ] {
        assert!(is_absolute(uri), "{uri}");
    }
}

#[test]
fn relative_and_malformed_uris_are_rejected() {
    for uri in [
        "",
        "thePredicate",
        "/path",
        ":x",
        "1http://x",
        "https:",
        "http://a b",
        "ht tp://x",
    ] {
        assert!(!is_absolute(uri), "{uri}");
    }
}
