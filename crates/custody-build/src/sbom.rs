//! A CycloneDX 1.6 JSON SBOM derived from a Cargo.lock.
//!
//! Every package of the lockfile becomes a component with a package URL
//! (`pkg:cargo/NAME@VERSION`); registry packages carry the lockfile's SHA-256 checksum of the
//! `.crate` file as their hash, git packages a `vcs` external reference naming the pinned
//! commit. The lockfile's `dependencies` lists become the BOM's dependency graph.
//!
//! The workspace's root packages (path packages no other package depends on) are the BOM's
//! subject, `metadata.component`: the one root itself, or, for several roots, an `application`
//! component named after the workspace holding them as nested components.
//!
//! The serial number is derived from the content: the SHA-256 of the components and the
//! dependency graph, its first 16 bytes laid out as a UUID with version nibble 5 and the RFC 4122
//! variant (the layout of a name-based UUID; the hash is SHA-256, not version 5's SHA-1). The
//! same lockfile therefore always yields the same serial number; only `metadata.timestamp`
//! differs between runs, and it comes from the caller (`SOURCE_DATE_EPOCH` in custody).

use std::collections::{BTreeMap, BTreeSet};

use serde::Deserialize;
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::error::{Error, ErrorKind};
use crate::lockfile::{Pin, parse_cargo_lock};

/// The in-toto predicate type of a CycloneDX BOM.
pub const CYCLONEDX_PREDICATE_TYPE: &str = "https://cyclonedx.org/bom";

/// The CycloneDX specification version written.
pub const SPEC_VERSION: &str = "1.6";

/// What describes the BOM beyond the lockfile.
#[derive(Debug, Clone)]
pub struct SbomInfo<'a> {
    /// `metadata.timestamp` (whole seconds are written).
    pub timestamp: OffsetDateTime,
    /// The version of custody recorded as the tool.
    pub tool_version: &'a str,
    /// The workspace's name, used for `metadata.component` when it has several roots.
    pub workspace_name: &'a str,
}

#[derive(Deserialize)]
struct RawLock {
    #[serde(default)]
    package: Vec<RawPackage>,
}

#[derive(Deserialize)]
struct RawPackage {
    name: String,
    version: String,
    source: Option<String>,
    #[serde(default)]
    dependencies: Vec<String>,
}

/// One package of the lockfile as the BOM sees it.
struct Package {
    name: String,
    version: String,
    source: Option<String>,
    pin: Option<Pin>,
    dependencies: Vec<String>,
    bom_ref: String,
}

fn lockfile_error(message: String) -> Error {
    Error::new(ErrorKind::Lockfile, message)
}

/// Builds the SBOM of a Cargo.lock. A registry package without a SHA-256 checksum, a git
/// package without a commit, or a dependency naming no package (or more than one) is refused.
pub fn cyclonedx_from_cargo_lock(text: &str, info: &SbomInfo<'_>) -> Result<Value, Error> {
    // The pins (checksums, commits) are validated by the lockfile module.
    let pins = parse_cargo_lock(text)?;
    let raw: RawLock = toml::from_str(text)
        .map_err(|e| lockfile_error(format!("Cargo.lock is not a lockfile: {}", e.message())))?;
    let mut packages = Vec::with_capacity(raw.package.len());
    for p in raw.package {
        let pin = match &p.source {
            None => None,
            Some(_) => Some(
                pins.iter()
                    .find(|l| l.name == p.name && l.version == p.version)
                    .map(|l| l.pin.clone())
                    .ok_or_else(|| {
                        lockfile_error(format!("Cargo.lock: {} {} has no pin", p.name, p.version))
                    })?,
            ),
        };
        packages.push(Package {
            bom_ref: String::new(),
            name: p.name,
            version: p.version,
            source: p.source,
            pin,
            dependencies: p.dependencies,
        });
    }
    assign_refs(&mut packages);
    let edges = resolve_dependencies(&packages)?;

    let depended_on: BTreeSet<usize> = edges
        .iter()
        .flat_map(|(_, to)| to.iter().copied())
        .collect();
    let roots: Vec<usize> = (0..packages.len())
        .filter(|i| packages[*i].source.is_none() && !depended_on.contains(i))
        .collect();

    let components: Vec<Value> = (0..packages.len())
        .filter(|i| !roots.contains(i))
        .map(|i| component(&packages[i], "library"))
        .collect();
    let mut dependencies: Vec<Value> = edges
        .iter()
        .map(|(from, to)| {
            let mut refs: Vec<&str> = to.iter().map(|t| packages[*t].bom_ref.as_str()).collect();
            refs.sort_unstable();
            refs.dedup();
            json!({ "ref": packages[*from].bom_ref, "dependsOn": refs })
        })
        .collect();

    let subject = match roots.as_slice() {
        [only] => component(&packages[*only], "application"),
        _ => {
            let nested: Vec<Value> = roots
                .iter()
                .map(|i| component(&packages[*i], "application"))
                .collect();
            let workspace_ref = unique_ref(info.workspace_name, &packages);
            let mut root_refs: Vec<&str> = roots
                .iter()
                .map(|i| packages[*i].bom_ref.as_str())
                .collect();
            root_refs.sort_unstable();
            dependencies.push(json!({ "ref": workspace_ref, "dependsOn": root_refs }));
            json!({
                "type": "application",
                "bom-ref": workspace_ref,
                "name": info.workspace_name,
                "components": nested,
            })
        }
    };

    let serial = serial_number(&json!([subject, components, dependencies]));
    let timestamp = info
        .timestamp
        .replace_nanosecond(0)
        .unwrap_or(info.timestamp)
        .to_offset(time::UtcOffset::UTC)
        .format(&Rfc3339)
        .map_err(|e| {
            Error::new(
                ErrorKind::Usage,
                format!("the timestamp cannot be written: {e}"),
            )
        })?;
    Ok(json!({
        "$schema": "http://cyclonedx.org/schema/bom-1.6.schema.json",
        "bomFormat": "CycloneDX",
        "specVersion": SPEC_VERSION,
        "serialNumber": serial,
        "version": 1,
        "metadata": {
            "timestamp": timestamp,
            "tools": {
                "components": [{
                    "type": "application",
                    "name": "custody",
                    "version": info.tool_version,
                }],
            },
            "component": subject,
        },
        "components": components,
        "dependencies": dependencies,
    }))
}

/// `pkg:cargo/NAME@VERSION` as the bom-ref; a second package with the same name and version
/// (from another source) gets the source appended.
fn assign_refs(packages: &mut [Package]) {
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    for p in packages.iter() {
        *seen.entry(purl(&p.name, &p.version)).or_default() += 1;
    }
    for p in packages.iter_mut() {
        let base = purl(&p.name, &p.version);
        p.bom_ref = if seen.get(&base).copied().unwrap_or(0) > 1 {
            format!("{base}#{}", p.source.as_deref().unwrap_or("path"))
        } else {
            base
        };
    }
}

fn unique_ref(name: &str, packages: &[Package]) -> String {
    let mut candidate = format!("workspace:{name}");
    while packages.iter().any(|p| p.bom_ref == candidate) {
        candidate.push('_');
    }
    candidate
}

fn purl(name: &str, version: &str) -> String {
    format!("pkg:cargo/{name}@{version}")
}

/// Resolves each package's `dependencies` entries (`NAME`, `NAME VERSION` or
/// `NAME VERSION (SOURCE)`) to package indices.
fn resolve_dependencies(packages: &[Package]) -> Result<Vec<(usize, Vec<usize>)>, Error> {
    let mut edges = Vec::with_capacity(packages.len());
    for (i, p) in packages.iter().enumerate() {
        let mut to = Vec::with_capacity(p.dependencies.len());
        for dep in &p.dependencies {
            let mut parts = dep.splitn(3, ' ');
            let name = parts.next().unwrap_or_default();
            let version = parts.next();
            let source = parts
                .next()
                .map(|s| s.trim_start_matches('(').trim_end_matches(')'));
            let matches: Vec<usize> = packages
                .iter()
                .enumerate()
                .filter(|(_, c)| {
                    c.name == name
                        && version.is_none_or(|v| c.version == v)
                        && source.is_none_or(|s| c.source.as_deref() == Some(s))
                })
                .map(|(j, _)| j)
                .collect();
            match matches.as_slice() {
                [one] => to.push(*one),
                [] => {
                    return Err(lockfile_error(format!(
                        "Cargo.lock: {} {} depends on '{dep}', which is not in the lockfile",
                        p.name, p.version
                    )));
                }
                _ => {
                    return Err(lockfile_error(format!(
                        "Cargo.lock: {} {} depends on '{dep}', which names several packages",
                        p.name, p.version
                    )));
                }
            }
        }
        edges.push((i, to));
    }
    Ok(edges)
}

fn component(p: &Package, kind: &str) -> Value {
    let mut c = json!({
        "type": kind,
        "bom-ref": p.bom_ref,
        "name": p.name,
        "version": p.version,
        "purl": purl(&p.name, &p.version),
    });
    match &p.pin {
        Some(Pin::Registry { sha256, .. }) => {
            c["hashes"] = json!([{ "alg": "SHA-256", "content": sha256 }]);
        }
        Some(Pin::Git { url, commit }) => {
            c["externalReferences"] = json!([{
                "type": "vcs",
                "url": format!("git+{url}#{commit}"),
            }]);
        }
        _ => {}
    }
    c
}

/// `urn:uuid:` and a UUID laid out from the content's SHA-256 (version nibble 5, RFC 4122
/// variant).
fn serial_number(content: &Value) -> String {
    let digest = custody_crypto::sha256(content.to_string().as_bytes());
    let mut b = [0u8; 16];
    b.copy_from_slice(&digest.as_bytes()[..16]);
    b[6] = (b[6] & 0x0f) | 0x50;
    b[8] = (b[8] & 0x3f) | 0x80;
    let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "urn:uuid:{}-{}-{}-{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..]
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const SUM: &str = "3e4ec3a9a1a5f3c0e8b2d8a4f8ca39e6b0a1e2c0b8f2b6a7e3d2c1b0a9f8e7d6";
    const REG: &str = "registry+https://github.com/rust-lang/crates.io-index";

    fn info() -> SbomInfo<'static> {
        SbomInfo {
            timestamp: time::macros::datetime!(2024-05-01 12:00:00.5 UTC),
            tool_version: "0.1.0",
            workspace_name: "ws",
        }
    }

    fn lock(extra: &str) -> String {
        format!(
            r#"
version = 4

[[package]]
name = "app"
version = "0.1.0"
dependencies = ["itoa", "lib 0.2.0", "forked"]

[[package]]
name = "lib"
version = "0.2.0"
dependencies = ["itoa 1.0.15 ({REG})"]

[[package]]
name = "itoa"
version = "1.0.15"
source = "{REG}"
checksum = "{SUM}"

[[package]]
name = "forked"
version = "0.2.0"
source = "git+https://example.com/forked.git?branch=main#0123456789abcdef0123456789abcdef01234567"
{extra}"#
        )
    }

    #[test]
    fn one_root_is_the_subject_and_the_graph_is_resolved() {
        let bom = cyclonedx_from_cargo_lock(&lock(""), &info()).unwrap();
        assert_eq!(bom["specVersion"], "1.6");
        assert_eq!(bom["metadata"]["timestamp"], "2024-05-01T12:00:00Z");
        assert_eq!(bom["metadata"]["component"]["name"], "app");
        assert_eq!(bom["metadata"]["component"]["type"], "application");
        let components = bom["components"].as_array().unwrap();
        let names: Vec<&str> = components
            .iter()
            .map(|c| c["name"].as_str().unwrap())
            .collect();
        assert_eq!(names, ["lib", "itoa", "forked"]);
        let itoa = &components[1];
        assert_eq!(itoa["purl"], "pkg:cargo/itoa@1.0.15");
        assert_eq!(itoa["bom-ref"], "pkg:cargo/itoa@1.0.15");
        assert_eq!(itoa["hashes"][0]["alg"], "SHA-256");
        assert_eq!(itoa["hashes"][0]["content"], SUM);
        assert!(
            components[0].get("hashes").is_none(),
            "path packages have no hash"
        );
        assert_eq!(
            components[2]["externalReferences"][0]["url"],
            "git+https://example.com/forked.git#0123456789abcdef0123456789abcdef01234567"
        );
        let deps = bom["dependencies"].as_array().unwrap();
        let app = deps
            .iter()
            .find(|d| d["ref"] == "pkg:cargo/app@0.1.0")
            .unwrap();
        assert_eq!(
            app["dependsOn"],
            json!([
                "pkg:cargo/forked@0.2.0",
                "pkg:cargo/itoa@1.0.15",
                "pkg:cargo/lib@0.2.0"
            ])
        );
        let lib = deps
            .iter()
            .find(|d| d["ref"] == "pkg:cargo/lib@0.2.0")
            .unwrap();
        assert_eq!(lib["dependsOn"], json!(["pkg:cargo/itoa@1.0.15"]));
    }

    #[test]
    fn serial_number_is_deterministic_and_content_bound() {
        let a = cyclonedx_from_cargo_lock(&lock(""), &info()).unwrap();
        let mut later = info();
        later.timestamp = time::macros::datetime!(2030-01-01 0:00 UTC);
        let b = cyclonedx_from_cargo_lock(&lock(""), &later).unwrap();
        assert_eq!(a["serialNumber"], b["serialNumber"]);
        let serial = a["serialNumber"].as_str().unwrap();
        let uuid = serial.strip_prefix("urn:uuid:").unwrap();
        assert_eq!(uuid.len(), 36);
        assert_eq!(&uuid[14..15], "5");
        assert!(matches!(&uuid[19..20], "8" | "9" | "a" | "b"));
        let other = lock("\n[[package]]\nname = \"tool\"\nversion = \"1.0.0\"\n");
        let c = cyclonedx_from_cargo_lock(&other, &info()).unwrap();
        assert_ne!(a["serialNumber"], c["serialNumber"]);
    }

    #[test]
    fn several_roots_are_nested_under_the_workspace() {
        let text = lock(
            "\n[[package]]\nname = \"tool\"\nversion = \"1.0.0\"\ndependencies = [\"itoa\"]\n",
        );
        let bom = cyclonedx_from_cargo_lock(&text, &info()).unwrap();
        let subject = &bom["metadata"]["component"];
        assert_eq!(subject["name"], "ws");
        assert_eq!(subject["bom-ref"], "workspace:ws");
        let nested: Vec<&str> = subject["components"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["name"].as_str().unwrap())
            .collect();
        assert_eq!(nested, ["app", "tool"]);
        let components = bom["components"].as_array().unwrap();
        assert!(
            components
                .iter()
                .all(|c| c["name"] != "app" && c["name"] != "tool")
        );
        let ws = bom["dependencies"]
            .as_array()
            .unwrap()
            .iter()
            .find(|d| d["ref"] == "workspace:ws")
            .unwrap();
        assert_eq!(
            ws["dependsOn"],
            json!(["pkg:cargo/app@0.1.0", "pkg:cargo/tool@1.0.0"])
        );
    }

    #[test]
    fn dangling_or_ambiguous_dependencies_and_unpinned_packages_are_refused() {
        let dangling = lock("dependencies = [\"nothere\"]\n");
        let err = cyclonedx_from_cargo_lock(&dangling, &info()).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Lockfile);
        assert!(err.message().contains("nothere"), "{}", err.message());

        let twice = format!(
            "{}\n[[package]]\nname = \"itoa\"\nversion = \"0.4.0\"\nsource = \"{REG}\"\nchecksum = \"{SUM}\"\n",
            lock("")
        );
        let err = cyclonedx_from_cargo_lock(&twice, &info()).unwrap_err();
        assert!(err.message().contains("several"), "{}", err.message());

        let unpinned = lock("").replace(&format!("checksum = \"{SUM}\""), "");
        let err = cyclonedx_from_cargo_lock(&unpinned, &info()).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Lockfile);
    }

    #[test]
    fn this_repositorys_lockfile_lists_serde_with_its_checksum() {
        let text = include_str!("../../../Cargo.lock");
        let bom = cyclonedx_from_cargo_lock(text, &info()).unwrap();
        let serde = bom["components"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["name"] == "serde")
            .unwrap();
        assert!(
            serde["purl"]
                .as_str()
                .unwrap()
                .starts_with("pkg:cargo/serde@")
        );
        let sum = serde["hashes"][0]["content"].as_str().unwrap();
        assert!(text.contains(&format!("checksum = \"{sum}\"")));
        let subject = &bom["metadata"]["component"];
        let has_cli = subject["name"] == "custody-cli"
            || subject["components"]
                .as_array()
                .is_some_and(|c| c.iter().any(|c| c["name"] == "custody-cli"));
        assert!(has_cli, "{subject}");
    }
}
