//! The provenance of one build: an in-toto Statement v1 whose predicate is SLSA Provenance v1.
//!
//! Every field is filled in by custody (the control plane) from what it observed; nothing is
//! read from the build step's output except the output files themselves, which become the
//! subjects.

use std::collections::BTreeMap;

use custody_crypto::Digest;
use custody_formats::intoto::{Statement, Subject};
use custody_formats::slsa::{
    BuildDefinition, BuildMetadata, Builder, PREDICATE_TYPE_V1, Provenance, ResourceDescriptor,
    RunDetails,
};
use serde_json::{Value, json};
use time::OffsetDateTime;

use crate::error::{Error, ErrorKind};
use crate::lockfile::{LockedPackage, Pin};

/// The `buildType` of a custody sandboxed build.
pub const BUILD_TYPE: &str = "https://custody.dev/buildtypes/sandbox/v1";

/// The builder id used when none is configured.
pub const DEFAULT_BUILDER_ID: &str = "https://custody.dev/builder/local@v1";

/// The source a build ran from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Source {
    /// The repository as a URI (see [`repository_uri`]).
    pub repository: String,
    /// The commit id (hex).
    pub commit: String,
    /// The full name of the branch checked out (`refs/heads/main`), if HEAD was on a branch;
    /// `None` on a detached HEAD. Recorded as `externalParameters.source.ref`.
    pub ref_name: Option<String>,
}

/// A file and its digests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileDigest {
    /// The path relative to its root (the source tree or the output directory), `/`-separated.
    pub path: String,
    /// Its digests.
    pub digests: Vec<Digest>,
}

/// A program of the toolchain or of the build platform.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tool {
    /// The name it was looked up by (`cc`) or invoked as.
    pub name: String,
    /// The resolved absolute path of the executable (symbolic links followed).
    pub path: String,
    /// Its digests.
    pub digests: Vec<Digest>,
    /// The first line of `NAME --version`, when it answered.
    pub version: Option<String>,
    /// True for the step's own program (`argv[0]`); false for tools found on `PATH`.
    pub executed: bool,
}

/// Everything custody observed about one successful build.
#[derive(Debug, Clone)]
pub struct BuildRecord {
    /// `runDetails.builder.id`.
    pub builder_id: String,
    /// `runDetails.builder.version` (component → version).
    pub builder_version: BTreeMap<String, String>,
    /// The programs that implement the sandbox (bwrap, prlimit).
    pub builder_dependencies: Vec<Tool>,
    /// The command (argv).
    pub command: Vec<String>,
    /// The source repository and revision.
    pub source: Source,
    /// The names of environment variables passed in with `--env`, with the SHA-256 of each value.
    pub env_opt_in: BTreeMap<String, Digest>,
    /// The sandbox settings ([`crate::sandbox::Sandbox::describe`]).
    pub sandbox: Value,
    /// The network mode, as chosen by the invoker.
    pub network: String,
    /// Every file of the source checkout.
    pub inputs: Vec<FileDigest>,
    /// The toolchain.
    pub tools: Vec<Tool>,
    /// Lockfile-pinned dependencies.
    pub packages: Vec<LockedPackage>,
    /// Every output file (the subjects).
    pub outputs: Vec<FileDigest>,
    /// The step's exit code.
    pub exit_code: i32,
    /// Digests of the captured log (stdout and stderr).
    pub log_digests: Vec<Digest>,
    /// When the step started and finished.
    pub started_on: OffsetDateTime,
    /// When the step finished.
    pub finished_on: OffsetDateTime,
    /// An identifier of this run.
    pub invocation_id: String,
}

/// The repository as an absolute URI: `git+` and the remote URL without credentials, or
/// `git+file://` and the work tree's absolute path when there is no remote.
pub fn repository_uri(remote: Option<&str>, toplevel: &str) -> String {
    let encode = |s: &str| {
        s.chars()
            .map(|c| {
                if c.is_whitespace() || c.is_control() || c == '%' {
                    let mut buf = [0u8; 4];
                    c.encode_utf8(&mut buf)
                        .bytes()
                        .map(|b| format!("%{b:02X}"))
                        .collect()
                } else {
                    c.to_string()
                }
            })
            .collect::<String>()
    };
    let Some(remote) = remote.filter(|r| !r.is_empty()) else {
        return format!("git+file://{}", encode(toplevel));
    };
    if let Some((scheme, rest)) = remote.split_once("://") {
        // Drop user:password@ (a token in a remote URL must never reach a signed document).
        let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
        let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
        let scheme = scheme.strip_prefix("git+").unwrap_or(scheme);
        return format!("git+{scheme}://{host}/{}", encode(path));
    }
    if remote.starts_with('/') {
        return format!("git+file://{}", encode(remote));
    }
    // scp-like syntax: [user@]host:path.
    if let Some((host, path)) = remote.split_once(':') {
        let host = host.rsplit_once('@').map_or(host, |(_, h)| h);
        return format!("git+ssh://{host}/{}", encode(path.trim_start_matches('/')));
    }
    format!("git+file://{}", encode(remote))
}

fn digest_map(digests: &[Digest]) -> BTreeMap<String, String> {
    digests
        .iter()
        .map(|d| (d.algorithm().name().to_owned(), d.hex()))
        .collect()
}

fn tool_descriptor(tool: &Tool) -> ResourceDescriptor {
    let mut annotations = BTreeMap::new();
    if let Some(version) = &tool.version {
        annotations.insert("version".to_owned(), Value::String(version.clone()));
    }
    annotations.insert(
        "use".to_owned(),
        Value::String(if tool.executed { "executed" } else { "on-path" }.to_owned()),
    );
    ResourceDescriptor {
        uri: Some(format!("file://{}", tool.path)),
        digest: digest_map(&tool.digests),
        name: Some(tool.name.clone()),
        annotations,
        ..ResourceDescriptor::default()
    }
}

fn package_descriptor(package: &LockedPackage) -> ResourceDescriptor {
    let (digest, location) = match &package.pin {
        Pin::Registry { source, sha256 } => (
            BTreeMap::from([("sha256".to_owned(), sha256.clone())]),
            source.strip_prefix("registry+").map(str::to_owned),
        ),
        Pin::Git { url, commit } => (
            BTreeMap::from([("gitCommit".to_owned(), commit.clone())]),
            Some(format!("git+{url}")),
        ),
    };
    ResourceDescriptor {
        uri: Some(package.purl()),
        digest,
        name: Some(package.name.clone()),
        download_location: location.filter(|l| l.contains(':')),
        annotations: BTreeMap::from([(
            "version".to_owned(),
            Value::String(package.version.clone()),
        )]),
        ..ResourceDescriptor::default()
    }
}

/// The signed-to-be statement for a build.
pub fn statement(record: &BuildRecord) -> Result<Statement, Error> {
    let invalid = |e: custody_formats::Error| {
        Error::new(
            ErrorKind::Usage,
            format!("the provenance is not valid: {e}"),
        )
    };
    let mut resolved = vec![ResourceDescriptor {
        uri: Some(record.source.repository.clone()),
        digest: BTreeMap::from([("gitCommit".to_owned(), record.source.commit.clone())]),
        name: Some("source".to_owned()),
        ..ResourceDescriptor::default()
    }];
    resolved.extend(record.inputs.iter().map(|f| ResourceDescriptor {
        name: Some(f.path.clone()),
        digest: digest_map(&f.digests),
        annotations: BTreeMap::from([("kind".to_owned(), json!("source-file"))]),
        ..ResourceDescriptor::default()
    }));
    resolved.extend(record.tools.iter().map(tool_descriptor));
    resolved.extend(record.packages.iter().map(package_descriptor));

    let mut source = json!({
        "repository": record.source.repository,
        "revision": record.source.commit,
    });
    if let Some(ref_name) = &record.source.ref_name {
        source["ref"] = Value::String(ref_name.clone());
    }
    let env: BTreeMap<&String, String> = record
        .env_opt_in
        .iter()
        .map(|(name, digest)| (name, digest.to_string()))
        .collect();
    let provenance = Provenance {
        build_definition: BuildDefinition {
            build_type: BUILD_TYPE.to_owned(),
            external_parameters: json!({
                "command": record.command,
                "source": source,
                "network": record.network,
                "environment": env,
            }),
            internal_parameters: Some(json!({ "sandbox": record.sandbox })),
            resolved_dependencies: resolved,
        },
        run_details: RunDetails {
            builder: Builder {
                id: record.builder_id.clone(),
                version: record.builder_version.clone(),
                builder_dependencies: record
                    .builder_dependencies
                    .iter()
                    .map(tool_descriptor)
                    .collect(),
            },
            metadata: Some(BuildMetadata {
                invocation_id: Some(record.invocation_id.clone()),
                started_on: Some(record.started_on),
                finished_on: Some(record.finished_on),
            }),
            byproducts: vec![ResourceDescriptor {
                name: Some("build.log".to_owned()),
                digest: digest_map(&record.log_digests),
                media_type: Some("text/plain".to_owned()),
                annotations: BTreeMap::from([("exitCode".to_owned(), json!(record.exit_code))]),
                ..ResourceDescriptor::default()
            }],
        },
    };
    provenance.validate().map_err(invalid)?;
    let subjects = record
        .outputs
        .iter()
        .map(|f| Subject::new(&f.path, &f.digests))
        .collect();
    Statement::new(subjects, PREDICATE_TYPE_V1, provenance.to_value()).map_err(invalid)
}

/// What a reader of a verified SLSA Provenance v1 usually needs, read leniently: a field that is
/// missing or of another shape is `None`, never an error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProvenanceSummary {
    /// `runDetails.builder.id`.
    pub builder_id: String,
    /// `buildDefinition.buildType`.
    pub build_type: String,
    /// The source repository URI (`externalParameters.source.repository` of a custody build).
    pub source_repository: Option<String>,
    /// The source commit (`externalParameters.source.revision` of a custody build).
    pub source_revision: Option<String>,
    /// The branch built from (`externalParameters.source.ref` of a custody build), e.g.
    /// `refs/heads/main`; `None` for a detached HEAD or a provenance recorded before custody
    /// recorded it.
    pub source_ref: Option<String>,
    /// `runDetails.metadata.startedOn`.
    pub started_on: Option<OffsetDateTime>,
    /// `runDetails.metadata.finishedOn`.
    pub finished_on: Option<OffsetDateTime>,
}

/// Summarizes a provenance. The source fields are read from custody's own build type
/// ([`BUILD_TYPE`]) only, whose external parameters custody defines; for any other build type
/// they are `None`. The builder, build type and times are SLSA's own fields, read for any
/// build type.
pub fn summary(provenance: &Provenance) -> ProvenanceSummary {
    let definition = &provenance.build_definition;
    let source = (definition.build_type == BUILD_TYPE)
        .then(|| definition.external_parameters.get("source"))
        .flatten();
    let text = |key: &str| {
        source
            .and_then(|s| s.get(key))
            .and_then(Value::as_str)
            .map(str::to_owned)
    };
    let metadata = provenance.run_details.metadata.as_ref();
    ProvenanceSummary {
        builder_id: provenance.run_details.builder.id.clone(),
        build_type: definition.build_type.clone(),
        source_repository: text("repository"),
        source_revision: text("revision"),
        source_ref: text("ref"),
        started_on: metadata.and_then(|m| m.started_on),
        finished_on: metadata.and_then(|m| m.finished_on),
    }
}

/// True when `s` is an absolute URI (a scheme, `:`, and a non-empty remainder without spaces).
pub fn is_absolute_uri(s: &str) -> bool {
    let Some((scheme, rest)) = s.split_once(':') else {
        return false;
    };
    let mut chars = scheme.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
        && !rest.is_empty()
        && !rest.chars().any(|c| c.is_whitespace() || c.is_control())
}

#[cfg(test)]
mod tests;
