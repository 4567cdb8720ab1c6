//! `custody sbom`: a CycloneDX 1.6 SBOM from a Cargo.lock, optionally signed as an in-toto
//! attestation about an artifact; and `custody scan`: offline matching of a lockfile or SBOM
//! against a directory of OSV advisories ([`custody_build::scan`]).
//!
//! The SBOM itself is built by [`custody_build::sbom`]; this module reads the lockfile, picks
//! the timestamp (`SOURCE_DATE_EPOCH` when set, so that a build's SBOM is reproducible, else
//! now), writes the SBOM atomically and, with a key, signs a Statement whose subject is the
//! artifact and whose predicate is the SBOM.

use std::path::{Path, PathBuf};

use custody_build::lockfile::LOCKFILE_LIMIT;
use custody_build::sbom::{CYCLONEDX_PREDICATE_TYPE, SbomInfo, cyclonedx_from_cargo_lock};
use custody_build::scan::{
    Advisory, Finding, packages_from_cargo_lock, packages_from_cyclonedx, parse_advisory,
};
use custody_crypto::Signer;
use time::OffsetDateTime;

use crate::codes::Code;
use crate::error::{Error, Result};
use crate::fs::{Overwrite, Visibility, read_limited, read_text, write_atomic};
use crate::sign::{Logger, Signed, attest_file};

/// What to describe and where to write it.
#[derive(Debug, Clone)]
pub struct SbomRequest {
    /// The Cargo.lock to read.
    pub lockfile: PathBuf,
    /// Where the SBOM is written (replaced atomically if it exists).
    pub out: PathBuf,
    /// `SOURCE_DATE_EPOCH`, if set: the SBOM's timestamp.
    pub source_date_epoch: Option<String>,
}

/// The SBOM written.
#[derive(Debug, Clone)]
pub struct SbomOutcome {
    /// The SBOM's path.
    pub out: PathBuf,
    /// Its serial number (`urn:uuid:...`).
    pub serial_number: String,
    /// How many components it lists (without the subject).
    pub components: usize,
}

/// The timestamp: `SOURCE_DATE_EPOCH` (seconds since the epoch) when given, else now.
fn timestamp(source_date_epoch: Option<&str>) -> Result<OffsetDateTime> {
    match source_date_epoch {
        Some(s) => s
            .trim()
            .parse::<i64>()
            .ok()
            .and_then(|n| OffsetDateTime::from_unix_timestamp(n).ok())
            .ok_or_else(|| {
                Error::new(
                    Code::InvalidArgument,
                    format!("SOURCE_DATE_EPOCH '{s}' is not a number of seconds since 1970"),
                )
            }),
        None => Ok(OffsetDateTime::now_utc()),
    }
}

/// Maps a lockfile or SBOM construction error.
pub(crate) fn lockfile_error(path: &Path, err: &custody_build::Error) -> Error {
    Error::new(
        Code::LockfileInvalid,
        format!("'{}': {}", path.display(), err.message()),
    )
}

/// Reads the lockfile, builds the SBOM and writes it.
pub fn write_sbom(request: &SbomRequest) -> Result<SbomOutcome> {
    let text = read_text(&request.lockfile, LOCKFILE_LIMIT)?;
    let workspace_name = request
        .lockfile
        .canonicalize()
        .ok()
        .and_then(|p| {
            p.parent()
                .and_then(|d| d.file_name())
                .map(|n| n.to_string_lossy().into_owned())
        })
        .unwrap_or_else(|| "workspace".to_owned());
    let info = SbomInfo {
        timestamp: timestamp(request.source_date_epoch.as_deref())?,
        tool_version: env!("CARGO_PKG_VERSION"),
        workspace_name: &workspace_name,
    };
    let bom = cyclonedx_from_cargo_lock(&text, &info)
        .map_err(|e| lockfile_error(&request.lockfile, &e))?;
    let mut bytes = serde_json::to_vec_pretty(&bom)
        .map_err(|e| Error::new(Code::Internal, format!("cannot serialise the SBOM: {e}")))?;
    bytes.push(b'\n');
    write_atomic(&request.out, &bytes, Overwrite::Replace, Visibility::Public)?;
    Ok(SbomOutcome {
        out: request.out.clone(),
        serial_number: bom["serialNumber"].as_str().unwrap_or_default().to_owned(),
        components: bom["components"].as_array().map_or(0, Vec::len),
    })
}

/// Signs the SBOM at `sbom` as an in-toto attestation (predicate type
/// `https://cyclonedx.org/bom`) about `subject` (its SHA-256), written to `bundle`.
pub fn attest_sbom(
    sbom: &Path,
    subject: &Path,
    signer: &dyn Signer,
    bundle: &Path,
    logger: Logger<'_>,
) -> Result<Signed> {
    attest_file(
        subject,
        signer,
        CYCLONEDX_PREDICATE_TYPE,
        sbom,
        bundle,
        logger,
    )
}

/// The default attestation path: `SUBJECT.sbom.intoto.sigstore.json`.
pub fn default_sbom_bundle_path(subject: &Path) -> PathBuf {
    let mut s = subject.as_os_str().to_owned();
    s.push(".sbom.intoto.sigstore.json");
    s.into()
}

/// What `custody scan` reads the packages from.
#[derive(Debug, Clone)]
pub enum ScanInput {
    /// A Cargo.lock.
    Lockfile(PathBuf),
    /// A CycloneDX JSON SBOM.
    Sbom(PathBuf),
}

/// SBOMs larger than this are refused.
pub const SBOM_LIMIT: u64 = 64 * 1024 * 1024;
/// Advisory files larger than this are refused.
pub const ADVISORY_LIMIT: u64 = 4 * 1024 * 1024;

/// The outcome of a scan.
#[derive(Debug, Clone)]
pub struct ScanReport {
    /// How many packages were checked.
    pub packages: usize,
    /// How many advisories were read (withdrawn ones included).
    pub advisories: usize,
    /// How many of them are withdrawn (and were ignored).
    pub withdrawn: usize,
    /// Vulnerabilities: findings of advisories that are not informational.
    pub vulnerabilities: Vec<Finding>,
    /// Findings of informational advisories (unmaintained, unsound, ...): warnings.
    pub warnings: Vec<Finding>,
}

impl ScanReport {
    /// The report as JSON (`--json` output and `--report` files).
    pub fn to_json(&self) -> serde_json::Value {
        let list = |findings: &[Finding]| -> Vec<serde_json::Value> {
            findings
                .iter()
                .map(|f| {
                    serde_json::json!({
                        "package": f.package.name,
                        "version": f.package.version,
                        "purl": format!("pkg:cargo/{}@{}", f.package.name, f.package.version),
                        "id": f.id,
                        "aliases": f.aliases,
                        "summary": f.summary,
                        "severity": f.severity,
                        "informational": f.informational,
                        "fixed": f.fixed,
                    })
                })
                .collect()
        };
        serde_json::json!({
            "packages": self.packages,
            "advisories": self.advisories,
            "withdrawn": self.withdrawn,
            "affected": !self.vulnerabilities.is_empty(),
            "vulnerabilities": list(&self.vulnerabilities),
            "warnings": list(&self.warnings),
        })
    }
}

/// One line per finding: `NAME VERSION: ID (ALIASES) SUMMARY; fixed in ...`.
pub fn describe(finding: &Finding) -> String {
    let mut line = format!(
        "{} {}: {}",
        finding.package.name, finding.package.version, finding.id
    );
    if !finding.aliases.is_empty() {
        line.push_str(&format!(" ({})", finding.aliases.join(", ")));
    }
    if let Some(kind) = &finding.informational {
        line.push_str(&format!(" [{kind}]"));
    }
    if let Some(severity) = &finding.severity {
        line.push_str(&format!(" severity {severity}"));
    }
    if let Some(summary) = &finding.summary {
        line.push_str(&format!(": {summary}"));
    }
    if !finding.fixed.is_empty() {
        line.push_str(&format!("; fixed in {}", finding.fixed.join(", ")));
    }
    line
}

/// Reads every `*.json` file under `dir` (recursively) as an OSV advisory. A file that is not
/// one fails the scan (`CUSTODY-E2062`), and so does a directory without any advisory.
pub fn read_advisories(dir: &Path) -> Result<Vec<Advisory>> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> Result<()> {
        let entries = std::fs::read_dir(dir).map_err(|e| Error::read(dir, &e))?;
        for entry in entries {
            let entry = entry.map_err(|e| Error::read(dir, &e))?;
            let path = entry.path();
            let kind = entry.file_type().map_err(|e| Error::read(&path, &e))?;
            if kind.is_dir() {
                walk(&path, out)?;
            } else if path.extension().is_some_and(|x| x == "json") {
                out.push(path);
            }
        }
        Ok(())
    }
    let mut files = Vec::new();
    walk(dir, &mut files)?;
    files.sort();
    if files.is_empty() {
        return Err(Error::new(
            Code::AdvisoryInvalid,
            format!(
                "'{}' holds no advisories (*.json); a scan against nothing proves nothing",
                dir.display()
            ),
        ));
    }
    files
        .iter()
        .map(|path| {
            let bytes = read_limited(path, ADVISORY_LIMIT)?;
            parse_advisory(&bytes).map_err(|e| {
                Error::new(
                    Code::AdvisoryInvalid,
                    format!("'{}': {}", path.display(), e.message()),
                )
            })
        })
        .collect()
}

/// Reads the packages and the advisories and matches them.
pub fn scan(input: &ScanInput, advisory_dir: &Path) -> Result<ScanReport> {
    let packages = match input {
        ScanInput::Lockfile(path) => {
            let text = read_text(path, LOCKFILE_LIMIT)?;
            packages_from_cargo_lock(&text).map_err(|e| lockfile_error(path, &e))?
        }
        ScanInput::Sbom(path) => {
            let sbom_error =
                |m: String| Error::new(Code::SbomInvalid, format!("'{}': {m}", path.display()));
            let bytes = read_limited(path, SBOM_LIMIT)?;
            let bom: serde_json::Value =
                serde_json::from_slice(&bytes).map_err(|e| sbom_error(format!("not JSON: {e}")))?;
            packages_from_cyclonedx(&bom).map_err(|e| sbom_error(e.message().to_owned()))?
        }
    };
    let advisories = read_advisories(advisory_dir)?;
    let findings = custody_build::scan::scan(&packages, &advisories).map_err(|e| {
        let code = match input {
            ScanInput::Lockfile(_) => Code::LockfileInvalid,
            ScanInput::Sbom(_) => Code::SbomInvalid,
        };
        Error::new(code, e.message().to_owned())
    })?;
    let (warnings, vulnerabilities) = findings
        .into_iter()
        .partition(|f| f.informational.is_some());
    Ok(ScanReport {
        packages: packages.len(),
        advisories: advisories.len(),
        withdrawn: advisories.iter().filter(|a| a.withdrawn).count(),
        vulnerabilities,
        warnings,
    })
}

/// Writes a scan report as JSON (atomically).
pub fn write_report(report: &ScanReport, path: &Path) -> Result<()> {
    let mut bytes = serde_json::to_vec_pretty(&report.to_json())
        .map_err(|e| Error::new(Code::Internal, format!("cannot serialise the report: {e}")))?;
    bytes.push(b'\n');
    write_atomic(path, &bytes, Overwrite::Replace, Visibility::Public)
}

/// The error a scan with vulnerabilities ends with (`CUSTODY-E1080`), listing them.
pub fn affected_error(report: &ScanReport) -> Error {
    let list: Vec<String> = report.vulnerabilities.iter().map(describe).collect();
    Error::new(
        Code::VulnerablePackages,
        format!(
            "{} vulnerable package version(s) found: {}",
            report.vulnerabilities.len(),
            list.join("; ")
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn source_date_epoch_sets_the_timestamp_and_garbage_is_refused() {
        let t = timestamp(Some("1700000000")).unwrap();
        assert_eq!(t.unix_timestamp(), 1_700_000_000);
        let err = timestamp(Some("yesterday")).unwrap_err();
        assert_eq!(err.code(), Code::InvalidArgument);
        assert!(timestamp(None).is_ok());
    }
}
