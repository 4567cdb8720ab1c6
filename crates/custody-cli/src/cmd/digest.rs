//! `custody digest FILE [--algorithm sha256|sha512]`.

use std::path::PathBuf;

use custody_app::Result;
use custody_crypto::DigestAlgorithm;
use serde_json::json;

use crate::output::Output;

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// Files to digest.
    #[arg(required = true)]
    files: Vec<PathBuf>,
    /// Digest algorithm.
    #[arg(long, default_value = "sha256", value_parser = ["sha256", "sha512"])]
    algorithm: String,
}

pub(crate) fn run(args: Args, out: &Output) -> Result<()> {
    let algorithm = if args.algorithm == "sha512" {
        DigestAlgorithm::Sha512
    } else {
        DigestAlgorithm::Sha256
    };
    let mut lines = Vec::new();
    let mut values = Vec::new();
    for file in &args.files {
        let digest = custody_app::fs::digest_file(file, &[algorithm])?
            .pop()
            .ok_or_else(|| {
                custody_app::Error::new(custody_app::Code::Internal, "no digest computed")
            })?;
        lines.push(format!("{digest}  {}", file.display()));
        values.push(json!({ "file": file, "digest": digest.to_string() }));
    }
    out.success(&lines.join("\n"), json!({ "digests": values }));
    Ok(())
}
