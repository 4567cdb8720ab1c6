//! The client side of deployments: approve, promote, roll back and decide, against a custody
//! server (its registry under `/v2/` and its environment API under `/api/v1/`).
//!
//! Nothing the server says is taken on trust: the history's current record is verified against
//! the caller's trust root ([`super::verify_current`]), and a local gate decision verifies the
//! artifact's evidence itself ([`super::gather`]).

use std::path::{Path, PathBuf};

use custody_build::scan::Advisory;
use custody_crypto::{Digest, Signer};
use custody_deploy::{Approval, EnvironmentEvent, EventKind, PROMOTION_PREDICATE_TYPE, Promotion};
use custody_formats::Verified;
use custody_formats::intoto::{Statement, Subject};
use custody_formats::trust_root::TrustRoot;
use custody_policy::PolicySet;
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::{Action, Artifact, Decision, FactsRequest, decide, gather, verify_current};
use crate::codes::Code;
use crate::error::{Document, Error, Result};
use crate::registry::client::{Reference, RegistryClient, attach_bundle, evidence_of, resolve};
use crate::sign::{Logger, sign_statement};

/// The URL of an environment's API on the server of `reference`.
fn environment_url(reference: &Reference, environment: &str, tail: &str) -> String {
    format!("{}/api/v1/environments/{environment}{tail}", reference.base)
}

/// An event as the environment API sends it.
pub fn event_to_json(event: &EnvironmentEvent) -> Value {
    let bundle: Value = serde_json::from_slice(&event.bundle).unwrap_or(Value::Null);
    json!({
        "environment": event.environment,
        "sequence": event.sequence,
        "kind": event.kind.as_str(),
        "repository": event.repository,
        "digest": event.digest.to_string(),
        "previous": event.previous.map(|d| d.to_string()),
        "signer": event.signer,
        "logIndex": event.log_index,
        "recordedAt": event.recorded_at.format(&Rfc3339).unwrap_or_default(),
        "bundle": bundle,
    })
}

/// Reads an event from the environment API's JSON (checked again by [`verify_current`]).
pub fn event_from_json(value: &Value) -> Result<EnvironmentEvent> {
    let bad = |field: &str| {
        Error::new(
            Code::RegistryAnswerInvalid,
            format!("the server's environment record has no valid '{field}'"),
        )
    };
    let text = |field: &str| {
        value
            .get(field)
            .and_then(Value::as_str)
            .ok_or_else(|| bad(field))
    };
    let digest = |field: &str| -> Result<Digest> { text(field)?.parse().map_err(|_| bad(field)) };
    let previous = match value.get("previous") {
        None | Some(Value::Null) => None,
        Some(_) => Some(digest("previous")?),
    };
    let bundle = value
        .get("bundle")
        .filter(|b| b.is_object())
        .ok_or_else(|| bad("bundle"))?;
    Ok(EnvironmentEvent {
        environment: text("environment")?.to_owned(),
        sequence: value
            .get("sequence")
            .and_then(Value::as_u64)
            .ok_or_else(|| bad("sequence"))?,
        kind: text("kind")?.parse().map_err(|_| bad("kind"))?,
        repository: text("repository")?.to_owned(),
        digest: digest("digest")?,
        previous,
        signer: text("signer")?.to_owned(),
        log_index: value
            .get("logIndex")
            .and_then(Value::as_u64)
            .ok_or_else(|| bad("logIndex"))?,
        bundle: serde_json::to_vec(bundle).map_err(|_| bad("bundle"))?,
        recorded_at: OffsetDateTime::parse(text("recordedAt")?, &Rfc3339)
            .map_err(|_| bad("recordedAt"))?,
    })
}

/// The environment's history as the server holds it (unverified; see [`verified_history`]).
pub fn history(
    client: &RegistryClient,
    reference: &Reference,
    environment: &str,
) -> Result<Vec<EnvironmentEvent>> {
    custody_deploy::validate_environment(environment).map_err(|e| crate::error::from_deploy(&e))?;
    let answer = client.call_api(&environment_url(reference, environment, ""), None)?;
    answer
        .get("events")
        .and_then(Value::as_array)
        .ok_or_else(|| {
            Error::new(
                Code::RegistryAnswerInvalid,
                "the server's answer has no 'events'",
            )
        })?
        .iter()
        .map(event_from_json)
        .collect()
}

/// The environment's history, with its current record verified against `trust_root`.
pub fn verified_history(
    client: &RegistryClient,
    reference: &Reference,
    environment: &str,
    trust_root: &Verified<TrustRoot>,
    now: OffsetDateTime,
) -> Result<Vec<EnvironmentEvent>> {
    let events = history(client, reference, environment)?;
    verify_current(environment, &events, trust_root, now)?;
    Ok(events)
}

/// A scratch file for a bundle that is uploaded and not kept.
fn scratch(name: &str) -> PathBuf {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    std::env::temp_dir().join(format!(
        "custody-{name}-{}-{nanos}.json",
        std::process::id()
    ))
}

fn sign_about(
    manifest: Digest,
    name: &str,
    predicate_type: &str,
    predicate: Value,
    signer: &dyn Signer,
    out: Option<&Path>,
    logger: Logger<'_>,
) -> Result<crate::sign::Signed> {
    let statement = Statement::new(
        vec![Subject::new(name, &[manifest])],
        predicate_type,
        predicate,
    )
    .map_err(|e| Error::format(Document::Predicate, &e))?;
    let path = out.map_or_else(|| scratch("record"), Path::to_path_buf);
    let signed = sign_statement(&statement, signer, manifest, &path, logger);
    if out.is_none() {
        let _ = std::fs::remove_file(&path);
    }
    signed
}

/// What an approval produced.
#[derive(Debug, Clone)]
pub struct Approved {
    /// The approved manifest.
    pub digest: Digest,
    /// The referrer that carries the approval.
    pub referrer: Digest,
    /// The approval's transparency-log index.
    pub log_index: Option<u64>,
}

/// `custody approve`: signs an approval of the manifest at `reference` for `environment`,
/// logs it through `logger`, and attaches it to the manifest as a referrer.
pub fn approve(
    client: &RegistryClient,
    reference: &Reference,
    approval: &Approval,
    signer: &dyn Signer,
    out: Option<&Path>,
    logger: Logger<'_>,
) -> Result<Approved> {
    custody_deploy::validate_environment(&approval.environment)
        .map_err(|e| crate::error::from_deploy(&e))?;
    let (descriptor, _) = resolve(client, reference)?;
    let signed = sign_about(
        descriptor.digest,
        &reference.repository,
        custody_deploy::APPROVAL_PREDICATE_TYPE,
        approval.to_predicate(),
        signer,
        out,
        logger,
    )?;
    let log_index = signed.bundle.tlog_entries().first().map(|e| e.log_index);
    let referrer = attach_bundle(client, reference, &descriptor, &signed.bundle.to_json())?;
    Ok(Approved {
        digest: descriptor.digest,
        referrer,
        log_index,
    })
}

/// A record the server accepted: the event, and the server's `tuf` answer (whether it
/// published the artifact to its TUF repository) when it gave one.
#[derive(Debug, Clone)]
pub struct Submitted {
    /// The recorded event.
    pub event: EnvironmentEvent,
    /// `{"published": true, "target"}` or `{"published": false, "error": {"code", "message"}}`.
    pub tuf: Option<Value>,
}

/// `custody promote` and `custody rollback`'s last step: signs the environment's next record
/// (logged through `logger`) moving it to the manifest at `reference`, and submits it.
/// The server records it only if it verifies and its policy allows the artifact.
#[allow(clippy::too_many_arguments)]
pub fn promote(
    client: &RegistryClient,
    reference: &Reference,
    environment: &str,
    kind: EventKind,
    reason: Option<String>,
    signer: &dyn Signer,
    trust_root: &Verified<TrustRoot>,
    now: OffsetDateTime,
    logger: Logger<'_>,
) -> Result<Submitted> {
    let (descriptor, _) = resolve(client, reference)?;
    let events = verified_history(client, reference, environment, trust_root, now)?;
    let promotion = Promotion {
        environment: environment.to_owned(),
        kind,
        repository: reference.repository.clone(),
        sequence: events.len() as u64 + 1,
        previous: events.last().map(|e| e.digest),
        reason,
    };
    custody_deploy::check_next(&events, &promotion).map_err(|e| crate::error::from_deploy(&e))?;
    let signed = sign_about(
        descriptor.digest,
        &reference.repository,
        PROMOTION_PREDICATE_TYPE,
        promotion.to_predicate(),
        signer,
        None,
        logger,
    )?;
    let body: Value = serde_json::from_slice(&signed.bundle.to_json())
        .map_err(|e| Error::new(Code::Internal, format!("bundle JSON: {e}")))?;
    let answer = client.call_api(
        &environment_url(reference, environment, "/records"),
        Some(&body),
    )?;
    Ok(Submitted {
        event: event_from_json(&answer)?,
        tuf: answer.get("tuf").filter(|t| t.is_object()).cloned(),
    })
}

/// What a local decision needs besides the artifact.
pub struct LocalGate<'a> {
    /// The verified trust root.
    pub trust_root: &'a Verified<TrustRoot>,
    /// The policies.
    pub policies: &'a PolicySet,
    /// Advisories for the SBOM scan, if any.
    pub advisories: Option<&'a [Advisory]>,
    /// The time of the decision.
    pub now: OffsetDateTime,
}

/// Decides here (not on the server): resolves `reference` (a tag resolves to the digest it
/// names now), fetches its evidence and the environment's history, verifies them, and
/// evaluates the policy.
pub fn decide_locally(
    client: &RegistryClient,
    reference: &Reference,
    environment: &str,
    action: Action,
    gate: &LocalGate<'_>,
) -> Result<Decision> {
    let (descriptor, manifest) = resolve(client, reference)?;
    let artifact = Artifact::new(&reference.repository, descriptor.digest, manifest)?;
    let evidence = evidence_of(client, reference, &descriptor.digest)?;
    let events = verified_history(client, reference, environment, gate.trust_root, gate.now)?;
    let facts = gather(&FactsRequest {
        action,
        environment,
        artifact: &artifact,
        evidence: &evidence,
        history: &events,
        trust_root: gate.trust_root,
        advisories: gate.advisories,
        now: gate.now,
    });
    Ok(decide(
        &facts,
        action,
        environment,
        &artifact,
        gate.policies,
    ))
}

/// Asks the server for its decision (the same answer its admission endpoint gives).
pub fn decide_remotely(
    client: &RegistryClient,
    reference: &Reference,
    environment: &str,
    action: Action,
) -> Result<Value> {
    let (descriptor, _) = resolve(client, reference)?;
    client.call_api(
        &format!("{}/api/v1/gate", reference.base),
        Some(&json!({
            "environment": environment,
            "repository": reference.repository,
            "digest": descriptor.digest.to_string(),
            "action": action.as_str(),
        })),
    )
}

/// The rollback target: the newest earlier digest of the environment that the server's
/// policy allows now, with the reasons each newer candidate was refused.
pub fn rollback_target(
    client: &RegistryClient,
    reference: &Reference,
    environment: &str,
    events: &[EnvironmentEvent],
) -> Result<(Reference, Vec<String>)> {
    let mut refused = Vec::new();
    for (digest, repository) in custody_deploy::rollback_candidates(events) {
        let candidate = Reference {
            base: reference.base.clone(),
            repository: repository.clone(),
            tag: None,
            digest: Some(digest),
        };
        let answer = decide_remotely(client, &candidate, environment, Action::Promote)?;
        if answer.get("allowed").and_then(Value::as_bool) == Some(true) {
            return Ok((candidate, refused));
        }
        let reasons: Vec<&str> = answer
            .get("reasons")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .collect();
        refused.push(format!("{repository}@{digest}: {}", reasons.join("; ")));
    }
    Err(Error::new(
        Code::RollbackUnavailable,
        if refused.is_empty() {
            format!("'{environment}' has no earlier artifact to roll back to")
        } else {
            format!(
                "no earlier artifact of '{environment}' passes its policy now: {}",
                refused.join(" | ")
            )
        },
    ))
}

/// The default file name of an approval bundle kept with `--out`.
pub fn approval_file_name(digest: &Digest, environment: &str) -> String {
    format!(
        "approval-{environment}-{}.sigstore.json",
        &digest.hex()[..12]
    )
}
