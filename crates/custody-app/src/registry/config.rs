//! The registry server's TOML config (`custody serve --config FILE`), described with a
//! commented example in docs/registry-config.md.
//!
//! Parsing is strict: an unknown key, a value of the wrong type, an invalid pattern, an unknown
//! role or a rule that cannot be enforced is an error ([`Code::RegistryConfigInvalid`]), never
//! a warning. Repository rules are tried in file order and the first whose pattern matches
//! wins; a repository no rule matches gets the safe default ([`RepositoryPolicy::default`]):
//! enforcement on push and pull by the `build` role, no anonymous pull.

use std::path::{Path, PathBuf};
use std::time::Duration;

use custody_formats::slsa::PREDICATE_TYPE_V1;
use custody_formats::trust_root::Role;
use serde::Deserialize;

use crate::codes::Code;
use crate::error::{Error, Result};
use crate::fs::read_text;
use crate::registry::policy::{RepoSettings, RepoSettingsSource};

/// Config files larger than this are refused.
pub const CONFIG_LIMIT: u64 = 1024 * 1024;

/// The signer role required where the config names none.
pub const DEFAULT_SIGNER_ROLE: Role = Role::Build;

/// Roles whose keys sign artifacts and statements (the others sign trust roots, checkpoints,
/// cosignatures and timestamps, and are never accepted as a manifest's signer).
const SIGNING_ROLES: [Role; 4] = [Role::Build, Role::Release, Role::Approver, Role::Rebuilder];

/// An attestation a repository requires on every admitted manifest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequiredAttestation {
    /// The in-toto predicate type, e.g. `https://slsa.dev/provenance/v1`.
    pub predicate_type: String,
    /// The roles whose keys may sign it.
    pub signer_roles: Vec<Role>,
    /// For SLSA provenance v1: the allowed `runDetails.builder.id` values (never empty). Empty
    /// for other predicate types.
    pub builder_ids: Vec<String>,
}

/// Everything the registry decides about one repository.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RepositoryPolicy {
    /// The pattern that matched (`None` for the built-in default).
    pub pattern: Option<String>,
    /// Enforcement, immutability and anonymous pull.
    pub settings: RepoSettings,
    /// The role the manifest's signer must hold in the trust root.
    pub signer_role: Role,
    /// Attestations every admitted manifest must carry.
    pub attestations: Vec<RequiredAttestation>,
}

impl Default for RepositoryPolicy {
    fn default() -> Self {
        Self {
            pattern: None,
            settings: RepoSettings::default(),
            signer_role: DEFAULT_SIGNER_ROLE,
            attestations: Vec::new(),
        }
    }
}

/// Registry-wide limits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegistryLimits {
    /// The largest blob accepted, in bytes.
    pub max_blob_size: u64,
    /// The largest manifest accepted, in bytes.
    pub max_manifest_size: u64,
    /// How long an upload session may stay open before it is discarded.
    pub upload_lifetime: Duration,
    /// Requests per second allowed per token (anonymous requests share one budget).
    pub requests_per_second: u32,
}

impl Default for RegistryLimits {
    fn default() -> Self {
        Self {
            max_blob_size: 16 * 1024 * 1024 * 1024,
            max_manifest_size: 4 * 1024 * 1024,
            upload_lifetime: Duration::from_secs(3600),
            requests_per_second: 1000,
        }
    }
}

/// The parsed config.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RegistryConfig {
    trust_root: Option<PathBuf>,
    audit_head_interval: Option<Duration>,
    limits: RegistryLimits,
    rules: Vec<RepositoryPolicy>,
}

// The file's shape. `deny_unknown_fields` everywhere: a misspelt key is an error, not a
// silently ignored safety setting.

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    #[serde(default)]
    registry: RawRegistry,
    #[serde(default)]
    limits: RawLimits,
    #[serde(default)]
    repository: Vec<RawRepository>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawRegistry {
    trust_root: Option<PathBuf>,
    audit_head_interval_seconds: Option<u64>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawLimits {
    max_blob_size: Option<u64>,
    max_manifest_size: Option<u64>,
    upload_lifetime_seconds: Option<u64>,
    requests_per_second: Option<u32>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRepository {
    pattern: String,
    enforce_push: Option<bool>,
    enforce_pull: Option<bool>,
    #[serde(default)]
    immutable_tags: Vec<String>,
    anonymous_pull: Option<bool>,
    signer_role: Option<String>,
    #[serde(default)]
    attestation: Vec<RawAttestation>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAttestation {
    predicate_type: String,
    signer_roles: Option<Vec<String>>,
    builder_ids: Option<Vec<String>>,
}

fn invalid(message: impl Into<String>) -> Error {
    Error::new(Code::RegistryConfigInvalid, message)
}

impl RegistryConfig {
    /// Reads and parses the config at `path`; a relative `registry.trust_root` is resolved
    /// against the file's directory.
    pub fn load(path: &Path) -> Result<Self> {
        let text = read_text(path, CONFIG_LIMIT).map_err(|e| {
            if e.code() == Code::InvalidArgument {
                invalid(e.message().to_owned())
            } else {
                e
            }
        })?;
        let base = path.parent().unwrap_or(Path::new("."));
        Self::parse(&text, base).map_err(|e| {
            let hint = e.hint().to_owned();
            Error::new(e.code(), format!("'{}': {}", path.display(), e.message())).with_hint(hint)
        })
    }

    /// Parses config text; relative paths in it are resolved against `base`.
    pub fn parse(text: &str, base: &Path) -> Result<Self> {
        let raw: RawConfig = toml::from_str(text).map_err(|e| {
            // The toml error renders the offending line with a caret; keep the cause on one line.
            let message = e.message().replace('\n', " ");
            let at = e
                .span()
                .map(|span| {
                    let line = text[..span.start.min(text.len())].matches('\n').count() + 1;
                    format!(" (line {line})")
                })
                .unwrap_or_default();
            invalid(format!("{message}{at}")).with_hint(
                "Use only the keys docs/registry-config.md describes, with the types it gives; docs/examples/registry.toml is a complete example.",
            )
        })?;
        let limits = raw.limits.build()?;
        let trust_root = raw
            .registry
            .trust_root
            .map(|p| if p.is_absolute() { p } else { base.join(p) });
        let audit_head_interval = match raw.registry.audit_head_interval_seconds {
            Some(0) => {
                return Err(invalid(
                    "registry.audit_head_interval_seconds must be at least 1",
                ));
            }
            other => other.map(Duration::from_secs),
        };
        let rules = raw
            .repository
            .into_iter()
            .enumerate()
            .map(|(i, r)| r.build(i))
            .collect::<Result<Vec<_>>>()?;
        Ok(Self {
            trust_root,
            audit_head_interval,
            limits,
            rules,
        })
    }

    /// The policy of `repository`: the first rule whose pattern matches, else the default.
    pub fn policy(&self, repository: &str) -> RepositoryPolicy {
        self.rules
            .iter()
            .find(|r| {
                r.pattern
                    .as_deref()
                    .is_some_and(|p| pattern_matches(p, repository))
            })
            .cloned()
            .unwrap_or_default()
    }

    /// The rules in file order.
    pub fn rules(&self) -> &[RepositoryPolicy] {
        &self.rules
    }

    /// The registry-wide limits.
    pub fn limits(&self) -> &RegistryLimits {
        &self.limits
    }

    /// The trust root the gate verifies against, if the config names one (otherwise the data
    /// directory's `trust-root.json`).
    pub fn trust_root(&self) -> Option<&Path> {
        self.trust_root.as_deref()
    }

    /// How often the audit chain head is logged in the transparency log, if configured.
    pub fn audit_head_interval(&self) -> Option<Duration> {
        self.audit_head_interval
    }
}

impl RepoSettingsSource for RegistryConfig {
    fn settings(&self, repository: &str) -> RepoSettings {
        self.policy(repository).settings
    }
}

impl RawLimits {
    fn build(self) -> Result<RegistryLimits> {
        let d = RegistryLimits::default();
        let positive = |name: &str, v: Option<u64>, default: u64| match v {
            Some(0) => Err(invalid(format!("limits.{name} must be at least 1"))),
            Some(v) => Ok(v),
            None => Ok(default),
        };
        Ok(RegistryLimits {
            max_blob_size: positive("max_blob_size", self.max_blob_size, d.max_blob_size)?,
            max_manifest_size: positive(
                "max_manifest_size",
                self.max_manifest_size,
                d.max_manifest_size,
            )?,
            upload_lifetime: Duration::from_secs(positive(
                "upload_lifetime_seconds",
                self.upload_lifetime_seconds,
                d.upload_lifetime.as_secs(),
            )?),
            requests_per_second: u32::try_from(positive(
                "requests_per_second",
                self.requests_per_second.map(u64::from),
                u64::from(d.requests_per_second),
            )?)
            .map_err(|_| invalid("limits.requests_per_second is too large"))?,
        })
    }
}

impl RawRepository {
    fn build(self, index: usize) -> Result<RepositoryPolicy> {
        let at = format!("repository[{index}] (pattern '{}')", self.pattern);
        check_pattern(&self.pattern, true)
            .map_err(|why| invalid(format!("repository[{index}].pattern: {why}")))?;
        for tag in &self.immutable_tags {
            check_pattern(tag, false)
                .map_err(|why| invalid(format!("{at}: immutable_tags: {why}")))?;
        }
        let signer_role = match &self.signer_role {
            Some(name) => signing_role(name).map_err(|why| invalid(format!("{at}: {why}")))?,
            None => DEFAULT_SIGNER_ROLE,
        };
        let attestations = self
            .attestation
            .into_iter()
            .map(|a| a.build(signer_role))
            .collect::<std::result::Result<Vec<_>, String>>()
            .map_err(|why| invalid(format!("{at}: attestation: {why}")))?;
        let defaults = RepoSettings::default();
        Ok(RepositoryPolicy {
            pattern: Some(self.pattern),
            settings: RepoSettings {
                enforce_push: self.enforce_push.unwrap_or(defaults.enforce_push),
                enforce_pull: self.enforce_pull.unwrap_or(defaults.enforce_pull),
                immutable_tags: self.immutable_tags,
                anonymous_pull: self.anonymous_pull.unwrap_or(defaults.anonymous_pull),
            },
            signer_role,
            attestations,
        })
    }
}

impl RawAttestation {
    fn build(self, default_role: Role) -> std::result::Result<RequiredAttestation, String> {
        let t = &self.predicate_type;
        let is_uri = t
            .split_once(':')
            .is_some_and(|(scheme, rest)| !scheme.is_empty() && !rest.is_empty())
            && !t.chars().any(char::is_whitespace);
        if !is_uri {
            return Err(format!("predicate_type '{t}' is not an absolute URI"));
        }
        let signer_roles = match self.signer_roles {
            Some(names) if names.is_empty() => {
                return Err("signer_roles is empty, so nothing could satisfy the rule".into());
            }
            Some(names) => names
                .iter()
                .map(|n| signing_role(n))
                .collect::<std::result::Result<Vec<_>, _>>()?,
            None => vec![default_role],
        };
        let builder_ids = match (self.builder_ids, t == PREDICATE_TYPE_V1) {
            (Some(ids), true) if ids.is_empty() => {
                return Err(
                    "builder_ids is empty; list the builder ids whose provenance is accepted"
                        .into(),
                );
            }
            (Some(ids), true) => ids,
            (None, true) => {
                return Err(format!(
                    "{PREDICATE_TYPE_V1} requires builder_ids (the allowed runDetails.builder.id values)"
                ));
            }
            (Some(_), false) => {
                return Err(format!(
                    "builder_ids is only checked for {PREDICATE_TYPE_V1}, not for '{t}'"
                ));
            }
            (None, false) => Vec::new(),
        };
        Ok(RequiredAttestation {
            predicate_type: self.predicate_type,
            signer_roles,
            builder_ids,
        })
    }
}

fn signing_role(name: &str) -> std::result::Result<Role, String> {
    let role: Role = name.parse().map_err(|_| format!("unknown role '{name}'"))?;
    if SIGNING_ROLES.contains(&role) {
        Ok(role)
    } else {
        Err(format!(
            "role '{name}' does not sign artifacts (use build, release, approver or rebuilder)"
        ))
    }
}

/// A pattern is a name, or a name prefix followed by one final `*` (`*` alone matches all).
/// Repository patterns use the OCI name characters (`a-z0-9._/-`), tag patterns the tag
/// characters (`A-Za-z0-9._-`).
fn check_pattern(pattern: &str, repository: bool) -> std::result::Result<(), String> {
    let body = pattern.strip_suffix('*').unwrap_or(pattern);
    if pattern.is_empty() {
        return Err("empty pattern".into());
    }
    if body.contains('*') {
        return Err(format!(
            "'{pattern}': '*' is allowed only at the end (a prefix match)"
        ));
    }
    let ok = |c: char| {
        if repository {
            c.is_ascii_lowercase() || c.is_ascii_digit() || "._/-".contains(c)
        } else {
            c.is_ascii_alphanumeric() || "._-".contains(c)
        }
    };
    if let Some(c) = body.chars().find(|c| !ok(*c)) {
        return Err(format!("'{pattern}': character '{c}' is not allowed"));
    }
    if repository {
        // OCI path components start with a letter or digit: no '.', '..' or empty components.
        let prefix = pattern.ends_with('*');
        let components: Vec<&str> = body.split('/').collect();
        for (i, c) in components.iter().enumerate() {
            let last = i + 1 == components.len();
            if c.is_empty() && !(last && prefix) {
                return Err(format!("'{pattern}': empty path component"));
            }
            if c.starts_with(['.', '_', '-']) {
                return Err(format!(
                    "'{pattern}': a path component must start with a letter or digit"
                ));
            }
        }
    }
    Ok(())
}

/// Whether `name` matches `pattern` (exact, or a prefix when the pattern ends in `*`).
pub fn pattern_matches(pattern: &str, name: &str) -> bool {
    match pattern.strip_suffix('*') {
        Some(prefix) => name.starts_with(prefix),
        None => pattern == name,
    }
}

#[cfg(test)]
mod tests;
