use crate::support::Scratch;

#[test]
fn generate_writes_encrypted_private_key_and_public_key() {
    let s = Scratch::new();
    for alg in ["ed25519", "ecdsa-p256"] {
        let v = s.ok(&["key", "generate", "--out", alg, "--algorithm", alg]);
        assert_eq!(v["algorithm"], alg);
        assert_eq!(v["encrypted"], true);
        let private = String::from_utf8(s.read(&format!("{alg}.key"))).unwrap();
        assert!(private.starts_with("-----BEGIN ENCRYPTED PRIVATE KEY-----"));
        let public = String::from_utf8(s.read(&format!("{alg}.pub"))).unwrap();
        assert!(public.starts_with("-----BEGIN PUBLIC KEY-----"));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(s.path(&format!("{alg}.key")))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600, "private key must be owner-only");
        }
        let shown = s.ok(&["key", "show", &format!("{alg}.pub")]);
        assert_eq!(shown["keyId"], v["keyId"]);
    }
}

#[test]
fn generate_never_overwrites_a_key() {
    let s = Scratch::new();
    s.key("k", "ed25519");
    let before = s.read("k.key");
    s.fails(&["key", "generate", "--out", "k"], "CUSTODY-E2005");
    assert_eq!(
        s.read("k.key"),
        before,
        "the existing key must be untouched"
    );
}

#[test]
fn generate_without_passphrase_source_is_refused() {
    let s = Scratch::new();
    let out = s
        .custody(&["--json", "key", "generate", "--out", "k"])
        .env_remove("CUSTODY_PASSPHRASE")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stdout).contains("CUSTODY-E2004"));
    assert!(
        !s.path("k.key").exists(),
        "nothing is written when the key cannot be protected"
    );
}

#[test]
fn unencrypted_keys_only_on_request() {
    let s = Scratch::new();
    let v = s.ok(&["key", "generate", "--out", "plain", "--no-passphrase"]);
    assert_eq!(v["encrypted"], false);
    assert!(
        String::from_utf8(s.read("plain.key"))
            .unwrap()
            .starts_with("-----BEGIN PRIVATE KEY-----")
    );
    // Signing with it needs no passphrase.
    s.write("a.bin", b"artifact");
    let out = s
        .custody(&["--json", "sign", "a.bin", "--key", "plain.key"])
        .env_remove("CUSTODY_PASSPHRASE")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
}

#[test]
fn wrong_passphrase_is_refused() {
    let s = Scratch::new();
    s.key("k", "ecdsa-p256");
    s.write("a.bin", b"artifact");
    let out = s
        .custody(&["--json", "sign", "a.bin", "--key", "k.key"])
        .env("CUSTODY_PASSPHRASE", "not the passphrase")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stdout).contains("CUSTODY-E2003"));
    assert!(!s.path("a.bin.sigstore.json").exists());
}

#[test]
fn a_public_key_is_not_a_signing_key() {
    let s = Scratch::new();
    s.key("k", "ed25519");
    s.write("a.bin", b"artifact");
    s.fails(&["sign", "a.bin", "--key", "k.pub"], "CUSTODY-E2002");
    s.write(
        "garbage.pub",
        b"-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n",
    );
    s.ok(&["sign", "a.bin", "--key", "k.key"]);
    s.fails(
        &["verify", "a.bin", "--key", "garbage.pub"],
        "CUSTODY-E2002",
    );
}
