//! `custody audit verify|export`: the registry's hash-chained audit log.

use std::io::Write as _;
use std::path::PathBuf;

use clap::Subcommand;
use custody_app::datadir::DataDir;
use custody_app::registry::audit::{
    ChainReport, HeadCheck, audit_key_prefix, export, export_to_file, verify_export, verify_store,
};
use custody_app::{Code, Error, Result};
use serde_json::json;

use crate::output::Output;

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Verify the audit chain (and its logged heads) in a data directory or an export file.
    Verify(VerifyArgs),
    /// Export the audit log as JSON lines that 'custody audit verify --file' checks offline.
    Export(ExportArgs),
}

#[derive(Debug, clap::Args)]
pub(crate) struct VerifyArgs {
    /// The server's data directory (its trust root and audit key check the logged heads).
    #[arg(
        long,
        value_name = "DIR",
        conflicts_with = "file",
        required_unless_present = "file"
    )]
    data: Option<PathBuf>,
    /// An export file (from 'custody audit export').
    #[arg(long, value_name = "FILE")]
    file: Option<PathBuf>,
    /// The trust root naming the server's log (default with --data: DIR/trust-root.json).
    #[arg(long, value_name = "FILE")]
    trust_root: Option<PathBuf>,
    /// The server's audit public key (default with --data: DIR/keys/audit.pub).
    #[arg(long, value_name = "FILE")]
    audit_key: Option<PathBuf>,
}

#[derive(Debug, clap::Args)]
pub(crate) struct ExportArgs {
    /// The server's data directory.
    #[arg(long, value_name = "DIR", default_value = "custody-data")]
    data: PathBuf,
    /// Write to this file (atomically) instead of standard output.
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
}

pub(crate) fn run(cmd: Command, out: &Output) -> Result<()> {
    match cmd {
        Command::Verify(args) => verify(args, out),
        Command::Export(args) => {
            let db = DataDir::new(&args.data).database();
            match &args.out {
                Some(path) => {
                    let n = export_to_file(&db, path)?;
                    out.success(
                        &format!("exported {n} audit records to {}", path.display()),
                        json!({ "records": n, "out": path.display().to_string() }),
                    );
                }
                None => {
                    let stdout = std::io::stdout();
                    let mut lock = std::io::BufWriter::new(stdout.lock());
                    export(&db, &mut lock)?;
                    lock.flush().map_err(|e| {
                        Error::new(Code::WriteFailed, format!("cannot write the export: {e}"))
                    })?;
                }
            }
            Ok(())
        }
    }
}

fn verify(args: VerifyArgs, out: &Output) -> Result<()> {
    let now = super::now();
    let (trust_root_path, key_path) = match &args.data {
        Some(dir) => {
            let (_, public) = custody_app::keys::key_paths(&audit_key_prefix(dir));
            (
                Some(
                    args.trust_root
                        .clone()
                        .unwrap_or_else(|| DataDir::new(dir).trust_root()),
                ),
                Some(args.audit_key.clone().unwrap_or(public)),
            )
        }
        None => (args.trust_root.clone(), args.audit_key.clone()),
    };
    // With --data the heads are always checked when the server has an audit key; an export is
    // checked against the keys the user names.
    let key = match &key_path {
        Some(path) if args.audit_key.is_some() || path.exists() => {
            Some(custody_app::keys::load_public_key(path)?)
        }
        _ => None,
    };
    let root = match (&trust_root_path, &key) {
        (Some(path), Some(_)) => Some(custody_app::trust::load_trust_root(path, now)?),
        (None, Some(_)) => {
            return Err(Error::new(
                Code::Usage,
                "--audit-key needs --trust-root (the trust root naming the server's log)",
            ));
        }
        _ => None,
    };
    let check = match (&root, &key) {
        (Some(trust_root), Some(audit_key)) => Some(HeadCheck {
            trust_root,
            audit_key,
            now,
        }),
        _ => None,
    };
    let report = match (&args.data, &args.file) {
        (Some(dir), _) => {
            let report = verify_store(&DataDir::new(dir).database(), check.as_ref())?;
            if report.heads_unchecked > 0 {
                return Err(Error::new(
                    Code::AuditHeadMismatch,
                    format!(
                        "{} logged chain heads cannot be checked: the audit key is missing",
                        report.heads_unchecked
                    ),
                )
                .with_hint("Restore DIR/keys/audit.pub, or pass --audit-key with the server's audit public key."));
            }
            report
        }
        (None, Some(file)) => {
            let f = std::fs::File::open(file).map_err(|e| Error::read(file, &e))?;
            verify_export(&mut std::io::BufReader::new(f), check.as_ref())?
        }
        (None, None) => return Err(Error::new(Code::Usage, "pass --data DIR or --file FILE")),
    };
    out.success(&human(&report), value(&report));
    Ok(())
}

fn human(report: &ChainReport) -> String {
    let mut text = match &report.head {
        Some((seq, digest)) => format!(
            "audit log verified: {} records, chained from the first; head is record {seq} ({digest})",
            report.records
        ),
        None => "audit log verified: no records".to_owned(),
    };
    if report.heads_verified > 0 {
        text.push_str(&format!(
            "\n{} logged chain heads verified (signature and log inclusion)",
            report.heads_verified
        ));
    }
    if report.heads_unchecked > 0 {
        text.push_str(&format!(
            "\n{} logged chain heads match the chain, but their signatures and log inclusion were not checked (pass --trust-root and --audit-key)",
            report.heads_unchecked
        ));
    }
    text
}

fn value(report: &ChainReport) -> serde_json::Value {
    json!({
        "records": report.records,
        "head": report.head.as_ref().map(|(seq, digest)| json!({ "seq": seq, "digest": digest.to_string() })),
        "headsVerified": report.heads_verified,
        "headsUnchecked": report.heads_unchecked,
    })
}
