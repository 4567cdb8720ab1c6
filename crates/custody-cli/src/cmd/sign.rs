//! `custody sign FILE --key K [--bundle OUT]`.

use std::path::PathBuf;

use custody_app::Result;
use custody_app::sign::{default_bundle_path, sign_file};
use serde_json::json;

use crate::output::Output;

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// The artifact to sign.
    file: PathBuf,
    /// Private key file (PKCS#8 PEM); its passphrase comes from CUSTODY_PASSPHRASE or a prompt.
    #[arg(long)]
    key: PathBuf,
    /// Where to write the Sigstore bundle [default: FILE.sigstore.json].
    #[arg(long)]
    bundle: Option<PathBuf>,
    #[command(flatten)]
    log: super::LogArgs,
}

pub(crate) fn run(args: Args, out: &Output) -> Result<()> {
    let key = super::load_signing_key(&args.key)?;
    let bundle_path = args
        .bundle
        .unwrap_or_else(|| default_bundle_path(&args.file));
    let signed = super::with_logger(&args.log, |logger| {
        sign_file(&args.file, &key, &bundle_path, logger)
    })?;
    let log_index = signed.bundle.tlog_entries().first().map(|e| e.log_index);
    out.success(
        &format!(
            "signed {} ({}) with key {}{}\n  bundle: {}",
            args.file.display(),
            signed.digest,
            signed.key_id,
            log_index
                .map(|i| format!(", logged at index {i}"))
                .unwrap_or_default(),
            bundle_path.display()
        ),
        json!({
            "artifact": args.file,
            "digest": signed.digest.to_string(),
            "keyId": signed.key_id.to_string(),
            "bundle": bundle_path,
            "logIndex": log_index,
        }),
    );
    Ok(())
}
