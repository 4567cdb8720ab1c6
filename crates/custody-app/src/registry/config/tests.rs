use std::path::Path;

use super::*;

fn parse(text: &str) -> Result<RegistryConfig> {
    RegistryConfig::parse(text, Path::new("/etc/custody"))
}

fn refused(text: &str, needle: &str) {
    let err = parse(text).expect_err(text);
    assert_eq!(err.code(), Code::RegistryConfigInvalid, "{err}");
    assert!(err.message().contains(needle), "{err} lacks '{needle}'");
    assert!(!err.hint().is_empty());
}

#[test]
fn the_documented_example_parses() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/examples/registry.toml");
    let config = RegistryConfig::load(&path).unwrap();
    assert_eq!(
        config.trust_root(),
        Some(path.parent().unwrap().join("trust-root.json").as_path())
    );
    assert_eq!(config.audit_head_interval(), Some(Duration::from_secs(300)));
    assert_eq!(config.limits().upload_lifetime, Duration::from_secs(3600));
    let release = config.policy("releases/app");
    assert_eq!(release.signer_role, Role::Release);
    assert!(release.settings.anonymous_pull);
    assert!(release.settings.tag_is_immutable("v1.2.3"));
    assert!(!release.settings.tag_is_immutable("latest"));
    assert_eq!(release.attestations.len(), 1);
    assert_eq!(release.attestations[0].predicate_type, PREDICATE_TYPE_V1);
    assert_eq!(release.attestations[0].signer_roles, vec![Role::Build]);
    let sandbox = config.settings("sandbox/x");
    assert!(!sandbox.enforce_push && !sandbox.enforce_pull);
}

#[test]
fn default_is_the_safe_one() {
    let config = parse("").unwrap();
    let policy = config.policy("anything/at/all");
    assert_eq!(policy, RepositoryPolicy::default());
    assert!(policy.settings.enforce_push && policy.settings.enforce_pull);
    assert!(!policy.settings.anonymous_pull);
    assert_eq!(policy.signer_role, Role::Build);
    assert_eq!(
        RegistryConfig::default().settings("x"),
        RepoSettings::default()
    );
}

#[test]
fn first_matching_rule_wins_and_unset_keys_stay_safe() {
    let config = parse(
        r#"
[[repository]]
pattern = "team/public"
anonymous_pull = true
[[repository]]
pattern = "team/*"
enforce_pull = false
[[repository]]
pattern = "*"
enforce_push = false
"#,
    )
    .unwrap();
    let exact = config.settings("team/public");
    assert!(exact.anonymous_pull && exact.enforce_push && exact.enforce_pull);
    let team = config.settings("team/other");
    assert!(team.enforce_push && !team.enforce_pull && !team.anonymous_pull);
    let rest = config.settings("elsewhere");
    assert!(!rest.enforce_push && rest.enforce_pull);
    // "team/*" is a prefix match: "team" itself is not under it.
    assert!(!config.settings("team").enforce_push);
}

#[test]
fn unknown_keys_are_errors() {
    refused("[registry]\ntrust_roots = \"x\"\n", "trust_roots");
    refused(
        "[[repository]]\npattern = \"a\"\nenforce = false\n",
        "enforce",
    );
    refused("[limit]\nmax_blob_size = 1\n", "limit");
    refused(
        "[[repository]]\npattern = \"a\"\n[[repository.attestation]]\npredicate_type = \"https://x.test/p\"\nbuilder = \"x\"\n",
        "builder",
    );
}

#[test]
fn wrong_types_and_syntax_are_errors_with_a_line() {
    refused(
        "[[repository]]\npattern = \"a\"\nenforce_push = \"no\"\n",
        "line 3",
    );
    refused("[limits]\nmax_blob_size = -1\n", "line 2");
    refused("[[repository]\n", "line 1");
    refused("[[repository]]\nenforce_push = false\n", "pattern");
}

#[test]
fn invalid_patterns_roles_and_rules_are_errors() {
    refused("[[repository]]\npattern = \"a/*/b\"\n", "only at the end");
    refused("[[repository]]\npattern = \"../etc\"\n", "letter or digit");
    refused(
        "[[repository]]\npattern = \"a//b\"\n",
        "empty path component",
    );
    refused("[[repository]]\npattern = \"Upper\"\n", "not allowed");
    refused("[[repository]]\npattern = \"\"\n", "empty");
    refused(
        "[[repository]]\npattern = \"a\"\nimmutable_tags = [\"v*.*\"]\n",
        "only at the end",
    );
    refused(
        "[[repository]]\npattern = \"a\"\nsigner_role = \"builder\"\n",
        "unknown role",
    );
    refused(
        "[[repository]]\npattern = \"a\"\nsigner_role = \"log\"\n",
        "does not sign",
    );
    refused(
        "[[repository]]\npattern = \"a\"\n[[repository.attestation]]\npredicate_type = \"https://slsa.dev/provenance/v1\"\n",
        "requires builder_ids",
    );
    refused(
        "[[repository]]\npattern = \"a\"\n[[repository.attestation]]\npredicate_type = \"https://slsa.dev/provenance/v1\"\nbuilder_ids = []\n",
        "empty",
    );
    refused(
        "[[repository]]\npattern = \"a\"\n[[repository.attestation]]\npredicate_type = \"https://spdx.dev/Document\"\nbuilder_ids = [\"x\"]\n",
        "only checked",
    );
    refused(
        "[[repository]]\npattern = \"a\"\n[[repository.attestation]]\npredicate_type = \"not a uri\"\n",
        "absolute URI",
    );
    refused(
        "[[repository]]\npattern = \"a\"\n[[repository.attestation]]\npredicate_type = \"https://x.test/p\"\nsigner_roles = []\n",
        "signer_roles",
    );
    refused("[limits]\nrequests_per_second = 0\n", "at least 1");
    refused(
        "[registry]\naudit_head_interval_seconds = 0\n",
        "at least 1",
    );
}

#[test]
fn attestation_roles_default_to_the_signer_role() {
    let config = parse(
        "[[repository]]\npattern = \"a\"\nsigner_role = \"release\"\n[[repository.attestation]]\npredicate_type = \"https://spdx.dev/Document\"\n",
    )
    .unwrap();
    let policy = config.policy("a");
    assert_eq!(policy.attestations[0].signer_roles, vec![Role::Release]);
    assert!(policy.attestations[0].builder_ids.is_empty());
}

#[test]
fn load_reports_the_file_and_missing_files() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("r.toml");
    std::fs::write(&path, "bogus = 1\n").unwrap();
    let err = RegistryConfig::load(&path).unwrap_err();
    assert_eq!(err.code(), Code::RegistryConfigInvalid);
    assert!(err.message().contains("r.toml"), "{err}");
    let err = RegistryConfig::load(&dir.path().join("missing.toml")).unwrap_err();
    assert_eq!(err.code(), Code::ReadFailed);
}
