//! `custody sbom`: a CycloneDX 1.6 SBOM from Cargo.lock, validated by cyclonedx-python-lib,
//! and signed as an in-toto attestation that `custody verify` accepts.

use std::path::PathBuf;
use std::process::Command;

use serde_json::Value;

use crate::support::Scratch;

const SUM: &str = "3e4ec3a9a1a5f3c0e8b2d8a4f8ca39e6b0a1e2c0b8f2b6a7e3d2c1b0a9f8e7d6";

fn small_lock() -> String {
    format!(
        r#"version = 4

[[package]]
name = "app"
version = "0.1.0"
dependencies = ["itoa"]

[[package]]
name = "itoa"
version = "1.0.15"
source = "registry+https://github.com/rust-lang/crates.io-index"
checksum = "{SUM}"
"#
    )
}

/// Runs the SBOM validator script; returns (success, stderr).
fn validate(s: &Scratch, sbom: &str) -> (bool, String) {
    let python = std::env::var_os("CUSTODY_INTEROP_PYTHON").expect(
        "CUSTODY_INTEROP_PYTHON is not set: run the test suite with `cargo xtask test`, which creates the interop venv",
    );
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/it/sbom_interop.py");
    let out = Command::new(python)
        .arg(script)
        .args(["validate", sbom])
        .current_dir(s.dir.path())
        .output()
        .unwrap();
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

fn read_json(s: &Scratch, name: &str) -> Value {
    serde_json::from_slice(&s.read(name)).unwrap()
}

#[test]
fn the_repositorys_own_sbom_validates_as_cyclonedx_1_6() {
    let s = Scratch::new();
    let lock = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../Cargo.lock");
    let v = s.ok(&[
        "sbom",
        "--lockfile",
        lock.to_str().unwrap(),
        "--out",
        "bom.cdx.json",
    ]);
    assert!(v["components"].as_u64().unwrap() > 50, "{v}");
    let bom = read_json(&s, "bom.cdx.json");
    assert_eq!(v["serialNumber"], bom["serialNumber"]);
    let text = std::fs::read_to_string(&lock).unwrap();
    let serde = bom["components"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "serde")
        .expect("serde is listed");
    let purl = serde["purl"].as_str().unwrap();
    assert_eq!(
        purl,
        format!("pkg:cargo/serde@{}", serde["version"].as_str().unwrap())
    );
    let sum = serde["hashes"][0]["content"].as_str().unwrap();
    assert!(text.contains(&format!("checksum = \"{sum}\"")), "{sum}");

    let (valid, report) = validate(&s, "bom.cdx.json");
    assert!(
        valid,
        "cyclonedx-python-lib rejected custody's SBOM:\n{report}"
    );

    // The validator is not a rubber stamp: a property the schema does not allow fails it.
    let mut broken = bom.clone();
    broken["components"][0]["licence"] = Value::from("MIT");
    s.write("broken.cdx.json", broken.to_string().as_bytes());
    let (valid, _) = validate(&s, "broken.cdx.json");
    assert!(
        !valid,
        "the validator accepted an SBOM with an unknown property"
    );
}

#[test]
fn source_date_epoch_makes_the_sbom_reproducible() {
    let s = Scratch::new();
    s.write("Cargo.lock", small_lock().as_bytes());
    let run = |out: &str| {
        let status = s
            .custody(&["sbom", "--out", out])
            .env("SOURCE_DATE_EPOCH", "1700000000")
            .output()
            .unwrap()
            .status;
        assert!(status.success());
    };
    run("a.json");
    run("b.json");
    assert_eq!(s.read("a.json"), s.read("b.json"));
    let bom = read_json(&s, "a.json");
    assert_eq!(bom["metadata"]["timestamp"], "2023-11-14T22:13:20Z");
    assert_eq!(bom["metadata"]["component"]["name"], "app");
    assert_eq!(bom["components"][0]["hashes"][0]["content"], SUM);
    let (valid, report) = validate(&s, "a.json");
    assert!(valid, "{report}");
}

#[test]
fn a_signed_sbom_attestation_verifies_against_the_subject() {
    let s = Scratch::new();
    s.write("Cargo.lock", small_lock().as_bytes());
    s.write("app.bin", b"the application binary");
    s.key("k", "ed25519");
    let v = s.ok(&[
        "sbom",
        "--key",
        "k.key",
        "--subject",
        "app.bin",
        "--out",
        "bom.cdx.json",
    ]);
    assert_eq!(
        v["attestation"]["bundle"],
        "app.bin.sbom.intoto.sigstore.json"
    );
    let verified = s.ok(&[
        "verify",
        "app.bin",
        "--bundle",
        "app.bin.sbom.intoto.sigstore.json",
        "--key",
        "k.pub",
    ]);
    assert_eq!(verified["predicateType"], "https://cyclonedx.org/bom");
    // The predicate is the SBOM that was written.
    let bundle = read_json(&s, "app.bin.sbom.intoto.sigstore.json");
    let payload = bundle["dsseEnvelope"]["payload"].as_str().unwrap();
    use base64::Engine as _;
    let statement: Value = serde_json::from_slice(
        &base64::engine::general_purpose::STANDARD
            .decode(payload)
            .unwrap(),
    )
    .unwrap();
    assert_eq!(statement["predicate"], read_json(&s, "bom.cdx.json"));
    assert_eq!(statement["subject"][0]["name"], "app.bin");
    // Another artifact does not match the attestation.
    s.write("other.bin", b"something else");
    s.fails(
        &[
            "verify",
            "other.bin",
            "--bundle",
            "app.bin.sbom.intoto.sigstore.json",
            "--key",
            "k.pub",
        ],
        "CUSTODY-E1009",
    );
}

#[test]
fn unreadable_lockfiles_are_refused_with_a_code() {
    let s = Scratch::new();
    s.write("Cargo.lock", small_lock().replace(SUM, "abc").as_bytes());
    s.fails(&["sbom"], "CUSTODY-E2060");
    s.write("Cargo.lock", b"[[package]]\nname = 3\n");
    s.fails(&["sbom"], "CUSTODY-E2060");
    assert!(!s.path("bom.cdx.json").exists());
    s.fails(&["sbom", "--lockfile", "missing.lock"], "CUSTODY-E3001");
}

/// A small OSV advisory directory in RustSec's export layout.
fn advisories(s: &Scratch) -> &'static str {
    std::fs::create_dir_all(s.path("osv/crates")).unwrap();
    let write = |name: &str, v: Value| {
        s.write(&format!("osv/crates/{name}"), v.to_string().as_bytes());
    };
    write(
        "RUSTSEC-2099-0001.json",
        serde_json::json!({
            "schema_version": "1.4.0",
            "id": "RUSTSEC-2099-0001",
            "modified": "2099-01-02T00:00:00Z",
            "published": "2099-01-01T00:00:00Z",
            "aliases": ["CVE-2099-0001"],
            "summary": "itoa formats numbers wrongly",
            "affected": [{
                "package": {"ecosystem": "crates.io", "name": "itoa", "purl": "pkg:cargo/itoa"},
                "ranges": [{"type": "SEMVER", "events": [
                    {"introduced": "0"}, {"fixed": "0.4.9"},
                    {"introduced": "1.0.0"}, {"fixed": "1.0.16"}
                ]}],
            }],
            "database_specific": {"severity": "high"},
        }),
    );
    // Withdrawn: must not count.
    write(
        "RUSTSEC-2099-0002.json",
        serde_json::json!({
            "id": "RUSTSEC-2099-0002",
            "withdrawn": "2099-02-01T00:00:00Z",
            "affected": [{
                "package": {"ecosystem": "crates.io", "name": "app"},
                "ranges": [{"type": "SEMVER", "events": [{"introduced": "0"}]}],
            }],
        }),
    );
    // Informational: a warning, not a failure.
    write(
        "RUSTSEC-2099-0003.json",
        serde_json::json!({
            "id": "RUSTSEC-2099-0003",
            "summary": "itoa is unmaintained",
            "affected": [{
                "package": {"ecosystem": "crates.io", "name": "itoa"},
                "ranges": [{"type": "SEMVER", "events": [{"introduced": "0"}]}],
            }],
            "database_specific": {"informational": "unmaintained"},
        }),
    );
    "osv"
}

#[test]
fn scan_reports_affected_packages_and_gates_with_exit_1() {
    let s = Scratch::new();
    s.write("Cargo.lock", small_lock().as_bytes());
    let dir = advisories(&s);
    let v = s.fails(
        &["scan", "--advisories", dir, "--report", "report.json"],
        "CUSTODY-E1080",
    );
    let message = v["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("itoa 1.0.15: RUSTSEC-2099-0001"),
        "{message}"
    );
    assert!(message.contains("CVE-2099-0001"), "{message}");
    assert!(message.contains("fixed in 0.4.9, 1.0.16"), "{message}");
    assert!(
        !message.contains("RUSTSEC-2099-0002"),
        "withdrawn: {message}"
    );
    let report = read_json(&s, "report.json");
    assert_eq!(report["affected"], true);
    assert_eq!(report["advisories"], 3);
    assert_eq!(report["withdrawn"], 1);
    assert_eq!(report["vulnerabilities"][0]["id"], "RUSTSEC-2099-0001");
    assert_eq!(
        report["vulnerabilities"][0]["purl"],
        "pkg:cargo/itoa@1.0.15"
    );
    assert_eq!(report["vulnerabilities"][0]["severity"], "high");
    assert_eq!(report["warnings"][0]["id"], "RUSTSEC-2099-0003");
    assert_eq!(report["vulnerabilities"].as_array().unwrap().len(), 1);

    // The same through an SBOM.
    s.ok(&["sbom", "--out", "bom.cdx.json"]);
    s.fails(
        &["scan", "--sbom", "bom.cdx.json", "--advisories", dir],
        "CUSTODY-E1080",
    );

    // After the upgrade to the fixed version the scan passes (the warning stays a warning).
    s.write(
        "Cargo.lock",
        small_lock().replace("1.0.15", "1.0.16").as_bytes(),
    );
    let v = s.ok(&["scan", "--advisories", dir]);
    assert_eq!(v["affected"], false);
    assert_eq!(v["packages"], 2);
    assert_eq!(v["vulnerabilities"], serde_json::json!([]));
    assert_eq!(v["warnings"][0]["id"], "RUSTSEC-2099-0003");
    let human = s.custody(&["scan", "--advisories", dir]).output().unwrap();
    assert!(human.status.success());
    assert!(
        String::from_utf8_lossy(&human.stderr).contains("warning: itoa 1.0.16: RUSTSEC-2099-0003")
    );
}

#[test]
fn scan_fails_closed_on_unreadable_inputs() {
    let s = Scratch::new();
    s.write("Cargo.lock", small_lock().as_bytes());
    std::fs::create_dir(s.path("empty")).unwrap();
    s.fails(&["scan", "--advisories", "empty"], "CUSTODY-E2062");
    let dir = advisories(&s);
    s.write("osv/crates/RUSTSEC-2099-0009.json", b"{\"id\": \"RUSTSEC-2099-0009\", \"affected\": [{\"package\": {\"ecosystem\": \"crates.io\", \"name\": \"x\"}, \"ranges\": [{\"type\": \"SEMVER\", \"events\": [{\"fixed\": \"1.x\"}]}]}]}");
    let v = s.fails(&["scan", "--advisories", dir], "CUSTODY-E2062");
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("RUSTSEC-2099-0009")
    );
    std::fs::remove_file(s.path("osv/crates/RUSTSEC-2099-0009.json")).unwrap();
    s.write("spdx.json", b"{\"spdxVersion\": \"SPDX-2.3\"}");
    s.fails(
        &["scan", "--sbom", "spdx.json", "--advisories", dir],
        "CUSTODY-E2061",
    );
    s.write("Cargo.lock", b"not a lockfile [");
    s.fails(&["scan", "--advisories", dir], "CUSTODY-E2060");
}

#[test]
fn a_logged_sbom_attestation_verifies_with_inclusion_under_the_trust_root() {
    use crate::support::Server;
    let s = Scratch::new();
    let server = Server::start(&s.path("data"));
    let token = s.ok(&["token", "create", "--data", "data", "--scope", "log:write"])["token"]
        .as_str()
        .unwrap()
        .to_owned();
    s.key("release", "ecdsa-p256");
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
    s.write("Cargo.lock", small_lock().as_bytes());
    s.write("app.bin", b"the logged application");
    let v = s.ok(&[
        "sbom",
        "--key",
        "release.key",
        "--subject",
        "app.bin",
        "--log",
        &server.url,
        "--token",
        &token,
    ]);
    assert!(v["attestation"]["logIndex"].is_u64(), "{v}");
    let verified = s.ok(&[
        "verify",
        "app.bin",
        "--bundle",
        "app.bin.sbom.intoto.sigstore.json",
        "--trust-root",
        "root.json",
    ]);
    assert_eq!(verified["predicateType"], "https://cyclonedx.org/bom");
    assert_eq!(verified["logIndex"], v["attestation"]["logIndex"]);
}
