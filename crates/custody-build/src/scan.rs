//! Offline vulnerability matching: packages (from a Cargo.lock or a CycloneDX SBOM) against
//! OSV advisories (RustSec's OSV export: one `RUSTSEC-YYYY-NNNN.json` per advisory).
//!
//! An advisory affects a package when one of its `affected` entries names the ecosystem
//! `crates.io` and the package's name, and the package's version is listed in `versions` or
//! lies in one of its `SEMVER` ranges. A range is evaluated as the OSV schema describes:
//! its events sorted by version (build metadata ignored, pre-releases ordered before their
//! release as semver says), `introduced` opens an affected interval, `fixed` closes it (the
//! fixed version is not affected), `last_affected` closes it after that version, and `limit`
//! events bound the whole range. Withdrawn advisories are ignored. Ranges of other types
//! (`ECOSYSTEM`, `GIT`) cannot be evaluated over semver versions and are not used; a version
//! in a `SEMVER` range that is not semver, or an unknown event, makes the advisory unreadable
//! (the scan fails rather than report fewer findings).

use std::cmp::Ordering;
use std::collections::BTreeMap;

use semver::Version;
use serde::Deserialize;
use serde_json::Value;

use crate::error::{Error, ErrorKind};

/// The OSV ecosystem name of crates.io packages.
pub const CRATES_IO: &str = "crates.io";

/// A package to check: a name on crates.io and an exact version.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Package {
    /// The crate name.
    pub name: String,
    /// The exact version.
    pub version: String,
}

/// One advisory, as far as matching needs it.
#[derive(Debug, Clone)]
pub struct Advisory {
    /// The advisory id, e.g. `RUSTSEC-2024-0001`.
    pub id: String,
    /// Other ids of the same vulnerability (CVE, GHSA).
    pub aliases: Vec<String>,
    /// The one-line summary, if any.
    pub summary: Option<String>,
    /// The severity: `database_specific.severity`, else the first `severity[]` entry as
    /// `TYPE:SCORE`.
    pub severity: Option<String>,
    /// RustSec's `database_specific.informational` kind (`unmaintained`, `unsound`, ...), if
    /// the advisory is informational rather than a vulnerability.
    pub informational: Option<String>,
    /// Whether the advisory was withdrawn.
    pub withdrawn: bool,
    affected: Vec<Affected>,
}

#[derive(Debug, Clone)]
struct Affected {
    name: String,
    versions: Vec<String>,
    ranges: Vec<Vec<Event>>,
}

#[derive(Debug, Clone)]
enum Event {
    Introduced(Option<Version>),
    Fixed(Version),
    LastAffected(Version),
    Limit(Version),
}

impl Event {
    fn version(&self) -> Option<&Version> {
        match self {
            Self::Introduced(v) => v.as_ref(),
            Self::Fixed(v) | Self::LastAffected(v) | Self::Limit(v) => Some(v),
        }
    }
}

/// A package affected by an advisory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// The affected package.
    pub package: Package,
    /// The advisory id.
    pub id: String,
    /// The advisory's aliases.
    pub aliases: Vec<String>,
    /// The advisory's summary.
    pub summary: Option<String>,
    /// The advisory's severity.
    pub severity: Option<String>,
    /// The informational kind, when the advisory is not a vulnerability.
    pub informational: Option<String>,
    /// The versions the advisory's ranges name as fixed.
    pub fixed: Vec<String>,
}

#[derive(Deserialize)]
struct RawAdvisory {
    id: String,
    #[serde(default)]
    aliases: Vec<String>,
    summary: Option<String>,
    withdrawn: Option<String>,
    #[serde(default)]
    severity: Vec<RawSeverity>,
    database_specific: Option<Value>,
    #[serde(default)]
    affected: Vec<RawAffected>,
}

#[derive(Deserialize)]
struct RawSeverity {
    #[serde(rename = "type")]
    kind: String,
    score: String,
}

#[derive(Deserialize)]
struct RawAffected {
    package: Option<RawPackage>,
    #[serde(default)]
    ranges: Vec<RawRange>,
    #[serde(default)]
    versions: Vec<String>,
}

#[derive(Deserialize)]
struct RawPackage {
    ecosystem: String,
    name: String,
}

#[derive(Deserialize)]
struct RawRange {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    events: Vec<BTreeMap<String, String>>,
}

fn advisory_error(message: String) -> Error {
    Error::new(ErrorKind::Advisory, message)
}

fn parse_version(id: &str, text: &str) -> Result<Version, Error> {
    Version::parse(text).map_err(|e| {
        advisory_error(format!(
            "advisory {id}: '{text}' in a SEMVER range is not a semver version: {e}"
        ))
    })
}

/// Reads one OSV advisory (JSON). Entries of other ecosystems are dropped.
pub fn parse_advisory(bytes: &[u8]) -> Result<Advisory, Error> {
    let raw: RawAdvisory = serde_json::from_slice(bytes)
        .map_err(|e| advisory_error(format!("not an OSV advisory: {e}")))?;
    let id = raw.id;
    if id.is_empty() {
        return Err(advisory_error(
            "an OSV advisory with an empty id".to_owned(),
        ));
    }
    let db = raw.database_specific.unwrap_or(Value::Null);
    let severity = db
        .get("severity")
        .and_then(Value::as_str)
        .map(str::to_owned)
        .or_else(|| {
            raw.severity
                .first()
                .map(|s| format!("{}:{}", s.kind, s.score))
        });
    let informational = db
        .get("informational")
        .and_then(Value::as_str)
        .map(str::to_owned);
    let mut affected = Vec::new();
    for a in raw.affected {
        let Some(package) = a.package else { continue };
        if package.ecosystem != CRATES_IO {
            continue;
        }
        let mut ranges = Vec::new();
        for r in a.ranges.iter().filter(|r| r.kind == "SEMVER") {
            let mut events = Vec::new();
            for e in &r.events {
                let [(kind, value)] = e.iter().collect::<Vec<_>>()[..] else {
                    return Err(advisory_error(format!(
                        "advisory {id}: a range event must have exactly one field"
                    )));
                };
                events.push(match kind.as_str() {
                    "introduced" if value == "0" => Event::Introduced(None),
                    "introduced" => Event::Introduced(Some(parse_version(&id, value)?)),
                    "fixed" => Event::Fixed(parse_version(&id, value)?),
                    "last_affected" => Event::LastAffected(parse_version(&id, value)?),
                    "limit" if value == "*" => continue,
                    "limit" => Event::Limit(parse_version(&id, value)?),
                    other => {
                        return Err(advisory_error(format!(
                            "advisory {id}: unknown range event '{other}'"
                        )));
                    }
                });
            }
            ranges.push(events);
        }
        affected.push(Affected {
            name: package.name,
            versions: a.versions,
            ranges,
        });
    }
    Ok(Advisory {
        id,
        aliases: raw.aliases,
        summary: raw.summary,
        severity,
        informational,
        withdrawn: raw.withdrawn.is_some(),
        affected,
    })
}

/// Semver precedence without build metadata (OSV: build metadata does not order versions).
fn precedence(a: &Version, b: &Version) -> Ordering {
    (a.major, a.minor, a.patch)
        .cmp(&(b.major, b.minor, b.patch))
        .then_with(|| a.pre.cmp(&b.pre))
}

/// Whether `v` lies in the range described by `events`.
fn in_range(v: &Version, events: &[Event]) -> bool {
    let limits: Vec<&Version> = events
        .iter()
        .filter_map(|e| match e {
            Event::Limit(l) => Some(l),
            _ => None,
        })
        .collect();
    if !limits.is_empty() && limits.iter().all(|l| precedence(v, l) != Ordering::Less) {
        return false;
    }
    let mut sorted: Vec<&Event> = events
        .iter()
        .filter(|e| !matches!(e, Event::Limit(_)))
        .collect();
    // "introduced: 0" sorts first.
    sorted.sort_by(|a, b| match (a.version(), b.version()) {
        (None, None) => Ordering::Equal,
        (None, Some(_)) => Ordering::Less,
        (Some(_), None) => Ordering::Greater,
        (Some(x), Some(y)) => precedence(x, y),
    });
    let mut affected = false;
    for event in sorted {
        match event {
            Event::Introduced(None) => affected = true,
            Event::Introduced(Some(i)) if precedence(v, i) != Ordering::Less => affected = true,
            Event::Fixed(f) if precedence(v, f) != Ordering::Less => affected = false,
            Event::LastAffected(l) if precedence(v, l) == Ordering::Greater => affected = false,
            _ => {}
        }
    }
    affected
}

/// Matches packages against advisories; findings are sorted by package, then advisory id.
/// A package version that is not semver is refused (`ErrorKind::Usage`): it could not be
/// placed in any range, and skipping it would hide a finding.
pub fn scan(packages: &[Package], advisories: &[Advisory]) -> Result<Vec<Finding>, Error> {
    let mut by_name: BTreeMap<&str, Vec<(&Advisory, &Affected)>> = BTreeMap::new();
    for advisory in advisories.iter().filter(|a| !a.withdrawn) {
        for affected in &advisory.affected {
            by_name
                .entry(affected.name.as_str())
                .or_default()
                .push((advisory, affected));
        }
    }
    let mut findings = Vec::new();
    for package in packages {
        let Some(candidates) = by_name.get(package.name.as_str()) else {
            continue;
        };
        let version = Version::parse(&package.version).map_err(|e| {
            Error::new(
                ErrorKind::Usage,
                format!(
                    "{} {}: the version is not semver: {e}",
                    package.name, package.version
                ),
            )
        })?;
        for (advisory, affected) in candidates {
            let listed = affected.versions.contains(&package.version);
            let ranged = affected.ranges.iter().any(|r| in_range(&version, r));
            if !(listed || ranged) {
                continue;
            }
            if findings
                .iter()
                .any(|f: &Finding| f.package == *package && f.id == advisory.id)
            {
                continue;
            }
            let fixed = affected
                .ranges
                .iter()
                .flatten()
                .filter_map(|e| match e {
                    Event::Fixed(f) => Some(f.to_string()),
                    _ => None,
                })
                .collect();
            findings.push(Finding {
                package: package.clone(),
                id: advisory.id.clone(),
                aliases: advisory.aliases.clone(),
                summary: advisory.summary.clone(),
                severity: advisory.severity.clone(),
                informational: advisory.informational.clone(),
                fixed,
            });
        }
    }
    findings.sort_by(|a, b| a.package.cmp(&b.package).then_with(|| a.id.cmp(&b.id)));
    Ok(findings)
}

/// Every package of a Cargo.lock (registry, git and path packages alike: a name and version
/// is all matching needs). The lockfile must be a valid one ([`crate::lockfile`]).
pub fn packages_from_cargo_lock(text: &str) -> Result<Vec<Package>, Error> {
    #[derive(Deserialize)]
    struct Lock {
        #[serde(default)]
        package: Vec<Package2>,
    }
    #[derive(Deserialize)]
    struct Package2 {
        name: String,
        version: String,
    }
    crate::lockfile::parse_cargo_lock(text)?;
    let lock: Lock = toml::from_str(text).map_err(|e| {
        Error::new(
            ErrorKind::Lockfile,
            format!("Cargo.lock is not a lockfile: {}", e.message()),
        )
    })?;
    Ok(lock
        .package
        .into_iter()
        .map(|p| Package {
            name: p.name,
            version: p.version,
        })
        .collect())
}

/// The crates.io packages of a CycloneDX JSON SBOM: every component (nested ones and
/// `metadata.component` included) whose `purl` is `pkg:cargo/NAME@VERSION`. Components of
/// other ecosystems are not scanned.
pub fn packages_from_cyclonedx(bom: &Value) -> Result<Vec<Package>, Error> {
    let sbom_error = |m: String| Error::new(ErrorKind::Sbom, m);
    if bom.get("bomFormat").and_then(Value::as_str) != Some("CycloneDX") {
        return Err(sbom_error("bomFormat is not CycloneDX".to_owned()));
    }
    fn walk<'a>(components: Option<&'a Value>, out: &mut Vec<&'a Value>) {
        if let Some(list) = components.and_then(Value::as_array) {
            for c in list {
                out.push(c);
                walk(c.get("components"), out);
            }
        }
    }
    let mut all = Vec::new();
    if let Some(subject) = bom.get("metadata").and_then(|m| m.get("component")) {
        all.push(subject);
        walk(subject.get("components"), &mut all);
    }
    walk(bom.get("components"), &mut all);
    let mut out = Vec::new();
    for c in all {
        let Some(purl) = c.get("purl").and_then(Value::as_str) else {
            continue;
        };
        let Some(rest) = purl.strip_prefix("pkg:cargo/") else {
            continue;
        };
        let rest = rest.split(['?', '#']).next().unwrap_or_default();
        let Some((name, version)) = rest.split_once('@') else {
            return Err(sbom_error(format!("the purl '{purl}' has no version")));
        };
        if name.is_empty() || version.is_empty() {
            return Err(sbom_error(format!("the purl '{purl}' is incomplete")));
        }
        let package = Package {
            name: name.to_owned(),
            version: version.to_owned(),
        };
        if !out.contains(&package) {
            out.push(package);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn advisory(v: Value) -> Advisory {
        parse_advisory(v.to_string().as_bytes()).unwrap()
    }

    fn pkg(name: &str, version: &str) -> Package {
        Package {
            name: name.into(),
            version: version.into(),
        }
    }

    fn hit(adv: &Advisory, name: &str, version: &str) -> bool {
        !scan(&[pkg(name, version)], std::slice::from_ref(adv))
            .unwrap()
            .is_empty()
    }

    fn simple(events: Value) -> Advisory {
        advisory(json!({
            "id": "RUSTSEC-2099-0001",
            "affected": [{
                "package": {"ecosystem": "crates.io", "name": "foo"},
                "ranges": [{"type": "SEMVER", "events": events}],
            }],
        }))
    }

    #[test]
    fn introduced_and_fixed_bound_the_affected_versions() {
        let a = simple(json!([{"introduced": "1.2.0"}, {"fixed": "1.4.1"}]));
        assert!(!hit(&a, "foo", "1.1.9"));
        assert!(hit(&a, "foo", "1.2.0"));
        assert!(hit(&a, "foo", "1.4.0"));
        assert!(
            !hit(&a, "foo", "1.4.1"),
            "the fixed version is not affected"
        );
        assert!(!hit(&a, "foo", "2.0.0"));
        assert!(!hit(&a, "bar", "1.3.0"), "another crate is not affected");
        let open = simple(json!([{"introduced": "0"}]));
        assert!(hit(&open, "foo", "0.0.1"));
        assert!(hit(&open, "foo", "99.0.0"));
    }

    #[test]
    fn several_ranges_and_interleaved_events() {
        // Two ranges in one entry, and a second interval inside one range.
        let a = advisory(json!({
            "id": "RUSTSEC-2099-0002",
            "affected": [{
                "package": {"ecosystem": "crates.io", "name": "foo"},
                "ranges": [
                    {"type": "SEMVER", "events": [{"introduced": "0"}, {"fixed": "0.3.2"}]},
                    {"type": "SEMVER", "events": [
                        {"fixed": "1.5.0"}, {"introduced": "1.0.0"},
                        {"introduced": "2.0.0"}, {"fixed": "2.1.0"}
                    ]},
                ],
            }],
        }));
        for (v, expected) in [
            ("0.1.0", true),
            ("0.3.2", false),
            ("0.9.0", false),
            ("1.0.0", true),
            ("1.4.9", true),
            ("1.5.0", false),
            ("1.9.0", false),
            ("2.0.5", true),
            ("2.1.0", false),
        ] {
            assert_eq!(hit(&a, "foo", v), expected, "{v}");
        }
    }

    #[test]
    fn last_affected_and_limit() {
        let a = simple(json!([{"introduced": "1.0.0"}, {"last_affected": "1.2.3"}]));
        assert!(hit(&a, "foo", "1.2.3"));
        assert!(!hit(&a, "foo", "1.2.4"));
        let b = simple(json!([{"introduced": "0"}, {"limit": "2.0.0"}]));
        assert!(hit(&b, "foo", "1.9.9"));
        assert!(!hit(&b, "foo", "2.0.0"));
    }

    #[test]
    fn pre_releases_order_before_their_release_and_build_metadata_is_ignored() {
        let a = simple(json!([{"introduced": "1.0.0-alpha.2"}, {"fixed": "1.0.0"}]));
        assert!(!hit(&a, "foo", "1.0.0-alpha.1"));
        assert!(hit(&a, "foo", "1.0.0-alpha.2"));
        assert!(
            hit(&a, "foo", "1.0.0-rc.1"),
            "a release candidate precedes the fix"
        );
        assert!(!hit(&a, "foo", "1.0.0"));
        assert!(
            !hit(&a, "foo", "1.0.0+build.5"),
            "build metadata does not order"
        );
        let b = simple(json!([{"introduced": "0"}, {"fixed": "2.0.0-beta.1"}]));
        assert!(hit(&b, "foo", "2.0.0-alpha.9"));
        assert!(!hit(&b, "foo", "2.0.0-beta.1"));
        assert!(!hit(&b, "foo", "2.0.0"));
    }

    #[test]
    fn withdrawn_other_ecosystems_and_other_range_types_do_not_match() {
        let withdrawn = advisory(json!({
            "id": "RUSTSEC-2099-0003",
            "withdrawn": "2024-01-01T00:00:00Z",
            "affected": [{
                "package": {"ecosystem": "crates.io", "name": "foo"},
                "ranges": [{"type": "SEMVER", "events": [{"introduced": "0"}]}],
            }],
        }));
        assert!(withdrawn.withdrawn);
        assert!(!hit(&withdrawn, "foo", "1.0.0"));
        let other = advisory(json!({
            "id": "GHSA-xxxx",
            "affected": [
                {"package": {"ecosystem": "npm", "name": "foo"},
                 "ranges": [{"type": "SEMVER", "events": [{"introduced": "0"}]}]},
                {"package": {"ecosystem": "crates.io", "name": "foo"},
                 "ranges": [{"type": "GIT", "repo": "https://x", "events": [{"introduced": "abc"}]}]},
            ],
        }));
        assert!(!hit(&other, "foo", "1.0.0"));
    }

    #[test]
    fn listed_versions_match_and_findings_carry_the_advisory() {
        let a = advisory(json!({
            "id": "RUSTSEC-2099-0004",
            "aliases": ["CVE-2099-1234", "GHSA-aaaa-bbbb-cccc"],
            "summary": "foo does a bad thing",
            "severity": [{"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}],
            "database_specific": {"informational": "unsound"},
            "affected": [{
                "package": {"ecosystem": "crates.io", "name": "foo"},
                "versions": ["0.7.1"],
                "ranges": [{"type": "SEMVER", "events": [{"introduced": "0"}, {"fixed": "0.5.0"}]}],
            }],
        }));
        let findings = scan(
            &[
                pkg("foo", "0.7.1"),
                pkg("foo", "0.7.2"),
                pkg("bar", "1.0.0"),
            ],
            &[a],
        )
        .unwrap();
        assert_eq!(findings.len(), 1);
        let f = &findings[0];
        assert_eq!(f.package, pkg("foo", "0.7.1"));
        assert_eq!(f.id, "RUSTSEC-2099-0004");
        assert_eq!(f.aliases, ["CVE-2099-1234", "GHSA-aaaa-bbbb-cccc"]);
        assert_eq!(f.fixed, ["0.5.0"]);
        assert_eq!(f.informational.as_deref(), Some("unsound"));
        assert!(
            f.severity
                .as_deref()
                .unwrap()
                .starts_with("CVSS_V3:CVSS:3.1/")
        );
        let sev = advisory(json!({
            "id": "X-1", "database_specific": {"severity": "high"},
            "severity": [{"type": "CVSS_V3", "score": "x"}],
        }));
        assert_eq!(sev.severity.as_deref(), Some("high"));
    }

    #[test]
    fn malformed_advisories_and_versions_are_refused() {
        for bad in [
            json!({"affected": []}),
            json!({"id": ""}),
            json!({"id": "A", "affected": [{"package": {"ecosystem": "crates.io", "name": "foo"},
                "ranges": [{"type": "SEMVER", "events": [{"introduced": "1.0"}]}]}]}),
            json!({"id": "A", "affected": [{"package": {"ecosystem": "crates.io", "name": "foo"},
                "ranges": [{"type": "SEMVER", "events": [{"removed": "1.0.0"}]}]}]}),
            json!({"id": "A", "affected": [{"package": {"ecosystem": "crates.io", "name": "foo"},
                "ranges": [{"type": "SEMVER", "events": [{"introduced": "0", "fixed": "1.0.0"}]}]}]}),
        ] {
            let err = parse_advisory(bad.to_string().as_bytes()).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::Advisory, "{bad}");
        }
        assert!(parse_advisory(b"not json").is_err());
        let a = simple(json!([{"introduced": "0"}]));
        let err = scan(&[pkg("foo", "one")], &[a]).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Usage);
    }

    #[test]
    fn packages_come_from_cyclonedx_purls_and_lockfiles() {
        let bom = json!({
            "bomFormat": "CycloneDX",
            "metadata": {"component": {"name": "app", "purl": "pkg:cargo/app@0.1.0"}},
            "components": [
                {"name": "foo", "purl": "pkg:cargo/foo@1.2.3?vcs_url=x#sub",
                 "components": [{"name": "inner", "purl": "pkg:cargo/inner@0.0.1"}]},
                {"name": "left-pad", "purl": "pkg:npm/left-pad@1.0.0"},
                {"name": "nopurl"},
            ],
        });
        let packages = packages_from_cyclonedx(&bom).unwrap();
        assert_eq!(
            packages,
            [
                pkg("app", "0.1.0"),
                pkg("foo", "1.2.3"),
                pkg("inner", "0.0.1")
            ]
        );
        let spdx = json!({"spdxVersion": "SPDX-2.3"});
        assert_eq!(
            packages_from_cyclonedx(&spdx).unwrap_err().kind(),
            ErrorKind::Sbom
        );
        let bad = json!({"bomFormat": "CycloneDX", "components": [{"purl": "pkg:cargo/foo"}]});
        assert_eq!(
            packages_from_cyclonedx(&bad).unwrap_err().kind(),
            ErrorKind::Sbom
        );
        let lock = "version = 4\n[[package]]\nname = \"app\"\nversion = \"0.1.0\"\n";
        assert_eq!(
            packages_from_cargo_lock(lock).unwrap(),
            [pkg("app", "0.1.0")]
        );
    }
}
