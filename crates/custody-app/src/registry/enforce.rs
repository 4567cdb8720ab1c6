//! The enforcement gate: a manifest is admitted only on verified evidence from the trust root.
//!
//! For a repository whose settings enforce the action (push or pull), [`TrustRootGate`] admits
//! a subject manifest only if, among its bundle referrers:
//!
//! 1. a message-signature bundle signs exactly the manifest's digest, verifies under a key of
//!    the trust root that holds the repository's signer role and is valid now (not revoked, in
//!    its validity window), and proves inclusion in the trust root's transparency log (its
//!    checkpoint signed by the log key and cosigned to the witness quorum when the trust root
//!    sets one). An unlogged signature never counts, and neither does a trust root that names
//!    no log;
//! 2. for every attestation the repository requires, a DSSE bundle carries an in-toto
//!    Statement whose subject includes the manifest's digest, signed by a key of an allowed
//!    role, logged the same way, of the required predicate type and, for SLSA provenance, by
//!    an allowed builder.
//!
//! The checks are those of `custody verify` ([`crate::verify::verify_bundle_digests`] and
//! [`crate::tlog`]); nothing is re-implemented here. Evidence that cannot be parsed is skipped
//! and never counts. If the trust root cannot be loaded (missing, malformed, not signed to its
//! threshold, expired), every manifest is refused. A signature must be over the manifest's
//! digest in the manifest's own digest algorithm: ECDSA P-256 keys sign SHA-256 digests,
//! Ed25519 keys (Ed25519ph) SHA-512 ones.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use custody_crypto::{Digest, KeyId};
use custody_formats::bundle::{Bundle, Content};
use custody_formats::dsse::PAYLOAD_TYPE_IN_TOTO;
use custody_formats::intoto::Statement;
use custody_formats::slsa::{PREDICATE_TYPE_V1, Provenance};
use custody_formats::trust_root::{Role, TrustRoot};
use custody_formats::{Limits, Verified};
use time::OffsetDateTime;

use crate::codes::Code;
use crate::error::{Error, Result};
use crate::registry::config::{RegistryConfig, RepositoryPolicy, RequiredAttestation};
use crate::registry::policy::{
    Evidence, Gate, GateAction, RepoSettingsSource as _, SubjectDigests,
};
use crate::verify::{BUNDLE_LIMIT, Trust, Verification, verify_bundle_digests};

/// A clock, so that tests can judge validity windows at a chosen time.
pub type Clock = Box<dyn Fn() -> OffsetDateTime + Send + Sync>;

/// The trust root file, verified on first use and again whenever the file changes.
pub struct TrustRootSource {
    path: PathBuf,
    cache: Mutex<Option<(Stamp, Arc<Verified<TrustRoot>>)>>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Stamp {
    modified: Option<SystemTime>,
    len: u64,
}

impl TrustRootSource {
    /// The trust root at `path` (nothing is read until it is needed).
    pub fn new(path: &Path) -> Self {
        Self {
            path: path.to_path_buf(),
            cache: Mutex::new(None),
        }
    }

    /// The path it is read from.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The verified trust root as of `now`: re-read when the file changed, refused when it
    /// expired. Any failure is [`Code::RegistryTrustRootUnavailable`], naming the cause.
    pub fn current(&self, now: OffsetDateTime) -> Result<Arc<Verified<TrustRoot>>> {
        let unavailable = |e: &Error| {
            Error::new(
                Code::RegistryTrustRootUnavailable,
                format!(
                    "trust root '{}': {} ({})",
                    self.path.display(),
                    e.message(),
                    e.code()
                ),
            )
        };
        let meta =
            std::fs::metadata(&self.path).map_err(|e| unavailable(&Error::read(&self.path, &e)))?;
        let stamp = Stamp {
            modified: meta.modified().ok(),
            len: meta.len(),
        };
        let mut cache = self
            .cache
            .lock()
            .map_err(|_| Error::new(Code::Internal, "trust root cache lock poisoned"))?;
        let root = match cache.as_ref() {
            Some((cached, root)) if *cached == stamp => Arc::clone(root),
            _ => {
                *cache = None;
                let root = Arc::new(
                    crate::trust::load_trust_root(&self.path, now).map_err(|e| unavailable(&e))?,
                );
                *cache = Some((stamp, Arc::clone(&root)));
                root
            }
        };
        if root.expires() <= now {
            return Err(unavailable(&Error::new(
                Code::TrustRootExpired,
                format!("version {} expired at {}", root.version(), root.expires()),
            )));
        }
        Ok(root)
    }
}

/// Admissions are remembered at most this long, never past the trust root's expiry or the end
/// of a signing key's validity; a changed trust root file forgets them all (revocation takes
/// effect on the next request).
const ADMISSION_TTL: time::Duration = time::Duration::seconds(60);

/// At most this many admissions are remembered (the memory is cleared when it is full).
const ADMISSION_CACHE_ENTRIES: usize = 16_384;

struct Admission {
    root: Arc<Verified<TrustRoot>>,
    until: OffsetDateTime,
}

/// The [`Gate`] over a trust root and the registry config.
///
/// A manifest served again and again (pull enforcement) is verified once per trust-root
/// version and minute: the admission is remembered for the same rule, subject and set of
/// referrers, which are all content-addressed.
pub struct TrustRootGate {
    config: Arc<RegistryConfig>,
    trust_root: TrustRootSource,
    clock: Clock,
    admitted: Mutex<HashMap<String, Admission>>,
}

impl TrustRootGate {
    /// A gate that judges with `config`'s per-repository rules against the trust root at
    /// `trust_root`, at the current time.
    pub fn new(config: Arc<RegistryConfig>, trust_root: &Path) -> Self {
        Self {
            config,
            trust_root: TrustRootSource::new(trust_root),
            clock: Box::new(OffsetDateTime::now_utc),
            admitted: Mutex::new(HashMap::new()),
        }
    }

    /// Judges at the times `clock` returns instead of the system clock.
    #[must_use]
    pub fn with_clock(mut self, clock: Clock) -> Self {
        self.clock = clock;
        self
    }

    /// Whether `subject` is admitted under `policy`, whether or not its repository enforces
    /// the action (nothing is remembered: every call verifies).
    pub fn check(
        &self,
        policy: &RepositoryPolicy,
        subject: &Digest,
        evidence: &[Evidence],
    ) -> Result<()> {
        self.check_subject(policy, &SubjectDigests::named(*subject), evidence)
    }

    /// [`Self::check`] for a manifest whose bytes are known (signatures may cover any of its
    /// digests).
    pub fn check_subject(
        &self,
        policy: &RepositoryPolicy,
        subject: &SubjectDigests,
        evidence: &[Evidence],
    ) -> Result<()> {
        let now = (self.clock)();
        let root = self.trust_root.current(now)?;
        judge(&root, policy, subject, evidence, now).map(|_| ())
    }

    fn remembered(&self, key: &str, root: &Arc<Verified<TrustRoot>>, now: OffsetDateTime) -> bool {
        self.admitted.lock().is_ok_and(|cache| {
            cache
                .get(key)
                .is_some_and(|a| Arc::ptr_eq(&a.root, root) && now < a.until)
        })
    }

    fn remember(&self, key: String, root: Arc<Verified<TrustRoot>>, until: OffsetDateTime) {
        if let Ok(mut cache) = self.admitted.lock() {
            if cache.len() >= ADMISSION_CACHE_ENTRIES {
                cache.clear();
            }
            cache.insert(key, Admission { root, until });
        }
    }
}

/// Judges `subject`; when admitted, returns until when the judgement holds (the earliest of
/// the trust root's expiry and the end of validity or revocation time of every key that
/// signed the evidence relied on, capped at [`ADMISSION_TTL`] from `now`).
fn judge(
    root: &Verified<TrustRoot>,
    policy: &RepositoryPolicy,
    subject: &SubjectDigests,
    evidence: &[Evidence],
    now: OffsetDateTime,
) -> Result<OffsetDateTime> {
    let bundles: Vec<(&Evidence, Bundle)> = evidence
        .iter()
        .filter(|e| e.bundle.len() as u64 <= BUNDLE_LIMIT)
        .filter_map(|e| {
            Bundle::from_json(&e.bundle, &Limits::default())
                .ok()
                .map(|b| (e, b))
        })
        .collect();
    let skipped = evidence.len() - bundles.len();
    let mut signers = vec![check_signature(
        root,
        policy.signer_role,
        subject,
        &bundles,
        skipped,
        now,
    )?];
    for required in &policy.attestations {
        signers.push(check_attestation(root, required, subject, &bundles, now)?);
    }
    let mut until = (now + ADMISSION_TTL).min(root.expires());
    // The signers' keys, and the log and witness keys that vouched for the inclusion proofs.
    let relied_on = root
        .keys()
        .iter()
        .filter(|k| signers.contains(&k.key_id()) || matches!(k.role(), Role::Log | Role::Witness));
    for key in relied_on {
        for end in [key.valid_until(), key.revoked_at()].into_iter().flatten() {
            if end > now {
                until = until.min(end);
            }
        }
    }
    Ok(until)
}

impl Gate for TrustRootGate {
    fn admit_subject(
        &self,
        repository: &str,
        subject: &SubjectDigests,
        evidence: &[Evidence],
        action: GateAction,
    ) -> Result<()> {
        let policy = self.config.policy(repository);
        let enforced = match action {
            GateAction::Push => policy.settings.enforce_push,
            GateAction::Pull => policy.settings.enforce_pull,
        };
        debug_assert_eq!(policy.settings, self.config.settings(repository));
        if !enforced {
            return Ok(());
        }
        let now = (self.clock)();
        let root = self
            .trust_root
            .current(now)
            .map_err(|e| in_repository(e, repository, subject.name()))?;
        let mut referrers: Vec<String> = evidence.iter().map(|e| e.referrer.to_string()).collect();
        referrers.sort_unstable();
        let key = format!(
            "{}\n{}\n{}",
            policy.pattern.as_deref().unwrap_or(""),
            subject
                .digests()
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(" "),
            referrers.join(" ")
        );
        if self.remembered(&key, &root, now) {
            return Ok(());
        }
        let until = judge(&root, &policy, subject, evidence, now)
            .map_err(|e| in_repository(e, repository, subject.name()))?;
        self.remember(key, root, until);
        Ok(())
    }
}

fn in_repository(e: Error, repository: &str, subject: &Digest) -> Error {
    let hint = e.hint().to_owned();
    Error::new(e.code(), format!("{repository}@{subject}: {}", e.message())).with_hint(hint)
}

/// Verification plus the log requirement: the registry never admits an unlogged signature.
fn verify_logged(
    bundle: &Bundle,
    subject: &SubjectDigests,
    root: &Verified<TrustRoot>,
    role: Role,
    now: OffsetDateTime,
) -> Result<Verification> {
    let verification = verify_bundle_digests(
        bundle,
        subject.digests(),
        &Trust::TrustRoot { root, role },
        now,
    )?;
    if verification.log_index.is_none() {
        return Err(Error::new(
            Code::LogInclusionMissing,
            "the trust root names no transparency log, and the registry admits only logged signatures",
        )
        .with_hint("Use a trust root that lists the log's key (role log, with its name)."));
    }
    Ok(verification)
}

/// How far a bundle got before it failed: when several fail, the refusal reported is that of
/// the bundle that came closest to admitting the manifest (ties: the first in evidence order).
fn progress(code: Code) -> u8 {
    match code {
        Code::SignatureInvalid
        | Code::KeyMismatch
        | Code::ArtifactDigestMismatch
        | Code::SubjectMismatch => 1,
        Code::WrongRole | Code::KeyRevoked | Code::KeyExpired | Code::KeyNotYetValid => 2,
        Code::LogInclusionMissing | Code::LogProofInvalid | Code::WitnessQuorumMissing => 3,
        Code::AttestationMissing | Code::BuilderNotAllowed => 4,
        _ => 0,
    }
}

/// Keeps the more informative of two refusals (see [`progress`]).
fn keep_closest(best: &mut Option<Error>, candidate: Error) {
    match best {
        Some(b) if progress(b.code()) >= progress(candidate.code()) => {}
        _ => *best = Some(candidate),
    }
}

fn referrer_error(e: Error, evidence: &Evidence) -> Error {
    let hint = e.hint().to_owned();
    Error::new(
        e.code(),
        format!("referrer {}: {}", evidence.referrer, e.message()),
    )
    .with_hint(hint)
}

fn check_signature(
    root: &Verified<TrustRoot>,
    role: Role,
    subject: &SubjectDigests,
    bundles: &[(&Evidence, Bundle)],
    skipped: usize,
    now: OffsetDateTime,
) -> Result<KeyId> {
    let mut closest = None;
    let mut other_digest = None;
    for (evidence, bundle) in bundles {
        let Content::MessageSignature { digest, .. } = bundle.content() else {
            continue;
        };
        if !subject.contains(digest) {
            other_digest.get_or_insert(*digest);
            continue;
        }
        match verify_logged(bundle, subject, root, role, now) {
            Ok(v) => return Ok(v.key_id),
            Err(e) => keep_closest(&mut closest, referrer_error(e, evidence)),
        }
    }
    if let Some(e) = closest {
        return Err(e);
    }
    if let Some(other) = other_digest {
        return Err(Error::new(
            Code::ArtifactDigestMismatch,
            format!("the manifest's signatures sign {other}, not the manifest's digest"),
        )
        .with_hint("Sign this manifest's bytes (its digest), and push that bundle as its referrer; a signature cannot be moved to another manifest."));
    }
    let unparsed = if skipped > 0 {
        format!(" ({skipped} referrer(s) could not be parsed as bundles)")
    } else {
        String::new()
    };
    Err(Error::new(
        Code::SignatureMissing,
        format!(
            "no signature bundle among {} bundle referrer(s){unparsed}",
            bundles.len() + skipped
        ),
    ))
}

/// The statement's predicate type as the envelope claims it, before any verification: used
/// only to pick the most relevant refusal to report, never to admit.
fn claimed_predicate_type(bundle: &Bundle) -> Option<String> {
    let Content::Dsse(envelope) = bundle.content() else {
        return None;
    };
    if envelope.payload_type() != PAYLOAD_TYPE_IN_TOTO {
        return None;
    }
    Statement::from_json(envelope.payload(), &Limits::default())
        .ok()
        .map(|s| s.predicate_type().to_owned())
}

fn check_attestation(
    root: &Verified<TrustRoot>,
    required: &RequiredAttestation,
    subject: &SubjectDigests,
    bundles: &[(&Evidence, Bundle)],
    now: OffsetDateTime,
) -> Result<KeyId> {
    let mut closest = None;
    for (evidence, bundle) in bundles {
        let Content::Dsse(envelope) = bundle.content() else {
            continue;
        };
        if claimed_predicate_type(bundle).as_deref() != Some(required.predicate_type.as_str()) {
            continue;
        }
        match attestation_admits(root, required, subject, bundle, envelope.payload(), now) {
            Ok(key_id) => return Ok(key_id),
            Err(e) => keep_closest(&mut closest, referrer_error(e, evidence)),
        }
    }
    Err(closest.unwrap_or_else(|| {
        Error::new(
            Code::AttestationMissing,
            format!(
                "no attestation of type {} among the manifest's referrers",
                required.predicate_type
            ),
        )
    }))
}

fn attestation_admits(
    root: &Verified<TrustRoot>,
    required: &RequiredAttestation,
    subject: &SubjectDigests,
    bundle: &Bundle,
    payload: &[u8],
    now: OffsetDateTime,
) -> Result<KeyId> {
    // The signer must hold one of the allowed roles; a wrong role is reported only when no
    // allowed role fits.
    let mut result = Err(Error::new(
        Code::AttestationMissing,
        "the attestation rule allows no role",
    ));
    for role in &required.signer_roles {
        result = verify_logged(bundle, subject, root, *role, now);
        match &result {
            Ok(_) => break,
            Err(e) if e.code() == Code::WrongRole => {}
            Err(_) => break,
        }
    }
    let key_id = result?.key_id;
    // The payload is the byte string whose signature just verified.
    let statement = Statement::from_json(payload, &Limits::default()).map_err(|e| {
        Error::new(
            Code::BundleMalformed,
            format!("the attested statement is malformed: {e}"),
        )
    })?;
    if statement.predicate_type() != required.predicate_type {
        return Err(Error::new(
            Code::AttestationMissing,
            format!(
                "the attestation's predicate type is {}, not {}",
                statement.predicate_type(),
                required.predicate_type
            ),
        ));
    }
    if required.predicate_type == PREDICATE_TYPE_V1 {
        let provenance = Provenance::from_value(statement.predicate()).map_err(|e| {
            Error::new(
                Code::AttestationMissing,
                format!("the provenance predicate is not valid SLSA provenance v1: {e}"),
            )
        })?;
        let builder = &provenance.run_details.builder.id;
        if !required.builder_ids.iter().any(|b| b == builder) {
            return Err(Error::new(
                Code::BuilderNotAllowed,
                format!(
                    "the provenance names builder '{builder}', which this repository does not allow"
                ),
            ));
        }
    }
    Ok(key_id)
}

#[cfg(test)]
mod tests;
