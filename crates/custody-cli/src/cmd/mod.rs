//! One module per subcommand, each with an `Args` struct and a `run` function.

mod attest;
mod audit;
mod build;
mod deploy;
mod digest;
mod explain;
mod key;
mod log;
mod policy;
mod pull;
mod push;
mod quickstart;
mod sbom;
mod scan;
mod serve;
mod sign;
mod token;
mod trust_root;
mod tuf;
mod verify;
mod witness;

use clap::{Parser, Subcommand};
use custody_app::Result;

use crate::output::Output;

/// custody: prove that what runs in production is exactly what your trusted pipeline built.
#[derive(Debug, Parser)]
#[command(name = "custody", version, about, max_term_width = 100)]
pub(crate) struct Cli {
    /// Print one machine-readable JSON document on stdout (errors too).
    #[arg(long, global = true)]
    pub(crate) json: bool,

    #[command(subcommand)]
    pub(crate) command: Command,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Walk through keys, a trust root, signing, verification and rejected attacks.
    Quickstart(quickstart::Args),
    /// Generate and inspect signing keys.
    #[command(subcommand)]
    Key(key::Command),
    /// Sign an artifact, writing a Sigstore bundle.
    Sign(sign::Args),
    /// Sign an in-toto attestation (a statement about an artifact), writing a Sigstore bundle.
    Attest(attest::Args),
    /// Verify an artifact against its bundle, offline.
    Verify(verify::Args),
    /// Run a command in a sandbox and sign SLSA v1 provenance for the files it writes.
    Build(build::Args),
    /// Verify a build's provenance, re-run the build in a fresh sandbox; sign a rebuild
    /// attestation if it reproduces.
    Rebuild(build::RebuildArgs),
    /// Write a CycloneDX 1.6 SBOM of a Cargo.lock; optionally sign it as an attestation.
    Sbom(sbom::Args),
    /// Match a Cargo.lock or SBOM against OSV advisories, offline; exit 1 when affected.
    Scan(scan::Args),
    /// Create, co-sign and verify trust roots.
    #[command(subcommand, name = "trust-root")]
    TrustRoot(trust_root::Command),
    /// Run the server (transparency log) on the embedded default storage.
    Serve(serve::Args),
    /// Create, list and revoke scoped API tokens.
    #[command(subcommand)]
    Token(token::Command),
    /// Transparency log tools.
    #[command(subcommand)]
    Log(log::Command),
    /// Run a transparency log witness (C2SP tlog-witness) and print its key.
    #[command(subcommand)]
    Witness(witness::Command),
    /// Print a file's digest (streamed; memory does not grow with the file).
    Digest(digest::Args),
    /// Explain an error code: what it means and what to do.
    Explain(explain::Args),
    /// Verify and export the registry's hash-chained audit log.
    #[command(subcommand)]
    Audit(audit::Command),
    /// Push a file to an OCI registry, signed, with its bundles as referrers.
    Push(push::Args),
    /// Pull a file from an OCI registry; verify signature, log inclusion and digest first.
    Pull(pull::Args),
    /// A TUF repository: create it, publish targets, sign roles, rotate the root.
    #[command(subcommand)]
    Tuf(tuf::Command),
    /// Approve an artifact for an environment: a signed, logged approval attached to it.
    Approve(deploy::ApproveArgs),
    /// Promote an artifact to an environment (recorded by the server if its policy allows).
    Promote(deploy::PromoteArgs),
    /// May this artifact run in this environment now? Exit 0 allow, 1 deny (with reasons).
    Gate(deploy::GateArgs),
    /// Move an environment back to the newest earlier artifact that still passes its policy.
    Rollback(deploy::RollbackArgs),
    /// Compare the files of a deployed directory with the environment's current artifact.
    #[command(name = "audit-deployed")]
    AuditDeployed(deploy::AuditDeployedArgs),
    /// Environments: their current artifact and history (verified).
    #[command(subcommand)]
    Env(deploy::EnvCommand),
    /// Policy tools: test a policy directory.
    #[command(subcommand)]
    Policy(policy::Command),
    /// Download a target with the TUF client workflow (root chain, timestamp, snapshot,
    /// targets, delegations); check its length and hashes before writing it.
    Fetch(tuf::FetchArgs),
}

pub(crate) fn run(command: Command, out: &Output) -> Result<()> {
    match command {
        Command::Quickstart(args) => quickstart::run(args, out),
        Command::Key(cmd) => key::run(cmd, out),
        Command::Sign(args) => sign::run(args, out),
        Command::Attest(args) => attest::run(args, out),
        Command::Verify(args) => verify::run(args, out),
        Command::Build(args) => build::run(args, out),
        Command::Rebuild(args) => build::run_rebuild(args, out),
        Command::Sbom(args) => sbom::run(args, out),
        Command::Scan(args) => scan::run(args, out),
        Command::TrustRoot(cmd) => trust_root::run(cmd, out),
        Command::Serve(args) => serve::run(args, out),
        Command::Token(cmd) => token::run(cmd, out),
        Command::Log(cmd) => log::run(cmd, out),
        Command::Witness(cmd) => witness::run(cmd, out),
        Command::Digest(args) => digest::run(args, out),
        Command::Explain(args) => explain::run(args, out),
        Command::Audit(cmd) => audit::run(cmd, out),
        Command::Push(args) => push::run(args, out),
        Command::Pull(args) => pull::run(args, out),
        Command::Tuf(cmd) => tuf::run(cmd, out),
        Command::Fetch(args) => tuf::run_fetch(args, out),
        Command::Policy(cmd) => policy::run(cmd, out),
        Command::Approve(args) => deploy::approve(args, out),
        Command::Promote(args) => deploy::promote(args, out),
        Command::Gate(args) => deploy::gate(args, out),
        Command::Rollback(args) => deploy::rollback(args, out),
        Command::AuditDeployed(args) => deploy::audit_deployed(args, out),
        Command::Env(cmd) => deploy::env(cmd, out),
    }
}

/// Loads a private key file, asking for the passphrase only if the file is encrypted.
pub(crate) fn load_signing_key(path: &std::path::Path) -> Result<custody_crypto::SigningKey> {
    custody_app::keys::load_signing_key(path, &mut || crate::passphrase::for_existing_key(path))
}

/// `--log URL` and `--token` for commands that can log their signature.
#[derive(Debug, clap::Args)]
pub(crate) struct LogArgs {
    /// Log the signature in the transparency log at this URL (e.g. http://127.0.0.1:8080) and
    /// store the inclusion proof and checkpoint in the bundle.
    #[arg(long, value_name = "URL")]
    log: Option<String>,
    /// A token with the log:write scope (or set CUSTODY_TOKEN).
    #[arg(long, env = "CUSTODY_TOKEN", hide_env_values = true, requires = "log")]
    token: Option<String>,
}

/// Runs `f` with a logger that submits to the log named by `args`, if any.
pub(crate) fn with_logger<T>(
    args: &LogArgs,
    f: impl FnOnce(custody_app::sign::Logger<'_>) -> Result<T>,
) -> Result<T> {
    let Some(url) = &args.log else { return f(None) };
    let client = custody_app::remote::LogClient::new(
        url,
        args.token.clone().map(secrecy::SecretString::from),
    )?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| {
            custody_app::Error::new(
                custody_app::Code::Internal,
                format!("cannot start the async runtime: {e}"),
            )
        })?;
    let mut submit =
        |record: &custody_formats::rekor::Record| runtime.block_on(client.submit(record));
    f(Some(&mut submit))
}

/// The current time, truncated to whole seconds as custody documents store it.
pub(crate) fn now() -> time::OffsetDateTime {
    let now = time::OffsetDateTime::now_utc();
    now.replace_nanosecond(0).unwrap_or(now)
}
