//! Runtime integrity audit (`custody audit-deployed`): the files on a deployed machine against
//! the files of the environment's current, verified artifact.
//!
//! The expected files are the subjects of the artifact's verified build provenance (every file
//! the build wrote, by its path under the build's output directory) when it has one, and
//! otherwise the files the manifest names (by their title). Every file under the directory is
//! digested (streamed) and compared by path.

use std::path::{Path, PathBuf};

use custody_crypto::{Digest, DigestAlgorithm};
use custody_deploy::drift::{DriftReport, Expected, Found, compare};
use custody_formats::Verified;
use custody_formats::slsa::PREDICATE_TYPE_V1;
use custody_formats::trust_root::{Role, TrustRoot};
use time::OffsetDateTime;

use super::Artifact;
use super::facts::verify_evidence;
use crate::codes::Code;
use crate::error::{Error, Result};
use crate::registry::client::{Reference, RegistryClient, evidence_of};
use crate::registry::policy::SubjectDigests;
use crate::verify::parse_bundle;

/// The files a deployment of the artifact must consist of (see the module documentation).
pub fn expected_files(
    client: &RegistryClient,
    reference: &Reference,
    digest: &Digest,
    manifest: Vec<u8>,
    trust_root: &Verified<TrustRoot>,
    now: OffsetDateTime,
) -> Result<Vec<Expected>> {
    let artifact = Artifact::new(&reference.repository, *digest, manifest)?;
    let files = artifact.files();
    let subjects = SubjectDigests::of(artifact.digest, &artifact.manifest);
    for evidence in evidence_of(client, reference, digest)? {
        let Ok(bundle) = parse_bundle(&evidence.bundle) else {
            continue;
        };
        let Ok(verified) = verify_evidence(
            &bundle,
            &subjects,
            &files,
            trust_root,
            Role::Build,
            true,
            now,
        ) else {
            continue;
        };
        let Some(statement) = verified.statement else {
            continue;
        };
        if statement.predicate_type() != PREDICATE_TYPE_V1 {
            continue;
        }
        let expected: Vec<Expected> = statement
            .subjects()
            .iter()
            .filter_map(|s| {
                s.digest(DigestAlgorithm::Sha256).map(|d| Expected {
                    path: s.name().to_owned(),
                    digest: d,
                })
            })
            .collect();
        if !expected.is_empty() {
            return Ok(expected);
        }
    }
    Ok(files
        .into_iter()
        .map(|f| Expected {
            path: f.name,
            digest: f.digest,
        })
        .collect())
}

/// Every regular file under `dir`, by its `/`-separated path relative to `dir`. Symbolic links
/// are listed with a digest of their target path, so a link never matches a file.
fn walk(dir: &Path, prefix: &str, out: &mut Vec<(String, PathBuf, bool)>) -> Result<()> {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .map_err(|e| Error::read(dir, &e))?
        .collect::<std::result::Result<_, _>>()
        .map_err(|e| Error::read(dir, &e))?;
    entries.sort_by_key(std::fs::DirEntry::file_name);
    for entry in entries {
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().into_owned();
        let rel = if prefix.is_empty() {
            name
        } else {
            format!("{prefix}/{name}")
        };
        let kind = entry.file_type().map_err(|e| Error::read(&path, &e))?;
        if kind.is_dir() {
            walk(&path, &rel, out)?;
        } else {
            out.push((rel, path, kind.is_file()));
        }
    }
    Ok(())
}

/// Compares the files under `dir` with `expected`.
pub fn audit_dir(dir: &Path, expected: &[Expected]) -> Result<DriftReport> {
    if !dir.is_dir() {
        return Err(Error::new(
            Code::InvalidArgument,
            format!("{} is not a directory", dir.display()),
        ));
    }
    let mut entries = Vec::new();
    walk(dir, "", &mut entries)?;
    let mut found = Vec::new();
    for (rel, path, regular) in entries {
        let algorithm = expected
            .iter()
            .find(|e| e.path == rel)
            .map_or(DigestAlgorithm::Sha256, |e| e.digest.algorithm());
        let digest = if regular {
            crate::fs::digest_file(&path, &[algorithm])?
                .into_iter()
                .next()
                .ok_or_else(|| Error::new(Code::Internal, "no digest"))?
        } else {
            // Not a regular file (a link, a device): never equal to an expected file.
            let target = std::fs::read_link(&path)
                .map(|t| t.to_string_lossy().into_owned())
                .unwrap_or_default();
            let mut h = custody_crypto::Hasher::new(algorithm);
            h.update(format!("not a regular file: {target}").as_bytes());
            h.finalize()
        };
        found.push(Found { path: rel, digest });
    }
    Ok(compare(expected, &found))
}
