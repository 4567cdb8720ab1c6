//! The referrers API's image index, with `artifactType` filtering.

use std::collections::BTreeMap;

use custody_crypto::Digest;

use crate::manifest::OCI_INDEX;

/// One manifest that names a subject: what the referrers index lists about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Referrer {
    /// The referrer manifest's digest.
    pub digest: Digest,
    /// Its media type.
    pub media_type: String,
    /// Its size in bytes.
    pub size: u64,
    /// Its artifact type (or its config's media type).
    pub artifact_type: Option<String>,
    /// Its annotations.
    pub annotations: BTreeMap<String, String>,
    /// Its first layer (for a signature referrer: the bundle).
    pub first_layer: Option<Digest>,
}

/// Builds the referrers image index over `referrers`, keeping only those whose artifact type
/// is `filter` when one is given. Returns the JSON and whether a filter was applied (for the
/// `OCI-Filters-Applied: artifactType` header).
pub fn referrers_index(referrers: &[Referrer], filter: Option<&str>) -> (String, bool) {
    let manifests: Vec<serde_json::Value> = referrers
        .iter()
        .filter(|r| filter.is_none_or(|f| r.artifact_type.as_deref() == Some(f)))
        .map(|r| {
            let mut d = serde_json::json!({
                "mediaType": r.media_type,
                "digest": r.digest.to_string(),
                "size": r.size,
            });
            if let Some(t) = &r.artifact_type {
                d["artifactType"] = serde_json::Value::String(t.clone());
            }
            if !r.annotations.is_empty() {
                d["annotations"] = serde_json::json!(r.annotations);
            }
            d
        })
        .collect();
    let index = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": OCI_INDEX,
        "manifests": manifests,
    });
    (index.to_string(), filter.is_some())
}
