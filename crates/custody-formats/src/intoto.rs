//! The in-toto Statement v1 (in-toto/attestation, spec/v1/statement.md).
//!
//! A statement binds a predicate (what is claimed, for example SLSA provenance) to subjects
//! (the artifacts, named by digest). Parsing follows the spec's parsing rules: unrecognized
//! fields are ignored, `_type` must be exactly [`STATEMENT_TYPE_V1`], every subject has a
//! non-empty digest set, and `sha256`/`sha512` digests are lowercase hex of the right length.

use std::collections::BTreeMap;

use custody_crypto::{Digest, DigestAlgorithm};
use serde::Serialize;
use serde_json::Value;

use crate::fields::{Nulls, Obj};
use crate::{Error, Limits, json, uri};

/// The `_type` of an in-toto Statement v1.
pub const STATEMENT_TYPE_V1: &str = "https://in-toto.io/Statement/v1";

/// One artifact the statement is about: an optional name and a digest set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subject {
    name: String,
    digests: BTreeMap<String, String>,
}

impl Subject {
    /// A subject named `name` with the given digests (algorithm name → lowercase hex).
    pub fn new(name: impl Into<String>, digests: &[Digest]) -> Self {
        Self {
            name: name.into(),
            digests: digests
                .iter()
                .map(|d| (d.algorithm().name().to_owned(), d.hex()))
                .collect(),
        }
    }

    /// The subject's name (empty when the statement left it unset).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The digest set: algorithm name → encoded digest (lowercase hex for the standard
    /// algorithms; other algorithms are kept as opaque strings).
    pub fn digests(&self) -> &BTreeMap<String, String> {
        &self.digests
    }

    /// The subject's digest for a supported algorithm, if it has one.
    pub fn digest(&self, algorithm: DigestAlgorithm) -> Option<Digest> {
        let hex_text = self.digests.get(algorithm.name())?;
        let bytes = hex::decode(hex_text).ok()?;
        Digest::from_bytes(algorithm, &bytes).ok()
    }

    /// True when the subject lists `digest`'s algorithm with exactly that value (compared in
    /// constant time).
    pub fn matches(&self, digest: &Digest) -> bool {
        self.digest(digest.algorithm())
            .is_some_and(|mine| mine == *digest)
    }
}

/// An in-toto Statement v1.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statement {
    subjects: Vec<Subject>,
    predicate_type: String,
    predicate: Value,
}

impl Statement {
    /// A statement, checked: at least one subject, each with at least one digest;
    /// `predicate_type` an absolute URI; `predicate` a JSON object.
    pub fn new(
        subjects: Vec<Subject>,
        predicate_type: &str,
        predicate: Value,
    ) -> Result<Self, Error> {
        if subjects.is_empty() {
            return Err(Error::invalid(
                "subject",
                "a statement needs at least one subject",
            ));
        }
        for (i, subject) in subjects.iter().enumerate() {
            check_digest_set(&subject.digests, &format!("subject[{i}].digest"))?;
        }
        check_type_uri(predicate_type, "predicateType")?;
        if !predicate.is_object() {
            return Err(Error::invalid(
                "predicate",
                "the predicate must be a JSON object",
            ));
        }
        Ok(Self {
            subjects,
            predicate_type: predicate_type.to_owned(),
            predicate,
        })
    }

    /// Reads a statement, strictly (see [`json::parse_strict`]).
    pub fn from_json(bytes: &[u8], limits: &Limits) -> Result<Self, Error> {
        Self::from_value(&json::parse_strict(bytes, limits)?)
    }

    /// Reads a statement from an already parsed JSON value.
    pub fn from_value(value: &Value) -> Result<Self, Error> {
        let obj = Obj::new(value, "", Nulls::Reject)?;
        let statement_type = obj.req_str("_type")?;
        if statement_type != STATEMENT_TYPE_V1 {
            return Err(Error::invalid(
                "_type",
                format!(
                    "expected '{STATEMENT_TYPE_V1}', found '{}'",
                    crate::error::truncate(statement_type)
                ),
            ));
        }
        let items = obj.req_array("subject")?;
        let subjects = obj
            .objects_in("subject", items)?
            .iter()
            .map(|s| {
                Ok(Subject {
                    name: s.opt_str("name")?.unwrap_or_default().to_owned(),
                    digests: s
                        .opt_string_map("digest")?
                        .ok_or_else(|| Error::missing(s.path("digest")))?,
                })
            })
            .collect::<Result<Vec<_>, Error>>()?;
        let predicate_type = obj.req_str("predicateType")?;
        // spec/v1/statement.md: an unset predicate is the same as an empty one.
        let predicate = match obj.get("predicate") {
            None => Value::Object(serde_json::Map::new()),
            Some(p) => p.clone(),
        };
        Self::new(subjects, predicate_type, predicate)
    }

    /// The statement as compact JSON, fields in the spec's order: `_type`, `subject`,
    /// `predicateType`, `predicate`.
    pub fn to_json(&self) -> Vec<u8> {
        #[derive(Serialize)]
        struct WireSubject<'a> {
            #[serde(skip_serializing_if = "str::is_empty")]
            name: &'a str,
            digest: &'a BTreeMap<String, String>,
        }
        #[derive(Serialize)]
        struct Wire<'a> {
            #[serde(rename = "_type")]
            statement_type: &'a str,
            subject: Vec<WireSubject<'a>>,
            #[serde(rename = "predicateType")]
            predicate_type: &'a str,
            predicate: &'a Value,
        }
        let wire = Wire {
            statement_type: STATEMENT_TYPE_V1,
            subject: self
                .subjects
                .iter()
                .map(|s| WireSubject {
                    name: &s.name,
                    digest: &s.digests,
                })
                .collect(),
            predicate_type: &self.predicate_type,
            predicate: &self.predicate,
        };
        // Serializing strings, maps of strings and a `Value` cannot fail.
        serde_json::to_vec(&wire).unwrap_or_default()
    }

    /// The subjects, in document order.
    pub fn subjects(&self) -> &[Subject] {
        &self.subjects
    }

    /// The predicate type URI.
    pub fn predicate_type(&self) -> &str {
        &self.predicate_type
    }

    /// The predicate, a JSON object.
    pub fn predicate(&self) -> &Value {
        &self.predicate
    }

    /// The first subject that matches any of `digests`.
    pub fn subject_matching(&self, digests: &[Digest]) -> Option<&Subject> {
        self.subjects
            .iter()
            .find(|s| digests.iter().any(|d| s.matches(d)))
    }
}

/// Checks a DigestSet: non-empty, and `sha256`/`sha512` values are lowercase hex of the right
/// length (in-toto spec/v1/digest_set.md). Other algorithms are kept as opaque strings.
pub(crate) fn check_digest_set(
    digests: &BTreeMap<String, String>,
    path: &str,
) -> Result<(), Error> {
    if digests.is_empty() {
        return Err(Error::invalid(path, "the digest set is empty"));
    }
    for (algorithm, value) in digests {
        let Ok(algorithm) = algorithm.parse::<DigestAlgorithm>() else {
            if value.is_empty() {
                return Err(Error::invalid(
                    format!("{path}.{algorithm}"),
                    "empty digest",
                ));
            }
            continue;
        };
        let lowercase_hex = value
            .bytes()
            .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
        if value.len() != algorithm.len() * 2 || !lowercase_hex {
            return Err(Error::invalid(
                format!("{path}.{algorithm}"),
                format!(
                    "a {algorithm} digest is {} lowercase hex characters",
                    algorithm.len() * 2
                ),
            ));
        }
    }
    Ok(())
}

/// Checks that a type URI field is an absolute URI.
pub(crate) fn check_type_uri(value: &str, path: &str) -> Result<(), Error> {
    if uri::is_absolute(value) {
        Ok(())
    } else {
        Err(Error::invalid(
            path,
            format!("'{}' is not an absolute URI", crate::error::truncate(value)),
        ))
    }
}

#[cfg(test)]
mod tests;
