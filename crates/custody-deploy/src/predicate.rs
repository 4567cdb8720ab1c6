//! The approval and promotion predicates: strict readers and their JSON form.

use std::fmt;
use std::str::FromStr;

use custody_crypto::Digest;
use serde_json::{Map, Value};

use crate::{DeployError, validate_environment, validate_repository};

/// The in-toto predicate type of an approval (subject: the manifest digest).
pub const APPROVAL_PREDICATE_TYPE: &str = "https://custody.dev/attestations/approval/v1";

/// The in-toto predicate type of a promotion event (subject: the manifest digest).
pub const PROMOTION_PREDICATE_TYPE: &str = "https://custody.dev/attestations/promotion/v1";

/// The longest approval comment or promotion reason, in characters.
pub const MAX_TEXT_CHARS: usize = 1024;

/// The largest sequence number: the largest integer JSON numbers (IEEE 754 doubles) and
/// RFC 8785 represent exactly, 2^53 - 1.
pub const MAX_SEQUENCE: u64 = (1 << 53) - 1;

/// The largest predicate document [`parse_predicate`] reads.
const MAX_PREDICATE_BYTES: usize = 64 * 1024;

/// Reads a stand-alone predicate document strictly (duplicate keys rejected, at most 64 KiB,
/// nesting at most 8 deep); pass the value to [`Approval::from_predicate`] or
/// [`Promotion::from_predicate`].
pub fn parse_predicate(bytes: &[u8]) -> Result<Value, DeployError> {
    let mut limits = custody_formats::Limits::default();
    limits.max_document_bytes = MAX_PREDICATE_BYTES;
    limits.max_depth = 8;
    custody_formats::json::parse_strict(bytes, &limits)
        .map_err(|e| DeployError::MalformedJson(e.to_string()))
}

/// An approver's consent to deploy one artifact (the statement's subject) to one environment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Approval {
    /// The environment the approval is for.
    pub environment: String,
    /// What the approver wants to say about it (at most [`MAX_TEXT_CHARS`] characters).
    pub comment: Option<String>,
}

impl Approval {
    /// The predicate: `{"environment": "...", "comment": "..."}`, the comment only when set.
    pub fn to_predicate(&self) -> Value {
        let mut map = Map::new();
        map.insert(
            "environment".into(),
            Value::String(self.environment.clone()),
        );
        if let Some(comment) = &self.comment {
            map.insert("comment".into(), Value::String(comment.clone()));
        }
        Value::Object(map)
    }

    /// Reads the predicate strictly: an object with `environment` (a valid name) and an
    /// optional `comment` string of at most [`MAX_TEXT_CHARS`] characters; any other field is
    /// refused.
    pub fn from_predicate(value: &Value) -> Result<Self, DeployError> {
        let map = object(value, &["environment", "comment"])?;
        let environment = environment(map)?;
        let comment = optional_text(map, "comment")?;
        Ok(Self {
            environment,
            comment,
        })
    }
}

/// Whether an event moves an environment forward or back to an earlier artifact.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EventKind {
    /// A new artifact becomes current (`"promote"`).
    Promote,
    /// An artifact that was current before becomes current again (`"rollback"`).
    Rollback,
}

impl EventKind {
    /// `"promote"` or `"rollback"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Promote => "promote",
            Self::Rollback => "rollback",
        }
    }
}

impl fmt::Display for EventKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for EventKind {
    type Err = DeployError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "promote" => Ok(Self::Promote),
            "rollback" => Ok(Self::Rollback),
            other => Err(invalid(
                "kind",
                format!("'{}' is neither 'promote' nor 'rollback'", clip(other)),
            )),
        }
    }
}

/// A promotion event's predicate: the artifact (the statement's subject) becomes the current
/// one of `environment`, as event number `sequence` of its history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Promotion {
    /// The environment.
    pub environment: String,
    /// Promote or roll back.
    pub kind: EventKind,
    /// The registry repository of the artifact.
    pub repository: String,
    /// The event's 1-based position in the environment's history.
    pub sequence: u64,
    /// The digest that was current before this event (`None` only for the first event).
    pub previous: Option<Digest>,
    /// Why (at most [`MAX_TEXT_CHARS`] characters).
    pub reason: Option<String>,
}

impl Promotion {
    /// The predicate: `{"environment", "kind", "repository", "sequence"}`, with `previous` and
    /// `reason` only when set.
    pub fn to_predicate(&self) -> Value {
        let mut map = Map::new();
        map.insert(
            "environment".into(),
            Value::String(self.environment.clone()),
        );
        map.insert("kind".into(), Value::String(self.kind.as_str().into()));
        map.insert("repository".into(), Value::String(self.repository.clone()));
        map.insert("sequence".into(), Value::from(self.sequence));
        if let Some(previous) = &self.previous {
            map.insert("previous".into(), Value::String(previous.to_string()));
        }
        if let Some(reason) = &self.reason {
            map.insert("reason".into(), Value::String(reason.clone()));
        }
        Value::Object(map)
    }

    /// Reads the predicate strictly: unknown fields are refused; `environment` and
    /// `repository` must be valid names; `sequence` an integer from 1 to [`MAX_SEQUENCE`];
    /// event 1 must be a promotion without `previous`, any later event must name `previous`.
    pub fn from_predicate(value: &Value) -> Result<Self, DeployError> {
        let map = object(
            value,
            &[
                "environment",
                "kind",
                "repository",
                "sequence",
                "previous",
                "reason",
            ],
        )?;
        let environment = environment(map)?;
        let kind: EventKind = required_str(map, "kind")?.parse()?;
        let repository = required_str(map, "repository")?;
        validate_repository(repository).map_err(|e| invalid("repository", e.to_string()))?;
        let sequence = match map.get("sequence") {
            None => return Err(invalid("sequence", "missing")),
            Some(v) => v
                .as_u64()
                .filter(|n| (1..=MAX_SEQUENCE).contains(n))
                .ok_or_else(|| {
                    invalid(
                        "sequence",
                        format!("{v} is not an integer from 1 to {MAX_SEQUENCE}"),
                    )
                })?,
        };
        let previous = match map.get("previous") {
            None => None,
            Some(Value::String(s)) => Some(
                s.parse::<Digest>()
                    .map_err(|e| invalid("previous", format!("not a digest: {e}")))?,
            ),
            Some(_) => return Err(invalid("previous", "not a string")),
        };
        let reason = optional_text(map, "reason")?;
        let promotion = Self {
            environment,
            kind,
            repository: repository.to_owned(),
            sequence,
            previous,
            reason,
        };
        promotion.check_shape()?;
        Ok(promotion)
    }

    /// The rules linking `sequence`, `previous` and `kind`.
    fn check_shape(&self) -> Result<(), DeployError> {
        match (self.sequence, &self.previous, self.kind) {
            (1, Some(_), _) => Err(invalid(
                "previous",
                "the first event of an environment follows nothing",
            )),
            (1, None, EventKind::Rollback) => Err(invalid(
                "kind",
                "the first event of an environment cannot be a rollback",
            )),
            (2.., None, _) => Err(invalid(
                "previous",
                "missing: every event after the first names the digest it replaces",
            )),
            _ => Ok(()),
        }
    }
}

fn invalid(field: &str, reason: impl Into<String>) -> DeployError {
    DeployError::InvalidPredicate {
        field: field.to_owned(),
        reason: reason.into(),
    }
}

/// The value as an object with only `allowed` keys.
fn object<'a>(value: &'a Value, allowed: &[&str]) -> Result<&'a Map<String, Value>, DeployError> {
    let map = value
        .as_object()
        .ok_or_else(|| invalid("(predicate)", "not a JSON object"))?;
    if let Some(unknown) = map.keys().find(|k| !allowed.contains(&k.as_str())) {
        return Err(invalid(clip(unknown), "unknown field"));
    }
    Ok(map)
}

fn required_str<'a>(map: &'a Map<String, Value>, field: &str) -> Result<&'a str, DeployError> {
    match map.get(field) {
        None => Err(invalid(field, "missing")),
        Some(Value::String(s)) => Ok(s),
        Some(_) => Err(invalid(field, "not a string")),
    }
}

fn environment(map: &Map<String, Value>) -> Result<String, DeployError> {
    let name = required_str(map, "environment")?;
    validate_environment(name).map_err(|e| invalid("environment", e.to_string()))?;
    Ok(name.to_owned())
}

fn optional_text(map: &Map<String, Value>, field: &str) -> Result<Option<String>, DeployError> {
    match map.get(field) {
        None => Ok(None),
        Some(Value::String(s)) if s.chars().count() <= MAX_TEXT_CHARS => Ok(Some(s.clone())),
        Some(Value::String(_)) => Err(invalid(
            field,
            format!("longer than {MAX_TEXT_CHARS} characters"),
        )),
        Some(_) => Err(invalid(field, "not a string")),
    }
}

/// A user-supplied string shortened for an error message.
fn clip(s: &str) -> &str {
    match s.char_indices().nth(64) {
        Some((end, _)) => &s[..end],
        None => s,
    }
}

#[cfg(test)]
mod tests;
