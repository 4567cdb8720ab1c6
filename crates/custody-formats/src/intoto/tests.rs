use custody_crypto::{Digest, DigestAlgorithm, Hasher, sha256};
use serde_json::{Value, json};

use super::{STATEMENT_TYPE_V1, Statement, Subject};
use crate::{Error, ErrorKind, Limits};

fn sha512(data: &[u8]) -> Digest {
    let mut hasher = Hasher::new(DigestAlgorithm::Sha512);
    hasher.update(data);
    hasher.finalize()
}

fn statement_json(subject: Value) -> Value {
    json!({
        "_type": STATEMENT_TYPE_V1,
        "subject": subject,
        "predicateType": "https://example.com/predicate/v1",
        "predicate": {"k": "v"}
    })
}

fn parse(value: &Value) -> Result<Statement, Error> {
    Statement::from_json(value.to_string().as_bytes(), &Limits::default())
}

#[test]
fn a_statement_round_trips_with_fields_in_spec_order() {
    let digest = sha256(b"artifact");
    let statement = Statement::new(
        vec![Subject::new("a.txt", &[digest, sha512(b"artifact")])],
        "https://slsa.dev/provenance/v1",
        json!({"x": 1}),
    )
    .unwrap();
    let bytes = statement.to_json();
    let text = String::from_utf8(bytes.clone()).unwrap();
    let order: Vec<usize> = [
        "\"_type\"",
        "\"subject\"",
        "\"predicateType\"",
        "\"predicate\"",
    ]
    .iter()
    .map(|k| text.find(k).unwrap())
    .collect();
    assert!(order.windows(2).all(|w| w[0] < w[1]), "{text}");
    let parsed = Statement::from_json(&bytes, &Limits::default()).unwrap();
    assert_eq!(parsed, statement);
    assert_eq!(parsed.subjects()[0].name(), "a.txt");
    assert_eq!(parsed.subjects()[0].digests()["sha256"], digest.hex());
    assert_eq!(parsed.predicate_type(), "https://slsa.dev/provenance/v1");
    assert_eq!(parsed.predicate(), &json!({"x": 1}));
}

#[test]
fn subjects_match_by_any_supported_digest() {
    let a = sha256(b"a");
    let b512 = sha512(b"b");
    let statement = Statement::new(
        vec![Subject::new("a", &[a]), Subject::new("b", &[b512])],
        "https://example.com/p",
        json!({}),
    )
    .unwrap();
    assert_eq!(statement.subject_matching(&[a]).unwrap().name(), "a");
    assert_eq!(
        statement
            .subject_matching(&[sha256(b"b"), b512])
            .unwrap()
            .name(),
        "b"
    );
    assert!(statement.subject_matching(&[sha256(b"c")]).is_none());
    assert!(statement.subject_matching(&[]).is_none());
    // Same bytes, other algorithm: no match.
    assert!(!statement.subjects()[0].matches(&sha512(b"a")));
}

#[test]
fn constructor_checks_subjects_predicate_type_and_predicate() {
    let subject = || vec![Subject::new("x", &[sha256(b"x")])];
    let cases = [
        Statement::new(vec![], "https://e.com/p", json!({})),
        Statement::new(vec![Subject::new("x", &[])], "https://e.com/p", json!({})),
        Statement::new(subject(), "thePredicate", json!({})),
        Statement::new(subject(), "", json!({})),
        Statement::new(subject(), "https://e.com/p", json!([])),
        Statement::new(subject(), "https://e.com/p", json!("x")),
    ];
    for case in cases {
        assert_eq!(case.unwrap_err().kind(), ErrorKind::InvalidField);
    }
}

#[test]
fn statement_type_must_be_exactly_v1() {
    for statement_type in [
        "https://in-toto.io/Statement/v0.1",
        "https://in-toto.io/Statement/v2",
        "https://in-toto.io/statement/v1",
        "https://not-in-toto.io/Statement/v1",
        "https://in-toto.io/Statement/v1 ",
    ] {
        let mut value = statement_json(json!([{"digest": {"sha256": sha256(b"x").hex()}}]));
        value["_type"] = json!(statement_type);
        assert_eq!(
            parse(&value).unwrap_err(),
            Error::InvalidField {
                field: "_type".to_owned(),
                reason: format!("expected '{STATEMENT_TYPE_V1}', found '{statement_type}'"),
            }
        );
    }
}

#[test]
fn subject_digests_are_checked_for_supported_algorithms_only() {
    let good = sha256(b"x").hex();
    let bad_digests = [
        json!({}),
        json!({"sha256": good.to_uppercase()}),
        json!({"sha256": &good[1..]}),
        json!({"sha256": format!("{good}00")}),
        json!({"sha256": format!("g{}", &good[1..])}),
        json!({"sha512": good}),
        json!({"sha256": 1}),
        json!({"gitCommit": ""}),
    ];
    for digest in bad_digests {
        let err = parse(&statement_json(json!([{"name": "x", "digest": digest}]))).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidField, "{digest}");
    }
    // Other algorithms are opaque strings.
    let statement = parse(&statement_json(
        json!([{"digest": {"sha1": "ABC", "gitCommit": "1ac93ce2", "sha256": good}}]),
    ))
    .unwrap();
    assert_eq!(statement.subjects()[0].digests()["sha1"], "ABC");
    assert_eq!(statement.subjects()[0].name(), "");
}

#[test]
fn structural_errors_name_the_field() {
    let digest = json!({"sha256": sha256(b"x").hex()});
    let cases = [
        (json!({"subject": [], "predicateType": "a:b"}), "_type"),
        (
            json!({"_type": STATEMENT_TYPE_V1, "predicateType": "a:b"}),
            "subject",
        ),
        (
            json!({"_type": STATEMENT_TYPE_V1, "subject": [{"digest": digest}]}),
            "predicateType",
        ),
        (statement_json(json!([{"name": "x"}])), "subject[0].digest"),
    ];
    for (value, field) in cases {
        assert_eq!(
            parse(&value).unwrap_err(),
            Error::MissingField {
                field: field.to_owned()
            }
        );
    }
    let err = parse(&statement_json(json!([{"name": 5, "digest": digest}]))).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidField);
    assert!(err.to_string().contains("subject[0].name"), "{err}");
    let err = parse(&statement_json(json!([]))).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidField);
}

#[test]
fn unset_predicate_is_an_empty_object_and_unknown_fields_are_ignored() {
    let value = json!({
        "_type": STATEMENT_TYPE_V1,
        "subject": [{"digest": {"sha256": sha256(b"x").hex()}, "uri": "https://e.com/x"}],
        "predicateType": "https://e.com/p",
        "extension": {"anything": true}
    });
    let statement = parse(&value).unwrap();
    assert_eq!(statement.predicate(), &json!({}));
    // A predicate that is not an object is rejected.
    let mut value = value;
    value["predicate"] = json!(null);
    assert_eq!(parse(&value).unwrap_err().kind(), ErrorKind::InvalidField);
}
