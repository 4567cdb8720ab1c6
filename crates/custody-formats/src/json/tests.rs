use serde_json::json;

use super::{canonicalize, parse_strict};
use crate::{ErrorKind, Limits};

fn parse(text: &str) -> Result<serde_json::Value, crate::Error> {
    parse_strict(text.as_bytes(), &Limits::default())
}

fn kind_of(text: &str) -> ErrorKind {
    parse(text).expect_err(text).kind()
}

#[test]
fn well_formed_documents_parse_to_the_same_value_as_serde_json() {
    for text in [
        "null",
        "true",
        "0",
        "-12",
        "1.5e3",
        "18446744073709551615",
        r#""a\u00e9\ud83d\ude00""#,
        "[]",
        "{}",
        r#"{"a": [1, {"b": null}], "c": "d"}"#,
        " \n\t{ \"x\" : 1 } \r\n",
    ] {
        let expected: serde_json::Value = serde_json::from_str(text).unwrap();
        assert_eq!(parse(text).unwrap(), expected, "{text}");
    }
}

#[test]
fn duplicate_keys_are_rejected_at_every_depth() {
    for text in [
        r#"{"a": 1, "a": 1}"#,
        r#"{"a": 1, "b": {"c": 1, "c": 2}}"#,
        r#"[{"x": [{"y": 1, "y": 1}]}]"#,
        // Keys are compared after unescaping.
        r#"{"a": 1, "\u0061": 2}"#,
    ] {
        let err = parse(text).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::DuplicateKey, "{text}");
    }
    let err = parse(r#"{"payload": "a", "payload": "b"}"#).unwrap_err();
    assert_eq!(
        err,
        crate::Error::DuplicateKey {
            key: "payload".to_owned()
        }
    );
}

#[test]
fn nesting_at_the_limit_is_accepted_and_beyond_it_rejected() {
    let limits = Limits {
        max_depth: 3,
        ..Limits::default()
    };
    assert!(parse_strict(b"[[[1]]]", &limits).is_ok());
    assert!(parse_strict(br#"{"a":{"b":[]}}"#, &limits).is_ok());
    for text in ["[[[[1]]]]", r#"{"a":{"b":{"c":{}}}}"#, "[[[{}]]]"] {
        let err = parse_strict(text.as_bytes(), &limits).unwrap_err();
        assert_eq!(err, crate::Error::TooDeep { limit: 3 }, "{text}");
    }
}

#[test]
fn depth_limits_above_serde_json_own_are_still_too_deep_errors() {
    let limits = Limits {
        max_depth: 10_000,
        ..Limits::default()
    };
    let text = "[".repeat(200) + &"]".repeat(200);
    assert_eq!(
        parse_strict(text.as_bytes(), &limits).unwrap_err().kind(),
        ErrorKind::TooDeep
    );
}

#[test]
fn size_is_checked_before_parsing() {
    let limits = Limits {
        max_document_bytes: 4,
        ..Limits::default()
    };
    assert!(parse_strict(b"[1,2]", &limits).is_err());
    assert_eq!(
        parse_strict(b"[1,2]", &limits).unwrap_err(),
        crate::Error::TooLarge {
            limit: 4,
            actual: 5
        }
    );
    // Not even looked at: invalid JSON of the wrong size is reported as too large.
    assert_eq!(
        parse_strict(b"\xff\xff\xff\xff\xff", &limits)
            .unwrap_err()
            .kind(),
        ErrorKind::TooLarge
    );
    assert!(parse_strict(b"[12]", &limits).is_ok());
}

#[test]
fn malformed_documents_are_rejected() {
    for text in [
        "",
        " ",
        "{",
        "[1,]",
        r#"{"a":1,}"#,
        "{'a':1}",
        "NaN",
        "1e400",
        "01",
        r#""\ud800""#,
        "{} {}",
        "[] x",
        "\u{feff}{}",
        r#"{"a" 1}"#,
        "\"unterminated",
    ] {
        assert_eq!(kind_of(text), ErrorKind::MalformedJson, "{text:?}");
    }
}

#[test]
fn invalid_utf8_is_rejected() {
    for bytes in [&b"\"\xff\""[..], b"[\"\xc3\x28\"]", b"\"\xed\xa0\x80\""] {
        let err = parse_strict(bytes, &Limits::default()).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::MalformedJson);
        assert!(err.to_string().contains("UTF-8"), "{err}");
    }
}

#[test]
fn canonical_form_follows_rfc_8785() {
    // RFC 8785 §3.2.3 sorts by UTF-16 code units; §3.2.2.3 numbers in ECMAScript form.
    let value =
        parse(r#"{"b": [1.0, 1e21, 0.1], "a": "\u00e9\n", "\ud83d\ude00": 1, "\ufb33": 2}"#)
            .unwrap();
    let canonical = String::from_utf8(canonicalize(&value).unwrap()).unwrap();
    assert_eq!(
        canonical,
        "{\"a\":\"é\\n\",\"b\":[1,1e+21,0.1],\"😀\":1,\"דּ\":2}"
    );
}

#[test]
fn canonicalizing_is_idempotent_through_the_strict_parser() {
    let value = json!({"z": {"y": [true, null, -0.5, "x"]}, "a": 9_007_199_254_740_991_u64});
    let once = canonicalize(&value).unwrap();
    let twice = canonicalize(&parse_strict(&once, &Limits::default()).unwrap()).unwrap();
    assert_eq!(once, twice);
}

#[test]
fn integers_beyond_2_pow_53_are_not_canonicalizable() {
    for value in [
        json!(9_007_199_254_740_992_u64),
        json!({"a": [u64::MAX]}),
        json!(-9_007_199_254_740_992_i64),
    ] {
        assert_eq!(
            canonicalize(&value).unwrap_err().kind(),
            ErrorKind::NotCanonicalizable,
            "{value}"
        );
    }
}
