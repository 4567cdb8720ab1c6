//! Reproducibility: what a provenance recorded, how a rebuild's outputs compare with its
//! subjects, and the rebuild attestation (pure).

use std::collections::BTreeMap;

use custody_crypto::{Digest, KeyId};
use custody_formats::intoto::{Statement, Subject};
use custody_formats::slsa::{PREDICATE_TYPE_V1, Provenance};
use custody_formats::trust_root::Role;
use serde_json::{Value, json};
use time::OffsetDateTime;

use crate::error::{Error, ErrorKind};
use crate::provenance::{BUILD_TYPE, FileDigest};
use crate::sandbox::Network;

/// The predicate type of custody's rebuild attestation.
pub const REBUILD_PREDICATE_TYPE: &str = "https://custody.dev/attestations/rebuild/v1";

/// The parts of a custody build provenance a rebuild needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordedBuild {
    /// The command (argv).
    pub command: Vec<String>,
    /// The source repository URI.
    pub repository: String,
    /// The source commit.
    pub revision: String,
    /// The branch the original build ran from (`externalParameters.source.ref`), when it
    /// recorded one (not on a detached HEAD, nor before custody recorded refs).
    pub source_ref: Option<String>,
    /// The network mode.
    pub network: Network,
    /// Names of environment variables that were passed in.
    pub env: Vec<String>,
    /// The original builder's id.
    pub builder_id: String,
    /// The subjects: name → digest set.
    pub subjects: BTreeMap<String, BTreeMap<String, String>>,
}

fn bad(message: impl Into<String>) -> Error {
    Error::new(ErrorKind::Usage, message)
}

/// Reads a statement as custody build provenance.
pub fn recorded_build(statement: &Statement) -> Result<RecordedBuild, Error> {
    if statement.predicate_type() != PREDICATE_TYPE_V1 {
        return Err(bad(format!(
            "the attestation's predicate type is '{}', not SLSA Provenance v1",
            statement.predicate_type()
        )));
    }
    let provenance = Provenance::from_value(statement.predicate())
        .map_err(|e| bad(format!("the provenance is not valid: {e}")))?;
    let definition = &provenance.build_definition;
    if definition.build_type != BUILD_TYPE {
        return Err(bad(format!(
            "the build type '{}' is not a custody sandboxed build; custody can only rebuild its own",
            definition.build_type
        )));
    }
    let params = &definition.external_parameters;
    let strings = |v: &Value, what: &str| -> Result<Vec<String>, Error> {
        v.as_array()
            .ok_or_else(|| bad(format!("externalParameters.{what} is not a list")))?
            .iter()
            .map(|s| {
                s.as_str()
                    .map(str::to_owned)
                    .ok_or_else(|| bad(format!("externalParameters.{what} holds a non-string")))
            })
            .collect()
    };
    let text = |v: &Value, what: &str| -> Result<String, Error> {
        v.as_str()
            .map(str::to_owned)
            .ok_or_else(|| bad(format!("externalParameters.{what} is missing")))
    };
    let command = strings(&params["command"], "command")?;
    if command.is_empty() {
        return Err(bad("externalParameters.command is empty"));
    }
    let network = text(&params["network"], "network")?
        .parse::<Network>()
        .map_err(bad)?;
    let env = match &params["environment"] {
        Value::Object(map) => map.keys().cloned().collect(),
        Value::Null => Vec::new(),
        _ => return Err(bad("externalParameters.environment is not an object")),
    };
    let source_ref = match &params["source"]["ref"] {
        Value::Null => None,
        Value::String(name) => Some(name.clone()),
        _ => return Err(bad("externalParameters.source.ref is not a string")),
    };
    Ok(RecordedBuild {
        command,
        repository: text(&params["source"]["repository"], "source.repository")?,
        revision: text(&params["source"]["revision"], "source.revision")?,
        source_ref,
        network,
        env,
        builder_id: provenance.run_details.builder.id.clone(),
        subjects: statement
            .subjects()
            .iter()
            .map(|s| (s.name().to_owned(), s.digests().clone()))
            .collect(),
    })
}

/// How one file differs between the recorded build and the rebuild.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Difference {
    /// Both have the file, with different digests.
    Differs {
        /// The file.
        name: String,
        /// The recorded SHA-256 (hex).
        recorded: String,
        /// The rebuilt SHA-256 (hex).
        rebuilt: String,
    },
    /// The rebuild did not produce the recorded file.
    Missing(String),
    /// The rebuild produced a file the provenance does not list.
    Extra(String),
}

impl std::fmt::Display for Difference {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Differs {
                name,
                recorded,
                rebuilt,
            } => write!(
                f,
                "{name} differs (recorded sha256 {recorded}, rebuilt {rebuilt})"
            ),
            Self::Missing(name) => write!(f, "{name} was not produced by the rebuild"),
            Self::Extra(name) => write!(f, "{name} was produced only by the rebuild"),
        }
    }
}

/// Compares every subject with the rebuild's outputs; every digest algorithm both sides carry
/// must agree. An empty list means reproducible.
pub fn compare(recorded: &RecordedBuild, rebuilt: &[FileDigest]) -> Vec<Difference> {
    let mut differences = Vec::new();
    let rebuilt: BTreeMap<&str, BTreeMap<String, String>> = rebuilt
        .iter()
        .map(|f| {
            let digests = f
                .digests
                .iter()
                .map(|d| (d.algorithm().name().to_owned(), d.hex()))
                .collect();
            (f.path.as_str(), digests)
        })
        .collect();
    for (name, digests) in &recorded.subjects {
        let Some(mine) = rebuilt.get(name.as_str()) else {
            differences.push(Difference::Missing(name.clone()));
            continue;
        };
        let shared: Vec<&String> = digests.keys().filter(|k| mine.contains_key(*k)).collect();
        if shared.is_empty() || shared.iter().any(|k| digests[*k] != mine[*k]) {
            differences.push(Difference::Differs {
                name: name.clone(),
                recorded: digests.get("sha256").cloned().unwrap_or_default(),
                rebuilt: mine.get("sha256").cloned().unwrap_or_default(),
            });
        }
    }
    for name in rebuilt.keys() {
        if !recorded.subjects.contains_key(*name) {
            differences.push(Difference::Extra((*name).to_owned()));
        }
    }
    differences
}

/// The most of a diffoscope report quoted in a mismatch message.
pub const REPORT_EXCERPT_LIMIT: usize = 4096;

/// The first `limit` bytes of a diffoscope report (cut at a character boundary), with a note
/// when it was cut.
pub fn report_excerpt(report: &str, limit: usize) -> String {
    let report = report.trim_end();
    if report.len() <= limit {
        return report.to_owned();
    }
    let mut end = limit;
    while !report.is_char_boundary(end) {
        end -= 1;
    }
    format!(
        "{}\n[... diffoscope report cut at {limit} of {} bytes]",
        &report[..end],
        report.len()
    )
}

/// The key whose signature over the provenance the rebuilder verified before rebuilding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProvenanceKey {
    /// The key that signed the provenance.
    pub key_id: KeyId,
    /// The role it holds in the trust root the provenance was verified with; `None` when it was
    /// verified with a single public key.
    pub role: Option<Role>,
}

/// The rebuild attestation: the same subjects, a custody predicate naming the provenance (by
/// digest, and the key that verified it unless it was rebuilt `--unverified`:
/// `provenance.verifiedKey`), the rebuilder, the source and the command, and the variations of
/// a varied rebuild ([`crate::vary::Variations::describe`]).
///
/// `provenance.verifiedKey` is absent when the provenance was not verified (as in attestations
/// written before custody verified provenance): readers treat its absence as "not verified".
pub fn rebuild_statement(
    recorded: &RecordedBuild,
    provenance_digest: &Digest,
    verified_key: Option<&ProvenanceKey>,
    rebuilder_id: &str,
    outputs: &[FileDigest],
    finished_on: OffsetDateTime,
    variations: Option<Value>,
) -> Result<Statement, Error> {
    let finished = finished_on
        .format(&time::format_description::well_known::Rfc3339)
        .map_err(|e| bad(format!("cannot format the time: {e}")))?;
    let mut predicate = json!({
        "result": "reproducible",
        "provenance": {
            "digest": {provenance_digest.algorithm().name(): provenance_digest.hex()},
            "builderId": recorded.builder_id,
        },
        "rebuilder": {"id": rebuilder_id},
        "source": {"repository": recorded.repository, "revision": recorded.revision},
        "command": recorded.command,
        "network": recorded.network.as_str(),
        "rebuiltOn": finished,
    });
    if let Some(key) = verified_key {
        let mut verified = json!({"keyid": key.key_id.to_string()});
        if let Some(role) = key.role {
            verified["role"] = json!(role.name());
        }
        predicate["provenance"]["verifiedKey"] = verified;
    }
    if let Some(v) = variations {
        predicate["variations"] = v;
    }
    let subjects = outputs
        .iter()
        .map(|f| Subject::new(&f.path, &f.digests))
        .collect();
    Statement::new(subjects, REBUILD_PREDICATE_TYPE, predicate)
        .map_err(|e| bad(format!("the rebuild attestation is not valid: {e}")))
}

#[cfg(test)]
mod tests {
    use custody_crypto::{sha256, sha512};

    use super::*;

    fn recorded() -> RecordedBuild {
        RecordedBuild {
            command: vec!["make".into()],
            repository: "git+file:///src/app".into(),
            revision: "0123456789abcdef0123456789abcdef01234567".into(),
            source_ref: None,
            network: Network::None,
            env: Vec::new(),
            builder_id: "https://custody.dev/builder/local@v1".into(),
            subjects: BTreeMap::from([
                (
                    "a".to_owned(),
                    BTreeMap::from([
                        ("sha256".to_owned(), sha256(b"a").hex()),
                        ("sha512".to_owned(), sha512(b"a").hex()),
                    ]),
                ),
                (
                    "b".to_owned(),
                    BTreeMap::from([("sha256".to_owned(), sha256(b"b").hex())]),
                ),
            ]),
        }
    }

    fn file(path: &str, content: &[u8]) -> FileDigest {
        FileDigest {
            path: path.into(),
            digests: vec![sha256(content), sha512(content)],
        }
    }

    #[test]
    fn identical_outputs_are_reproducible() {
        assert!(compare(&recorded(), &[file("a", b"a"), file("b", b"b")]).is_empty());
    }

    #[test]
    fn every_kind_of_difference_is_reported() {
        let d = compare(&recorded(), &[file("a", b"A"), file("c", b"c")]);
        assert_eq!(d.len(), 3, "{d:?}");
        assert!(matches!(&d[0], Difference::Differs { name, .. } if name == "a"));
        assert_eq!(d[1], Difference::Missing("b".into()));
        assert_eq!(d[2], Difference::Extra("c".into()));
        assert!(d[0].to_string().contains("differs"));
    }

    #[test]
    fn the_attestation_names_the_provenance_and_the_subjects() {
        let key = ProvenanceKey {
            key_id: sha256(b"key").hex().parse().unwrap(),
            role: Some(Role::Build),
        };
        let st = rebuild_statement(
            &recorded(),
            &sha256(b"bundle"),
            Some(&key),
            "https://rebuilder.example/1",
            &[file("a", b"a")],
            OffsetDateTime::UNIX_EPOCH,
            Some(json!({"umask": "0002"})),
        )
        .unwrap();
        assert_eq!(st.predicate_type(), REBUILD_PREDICATE_TYPE);
        assert_eq!(
            st.predicate()["provenance"]["digest"]["sha256"],
            sha256(b"bundle").hex()
        );
        assert_eq!(st.predicate()["result"], "reproducible");
        assert!(st.subjects()[0].matches(&sha512(b"a")));
        assert_eq!(st.predicate()["variations"]["umask"], "0002");
        let verified = &st.predicate()["provenance"]["verifiedKey"];
        assert_eq!(verified["keyid"], key.key_id.to_string());
        assert_eq!(verified["role"], "build");

        // Unverified (--unverified): no verifiedKey, as in attestations written before it.
        let st = rebuild_statement(
            &recorded(),
            &sha256(b"bundle"),
            None,
            "https://rebuilder.example/1",
            &[file("a", b"a")],
            OffsetDateTime::UNIX_EPOCH,
            None,
        )
        .unwrap();
        assert!(st.predicate()["provenance"].get("verifiedKey").is_none());
        assert!(st.predicate().get("variations").is_none());
    }

    #[test]
    fn long_reports_are_cut() {
        assert_eq!(report_excerpt("short\n", 100), "short");
        let long = "é".repeat(100);
        let cut = report_excerpt(&long, 51);
        assert!(cut.starts_with(&"é".repeat(25)));
        assert!(cut.contains("cut at 51 of 200 bytes"), "{cut}");
    }

    #[test]
    fn only_custody_slsa_provenance_is_accepted() {
        let other = Statement::new(
            vec![Subject::new("a", &[sha256(b"a")])],
            "https://example.com/other/v1",
            json!({}),
        )
        .unwrap();
        assert_eq!(recorded_build(&other).unwrap_err().kind(), ErrorKind::Usage);
        let foreign = Statement::new(
            vec![Subject::new("a", &[sha256(b"a")])],
            PREDICATE_TYPE_V1,
            json!({
                "buildDefinition": {"buildType": "https://example.com/gha/v1", "externalParameters": {}},
                "runDetails": {"builder": {"id": "https://example.com/b"}}
            }),
        )
        .unwrap();
        assert!(
            recorded_build(&foreign)
                .unwrap_err()
                .message()
                .contains("custody")
        );
    }
}
