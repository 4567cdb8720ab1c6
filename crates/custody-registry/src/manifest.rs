//! Manifest parsing: OCI image manifest and index, Docker schema2 manifest and manifest list.
//!
//! Parsing is strict JSON (duplicate keys refused, so every reader sees the same `subject` and
//! the same layers) and extracts what the registry needs: the media type, the artifact type,
//! the subject, the annotations, every referenced blob and every child manifest.

use std::collections::BTreeMap;

use custody_crypto::Digest;
use custody_formats::Limits;
use serde_json::Value;

use crate::error::{Invalid, OciCode};

/// The largest manifest accepted (4 MiB, as the spec suggests registries enforce).
pub const MAX_MANIFEST_BYTES: usize = 4 << 20;

/// OCI image manifest.
pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
/// OCI image index.
pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
/// Docker image manifest, schema 2.
pub const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
/// Docker manifest list.
pub const DOCKER_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";

/// Every manifest media type the registry stores.
pub const MANIFEST_TYPES: &[&str] = &[OCI_MANIFEST, OCI_INDEX, DOCKER_MANIFEST, DOCKER_LIST];

/// A content descriptor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Descriptor {
    /// The media type of the referenced content.
    pub media_type: String,
    /// Its digest.
    pub digest: Digest,
    /// Its size in bytes.
    pub size: u64,
    /// Its artifact type, if given.
    pub artifact_type: Option<String>,
}

/// What the registry needs to know about a manifest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Manifest {
    /// One of [`MANIFEST_TYPES`].
    pub media_type: String,
    /// `artifactType`, or for an image manifest without one, its config's media type (the
    /// referrers API reports that).
    pub artifact_type: Option<String>,
    /// The manifest this one refers to (signatures, attestations, SBOMs).
    pub subject: Option<Descriptor>,
    /// Annotations.
    pub annotations: BTreeMap<String, String>,
    /// The config and every layer (image manifests).
    pub blobs: Vec<Descriptor>,
    /// The child manifests (indexes and manifest lists).
    pub children: Vec<Descriptor>,
}

impl Manifest {
    /// Whether this is an index or manifest list.
    pub fn is_index(&self) -> bool {
        self.media_type == OCI_INDEX || self.media_type == DOCKER_LIST
    }

    /// The first layer (a signature referrer's bundle), for image manifests.
    pub fn first_layer(&self) -> Option<&Descriptor> {
        // blobs[0] is the config when there is one; layers follow.
        if self.is_index() {
            None
        } else {
            self.blobs.get(1)
        }
    }
}

fn invalid(message: impl Into<String>) -> Invalid {
    Invalid::new(OciCode::ManifestInvalid, message)
}

fn string_field(
    obj: &serde_json::Map<String, Value>,
    key: &str,
) -> Result<Option<String>, Invalid> {
    match obj.get(key) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(invalid(format!("'{key}' must be a string"))),
    }
}

fn annotations(obj: &serde_json::Map<String, Value>) -> Result<BTreeMap<String, String>, Invalid> {
    match obj.get("annotations") {
        None | Some(Value::Null) => Ok(BTreeMap::new()),
        Some(Value::Object(map)) => map
            .iter()
            .map(|(k, v)| match v {
                Value::String(s) => Ok((k.clone(), s.clone())),
                _ => Err(invalid("annotation values must be strings")),
            })
            .collect(),
        Some(_) => Err(invalid("'annotations' must be an object")),
    }
}

fn descriptor(value: &Value, what: &str) -> Result<Descriptor, Invalid> {
    let obj = value
        .as_object()
        .ok_or_else(|| invalid(format!("{what} must be a descriptor object")))?;
    let media_type = string_field(obj, "mediaType")?
        .ok_or_else(|| invalid(format!("{what} has no mediaType")))?;
    let digest = string_field(obj, "digest")?
        .ok_or_else(|| invalid(format!("{what} has no digest")))?
        .parse::<Digest>()
        .map_err(|e| invalid(format!("{what}: {e}")))?;
    let size = obj
        .get("size")
        .and_then(Value::as_u64)
        .ok_or_else(|| invalid(format!("{what} needs a non-negative integer size")))?;
    Ok(Descriptor {
        media_type,
        digest,
        size,
        artifact_type: string_field(obj, "artifactType")?,
    })
}

fn descriptors(
    obj: &serde_json::Map<String, Value>,
    key: &str,
) -> Result<Vec<Descriptor>, Invalid> {
    match obj.get(key) {
        None => Ok(Vec::new()),
        Some(Value::Array(items)) => items
            .iter()
            .enumerate()
            .map(|(i, v)| descriptor(v, &format!("{key}[{i}]")))
            .collect(),
        Some(_) => Err(invalid(format!("'{key}' must be an array"))),
    }
}

/// Parses a manifest pushed with `Content-Type: content_type`.
///
/// The media type is the body's `mediaType` when present (it must then agree with a manifest
/// `Content-Type`), else the `Content-Type`. Unknown media types, a `schemaVersion` other than 2,
/// bad descriptors and documents over [`MAX_MANIFEST_BYTES`] are refused with `MANIFEST_INVALID`
/// (`SIZE_INVALID` for the size).
pub fn parse(bytes: &[u8], content_type: Option<&str>) -> Result<Manifest, Invalid> {
    if bytes.len() > MAX_MANIFEST_BYTES {
        return Err(Invalid::new(
            OciCode::SizeInvalid,
            format!("a manifest is at most {MAX_MANIFEST_BYTES} bytes"),
        ));
    }
    let mut limits = Limits::default();
    limits.max_document_bytes = MAX_MANIFEST_BYTES;
    let value = custody_formats::json::parse_strict(bytes, &limits)
        .map_err(|e| invalid(format!("not a valid JSON document: {e}")))?;
    let obj = value
        .as_object()
        .ok_or_else(|| invalid("a manifest is a JSON object"))?;
    if obj.get("schemaVersion").and_then(Value::as_u64) != Some(2) {
        return Err(invalid("schemaVersion must be 2"));
    }
    let content_type = content_type
        .map(|c| c.split(';').next().unwrap_or(c).trim())
        .filter(|c| MANIFEST_TYPES.contains(c));
    let body_type = string_field(obj, "mediaType")?;
    let media_type = match (body_type, content_type) {
        (Some(b), Some(c)) if b != c => {
            return Err(invalid(format!(
                "mediaType '{b}' does not match Content-Type '{c}'"
            )));
        }
        (Some(b), _) => b,
        (None, Some(c)) => c.to_owned(),
        (None, None) => {
            if obj.contains_key("manifests") {
                OCI_INDEX.to_owned()
            } else {
                OCI_MANIFEST.to_owned()
            }
        }
    };
    if !MANIFEST_TYPES.contains(&media_type.as_str()) {
        return Err(Invalid::new(
            OciCode::ManifestInvalid,
            format!("unsupported manifest media type '{media_type}'"),
        ));
    }
    let subject = obj
        .get("subject")
        .filter(|v| !v.is_null())
        .map(|v| descriptor(v, "subject"))
        .transpose()?;
    let mut artifact_type = string_field(obj, "artifactType")?;
    let index = media_type == OCI_INDEX || media_type == DOCKER_LIST;
    let (blobs, children) = if index {
        if obj.contains_key("layers") || obj.contains_key("config") {
            return Err(invalid("an index has manifests, not config or layers"));
        }
        (Vec::new(), descriptors(obj, "manifests")?)
    } else {
        if obj.contains_key("manifests") {
            return Err(invalid(
                "an image manifest has config and layers, not manifests",
            ));
        }
        let config = obj
            .get("config")
            .ok_or_else(|| invalid("an image manifest needs a config"))?;
        let config = descriptor(config, "config")?;
        if artifact_type.is_none() {
            artifact_type = Some(config.media_type.clone());
        }
        let mut blobs = vec![config];
        blobs.extend(descriptors(obj, "layers")?);
        (blobs, Vec::new())
    };
    Ok(Manifest {
        media_type,
        artifact_type,
        subject,
        annotations: annotations(obj)?,
        blobs,
        children,
    })
}
