use proptest::prelude::*;

use crate::{DeployError, validate_environment, validate_repository};

#[test]
fn environment_names_follow_the_rego_identifier_grammar() {
    for good in ["dev", "staging", "prod", "p", "eu_west_1", &"a".repeat(63)] {
        validate_environment(good).unwrap();
    }
    for bad in [
        "",
        "Prod",
        "1prod",
        "_prod",
        "pro-d",
        "pro d",
        "prod\n",
        "pröd",
        &"a".repeat(64),
    ] {
        assert!(
            matches!(validate_environment(bad), Err(DeployError::InvalidEnvironment(n)) if n == bad),
            "{bad:?} accepted"
        );
    }
}

#[test]
fn repository_names_follow_the_oci_grammar() {
    for good in [
        "app", "team/app", "a.b", "a_b", "a__b", "a---b", "a0/b1/c2", "x",
    ] {
        validate_repository(good).unwrap();
    }
    for bad in [
        "",
        "App",
        "/app",
        "app/",
        "a//b",
        "a___b",
        "a.-b",
        "-a",
        "a-",
        "a..b",
        "a b",
        &"a".repeat(256),
    ] {
        assert!(validate_repository(bad).is_err(), "{bad:?} accepted");
    }
}

proptest! {
    #[test]
    fn environment_validation_matches_the_grammar(name in "[a-z_0-9A-Z-]{0,70}") {
        let expected = !name.is_empty()
            && name.len() <= 63
            && name.as_bytes()[0].is_ascii_lowercase()
            && name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
        prop_assert_eq!(validate_environment(&name).is_ok(), expected);
    }
}
