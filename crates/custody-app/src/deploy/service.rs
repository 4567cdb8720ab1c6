//! The server side of deployments: environment histories, promotions and the gate, over the
//! server's own registry, trust root, policies and advisories.
//!
//! A promotion is accepted only if its record verifies as the environment's next one
//! ([`super::verify_promotion`]), the artifact is in the registry, and the environment's
//! policy allows it on facts gathered here from the registry's evidence — the server never
//! takes a client's word for a decision. Appends are serialized and the store refuses a record
//! at a position that is already taken, so two concurrent promotions cannot both land.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use custody_build::scan::Advisory;
use custody_crypto::Digest;
use custody_deploy::{EnvironmentEvent, EnvironmentStore, EventKind};
use custody_policy::PolicySet;

use super::{Action, Artifact, Decision, FactsRequest, decide, gather};
use crate::codes::Code;
use crate::error::{Error, Result};
use crate::registry::enforce::{Clock, TrustRootSource};
use crate::registry::service::Registry;
use crate::tokens::{Scope, TokenChecker};

/// Each policy file's path, modification time and length: a changed stamp means reload.
type Stamp = Vec<(PathBuf, Option<SystemTime>, u64)>;

/// The policy directory, re-read when its files change.
struct PolicyCache {
    dir: Option<PathBuf>,
    cached: Mutex<Option<(Stamp, Arc<PolicySet>)>>,
}

impl PolicyCache {
    fn stamp(dir: &Path) -> Result<Stamp> {
        let mut stamp = Vec::new();
        for entry in std::fs::read_dir(dir).map_err(|e| Error::read(dir, &e))? {
            let entry = entry.map_err(|e| Error::read(dir, &e))?;
            let path = entry.path();
            if path.extension().is_some_and(|e| e == "rego") {
                let meta = entry.metadata().map_err(|e| Error::read(&path, &e))?;
                stamp.push((path, meta.modified().ok(), meta.len()));
            }
        }
        stamp.sort();
        Ok(stamp)
    }

    fn current(&self) -> Result<Arc<PolicySet>> {
        let Some(dir) = &self.dir else {
            return Err(Error::new(
                Code::PolicyNotConfigured,
                "the server has no policy directory (custody serve --policies DIR)",
            ));
        };
        let stamp = Self::stamp(dir)?;
        let mut cached = self
            .cached
            .lock()
            .map_err(|_| Error::new(Code::Internal, "policy cache lock poisoned"))?;
        if let Some((s, set)) = cached.as_ref()
            && *s == stamp
        {
            return Ok(Arc::clone(set));
        }
        let set = Arc::new(crate::policy::load_policy_dir(dir)?);
        *cached = Some((stamp, Arc::clone(&set)));
        Ok(set)
    }
}

/// Told about every promotion or rollback once it is recorded (for example to publish the
/// artifact to a TUF repository: [`super::publish::TufPublisher`]). What it answers is
/// reported with the recorded event; a failure never undoes the record.
pub trait PromotionListener: Send + Sync {
    /// Called after `event` was appended to its environment's history. `None` when the
    /// listener has nothing to do for this event (for example another environment).
    fn promoted(&self, event: &EnvironmentEvent) -> Option<Result<Published>>;
}

/// What a [`PromotionListener`] published.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Published {
    /// The target path of the artifact's file.
    pub target: String,
}

/// A recorded promotion or rollback, and what the listener made of it.
#[derive(Debug)]
pub struct Recorded {
    /// The appended event.
    pub event: EnvironmentEvent,
    /// The listener's outcome; `None` without a listener or when it had nothing to do.
    pub published: Option<Result<Published>>,
}

/// What the deployment service is built from.
pub struct DeploymentsConfig {
    /// Where environment histories live.
    pub store: Arc<dyn EnvironmentStore>,
    /// The registry holding artifacts and their evidence.
    pub registry: Arc<Registry>,
    /// The trust root evidence is verified against.
    pub trust_root: Arc<TrustRootSource>,
    /// Token checks for the `environment:` scopes.
    pub tokens: TokenChecker,
    /// The policy directory (`ENV.rego` per environment); without one nothing is promoted and
    /// the gate denies.
    pub policies: Option<PathBuf>,
    /// Advisories (OSV) to match SBOMs against; without them nothing counts as scanned.
    pub advisories: Option<Vec<Advisory>>,
    /// The clock.
    pub clock: Clock,
    /// Told about each recorded promotion or rollback, after the append.
    pub listener: Option<Arc<dyn PromotionListener>>,
}

/// The deployment service.
pub struct Deployments {
    config: DeploymentsConfig,
    policies: PolicyCache,
    append: Mutex<()>,
}

fn environment_scope(environment: &str, action: &str) -> Scope {
    Scope::Environment {
        name: environment.to_owned(),
        actions: vec![action.to_owned()],
    }
}

impl Deployments {
    /// The service.
    pub fn new(config: DeploymentsConfig) -> Self {
        let dir = config.policies.clone();
        Self {
            config,
            policies: PolicyCache {
                dir,
                cached: Mutex::new(None),
            },
            append: Mutex::new(()),
        }
    }

    fn authorize(&self, token: Option<&str>, environment: &str, action: &str) -> Result<String> {
        custody_deploy::validate_environment(environment)
            .map_err(|e| crate::error::from_deploy(&e))?;
        self.config
            .tokens
            .authorize(token, &environment_scope(environment, action))
    }

    /// The environment's history, oldest first (needs `environment:ENV:read`).
    pub fn history(&self, token: Option<&str>, environment: &str) -> Result<Vec<EnvironmentEvent>> {
        self.authorize(token, environment, "read")?;
        self.stored_history(environment)
    }

    fn stored_history(&self, environment: &str) -> Result<Vec<EnvironmentEvent>> {
        self.config
            .store
            .history(environment)
            .map_err(|e| crate::error::from_store(&e))
    }

    fn artifact(
        &self,
        repository: &str,
        digest: &Digest,
    ) -> Result<(Artifact, Vec<crate::registry::policy::Evidence>)> {
        let (manifest, evidence) = self
            .config
            .registry
            .manifest_with_evidence(repository, digest)?
            .ok_or_else(|| {
                Error::new(
                    Code::NotFound,
                    format!("{repository}@{digest} is not in the registry"),
                )
            })?;
        Ok((Artifact::new(repository, *digest, manifest)?, evidence))
    }

    fn decision(
        &self,
        action: Action,
        environment: &str,
        repository: &str,
        digest: &Digest,
        history: &[EnvironmentEvent],
    ) -> Result<Decision> {
        let now = (self.config.clock)();
        let root = self.config.trust_root.current(now)?;
        let policies = self.policies.current()?;
        let (artifact, evidence) = self.artifact(repository, digest)?;
        let facts = gather(&FactsRequest {
            action,
            environment,
            artifact: &artifact,
            evidence: &evidence,
            history,
            trust_root: &root,
            advisories: self.config.advisories.as_deref(),
            now,
        });
        Ok(decide(&facts, action, environment, &artifact, &policies))
    }

    /// The gate (needs `environment:ENV:read`): may `repository@digest` run in `environment`
    /// now ([`Action::Deploy`]), or would a promotion of it be allowed ([`Action::Promote`])?
    /// A denial is an `Ok` decision with its reasons; an error means no decision could be made
    /// (and the caller must not deploy).
    pub fn decide(
        &self,
        token: Option<&str>,
        environment: &str,
        repository: &str,
        digest: &Digest,
        action: Action,
    ) -> Result<Decision> {
        self.authorize(token, environment, "read")?;
        let now = (self.config.clock)();
        let root = self.config.trust_root.current(now)?;
        let history = self.stored_history(environment)?;
        super::verify_current(environment, &history, &root, now)?;
        self.decision(action, environment, repository, digest, &history)
    }

    /// Records a promotion or rollback (needs `environment:ENV:promote`): the signed, logged
    /// record in `bundle_json` must verify as the environment's next record, and the policy
    /// must allow the artifact. Returns the recorded event and, when a listener is configured,
    /// its outcome. The listener is called after the append and before the next promotion is
    /// considered, so that publications happen in the order of the history; its failure is
    /// reported, not returned as an error: the record stands.
    pub fn promote(
        &self,
        token: Option<&str>,
        environment: &str,
        bundle_json: &[u8],
    ) -> Result<Recorded> {
        self.authorize(token, environment, "promote")?;
        let _serial = self
            .append
            .lock()
            .map_err(|_| Error::new(Code::Internal, "promotion lock poisoned"))?;
        let event = self.record(environment, bundle_json)?;
        let published = self
            .config
            .listener
            .as_ref()
            .and_then(|l| l.promoted(&event));
        Ok(Recorded { event, published })
    }

    /// Verifies and appends the record; called with the append lock held.
    fn record(&self, environment: &str, bundle_json: &[u8]) -> Result<EnvironmentEvent> {
        let now = (self.config.clock)();
        let root = self.config.trust_root.current(now)?;
        let history = self.stored_history(environment)?;
        let (promotion, digest, signer, log_index) =
            super::verify_promotion(bundle_json, environment, &history, &root, now)?;
        if promotion.kind == EventKind::Rollback
            && !custody_deploy::rollback_candidates(&history)
                .iter()
                .any(|(d, _)| *d == digest)
        {
            return Err(Error::new(
                Code::PromotionInvalid,
                format!(
                    "{digest} was never current in '{environment}' before, so it cannot be rolled back to"
                ),
            ));
        }
        let decision = self.decision(
            Action::Promote,
            environment,
            &promotion.repository,
            &digest,
            &history,
        )?;
        if !decision.allowed {
            return Err(decision.into_error(Code::PromotionDenied));
        }
        let event = EnvironmentEvent {
            environment: environment.to_owned(),
            sequence: promotion.sequence,
            kind: promotion.kind,
            repository: promotion.repository.clone(),
            digest,
            previous: promotion.previous,
            signer,
            log_index,
            bundle: bundle_json.to_vec(),
            recorded_at: now,
        };
        self.config
            .store
            .append(&event)
            .map_err(|e| crate::error::from_store(&e))?;
        Ok(event)
    }
}
