//! Trust roots: roles, validity, revocation, thresholds and version chains.

use serde_json::Value;

use crate::support::{Scratch, flip_bit};

/// root (root role), release and build keys, a signed trust root, and a release-signed artifact.
fn setup() -> Scratch {
    let s = Scratch::new();
    s.key("root", "ed25519");
    s.key("release", "ecdsa-p256");
    s.key("build", "ed25519");
    s.trust_root("root.json", &["release=release.pub", "build=build.pub"]);
    s.write("app.tar", b"release artifact");
    s.ok(&["sign", "app.tar", "--key", "release.key"]);
    s
}

#[test]
fn verify_with_trust_root_and_role() {
    let s = setup();
    let v = s.ok(&[
        "verify",
        "app.tar",
        "--trust-root",
        "root.json",
        "--role",
        "release",
    ]);
    assert_eq!(v["role"], "release");
    let v = s.ok(&["trust-root", "verify", "root.json"]);
    assert_eq!(v["version"], 1);
}

#[test]
fn unknown_key_is_refused() {
    let s = setup();
    s.key("rogue", "ecdsa-p256");
    s.ok(&[
        "sign",
        "app.tar",
        "--key",
        "rogue.key",
        "--bundle",
        "rogue.json",
    ]);
    s.fails(
        &[
            "verify",
            "app.tar",
            "--bundle",
            "rogue.json",
            "--trust-root",
            "root.json",
        ],
        "CUSTODY-E1004",
    );
}

#[test]
fn key_of_another_role_is_refused() {
    let s = setup();
    // A build key signing as a release key.
    s.ok(&[
        "sign",
        "app.tar",
        "--key",
        "build.key",
        "--bundle",
        "build-signed.json",
    ]);
    s.fails(
        &[
            "verify",
            "app.tar",
            "--bundle",
            "build-signed.json",
            "--trust-root",
            "root.json",
            "--role",
            "release",
        ],
        "CUSTODY-E1005",
    );
    s.ok(&[
        "verify",
        "app.tar",
        "--bundle",
        "build-signed.json",
        "--trust-root",
        "root.json",
        "--role",
        "build",
    ]);
    // The root key signs trust roots only.
    s.ok(&[
        "sign",
        "app.tar",
        "--key",
        "root.key",
        "--bundle",
        "root-signed.json",
    ]);
    s.fails(
        &[
            "verify",
            "app.tar",
            "--bundle",
            "root-signed.json",
            "--trust-root",
            "root.json",
            "--role",
            "release",
        ],
        "CUSTODY-E1005",
    );
}

#[test]
fn unknown_role_is_a_usage_error() {
    let s = setup();
    s.fails(
        &[
            "verify",
            "app.tar",
            "--trust-root",
            "root.json",
            "--role",
            "janitor",
        ],
        "CUSTODY-E2008",
    );
}

#[test]
fn unsigned_trust_root_is_refused() {
    let s = setup();
    s.ok(&[
        "trust-root",
        "init",
        "--out",
        "unsigned.json",
        "--root",
        "root.pub",
        "--key",
        "release=release.pub",
    ]);
    s.fails(&["trust-root", "verify", "unsigned.json"], "CUSTODY-E1010");
    s.fails(
        &["verify", "app.tar", "--trust-root", "unsigned.json"],
        "CUSTODY-E1010",
    );
}

#[test]
fn tampered_trust_root_is_refused() {
    let s = setup();
    let text = String::from_utf8(s.read("root.json")).unwrap();
    // Swap the release key's role to build inside the signed body.
    let edited = text.replacen("\"role\": \"release\"", "\"role\": \"build\"", 1);
    assert_ne!(edited, text);
    s.write("edited.json", edited.as_bytes());
    s.fails(&["trust-root", "verify", "edited.json"], "CUSTODY-E1010");
    // Any flipped bit: either malformed or not signed to threshold, never accepted.
    for i in (0..text.len()).step_by(97) {
        std::fs::copy(s.path("root.json"), s.path("flip.json")).unwrap();
        flip_bit(&s.path("flip.json"), i, 1);
        let (status, v) = s.json(&["trust-root", "verify", "flip.json"]);
        let flipped: Value = serde_json::from_slice(&s.read("flip.json")).unwrap_or(Value::Null);
        let original: Value = serde_json::from_str(&text).unwrap();
        if flipped == original {
            continue; // whitespace-only change: same document
        }
        assert_eq!(status, 1, "byte {i}: {v}");
    }
}

#[test]
fn signing_with_a_non_root_key_is_refused() {
    let s = setup();
    s.fails(
        &["trust-root", "sign", "root.json", "--key", "release.key"],
        "CUSTODY-E2008",
    );
}

#[test]
fn threshold_counts_distinct_root_keys() {
    let s = Scratch::new();
    s.key("root", "ed25519");
    s.key("root2", "ecdsa-p256");
    s.key("release", "ed25519");
    s.ok(&[
        "trust-root",
        "init",
        "--out",
        "r.json",
        "--root",
        "root.pub",
        "--root",
        "root2.pub",
        "--threshold",
        "2",
        "--key",
        "release=release.pub",
    ]);
    s.ok(&["trust-root", "sign", "r.json", "--key", "root.key"]);
    // Signing twice with the same key does not reach a threshold of two.
    s.ok(&["trust-root", "sign", "r.json", "--key", "root.key"]);
    s.fails(&["trust-root", "verify", "r.json"], "CUSTODY-E1010");
    s.ok(&["trust-root", "sign", "r.json", "--key", "root2.key"]);
    s.ok(&["trust-root", "verify", "r.json"]);
}

#[test]
fn rotation_chain_and_revocation() {
    let s = setup();
    let release_id = s.ok(&["key", "show", "release.pub"])["keyId"]
        .as_str()
        .unwrap()
        .to_owned();
    s.key("release2", "ed25519");
    s.ok(&[
        "trust-root",
        "init",
        "--out",
        "root2.json",
        "--from",
        "root.json",
        "--revoke",
        &release_id,
        "--key",
        "release=release2.pub",
    ]);
    s.ok(&["trust-root", "sign", "root2.json", "--key", "root.key"]);
    let v = s.ok(&[
        "trust-root",
        "verify",
        "root2.json",
        "--previous",
        "root.json",
    ]);
    assert_eq!(v["version"], 2);
    // The revoked key's signature is refused under version 2 (no trusted timestamp exists).
    s.fails(
        &["verify", "app.tar", "--trust-root", "root2.json"],
        "CUSTODY-E1008",
    );
    // The new key works.
    s.ok(&[
        "sign",
        "app.tar",
        "--key",
        "release2.key",
        "--bundle",
        "new.json",
    ]);
    s.ok(&[
        "verify",
        "app.tar",
        "--bundle",
        "new.json",
        "--trust-root",
        "root2.json",
    ]);
}

#[test]
fn successor_signed_by_a_new_root_only_is_refused() {
    let s = setup();
    s.key("usurper", "ed25519");
    // A "version 2" whose only root key is the attacker's, signed by the attacker.
    s.ok(&[
        "trust-root",
        "init",
        "--out",
        "evil.json",
        "--root",
        "usurper.pub",
        "--key",
        "release=release.pub",
    ]);
    let mut v: Value = serde_json::from_slice(&s.read("evil.json")).unwrap();
    v["signed"]["version"] = Value::from(2);
    s.write("evil.json", v.to_string().as_bytes());
    s.ok(&["trust-root", "sign", "evil.json", "--key", "usurper.key"]);
    s.ok(&["trust-root", "verify", "evil.json"]); // fine as a standalone anchor...
    s.fails(
        &[
            "trust-root",
            "verify",
            "evil.json",
            "--previous",
            "root.json",
        ],
        "CUSTODY-E1010",
    ); // ...not as a successor
}

#[test]
fn version_skip_is_refused() {
    let s = setup();
    s.ok(&[
        "trust-root",
        "init",
        "--out",
        "v2.json",
        "--from",
        "root.json",
    ]);
    let mut v: Value = serde_json::from_slice(&s.read("v2.json")).unwrap();
    v["signed"]["version"] = Value::from(3);
    s.write("v3.json", v.to_string().as_bytes());
    s.ok(&["trust-root", "sign", "v3.json", "--key", "root.key"]);
    s.fails(
        &["trust-root", "verify", "v3.json", "--previous", "root.json"],
        "CUSTODY-E1012",
    );
}

#[test]
fn key_owner_is_written_verified_and_carried_over() {
    let s = setup();
    s.key("bob", "ed25519");
    s.ok(&[
        "trust-root",
        "init",
        "--out",
        "owned.json",
        "--root",
        "root.pub",
        "--key",
        "approver=bob.pub,owner=bob@example.com",
        "--key",
        "release=release.pub",
    ]);
    s.ok(&["trust-root", "sign", "owned.json", "--key", "root.key"]);
    s.ok(&["trust-root", "verify", "owned.json"]);
    let doc: Value = serde_json::from_slice(&s.read("owned.json")).unwrap();
    let keys = doc["signed"]["keys"].as_array().unwrap();
    assert_eq!(keys[1]["role"], "approver");
    assert_eq!(keys[1]["owner"], "bob@example.com");
    assert!(keys[0].get("owner").is_none() && keys[2].get("owner").is_none());

    // A successor keeps the owner of every carried-over key.
    s.ok(&[
        "trust-root",
        "init",
        "--out",
        "owned2.json",
        "--from",
        "owned.json",
    ]);
    let doc: Value = serde_json::from_slice(&s.read("owned2.json")).unwrap();
    assert_eq!(doc["signed"]["keys"][1]["owner"], "bob@example.com");

    // An empty or padded owner is refused, and nothing is written.
    for bad in ["approver=bob.pub,owner=", "approver=bob.pub,owner= bob"] {
        s.fails(
            &[
                "trust-root",
                "init",
                "--out",
                "bad.json",
                "--root",
                "root.pub",
                "--key",
                bad,
            ],
            "CUSTODY-E2008",
        );
        assert!(!s.path("bad.json").exists());
    }
}
