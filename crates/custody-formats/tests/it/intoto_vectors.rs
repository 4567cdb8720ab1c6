//! Published in-toto statement and SLSA provenance examples (testdata/intoto).

use custody_formats::intoto::{STATEMENT_TYPE_V1, Statement, Subject};
use custody_formats::slsa::{PREDICATE_TYPE_V1, Provenance};
use custody_formats::{Error, Limits, json};

use crate::support::{read, sha256};

#[test]
fn sigstore_python_slsa_v1_predicate_parses_with_its_values() {
    let value =
        json::parse_strict(&read("intoto/slsa_predicate_v1_0.json"), &Limits::default()).unwrap();
    let provenance = Provenance::from_value(&value).unwrap();
    let definition = &provenance.build_definition;
    assert_eq!(
        definition.build_type,
        "https://actions.github.io/buildtypes/workflow/v1"
    );
    assert_eq!(
        definition.external_parameters["workflow"]["ref"],
        "refs/tags/1.21.0"
    );
    assert_eq!(
        definition.internal_parameters.as_ref().unwrap()["github"]["runner_environment"],
        "github-hosted"
    );
    let dependency = &definition.resolved_dependencies[0];
    assert_eq!(
        dependency.uri.as_deref(),
        Some("git+https://github.com/octo-org/octo-repo@refs/tags/1.21.0")
    );
    assert_eq!(
        dependency.digest["gitCommit"],
        "1ac93ce21ee526b36fd154b9058d97dfaa424c50"
    );
    let run = &provenance.run_details;
    assert_eq!(
        run.builder.id,
        "https://github.com/octo-org/octo-repo/.github/workflows/docker.yaml@refs/heads/development"
    );
    assert_eq!(
        run.metadata.as_ref().unwrap().invocation_id.as_deref(),
        Some("https://github.com/octo-org/octo-repo/actions/runs/10313983218/attempts/2")
    );
    // Every field of the example is modelled, so writing it back gives the same JSON.
    assert_eq!(provenance.to_value(), value);
}

#[test]
fn slsa_v1_predicate_round_trips_inside_a_statement() {
    let value =
        json::parse_strict(&read("intoto/slsa_predicate_v1_0.json"), &Limits::default()).unwrap();
    let provenance = Provenance::from_value(&value).unwrap();
    let statement = Statement::new(
        vec![Subject::new("octo-repo.tar.gz", &[sha256(b"release")])],
        PREDICATE_TYPE_V1,
        provenance.to_value(),
    )
    .unwrap();
    let parsed = Statement::from_json(&statement.to_json(), &Limits::default()).unwrap();
    assert_eq!(parsed, statement);
    assert_eq!(parsed.predicate_type(), PREDICATE_TYPE_V1);
    assert_eq!(
        Provenance::from_value(parsed.predicate()).unwrap(),
        provenance
    );
    assert!(parsed.subject_matching(&[sha256(b"release")]).is_some());
}

#[test]
fn sigstore_go_statement_v01_is_not_a_v1_statement() {
    // A published npm provenance statement: Statement v0.1 carrying SLSA v0.2. custody reads
    // only Statement v1, and says so by naming the field.
    let err = Statement::from_json(
        &read("intoto/statement-provenance-sigstorejs1.3.0.json"),
        &Limits::default(),
    )
    .unwrap_err();
    assert_eq!(
        err,
        Error::InvalidField {
            field: "_type".to_owned(),
            reason: format!(
                "expected '{STATEMENT_TYPE_V1}', found 'https://in-toto.io/Statement/v0.1'"
            ),
        }
    );
}
