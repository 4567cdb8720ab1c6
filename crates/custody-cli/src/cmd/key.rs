//! `custody key generate|show`.

use std::path::PathBuf;

use clap::Subcommand;
use custody_app::Result;
use custody_app::keys::{NewKeyProtection, generate_key_files, load_public_key};
use custody_crypto::KeyAlgorithm;
use serde_json::json;

use crate::output::Output;

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Generate a key pair: PREFIX.key (PKCS#8, encrypted) and PREFIX.pub (SPKI). Prints the key id.
    Generate(GenerateArgs),
    /// Print a public key's id and algorithm.
    Show(ShowArgs),
}

#[derive(Debug, clap::Args)]
pub(crate) struct GenerateArgs {
    /// Path prefix of the two files to write; existing files are never overwritten.
    #[arg(long, value_name = "PREFIX")]
    out: PathBuf,
    /// Signature algorithm.
    #[arg(long, default_value = "ed25519", value_parser = ["ed25519", "ecdsa-p256"])]
    algorithm: String,
    /// Write the private key unencrypted (for keys kept in a secrets manager).
    #[arg(long)]
    no_passphrase: bool,
}

#[derive(Debug, clap::Args)]
pub(crate) struct ShowArgs {
    /// A public key file (PEM).
    key: PathBuf,
}

pub(crate) fn run(cmd: Command, out: &Output) -> Result<()> {
    match cmd {
        Command::Generate(args) => generate(args, out),
        Command::Show(args) => {
            let key = load_public_key(&args.key)?;
            out.success(
                &format!("{} {}", key.key_id(), key.algorithm()),
                json!({ "keyId": key.key_id().to_string(), "algorithm": key.algorithm().name() }),
            );
            Ok(())
        }
    }
}

fn generate(args: GenerateArgs, out: &Output) -> Result<()> {
    let algorithm: KeyAlgorithm =
        args.algorithm
            .parse()
            .map_err(|e: custody_crypto::KeyError| {
                custody_app::Error::new(custody_app::Code::InvalidArgument, e.to_string())
            })?;
    let protection = if args.no_passphrase {
        NewKeyProtection::Unencrypted
    } else {
        NewKeyProtection::Passphrase(crate::passphrase::for_new_key()?)
    };
    let generated = generate_key_files(&args.out, algorithm, &protection)?;
    let encrypted = !args.no_passphrase;
    out.success(
        &format!(
            "{}\n  private key: {}{}\n  public key:  {}",
            generated.key_id,
            generated.private_path.display(),
            if encrypted {
                " (encrypted)"
            } else {
                " (UNENCRYPTED)"
            },
            generated.public_path.display()
        ),
        json!({
            "keyId": generated.key_id.to_string(),
            "algorithm": algorithm.name(),
            "privateKey": generated.private_path,
            "publicKey": generated.public_path,
            "encrypted": encrypted,
        }),
    );
    Ok(())
}
