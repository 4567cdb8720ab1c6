//! One module per subcommand, each with an `Args` struct and a `run` function.

mod attest;
mod digest;
mod explain;
mod key;
mod log;
mod quickstart;
mod serve;
mod sign;
mod token;
mod trust_root;
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
}

pub(crate) fn run(command: Command, out: &Output) -> Result<()> {
    match command {
        Command::Quickstart(args) => quickstart::run(args, out),
        Command::Key(cmd) => key::run(cmd, out),
        Command::Sign(args) => sign::run(args, out),
        Command::Attest(args) => attest::run(args, out),
        Command::Verify(args) => verify::run(args, out),
        Command::TrustRoot(cmd) => trust_root::run(cmd, out),
        Command::Serve(args) => serve::run(args, out),
        Command::Token(cmd) => token::run(cmd, out),
        Command::Log(cmd) => log::run(cmd, out),
        Command::Witness(cmd) => witness::run(cmd, out),
        Command::Digest(args) => digest::run(args, out),
        Command::Explain(args) => explain::run(args, out),
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
