//! Interop with tools nobody here wrote: OpenSSL (key files, ECDSA signatures) and
//! securesystemslib (DSSE envelopes, both directions).
//!
//! A missing tool fails the test with instructions; nothing is skipped silently.

use std::path::PathBuf;
use std::process::Command;

use base64::Engine as _;
use serde_json::Value;

use crate::support::{PASS, Scratch};

fn openssl(s: &Scratch, args: &[&str]) -> String {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(s.dir.path())
        .env("CUSTODY_PASSPHRASE", PASS)
        .output()
        .expect("openssl is required for interop tests: apt-get install openssl");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn python() -> PathBuf {
    let python = std::env::var_os("CUSTODY_INTEROP_PYTHON").expect(
        "CUSTODY_INTEROP_PYTHON is not set: run the test suite with `cargo xtask test`, which creates the interop venv",
    );
    PathBuf::from(python)
}

fn run_python(s: &Scratch, args: &[&str]) {
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/it/dsse_interop.py");
    let out = Command::new(python())
        .arg(script)
        .args(args)
        .current_dir(s.dir.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "python {args:?} failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn openssl_made_keys_sign_and_verify() {
    let s = Scratch::new();
    s.write("app.tar", b"artifact for openssl keys");
    openssl(&s, &["genpkey", "-algorithm", "ed25519", "-out", "ed.key"]);
    openssl(
        &s,
        &[
            "genpkey",
            "-algorithm",
            "EC",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-out",
            "ec.key",
        ],
    );
    // An OpenSSL-encrypted key (PBES2, PBKDF2-HMAC-SHA256, AES-256-CBC).
    openssl(
        &s,
        &[
            "pkcs8",
            "-topk8",
            "-in",
            "ec.key",
            "-v2",
            "aes-256-cbc",
            "-passout",
            "env:CUSTODY_PASSPHRASE",
            "-out",
            "ec-enc.key",
        ],
    );
    for key in ["ed", "ec", "ec-enc"] {
        openssl(
            &s,
            &[
                "pkey",
                "-in",
                &format!("{key}.key"),
                "-passin",
                "env:CUSTODY_PASSPHRASE",
                "-pubout",
                "-out",
                &format!("{key}.pub"),
            ],
        );
        let bundle = format!("{key}.json");
        s.ok(&[
            "sign",
            "app.tar",
            "--key",
            &format!("{key}.key"),
            "--bundle",
            &bundle,
        ]);
        s.ok(&[
            "verify",
            "app.tar",
            "--bundle",
            &bundle,
            "--key",
            &format!("{key}.pub"),
        ]);
    }
}

#[test]
fn openssl_reads_custody_encrypted_keys() {
    let s = Scratch::new();
    for alg in ["ed25519", "ecdsa-p256"] {
        s.key(alg, alg);
        let derived = openssl(
            &s,
            &[
                "pkey",
                "-in",
                &format!("{alg}.key"),
                "-passin",
                "env:CUSTODY_PASSPHRASE",
                "-pubout",
            ],
        );
        assert_eq!(
            derived,
            String::from_utf8(s.read(&format!("{alg}.pub"))).unwrap()
        );
    }
}

#[test]
fn openssl_verifies_custody_ecdsa_signature() {
    let s = Scratch::new();
    s.key("k", "ecdsa-p256");
    s.write("app.tar", &vec![42u8; 100_000]);
    s.ok(&["sign", "app.tar", "--key", "k.key"]);
    let bundle: Value = serde_json::from_slice(&s.read("app.tar.sigstore.json")).unwrap();
    let sig = base64::engine::general_purpose::STANDARD
        .decode(bundle["messageSignature"]["signature"].as_str().unwrap())
        .unwrap();
    s.write("sig.der", &sig);
    let out = openssl(
        &s,
        &[
            "dgst",
            "-sha256",
            "-verify",
            "k.pub",
            "-signature",
            "sig.der",
            "app.tar",
        ],
    );
    assert_eq!(out.trim(), "Verified OK");
    // And OpenSSL refuses it for another file, as custody does.
    s.write("other.tar", b"other");
    let refused = Command::new("openssl")
        .args([
            "dgst",
            "-sha256",
            "-verify",
            "k.pub",
            "-signature",
            "sig.der",
            "other.tar",
        ])
        .current_dir(s.dir.path())
        .output()
        .unwrap();
    assert!(!refused.status.success());
}

#[test]
fn securesystemslib_verifies_custody_envelopes() {
    for alg in ["ed25519", "ecdsa-p256"] {
        let s = Scratch::new();
        let key_id = s.key("k", alg);
        s.write("app.tar", b"artifact");
        s.write("pred.json", br#"{"interop":true}"#);
        s.ok(&[
            "attest",
            "app.tar",
            "--key",
            "k.key",
            "--predicate-type",
            "https://example.com/p/v1",
            "--predicate",
            "pred.json",
            "--bundle",
            "att.json",
        ]);
        run_python(&s, &["verify", "att.json", "k.pub", &key_id]);
    }
}

#[test]
fn custody_verifies_securesystemslib_envelopes() {
    for alg in ["ed25519", "ecdsa-p256"] {
        let s = Scratch::new();
        s.ok(&[
            "key",
            "generate",
            "--out",
            "k",
            "--algorithm",
            alg,
            "--no-passphrase",
        ]);
        s.write("app.tar", b"artifact signed by securesystemslib");
        run_python(&s, &["sign", "k.key", "app.tar", "env.json"]);
        let v = s.ok(&[
            "verify", "app.tar", "--bundle", "env.json", "--key", "k.pub",
        ]);
        assert_eq!(
            v["predicateType"],
            "https://example.com/securesystemslib-made/v1"
        );
        // The same envelope does not vouch for another file.
        s.write("other.tar", b"other");
        s.fails(
            &[
                "verify",
                "other.tar",
                "--bundle",
                "env.json",
                "--key",
                "k.pub",
            ],
            "CUSTODY-E1009",
        );
    }
}
