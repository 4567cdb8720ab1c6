//! The transparency log end to end: a real `custody serve`, `custody sign --log`, and offline
//! verification of inclusion against the trust root's log key.

use serde_json::Value;

use crate::support::{Scratch, Server};

/// A server, a log:write token, and a trust root v2 adding a release key to the server's v1.
fn setup() -> (Scratch, Server, String) {
    setup_with("ecdsa-p256")
}

/// [`setup`] with a release key of `algorithm`.
fn setup_with(algorithm: &str) -> (Scratch, Server, String) {
    let s = Scratch::new();
    let server = Server::start(&s.path("data"));
    let token = s.ok(&["token", "create", "--data", "data", "--scope", "log:write"])["token"]
        .as_str()
        .unwrap()
        .to_owned();
    s.key("release", algorithm);
    s.ok(&[
        "trust-root",
        "init",
        "--out",
        "root.json",
        "--from",
        "data/trust-root.json",
        "--key",
        "release=release.pub",
    ]);
    s.ok(&[
        "trust-root",
        "sign",
        "root.json",
        "--key",
        "data/keys/root.key",
    ]);
    s.ok(&[
        "trust-root",
        "verify",
        "root.json",
        "--previous",
        "data/trust-root.json",
    ]);
    s.write("app.tar", b"logged artifact");
    (s, server, token)
}

#[test]
fn signed_and_logged_artifacts_verify_offline_with_inclusion() {
    let (s, server, token) = setup();
    let v = s.ok(&[
        "sign",
        "app.tar",
        "--key",
        "release.key",
        "--log",
        &server.url,
        "--token",
        &token,
    ]);
    assert_eq!(v["logIndex"], 0);
    drop(server); // verification is offline
    let v = s.ok(&["verify", "app.tar", "--trust-root", "root.json"]);
    assert_eq!(v["logIndex"], 0);
    assert!(v["unchecked"].as_array().unwrap().is_empty());
}

#[test]
fn attestations_are_logged_too() {
    let (s, server, token) = setup();
    s.write("pred.json", br#"{"k":"v"}"#);
    s.ok(&[
        "attest",
        "app.tar",
        "--key",
        "release.key",
        "--predicate-type",
        "https://example.com/p/v1",
        "--predicate",
        "pred.json",
        "--log",
        &server.url,
        "--token",
        &token,
    ]);
    let v = s.ok(&[
        "verify",
        "app.tar",
        "--bundle",
        "app.tar.intoto.sigstore.json",
        "--trust-root",
        "root.json",
    ]);
    assert!(v["logIndex"].is_u64());
}

#[test]
fn ed25519_attestations_are_logged_as_dsse_entries() {
    let (s, server, token) = setup_with("ed25519");
    s.write("pred.json", br#"{"k":"v"}"#);
    let attest = |out: &str| {
        s.ok(&[
            "attest",
            "app.tar",
            "--key",
            "release.key",
            "--predicate-type",
            "https://example.com/p/v1",
            "--predicate",
            "pred.json",
            "--bundle",
            out,
            "--log",
            &server.url,
            "--token",
            &token,
        ])
    };
    attest("a.json");
    let bundle: Value = serde_json::from_slice(&s.read("a.json")).unwrap();
    let entry = &bundle["verificationMaterial"]["tlogEntries"][0];
    assert_eq!(entry["kindVersion"]["kind"], "dsse");
    assert_eq!(entry["kindVersion"]["version"], "0.0.2");
    let v = s.ok(&[
        "verify",
        "app.tar",
        "--bundle",
        "a.json",
        "--trust-root",
        "root.json",
    ]);
    assert!(v["logIndex"].is_u64());

    // Ed25519 is deterministic: attesting the same statement again gives the same signature,
    // and the log answers with the existing entry instead of appending a duplicate.
    attest("b.json");
    let again: Value = serde_json::from_slice(&s.read("b.json")).unwrap();
    assert_eq!(
        again["verificationMaterial"]["tlogEntries"][0]["logIndex"],
        entry["logIndex"]
    );

    // The entry's kind rewritten to hashedrekord does not match an Ed25519 envelope.
    let mut relabelled = bundle.clone();
    relabelled["verificationMaterial"]["tlogEntries"][0]["kindVersion"]["kind"] =
        Value::String("hashedrekord".into());
    s.write("relabelled.json", relabelled.to_string().as_bytes());
    s.fails(
        &[
            "verify",
            "app.tar",
            "--bundle",
            "relabelled.json",
            "--trust-root",
            "root.json",
        ],
        "CUSTODY-E1021",
    );
}

#[test]
fn unlogged_signature_is_refused_when_the_trust_root_names_a_log() {
    let (s, _server, _) = setup();
    s.ok(&["sign", "app.tar", "--key", "release.key"]);
    s.fails(
        &["verify", "app.tar", "--trust-root", "root.json"],
        "CUSTODY-E1020",
    );
    // The key alone (no trust root, no log policy) still verifies the signature itself.
    s.ok(&["verify", "app.tar", "--key", "release.pub"]);
}

#[test]
fn tampered_or_transplanted_log_evidence_is_refused() {
    let (s, server, token) = setup();
    s.write("other.tar", b"another artifact");
    s.ok(&[
        "sign",
        "app.tar",
        "--key",
        "release.key",
        "--log",
        &server.url,
        "--token",
        &token,
    ]);
    s.ok(&[
        "sign",
        "other.tar",
        "--key",
        "release.key",
        "--log",
        &server.url,
        "--token",
        &token,
    ]);
    let good: Value = serde_json::from_slice(&s.read("app.tar.sigstore.json")).unwrap();
    let other: Value = serde_json::from_slice(&s.read("other.tar.sigstore.json")).unwrap();
    let entry = |v: &Value| v["verificationMaterial"]["tlogEntries"][0].clone();

    // The other artifact's (valid) log entry moved into this bundle.
    let mut moved = good.clone();
    moved["verificationMaterial"]["tlogEntries"][0] = entry(&other);
    s.write("moved.json", moved.to_string().as_bytes());
    s.fails(
        &[
            "verify",
            "app.tar",
            "--bundle",
            "moved.json",
            "--trust-root",
            "root.json",
        ],
        "CUSTODY-E1021",
    );

    // A checkpoint signed by a different key (the line itself altered).
    let mut forged = good.clone();
    let cp = entry(&good)["inclusionProof"]["checkpoint"]["envelope"]
        .as_str()
        .unwrap()
        .to_owned();
    let sig_start = cp.rfind(' ').unwrap() + 1;
    let mut bytes = cp.into_bytes();
    bytes[sig_start + 12] = if bytes[sig_start + 12] == b'A' {
        b'B'
    } else {
        b'A'
    };
    forged["verificationMaterial"]["tlogEntries"][0]["inclusionProof"]["checkpoint"]["envelope"] =
        Value::String(String::from_utf8(bytes).unwrap());
    s.write("forged.json", forged.to_string().as_bytes());
    s.fails(
        &[
            "verify",
            "app.tar",
            "--bundle",
            "forged.json",
            "--trust-root",
            "root.json",
        ],
        "CUSTODY-E1021",
    );

    // A proof for another tree size than the checkpoint's.
    let mut resized = good;
    resized["verificationMaterial"]["tlogEntries"][0]["inclusionProof"]["treeSize"] =
        Value::String("7".into());
    s.write("resized.json", resized.to_string().as_bytes());
    s.fails(
        &[
            "verify",
            "app.tar",
            "--bundle",
            "resized.json",
            "--trust-root",
            "root.json",
        ],
        "CUSTODY-E1021",
    );
}

#[test]
fn logging_without_a_valid_token_is_refused_and_writes_no_bundle() {
    let (s, server, _) = setup();
    s.fails(
        &[
            "sign",
            "app.tar",
            "--key",
            "release.key",
            "--log",
            &server.url,
        ],
        "CUSTODY-E1017",
    );
    let pull = s.ok(&[
        "token",
        "create",
        "--data",
        "data",
        "--scope",
        "repository:app:pull",
    ])["token"]
        .as_str()
        .unwrap()
        .to_owned();
    s.fails(
        &[
            "sign",
            "app.tar",
            "--key",
            "release.key",
            "--log",
            &server.url,
            "--token",
            &pull,
        ],
        "CUSTODY-E1018",
    );
    assert!(!s.path("app.tar.sigstore.json").exists());
    // A revoked token is refused from the next request on.
    let v = s.ok(&["token", "create", "--data", "data", "--scope", "log:write"]);
    let (id, token) = (
        v["id"].as_str().unwrap().to_owned(),
        v["token"].as_str().unwrap().to_owned(),
    );
    s.ok(&[
        "sign",
        "app.tar",
        "--key",
        "release.key",
        "--log",
        &server.url,
        "--token",
        &token,
    ]);
    s.ok(&["token", "revoke", "--data", "data", &id]);
    s.fails(
        &[
            "sign",
            "app.tar",
            "--key",
            "release.key",
            "--log",
            &server.url,
            "--token",
            &token,
        ],
        "CUSTODY-E1017",
    );
    let listed = s.ok(&["token", "list", "--data", "data"]);
    assert_eq!(listed["tokens"].as_array().unwrap().len(), 3);
}

#[test]
fn log_vkey_matches_the_trust_root() {
    let (s, _server, _) = setup();
    let vkey = s.ok(&["log", "vkey", "--data", "data"])["vkey"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(vkey.starts_with("log.custody.test/e2e+"), "{vkey}");
    let root: Value = serde_json::from_slice(&s.read("data/trust-root.json")).unwrap();
    let keys = root["signed"]["keys"].as_array().unwrap();
    assert!(
        keys.iter()
            .any(|k| k["role"] == "log" && k["name"] == "log.custody.test/e2e")
    );
}
