//! The seams between the registry service and its policy parts: per-repository settings, the
//! enforcement gate, and the audit sink. The service (`registry::service`) depends only on these
//! types; `registry::config` builds [`RepoSettings`] from the server's TOML config,
//! `registry::enforce` implements [`Gate`] over the trust root, and `registry::audit` implements
//! [`AuditSink`] as a hash-chained log.

use custody_crypto::Digest;

use crate::codes::Code;
use crate::error::Result;

/// The settings that apply to one repository (resolved from the first matching pattern of the
/// server config; the default is the safe one: enforcement on push and pull, no anonymous pull).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RepoSettings {
    /// Refuse manifest pushes (and tag moves) that the [`Gate`] does not admit.
    pub enforce_push: bool,
    /// Refuse to serve manifests that the [`Gate`] does not admit.
    pub enforce_pull: bool,
    /// Tags matching any of these patterns (exact, or a prefix ending in `*`; `*` alone is every
    /// tag) can never be moved or deleted once set.
    pub immutable_tags: Vec<String>,
    /// Pulls without a token are allowed.
    pub anonymous_pull: bool,
}

impl Default for RepoSettings {
    fn default() -> Self {
        Self {
            enforce_push: true,
            enforce_pull: true,
            immutable_tags: Vec::new(),
            anonymous_pull: false,
        }
    }
}

impl RepoSettings {
    /// Whether `tag` is immutable under these settings.
    pub fn tag_is_immutable(&self, tag: &str) -> bool {
        self.immutable_tags
            .iter()
            .any(|p| match p.strip_suffix('*') {
                Some(prefix) => tag.starts_with(prefix),
                None => p == tag,
            })
    }
}

/// Resolves the settings of a repository by name.
pub trait RepoSettingsSource: Send + Sync {
    /// The settings for `repository`.
    fn settings(&self, repository: &str) -> RepoSettings;
}

/// The media type (artifactType) of a referrer that carries a Sigstore bundle: its one layer is
/// the bundle JSON. Signatures and attestations over a manifest are pushed as such referrers,
/// with the manifest as `subject`.
pub const BUNDLE_ARTIFACT_TYPE: &str = "application/vnd.dev.sigstore.bundle.v0.3+json";

/// One piece of evidence about a subject manifest: a referrer's bundle.
#[derive(Debug, Clone)]
pub struct Evidence {
    /// The referrer manifest's digest.
    pub referrer: Digest,
    /// The bundle JSON (the referrer's layer bytes, already digest-checked by the store).
    pub bundle: Vec<u8>,
}

/// Why the gate is asked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GateAction {
    /// A manifest is being pushed, or a tag moved onto it.
    Push,
    /// A manifest is being served.
    Pull,
}

/// The manifest a decision is about: the digest it is stored under, and the digests of the
/// same bytes under every algorithm a signature may cover (ECDSA P-256 signs a SHA-256
/// pre-hash, Ed25519ph a SHA-512 one), so a manifest named by its sha256 digest can carry an
/// Ed25519 signature over its sha512 digest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubjectDigests {
    name: Digest,
    digests: Vec<Digest>,
}

impl SubjectDigests {
    /// The manifest named `name` whose bytes are `bytes` (`name` must be their digest).
    pub fn of(name: Digest, bytes: &[u8]) -> Self {
        let mut digests = vec![name];
        for d in [custody_crypto::sha256(bytes), custody_crypto::sha512(bytes)] {
            if !digests.contains(&d) {
                digests.push(d);
            }
        }
        Self { name, digests }
    }

    /// A manifest known only by its name digest (signatures must cover exactly that digest).
    pub fn named(name: Digest) -> Self {
        Self {
            name,
            digests: vec![name],
        }
    }

    /// The digest the manifest is stored and referred to under.
    pub fn name(&self) -> &Digest {
        &self.name
    }

    /// Every digest of the manifest's bytes, the name first.
    pub fn digests(&self) -> &[Digest] {
        &self.digests
    }

    /// Whether `digest` is a digest of the manifest's bytes.
    pub fn contains(&self, digest: &Digest) -> bool {
        self.digests.contains(digest)
    }
}

/// Decides whether a manifest may be stored or served, from verified evidence only.
pub trait Gate: Send + Sync {
    /// `Ok(())` if `subject` (a manifest in `repository`) is admitted given `evidence` (every
    /// bundle referrer of it); otherwise the error names the failed check with its code
    /// (signature, unknown key, wrong role, not logged, missing attestation, ...).
    fn admit_subject(
        &self,
        repository: &str,
        subject: &SubjectDigests,
        evidence: &[Evidence],
        action: GateAction,
    ) -> Result<()>;

    /// [`Self::admit_subject`] for a manifest known only by its name digest.
    fn admit(
        &self,
        repository: &str,
        subject: &Digest,
        evidence: &[Evidence],
        action: GateAction,
    ) -> Result<()> {
        self.admit_subject(
            repository,
            &SubjectDigests::named(*subject),
            evidence,
            action,
        )
    }
}

/// The outcome of an audited request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The write happened.
    Allowed,
    /// The request was refused.
    Denied {
        /// The custody code of the refusal.
        code: Code,
        /// The one-line reason.
        reason: String,
    },
}

/// One audited event: every registry write and every denial.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEvent {
    /// Who: the token id, or `anonymous`.
    pub actor: String,
    /// What: `push-blob`, `mount-blob`, `push-manifest`, `tag`, `delete-manifest`,
    /// `delete-tag`, `delete-blob`, `pull-manifest` (denials only), `gc`.
    pub action: String,
    /// The repository.
    pub repository: String,
    /// The digest or tag acted on.
    pub target: String,
    /// Allowed or denied, and why.
    pub outcome: Outcome,
}

/// Where audit events go. The sink stamps the time and chains the record.
pub trait AuditSink: Send + Sync {
    /// Appends `event` durably; an error means the write must not be acknowledged.
    fn record(&self, event: AuditEvent) -> Result<()>;
}
