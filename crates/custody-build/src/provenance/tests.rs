use custody_crypto::{sha256, sha512};
use custody_formats::slsa::Provenance;

use super::*;
use crate::lockfile::parse_cargo_lock;

fn record() -> BuildRecord {
    let lock = parse_cargo_lock(
        r#"
[[package]]
name = "itoa"
version = "1.0.15"
source = "registry+https://github.com/rust-lang/crates.io-index"
checksum = "4a5f13b858c8d314ee3e8f639011f7ccefe71f97f96e50151fb991f267928e2c"
"#,
    )
    .unwrap();
    BuildRecord {
        builder_id: DEFAULT_BUILDER_ID.to_owned(),
        builder_version: BTreeMap::from([("custody".to_owned(), "0.1.0".to_owned())]),
        builder_dependencies: vec![Tool {
            name: "bwrap".into(),
            path: "/usr/bin/bwrap".into(),
            digests: vec![sha256(b"bwrap")],
            version: Some("bubblewrap 0.8.0".into()),
            executed: true,
        }],
        command: vec![
            "cc".into(),
            "-o".into(),
            "/out/hello".into(),
            "hello.c".into(),
        ],
        source: Source {
            repository: "git+https://example.com/app.git".into(),
            commit: "0123456789abcdef0123456789abcdef01234567".into(),
            ref_name: Some("refs/heads/main".into()),
        },
        env_opt_in: BTreeMap::from([("CFLAGS".to_owned(), sha256(b"-O2"))]),
        sandbox: json!({"backend": "bubblewrap", "network": "none"}),
        network: "none".into(),
        inputs: vec![FileDigest {
            path: "hello.c".into(),
            digests: vec![sha256(b"int main(){}")],
        }],
        tools: vec![Tool {
            name: "cc".into(),
            path: "/usr/bin/gcc-12".into(),
            digests: vec![sha256(b"gcc")],
            version: Some("cc (Debian 12.2.0-14) 12.2.0".into()),
            executed: true,
        }],
        packages: lock,
        outputs: vec![FileDigest {
            path: "hello".into(),
            digests: vec![sha256(b"elf"), sha512(b"elf")],
        }],
        exit_code: 0,
        log_digests: vec![sha256(b"log")],
        started_on: OffsetDateTime::from_unix_timestamp(1_700_000_000).unwrap(),
        finished_on: OffsetDateTime::from_unix_timestamp(1_700_000_005).unwrap(),
        invocation_id: "run-1".into(),
    }
}

#[test]
fn statement_records_subjects_parameters_and_dependencies() {
    let statement = statement(&record()).unwrap();
    assert_eq!(statement.predicate_type(), PREDICATE_TYPE_V1);
    let subject = &statement.subjects()[0];
    assert_eq!(subject.name(), "hello");
    assert!(subject.matches(&sha256(b"elf")));
    assert!(subject.matches(&sha512(b"elf")));

    // The predicate reads back as SLSA Provenance v1.
    let provenance = Provenance::from_value(statement.predicate()).unwrap();
    let definition = &provenance.build_definition;
    assert_eq!(definition.build_type, BUILD_TYPE);
    assert_eq!(definition.external_parameters["command"][0], "cc");
    assert_eq!(
        definition.external_parameters["source"]["revision"],
        "0123456789abcdef0123456789abcdef01234567"
    );
    assert_eq!(
        definition.external_parameters["source"]["ref"],
        "refs/heads/main"
    );
    assert_eq!(
        definition.external_parameters["environment"]["CFLAGS"],
        sha256(b"-O2").to_string()
    );
    assert_eq!(
        definition.internal_parameters.as_ref().unwrap()["sandbox"]["network"],
        "none"
    );
    let deps = &definition.resolved_dependencies;
    assert_eq!(
        deps[0].digest["gitCommit"],
        "0123456789abcdef0123456789abcdef01234567"
    );
    assert_eq!(deps[1].name.as_deref(), Some("hello.c"));
    assert_eq!(deps[2].uri.as_deref(), Some("file:///usr/bin/gcc-12"));
    assert_eq!(
        deps[2].annotations["version"],
        "cc (Debian 12.2.0-14) 12.2.0"
    );
    assert_eq!(deps[3].uri.as_deref(), Some("pkg:cargo/itoa@1.0.15"));
    assert_eq!(
        deps[3].digest["sha256"],
        "4a5f13b858c8d314ee3e8f639011f7ccefe71f97f96e50151fb991f267928e2c"
    );
    let run = &provenance.run_details;
    assert_eq!(run.builder.id, DEFAULT_BUILDER_ID);
    assert_eq!(run.byproducts[0].annotations["exitCode"], 0);
    assert_eq!(run.byproducts[0].digest["sha256"], sha256(b"log").hex());
}

#[test]
fn a_builder_id_that_is_not_a_uri_is_refused() {
    let mut r = record();
    r.builder_id = "my laptop".into();
    assert_eq!(statement(&r).unwrap_err().kind(), ErrorKind::Usage);
    assert!(!is_absolute_uri("my laptop"));
    assert!(is_absolute_uri(DEFAULT_BUILDER_ID));
}

#[test]
fn no_outputs_means_no_statement() {
    let mut r = record();
    r.outputs.clear();
    assert!(statement(&r).is_err());
}

#[test]
fn repository_uris_never_carry_credentials() {
    assert_eq!(
        repository_uri(Some("https://user:ghp_secret@github.com/o/r.git"), "/w"),
        "git+https://github.com/o/r.git"
    );
    assert_eq!(
        repository_uri(Some("git@github.com:o/r.git"), "/w"),
        "git+ssh://github.com/o/r.git"
    );
    assert_eq!(
        repository_uri(None, "/tmp/my repo"),
        "git+file:///tmp/my%20repo"
    );
    assert_eq!(
        repository_uri(Some("/srv/git/app"), "/w"),
        "git+file:///srv/git/app"
    );
    for uri in [
        repository_uri(None, "/tmp/a b"),
        repository_uri(Some("ssh://git@h:22/x"), "/"),
    ] {
        assert!(is_absolute_uri(&uri), "{uri}");
    }
}

#[test]
fn a_detached_head_records_no_ref() {
    let mut r = record();
    r.source.ref_name = None;
    let statement = statement(&r).unwrap();
    let provenance = Provenance::from_value(statement.predicate()).unwrap();
    let source = &provenance.build_definition.external_parameters["source"];
    assert!(source.get("ref").is_none(), "{source}");
    assert_eq!(
        source["revision"],
        "0123456789abcdef0123456789abcdef01234567"
    );
    assert_eq!(summary(&provenance).source_ref, None);
}

#[test]
fn summary_reads_a_custody_provenance() {
    let statement = statement(&record()).unwrap();
    let provenance = Provenance::from_value(statement.predicate()).unwrap();
    assert_eq!(
        summary(&provenance),
        ProvenanceSummary {
            builder_id: DEFAULT_BUILDER_ID.into(),
            build_type: BUILD_TYPE.into(),
            source_repository: Some("git+https://example.com/app.git".into()),
            source_revision: Some("0123456789abcdef0123456789abcdef01234567".into()),
            source_ref: Some("refs/heads/main".into()),
            started_on: Some(OffsetDateTime::from_unix_timestamp(1_700_000_000).unwrap()),
            finished_on: Some(OffsetDateTime::from_unix_timestamp(1_700_000_005).unwrap()),
        }
    );
}

#[test]
fn summary_of_another_build_type_has_no_source() {
    let statement = statement(&record()).unwrap();
    let mut provenance = Provenance::from_value(statement.predicate()).unwrap();
    provenance.build_definition.build_type =
        "https://slsa-framework.github.io/github-actions-buildtypes/workflow/v1".into();
    provenance.run_details.metadata = None;
    let s = summary(&provenance);
    assert_eq!(s.builder_id, DEFAULT_BUILDER_ID);
    assert_eq!(s.build_type, provenance.build_definition.build_type);
    assert_eq!(
        (s.source_repository, s.source_revision, s.source_ref),
        (None, None, None)
    );
    assert_eq!((s.started_on, s.finished_on), (None, None));

    // A custody build type with a malformed source degrades to None as well.
    let mut odd = Provenance::from_value(statement.predicate()).unwrap();
    odd.build_definition.external_parameters["source"] = json!({"repository": 1, "ref": ["x"]});
    let s = summary(&odd);
    assert_eq!((s.source_repository, s.source_ref), (None, None));
    assert!(s.finished_on.is_some());
}

#[test]
fn rebuild_reads_provenance_with_and_without_a_ref() {
    use crate::rebuild::recorded_build;
    let with_ref = recorded_build(&statement(&record()).unwrap()).unwrap();
    assert_eq!(with_ref.source_ref.as_deref(), Some("refs/heads/main"));
    assert_eq!(
        with_ref.revision,
        "0123456789abcdef0123456789abcdef01234567"
    );
    let mut detached = record();
    detached.source.ref_name = None;
    let without = recorded_build(&statement(&detached).unwrap()).unwrap();
    assert_eq!(without.source_ref, None);
    assert_eq!(without.revision, with_ref.revision);
    assert_eq!(without.command, with_ref.command);
}
