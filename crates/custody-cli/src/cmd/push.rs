//! `custody push FILE REF --key K [--log URL] [--token T] [--bundle B]...`: upload an artifact
//! to an OCI registry with its signature (an attestation, and existing bundles) as referrers.

use std::path::PathBuf;

use custody_app::registry::client::{
    DEFAULT_ARTIFACT_TYPE, PushAttestation, PushRequest, Reference, RegistryClient, push,
};
use custody_app::{Code, Document, Error, Result};
use custody_formats::{Limits, json};
use serde_json::json;

use crate::output::Output;

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// The file to push (streamed in chunks; memory does not grow with its size).
    file: PathBuf,
    /// Where: [http(s)://]HOST[:PORT]/REPOSITORY:TAG (plain HTTP for loopback hosts).
    reference: String,
    /// Private key that signs the artifact's manifest digest (ECDSA P-256 for sha256 manifests).
    #[arg(long, required_unless_present = "unsigned")]
    key: Option<PathBuf>,
    /// Push without a signature: only for repositories that do not enforce signatures (an
    /// enforcing registry refuses it with CUSTODY-E1050), e.g. scratch space.
    #[arg(long, conflicts_with_all = ["key", "predicate_type"])]
    unsigned: bool,
    /// Log the signatures in the transparency log at this URL (an enforcing registry admits
    /// only logged signatures).
    #[arg(long, value_name = "URL")]
    log: Option<String>,
    /// A custody token for the registry (repository:NAME:push) and the log (log:write)
    /// (or set CUSTODY_TOKEN).
    #[arg(long, env = "CUSTODY_TOKEN", hide_env_values = true)]
    token: Option<String>,
    /// The manifest's artifactType.
    #[arg(long, value_name = "TYPE", default_value = DEFAULT_ARTIFACT_TYPE)]
    artifact_type: String,
    /// Also attest about the manifest with this predicate type (e.g. https://slsa.dev/provenance/v1).
    #[arg(long, value_name = "URI", requires = "predicate")]
    predicate_type: Option<String>,
    /// The predicate JSON file for --predicate-type.
    #[arg(long, value_name = "FILE", requires = "predicate_type")]
    predicate: Option<PathBuf>,
    /// The key that signs the attestation [default: --key].
    #[arg(long, value_name = "FILE", requires = "predicate_type")]
    attest_key: Option<PathBuf>,
    /// An existing Sigstore bundle to attach as a referrer too, e.g. `custody build`'s
    /// dist/provenance.sigstore.json, an SBOM or a rebuild attestation (repeatable). Every
    /// file is read and checked before anything is uploaded.
    #[arg(long = "bundle", value_name = "FILE")]
    bundles: Vec<PathBuf>,
}

pub(crate) fn run(args: Args, out: &Output) -> Result<()> {
    let reference: Reference = args.reference.parse()?;
    let key = match &args.key {
        Some(path) => Some(super::load_signing_key(path)?),
        None => None,
    };
    let attest_key = match &args.attest_key {
        Some(path) => Some(super::load_signing_key(path)?),
        None => None,
    };
    let attestation = match (&args.predicate_type, &args.predicate) {
        (Some(predicate_type), Some(path)) => {
            let raw = custody_app::fs::read_limited(path, custody_app::sign::PREDICATE_LIMIT)?;
            let predicate = json::parse_strict(&raw, &Limits::default())
                .map_err(|e| Error::format(Document::Predicate, &e))?;
            Some(PushAttestation {
                predicate_type: predicate_type.clone(),
                predicate,
                signer: match (&attest_key, &key) {
                    (Some(k), _) | (None, Some(k)) => k,
                    (None, None) => {
                        return Err(Error::new(Code::Usage, "--predicate-type needs --key"));
                    }
                },
            })
        }
        _ => None,
    };
    let work_dir = std::env::temp_dir().join(format!(
        "custody-push-{}-{}",
        std::process::id(),
        super::now().unix_timestamp()
    ));
    std::fs::create_dir_all(&work_dir).map_err(|e| Error::write(&work_dir, &e))?;
    let client = RegistryClient::new(args.token.clone().map(secrecy::SecretString::from))?;
    let log = super::LogArgs {
        log: args.log.clone(),
        token: args.token.clone(),
    };
    let progress = out.progress("pushing");
    let result = super::with_logger(&log, |logger| {
        push(
            &client,
            &PushRequest {
                file: &args.file,
                reference: &reference,
                artifact_type: &args.artifact_type,
                signer: key.as_ref().map(|k| k as &dyn custody_crypto::Signer),
                attestation,
                bundles: &args.bundles,
                work_dir: &work_dir,
                progress: progress.as_ref().map(|p| p as _),
            },
            logger,
        )
    });
    let _ = std::fs::remove_dir_all(&work_dir);
    let pushed = result?;
    if key.is_some() && pushed.referrers.is_empty() {
        return Err(Error::new(Code::Internal, "no signature was pushed"));
    }
    let attached: String = pushed
        .referrers
        .iter()
        .skip(pushed.referrers.len() - args.bundles.len())
        .zip(&args.bundles)
        .map(|(digest, path)| format!("\n  {} referrer: {digest}", path.display()))
        .collect();
    out.success(
        &format!(
            "pushed {} to {}/{}:{}\n  manifest: {}\n  file: {}\n  signature referrer: {}{}{attached}",
            args.file.display(),
            reference.base,
            reference.repository,
            reference.tag.as_deref().unwrap_or(""),
            pushed.manifest,
            pushed.layer,
            pushed
                .referrers
                .first()
                .filter(|_| key.is_some())
                .map_or_else(|| "none (unsigned)".to_owned(), ToString::to_string),
            pushed
                .log_index
                .map(|i| format!(" (log index {i})"))
                .unwrap_or_else(|| " (not logged)".into())
        ),
        json!({
            "manifest": pushed.manifest.to_string(),
            "layer": pushed.layer.to_string(),
            "referrers": pushed.referrers.iter().map(ToString::to_string).collect::<Vec<_>>(),
            "logIndex": pushed.log_index,
        }),
    );
    Ok(())
}
