//! The artifact-and-signature threats: each test performs the attack and asserts the specific
//! refusal, next to the honest path that still works.

use base64::Engine as _;
use serde_json::Value;

use crate::support::{Scratch, flip_bit};

fn signed(alg: &str) -> Scratch {
    let s = Scratch::new();
    s.key("signer", alg);
    s.write("app.tar", &vec![7u8; 10_000]);
    s.ok(&["sign", "app.tar", "--key", "signer.key"]);
    s
}

#[test]
fn honest_sign_and_verify_both_algorithms() {
    for alg in ["ed25519", "ecdsa-p256"] {
        let s = signed(alg);
        let v = s.ok(&["verify", "app.tar", "--key", "signer.pub"]);
        assert_eq!(v["algorithm"], alg);
        let bundle: Value = serde_json::from_slice(&s.read("app.tar.sigstore.json")).unwrap();
        assert_eq!(
            bundle["mediaType"],
            "application/vnd.dev.sigstore.bundle.v0.3+json"
        );
        let expected_alg = if alg == "ed25519" {
            "SHA2_512"
        } else {
            "SHA2_256"
        };
        assert_eq!(
            bundle["messageSignature"]["messageDigest"]["algorithm"],
            expected_alg
        );
    }
}

#[test]
fn human_output_is_one_summary_line() {
    let s = signed("ed25519");
    let out = s
        .custody(&["verify", "app.tar", "--key", "signer.pub"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(
        stdout.starts_with("OK: app.tar signature verified: sha512:"),
        "{stdout}"
    );
    assert_eq!(stdout.lines().count(), 1);
}

#[test]
fn swapped_artifact_one_flipped_bit() {
    for (byte, bit) in [(0, 0), (5_000, 3), (9_999, 7)] {
        let s = signed("ecdsa-p256");
        flip_bit(&s.path("app.tar"), byte, bit);
        s.fails(
            &["verify", "app.tar", "--key", "signer.pub"],
            "CUSTODY-E1001",
        );
    }
}

#[test]
fn swapped_artifact_truncated_or_appended() {
    let s = signed("ed25519");
    s.write("app.tar", &vec![7u8; 9_999]);
    s.fails(
        &["verify", "app.tar", "--key", "signer.pub"],
        "CUSTODY-E1001",
    );
    s.write("app.tar", &vec![7u8; 10_001]);
    s.fails(
        &["verify", "app.tar", "--key", "signer.pub"],
        "CUSTODY-E1001",
    );
}

#[test]
fn swapped_bundle_for_another_artifact() {
    let s = signed("ed25519");
    s.write("other.tar", b"another artifact");
    s.fails(
        &[
            "verify",
            "other.tar",
            "--bundle",
            "app.tar.sigstore.json",
            "--key",
            "signer.pub",
        ],
        "CUSTODY-E1001",
    );
}

#[test]
fn wrong_key_names_both_keys() {
    let s = signed("ed25519");
    s.key("other", "ed25519");
    let v = s.fails(
        &["verify", "app.tar", "--key", "other.pub"],
        "CUSTODY-E1003",
    );
    let msg = v["error"]["message"].as_str().unwrap();
    let signer = s.ok(&["key", "show", "signer.pub"])["keyId"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(msg.contains(&signer), "{msg}");
}

fn edit_bundle(s: &Scratch, name: &str, edit: impl FnOnce(&mut Value)) {
    let mut v: Value = serde_json::from_slice(&s.read("app.tar.sigstore.json")).unwrap();
    edit(&mut v);
    s.write(name, serde_json::to_string_pretty(&v).unwrap().as_bytes());
}

fn b64_flip(s: &str) -> String {
    let engine = base64::engine::general_purpose::STANDARD;
    let mut bytes = engine.decode(s).unwrap();
    let i = bytes.len() / 2;
    bytes[i] ^= 0x01;
    engine.encode(bytes)
}

#[test]
fn tampered_signature_field() {
    for alg in ["ed25519", "ecdsa-p256"] {
        let s = signed(alg);
        edit_bundle(&s, "bad.json", |v| {
            let sig = v["messageSignature"]["signature"]
                .as_str()
                .unwrap()
                .to_owned();
            v["messageSignature"]["signature"] = Value::String(b64_flip(&sig));
        });
        let (status, v) = s.json(&[
            "verify",
            "app.tar",
            "--bundle",
            "bad.json",
            "--key",
            "signer.pub",
        ]);
        assert_eq!(status, 1);
        // A flipped bit in a DER signature may break its encoding (malformed) or its value.
        let code = v["error"]["code"].as_str().unwrap();
        assert!(
            ["CUSTODY-E1002", "CUSTODY-E1014"].contains(&code),
            "{alg}: {v}"
        );
    }
}

#[test]
fn tampered_message_digest_field() {
    let s = signed("ecdsa-p256");
    edit_bundle(&s, "bad.json", |v| {
        let d = v["messageSignature"]["messageDigest"]["digest"]
            .as_str()
            .unwrap()
            .to_owned();
        v["messageSignature"]["messageDigest"]["digest"] = Value::String(b64_flip(&d));
    });
    s.fails(
        &[
            "verify",
            "app.tar",
            "--bundle",
            "bad.json",
            "--key",
            "signer.pub",
        ],
        "CUSTODY-E1001",
    );
}

#[test]
fn unsupported_media_type() {
    let s = signed("ed25519");
    edit_bundle(&s, "bad.json", |v| {
        v["mediaType"] = Value::String("application/vnd.dev.sigstore.bundle.v9+json".into())
    });
    s.fails(
        &[
            "verify",
            "app.tar",
            "--bundle",
            "bad.json",
            "--key",
            "signer.pub",
        ],
        "CUSTODY-E1015",
    );
}

#[test]
fn malformed_bundles_are_rejected_before_crypto() {
    let s = signed("ed25519");
    let original = String::from_utf8(s.read("app.tar.sigstore.json")).unwrap();
    let cases: Vec<(&str, String)> = vec![
        ("not-json", "this is not json".to_owned()),
        ("truncated", original[..original.len() / 2].to_owned()),
        (
            "duplicate-key",
            original.replacen(
                "{",
                "{\"mediaType\": \"application/vnd.dev.sigstore.bundle.v0.3+json\",",
                1,
            ),
        ),
        (
            "invalid-base64",
            original.replacen("\"signature\": \"", "\"signature\": \"!!!!", 1),
        ),
        (
            "deeply-nested",
            format!("{}{}", "[".repeat(100_000), "]".repeat(100_000)),
        ),
        ("empty", String::new()),
    ];
    for (name, text) in cases {
        s.write(name, text.as_bytes());
        let (status, v) = s.json(&["verify", "app.tar", "--bundle", name, "--key", "signer.pub"]);
        assert_eq!(status, 1, "{name}: {v}");
        assert_eq!(v["error"]["code"], "CUSTODY-E1014", "{name}: {v}");
    }
}

#[test]
fn attestation_round_trip_and_subject_swap() {
    let s = Scratch::new();
    s.key("builder", "ecdsa-p256");
    s.write("app.tar", b"the artifact");
    s.write("other.tar", b"a different artifact");
    s.write(
        "pred.json",
        br#"{"buildType":"https://example.com/build/v1"}"#,
    );
    let v = s.ok(&[
        "attest",
        "app.tar",
        "--key",
        "builder.key",
        "--predicate-type",
        "https://example.com/predicate/v1",
        "--predicate",
        "pred.json",
    ]);
    assert!(v["digest"].as_str().unwrap().starts_with("sha256:"));
    let bundle = "app.tar.intoto.sigstore.json";
    let ok = s.ok(&[
        "verify",
        "app.tar",
        "--bundle",
        bundle,
        "--key",
        "builder.pub",
    ]);
    assert_eq!(ok["predicateType"], "https://example.com/predicate/v1");
    // A valid signature over a statement about another artifact does not transfer.
    s.fails(
        &[
            "verify",
            "other.tar",
            "--bundle",
            bundle,
            "--key",
            "builder.pub",
        ],
        "CUSTODY-E1009",
    );
}

#[test]
fn tampered_envelope_payload() {
    let s = Scratch::new();
    s.key("builder", "ed25519");
    s.write("app.tar", b"the artifact");
    s.write("pred.json", br#"{"ok":true}"#);
    s.ok(&[
        "attest",
        "app.tar",
        "--key",
        "builder.key",
        "--predicate-type",
        "https://example.com/p/v1",
        "--predicate",
        "pred.json",
        "--bundle",
        "att.json",
    ]);
    let mut v: Value = serde_json::from_slice(&s.read("att.json")).unwrap();
    let engine = base64::engine::general_purpose::STANDARD;
    let payload = engine
        .decode(v["dsseEnvelope"]["payload"].as_str().unwrap())
        .unwrap();
    let text = String::from_utf8(payload)
        .unwrap()
        .replace("\"ok\":true", "\"ok\":false");
    v["dsseEnvelope"]["payload"] = Value::String(engine.encode(text));
    s.write("att.json", v.to_string().as_bytes());
    s.fails(
        &[
            "verify",
            "app.tar",
            "--bundle",
            "att.json",
            "--key",
            "builder.pub",
        ],
        "CUSTODY-E1002",
    );
    // Changing the payload type changes the PAE, so the signature fails too.
    let mut v: Value = serde_json::from_slice(&s.read("att.json")).unwrap();
    v["dsseEnvelope"]["payloadType"] = Value::String("application/vnd.in-toto+jsoN".into());
    s.write("att2.json", v.to_string().as_bytes());
    let (status, _) = s.json(&[
        "verify",
        "app.tar",
        "--bundle",
        "att2.json",
        "--key",
        "builder.pub",
    ]);
    assert_eq!(status, 1);
}

#[test]
fn invalid_predicates_are_input_errors() {
    let s = Scratch::new();
    s.key("k", "ed25519");
    s.write("app.tar", b"x");
    s.write("array.json", b"[1,2,3]");
    s.write("dup.json", br#"{"a":1,"a":2}"#);
    s.write("ok.json", br#"{"a":1}"#);
    for p in ["array.json", "dup.json"] {
        s.fails(
            &[
                "attest",
                "app.tar",
                "--key",
                "k.key",
                "--predicate-type",
                "https://x.test/p",
                "--predicate",
                p,
            ],
            "CUSTODY-E2006",
        );
    }
    s.fails(
        &[
            "attest",
            "app.tar",
            "--key",
            "k.key",
            "--predicate-type",
            "not a uri",
            "--predicate",
            "ok.json",
        ],
        "CUSTODY-E2006",
    );
    assert!(!s.path("app.tar.intoto.sigstore.json").exists());
}
