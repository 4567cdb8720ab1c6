//! `custody policy test DIR`: run a policy directory's Rego unit tests.
//! `custody policy eval (REF | --input FACTS.json) --env ENV --policies DIR`: show the decision
//! and the facts it was made on.

use std::path::PathBuf;

use custody_app::policy::load_policy_dir;
use custody_app::{Code, Error, Result};
use serde_json::json;

use crate::output::Output;

/// Policy tools.
#[derive(Debug, clap::Subcommand)]
pub(crate) enum Command {
    /// Run the Rego unit tests of a policy directory: every `test_*` rule of its
    /// `*_test.rego` modules, with the other modules loaded. Exit 0 when all pass, 1 when
    /// any fails, 2 when the policy cannot be loaded.
    Test(TestArgs),
    /// Show the decision of ENV's policy for an artifact (verifying its evidence, as the gate
    /// does, and printing the facts the policy saw) or for a saved facts document (--input).
    /// Exit 0 when allowed, 1 when denied.
    Eval(EvalArgs),
}

#[derive(Debug, clap::Args)]
pub(crate) struct EvalArgs {
    /// The artifact: [http(s)://]HOST[:PORT]/REPOSITORY[:TAG][@DIGEST].
    #[arg(required_unless_present = "input", conflicts_with = "input")]
    reference: Option<String>,
    /// Evaluate this facts document (the `facts` of 'custody gate --json --facts') instead.
    #[arg(long, value_name = "FILE")]
    input: Option<PathBuf>,
    /// The environment whose policy decides.
    #[arg(long = "env", value_name = "ENV")]
    environment: String,
    /// The policy directory.
    #[arg(long, value_name = "DIR")]
    policies: PathBuf,
    /// The trust root (with REF).
    #[arg(long, value_name = "FILE", required_unless_present = "input")]
    trust_root: Option<PathBuf>,
    /// OSV advisories to match the artifact's SBOM against (with REF).
    #[arg(long, value_name = "DIR")]
    advisories: Option<PathBuf>,
    /// Decide a promotion rather than a deployment (with REF).
    #[arg(long)]
    promote: bool,
    /// A token with environment:ENV:read and repository:NAME:pull (or set CUSTODY_TOKEN).
    #[arg(long, env = "CUSTODY_TOKEN", hide_env_values = true)]
    token: Option<String>,
}

/// Facts documents larger than this are refused.
const FACTS_LIMIT: u64 = 16 * 1024 * 1024;

#[derive(Debug, clap::Args)]
pub(crate) struct TestArgs {
    /// The policy directory (its `*.rego` files; subdirectories are not read).
    #[arg(value_name = "DIR")]
    dir: PathBuf,
}

pub(crate) fn run(command: Command, out: &Output) -> Result<()> {
    match command {
        Command::Test(args) => test(&args, out),
        Command::Eval(args) => eval(args, out),
    }
}

fn eval(args: EvalArgs, out: &Output) -> Result<()> {
    let Some(input) = &args.input else {
        return super::deploy::gate(
            super::deploy::GateArgs {
                reference: args.reference.unwrap_or_default(),
                environment: args.environment,
                policies: Some(args.policies),
                trust_root: args.trust_root,
                advisories: args.advisories,
                promote: args.promote,
                facts: true,
                token: args.token,
            },
            out,
        );
    };
    let set = load_policy_dir(&args.policies)?;
    let raw = custody_app::fs::read_limited(input, FACTS_LIMIT)?;
    let facts = custody_formats::json::parse_strict(&raw, &custody_formats::Limits::default())
        .map_err(|e| {
            Error::new(
                Code::InvalidArgument,
                format!("{}: not a JSON facts document: {e}", input.display()),
            )
        })?;
    let decision = set.evaluate(&args.environment, &facts);
    let value = json!({
        "allowed": decision.allowed,
        "environment": args.environment,
        "reasons": decision.reasons,
        "policy": decision.policy_digest,
    });
    let mut text = format!(
        "{} by '{}' policy {}",
        if decision.allowed { "ALLOW" } else { "DENY" },
        args.environment,
        decision.policy_digest
    );
    for reason in &decision.reasons {
        text.push_str(&format!("\n  - {reason}"));
    }
    if decision.allowed {
        out.success(&text, value);
        return Ok(());
    }
    out.info(&text);
    out.attach_to_error(value);
    Err(Error::new(
        Code::DeployDenied,
        format!(
            "the '{}' policy denies these facts: {}",
            args.environment,
            decision.reasons.join("; ")
        ),
    ))
}

fn test(args: &TestArgs, out: &Output) -> Result<()> {
    let set = load_policy_dir(&args.dir)?;
    let outcomes = set.run_tests();
    let failed: Vec<_> = outcomes.iter().filter(|o| !o.passed).collect();
    let mut lines = Vec::new();
    for o in &outcomes {
        if o.passed {
            lines.push(format!("PASS {}.{}", o.package, o.name));
        } else {
            lines.push(format!("FAIL {}.{}: {}", o.package, o.name, o.message));
        }
    }
    let summary = format!(
        "{} passed, {} failed ({} tests, policy {})",
        outcomes.len() - failed.len(),
        failed.len(),
        outcomes.len(),
        set.digest()
    );
    if !failed.is_empty() {
        for line in &lines {
            out.info(line);
        }
        let names: Vec<String> = failed
            .iter()
            .map(|o| format!("{}.{} ({})", o.package, o.name, o.message))
            .collect();
        return Err(Error::new(
            Code::PolicyTestsFailed,
            format!(
                "{} of {} policy tests failed: {}",
                failed.len(),
                outcomes.len(),
                names.join("; ")
            ),
        ));
    }
    lines.push(summary);
    let tests: Vec<_> = outcomes
        .iter()
        .map(|o| json!({"package": o.package, "name": o.name, "passed": o.passed, "message": o.message}))
        .collect();
    out.success(
        &lines.join("\n"),
        json!({
            "policyDigest": set.digest(),
            "environments": set.environments(),
            "passed": outcomes.len(),
            "failed": 0,
            "tests": tests,
        }),
    );
    Ok(())
}
