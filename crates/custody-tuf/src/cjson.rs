//! OLPC canonical JSON, as securesystemslib encodes it for TUF signatures.
//!
//! This is not RFC 8785: object keys are sorted by their bytes (Python sorts `str` by code
//! point, which is the same order as UTF-8 bytes), there is no insignificant whitespace, only
//! integers are allowed, and strings escape only `"` and `\` (every other character, control
//! characters and newlines included, is written raw as UTF-8).

use serde_json::Value;

/// Encodes `value` as OLPC canonical JSON; `None` if it holds a number that is not an integer.
pub fn encode(value: &Value) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(256);
    write_value(value, &mut out).then_some(out)
}

fn write_value(value: &Value, out: &mut Vec<u8>) -> bool {
    match value {
        Value::Null => out.extend_from_slice(b"null"),
        Value::Bool(true) => out.extend_from_slice(b"true"),
        Value::Bool(false) => out.extend_from_slice(b"false"),
        Value::Number(n) => {
            if let Some(u) = n.as_u64() {
                out.extend_from_slice(u.to_string().as_bytes());
            } else if let Some(i) = n.as_i64() {
                out.extend_from_slice(i.to_string().as_bytes());
            } else {
                return false;
            }
        }
        Value::String(s) => write_string(s, out),
        Value::Array(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                if !write_value(item, out) {
                    return false;
                }
            }
            out.push(b']');
        }
        Value::Object(map) => {
            let mut entries: Vec<(&String, &Value)> = map.iter().collect();
            entries.sort_unstable_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
            out.push(b'{');
            for (i, (k, v)) in entries.into_iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_string(k, out);
                out.push(b':');
                if !write_value(v, out) {
                    return false;
                }
            }
            out.push(b'}');
        }
    }
    true
}

/// Writes `s` as a canonical JSON string: quoted, with only `"` and `\` escaped.
pub(crate) fn write_string(s: &str, out: &mut Vec<u8>) {
    out.push(b'"');
    for &b in s.as_bytes() {
        if b == b'"' || b == b'\\' {
            out.push(b'\\');
        }
        out.push(b);
    }
    out.push(b'"');
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::encode;

    #[test]
    fn sorts_keys_and_escapes_only_quote_and_backslash() {
        let v = json!({"b": [1, -2, true, null], "a": "x\"y\\z\n\u{e9}", "A": {}});
        assert_eq!(
            encode(&v).unwrap(),
            "{\"A\":{},\"a\":\"x\\\"y\\\\z\n\u{e9}\",\"b\":[1,-2,true,null]}".as_bytes()
        );
    }

    #[test]
    fn rejects_floats() {
        assert!(encode(&json!({"a": 1.5})).is_none());
    }

    #[test]
    fn securesystemslib_vector() {
        // securesystemslib's formats.encode_canonical docstring example:
        // encode_canonical({"A": [99]}) == '{"A":[99]}' and keys sorted, no spaces.
        assert_eq!(
            encode(&json!({"x": 3, "y": 2, "A": [99]})).unwrap(),
            br#"{"A":[99],"x":3,"y":2}"#
        );
    }
}
