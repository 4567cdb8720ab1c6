//! `custody push` and `custody pull` against a real `custody serve` registry that enforces
//! signatures: the file goes up with its logged signature as a referrer, comes back verified,
//! and every refusal leaves no file behind and lands in the audit log.

use crate::support::{Scratch, Server};

/// A server whose registry checks against root.json (v2 of the server's trust root, adding a
/// build key), and a token for pushing, pulling and logging.
fn setup() -> (Scratch, Server, String, String) {
    setup_with("ecdsa-p256")
}

/// [`setup`] with build and release keys of `algorithm`.
fn setup_with(algorithm: &str) -> (Scratch, Server, String, String) {
    let s = Scratch::new();
    s.write("registry.toml", b"[registry]\ntrust_root = \"root.json\"\n");
    let config = s.path("registry.toml");
    let server = Server::start_with(&s.path("data"), &["--config", config.to_str().unwrap()]);
    let token = s.ok(&[
        "token",
        "create",
        "--data",
        "data",
        "--scope",
        "repository:team/*:pull,push",
        "--scope",
        "log:write",
    ])["token"]
        .as_str()
        .unwrap()
        .to_owned();
    s.key("build", algorithm);
    s.key("release", algorithm);
    s.ok(&[
        "trust-root",
        "init",
        "--out",
        "root.json",
        "--from",
        "data/trust-root.json",
        "--key",
        "build=build.pub",
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
    let reference = format!("{}/team/app:v1", server.url.trim_start_matches("http://"));
    (s, server, token, reference)
}

/// 9 MiB and a bit: more than one upload chunk.
fn artifact(s: &Scratch) -> Vec<u8> {
    let bytes: Vec<u8> = (0..(9 * 1024 * 1024 + 123))
        .map(|i: u32| (i.wrapping_mul(2_654_435_761) >> 24) as u8)
        .collect();
    s.write("app.bin", &bytes);
    bytes
}

#[test]
fn push_then_pull_round_trips_a_signed_logged_artifact() {
    let (s, server, token, reference) = setup();
    let bytes = artifact(&s);
    let pushed = s.ok(&[
        "push",
        "app.bin",
        &reference,
        "--key",
        "build.key",
        "--log",
        &server.url,
        "--token",
        &token,
    ]);
    assert!(pushed["logIndex"].is_u64(), "{pushed}");
    assert_eq!(pushed["referrers"].as_array().unwrap().len(), 1);
    let pulled = s.ok(&[
        "pull",
        &reference,
        "--trust-root",
        "root.json",
        "--out",
        "got.bin",
        "--token",
        &token,
    ]);
    assert_eq!(pulled["manifest"], pushed["manifest"]);
    assert_eq!(pulled["size"], bytes.len());
    assert_eq!(s.read("got.bin"), bytes);
    // By digest, into the recorded file name.
    let by_digest = format!(
        "{}@{}",
        reference.trim_end_matches(":v1"),
        pushed["manifest"].as_str().unwrap()
    );
    std::fs::create_dir(s.path("sub")).unwrap();
    let out = s.path("sub/named.bin");
    s.ok(&[
        "pull",
        &by_digest,
        "--trust-root",
        "root.json",
        "--out",
        out.to_str().unwrap(),
        "--token",
        &token,
    ]);
    assert_eq!(std::fs::read(out).unwrap(), bytes);
}

#[test]
fn ed25519_keys_sign_the_manifests_sha512_digest_and_round_trip() {
    let (s, server, token, reference) = setup_with("ed25519");
    let bytes = artifact(&s);
    let pushed = s.ok(&[
        "push",
        "app.bin",
        &reference,
        "--key",
        "build.key",
        "--log",
        &server.url,
        "--token",
        &token,
    ]);
    assert!(pushed["manifest"].as_str().unwrap().starts_with("sha256:"));
    s.ok(&[
        "pull",
        &reference,
        "--trust-root",
        "root.json",
        "--out",
        "got.bin",
        "--token",
        &token,
    ]);
    assert_eq!(s.read("got.bin"), bytes);
}

#[test]
fn pull_with_a_stricter_role_refuses_and_writes_nothing() {
    let (s, server, token, reference) = setup();
    artifact(&s);
    s.ok(&[
        "push",
        "app.bin",
        &reference,
        "--key",
        "build.key",
        "--log",
        &server.url,
        "--token",
        &token,
    ]);
    s.fails(
        &[
            "pull",
            &reference,
            "--trust-root",
            "root.json",
            "--role",
            "release",
            "--out",
            "got.bin",
            "--token",
            &token,
        ],
        "CUSTODY-E1005",
    );
    assert!(!s.path("got.bin").exists());
}

#[test]
fn an_enforcing_registry_refuses_unlogged_and_unknown_signers_and_audits_it() {
    let (s, server, token, reference) = setup();
    artifact(&s);
    // Signed by the build key but not logged.
    s.fails(
        &[
            "push",
            "app.bin",
            &reference,
            "--key",
            "build.key",
            "--token",
            &token,
        ],
        "CUSTODY-E1020",
    );
    // Logged, but by a key the trust root does not list (another file, so that the refused
    // unlogged signature above is not among this manifest's referrers).
    s.key("stranger", "ecdsa-p256");
    s.write("other.bin", b"another artifact");
    s.fails(
        &[
            "push",
            "other.bin",
            &reference,
            "--key",
            "stranger.key",
            "--log",
            &server.url,
            "--token",
            &token,
        ],
        "CUSTODY-E1004",
    );
    // Nothing was tagged.
    s.fails(
        &[
            "pull",
            &reference,
            "--trust-root",
            "root.json",
            "--out",
            "got.bin",
            "--token",
            &token,
        ],
        "CUSTODY-E1019",
    );
    assert!(!s.path("got.bin").exists());
    let report = s.ok(&["audit", "verify", "--data", "data"]);
    assert!(report["records"].as_u64().unwrap() >= 2, "{report}");
    s.ok(&["audit", "export", "--data", "data", "--out", "audit.jsonl"]);
    let export = String::from_utf8(s.read("audit.jsonl")).unwrap();
    assert!(export.contains("CUSTODY-E1020"), "{export}");
    assert!(export.contains("CUSTODY-E1004"), "{export}");
}

#[test]
fn bad_references_are_usage_errors() {
    let s = Scratch::new();
    s.write("f", b"x");
    s.key("k", "ecdsa-p256");
    s.fails(
        &["push", "f", "no-repository", "--key", "k.key"],
        "CUSTODY-E2031",
    );
    s.fails(
        &["pull", "127.0.0.1:1/Bad:v1", "--trust-root", "r.json"],
        "CUSTODY-E2031",
    );
}

#[test]
fn the_server_logs_audit_chain_heads_and_verify_catches_a_truncated_tail() {
    let s = Scratch::new();
    s.write(
        "registry.toml",
        b"[registry]\naudit_head_interval_seconds = 1\n",
    );
    let config = s.path("registry.toml");
    let server = Server::start_with(&s.path("data"), &["--config", config.to_str().unwrap()]);
    let token = s.ok(&[
        "token",
        "create",
        "--data",
        "data",
        "--scope",
        "repository:team/*:pull,push",
    ])["token"]
        .as_str()
        .unwrap()
        .to_owned();
    s.key("k", "ecdsa-p256");
    s.write("f.bin", b"payload");
    let reference = format!("{}/team/app:v1", server.url.trim_start_matches("http://"));
    // Denied (unknown key, not logged), and audited.
    let (status, _) = s.json(&[
        "push", "f.bin", &reference, "--key", "k.key", "--token", &token,
    ]);
    assert_eq!(status, 1);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let report = loop {
        let report = s.ok(&["audit", "verify", "--data", "data"]);
        if report["headsVerified"].as_u64().unwrap() >= 1 {
            break report;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no head logged: {report}"
        );
        std::thread::sleep(std::time::Duration::from_millis(200));
    };
    assert!(s.path("data/keys/audit.key").exists());
    drop(server);
    // The export verifies offline against the server's trust root and audit key.
    s.ok(&["audit", "export", "--data", "data", "--out", "audit.jsonl"]);
    let offline = s.ok(&[
        "audit",
        "verify",
        "--file",
        "audit.jsonl",
        "--trust-root",
        "data/trust-root.json",
        "--audit-key",
        "data/keys/audit.pub",
    ]);
    assert!(
        offline["headsVerified"].as_u64().unwrap() >= report["headsVerified"].as_u64().unwrap()
    );
    // Logged heads that cannot be checked (the audit key is gone) fail verification.
    std::fs::rename(s.path("data/keys/audit.pub"), s.path("audit.pub")).unwrap();
    s.fails(&["audit", "verify", "--data", "data"], "CUSTODY-E1054");
    std::fs::rename(s.path("audit.pub"), s.path("data/keys/audit.pub")).unwrap();
    s.ok(&["audit", "verify", "--data", "data"]);
    // Cut the history back before the first logged head.
    let db = rusqlite::Connection::open(s.path("data/custody.db")).unwrap();
    let first_head: i64 = db
        .query_row("SELECT MIN(seq) FROM audit_heads", [], |r| r.get(0))
        .unwrap();
    db.execute("DELETE FROM audit_records WHERE seq >= ?1", [first_head])
        .unwrap();
    s.fails(&["audit", "verify", "--data", "data"], "CUSTODY-E1054");
}
