//! `custody attest FILE --key K --predicate-type URI --predicate P.json [--bundle OUT]`.

use std::path::PathBuf;

use custody_app::Result;
use custody_app::sign::{attest_file, default_attestation_path};
use serde_json::json;

use crate::output::Output;

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// The artifact the statement is about (its SHA-256 becomes the subject digest).
    file: PathBuf,
    /// Private key file (PKCS#8 PEM).
    #[arg(long)]
    key: PathBuf,
    /// The predicate type URI, e.g. https://slsa.dev/provenance/v1.
    #[arg(long, value_name = "URI")]
    predicate_type: String,
    /// A JSON file holding the predicate object.
    #[arg(long, value_name = "FILE")]
    predicate: PathBuf,
    /// Where to write the Sigstore bundle [default: FILE.intoto.sigstore.json].
    #[arg(long)]
    bundle: Option<PathBuf>,
    #[command(flatten)]
    log: super::LogArgs,
}

pub(crate) fn run(args: Args, out: &Output) -> Result<()> {
    let key = super::load_signing_key(&args.key)?;
    let bundle_path = args
        .bundle
        .unwrap_or_else(|| default_attestation_path(&args.file));
    let signed = super::with_logger(&args.log, |logger| {
        attest_file(
            &args.file,
            &key,
            &args.predicate_type,
            &args.predicate,
            &bundle_path,
            logger,
        )
    })?;
    let log_index = signed.bundle.tlog_entries().first().map(|e| e.log_index);
    out.success(
        &format!(
            "attested {} ({}) as {} with key {}\n  bundle: {}",
            args.file.display(),
            signed.digest,
            args.predicate_type,
            signed.key_id,
            bundle_path.display()
        ),
        json!({
            "artifact": args.file,
            "digest": signed.digest.to_string(),
            "predicateType": args.predicate_type,
            "keyId": signed.key_id.to_string(),
            "bundle": bundle_path,
            "logIndex": log_index,
        }),
    );
    Ok(())
}
