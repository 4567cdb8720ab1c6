//! `custody approve | promote | rollback | gate | audit-deployed | env`: approvals, promotion
//! between environments, the deploy gate, rollback and runtime drift audits.

use std::path::{Path, PathBuf};

use custody_app::deploy::client::{
    self as deploy, LocalGate, decide_locally, decide_remotely, verified_history,
};
use custody_app::deploy::{Action, Approval, Decision, EventKind};
use custody_app::registry::client::{Reference, RegistryClient, resolve};
use custody_app::{Code, Error, Result};
use custody_formats::Verified;
use custody_formats::trust_root::TrustRoot;
use serde_json::{Value, json};

use super::LogArgs;
use crate::output::Output;

/// The server, trust root and token most deploy commands need.
#[derive(Debug, clap::Args)]
pub(crate) struct TrustArgs {
    /// The trust root every record and piece of evidence is verified against.
    #[arg(long, value_name = "FILE")]
    trust_root: PathBuf,
}

#[derive(Debug, clap::Args)]
pub(crate) struct ApproveArgs {
    /// The artifact: [http(s)://]HOST[:PORT]/REPOSITORY[:TAG][@DIGEST] (a tag is resolved to
    /// its digest now, and the approval binds that digest).
    reference: String,
    /// The environment the approval is for.
    #[arg(long = "env", value_name = "ENV")]
    environment: String,
    /// The approver's private key (a key of role approver in the trust root).
    #[arg(long)]
    key: PathBuf,
    /// A note for the record (e.g. the change ticket).
    #[arg(long)]
    comment: Option<String>,
    /// Also keep the signed approval bundle in this file.
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
    #[command(flatten)]
    log: LogArgs,
}

#[derive(Debug, clap::Args)]
pub(crate) struct PromoteArgs {
    /// The artifact: [http(s)://]HOST[:PORT]/REPOSITORY[:TAG][@DIGEST].
    reference: String,
    /// The environment to promote to.
    #[arg(long = "to", value_name = "ENV")]
    environment: String,
    /// The release key that signs the promotion record.
    #[arg(long)]
    key: PathBuf,
    /// Why (kept in the signed record).
    #[arg(long)]
    reason: Option<String>,
    #[command(flatten)]
    trust: TrustArgs,
    #[command(flatten)]
    log: LogArgs,
}

#[derive(Debug, clap::Args)]
pub(crate) struct RollbackArgs {
    /// The environment to roll back.
    #[arg(long = "env", value_name = "ENV")]
    environment: String,
    /// The custody server (e.g. http://127.0.0.1:8080).
    #[arg(long, value_name = "URL")]
    server: String,
    /// The release key that signs the rollback record.
    #[arg(long)]
    key: PathBuf,
    /// Why (kept in the signed record).
    #[arg(long)]
    reason: Option<String>,
    #[command(flatten)]
    trust: TrustArgs,
    #[command(flatten)]
    log: LogArgs,
}

#[derive(Debug, clap::Args)]
pub(crate) struct GateArgs {
    /// The artifact about to be deployed: [http(s)://]HOST[:PORT]/REPOSITORY[:TAG][@DIGEST].
    pub(crate) reference: String,
    /// The environment it is deployed to.
    #[arg(long = "env", value_name = "ENV")]
    pub(crate) environment: String,
    /// Decide here with these policies (ENV.rego, package custody.env.ENV) and --trust-root,
    /// verifying all evidence locally. Without it the server decides.
    #[arg(long, value_name = "DIR", requires = "trust_root")]
    pub(crate) policies: Option<PathBuf>,
    /// The trust root (with --policies).
    #[arg(long, value_name = "FILE")]
    pub(crate) trust_root: Option<PathBuf>,
    /// OSV advisories to match the artifact's SBOM against (with --policies).
    #[arg(long, value_name = "DIR", requires = "policies")]
    pub(crate) advisories: Option<PathBuf>,
    /// Ask whether a promotion would be allowed, instead of a deployment.
    #[arg(long)]
    pub(crate) promote: bool,
    /// Print the verified facts the policy saw.
    #[arg(long)]
    pub(crate) facts: bool,
    /// A token with environment:ENV:read (and repository:NAME:pull), or set CUSTODY_TOKEN.
    #[arg(long, env = "CUSTODY_TOKEN", hide_env_values = true)]
    pub(crate) token: Option<String>,
}

#[derive(Debug, clap::Args)]
pub(crate) struct AuditDeployedArgs {
    /// The directory the artifact was deployed to.
    dir: PathBuf,
    /// The environment whose current artifact the directory must hold.
    #[arg(long = "env", value_name = "ENV")]
    environment: String,
    /// The custody server (e.g. http://127.0.0.1:8080).
    #[arg(long, value_name = "URL")]
    server: String,
    #[command(flatten)]
    trust: TrustArgs,
    /// Report files in DIR that the artifact does not name as drift too.
    #[arg(long)]
    strict: bool,
    /// A token with environment:ENV:read and repository:NAME:pull, or set CUSTODY_TOKEN.
    #[arg(long, env = "CUSTODY_TOKEN", hide_env_values = true)]
    token: Option<String>,
}

#[derive(Debug, clap::Subcommand)]
pub(crate) enum EnvCommand {
    /// Show an environment's current artifact and its history of promotions and rollbacks.
    Show(EnvShowArgs),
}

#[derive(Debug, clap::Args)]
pub(crate) struct EnvShowArgs {
    /// The environment.
    environment: String,
    /// The custody server (e.g. http://127.0.0.1:8080).
    #[arg(long, value_name = "URL")]
    server: String,
    #[command(flatten)]
    trust: TrustArgs,
    /// A token with environment:ENV:read, or set CUSTODY_TOKEN.
    #[arg(long, env = "CUSTODY_TOKEN", hide_env_values = true)]
    token: Option<String>,
}

fn client(token: Option<&String>) -> Result<RegistryClient> {
    RegistryClient::new(token.cloned().map(secrecy::SecretString::from))
}

fn trust_root(path: &Path) -> Result<Verified<TrustRoot>> {
    custody_app::trust::load_trust_root(path, super::now())
}

/// The server's base URL as a reference (the environment API lives beside the registry).
fn server_reference(server: &str) -> Result<Reference> {
    let base = server.trim_end_matches('/');
    if !(base.starts_with("http://") || base.starts_with("https://")) {
        return Err(Error::new(
            Code::InvalidArgument,
            format!("--server '{server}' is not an http(s) URL"),
        ));
    }
    Ok(Reference {
        base: base.to_owned(),
        repository: String::new(),
        tag: None,
        digest: None,
    })
}

pub(crate) fn approve(args: ApproveArgs, out: &Output) -> Result<()> {
    let reference: Reference = args.reference.parse()?;
    let key = super::load_signing_key(&args.key)?;
    let client = client(args.log.token.as_ref())?;
    let approval = Approval {
        environment: args.environment.clone(),
        comment: args.comment.clone(),
    };
    let approved = super::with_logger(&args.log, |logger| {
        deploy::approve(
            &client,
            &reference,
            &approval,
            &key,
            args.out.as_deref(),
            logger,
        )
    })?;
    out.success(
        &format!(
            "approved {}@{} for '{}' as key {}\n  approval referrer: {}{}",
            reference.repository,
            approved.digest,
            args.environment,
            custody_crypto::Signer::public_key(&key).key_id(),
            approved.referrer,
            approved
                .log_index
                .map(|i| format!(" (log index {i})"))
                .unwrap_or_else(|| " (not logged: the gate will not count it)".into()),
        ),
        json!({
            "digest": approved.digest.to_string(),
            "environment": args.environment,
            "referrer": approved.referrer.to_string(),
            "logIndex": approved.log_index,
        }),
    );
    Ok(())
}

fn print_submitted(out: &Output, submitted: &deploy::Submitted) {
    let Some(tuf) = &submitted.tuf else {
        return print_event(out, &submitted.event);
    };
    let line = if tuf["published"] == true {
        format!(
            "\npublished to the TUF repository as {}",
            tuf["target"].as_str().unwrap_or("")
        )
    } else {
        format!(
            "\nnot published to the TUF repository ({}: {}); redo it with 'custody tuf add'",
            tuf["error"]["code"].as_str().unwrap_or(""),
            tuf["error"]["message"].as_str().unwrap_or("")
        )
    };
    let mut value = deploy::event_to_json(&submitted.event);
    value["tuf"] = tuf.clone();
    out.success(&format!("{}{line}", event_line(&submitted.event)), value);
}

fn print_event(out: &Output, event: &custody_app::deploy::EnvironmentEvent) {
    out.success(&event_line(event), deploy::event_to_json(event));
}

fn event_line(event: &custody_app::deploy::EnvironmentEvent) -> String {
    format!(
        "{} '{}' record {}: {}@{}{} (log index {})",
        custody_app::deploy::kind_name(event.kind),
        event.environment,
        event.sequence,
        event.repository,
        event.digest,
        event
            .previous
            .map(|p| format!(", was {p}"))
            .unwrap_or_default(),
        event.log_index
    )
}

pub(crate) fn promote(args: PromoteArgs, out: &Output) -> Result<()> {
    let reference: Reference = args.reference.parse()?;
    let root = trust_root(&args.trust.trust_root)?;
    let key = super::load_signing_key(&args.key)?;
    let client = client(args.log.token.as_ref())?;
    let event = super::with_logger(&args.log, |logger| {
        deploy::promote(
            &client,
            &reference,
            &args.environment,
            EventKind::Promote,
            args.reason.clone(),
            &key,
            &root,
            super::now(),
            logger,
        )
    })?;
    print_submitted(out, &event);
    Ok(())
}

pub(crate) fn rollback(args: RollbackArgs, out: &Output) -> Result<()> {
    let server = server_reference(&args.server)?;
    let root = trust_root(&args.trust.trust_root)?;
    let key = super::load_signing_key(&args.key)?;
    let client = client(args.log.token.as_ref())?;
    let events = verified_history(&client, &server, &args.environment, &root, super::now())?;
    let (target, refused) = deploy::rollback_target(&client, &server, &args.environment, &events)?;
    for line in &refused {
        out.info(&format!("  skipped (fails policy now) {line}"));
    }
    let event = super::with_logger(&args.log, |logger| {
        deploy::promote(
            &client,
            &target,
            &args.environment,
            EventKind::Rollback,
            args.reason.clone(),
            &key,
            &root,
            super::now(),
            logger,
        )
    })?;
    print_submitted(out, &event);
    Ok(())
}

fn render(decision: &Value, show_facts: bool) -> String {
    let allowed = decision.get("allowed").and_then(Value::as_bool) == Some(true);
    let mut text = format!(
        "{} {}@{} in '{}' (policy {})",
        if allowed { "ALLOW" } else { "DENY" },
        decision["repository"].as_str().unwrap_or(""),
        decision["digest"].as_str().unwrap_or(""),
        decision["environment"].as_str().unwrap_or(""),
        decision["policy"].as_str().unwrap_or(""),
    );
    for reason in decision["reasons"].as_array().into_iter().flatten() {
        text.push_str(&format!("\n  - {}", reason.as_str().unwrap_or("")));
    }
    if show_facts {
        text.push_str(&format!(
            "\nfacts:\n{}",
            serde_json::to_string_pretty(&decision["facts"]).unwrap_or_default()
        ));
    }
    text
}

pub(crate) fn gate(args: GateArgs, out: &Output) -> Result<()> {
    let reference: Reference = args.reference.parse()?;
    let client = client(args.token.as_ref())?;
    let action = if args.promote {
        Action::Promote
    } else {
        Action::Deploy
    };
    let decision: Value = match (&args.policies, &args.trust_root) {
        (Some(dir), Some(root_path)) => {
            let root = trust_root(root_path)?;
            let policies = custody_app::policy::load_policy_dir(dir)?;
            let advisories = match &args.advisories {
                Some(dir) => Some(custody_app::sbom::read_advisories(dir)?),
                None => None,
            };
            let gate = LocalGate {
                trust_root: &root,
                policies: &policies,
                advisories: advisories.as_deref(),
                now: super::now(),
            };
            decide_locally(&client, &reference, &args.environment, action, &gate)?.to_json()
        }
        _ => decide_remotely(&client, &reference, &args.environment, action)?,
    };
    let mut shown = decision.clone();
    if !args.facts
        && let Some(map) = shown.as_object_mut()
    {
        map.remove("facts");
    }
    if decision.get("allowed").and_then(Value::as_bool) == Some(true) {
        out.success(&render(&decision, args.facts), shown);
        return Ok(());
    }
    out.info(&render(&decision, args.facts));
    out.attach_to_error(shown);
    let reasons: Vec<String> = decision["reasons"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|r| r.as_str().map(str::to_owned))
        .collect();
    let denied = Decision {
        allowed: false,
        action,
        environment: args.environment.clone(),
        repository: reference.repository,
        digest: decision["digest"]
            .as_str()
            .and_then(|d| d.parse().ok())
            .ok_or_else(|| {
                Error::new(Code::RegistryAnswerInvalid, "the decision names no digest")
            })?,
        reasons,
        policy: decision["policy"].as_str().unwrap_or("").to_owned(),
        facts: Value::Null,
    };
    Err(denied.into_error(if args.promote {
        Code::PromotionDenied
    } else {
        Code::DeployDenied
    }))
}

pub(crate) fn audit_deployed(args: AuditDeployedArgs, out: &Output) -> Result<()> {
    let server = server_reference(&args.server)?;
    let root = trust_root(&args.trust.trust_root)?;
    let client = client(args.token.as_ref())?;
    let events = verified_history(&client, &server, &args.environment, &root, super::now())?;
    let current = events.last().ok_or_else(|| {
        Error::new(
            Code::DeployDrift,
            format!(
                "nothing has been promoted to '{}', so no deployment can match it",
                args.environment
            ),
        )
    })?;
    let artifact = Reference {
        base: server.base,
        repository: current.repository.clone(),
        tag: None,
        digest: Some(current.digest),
    };
    let (_, manifest) = resolve(&client, &artifact)?;
    let expected = custody_app::deploy::audit::expected_files(
        &client,
        &artifact,
        &current.digest,
        manifest,
        &root,
        super::now(),
    )?;
    let report = custody_app::deploy::audit::audit_dir(&args.dir, &expected)?;
    let drifted = report.drifted() || (args.strict && !report.unexpected.is_empty());
    let value = json!({
        "environment": args.environment,
        "digest": current.digest.to_string(),
        "matched": report.matched,
        "modified": report.modified.iter().map(|(p, e, f)| json!({"path": p, "expected": e.to_string(), "found": f.to_string()})).collect::<Vec<_>>(),
        "missing": report.missing,
        "unexpected": report.unexpected,
        "drifted": drifted,
    });
    let mut text = format!(
        "{} against '{}' ({}@{}): {} files match",
        args.dir.display(),
        args.environment,
        current.repository,
        current.digest,
        report.matched.len()
    );
    for (path, expected, found) in &report.modified {
        text.push_str(&format!(
            "\n  MODIFIED {path}: expected {expected}, found {found}"
        ));
    }
    for path in &report.missing {
        text.push_str(&format!("\n  MISSING  {path}"));
    }
    for path in &report.unexpected {
        text.push_str(&format!("\n  EXTRA    {path}"));
    }
    if !drifted {
        out.success(&text, value);
        return Ok(());
    }
    out.info(&text);
    out.attach_to_error(value);
    Err(Error::new(
        Code::DeployDrift,
        format!(
            "{} differs from the artifact promoted to '{}': {} modified, {} missing{}",
            args.dir.display(),
            args.environment,
            report.modified.len(),
            report.missing.len(),
            if args.strict {
                format!(", {} unexpected", report.unexpected.len())
            } else {
                String::new()
            }
        ),
    ))
}

pub(crate) fn env(cmd: EnvCommand, out: &Output) -> Result<()> {
    match cmd {
        EnvCommand::Show(args) => {
            let server = server_reference(&args.server)?;
            let root = trust_root(&args.trust.trust_root)?;
            let client = client(args.token.as_ref())?;
            let events =
                verified_history(&client, &server, &args.environment, &root, super::now())?;
            let mut text = match events.last() {
                Some(e) => format!(
                    "'{}' runs {}@{} (record {}, verified)",
                    args.environment, e.repository, e.digest, e.sequence
                ),
                None => format!("nothing has been promoted to '{}'", args.environment),
            };
            for e in events.iter().rev() {
                text.push_str(&format!(
                    "\n  {:>4} {:<9} {}@{} by key {} at {} (log index {}){}",
                    e.sequence,
                    custody_app::deploy::kind_name(e.kind),
                    e.repository,
                    e.digest,
                    e.signer,
                    e.recorded_at
                        .format(&time::format_description::well_known::Rfc3339)
                        .unwrap_or_default(),
                    e.log_index,
                    e.previous.map(|p| format!(", was {p}")).unwrap_or_default()
                ));
            }
            out.success(
                &text,
                json!({
                    "environment": args.environment,
                    "current": events.last().map(|e| e.digest.to_string()),
                    "events": events.iter().map(deploy::event_to_json).collect::<Vec<_>>(),
                }),
            );
            Ok(())
        }
    }
}
