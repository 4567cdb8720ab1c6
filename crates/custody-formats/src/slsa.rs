//! SLSA Provenance v1 (slsa.dev/spec/v1.0/provenance), the predicate of an in-toto statement
//! with predicate type [`PREDICATE_TYPE_V1`].
//!
//! These are plain data types with public fields, so that a builder can fill them in.
//! [`Provenance::from_value`] reads and checks one; [`Provenance::to_value`] writes one
//! (camelCase field names, empty and unset fields omitted), and [`Provenance::validate`]
//! applies the same checks to a value built in code.
//!
//! Checks: `buildType` and `builder.id` are present and absolute URIs; `externalParameters`
//! is present and an object; `internalParameters`, when present, is an object; every
//! resource descriptor sets at least one of `uri`, `digest` and `content`, its URIs are
//! absolute and its `sha256`/`sha512` digests are lowercase hex of the right length;
//! timestamps are RFC 3339 in UTC. Unrecognized fields are ignored (in-toto parsing rules).

use std::collections::BTreeMap;

use serde_json::{Map, Value};
use time::OffsetDateTime;

use crate::fields::{Nulls, Obj};
use crate::intoto::{check_digest_set, check_type_uri};
use crate::{Error, b64, rfc3339};

/// The predicate type of SLSA Provenance v1.
pub const PREDICATE_TYPE_V1: &str = "https://slsa.dev/provenance/v1";

/// A SLSA Provenance v1 predicate.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Provenance {
    /// The inputs to the build.
    pub build_definition: BuildDefinition,
    /// Details of this particular run of the build.
    pub run_details: RunDetails,
}

/// What was built and from what (`buildDefinition`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuildDefinition {
    /// A URI naming the template of the build (`buildType`); required.
    pub build_type: String,
    /// The parameters under the control of the build's invoker; required, a JSON object.
    pub external_parameters: Value,
    /// Parameters set by the build platform; a JSON object when present.
    pub internal_parameters: Option<Value>,
    /// Artifacts the build fetched.
    pub resolved_dependencies: Vec<ResourceDescriptor>,
}

impl Default for BuildDefinition {
    fn default() -> Self {
        Self {
            build_type: String::new(),
            external_parameters: Value::Object(Map::new()),
            internal_parameters: None,
            resolved_dependencies: Vec::new(),
        }
    }
}

/// Details of one run of the build (`runDetails`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RunDetails {
    /// The build platform that ran the build.
    pub builder: Builder,
    /// Metadata of the run.
    pub metadata: Option<BuildMetadata>,
    /// Additional outputs of the build that are not subjects.
    pub byproducts: Vec<ResourceDescriptor>,
}

/// The build platform (`runDetails.builder`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Builder {
    /// A URI naming the build platform and its trust boundary; required.
    pub id: String,
    /// Versions of the platform's components.
    pub version: BTreeMap<String, String>,
    /// Software the platform used to run the build.
    pub builder_dependencies: Vec<ResourceDescriptor>,
}

/// Metadata of one run (`runDetails.metadata`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct BuildMetadata {
    /// The platform's identifier of this run.
    pub invocation_id: Option<String>,
    /// When the build started.
    pub started_on: Option<OffsetDateTime>,
    /// When the build finished.
    pub finished_on: Option<OffsetDateTime>,
}

/// An in-toto ResourceDescriptor (in-toto spec/v1/resource_descriptor.md).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ResourceDescriptor {
    /// A URI identifying the resource.
    pub uri: Option<String>,
    /// The digest set: algorithm name → encoded digest.
    pub digest: BTreeMap<String, String>,
    /// A name, for example a file name.
    pub name: Option<String>,
    /// Where the resource can be downloaded.
    pub download_location: Option<String>,
    /// The resource's media type.
    pub media_type: Option<String>,
    /// The resource's contents, when small enough to inline (base64 on the wire).
    pub content: Option<Vec<u8>>,
    /// Further information about the resource.
    pub annotations: BTreeMap<String, Value>,
}

impl Provenance {
    /// Reads and checks a provenance predicate.
    pub fn from_value(value: &Value) -> Result<Self, Error> {
        let obj = Obj::new(value, "predicate", Nulls::Reject)?;
        let definition = obj.req_obj("buildDefinition")?;
        let run = obj.req_obj("runDetails")?;
        let builder = run.req_obj("builder")?;
        let metadata = run
            .opt_obj("metadata")?
            .map(|m| -> Result<BuildMetadata, Error> {
                let time = |key: &str| {
                    m.opt_str(key)?
                        .map(|t| rfc3339::parse_utc(t, &m.path(key)))
                        .transpose()
                };
                Ok(BuildMetadata {
                    invocation_id: m.opt_str("invocationId")?.map(str::to_owned),
                    started_on: time("startedOn")?,
                    finished_on: time("finishedOn")?,
                })
            })
            .transpose()?;
        let provenance = Self {
            build_definition: BuildDefinition {
                build_type: definition.req_str("buildType")?.to_owned(),
                external_parameters: definition
                    .get("externalParameters")
                    .cloned()
                    .ok_or_else(|| Error::missing(definition.path("externalParameters")))?,
                internal_parameters: definition.get("internalParameters").cloned(),
                resolved_dependencies: read_descriptors(&definition, "resolvedDependencies")?,
            },
            run_details: RunDetails {
                builder: Builder {
                    id: builder.req_str("id")?.to_owned(),
                    version: builder.opt_string_map("version")?.unwrap_or_default(),
                    builder_dependencies: read_descriptors(&builder, "builderDependencies")?,
                },
                metadata,
                byproducts: read_descriptors(&run, "byproducts")?,
            },
        };
        provenance.validate()?;
        Ok(provenance)
    }

    /// Applies the checks of [`Provenance::from_value`] to a value built in code.
    pub fn validate(&self) -> Result<(), Error> {
        let definition = &self.build_definition;
        check_type_uri(
            &definition.build_type,
            "predicate.buildDefinition.buildType",
        )?;
        if !definition.external_parameters.is_object() {
            return Err(Error::invalid(
                "predicate.buildDefinition.externalParameters",
                "must be a JSON object",
            ));
        }
        if definition
            .internal_parameters
            .as_ref()
            .is_some_and(|p| !p.is_object())
        {
            return Err(Error::invalid(
                "predicate.buildDefinition.internalParameters",
                "must be a JSON object",
            ));
        }
        check_descriptors(
            &definition.resolved_dependencies,
            "predicate.buildDefinition.resolvedDependencies",
        )?;
        let run = &self.run_details;
        check_type_uri(&run.builder.id, "predicate.runDetails.builder.id")?;
        check_descriptors(
            &run.builder.builder_dependencies,
            "predicate.runDetails.builder.builderDependencies",
        )?;
        check_descriptors(&run.byproducts, "predicate.runDetails.byproducts")?;
        if let Some(metadata) = &run.metadata {
            for (time, key) in [
                (metadata.started_on, "startedOn"),
                (metadata.finished_on, "finishedOn"),
            ] {
                if time.is_some_and(|t| rfc3339::format(t).is_none()) {
                    return Err(Error::invalid(
                        format!("predicate.runDetails.metadata.{key}"),
                        "the year must be between 0 and 9999",
                    ));
                }
            }
        }
        Ok(())
    }

    /// The predicate as a JSON value: camelCase names, empty and unset fields omitted,
    /// timestamps in RFC 3339 UTC.
    pub fn to_value(&self) -> Value {
        let definition = &self.build_definition;
        let mut build = Map::new();
        build.insert("buildType".into(), definition.build_type.clone().into());
        build.insert(
            "externalParameters".into(),
            definition.external_parameters.clone(),
        );
        if let Some(internal) = &definition.internal_parameters {
            build.insert("internalParameters".into(), internal.clone());
        }
        insert_descriptors(
            &mut build,
            "resolvedDependencies",
            &definition.resolved_dependencies,
        );

        let run = &self.run_details;
        let mut builder = Map::new();
        builder.insert("id".into(), run.builder.id.clone().into());
        if !run.builder.version.is_empty() {
            let version = run
                .builder
                .version
                .iter()
                .map(|(k, v)| (k.clone(), Value::String(v.clone())))
                .collect();
            builder.insert("version".into(), Value::Object(version));
        }
        insert_descriptors(
            &mut builder,
            "builderDependencies",
            &run.builder.builder_dependencies,
        );

        let mut details = Map::new();
        details.insert("builder".into(), Value::Object(builder));
        if let Some(metadata) = &run.metadata {
            let mut m = Map::new();
            if let Some(id) = &metadata.invocation_id {
                m.insert("invocationId".into(), id.clone().into());
            }
            for (time, key) in [
                (metadata.started_on, "startedOn"),
                (metadata.finished_on, "finishedOn"),
            ] {
                if let Some(text) = time.and_then(rfc3339::format) {
                    m.insert(key.into(), text.into());
                }
            }
            details.insert("metadata".into(), Value::Object(m));
        }
        insert_descriptors(&mut details, "byproducts", &run.byproducts);

        let mut out = Map::new();
        out.insert("buildDefinition".into(), Value::Object(build));
        out.insert("runDetails".into(), Value::Object(details));
        Value::Object(out)
    }
}

impl ResourceDescriptor {
    /// Reads a resource descriptor (unchecked; see [`check_descriptors`]).
    fn read(obj: &Obj<'_>) -> Result<Self, Error> {
        let annotations = obj
            .opt_obj("annotations")?
            .map(|a| {
                a.entries()
                    .iter()
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect()
            })
            .unwrap_or_default();
        Ok(Self {
            uri: obj.opt_str("uri")?.map(str::to_owned),
            digest: obj.opt_string_map("digest")?.unwrap_or_default(),
            name: obj.opt_str("name")?.map(str::to_owned),
            download_location: obj.opt_str("downloadLocation")?.map(str::to_owned),
            media_type: obj.opt_str("mediaType")?.map(str::to_owned),
            content: obj.opt_bytes_lenient("content")?,
            annotations,
        })
    }

    fn check(&self, path: &str) -> Result<(), Error> {
        if self.uri.is_none() && self.digest.is_empty() && self.content.is_none() {
            return Err(Error::invalid(
                path,
                "a resource descriptor sets at least one of uri, digest and content",
            ));
        }
        if let Some(uri) = &self.uri {
            check_type_uri(uri, &format!("{path}.uri"))?;
        }
        if let Some(location) = &self.download_location {
            check_type_uri(location, &format!("{path}.downloadLocation"))?;
        }
        if !self.digest.is_empty() {
            check_digest_set(&self.digest, &format!("{path}.digest"))?;
        }
        Ok(())
    }

    fn to_value(&self) -> Value {
        let mut out = Map::new();
        let mut put = |key: &str, value: &Option<String>| {
            if let Some(v) = value {
                out.insert(key.to_owned(), Value::String(v.clone()));
            }
        };
        put("uri", &self.uri);
        put("name", &self.name);
        put("downloadLocation", &self.download_location);
        put("mediaType", &self.media_type);
        if !self.digest.is_empty() {
            let digest = self
                .digest
                .iter()
                .map(|(k, v)| (k.clone(), Value::String(v.clone())))
                .collect();
            out.insert("digest".into(), Value::Object(digest));
        }
        if let Some(content) = &self.content {
            out.insert("content".into(), b64::encode(content).into());
        }
        if !self.annotations.is_empty() {
            let annotations = self
                .annotations
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            out.insert("annotations".into(), Value::Object(annotations));
        }
        Value::Object(out)
    }
}

fn read_descriptors(obj: &Obj<'_>, key: &str) -> Result<Vec<ResourceDescriptor>, Error> {
    let Some(items) = obj.opt_array(key)? else {
        return Ok(Vec::new());
    };
    obj.objects_in(key, items)?
        .iter()
        .map(ResourceDescriptor::read)
        .collect()
}

fn check_descriptors(descriptors: &[ResourceDescriptor], path: &str) -> Result<(), Error> {
    descriptors
        .iter()
        .enumerate()
        .try_for_each(|(i, d)| d.check(&format!("{path}[{i}]")))
}

fn insert_descriptors(out: &mut Map<String, Value>, key: &str, descriptors: &[ResourceDescriptor]) {
    if !descriptors.is_empty() {
        let items = descriptors
            .iter()
            .map(ResourceDescriptor::to_value)
            .collect();
        out.insert(key.to_owned(), Value::Array(items));
    }
}

#[cfg(test)]
mod tests;
