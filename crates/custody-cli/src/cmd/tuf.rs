//! `custody tuf init|add|sign|rotate-root` (a TUF repository) and `custody fetch` (its client).

use std::path::PathBuf;

use custody_app::tuf::{OnlineKeyFiles, RepoConfig};
use custody_app::verify::Trust;
use custody_app::{Code, Error, Result};
use custody_crypto::{Signer, SigningKey};
use custody_formats::trust_root::Role;
use serde_json::json;
use time::OffsetDateTime;

use crate::output::Output;

#[derive(Debug, clap::Subcommand)]
pub(crate) enum Command {
    /// Create a repository: root, targets delegating to succinct hashed bins, snapshot and
    /// timestamp, all signed (consistent snapshots).
    Init(InitArgs),
    /// Publish files as targets: copies them under targets/ and re-signs their bins, the
    /// snapshot and the timestamp with the online keys recorded at init.
    Add(AddArgs),
    /// Sign an offline role: add a signature to the latest root, or publish a new version of
    /// the top-level targets (fresh expiry) signed by the targets key.
    Sign(SignArgs),
    /// Re-sign the online roles (snapshot and timestamp) with fresh expiries, using the online
    /// keys recorded at init; run it more often than the timestamp expires (1 day).
    Resign(ResignArgs),
    /// Replace the root keys with a new root version signed by the old and the new keys.
    #[command(name = "rotate-root")]
    RotateRoot(RotateArgs),
}

#[derive(Debug, clap::Args)]
pub(crate) struct InitArgs {
    /// The repository directory (metadata/ and targets/ are created in it).
    #[arg(long)]
    repo: PathBuf,
    /// A root private key (repeat for several; all sign root 1).
    #[arg(long = "root-key", required = true)]
    root_keys: Vec<PathBuf>,
    /// How many root keys must sign a root [default: 1].
    #[arg(long, default_value_t = 1)]
    root_threshold: usize,
    /// The (offline) targets private key.
    #[arg(long)]
    targets_key: PathBuf,
    /// The (online) snapshot private key.
    #[arg(long)]
    snapshot_key: PathBuf,
    /// The (online) timestamp private key.
    #[arg(long)]
    timestamp_key: PathBuf,
    /// The (online) bins private key [default: the snapshot key].
    #[arg(long)]
    bins_key: Option<PathBuf>,
    /// Number of succinct hashed bins, a power of two from 2 to 1048576.
    #[arg(long, default_value_t = 16_384)]
    bins: u64,
}

#[derive(Debug, clap::Args)]
pub(crate) struct AddArgs {
    /// The repository directory.
    #[arg(long)]
    repo: PathBuf,
    /// Files to publish.
    #[arg(required = true)]
    files: Vec<PathBuf>,
    /// The target path to publish a single file under [default: its file name].
    #[arg(long)]
    name: Option<String>,
    /// A custody bundle about the (single) file, published as the target
    /// `<name>.sigstore.json` (then `<name>.2.sigstore.json`, ...) and listed in the file's
    /// `custom.custody.bundles`, so that `custody fetch --trust-root` verifies it (repeat for
    /// several; docs/tuf.md).
    #[arg(long = "bundle", value_name = "B")]
    bundles: Vec<PathBuf>,
    /// The OCI digest of the (single) file's artifact, recorded as `custom.custody.oci_digest`.
    #[arg(long, value_name = "sha256:HEX")]
    oci_digest: Option<String>,
}

#[derive(Debug, clap::Args)]
pub(crate) struct SignArgs {
    /// The repository directory.
    #[arg(long)]
    repo: PathBuf,
    /// The role to sign: `root` or `targets`.
    role: String,
    /// The private key to sign with.
    #[arg(long)]
    key: PathBuf,
}

#[derive(Debug, clap::Args)]
pub(crate) struct ResignArgs {
    /// The repository directory.
    #[arg(long)]
    repo: PathBuf,
}

#[derive(Debug, clap::Args)]
pub(crate) struct RotateArgs {
    /// The repository directory.
    #[arg(long)]
    repo: PathBuf,
    /// A new root private key (repeat for several).
    #[arg(long = "new-root-key", required = true)]
    new_root_keys: Vec<PathBuf>,
    /// How many new root keys must sign a root.
    #[arg(long, default_value_t = 1)]
    threshold: usize,
    /// A current root private key (repeat to reach the current threshold).
    #[arg(long = "root-key", required = true)]
    root_keys: Vec<PathBuf>,
}

/// `custody fetch TARGET --tuf-root ROOT.json --from URL`.
#[derive(Debug, clap::Args)]
pub(crate) struct FetchArgs {
    /// The target path in the repository.
    target: String,
    /// The trusted root to start from (e.g. the repository's 1.root.json).
    #[arg(long)]
    tuf_root: PathBuf,
    /// The repository's base URL (serving metadata/ and targets/).
    #[arg(long, value_name = "URL")]
    from: String,
    /// Where to write the target [default: its base name in the current directory].
    #[arg(long)]
    out: Option<PathBuf>,
    /// Directory of trusted metadata kept between runs [default: .custody-tuf-cache].
    #[arg(long, default_value = ".custody-tuf-cache")]
    cache: PathBuf,
    /// Verify the target against the custody bundles its TUF metadata lists, with the keys of
    /// this trust root (as `custody verify --trust-root` does); a target that lists none is
    /// refused. Required when the target lists bundles.
    #[arg(long, value_name = "ROOT.json")]
    trust_root: Option<PathBuf>,
    /// With --trust-root: the role the signer of every bundle must hold.
    #[arg(long, default_value = "release", requires = "trust_root")]
    role: String,
}

fn keys(paths: &[PathBuf]) -> Result<Vec<SigningKey>> {
    paths.iter().map(|p| super::load_signing_key(p)).collect()
}

/// The online keys (snapshot, timestamp, bins) recorded in the repository's settings.
pub(crate) fn online_signers(repo: &std::path::Path) -> Result<Vec<SigningKey>> {
    let files = custody_app::tuf::online_key_files(repo)?;
    let mut paths = vec![files.snapshot, files.timestamp];
    if !paths.contains(&files.bins) {
        paths.push(files.bins);
    }
    keys(&paths)
}

pub(crate) fn run(command: Command, out: &Output) -> Result<()> {
    let now = OffsetDateTime::now_utc();
    match command {
        Command::Init(a) => {
            if !a.bins.is_power_of_two() || a.bins < 2 || a.bins > 1 << 20 {
                return Err(Error::new(
                    Code::TufRequestInvalid,
                    format!("--bins {} is not a power of two from 2 to 1048576", a.bins),
                ));
            }
            let bins_path = a.bins_key.clone().unwrap_or_else(|| a.snapshot_key.clone());
            let root = keys(&a.root_keys)?;
            let targets = super::load_signing_key(&a.targets_key)?;
            let snapshot = super::load_signing_key(&a.snapshot_key)?;
            let timestamp = super::load_signing_key(&a.timestamp_key)?;
            let bins = super::load_signing_key(&bins_path)?;
            let config = RepoConfig {
                root_keys: root.iter().map(|k| k.public_key().clone()).collect(),
                root_threshold: a.root_threshold,
                targets_key: targets.public_key().clone(),
                snapshot_key: snapshot.public_key().clone(),
                timestamp_key: timestamp.public_key().clone(),
                bins_key: bins.public_key().clone(),
                bit_length: a.bins.trailing_zeros(),
                name_prefix: "bins".into(),
            };
            let mut signers: Vec<&dyn Signer> = root.iter().map(|k| k as &dyn Signer).collect();
            signers.extend([&targets as &dyn Signer, &snapshot, &timestamp, &bins]);
            let online = OnlineKeyFiles {
                snapshot: a.snapshot_key,
                timestamp: a.timestamp_key,
                bins: bins_path,
            };
            let s = custody_app::tuf::init(&a.repo, &config, &signers, &online, now)?;
            out.success(
                &format!(
                    "created a TUF repository in {} ({} bins, {} metadata files)",
                    a.repo.display(),
                    s.bins,
                    s.files
                ),
                json!({"repo": a.repo, "bins": s.bins, "files": s.files}),
            );
        }
        Command::Add(a) => {
            if a.name.is_some() && a.files.len() != 1 {
                return Err(Error::new(
                    Code::TufRequestInvalid,
                    "--name applies to a single file",
                ));
            }
            if (!a.bundles.is_empty() || a.oci_digest.is_some()) && a.files.len() != 1 {
                return Err(Error::new(
                    Code::TufRequestInvalid,
                    "--bundle and --oci-digest apply to a single file",
                ));
            }
            let mut files = Vec::new();
            for f in &a.files {
                let name = match &a.name {
                    Some(n) => n.clone(),
                    None => f
                        .file_name()
                        .map(|n| n.to_string_lossy().into_owned())
                        .ok_or_else(|| {
                            Error::new(
                                Code::TufRequestInvalid,
                                format!("'{}' has no file name", f.display()),
                            )
                        })?,
                };
                files.push(custody_app::tuf::NewTarget::from_files(
                    f,
                    &name,
                    &a.bundles,
                    a.oci_digest.clone(),
                )?);
            }
            let signer_keys = online_signers(&a.repo)?;
            let signers: Vec<&dyn Signer> = signer_keys.iter().map(|k| k as &dyn Signer).collect();
            let added = custody_app::tuf::add(&a.repo, files, &signers, now)?;
            let lines: Vec<String> = added
                .iter()
                .map(|t| format!("added {} ({} bytes, sha256 {})", t.name, t.length, t.sha256))
                .collect();
            out.success(
                &lines.join("\n"),
                json!({"added": added.iter().map(|t| json!({
                    "name": t.name, "length": t.length, "sha256": t.sha256
                })).collect::<Vec<_>>()}),
            );
        }
        Command::Sign(a) => {
            let key = super::load_signing_key(&a.key)?;
            let (role, v) = match a.role.as_str() {
                "root" => ("root", custody_app::tuf::sign_root(&a.repo, &[&key])?),
                "targets" => {
                    let online = online_signers(&a.repo)?;
                    let mut signers: Vec<&dyn Signer> = vec![&key];
                    signers.extend(online.iter().map(|k| k as &dyn Signer));
                    (
                        "targets",
                        custody_app::tuf::sign_targets(&a.repo, &signers, now)?,
                    )
                }
                other => {
                    return Err(Error::new(
                        Code::TufRequestInvalid,
                        format!(
                            "'custody tuf sign' signs the offline roles root and targets, not '{other}'"
                        ),
                    ));
                }
            };
            out.success(
                &format!("signed {role} version {v}"),
                json!({"role": role, "version": v}),
            );
        }
        Command::Resign(a) => {
            let online = online_signers(&a.repo)?;
            let signers: Vec<&dyn Signer> = online.iter().map(|k| k as &dyn Signer).collect();
            let v = custody_app::tuf::resign_online(&a.repo, &signers, now)?;
            out.success(
                &format!("re-signed snapshot version {v} and a new timestamp"),
                json!({"role": "snapshot", "version": v}),
            );
        }
        Command::RotateRoot(a) => {
            let new_keys = keys(&a.new_root_keys)?;
            let old_keys = keys(&a.root_keys)?;
            let online = online_signers(&a.repo)?;
            let mut signers: Vec<&dyn Signer> = new_keys.iter().map(|k| k as &dyn Signer).collect();
            signers.extend(old_keys.iter().map(|k| k as &dyn Signer));
            signers.extend(online.iter().map(|k| k as &dyn Signer));
            let public: Vec<_> = new_keys.iter().map(|k| k.public_key().clone()).collect();
            let v = custody_app::tuf::rotate_root(&a.repo, &public, a.threshold, &signers, now)?;
            out.success(
                &format!("published root version {v}"),
                json!({"role": "root", "version": v}),
            );
        }
    }
    Ok(())
}

pub(crate) fn run_fetch(a: FetchArgs, out: &Output) -> Result<()> {
    let dest = match a.out {
        Some(o) => o,
        None => PathBuf::from(a.target.rsplit('/').next().unwrap_or(&a.target)),
    };
    let now = OffsetDateTime::now_utc();
    let root = match &a.trust_root {
        Some(p) => {
            let role: Role = a
                .role
                .parse()
                .map_err(|e| Error::new(Code::InvalidArgument, format!("--role: {e}")))?;
            Some((custody_app::trust::load_trust_root(p, now)?, role))
        }
        None => None,
    };
    let trust = root
        .as_ref()
        .map(|(root, role)| Trust::TrustRoot { root, role: *role });
    let f = custody_app::tuf::fetch(
        &a.target,
        &a.tuf_root,
        &a.from,
        &dest,
        &a.cache,
        trust.as_ref(),
        now,
    )?;
    let mut human = format!(
        "fetched {} ({} bytes, sha256 {}) to {} (trusted root version {})",
        a.target,
        f.length,
        f.sha256,
        dest.display(),
        f.root_version
    );
    for b in &f.bundles {
        let v = &b.verification;
        human.push_str(&format!(
            "\n  verified against bundle {}: key {} ({}{})",
            b.target,
            v.key_id,
            v.algorithm,
            v.role.map(|r| format!(", role {r}")).unwrap_or_default()
        ));
        if let Some(i) = v.log_index {
            human.push_str(&format!(", logged at index {i}"));
        }
    }
    out.success(
        &human,
        json!({
            "target": a.target, "out": dest, "length": f.length,
            "sha256": f.sha256, "rootVersion": f.root_version,
            "bundles": f.bundles.iter().map(|b| json!({
                "target": b.target,
                "keyId": b.verification.key_id.to_string(),
                "algorithm": b.verification.algorithm.name(),
                "role": b.verification.role.map(|r| r.to_string()),
                "predicateType": b.verification.predicate_type,
                "logIndex": b.verification.log_index,
                "unchecked": b.verification.unchecked,
            })).collect::<Vec<_>>(),
        }),
    );
    Ok(())
}
