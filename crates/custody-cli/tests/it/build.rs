//! `custody build`: the sandbox's walls, the provenance it signs, and refusals.
//!
//! Each test makes a small git repository in a scratch directory (keys live outside it) and
//! runs real builds in bubblewrap.

use std::path::{Path, PathBuf};
use std::process::Command;

use base64::Engine as _;
use serde_json::Value;

use crate::support::{PASS, Scratch};

fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .env("GIT_AUTHOR_DATE", "2024-01-02T03:04:05Z")
        .env("GIT_COMMITTER_DATE", "2024-01-02T03:04:05Z")
        .output()
        .expect("git is required");
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

/// A scratch directory with a key `k` and a git repository `repo/` holding `files`, committed.
fn setup(files: &[(&str, &[u8])]) -> (Scratch, PathBuf) {
    let s = Scratch::new();
    s.key("k", "ed25519");
    let repo = s.path("repo");
    std::fs::create_dir(&repo).unwrap();
    git(&repo, &["init", "-q", "-b", "main"]);
    git(&repo, &["config", "user.email", "dev@example.com"]);
    git(&repo, &["config", "user.name", "Dev"]);
    for (name, bytes) in files {
        let path = repo.join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, bytes).unwrap();
        if name.ends_with(".sh") {
            use std::os::unix::fs::PermissionsExt as _;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        }
    }
    git(&repo, &["add", "-A"]);
    git(&repo, &["commit", "-q", "-m", "source"]);
    (s, repo)
}

/// `custody --json build --source repo --key k.key --out out EXTRA -- CMD`, with extra
/// environment variables; returns (exit status, JSON).
fn build(s: &Scratch, extra: &[&str], env: &[(&str, &str)], cmd: &[&str]) -> (i32, Value) {
    let mut args = vec![
        "--json", "build", "--source", "repo", "--key", "k.key", "--out", "out",
    ];
    args.extend_from_slice(extra);
    args.push("--");
    args.extend_from_slice(cmd);
    let mut command = s.custody(&args);
    for (k, v) in env {
        command.env(k, v);
    }
    let output = command.output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let value: Value = serde_json::from_str(stdout.trim()).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}): {stdout}; stderr: {}",
            String::from_utf8_lossy(&output.stderr)
        )
    });
    (output.status.code().unwrap_or(-1), value)
}

fn statement(s: &Scratch) -> Value {
    let bundle: Value = serde_json::from_slice(&s.read("out/provenance.sigstore.json")).unwrap();
    let payload = base64::engine::general_purpose::STANDARD
        .decode(bundle["dsseEnvelope"]["payload"].as_str().unwrap())
        .unwrap();
    serde_json::from_slice(&payload).unwrap()
}

fn sha256_hex(path: &Path) -> String {
    let out = Command::new("sha256sum").arg(path).output().unwrap();
    String::from_utf8(out.stdout).unwrap()[..64].to_owned()
}

const PROBE: &str = r#"#!/bin/bash
# Tries to get out of the sandbox; writes what happened to $CUSTODY_OUT/report.
out="$CUSTODY_OUT"
try() { if eval "$2" >/dev/null 2>&1; then echo "$1:allowed"; else echo "$1:denied"; fi; }
{
  try network "exec 3<>/dev/tcp/127.0.0.1/$PROBE_PORT"
  try write-source "echo x > /src/written"
  try write-usr "echo x > /usr/written"
  try write-etc "echo x > /etc/written"
  try write-outside "echo x > '$OUTSIDE/escaped'"
  try read-key "cat '$KEY_PATH'"
  try see-key-dir "ls '$(dirname "$KEY_PATH")'"
  try read-shadow "cat /etc/shadow"
  try write-home "echo x > \"\$HOME/private-$PROBE_PORT\""
  try write-out "echo x > $out/written"
} > "$out/report"
tr '\0' '\n' < /proc/$$/environ | sort > "$out/environ"
"#;

#[test]
fn the_sandbox_has_no_network_no_writable_host_and_no_key() {
    let (s, repo) = setup(&[("probe.sh", PROBE.as_bytes())]);
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let port = listener.local_addr().unwrap().port().to_string();
    let key = s.path("k.key").canonicalize().unwrap();
    let outside = s.dir.path().canonicalize().unwrap();
    let (status, v) = build(
        &s,
        &[
            "--env",
            "PROBE_PORT",
            "--env",
            "KEY_PATH",
            "--env",
            "OUTSIDE",
        ],
        &[
            ("PROBE_PORT", &port),
            ("KEY_PATH", key.to_str().unwrap()),
            ("OUTSIDE", outside.to_str().unwrap()),
            ("SECRET_IN_PARENT", "must not leak"),
        ],
        &["./probe.sh"],
    );
    assert_eq!(status, 0, "{v}");
    let report = String::from_utf8(s.read("out/out/report")).unwrap();
    let lines: Vec<&str> = report.lines().collect();
    assert_eq!(
        lines,
        [
            "network:denied",
            "write-source:denied",
            "write-usr:denied",
            "write-etc:denied",
            "write-outside:denied",
            "read-key:denied",
            "see-key-dir:denied",
            "read-shadow:denied",
            "write-home:allowed",
            "write-out:allowed",
        ],
        "{report}"
    );
    // Nobody connected, nothing landed outside, the private home was private.
    assert_eq!(
        listener.accept().unwrap_err().kind(),
        std::io::ErrorKind::WouldBlock
    );
    assert!(!outside.join("escaped").exists());
    assert!(!repo.join("written").exists());
    assert!(!Path::new(&format!("/tmp/private-{port}")).exists());

    // Exactly the allow-list, plus the three opted-in names; no passphrase, no parent secrets.
    let environ = String::from_utf8(s.read("out/out/environ")).unwrap();
    let names: Vec<&str> = environ
        .lines()
        .map(|l| l.split_once('=').unwrap().0)
        .collect();
    assert_eq!(
        names,
        [
            "CUSTODY_OUT",
            "HOME",
            "KEY_PATH",
            "LANG",
            "OUTSIDE",
            "PATH",
            "PROBE_PORT",
            "PWD",
            "SOURCE_DATE_EPOCH",
            "TMPDIR",
            "TZ"
        ],
        "{environ}"
    );
    assert!(
        environ.contains("SOURCE_DATE_EPOCH=1704164645\n"),
        "{environ}"
    );
    assert!(environ.contains("CUSTODY_OUT=/out\n"));
    assert!(!environ.contains(PASS));

    // The provenance names the opted-in variables (values only as digests) and the sandbox.
    let st = statement(&s);
    let definition = &st["predicate"]["buildDefinition"];
    let env = definition["externalParameters"]["environment"]
        .as_object()
        .unwrap();
    assert_eq!(env.len(), 3);
    assert!(env["KEY_PATH"].as_str().unwrap().starts_with("sha256:"));
    assert_eq!(definition["externalParameters"]["network"], "none");
    assert_eq!(
        definition["internalParameters"]["sandbox"]["backend"],
        "bubblewrap"
    );
    let tool = definition["resolvedDependencies"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["name"] == "./probe.sh")
        .unwrap();
    assert_eq!(tool["uri"], "file:///src/probe.sh");
    assert_eq!(tool["annotations"]["use"], "executed");
}

#[test]
fn opting_in_custody_secrets_or_unset_variables_is_refused() {
    let (s, _repo) = setup(&[("a.txt", b"a")]);
    for name in ["CUSTODY_PASSPHRASE", "HOME", "NOT_SET_ANYWHERE_42"] {
        let (status, v) = build(&s, &["--env", name], &[], &["true"]);
        assert_eq!(status, 2, "{v}");
        assert_eq!(v["error"]["code"], "CUSTODY-E2043", "{v}");
    }
    assert!(!s.path("out/provenance.sigstore.json").exists());
}

#[test]
fn a_failing_build_signs_nothing() {
    let (s, _repo) = setup(&[("a.txt", b"a")]);
    let (status, v) = build(
        &s,
        &[],
        &[],
        &[
            "sh",
            "-c",
            "echo partial > $CUSTODY_OUT/a; echo oops >&2; exit 3",
        ],
    );
    assert_eq!(status, 2, "{v}");
    assert_eq!(v["error"]["code"], "CUSTODY-E2040");
    assert!(v["error"]["message"].as_str().unwrap().contains("status 3"));
    assert!(!s.path("out/provenance.sigstore.json").exists());
    assert!(!s.path("out/out").exists());
    let log = String::from_utf8(s.read("out/build.log")).unwrap();
    assert!(log.contains("oops"), "{log}");

    // A build that outlives its wall-clock limit is killed, and signs nothing either.
    std::fs::remove_dir_all(s.path("out")).unwrap();
    let started = std::time::Instant::now();
    let (status, v) = build(
        &s,
        &["--timeout", "1"],
        &[],
        &[
            "sh",
            "-c",
            "echo partial > $CUSTODY_OUT/a; sleep 60 & sleep 60",
        ],
    );
    assert_eq!(status, 2, "{v}");
    assert_eq!(v["error"]["code"], "CUSTODY-E2040");
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("timed out")
    );
    assert!(started.elapsed() < std::time::Duration::from_secs(30));
    assert!(!s.path("out/provenance.sigstore.json").exists());
}

#[test]
fn refusals_before_anything_runs() {
    let (s, repo) = setup(&[("a.txt", b"a")]);
    // Not a builder URI.
    let (status, v) = build(&s, &["--builder-id", "my laptop"], &[], &["true"]);
    assert_eq!(
        (status, &v["error"]["code"]),
        (2, &Value::from("CUSTODY-E2043"))
    );
    // A build that writes nothing has nothing to attest.
    let (status, v) = build(&s, &[], &[], &["true"]);
    assert_eq!(
        (status, &v["error"]["code"]),
        (2, &Value::from("CUSTODY-E2042")),
        "{v}"
    );
    // A symbolic link out of the output directory is not an output.
    std::fs::remove_dir_all(s.path("out")).unwrap();
    let (status, v) = build(&s, &[], &[], &["ln", "-s", "/etc/passwd", "/out/link"]);
    assert_eq!(
        (status, &v["error"]["code"]),
        (2, &Value::from("CUSTODY-E2042")),
        "{v}"
    );
    // The output directory must be empty.
    let (status, v) = build(&s, &[], &[], &["true"]);
    assert_eq!(
        (status, &v["error"]["code"]),
        (2, &Value::from("CUSTODY-E2005")),
        "{v}"
    );
    std::fs::remove_dir_all(s.path("out")).unwrap();
    // Uncommitted changes: the build would not be the commit the provenance names.
    std::fs::write(repo.join("a.txt"), b"changed").unwrap();
    let (status, v) = build(&s, &[], &[], &["true"]);
    assert_eq!(
        (status, &v["error"]["code"]),
        (2, &Value::from("CUSTODY-E2041")),
        "{v}"
    );
    git(&repo, &["checkout", "--", "a.txt"]);
    // A key inside the source tree is refused even when it is not tracked.
    std::fs::copy(s.path("k.key"), repo.join("k.key")).unwrap();
    let output = s
        .custody(&[
            "--json",
            "build",
            "--source",
            "repo",
            "--key",
            "repo/k.key",
            "--out",
            "out2",
            "--",
            "sh",
            "-c",
            "cp k.key /out/stolen",
        ])
        .output()
        .unwrap();
    let v: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(v["error"]["code"], "CUSTODY-E2041", "{v}");
    assert!(!s.path("out2/out/stolen").exists());
}

const HELLO_C: &str = r#"#include <stdio.h>
int main(void) { puts("hello from custody"); return 0; }
"#;

const CARGO_LOCK: &str = r#"version = 4

[[package]]
name = "hello"
version = "0.1.0"
dependencies = ["itoa"]

[[package]]
name = "itoa"
version = "1.0.15"
source = "registry+https://github.com/rust-lang/crates.io-index"
checksum = "4a5f13b858c8d314ee3e8f639011f7ccefe71f97f96e50151fb991f267928e2c"
"#;

#[test]
fn a_c_build_yields_provenance_that_verifies() {
    let (s, repo) = setup(&[
        ("hello.c", HELLO_C.as_bytes()),
        ("Cargo.lock", CARGO_LOCK.as_bytes()),
    ]);
    let commit = git(&repo, &["rev-parse", "HEAD"]);
    let (status, v) = build(
        &s,
        &["--builder-id", "https://ci.example.com/builders/7"],
        &[],
        &["cc", "-O2", "-o", "/out/hello", "hello.c"],
    );
    assert_eq!(status, 0, "{v}");
    assert_eq!(v["commit"], commit.as_str());
    assert_eq!(v["subjects"][0]["name"], "hello");

    // The artifact runs, and custody verify accepts it against the provenance.
    let hello = s.path("out/out/hello");
    let ran = Command::new(&hello).output().unwrap();
    assert_eq!(String::from_utf8_lossy(&ran.stdout), "hello from custody\n");
    let verified = s.ok(&[
        "verify",
        "out/out/hello",
        "--bundle",
        "out/provenance.sigstore.json",
        "--key",
        "k.pub",
    ]);
    assert_eq!(verified["predicateType"], "https://slsa.dev/provenance/v1");
    // ... and refuses another file.
    s.write("other", b"not the build output");
    s.fails(
        &[
            "verify",
            "other",
            "--bundle",
            "out/provenance.sigstore.json",
            "--key",
            "k.pub",
        ],
        "CUSTODY-E1009",
    );

    let st = statement(&s);
    assert_eq!(st["_type"], "https://in-toto.io/Statement/v1");
    let subject = &st["subject"][0];
    assert_eq!(subject["name"], "hello");
    assert_eq!(subject["digest"]["sha256"], sha256_hex(&hello));
    assert_eq!(subject["digest"]["sha512"].as_str().unwrap().len(), 128);
    let p = &st["predicate"];
    let definition = &p["buildDefinition"];
    assert_eq!(
        definition["externalParameters"]["command"],
        serde_json::json!(["cc", "-O2", "-o", "/out/hello", "hello.c"])
    );
    assert_eq!(
        definition["externalParameters"]["source"]["revision"],
        commit.as_str()
    );
    let repository = definition["externalParameters"]["source"]["repository"]
        .as_str()
        .unwrap();
    assert!(repository.starts_with("git+file:///"), "{repository}");
    let deps = definition["resolvedDependencies"].as_array().unwrap();
    let find = |name: &str| {
        deps.iter()
            .find(|d| d["name"] == name)
            .unwrap_or_else(|| panic!("no dependency {name}: {deps:?}"))
    };
    assert_eq!(find("source")["digest"]["gitCommit"], commit.as_str());
    assert_eq!(
        find("hello.c")["digest"]["sha256"],
        sha256_hex(&repo.join("hello.c"))
    );
    assert_eq!(
        find("Cargo.lock")["digest"]["sha256"],
        sha256_hex(&repo.join("Cargo.lock"))
    );
    let cc = find("cc");
    assert_eq!(cc["annotations"]["use"], "executed");
    let cc_path = cc["uri"].as_str().unwrap().strip_prefix("file://").unwrap();
    assert_eq!(cc["digest"]["sha256"], sha256_hex(Path::new(cc_path)));
    assert!(!cc["annotations"]["version"].as_str().unwrap().is_empty());
    assert_eq!(find("sh")["annotations"]["use"], "on-path");
    let itoa = find("itoa");
    assert_eq!(itoa["uri"], "pkg:cargo/itoa@1.0.15");
    assert_eq!(
        itoa["digest"]["sha256"],
        "4a5f13b858c8d314ee3e8f639011f7ccefe71f97f96e50151fb991f267928e2c"
    );
    let run = &p["runDetails"];
    assert_eq!(run["builder"]["id"], "https://ci.example.com/builders/7");
    let platform = run["builder"]["builderDependencies"].as_array().unwrap();
    assert!(platform.iter().any(|d| d["name"] == "bwrap"));
    assert_eq!(run["byproducts"][0]["annotations"]["exitCode"], 0);
    assert_eq!(
        run["byproducts"][0]["digest"]["sha256"],
        sha256_hex(&s.path("out/build.log"))
    );

    // securesystemslib verifies the DSSE envelope; the in-toto-attestation bindings parse
    // the payload as Statement v1 + SLSA Provenance v1 (unknown fields rejected) and validate it.
    let key_id = v["keyId"].as_str().unwrap();
    interop_python(
        &s,
        "dsse_interop.py",
        &["verify", "out/provenance.sigstore.json", "k.pub", key_id],
    );
    interop_python(
        &s,
        "slsa_interop.py",
        &["check", "out/provenance.sigstore.json"],
    );
}

fn interop_python(s: &Scratch, script: &str, args: &[&str]) {
    let python = std::env::var_os("CUSTODY_INTEROP_PYTHON").expect(
        "CUSTODY_INTEROP_PYTHON is not set: run the test suite with `cargo xtask test`, which creates the interop venv",
    );
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/it")
        .join(script);
    let out = Command::new(python)
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
fn a_deterministic_build_is_reproducible_and_attested() {
    let (s, repo) = setup(&[("msg.txt", b"stable\n")]);
    let script = "cp msg.txt \"$CUSTODY_OUT/a.txt\" && date -u -d \"@$SOURCE_DATE_EPOCH\" > \"$CUSTODY_OUT/when.txt\"";
    let (status, v) = build(&s, &[], &[], &["sh", "-c", script]);
    assert_eq!(status, 0, "{v}");
    // The work tree moves on; the rebuild still uses the recorded commit.
    std::fs::write(repo.join("msg.txt"), b"changed later\n").unwrap();
    git(&repo, &["commit", "-q", "-am", "later"]);
    let v = s.ok(&[
        "rebuild",
        "out/provenance.sigstore.json",
        "--key",
        "k.key",
        "--build-key",
        "k.pub",
        "--source",
        "repo",
        "--out",
        "re",
        "--builder-id",
        "https://rebuilder.example.com/r1",
    ]);
    assert_eq!(v["reproducible"], true);
    assert_eq!(v["subjects"], serde_json::json!(["a.txt", "when.txt"]));
    assert_eq!(s.read("re/out/a.txt"), b"stable\n");
    let verified = s.ok(&[
        "verify",
        "out/out/a.txt",
        "--bundle",
        "re/rebuild.sigstore.json",
        "--key",
        "k.pub",
    ]);
    assert_eq!(
        verified["predicateType"],
        "https://custody.dev/attestations/rebuild/v1"
    );
    let bundle: Value = serde_json::from_slice(&s.read("re/rebuild.sigstore.json")).unwrap();
    let payload = base64::engine::general_purpose::STANDARD
        .decode(bundle["dsseEnvelope"]["payload"].as_str().unwrap())
        .unwrap();
    let st: Value = serde_json::from_slice(&payload).unwrap();
    assert_eq!(st["predicate"]["result"], "reproducible");
    assert_eq!(
        st["predicate"]["rebuilder"]["id"],
        "https://rebuilder.example.com/r1"
    );
    assert_eq!(
        st["predicate"]["provenance"]["digest"]["sha256"],
        sha256_hex(&s.path("out/provenance.sigstore.json"))
    );
    // Verified with --build-key: the key, and no role.
    let verified = &st["predicate"]["provenance"]["verifiedKey"];
    assert_eq!(verified["keyid"], v["provenanceKeyId"]);
    assert!(verified.get("role").is_none(), "{st}");
}

#[test]
fn a_build_embedding_random_bytes_is_not_reproducible() {
    let (s, _repo) = setup(&[("msg.txt", b"x\n")]);
    let script = "head -c 32 /dev/urandom > \"$CUSTODY_OUT/random.bin\" && cp msg.txt \"$CUSTODY_OUT/same.txt\"";
    let (status, v) = build(&s, &[], &[], &["sh", "-c", script]);
    assert_eq!(status, 0, "{v}");
    let v = s.fails(
        &[
            "rebuild",
            "out/provenance.sigstore.json",
            "--key",
            "k.key",
            "--build-key",
            "k.pub",
            "--source",
            "repo",
            "--out",
            "re",
        ],
        "CUSTODY-E1060",
    );
    let message = v["error"]["message"].as_str().unwrap();
    assert!(message.contains("random.bin differs"), "{message}");
    assert!(!message.contains("same.txt"), "{message}");
    assert!(!s.path("re/rebuild.sigstore.json").exists());
    // The rebuilt files stay for inspection.
    assert_eq!(s.read("re/out/random.bin").len(), 32);

    // Something that is not custody build provenance is refused before anything runs.
    s.write("att.json", b"{}");
    s.write("file.txt", b"file");
    s.ok(&[
        "attest",
        "file.txt",
        "--key",
        "k.key",
        "--predicate-type",
        "https://slsa.dev/provenance/v1",
        "--predicate",
        "att.json",
        "--bundle",
        "foreign.json",
    ]);
    s.fails(
        &[
            "rebuild",
            "foreign.json",
            "--key",
            "k.key",
            "--build-key",
            "k.pub",
            "--source",
            "repo",
            "--out",
            "re3",
        ],
        "CUSTODY-E2043",
    );
    assert!(!s.path("re3").exists());
}

/// `rebuild PROVENANCE --key k.key --source repo --out OUT TRUST...` (TRUST: how the
/// provenance is verified).
fn rebuild_trusting<'a>(provenance: &'a str, out: &'a str, trust: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec![
        "rebuild", provenance, "--key", "k.key", "--source", "repo", "--out", out,
    ];
    args.extend_from_slice(trust);
    args
}

/// The in-toto statement inside a bundle written by custody.
fn bundle_statement(s: &Scratch, name: &str) -> Value {
    let bundle: Value = serde_json::from_slice(&s.read(name)).unwrap();
    let payload = base64::engine::general_purpose::STANDARD
        .decode(bundle["dsseEnvelope"]["payload"].as_str().unwrap())
        .unwrap();
    serde_json::from_slice(&payload).unwrap()
}

#[test]
fn rebuild_verifies_the_provenance_before_anything_runs() {
    let (s, _repo) = setup(&[("msg.txt", b"stable\n")]);
    let (status, v) = build(
        &s,
        &[],
        &[],
        &["sh", "-c", "cp msg.txt \"$CUSTODY_OUT/a.txt\""],
    );
    assert_eq!(status, 0, "{v}");
    let build_key_id = v["keyId"].as_str().unwrap().to_owned();
    let provenance = "out/provenance.sigstore.json";

    // Neither --trust-root, --build-key nor --unverified: a usage error naming them.
    let v = s.fails(&rebuild_trusting(provenance, "re0", &[]), "CUSTODY-E2001");
    let message = v["error"]["message"].as_str().unwrap();
    for flag in ["--trust-root", "--build-key", "--unverified"] {
        assert!(message.contains(flag), "{message}");
    }
    assert!(!s.path("re0").exists());
    // Two of them at once: refused by the command line.
    let (status, _) = s.json(&rebuild_trusting(
        provenance,
        "re0",
        &["--build-key", "k.pub", "--unverified"],
    ));
    assert_eq!(status, 2);
    assert!(!s.path("re0").exists());

    // One flipped payload byte (the recorded command's "msg.txt" becomes "lsg.txt"): the
    // signature does not verify, nothing runs, nothing is signed.
    let mut bundle: Value = serde_json::from_slice(&s.read(provenance)).unwrap();
    let engine = base64::engine::general_purpose::STANDARD;
    let mut payload = engine
        .decode(bundle["dsseEnvelope"]["payload"].as_str().unwrap())
        .unwrap();
    let at = payload
        .windows(b"cp msg.txt".len())
        .position(|w| w == b"cp msg.txt")
        .unwrap()
        + 3;
    payload[at] ^= 1;
    bundle["dsseEnvelope"]["payload"] = Value::String(engine.encode(&payload));
    s.write("tampered.json", bundle.to_string().as_bytes());
    s.fails(
        &rebuild_trusting("tampered.json", "re1", &["--build-key", "k.pub"]),
        "CUSTODY-E1002",
    );
    assert!(!s.path("re1").exists());

    // Signed by another key than the one given, or than the trust root's build key.
    s.key("other", "ed25519");
    s.fails(
        &rebuild_trusting(provenance, "re2", &["--build-key", "other.pub"]),
        "CUSTODY-E1003",
    );
    assert!(!s.path("re2").exists());
    s.key("root", "ed25519");
    s.trust_root("other-root.json", &["build=other.pub"]);
    s.fails(
        &rebuild_trusting(provenance, "re3", &["--trust-root", "other-root.json"]),
        "CUSTODY-E1004",
    );
    assert!(!s.path("re3").exists());
    // The right key with another role than build.
    s.trust_root("release-root.json", &["release=k.pub"]);
    s.fails(
        &rebuild_trusting(provenance, "re4", &["--trust-root", "release-root.json"]),
        "CUSTODY-E1005",
    );
    assert!(!s.path("re4").exists());

    // A trust root whose build key signed it: rebuilt, and the attestation names that key.
    s.trust_root("root.json", &["build=k.pub"]);
    let v = s.ok(&rebuild_trusting(
        provenance,
        "re5",
        &["--trust-root", "root.json"],
    ));
    assert_eq!(v["reproducible"], true, "{v}");
    assert_eq!(v["provenanceKeyId"], build_key_id.as_str());
    let st = bundle_statement(&s, "re5/rebuild.sigstore.json");
    let verified = &st["predicate"]["provenance"]["verifiedKey"];
    assert_eq!(verified["keyid"], build_key_id.as_str(), "{st}");
    assert_eq!(verified["role"], "build", "{st}");

    // --unverified (debugging someone else's build): rebuilt, and the attestation names no key.
    let v = s.ok(&rebuild_trusting(provenance, "re6", &["--unverified"]));
    assert_eq!(v["reproducible"], true, "{v}");
    assert_eq!(v["provenanceKeyId"], Value::Null);
    let st = bundle_statement(&s, "re6/rebuild.sigstore.json");
    assert!(
        st["predicate"]["provenance"].get("verifiedKey").is_none(),
        "{st}"
    );
}

fn rebuild_args<'a>(out: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec![
        "rebuild",
        "out/provenance.sigstore.json",
        "--key",
        "k.key",
        "--build-key",
        "k.pub",
        "--source",
        "repo",
        "--out",
        out,
    ];
    args.extend_from_slice(extra);
    args
}

#[test]
fn a_deterministic_build_reproduces_under_vary_and_records_the_variations() {
    let (s, _repo) = setup(&[("b.txt", b"b\n"), ("a.txt", b"a\n")]);
    // Sorted explicitly, dated from SOURCE_DATE_EPOCH, permissions normalised: nothing the
    // variations touch reaches the outputs.
    let script = "cat $(ls | LC_ALL=C sort) > \"$CUSTODY_OUT/all.txt\" && \
                  date -u -d \"@$SOURCE_DATE_EPOCH\" +%Y > \"$CUSTODY_OUT/year.txt\"";
    let (status, v) = build(&s, &[], &[], &["sh", "-c", script]);
    assert_eq!(status, 0, "{v}");
    let v = s.ok(&rebuild_args("re", &["--vary"]));
    assert_eq!(v["reproducible"], true, "{v}");
    let variations = &v["variations"];
    assert!(
        variations["buildPath"]
            .as_str()
            .is_some_and(|p| p.starts_with("/build/src-")),
        "{variations}"
    );
    assert_eq!(variations["umask"], "0002");
    assert_eq!(variations["locale"]["LANG"], "C");
    assert_eq!(variations["fileOrder"], "reverse creation order");
    let faketime = Command::new("sh")
        .args(["-c", "command -v faketime"])
        .output()
        .unwrap()
        .status
        .success();
    if faketime {
        assert_eq!(variations["time"]["faketime"], "+397d", "{variations}");
    } else {
        assert_eq!(
            variations["skipped"][0]["variation"], "time",
            "{variations}"
        );
    }
    let bundle: Value = serde_json::from_slice(&s.read("re/rebuild.sigstore.json")).unwrap();
    let payload = base64::engine::general_purpose::STANDARD
        .decode(bundle["dsseEnvelope"]["payload"].as_str().unwrap())
        .unwrap();
    let st: Value = serde_json::from_slice(&payload).unwrap();
    assert_eq!(&st["predicate"]["variations"], variations);
    assert_eq!(s.read("re/out/all.txt"), b"a\nb\n");

    // Without --vary no variations are recorded.
    let v = s.ok(&rebuild_args("plain", &[]));
    assert_eq!(v["variations"], Value::Null);
}

#[test]
fn a_build_embedding_its_path_and_umask_reproduces_only_without_vary() {
    let (s, _repo) = setup(&[("msg.txt", b"x\n")]);
    let script = "pwd > \"$CUSTODY_OUT/pwd.txt\" && umask > \"$CUSTODY_OUT/umask.txt\" && \
                  echo \"$LANG\" > \"$CUSTODY_OUT/lang.txt\" && cp msg.txt \"$CUSTODY_OUT/msg.txt\"";
    let (status, v) = build(&s, &[], &[], &["sh", "-c", script]);
    assert_eq!(status, 0, "{v}");
    let v = s.ok(&rebuild_args("plain", &[]));
    assert_eq!(v["reproducible"], true, "{v}");

    let v = s.fails(&rebuild_args("varied", &["--vary"]), "CUSTODY-E1060");
    let message = v["error"]["message"].as_str().unwrap();
    for file in ["pwd.txt differs", "umask.txt differs", "lang.txt differs"] {
        assert!(message.contains(file), "{message}");
    }
    assert!(!message.contains("msg.txt"), "{message}");
    assert!(
        message.contains("under --vary (build path /build/src-"),
        "{message}"
    );
    assert!(!s.path("varied/rebuild.sigstore.json").exists());
    let pwd = String::from_utf8(s.read("varied/out/pwd.txt")).unwrap();
    assert!(pwd.starts_with("/build/src-"), "{pwd}");
    assert_eq!(s.read("varied/out/umask.txt"), b"0002\n");

    // diffoscope's summary when it is installed; otherwise the message says it is not.
    let diffoscope = Command::new("sh")
        .args(["-c", "command -v diffoscope"])
        .output()
        .unwrap()
        .status
        .success();
    if diffoscope {
        assert!(message.contains("diffoscope pwd.txt:"), "{message}");
        assert!(message.contains("/build/src-"), "{message}");
    } else {
        assert!(message.contains("diffoscope is not installed"), "{message}");
    }
}

/// `custody --json rebuild ...` with extra environment variables; returns (status, JSON).
fn rebuild_with_env(s: &Scratch, args: &[&str], env: &[(&str, &str)]) -> (i32, Value) {
    let mut all = vec!["--json"];
    all.extend_from_slice(args);
    let mut command = s.custody(&all);
    for (k, v) in env {
        command.env(k, v);
    }
    let output = command.output().unwrap();
    let value: Value = serde_json::from_slice(&output.stdout).unwrap();
    (output.status.code().unwrap_or(-1), value)
}

#[test]
fn vary_changes_the_clock_and_the_file_order_on_a_tmpfs() {
    // Staging on a tmpfs (which lists entries by creation) makes the file order observable;
    // on ext4's hashed directories re-creating files in reverse changes nothing.
    let shm = Path::new("/dev/shm");
    assert!(shm.is_dir(), "/dev/shm is needed for this test");
    let env = [("TMPDIR", "/dev/shm")];
    let (s, _repo) = setup(&[("a", b"a"), ("b", b"b"), ("c", b"c"), ("d", b"d")]);
    let script = "ls -f | grep -v '^[.]' > \"$CUSTODY_OUT/order.txt\" && \
                  date -u +%Y-%m > \"$CUSTODY_OUT/month.txt\"";
    let (status, v) = build(&s, &[], &env, &["sh", "-c", script]);
    assert_eq!(status, 0, "{v}");
    let (status, v) = rebuild_with_env(&s, &rebuild_args("plain", &[]), &env);
    assert_eq!((status, &v["reproducible"]), (0, &Value::Bool(true)), "{v}");
    let (status, v) = rebuild_with_env(&s, &rebuild_args("varied", &["--vary"]), &env);
    assert_eq!(status, 1, "{v}");
    let message = v["error"]["message"].as_str().unwrap();
    assert!(message.contains("order.txt differs"), "{message}");
    let order = |dir: &str| {
        let mut lines: Vec<String> = String::from_utf8(s.read(&format!("{dir}/out/order.txt")))
            .unwrap()
            .lines()
            .map(str::to_owned)
            .collect();
        let listed = lines.clone();
        lines.sort();
        assert_eq!(lines, ["a", "b", "c", "d"]);
        listed
    };
    let mut reversed = order("plain");
    reversed.reverse();
    assert_eq!(order("varied"), reversed);
    let faketime = Command::new("sh")
        .args(["-c", "command -v faketime"])
        .output()
        .unwrap()
        .status
        .success();
    assert_eq!(message.contains("month.txt differs"), faketime, "{message}");
}

#[test]
fn host_network_is_an_explicit_recorded_choice() {
    let (s, _repo) = setup(&[("a.txt", b"a")]);
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port().to_string();
    let script = "exec 3<>/dev/tcp/127.0.0.1/$PROBE_PORT && echo connected > \"$CUSTODY_OUT/net\"";
    let (status, v) = build(
        &s,
        &["--network", "host", "--env", "PROBE_PORT"],
        &[("PROBE_PORT", &port)],
        &["bash", "-c", script],
    );
    assert_eq!(status, 0, "{v}");
    // The same probe that is refused by default reaches the listener with --network host.
    listener.set_nonblocking(true).unwrap();
    assert!(listener.accept().is_ok());
    assert_eq!(s.read("out/out/net"), b"connected\n");
    let st = statement(&s);
    let definition = &st["predicate"]["buildDefinition"];
    assert_eq!(definition["externalParameters"]["network"], "host");
    assert_eq!(
        definition["internalParameters"]["sandbox"]["network"],
        "host"
    );
}

#[test]
fn logged_provenance_verifies_with_inclusion_under_a_trust_root() {
    let (s, _repo) = setup(&[("msg.txt", b"logged\n")]);
    let server = crate::support::Server::start(&s.path("data"));
    let token = s.ok(&["token", "create", "--data", "data", "--scope", "log:write"])["token"]
        .as_str()
        .unwrap()
        .to_owned();
    s.ok(&[
        "trust-root",
        "init",
        "--out",
        "root.json",
        "--from",
        "data/trust-root.json",
        "--key",
        "build=k.pub",
    ]);
    s.ok(&[
        "trust-root",
        "sign",
        "root.json",
        "--key",
        "data/keys/root.key",
    ]);
    let (status, v) = build(
        &s,
        &["--log", &server.url, "--token", &token],
        &[],
        &["cp", "msg.txt", "/out/msg.txt"],
    );
    assert_eq!(status, 0, "{v}");
    assert!(v["logIndex"].is_u64(), "{v}");
    let verified = s.ok(&[
        "verify",
        "out/out/msg.txt",
        "--bundle",
        "out/provenance.sigstore.json",
        "--trust-root",
        "root.json",
        "--role",
        "build",
    ]);
    assert_eq!(verified["predicateType"], "https://slsa.dev/provenance/v1");
}

/// Runs the in-toto driver; returns (success, output).
fn intoto_python(s: &Scratch, args: &[&str]) -> (bool, String) {
    let python = std::env::var_os("CUSTODY_INTEROP_PYTHON").expect(
        "CUSTODY_INTEROP_PYTHON is not set: run the test suite with `cargo xtask test`, which creates the interop venv",
    );
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/it/intoto_interop.py");
    let out = Command::new(python)
        .arg(script)
        .args(args)
        .current_dir(s.dir.path())
        .output()
        .unwrap();
    (
        out.status.success(),
        format!(
            "{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

#[test]
fn an_in_toto_link_verifies_with_in_toto_verify_and_a_tampered_product_fails() {
    let (s, _repo) = setup(&[(
        "build.sh",
        b"#!/bin/sh\nprintf 'artifact\\n' > \"$CUSTODY_OUT/app.bin\"\n",
    )]);
    for algorithm in ["ed25519", "ecdsa-p256"] {
        let step_key = format!("step-{algorithm}");
        let out = format!("out-{algorithm}");
        s.ok(&[
            "key",
            "generate",
            "--out",
            &step_key,
            "--algorithm",
            algorithm,
        ]);
        s.ok(&[
            "key",
            "generate",
            "--out",
            &format!("layout-{algorithm}"),
            "--algorithm",
            algorithm,
            "--no-passphrase",
        ]);
        let v = s.ok(&[
            "build",
            "--source",
            "repo",
            "--key",
            &format!("{step_key}.key"),
            "--out",
            &out,
            "--in-toto-link",
            "--",
            "sh",
            "build.sh",
        ]);
        let link_path = s.path(v["inTotoLink"].as_str().unwrap());
        let name = link_path.file_name().unwrap().to_str().unwrap().to_owned();
        assert!(
            name.starts_with("build.") && name.ends_with(".link"),
            "{name}"
        );
        let link: Value = serde_json::from_slice(&std::fs::read(&link_path).unwrap()).unwrap();
        assert_eq!(link["signed"]["_type"], "link");
        assert_eq!(
            link["signed"]["command"],
            serde_json::json!(["sh", "build.sh"])
        );
        assert_eq!(
            link["signed"]["products"]["app.bin"]["sha256"],
            sha256_hex(&s.path(&format!("{out}/out/app.bin")))
        );
        assert!(link["signed"]["materials"]["build.sh"]["sha256"].is_string());

        // The verification directory holds the layout, the link and the product, as a
        // consumer would assemble it.
        let dir = format!("verify-{algorithm}");
        std::fs::create_dir(s.path(&dir)).unwrap();
        std::fs::copy(&link_path, s.path(&format!("{dir}/{name}"))).unwrap();
        std::fs::copy(
            s.path(&format!("{out}/out/app.bin")),
            s.path(&format!("{dir}/app.bin")),
        )
        .unwrap();
        let (ok, report) = intoto_python(
            &s,
            &[
                "layout",
                &format!("layout-{algorithm}.key"),
                &format!("{step_key}.pub"),
                "app.bin",
                &format!("{dir}/root.layout"),
                "sh",
                "build.sh",
            ],
        );
        assert!(ok, "{report}");
        let layout_pub = s.path(&format!("layout-{algorithm}.pub"));
        let layout_pub = layout_pub.to_str().unwrap();
        let dir_path = s.path(&dir);
        let dir_path = dir_path.to_str().unwrap();
        let (ok, report) = intoto_python(&s, &["verify", dir_path, "root.layout", layout_pub]);
        assert!(
            ok,
            "in-toto-verify rejected custody's link ({algorithm}):\n{report}"
        );

        // A tampered product fails the layout's inspection.
        s.write(&format!("{dir}/app.bin"), b"tampered\n");
        let (ok, report) = intoto_python(&s, &["verify", dir_path, "root.layout", layout_pub]);
        assert!(!ok, "in-toto-verify accepted a tampered product:\n{report}");
        std::fs::copy(
            s.path(&format!("{out}/out/app.bin")),
            s.path(&format!("{dir}/app.bin")),
        )
        .unwrap();

        // A tampered link (its recorded product digest changed) fails its signature.
        let mut forged = link.clone();
        forged["signed"]["products"]["app.bin"]["sha256"] =
            Value::from(sha256_hex(&s.path("repo/build.sh")));
        s.write(&format!("{dir}/{name}"), forged.to_string().as_bytes());
        let (ok, report) = intoto_python(&s, &["verify", dir_path, "root.layout", layout_pub]);
        assert!(!ok, "in-toto-verify accepted a forged link:\n{report}");
    }
}

#[test]
fn an_unusable_in_toto_step_name_is_refused_before_building() {
    let (s, _repo) = setup(&[("build.sh", b"#!/bin/sh\necho x > \"$CUSTODY_OUT/x\"\n")]);
    let (status, v) = build(
        &s,
        &["--in-toto-link", "--step", "../escape"],
        &[],
        &["sh", "build.sh"],
    );
    assert_eq!(status, 2, "{v}");
    assert_eq!(v["error"]["code"], "CUSTODY-E2043");
    assert!(!s.path("out/build.log").exists());
}
