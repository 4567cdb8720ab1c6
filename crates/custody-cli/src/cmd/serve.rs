//! `custody serve --data DIR --listen ADDR [--config FILE] [--tuf-repo DIR]`: the transparency
//! log server, the OCI registry (`/v2/`) and optionally a TUF repository (`/tuf/`) on one
//! listener.

use std::path::PathBuf;
use std::sync::Arc;

use custody_app::datadir::{DataDir, initialize};
use custody_app::deploy::publish::TufPublisher;
use custody_app::deploy::service::{Deployments, DeploymentsConfig};
use custody_app::keys::NewKeyProtection;
use custody_app::log::{Log, SequencerConfig};
use custody_app::registry::audit::{
    AuditLog, DEFAULT_HEAD_INTERVAL, HeadLogger, load_or_create_audit_key,
};
use custody_app::registry::config::RegistryConfig;
use custody_app::registry::enforce::{TrustRootGate, TrustRootSource};
use custody_app::registry::service::{Registry, ServiceLimits, open_embedded};
use custody_app::tokens::TokenChecker;
use custody_app::{Code, Error, Result};
use custody_crypto::sha256;
use custody_server::{ServerState, router_with_registry};
use serde_json::json;

use crate::output::Output;

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// Data directory (created with fresh keys and a trust root on first start).
    #[arg(long, value_name = "DIR", default_value = "custody-data")]
    data: PathBuf,
    /// Address to listen on.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8080")]
    listen: String,
    /// The log's origin (checkpoint key name), used on first start only.
    #[arg(long, default_value = "custody.local/log")]
    origin: String,
    /// On first start, write the server's private keys unencrypted (for keys held elsewhere).
    #[arg(long)]
    no_passphrase: bool,
    /// A witness to ask for cosignatures on every checkpoint (repeatable; pairs with
    /// --witness-vkey in order).
    #[arg(long = "witness-url", value_name = "URL")]
    witness_urls: Vec<String>,
    /// The cosignature vkey of the witness at the same position in --witness-url.
    #[arg(long = "witness-vkey", value_name = "VKEY")]
    witness_vkeys: Vec<String>,
    /// The registry's TOML config (repository rules, limits, trust root). Without it every
    /// repository enforces signatures on push and pull and nothing is pulled anonymously.
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// A TUF repository (from 'custody tuf init') to serve read-only under /tuf/ (clients use
    /// --from http://HOST/tuf); its snapshot and timestamp are re-signed before they expire
    /// with the online keys recorded at init.
    #[arg(long, value_name = "DIR")]
    tuf_repo: Option<PathBuf>,
    /// Publish the artifacts promoted (or rolled back) to environment ENV to the TUF
    /// repository as targets ENV/REPOSITORY/<file> carrying their bundles (repeatable; needs
    /// --tuf-repo and --policies).
    #[arg(long = "tuf-publish", value_name = "ENV")]
    tuf_publish: Vec<String>,
    /// Deployment policies: ENV.rego (package custody.env.ENV) per environment, plus shared
    /// modules. Without it nothing can be promoted and the gate denies (fail closed).
    #[arg(long, value_name = "DIR")]
    policies: Option<PathBuf>,
    /// OSV advisories that artifacts' SBOMs are matched against for policy (re-read at start).
    #[arg(long, value_name = "DIR")]
    advisories: Option<PathBuf>,
}

/// How often the registry's online garbage collection runs.
const GC_INTERVAL: std::time::Duration = std::time::Duration::from_secs(600);

/// The OCI registry served under `/v2/`: settings from `--config` (safe defaults without it),
/// the trust-root gate, the audit log in the data directory's database, and the embedded
/// storage (blob files under DATA/registry, metadata in the database).
fn registry_config(args: &Args) -> Result<Arc<RegistryConfig>> {
    Ok(Arc::new(match &args.config {
        Some(path) => RegistryConfig::load(path)?,
        None => RegistryConfig::default(),
    }))
}

/// The trust root the server verifies evidence against: the config's, or the data directory's.
fn trust_root_path(config: &RegistryConfig, dir: &DataDir) -> PathBuf {
    config
        .trust_root()
        .map_or_else(|| dir.trust_root(), std::path::Path::to_owned)
}

fn registry(
    args: &Args,
    dir: &DataDir,
    config: Arc<RegistryConfig>,
    audit: Arc<AuditLog>,
) -> Result<Arc<Registry>> {
    let trust_root = trust_root_path(&config, dir);
    let gate = TrustRootGate::new(Arc::clone(&config), &trust_root);
    // The audit chain's head is signed and logged in the server's log now and then.
    HeadLogger::spawn_detached(
        Arc::clone(&audit),
        config
            .audit_head_interval()
            .unwrap_or(DEFAULT_HEAD_INTERVAL),
    )?;
    let limits = config.limits();
    let service_limits = ServiceLimits {
        max_blob_bytes: limits.max_blob_size,
        max_manifest_bytes: limits.max_manifest_size,
        upload_lifetime_secs: i64::try_from(limits.upload_lifetime.as_secs()).unwrap_or(i64::MAX),
        requests_per_second: limits.requests_per_second,
        ..ServiceLimits::default()
    };
    Ok(Arc::new(open_embedded(
        &args.data.join("registry"),
        &dir.database(),
        config,
        Arc::new(gate),
        audit,
        service_limits,
    )?))
}

/// Runs garbage collection now and then every [`GC_INTERVAL`], on its own thread.
fn spawn_gc(registry: &Arc<Registry>) {
    let registry = Arc::clone(registry);
    let _ = std::thread::Builder::new()
        .name("registry-gc".into())
        .spawn(move || {
            loop {
                // A failed pass is retried at the next interval; nothing partial is visible.
                let _ = registry.collect_garbage();
                std::thread::sleep(GC_INTERVAL);
            }
        });
}

/// How often the TUF repository's online roles are checked for re-signing.
const TUF_RESIGN_CHECK: std::time::Duration = std::time::Duration::from_secs(60);

/// Checks the TUF repository's snapshot and timestamp now and then every
/// [`TUF_RESIGN_CHECK`], on its own thread, re-signing them when half their validity is gone.
/// A failure is reported on stderr (code and message, never key material) and retried.
fn spawn_tuf_resigner(repo: PathBuf, keys: Arc<Vec<custody_crypto::SigningKey>>) -> Result<()> {
    std::thread::Builder::new()
        .name("tuf-resign".into())
        .spawn(move || {
            let signers: Vec<&dyn custody_crypto::Signer> = keys
                .iter()
                .map(|k| k as &dyn custody_crypto::Signer)
                .collect();
            let mut resigner = custody_app::tuf::OnlineResigner::new(&repo);
            loop {
                let now = super::now();
                match resigner.resign_if_due(&signers, now) {
                    Ok(Some(r)) => eprintln!(
                        "custody serve: re-signed {} TUF bin(s), the snapshot (version {}) and the timestamp",
                        r.bins, r.snapshot
                    ),
                    Ok(None) => {}
                    Err(e) => eprintln!(
                        "custody serve: cannot re-sign the TUF online roles (retrying in {}s): {}: {}",
                        TUF_RESIGN_CHECK.as_secs(),
                        e.code(),
                        e.message()
                    ),
                }
                std::thread::sleep(TUF_RESIGN_CHECK);
            }
        })
        .map(|_| ())
        .map_err(|e| Error::new(Code::Internal, format!("cannot start a thread: {e}")))
}

fn witnesses(args: &Args) -> Result<Vec<custody_app::witnessing::WitnessEndpoint>> {
    if args.witness_urls.len() != args.witness_vkeys.len() {
        return Err(Error::new(
            Code::Usage,
            "give one --witness-vkey for each --witness-url",
        ));
    }
    args.witness_urls
        .iter()
        .zip(&args.witness_vkeys)
        .map(|(url, vkey)| {
            let verifier: custody_log::note::NoteVerifier = vkey
                .parse()
                .map_err(|e| Error::new(Code::InvalidArgument, format!("--witness-vkey: {e}")))?;
            if verifier.signature_type() != custody_log::note::SignatureType::CosignatureV1 {
                return Err(Error::new(
                    Code::InvalidArgument,
                    "--witness-vkey takes a cosignature vkey (from 'custody witness vkey')",
                ));
            }
            Ok(custody_app::witnessing::WitnessEndpoint {
                url: url.clone(),
                verifier,
            })
        })
        .collect()
}

pub(crate) fn run(args: Args, out: &Output) -> Result<()> {
    let witnesses = witnesses(&args)?;
    if !args.tuf_publish.is_empty() && (args.tuf_repo.is_none() || args.policies.is_none()) {
        return Err(Error::new(
            Code::Usage,
            "--tuf-publish needs --tuf-repo (where to publish) and --policies (to promote)",
        ));
    }
    // A broken policy directory is reported now, not at the first promotion. (It is re-read
    // whenever its files change; a later breakage denies every decision, with the error.)
    if let Some(dir) = &args.policies {
        custody_app::policy::load_policy_dir(dir)?;
    }
    // The TUF repository and its online keys are checked before anything is started.
    let tuf = match &args.tuf_repo {
        Some(dir) => {
            let repo = custody_app::tuf::published_repo(dir)?;
            let keys = Arc::new(super::tuf::online_signers(&repo)?);
            Some((repo, keys))
        }
        None => None,
    };
    let dir = DataDir::new(&args.data);
    if !dir.exists() {
        let protection = if args.no_passphrase {
            NewKeyProtection::Unencrypted
        } else {
            NewKeyProtection::Passphrase(crate::passphrase::for_new_key()?)
        };
        let init = initialize(&dir, &args.origin, &protection, super::now())?;
        out.info(&format!(
            "initialised {}\n  trust root for clients: {}\n  root key (move it offline): {}\n  log key: {}",
            args.data.display(),
            init.trust_root.display(),
            init.root_key.display(),
            init.log_vkey
        ));
    }
    let (log_key_path, _) = dir.log_key_paths();
    let signer = dir.log_signer(&mut || crate::passphrase::for_existing_key(&log_key_path))?;
    let log_id = sha256(signer.verifier().public_key().spki_der())
        .as_bytes()
        .to_vec();
    let log = Arc::new(Log::open_witnessed(
        &dir.database(),
        Box::new(signer),
        SequencerConfig::default(),
        witnesses,
    )?);
    let audit_key = load_or_create_audit_key(&args.data, &log_key_path, &mut || {
        crate::passphrase::for_existing_key(&log_key_path)
    })?;
    let audit = Arc::new(AuditLog::open(&dir.database())?.with_anchor(
        Arc::clone(&log),
        audit_key,
        log_id.clone(),
    )?);
    let tokens = TokenChecker::open(&dir.database())?;
    let state = Arc::new(ServerState {
        log: Arc::clone(&log),
        tokens,
        log_id,
    });

    let config = registry_config(&args)?;
    let registry = registry(&args, &dir, Arc::clone(&config), Arc::clone(&audit))?;
    spawn_gc(&registry);
    let trust_root = Arc::new(TrustRootSource::new(&trust_root_path(&config, &dir)));
    let listener = match &tuf {
        Some((repo, keys)) if !args.tuf_publish.is_empty() => Some(Arc::new(TufPublisher {
            repo: repo.clone(),
            environments: args.tuf_publish.clone(),
            registry: Arc::clone(&registry),
            trust_root: Arc::clone(&trust_root),
            signers: Arc::clone(keys),
            clock: Box::new(super::now),
        })
            as Arc<dyn custody_app::deploy::service::PromotionListener>),
        _ => None,
    };
    let deployments = Arc::new(Deployments::new(DeploymentsConfig {
        store: custody_app::datadir::open_environment_store(&dir)?,
        registry: Arc::clone(&registry),
        trust_root,
        tokens: TokenChecker::open(&dir.database())?,
        policies: args.policies.clone(),
        advisories: match &args.advisories {
            Some(path) => Some(custody_app::sbom::read_advisories(path)?),
            None => None,
        },
        clock: Box::new(super::now),
        listener,
    }));

    let mut router =
        custody_server::with_deployments(router_with_registry(state, registry), deployments);
    if let Some((repo, keys)) = tuf {
        spawn_tuf_resigner(repo.clone(), keys)?;
        router = custody_server::with_tuf(router, repo);
    }

    let served = Arc::clone(&log);
    custody_server::run(&args.listen, router, |addr| {
        out.info(&format!(
            "custody serve: listening on http://{addr} (log size {})",
            served.published().size
        ));
        out.success("", json!({ "listening": addr.to_string() }));
    })
    .map_err(|e| {
        Error::new(
            Code::ListenFailed,
            format!("cannot serve on {}: {e}", args.listen),
        )
    })?;
    // The last chain head goes into the log before it stops.
    let _ = audit.log_head_now();
    log.shutdown();
    Ok(())
}
