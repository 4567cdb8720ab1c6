//! `custody log vkey|checkpoint|inclusion|consistency|monitor`.

use std::path::PathBuf;
use std::time::Duration;

use clap::Subcommand;
use custody_app::datadir::DataDir;
use custody_app::monitor::{
    FetchedCheckpoint, MonitorReport, ProvenEntry, RemoteLog, parse_tree_head, root_base64,
};
use custody_app::{Code, Error, Result};
use serde_json::{Value, json};

use crate::output::Output;

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Print the log's verifier key as a C2SP vkey line (name+keyid+key).
    Vkey(VkeyArgs),
    /// Fetch the log's current checkpoint and verify its signature.
    Checkpoint(RemoteArgs),
    /// Prove a bundle's log entry is in the log's current checkpoint, from the log's tiles.
    Inclusion(InclusionArgs),
    /// Prove the log's current checkpoint extends an older one, from the log's tiles.
    Consistency(ConsistencyArgs),
    /// Follow the log: prove each new checkpoint consistent with the last one seen, and list
    /// new entries signed by watched keys.
    Monitor(MonitorArgs),
}

#[derive(Debug, clap::Args)]
pub(crate) struct VkeyArgs {
    /// The server's data directory.
    #[arg(long, value_name = "DIR", default_value = "custody-data")]
    data: PathBuf,
}

#[derive(Debug, clap::Args)]
pub(crate) struct RemoteArgs {
    /// The log's URL (e.g. http://127.0.0.1:8080).
    #[arg(long, value_name = "URL")]
    log: String,
    /// The log's verifier key, a C2SP vkey line ('custody log vkey' prints it).
    #[arg(long, value_name = "VKEY")]
    vkey: String,
}

#[derive(Debug, clap::Args)]
pub(crate) struct InclusionArgs {
    #[command(flatten)]
    remote: RemoteArgs,
    /// The bundle whose transparency-log entry to prove.
    #[arg(long, value_name = "FILE")]
    bundle: PathBuf,
}

#[derive(Debug, clap::Args)]
#[group(id = "old", required = true, multiple = false)]
pub(crate) struct ConsistencyArgs {
    #[command(flatten)]
    remote: RemoteArgs,
    /// The older tree head as SIZE:ROOT (ROOT in base64, as in a checkpoint).
    #[arg(long, value_name = "SIZE:ROOT", group = "old")]
    from: Option<String>,
    /// The older tree head as a signed checkpoint file (verified with --vkey).
    #[arg(long, value_name = "FILE", group = "old")]
    from_checkpoint: Option<PathBuf>,
}

#[derive(Debug, clap::Args)]
pub(crate) struct MonitorArgs {
    #[command(flatten)]
    remote: RemoteArgs,
    /// The state file holding the last verified checkpoint (created on the first run).
    #[arg(long, value_name = "FILE")]
    state: PathBuf,
    /// A public key (PEM) whose new log entries to list; repeatable.
    #[arg(long, value_name = "PUB")]
    watch: Vec<PathBuf>,
    /// Check once and exit (otherwise poll until interrupted, printing one result per new
    /// checkpoint; with --json, one JSON document per line).
    #[arg(long)]
    once: bool,
    /// Seconds between polls.
    #[arg(long, value_name = "SECONDS", default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=86_400))]
    interval: u64,
}

pub(crate) fn run(cmd: Command, out: &Output) -> Result<()> {
    match cmd {
        Command::Vkey(args) => {
            let vkey = DataDir::new(&args.data).log_verifier()?.to_string();
            out.success(&vkey, json!({ "vkey": vkey }));
            Ok(())
        }
        Command::Checkpoint(args) => {
            let log = RemoteLog::new(&args.log, &args.vkey)?;
            let current = log.checkpoint()?;
            let (human, value) = describe(&current);
            out.success(&format!("verified checkpoint\n{human}"), value);
            Ok(())
        }
        Command::Inclusion(args) => inclusion(&args, out),
        Command::Consistency(args) => consistency(&args, out),
        Command::Monitor(args) => monitor(&args, out),
    }
}

/// Human lines and JSON fields for a verified checkpoint.
fn describe(current: &FetchedCheckpoint) -> (String, Value) {
    let cp = &current.checkpoint;
    let root = root_base64(&cp.root());
    (
        format!(
            "  origin: {}\n  size:   {}\n  root:   {root}",
            cp.origin(),
            cp.size()
        ),
        json!({
            "origin": cp.origin(),
            "size": cp.size().get(),
            "root": root,
            "checkpoint": current.note,
        }),
    )
}

fn entry_json(e: &ProvenEntry) -> Value {
    json!({
        "index": e.index,
        "keyId": e.key_id.to_string(),
        "digest": e.digest.to_string(),
    })
}

fn inclusion(args: &InclusionArgs, out: &Output) -> Result<()> {
    let log = RemoteLog::new(&args.remote.log, &args.remote.vkey)?;
    let bundle = custody_app::verify::read_bundle(&args.bundle)?;
    let (current, entries) = log.prove_inclusion(&bundle)?;
    let (human, mut value) = describe(&current);
    let mut lines = String::new();
    for e in &entries {
        lines.push_str(&format!(
            "entry {} (key {}, {}) is included in the log's current checkpoint\n",
            e.index, e.key_id, e.digest
        ));
    }
    value["entries"] = entries.iter().map(entry_json).collect();
    out.success(&format!("{lines}{human}"), value);
    Ok(())
}

fn consistency(args: &ConsistencyArgs, out: &Output) -> Result<()> {
    let log = RemoteLog::new(&args.remote.log, &args.remote.vkey)?;
    let old = match (&args.from, &args.from_checkpoint) {
        (Some(text), _) => parse_tree_head(text)?,
        (None, Some(path)) => log.read_checkpoint_file(path)?.tree_head(),
        (None, None) => {
            return Err(Error::new(
                Code::Usage,
                "pass --from SIZE:ROOT or --from-checkpoint FILE",
            ));
        }
    };
    let current = log.prove_consistency(old)?;
    let (human, mut value) = describe(&current);
    value["from"] = json!({ "size": old.size().get(), "root": root_base64(&old.root()) });
    value["consistent"] = Value::Bool(true);
    out.success(
        &format!(
            "the log's current checkpoint is consistent with size {}\n{human}",
            old.size()
        ),
        value,
    );
    Ok(())
}

fn monitor(args: &MonitorArgs, out: &Output) -> Result<()> {
    let log = RemoteLog::new(&args.remote.log, &args.remote.vkey)?;
    let watched = args
        .watch
        .iter()
        .map(|p| custody_app::keys::load_public_key(p).map(|k| k.key_id()))
        .collect::<Result<Vec<_>>>()?;
    let mut last_size = None;
    loop {
        let report = log.monitor_once(&args.state, &watched)?;
        let size = report.current.checkpoint.size();
        if args.once || last_size != Some(size) {
            print_report(&report, out);
        }
        if args.once {
            return Ok(());
        }
        last_size = Some(size);
        std::thread::sleep(Duration::from_secs(args.interval));
    }
}

fn print_report(report: &MonitorReport, out: &Output) {
    let (human, mut value) = describe(&report.current);
    let mut lines = String::new();
    match report.previous {
        None => {
            lines.push_str(
                "first run: no earlier checkpoint, trusting the current one as the starting point\n",
            );
        }
        Some(old) => {
            lines.push_str(&format!(
                "consistent with the last checkpoint (size {}); {} new entries read\n",
                old.size(),
                report.entries_read
            ));
            for m in &report.matches {
                lines.push_str(&format!(
                    "  watched key {} signed {} (entry {})\n",
                    m.key_id, m.digest, m.index
                ));
            }
            if report.unparsed > 0 {
                lines.push_str(&format!(
                    "  {} entries are not hashedrekord entries and were skipped\n",
                    report.unparsed
                ));
            }
        }
    }
    value["firstRun"] = Value::Bool(report.previous.is_none());
    value["previousSize"] = report
        .previous
        .map_or(Value::Null, |old| json!(old.size().get()));
    value["entriesRead"] = json!(report.entries_read);
    value["unparsed"] = json!(report.unparsed);
    value["matches"] = report.matches.iter().map(entry_json).collect();
    out.success(&format!("{lines}{human}"), value);
}
