//! `custody scan (--lockfile F | --sbom F) --advisories DIR [--report F]`.

use std::path::PathBuf;

use custody_app::Result;
use custody_app::sbom::{ScanInput, affected_error, describe, scan, write_report};

use crate::output::Output;

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// The Cargo.lock to scan [default: Cargo.lock, unless --sbom is given].
    #[arg(long, value_name = "FILE", conflicts_with = "sbom")]
    lockfile: Option<PathBuf>,
    /// A CycloneDX JSON SBOM to scan (its pkg:cargo components).
    #[arg(long, value_name = "FILE")]
    sbom: Option<PathBuf>,
    /// A directory of OSV advisories (RustSec's OSV export: RUSTSEC-YYYY-NNNN.json files).
    #[arg(long, value_name = "DIR")]
    advisories: PathBuf,
    /// Also write the full report (vulnerabilities and warnings) as JSON to this file, whatever
    /// the outcome.
    #[arg(long, value_name = "FILE")]
    report: Option<PathBuf>,
}

pub(crate) fn run(args: Args, out: &Output) -> Result<()> {
    let input = match (args.sbom, args.lockfile) {
        (Some(sbom), _) => ScanInput::Sbom(sbom),
        (None, lockfile) => ScanInput::Lockfile(lockfile.unwrap_or_else(|| "Cargo.lock".into())),
    };
    let report = scan(&input, &args.advisories)?;
    if let Some(path) = &args.report {
        write_report(&report, path)?;
    }
    for warning in &report.warnings {
        out.info(&format!("warning: {}", describe(warning)));
    }
    if !report.vulnerabilities.is_empty() {
        return Err(affected_error(&report));
    }
    out.success(
        &format!(
            "no known vulnerabilities: {} packages checked against {} advisories ({} withdrawn, ignored), {} informational warning(s)",
            report.packages,
            report.advisories,
            report.withdrawn,
            report.warnings.len()
        ),
        report.to_json(),
    );
    Ok(())
}
