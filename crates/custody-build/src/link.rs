//! Legacy in-toto v0.9 link metadata (`custody build --in-toto-link`), for teams verifying
//! builds against in-toto layouts with their existing tools (`in-toto-verify`).
//!
//! A link is `{"signed": LINK, "signatures": [{"keyid", "sig"}]}` where `LINK` is
//! `{"_type": "link", "name", "materials", "products", "byproducts", "command",
//! "environment"}` and materials and products map paths to `{"sha256": HEX}`. The signature is
//! over the OLPC canonical JSON of `LINK` (see [`olpc_canonical`]): pure Ed25519, or ECDSA
//! P-256 with SHA-256 (DER), hex-encoded. The key id is the one securesystemslib computes: the
//! SHA-256 of the canonical JSON of the key object [`securesystemslib_key`].
//!
//! This module only builds the documents; the signature is made by `custody-app` after the
//! build has exited.

use std::collections::BTreeMap;

use custody_crypto::{DigestAlgorithm, KeyAlgorithm, PublicKey};
use serde_json::{Map, Value, json};

use crate::error::{Error, ErrorKind};
use crate::provenance::FileDigest;

/// The OLPC canonical JSON encoding securesystemslib signs legacy in-toto metadata with:
/// object keys sorted by code point, no whitespace, strings with only `\` and `"` escaped
/// (every other character, control characters included, is written raw as UTF-8), integers
/// only. A number that is not an integer is refused.
pub fn olpc_canonical(value: &Value) -> Result<Vec<u8>, Error> {
    let mut out = Vec::new();
    encode(value, &mut out)?;
    Ok(out)
}

fn encode(value: &Value, out: &mut Vec<u8>) -> Result<(), Error> {
    match value {
        Value::Null => out.extend_from_slice(b"null"),
        Value::Bool(true) => out.extend_from_slice(b"true"),
        Value::Bool(false) => out.extend_from_slice(b"false"),
        Value::Number(n) => {
            if n.is_f64() {
                return Err(Error::new(
                    ErrorKind::Usage,
                    format!("canonical JSON has no floating-point numbers: {n}"),
                ));
            }
            out.extend_from_slice(n.to_string().as_bytes());
        }
        Value::String(s) => encode_str(s, out),
        Value::Array(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                encode(item, out)?;
            }
            out.push(b']');
        }
        Value::Object(map) => {
            let sorted: BTreeMap<&String, &Value> = map.iter().collect();
            out.push(b'{');
            for (i, (k, v)) in sorted.into_iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                encode_str(k, out);
                out.push(b':');
                encode(v, out)?;
            }
            out.push(b'}');
        }
    }
    Ok(())
}

fn encode_str(s: &str, out: &mut Vec<u8>) {
    out.push(b'"');
    for b in s.bytes() {
        if b == b'"' || b == b'\\' {
            out.push(b'\\');
        }
        out.push(b);
    }
    out.push(b'"');
}

/// The key as securesystemslib describes it: Ed25519 as `keytype`/`scheme` `ed25519` with the
/// raw public key in hex, ECDSA P-256 as `ecdsa` / `ecdsa-sha2-nistp256` with the SPKI PEM.
pub fn securesystemslib_key(key: &PublicKey) -> Value {
    match (key.algorithm(), key.ed25519_bytes()) {
        (KeyAlgorithm::Ed25519, Some(raw)) => json!({
            "keytype": "ed25519",
            "scheme": "ed25519",
            "keyval": {"public": hex(&raw)},
        }),
        _ => json!({
            "keytype": "ecdsa",
            "scheme": "ecdsa-sha2-nistp256",
            "keyval": {"public": key.to_pem()},
        }),
    }
}

/// The key id securesystemslib computes: SHA-256 of the canonical key object, hex.
pub fn securesystemslib_keyid(key: &PublicKey) -> String {
    // The key object holds strings only: encoding cannot fail.
    let bytes = olpc_canonical(&securesystemslib_key(key)).unwrap_or_default();
    custody_crypto::sha256(&bytes).hex()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// `<step>.<first 8 hex digits of the key id>.link`.
pub fn link_file_name(step: &str, keyid: &str) -> String {
    format!("{step}.{}.link", keyid.get(..8).unwrap_or(keyid))
}

/// Whether `step` is usable as a step name and file name: letters, digits, `-`, `_`, `.`,
/// not starting with `.`.
pub fn valid_step_name(step: &str) -> bool {
    !step.is_empty()
        && !step.starts_with('.')
        && step
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

/// What a step did, for its link.
#[derive(Debug, Clone)]
pub struct Step<'a> {
    /// The step's name (the layout's step name).
    pub name: &'a str,
    /// The command and its arguments.
    pub command: &'a [String],
    /// Files the step read (the source tree's files).
    pub materials: &'a [FileDigest],
    /// Files the step produced.
    pub products: &'a [FileDigest],
    /// The step's exit code.
    pub exit_code: i32,
    /// Extra byproducts (strings), e.g. the log's digest.
    pub byproducts: BTreeMap<String, String>,
    /// The environment description (strings), e.g. the source commit.
    pub environment: BTreeMap<String, String>,
}

fn artifacts(files: &[FileDigest]) -> Value {
    let mut map = Map::new();
    for f in files {
        if let Some(d) = f
            .digests
            .iter()
            .find(|d| d.algorithm() == DigestAlgorithm::Sha256)
        {
            map.insert(f.path.clone(), json!({ "sha256": d.hex() }));
        }
    }
    Value::Object(map)
}

/// The link's `signed` object.
pub fn link(step: &Step<'_>) -> Value {
    let mut byproducts = Map::new();
    byproducts.insert("return-value".to_owned(), json!(step.exit_code));
    for (k, v) in &step.byproducts {
        byproducts.insert(k.clone(), json!(v));
    }
    json!({
        "_type": "link",
        "name": step.name,
        "materials": artifacts(step.materials),
        "products": artifacts(step.products),
        "byproducts": byproducts,
        "command": step.command,
        "environment": step.environment,
    })
}

/// The signed metadata file: `{"signatures": [{"keyid", "sig"}], "signed": signed}`.
pub fn metablock(signed: Value, keyid: &str, signature: &[u8]) -> Value {
    json!({
        "signatures": [{"keyid": keyid, "sig": hex(signature)}],
        "signed": signed,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_form_sorts_keys_and_escapes_only_quote_and_backslash() {
        let v = json!({"b": [1, true, null], "a": "x\"y\\z\n\u{e9}", "A": {"d": -3, "c": ""}});
        let got = olpc_canonical(&v).unwrap();
        assert_eq!(
            got,
            "{\"A\":{\"c\":\"\",\"d\":-3},\"a\":\"x\\\"y\\\\z\n\u{e9}\",\"b\":[1,true,null]}"
                .as_bytes()
        );
        assert!(olpc_canonical(&json!({"f": 1.5})).is_err());
    }

    #[test]
    fn ed25519_keyid_matches_securesystemslib() {
        // RFC 8032 test 1 public key; the key id was computed with securesystemslib 1.6.0
        // (SSlibKey.from_crypto(...).keyid) over the same key.
        let raw = hex_decode("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a");
        let key = PublicKey::from_ed25519_bytes(&raw).unwrap();
        assert_eq!(
            securesystemslib_key(&key),
            json!({"keytype": "ed25519", "scheme": "ed25519", "keyval": {"public": "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a"}})
        );
        let expected = "74c181c7ad8a0855d4b55e44d2ba87aabdddb196832571f15f92fece332e4916";
        assert_eq!(securesystemslib_keyid(&key), expected);
        assert_eq!(link_file_name("build", expected), "build.74c181c7.link");
    }

    fn hex_decode(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    #[test]
    fn link_lists_sha256_artifacts_and_step_details() {
        let d = custody_crypto::sha256(b"hello");
        let materials = [FileDigest {
            path: "src/main.c".into(),
            digests: vec![d],
        }];
        let products = [FileDigest {
            path: "hello".into(),
            digests: vec![d],
        }];
        let command = ["make".to_owned()];
        let step = Step {
            name: "build",
            command: &command,
            materials: &materials,
            products: &products,
            exit_code: 0,
            byproducts: BTreeMap::from([("log-sha256".into(), "ab".into())]),
            environment: BTreeMap::from([("source-commit".into(), "c0".into())]),
        };
        let l = link(&step);
        assert_eq!(l["_type"], "link");
        assert_eq!(l["products"]["hello"]["sha256"], d.hex());
        assert_eq!(l["materials"]["src/main.c"]["sha256"], d.hex());
        assert_eq!(l["byproducts"]["return-value"], 0);
        assert_eq!(l["command"], json!(["make"]));
        assert_eq!(l["environment"]["source-commit"], "c0");
        let block = metablock(l.clone(), "kid", &[0xab, 0x01]);
        assert_eq!(block["signatures"][0]["sig"], "ab01");
        assert_eq!(block["signed"], l);
        assert!(valid_step_name("build-1.x"));
        assert!(!valid_step_name("../x") && !valid_step_name("") && !valid_step_name("a/b"));
    }
}
