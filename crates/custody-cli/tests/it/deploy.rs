//! The deploy gate end to end, over a real `custody serve`: build → push → approve ×2 →
//! promote → gate allows; then every attack of the deployment threat model is denied with its
//! own reason; rollback restores the previous good digest; a deployed directory is audited.
//!
//! Artifacts with distinct digests but the same built file are made by pushing the file with
//! another artifact type: the manifest changes, the layer (the provenance's subject) does not.

use std::path::Path;
use std::process::Command;

use serde_json::Value;

use crate::support::{Scratch, Server};

const PROD_REGO: &str = r#"package custody.env.prod

import data.custody.lib

deny contains msg if {
	some msg in lib.provenance_denials(input, {"https://custody.dev/builder/local@v1"}, "git+https://example.com/acme/hello.git", {"refs/heads/main"})
}

deny contains msg if {
	some msg in lib.approval_denials(input, {"alice@example.com", "bob@example.com", "carol@example.com", "dave@example.com"}, 2)
}

deny contains msg if {
	some msg in lib.freshness_denials(input, 30)
}

deny contains msg if {
	some msg in lib.rejected_evidence_denials(input, {"signature", "provenance"})
}
"#;

const REGISTRY_TOML: &str = r#"
# Releases are enforced by the registry; lab/ is a scratch space the registry does not check,
# so that the gate's own verification is what stops the attacks pushed there.
[[repository]]
pattern = "acme/*"
signer_role = "release"

[[repository]]
pattern = "lab/*"
enforce_push = false
enforce_pull = false
"#;

fn git(dir: &Path, args: &[&str]) {
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .output()
        .expect("git is required");
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

pub(crate) struct World {
    pub(crate) s: Scratch,
    pub(crate) server: Server,
    pub(crate) token: String,
    pub(crate) host: String,
}

impl World {
    pub(crate) fn reference(&self, repo: &str) -> String {
        format!("{}/{repo}", self.host)
    }

    /// `args` with `--token` added (before a build's `--`).
    fn with_token<'a>(&'a self, args: &[&'a str]) -> Vec<&'a str> {
        let at = args.iter().position(|a| *a == "--").unwrap_or(args.len());
        let mut all = args[..at].to_vec();
        all.extend(["--token", &self.token]);
        all.extend_from_slice(&args[at..]);
        all
    }

    pub(crate) fn ok(&self, args: &[&str]) -> Value {
        self.s.ok(&self.with_token(args))
    }

    fn fails(&self, args: &[&str], code: &str) -> Value {
        self.s.fails(&self.with_token(args), code)
    }

    pub(crate) fn push(&self, file: &str, reference: &str, key: &str, extra: &[&str]) -> String {
        let mut args = vec![
            "push",
            file,
            reference,
            "--key",
            key,
            "--log",
            &self.server.url,
        ];
        args.extend_from_slice(extra);
        self.ok(&args)["manifest"].as_str().unwrap().to_owned()
    }

    pub(crate) fn approve(&self, reference: &str, key: &str, extra: &[&str]) {
        let mut args = vec![
            "approve",
            reference,
            "--env",
            "prod",
            "--key",
            key,
            "--log",
            &self.server.url,
        ];
        args.extend_from_slice(extra);
        self.ok(&args);
    }

    pub(crate) fn promote_args<'a>(&'a self, reference: &'a str) -> Vec<&'a str> {
        vec![
            "promote",
            reference,
            "--to",
            "prod",
            "--key",
            "release.key",
            "--trust-root",
            "trust-root.json",
            "--log",
            &self.server.url,
        ]
    }

    /// The local gate's JSON (allowed or denied).
    fn gate(&self, reference: &str, extra: &[&str]) -> (i32, Value) {
        let mut args = vec![
            "gate",
            reference,
            "--env",
            "prod",
            "--policies",
            "policies",
            "--trust-root",
            "trust-root.json",
            "--token",
            &self.token,
        ];
        args.extend_from_slice(extra);
        self.s.json(&args)
    }

    fn denied_reasons(&self, reference: &str, extra: &[&str]) -> Vec<String> {
        let (status, v) = self.gate(reference, extra);
        let code = if extra.contains(&"--promote") {
            "CUSTODY-E1101"
        } else {
            "CUSTODY-E1100"
        };
        assert_eq!(status, 1, "gate {reference}: {v}");
        assert_eq!(v["error"]["code"], code, "{v}");
        assert_eq!(v["allowed"], false, "{v}");
        v["reasons"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r.as_str().unwrap().to_owned())
            .collect()
    }
}

/// POSTs `body` to the server's `path` with the token; returns (status, JSON answer).
fn post(url: &str, path: &str, token: &str, body: &str) -> (u16, Value) {
    use std::io::{Read as _, Write as _};
    let host = url.trim_start_matches("http://");
    let mut stream = std::net::TcpStream::connect(host).unwrap();
    write!(
        stream,
        "POST {path} HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {token}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    let status = answer[9..12].parse().unwrap();
    let json = answer.split("\r\n\r\n").nth(1).unwrap_or("");
    (status, serde_json::from_str(json).unwrap_or(Value::Null))
}

fn has(reasons: &[String], needle: &str) -> bool {
    reasons.iter().any(|r| r.contains(needle))
}

fn setup() -> World {
    setup_with(|_| Vec::new())
}

/// The deploy world: a server with policies (and `extra_server_args`, given the scratch
/// directory before the server starts), keys, a trust root and a sandboxed build in `dist/`.
pub(crate) fn setup_with(extra_server_args: impl FnOnce(&Scratch) -> Vec<String>) -> World {
    let s = Scratch::new();
    s.write("registry.toml", REGISTRY_TOML.as_bytes());
    std::fs::create_dir(s.path("policies")).unwrap();
    std::fs::write(
        s.path("policies/lib.rego"),
        include_str!("../../../../policies/examples/lib.rego"),
    )
    .unwrap();
    s.write("policies/prod.rego", PROD_REGO.as_bytes());
    let config = s.path("registry.toml");
    let policies = s.path("policies");
    let mut args = vec![
        "--config".to_owned(),
        config.to_str().unwrap().to_owned(),
        "--policies".to_owned(),
        policies.to_str().unwrap().to_owned(),
    ];
    args.extend(extra_server_args(&s));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let server = Server::start_with(&s.path("data"), &args);
    let token = s.ok(&["token", "create", "--data", "data", "--scope", "admin"])["token"]
        .as_str()
        .unwrap()
        .to_owned();
    for (name, alg) in [
        ("build", "ed25519"),
        ("release", "ecdsa-p256"),
        ("alice", "ed25519"),
        ("bob", "ed25519"),
        ("carol", "ed25519"),
        ("dave", "ed25519"),
        ("rogue", "ecdsa-p256"),
    ] {
        s.key(name, alg);
    }
    s.ok(&[
        "trust-root",
        "init",
        "--from",
        "data/trust-root.json",
        "--out",
        "trust-root.json",
        "--key",
        "build=build.pub,owner=dave@example.com",
        "--key",
        "release=release.pub,owner=carol@example.com",
        "--key",
        "approver=alice.pub,owner=alice@example.com",
        "--key",
        "approver=bob.pub,owner=bob@example.com",
        "--key",
        "approver=carol.pub,owner=carol@example.com",
        "--key",
        "approver=dave.pub,owner=dave@example.com",
    ]);
    s.ok(&[
        "trust-root",
        "sign",
        "trust-root.json",
        "--key",
        "data/keys/root.key",
    ]);
    std::fs::copy(s.path("trust-root.json"), s.path("data/trust-root.json")).unwrap();

    let repo = s.path("hello");
    std::fs::create_dir(&repo).unwrap();
    std::fs::write(repo.join("hello.sh"), "#!/bin/sh\necho hello\n").unwrap();
    std::fs::write(
        repo.join("build.sh"),
        "#!/bin/sh\nset -eu\ncp hello.sh \"$CUSTODY_OUT/hello\"\n",
    )
    .unwrap();
    git(&repo, &["init", "-q", "-b", "main"]);
    git(
        &repo,
        &[
            "remote",
            "add",
            "origin",
            "https://example.com/acme/hello.git",
        ],
    );
    git(&repo, &["add", "-A"]);
    git(
        &repo,
        &[
            "-c",
            "user.name=Dev",
            "-c",
            "user.email=dev@example.com",
            "commit",
            "-q",
            "-m",
            "hello",
        ],
    );
    let host = server.url.trim_start_matches("http://").to_owned();
    let w = World {
        s,
        server,
        token,
        host,
    };
    w.ok(&[
        "build",
        "--source",
        "hello",
        "--out",
        "dist",
        "--key",
        "build.key",
        "--log",
        &w.server.url,
        "--",
        "sh",
        "build.sh",
    ]);
    w
}

#[test]
fn the_gate_allows_only_what_was_built_approved_and_promoted_and_says_why_not() {
    let w = setup();
    let url = w.server.url.clone();
    let provenance = ["--bundle", "dist/provenance.sigstore.json"];

    // The good path: build → push → approve ×2 → promote → gate allows.
    let v1 = w.reference("acme/hello:v1");
    let good = w.push("dist/out/hello", &v1, "release.key", &provenance);
    w.approve(&v1, "alice.key", &["--out", "alice-approval.json"]);
    w.approve(&v1, "bob.key", &[]);
    let promoted = w.ok(&w.promote_args(&v1));
    assert_eq!(promoted["digest"], good.as_str());
    assert_eq!(promoted["sequence"], 1);
    let (status, allowed) = w.gate(&v1, &[]);
    assert_eq!(status, 0, "{allowed}");
    assert_eq!(allowed["allowed"], true);
    assert_eq!(allowed["reasons"], serde_json::json!([]));
    // The server's admission endpoint gives the same answer.
    let remote = w.ok(&["gate", &v1, "--env", "prod"]);
    assert_eq!(remote["allowed"], true);
    assert_eq!(remote["digest"], good.as_str());
    assert_eq!(remote["policy"], allowed["policy"]);

    // `custody policy eval` shows the facts a decision was made on, and evaluates saved facts
    // (e.g. to try a policy change): the same facts, the same policy, the same answer.
    let evaluated = w.ok(&[
        "policy",
        "eval",
        &v1,
        "--env",
        "prod",
        "--policies",
        "policies",
        "--trust-root",
        "trust-root.json",
    ]);
    let mut facts = evaluated["facts"].clone();
    assert_eq!(facts["approvals"].as_array().unwrap().len(), 2, "{facts}");
    assert_eq!(facts["deployment"]["isCurrent"], true);
    assert_eq!(facts["provenance"][0]["sourceRef"], "refs/heads/main");
    w.s.write("facts.json", facts.to_string().as_bytes());
    let saved = w.s.ok(&[
        "policy",
        "eval",
        "--input",
        "facts.json",
        "--env",
        "prod",
        "--policies",
        "policies",
    ]);
    assert_eq!(saved["policy"], allowed["policy"]);
    facts["approvals"].as_array_mut().unwrap().pop();
    w.s.write("facts.json", facts.to_string().as_bytes());
    let denied = w.s.fails(
        &[
            "policy",
            "eval",
            "--input",
            "facts.json",
            "--env",
            "prod",
            "--policies",
            "policies",
        ],
        "CUSTODY-E1100",
    );
    assert!(
        denied["reasons"][0]
            .as_str()
            .unwrap()
            .contains("approved by 1 of 2"),
        "{denied}"
    );

    let mut distinct = Vec::new();

    // 1. Signed by a key the trust root does not know.
    let r = w.reference("lab/unknown:1");
    w.push("dist/out/hello", &r, "rogue.key", &provenance);
    let reasons = w.denied_reasons(&r, &[]);
    assert!(has(&reasons, "CUSTODY-E1004"), "{reasons:?}");
    distinct.push("CUSTODY-E1004");

    // 2. Provenance from a builder the policy does not trust (same build key, other builder).
    w.ok(&[
        "build",
        "--source",
        "hello",
        "--out",
        "dist-evil",
        "--key",
        "build.key",
        "--builder-id",
        "https://evil.example/builder",
        "--log",
        &url,
        "--",
        "sh",
        "build.sh",
    ]);
    let r = w.reference("lab/builder:1");
    w.push(
        "dist-evil/out/hello",
        &r,
        "release.key",
        &["--bundle", "dist-evil/provenance.sigstore.json"],
    );
    let reasons = w.denied_reasons(&r, &[]);
    assert!(
        has(&reasons, "untrusted builder https://evil.example/builder"),
        "{reasons:?}"
    );
    distinct.push("untrusted builder");

    // 3. Not in the transparency log.
    let r = w.reference("lab/unlogged:1");
    w.ok(&[
        "push",
        "dist/out/hello",
        &r,
        "--key",
        "release.key",
        "--bundle",
        "dist/provenance.sigstore.json",
    ]);
    let reasons = w.denied_reasons(&r, &[]);
    assert!(has(&reasons, "CUSTODY-E1020"), "{reasons:?}");
    distinct.push("CUSTODY-E1020");

    // 4. A single approval (another artifact: same file, another manifest).
    let single = w.reference("acme/hello:single");
    w.push(
        "dist/out/hello",
        &single,
        "release.key",
        &[
            "--bundle",
            "dist/provenance.sigstore.json",
            "--artifact-type",
            "application/vnd.acme.single",
        ],
    );
    w.approve(&single, "alice.key", &[]);
    let reasons = w.denied_reasons(&single, &["--promote"]);
    assert!(has(&reasons, "approved by 1 of 2 required"), "{reasons:?}");
    distinct.push("approved by 1 of 2 required");
    w.fails(&w.promote_args(&single), "CUSTODY-E1101");

    // 5. A self-approval: carol signed the release and approves it herself.
    let own = w.reference("acme/hello:own");
    w.push(
        "dist/out/hello",
        &own,
        "release.key",
        &[
            "--bundle",
            "dist/provenance.sigstore.json",
            "--artifact-type",
            "application/vnd.acme.own",
        ],
    );
    w.approve(&own, "alice.key", &[]);
    w.approve(&own, "carol.key", &[]);
    let reasons = w.denied_reasons(&own, &["--promote"]);
    assert!(
        has(
            &reasons,
            "approval by carol@example.com ignored: self-approval"
        ),
        "{reasons:?}"
    );
    distinct.push("self-approval");
    // Nor does dave, who owns the build key that signed the provenance.
    w.approve(&own, "dave.key", &[]);
    let reasons = w.denied_reasons(&own, &["--promote"]);
    assert!(
        has(
            &reasons,
            "approval by dave@example.com ignored: self-approval"
        ),
        "{reasons:?}"
    );

    // One person approving twice counts once.
    w.approve(&own, "alice.key", &[]);
    let reasons = w.denied_reasons(&own, &["--promote"]);
    assert!(
        has(&reasons, "approval by alice@example.com ignored: duplicate"),
        "{reasons:?}"
    );

    // 6. Alice's approval of v1 replayed onto another digest.
    let replay = w.reference("acme/hello:replay");
    w.push(
        "dist/out/hello",
        &replay,
        "release.key",
        &[
            "--bundle",
            "dist/provenance.sigstore.json",
            "--bundle",
            "alice-approval.json",
            "--artifact-type",
            "application/vnd.acme.replay",
        ],
    );
    w.approve(&replay, "bob.key", &[]);
    let reasons = w.denied_reasons(&replay, &["--promote"]);
    assert!(has(&reasons, "approval rejected"), "{reasons:?}");
    assert!(has(&reasons, "CUSTODY-E1009"), "{reasons:?}");
    distinct.push("approval rejected");

    // 7. A fully approved artifact that is not the promoted one.
    let other = w.reference("acme/hello:other");
    let other_digest = w.push(
        "dist/out/hello",
        &other,
        "release.key",
        &[
            "--bundle",
            "dist/provenance.sigstore.json",
            "--artifact-type",
            "application/vnd.acme.other",
        ],
    );
    w.approve(&other, "alice.key", &[]);
    w.approve(&other, "bob.key", &[]);
    let reasons = w.denied_reasons(&other, &[]);
    assert_eq!(reasons.len(), 1, "{reasons:?}");
    assert!(
        has(
            &reasons,
            &format!("{other_digest} is not the digest promoted to 'prod'")
        ),
        "{reasons:?}"
    );
    distinct.push("is not the digest promoted");

    // Each attack was denied for its own reason, not one generic reason.
    for (i, a) in distinct.iter().enumerate() {
        for b in &distinct[i + 1..] {
            assert_ne!(a, b);
        }
    }

    // Promote the other artifact, then roll back: prod returns to the previous good digest,
    // as a signed, logged record, and the gate allows it again.
    let promoted = w.ok(&w.promote_args(&other));
    assert_eq!(promoted["sequence"], 2);
    assert_eq!(w.gate(&v1, &[]).0, 1, "v1 is no longer current");
    let rolled = w.ok(&[
        "rollback",
        "--env",
        "prod",
        "--server",
        &url,
        "--key",
        "release.key",
        "--trust-root",
        "trust-root.json",
        "--log",
        &url,
        "--reason",
        "bad release",
    ]);
    assert_eq!(rolled["kind"], "rollback");
    assert_eq!(rolled["digest"], good.as_str());
    assert_eq!(rolled["sequence"], 3);
    assert_eq!(w.gate(&v1, &[]).0, 0);
    let history = w.ok(&[
        "env",
        "show",
        "prod",
        "--server",
        &url,
        "--trust-root",
        "trust-root.json",
    ]);
    assert_eq!(history["current"], good.as_str());
    assert_eq!(history["events"].as_array().unwrap().len(), 3);

    // A replayed promotion record (record 1, valid once) is refused: it names a position that
    // is taken and a previous digest that is not the current one.
    let record_1 = history["events"][0]["bundle"].to_string();
    let (status, answer) = post(
        &url,
        "/api/v1/environments/prod/records",
        &w.token,
        &record_1,
    );
    assert_eq!(status, 409, "{answer}");
    assert_eq!(answer["code"], "CUSTODY-E1095", "{answer}");
    // ... and so is the same record posted to another environment.
    let (status, answer) = post(
        &url,
        "/api/v1/environments/staging/records",
        &w.token,
        &record_1,
    );
    assert_eq!(status, 403, "{answer}");
    assert_eq!(answer["code"], "CUSTODY-E1102", "{answer}");
    assert_eq!(
        w.ok(&[
            "env",
            "show",
            "prod",
            "--server",
            &url,
            "--trust-root",
            "trust-root.json"
        ])["events"]
            .as_array()
            .unwrap()
            .len(),
        3,
        "nothing was appended"
    );

    // A promotion record signed by a key outside the trust root is refused by the server.
    w.fails(
        &[
            "promote",
            &w.reference("lab/unknown:1"),
            "--to",
            "prod",
            "--key",
            "rogue.key",
            "--trust-root",
            "trust-root.json",
            "--log",
            &url,
        ],
        "CUSTODY-E1004",
    );

    // Runtime audit: the deployed directory matches prod's artifact until a file is swapped.
    std::fs::create_dir(w.s.path("deploy")).unwrap();
    std::fs::copy(w.s.path("dist/out/hello"), w.s.path("deploy/hello")).unwrap();
    let audit = [
        "audit-deployed",
        "deploy",
        "--env",
        "prod",
        "--server",
        &url,
        "--trust-root",
        "trust-root.json",
    ];
    let ok = w.ok(&audit);
    assert_eq!(ok["matched"], serde_json::json!(["hello"]));
    std::fs::write(w.s.path("deploy/hello"), "#!/bin/sh\necho swapped\n").unwrap();
    let drift = w.fails(&audit, "CUSTODY-E1104");
    assert_eq!(drift["modified"][0]["path"], "hello");
}

#[test]
fn an_unsigned_push_and_a_moved_release_tag_are_refused_by_the_registry() {
    let w = setup();
    let v1 = w.reference("acme/hello:v1");
    w.push("dist/out/hello", &v1, "release.key", &[]);
    w.s.write("evil", b"#!/bin/sh\necho pwned\n");
    w.fails(
        &["push", "evil", &w.reference("acme/hello:v2"), "--unsigned"],
        "CUSTODY-E1050",
    );
    // Without a policy directory entry for an environment nothing is promoted (fail closed).
    w.fails(
        &[
            "promote",
            &v1,
            "--to",
            "staging",
            "--key",
            "release.key",
            "--trust-root",
            "trust-root.json",
            "--log",
            &w.server.url,
        ],
        "CUSTODY-E1101",
    );
}
