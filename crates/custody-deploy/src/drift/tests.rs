use custody_crypto::{Digest, sha256, sha512};

use super::{DriftReport, Expected, Found, compare};

fn expected(path: &str, d: Digest) -> Expected {
    Expected {
        path: path.into(),
        digest: d,
    }
}

fn found(path: &str, d: Digest) -> Found {
    Found {
        path: path.into(),
        digest: d,
    }
}

#[test]
fn nothing_expected_nothing_found_is_no_drift() {
    let report = compare(&[], &[]);
    assert_eq!(report, DriftReport::default());
    assert!(!report.drifted());
}

#[test]
fn identical_files_match() {
    let files = [
        ("bin/app", sha256(b"app")),
        ("etc/app.toml", sha256(b"cfg")),
    ];
    let report = compare(
        &files.map(|(p, d)| expected(p, d)),
        &files.map(|(p, d)| found(p, d)),
    );
    assert_eq!(report.matched, vec!["bin/app", "etc/app.toml"]);
    assert!(!report.drifted());
}

#[test]
fn modified_missing_and_unexpected_files_are_reported_sorted() {
    let report = compare(
        &[
            expected("z/ok", sha256(b"ok")),
            expected("b/changed", sha256(b"v1")),
            expected("a/changed", sha256(b"v1")),
            expected("gone", sha256(b"gone")),
        ],
        &[
            found("z/ok", sha256(b"ok")),
            found("b/changed", sha256(b"v2")),
            found("a/changed", sha256(b"v3")),
            found("extra/2", sha256(b"x")),
            found("extra/1", sha256(b"y")),
        ],
    );
    assert_eq!(report.matched, vec!["z/ok"]);
    assert_eq!(
        report.modified,
        vec![
            ("a/changed".into(), sha256(b"v1"), sha256(b"v3")),
            ("b/changed".into(), sha256(b"v1"), sha256(b"v2")),
        ]
    );
    assert_eq!(report.missing, vec!["gone"]);
    assert_eq!(report.unexpected, vec!["extra/1", "extra/2"]);
    assert!(report.drifted());
}

#[test]
fn unexpected_files_alone_are_not_drift() {
    let report = compare(
        &[expected("app", sha256(b"a"))],
        &[found("app", sha256(b"a")), found("app.log", sha256(b"l"))],
    );
    assert_eq!(report.unexpected, vec!["app.log"]);
    assert!(!report.drifted());
}

#[test]
fn a_missing_file_alone_is_drift() {
    let report = compare(&[expected("app", sha256(b"a"))], &[]);
    assert_eq!(report.missing, vec!["app"]);
    assert!(report.drifted());
}

#[test]
fn digests_of_another_algorithm_do_not_match() {
    let report = compare(
        &[expected("app", sha256(b"a"))],
        &[found("app", sha512(b"a"))],
    );
    assert_eq!(report.modified.len(), 1);
    assert!(report.drifted());
}

#[test]
fn a_path_listed_twice_counts_once_with_its_first_digest() {
    let report = compare(
        &[expected("app", sha256(b"a")), expected("app", sha256(b"b"))],
        &[found("app", sha256(b"a")), found("app", sha256(b"c"))],
    );
    assert_eq!(report.matched, vec!["app"]);
    assert!(!report.drifted());
}

#[test]
fn paths_are_compared_exactly() {
    // No normalisation: "./app" and "App" are other files than "app".
    let report = compare(
        &[expected("app", sha256(b"a"))],
        &[found("./app", sha256(b"a")), found("App", sha256(b"a"))],
    );
    assert_eq!(report.missing, vec!["app"]);
    assert_eq!(report.unexpected, vec!["./app", "App"]);
}
