//! The dependency rule between workspace crates, checked against `cargo metadata`.
//!
//! The design fixes one direction for internal dependencies:
//!
//! ```text
//! crypto ← formats ← {registry, policy, build, tuf}
//! crypto ← log
//! {log, registry, policy, build, tuf, store} ← app ← {server, cli}
//! api ← {server, cli}
//! ```
//!
//! [`ALLOWED_EDGES`] spells that out as the complete list of internal crates each workspace
//! crate may depend on (normal, build and dev dependencies alike). Anything else is a violation,
//! and so is a workspace crate that is missing from the table: a new crate must be declared with
//! its place in the layering before it can be built on. The one exception is
//! [`DEV_ONLY_CRATES`], which any crate may use as a dev-dependency.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::Command;

use serde_json::Value;

/// Every workspace crate and the internal crates it may depend on directly.
///
/// This is the single source of truth for the layering; keep it in step with ARCHITECTURE.md.
/// Crates that do not exist yet are declared already so that they are created in the right place.
pub const ALLOWED_EDGES: &[(&str, &[&str])] = &[
    // Leaf: digests, keys, signatures. No internal dependencies.
    ("custody-crypto", &[]),
    // Wire and signature formats, on top of crypto.
    ("custody-formats", &["custody-crypto"]),
    // Transparency log math and sequencer.
    ("custody-log", &["custody-crypto"]),
    // Domain crates built on formats. Siblings never depend on each other.
    ("custody-registry", &["custody-crypto", "custody-formats"]),
    ("custody-policy", &["custody-crypto", "custody-formats"]),
    ("custody-build", &["custody-crypto", "custody-formats"]),
    ("custody-tuf", &["custody-crypto", "custody-formats"]),
    // Environments, promotion history and approvals (pure).
    ("custody-deploy", &["custody-crypto", "custody-formats"]),
    // Storage backends implement the domain crates' traits.
    (
        "custody-store",
        &[
            "custody-crypto",
            "custody-formats",
            "custody-log",
            "custody-registry",
            "custody-tuf",
            "custody-deploy",
        ],
    ),
    // Use cases: the only crate that combines sibling domains.
    (
        "custody-app",
        &[
            "custody-crypto",
            "custody-formats",
            "custody-log",
            "custody-registry",
            "custody-policy",
            "custody-build",
            "custody-tuf",
            "custody-deploy",
            "custody-store",
        ],
    ),
    // HTTP wire DTOs, shared by the two adapters.
    ("custody-api", &["custody-crypto", "custody-formats"]),
    // Adapters over custody-app.
    (
        "custody-server",
        &[
            "custody-app",
            "custody-api",
            "custody-crypto",
            "custody-formats",
            "custody-log",
        ],
    ),
    // The `custody` binary embeds the server (`custody serve`), so the CLI may start it;
    // the server never depends on the CLI.
    (
        "custody-cli",
        &[
            "custody-app",
            "custody-api",
            "custody-crypto",
            "custody-formats",
            "custody-log",
            "custody-server",
        ],
    ),
    // Fixtures and vector loaders for tests.
    (
        "custody-test-support",
        &["custody-crypto", "custody-formats", "custody-log"],
    ),
    // Project automation depends on no product crate.
    ("xtask", &[]),
];

/// Crates that any workspace crate may use as a dev-dependency (and only as one).
pub const DEV_ONLY_CRATES: &[&str] = &["custody-test-support"];

/// Path of this file, for messages telling people where to edit the table.
const TABLE_LOCATION: &str = "xtask/src/layering.rs (ALLOWED_EDGES)";

/// Runs `cargo metadata --format-version 1 --no-deps --offline` for the workspace at `root`.
pub fn cargo_metadata(root: &Path) -> Result<String, String> {
    let manifest = root.join("Cargo.toml");
    let output = Command::new(crate::cargo())
        .args([
            "metadata",
            "--format-version",
            "1",
            "--no-deps",
            "--offline",
            "--manifest-path",
        ])
        .arg(&manifest)
        .output()
        .map_err(|error| format!("cannot run `cargo metadata`: {error}"))?;
    if !output.status.success() {
        return Err(format!(
            "`cargo metadata` failed ({}):\n{}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    String::from_utf8(output.stdout)
        .map_err(|error| format!("`cargo metadata` printed invalid UTF-8: {error}"))
}

/// Checks the internal dependency edges in `cargo metadata` output against [`ALLOWED_EDGES`].
///
/// Returns one message per violation.
pub fn check(metadata_json: &str) -> Result<(), Vec<String>> {
    check_against(metadata_json, ALLOWED_EDGES, DEV_ONLY_CRATES)
}

/// [`check`] against an explicit table, so that the checker itself can be tested.
pub fn check_against(
    metadata_json: &str,
    allowed_edges: &[(&str, &[&str])],
    dev_only: &[&str],
) -> Result<(), Vec<String>> {
    let members = workspace_members(metadata_json).map_err(|error| vec![error])?;
    let table: BTreeMap<&str, &[&str]> = allowed_edges.iter().copied().collect();
    let names: BTreeSet<&str> = members.keys().map(String::as_str).collect();

    let mut violations = Vec::new();
    for (name, dependencies) in &members {
        let Some(allowed) = table.get(name.as_str()) else {
            violations.push(format!(
                "workspace crate `{name}` is not declared in the layering table; declare it in \
                 {TABLE_LOCATION} with the internal crates it may depend on, following the \
                 design's direction"
            ));
            continue;
        };
        for dependency in dependencies {
            if !names.contains(dependency.name.as_str()) {
                continue;
            }
            let target = dependency.name.as_str();
            let is_allowed = allowed.contains(&target)
                || (dependency.kind == DependencyKind::Dev && dev_only.contains(&target));
            if !is_allowed {
                let may = if allowed.is_empty() {
                    "no internal crate".to_owned()
                } else {
                    allowed
                        .iter()
                        .map(|crate_name| format!("`{crate_name}`"))
                        .collect::<Vec<_>>()
                        .join(", ")
                };
                violations.push(format!(
                    "`{name}` -> `{target}` ({kind}) goes against the declared layering: `{name}` may \
                     depend on {may}; reverse or remove the edge, or, if the design changed, update \
                     {TABLE_LOCATION} and ARCHITECTURE.md",
                    kind = dependency.kind,
                ));
            }
        }
    }
    if violations.is_empty() {
        Ok(())
    } else {
        Err(violations)
    }
}

/// Checks that `allowed_edges` only names declared crates and contains no cycle.
pub fn check_table(allowed_edges: &[(&str, &[&str])]) -> Result<(), String> {
    let table: BTreeMap<&str, &[&str]> = allowed_edges.iter().copied().collect();
    if table.len() != allowed_edges.len() {
        return Err("a crate is declared twice in the layering table".to_owned());
    }
    for (name, targets) in &table {
        for target in *targets {
            if !table.contains_key(target) {
                return Err(format!(
                    "`{name}` -> `{target}`: `{target}` is not declared"
                ));
            }
        }
    }
    let mut colour: BTreeMap<&str, Colour> =
        table.keys().map(|name| (*name, Colour::White)).collect();
    for name in table.keys() {
        visit(name, &table, &mut colour, &mut Vec::new())?;
    }
    Ok(())
}

/// Depth-first search state: a grey node reached again closes a cycle.
#[derive(Clone, Copy, PartialEq)]
enum Colour {
    White,
    Grey,
    Black,
}

fn visit<'a>(
    node: &'a str,
    table: &BTreeMap<&'a str, &'a [&'a str]>,
    colour: &mut BTreeMap<&'a str, Colour>,
    path: &mut Vec<&'a str>,
) -> Result<(), String> {
    match colour[node] {
        Colour::Black => return Ok(()),
        Colour::Grey => {
            path.push(node);
            return Err(format!(
                "cycle in the layering table: {}",
                path.join(" -> ")
            ));
        }
        Colour::White => {}
    }
    colour.insert(node, Colour::Grey);
    path.push(node);
    for target in table[node] {
        visit(target, table, colour, path)?;
    }
    path.pop();
    colour.insert(node, Colour::Black);
    Ok(())
}

/// How a dependency is declared.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum DependencyKind {
    Build,
    Dev,
    Normal,
}

impl std::fmt::Display for DependencyKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Build => "build-dependency",
            Self::Dev => "dev-dependency",
            Self::Normal => "dependency",
        })
    }
}

#[derive(Debug)]
struct Dependency {
    name: String,
    kind: DependencyKind,
}

/// Workspace members by name, each with its declared dependencies.
fn workspace_members(metadata_json: &str) -> Result<BTreeMap<String, Vec<Dependency>>, String> {
    let invalid = |what: &str| format!("unexpected `cargo metadata` output: {what}");
    let metadata: Value = serde_json::from_str(metadata_json)
        .map_err(|error| format!("`cargo metadata` output is not JSON: {error}"))?;
    let member_ids: BTreeSet<&str> = metadata["workspace_members"]
        .as_array()
        .ok_or_else(|| invalid("no `workspace_members` array"))?
        .iter()
        .map(|id| {
            id.as_str()
                .ok_or_else(|| invalid("a workspace member id is not a string"))
        })
        .collect::<Result<_, _>>()?;
    let packages = metadata["packages"]
        .as_array()
        .ok_or_else(|| invalid("no `packages` array"))?;

    let mut members = BTreeMap::new();
    for package in packages {
        let Some(id) = package["id"].as_str() else {
            return Err(invalid("a package has no `id`"));
        };
        if !member_ids.contains(id) {
            continue;
        }
        let name = package["name"]
            .as_str()
            .ok_or_else(|| invalid("a package has no `name`"))?;
        let dependencies = package["dependencies"]
            .as_array()
            .ok_or_else(|| invalid("a package has no `dependencies` array"))?
            .iter()
            .map(|dependency| {
                let name = dependency["name"]
                    .as_str()
                    .ok_or_else(|| invalid("a dependency has no `name`"))?
                    .to_owned();
                let kind = match dependency["kind"].as_str() {
                    None => DependencyKind::Normal,
                    Some("dev") => DependencyKind::Dev,
                    Some("build") => DependencyKind::Build,
                    Some(other) => {
                        return Err(invalid(&format!("unknown dependency kind `{other}`")));
                    }
                };
                Ok(Dependency { name, kind })
            })
            .collect::<Result<Vec<_>, String>>()?;
        members.insert(name.to_owned(), dependencies);
    }
    if members.len() != member_ids.len() {
        return Err(invalid("a workspace member is missing from `packages`"));
    }
    Ok(members)
}

#[cfg(test)]
mod tests;
