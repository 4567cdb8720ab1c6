//! Deployment: verified facts, the policy decision, environments and their promotions.
//!
//! The gate answers one question: may this exact artifact run in this environment now?
//! [`facts::gather`] verifies every piece of evidence and produces the only document policy
//! sees; [`decide`] adds custody's built-in denials (no verified release signature; on deploy,
//! not the environment's promoted digest) to the policy's. Environments have an append-only
//! history of signed, logged promotion records ([`custody_deploy::EnvironmentEvent`]); the
//! server keeps it ([`service::Deployments`]) and clients verify what they are given
//! ([`verify_current`]).

pub mod audit;
pub mod client;
pub mod facts;
pub mod publish;
pub mod service;

use custody_crypto::Digest;
use custody_deploy::{PROMOTION_PREDICATE_TYPE, Promotion};
use custody_formats::Verified;
use custody_formats::trust_root::{Role, TrustRoot};
use custody_policy::PolicySet;
use serde_json::{Value, json};
use time::OffsetDateTime;

use crate::codes::Code;
use crate::error::{Error, Result};
use crate::registry::policy::SubjectDigests;
use crate::verify::parse_bundle;

pub use custody_deploy::{Approval, EnvironmentEvent, EventKind};
pub use facts::{Action, Artifact, Facts, FactsRequest, gather};

/// A decision about one artifact in one environment, with every reason for a denial.
#[derive(Debug, Clone)]
pub struct Decision {
    /// Whether the action is allowed.
    pub allowed: bool,
    /// The action decided.
    pub action: Action,
    /// The environment.
    pub environment: String,
    /// The artifact's repository.
    pub repository: String,
    /// The artifact's digest.
    pub digest: Digest,
    /// Every reason for a denial (empty when allowed): custody's own first, then the policy's.
    pub reasons: Vec<String>,
    /// The digest of the policy files that decided.
    pub policy: String,
    /// The verified facts the policy saw.
    pub facts: Value,
}

impl Decision {
    /// The decision as JSON (the gate's `--json` output and HTTP answer).
    pub fn to_json(&self) -> Value {
        json!({
            "allowed": self.allowed,
            "action": self.action.as_str(),
            "environment": self.environment,
            "repository": self.repository,
            "digest": self.digest.to_string(),
            "reasons": self.reasons,
            "policy": self.policy,
            "facts": self.facts,
        })
    }

    /// A denial as an error of `code`, listing the reasons.
    pub fn into_error(self, code: Code) -> Error {
        let what = match self.action {
            Action::Deploy => "may not run in",
            Action::Promote => "may not be promoted to",
        };
        Error::new(
            code,
            format!(
                "{}@{} {what} '{}': {}",
                self.repository,
                self.digest,
                self.environment,
                self.reasons.join("; ")
            ),
        )
    }
}

/// Decides from verified facts: custody's built-in denials, then the environment's policy.
/// Fails closed: a policy that cannot be evaluated denies (the policy set says why).
pub fn decide(
    facts: &Facts,
    action: Action,
    environment: &str,
    artifact: &Artifact,
    policies: &PolicySet,
) -> Decision {
    let mut reasons = Vec::new();
    if !facts.release_signed() {
        let rejected: Vec<String> = facts.input()["rejected"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|r| r["kind"] == "signature")
            .map(|r| {
                format!(
                    "{}: {}",
                    r["code"].as_str().unwrap_or(""),
                    r["reason"].as_str().unwrap_or("")
                )
            })
            .collect();
        reasons.push(format!(
            "no verified, logged signature over the manifest by a release key of the trust root{}",
            if rejected.is_empty() {
                String::new()
            } else {
                format!(" (rejected: {})", rejected.join("; "))
            }
        ));
    }
    if action == Action::Deploy {
        match facts.current() {
            None => reasons.push(format!("nothing has been promoted to '{environment}'")),
            Some(current) if *current != artifact.digest => reasons.push(format!(
                "{} is not the digest promoted to '{environment}' (that is {current})",
                artifact.digest
            )),
            Some(_) => {}
        }
    }
    let policy = policies.evaluate(environment, facts.input());
    reasons.extend(policy.reasons.iter().cloned());
    Decision {
        allowed: reasons.is_empty() && policy.allowed,
        action,
        environment: environment.to_owned(),
        repository: artifact.repository.clone(),
        digest: artifact.digest,
        reasons,
        policy: policy.policy_digest.clone(),
        facts: facts.input().clone(),
    }
}

/// Verifies a promotion bundle as the next record of `environment` after `history`: a logged
/// DSSE statement by a release key of the trust root, about the manifest it names, whose
/// predicate is a promotion at exactly the next position, extending the current digest.
/// Returns the promotion, the subject digest, the signer's key id and the log index.
pub fn verify_promotion(
    bundle_json: &[u8],
    environment: &str,
    history: &[EnvironmentEvent],
    trust_root: &Verified<TrustRoot>,
    now: OffsetDateTime,
) -> Result<(Promotion, Digest, String, u64)> {
    let invalid = |why: String| Error::new(Code::PromotionInvalid, why);
    let bundle = parse_bundle(bundle_json)?;
    let custody_formats::bundle::Content::Dsse(envelope) = bundle.content() else {
        return Err(invalid(
            "a promotion record is a DSSE attestation, not a message signature".into(),
        ));
    };
    // The subject is read unverified only to know which digest to verify against.
    let claimed = custody_formats::intoto::Statement::from_json(
        envelope.payload(),
        &custody_formats::Limits::default(),
    )
    .map_err(|e| Error::format(crate::error::Document::Bundle, &e))?;
    let [subject] = claimed.subjects() else {
        return Err(invalid("a promotion record has exactly one subject".into()));
    };
    let digest = subject
        .digest(custody_crypto::DigestAlgorithm::Sha256)
        .ok_or_else(|| invalid("the promotion's subject has no sha256 digest".into()))?;
    let verified = facts::verify_evidence(
        &bundle,
        &SubjectDigests::named(digest),
        &[],
        trust_root,
        Role::Release,
        false,
        now,
    )?;
    let statement = verified
        .statement
        .ok_or_else(|| invalid("the promotion record carries no statement".into()))?;
    if statement.predicate_type() != PROMOTION_PREDICATE_TYPE {
        return Err(invalid(format!(
            "predicate type is '{}', not {PROMOTION_PREDICATE_TYPE}",
            statement.predicate_type()
        )));
    }
    let promotion = Promotion::from_predicate(statement.predicate())
        .map_err(|e| invalid(format!("promotion predicate: {e}")))?;
    if promotion.environment != environment {
        return Err(invalid(format!(
            "the record promotes to '{}', not '{environment}'",
            promotion.environment
        )));
    }
    custody_deploy::check_next(history, &promotion).map_err(|e| crate::error::from_deploy(&e))?;
    let log_index = verified.log_index.unwrap_or_default();
    Ok((promotion, digest, verified.key_id.to_string(), log_index))
}

/// Verifies the environment's current record (the last of `history`) against the trust root
/// now, and that the history is a gapless chain (each record's `previous` is the digest before
/// it). Returns the current digest, or `None` for an empty history.
///
/// Older records are checked for their place in the chain only: the keys that signed them may
/// have expired since, which does not change what was promoted then.
pub fn verify_current(
    environment: &str,
    history: &[EnvironmentEvent],
    trust_root: &Verified<TrustRoot>,
    now: OffsetDateTime,
) -> Result<Option<Digest>> {
    let broken = |why: String| Error::new(Code::PromotionInvalid, why);
    for (i, event) in history.iter().enumerate() {
        let expected_previous = i.checked_sub(1).map(|p| history[p].digest);
        if event.environment != environment
            || event.sequence != i as u64 + 1
            || event.previous != expected_previous
        {
            return Err(broken(format!(
                "the history of '{environment}' is not a chain at record {}",
                i + 1
            )));
        }
    }
    let Some((last, before)) = history.split_last() else {
        return Ok(None);
    };
    let (promotion, digest, _, _) =
        verify_promotion(&last.bundle, environment, before, trust_root, now)?;
    if digest != last.digest
        || promotion.kind != last.kind
        || promotion.repository != last.repository
        || promotion.sequence != last.sequence
    {
        return Err(broken(format!(
            "record {} of '{environment}' says something other than its signed promotion",
            last.sequence
        )));
    }
    Ok(Some(digest))
}

/// The kind of a record, as people read it.
pub fn kind_name(kind: EventKind) -> &'static str {
    match kind {
        EventKind::Promote => "promotion",
        EventKind::Rollback => "rollback",
    }
}

#[cfg(test)]
mod tests;
