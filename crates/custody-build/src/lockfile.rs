//! Dependencies pinned by a lockfile: Cargo.lock (format versions 1 to 4).
//!
//! Registry packages carry the lockfile's SHA-256 checksum of the `.crate` file and a
//! `pkg:cargo/NAME@VERSION` package URL; git packages carry the pinned commit. Path packages
//! (the workspace's own crates) have no source: their files are recorded as inputs of the
//! source tree already, so they are not listed here.

use serde::Deserialize;

use crate::error::{Error, ErrorKind};

/// Lockfiles larger than this are refused.
pub const LOCKFILE_LIMIT: u64 = 16 * 1024 * 1024;

/// One pinned package.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LockedPackage {
    /// The package name.
    pub name: String,
    /// The exact version.
    pub version: String,
    /// Where it comes from and how it is pinned.
    pub pin: Pin,
}

/// How a package is pinned.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Pin {
    /// A registry package: the registry's source id and the SHA-256 of the `.crate` file
    /// (lowercase hex).
    Registry {
        /// The lockfile's `source`, e.g. `registry+https://github.com/rust-lang/crates.io-index`.
        source: String,
        /// SHA-256 of the package archive, lowercase hex.
        sha256: String,
    },
    /// A git dependency pinned to a commit.
    Git {
        /// The repository URL (without the `git+` prefix and the `#commit` fragment).
        url: String,
        /// The commit id.
        commit: String,
    },
}

impl LockedPackage {
    /// The package URL (purl): `pkg:cargo/NAME@VERSION`.
    pub fn purl(&self) -> String {
        format!("pkg:cargo/{}@{}", self.name, self.version)
    }
}

#[derive(Deserialize)]
struct Lockfile {
    #[serde(default)]
    package: Vec<RawPackage>,
    /// Format version 1 kept checksums in a `[metadata]` table.
    #[serde(default)]
    metadata: std::collections::BTreeMap<String, String>,
}

#[derive(Deserialize)]
struct RawPackage {
    name: String,
    version: String,
    source: Option<String>,
    checksum: Option<String>,
}

fn is_sha256_hex(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// Reads a Cargo.lock. A registry package without a well-formed checksum is refused: it would
/// be a dependency that cannot be pinned by digest.
pub fn parse_cargo_lock(text: &str) -> Result<Vec<LockedPackage>, Error> {
    let lock: Lockfile = toml::from_str(text).map_err(|e| {
        Error::new(
            ErrorKind::Lockfile,
            format!("Cargo.lock is not a lockfile: {}", e.message()),
        )
    })?;
    let mut out = Vec::new();
    for p in lock.package {
        let Some(source) = p.source else { continue };
        let pin = if let Some(git) = source.strip_prefix("git+") {
            let Some((url, commit)) = git.rsplit_once('#') else {
                return Err(Error::new(
                    ErrorKind::Lockfile,
                    format!(
                        "Cargo.lock: git package {} is not pinned to a commit",
                        p.name
                    ),
                ));
            };
            let url = url.split_once('?').map_or(url, |(u, _)| u);
            Pin::Git {
                url: url.to_owned(),
                commit: commit.to_owned(),
            }
        } else if source.starts_with("registry+") || source.starts_with("sparse+") {
            let v1_key = format!("checksum {} {} ({source})", p.name, p.version);
            let checksum = p.checksum.or_else(|| lock.metadata.get(&v1_key).cloned());
            match checksum {
                Some(sum) if is_sha256_hex(&sum) => Pin::Registry {
                    source,
                    sha256: sum,
                },
                _ => {
                    return Err(Error::new(
                        ErrorKind::Lockfile,
                        format!(
                            "Cargo.lock: {} {} has no SHA-256 checksum",
                            p.name, p.version
                        ),
                    ));
                }
            }
        } else {
            return Err(Error::new(
                ErrorKind::Lockfile,
                format!("Cargo.lock: {} has an unknown source kind", p.name),
            ));
        };
        out.push(LockedPackage {
            name: p.name,
            version: p.version,
            pin,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SUM: &str = "3e4ec3a9a1a5f3c0e8b2d8a4f8ca39e6b0a1e2c0b8f2b6a7e3d2c1b0a9f8e7d6";

    #[test]
    fn reads_registry_and_git_pins_and_skips_path_packages() {
        let text = format!(
            r#"
version = 4

[[package]]
name = "app"
version = "0.1.0"
dependencies = ["itoa"]

[[package]]
name = "itoa"
version = "1.0.15"
source = "registry+https://github.com/rust-lang/crates.io-index"
checksum = "{SUM}"

[[package]]
name = "forked"
version = "0.2.0"
source = "git+https://example.com/forked.git?branch=main#0123456789abcdef0123456789abcdef01234567"
"#
        );
        let packages = parse_cargo_lock(&text).unwrap();
        assert_eq!(packages.len(), 2);
        assert_eq!(packages[0].purl(), "pkg:cargo/itoa@1.0.15");
        assert_eq!(
            packages[0].pin,
            Pin::Registry {
                source: "registry+https://github.com/rust-lang/crates.io-index".into(),
                sha256: SUM.into()
            }
        );
        assert_eq!(
            packages[1].pin,
            Pin::Git {
                url: "https://example.com/forked.git".into(),
                commit: "0123456789abcdef0123456789abcdef01234567".into()
            }
        );
    }

    #[test]
    fn version_one_metadata_checksums_are_read() {
        let text = format!(
            r#"
[[package]]
name = "libc"
version = "0.2.0"
source = "registry+https://github.com/rust-lang/crates.io-index"

[metadata]
"checksum libc 0.2.0 (registry+https://github.com/rust-lang/crates.io-index)" = "{SUM}"
"#
        );
        let packages = parse_cargo_lock(&text).unwrap();
        assert_eq!(packages.len(), 1);
        assert!(matches!(&packages[0].pin, Pin::Registry { sha256, .. } if sha256 == SUM));
    }

    #[test]
    fn unpinned_or_malformed_lockfiles_are_refused() {
        let missing = r#"
[[package]]
name = "itoa"
version = "1.0.15"
source = "registry+https://github.com/rust-lang/crates.io-index"
"#;
        let bad_sum = format!("{missing}checksum = \"{}\"\n", SUM.to_uppercase());
        let git_unpinned = r#"
[[package]]
name = "x"
version = "1.0.0"
source = "git+https://example.com/x.git"
"#;
        for text in [missing, &bad_sum, git_unpinned, "[[package]]\nname = 3"] {
            let err = parse_cargo_lock(text).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::Lockfile, "{text}");
        }
    }

    #[test]
    fn this_repositorys_lockfile_parses() {
        let text = include_str!("../../../Cargo.lock");
        let packages = parse_cargo_lock(text).unwrap();
        assert!(packages.iter().any(|p| p.name == "serde_json"));
        assert!(packages.iter().all(|p| !p.name.starts_with("custody-")));
    }
}
