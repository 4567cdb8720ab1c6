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

fn registry_client(token: &str) -> custody_app::registry::client::RegistryClient {
    custody_app::registry::client::RegistryClient::new(Some(secrecy::SecretString::from(
        token.to_owned(),
    )))
    .unwrap()
}

/// The HTTP status of `GET url` with the token.
fn get_status(url: &str, token: &str) -> u16 {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        reqwest::Client::new()
            .get(url)
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
            .status()
            .as_u16()
    })
}

#[test]
fn pushed_bundles_become_referrers_of_the_manifest() {
    use custody_app::registry::client::{
        IMAGE_MANIFEST, Reference, attach_bundle, evidence_of, resolve,
    };
    let (s, server, token, reference) = setup();
    s.write("app.bin", b"a small artifact");
    s.write("pred.json", br#"{"builder": "test"}"#);
    s.ok(&[
        "attest",
        "app.bin",
        "--key",
        "build.key",
        "--predicate-type",
        "https://slsa.dev/provenance/v1",
        "--predicate",
        "pred.json",
        "--bundle",
        "provenance.sigstore.json",
    ]);
    s.ok(&[
        "sign",
        "app.bin",
        "--key",
        "release.key",
        "--bundle",
        "file.sigstore.json",
    ]);
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
        "--bundle",
        "provenance.sigstore.json",
        "--bundle",
        "file.sigstore.json",
    ]);
    let referrers: Vec<String> = pushed["referrers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r.as_str().unwrap().to_owned())
        .collect();
    assert_eq!(referrers.len(), 3, "{pushed}");

    let client = registry_client(&token);
    let r: Reference = reference.parse().unwrap();
    let (descriptor, manifest) = resolve(&client, &r).unwrap();
    assert_eq!(descriptor.digest.to_string(), pushed["manifest"]);
    assert_eq!(descriptor.media_type, IMAGE_MANIFEST);
    assert_eq!(descriptor.size, manifest.len() as u64);
    let evidence = evidence_of(&client, &r, &descriptor.digest).unwrap();
    let find = |digest: &str| {
        evidence
            .iter()
            .find(|e| e.referrer.to_string() == digest)
            .unwrap_or_else(|| panic!("{digest} is not a referrer"))
    };
    // Sigstore bundles v0.3 are attached byte for byte.
    assert_eq!(
        find(&referrers[1]).bundle,
        s.read("provenance.sigstore.json")
    );
    assert_eq!(find(&referrers[2]).bundle, s.read("file.sigstore.json"));
    // The signature referrer still admits the artifact.
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

    // attach_bundle adds one more referrer to the existing manifest, found by digest too.
    let by_digest: Reference = format!(
        "{}@{}",
        reference.trim_end_matches(":v1"),
        descriptor.digest
    )
    .parse()
    .unwrap();
    let (again, _) = resolve(&client, &by_digest).unwrap();
    assert_eq!(again, descriptor);
    s.ok(&[
        "attest",
        "app.bin",
        "--key",
        "build.key",
        "--predicate-type",
        "https://example.com/sbom/v1",
        "--predicate",
        "pred.json",
        "--bundle",
        "sbom.json",
    ]);
    let attached = attach_bundle(&client, &by_digest, &descriptor, &s.read("sbom.json")).unwrap();
    let evidence = evidence_of(&client, &r, &descriptor.digest).unwrap();
    assert_eq!(evidence.len(), 4);
    assert!(evidence.iter().any(|e| e.referrer == attached));
    assert_eq!(
        attach_bundle(&client, &by_digest, &descriptor, b"{}")
            .unwrap_err()
            .code(),
        custody_app::Code::BundleMalformed
    );
    assert_eq!(
        evidence_of(&client, &r, &descriptor.digest).unwrap().len(),
        4
    );
}

#[test]
fn an_unparsable_bundle_fails_the_push_up_front_and_pushes_nothing() {
    let (s, server, token, reference) = setup();
    s.write("app.bin", b"never uploaded");
    s.ok(&[
        "sign",
        "app.bin",
        "--key",
        "build.key",
        "--bundle",
        "good.json",
    ]);
    s.write(
        "bad.json",
        br#"{"mediaType": "application/vnd.dev.sigstore.bundle.v0.3+json"}"#,
    );
    let failed = s.fails(
        &[
            "push",
            "app.bin",
            &reference,
            "--key",
            "build.key",
            "--log",
            &server.url,
            "--token",
            &token,
            "--bundle",
            "good.json",
            "--bundle",
            "bad.json",
        ],
        "CUSTODY-E1014",
    );
    assert!(
        failed["error"]["message"]
            .as_str()
            .unwrap()
            .contains("bad.json"),
        "{failed}"
    );
    s.fails(
        &[
            "push",
            "app.bin",
            &reference,
            "--key",
            "build.key",
            "--token",
            &token,
            "--bundle",
            "missing.json",
        ],
        "CUSTODY-E3001",
    );
    // Neither the file's blob nor a manifest reached the registry.
    let file_digest = custody_crypto::sha256(b"never uploaded");
    assert_eq!(
        get_status(
            &format!("{}/v2/team/app/blobs/{file_digest}", server.url),
            &token
        ),
        404
    );
    assert_eq!(
        get_status(&format!("{}/v2/team/app/manifests/v1", server.url), &token),
        404
    );
}
