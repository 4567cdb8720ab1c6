//! `custody policy test DIR`: the shipped examples pass; a failing test exits 1; a broken
//! policy exits 2.

use std::path::PathBuf;

use crate::support::Scratch;

fn examples_dir() -> String {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../policies/examples")
        .display()
        .to_string()
}

#[test]
fn policy_test_passes_on_the_examples() {
    let s = Scratch::new();
    let v = s.ok(&["policy", "test", &examples_dir()]);
    assert_eq!(v["failed"], 0);
    assert!(v["passed"].as_u64().unwrap() >= 25, "{v}");
    assert_eq!(v["environments"], serde_json::json!(["prod", "staging"]));
    assert!(v["policyDigest"].as_str().unwrap().starts_with("sha256:"));

    let out = s
        .custody(&["policy", "test", &examples_dir()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(
        stdout.contains("PASS custody.env.prod_test.test_good_release_is_allowed"),
        "{stdout}"
    );
    assert!(stdout.contains(" 0 failed"), "{stdout}");
}

#[test]
fn policy_test_failing_test_exits_1() {
    let s = Scratch::new();
    std::fs::create_dir(s.path("policies")).unwrap();
    s.write(
        "policies/prod.rego",
        b"package custody.env.prod\n\ndeny contains \"unsigned\" if count(input.signatures) == 0\n",
    );
    s.write(
        "policies/prod_test.rego",
        b"package custody.env.prod_test\n\nimport data.custody.env.prod\n\n\
          test_unsigned_denied if \"unsigned\" in prod.deny with input as {\"signatures\": []}\n\n\
          test_wrong if count(prod.deny) == 0 with input as {\"signatures\": []}\n",
    );
    let v = s.fails(&["policy", "test", "policies"], "CUSTODY-E1090");
    let message = v["error"]["message"].as_str().unwrap();
    assert!(message.contains("1 of 2"), "{message}");
    assert!(
        message.contains("custody.env.prod_test.test_wrong"),
        "{message}"
    );

    let out = s.custody(&["policy", "test", "policies"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(
        stderr.contains("PASS custody.env.prod_test.test_unsigned_denied"),
        "{stderr}"
    );
    assert!(
        stderr.contains("FAIL custody.env.prod_test.test_wrong"),
        "{stderr}"
    );
}

#[test]
fn policy_test_invalid_policy_exits_2() {
    let s = Scratch::new();
    std::fs::create_dir(s.path("policies")).unwrap();
    s.write(
        "policies/prod.rego",
        b"package custody.env.prod\n\ndeny contains if {\n",
    );
    let v = s.fails(&["policy", "test", "policies"], "CUSTODY-E2070");
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("prod.rego:"),
        "{v}"
    );
    s.fails(&["policy", "test", "missing"], "CUSTODY-E2070");
}

#[test]
fn the_server_refuses_to_start_with_a_broken_policy_directory() {
    let s = Scratch::new();
    std::fs::create_dir(s.path("policies")).unwrap();
    s.write(
        "policies/prod.rego",
        b"package custody.env.prod\n\ndeny contains if {\n",
    );
    let v = s.fails(
        &[
            "serve",
            "--data",
            "data",
            "--listen",
            "127.0.0.1:0",
            "--no-passphrase",
            "--policies",
            "policies",
        ],
        "CUSTODY-E2070",
    );
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("prod.rego"),
        "{v}"
    );
    assert!(!s.path("data").exists(), "nothing was initialised");
}
