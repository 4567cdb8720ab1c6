//! `custody build [--out DIR] --key K [--network none|host] [--env NAME]... -- CMD ARGS...`.

use std::path::PathBuf;

use custody_app::Result;
use custody_app::build::{BuildRequest, DEFAULT_BUILDER_ID, Network, build};
use serde_json::json;

use crate::output::Output;

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// Where to write the outputs (DIR/out/), the log (DIR/build.log) and the signed provenance
    /// (DIR/provenance.sigstore.json); created, and must be empty.
    #[arg(long, value_name = "DIR", default_value = "custody-build")]
    out: PathBuf,
    /// The build key (PKCS#8 PEM). It is read only after the build has exited, and must lie
    /// outside the source tree.
    #[arg(long)]
    key: PathBuf,
    /// The git work tree to build (its HEAD commit, which must have no uncommitted changes).
    #[arg(long, value_name = "DIR", default_value = ".")]
    source: PathBuf,
    /// Network access of the build: none (default) or host.
    #[arg(long, value_name = "MODE", default_value = "none")]
    network: Network,
    /// Pass this environment variable (by name, with its current value) into the build.
    #[arg(long = "env", value_name = "NAME")]
    env: Vec<String>,
    /// Mount this host path read-only at the same place (a toolchain outside /usr).
    #[arg(long = "ro-path", value_name = "PATH")]
    read_only: Vec<PathBuf>,
    /// The builder id recorded as runDetails.builder.id (an absolute URI naming this builder).
    #[arg(long, value_name = "URI", env = "CUSTODY_BUILDER_ID", default_value = DEFAULT_BUILDER_ID)]
    builder_id: String,
    /// Kill the build (and sign nothing) after this many seconds.
    #[arg(long, value_name = "SECONDS", default_value_t = 3600, value_parser = clap::value_parser!(u64).range(1..))]
    timeout: u64,
    /// Also write a legacy in-toto v0.9 link for the step (DIR/STEP.KEYID8.link, signed with the
    /// build key) for verification with in-toto layouts (in-toto-verify).
    #[arg(long)]
    in_toto_link: bool,
    /// The in-toto step name of the link.
    #[arg(
        long,
        value_name = "NAME",
        default_value = "build",
        requires = "in_toto_link"
    )]
    step: String,
    #[command(flatten)]
    log: super::LogArgs,
    /// The build command and its arguments (after `--`); runs in the source tree, writes its
    /// artifacts to $CUSTODY_OUT.
    #[arg(last = true, required = true, value_name = "CMD")]
    command: Vec<String>,
}

pub(crate) fn run(args: Args, out: &Output) -> Result<()> {
    let request = BuildRequest {
        source_dir: args.source,
        command: args.command,
        out_dir: args.out.clone(),
        key_path: args.key,
        network: args.network,
        env: args.env,
        read_only: args.read_only,
        builder_id: args.builder_id,
        timeout_seconds: args.timeout,
        in_toto_link: args.in_toto_link.then_some(args.step),
    };
    out.info(&format!(
        "building in the sandbox (network: {})...",
        request.network.as_str()
    ));
    let outcome = super::with_logger(&args.log, |logger| {
        build(&request, super::load_signing_key, logger)
    })?;
    let log_index = outcome
        .signed
        .bundle
        .tlog_entries()
        .first()
        .map(|e| e.log_index);
    let subjects: Vec<_> = outcome
        .outputs
        .iter()
        .map(|o| {
            json!({
                "name": o.path,
                "digests": o.digests.iter().map(ToString::to_string).collect::<Vec<_>>(),
            })
        })
        .collect();
    let listing: String = outcome
        .outputs
        .iter()
        .map(|o| {
            let first = o
                .digests
                .first()
                .map(ToString::to_string)
                .unwrap_or_default();
            format!("\n  {}  {first}", o.path)
        })
        .collect();
    out.success(
        &format!(
            "built commit {} and signed its provenance with key {}{}\n  provenance: {}{}\n  log: {}{listing}",
            outcome.commit,
            outcome.signed.key_id,
            log_index
                .map(|i| format!(", logged at index {i}"))
                .unwrap_or_default(),
            outcome.provenance_path.display(),
            outcome
                .link_path
                .as_ref()
                .map(|p| format!("\n  in-toto link: {}", p.display()))
                .unwrap_or_default(),
            outcome.log_path.display(),
        ),
        json!({
            "commit": outcome.commit,
            "outputDir": args.out,
            "outputs": args.out.join(custody_app::build::OUTPUTS_DIR),
            "provenance": outcome.provenance_path,
            "log": outcome.log_path,
            "keyId": outcome.signed.key_id.to_string(),
            "subjects": subjects,
            "logIndex": log_index,
            "inTotoLink": outcome.link_path,
        }),
    );
    Ok(())
}

/// `custody rebuild PROVENANCE --key K (--trust-root R | --build-key PUB | --unverified)
/// [--out DIR] [--source DIR] [--vary]`.
#[derive(Debug, clap::Args)]
#[command(group(clap::ArgGroup::new("provenance_trust").multiple(false).args(["trust_root", "build_key", "unverified"])))]
pub(crate) struct RebuildArgs {
    /// The provenance bundle written by `custody build` (DIR/provenance.sigstore.json).
    provenance: PathBuf,
    /// Verify the provenance with a trust root before anything runs: signed by a key with role
    /// build, valid now, and logged when the trust root names a log (as `custody verify
    /// --role build`).
    #[arg(long, value_name = "ROOT.json")]
    trust_root: Option<PathBuf>,
    /// Verify the provenance with exactly this public key (SPKI PEM) before anything runs.
    #[arg(long, value_name = "PUB")]
    build_key: Option<PathBuf>,
    /// Do not verify the provenance's signature (only for debugging someone else's build): the
    /// command runs as whoever wrote the provenance recorded it.
    #[arg(long)]
    unverified: bool,
    /// The rebuilder's key (PKCS#8 PEM); read only after a successful, reproducing rebuild.
    #[arg(long)]
    key: PathBuf,
    /// Where to write the rebuilt outputs, the log and the signed rebuild attestation
    /// (DIR/rebuild.sigstore.json); created, and must be empty.
    #[arg(long, value_name = "DIR", default_value = "custody-rebuild")]
    out: PathBuf,
    /// A git work tree holding the recorded commit (any state; the commit is checked out
    /// privately).
    #[arg(long, value_name = "DIR", default_value = ".")]
    source: PathBuf,
    /// Mount this host path read-only at the same place (a toolchain outside /usr).
    #[arg(long = "ro-path", value_name = "PATH")]
    read_only: Vec<PathBuf>,
    /// This rebuilder's id (an absolute URI), recorded in the attestation.
    #[arg(long, value_name = "URI", env = "CUSTODY_BUILDER_ID", default_value = DEFAULT_BUILDER_ID)]
    builder_id: String,
    /// Kill the rebuild (and sign nothing) after this many seconds.
    #[arg(long, value_name = "SECONDS", default_value_t = 3600, value_parser = clap::value_parser!(u64).range(1..))]
    timeout: u64,
    /// Perturb what should not matter, like reprotest: the checkout's path in the sandbox,
    /// the clock (under faketime, when installed), LANG, the umask and the order the
    /// checkout's files are created in. Recorded in the rebuild attestation.
    #[arg(long)]
    vary: bool,
    #[command(flatten)]
    log: super::LogArgs,
}

pub(crate) fn run_rebuild(args: RebuildArgs, out: &Output) -> Result<()> {
    use custody_app::build::ProvenanceTrust;

    let provenance_trust = match (args.trust_root, args.build_key, args.unverified) {
        (Some(root), _, _) => ProvenanceTrust::TrustRoot(root),
        (None, Some(key), _) => ProvenanceTrust::Key(key),
        (None, None, true) => ProvenanceTrust::Unverified,
        (None, None, false) => {
            return Err(custody_app::Error::new(
                custody_app::Code::Usage,
                "rebuild runs the command the provenance records, so the provenance must verify first: give --trust-root, --build-key or --unverified",
            )
            .with_hint("Pass --build-key BUILD.pub (the key that signed the provenance) or --trust-root ROOT.json (a key with role build); --unverified skips the check, for debugging someone else's build only."));
        }
    };
    if provenance_trust == ProvenanceTrust::Unverified {
        out.info("warning: --unverified: the provenance's signature is not checked; its recorded command runs as written");
    }
    let request = custody_app::build::RebuildRequest {
        provenance: args.provenance,
        provenance_trust,
        source_dir: args.source,
        out_dir: args.out.clone(),
        key_path: args.key,
        read_only: args.read_only,
        rebuilder_id: args.builder_id,
        timeout_seconds: args.timeout,
        vary: args.vary,
    };
    out.info(if request.vary {
        "rebuilding in a fresh sandbox, varying build path, clock, locale, umask and file order..."
    } else {
        "rebuilding in a fresh sandbox..."
    });
    let outcome = super::with_logger(&args.log, |logger| {
        custody_app::build::rebuild(&request, super::load_signing_key, logger)
    })?;
    let log_index = outcome
        .signed
        .bundle
        .tlog_entries()
        .first()
        .map(|e| e.log_index);
    let names: Vec<&str> = outcome.outputs.iter().map(|o| o.path.as_str()).collect();
    let provenance_key = outcome
        .provenance_key
        .as_ref()
        .map(|k| k.key_id.to_string());
    out.success(
        &format!(
            "reproducible: commit {} rebuilt to the same {} file(s); rebuild attestation signed with key {}\n  provenance: {}\n  attestation: {}{}",
            outcome.commit,
            names.len(),
            outcome.signed.key_id,
            provenance_key
                .as_ref()
                .map_or_else(|| "not verified (--unverified)".to_owned(), |k| format!("verified, signed by key {k}")),
            outcome.attestation_path.display(),
            outcome
                .variations
                .as_ref()
                .map(|v| format!("\n  varied: {}", v.summary()))
                .unwrap_or_default(),
        ),
        json!({
            "reproducible": true,
            "commit": outcome.commit,
            "outputDir": args.out,
            "attestation": outcome.attestation_path,
            "log": outcome.log_path,
            "keyId": outcome.signed.key_id.to_string(),
            "provenanceKeyId": provenance_key,
            "subjects": names,
            "logIndex": log_index,
            "variations": outcome.variations.as_ref().map(custody_app::build::Variations::describe),
        }),
    );
    Ok(())
}
