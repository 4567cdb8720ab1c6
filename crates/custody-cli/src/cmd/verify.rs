//! `custody verify FILE --bundle B (--key PUB | --trust-root ROOT.json [--role ROLE])`.

use std::path::PathBuf;

use custody_app::verify::{Trust, verify_file};
use custody_app::{Code, Error, Result};
use custody_formats::trust_root::Role;
use serde_json::json;

use crate::output::Output;

#[derive(Debug, clap::Args)]
#[command(group(clap::ArgGroup::new("trust").required(true).args(["key", "trust_root"])))]
pub(crate) struct Args {
    /// The artifact to verify.
    file: PathBuf,
    /// The Sigstore bundle or bare DSSE envelope [default: FILE.sigstore.json].
    #[arg(long)]
    bundle: Option<PathBuf>,
    /// Trust exactly this public key (SPKI PEM).
    #[arg(long, value_name = "PUB")]
    key: Option<PathBuf>,
    /// Trust the keys of a trust root (verified against its own root keys).
    #[arg(long, value_name = "ROOT.json")]
    trust_root: Option<PathBuf>,
    /// With --trust-root: the role the signer must hold.
    #[arg(long, default_value = "release", requires = "trust_root")]
    role: String,
}

pub(crate) fn run(args: Args, out: &Output) -> Result<()> {
    let bundle = args
        .bundle
        .unwrap_or_else(|| custody_app::sign::default_bundle_path(&args.file));
    let now = super::now();
    let result = if let Some(key_path) = &args.key {
        let key = custody_app::keys::load_public_key(key_path)?;
        verify_file(&args.file, &bundle, &Trust::Key(&key), now)?
    } else if let Some(root_path) = &args.trust_root {
        let role: Role = args
            .role
            .parse()
            .map_err(|e| Error::new(Code::InvalidArgument, format!("--role: {e}")))?;
        let root = custody_app::trust::load_trust_root(root_path, now)?;
        verify_file(
            &args.file,
            &bundle,
            &Trust::TrustRoot { root: &root, role },
            now,
        )?
    } else {
        return Err(Error::new(Code::Usage, "give --key or --trust-root"));
    };

    let what = match &result.predicate_type {
        None => "signature".to_owned(),
        Some(t) => format!("attestation {t}"),
    };
    let role = result
        .role
        .map(|r| format!(", role {r}"))
        .unwrap_or_default();
    let digest = result
        .digests
        .first()
        .map(ToString::to_string)
        .unwrap_or_default();
    let mut human = format!(
        "OK: {} {} verified: {digest}, key {} ({}{role})",
        args.file.display(),
        what,
        result.key_id,
        result.algorithm
    );
    if let Some(i) = result.log_index {
        human.push_str(&format!(", logged at index {i}"));
    }
    for part in &result.unchecked {
        human.push_str(&format!("\n  note: not checked by this version: {part}"));
    }
    out.success(
        &human,
        json!({
            "artifact": args.file,
            "digests": result.digests.iter().map(ToString::to_string).collect::<Vec<_>>(),
            "keyId": result.key_id.to_string(),
            "algorithm": result.algorithm.name(),
            "role": result.role.map(|r| r.to_string()),
            "predicateType": result.predicate_type,
            "logIndex": result.log_index,
            "unchecked": result.unchecked,
        }),
    );
    Ok(())
}
