//! Policy directories: reading `*.rego` modules (bounded) into a [`PolicySet`], and mapping
//! policy load errors to codes.
//!
//! Evaluation itself is pure and lives in `custody-policy`; this module is its file edge.

use std::path::Path;

use custody_policy::{PolicyError, PolicySet};

use crate::codes::Code;
use crate::error::{Error, Result};

/// The largest policy module custody reads.
pub const MAX_MODULE_BYTES: u64 = 1 << 20;

/// The most modules a policy directory may hold.
pub const MAX_MODULES: usize = 1000;

/// Reads every `*.rego` file directly in `dir` (not in subdirectories; symlinks to files are
/// followed) and parses them into a [`PolicySet`]. Module names are the file names.
///
/// An unreadable directory or file, a file that is too large or not UTF-8, a directory with
/// no `*.rego` file, or a module that does not parse is [`Code::PolicyInvalid`].
pub fn load_policy_dir(dir: &Path) -> Result<PolicySet> {
    let invalid = |message: String| Error::new(Code::PolicyInvalid, message);
    let entries = std::fs::read_dir(dir).map_err(|e| {
        invalid(format!(
            "cannot read policy directory '{}': {e}",
            dir.display()
        ))
    })?;
    let mut modules = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| {
            invalid(format!(
                "cannot read policy directory '{}': {e}",
                dir.display()
            ))
        })?;
        let Some(name) = entry.file_name().to_str().map(str::to_owned) else {
            continue;
        };
        let path = entry.path();
        if !name.ends_with(".rego") || !path.is_file() {
            continue;
        }
        if modules.len() == MAX_MODULES {
            return Err(invalid(format!(
                "policy directory '{}' holds more than {MAX_MODULES} modules",
                dir.display()
            )));
        }
        let bytes = crate::fs::read_limited(&path, MAX_MODULE_BYTES)
            .map_err(|e| invalid(format!("policy module {}", e.message())))?;
        let text = String::from_utf8(bytes)
            .map_err(|_| invalid(format!("policy module '{}' is not UTF-8", path.display())))?;
        modules.push((name, text));
    }
    if modules.is_empty() {
        return Err(invalid(format!(
            "policy directory '{}' holds no *.rego module",
            dir.display()
        )));
    }
    PolicySet::from_sources(modules).map_err(|e| policy_error(dir, &e))
}

/// Maps a policy load error about the modules of `dir`.
pub fn policy_error(dir: &Path, err: &PolicyError) -> Error {
    let code = match err {
        PolicyError::InvalidEnvironment { .. } => Code::EnvironmentNameInvalid,
        _ => Code::PolicyInvalid,
    };
    let message = match err.file() {
        Some(_) => format!("policy '{}': {err}", dir.display()),
        None => err.to_string(),
    };
    Error::new(code, message)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dir_with(files: &[(&str, &str)]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        for (name, text) in files {
            std::fs::write(dir.path().join(name), text).unwrap();
        }
        dir
    }

    #[test]
    fn loads_rego_files_only() {
        let dir = dir_with(&[
            ("prod.rego", "package custody.env.prod\ndeny := set()\n"),
            ("README.md", "not rego"),
        ]);
        std::fs::create_dir(dir.path().join("sub.rego")).unwrap();
        let set = load_policy_dir(dir.path()).unwrap();
        assert_eq!(set.environments(), ["prod"]);
    }

    #[test]
    fn syntax_error_is_policy_invalid_with_file() {
        let dir = dir_with(&[(
            "prod.rego",
            "package custody.env.prod\ndeny contains if {\n",
        )]);
        let err = load_policy_dir(dir.path()).unwrap_err();
        assert_eq!(err.code(), Code::PolicyInvalid);
        assert!(err.message().contains("prod.rego:"), "{err}");
    }

    #[test]
    fn missing_or_empty_directory_is_policy_invalid() {
        let dir = dir_with(&[]);
        let err = load_policy_dir(dir.path()).unwrap_err();
        assert_eq!(err.code(), Code::PolicyInvalid);
        let err = load_policy_dir(&dir.path().join("nope")).unwrap_err();
        assert_eq!(err.code(), Code::PolicyInvalid);
    }

    #[test]
    fn oversized_module_is_policy_invalid() {
        let big = format!(
            "package custody.lib\n# {}\n",
            "x".repeat(MAX_MODULE_BYTES as usize)
        );
        let dir = dir_with(&[("lib.rego", &big)]);
        let err = load_policy_dir(dir.path()).unwrap_err();
        assert_eq!(err.code(), Code::PolicyInvalid);
    }
}
