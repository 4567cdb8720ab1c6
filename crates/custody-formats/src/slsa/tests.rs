use std::collections::BTreeMap;

use serde_json::{Value, json};
use time::macros::datetime;

use super::{BuildDefinition, BuildMetadata, Builder, Provenance, ResourceDescriptor, RunDetails};
use crate::{Error, ErrorKind};

fn full() -> Provenance {
    let dependency = ResourceDescriptor {
        uri: Some("git+https://example.com/repo@refs/heads/main".to_owned()),
        digest: BTreeMap::from([("gitCommit".to_owned(), "1ac93ce2".to_owned())]),
        name: Some("source".to_owned()),
        download_location: Some("https://example.com/repo.tar.gz".to_owned()),
        media_type: Some("application/x-tar".to_owned()),
        content: Some(b"\x00\xffhello".to_vec()),
        annotations: BTreeMap::from([("note".to_owned(), json!({"a": [1]}))]),
    };
    Provenance {
        build_definition: BuildDefinition {
            build_type: "https://custody.dev/build/v1".to_owned(),
            external_parameters: json!({"target": "x"}),
            internal_parameters: Some(json!({"runner": "y"})),
            resolved_dependencies: vec![dependency.clone()],
        },
        run_details: RunDetails {
            builder: Builder {
                id: "https://custody.dev/builder".to_owned(),
                version: BTreeMap::from([("custody".to_owned(), "0.1.0".to_owned())]),
                builder_dependencies: vec![dependency.clone()],
            },
            metadata: Some(BuildMetadata {
                invocation_id: Some("run-1".to_owned()),
                started_on: Some(datetime!(2026-01-02 03:04:05 UTC)),
                finished_on: Some(datetime!(2026-01-02 03:04:06.5 UTC)),
            }),
            byproducts: vec![dependency],
        },
    }
}

#[test]
fn a_full_provenance_round_trips() {
    let provenance = full();
    let value = provenance.to_value();
    assert_eq!(
        value["buildDefinition"]["resolvedDependencies"][0]["content"],
        "AP9oZWxsbw=="
    );
    assert_eq!(
        value["runDetails"]["metadata"]["startedOn"],
        "2026-01-02T03:04:05Z"
    );
    assert_eq!(
        value["runDetails"]["metadata"]["finishedOn"],
        "2026-01-02T03:04:06.5Z"
    );
    assert_eq!(Provenance::from_value(&value).unwrap(), provenance);
}

#[test]
fn empty_and_unset_fields_are_omitted() {
    let minimal = Provenance {
        build_definition: BuildDefinition {
            build_type: "https://custody.dev/build/v1".to_owned(),
            ..BuildDefinition::default()
        },
        run_details: RunDetails {
            builder: Builder {
                id: "https://custody.dev/builder".to_owned(),
                ..Builder::default()
            },
            ..RunDetails::default()
        },
    };
    assert_eq!(
        minimal.to_value(),
        json!({
            "buildDefinition": {"buildType": "https://custody.dev/build/v1", "externalParameters": {}},
            "runDetails": {"builder": {"id": "https://custody.dev/builder"}}
        })
    );
    assert_eq!(
        Provenance::from_value(&minimal.to_value()).unwrap(),
        minimal
    );
}

fn rejects(mutate: impl FnOnce(&mut Value), kind: ErrorKind, field: &str) {
    let mut value = full().to_value();
    mutate(&mut value);
    let err = Provenance::from_value(&value).unwrap_err();
    assert_eq!(err.kind(), kind, "{err}");
    assert!(err.to_string().contains(field), "{err} should name {field}");
}

#[test]
fn required_fields_are_required() {
    rejects(
        |v| {
            drop(
                v["buildDefinition"]
                    .as_object_mut()
                    .unwrap()
                    .remove("buildType"),
            )
        },
        ErrorKind::MissingField,
        "buildDefinition.buildType",
    );
    rejects(
        |v| {
            drop(
                v["buildDefinition"]
                    .as_object_mut()
                    .unwrap()
                    .remove("externalParameters"),
            )
        },
        ErrorKind::MissingField,
        "externalParameters",
    );
    rejects(
        |v| {
            drop(
                v["runDetails"]["builder"]
                    .as_object_mut()
                    .unwrap()
                    .remove("id"),
            )
        },
        ErrorKind::MissingField,
        "builder.id",
    );
    rejects(
        |v| drop(v.as_object_mut().unwrap().remove("runDetails")),
        ErrorKind::MissingField,
        "runDetails",
    );
}

#[test]
fn uris_must_be_absolute() {
    rejects(
        |v| v["buildDefinition"]["buildType"] = json!("theBuildType"),
        ErrorKind::InvalidField,
        "buildType",
    );
    rejects(
        |v| v["runDetails"]["builder"]["id"] = json!("theId"),
        ErrorKind::InvalidField,
        "builder.id",
    );
    rejects(
        |v| v["runDetails"]["byproducts"][0]["uri"] = json!("relative/path"),
        ErrorKind::InvalidField,
        "byproducts[0].uri",
    );
    rejects(
        |v| v["buildDefinition"]["resolvedDependencies"][0]["downloadLocation"] = json!("x y"),
        ErrorKind::InvalidField,
        "downloadLocation",
    );
}

#[test]
fn values_of_the_wrong_shape_are_rejected() {
    rejects(
        |v| v["buildDefinition"]["externalParameters"] = json!([]),
        ErrorKind::InvalidField,
        "externalParameters",
    );
    rejects(
        |v| v["buildDefinition"]["internalParameters"] = json!("x"),
        ErrorKind::InvalidField,
        "internalParameters",
    );
    rejects(
        |v| v["runDetails"]["builder"]["version"] = json!({"a": 1}),
        ErrorKind::InvalidField,
        "version.a",
    );
    rejects(
        |v| v["runDetails"]["metadata"]["startedOn"] = json!("2026-01-02T03:04:05+01:00"),
        ErrorKind::InvalidField,
        "startedOn",
    );
    rejects(
        |v| v["runDetails"]["metadata"]["finishedOn"] = json!("yesterday"),
        ErrorKind::InvalidField,
        "finishedOn",
    );
    rejects(
        |v| v["runDetails"]["byproducts"][0]["content"] = json!("!!"),
        ErrorKind::InvalidBase64,
        "byproducts[0].content",
    );
    rejects(
        |v| v["runDetails"]["byproducts"][0]["digest"] = json!({"sha256": "AB"}),
        ErrorKind::InvalidField,
        "byproducts[0].digest.sha256",
    );
    rejects(
        |v| v["runDetails"]["byproducts"] = json!([{"name": "only a name"}]),
        ErrorKind::InvalidField,
        "byproducts[0]",
    );
    let err = Provenance::from_value(&json!([])).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidField);
}

#[test]
fn validate_applies_the_reader_checks_to_built_values() {
    let mut provenance = full();
    assert_eq!(provenance.validate(), Ok(()));
    provenance.run_details.builder.id = "no-scheme".to_owned();
    assert_eq!(
        provenance.validate().unwrap_err(),
        Error::InvalidField {
            field: "predicate.runDetails.builder.id".to_owned(),
            reason: "'no-scheme' is not an absolute URI".to_owned()
        }
    );
}

#[test]
fn unknown_fields_are_ignored() {
    let mut value = full().to_value();
    value["extension"] = json!(1);
    value["runDetails"]["builder"]["extra"] = json!({});
    assert_eq!(Provenance::from_value(&value).unwrap(), full());
}
