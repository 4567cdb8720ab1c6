//! Verified facts: the one verification pipeline between evidence and policy.
//!
//! [`gather`] takes an artifact (a manifest named by its digest, with its bytes), every bundle
//! attached to it, the environment's history and a verified trust root, and checks each piece
//! of evidence as `custody verify` does: the signer's key is in the trust root and holds the
//! role the evidence needs, is valid now, the signature verifies, the bundle proves inclusion
//! in the trust root's transparency log (with the witness quorum when the trust root sets one),
//! and the statement's subject is this artifact (the manifest, or for build evidence one of the
//! files the manifest names). Only what passed reaches [`Facts`]; what failed is listed under
//! `rejected` with its code, so that a policy can say why and a person can act.
//!
//! A trust root that names no transparency log makes every piece of evidence unlogged, and
//! unlogged evidence is rejected: nothing unlogged reaches policy.

use std::collections::BTreeSet;

use custody_build::scan::Advisory;
use custody_crypto::Digest;
use custody_deploy::{
    APPROVAL_PREDICATE_TYPE, Approval, EnvironmentEvent, PROMOTION_PREDICATE_TYPE,
};
use custody_formats::bundle::{Bundle, Content};
use custody_formats::slsa::{PREDICATE_TYPE_V1, Provenance};
use custody_formats::trust_root::{Role, TrustRoot};
use custody_formats::{Limits, Verified, json};
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::codes::Code;
use crate::error::{Document, Error, Result};
use crate::registry::policy::{Evidence, SubjectDigests};
use crate::verify::{Trust, Verification, parse_bundle, verify_bundle_digests};

/// The in-toto predicate type of custody's rebuild attestations.
pub use custody_build::rebuild::REBUILD_PREDICATE_TYPE;
/// The in-toto predicate type of CycloneDX SBOM attestations.
pub use custody_build::sbom::CYCLONEDX_PREDICATE_TYPE;

/// Why the facts are gathered: what the decision allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// May this artifact run in the environment now (the gate)?
    Deploy,
    /// May this artifact become the environment's current one (promotion, rollback)?
    Promote,
}

impl Action {
    /// `deploy` or `promote`, as policies see it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Deploy => "deploy",
            Self::Promote => "promote",
        }
    }
}

/// An artifact: a manifest in a repository, named by its digest, with its bytes (whose digest
/// the caller has checked).
#[derive(Debug, Clone)]
pub struct Artifact {
    /// The repository it is stored in.
    pub repository: String,
    /// The manifest's digest.
    pub digest: Digest,
    /// The manifest's bytes.
    pub manifest: Vec<u8>,
}

/// A file the manifest names (a layer), by its title annotation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArtifactFile {
    /// The layer's `org.opencontainers.image.title`, or its digest when it has none.
    pub name: String,
    /// The layer's digest.
    pub digest: Digest,
}

impl Artifact {
    /// The checked artifact: `manifest` must hash to `digest` and parse as an OCI manifest.
    pub fn new(repository: &str, digest: Digest, manifest: Vec<u8>) -> Result<Self> {
        let mut hasher = custody_crypto::Hasher::new(digest.algorithm());
        hasher.update(&manifest);
        if hasher.finalize() != digest {
            return Err(Error::new(
                Code::ArtifactDigestMismatch,
                format!("the manifest's bytes do not hash to {digest}"),
            ));
        }
        custody_registry::manifest::parse(&manifest, None).map_err(|e| {
            Error::new(
                Code::RegistryAnswerInvalid,
                format!("manifest {digest} is not an OCI manifest: {e}"),
            )
        })?;
        Ok(Self {
            repository: repository.to_owned(),
            digest,
            manifest,
        })
    }

    /// The files (layers) the manifest names.
    pub fn files(&self) -> Vec<ArtifactFile> {
        let value: Value = serde_json::from_slice(&self.manifest).unwrap_or(Value::Null);
        let mut files = Vec::new();
        for layer in value
            .get("layers")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let Some(digest) = layer
                .get("digest")
                .and_then(Value::as_str)
                .and_then(|d| d.parse::<Digest>().ok())
            else {
                continue;
            };
            let name = layer
                .get("annotations")
                .and_then(|a| a.get(crate::registry::client::TITLE))
                .and_then(Value::as_str)
                .map_or_else(|| digest.to_string(), str::to_owned);
            files.push(ArtifactFile { name, digest });
        }
        files
    }
}

/// What the facts are gathered from.
pub struct FactsRequest<'a> {
    /// Deploy or promote.
    pub action: Action,
    /// The environment (validated).
    pub environment: &'a str,
    /// The artifact.
    pub artifact: &'a Artifact,
    /// Every bundle attached to the artifact.
    pub evidence: &'a [Evidence],
    /// The environment's history, oldest first, each event already verified
    /// ([`super::verify_history`]).
    pub history: &'a [EnvironmentEvent],
    /// The verified trust root.
    pub trust_root: &'a Verified<TrustRoot>,
    /// Advisories to match the SBOM's packages against; `None` when no advisory database is
    /// configured (then `vulnerabilities.scanned` is false and a policy should deny).
    pub advisories: Option<&'a [Advisory]>,
    /// The time of the decision.
    pub now: OffsetDateTime,
}

/// The verified facts about one artifact, as the JSON document policies see as `input`
/// (the schema is in docs/policy.md).
#[derive(Debug, Clone)]
pub struct Facts {
    input: Value,
    release_signed: bool,
    current: Option<Digest>,
}

impl Facts {
    /// The policy input document.
    pub fn input(&self) -> &Value {
        &self.input
    }

    /// Whether a release-role key's logged signature over the manifest verified.
    pub fn release_signed(&self) -> bool {
        self.release_signed
    }

    /// The environment's current digest, if anything was promoted to it.
    pub fn current(&self) -> Option<&Digest> {
        self.current.as_ref()
    }
}

fn time_text(t: OffsetDateTime) -> String {
    t.format(&Rfc3339).unwrap_or_default()
}

/// The identity policies count: the key's owner, or `key:<keyid>`.
fn identity(root: &TrustRoot, key_id: &custody_crypto::KeyId) -> String {
    root.key(key_id)
        .map_or_else(|| format!("key:{key_id}"), |k| k.identity())
}

/// What a piece of evidence claims to be, read before verification only to choose the role
/// and subject it must be checked against (verification then proves it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Signature,
    Provenance,
    Rebuild,
    Sbom,
    Approval,
    Promotion,
    Other,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Self::Signature => "signature",
            Self::Provenance => "provenance",
            Self::Rebuild => "rebuild",
            Self::Sbom => "sbom",
            Self::Approval => "approval",
            Self::Promotion => "promotion",
            Self::Other => "attestation",
        }
    }

    fn role(self) -> Option<Role> {
        match self {
            Self::Signature | Self::Promotion => Some(Role::Release),
            Self::Provenance | Self::Sbom => Some(Role::Build),
            Self::Rebuild => Some(Role::Rebuilder),
            Self::Approval => Some(Role::Approver),
            Self::Other => None,
        }
    }

    /// Whether its subject may be one of the files rather than the manifest: build evidence
    /// is about the files the build produced, and the manifest's digest binds those files.
    fn about_files(self) -> bool {
        matches!(self, Self::Provenance | Self::Rebuild | Self::Sbom)
    }

    fn of(bundle: &Bundle) -> Self {
        let Content::Dsse(envelope) = bundle.content() else {
            return Self::Signature;
        };
        // Unverified: only used to pick the checks below.
        let claimed = json::parse_strict(envelope.payload(), &Limits::default())
            .ok()
            .and_then(|v| {
                v.get("predicateType")
                    .and_then(Value::as_str)
                    .map(str::to_owned)
            });
        match claimed.as_deref() {
            Some(PREDICATE_TYPE_V1) => Self::Provenance,
            Some(REBUILD_PREDICATE_TYPE) => Self::Rebuild,
            Some(CYCLONEDX_PREDICATE_TYPE) => Self::Sbom,
            Some(APPROVAL_PREDICATE_TYPE) => Self::Approval,
            Some(PROMOTION_PREDICATE_TYPE) => Self::Promotion,
            _ => Self::Other,
        }
    }
}

struct Rejected {
    kind: Kind,
    referrer: Digest,
    error: Error,
}

impl Rejected {
    fn to_value(&self) -> Value {
        json!({
            "kind": self.kind.name(),
            "referrer": self.referrer.to_string(),
            "code": self.error.code().to_string(),
            "reason": self.error.message(),
        })
    }
}

/// Verifies one bundle as evidence of `kind` about the artifact: key in the trust root with
/// the kind's role, valid now, signature, subject, log inclusion.
pub(crate) fn verify_evidence(
    bundle: &Bundle,
    manifest: &SubjectDigests,
    files: &[ArtifactFile],
    trust_root: &Verified<TrustRoot>,
    role: Role,
    about_files: bool,
    now: OffsetDateTime,
) -> Result<Verification> {
    let mut digests: Vec<Digest> = manifest.digests().to_vec();
    if about_files && matches!(bundle.content(), Content::Dsse(_)) {
        digests.extend(files.iter().map(|f| f.digest));
    }
    let trust = Trust::TrustRoot {
        root: trust_root,
        role,
    };
    let verified = verify_bundle_digests(bundle, &digests, &trust, now)?;
    if verified.log_index.is_none() {
        return Err(Error::new(
            Code::LogInclusionMissing,
            "the trust root names no transparency log, so this evidence cannot be proven logged",
        )
        .with_hint("Add the log's key (role log, with its note name) to the trust root; custody accepts only logged evidence."));
    }
    Ok(verified)
}

/// The bundles attached to `artifact` that a downstream client checks the artifact's file
/// with: its release signatures and build provenance that verify here exactly as [`gather`]
/// verifies them, each with the role its signer holds. The rest is left out.
pub(crate) fn release_evidence(
    artifact: &Artifact,
    evidence: &[Evidence],
    trust_root: &Verified<TrustRoot>,
    now: OffsetDateTime,
) -> Vec<(Vec<u8>, Role)> {
    let manifest = SubjectDigests::of(artifact.digest, &artifact.manifest);
    let files = artifact.files();
    let mut out = Vec::new();
    for e in evidence {
        let Ok(bundle) = parse_bundle(&e.bundle) else {
            continue;
        };
        let kind = Kind::of(&bundle);
        if !matches!(kind, Kind::Signature | Kind::Provenance) {
            continue;
        }
        let Some(role) = kind.role() else { continue };
        if verify_evidence(
            &bundle,
            &manifest,
            &files,
            trust_root,
            role,
            kind.about_files(),
            now,
        )
        .is_ok()
        {
            out.push((e.bundle.clone(), role));
        }
    }
    out
}

/// Gathers the verified facts (see the module documentation).
pub fn gather(request: &FactsRequest<'_>) -> Facts {
    let artifact = request.artifact;
    let root = request.trust_root;
    let manifest = SubjectDigests::of(artifact.digest, &artifact.manifest);
    let files = artifact.files();
    let mut rejected: Vec<Rejected> = Vec::new();
    let mut signatures = Vec::new();
    let mut provenance = Vec::new();
    let mut rebuilds = Vec::new();
    let mut sboms = Vec::new();
    let mut packages = Vec::new();
    let mut approvals: Vec<(String, Value)> = Vec::new();
    // Who produced the artifact: the identities of its release signers and of its verified
    // provenance's signers (a build key may belong to the person who ran the build).
    let mut producers = BTreeSet::new();

    for evidence in request.evidence {
        let bundle = match parse_bundle(&evidence.bundle) {
            Ok(b) => b,
            Err(error) => {
                rejected.push(Rejected {
                    kind: Kind::Other,
                    referrer: evidence.referrer,
                    error,
                });
                continue;
            }
        };
        let kind = Kind::of(&bundle);
        let Some(role) = kind.role() else {
            // Attestations custody has no fact for are ignored: they add nothing.
            continue;
        };
        if kind == Kind::Promotion {
            // Promotion events live in the environment's history, not among referrers.
            continue;
        }
        let verified = match verify_evidence(
            &bundle,
            &manifest,
            &files,
            root,
            role,
            kind.about_files(),
            request.now,
        ) {
            Ok(v) => v,
            Err(error) => {
                rejected.push(Rejected {
                    kind,
                    referrer: evidence.referrer,
                    error,
                });
                continue;
            }
        };
        let who = identity(root, &verified.key_id);
        let keyid = verified.key_id.to_string();
        let log_index = verified.log_index;
        match (kind, verified.statement.as_ref()) {
            (Kind::Signature, _) => {
                producers.insert(who.clone());
                signatures.push(json!({
                    "identity": who, "keyid": keyid, "role": "release", "logIndex": log_index,
                }));
            }
            (Kind::Provenance, Some(statement)) => {
                match Provenance::from_value(statement.predicate()) {
                    Ok(p) => {
                        producers.insert(who.clone());
                        let s = custody_build::provenance::summary(&p);
                        provenance.push(json!({
                            "identity": who,
                            "keyid": keyid,
                            "builderId": s.builder_id,
                            "buildType": s.build_type,
                            "sourceRepository": s.source_repository,
                            "sourceRevision": s.source_revision,
                            "sourceRef": s.source_ref,
                            "startedOn": s.started_on.map(time_text),
                            "finishedOn": s.finished_on.map(time_text),
                            "finishedUnix": s.finished_on.map(OffsetDateTime::unix_timestamp),
                            "logIndex": log_index,
                        }));
                    }
                    Err(e) => rejected.push(Rejected {
                        kind,
                        referrer: evidence.referrer,
                        error: Error::format(Document::Predicate, &e),
                    }),
                }
            }
            (Kind::Rebuild, Some(_)) => rebuilds.push(json!({
                "identity": who, "keyid": keyid, "logIndex": log_index,
            })),
            (Kind::Sbom, Some(statement)) => {
                match custody_build::scan::packages_from_cyclonedx(statement.predicate()) {
                    Ok(found) => {
                        sboms.push(json!({
                            "identity": who, "keyid": keyid, "components": found.len(),
                            "logIndex": log_index,
                        }));
                        packages.extend(found);
                    }
                    Err(e) => rejected.push(Rejected {
                        kind,
                        referrer: evidence.referrer,
                        error: Error::new(Code::SbomInvalid, format!("SBOM: {e}")),
                    }),
                }
            }
            (Kind::Approval, Some(statement)) => {
                match Approval::from_predicate(statement.predicate()) {
                    Ok(approval) if approval.environment == request.environment => {
                        approvals.push((
                            who.clone(),
                            json!({
                                "identity": who, "keyid": keyid, "logIndex": log_index,
                                "comment": approval.comment,
                            }),
                        ));
                    }
                    Ok(approval) => rejected.push(Rejected {
                        kind,
                        referrer: evidence.referrer,
                        error: Error::new(
                            Code::SubjectMismatch,
                            format!(
                                "approval by {who} is for environment '{}', not '{}'",
                                approval.environment, request.environment
                            ),
                        ),
                    }),
                    Err(e) => rejected.push(Rejected {
                        kind,
                        referrer: evidence.referrer,
                        error: crate::error::from_deploy(&e),
                    }),
                }
            }
            _ => {}
        }
    }

    // Separation of duties: one approval per person, none by a person who produced the
    // artifact (signed its release or its provenance).
    let mut counted = BTreeSet::new();
    let mut valid = Vec::new();
    let mut ignored = Vec::new();
    approvals.sort_by(|a, b| a.0.cmp(&b.0));
    for (who, approval) in approvals {
        let reason = if producers.contains(&who) {
            Some("self-approval")
        } else if !counted.insert(who.clone()) {
            Some("duplicate")
        } else {
            None
        };
        match reason {
            Some(reason) => ignored.push(json!({
                "identity": who, "keyid": approval["keyid"], "reason": reason,
            })),
            None => valid.push(approval),
        }
    }

    let vulnerabilities = match request.advisories {
        Some(advisories) if !sboms.is_empty() => {
            match custody_build::scan::scan(&packages, advisories) {
                Ok(findings) => json!({
                    "scanned": true,
                    "findings": findings.iter().map(|f| json!({
                        "id": f.id,
                        "package": f.package.name,
                        "version": f.package.version,
                        "severity": f.severity.as_deref().map(str::to_ascii_lowercase),
                    })).collect::<Vec<_>>(),
                }),
                Err(_) => json!({ "scanned": false, "findings": [] }),
            }
        }
        _ => json!({ "scanned": false, "findings": [] }),
    };

    let current = custody_deploy::current(request.history);
    let current_digest = current.map(|e| e.digest);
    let deployment = json!({
        "current": current_digest.map(|d| d.to_string()),
        "sequence": current.map_or(0, |e| e.sequence),
        "isCurrent": current_digest == Some(artifact.digest),
    });
    let release_signed = !signatures.is_empty();
    let input = json!({
        "action": request.action.as_str(),
        "environment": request.environment,
        "now": time_text(request.now),
        "nowUnix": request.now.unix_timestamp(),
        "artifact": {
            "repository": artifact.repository,
            "digest": artifact.digest.to_string(),
            "files": files.iter().map(|f| json!({"name": f.name, "digest": f.digest.to_string()})).collect::<Vec<_>>(),
        },
        "signatures": signatures,
        "provenance": provenance,
        "rebuilds": rebuilds,
        "sbom": sboms,
        "vulnerabilities": vulnerabilities,
        "approvals": valid,
        "ignoredApprovals": ignored,
        "deployment": deployment,
        "rejected": rejected.iter().map(Rejected::to_value).collect::<Vec<_>>(),
    });
    Facts {
        input,
        release_signed,
        current: current_digest,
    }
}
