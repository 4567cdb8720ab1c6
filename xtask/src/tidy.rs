//! Source conventions that are cheaper to check than to review.
//!
//! Tests are never ignored and never rely on a panic (assert on the returned error instead), and
//! placeholder or debugging macros never reach the main branch. Every `.rs` file under the
//! scanned directories is checked line by line.
//!
//! The patterns are assembled with `concat!` so that this file does not match itself.

use std::fmt;
use std::path::{Path, PathBuf};

/// Directories (relative to the workspace root) whose `.rs` files are scanned.
pub const SCANNED_DIRS: &[&str] = &["crates", "xtask"];

/// A forbidden pattern and what to do instead.
#[derive(Debug, Clone, Copy)]
pub struct Pattern {
    /// The text that must not appear.
    pub text: &'static str,
    /// Whether the text is a macro name that must start at a word boundary (so `my_todo!(` is fine).
    pub word_start: bool,
    /// Why it is forbidden and what to do instead.
    pub advice: &'static str,
}

/// Every forbidden pattern.
pub const FORBIDDEN: &[Pattern] = &[
    Pattern {
        text: concat!("#[", "ignore]"),
        word_start: false,
        advice: "tests are never ignored; fix the test, or delete it",
    },
    Pattern {
        text: concat!("#[", "ignore ="),
        word_start: false,
        advice: "tests are never ignored; fix the test, or delete it",
    },
    Pattern {
        text: concat!("#[", "ignore="),
        word_start: false,
        advice: "tests are never ignored; fix the test, or delete it",
    },
    Pattern {
        text: concat!("#[", "should_panic"),
        word_start: false,
        advice: "assert on the returned error instead of expecting a panic",
    },
    Pattern {
        text: concat!("to", "do!("),
        word_start: true,
        advice: "finish the code, or return an error that names what is missing",
    },
    Pattern {
        text: concat!("unimple", "mented!("),
        word_start: true,
        advice: "finish the code, or return an error that names what is missing",
    },
    Pattern {
        text: concat!("db", "g!("),
        word_start: true,
        advice: "remove the debugging output",
    },
];

/// One forbidden pattern found in a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// The file, relative to the workspace root.
    pub path: PathBuf,
    /// 1-based line number.
    pub line: usize,
    /// The forbidden text.
    pub pattern: &'static str,
    /// Why it is forbidden.
    pub advice: &'static str,
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}: `{}`: {}",
            self.path.display(),
            self.line,
            self.pattern,
            self.advice
        )
    }
}

/// Returns `(line number, pattern)` for every forbidden pattern in `source`.
pub fn scan_source(source: &str) -> Vec<(usize, &'static Pattern)> {
    let mut found = Vec::new();
    for (index, line) in source.lines().enumerate() {
        for pattern in FORBIDDEN {
            if matches(line, pattern) {
                found.push((index + 1, pattern));
            }
        }
    }
    found
}

fn matches(line: &str, pattern: &Pattern) -> bool {
    line.match_indices(pattern.text).any(|(start, _)| {
        !pattern.word_start
            || !line[..start]
                .chars()
                .next_back()
                .is_some_and(|c| c.is_alphanumeric() || c == '_')
    })
}

/// Scans every `.rs` file under [`SCANNED_DIRS`] of the workspace at `root`.
pub fn scan_workspace(root: &Path) -> Result<Vec<Finding>, String> {
    let mut files = Vec::new();
    for dir in SCANNED_DIRS {
        let dir = root.join(dir);
        if dir.is_dir() {
            collect_rust_files(&dir, &mut files)?;
        }
    }
    files.sort();
    let mut findings = Vec::new();
    for file in files {
        let source = std::fs::read_to_string(&file)
            .map_err(|error| format!("cannot read {}: {error}", file.display()))?;
        let path = file.strip_prefix(root).unwrap_or(&file).to_path_buf();
        findings.extend(
            scan_source(&source)
                .into_iter()
                .map(|(line, pattern)| Finding {
                    path: path.clone(),
                    line,
                    pattern: pattern.text,
                    advice: pattern.advice,
                }),
        );
    }
    Ok(findings)
}

fn collect_rust_files(dir: &Path, files: &mut Vec<PathBuf>) -> Result<(), String> {
    let entries = std::fs::read_dir(dir)
        .map_err(|error| format!("cannot list {}: {error}", dir.display()))?;
    for entry in entries {
        let entry = entry.map_err(|error| format!("cannot list {}: {error}", dir.display()))?;
        let path = entry.path();
        let name = entry.file_name();
        let name = name.to_string_lossy();
        let file_type = entry
            .file_type()
            .map_err(|error| format!("cannot stat {}: {error}", path.display()))?;
        if file_type.is_dir() {
            // Build output and hidden directories hold no sources of ours.
            if name != "target" && !name.starts_with('.') {
                collect_rust_files(&path, files)?;
            }
        } else if file_type.is_file() && name.ends_with(".rs") {
            files.push(path);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests;
