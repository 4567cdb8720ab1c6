//! `custody token create|list|revoke --data DIR`.

use std::path::PathBuf;

use clap::Subcommand;
use custody_app::Result;
use custody_app::datadir::DataDir;
use custody_app::tokens::{Scope, create_token, list_tokens, revoke_token};
use secrecy::ExposeSecret as _;
use serde_json::json;

use crate::output::Output;

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Create a token and print it once (only its hash is stored).
    Create(CreateArgs),
    /// List tokens (ids, scopes, state; never secrets).
    List(DataArgs),
    /// Revoke a token by id; effective for the next request.
    Revoke(RevokeArgs),
}

#[derive(Debug, clap::Args)]
pub(crate) struct DataArgs {
    /// The server's data directory.
    #[arg(long, value_name = "DIR", default_value = "custody-data")]
    data: PathBuf,
}

#[derive(Debug, clap::Args)]
pub(crate) struct CreateArgs {
    #[command(flatten)]
    data: DataArgs,
    /// A scope: admin, log:write, repository:NAME[*]:pull,push,delete, or
    /// environment:NAME|*:read,promote (repeatable).
    #[arg(long = "scope", required = true)]
    scopes: Vec<String>,
    /// What the token is for.
    #[arg(long, default_value = "")]
    description: String,
}

#[derive(Debug, clap::Args)]
pub(crate) struct RevokeArgs {
    #[command(flatten)]
    data: DataArgs,
    /// The token id (the 16 hex characters after `custody_`).
    id: String,
}

fn unix_now() -> i64 {
    super::now().unix_timestamp()
}

pub(crate) fn run(cmd: Command, out: &Output) -> Result<()> {
    match cmd {
        Command::Create(args) => {
            let scopes = args
                .scopes
                .iter()
                .map(|s| s.parse::<Scope>())
                .collect::<Result<Vec<_>>>()?;
            let db = DataDir::new(&args.data.data).database();
            let (info, token) = create_token(&db, &scopes, &args.description, unix_now())?;
            out.success(
                token.expose_secret(),
                json!({ "id": info.id, "scopes": info.scopes, "token": token.expose_secret() }),
            );
            Ok(())
        }
        Command::List(args) => {
            let tokens = list_tokens(&DataDir::new(&args.data).database())?;
            let human: Vec<String> = tokens
                .iter()
                .map(|t| {
                    format!(
                        "{}  {}  {}{}",
                        t.id,
                        t.scopes.join(" "),
                        if t.revoked.is_some() { "REVOKED  " } else { "" },
                        t.description
                    )
                })
                .collect();
            let values: Vec<_> = tokens
                .iter()
                .map(|t| json!({ "id": t.id, "scopes": t.scopes, "description": t.description, "created": t.created, "revoked": t.revoked }))
                .collect();
            out.success(&human.join("\n"), json!({ "tokens": values }));
            Ok(())
        }
        Command::Revoke(args) => {
            revoke_token(
                &DataDir::new(&args.data.data).database(),
                &args.id,
                unix_now(),
            )?;
            out.success(&format!("revoked {}", args.id), json!({ "id": args.id }));
            Ok(())
        }
    }
}
