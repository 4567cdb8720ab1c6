//! Usage errors, I/O errors, `explain`, and the quickstart.

use crate::support::Scratch;

#[test]
fn usage_errors_exit_2() {
    let s = Scratch::new();
    s.fails(&["sign"], "CUSTODY-E2001");
    s.fails(&["verify", "x"], "CUSTODY-E2001");
    s.fails(&["no-such-command"], "CUSTODY-E2001");
    s.fails(
        &["key", "generate", "--out", "k", "--algorithm", "rsa"],
        "CUSTODY-E2001",
    );
    // Human mode prints the code and hint on stderr.
    let out = s.custody(&["sign"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(
        stderr.contains("error[CUSTODY-E2001]") && stderr.contains("hint:"),
        "{stderr}"
    );
}

#[test]
fn help_succeeds() {
    let s = Scratch::new();
    let out = s.custody(&["--help"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8(out.stdout).unwrap();
    for cmd in [
        "quickstart",
        "key",
        "sign",
        "attest",
        "verify",
        "trust-root",
        "explain",
    ] {
        assert!(text.contains(cmd), "--help lacks {cmd}");
    }
}

#[test]
fn missing_files_exit_3() {
    let s = Scratch::new();
    s.key("k", "ed25519");
    s.fails(&["sign", "missing.tar", "--key", "k.key"], "CUSTODY-E3001");
    s.fails(
        &["sign", "missing.tar", "--key", "missing.key"],
        "CUSTODY-E3001",
    );
    s.write("a.tar", b"a");
    s.fails(&["verify", "a.tar", "--key", "k.pub"], "CUSTODY-E3001"); // no bundle
    s.fails(&["digest", "missing.tar"], "CUSTODY-E3001");
}

#[test]
fn unwritable_output_exits_3_and_leaves_nothing() {
    let s = Scratch::new();
    s.key("k", "ed25519");
    s.write("a.tar", b"a");
    s.fails(
        &[
            "sign",
            "a.tar",
            "--key",
            "k.key",
            "--bundle",
            "no-such-dir/a.json",
        ],
        "CUSTODY-E3002",
    );
    let leftovers: Vec<_> = std::fs::read_dir(s.dir.path())
        .unwrap()
        .filter_map(Result::ok)
        .filter(|e| e.file_name().to_string_lossy().ends_with(".tmp"))
        .collect();
    assert!(leftovers.is_empty());
}

#[test]
fn digest_matches_known_answer() {
    let s = Scratch::new();
    s.write("abc", b"abc");
    let v = s.ok(&["digest", "abc"]);
    assert_eq!(
        v["digests"][0]["digest"],
        "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    );
    let v = s.ok(&["digest", "--algorithm", "sha512", "abc"]);
    assert!(
        v["digests"][0]["digest"]
            .as_str()
            .unwrap()
            .starts_with("sha512:ddaf35a193617aba")
    );
}

#[test]
fn explain_known_and_unknown_codes() {
    let s = Scratch::new();
    let v = s.ok(&["explain", "CUSTODY-E1001"]);
    assert_eq!(v["exitStatus"], 1);
    assert!(v["remediation"].as_str().unwrap().len() > 10);
    s.ok(&["explain", "e3001"]);
    s.fails(&["explain", "CUSTODY-E9999"], "CUSTODY-E2007");
    let list = s.ok(&["explain", "--list"]);
    assert!(list["codes"].as_array().unwrap().len() >= 20);
}

#[test]
fn quickstart_runs_every_step() {
    let s = Scratch::new();
    let dir = s.path("qs");
    let v = s.ok(&["quickstart", "--dir", dir.to_str().unwrap()]);
    let steps = v["steps"].as_array().unwrap();
    let refused: Vec<&str> = steps.iter().filter_map(|x| x["refused"].as_str()).collect();
    // The policy refusing a promotion without approvals, then the attacks: a swapped binary,
    // a moved release tag, a re-tagged deployment, an unsigned push.
    assert_eq!(
        refused,
        [
            "CUSTODY-E1101",
            "CUSTODY-E1104",
            "CUSTODY-E1040",
            "CUSTODY-E1100",
            "CUSTODY-E1050"
        ]
    );
    let succeeded = steps.iter().filter(|x| x["ok"] == true).count();
    assert!(succeeded >= 15, "{v}");
    assert!(dir.join("trust-root.json").exists());
    assert!(dir.join("dist/provenance.sigstore.json").exists());
    // The server's data stays in the work directory for a look afterwards.
    assert!(dir.join("server/custody.db").exists());
}
