//! `custody log vkey --data DIR`.

use std::path::PathBuf;

use clap::Subcommand;
use custody_app::Result;
use custody_app::datadir::DataDir;
use serde_json::json;

use crate::output::Output;

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Print the log's verifier key as a C2SP vkey line (name+keyid+key).
    Vkey(VkeyArgs),
}

#[derive(Debug, clap::Args)]
pub(crate) struct VkeyArgs {
    /// The server's data directory.
    #[arg(long, value_name = "DIR", default_value = "custody-data")]
    data: PathBuf,
}

pub(crate) fn run(cmd: Command, out: &Output) -> Result<()> {
    match cmd {
        Command::Vkey(args) => {
            let vkey = DataDir::new(&args.data).log_verifier()?.to_string();
            out.success(&vkey, json!({ "vkey": vkey }));
            Ok(())
        }
    }
}
