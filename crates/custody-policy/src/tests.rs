use serde_json::json;

use super::*;

const PROD: &str = r#"
package custody.env.prod

deny contains "not signed" if count(input.signatures) == 0

deny contains sprintf("too old: %d", [input.age]) if input.age > 10
"#;

fn set(modules: &[(&str, &str)]) -> PolicySet {
    PolicySet::from_sources(
        modules
            .iter()
            .map(|(n, t)| ((*n).to_owned(), (*t).to_owned()))
            .collect(),
    )
    .unwrap()
}

fn load_err(modules: &[(&str, &str)]) -> PolicyError {
    PolicySet::from_sources(
        modules
            .iter()
            .map(|(n, t)| ((*n).to_owned(), (*t).to_owned()))
            .collect(),
    )
    .unwrap_err()
}

#[test]
fn allows_when_deny_is_empty() {
    let set = set(&[("prod.rego", PROD)]);
    let d = set.evaluate("prod", &json!({"signatures": [1], "age": 1}));
    assert!(d.allowed, "{d:?}");
    assert!(d.reasons.is_empty());
    assert_eq!(d.environment, "prod");
    assert_eq!(d.policy_digest, set.digest());
    assert!(d.policy_digest.starts_with("sha256:"));
}

#[test]
fn denies_with_sorted_messages() {
    let set = set(&[("prod.rego", PROD)]);
    let d = set.evaluate("prod", &json!({"signatures": [], "age": 11}));
    assert!(!d.allowed);
    assert_eq!(d.reasons, ["not signed", "too old: 11"]);
}

#[test]
fn missing_package_denies() {
    let set = set(&[("prod.rego", PROD)]);
    let d = set.evaluate("staging", &json!({}));
    assert!(!d.allowed);
    assert_eq!(d.reasons, ["no policy for environment staging"]);
}

#[test]
fn invalid_environment_name_denies() {
    let set = set(&[("prod.rego", PROD)]);
    let d = set.evaluate("Prod", &json!({}));
    assert!(!d.allowed);
    assert!(d.reasons[0].contains("invalid environment name"), "{d:?}");
}

#[test]
fn package_without_deny_rule_denies() {
    let set = set(&[("prod.rego", "package custody.env.prod\nallow := true\n")]);
    let d = set.evaluate("prod", &json!({}));
    assert!(!d.allowed);
    assert!(d.reasons[0].starts_with("policy error: "), "{d:?}");
}

#[test]
fn syntax_error_names_file_and_line() {
    let err = load_err(&[
        ("prod.rego", PROD),
        ("lib.rego", "package custody.lib\n\nx := [1,\n"),
    ]);
    assert_eq!(err.file(), Some("lib.rego"));
    assert!(err.line().is_some(), "{err}");
    assert!(err.to_string().starts_with("lib.rego:"), "{err}");
}

#[test]
fn syntax_error_in_test_module_fails_load() {
    let err = load_err(&[
        ("prod.rego", PROD),
        ("prod_test.rego", "package x\ntest_a if {"),
    ]);
    assert_eq!(err.file(), Some("prod_test.rego"));
}

#[test]
fn invalid_environment_package_fails_load() {
    let err = load_err(&[("p.rego", "package custody.env.Prod\ndeny := set()\n")]);
    assert!(matches!(err, PolicyError::InvalidPackage { .. }), "{err}");
}

#[test]
fn duplicate_file_name_fails_load() {
    let err = load_err(&[("prod.rego", PROD), ("prod.rego", PROD)]);
    assert!(matches!(err, PolicyError::DuplicateModule { .. }), "{err}");
}

#[test]
fn runtime_conflict_denies() {
    let policy = r#"
package custody.env.prod
level := 1 if input.a
level := 2 if input.b
deny contains "low" if level < 1
"#;
    let set = set(&[("prod.rego", policy)]);
    assert!(
        set.evaluate("prod", &json!({"a": false, "b": false}))
            .allowed
    );
    let d = set.evaluate("prod", &json!({"a": true, "b": true}));
    assert!(!d.allowed);
    assert!(d.reasons[0].starts_with("policy error: "), "{d:?}");
}

#[test]
fn builtin_error_denies() {
    // A failing builtin must not silently skip a deny rule.
    let policy = r#"
package custody.env.prod
deny contains "big" if to_number(input.size) > 10
"#;
    let set = set(&[("prod.rego", policy)]);
    assert!(set.evaluate("prod", &json!({"size": "1"})).allowed);
    let d = set.evaluate("prod", &json!({"size": "not a number"}));
    assert!(!d.allowed, "{d:?}");
    assert!(d.reasons[0].starts_with("policy error: "), "{d:?}");
}

#[test]
fn non_string_deny_element_denies() {
    let set = set(&[(
        "prod.rego",
        "package custody.env.prod\ndeny contains 42 if input.x\n",
    )]);
    assert!(set.evaluate("prod", &json!({"x": false})).allowed);
    let d = set.evaluate("prod", &json!({"x": true}));
    assert!(!d.allowed);
    assert!(d.reasons[0].contains("not a string"), "{d:?}");
}

#[test]
fn deny_that_is_not_a_set_denies() {
    let set = set(&[("prod.rego", "package custody.env.prod\ndeny := \"no\"\n")]);
    let d = set.evaluate("prod", &json!({}));
    assert!(!d.allowed);
    assert!(d.reasons[0].contains("not a set of strings"), "{d:?}");
}

#[test]
fn deny_array_of_strings_is_accepted() {
    let set = set(&[(
        "prod.rego",
        "package custody.env.prod\ndeny := [m | m := input.m[_]]\n",
    )]);
    assert!(set.evaluate("prod", &json!({"m": []})).allowed);
    let d = set.evaluate("prod", &json!({"m": ["b", "a", "b"]}));
    assert_eq!(d.reasons, ["a", "b"]);
}

#[test]
fn shared_modules_are_loaded_with_the_environment() {
    let lib = "package custody.lib\nsigned if count(input.signatures) > 0\n";
    let prod = "package custody.env.prod\nimport data.custody.lib\ndeny contains \"unsigned\" if not lib.signed\n";
    let set = set(&[("lib.rego", lib), ("prod.rego", prod)]);
    assert_eq!(set.environments(), ["prod"]);
    assert!(set.evaluate("prod", &json!({"signatures": [1]})).allowed);
    assert!(!set.evaluate("prod", &json!({"signatures": []})).allowed);
}

#[test]
fn environments_lists_env_packages_only() {
    let set = set(&[
        ("prod.rego", PROD),
        (
            "staging.rego",
            "package custody.env.staging\ndeny := set()\n",
        ),
        ("lib.rego", "package custody.lib\nx := 1\n"),
        (
            "prod_test.rego",
            "package custody.env.test_only\ntest_x if true\n",
        ),
    ]);
    assert_eq!(set.environments(), ["prod", "staging"]);
}

#[test]
fn test_modules_are_not_part_of_the_gate() {
    // A test module declaring deny in an environment package must not affect decisions.
    let set = set(&[
        ("prod.rego", PROD),
        (
            "prod_test.rego",
            "package custody.env.prod\ndeny contains \"from test\"\n",
        ),
    ]);
    assert!(
        set.evaluate("prod", &json!({"signatures": [1], "age": 0}))
            .allowed
    );
}

#[test]
fn run_tests_detects_pass_and_fail() {
    let tests = r#"
package custody.env.prod_test
import data.custody.env.prod

test_allows if {
    count(prod.deny) == 0 with input as {"signatures": [1], "age": 0}
}
test_denies_unsigned if {
    "not signed" in prod.deny with input as {"signatures": [], "age": 0}
}
test_wrong_expectation if {
    count(prod.deny) == 0 with input as {"signatures": [], "age": 0}
}
test_not_boolean := 7
test_error if {
    x := to_number("nope")
    x > 1
}
helper := 1
"#;
    let set = set(&[("prod.rego", PROD), ("prod_test.rego", tests)]);
    let outcomes = set.run_tests();
    let summary: Vec<(&str, bool)> = outcomes
        .iter()
        .map(|o| (o.name.as_str(), o.passed))
        .collect();
    assert_eq!(
        summary,
        [
            ("test_allows", true),
            ("test_denies_unsigned", true),
            ("test_error", false),
            ("test_not_boolean", false),
            ("test_wrong_expectation", false),
        ]
    );
    assert!(
        outcomes
            .iter()
            .all(|o| o.package == "custody.env.prod_test")
    );
    assert!(outcomes.iter().all(|o| o.passed == o.message.is_empty()));
    let wrong = outcomes.iter().find(|o| o.name == "test_wrong_expectation");
    assert!(wrong.unwrap().message.contains("undefined"));
}

#[test]
fn run_tests_without_test_modules_is_empty() {
    assert!(set(&[("prod.rego", PROD)]).run_tests().is_empty());
}

#[test]
fn digest_changes_with_content_and_name_not_order() {
    let a = set(&[("prod.rego", PROD), ("lib.rego", "package custody.lib\n")]);
    let b = set(&[("lib.rego", "package custody.lib\n"), ("prod.rego", PROD)]);
    assert_eq!(a.digest(), b.digest());
    let c = set(&[("prod.rego", PROD), ("lib.rego", "package custody.lib\n\n")]);
    assert_ne!(a.digest(), c.digest());
    let d = set(&[("prod.rego", PROD), ("lib2.rego", "package custody.lib\n")]);
    assert_ne!(a.digest(), d.digest());
}

#[test]
fn environment_names() {
    for ok in ["prod", "a", "staging_eu1", &format!("a{}", "b".repeat(62))] {
        assert!(validate_environment(ok).is_ok(), "{ok}");
    }
    for bad in [
        "",
        "Prod",
        "1prod",
        "_prod",
        "pro-d",
        "prod.eu",
        &format!("a{}", "b".repeat(63)),
    ] {
        assert!(validate_environment(bad).is_err(), "{bad}");
    }
}

#[test]
fn policy_set_is_send_and_sync() {
    fn check<T: Send + Sync>() {}
    check::<PolicySet>();
}

#[test]
fn clock_builtins_are_absent() {
    // Time comes in the input (`nowUnix`); the engine has no clock.
    let set = set(&[(
        "prod.rego",
        "package custody.env.prod\ndeny contains \"late\" if time.now_ns() > 0\n",
    )]);
    let d = set.evaluate("prod", &json!({}));
    assert!(!d.allowed);
    assert!(d.reasons[0].starts_with("policy error: "), "{d:?}");
}
