//! `custody pull REF --trust-root R [--role ROLE] [--out F]`: fetch an artifact, verify its
//! signature, log inclusion and digest, and only then write the file.

use std::path::PathBuf;

use custody_app::Result;
use custody_app::registry::client::{Reference, RegistryClient, pull};
use custody_app::registry::config::{RepositoryPolicy, RequiredAttestation};
use custody_app::{Code, Error};
use custody_formats::slsa::PREDICATE_TYPE_V1;
use custody_formats::trust_root::Role;
use serde_json::json;

use crate::output::Output;

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// What: [http(s)://]HOST[:PORT]/REPOSITORY[:TAG][@DIGEST].
    reference: String,
    /// The trust root that names the signer's key and the transparency log.
    #[arg(long, value_name = "FILE")]
    trust_root: PathBuf,
    /// The role the signer must hold in the trust root.
    #[arg(long, default_value = "build")]
    role: String,
    /// Require an attestation of this predicate type about the manifest.
    #[arg(long, value_name = "URI")]
    require_attestation: Option<String>,
    /// Allowed builder ids for a required SLSA provenance attestation (repeatable).
    #[arg(
        long = "builder-id",
        value_name = "ID",
        requires = "require_attestation"
    )]
    builder_ids: Vec<String>,
    /// Where to write the file [default: the file name recorded in the artifact].
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
    /// A custody token with repository:NAME:pull (or set CUSTODY_TOKEN); none for anonymous pull.
    #[arg(long, env = "CUSTODY_TOKEN", hide_env_values = true)]
    token: Option<String>,
}

pub(crate) fn run(args: Args, out: &Output) -> Result<()> {
    let reference: Reference = args.reference.parse()?;
    let role: Role = args.role.parse().map_err(|_| {
        Error::new(
            Code::InvalidArgument,
            format!("unknown role '{}'", args.role),
        )
    })?;
    let mut policy = RepositoryPolicy {
        signer_role: role,
        ..RepositoryPolicy::default()
    };
    if let Some(predicate_type) = &args.require_attestation {
        if predicate_type == PREDICATE_TYPE_V1 && args.builder_ids.is_empty() {
            return Err(Error::new(
                Code::Usage,
                "requiring SLSA provenance needs at least one --builder-id",
            ));
        }
        policy.attestations.push(RequiredAttestation {
            predicate_type: predicate_type.clone(),
            signer_roles: vec![role],
            builder_ids: args.builder_ids.clone(),
        });
    }
    let client = RegistryClient::new(args.token.clone().map(secrecy::SecretString::from))?;
    let progress = out.progress("pulling");
    let pulled = pull(
        &client,
        &reference,
        &args.trust_root,
        &policy,
        args.out.as_deref(),
        super::now(),
        progress.as_ref().map(|p| p as _),
    )?;
    out.success(
        &format!(
            "verified and wrote {} ({} bytes, {})\n  manifest: {} signed by a {} key, logged",
            pulled.path.display(),
            pulled.size,
            pulled.layer,
            pulled.manifest,
            role
        ),
        json!({
            "path": pulled.path,
            "manifest": pulled.manifest.to_string(),
            "layer": pulled.layer.to_string(),
            "size": pulled.size,
        }),
    );
    Ok(())
}
