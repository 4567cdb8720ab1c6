//! `custody serve --data DIR --listen ADDR`: the transparency log server.

use std::path::PathBuf;
use std::sync::Arc;

use custody_app::datadir::{DataDir, initialize};
use custody_app::keys::NewKeyProtection;
use custody_app::log::{Log, SequencerConfig};
use custody_app::tokens::TokenChecker;
use custody_app::{Code, Error, Result};
use custody_crypto::sha256;
use custody_server::{ServerState, router};
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
    let tokens = TokenChecker::open(&dir.database())?;
    let state = Arc::new(ServerState {
        log: Arc::clone(&log),
        tokens,
        log_id,
    });

    let served = Arc::clone(&log);
    custody_server::run(&args.listen, router(state), |addr| {
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
    log.shutdown();
    Ok(())
}
