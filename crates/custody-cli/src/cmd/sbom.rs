//! `custody sbom [--lockfile F] [--out F] [--key K --subject FILE [--bundle B] [--log URL]]`.

use std::path::PathBuf;

use custody_app::Result;
use custody_app::sbom::{SbomRequest, attest_sbom, default_sbom_bundle_path, write_sbom};
use serde_json::json;

use crate::output::Output;

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// The Cargo.lock to describe.
    #[arg(long, value_name = "FILE", default_value = "Cargo.lock")]
    lockfile: PathBuf,
    /// Where to write the CycloneDX 1.6 JSON SBOM (replaced atomically).
    #[arg(long, value_name = "FILE", default_value = "bom.cdx.json")]
    out: PathBuf,
    /// Also sign the SBOM as an in-toto attestation (predicate type https://cyclonedx.org/bom)
    /// with this private key (PKCS#8 PEM).
    #[arg(long, requires = "subject")]
    key: Option<PathBuf>,
    /// The artifact the attestation is about (its SHA-256 becomes the subject digest).
    #[arg(long, value_name = "FILE", requires = "key")]
    subject: Option<PathBuf>,
    /// Where to write the attestation bundle [default: SUBJECT.sbom.intoto.sigstore.json].
    #[arg(long, value_name = "FILE", requires = "key")]
    bundle: Option<PathBuf>,
    #[command(flatten)]
    log: super::LogArgs,
}

pub(crate) fn run(args: Args, out: &Output) -> Result<()> {
    let request = SbomRequest {
        lockfile: args.lockfile.clone(),
        out: args.out.clone(),
        source_date_epoch: std::env::var("SOURCE_DATE_EPOCH").ok(),
    };
    let written = write_sbom(&request)?;
    let mut human = format!(
        "wrote the CycloneDX 1.6 SBOM of {} ({} components, {})\n  sbom: {}",
        args.lockfile.display(),
        written.components,
        written.serial_number,
        written.out.display()
    );
    let mut attestation = serde_json::Value::Null;
    if let (Some(key_path), Some(subject)) = (&args.key, &args.subject) {
        let key = super::load_signing_key(key_path)?;
        let bundle = args
            .bundle
            .clone()
            .unwrap_or_else(|| default_sbom_bundle_path(subject));
        let signed = super::with_logger(&args.log, |logger| {
            attest_sbom(&written.out, subject, &key, &bundle, logger)
        })?;
        let log_index = signed.bundle.tlog_entries().first().map(|e| e.log_index);
        human.push_str(&format!(
            "\n  attested about {} ({}) with key {}{}\n  bundle: {}",
            subject.display(),
            signed.digest,
            signed.key_id,
            log_index
                .map(|i| format!(", logged at index {i}"))
                .unwrap_or_default(),
            bundle.display()
        ));
        attestation = json!({
            "subject": subject,
            "digest": signed.digest.to_string(),
            "keyId": signed.key_id.to_string(),
            "bundle": bundle,
            "logIndex": log_index,
        });
    }
    out.success(
        &human,
        json!({
            "sbom": written.out,
            "serialNumber": written.serial_number,
            "components": written.components,
            "attestation": attestation,
        }),
    );
    Ok(())
}
