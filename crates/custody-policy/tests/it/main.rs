//! The example policies shipped in `policies/examples`: their Rego tests, and decisions over
//! inputs shaped like the verified facts.

use custody_policy::PolicySet;
use serde_json::{Value, json};

/// The example directory's modules, embedded (the library never reads files).
fn examples() -> PolicySet {
    let modules = [
        (
            "lib.rego",
            include_str!("../../../../policies/examples/lib.rego"),
        ),
        (
            "prod.rego",
            include_str!("../../../../policies/examples/prod.rego"),
        ),
        (
            "prod_test.rego",
            include_str!("../../../../policies/examples/prod_test.rego"),
        ),
        (
            "staging.rego",
            include_str!("../../../../policies/examples/staging.rego"),
        ),
        (
            "staging_test.rego",
            include_str!("../../../../policies/examples/staging_test.rego"),
        ),
    ];
    PolicySet::from_sources(
        modules
            .iter()
            .map(|(n, t)| ((*n).to_owned(), (*t).to_owned()))
            .collect(),
    )
    .unwrap()
}

/// A release that satisfies the production policy.
fn good_input() -> Value {
    let now = 1_795_420_800_i64;
    json!({
        "action": "deploy",
        "environment": "prod",
        "now": "2026-11-22T08:00:00Z", "nowUnix": now,
        "artifact": {"repository": "app", "digest": format!("sha256:{}", "1".repeat(64)),
                     "files": [{"name": "hello", "digest": format!("sha256:{}", "2".repeat(64))}]},
        "signatures": [{"identity": "alice@example.com", "keyid": "k1", "role": "release", "logIndex": 4}],
        "provenance": [{"identity": "builder@example.com", "keyid": "k2",
                        "builderId": "https://custody.dev/builder/local@v1",
                        "buildType": "https://custody.dev/buildtypes/sandbox/v1",
                        "sourceRepository": "git+https://example.com/app.git",
                        "sourceRevision": "0123456789abcdef0123456789abcdef01234567",
                        "sourceRef": "refs/heads/main",
                        "startedOn": null, "finishedOn": "2026-11-21T08:00:00Z",
                        "finishedUnix": now - 86_400, "logIndex": 5}],
        "rebuilds": [{"identity": "r1@example.org", "keyid": "k3", "logIndex": 6},
                     {"identity": "r2@example.net", "keyid": "k4", "logIndex": 8}],
        "sbom": [{"identity": "builder@example.com", "keyid": "k2", "components": 12}],
        "vulnerabilities": {"scanned": true, "findings": []},
        "approvals": [{"identity": "bob@example.com", "keyid": "k5", "logIndex": 7, "comment": null},
                      {"identity": "carol@example.com", "keyid": "k6", "logIndex": 9, "comment": null}],
        "ignoredApprovals": [],
        "deployment": {"current": null, "sequence": 0, "isCurrent": false},
        "rejected": []
    })
}

#[test]
fn example_rego_tests_pass() {
    let set = examples();
    let outcomes = set.run_tests();
    let failed: Vec<_> = outcomes.iter().filter(|o| !o.passed).collect();
    assert!(failed.is_empty(), "failed: {failed:#?}");
    assert!(outcomes.len() >= 25, "only {} tests ran", outcomes.len());
    assert!(
        outcomes
            .iter()
            .any(|o| o.package == "custody.env.staging_test")
    );
}

#[test]
fn example_environments() {
    assert_eq!(examples().environments(), ["prod", "staging"]);
}

#[test]
fn example_prod_allows_a_good_release() {
    let decision = examples().evaluate("prod", &good_input());
    assert!(decision.allowed, "{decision:?}");
}

#[test]
fn example_prod_denies_with_distinct_reasons() {
    let mut input = good_input();
    input["rebuilds"] = json!([]);
    input["approvals"] = json!([input["approvals"][0]]);
    input["ignoredApprovals"] =
        json!([{"identity": "alice@example.com", "keyid": "k7", "reason": "self-approval"}]);
    input["vulnerabilities"] = json!({"scanned": false, "findings": []});
    let decision = examples().evaluate("prod", &input);
    assert!(!decision.allowed);
    assert_eq!(
        decision.reasons,
        [
            "approval by alice@example.com ignored: self-approval",
            "approved by 1 of 2 required release-team members",
            "not scanned for known vulnerabilities",
            "reproduced by 0 independent rebuilder(s), 2 required",
        ]
    );
}

#[test]
fn example_staging_is_lighter() {
    let mut input = good_input();
    input["rebuilds"] = json!([]);
    let set = examples();
    assert!(!set.evaluate("prod", &input).allowed);
    assert!(set.evaluate("staging", &input).allowed);
    assert!(!set.evaluate("dev", &input).allowed);
}
