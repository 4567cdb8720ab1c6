//! Project automation for custody, run as `cargo xtask <command>`.
//!
//! The library half holds the checks so that the `it` integration test can run them too:
//! [`layering`] enforces the direction of dependencies between workspace crates, [`tidy`]
//! rejects forbidden patterns in sources, and [`interop`] prepares the Python venv that the
//! interop tests use as a reference implementation, and [`self_build`] builds custody's own
//! release binary with `custody build` and checks its provenance.

pub mod interop;
pub mod layering;
pub mod self_build;
pub mod tidy;

use std::path::{Path, PathBuf};

/// The workspace root (the directory holding the virtual manifest).
pub fn workspace_root() -> PathBuf {
    // xtask/ sits directly under the workspace root.
    let manifest_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest_dir
        .parent()
        .map_or_else(|| manifest_dir.to_path_buf(), Path::to_path_buf)
}

/// Cargo's target directory: `$CARGO_TARGET_DIR` if set, else `<root>/target`.
pub fn target_dir(root: &Path) -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        // Cargo resolves a relative `CARGO_TARGET_DIR` against the current directory.
        Some(dir) if !dir.is_empty() => std::path::absolute(&dir).unwrap_or_else(|_| dir.into()),
        _ => root.join("target"),
    }
}

/// The cargo binary to run: the one that launched us if known, else `cargo` from `PATH`.
pub fn cargo() -> String {
    std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned())
}

/// Runs both tidy checks (layering and forbidden patterns) over the workspace at `root`.
///
/// Returns one human-readable message per problem found.
pub fn tidy_all(root: &Path) -> Result<(), Vec<String>> {
    let mut problems = Vec::new();
    match layering::cargo_metadata(root) {
        Ok(json) => {
            if let Err(found) = layering::check(&json) {
                problems.extend(found);
            }
        }
        Err(error) => problems.push(error),
    }
    match tidy::scan_workspace(root) {
        Ok(findings) => problems.extend(findings.iter().map(ToString::to_string)),
        Err(error) => problems.push(error),
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems)
    }
}
