//! `custody trust-root init|sign|verify|show`.

use std::path::{Path, PathBuf};

use clap::Subcommand;
use custody_app::fs::Overwrite;
use custody_app::trust::{
    NewKey, NewTrustRoot, build_trust_root, read_trust_root, sign_trust_root_file, verify_chain,
    write_trust_root,
};
use custody_app::{Code, Error, Result};
use custody_crypto::KeyId;
use custody_formats::trust_root::Role;
use serde_json::json;
use time::Duration;

use crate::output::Output;

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Create a new, unsigned trust root version (version 1, or the successor of --from).
    Init(InitArgs),
    /// Add a root key's signature to a trust root (in place).
    Sign(SignArgs),
    /// Verify a trust root, or a chain of versions from a trusted anchor.
    Verify(VerifyArgs),
}

#[derive(Debug, clap::Args)]
pub(crate) struct InitArgs {
    /// Where to write the new trust root.
    #[arg(long)]
    out: PathBuf,
    /// A root public key (repeatable). Root keys sign trust roots and nothing else.
    #[arg(long = "root", value_name = "PUB")]
    roots: Vec<PathBuf>,
    /// Another key with its role, as ROLE=PUB[,owner=NAME] (repeatable), e.g. build=build.pub
    /// or approver=bob.pub,owner=bob@example.com. The owner is the person or system controlling
    /// the key (1 to 256 characters): policy counts signers by owner (keys without one count
    /// as key:<keyid>).
    #[arg(long = "key", value_name = "ROLE=PUB[,owner=NAME]")]
    keys: Vec<String>,
    /// A witness, as its cosignature vkey from 'custody witness vkey' (repeatable).
    #[arg(long = "witness", value_name = "VKEY")]
    witnesses: Vec<String>,
    /// How many distinct witnesses must cosign a log checkpoint for a logged signature to be
    /// accepted [default: 0, or the previous version's].
    #[arg(long)]
    witness_threshold: Option<u32>,
    /// How many distinct root keys must sign [default: 1, or the previous version's].
    #[arg(long)]
    threshold: Option<u32>,
    /// Days until this version expires.
    #[arg(long, default_value_t = 365)]
    expires_days: u32,
    /// Make the successor of this trust root: its keys are carried over.
    #[arg(long, value_name = "PREVIOUS.json")]
    from: Option<PathBuf>,
    /// With --from: drop this key id (repeatable).
    #[arg(long, value_name = "KEYID", requires = "from")]
    remove: Vec<String>,
    /// With --from: mark this key id revoked as of now (repeatable).
    #[arg(long, value_name = "KEYID", requires = "from")]
    revoke: Vec<String>,
}

#[derive(Debug, clap::Args)]
pub(crate) struct SignArgs {
    /// The trust root to sign.
    file: PathBuf,
    /// A root private key.
    #[arg(long)]
    key: PathBuf,
}

#[derive(Debug, clap::Args)]
pub(crate) struct VerifyArgs {
    /// The trust root to verify.
    file: PathBuf,
    /// Earlier versions, oldest first; the first is the trusted anchor (repeatable).
    #[arg(long = "previous", value_name = "ROOT.json")]
    previous: Vec<PathBuf>,
}

pub(crate) fn run(cmd: Command, out: &Output) -> Result<()> {
    match cmd {
        Command::Init(args) => init(args, out),
        Command::Sign(args) => {
            let key = super::load_signing_key(&args.key)?;
            let root = sign_trust_root_file(&args.file, &key)?;
            let signed = root.signatures().len();
            out.success(
                &format!(
                    "signed {} (version {}) with root key {}: {signed} of {} required signatures",
                    args.file.display(),
                    root.body().version(),
                    custody_crypto::Signer::public_key(&key).key_id(),
                    root.body().root_threshold()
                ),
                json!({ "file": args.file, "version": root.body().version(), "signatures": signed, "threshold": root.body().root_threshold() }),
            );
            Ok(())
        }
        Command::Verify(args) => {
            let mut chain: Vec<&Path> = args.previous.iter().map(PathBuf::as_path).collect();
            chain.push(&args.file);
            let root = verify_chain(&chain, super::now())?;
            out.success(
                &format!(
                    "OK: {} is a valid trust root, version {}, {} keys, expires {}",
                    args.file.display(),
                    root.version(),
                    root.keys().len(),
                    root.expires()
                        .format(&time::format_description::well_known::Rfc3339)
                        .unwrap_or_default()
                ),
                json!({ "file": args.file, "version": root.version(), "keys": root.keys().len() }),
            );
            Ok(())
        }
    }
}

fn parse_key_id(s: &str) -> Result<KeyId> {
    s.parse()
        .map_err(|e: custody_crypto::KeyError| Error::new(Code::InvalidArgument, e.to_string()))
}

/// A `--key` value: `ROLE=PUB` or `ROLE=PUB,owner=NAME`.
#[derive(Debug, PartialEq, Eq)]
struct KeySpec<'a> {
    role: Role,
    path: &'a Path,
    owner: Option<&'a str>,
}

fn parse_key_spec(spec: &str) -> Result<KeySpec<'_>> {
    let usage = || {
        Error::new(
            Code::InvalidArgument,
            format!("--key '{spec}' is not ROLE=PUB[,owner=NAME]"),
        )
    };
    let (role, rest) = spec.split_once('=').ok_or_else(usage)?;
    let role: Role = role
        .parse()
        .map_err(|e| Error::new(Code::InvalidArgument, format!("--key '{spec}': {e}")))?;
    let (path, owner) = match rest.split_once(",owner=") {
        Some((path, owner)) => (path, Some(owner)),
        None => (rest, None),
    };
    if path.is_empty() {
        return Err(usage());
    }
    Ok(KeySpec {
        role,
        path: Path::new(path),
        owner,
    })
}

fn init(args: InitArgs, out: &Output) -> Result<()> {
    let mut keys = Vec::new();
    for path in &args.roots {
        keys.push(NewKey {
            key: custody_app::keys::load_public_key(path)?,
            role: Role::Root,
            valid_until: None,
            name: None,
            owner: None,
        });
    }
    for spec in &args.keys {
        let spec = parse_key_spec(spec)?;
        keys.push(NewKey {
            key: custody_app::keys::load_public_key(spec.path)?,
            role: spec.role,
            valid_until: None,
            name: None,
            owner: spec.owner.map(str::to_owned),
        });
    }
    for vkey in &args.witnesses {
        let verifier: custody_log::note::NoteVerifier = vkey
            .parse()
            .map_err(|e| Error::new(Code::InvalidArgument, format!("--witness: {e}")))?;
        if verifier.signature_type() != custody_log::note::SignatureType::CosignatureV1 {
            return Err(Error::new(
                Code::InvalidArgument,
                "--witness takes a cosignature vkey (from 'custody witness vkey')",
            ));
        }
        keys.push(NewKey {
            key: verifier.public_key().clone(),
            role: Role::Witness,
            valid_until: None,
            name: Some(verifier.name().as_str().to_owned()),
            owner: None,
        });
    }
    let previous = args.from.as_deref().map(read_trust_root).transpose()?;
    let remove = args
        .remove
        .iter()
        .map(|s| parse_key_id(s))
        .collect::<Result<Vec<_>>>()?;
    let revoke = args
        .revoke
        .iter()
        .map(|s| parse_key_id(s))
        .collect::<Result<Vec<_>>>()?;
    if args.expires_days == 0 {
        return Err(Error::new(
            Code::InvalidArgument,
            "--expires-days must be at least 1",
        ));
    }
    let settings = NewTrustRoot {
        keys,
        root_threshold: args.threshold,
        valid_for: Duration::days(i64::from(args.expires_days)),
        witness_threshold: args.witness_threshold,
    };
    let root = build_trust_root(previous.as_ref(), settings, &remove, &revoke, super::now())?;
    write_trust_root(&args.out, &root, Overwrite::Refuse)?;
    out.success(
        &format!(
            "wrote {} (version {}, {} keys, unsigned): sign it with {} root key(s) using 'custody trust-root sign'",
            args.out.display(),
            root.body().version(),
            root.body().keys().len(),
            root.body().root_threshold()
        ),
        json!({ "file": args.out, "version": root.body().version(), "keys": root.body().keys().len(), "threshold": root.body().root_threshold() }),
    );
    Ok(())
}

#[cfg(test)]
mod tests;
