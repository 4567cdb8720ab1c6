//! `custody witness serve` and `custody witness vkey`: a C2SP tlog-witness that verifies
//! consistency before cosigning and persists its view of each log atomically.

use std::path::PathBuf;
use std::sync::Arc;

use clap::Subcommand;
use custody_app::keys::NewKeyProtection;
use custody_app::witness::{Witness, WitnessDir, initialize};
use custody_app::{Code, Error, Result};
use custody_log::note::NoteVerifier;
use custody_server::witness_router;
use serde_json::json;

use crate::output::Output;

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Serve POST /add-checkpoint (C2SP tlog-witness) for the given logs.
    Serve(ServeArgs),
    /// Print the witness's cosignature verifier key as a C2SP vkey line.
    Vkey(VkeyArgs),
}

#[derive(Debug, clap::Args)]
pub(crate) struct ServeArgs {
    /// Witness data directory (created with a fresh cosigning key on first start).
    #[arg(long, value_name = "DIR", default_value = "custody-witness")]
    data: PathBuf,
    /// Address to listen on.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8081")]
    listen: String,
    /// A log to witness, as its checkpoint vkey (`custody log vkey`); repeat for more logs.
    #[arg(long = "log", value_name = "VKEY", required = true)]
    logs: Vec<String>,
    /// The witness's name (its cosignature key name), used on first start only.
    #[arg(long)]
    name: Option<String>,
    /// On first start, write the cosigning key unencrypted (for keys held elsewhere).
    #[arg(long)]
    no_passphrase: bool,
}

#[derive(Debug, clap::Args)]
pub(crate) struct VkeyArgs {
    /// The witness's data directory.
    #[arg(long, value_name = "DIR", default_value = "custody-witness")]
    data: PathBuf,
}

/// The name of a witness started without `--name`.
const DEFAULT_NAME: &str = "custody.local/witness";

pub(crate) fn run(cmd: Command, out: &Output) -> Result<()> {
    match cmd {
        Command::Serve(args) => serve(args, out),
        Command::Vkey(args) => {
            let vkey = WitnessDir::new(&args.data).verifier()?.to_string();
            out.success(&vkey, json!({ "vkey": vkey }));
            Ok(())
        }
    }
}

fn serve(args: ServeArgs, out: &Output) -> Result<()> {
    let logs = args
        .logs
        .iter()
        .map(|vkey| {
            vkey.parse::<NoteVerifier>().map_err(|e| {
                Error::new(
                    Code::InvalidArgument,
                    format!("--log '{vkey}' is not a log vkey: {e}"),
                )
            })
        })
        .collect::<Result<Vec<_>>>()?;
    let dir = WitnessDir::new(&args.data);
    if dir.exists() {
        let name = dir.name()?;
        if let Some(wanted) = &args.name
            && wanted != name.as_str()
        {
            return Err(Error::new(
                Code::InvalidArgument,
                format!(
                    "'{}' is the witness '{name}', not '{wanted}'",
                    args.data.display()
                ),
            )
            .with_hint("The name is fixed on first start: drop --name or pass the same name."));
        }
    } else {
        let protection = if args.no_passphrase {
            NewKeyProtection::Unencrypted
        } else {
            NewKeyProtection::Passphrase(crate::passphrase::for_new_key()?)
        };
        let name = args.name.as_deref().unwrap_or(DEFAULT_NAME);
        let vkey = initialize(&dir, name, &protection)?;
        out.info(&format!(
            "initialised {}\n  witness vkey: {vkey}",
            args.data.display()
        ));
    }
    let key_path = dir.private_key();
    let cosigner = dir.cosigner(&mut || crate::passphrase::for_existing_key(&key_path))?;
    let witness = Arc::new(Witness::open(&dir, cosigner, logs)?);
    let vkey = witness.verifier().to_string();

    custody_server::run(&args.listen, witness_router(witness), |addr| {
        out.info(&format!(
            "custody witness serve: listening on http://{addr}\n  witness vkey: {vkey}"
        ));
        out.success("", json!({ "listening": addr.to_string(), "vkey": vkey }));
    })
    .map_err(|e| {
        Error::new(
            Code::ListenFailed,
            format!("cannot serve on {}: {e}", args.listen),
        )
    })
}
